// srun's and sbatch's --mem-bind (and SLURM_MEM_BIND), as Slurm 22.05's task/affinity takes it: the
// NUMA nodes each task's memory is bound to (or preferred on). Parsed, told to the tasks in
// Slurm's variables, and read back from them on the node, where the agent binds each task.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace gwang::slurm {

struct MemBind {
  bool verbose = false;  // say each task's binding on its standard error
  bool prefer = false;   // preferred nodes, not bound (MPOL_PREFERRED)
  std::string sort;      // "sort", "nosort" or ""
  // "" (no binding asked), "none", "local" (the nodes of the task's CPUs), "rank" (node = the
  // task's local id), "map_mem" (node list[local id]), "mask_mem" (the nodes of mask list[local id]).
  std::string type;
  // map_mem: node numbers; mask_mem: masks in hexadecimal digits without "0x" (Slurm's form).
  std::vector<std::string> list;
};

// "q[uiet]", "v[erbose]", "no[ne]", "p[refer]", "sort", "nosort", "local", "rank",
// "map_mem:<list>", "mask_mem:<list>", comma-separated; a list takes the rest of the text. Errors
// are Slurm's words (srun prints them after "error: " and exits 255). "help" is not parsed here.
Result<MemBind> parse_mem_bind(std::string_view text);
// srun's text for --mem-bind=help, as Slurm's.
std::string_view mem_bind_help();

// The variables a step's tasks are told (SLURM_MEM_BIND, _LIST, _PREFER, _SORT, _TYPE, _VERBOSE),
// as Slurm's srun sets them; none without a type.
std::vector<std::pair<std::string, std::string>> mem_bind_env(const MemBind& bind);
// SLURM_MEM_BIND's own value: "quiet,local", "verbose,prefer,map_mem:0,1".
std::string mem_bind_text(const MemBind& bind);
// The binding a step's task was told (its SLURM_MEM_BIND_* variables); no type where none.
MemBind mem_bind_of(const std::vector<std::pair<std::string, std::string>>& env);

// What a node does for one task: bind (or prefer) its memory to `nodes`, or nothing.
struct TaskMemory {
  bool bind = false;       // false: the task's memory is left as it is (type none, or no type)
  std::vector<int> nodes;  // the NUMA nodes, ascending
  std::string note;        // the verbose line's words before " - NODE": "mem-bind=LOC", "mem-bind PREFER MAP"
  std::string error;       // Slurm's reason the task cannot start: "NUMA node 1 does not exist; ..."
};
// The binding of the task of local id `local` whose CPUs are `cpus` (empty: any), on a node whose
// NUMA nodes are `numa`'s keys, each with its CPUs (a node without NUMA information: one node 0).
TaskMemory task_memory(const MemBind& bind, int local, const std::vector<int>& cpus,
                       const std::map<int, std::vector<int>>& numa);

}  // namespace gwang::slurm
