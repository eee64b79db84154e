// gwang's nodes as Slurm's commands show them.
#include "cli/slurm_nodes.h"

#include <map>
#include <nlohmann/json.hpp>

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

}  // namespace gwang::cli
