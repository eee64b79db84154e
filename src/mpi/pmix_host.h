// The PMIx server of one node of a step (`srun --mpi=pmix`), from the PMIx library (libpmix), as
// Slurm's mpi/pmix plugin runs one in each node's slurmstepd: it tells the node's ranks where every
// rank of the step runs, and carries their fences and data to the other nodes through srun. The
// library calls back on its own thread; what must travel is queued here for the caller's loop,
// which sends it and hands back what comes. One per process (the library's server is).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "mpi/step_layout.h"
#include "mpi/wire.h"

namespace gwang::mpi {

class PmixHost {
 public:
  // Starts the server in layout.dir (which must exist) and registers the step and this node's
  // ranks as its clients, to run as uid/gid.
  static Result<std::unique_ptr<PmixHost>> start(const StepLayout& layout, uid_t uid, gid_t gid);
  ~PmixHost();  // stops the server
  PmixHost(const PmixHost&) = delete;
  PmixHost& operator=(const PmixHost&) = delete;

  // The variables a local rank starts with to reach the server (PMIx_server_setup_fork).
  Result<std::vector<std::pair<std::string, std::string>>> client_env(int rank);

  // Readable when there is something to take().
  int wake_fd() const;
  // The messages for srun the library's requests gave rise to. A fence among this node's ranks
  // only is completed here and gives none.
  std::vector<WireMessage> take();
  // A message from srun: a fence completed, a rank's data asked for, or the answer to an ask.
  void deliver(const WireMessage& m);
  // Ranks of this node that have called PMIx_Finalize.
  std::vector<int> finalized() const;

  struct State;

 private:
  explicit PmixHost(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace gwang::mpi
