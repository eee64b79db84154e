// gwang's nodes as Slurm's commands (sinfo, scontrol) show them: states and generic resources.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "api/node_view.h"
#include "core/result.h"

namespace gwang::cli {

// A node of the API's node list (api::NodeView) with what Slurm's commands show of it.
struct SlurmNode : api::NodeView {
  std::string slurm_state;  // as sinfo says it: idle, mix, alloc, drain, drng, down, unk
  std::string gres;         // "gpu:4", "(null)" for none
};

SlurmNode slurm_node(api::NodeView node);
// The nodes of a node list, or an error naming the field that is not as it should be.
Result<std::vector<SlurmNode>> slurm_nodes(const nlohmann::json& list);
// sinfo's short state as scontrol spells it out ("mix" -> "mixed").
std::string long_state(const std::string& s);

// The names a -w, -x or -F value gives (`from`: the option, for messages): a host list
// ("n[1-3],gpu01"), or, for -F (`file`) and a value holding a "/", a file of names (or host
// lists) separated by spaces, commas or lines.
Result<std::vector<std::string>> node_names(const std::string& text, const std::string& from, bool file);

}  // namespace gwang::cli
