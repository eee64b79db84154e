// The controller: the scheduler core's live driver. It keeps the jobs, journals every change before
// acknowledging it, drives the core with the wall clock, and runs the local node's tasks through the
// agent library. Thread-safe: the HTTP handlers and the control loop call it concurrently.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "agent/devices.h"
#include "agent/task.h"
#include "api/request.h"
#include "core/scheduler.h"
#include "store/committer.h"
#include "store/journal.h"

namespace gwang::controller {

// A Unix account jobs run as.
struct Account {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  std::string home;
};
Result<Account> lookup_account(const std::string& name);

// Job states as Slurm names them.
inline constexpr const char* kPending = "PENDING";
inline constexpr const char* kRunning = "RUNNING";
inline constexpr const char* kCompleted = "COMPLETED";
inline constexpr const char* kFailed = "FAILED";
inline constexpr const char* kCancelled = "CANCELLED";
inline constexpr const char* kTimeout = "TIMEOUT";
inline constexpr const char* kOutOfMemory = "OUT_OF_MEMORY";
inline constexpr const char* kNodeFail = "NODE_FAIL";

struct JobRecord {
  std::int64_t id = 0;
  std::string user;
  api::SubmitRequest request;
  std::string state = kPending;
  std::string reason;            // why it waits, or how it ended
  std::int64_t submit = 0, start = -1, end = -1;  // Unix seconds
  int exit_code = 0;
  std::string node;
  std::vector<std::string> devices;  // the devices it got on its node (UUIDs)
  bool ended() const { return state != kPending && state != kRunning; }
};

struct NodeRecord {
  std::string name;
  std::string state;             // "up", "drained", "down"
  int cpus = 0, cpus_used = 0;
  std::int64_t memory_bytes = 0, memory_used = 0;
  std::vector<agent::Device> devices;
  std::vector<std::int64_t> jobs;
  std::string tracking;          // how the agent tracks tasks there
};

struct ControllerOptions {
  std::string data_dir;
  std::string node_name;
  agent::HostResources host;
  std::chrono::milliseconds kill_grace{10000};
  agent::TrackingOptions tracking;
};

class Controller {
 public:
  // Opens (or creates) the state in data_dir and recovers it: jobs that were pending wait again;
  // jobs that were running on this node when the controller stopped ended with it (NODE_FAIL).
  static Result<std::unique_ptr<Controller>> open(ControllerOptions options, std::int64_t now);
  ~Controller();

  // Journals and queues a job; returns it. Errors: a request no node can ever satisfy (with why).
  Result<JobRecord> submit(const api::SubmitRequest& request, const Account& owner, std::int64_t now);
  // Ends a pending job at once, or asks a running one to end (it shows CANCELLED when it has).
  // Errors: no such job of this user ("not found"); already ended.
  Result<JobRecord> cancel(std::int64_t id, const std::string& user, bool operator_rights, std::int64_t now);
  std::optional<JobRecord> job(std::int64_t id) const;
  // Jobs that have not ended, plus with `all` the ended ones, by id.
  std::vector<JobRecord> jobs(bool all) const;
  std::vector<NodeRecord> nodes() const;
  Result<void> set_node_state(const std::string& node, const std::string& state, std::int64_t now);
  std::string log_path(std::int64_t id, bool stderr_stream) const;

  // One round of the control loop: collects ended tasks, enforces time limits, runs a scheduling
  // pass and starts what it decided. `mono` drives kill deadlines; `now` is the wall clock.
  void step(agent::Clock::time_point mono, std::int64_t now);

 private:
  explicit Controller(ControllerOptions options);
  Result<void> recover(std::int64_t now);
  Result<void> journal(const std::string& kind, const std::string& payload, std::int64_t now);
  Result<core::JobSpec> to_spec(const JobRecord& job) const;
  void start(const core::Decision& d, std::int64_t now);
  void end(JobRecord& job, const std::string& state, int exit_code, const std::string& reason, std::int64_t now);
  // The job with the reason it waits, as the scheduler sees it now (pending jobs).
  JobRecord with_reason(JobRecord job) const;

  ControllerOptions options_;
  mutable std::mutex mu_;
  std::unique_ptr<store::Journal> journal_;
  std::unique_ptr<store::GroupCommitter> committer_;  // every write to the journal goes through it
  std::unique_ptr<core::Scheduler> scheduler_;
  agent::Tracking tracking_;
  std::map<std::int64_t, JobRecord> jobs_;
  std::map<std::int64_t, Account> accounts_;  // the owner of each unfinished job
  std::map<std::int64_t, std::unique_ptr<agent::Task>> tasks_;
  std::int64_t next_id_ = 1;
  std::string node_state_ = "up";
  std::string instance_;
  bool pass_due_ = true;          // resources were freed or nodes changed since the last pass
  std::int64_t last_pass_ = -1;   // wall-clock second of the last pass  // tells this controller's task groups from others' on the host
};

}  // namespace gwang::controller
