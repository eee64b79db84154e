// srun --pty's side of its step's terminal, through the controller: this terminal in raw mode,
// what is typed here sent to the task as it is typed (a Ctrl-C too: it interrupts the task, not
// srun), the task's output written here as it comes, and this terminal's size sent when it
// changes (SIGWINCH). The terminal is put back as it was at the end, however srun ends.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "cli/client.h"
#include "core/result.h"

namespace gwang::cli {

class StepTerminal {
 public:
  // Connects to the terminal at `path` (/api/v1/jobs/ID/steps/STEP/terminal) of the first
  // controller of `endpoint` that has it.
  static Result<std::unique_ptr<StepTerminal>> open(const Endpoint& endpoint, const std::string& path);
  ~StepTerminal();  // stops relaying, puts the terminal back
  StepTerminal(const StepTerminal&) = delete;
  StepTerminal& operator=(const StepTerminal&) = delete;

  // Relays until the controller closes the terminal (the task ended) or stop() is called.
  void run();
  // From any thread: run() returns soon after.
  void stop();
  // run() on a thread of its own; finish() waits for the terminal to close (the task's last
  // output comes before it does), at most two seconds, then stops relaying.
  void start();
  void finish();
  // Puts this terminal back as it was before raw mode, if it is in it: async-signal-safe, for a
  // signal handler of a command that ends by the signal.
  static void put_back();

  struct Impl;

 private:
  explicit StepTerminal(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::thread relaying_;
  std::atomic<bool> closed_{false};
};

}  // namespace gwang::cli
