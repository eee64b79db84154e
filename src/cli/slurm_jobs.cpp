#include "cli/slurm_jobs.h"

#include <getopt.h>
#include <pwd.h>

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "cli/accounts.h"
#include "slurm/format.h"
#include "slurm/hostlist.h"
#include "slurm/specs.h"

namespace gwang::cli {

using nlohmann::json;

std::string SlurmJob::job_id() const {
  return in_array() ? std::to_string(array_job_id) + "_" + std::to_string(array_task_id) : std::to_string(id);
}

Result<std::vector<SlurmJob>> slurm_jobs(const json& list) {
  auto views = api::read_job_views(list);
  if (!views) return tl::unexpected(views.error());
  std::vector<SlurmJob> out(views->size());
  for (std::size_t i = 0; i < views->size(); ++i) static_cast<api::JobView&>(out[i]) = std::move((*views)[i]);
  return out;
}

bool SlurmJob::named_by(std::string_view text) const {
  return text == std::to_string(id) || text == job_id() || (in_array() && text == std::to_string(array_job_id));
}

std::int64_t SlurmJob::array_limit() const {
  if (!in_array()) return 0;
  const auto spec = slurm::parse_array(array, 10'000'001);
  return spec && spec->max_running ? *spec->max_running : 0;
}

json slurm_json_meta(const std::string& type, const std::string& name) {
  return {{"plugin", {{"type", type}, {"name", name + " (gwang)"}}},
          {"Slurm", {{"version", {{"major", 22}, {"micro", 8}, {"minor", 5}}}, {"release", "22.05.8"}}}};
}

std::string state_code(api::JobState state) {
  using api::JobState;
  switch (state) {
    case JobState::Pending:
      return "PD";
    case JobState::Running:
      return "R";
    case JobState::Completed:
      return "CD";
    case JobState::Failed:
      return "F";
    case JobState::Cancelled:
      return "CA";
    case JobState::Timeout:
      return "TO";
    case JobState::OutOfMemory:
      return "OOM";
    case JobState::NodeFail:
      return "NF";
    case JobState::Deadline:
      return "DL";
  }
  return std::string(to_string(state));
}

std::string state_code(std::string_view slurm_state) {
  if (const auto s = api::parse_job_state(slurm_state)) return state_code(*s);
  return std::string(slurm_state);
}

std::string state_name(api::JobState state) { return std::string(to_string(state)); }

int state_rank(api::JobState state) {
  // Slurm's order of its states: PENDING, RUNNING, SUSPENDED, COMPLETED, CANCELLED, FAILED,
  // TIMEOUT, NODE_FAIL, PREEMPTED, BOOT_FAIL, DEADLINE, OUT_OF_MEMORY.
  using api::JobState;
  switch (state) {
    case JobState::Pending:
      return 0;
    case JobState::Running:
      return 1;
    case JobState::Completed:
      return 3;
    case JobState::Cancelled:
      return 4;
    case JobState::Failed:
      return 5;
    case JobState::Timeout:
      return 6;
    case JobState::NodeFail:
      return 7;
    case JobState::Deadline:
      return 10;
    case JobState::OutOfMemory:
      return 11;
  }
  return 99;
}

std::string reason_code(const SlurmJob& job) {
  if (!job.pending()) return "None";  // also a job cancelled for a dependency never met, as in Slurm
  if (!job.slurm_reason.empty()) return job.slurm_reason;
  return std::string(api::slurm_reason(job.reason_code));
}

std::string time_limit_text(std::int64_t seconds) {
  return seconds >= kUnlimited ? "UNLIMITED" : slurm::format_minutes(seconds / 60);
}

std::string dependency_text(const SlurmJob& job) {
  if (!job.pending() || job.dependency.empty()) return "(null)";
  const char* status = job.reason_code == api::ReasonCode::DependencyNeverSatisfied ? "(failed)" : "(unfulfilled)";
  std::string out;
  std::size_t at = 0;
  while (at <= job.dependency.size()) {
    std::size_t sep = job.dependency.find_first_of(",?", at);
    if (sep == std::string::npos) sep = job.dependency.size();
    out += job.dependency.substr(at, sep - at) + status;
    if (sep < job.dependency.size()) out += job.dependency[sep];
    at = sep + 1;
  }
  return out;
}

void slurm_reasons(std::vector<SlurmJob*>& jobs, const std::vector<SlurmJob>& all) {
  std::map<std::int64_t, int> running;               // array -> tasks running
  std::map<std::int64_t, std::string> first_queued;  // array -> the reason of its first queued task
  for (const SlurmJob& j : all) {
    if (j.array_job_id > 0 && j.state == api::JobState::Running) ++running[j.array_job_id];
  }
  for (const SlurmJob& j : all) {
    if (j.array_job_id == 0 || !j.pending() || first_queued.contains(j.array_job_id)) continue;
    const std::string r = reason_code(j);
    if (r != "JobArrayTaskLimit") first_queued[j.array_job_id] = r;
  }
  std::set<std::string> waiting_for_resources;  // partitions whose first blocked job is seen
  for (SlurmJob* j : jobs) {
    if (!j->pending()) continue;
    std::string r = reason_code(*j);
    if (r == "JobArrayTaskLimit") {
      if (running[j->array_job_id] < j->array_limit())
        r = first_queued.contains(j->array_job_id) ? first_queued[j->array_job_id] : "Priority";
    }
    if (r == "Resources" && !waiting_for_resources.insert(j->partition).second) r = "Priority";
    j->slurm_reason = r;
  }
}

std::string compressed_nodes(const SlurmJob& job) {
  if (job.node.empty()) return "";
  std::vector<std::string> hosts;
  for (std::size_t at = 0; at <= job.node.size();) {
    std::size_t comma = job.node.find(',', at);
    if (comma == std::string::npos) comma = job.node.size();
    hosts.push_back(job.node.substr(at, comma - at));
    at = comma + 1;
  }
  return slurm::compress_hosts(hosts);
}

Argv::Argv(const char* program, const std::vector<std::string>& args) {
  text_.push_back(program);
  text_.insert(text_.end(), args.begin(), args.end());
  for (std::string& a : text_) pointers_.push_back(a.data());
  pointers_.push_back(nullptr);
}

int option_complaint(const char* program, int c, Argv& args, std::initializer_list<const char*> unsupported) {
  const std::string bad =
      ::optopt && c != ':' ? "-" + std::string(1, static_cast<char>(::optopt)) : args.argv()[::optind - 1];
  if (c == ':') {
    std::fprintf(stderr, "%s: error: option '%s' requires an argument\n", program, bad.c_str());
    return 1;
  }
  const std::string name = bad.substr(0, bad.find('='));
  for (const char* known : unsupported) {
    if (name == known) {
      std::fprintf(stderr, "%s: error: option '%s' is not supported by gwang\n", program, name.c_str());
      return 1;
    }
  }
  std::fprintf(stderr, "%s: unrecognized option '%s'\nTry \"%s --help\" for more information\n", program, bad.c_str(),
               program);
  return 1;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  for (std::size_t at = 0; at <= text.size();) {
    std::size_t comma = text.find(',', at);
    if (comma == std::string::npos) comma = text.size();
    if (comma > at) out.push_back(text.substr(at, comma - at));
    at = comma + 1;
  }
  return out;
}

int say_test_only(const char* program, const nlohmann::json& t) {
  if (t["start"].is_null()) {
    std::fprintf(stderr, "%s: error: Job violates accounting/QOS policy or no nodes that are up can hold it\n",
                 program);
    return 1;
  }
  const std::vector<std::string> nodes = t["nodes"].get<std::vector<std::string>>();
  std::fprintf(stderr, "%s: Job %lld to start at %s using %d processors on nodes %s in partition %s\n", program,
               static_cast<long long>(t["id"].get<std::int64_t>()),
               slurm::format_slurm_date(t["start"].get<std::int64_t>()).c_str(), t["cpus"].get<int>(),
               slurm::compress_hosts(nodes).c_str(), t["partition"].get<std::string>().c_str());
  return 0;
}

std::string upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

std::string uid_of(const std::string& user) {
  if (const auto u = find_user(user)) return std::to_string(u->uid);
  return "4294967294";
}

}  // namespace gwang::cli
