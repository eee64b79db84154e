// gwang's nodes as Slurm's commands (sinfo, scontrol) show them: states and generic resources.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace gwang::cli {

struct NodeView {
  std::string name, state;  // state as sinfo says it: idle, mix, alloc, drain, drng, down, unk
  int cpus = 0, cpus_used = 0;
  std::int64_t memory = 0, memory_used = 0;
  std::string gres;  // "gpu:H100:4"
  std::vector<std::string> partitions;
  std::vector<std::int64_t> jobs;
};

// A node of the API's node list (GET /api/v1/nodes) as Slurm sees it.
NodeView node_view(const nlohmann::json& n);
// sinfo's short state as scontrol spells it out ("mix" -> "mixed").
std::string long_state(const std::string& s);

}  // namespace gwang::cli
