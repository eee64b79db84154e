// srun's part in `srun --mpi=pmix`: the PMIx servers on its step's nodes (gwang-pmix, one per node)
// reach it over TCP (GWANG_PMIX_SRUN) to complete their fences across nodes, to ask one another for
// a rank's data (direct modex) and to end the step when a rank aborts. Slurm's mpi/pmix passes
// these among its slurmstepds; here srun is the meeting point, as it is for --mpi=pmi2.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "core/result.h"

namespace gwang::cli {

class PmixRelay {
 public:
  // Listens on every address, on a port of the system's choosing. Servers may connect at once;
  // what they send waits until start().
  static Result<std::unique_ptr<PmixRelay>> listen();
  ~PmixRelay();
  PmixRelay(const PmixRelay&) = delete;
  PmixRelay& operator=(const PmixRelay&) = delete;

  int port() const;
  // Begins relaying, now that the step's layout is known: `task_nodes[t]` is the index of the node
  // task t runs on, in the step's node order.
  void start(const std::vector<int>& task_nodes);
  // The status a rank aborted the step with (PMIx_Abort), if one has.
  std::optional<int> aborted() const;

 private:
  struct Impl;
  explicit PmixRelay(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gwang::cli
