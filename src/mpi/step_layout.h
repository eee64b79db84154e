// What a node's PMIx server must know of its step (`srun --mpi=pmix`), read from the environment
// the controller gives each of the step's tasks: who the step is, where each rank runs, which of
// them run on this node, and where the server keeps its files and reaches srun.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/result.h"

namespace gwang::mpi {

struct StepLayout {
  std::int64_t job = 0, step = 0;
  std::string nspace;              // "slurm.pmix.JOB.STEP", as Slurm's mpi/pmix names it
  int rank = 0;                    // this task's (SLURM_PROCID)
  int local = 0;                   // its place among the node's tasks (SLURM_LOCALID)
  int node = 0;                    // the node's index in the step (SLURM_NODEID)
  std::vector<int> task_nodes;     // rank -> node index (SLURM_PMIX_MAPPING_SERV)
  std::vector<std::string> hosts;  // node index -> name (SLURM_STEP_NODELIST)
  std::string srun;                // where srun relays across nodes: "HOST:PORT" (GWANG_PMIX_SRUN)
  std::string tmpdir;              // the job's scratch base (TMPDIR, else /tmp)
  std::string dir;                 // this step's directory on this node, under tmpdir
  std::string distribution;        // SLURM_DISTRIBUTION, when set

  int ntasks() const { return static_cast<int>(task_nodes.size()); }
  std::vector<int> local_ranks() const;  // the ranks on this node, ascending
  int local_rank_of(int rank) const;     // its place among its node's ranks
};

// Reads a task's layout from its environment (`get` answers a variable, "" when unset); refused
// with the variable at fault when one is missing or malformed.
Result<StepLayout> layout_from_env(const std::function<std::string(const char*)>& get, uid_t uid);

}  // namespace gwang::mpi
