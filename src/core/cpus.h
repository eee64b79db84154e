// CPU places: which of a node's logical CPUs a task is given, as devices are given by index. The
// scheduler decides with CPU counts (any free CPU is as good as another for whether a task fits);
// once a task's node and devices are chosen, these functions name its CPUs: near its devices where
// the node's topology says which CPUs are near which device, whole cores before threads of cores
// that others hold, lowest ids among equals. Pure and deterministic, as the rest of the core.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace gwang::core {

// A node's CPUs as its agent found them (sysfs, or the agent's configuration for declared devices).
struct CpuTopology {
  std::vector<int> cpus;               // the logical CPU ids tasks may be given, ascending
  std::vector<int> core;               // by position in `cpus`: the physical core it is a thread of
  std::vector<std::vector<int>> near;  // by device index: the CPU ids near the device; empty: unknown
  bool known() const { return !cpus.empty(); }
  bool operator==(const CpuTopology&) const = default;
};

// Checks a topology's shape: ids ascending and distinct, one core per CPU, near CPUs among `cpus`.
Result<void> validate(const CpuTopology& topology);

// `count` CPUs among `free` (CPU ids of the topology), ascending; nullopt when fewer are free.
// Order of preference: CPUs near any of `devices` (device indices), then the others; within each,
// the cores with the most free threads first (whole cores before shared ones), lowest core first;
// a core's threads in id order.
// `threads_per_core` > 0: at most that many threads of each core (Slurm's --hint=nomultithread,
// --threads-per-core).
std::optional<std::vector<int>> pick_cpus(const CpuTopology& topology, std::span<const int> free, int count,
                                          std::span<const std::uint16_t> devices = {}, int threads_per_core = 0);

// The CPUs of each of `tasks` tasks of `per_task` CPUs among `held` (a job's CPUs on a node), each
// task's apart from the others' and from those `busy` counts in use (by CPU id, parallel to `held`)
// where there are enough; where there are not, on the least busy. Each task's CPUs are ascending.
std::vector<std::vector<int>> split_cpus(const CpuTopology& topology, std::span<const int> held,
                                         std::span<const int> busy, int tasks, int per_task);

// A CPU list in the kernel's form ("0-3,8,10-11"), ascending ids; parse_cpu_list takes the same
// (and unsorted, repeated ids, which it sorts and merges). Errors name the bad element.
std::string format_cpu_list(std::span<const int> cpus);
// The same as a mask in hexadecimal, the highest digit first, as Slurm writes masks: "0x3", "0x100".
std::string format_cpu_mask(std::span<const int> cpus);
Result<std::vector<int>> parse_cpu_list(std::string_view text);

}  // namespace gwang::core
