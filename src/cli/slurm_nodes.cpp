// gwang's nodes as Slurm's commands show them.
#include "cli/slurm_nodes.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "slurm/hostlist.h"

namespace gwang::cli {

using nlohmann::json;

SlurmNode slurm_node(api::NodeView node) {
  SlurmNode v;
  static_cast<api::NodeView&>(v) = std::move(node);
  std::map<std::string, int> kinds;
  for (const api::DeviceView& d : v.devices) ++kinds[d.kind];
  for (const auto& [kind, count] : kinds) v.gres += (v.gres.empty() ? "" : ",") + kind + ":" + std::to_string(count);
  if (v.gres.empty()) v.gres = "(null)";
  const bool busy = !v.jobs.empty();
  if (v.state == "up") {
    v.slurm_state = !busy ? "idle" : v.cpus_used >= v.cpus ? "alloc" : "mix";
  } else if (v.state == "drained") {
    v.slurm_state = busy ? "drng" : "drain";
  } else if (v.state == "down" || v.state == "drained+down") {
    v.slurm_state = "down";
  } else {
    v.slurm_state = "unk";
  }
  return v;
}

Result<std::vector<SlurmNode>> slurm_nodes(const json& list) {
  auto views = api::read_node_views(list);
  if (!views) return tl::unexpected(views.error());
  std::vector<SlurmNode> out;
  for (api::NodeView& n : *views) out.push_back(slurm_node(std::move(n)));
  return out;
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

Result<std::vector<std::string>> node_names(const std::string& value, const std::string& from, bool file) {
  std::string text = value;
  if (file || text.find('/') != std::string::npos) {
    std::ifstream in(text);
    if (!in) return fail(from + "=" + value + ": cannot read the file: " + std::strerror(errno));
    std::string all, word;
    while (in >> word) all += (all.empty() ? "" : ",") + word;
    text = all;
  }
  auto hosts = slurm::HostList::parse(text);
  if (!hosts) return fail(from + "=" + value + ": " + hosts.error().message);
  std::vector<std::string> names = hosts->expand();
  if (names.empty()) return fail(from + "=" + value + ": names no node");
  return names;
}

}  // namespace gwang::cli
