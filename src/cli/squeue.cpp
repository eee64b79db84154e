// squeue, as Slurm 22.05's man page describes it, on gwang's API.
#include <getopt.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>

#include "cli/accounts.h"
#include "cli/api_call.h"
#include "cli/commands.h"
#include "cli/slurm_jobs.h"
#include "core/ranges.h"
#include "slurm/format.h"
#include "slurm/specs.h"

namespace gwang::cli {

using nlohmann::json;

namespace {

// The long names of squeue -O, and the %-letter each is.
const std::vector<std::pair<std::string, char>>& long_fields() {
  static const std::vector<std::pair<std::string, char>> kFields = {
      {"Account", 'a'},    {"ArrayJobID", 'F'},   {"ArrayTaskID", 'K'}, {"Command", 'o'},    {"Comment", 'k'},
      {"Dependency", 'E'}, {"EndTime", 'e'},      {"JobArrayID", 'i'},  {"JobID", 'A'},      {"MinCpus", 'c'},
      {"MinMemory", 'm'},  {"Name", 'j'},         {"NodeList", 'N'},    {"NumCPUs", 'C'},    {"NumNodes", 'D'},
      {"Partition", 'P'},  {"Reason", 'r'},       {"ReasonList", 'R'},  {"SchedNodes", 'Y'}, {"StartTime", 'S'},
      {"State", 'T'},      {"StateCompact", 't'}, {"SubmitTime", 'V'},  {"TimeLeft", 'L'},   {"TimeLimit", 'l'},
      {"TimeUsed", 'M'},   {"UserID", 'U'},       {"UserName", 'u'},    {"WorkDir", 'Z'},    {"Licenses", 'W'}};
  return kFields;
}

const char* header_of(char type) {
  switch (type) {
    case 'a':
      return "ACCOUNT";
    case 'A':
      return "JOBID";
    case 'c':
      return "MIN_CPUS";
    case 'C':
      return "CPUS";
    case 'D':
      return "NODES";
    case 'e':
      return "END_TIME";
    case 'E':
      return "DEPENDENCY";
    case 'F':
      return "ARRAY_JOB_ID";
    case 'i':
      return "JOBID";
    case 'j':
      return "NAME";
    case 'k':
      return "COMMENT";
    case 'W':
      return "LICENSES";
    case 'K':
      return "ARRAY_TASK_ID";
    case 'l':
      return "TIME_LIMIT";
    case 'L':
      return "TIME_LEFT";
    case 'm':
      return "MIN_MEMORY";
    case 'M':
      return "TIME";
    case 'N':
      return "NODELIST";
    case 'o':
      return "COMMAND";
    case 'P':
      return "PARTITION";
    case 'r':
      return "REASON";
    case 'R':
      return "NODELIST(REASON)";
    case 'S':
      return "START_TIME";
    case 't':
      return "ST";
    case 'T':
      return "STATE";
    case 'u':
      return "USER";
    case 'U':
      return "UID";
    case 'V':
      return "SUBMIT_TIME";
    case 'Y':
      return "SCHEDNODES";
    case 'Z':
      return "WORK_DIR";
  }
  return "?";
}
constexpr std::string_view kLetters = "aAcCDeEFijkKlLmMNoPrRStTuUVWYZ";

std::string memory_text(std::int64_t bytes) {
  const std::int64_t mib = (bytes + (1 << 20) - 1) >> 20;
  if (mib > 0 && mib % (1024 * 1024) == 0) return std::to_string(mib >> 20) + "T";
  if (mib > 0 && mib % 1024 == 0) return std::to_string(mib >> 10) + "G";
  return std::to_string(mib) + "M";
}

// A row: one job, or the pending tasks of an array together ("12_[3-9%2]").
struct Row {
  SlurmJob job;
  std::string id;    // %i
  std::string task;  // %K
};

// A line of squeue as squeue --json has it (Slurm 22.05's field names and types), with the fields
// gwang keeps: a pending array's tasks in one record (`grouped`), with their indices in
// array_task_string, as Slurm keeps them until a task starts.
json job_json(const Row& row, bool grouped) {
  const SlurmJob& j = row.job;
  json o;
  o["account"] = j.project;
  o["array_job_id"] = j.array_job_id;
  o["array_task_id"] = j.array_job_id > 0 && !grouped ? json(j.array_task_id) : json(nullptr);
  o["array_task_string"] = grouped ? row.task : "";
  o["array_max_tasks"] = j.array_limit();
  o["batch_flag"] = j.batch;
  std::string command;
  for (const std::string& a : j.command) command += (command.empty() ? "" : " ") + a;
  o["command"] = j.batch ? "" : command;
  o["comment"] = j.comment;
  o["licenses"] = j.licenses;
  // A job that ended without running was given no CPUs.
  o["cpus"] = j.ended() && j.start_time < 0 ? json(nullptr) : json(static_cast<std::int64_t>(j.cpus) * j.nodes);
  o["current_working_directory"] = j.workdir;
  o["dependency"] = j.dependency;
  o["eligible_time"] = j.hold == api::Hold::None ? std::max(j.submit_time, j.begin) : 0;
  o["end_time"] = j.end_time >= 0 ? j.end_time : 0;
  o["exit_code"] = j.exit_code * 256;  // a wait status
  o["job_id"] = grouped ? j.array_job_id : j.id;
  o["job_state"] = state_name(j.state);
  o["memory_per_node"] = (j.mem + (1 << 20) - 1) >> 20;
  o["name"] = j.name;
  o["node_count"] = j.nodes;
  o["nodes"] = j.start_time >= 0 ? compressed_nodes(j) : "";
  o["partition"] = j.partition;
  o["restart_cnt"] = j.attempt;
  o["start_time"] = j.start_time >= 0 ? j.start_time : 0;
  // An ended job keeps the reason it ended with (or waited with, when cancelled waiting).
  std::string reason = "None";
  if (j.pending()) {
    reason = j.slurm_reason.empty() ? reason_code(j) : j.slurm_reason;
  } else if (j.state == api::JobState::Failed) {
    reason = "NonZeroExitCode";
  } else if (j.state == api::JobState::Timeout) {
    reason = "TimeLimit";
  } else if (j.state == api::JobState::Cancelled && j.start_time < 0 && j.hold != api::Hold::None) {
    reason = j.hold == api::Hold::Admin ? "JobHeldAdmin" : "JobHeldUser";
  }
  o["state_reason"] = reason;
  o["submit_time"] = j.submit_time;
  o["time_limit"] = j.time_limit >= kUnlimited ? json(nullptr) : json((j.time_limit + 59) / 60);
  const std::string uid = uid_of(j.user);
  o["user_id"] = std::stoll(uid);
  o["user_name"] = j.user;
  return o;
}

std::string field(const Row& row, char type, std::int64_t now) {
  const SlurmJob& j = row.job;
  const std::int64_t used = j.start_time < 0 ? 0 : (j.end_time >= 0 ? j.end_time : now) - j.start_time;
  switch (type) {
    case 'a':
      return j.project.empty() ? "(null)" : j.project;
    case 'A':
      return std::to_string(j.id);
    case 'c':
      return std::to_string(j.cpus);
    case 'C':
      return std::to_string(static_cast<std::int64_t>(j.cpus) * j.nodes);
    case 'D':
      return std::to_string(j.nodes);
    case 'e':
      if (j.end_time >= 0) return slurm::format_slurm_date(j.end_time);
      if (j.start_time >= 0) return slurm::format_slurm_date(j.start_time + j.time_limit);
      if (j.planned_start() >= 0) return slurm::format_slurm_date(j.planned_start() + j.time_limit);
      return "N/A";
    case 'E':
      return dependency_text(j);
    case 'F':
      return std::to_string(j.array_job_id > 0 ? j.array_job_id : j.id);
    case 'i':
      return row.id;
    case 'j':
      return j.name;
    case 'k':
      return j.comment.empty() ? "(null)" : j.comment;
    case 'W':
      return j.licenses.empty() ? "(null)" : j.licenses;
    case 'K':
      return row.task;
    case 'l':
      return time_limit_text(j.time_limit);
    case 'L':
      return j.time_limit >= kUnlimited ? "UNLIMITED"
                                        : slurm::format_elapsed(std::max<std::int64_t>(0, j.time_limit - used));
    case 'm':
      return memory_text(j.mem);
    case 'M':
      return slurm::format_elapsed(used);
    case 'N':
      return compressed_nodes(j);
    case 'o': {
      if (j.batch || j.command.empty()) return j.name;
      std::string c;
      for (const std::string& a : j.command) c += (c.empty() ? "" : " ") + a;
      return c;
    }
    case 'P':
      return j.partition;
    case 'r':
      return reason_code(j);
    case 'R':
      return j.pending() ? "(" + reason_code(j) + ")" : compressed_nodes(j);
    case 'S':
      if (j.start_time >= 0) return slurm::format_slurm_date(j.start_time);
      return j.planned_start() >= 0 ? slurm::format_slurm_date(j.planned_start()) : "N/A";
    case 't':
      return state_code(j.state);
    case 'T':
      return state_name(j.state);
    case 'u':
      return j.user;
    case 'U':
      return uid_of(j.user);
    case 'V':
      return slurm::format_slurm_date(j.submit_time);
    case 'Y':
      return "(null)";
    case 'Z':
      return j.workdir;
  }
  return "";
}

int squeue_error(const std::string& message) {
  std::fprintf(stderr, "squeue: error: %s\n", message.c_str());
  return 1;
}

const char* kSqueueUsage =
    "Usage: squeue [-A account] [--clusters names] [-i seconds] [--job jobid]\n"
    "              [-n name] [-o format] [-O format] [-p partitions]\n"
    "              [--qos qos] [--reservation reservation] [--sort fields] [--start]\n"
    "              [--step step_id] [-t states] [-u user_name] [--usage]\n"
    "              [-L licenses] [-w nodes] [--federation] [--local] [--sibling]\n"
    "              [--json] [--yaml] [-ahjlrsv]\n";

// What squeue was asked: the format, what to show of the jobs, and which jobs (empty sets: all).
struct SqueueOptions {
  std::string format = "%.18i %.9P %.8j %.8u %.2t %.10M %.6D %R", long_format;
  bool header = true, expand_arrays = false, start_view = false, me = false, json_out = false;
  int iterate = 0;
  std::set<std::string> accounts, jobs, names, partitions, states, users;
};

const option kSqueueOptions[] = {{"account", required_argument, nullptr, 'A'},
                                 {"all", no_argument, nullptr, 'a'},
                                 {"array", no_argument, nullptr, 'r'},
                                 {"format", required_argument, nullptr, 'o'},
                                 {"Format", required_argument, nullptr, 'O'},
                                 {"help", no_argument, nullptr, 'H' + 256},
                                 {"hide", no_argument, nullptr, 'h' + 256},
                                 {"iterate", required_argument, nullptr, 'i'},
                                 {"jobs", optional_argument, nullptr, 'j'},
                                 {"json", no_argument, nullptr, 'J' + 256},
                                 {"long", no_argument, nullptr, 'l'},
                                 {"me", no_argument, nullptr, 'm' + 256},
                                 {"name", required_argument, nullptr, 'n'},
                                 {"noheader", no_argument, nullptr, 'h'},
                                 {"partition", required_argument, nullptr, 'p'},
                                 {"start", no_argument, nullptr, 's' + 256},
                                 {"states", required_argument, nullptr, 't'},
                                 {"usage", no_argument, nullptr, 'u' + 256},
                                 {"user", required_argument, nullptr, 'u'},
                                 {"verbose", no_argument, nullptr, 'v'},
                                 {"version", no_argument, nullptr, 'V'},
                                 {nullptr, 0, nullptr, 0}};

// Takes one option getopt_long returned into `o`; returns the exit status when squeue ends with
// it (--help, --version, a mistake), nothing when squeue goes on.
std::optional<int> take_squeue_option(int c, const std::string& value, Argv& argv, SqueueOptions& o) {
  // The options that name jobs to show, each a comma-separated list.
  using List = std::set<std::string> SqueueOptions::*;
  static const std::map<int, List> kLists = {{'A', &SqueueOptions::accounts},
                                             {'n', &SqueueOptions::names},
                                             {'p', &SqueueOptions::partitions},
                                             {'t', &SqueueOptions::states},
                                             {'u', &SqueueOptions::users}};
  if (auto it = kLists.find(c); it != kLists.end()) {
    for (std::string& v : split_list(value)) (o.*(it->second)).insert(std::move(v));
    return std::nullopt;
  }
  switch (c) {
    case 'a':  // every partition is shown already
    case 'v':
    case 'h' + 256:
      return std::nullopt;
    case 'h':
      o.header = false;
      return std::nullopt;
    case 'i':
      o.iterate = std::atoi(value.c_str());
      if (o.iterate < 1) return squeue_error("--iterate: expected a number of seconds");
      return std::nullopt;
    case 'j':
      if (value.empty() && ::optind < argv.argc() && argv.argv()[::optind][0] != '-') {
        for (std::string& v : split_list(argv.argv()[::optind++])) o.jobs.insert(std::move(v));
      } else {
        for (std::string& v : split_list(value)) o.jobs.insert(std::move(v));
      }
      return std::nullopt;
    case 'l':
      o.format = "%.18i %.9P %.8j %.8u %.8T %.10M %.9l %.6D %R";
      return std::nullopt;
    case 'o':
      o.format = value;
      return std::nullopt;
    case 'O':
      o.long_format = value;
      return std::nullopt;
    case 'r':
      o.expand_arrays = true;
      return std::nullopt;
    case 'V':
      std::printf("gwang squeue (options of slurm 22.05)\n");
      return 0;
    case 'H' + 256:
    case 'u' + 256:
      std::printf("%s", kSqueueUsage);
      return 0;
    case 'm' + 256:
      o.me = true;
      return std::nullopt;
    case 'J' + 256:
      o.json_out = true;
      return std::nullopt;
    case 's' + 256:
      o.start_view = true;
      o.format = "%.18i %.9P %.8j %.8u %.2t %.19S %.6D %20Y %R";
      return std::nullopt;
  }
  return option_complaint("squeue", c, argv,
                          {"--yaml", "--sort", "-S", "--steps", "-s", "--qos", "-q", "--clusters", "-M",
                           "--reservation", "-R", "--nodelist", "-w", "--licenses", "-L"});
}

// Reads squeue's command line into `o`; returns the exit status when squeue ends there (--help,
// --version, a mistake), nothing when it goes on.
std::optional<int> parse_squeue(Argv& argv, SqueueOptions& o) {
  ::optind = 0;
  ::opterr = 0;
  for (;;) {
    int index = 0;
    const int c = ::getopt_long(argv.argc(), argv.argv(), ":A:ahi:j::ln:o:O:p:rt:u:vV", kSqueueOptions, &index);
    if (c == -1) break;
    if (auto done = take_squeue_option(c, ::optarg ? ::optarg : "", argv, o)) return done;
  }
  if (::optind < argv.argc()) return squeue_error("unexpected argument '" + std::string(argv.argv()[::optind]) + "'");
  if (o.me) {
    if (const auto u = find_user(std::to_string(::getuid()))) o.users.insert(u->name);
  }
  return std::nullopt;
}

// The fields to print, from -O's long names or -o's %-letters, each named by its letter.
Result<std::vector<slurm::FormatItem>> squeue_format(const SqueueOptions& o) {
  std::vector<slurm::FormatItem> items;
  if (!o.long_format.empty()) {
    std::vector<std::string> names_only;
    for (const auto& [name, letter] : long_fields()) names_only.push_back(name);
    auto parsed = slurm::parse_long_format(o.long_format, names_only);
    if (!parsed) return fail(parsed.error().message);
    items = std::move(*parsed);
    for (slurm::FormatItem& f : items) {
      for (const auto& [name, letter] : long_fields())
        if (name == f.field) f.field = std::string(1, letter);
    }
  } else {
    auto parsed = slurm::parse_percent_format(o.format, kLetters);
    if (!parsed) return fail(parsed.error().message);
    items = std::move(*parsed);
  }
  // Slurm prints times whole, whatever their field's width.
  for (slurm::FormatItem& f : items) {
    if (f.field.size() == 1 && std::string_view("lLMSeV").find(f.field[0]) != std::string_view::npos) f.cut = false;
  }
  return items;
}

// The job states squeue shows: those in `wanted`, or every one (`all`); neither: those not ended.
struct StateFilter {
  std::set<std::string> wanted;
  bool all = false;
};

// The states -t names, by Slurm's names or codes ("all" is every one); an error names a state
// that is not one.
Result<StateFilter> state_filter(const std::set<std::string>& states) {
  StateFilter filter;
  for (const std::string& s : states) {
    const std::string u = upper(s);
    if (u == "ALL") {
      filter.all = true;
      continue;
    }
    bool known = false;
    for (const char* name : {"PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY",
                             "NODE_FAIL", "COMPLETING", "SUSPENDED", "PREEMPTED", "BOOT_FAIL", "DEADLINE"}) {
      if (u == name || u == state_code(name)) {
        filter.wanted.insert(name);
        known = true;
      }
    }
    if (u == "CG") filter.wanted.insert("COMPLETING"), known = true;
    if (!known) return fail("Invalid job state specified: " + s);
  }
  return filter;
}

// The API's path for the jobs squeue may show: the recently ended ones too when a state asked
// for is an end, and the expected starts when a field (or --start) shows them.
std::string squeue_path(const SqueueOptions& o, const StateFilter& filter,
                        const std::vector<slurm::FormatItem>& items) {
  bool ended_wanted = filter.all;
  for (const std::string& s : filter.wanted) ended_wanted = ended_wanted || (s != "PENDING" && s != "RUNNING");
  bool needs_estimates = o.start_view;
  for (const slurm::FormatItem& f : items) needs_estimates = needs_estimates || f.field == "S" || f.field == "e";
  std::string path = "/api/v1/jobs?view=full";
  if (ended_wanted) path += "&all=1";
  if (needs_estimates) path += "&start=1";
  return path;
}

// Whether squeue shows job `j` at time `now`, as the options and states filter the jobs.
bool selected(const SlurmJob& j, const SqueueOptions& o, const StateFilter& filter, std::int64_t now) {
  if (j.ended() && j.end_time < now - kMinJobAge) return false;
  if (!filter.all) {
    if (filter.wanted.empty() ? j.ended() : !filter.wanted.contains(state_name(j.state))) return false;
  }
  if (o.start_view && !j.pending()) return false;
  if (!o.users.empty() && !o.users.contains(j.user)) return false;
  if (!o.accounts.empty() && !o.accounts.contains(j.project)) return false;
  if (!o.names.empty() && !o.names.contains(j.name)) return false;
  if (!o.partitions.empty() && !o.partitions.contains(j.partition)) return false;
  if (!o.jobs.empty() && !j.named_by_any(o.jobs)) return false;
  return true;
}

// The jobs of `all` in Slurm's order: partition, then state (pending first), then priority: held
// jobs (priority 0) last, the others in queue order, which their ids follow. --start orders by
// start time. Their Slurm reasons are set.
std::vector<SlurmJob*> squeue_order(std::vector<SlurmJob>& all, bool start_view) {
  std::vector<SlurmJob*> order;
  for (SlurmJob& j : all) order.push_back(&j);
  auto held = [](const SlurmJob* j) { return j->hold != api::Hold::None; };
  std::stable_sort(order.begin(), order.end(), [&](const SlurmJob* a, const SlurmJob* b) {
    if (a->partition != b->partition) return a->partition < b->partition;
    if (state_rank(a->state) != state_rank(b->state)) return state_rank(a->state) < state_rank(b->state);
    if (start_view) {  // by expected start; the jobs without one after, by id
      const bool ka = a->planned_start() >= 0, kb = b->planned_start() >= 0;
      if (ka != kb) return ka;
      if (ka && a->planned_start() != b->planned_start()) return a->planned_start() < b->planned_start();
      return a->id < b->id;
    }
    if (held(a) != held(b)) return held(b);
    return a->id < b->id;
  });
  slurm_reasons(order, all);
  return order;
}

// squeue's lines, and which of them hold an array's pending tasks together.
struct Rows {
  std::vector<Row> rows;
  std::set<std::size_t> grouped;
};

// The lines of the jobs squeue shows, in `order`: every job, but an array's pending tasks on one
// line, as Slurm keeps them in one record until a task starts (tasks held apart from the others
// are lines of their own). The line shows the reason of its first task.
Rows squeue_rows(const std::vector<SlurmJob*>& order, const SqueueOptions& o, const StateFilter& filter,
                 std::int64_t now) {
  Rows out;
  std::vector<Row>& rows = out.rows;
  std::map<std::pair<std::int64_t, api::Hold>, std::size_t> grouped;  // (array, hold) -> row
  std::map<std::size_t, std::vector<std::int64_t>> indices;
  for (const SlurmJob* each : order) {
    const SlurmJob& j = *each;
    if (!selected(j, o, filter, now)) continue;
    if (j.array_job_id > 0 && j.pending() && !o.expand_arrays) {
      const auto key = std::make_pair(j.array_job_id, j.hold);
      auto [it, fresh] = grouped.emplace(key, rows.size());
      if (fresh) rows.push_back({j, "", ""});
      indices[it->second].push_back(j.array_task_id);
      continue;
    }
    rows.push_back({j, j.job_id(), j.array_job_id > 0 ? std::to_string(j.array_task_id) : "N/A"});
  }
  for (auto& [at, ix] : indices) {
    Row& row = rows[at];
    std::string list = core::format_ranges<std::int64_t>(ix);
    if (auto spec = slurm::parse_array(row.job.array, 10'000'001); spec && spec->max_running) {
      list += "%" + std::to_string(*spec->max_running);
    }
    row.task = list;
    row.id =
        std::to_string(row.job.array_job_id) +
        (ix.size() > 1 || list.find('%') != std::string::npos ? "_[" + list + "]" : "_" + std::to_string(ix.front()));
    out.grouped.insert(at);
  }
  return out;
}

// Prints the lines as squeue --json does.
void print_squeue_json(const Rows& rows) {
  json list = json::array();
  for (std::size_t r = 0; r < rows.rows.size(); ++r) list.push_back(job_json(rows.rows[r], rows.grouped.contains(r)));
  const std::string text = json{
      {"meta", slurm_json_meta("openapi/v0.0.38", "Slurm OpenAPI v0.0.38")},
      {"errors", json::array()},
      {"jobs", list}}.dump(2);
  std::printf("%s\n", text.c_str());
}

// Prints the lines in the format's columns: with --iterate the time first, then the header
// unless --noheader.
void print_squeue_table(const std::vector<Row>& rows, const std::vector<slurm::FormatItem>& items,
                        const SqueueOptions& o, std::int64_t now) {
  std::string out;
  if (o.iterate > 0) {
    const std::time_t t = static_cast<std::time_t>(now);
    char when[64];
    std::strftime(when, sizeof when, "%a %b %d %H:%M:%S %Y", std::localtime(&t));
    out += std::string(when) + "\n";
  }
  if (o.header) {
    std::vector<slurm::FormatItem> cut = items;  // headers are cut to their fields, values of times are not
    for (slurm::FormatItem& f : cut) f.cut = true;
    out += slurm::render(cut, [](const slurm::FormatItem& f) { return std::string(header_of(f.field[0])); });
    out += '\n';
  }
  for (const Row& row : rows) {
    out += slurm::render(items, [&](const slurm::FormatItem& f) { return field(row, f.field[0], now); });
    out += '\n';
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
}

}  // namespace

int run_squeue(const std::vector<std::string>& args) {
  Argv argv("squeue", args);
  SqueueOptions o;
  if (auto done = parse_squeue(argv, o)) return *done;
  const auto items = squeue_format(o);
  if (!items) return squeue_error(items.error().message);
  auto filter = state_filter(o.states);
  if (!filter) return squeue_error(filter.error().message);
  // --json lists every job the controller shows, the recently ended ones too, as Slurm's does.
  if (o.json_out && filter->wanted.empty()) filter->all = true;
  const std::string path = squeue_path(o, *filter, *items);

  ClientArgs client;
  set_error_prefix("squeue: error: ");
  for (;;) {
    int rc = 0;
    auto answer = request(client, "GET", path, "", &rc);
    if (!answer) return 1;
    const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
    auto listed = slurm_jobs((*answer)["jobs"]);
    if (!listed) return squeue_error("the controller's answer: " + listed.error().message);
    std::vector<SlurmJob>& all = *listed;
    const Rows rows = squeue_rows(squeue_order(all, o.start_view), o, *filter, now);
    if (o.json_out) {
      print_squeue_json(rows);
      return 0;
    }
    print_squeue_table(rows.rows, *items, o, now);
    if (o.iterate <= 0) return 0;
    std::this_thread::sleep_for(std::chrono::seconds(o.iterate));
    std::printf("\n");
  }
}

}  // namespace gwang::cli
