// The PMI-1 process manager of `srun --mpi=pmi2`: a server srun runs for its step, which the
// step's MPI tasks reach over TCP (PMI_PORT) to learn their place, exchange their addresses
// (put, barrier, get) and end. It speaks PMI-1's wire protocol, which MPICH's simple PMI client
// speaks and which Slurm's mpi/pmi2 plugin also serves.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace gwang::cli {

class PmiServer {
 public:
  // Listens on every address, on a port of the system's choosing; answers nothing until start().
  static Result<std::unique_ptr<PmiServer>> listen(std::string kvsname);
  ~PmiServer();
  PmiServer(const PmiServer&) = delete;
  PmiServer& operator=(const PmiServer&) = delete;

  int port() const;
  // Begins answering, now that the step's layout is known: `task_nodes[t]`, the index of the node
  // task t runs on (in the step's node order), from which the step's size and
  // PMI_process_mapping are told.
  void start(const std::vector<int>& task_nodes);
  // The exit code a task asked the step to end with (PMI_Abort), if one has.
  std::optional<int> aborted() const;

 private:
  struct Impl;
  explicit PmiServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The address of this host that `url`'s host reaches it by (the route the kernel would take).
Result<std::string> local_address_towards(const std::string& url);

}  // namespace gwang::cli
