#include "cli/slurm_jobs.h"

#include <getopt.h>
#include <pwd.h>

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "slurm/format.h"
#include "slurm/hostlist.h"
#include "slurm/specs.h"

namespace gwang::cli {

using nlohmann::json;

std::string SlurmJob::job_id() const {
  return array_job > 0 ? std::to_string(array_job) + "_" + std::to_string(array_task) : std::to_string(id);
}

SlurmJob slurm_job(const json& j) {
  SlurmJob s;
  auto time = [&](const char* key) {
    return j.contains(key) && j[key].is_number_integer() ? j[key].get<std::int64_t>() : std::int64_t{-1};
  };
  s.id = j.at("id").get<std::int64_t>();
  s.array_job = j.value("array_job_id", std::int64_t{0});
  s.array_task = j.value("array_task_id", std::int64_t{-1});
  s.array = j.value("array", "");
  s.name = j.value("name", "");
  s.user = j.value("user", "");
  s.state = j.value("state", "");
  s.reason = j.value("reason", "");
  s.partition = j.value("partition", "");
  s.project = j.value("project", "");
  s.workdir = j.value("workdir", "");
  s.dependency = j.value("dependency", "");
  s.comment = j.value("comment", "");
  s.nodelist = j.value("node", "");
  s.command = j.value("command", std::vector<std::string>{});
  s.submit = j.value("submit_time", std::int64_t{0});
  s.start = time("start_time");
  s.end = time("end_time");
  s.begin = j.value("begin", std::int64_t{0});
  s.estimated_start = time("estimated_start");
  s.time_limit = j.value("time_limit", std::int64_t{0});
  s.nodes = j.value("nodes", 1);
  s.cpus = j.value("cpus", 1);
  s.exit_code = j.value("exit_code", 0);
  s.attempt = j.value("attempt", 0);
  s.mem = j.value("mem", std::int64_t{0});
  s.hold = j.value("hold", "");
  s.qos = j.value("qos", "");
  s.batch = j.value("batch", false);
  if (j.contains("steps")) {
    for (const json& st : j["steps"]) {
      SlurmStep one;
      one.id = st.value("id", 0);
      one.name = st.value("name", "");
      one.state = st.value("state", "");
      one.exit_code = st.value("exit_code", 0);
      one.signal = st.value("signal", 0);
      one.ntasks = st.value("ntasks", 0);
      one.cpus_per_task = st.value("cpus_per_task", 1);
      one.start =
          st.contains("start_time") && st["start_time"].is_number_integer() ? st["start_time"].get<std::int64_t>() : -1;
      one.end = st.contains("end_time") && st["end_time"].is_number_integer() ? st["end_time"].get<std::int64_t>() : -1;
      one.nodes = st.value("nodes", std::vector<std::string>{});
      s.steps.push_back(std::move(one));
    }
  }
  return s;
}

std::int64_t SlurmJob::array_limit() const {
  if (array_job <= 0) return 0;
  const auto spec = slurm::parse_array(array, 10'000'001);
  return spec && spec->max_running ? *spec->max_running : 0;
}

json slurm_json_meta(const std::string& type, const std::string& name) {
  return {{"plugin", {{"type", type}, {"name", name + " (gwang)"}}},
          {"Slurm", {{"version", {{"major", 22}, {"micro", 8}, {"minor", 5}}}, {"release", "22.05.8"}}}};
}

std::string state_code(const std::string& state) {
  if (state == "PENDING") return "PD";
  if (state == "RUNNING") return "R";
  if (state == "COMPLETED") return "CD";
  if (state == "FAILED") return "F";
  if (state == "CANCELLED") return "CA";
  if (state == "TIMEOUT") return "TO";
  if (state == "OUT_OF_MEMORY") return "OOM";
  if (state == "NODE_FAIL") return "NF";
  return state;
}

int state_rank(const std::string& state) {
  static const char* kOrder[] = {"PENDING", "RUNNING",   "SUSPENDED", "COMPLETED", "CANCELLED", "FAILED",
                                 "TIMEOUT", "NODE_FAIL", "PREEMPTED", "BOOT_FAIL", "DEADLINE",  "OUT_OF_MEMORY"};
  for (int i = 0; i < static_cast<int>(std::size(kOrder)); ++i) {
    if (state == kOrder[i]) return i;
  }
  return 99;
}

std::string reason_code(const SlurmJob& job) {
  if (!job.pending()) return "None";
  if (!job.slurm_reason.empty()) return job.slurm_reason;
  const std::string token = job.reason.substr(0, job.reason.find_first_of(": ("));
  if (token == "Gang" || token == "Reserved" || token == "Preempting") return "Resources";
  if (token == "ReservedForJob") return "Priority";
  if (token == "NodesUnavailable") return "ReqNodeNotAvail";
  if (token == "QuotaReached") return "AssocGrpGRES";
  if (token == "Held") return "AssocGrpBillingMinutes";  // its project's grants do not let it run
  for (const char* same : {"Priority", "Resources", "BeginTime", "Dependency", "DependencyNeverSatisfied",
                           "JobHeldUser", "JobHeldAdmin", "JobArrayTaskLimit"}) {
    if (token == same) return token;
  }
  return "None";
}

std::string time_limit_text(std::int64_t seconds) {
  return seconds >= kUnlimited ? "UNLIMITED" : slurm::format_minutes(seconds / 60);
}

std::string dependency_text(const SlurmJob& job) {
  if (!job.pending() || job.dependency.empty()) return "(null)";
  const std::string token = job.reason.substr(0, job.reason.find(':'));
  const char* status = token == "DependencyNeverSatisfied" ? "(failed)" : "(unfulfilled)";
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
    if (j.array_job > 0 && j.state == "RUNNING") ++running[j.array_job];
  }
  for (const SlurmJob& j : all) {
    if (j.array_job == 0 || !j.pending() || first_queued.contains(j.array_job)) continue;
    const std::string r = reason_code(j);
    if (r != "JobArrayTaskLimit") first_queued[j.array_job] = r;
  }
  std::set<std::string> waiting_for_resources;  // partitions whose first blocked job is seen
  for (SlurmJob* j : jobs) {
    if (!j->pending()) continue;
    std::string r = reason_code(*j);
    if (r == "JobArrayTaskLimit") {
      if (running[j->array_job] < j->array_limit())
        r = first_queued.contains(j->array_job) ? first_queued[j->array_job] : "Priority";
    }
    if (r == "Resources" && !waiting_for_resources.insert(j->partition).second) r = "Priority";
    j->slurm_reason = r;
  }
}

std::string compressed_nodes(const SlurmJob& job) {
  if (job.nodelist.empty()) return "";
  std::vector<std::string> hosts;
  for (std::size_t at = 0; at <= job.nodelist.size();) {
    std::size_t comma = job.nodelist.find(',', at);
    if (comma == std::string::npos) comma = job.nodelist.size();
    hosts.push_back(job.nodelist.substr(at, comma - at));
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

std::string upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

std::string uid_of(const std::string& user) {
  if (const passwd* pw = ::getpwnam(user.c_str())) return std::to_string(pw->pw_uid);
  return "4294967294";
}

}  // namespace gwang::cli
