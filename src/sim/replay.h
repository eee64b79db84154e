// Time-driven replay of a batch workload (SWF) through the scheduler core, in virtual time.
//
// Event semantics (they decide the digits of published results):
//  - one scheduling pass per event, not one per timestamp;
//  - at equal timestamps, submissions are handled before terminations, each on its own, in the
//    order the events were created (submissions in trace order, terminations in start order);
//  - a running job holds its resources for planning until its estimated end or until its
//    termination is handled, whichever comes first: a job that ends exactly at its estimated end is
//    seen as ended from the first event at that instant;
//  - on a submission, a pass runs only if the new job fits in the free resources now;
//  - a job a pass asks to stop (Action::Preempt) is reported stopped at once, at the same time (no
//    grace period in virtual time), and waits again; another pass then runs at that time. Batch
//    traces have no preemptible jobs, so today no pass asks that.
// The machine is a pool of processors (one node, no topology); a job asks for `procs` of them.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/scheduler.h"

namespace gwang::sim {

struct BatchJob {
  std::int64_t id;
  core::Time submit;
  core::Time run;           // actual run time (> 0)
  std::int64_t procs;       // width (> 0)
  core::Time requested;     // requested time: the time limit (> 0)
  std::int64_t user = -1;   // the trace's user and group ids (-1: unknown): under the multifactor
  std::int64_t group = -1;  // order, the fair-share accounts (a group is a project)
  // Conditions, as the live system's (core::JobSpec): SWF logs have none; an sbatch workload
  // (sbatch_workload.h) has Slurm's. A job waits out of the queue until they hold.
  core::Time begin = 0;  // not eligible before
  std::string name;      // with the user: what a singleton dependency is about
  // On other jobs of the workload, by their index in it (core::JobDependency::job).
  std::vector<core::JobDependency> depends;
  bool depends_any = false;
  std::int64_t array_first = -1;  // a task of an array: the index of the array's first task ...
  std::int64_t array_task = -1;   // ... and this task's index in the array
  int array_limit = 0;            // at most this many of its tasks queued or running (0: any)
  bool fails = false;             // it ends FAILED (what afterok and afternotok look at)
};

// A replay policy: queue order and backfilling, by name ("fcfs", "sjf", "easy", "easy-sjbf",
// "sjf-easy", "multifactor-easy"); the error lists the valid names. multifactor-easy ranks the
// queue by fair share between the trace's groups (projects) and users, age and size (see
// docs/policies.md; usage in processor-seconds, half-life 7 days), with EASY backfilling.
struct BatchPolicy {
  core::QueueOrder order = core::QueueOrder::Fcfs;
  core::Backfill backfill = core::Backfill::Easy;
};
Result<BatchPolicy> parse_batch_policy(std::string_view name);

enum class Estimate { Requested, Actual };
Result<Estimate> parse_estimate(std::string_view name);  // "requested", "actual"

struct ReplayOptions {
  BatchPolicy policy;
  Estimate estimate = Estimate::Requested;
  std::int64_t machine_procs = 0;
  bool log = false;  // record the decision log
  // Record, for each job that does not start when submitted, the start the scheduler plans for it
  // then (Scheduler::planned_starts), to compare with when it starts.
  bool eta = false;
};

struct JobResult {
  std::int64_t id;
  core::Time submit, start, run;
  std::int64_t procs;
  std::int64_t user = -1;  // the trace's user and group ids (-1: unknown)
  std::int64_t group = -1;
};

struct ReplayMetrics {
  std::size_t jobs = 0;           // jobs that ran
  std::size_t unsatisfiable = 0;  // jobs that could never run (wider than the machine)
  std::size_t never = 0;          // jobs whose conditions never held (a dependency that failed)
  double avg_wait_s = 0;
  double avg_turnaround_s = 0;
  double max_turnaround_s = 0;
  double avg_bounded_slowdown = 0;
  double max_bounded_slowdown = 0;
  double utilization = 0;  // processor-seconds used / (procs x makespan)
  double makespan_s = 0;   // last end - first submission
  // With ReplayOptions::eta: of the jobs that waited, those given a planned start at submission,
  // how many started by it (met or beaten) and exactly at it, and by how much the late ones were.
  std::size_t eta_planned = 0, eta_met = 0, eta_exact = 0;
  double eta_late_avg_s = 0;
};

struct ReplayResult {
  ReplayMetrics metrics;
  std::vector<JobResult> jobs;   // in trace order, jobs that ran
  std::vector<std::string> log;  // "<time> <event> <job>" lines, when asked for
};

// Bounded slowdown with the customary 10 s threshold: max(1, turnaround / max(10, run)).
double bounded_slowdown(core::Time wait, core::Time run);

// Replays `jobs` (in trace order) on an empty machine. Fails on a malformed job (non-positive
// width, run or requested time) naming its id.
Result<ReplayResult> replay(std::span<const BatchJob> jobs, const ReplayOptions& options);

ReplayMetrics summarize(std::span<const JobResult> jobs, std::int64_t machine_procs);

// How each group (or user) of the trace fared: what share of the processor-hours it got, and how
// long its jobs waited. Largest share first (ties by id).
struct GroupMetrics {
  std::int64_t group = -1;  // the group's or user's id
  std::size_t jobs = 0;
  double processor_hours = 0;
  double share = 0;  // of all the processor-hours the jobs used
  double avg_wait_s = 0;
  double avg_bounded_slowdown = 0;
};
enum class GroupBy { Group, User };
std::vector<GroupMetrics> by_group(std::span<const JobResult> jobs, GroupBy by = GroupBy::Group);

// Windows of `size` consecutive jobs, starting at the given 0-based indices, each replayed alone
// on an empty machine.
struct WindowResult {
  std::size_t first;
  ReplayMetrics metrics;
};
Result<std::vector<WindowResult>> replay_windows(std::span<const BatchJob> jobs, std::span<const std::size_t> starts,
                                                 std::size_t size, const ReplayOptions& options);

}  // namespace gwang::sim
