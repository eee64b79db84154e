// The terminals of tasks that run on one (srun --pty): each relays, in order, between its task's
// node (the agent's end, which shows the terminal's secret) and its client (srun: one at a time,
// a newer one taking the place of the one before), holding what one side sends before the other
// comes. What the client sends is the task's input (binary) or its terminal's new size (text,
// {"rows":R,"cols":C}); what the node sends is the task's output. Thread-safe: the ends' handlers
// run on the API transport's loop, opening and ending on the controller's threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "controller/http_server.h"

namespace gwang::controller {

class Terminals {
 public:
  using Clock = std::chrono::steady_clock;
  // What each side may have waiting for the other before the other comes: the rest is dropped
  // (the oldest of the output, the newest of the input).
  static constexpr std::size_t kHeldForClient = 1 << 20;
  static constexpr std::size_t kHeldForNode = 64 << 10;

  Terminals();
  ~Terminals();
  // A terminal for `task` ("JOB.ATTEMPT.sSTEP.RANK"): the secret its node's end shows. A task's
  // terminal opened again (its launch sent again) keeps its secret and what it holds.
  std::string open(const std::string& task);
  // The task has ended: it is forgotten (no end comes to it any more), and its client's end closes
  // once its node's has, after the task's last output.
  void end(const std::string& task);
  bool has(const std::string& task) const;
  // The node's end: null when there is no such terminal or the secret is not its.
  std::shared_ptr<WebSocketHandler> node_end(const std::string& task, const std::string& secret);
  // The client's end: null when there is no such terminal.
  std::shared_ptr<WebSocketHandler> client_end(const std::string& task);
  // The terminals whose client has been gone (or never came), without another coming, for longer
  // than `grace` (the task's to end, as Slurm's when its srun dies). Time is the caller's: a client's
  // going counts from the first call that sees it gone.
  std::vector<std::string> abandoned(Clock::time_point now, Clock::duration grace);

  struct Terminal;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Terminal>> open_;
};

}  // namespace gwang::controller
