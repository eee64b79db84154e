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
  // Waiting, out of the queue, for a condition of its own (JobSpec::begin, depends, array_limit):
  BeginTime,                 // its begin time has not come
  Dependency,                // a job it depends on has not ended as it must yet (or, singleton, one of its name runs)
  DependencyNeverSatisfied,  // a job it depends on ended otherwise: it will never be eligible
  ArrayTaskLimit,            // its array runs as many tasks at once as it allows
  Licenses,                  // in the queue: the licenses it needs are not all free now
};

std::string_view to_string(JobState state);
std::string_view to_string(PendingReason reason);

// That a job waits for another: Slurm's dependency types. `job` names a job, or an array by its
// array job id (all its tasks); `task` >= 0 names one task of that array by its index.
enum class DependencyKind : std::uint8_t {
  After,       // the job has started (or was cancelled before it did), `delay` seconds ago
  AfterAny,    // the job has ended, however
  AfterOk,     // the job completed (state Finished); never if it ended otherwise
  AfterNotOk,  // the job ended otherwise than completed; never if it completed
  AfterCorr,   // the task of the same index of the array `job` completed (array tasks only)
  Singleton,   // no job of the same user and name submitted before it is pending or running
};
struct JobDependency {
  DependencyKind kind = DependencyKind::AfterAny;
  JobId job{};
  std::int64_t task = -1;
  Time delay = 0;
  bool operator==(const JobDependency&) const = default;
};

// One way for a job's tasks to meet its feature constraint (Slurm's counts and matching or): the
// first tasks, run by run, each on a node meeting the run's rule, the others on nodes meeting
// `rest`.
struct FeatureWay {
  std::vector<std::pair<int, FeatureRule>> leading;  // (tasks, rule)
  FeatureRule rest;
  const FeatureRule& rule_for(int task) const {
    for (const auto& [count, rule] : leading) {
      if (task < count) return rule;
      task -= count;
    }
    return rest;
  }
};

struct JobSpec {
  JobId id;
  Time submit = 0;
  TaskRequest task;  // what each task needs
  // Where a constraint on its nodes' features is more than one rule for every task: its ways, the
  // first that places it now used (with them, task.features is none). Shared by the job's copies.
  std::shared_ptr<const std::vector<FeatureWay>> feature_ways;
  int tasks = 1;        // a gang: all tasks start together or none does
  bool spread = false;  // each task on a different node (multi-node jobs)
  // Its nodes adjacent in the cluster's order of node names (Slurm's --contiguous): host2, host3,
  // host4, never host2 and host4 without host3.
  bool contiguous = false;
  // Seats of the cluster's licenses it holds while it runs (Slurm's --licenses), each license once.
  std::vector<LicenseNeed> licenses;
  // A node of it going down takes that node's tasks out of it, and the rest go on (Slurm's
  // --no-kill), unless the node held all of them. A driver that cannot go on without the node
  // (a batch job's script ran there) finishes the job itself.
  bool no_kill = false;
  Time time_limit = 0;  // seconds (> 0): the job is ended when it runs this long
  Time estimate = 0;    // seconds planned for reservations and backfilling; 0: the time limit
  // > 0: the least time limit it takes (Slurm's --time-min): backfilling may lower its limit to as
  // little as this to start it before a reservation it would otherwise run into.
  Time time_min = 0;
  std::int64_t priority = 0;  // larger first, under the priority queue order
  // Its own adjustment (Slurm's --nice): subtracted from its priority under the priority and
  // multifactor orders; under fcfs and sjf, jobs go by nice first (lower first), then as the order
  // says. `fixed_priority` >= 0 (an operator's --priority) replaces its priority (and counts as
  // a nice of -fixed_priority under fcfs and sjf).
  std::int64_t nice = 0;
  std::int64_t fixed_priority = -1;
  // The leading key of fcfs and sjf.
  std::int64_t nice_rank() const { return fixed_priority >= 0 ? -fixed_priority : nice; }
  std::string user;
  std::string project;
  std::string institution;        // with project and user: the job's fair-share account
  double programme_priority = 0;  // the programme's priority factor, 0 to 1 (multifactor order)
  // Borrows idle capacity: queued after every job that is not preemptible, not held to quotas, and
  // stopped (preempted) when a job that is not preemptible needs what it holds.
  bool preemptible = false;

  // Conditions before it may queue. A job with any waits out of the queue (JobSpec::waiting) until
  // they hold.
  std::string name;                    // with user: what a singleton dependency is about
  Time begin = 0;                      // not eligible before this time
  JobId array_job{};                   // in an array: its array job id (the first task's id)
  std::int64_t array_task = -1;        // ... and its index there
  int array_limit = 0;                 // > 0: at most this many tasks of the array queued or running
  std::vector<JobDependency> depends;  // each must hold, or (depends_any) any one of them
  bool depends_any = false;

  bool in_array() const { return array_task >= 0; }
  bool conditional() const { return begin > 0 || !depends.empty() || array_limit > 0; }
  Time planned_runtime() const { return estimate > 0 ? estimate : time_limit; }
};

struct Job {
  JobSpec spec;
  JobState state = JobState::Pending;
  PendingReason reason = PendingReason::Priority;
  Time start = -1;
  Time end = -1;
  Time reserved_at = -1;                      // when reason == Reserved (or Preempting, or Licenses)
  JobId blocker{};                            // when reason == ReservedForOther: the job the room is reserved for
  std::vector<TaskPlacement> reserved_place;  // conservative backfilling: where its reservation is
  std::int64_t rank = 0;                      // the multifactor priority it is queued by
  std::uint32_t account = 0;                  // its fair-share account (0: none)
  Time charged_until = -1;                    // while running: usage charged to fair share up to here
  std::vector<TaskPlacement> placement;       // one per task while running (kept after it ends)
  bool preempting = false;                    // running, and asked to stop to make room (a Preempt decision)
  bool held = false;                          // pending, out of the queue (Scheduler::hold)
  bool waiting = false;                       // pending, out of the queue until its conditions hold
  bool never = false;                         // a dependency can no longer hold (DependencyNeverSatisfied)
  Time preempt_at = -1;                       // when it was asked to stop (kept after it ends)

  Time expected_end() const { return start + spec.planned_runtime(); }
  // Pending with room reserved for it at `reserved_at` (its reason may be the licenses it waits for).
  bool has_reservation() const {
    return reason == PendingReason::Reserved || (reason == PendingReason::Licenses && reserved_at >= 0);
  }
};

}  // namespace gwang::core
