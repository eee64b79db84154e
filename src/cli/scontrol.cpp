// scontrol, as Slurm 22.05's man page describes it, on gwang's API.
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "cli/accounts.h"
#include "cli/api_call.h"
#include "cli/bcast.h"
#include "cli/client.h"
#include "cli/commands.h"
#include "cli/slurm_jobs.h"
#include "cli/slurm_nodes.h"
#include "slurm/format.h"
#include "slurm/hostlist.h"

namespace gwang::cli {

using nlohmann::json;

namespace {

int scontrol_error(const std::string& message) {
  std::fprintf(stderr, "scontrol: error: %s\n", message.c_str());
  return 1;
}

// "user(uid) GroupId=group(gid)": its user's group, or the one it runs as (sbatch --gid).
std::string id_name(const std::string& user, const std::string& as_group) {
  const auto u = find_user(user);
  if (!u) return user + "(4294967294) GroupId=(null)(4294967294)";
  const auto g = find_group(as_group.empty() ? std::to_string(u->gid) : as_group);
  return user + "(" + std::to_string(u->uid) + ") GroupId=" + (g ? g->name : "(null)") + "(" +
         (g ? std::to_string(g->gid) : std::string("4294967294")) + ")";
}

std::string memory_text(std::int64_t bytes) {
  const std::int64_t mib = (bytes + (1 << 20) - 1) >> 20;
  return mib > 0 && mib % 1024 == 0 ? std::to_string(mib / 1024) + "G" : std::to_string(mib) + "M";
}

void show_job(const SlurmJob& j, std::int64_t now) {
  const auto date = [](std::int64_t t) { return t >= 0 ? slurm::format_slurm_date(t) : std::string("Unknown"); };
  const std::int64_t run = j.start_time < 0 ? 0 : (j.end_time >= 0 ? j.end_time : now) - j.start_time;
  std::printf("JobId=%lld", static_cast<long long>(j.id));
  if (j.array_job_id > 0) {
    std::printf(" ArrayJobId=%lld ArrayTaskId=%lld", static_cast<long long>(j.array_job_id),
                static_cast<long long>(j.array_task_id));
  }
  std::printf(" JobName=%s\n", j.name.c_str());
  std::printf("   UserId=%s\n", id_name(j.user, j.group).c_str());
  std::printf("   Account=%s\n", j.project.empty() ? "(null)" : j.project.c_str());
  std::printf("   JobState=%s Reason=%s Dependency=%s\n", state_name(j.state).c_str(),
              j.pending() ? reason_code(j).c_str() : "None", j.dependency.empty() ? "(null)" : j.dependency.c_str());
  std::printf("   Restarts=%d BatchFlag=%d ExitCode=%d:0\n", j.attempt, j.batch ? 1 : 0, j.exit_code);
  std::printf("   RunTime=%s TimeLimit=%s\n", slurm::format_clock(run).c_str(),
              j.time_limit >= kUnlimited ? "UNLIMITED" : slurm::format_clock(j.time_limit / 60 * 60).c_str());
  std::printf("   SubmitTime=%s EligibleTime=%s\n", date(j.submit_time).c_str(),
              date(std::max(j.submit_time, j.begin)).c_str());
  std::printf("   StartTime=%s EndTime=%s\n", date(j.start_time >= 0 ? j.start_time : j.planned_start()).c_str(),
              date(j.end_time >= 0     ? j.end_time
                   : j.start_time >= 0 ? j.start_time + j.time_limit
                                       : -1)
                  .c_str());
  std::printf("   Partition=%s\n", j.partition.c_str());
  std::printf("   NodeList=%s\n", j.start_time >= 0 ? compressed_nodes(j).c_str() : "(null)");
  std::printf("   NumNodes=%d NumCPUs=%lld CPUs/Node=%d\n", j.nodes, static_cast<long long>(j.cpus) * j.nodes, j.cpus);
  std::printf("   MinMemoryNode=%s\n", memory_text(j.mem).c_str());
  std::string command;
  for (const std::string& a : j.command) command += (command.empty() ? "" : " ") + a;
  std::printf("   Command=%s\n", j.batch ? j.name.c_str() : command.c_str());
  std::printf("   WorkDir=%s\n", j.workdir.c_str());
  if (!j.comment.empty()) std::printf("   Comment=%s\n", j.comment.c_str());
  if (!j.licenses.empty()) std::printf("   Licenses=%s\n", j.licenses.c_str());
  std::printf("\n");
}

void show_node(const SlurmNode& n) {
  std::printf("NodeName=%s\n", n.name.c_str());
  std::printf("   CPUAlloc=%d CPUTot=%d\n", n.cpus_used, n.cpus);
  std::printf("   Gres=%s\n", n.gres.c_str());
  std::printf("   RealMemory=%lld AllocMem=%lld\n", static_cast<long long>(n.memory >> 20),
              static_cast<long long>(n.memory_used >> 20));
  std::string state = long_state(n.slurm_state);
  for (char& c : state) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string features;
  for (const std::string& f : n.features) features += (features.empty() ? "" : ",") + f;
  if (features.empty()) features = "(null)";
  std::printf("   AvailableFeatures=%s\n   ActiveFeatures=%s\n", features.c_str(), features.c_str());
  std::printf("   State=%s TmpDisk=%lld\n", state.c_str(), static_cast<long long>(n.tmp >> 20));
  std::string parts;
  for (const std::string& p : n.partitions) parts += (parts.empty() ? "" : ",") + p;
  std::printf("   Partitions=%s\n\n", parts.c_str());
}

// `scontrol show licenses [NAME]`: each license's seats, in name order, as Slurm prints them.
int show_licenses(const ClientArgs& client, const std::string& name) {
  int rc = 0;
  auto answer = request(client, "GET", "/api/v1/licenses", "", &rc);
  if (!answer) return 1;
  std::vector<json> licenses((*answer)["licenses"].begin(), (*answer)["licenses"].end());
  if (licenses.empty()) std::printf("No licenses configured in Slurm.\n");
  std::sort(licenses.begin(), licenses.end(),
            [](const json& a, const json& b) { return a.value("name", "") < b.value("name", ""); });
  for (const json& l : licenses) {
    if (!name.empty() && l.value("name", "") != name) continue;
    std::printf("LicenseName=%s\n    Total=%lld Used=%lld Free=%lld Reserved=0 Remote=no\n",
                l.value("name", "").c_str(), static_cast<long long>(l.value("total", 0LL)),
                static_cast<long long>(l.value("used", 0LL)), static_cast<long long>(l.value("free", 0LL)));
  }
  return 0;
}

// `scontrol show config`: the controller's settings under Slurm's names, "Key = Value" with the key
// in 23 columns, as Slurm prints them, then where the controller is and that it answers. Only keys
// gwang has a value of its own for are printed.
int show_config(const ClientArgs& client) {
  int rc = 0;
  auto answer = request(client, "GET", "/api/v1/config", "", &rc);
  if (!answer) return 1;
  const json& c = *answer;
  const std::string order = c.value("queue_order", "fcfs"), backfill = c.value("backfill", "easy");
  const auto sec = [&c](const char* key) { return std::to_string(c.value(key, 0)) + " sec"; };
  std::string host = "localhost", port = "8686";
  if (auto endpoint = resolve_endpoint(client.url, client.token)) {
    if (auto where = host_and_port(controller_urls(endpoint->url).front())) std::tie(host, port) = *where;
  }
  std::vector<std::pair<std::string, std::string>> keys = {
      {"AcctGatherNodeFreq", "0 sec"},                      // no sampling of nodes or tasks
      {"BcastExclude", std::string(kBcastExcludeDefault)},  // srun --send-libs leaves these out
      {"BcastParameters", "(null)"},
      {"ClusterName", c.value("cluster_name", "gwang")},
      {"KillWait", sec("kill_grace_s")},
      {"Licenses", c.value("licenses", std::string()).empty() ? "(null)" : c.value("licenses", std::string())},
      {"MailProg", c.value("mail_program", std::string()).empty() ? "(null)" : c.value("mail_program", std::string())},
      {"MaxArraySize", std::to_string(c.value("max_array_size", 1001))},
      {"MCSPlugin", "mcs/none"},  // no labels: --mcs-label is taken and not checked
      {"MaxBatchRequeue", std::to_string(c.value("requeue_limit", 1))},
      {"MaxJobId", std::to_string(c.value("max_job_id", 0))},
      {"MinJobAge", std::to_string(kMinJobAge) + " sec"},
      {"MpiDefault", "none"},
      {"PriorityType", order == "multifactor" ? "priority/multifactor" : "priority/basic"},
      {"SchedulerTimeSlice", "30 sec"},  // Slurm's default; gwang shares no CPUs by time slices
      {"SchedulerType", backfill == "none" ? "sched/builtin" : "sched/backfill"},
      {"SelectType", "select/cons_tres"},
      {"SelectTypeParameters", "CR_CPU_MEMORY"},
      {"SlurmctldHost[0]", host},
      {"SlurmctldPort", port},
      {"SlurmdTimeout", sec("node_timeout_s")},
      {"TaskPlugin", "task/affinity"},
      {"TrackWCKey", "No"},  // --wckey is taken and not tracked
  };
  std::sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) {
    return std::lexicographical_compare(a.first.begin(), a.first.end(), b.first.begin(), b.first.end(),
                                        [](char x, char y) { return std::tolower(x) < std::tolower(y); });
  });
  const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  std::printf("Configuration data as of %s\n", slurm::format_slurm_date(now).c_str());
  for (const auto& [key, value] : keys) std::printf("%-23s = %s\n", key.c_str(), value.c_str());
  std::printf("\nSlurmctld(primary) at %s is UP\n", host.c_str());
  return 0;
}

}  // namespace

int run_scontrol(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    std::printf(
        "Usage: scontrol COMMAND\n"
        "  show job [ID], show node [NAME], show partition [NAME], show licenses [NAME], show config\n"
        "  show hostnames LIST, show hostlist NAMES, show hostlistsorted NAMES\n"
        "  hold ID, uhold ID, release ID\n");
    return args.empty() ? 1 : 0;
  }
  if (args[0] == "-V" || args[0] == "--version" || args[0] == "version") {
    std::printf("gwang scontrol (options of slurm 22.05)\n");
    return 0;
  }
  const std::string verb = args[0];
  ClientArgs client;
  set_error_prefix("scontrol: error: ");
  int rc = 0;
  if (verb == "hold" || verb == "uhold" || verb == "release") {
    if (args.size() < 2) return scontrol_error("Invalid job id specified");
    int status = 0;
    for (std::size_t k = 1; k < args.size(); ++k) {
      for (const std::string& id : split_list(args[k])) {
        const std::string base = id.substr(0, id.find('_'));
        if (base.empty() || base.find_first_not_of("0123456789") != std::string::npos ||
            id.find('_') != std::string::npos) {
          std::fprintf(stderr, "scontrol: error: Invalid job id specified: %s\n", id.c_str());
          status = 1;
          continue;
        }
        const std::string action = verb == "release" ? "release" : "hold";
        if (!request(client, "POST", "/api/v1/jobs/" + base + "/" + action, "", &rc)) status = 1;
      }
    }
    return status;
  }
  if (verb != "show" || args.size() < 2) return scontrol_error("invalid keyword: " + verb);
  const std::string what = args[1];
  const std::string arg = args.size() > 2 ? args[2] : "";
  if (what == "hostnames" || what == "hostlist" || what == "hostlistsorted") {
    const char* env = std::getenv("SLURM_JOB_NODELIST");
    const std::string text = !arg.empty() ? arg : env ? env : "";
    auto hosts = slurm::HostList::parse(text);
    if (!hosts) return scontrol_error(hosts.error().message);
    if (what == "hostnames") {
      for (const std::string& h : hosts->expand()) std::printf("%s\n", h.c_str());
    } else {
      if (what == "hostlistsorted") hosts->sort();
      std::printf("%s\n", hosts->str().c_str());
    }
    return 0;
  }
  if (what == "config") return show_config(client);
  if (what == "job" || what == "jobs") {
    std::string path = "/api/v1/jobs?view=full&start=1";
    auto answer = request(client, "GET", arg.empty() ? path : path + "&all=1", "", &rc);
    if (!answer) return 1;
    const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
    const auto jobs = slurm_jobs((*answer)["jobs"]);
    if (!jobs) return scontrol_error("the controller's answer: " + jobs.error().message);
    bool any = false;
    for (const SlurmJob& j : *jobs) {
      if (!arg.empty() && !j.named_by(arg)) {
        continue;
      }
      show_job(j, now);
      any = true;
    }
    if (!any && !arg.empty()) return scontrol_error("Invalid job id specified");
    if (!any) std::printf("No jobs in the system\n");
    return 0;
  }
  if (what == "node" || what == "nodes") {
    auto answer = request(client, "GET", "/api/v1/nodes", "", &rc);
    if (!answer) return 1;
    const auto nodes = slurm_nodes((*answer)["nodes"]);
    if (!nodes) return scontrol_error("the controller's answer: " + nodes.error().message);
    bool any = false;
    for (const SlurmNode& n : *nodes) {
      if (!arg.empty() && n.name != arg) continue;
      show_node(n);
      any = true;
    }
    if (!any && !arg.empty()) return scontrol_error("Node " + arg + " not found");
    return 0;
  }
  if (what.size() >= 2 && std::string_view("licenses").starts_with(what)) return show_licenses(client, arg);
  if (what == "partition" || what == "partitions") {
    auto answer = request(client, "GET", "/api/v1/partitions", "", &rc);
    if (!answer) return 1;
    bool any = false;
    for (const json& p : (*answer)["partitions"]) {
      const std::string name = p.at("name").get<std::string>();
      if (!arg.empty() && name != arg) continue;
      const std::vector<std::string> nodes = p.value("nodes", std::vector<std::string>{});
      std::printf("PartitionName=%s\n   Default=%s\n   MaxTime=%s\n   Nodes=%s\n   TotalNodes=%zu\n\n", name.c_str(),
                  p.value("default", false) ? "YES" : "NO",
                  p["max_time"].is_number() ? slurm::format_minutes(p["max_time"].get<std::int64_t>() / 60).c_str()
                                            : "UNLIMITED",
                  nodes.empty() ? "(null)" : slurm::compress_hosts(nodes).c_str(), nodes.size());
      any = true;
    }
    if (!any && !arg.empty()) return scontrol_error("Partition " + arg + " not found");
    return 0;
  }
  return scontrol_error("invalid entity: " + what + " for keyword: show");
}

}  // namespace gwang::cli
