// Reader of the Alibaba GPU cluster trace (2023, "openb"), as published with the FGD paper (ATC'23):
// a node list CSV and pod list CSVs.
//
// CSV as the trace writes it: comma-separated, no quoting, a header line naming the columns. Columns
// are found by name (any order; unknown columns are ignored). Blank lines are skipped; line numbers
// count every line, the header being line 1. Errors read "<source>:<line>: column 'gpu_milli': ...".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace gwang::trace {

// Node list, header "sn,cpu_milli,memory_mib,gpu,model"; all five columns required.
// Amounts are non-negative integers; a node with GPUs must name their model (the CPU-only nodes of
// openb_node_list_all_node.csv have an empty model).
struct AlibabaNode {
  std::string name;  // column sn
  int64_t cpu_milli;
  int64_t memory_mib;
  int gpus;           // column gpu
  std::string model;  // GPU model ("V100M16", "T4", ...); may be empty when gpus == 0
  int line;
};

// Pod list, header "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,
// deletion_time,scheduled_time". Required: name, cpu_milli, memory_mib, num_gpu, gpu_milli (the
// multigpu* lists have only these). Optional: gpu_spec (absent = empty), qos and pod_phase (absent =
// ""), the three times (absent = -1).
// Rules: amounts are non-negative integers; num_gpu == 0 needs gpu_milli == 0; num_gpu == 1 needs
// gpu_milli in 1..1000 (below 1000: a GPU-sharing pod); num_gpu > 1 needs gpu_milli == 1000 (whole GPUs).
// gpu_spec lists allowed GPU models separated by '|' ("V100M16|V100M32"); empty = any model; an empty
// entry ("T4||G2") is an error; entries are kept as written, duplicates included.
// Times are non-negative integer seconds; an empty time field gives -1. In the published lists only
// scheduled_time is ever empty, on pods whose phase is Pending (never scheduled).
struct AlibabaPod {
  std::string name;
  int64_t cpu_milli;
  int64_t memory_mib;
  int num_gpu;
  int64_t gpu_milli;                  // per GPU, 1..1000 when num_gpu > 0
  std::vector<std::string> gpu_spec;  // allowed models; empty = any
  std::string qos, phase;             // columns qos and pod_phase, as written
  int64_t creation_time, deletion_time, scheduled_time;  // seconds; -1 = empty or column absent
  int line;
};

Result<std::vector<AlibabaNode>> parse_alibaba_nodes(std::string_view text, std::string source_name);
Result<std::vector<AlibabaPod>> parse_alibaba_pods(std::string_view text, std::string source_name);

// Read the file at `path` (plain or gzip) and parse it; the path is the source in messages.
Result<std::vector<AlibabaNode>> read_alibaba_nodes(const std::string& path);
Result<std::vector<AlibabaPod>> read_alibaba_pods(const std::string& path);

}  // namespace gwang::trace
