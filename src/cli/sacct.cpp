// sacct, as Slurm 22.05's man page describes it, on gwang's API.
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "cli/accounts.h"
#include "cli/api_call.h"
#include "cli/commands.h"
#include "cli/slurm_jobs.h"
#include "slurm/format.h"
#include "slurm/hostlist.h"
#include "slurm/specs.h"

namespace gwang::cli {

using nlohmann::json;

namespace {

// sacct's fields and their widths (negative: left-justified), as its --helpformat lists them.
const std::vector<std::pair<std::string, int>>& sacct_fields() {
  static const std::vector<std::pair<std::string, int>> kFields = {
      {"Account", 10},      {"AllocCPUS", 10}, {"AllocNodes", 10}, {"Comment", 15},  {"CPUTime", 10},
      {"CPUTimeRAW", 10},   {"Elapsed", 10},   {"ElapsedRaw", 10}, {"Eligible", 19}, {"End", 19},
      {"ExitCode", 8},      {"JobID", -12},    {"JobIDRaw", -12},  {"JobName", 10},  {"NNodes", 8},
      {"NodeList", 15},     {"Partition", 10}, {"Reason", 20},     {"ReqCPUS", 8},   {"ReqMem", 10},
      {"ReqNodes", 8},      {"Start", 19},     {"State", 10},      {"Submit", 19},   {"Timelimit", 10},
      {"TimelimitRaw", 10}, {"UID", 6},        {"User", 9},        {"WorkDir", 15}};
  return kFields;
}

// One line of sacct: a job, the batch step of one, or another of its steps (srun's).
struct Line {
  SlurmJob job;
  bool step = false;
  int job_step = -1;  // an index into job.steps
};

// A field of a step that srun started, where it differs from the batch step's.
std::optional<std::string> step_field(const Line& line, const std::string& name, std::int64_t now) {
  const SlurmJob& j = line.job;
  const api::StepView& s = j.steps[static_cast<std::size_t>(line.job_step)];
  const std::int64_t elapsed = s.start_time < 0 ? 0 : (s.end_time >= 0 ? s.end_time : now) - s.start_time;
  const std::int64_t alloc = static_cast<std::int64_t>(s.ntasks) * s.cpus_per_task;
  const std::string id = std::to_string(s.id);
  if (name == "AllocCPUS") return std::to_string(alloc);
  if (name == "AllocNodes" || name == "NNodes") return std::to_string(s.nodes.size());
  if (name == "CPUTime") return slurm::format_clock(elapsed * alloc);
  if (name == "CPUTimeRAW") return std::to_string(elapsed * alloc);
  if (name == "Elapsed") return slurm::format_clock(elapsed);
  if (name == "ElapsedRaw") return std::to_string(elapsed);
  if (name == "End") return s.end_time >= 0 ? slurm::format_slurm_date(s.end_time) : "Unknown";
  if (name == "ExitCode") return std::to_string(s.signal ? 0 : s.exit_code) + ":" + std::to_string(s.signal);
  if (name == "JobID") return j.job_id() + "." + id;
  if (name == "JobIDRaw") return std::to_string(j.id) + "." + id;
  if (name == "JobName") return s.name;
  if (name == "NodeList") return slurm::compress_hosts(s.nodes);
  if (name == "Start") return s.start_time >= 0 ? slurm::format_slurm_date(s.start_time) : "Unknown";
  if (name == "State") return state_name(s.state);
  return std::nullopt;
}

// How a job (or its batch step) ended, as sacct says it: the exit code, and the signal (0: none).
std::pair<int, int> exit_and_signal(const SlurmJob& j, bool step) {
  int signal = 0;
  if (const auto at = j.reason.find("(signal "); at != std::string::npos) signal = std::atoi(j.reason.c_str() + at + 8);
  // A cancelled job's processes were sent SIGTERM; an allocation's holder was not (salloc's).
  if (j.state == api::JobState::Cancelled && j.start_time >= 0 && signal == 0 && j.allocation.empty()) signal = 15;
  if (j.state == api::JobState::Timeout && step) signal = 15;
  if (j.state == api::JobState::OutOfMemory) signal = 125;
  return {signal ? 0 : j.exit_code, signal};
}

// "exit:signal".
std::string exit_code(const SlurmJob& j, bool step) {
  const auto [code, signal] = exit_and_signal(j, step);
  return std::to_string(code) + ":" + std::to_string(signal);
}

// An exit status as sacct --json writes one: SUCCESS, FAILED with its code, or SIGNALED.
json exit_json(int exit_code, int signal) {
  if (signal > 0) {
    const char* name = sigabbrev_np(signal);
    return {
        {"status", "SIGNALED"}, {"return_code", 0}, {"signal", {{"signal_id", signal}, {"name", name ? name : ""}}}};
  }
  return {{"status", exit_code == 0 ? "SUCCESS" : "FAILED"}, {"return_code", exit_code}};
}

// A job as sacct --json has it (Slurm 22.05's "DB v0.0.38" field names), with what gwang keeps:
// its steps (the batch step, then srun's) unless `allocations`. Fields gwang has no value for
// (CPU times and statistics, TRES, associations' ids, ...) are left out rather than made up.
json sacct_json(const SlurmJob& j, bool allocations) {
  json o;
  o["account"] = j.project;
  o["allocation_nodes"] = j.start_time >= 0 ? j.nodes : 0;
  o["array"] = {{"job_id", j.array_job_id},
                {"limits", {{"max", {{"running", {{"tasks", j.array_limit()}}}}}}},
                {"task", nullptr},
                {"task_id", j.array_job_id > 0 ? json(j.array_task_id) : json(nullptr)}};
  o["association"] = {{"account", j.project}, {"partition", nullptr}, {"user", j.user}};
  o["comment"] = {
      {"administrator", nullptr}, {"job", j.comment.empty() ? json(nullptr) : json(j.comment)}, {"system", nullptr}};
  o["derived_exit_code"] = exit_json(0, 0);
  const auto [code, signal] = exit_and_signal(j, false);
  o["exit_code"] = exit_json(code, signal);
  if (const auto u = find_user(j.user)) {
    if (const auto g = find_group(j.group.empty() ? std::to_string(u->gid) : j.group)) o["group"] = g->name;
  }
  o["job_id"] = j.id;
  o["name"] = j.name;
  o["nodes"] = j.start_time >= 0 ? compressed_nodes(j) : "None assigned";
  o["partition"] = j.partition;
  o["qos"] = j.qos;
  o["required"] = {{"CPUs", static_cast<std::int64_t>(j.cpus) * j.nodes}, {"memory", (j.mem + (1 << 20) - 1) >> 20}};
  o["state"] = {{"current", state_name(j.state)}, {"reason", reason_code(j)}};
  // A job that ended without running started and ended when it ended, as Slurm records it.
  const std::int64_t start = j.start_time >= 0 ? j.start_time : j.ended() ? j.end_time : 0;
  const std::int64_t end = j.end_time >= 0 ? j.end_time : 0;
  o["time"] = {
      {"elapsed", j.start_time >= 0
                      ? (j.end_time >= 0 ? j.end_time : static_cast<std::int64_t>(std::time(nullptr))) - j.start_time
                      : 0},
      {"eligible", j.hold == api::Hold::None ? std::max(j.submit_time, j.begin) : 0},
      {"end", end},
      {"start", start},
      {"submission", j.submit_time},
      {"suspended", 0},
      {"limit", j.time_limit >= kUnlimited ? json(nullptr) : json((j.time_limit + 59) / 60)}};
  o["user"] = j.user;
  o["working_directory"] = j.workdir;
  json steps = json::array();
  auto step = [&](const std::string& id, const std::string& name, const std::string& state, int exit_code, int sig,
                  std::int64_t s_start, std::int64_t s_end, const std::vector<std::string>& nodes, int tasks) {
    steps.push_back(
        {{"step", {{"job_id", j.id}, {"id", id}, {"name", name}}},
         {"state", state},
         {"exit_code", exit_json(exit_code, sig)},
         {"nodes", {{"list", nodes}, {"count", nodes.size()}, {"range", slurm::compress_hosts(nodes)}}},
         {"tasks", {{"count", tasks}}},
         {"time",
          {{"elapsed",
            s_start >= 0 ? (s_end >= 0 ? s_end : static_cast<std::int64_t>(std::time(nullptr))) - s_start : 0},
           {"end", s_end >= 0 ? s_end : 0},
           {"start", s_start >= 0 ? s_start : 0},
           {"suspended", 0}}}});
  };
  if (!allocations && j.batch && j.start_time >= 0) {
    const std::string first = j.node.substr(0, j.node.find(','));
    const auto [batch_code, batch_signal] = exit_and_signal(j, true);
    step("batch", "batch", j.state == api::JobState::Timeout ? "CANCELLED" : state_name(j.state), batch_code,
         batch_signal, j.start_time, j.end_time, {first}, 1);
    for (const api::StepView& s : j.steps) {
      step(std::to_string(s.id), s.name, state_name(s.state), s.exit_code, s.signal, s.start_time, s.end_time, s.nodes,
           s.ntasks);
    }
  }
  o["steps"] = std::move(steps);
  return o;
}

// "CANCELLED by 1000", as sacct says who cancelled.
std::string sacct_state(const SlurmJob& j) {
  if (j.state != api::JobState::Cancelled) return state_name(j.state);
  const std::string by = "cancelled by ";
  const auto at = j.reason.find(by);
  if (at == std::string::npos) return state_name(j.state);
  std::string user = j.reason.substr(at + by.size());
  user = user.substr(0, user.find_first_of(" )"));
  return "CANCELLED by " + uid_of(user);
}

std::string sacct_field(const Line& line, const std::string& name, std::int64_t now) {
  if (line.job_step >= 0) {
    if (auto v = step_field(line, name, now)) return *v;
  }
  const SlurmJob& j = line.job;
  const bool started = j.start_time >= 0;
  const std::int64_t elapsed = !started ? 0 : (j.end_time >= 0 ? j.end_time : now) - j.start_time;
  // As Slurm's records have it: what the job asked for, also when it never ran.
  const std::int64_t alloc = static_cast<std::int64_t>(j.cpus) * (line.step ? 1 : j.nodes);
  if (name == "Account") return j.project;
  if (name == "AllocCPUS") return std::to_string(alloc);
  if (name == "AllocNodes") return std::to_string(started ? (line.step ? 1 : j.nodes) : 0);
  if (name == "Comment") return line.step ? "" : j.comment;
  if (name == "CPUTime") return slurm::format_clock(elapsed * alloc);
  if (name == "CPUTimeRAW") return std::to_string(elapsed * alloc);
  if (name == "Elapsed") return slurm::format_clock(elapsed);
  if (name == "ElapsedRaw") return std::to_string(elapsed);
  if (name == "Eligible") return slurm::format_slurm_date(std::max(j.submit_time, j.begin));
  if (name == "End") return j.end_time >= 0 ? slurm::format_slurm_date(j.end_time) : "Unknown";
  if (name == "ExitCode") return exit_code(j, line.step);
  if (name == "JobID") return j.job_id() + (line.step ? ".batch" : "");
  if (name == "JobIDRaw") return std::to_string(j.id) + (line.step ? ".batch" : "");
  if (name == "JobName") return line.step ? "batch" : j.name;
  if (name == "NNodes") return std::to_string(line.step ? 1 : j.nodes);
  if (name == "NodeList") {
    if (!started) return "None assigned";
    const std::string all = compressed_nodes(j);
    return line.step ? j.node.substr(0, j.node.find(',')) : all;
  }
  if (name == "Partition") return line.step ? "" : j.partition;
  if (name == "Reason") return reason_code(j);
  if (name == "ReqCPUS") return std::to_string(static_cast<std::int64_t>(j.cpus) * j.nodes);
  if (name == "ReqMem") {
    const std::int64_t mib = (j.mem + (1 << 20) - 1) >> 20;
    return mib % 1024 == 0 ? std::to_string(mib / 1024) + "G" : std::to_string(mib) + "M";
  }
  if (name == "ReqNodes") return std::to_string(j.nodes);
  if (name == "Start") return started ? slurm::format_slurm_date(j.start_time) : "Unknown";
  if (name == "State") return line.step && j.state == api::JobState::Timeout ? "CANCELLED" : sacct_state(j);
  if (name == "Submit") return slurm::format_slurm_date(j.submit_time);
  if (name == "Timelimit") {
    if (line.step) return "";
    return j.time_limit >= kUnlimited ? "UNLIMITED" : slurm::format_clock(j.time_limit);
  }
  if (name == "TimelimitRaw") return line.step ? "" : std::to_string(j.time_limit / 60);
  if (name == "UID") return uid_of(j.user);
  if (name == "User") return line.step ? "" : j.user;
  if (name == "WorkDir") return j.workdir;
  return "";
}

// sacct's text for a time option: "2026-11-27", "2026-11-27T08:00[:00]", "now", "now-1days",
// "midnight", "noon", "today", "MMDD[YY]", "MM/DD[/YY]": sbatch --begin's forms, which Slurm
// shares with it.
Result<std::int64_t> sacct_time(const std::string& text, std::int64_t now) {
  std::string t = text;
  if (t.starts_with("now-")) {
    // now-N[units], back in time
    std::string rest = t.substr(4);
    std::size_t digits = 0;
    while (digits < rest.size() && std::isdigit(static_cast<unsigned char>(rest[digits]))) ++digits;
    if (digits == 0) return fail("invalid time '" + text + "'");
    const std::int64_t n = std::stoll(rest.substr(0, digits));
    const std::string unit = rest.substr(digits);
    std::int64_t scale = 1;
    if (unit.starts_with("minute"))
      scale = 60;
    else if (unit.starts_with("hour"))
      scale = 3600;
    else if (unit.starts_with("day"))
      scale = 86400;
    else if (unit.starts_with("week"))
      scale = 7 * 86400;
    else if (!unit.empty() && !unit.starts_with("second"))
      return fail("invalid time '" + text + "'");
    return now - n * scale;
  }
  auto at = slurm::parse_begin(t, slurm::local_clock(now));
  if (!at) return fail("invalid time '" + text + "'");
  // --begin moves a past time of day to tomorrow; a start time stays in the past.
  if (*at > now && t.find('-') == std::string::npos && t.find('/') == std::string::npos && t != "now") {
    return *at - 86400;
  }
  return *at;
}

int sacct_error(const std::string& message) {
  std::fprintf(stderr, "sacct: error: %s\n", message.c_str());
  return 1;
}

// What sacct was asked: the format, how to print it, the time window's texts, and which jobs
// (empty sets: all).
struct SacctOptions {
  std::string format = "JobID,JobName,Partition,Account,AllocCPUS,State,ExitCode";
  bool header = true, all_users = ::getuid() == 0, allocations = false, json_out = false;
  int parsable = 0;  // 1: -p (a '|' after every field), 2: -P (between fields)
  std::set<std::string> accounts, jobs, names, partitions, states, users;
  std::string start_text, end_text;
};

const option kSacctOptions[] = {{"allusers", no_argument, nullptr, 'a'},
                                {"accounts", required_argument, nullptr, 'A'},
                                {"allocations", no_argument, nullptr, 'X'},
                                {"brief", no_argument, nullptr, 'b'},
                                {"endtime", required_argument, nullptr, 'E'},
                                {"format", required_argument, nullptr, 'o'},
                                {"help", no_argument, nullptr, 'h'},
                                {"helpformat", no_argument, nullptr, 'e'},
                                {"jobs", required_argument, nullptr, 'j'},
                                {"json", no_argument, nullptr, 'J' + 256},
                                {"name", required_argument, nullptr, 'n' + 256},
                                {"noheader", no_argument, nullptr, 'n'},
                                {"parsable", no_argument, nullptr, 'p'},
                                {"parsable2", no_argument, nullptr, 'P'},
                                {"partition", required_argument, nullptr, 'r'},
                                {"starttime", required_argument, nullptr, 'S'},
                                {"state", required_argument, nullptr, 's'},
                                {"usage", no_argument, nullptr, 'h'},
                                {"user", required_argument, nullptr, 'u'},
                                {"verbose", no_argument, nullptr, 'v'},
                                {"version", no_argument, nullptr, 'V'},
                                {nullptr, 0, nullptr, 0}};

// Prints sacct's fields four to a line, as --helpformat does.
void print_helpformat() {
  std::string line;
  int n = 0;
  for (const auto& [name, width] : sacct_fields()) {
    line += slurm::fit(name, 20, false);
    if (++n % 4 == 0) {
      while (!line.empty() && line.back() == ' ') line.pop_back();
      std::printf("%s\n", line.c_str());
      line.clear();
    }
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  if (!line.empty()) std::printf("%s\n", line.c_str());
}

// Adds the states -s names (Slurm's names or codes) to `states`; returns 1 after saying which
// one is not a state.
std::optional<int> add_states(const std::string& value, std::set<std::string>& states) {
  for (std::string& v : split_list(value)) {
    const std::string u = upper(v);
    std::string name;
    for (const char* s :
         {"PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL"}) {
      if (u == s || u == state_code(s)) name = s;
    }
    if (name.empty()) return sacct_error("Invalid job state specified: " + v);
    states.insert(name);
  }
  return std::nullopt;
}

// Takes one option getopt_long returned into `o`; returns the exit status when sacct ends with it
// (--help, --helpformat, --version, a mistake), nothing when sacct goes on.
std::optional<int> take_sacct_option(int c, const std::string& value, Argv& argv, SacctOptions& o) {
  // The options that name jobs to show, each a comma-separated list.
  using List = std::set<std::string> SacctOptions::*;
  static const std::map<int, List> kLists = {{'A', &SacctOptions::accounts},
                                             {'j', &SacctOptions::jobs},
                                             {'n' + 256, &SacctOptions::names},
                                             {'r', &SacctOptions::partitions},
                                             {'u', &SacctOptions::users}};
  if (auto it = kLists.find(c); it != kLists.end()) {
    for (std::string& v : split_list(value)) (o.*(it->second)).insert(std::move(v));
    return std::nullopt;
  }
  switch (c) {
    case 'a':
      o.all_users = true;
      return std::nullopt;
    case 'b':
      o.format = "JobID,State,ExitCode";
      return std::nullopt;
    case 'E':
      o.end_text = value;
      return std::nullopt;
    case 'e':
      print_helpformat();
      return 0;
    case 'h':
      std::printf(
          "Usage: sacct [options]\n  (see sacct(1); gwang carries out -a -A -b -E -e -j -n -o -p -P -r -S -s -u "
          "-X)\n");
      return 0;
    case 'n':
      o.header = false;
      return std::nullopt;
    case 'o':
      o.format = value;
      return std::nullopt;
    case 'p':
      o.parsable = 1;
      return std::nullopt;
    case 'P':
      o.parsable = 2;
      return std::nullopt;
    case 'S':
      o.start_text = value;
      return std::nullopt;
    case 's':
      return add_states(value, o.states);
    case 'v':
      return std::nullopt;
    case 'V':
      std::printf("gwang sacct (options of slurm 22.05)\n");
      return 0;
    case 'X':
      o.allocations = true;
      return std::nullopt;
    case 'J' + 256:
      o.json_out = true;
      return std::nullopt;
  }
  return option_complaint("sacct", c, argv,
                          {"--yaml", "--long", "-l", "--duplicates", "-D", "--clusters", "-M", "--qos", "-q",
                           "--nodelist", "-N", "--units", "--delimiter", "--array", "-T"});
}

// Reads sacct's command line into `o`; returns the exit status when sacct ends there (--help,
// --version, a mistake), nothing when it goes on.
std::optional<int> parse_sacct(Argv& argv, SacctOptions& o) {
  ::optind = 0;
  ::opterr = 0;
  for (;;) {
    int index = 0;
    const int c = ::getopt_long(argv.argc(), argv.argv(), ":aA:bE:ehj:no:pPr:S:s:u:vVX", kSacctOptions, &index);
    if (c == -1) break;
    if (auto done = take_sacct_option(c, ::optarg ? ::optarg : "", argv, o)) return done;
  }
  return std::nullopt;
}

// The fields --format names, with their widths; each keeps its side (JobID left, the others
// right) whatever width is given ("%30").
Result<std::vector<slurm::FormatItem>> sacct_format(const std::string& format) {
  std::vector<std::string> names_only;
  for (const auto& [name, width] : sacct_fields()) names_only.push_back(name);
  auto items = slurm::parse_sacct_format(format, names_only, [](const std::string& name) {
    for (const auto& [n, w] : sacct_fields())
      if (n == name) return w;
    return 10;
  });
  if (!items) return fail(items.error().message);
  for (slurm::FormatItem& f : *items) {
    for (const auto& [n, w] : sacct_fields())
      if (n == f.field) f.right = w > 0;
    f.width = std::abs(f.width);
  }
  return items;
}

// The time window of the jobs sacct shows: from --starttime (default: midnight today, as sacct's,
// or all time when jobs are named), to --endtime (default: now).
struct Window {
  std::int64_t from = 0, to = 0;
};

// The window the options give at time `now`; an error says which time is bad.
Result<Window> sacct_window(const SacctOptions& o, std::int64_t now) {
  Window w{0, now};
  if (!o.start_text.empty()) {
    auto t = sacct_time(o.start_text, now);
    if (!t) return fail(t.error().message);
    w.from = *t;
  } else if (o.jobs.empty()) {
    std::time_t t = static_cast<std::time_t>(now);
    std::tm tm{};
    ::localtime_r(&t, &tm);
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    w.from = static_cast<std::int64_t>(std::mktime(&tm));  // midnight today, as sacct's default
  }
  if (!o.end_text.empty()) {
    auto t = sacct_time(o.end_text, now);
    if (!t) return fail(t.error().message);
    w.to = *t;
  }
  return w;
}

// Whether sacct shows job `j`, as the options and the window filter the jobs.
bool sacct_wants(const SlurmJob& j, const SacctOptions& o, const Window& w) {
  if (!o.users.empty() && !o.users.contains(j.user)) return false;
  if (!o.accounts.empty() && !o.accounts.contains(j.project)) return false;
  if (!o.names.empty() && !o.names.contains(j.name)) return false;
  if (!o.partitions.empty() && !o.partitions.contains(j.partition)) return false;
  if (!o.states.empty() && !o.states.contains(state_name(j.state))) return false;
  if (!o.jobs.empty() && !j.named_by_any(o.jobs)) return false;
  return !(j.submit_time > w.to || (j.end_time >= 0 && j.end_time < w.from));  // in the window
}

// sacct's lines of the API's jobs: each job sacct shows, and unless --allocations the batch step
// of one that ran as a batch, then the steps srun started in it (or in an allocation).
Result<std::vector<Line>> sacct_lines(const json& answer, const SacctOptions& o, const Window& w) {
  auto jobs = slurm_jobs(answer["jobs"]);
  if (!jobs) return tl::unexpected(jobs.error());
  std::vector<Line> lines;
  for (const SlurmJob& j : *jobs) {
    if (!sacct_wants(j, o, w)) continue;
    lines.push_back({j, false});
    if (o.allocations || j.start_time < 0) continue;
    if (j.batch) {
      lines.push_back({j, true});
    } else if (j.allocation.empty()) {
      continue;
    }
    // The steps srun started, after the batch step (an allocation has none: salloc's command ran
    // where salloc did).
    for (std::size_t k = 0; k < j.steps.size(); ++k) lines.push_back({j, true, static_cast<int>(k)});
  }
  return lines;
}

// Prints the jobs of the lines as sacct --json does.
void print_sacct_json(const std::vector<Line>& lines, bool allocations) {
  json list = json::array();
  for (const Line& line : lines) {
    if (!line.step) list.push_back(sacct_json(line.job, allocations));
  }
  const json meta = slurm_json_meta("openapi/dbv0.0.38", "Slurm OpenAPI DB v0.0.38");
  std::printf("%s\n", json{{"meta", meta}, {"errors", json::array()}, {"jobs", list}}.dump(2).c_str());
}

// Prints the lines in the format's columns (or '|'-separated, --parsable), after the header
// unless --noheader.
void print_sacct_table(const std::vector<Line>& lines, const std::vector<slurm::FormatItem>& items,
                       const SacctOptions& o, std::int64_t now) {
  std::string out;
  auto row = [&](const std::function<std::string(const slurm::FormatItem&)>& value) {
    for (std::size_t i = 0; i < items.size(); ++i) {
      const slurm::FormatItem& f = items[i];
      std::string v = value(f);
      if (o.parsable > 0) {
        out += v;
        if (o.parsable == 1 || i + 1 < items.size()) out += '|';
        continue;
      }
      if (static_cast<int>(v.size()) > f.width && f.width > 0) v = v.substr(0, f.width - 1) + "+";
      out += slurm::fit(v, f.width, f.right);
      out += ' ';
    }
    out += '\n';
  };
  if (o.header) {
    row([](const slurm::FormatItem& f) { return f.field; });
    if (o.parsable == 0) row([](const slurm::FormatItem& f) { return std::string(f.width, '-'); });
  }
  for (const Line& line : lines) row([&](const slurm::FormatItem& f) { return sacct_field(line, f.field, now); });
  std::fwrite(out.data(), 1, out.size(), stdout);
}

}  // namespace

int run_sacct(const std::vector<std::string>& args) {
  Argv argv("sacct", args);
  SacctOptions o;
  if (auto done = parse_sacct(argv, o)) return *done;
  const auto items = sacct_format(o.format);
  if (!items) return sacct_error(items.error().message);
  const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  const auto window = sacct_window(o, now);
  if (!window) return sacct_error(window.error().message);
  if (!o.all_users && o.users.empty()) {
    if (const auto u = find_user(std::to_string(::getuid()))) o.users.insert(u->name);
  }

  ClientArgs client;
  set_error_prefix("sacct: error: ");
  int rc = 0;
  auto answer = request(client, "GET", "/api/v1/jobs?view=full&all=1", "", &rc);
  if (!answer) return 1;
  const auto lines = sacct_lines(*answer, o, *window);
  if (!lines) return sacct_error("the controller's answer: " + lines.error().message);
  if (o.json_out) {
    print_sacct_json(*lines, o.allocations);
    return 0;
  }
  print_sacct_table(*lines, *items, o, now);
  return 0;
}

}  // namespace gwang::cli
