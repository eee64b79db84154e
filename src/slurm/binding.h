// srun's --cpu-bind (and SLURM_CPU_BIND), as srun(1) of Slurm 22.05 defines it: a comma list of
// `quiet` or `verbose` and one binding type. Parsed here; which types a node carries out is the
// agent's and the controller's.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace gwang::slurm {

struct CpuBind {
  bool verbose = false;  // say each task's binding on its standard error
  // "" (none given: the cluster's default), "none", or the type that binds: "rank", "map_cpu",
  // "mask_cpu", "rank_ldom", "map_ldom", "mask_ldom", "sockets", "cores", "threads", "ldoms",
  // "boards".
  std::string type;
  std::string list;  // map_* and mask_*: the CPUs or masks, as given ("0,2" / "0x3,0xc")
  bool binds() const { return !type.empty() && type != "none"; }
};

// "q", "quiet", "v", "verbose", "no", "none", "rank", "map_cpu:<list>", "mask_cpu:<list>", ... A
// list's elements are separated by commas; a mask is hexadecimal (0x optional), a CPU a number
// (decimal, or hexadecimal with 0x), each optionally `*count`.
Result<CpuBind> parse_cpu_bind(std::string_view text);

// The binding srun told a step (its SLURM_CPU_BIND_TYPE, _LIST and _VERBOSE, which say it without
// SLURM_CPU_BIND's quirks); the default (no type, quiet) where it told none.
CpuBind cpu_bind_of(const std::vector<std::pair<std::string, std::string>>& env);

// The CPU ids of each element of a map_cpu or mask_cpu list, counts expanded ("0x3*2" is two
// elements of CPUs 0 and 1); empty for other types. The list must have parsed.
std::vector<std::vector<int>> cpu_bind_elements(const CpuBind& bind);

}  // namespace gwang::slurm

namespace gwang::slurm {

// srun's --gpu-bind (and SLURM_GPU_BIND), as srun(1) of Slurm 22.05 defines it: one binding
// type of the step's tasks to the step's GPUs on their node.
struct GpuBind {
  // "none" (every task sees all of its node's), "closest" (those near its CPUs), "map_gpu" (task
  // i the GPU of index list[i]), "mask_gpu" (the GPUs of mask list[i]), "per_task" (`count` each,
  // in turn), "single" (one each, `count` tasks to a GPU).
  std::string type = "none";
  std::vector<std::uint64_t> list;  // map_gpu: GPU indices; mask_gpu: masks; each element counted out
  int count = 0;
};

// Errors: Slurm's words where it has them, the type and what is wrong else. "verbose" is refused
// by name: gwang's tasks do not say their GPU binding.
Result<GpuBind> parse_gpu_bind(std::string_view text);

// Which of a node's step GPUs (indices 0..gpus-1 into them) each of its `tasks` tasks (by local id)
// is given; `near[g]`, the CPUs near GPU g, and `task_cpus[t]`, task t's CPUs, for "closest" (a
// task near none is given all). Indices beyond the GPUs wrap, as Slurm's.
std::vector<std::vector<int>> bind_gpus(const GpuBind& bind, int gpus, int tasks,
                                        const std::vector<std::vector<int>>& near = {},
                                        const std::vector<std::vector<int>>& task_cpus = {});

}  // namespace gwang::slurm
