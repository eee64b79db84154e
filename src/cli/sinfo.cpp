// sinfo, as Slurm 22.05's man page describes it, on gwang's API.
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
#include <optional>
#include <set>

#include "cli/api_call.h"
#include "cli/commands.h"
#include "cli/slurm_jobs.h"
#include "cli/slurm_nodes.h"
#include "slurm/format.h"
#include "slurm/hostlist.h"

namespace gwang::cli {

using nlohmann::json;

namespace {

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
  std::vector<SlurmNode> nodes;
};

std::string sinfo_field(const Group& g, char type) {
  const SlurmNode& first = g.nodes.front();
  std::vector<std::string> names;
  for (const SlurmNode& n : g.nodes) names.push_back(n.name);
  auto counts = [&](auto used, auto total) {
    long long a = 0, i = 0, o = 0, t = 0;
    for (const SlurmNode& n : g.nodes) {
      const bool other = n.slurm_state == "drain" || n.slurm_state == "drng" || n.slurm_state == "down" || n.slurm_state == "unk";
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
      return first.slurm_state;
    case 'T':
      return long_state(first.slurm_state);
    case 'N':
      return slurm::compress_hosts(names);
    case 'c':
      return std::to_string(first.cpus);
    case 'm':
      return std::to_string(first.memory >> 20);
    case 'G':
      return first.gres;
    case 'F':
      return counts([](const SlurmNode& n) { return n.jobs.empty() ? 0 : 1; }, [](const SlurmNode&) { return 1; });
    case 'C':
      return counts([](const SlurmNode& n) { return n.cpus_used; }, [](const SlurmNode& n) { return n.cpus; });
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

// What sinfo was asked: the format, and which partitions and node states to show (empty: all).
struct SinfoOptions {
  std::string format = "%9P %.5a %.10l %.6D %.6t %N";
  bool header = true, by_node = false, format_given = false;
  std::set<std::string> partitions, states;
};

const option kSinfoOptions[] = {{"format", required_argument, nullptr, 'o'},
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

// Reads sinfo's command line into `o`, with the format its options ask for; returns the exit
// status when sinfo ends there (--help, --version, a mistake), nothing when it goes on.
std::optional<int> parse_sinfo(Argv& argv, SinfoOptions& o) {
  ::optind = 0;
  ::opterr = 0;
  for (;;) {
    int index = 0;
    const int c = ::getopt_long(argv.argc(), argv.argv(), ":hlNo:p:st:V", kSinfoOptions, &index);
    if (c == -1) break;
    const std::string value = ::optarg ? ::optarg : "";
    switch (c) {
      case 'h':
        o.header = false;
        break;
      case 'l':
        if (!o.format_given) o.format = "%9P %.5a %.10l %.10s %.4r %.8h %.10g %.6D %.11T %N";
        break;
      case 'N':
        o.by_node = true;
        break;
      case 'o':
        o.format = value, o.format_given = true;
        break;
      case 'p':
        for (std::string& p : split_list(value)) o.partitions.insert(p);
        break;
      case 's':
        if (!o.format_given) o.format = "%9P %.5a %.10l %.16F  %N";
        break;
      case 't':
        for (std::string& s : split_list(value)) o.states.insert(s);
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
  if (o.format.find("%.10s") != std::string::npos || o.format.find("%.4r") != std::string::npos) {
    // -l's columns that gwang has no values for (job size, root, oversubscribe, groups)
    o.format = "%9P %.5a %.10l %.6D %.11T %N";
  }
  if (o.by_node && !o.format_given) o.format = "%N %.6D %P %.6t";
  return std::nullopt;
}

// sinfo's lines from the API's partitions and nodes: per partition, nodes alike in state, CPUs,
// memory and devices (or one per node, -N); a partition with no nodes is a line of its own unless
// states are asked for.
std::vector<Group> sinfo_groups(const json& parts, const std::vector<SlurmNode>& nodes, const SinfoOptions& o) {
  std::map<std::string, SlurmNode> by_name;
  for (const SlurmNode& n : nodes) by_name[n.name] = n;
  std::vector<Group> groups;
  for (const json& p : parts["partitions"]) {
    PartitionView part{p.at("name").get<std::string>(), p.value("default", false),
                       p["max_time"].is_number() ? p["max_time"].get<std::int64_t>() : 0};
    if (!o.partitions.empty() && !o.partitions.contains(part.name)) continue;
    std::vector<Group> mine;
    for (const std::string& name : p.value("nodes", std::vector<std::string>{})) {
      auto it = by_name.find(name);
      if (it == by_name.end()) continue;
      const SlurmNode& n = it->second;
      if (!o.states.empty() && !o.states.contains(n.slurm_state) && !o.states.contains(long_state(n.slurm_state))) continue;
      auto same = std::find_if(mine.begin(), mine.end(), [&](const Group& g) {
        const SlurmNode& f = g.nodes.front();
        return !o.by_node && f.slurm_state == n.slurm_state && f.cpus == n.cpus && f.memory == n.memory && f.gres == n.gres;
      });
      if (same == mine.end()) {
        mine.push_back({part, {n}});
      } else {
        same->nodes.push_back(n);
      }
    }
    if (mine.empty() && o.states.empty()) mine.push_back({part, {}});
    groups.insert(groups.end(), mine.begin(), mine.end());
  }
  return groups;
}

// Prints the lines in the format's columns, after the header unless --noheader; a partition
// without nodes shows its own fields, no nodes and state n/a.
void print_sinfo(const std::vector<Group>& groups, const std::vector<slurm::FormatItem>& items, bool header) {
  std::string out;
  if (header) {
    out += slurm::render(items, [](const slurm::FormatItem& f) { return std::string(sinfo_header(f.field[0])); });
    out += '\n';
  }
  for (const Group& g : groups) {
    out += slurm::render(items, [&](const slurm::FormatItem& f) {
      if (g.nodes.empty()) {
        const char t = f.field[0];
        if (t == 'D') return std::string("0");
        if (t == 'N') return std::string("");
        if (t == 't' || t == 'T') return std::string("n/a");
        if (t != 'P' && t != 'R' && t != 'a' && t != 'l') return std::string("");
        return sinfo_field({g.partition, {SlurmNode{}}}, t);
      }
      return sinfo_field(g, f.field[0]);
    });
    out += '\n';
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
}

}  // namespace

int run_sinfo(const std::vector<std::string>& args) {
  Argv argv("sinfo", args);
  SinfoOptions o;
  if (auto done = parse_sinfo(argv, o)) return *done;
  auto items = slurm::parse_percent_format(o.format, "PRalDtTNcmGFC");
  if (!items) return sinfo_error(items.error().message);
  ClientArgs client;
  set_error_prefix("sinfo: error: ");
  int rc = 0;
  auto parts = request(client, "GET", "/api/v1/partitions", "", &rc);
  if (!parts) return 1;
  auto nodes = request(client, "GET", "/api/v1/nodes", "", &rc);
  if (!nodes) return 1;
  const auto listed = slurm_nodes((*nodes)["nodes"]);
  if (!listed) return sinfo_error("the controller's answer: " + listed.error().message);
  print_sinfo(sinfo_groups(*parts, *listed, o), *items, o.header);
  return 0;
}

}  // namespace gwang::cli
