// gwang's nodes as Slurm's commands show them.
#include "cli/slurm_nodes.h"

#include <map>
#include <nlohmann/json.hpp>

namespace gwang::cli {

using nlohmann::json;

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

}  // namespace gwang::cli
