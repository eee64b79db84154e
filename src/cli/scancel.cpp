// scancel, as Slurm 22.05's man page describes it, on gwang's API.
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
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
#include "slurm/format.h"
#include "slurm/signals.h"
#include "slurm/specs.h"

namespace gwang::cli {

using nlohmann::json;

namespace {

int scancel_error(const std::string& message) {
  std::fprintf(stderr, "scancel: error: %s\n", message.c_str());
  return 1;
}

const char* kScancelUsage =
    "Usage: scancel [-A account] [--batch] [--interactive] [-n job_name]\n"
    "               [-p partition] [-Q] [-q qos] [-R reservation] [-s signal | integer]\n"
    "               [-t PENDING | RUNNING | SUSPENDED] [--usage] [-u user_name]\n"
    "               [-V] [-v] [-w hosts...] [--wckey=wckey] [job_id[_array_id][.step_id]]\n";

// A job id as scancel takes it: "12", "12_3", "12_[1-3,7]"; what it names among `jobs`.
Result<std::vector<std::int64_t>> resolve(const std::string& text, const std::vector<SlurmJob>& jobs) {
  const auto bad = [&] { return fail("Invalid job id " + text); };
  const std::size_t under = text.find('_');
  const std::string base = text.substr(0, under);
  if (base.empty() || base.size() > 18 || base.find_first_not_of("0123456789") != std::string::npos) return bad();
  const std::int64_t id = std::stoll(base);
  std::vector<std::int64_t> out;
  if (under == std::string::npos) {
    out.push_back(id);  // a job, or an array by its id: the controller cancels every task
    return out;
  }
  std::string list = text.substr(under + 1);
  if (list.size() > 2 && list.front() == '[' && list.back() == ']') list = list.substr(1, list.size() - 2);
  auto spec = slurm::parse_array(list, 10'000'001);
  if (!spec || spec->max_running) return bad();
  for (std::int64_t index : spec->indices) {
    auto it = std::find_if(jobs.begin(), jobs.end(),
                           [&](const SlurmJob& j) { return j.array_job_id == id && j.array_task_id == index; });
    if (it == jobs.end())
      return fail("Kill job error on job id " + base + "_" + std::to_string(index) + ": Invalid job id specified");
    out.push_back(it->id);
  }
  return out;
}

// What scancel was asked: the jobs by id, and the filters that choose jobs (empty sets: any).
struct ScancelOptions {
  std::set<std::string> accounts, names, partitions, states, users;
  bool quiet = false, verbose = false;
  std::vector<std::string> ids;
  // -s: a signal to send instead of cancelling (SIGKILL cancels); -b: to the batch step alone,
  // -f: to the batch step too (by default a signal goes to the job's steps, not its batch step).
  std::optional<int> signal;
  bool batch = false, full = false;

  // Whether a filter was given.
  bool filtered() const {
    return !accounts.empty() || !names.empty() || !partitions.empty() || !states.empty() || !users.empty();
  }
};

const option kScancelOptions[] = {{"account", required_argument, nullptr, 'A'},
                                  {"batch", no_argument, nullptr, 'b'},
                                  {"full", no_argument, nullptr, 'f'},
                                  {"help", no_argument, nullptr, 'h'},
                                  {"me", no_argument, nullptr, 'm' + 256},
                                  {"name", required_argument, nullptr, 'n'},
                                  {"partition", required_argument, nullptr, 'p'},
                                  {"quiet", no_argument, nullptr, 'Q'},
                                  {"signal", required_argument, nullptr, 's'},
                                  {"state", required_argument, nullptr, 't'},
                                  {"usage", no_argument, nullptr, 'h'},
                                  {"user", required_argument, nullptr, 'u'},
                                  {"verbose", no_argument, nullptr, 'v'},
                                  {"version", no_argument, nullptr, 'V'},
                                  {nullptr, 0, nullptr, 0}};

// Adds the states -t names (pending or running, by name or code) to `states`; returns 1 after
// saying which one is not one of them.
std::optional<int> add_states(const std::string& value, std::set<std::string>& states) {
  for (std::string& v : split_list(value)) {
    const std::string u = upper(v);
    if (u == "PENDING" || u == "PD")
      states.insert("PENDING");
    else if (u == "RUNNING" || u == "R")
      states.insert("RUNNING");
    else
      return scancel_error("Invalid job state specified: " + v);
  }
  return std::nullopt;
}

// Takes one option getopt_long returned into `o`; returns the exit status when scancel ends with
// it (--help, --version, a mistake), nothing when scancel goes on.
std::optional<int> take_scancel_option(int c, const std::string& value, Argv& argv, ScancelOptions& o) {
  auto add = [&](std::set<std::string>& to) {
    for (std::string& v : split_list(value)) to.insert(std::move(v));
  };
  switch (c) {
    case 'A':
      add(o.accounts);
      return std::nullopt;
    case 'h':
      std::printf("%s", kScancelUsage);
      return 0;
    case 'm' + 256:
      if (const auto u = find_user(std::to_string(::getuid()))) o.users.insert(u->name);
      return std::nullopt;
    case 'n':
      add(o.names);
      return std::nullopt;
    case 'p':
      add(o.partitions);
      return std::nullopt;
    case 'Q':
      o.quiet = true;
      return std::nullopt;
    case 's':
      o.signal = slurm::signal_number(value);
      if (!o.signal) return scancel_error("Invalid job signal: " + value);
      return std::nullopt;
    case 'b':
      o.batch = true;
      return std::nullopt;
    case 'f':
      o.full = true;
      return std::nullopt;
    case 't':
      return add_states(value, o.states);
    case 'u':
      add(o.users);
      return std::nullopt;
    case 'v':
      o.verbose = true;
      return std::nullopt;
    case 'V':
      std::printf("gwang scancel (options of slurm 22.05)\n");
      return 0;
  }
  return option_complaint("scancel", c, argv);
}

// Reads scancel's command line into `o`; returns the exit status when scancel ends there (--help,
// --version, a mistake, no job named), nothing when it goes on.
std::optional<int> parse_scancel(Argv& argv, ScancelOptions& o) {
  ::optind = 0;
  ::opterr = 0;
  for (;;) {
    int index = 0;
    const int c = ::getopt_long(argv.argc(), argv.argv(), ":A:bfhn:p:Qs:t:u:vV", kScancelOptions, &index);
    if (c == -1) break;
    if (auto done = take_scancel_option(c, ::optarg ? ::optarg : "", argv, o)) return done;
  }
  o.ids.assign(argv.text().begin() + ::optind, argv.text().end());
  if (o.ids.empty() && !o.filtered()) return scancel_error("No job identification provided");
  return std::nullopt;
}

// Whether job `j` has not ended and passes the filters.
bool matches(const SlurmJob& j, const ScancelOptions& o) {
  if (j.ended()) return false;
  return (o.accounts.empty() || o.accounts.contains(j.project)) && (o.names.empty() || o.names.contains(j.name)) &&
         (o.partitions.empty() || o.partitions.contains(j.partition)) &&
         (o.states.empty() || o.states.contains(state_name(j.state))) && (o.users.empty() || o.users.contains(j.user));
}

// What scancel cancels, and its exit status so far (1 once an id named nothing to cancel).
struct Targets {
  std::vector<std::pair<std::int64_t, bool>> jobs;          // id, and whether it is an array's id meaning all of it
  std::vector<std::pair<std::int64_t, std::string>> steps;  // JOB.STEP: a step of a job alone
  int status = 0;
};

// Adds the step that `text` ("12.0", "12_3.1") names among `jobs` to `t`, or says it names none.
void target_step(const std::string& text, std::size_t dot, const ScancelOptions& o, const std::vector<SlurmJob>& jobs,
                 Targets& t) {
  const std::string step = text.substr(dot + 1);
  auto r = resolve(text.substr(0, dot), jobs);
  if (step.empty() || step.size() > 6 || step.find_first_not_of("0123456789") != std::string::npos || !r ||
      r->size() != 1) {
    if (!o.quiet) std::fprintf(stderr, "scancel: error: Invalid job id %s\n", text.c_str());
    t.status = 1;
    return;
  }
  t.steps.emplace_back(r->front(), step);
}

// Adds the jobs that `text` names among `jobs` to `t` (those the filters pass), and says which of
// them cannot be cancelled.
void target_jobs(const std::string& text, const ScancelOptions& o, const std::vector<SlurmJob>& jobs, Targets& t) {
  auto r = resolve(text, jobs);
  if (!r) {
    if (!o.quiet) std::fprintf(stderr, "scancel: error: %s\n", r.error().message.c_str());
    t.status = 1;
    return;
  }
  for (std::int64_t id : *r) {
    auto it = std::find_if(jobs.begin(), jobs.end(), [&](const SlurmJob& j) { return j.id == id; });
    const bool array = it != jobs.end() && it->array_job_id == id;
    std::string why;
    if (it == jobs.end()) {
      why = "Invalid job id specified";
    } else if (it->ended() && !(array && std::any_of(jobs.begin(), jobs.end(), [&](const SlurmJob& j) {
                                  return j.array_job_id == id && !j.ended();
                                }))) {
      why = "Job/step already completing or completed";
    }
    if (!why.empty()) {
      if (!o.quiet)
        std::fprintf(stderr, "scancel: error: Kill job error on job id %s: %s\n", text.c_str(), why.c_str());
      t.status = 1;
      continue;
    }
    // Filters narrow the ids given, as in Slurm.
    if (o.filtered() && !array && !matches(*it, o)) continue;
    t.jobs.emplace_back(id, array && text.find('_') == std::string::npos);
  }
}

// What the ids given name among `jobs`, or with no id every job the filters pass.
Targets scancel_targets(const ScancelOptions& o, const std::vector<SlurmJob>& jobs) {
  Targets t;
  if (o.ids.empty()) {
    for (const SlurmJob& j : jobs) {
      if (matches(j, o)) t.jobs.emplace_back(j.id, false);
    }
    return t;
  }
  for (const std::string& text : o.ids) {
    if (const std::size_t dot = text.find('.'); dot != std::string::npos) {
      target_step(text, dot, o, jobs, t);
    } else {
      target_jobs(text, o, jobs, t);
    }
  }
  return t;
}

// Asks the API to cancel the targets, jobs first, then steps; returns scancel's exit status: 1
// when an id named nothing to cancel or a cancel failed.
int cancel_targets(const ClientArgs& client, const Targets& t, bool verbose) {
  int status = t.status;
  set_error_prefix("scancel: error: Kill job error: ");
  for (const auto& [id, whole] : t.jobs) {
    if (verbose) std::fprintf(stderr, "scancel: Terminating job %lld\n", static_cast<long long>(id));
    int code = 0;
    const std::string path = "/api/v1/jobs/" + std::to_string(id) + "/cancel" + (whole ? "" : "?task_only=1");
    if (!request(client, "POST", path, "", &code)) status = 1;
  }
  for (const auto& [id, step] : t.steps) {
    if (verbose) std::fprintf(stderr, "scancel: Terminating step %lld.%s\n", static_cast<long long>(id), step.c_str());
    int code = 0;
    if (!request(client, "POST", "/api/v1/jobs/" + std::to_string(id) + "/steps/" + step + "/cancel", "", &code))
      status = 1;
  }
  return status;
}

// Sends the signal to the targets (a whole array's id: each of its running tasks); returns
// scancel's exit status.
int signal_targets(const ClientArgs& client, const Targets& t, const ScancelOptions& o,
                   const std::vector<SlurmJob>& jobs) {
  int status = t.status;
  set_error_prefix("scancel: error: Kill job error: ");
  const std::string target = o.batch ? "batch" : o.full ? "all" : "steps";
  auto send = [&](std::int64_t id, const std::string& body) {
    int code = 0;
    if (!request(client, "POST", "/api/v1/jobs/" + std::to_string(id) + "/signal", body, &code)) status = 1;
  };
  for (const auto& [id, whole] : t.jobs) {
    std::vector<std::int64_t> ids{id};
    if (whole) {
      ids.clear();
      for (const SlurmJob& j : jobs) {
        if ((j.array_job_id == id || j.id == id) && j.state == api::JobState::Running) ids.push_back(j.id);
      }
    }
    for (std::int64_t one : ids) {
      if (o.verbose) std::fprintf(stderr, "scancel: Signal %d to job %lld\n", *o.signal, static_cast<long long>(one));
      send(one, nlohmann::json{{"signal", *o.signal}, {"target", target}}.dump());
    }
  }
  for (const auto& [id, step] : t.steps) {
    if (o.verbose)
      std::fprintf(stderr, "scancel: Signal %d to step %lld.%s\n", *o.signal, static_cast<long long>(id), step.c_str());
    send(id, nlohmann::json{{"signal", *o.signal}, {"step", std::stoi(step)}}.dump());
  }
  return status;
}

}  // namespace

int run_scancel(const std::vector<std::string>& args) {
  Argv argv("scancel", args);
  ScancelOptions o;
  if (auto done = parse_scancel(argv, o)) return *done;
  ClientArgs client;
  set_error_prefix("scancel: error: ");
  int rc = 0;
  auto answer =
      request(client, "GET", std::string("/api/v1/jobs?view=full") + (o.ids.empty() ? "" : "&all=1"), "", &rc);
  if (!answer) return 1;
  const auto jobs = slurm_jobs((*answer)["jobs"]);
  if (!jobs) return scancel_error("the controller's answer: " + jobs.error().message);
  const Targets targets = scancel_targets(o, *jobs);
  // SIGKILL ends the job, as a cancel; another signal is sent, and the job goes on.
  if (o.signal && *o.signal != SIGKILL) return signal_targets(client, targets, o, *jobs);
  return cancel_targets(client, targets, o.verbose);
}

}  // namespace gwang::cli
