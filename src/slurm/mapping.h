// Slurm's process mapping: which node each task of a step runs on, as PMI_process_mapping and
// SLURM_PMIX_MAPPING_SERV say it ("(vector,(0,2,2))": from node 0, 2 nodes of 2 tasks each).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace gwang::slurm {

// The mapping of a layout, `task_nodes[t]` the node index of task t: runs of consecutive tasks on
// one node, then runs of equal length on consecutive nodes, as "(first node,nodes,tasks a node)".
std::string process_mapping(const std::vector<int>& task_nodes);

// The layout a mapping of `ntasks` tasks says; refused, with what is wrong, when it is malformed
// or names another number of tasks.
Result<std::vector<int>> parse_process_mapping(std::string_view text, int ntasks);

}  // namespace gwang::slurm
