// scancel, as Slurm 22.05's man page describes it, on gwang's API.
#include <getopt.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "cli/api_call.h"
#include "cli/commands.h"
#include "cli/slurm_jobs.h"
#include "slurm/format.h"
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
                           [&](const SlurmJob& j) { return j.array_job == id && j.array_task == index; });
    if (it == jobs.end())
      return fail("Kill job error on job id " + base + "_" + std::to_string(index) + ": Invalid job id specified");
    out.push_back(it->id);
  }
  return out;
}

}  // namespace

int run_scancel(const std::vector<std::string>& args) {
  Argv argv("scancel", args);
  static const option kLong[] = {{"account", required_argument, nullptr, 'A'},
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
  std::set<std::string> accounts, names, partitions, states, users;
  bool quiet = false, verbose = false;
  ::optind = 0;
  ::opterr = 0;
  for (;;) {
    int index = 0;
    const int c = ::getopt_long(argv.argc(), argv.argv(), ":A:hn:p:Qs:t:u:vV", kLong, &index);
    if (c == -1) break;
    const std::string value = ::optarg ? ::optarg : "";
    auto add = [&](std::set<std::string>& to) {
      for (std::string& v : split_list(value)) to.insert(std::move(v));
    };
    switch (c) {
      case 'A':
        add(accounts);
        break;
      case 'h':
        std::printf("%s", kScancelUsage);
        return 0;
      case 'm' + 256: {
        if (const passwd* pw = ::getpwuid(::getuid())) users.insert(pw->pw_name);
        break;
      }
      case 'n':
        add(names);
        break;
      case 'p':
        add(partitions);
        break;
      case 'Q':
        quiet = true;
        break;
      case 's':
        // A job is ended with SIGTERM, then SIGKILL after the grace; other signals gwang does not send.
        if (upper(value) != "TERM" && upper(value) != "SIGTERM" && upper(value) != "KILL" &&
            upper(value) != "SIGKILL" && value != "15" && value != "9") {
          return scancel_error("--signal=" + value +
                               ": gwang ends jobs (TERM, then KILL); other signals are not supported");
        }
        break;
      case 't':
        for (std::string& v : split_list(value)) {
          const std::string u = upper(v);
          if (u == "PENDING" || u == "PD")
            states.insert("PENDING");
          else if (u == "RUNNING" || u == "R")
            states.insert("RUNNING");
          else
            return scancel_error("Invalid job state specified: " + v);
        }
        break;
      case 'u':
        add(users);
        break;
      case 'v':
        verbose = true;
        break;
      case 'V':
        std::printf("gwang scancel (options of slurm 22.05)\n");
        return 0;
      default:
        return option_complaint("scancel", c, argv);
    }
  }
  std::vector<std::string> ids(argv.text().begin() + ::optind, argv.text().end());
  const bool filtered = !accounts.empty() || !names.empty() || !partitions.empty() || !states.empty() || !users.empty();
  if (ids.empty() && !filtered) return scancel_error("No job identification provided");
  ClientArgs client;
  set_error_prefix("scancel: error: ");
  int rc = 0;
  auto answer = request(client, "GET", std::string("/api/v1/jobs?view=full") + (ids.empty() ? "" : "&all=1"), "", &rc);
  if (!answer) return 1;
  std::vector<SlurmJob> jobs;
  for (const json& j : (*answer)["jobs"]) jobs.push_back(slurm_job(j));
  auto matches = [&](const SlurmJob& j) {
    if (j.ended()) return false;
    return (accounts.empty() || accounts.contains(j.project)) && (names.empty() || names.contains(j.name)) &&
           (partitions.empty() || partitions.contains(j.partition)) && (states.empty() || states.contains(j.state)) &&
           (users.empty() || users.contains(j.user));
  };
  std::vector<std::pair<std::int64_t, bool>> targets;       // id, and whether it is an array's id meaning all of it
  std::vector<std::pair<std::int64_t, std::string>> steps;  // JOB.STEP: a step of a job alone
  int status = 0;
  if (ids.empty()) {
    for (const SlurmJob& j : jobs) {
      if (matches(j)) targets.emplace_back(j.id, false);
    }
  } else {
    for (const std::string& text : ids) {
      if (const std::size_t dot = text.find('.'); dot != std::string::npos) {
        const std::string step = text.substr(dot + 1);
        auto r = resolve(text.substr(0, dot), jobs);
        if (step.empty() || step.size() > 6 || step.find_first_not_of("0123456789") != std::string::npos || !r ||
            r->size() != 1) {
          if (!quiet) std::fprintf(stderr, "scancel: error: Invalid job id %s\n", text.c_str());
          status = 1;
          continue;
        }
        steps.emplace_back(r->front(), step);
        continue;
      }
      auto r = resolve(text, jobs);
      if (!r) {
        if (!quiet) std::fprintf(stderr, "scancel: error: %s\n", r.error().message.c_str());
        status = 1;
        continue;
      }
      for (std::int64_t id : *r) {
        auto it = std::find_if(jobs.begin(), jobs.end(), [&](const SlurmJob& j) { return j.id == id; });
        const bool array = it != jobs.end() && it->array_job == id;
        std::string why;
        if (it == jobs.end()) {
          why = "Invalid job id specified";
        } else if (it->ended() && !(array && std::any_of(jobs.begin(), jobs.end(), [&](const SlurmJob& j) {
                                      return j.array_job == id && !j.ended();
                                    }))) {
          why = "Job/step already completing or completed";
        }
        if (!why.empty()) {
          if (!quiet)
            std::fprintf(stderr, "scancel: error: Kill job error on job id %s: %s\n", text.c_str(), why.c_str());
          status = 1;
          continue;
        }
        // Filters narrow the ids given, as in Slurm.
        if (filtered && !array && !matches(*it)) continue;
        targets.emplace_back(id, array && text.find('_') == std::string::npos);
      }
    }
  }
  set_error_prefix("scancel: error: Kill job error: ");
  for (const auto& [id, whole] : targets) {
    if (verbose) std::fprintf(stderr, "scancel: Terminating job %lld\n", static_cast<long long>(id));
    int code = 0;
    const std::string path = "/api/v1/jobs/" + std::to_string(id) + "/cancel" + (whole ? "" : "?task_only=1");
    if (!request(client, "POST", path, "", &code)) status = 1;
  }
  for (const auto& [id, step] : steps) {
    if (verbose) std::fprintf(stderr, "scancel: Terminating step %lld.%s\n", static_cast<long long>(id), step.c_str());
    int code = 0;
    if (!request(client, "POST", "/api/v1/jobs/" + std::to_string(id) + "/steps/" + step + "/cancel", "", &code))
      status = 1;
  }
  return status;
}

}  // namespace gwang::cli
