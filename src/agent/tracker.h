// Process tracking for the tasks an agent runs: every process a task starts, however it forks,
// belongs to one group that the agent can signal as a whole and watch until it is empty, so that no
// process of a job outlives it.
//
// Backends, best first (the machines gwang runs on differ, see docs/agent.md):
//  - cgroup v2: a directory per task in the unified hierarchy; cgroup.kill ends all at once;
//  - cgroup v1 memory: a directory per task in the memory hierarchy, which also enforces the task's
//    memory limit (memory.limit_in_bytes);
//  - cgroup v1 devices: a directory per task in the devices hierarchy, denying the device files of
//    the node's devices that the task was not given (devices.deny);
//  - process group: the task leads a new session; children that stay in it are reached by killpg.
// A task's tracker combines what the host offers: v2 for tracking where it works, v1 memory for limits.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "core/result.h"

namespace gwang::agent {

class ProcessTracker {
 public:
  virtual ~ProcessTracker() = default;
  // What join_from_child did not manage.
  enum JoinFailure { kJoined = 0, kCreateFailed, kLimitFailed, kMoveFailed, kDevicesFailed, kCpusFailed };
  // Called in the child between fork and exec: creates the task's group(s), sets the memory limit
  // and moves the calling process into them (done there, not in the agent, because creating and
  // joining a cgroup can take milliseconds). Async-signal-safe; errno tells why on failure.
  virtual JoinFailure join_from_child() noexcept = 0;
  // Called in the parent once the child exists (its pid leads the task's process group).
  virtual void started(pid_t leader) = 0;
  // Sends `sig` to every process of the task, once each. Returns how many were signalled (0: none
  // left).
  virtual int signal_all(int sig) = 0;
  // True when no process of the task is alive.
  virtual bool empty() = 0;
  // How many times the kernel's out-of-memory killer struck in this task (0 when unknown).
  virtual long oom_kills() { return 0; }
  // Frees what the tracker holds (cgroup directories), without waiting: true once all of it is
  // gone. The task must be empty; a group may stay busy a moment after its last process is reaped,
  // so a false answer is asked again later.
  virtual bool remove() = 0;
  // The same, waiting up to a second for busy groups: for the paths that cannot come back later.
  bool remove_waiting();
};

struct TrackingOptions {
  // Where to make per-task cgroups; empty: look for them (see detect_tracking).
  std::string cgroup_v2_root;  // e.g. /sys/fs/cgroup/gwang or /sys/fs/cgroup/unified/gwang
  std::string cgroup_v1_memory_root;
  std::string cgroup_v1_devices_root;
  bool allow_cgroups = true;  // false: process groups only
};

// What this host offers, decided once at agent start.
class Tracking {
 public:
  // Probes the host: creates (and removes) a test group under each candidate root.
  static Tracking detect(const TrackingOptions& options = {});

  // A tracker for one task (its groups are made by join_from_child, in the task's first process),
  // or for the existing groups of that name. `memory_limit_bytes` 0: no limit. `denied_devices`:
  // cgroup rules ("c 195:1 rwm") for the devices the task may not open, applied where the host has
  // the cgroup v1 devices controller.
  // `cpus`: the CPU ids the task is confined to, written to its cpuset where the host has the cgroup
  // v2 cpuset controller (empty: not confined).
  std::unique_ptr<ProcessTracker> create(const std::string& name, long long memory_limit_bytes,
                                         const std::vector<std::string>& denied_devices = {},
                                         const std::vector<int>& cpus = {}) const;

  bool tracks_with_cgroups() const { return !v2_root_.empty(); }
  bool enforces_memory() const { return !v1_memory_root_.empty() || v2_memory_; }
  bool enforces_devices() const { return !v1_devices_root_.empty(); }
  bool confines_cpus() const { return v2_cpuset_; }
  // Ends every process in the task groups whose names end with `suffix` and removes the groups:
  // what a previous run of this agent left behind. Returns how many groups there were.
  int end_groups(const std::string& suffix) const;

  // One line for logs and `gwang nodes`: "cgroup v2 (/sys/fs/cgroup/unified/gwang) + cgroup v1 memory (...)".
  std::string describe() const;

 private:
  std::string v2_root_;
  std::string v1_memory_root_;
  std::string v1_devices_root_;
  bool v2_memory_ = false;  // the v2 groups have memory.max
  bool v2_cpuset_ = false;  // the v2 groups have cpuset.cpus
};

}  // namespace gwang::agent
