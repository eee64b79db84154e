// The scheduler: events in, decisions out.
//
// A driver (the live controller, or the simulator in virtual time) tells the scheduler what
// happened (submit, finish, cancel, node changes) and, when it wants decisions, asks for a
// scheduling pass with schedule(now). State changes and passes are separate calls so that the
// driver decides when passes run; the scheduler never reads a clock and draws randomness only from
// the generator seeded in its options. The same calls give the same decisions, bit for bit.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <unordered_map>
#include <vector>

#include "core/fairshare.h"
#include "core/job.h"
#include "core/placement.h"
#include "core/queue_policy.h"
#include "core/quota.h"
#include "core/result.h"
#include "core/rng.h"

namespace gwang::core {

// A change of a waiting job's request that would let it start sooner (Scheduler::what_if).
struct Hint {
  enum class Change {
    FewerDevices,  // `value` devices per task instead of its count
    OtherModel,    // `model` instead of the models it allows, as many devices
    FewerTasks,    // `value` tasks (nodes of a gang) instead of its count
    ShorterLimit,  // a time limit (estimate) of at most `value` seconds: it backfills now
  };
  Change change;
  std::int64_t value = 0;
  ResourceKind model{};
  Time start = -1;  // the earliest start with the change, ignoring the jobs queued before it
};

// What would let a waiting job start sooner: when it could start as asked, ignoring the jobs queued
// before it (-1: never, on the nodes that are up), and the nearest changes that start it earlier.
struct WhatIf {
  Time start = -1;
  std::vector<Hint> hints;
};

struct SchedulerOptions {
  QueueOrder order = QueueOrder::Fcfs;
  Backfill backfill = Backfill::Easy;
  PlacementKind placement = PlacementKind::FirstFit;
  PlacementOptions placement_options;
  std::uint64_t seed = 1;
  // The most queued jobs a backfill scan tries per pass (after the head); 0: the whole queue.
  // Deep queues make an exhaustive scan the cost of every pass; production schedulers bound it
  // (Slurm's bf_max_job_test). The replay of published results scans the whole queue.
  std::size_t backfill_depth = 0;

  // The multifactor order: the weights of its terms, fair share's half-life, and how often the
  // waiting jobs are ranked again. Fair-share usage is accelerator-seconds, each device weighted
  // by its model (`usage_weights`, by kind name: "gpu:H100" = 1.0; 1.0 for a model not listed);
  // jobs without accelerators use CPU-seconds times `cpu_usage_weight`. Running jobs are charged
  // as they run (at each ranking) and at their end.
  PriorityWeights priority;
  FairShareOptions fairshare;
  Time reprioritize_every = 300;
  std::map<std::string, double> usage_weights;
  double cpu_usage_weight = 0;
};

// Start: run the job on `placement`. Preempt: stop the running job (a preemptible one) to make room,
// then report it with Scheduler::preempted; it keeps its resources until then.
enum class Action : std::uint8_t { Start, Preempt };

struct Decision {
  Action action;
  JobId job;
  std::vector<TaskPlacement> placement;  // for Start: one entry per task; empty for Preempt
  Time time_limit = 0;                   // for Start, > 0: its time limit, lowered to start it now (JobSpec::time_min)
};

enum class SubmitStatus : std::uint8_t { Queued, Unsatisfiable };

class Scheduler {
 public:
  Scheduler(Cluster cluster, SchedulerOptions options);
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // --- events

  // Accepts a job into the queue, or records it as unsatisfiable (state Failed) when no node of the
  // cluster can ever hold its tasks. A malformed spec (no tasks, no time limit, a bad accelerator
  // request, a duplicate id) is an error and changes nothing.
  Result<SubmitStatus> submit(JobSpec spec, Time now);
  // Records a job that ended before this scheduler was made (a restarted controller's history),
  // so that the dependencies of waiting jobs on it can be judged; it never queues. Errors as submit.
  Result<void> remember(JobSpec spec, JobState outcome, Time start, Time end);
  // Room for `jobs` jobs in all, so that a recovery submitting many at once does not regrow.
  void reserve_jobs(std::size_t jobs) {
    jobs_.reserve(jobs);
    owners_.reserve(jobs);
  }
  // A running job ended with `outcome` (Finished, Failed or TimedOut); its resources are free again.
  // Returns false (and changes nothing) if the job is not running.
  bool finish(JobId id, Time now, JobState outcome = JobState::Finished);
  // Cancels a pending or running job. Returns false if it had already ended or is unknown.
  bool cancel(JobId id, Time now);
  // Puts a job that has ended (failed with its node, say) back in the queue with its spec, its
  // submit time and so its place in the queue order. Returns false if it is pending or running.
  bool requeue(JobId id, Time now);
  // Holds a pending job: it stays pending, out of the queue (reason Held), until released; a held
  // job may be cancelled. A job waiting for its conditions (begin time, dependencies) may be held
  // too; released, it waits for them again. Returns false (changing nothing) when it is not pending or already held.
  bool hold(JobId id);
  // Puts a held job back into the queue in its place (its submission time, its priority at `now`).
  // Returns false when it is not held.
  bool release(JobId id, Time now);
  // Whether a pending (or held) job is preemptible work; it moves in the queue accordingly. Returns
  // false, changing nothing, for a job that is not pending.
  bool set_preemptible(JobId id, bool preemptible);
  // A running job was stopped to make room (after a Preempt decision: the driver signals it, waits
  // its grace period, kills it, then calls this). Ends the run as `finish` does (fair share is
  // charged up to `now`, its resources are free), then puts it back in the queue as `requeue` does:
  // pending, with its spec and submit time. Returns false (and changes nothing) if it is not running.
  bool preempted(JobId id, Time now);
  // Marks a pending job as running since `start` on `placement`, which a driver learnt from the
  // outside (a restarted controller re-adopting what its agents still run). Fails, changing
  // nothing, when the placement does not name one available place per task. Quotas do not stop it
  // (it records what runs), but it counts toward them from then on; nor do its licenses (their
  // free seats may go below zero).
  Result<void> adopt(JobId id, std::vector<TaskPlacement> placement, Time start);
  // Ends every running job that has reached its time limit; returns them (state TimedOut).
  std::vector<JobId> expire(Time now);
  // Node changes. A node going Down fails the jobs running on it (returned).
  NodeId add_node(const NodeSpec& spec);
  // Adds a license of the cluster (Cluster::add_license), before any job asks for it.
  std::uint16_t add_license(std::string name, std::int64_t total) {
    return cluster_.add_license(std::move(name), total);
  }
  // The id of a resource kind, interned if new (before adding a node with a new device model).
  ResourceKind intern_kind(std::string_view name) { return cluster_.registry().intern(name); }
  // A job that keeps running without its tasks there (JobSpec::no_kill) gives their resources
  // back and runs on fewer places from then on (its spec keeps the tasks it asked for); it is
  // added to `shrunk` where given.
  std::vector<JobId> set_node_state(NodeId node, NodeState state, Time now, std::vector<JobId>* shrunk = nullptr);
  // A node's features, temporary disk or CPUs' shape changed (its agent says so): placements from
  // now on see them.
  void set_node_traits(NodeId node, FeatureSet features, std::int64_t tmp_mib, NodeShape shape);
  std::optional<int> intern_feature(std::string_view name) { return cluster_.registry().intern_feature(name); }

  // --- decisions

  // One scheduling pass at time `now`: first the waiting jobs whose conditions hold join the queue
  // (in submission order; an array's tasks up to its limit); then it starts what the queue order,
  // backfilling, placement policies and quotas allow, asks preemptible jobs to stop when the head
  // needs their room, and updates the pending reasons.
  //  - Conditions (JobSpec): the begin time has come; the dependencies hold, all of them or
  //    (depends_any) one: after (started, or cancelled before it did, `delay` ago), afterany
  //    (ended), afterok (Finished), afternotok (ended otherwise), aftercorr (the task of the same
  //    index of the array, Finished), singleton (no job of the same user and name submitted before
  //    is pending or running). A dependency on an array is on all its tasks (afternotok: all ended,
  //    one not Finished). One that can no longer hold leaves the job waiting for good, reason
  //    DependencyNeverSatisfied, until it is cancelled (as Slurm does).
  //  - Jobs start from the front of the queue while they fit. A job that a quota holds back
  //    (QuotaReached) is passed over: it blocks nobody, gets no reservation and is not the head.
  //    The head is the first job that is neither started nor held back.
  //  - Quotas are checked against the place a job is given: a job that allows several models and
  //    would take a per-model quota over where placement put it waits (QuotaReached) for this pass,
  //    even though another model might have taken it.
  //  - EASY keeps the head's quotas as it keeps its resources: a backfilled job that would still
  //    run at the reservation may not take a quota over once counted with what the head holds in
  //    the plan.
  //  - Preemption: when the head is not preemptible and does not fit now, but would with some
  //    running preemptible jobs gone, those jobs are chosen as victims (Preempt decisions, in this
  //    order): most recently started first, then larger id first, released one by one on a copy of
  //    the free state until the head fits there; then each is kept running, oldest first, if the
  //    head fits without it. The head must also stay within its quotas on the place it would get.
  //    Victims keep running and hold their resources until preempted(); the head's reservation is
  //    planned on what they free, at `now`, so backfilling keeps off it. While any victim is still
  //    running no new victims are chosen (for any job); the head they make room for waits with
  //    reason Preempting. Preemptible jobs never preempt; a job that fits never does.
  std::vector<Decision> schedule(Time now);

  // --- quotas

  // Sets the most accelerators (milli-devices) that the running jobs of a project or institution
  // may hold at once, of one model or ("") of all models together; replaces an earlier limit of the
  // same scope, name and model. Only running jobs that are not preemptible count. Errors: an empty
  // name, a negative limit, a model that is not an accelerator kind ("family:model"); a model no
  // node has yet is interned. A limit below what is in use now stops no running job: it holds back
  // new starts until usage drops under it.
  Result<void> set_quota(const Quota& quota);
  // Removes a limit; an error when there is none.
  Result<void> remove_quota(QuotaScope scope, const std::string& name, const std::string& model);
  // Every limit: projects first, then institutions, each by name, then by model ("" first).
  std::vector<Quota> quotas() const;
  // What the running jobs that are not preemptible hold now (milli-devices) for a project or
  // institution, of a model or ("") of all models, whether or not a limit is set for it.
  Milli quota_used(QuotaScope scope, const std::string& name, const std::string& model) const;

  // --- queries

  // Whether the job, if it were at the head of the queue, could start now (on its resources; quotas
  // and preemption are not considered).
  bool fits_now(JobId id) const;
  // When each of the first `limit` waiting jobs (queue order; 0: all) is expected to start, planned
  // from now: running jobs end at their expected ends, and the waiting ones start in queue order,
  // each at the earliest time from the previous one's start on when it fits, holding its resources
  // for its planned runtime. The head keeps its EASY reservation. With exact runtime estimates and
  // no backfilling this is when they start; backfilling may start them earlier (or, for jobs behind
  // the head, later). -1: no start can be planned (it fits no node that is up). Quotas are not
  // planned. Under conservative backfilling these are the jobs' reservations (up to
  // backfill_depth; the jobs behind get no plan). Changes nothing (the random generator's state is
  // restored).
  std::vector<std::pair<JobId, Time>> planned_starts(Time now, std::size_t limit) const;
  // When and where a job submitted now would start, planned as planned_starts plans the queue
  // (under either backfilling), with the job last in it and not before its begin time; its
  // dependencies are not planned. start -1: it fits no node that is up. Changes nothing.
  struct PlannedStart {
    Time start = -1;
    std::vector<TaskPlacement> placement;
  };
  PlannedStart plan_submission(const JobSpec& spec, Time now) const;
  // The nearest changes of a waiting job's request that let it start sooner than as asked: the
  // most devices per task, the fewest fewer tasks, each other accelerator model that would; and
  // when it fits now but in room reserved for the head, the longest time limit that backfills it
  // now. Starts are planned as the head's reservation is (running jobs end at their estimates),
  // ignoring the jobs queued before it. Empty for a job that is not waiting, or that waits for its
  // conditions (a begin time, dependencies). Changes nothing.
  WhatIf what_if(JobId id, Time now) const;
  // Whether some state of the cluster (all of it free) could hold the job: false means submit would
  // record it as unsatisfiable.
  bool would_ever_fit(const JobSpec& spec) const { return satisfiable(spec); }
  const Job* find(JobId id) const;
  const Job& job(JobId id) const;
  const Cluster& cluster() const { return cluster_; }
  std::size_t pending_count() const { return queue_.size() + held_ + waiting_.size(); }  // held and waiting included
  // Pending jobs out of the queue until their conditions hold (begin time, dependencies, array limit).
  std::size_t waiting_count() const { return waiting_.size(); }
  // The earliest time a waiting job's conditions may come to hold by time alone (its begin time,
  // an `after` dependency's delay): a driver that passes only on events passes then as well. -1:
  // none. Known after a pass.
  Time next_wake() const { return waiting_.empty() ? -1 : next_wake_; }
  std::size_t running_count() const { return running_.size(); }
  // Pending jobs in queue order.
  std::vector<JobId> queue() const;
  // `visit(job)` for each pending job whose reason a pass may change: those queued, then those
  // waiting for their conditions (not the held ones: a hold or a release changes theirs).
  template <typename Visit>
  void visit_pending(Visit&& visit) const {
    for (const QueueKey& k : queue_) visit(jobs_[k.slot]);
    for (Slot s : waiting_) visit(jobs_[s]);
  }
  const SchedulerOptions& options() const { return options_; }

  // Fair share: the accounts (institution -> project -> user, each made with 1 share when a job
  // first names it) and their usage. Shares are the driver's to set.
  FairShare& fairshare() { return fairshare_; }
  const FairShare& fairshare() const { return fairshare_; }
  // A job's multifactor priority at `now`, term by term (what `show` explains).
  PriorityTerms priority_terms(JobId id, Time now) const;

 private:
  // planned_starts' plan of the queue; with `extra`, also the start of that job after them.
  std::vector<std::pair<JobId, Time>> plan_queue(Time now, std::size_t limit, const JobSpec* extra,
                                                 PlannedStart* extra_start) const;
  using Slot = std::uint32_t;
  struct QueueKey {
    bool preemptible;  // preemptible jobs queue last
    std::int64_t a, b, c, d;
    Slot slot;
    auto operator<=>(const QueueKey&) const = default;
  };
  using Queue = std::set<QueueKey>;
  struct EndKey {
    Time end;
    Slot slot;
    auto operator<=>(const EndKey&) const = default;
  };

  QueueKey queue_key(Slot slot) const;
  Slot slot_of(JobId id) const;
  bool satisfiable(const JobSpec& spec) const;

  // Places every task of the job in `free`, all or none, with its licenses; allocates there (the
  // licenses' seats too) on success.
  std::optional<std::vector<TaskPlacement>> place_all(FreeState& free, const JobSpec& spec) const;
  // The same without its licenses.
  std::optional<std::vector<TaskPlacement>> place_nodes(FreeState& free, const JobSpec& spec) const;
  // Its tasks placed one way of its feature constraint (none: by the task's own request).
  std::optional<std::vector<TaskPlacement>> place_tasks(FreeState& free, const JobSpec& spec,
                                                        const FeatureWay* way) const;
  // A contiguous job's tasks on a run of nodes adjacent in name order: the narrowest run that
  // holds them, the first in that order (scheduler_passes.cpp).
  std::optional<std::vector<TaskPlacement>> place_contiguous(FreeState& free, const JobSpec& spec) const;
  // Whether the job could be placed on `free`; changes nothing but the random generator's state.
  bool fits(const FreeState& free, const JobSpec& spec) const;
  // The same on a state that may be changed in between (placed, then given back): no copy.
  bool probe(FreeState& free, const JobSpec& spec) const;
  // A job's resources, its licenses' seats included, taken from `free` or given back to it.
  void take(FreeState& free, const std::vector<TaskPlacement>& placement, const JobSpec& spec) const;
  void give_back(FreeState& free, const std::vector<TaskPlacement>& placement, const JobSpec& spec) const;
  // Why a job that cannot be placed on `free` waits: its licenses, or room.
  static PendingReason lacking(const FreeState& free, const JobSpec& spec);
  // `lowered` > 0: its time limit, lowered to start it before a reservation (shorter_limit).
  void start(Slot slot, std::vector<TaskPlacement> placement, Time now, std::vector<Decision>& out, Time lowered = 0);
  // The limit, ending by `reserved`, that a job which would run past it starts with now, if it
  // takes one that short (JobSpec::time_min); 0 where it does not.
  static Time shorter_limit(const JobSpec& spec, Time now, Time reserved);
  // `both`: what is free now and stays free past the reservation whose planned state is `shadow`
  // (differing from now on the nodes `touched`, sorted and made unique here).
  void stays_free(FreeState& both, const FreeState& shadow, std::vector<NodeId>& touched) const;
  void end_running(Slot slot, Time now, JobState outcome);
  // A running no_kill job's tasks on `node` given back; false (nothing changed) where it would
  // lose every task.
  bool shrink(Slot slot, NodeId node);
  void enqueue_again(Slot slot, Time now);  // an ended job waits again (requeue, preempted)
  // The first phase of a pass: starts jobs from the front of the queue while they fit, passing over
  // those held back by a quota. Returns the head: the first job that does not fit (or the end).
  Queue::iterator start_from_front(Time now, std::vector<Decision>& out);

  // Conditions (JobSpec::conditional). A pending job that is not held enters: it joins the queue,
  // or, with conditions, waits out of it; admit moves those whose conditions hold into the queue.
  void enter(Slot slot, Time now);
  void join_queue(Slot slot, Time now);
  void leave_queue(Slot slot);  // a cancel or a hold: out of the queue, not started
  // Checks every waiting job's conditions: those that hold join the queue (with `join`), the
  // others get their reason; sets next_wake_.
  void admit(Time now, bool join);
  void schedule_queue(Time now, std::vector<Decision>& out);  // the pass over the queue
  enum class Holds : std::uint8_t { Yes, NotYet, Never };
  // Why the job still waits (None: it may queue); `wake` is lowered to when time alone may change that.
  PendingReason condition(Slot slot, Time now, Time& wake);
  Holds holds(const JobDependency& d, Slot slot, Time now, Time& wake) const;
  Holds holds_on(DependencyKind kind, const Job& target, Time delay, Time now, Time& wake) const;
  void track_name(Slot slot);  // a singleton's user and name: its jobs are followed from now on
  static std::string name_key(const JobSpec& spec) { return spec.user + '\0' + spec.name; }

  // Quotas. They bind jobs that are not preemptible and ask for accelerators; with no quota set,
  // every check returns at once.
  bool bound_by_quotas(const JobSpec& spec) const;
  // Whether the job's request alone takes a quota over: all of it counts toward all-model quotas,
  // and toward a model's quota when that is the only model it allows.
  bool over_quota(Slot slot) const;
  // Whether holding `placement` would take a quota of the job over.
  bool over_quota(Slot slot, const std::vector<TaskPlacement>& placement) const;
  void hold_for_quota(Job& job);           // reason QuotaReached
  void count_quotas(Slot slot, int sign);  // adds (+1) or takes back (-1) what it holds
  std::vector<ModelAmount> held(const std::vector<TaskPlacement>& placement) const;
  // What running jobs that are not preemptible hold, counted from scratch (no model: all models).
  Milli usage_of(QuotaScope scope, const std::string& name, std::optional<ResourceKind> model) const;
  Result<std::optional<ResourceKind>> quota_kind(const std::string& model);  // interned if new

  // Preemption (see schedule()): asks victims to stop for `head` when that makes it fit.
  void preempt_for(Slot head, Time now, std::vector<Decision>& out);
  // The victims that make room for `spec`, most recently started first (empty: none would); `trial`
  // ends as the live state with them gone.
  std::vector<Slot> pick_victims(const JobSpec& spec, FreeState& trial) const;
  void mark_victim(Slot slot, Time now);
  // Fair share.
  AccountId account_of(const JobSpec& spec);  // made if new
  void count_capacity(NodeId node);           // adds the node to total_accel_ and total_cpu_
  void charge_running(Slot slot, Time now);   // the usage since charged_until
  void reprioritize(Time now);                // ranks every waiting job again
  PriorityTerms terms_of(const Job& job, Time now, double fairshare_factor) const;

  // EASY: the earliest time the head fits, planned on a copy of the free state in which running
  // jobs end at their expected ends; on success `shadow` holds that future state with the head in it.
  // `touched` gets the nodes where `shadow` differs from the live state, `plan` the head's place there.
  // Jobs being preempted give their resources back first, on their own, at `now`.
  std::optional<Time> reserve(Slot head, Time now, FreeState& shadow, std::vector<NodeId>& touched,
                              std::vector<TaskPlacement>& plan) const;
  void backfill(Queue::iterator head, Time now, std::vector<Decision>& out);
  // Conservative backfilling's plan (Backfill::Conservative) of the waiting jobs from `from` on, in
  // queue order, at most `limit` of them (0: all): each job's start (-1: none can be planned, it
  // fits no node that is up) and the place it holds from then. Quotas are not planned.
  struct Planned {
    Slot slot;
    Time start = -1;
    std::vector<TaskPlacement> placement;
  };
  // With `keep`, the reservations of the last pass are kept where they still fit (see replan_).
  std::vector<Planned> plan_reservations(Queue::const_iterator from, Time now, std::size_t limit, bool keep) const;
  void conservative(Queue::iterator from, Time now, std::vector<Decision>& out);  // plans and starts from `from` on
  // The earliest time `spec` fits, running jobs ending at their expected ends and nothing else
  // planned; -1: never, on the nodes that are up.
  Time earliest_fit(const JobSpec& spec, Time now) const;

  Cluster cluster_;
  SchedulerOptions options_;
  std::unique_ptr<PlacementPolicy> placement_;
  std::unique_ptr<QueueOrderPolicy> order_;  // options_.order's
  BackfillRules rules_;                      // options_.backfill's
  mutable Rng rng_;

  std::vector<Job> jobs_;
  std::unordered_map<JobId, Slot> index_;
  Queue queue_;
  std::set<EndKey> running_;       // by expected end
  std::size_t held_ = 0;           // pending jobs held out of the queue
  std::optional<Slot> last_head_;  // the head of the queue at the end of the last pass
  FreeState shadow_, both_;        // scratch states of the backfill pass
  FreeState trial_;                // scratch state of preemption
  std::vector<NodeId> touched_;
  std::vector<TaskPlacement> head_plan_;
  std::vector<AcceleratorRequest> no_room_live_, no_room_both_;
  FairShare fairshare_;
  Time ranked_at_ = -1;                    // the last reprioritize
  Milli total_accel_ = 0, total_cpu_ = 0;  // the cluster's capacity, for the size factor
  NodeBits bits_;
  QuotaTable quotas_;
  std::vector<QuotaTable::Owner> owners_;  // by slot: each job's project and institution, interned
  std::size_t running_preemptible_ = 0;    // running jobs that are preemptible
  std::size_t preempting_ = 0;             // of them, those asked to stop (Job::preempting)
  std::optional<Slot> preemptor_;          // the job the latest victims make room for
  // Conservative backfilling: the next plan starts afresh, not from the last pass's reservations,
  // because what happened since differs from what it planned (a job ended off its estimate, a job
  // was cancelled, held, released or requeued, a node changed state).
  bool replan_ = true;

  std::set<Slot> waiting_;           // pending jobs waiting for their conditions, in submission order
  bool conditions_changed_ = false;  // a job started, ended or entered since the last admit
  Time next_wake_ = -1;              // see next_wake(); -1: none
  std::unordered_map<JobId, std::vector<Slot>> arrays_;       // an array's tasks, by array job id
  std::unordered_map<JobId, int> array_active_;               // of them, those queued or running
  std::unordered_map<std::string, std::vector<Slot>> named_;  // jobs by user and name, for singletons
};

}  // namespace gwang::core
