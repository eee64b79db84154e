// A task's terminal (srun --pty) linked to the controller's end of it, a WebSocket at
// /api/v1/agent/terminals/TASK opened with the terminal's secret: what the task writes goes there,
// what comes from there (binary) is its input, and a size that comes ({"rows":R,"cols":C}, text)
// its terminal's new size. On its own thread, until the task's terminal closes (the task and its
// keeper ended: the link then closes the socket after the last output) or the controller's end
// does first, or cannot be reached: then failure() says so, and the agent ends the task.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "net/tls.h"

namespace gwang::agent {

class TerminalLink {
 public:
  // Takes `terminal` (a descriptor of the terminal's agent side, its own: it is closed at the
  // end). `controllers`: their URLs, comma-separated; the first that answers is used; `tls`
  // verifies an https:// one.
  TerminalLink(std::string controllers, net::TlsContext tls, std::string task, std::string secret, int terminal);
  ~TerminalLink();  // ends the link (closing the socket and the descriptor) and waits for its thread
  TerminalLink(const TerminalLink&) = delete;
  TerminalLink& operator=(const TerminalLink&) = delete;

  bool done() const { return done_; }
  // Why the link could not be made or ended early (empty when it ran to the terminal's end).
  std::string failure() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  std::thread thread_;
  std::atomic<bool> done_{false};
};

}  // namespace gwang::agent
