// Jobs: what was asked, and what became of it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/cluster.h"

namespace gwang::core {

enum class JobState : std::uint8_t { Pending, Running, Finished, Cancelled, Failed, TimedOut };

// Why a job is not running yet (or, for a failed one, why it never ran).
enum class PendingReason : std::uint8_t {
  None,              // not pending
  Priority,          // jobs ahead of it in the queue go first
  Resources,         // not enough free resources now (for the head: waiting for them to free up)
  Reserved,          // resources are reserved for it at `Job::reserved_at`
  NodesUnavailable,  // it could run on nodes that exist, but they are drained or down
  Unsatisfiable,     // no node of the cluster can ever hold it
  QuotaReached,      // starting it would take a quota of its project or institution over: passed over
  Preempting,        // preemptible jobs are being stopped to make room for it (see Scheduler::preempted)
  Held,              // held by the driver (Scheduler::hold): out of the queue until released
  ReservedForOther,  // it fits now, but in room reserved for another job (Job::blocker), the head
  GangNodes,         // a gang: not enough room for all its tasks at once (Resources, for a gang)
};

std::string_view to_string(JobState state);
std::string_view to_string(PendingReason reason);

struct JobSpec {
  JobId id;
  Time submit = 0;
  TaskRequest task;          // what each task needs
  int tasks = 1;             // a gang: all tasks start together or none does
  bool spread = false;       // each task on a different node (multi-node jobs)
  Time time_limit = 0;       // seconds (> 0): the job is ended when it runs this long
  Time estimate = 0;         // seconds planned for reservations and backfilling; 0: the time limit
  std::int64_t priority = 0; // larger first, under the priority queue order
  std::string user;
  std::string project;
  std::string institution;         // with project and user: the job's fair-share account
  double programme_priority = 0;   // the programme's priority factor, 0 to 1 (multifactor order)
  // Borrows idle capacity: queued after every job that is not preemptible, not held to quotas, and
  // stopped (preempted) when a job that is not preemptible needs what it holds.
  bool preemptible = false;

  Time planned_runtime() const { return estimate > 0 ? estimate : time_limit; }
};

struct Job {
  JobSpec spec;
  JobState state = JobState::Pending;
  PendingReason reason = PendingReason::Priority;
  Time start = -1;
  Time end = -1;
  Time reserved_at = -1;                  // when reason == Reserved (or Preempting)
  JobId blocker{};                        // when reason == ReservedForOther: the job the room is reserved for
  std::vector<TaskPlacement> reserved_place;  // conservative backfilling: where its reservation is
  std::int64_t rank = 0;                  // the multifactor priority it is queued by
  std::uint32_t account = 0;              // its fair-share account (0: none)
  Time charged_until = -1;                // while running: usage charged to fair share up to here
  std::vector<TaskPlacement> placement;   // one per task while running (kept after it ends)
  bool preempting = false;                // running, and asked to stop to make room (a Preempt decision)
  bool held = false;                      // pending, out of the queue (Scheduler::hold)
  Time preempt_at = -1;                   // when it was asked to stop (kept after it ends)

  Time expected_end() const { return start + spec.planned_runtime(); }
};

}  // namespace gwang::core
