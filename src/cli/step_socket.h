// What srun's servers for its step's tasks share (the PMI server of --mpi=pmi2, the PMIx relay of
// --mpi=pmix): a TCP socket on every address, at a port of the system's choosing, with a pipe that
// wakes the thread serving it; and whole sends to the peers.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace gwang::cli {

struct StepSocket {
  int listener = -1;
  int port = 0;
  int wake[2] = {-1, -1};  // written to wake the serving thread's poll

  // Listens; `what` names the server in errors ("the PMI server cannot listen: ...").
  static Result<StepSocket> open(const std::string& what);
  void wake_up() const;
  void drain() const;  // what wake_up wrote
  void close();
};

// Sends all of `bytes` (blocking); a peer that has gone gets the rest dropped.
void send_whole(int fd, std::string_view bytes);

}  // namespace gwang::cli
