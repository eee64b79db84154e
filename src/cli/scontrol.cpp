// sinfo and scontrol, as Slurm 22.05's man pages describe them, on gwang's API.
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

#include "cli/api_call.h"
#include "cli/commands.h"
#include "cli/slurm_jobs.h"
#include "slurm/format.h"
#include "slurm/hostlist.h"

namespace gwang::cli {

using nlohmann::json;

namespace {

struct NodeView {
  std::string name, state;  // state as sinfo says it: idle, mix, alloc, drain, drng, down, unk
  int cpus = 0, cpus_used = 0;
  std::int64_t memory = 0, memory_used = 0;
  std::string gres;  // "gpu:H100:4"
  std::vector<std::string> partitions;
  std::vector<std::int64_t> jobs;
};

NodeView node_view(const json& n) {
  NodeView v;
  v.name = n.at("name").get<std::string>();
  v.cpus = n.value("cpus", 0);
  v.cpus_used = n.value("cpus_used", 0);
  v.memory = n.value("memory", std::int64_t{0});
  v.memory_used = n.value("memory_used", std::int64_t{0});
  v.partitions = n.value("partitions", std::vector<std::string>{});
  v.jobs = n.value("jobs", std::vector<std::int64_t>{});
  std::map<std::string, int> kinds;
  for (const json& d : n.value("devices", json::array())) ++kinds[d.value("kind", "")];
  for (const auto& [kind, count] : kinds) v.gres += (v.gres.empty() ? "" : ",") + kind + ":" + std::to_string(count);
  if (v.gres.empty()) v.gres = "(null)";
  const std::string state = n.value("state", "");
  const bool busy = !v.jobs.empty();
  if (state == "up") {
    v.state = !busy ? "idle" : v.cpus_used >= v.cpus ? "alloc" : "mix";
  } else if (state == "drained") {
    v.state = busy ? "drng" : "drain";
  } else if (state == "down" || state == "drained+down") {
    v.state = "down";
  } else {
    v.state = "unk";
  }
  return v;
}

std::string long_state(const std::string& s) {
  if (s == "idle") return "idle";
  if (s == "mix") return "mixed";
  if (s == "alloc") return "allocated";
  if (s == "drain") return "drained";
  if (s == "drng") return "draining";
  if (s == "down") return "down";
  return "unknown";
}

struct PartitionView {
  std::string name;
  bool is_default = false;
  std::int64_t max_time = 0;  // seconds; 0: none
};

int sinfo_error(const std::string& message) {
  std::fprintf(stderr, "sinfo: error: %s\n", message.c_str());
  return 1;
}

// One line of sinfo: nodes of one partition that look alike.
struct Group {
  PartitionView partition;
  std::vector<NodeView> nodes;
};

std::string sinfo_field(const Group& g, char type) {
  const NodeView& first = g.nodes.front();
  std::vector<std::string> names;
  for (const NodeView& n : g.nodes) names.push_back(n.name);
  auto counts = [&](auto used, auto total) {
    long long a = 0, i = 0, o = 0, t = 0;
    for (const NodeView& n : g.nodes) {
      const bool other = n.state == "drain" || n.state == "drng" || n.state == "down" || n.state == "unk";
      if (other) {
        o += total(n);
      } else {
        a += used(n);
        i += total(n) - used(n);
      }
      t += total(n);
    }
    return std::to_string(a) + "/" + std::to_string(i) + "/" + std::to_string(o) + "/" + std::to_string(t);
  };
  switch (type) {
    case 'P':
      return g.partition.name + (g.partition.is_default ? "*" : "");
    case 'R':
      return g.partition.name;
    case 'a':
      return "up";
    case 'l':
      return g.partition.max_time > 0 ? slurm::format_minutes(g.partition.max_time / 60) : "infinite";
    case 'D':
      return std::to_string(g.nodes.size());
    case 't':
      return first.state;
    case 'T':
      return long_state(first.state);
    case 'N':
      return slurm::compress_hosts(names);
    case 'c':
      return std::to_string(first.cpus);
    case 'm':
      return std::to_string(first.memory >> 20);
    case 'G':
      return first.gres;
    case 'F':
      return counts([](const NodeView& n) { return n.jobs.empty() ? 0 : 1; }, [](const NodeView&) { return 1; });
    case 'C':
      return counts([](const NodeView& n) { return n.cpus_used; }, [](const NodeView& n) { return n.cpus; });
  }
  return "";
}

const char* sinfo_header(char type) {
  switch (type) {
    case 'P':
    case 'R':
      return "PARTITION";
    case 'a':
      return "AVAIL";
    case 'l':
      return "TIMELIMIT";
    case 'D':
      return "NODES";
    case 't':
    case 'T':
      return "STATE";
    case 'N':
      return "NODELIST";
    case 'c':
      return "CPUS";
    case 'm':
      return "MEMORY";
    case 'G':
      return "GRES";
    case 'F':
      return "NODES(A/I/O/T)";
    case 'C':
      return "CPUS(A/I/O/T)";
  }
  return "?";
}

}  // namespace

int run_sinfo(const std::vector<std::string>& args) {
  Argv argv("sinfo", args);
  static const option kLong[] = {{"format", required_argument, nullptr, 'o'},
                                 {"help", no_argument, nullptr, 'H' + 256},
                                 {"long", no_argument, nullptr, 'l'},
                                 {"Node", no_argument, nullptr, 'N'},
                                 {"noheader", no_argument, nullptr, 'h'},
                                 {"partition", required_argument, nullptr, 'p'},
                                 {"states", required_argument, nullptr, 't'},
                                 {"summarize", no_argument, nullptr, 's'},
                                 {"usage", no_argument, nullptr, 'H' + 256},
                                 {"version", no_argument, nullptr, 'V'},
                                 {nullptr, 0, nullptr, 0}};
  std::string format = "%9P %.5a %.10l %.6D %.6t %N";
  bool header = true, by_node = false, format_given = false;
  std::set<std::string> partitions, states;
  ::optind = 0;
  ::opterr = 0;
  for (;;) {
    int index = 0;
    const int c = ::getopt_long(argv.argc(), argv.argv(), ":hlNo:p:st:V", kLong, &index);
    if (c == -1) break;
    const std::string value = ::optarg ? ::optarg : "";
    switch (c) {
      case 'h':
        header = false;
        break;
      case 'l':
        if (!format_given) format = "%9P %.5a %.10l %.10s %.4r %.8h %.10g %.6D %.11T %N";
        break;
      case 'N':
        by_node = true;
        break;
      case 'o':
        format = value, format_given = true;
        break;
      case 'p':
        for (std::string& p : split_list(value)) partitions.insert(p);
        break;
      case 's':
        if (!format_given) format = "%9P %.5a %.10l %.16F  %N";
        break;
      case 't':
        for (std::string& s : split_list(value)) states.insert(s);
        break;
      case 'V':
        std::printf("gwang sinfo (options of slurm 22.05)\n");
        return 0;
      case 'H' + 256:
        std::printf("Usage: sinfo [-hlNs] [-o format] [-p partitions] [-t states]\n");
        return 0;
      default:
        return option_complaint("sinfo", c, argv);
    }
  }
  if (format.find("%.10s") != std::string::npos || format.find("%.4r") != std::string::npos) {
    // -l's columns that gwang has no values for (job size, root, oversubscribe, groups)
    format = "%9P %.5a %.10l %.6D %.11T %N";
  }
  if (by_node && !format_given) format = "%N %.6D %P %.6t";
  auto items = slurm::parse_percent_format(format, "PRalDtTNcmGFC");
  if (!items) return sinfo_error(items.error().message);
  ClientArgs client;
  set_error_prefix("sinfo: error: ");
  int rc = 0;
  auto parts = request(client, "GET", "/api/v1/partitions", "", &rc);
  if (!parts) return 1;
  auto nodes = request(client, "GET", "/api/v1/nodes", "", &rc);
  if (!nodes) return 1;
  std::map<std::string, NodeView> by_name;
  for (const json& n : (*nodes)["nodes"]) {
    NodeView v = node_view(n);
    by_name[v.name] = std::move(v);
  }
  // Groups: per partition, nodes alike in state, CPUs, memory and devices (or one per node, -N).
  std::vector<Group> groups;
  for (const json& p : (*parts)["partitions"]) {
    PartitionView part{p.at("name").get<std::string>(), p.value("default", false),
                       p["max_time"].is_number() ? p["max_time"].get<std::int64_t>() : 0};
    if (!partitions.empty() && !partitions.contains(part.name)) continue;
    std::vector<Group> mine;
    for (const std::string& name : p.value("nodes", std::vector<std::string>{})) {
      auto it = by_name.find(name);
      if (it == by_name.end()) continue;
      const NodeView& n = it->second;
      if (!states.empty() && !states.contains(n.state) && !states.contains(long_state(n.state))) continue;
      auto same = std::find_if(mine.begin(), mine.end(), [&](const Group& g) {
        const NodeView& f = g.nodes.front();
        return !by_node && f.state == n.state && f.cpus == n.cpus && f.memory == n.memory && f.gres == n.gres;
      });
      if (same == mine.end()) {
        mine.push_back({part, {n}});
      } else {
        same->nodes.push_back(n);
      }
    }
    if (mine.empty() && states.empty()) mine.push_back({part, {}});
    groups.insert(groups.end(), mine.begin(), mine.end());
  }
  std::string out;
  if (header) {
    out += slurm::render(*items, [](const slurm::FormatItem& f) { return std::string(sinfo_header(f.field[0])); });
    out += '\n';
  }
  for (const Group& g : groups) {
    out += slurm::render(*items, [&](const slurm::FormatItem& f) {
      if (g.nodes.empty()) {
        const char t = f.field[0];
        if (t == 'D') return std::string("0");
        if (t == 'N') return std::string("");
        if (t == 't' || t == 'T') return std::string("n/a");
        if (t != 'P' && t != 'R' && t != 'a' && t != 'l') return std::string("");
        return sinfo_field({g.partition, {NodeView{}}}, t);
      }
      return sinfo_field(g, f.field[0]);
    });
    out += '\n';
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

namespace {

int scontrol_error(const std::string& message) {
  std::fprintf(stderr, "scontrol: error: %s\n", message.c_str());
  return 1;
}

std::string id_name(const std::string& user) {
  const passwd* pw = ::getpwnam(user.c_str());
  if (!pw) return user + "(4294967294) GroupId=(null)(4294967294)";
  const group* gr = ::getgrgid(pw->pw_gid);
  return user + "(" + std::to_string(pw->pw_uid) + ") GroupId=" + (gr ? gr->gr_name : "(null)") + "(" +
         std::to_string(pw->pw_gid) + ")";
}

std::string memory_text(std::int64_t bytes) {
  const std::int64_t mib = (bytes + (1 << 20) - 1) >> 20;
  return mib > 0 && mib % 1024 == 0 ? std::to_string(mib / 1024) + "G" : std::to_string(mib) + "M";
}

void show_job(const SlurmJob& j, std::int64_t now) {
  const auto date = [](std::int64_t t) { return t >= 0 ? slurm::format_slurm_date(t) : std::string("Unknown"); };
  const std::int64_t run = j.start < 0 ? 0 : (j.end >= 0 ? j.end : now) - j.start;
  std::printf("JobId=%lld", static_cast<long long>(j.id));
  if (j.array_job > 0) {
    std::printf(" ArrayJobId=%lld ArrayTaskId=%lld", static_cast<long long>(j.array_job),
                static_cast<long long>(j.array_task));
  }
  std::printf(" JobName=%s\n", j.name.c_str());
  std::printf("   UserId=%s\n", id_name(j.user).c_str());
  std::printf("   Account=%s\n", j.project.empty() ? "(null)" : j.project.c_str());
  std::printf("   JobState=%s Reason=%s Dependency=%s\n", j.state.c_str(),
              j.pending() ? reason_code(j).c_str() : "None", j.dependency.empty() ? "(null)" : j.dependency.c_str());
  std::printf("   Restarts=%d BatchFlag=%d ExitCode=%d:0\n", j.attempt, j.batch ? 1 : 0, j.exit_code);
  std::printf("   RunTime=%s TimeLimit=%s\n", slurm::format_clock(run).c_str(),
              j.time_limit >= kUnlimited ? "UNLIMITED" : slurm::format_clock(j.time_limit / 60 * 60).c_str());
  std::printf("   SubmitTime=%s EligibleTime=%s\n", date(j.submit).c_str(), date(std::max(j.submit, j.begin)).c_str());
  std::printf("   StartTime=%s EndTime=%s\n", date(j.start >= 0 ? j.start : j.estimated_start).c_str(),
              date(j.end >= 0     ? j.end
                   : j.start >= 0 ? j.start + j.time_limit
                                  : -1)
                  .c_str());
  std::printf("   Partition=%s\n", j.partition.c_str());
  std::printf("   NodeList=%s\n", j.start >= 0 ? compressed_nodes(j).c_str() : "(null)");
  std::printf("   NumNodes=%d NumCPUs=%lld CPUs/Node=%d\n", j.nodes, static_cast<long long>(j.cpus) * j.nodes, j.cpus);
  std::printf("   MinMemoryNode=%s\n", memory_text(j.mem).c_str());
  std::string command;
  for (const std::string& a : j.command) command += (command.empty() ? "" : " ") + a;
  std::printf("   Command=%s\n", j.batch ? j.name.c_str() : command.c_str());
  std::printf("   WorkDir=%s\n", j.workdir.c_str());
  if (!j.comment.empty()) std::printf("   Comment=%s\n", j.comment.c_str());
  std::printf("\n");
}

void show_node(const NodeView& n) {
  std::printf("NodeName=%s\n", n.name.c_str());
  std::printf("   CPUAlloc=%d CPUTot=%d\n", n.cpus_used, n.cpus);
  std::printf("   Gres=%s\n", n.gres.c_str());
  std::printf("   RealMemory=%lld AllocMem=%lld\n", static_cast<long long>(n.memory >> 20),
              static_cast<long long>(n.memory_used >> 20));
  std::string state = long_state(n.state);
  for (char& c : state) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::printf("   State=%s\n", state.c_str());
  std::string parts;
  for (const std::string& p : n.partitions) parts += (parts.empty() ? "" : ",") + p;
  std::printf("   Partitions=%s\n\n", parts.c_str());
}

}  // namespace

int run_scontrol(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    std::printf(
        "Usage: scontrol COMMAND\n"
        "  show job [ID], show node [NAME], show partition [NAME]\n"
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
  if (what == "job" || what == "jobs") {
    std::string path = "/api/v1/jobs?view=full&start=1";
    auto answer = request(client, "GET", arg.empty() ? path : path + "&all=1", "", &rc);
    if (!answer) return 1;
    const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
    bool any = false;
    for (const json& each : (*answer)["jobs"]) {
      const SlurmJob j = slurm_job(each);
      if (!arg.empty() && arg != std::to_string(j.id) && arg != j.job_id() &&
          !(j.array_job > 0 && arg == std::to_string(j.array_job))) {
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
    bool any = false;
    for (const json& each : (*answer)["nodes"]) {
      const NodeView n = node_view(each);
      if (!arg.empty() && n.name != arg) continue;
      show_node(n);
      any = true;
    }
    if (!any && !arg.empty()) return scontrol_error("Node " + arg + " not found");
    return 0;
  }
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
