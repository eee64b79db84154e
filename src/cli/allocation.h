// An allocation held by this command (salloc's, srun's outside a job): asked for, waited for
// with Slurm's words, asked after while it is held (the controller ends an attended allocation
// whose holder goes silent), and relinquished with its command's exit code.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "api/job_view.h"
#include "api/request.h"
#include "cli/commands.h"

namespace gwang::cli {

class HeldAllocation {
 public:
  using Env = std::vector<std::pair<std::string, std::string>>;
  // How the asking goes: the words' program ("salloc", "srun"), whether it says salloc's own
  // lines (Pending, Granted), and how long it may wait for its start (-1: as long as it takes;
  // salloc -I, srun -I).
  struct Asking {
    std::string program;
    bool salloc_words = false;
    int immediate_s = -1;
    std::string as_user;  // an operator's, for another user (--uid); "" the caller
  };
  // Submits `request` (an allocation) and waits until it runs. Null after saying why (its error
  // or its end); `*exit_code` is then the command's status. A signal while it waits (SIGINT,
  // SIGTERM, SIGHUP, SIGQUIT) gives it up.
  static std::unique_ptr<HeldAllocation> ask(const ClientArgs& client, const api::SubmitRequest& request,
                                             const Asking& how, int* exit_code);
  ~HeldAllocation();  // relinquished (exit code 1) unless it was
  HeldAllocation(const HeldAllocation&) = delete;
  HeldAllocation& operator=(const HeldAllocation&) = delete;

  std::int64_t id() const { return id_; }
  const api::JobView& job() const { return job_; }
  const Env& environment() const { return env_; }  // what its command is given (SLURM_*)

  // Asks after it on a thread of its own until it is relinquished; `ended` is called there, once,
  // with the job as it ended, when it ends otherwise (scancel, its time limit).
  void attend(std::function<void(const api::JobView&)> ended);
  // Whether it ended other than by relinquish().
  bool revoked() const { return revoked_; }
  // Lets it go, its command having ended with `exit_code` (saying so, as salloc does, with `say`);
  // nothing where it has ended already.
  void relinquish(int exit_code, bool say);
  // Leaves it held, asked after by no one (salloc --no-shell).
  void keep();

 private:
  HeldAllocation(ClientArgs client, Asking how, std::int64_t id)
      : client_(std::move(client)), how_(std::move(how)), id_(id) {}
  // Waits for its start; false after saying why it will not.
  bool wait_for_start(int* exit_code);
  void attending(std::function<void(const api::JobView&)> ended);

  ClientArgs client_;
  Asking how_;
  std::int64_t id_ = 0;
  std::uint64_t news_ = 0;
  api::JobView job_;
  Env env_;
  std::thread attender_;
  std::atomic<bool> relinquished_{false}, revoked_{false};
};

// The job's exit status as its holder reports it (a command's wait status): its exit code; 128
// plus the signal that ended it.
int relinquish_code(int wait_status);

}  // namespace gwang::cli
