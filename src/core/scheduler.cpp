#include "core/scheduler.h"

#include <algorithm>
#include <cassert>
#include <limits>
#include <string>

#include "core/names.h"

namespace gwang::core {

namespace {

template <class E, class Table>
Result<E> parse_named(std::string_view what, std::string_view name, const Table& table) {
  if (auto v = names::value_of<E>(name, table)) return *v;
  return fail("unknown " + std::string(what) + " '" + std::string(name) +
              "' (valid: " + names::list(table, ", ", ", ") + ")");
}

constexpr std::pair<QueueOrder, std::string_view> kOrders[] = {{QueueOrder::Fcfs, "fcfs"},
                                                               {QueueOrder::Sjf, "sjf"},
                                                               {QueueOrder::Priority, "priority"},
                                                               {QueueOrder::Multifactor, "multifactor"}};
constexpr std::pair<Backfill, std::string_view> kBackfills[] = {{Backfill::None, "none"},
                                                                {Backfill::Easy, "easy"},
                                                                {Backfill::EasySjbf, "easy-sjbf"},
                                                                {Backfill::Conservative, "conservative"}};
constexpr std::pair<JobState, std::string_view> kStates[] = {
    {JobState::Pending, "pending"},     {JobState::Running, "running"}, {JobState::Finished, "finished"},
    {JobState::Cancelled, "cancelled"}, {JobState::Failed, "failed"},   {JobState::TimedOut, "timed_out"}};
constexpr std::pair<PendingReason, std::string_view> kReasons[] = {
    {PendingReason::None, "none"},
    {PendingReason::Priority, "priority"},
    {PendingReason::Resources, "resources"},
    {PendingReason::Reserved, "reserved"},
    {PendingReason::NodesUnavailable, "nodes_unavailable"},
    {PendingReason::Unsatisfiable, "unsatisfiable"},
    {PendingReason::QuotaReached, "quota_reached"},
    {PendingReason::Preempting, "preempting"},
    {PendingReason::Held, "held"},
    {PendingReason::ReservedForOther, "reserved_for_other"},
    {PendingReason::GangNodes, "gang_nodes"},
    {PendingReason::BeginTime, "begin_time"},
    {PendingReason::Dependency, "dependency"},
    {PendingReason::DependencyNeverSatisfied, "dependency_never_satisfied"},
    {PendingReason::ArrayTaskLimit, "array_task_limit"}};

// Why a job that does not fit waits: for room, or, for a gang, for room for all its tasks at once.
PendingReason lacks_room(const JobSpec& spec) {
  return spec.tasks > 1 ? PendingReason::GangNodes : PendingReason::Resources;
}

// Resources free now and also free in the planned future: what a backfilled job that outlives the
// reservation may use. Element-wise minimum of two states of the same cluster.
void min_into(NodeFree& out, const NodeFree& now, const NodeFree& later) {
  out = now;
  const std::size_t width = std::max(now.scalars.width(), later.scalars.width());
  for (std::size_t k = 0; k < width; ++k) {
    const ResourceKind kind{static_cast<std::uint16_t>(k)};
    out.scalars.set(kind, std::min(now.scalars.get(kind), later.scalars.get(kind)));
  }
  for (std::size_t i = 0; i < out.devices.size(); ++i) {
    out.devices[i] = std::min(now.devices[i], later.devices[i]);
  }
}

// How many tasks like `task` fit on a node of capacity `info` when it is empty.
std::int64_t capacity_in_tasks(const NodeInfo& info, const TaskRequest& task) {
  if (!info.in_pool(task.pool)) return 0;
  std::int64_t n = std::numeric_limits<std::int64_t>::max();
  for (std::size_t k = 0; k < task.scalars.width(); ++k) {
    const ResourceKind kind{static_cast<std::uint16_t>(k)};
    const Milli need = task.scalars.get(kind);
    if (need > 0) n = std::min(n, info.capacity.get(kind) / need);
  }
  if (task.accel.count > 0) {
    std::int64_t devices = 0;
    for (ResourceKind m : info.device_models) devices += task.accel.allows(m) ? 1 : 0;
    const std::int64_t per_device = task.accel.shared() ? kMilli / task.accel.per_device : 1;
    n = std::min(n, devices * per_device / task.accel.count);
  }
  return n;
}

}  // namespace

Result<QueueOrder> parse_queue_order(std::string_view name) {
  return parse_named<QueueOrder>("queue order", name, kOrders);
}
Result<Backfill> parse_backfill(std::string_view name) { return parse_named<Backfill>("backfill", name, kBackfills); }
std::string_view to_string(QueueOrder order) { return names::name_of(order, kOrders); }
std::string_view to_string(Backfill backfill) { return names::name_of(backfill, kBackfills); }
std::string_view to_string(JobState state) { return names::name_of(state, kStates); }
std::string_view to_string(PendingReason reason) { return names::name_of(reason, kReasons); }

Scheduler::Scheduler(Cluster cluster, SchedulerOptions options)
    : cluster_(std::move(cluster)),
      options_(std::move(options)),
      placement_(make_placement(options_.placement, options_.placement_options)),
      rng_(options_.seed),
      fairshare_(options_.fairshare) {
  for (std::size_t n = 0; n < cluster_.size(); ++n) count_capacity(NodeId{static_cast<std::uint32_t>(n)});
}

void Scheduler::count_capacity(NodeId node) {
  const NodeInfo& info = cluster_.node(node);
  total_accel_ += static_cast<Milli>(info.device_models.size()) * kMilli;
  total_cpu_ += info.capacity.get(ResourceRegistry::kCpu);
}

Scheduler::QueueKey Scheduler::queue_key(Slot slot) const {
  const JobSpec& s = jobs_[slot].spec;
  const bool last = s.preemptible;
  switch (options_.order) {
    case QueueOrder::Fcfs:
      return {last, s.submit, s.id.value, 0, slot};
    case QueueOrder::Sjf:
      return {last, s.planned_runtime(), s.submit, s.id.value, slot};
    case QueueOrder::Priority:
      return {last, ~s.priority, s.submit, s.id.value, slot};  // ~p: -p - 1, no overflow
    case QueueOrder::Multifactor:
      return {last, ~jobs_[slot].rank, s.submit, s.id.value, slot};
  }
  return {last, 0, 0, 0, slot};
}

Scheduler::Slot Scheduler::slot_of(JobId id) const {
  auto it = index_.find(id);
  assert(it != index_.end());
  return it->second;
}

const Job* Scheduler::find(JobId id) const {
  auto it = index_.find(id);
  return it == index_.end() ? nullptr : &jobs_[it->second];
}

const Job& Scheduler::job(JobId id) const { return jobs_[slot_of(id)]; }

std::vector<JobId> Scheduler::queue() const {
  std::vector<JobId> out;
  out.reserve(queue_.size());
  for (const QueueKey& k : queue_) out.push_back(jobs_[k.slot].spec.id);
  return out;
}

bool Scheduler::satisfiable(const JobSpec& spec) const {
  std::int64_t tasks = 0;
  for (std::size_t i = 0; i < cluster_.size() && tasks < spec.tasks; ++i) {
    const std::int64_t fit = capacity_in_tasks(cluster_.node(NodeId{static_cast<std::uint32_t>(i)}), spec.task);
    tasks += spec.spread ? std::min<std::int64_t>(fit, 1) : fit;
  }
  return tasks >= spec.tasks;
}

Result<SubmitStatus> Scheduler::submit(JobSpec spec, Time now) {
  const std::string who = "job " + std::to_string(spec.id.value);
  if (index_.contains(spec.id)) return fail(who + ": id already used");
  if (spec.tasks < 1) return fail(who + ": tasks must be at least 1");
  if (spec.time_limit <= 0) return fail(who + ": time limit must be positive");
  if (spec.estimate < 0) return fail(who + ": estimate must not be negative");
  const AcceleratorRequest& a = spec.task.accel;
  if (a.count < 0) return fail(who + ": accelerator count must not be negative");
  if (a.count > 0) {
    if (a.per_device < 1 || a.per_device > kMilli)
      return fail(who + ": accelerator share must be within 1..1000 milli");
    if (a.per_device < kMilli && a.count != 1)
      return fail(who + ": a share of a device must ask for exactly one device");
    for (ResourceKind m : a.models) {
      if (m.value >= cluster_.registry().size() || !cluster_.registry().is_accelerator(m))
        return fail(who + ": allowed models must be accelerator kinds");
    }
  }
  for (std::size_t k = 0; k < spec.task.scalars.width(); ++k) {
    const ResourceKind kind{static_cast<std::uint16_t>(k)};
    if (spec.task.scalars.get(kind) < 0) return fail(who + ": resource amounts must not be negative");
    if (spec.task.scalars.get(kind) > 0 && k < cluster_.registry().size() && cluster_.registry().is_accelerator(kind))
      return fail(who + ": accelerators are requested by count, not as scalar amounts");
  }
  if (spec.task.scalars.empty() && a.count == 0) return fail(who + ": a task must request something");
  if (spec.task.pool < 0 || spec.task.pool > kMaxPools) return fail(who + ": node pools are numbered 1 to 64");
  if (spec.begin < 0) return fail(who + ": begin time must not be negative");
  if (spec.array_limit < 0) return fail(who + ": array limit must not be negative");
  if (spec.in_array() && spec.array_job.value <= 0) return fail(who + ": an array task needs its array job id");
  for (const JobDependency& d : spec.depends) {
    if (d.kind == DependencyKind::Singleton) continue;
    if (d.job == spec.id) return fail(who + ": depends on itself");
    if (!index_.contains(d.job) && !arrays_.contains(d.job)) {
      return fail(who + ": depends on job " + std::to_string(d.job.value) + ", which does not exist");
    }
    if (d.delay < 0) return fail(who + ": dependency delay must not be negative");
    if (d.kind == DependencyKind::AfterCorr && !spec.in_array()) {
      return fail(who + ": aftercorr is for the tasks of an array");
    }
  }

  const Slot slot = static_cast<Slot>(jobs_.size());
  index_.emplace(spec.id, slot);
  Job& job = jobs_.emplace_back();
  job.spec = std::move(spec);
  owners_.push_back(quotas_.owner(job.spec.project, job.spec.institution));
  if (job.spec.in_array()) arrays_[job.spec.array_job].push_back(slot);
  if (auto n = named_.find(name_key(job.spec)); n != named_.end()) n->second.push_back(slot);
  if (!satisfiable(job.spec)) {
    job.state = JobState::Failed;
    job.reason = PendingReason::Unsatisfiable;
    job.end = now;
    conditions_changed_ = true;  // jobs that depend on it learn how it ended
    return SubmitStatus::Unsatisfiable;
  }
  if (options_.order == QueueOrder::Multifactor) job.account = account_of(job.spec).value;
  for (const JobDependency& d : job.spec.depends) {
    if (d.kind == DependencyKind::Singleton) track_name(slot);
  }
  enter(slot, now);
  return SubmitStatus::Queued;
}

Result<void> Scheduler::remember(JobSpec spec, JobState outcome, Time start, Time end) {
  if (outcome == JobState::Pending || outcome == JobState::Running) {
    return fail("job " + std::to_string(spec.id.value) + ": remembered jobs have ended");
  }
  if (index_.contains(spec.id)) return fail("job " + std::to_string(spec.id.value) + ": id already used");
  const Slot slot = static_cast<Slot>(jobs_.size());
  index_.emplace(spec.id, slot);
  Job& job = jobs_.emplace_back();
  job.spec = std::move(spec);
  job.state = outcome;
  job.reason = PendingReason::None;
  job.start = start;
  job.end = end;
  owners_.push_back(quotas_.owner(job.spec.project, job.spec.institution));
  if (job.spec.in_array()) arrays_[job.spec.array_job].push_back(slot);
  if (auto n = named_.find(name_key(job.spec)); n != named_.end()) n->second.push_back(slot);
  conditions_changed_ = true;
  return {};
}

// ---- conditions ------------------------------------------------------------------------------

void Scheduler::enter(Slot slot, Time now) {
  Job& job = jobs_[slot];
  if (job.spec.conditional()) {
    job.waiting = true;
    waiting_.insert(slot);
    conditions_changed_ = true;
    Time wake = -1;
    job.reason = condition(slot, now, wake);
    if (job.reason == PendingReason::None) job.reason = PendingReason::Priority;  // joins at the next pass
    return;
  }
  join_queue(slot, now);
}

void Scheduler::join_queue(Slot slot, Time now) {
  Job& job = jobs_[slot];
  job.waiting = false;
  job.reason = PendingReason::Priority;
  if (options_.order == QueueOrder::Multifactor) job.rank = priority_terms(job.spec.id, now).total;
  queue_.insert(queue_key(slot));
  if (job.spec.in_array()) ++array_active_[job.spec.array_job];
}

void Scheduler::leave_queue(Slot slot) {
  const Job& job = jobs_[slot];
  queue_.erase(queue_key(slot));
  if (job.spec.in_array()) --array_active_[job.spec.array_job];
}

void Scheduler::track_name(Slot slot) {
  const std::string key = name_key(jobs_[slot].spec);
  if (named_.contains(key)) return;
  std::vector<Slot>& slots = named_[key];
  for (Slot s = 0; s < jobs_.size(); ++s) {
    if (name_key(jobs_[s].spec) == key) slots.push_back(s);
  }
}

Scheduler::Holds Scheduler::holds_on(DependencyKind kind, const Job& target, Time delay, Time now, Time& wake) const {
  const bool ended = target.state != JobState::Pending && target.state != JobState::Running;
  const bool ok = target.state == JobState::Finished;
  switch (kind) {
    case DependencyKind::After:
      if (target.state == JobState::Cancelled && target.start < 0) return Holds::Yes;
      if (target.start < 0) return Holds::NotYet;
      if (target.start + delay <= now) return Holds::Yes;
      wake = wake < 0 ? target.start + delay : std::min(wake, target.start + delay);
      return Holds::NotYet;
    case DependencyKind::AfterAny:
      return ended ? Holds::Yes : Holds::NotYet;
    case DependencyKind::AfterOk:
    case DependencyKind::AfterCorr:
      return !ended ? Holds::NotYet : ok ? Holds::Yes : Holds::Never;
    case DependencyKind::AfterNotOk:
      return !ended ? Holds::NotYet : ok ? Holds::Never : Holds::Yes;
    case DependencyKind::Singleton:
      break;
  }
  return Holds::Yes;
}

Scheduler::Holds Scheduler::holds(const JobDependency& d, Slot slot, Time now, Time& wake) const {
  const JobSpec& spec = jobs_[slot].spec;
  if (d.kind == DependencyKind::Singleton) {
    auto n = named_.find(name_key(spec));
    if (n == named_.end()) return Holds::Yes;
    for (Slot other : n->second) {
      if (other >= slot) break;
      const JobState st = jobs_[other].state;
      if (st == JobState::Pending || st == JobState::Running) return Holds::NotYet;
    }
    return Holds::Yes;
  }
  // One job, one task of an array, or all of an array's tasks.
  auto array = arrays_.find(d.job);
  std::int64_t task = d.task;
  if (d.kind == DependencyKind::AfterCorr) task = spec.array_task;
  if (array == arrays_.end()) {
    auto it = index_.find(d.job);
    if (it == index_.end()) return Holds::Never;
    return holds_on(d.kind, jobs_[it->second], d.delay, now, wake);
  }
  if (task >= 0) {
    for (Slot t : array->second) {
      if (jobs_[t].spec.array_task == task) return holds_on(d.kind, jobs_[t], d.delay, now, wake);
    }
    // No such task: nothing to wait for under aftercorr; a named task that does not exist never ends.
    return d.kind == DependencyKind::AfterCorr ? Holds::Yes : Holds::Never;
  }
  if (d.kind == DependencyKind::AfterNotOk) {  // all ended, and one of them not completed
    bool failed = false;
    for (Slot t : array->second) {
      const JobState st = jobs_[t].state;
      if (st == JobState::Pending || st == JobState::Running) return Holds::NotYet;
      failed = failed || st != JobState::Finished;
    }
    return failed ? Holds::Yes : Holds::Never;
  }
  Holds all = Holds::Yes;
  for (Slot t : array->second) {
    const Holds h = holds_on(d.kind, jobs_[t], d.delay, now, wake);
    if (h == Holds::Never) return Holds::Never;
    if (h == Holds::NotYet) all = Holds::NotYet;
  }
  return all;
}

PendingReason Scheduler::condition(Slot slot, Time now, Time& wake) {
  Job& job = jobs_[slot];
  const JobSpec& spec = job.spec;
  if (spec.begin > now) {
    wake = wake < 0 ? spec.begin : std::min(wake, spec.begin);
    return PendingReason::BeginTime;
  }
  if (job.never) return PendingReason::DependencyNeverSatisfied;
  if (!spec.depends.empty()) {
    bool any = false, all = true, never_all = true;
    for (const JobDependency& d : spec.depends) {
      const Holds h = holds(d, slot, now, wake);
      any = any || h == Holds::Yes;
      all = all && h == Holds::Yes;
      never_all = never_all && h == Holds::Never;
      if (h == Holds::Never && !spec.depends_any) {
        job.never = true;
        return PendingReason::DependencyNeverSatisfied;
      }
    }
    if (spec.depends_any && never_all) {
      job.never = true;
      return PendingReason::DependencyNeverSatisfied;
    }
    if (spec.depends_any ? !any : !all) return PendingReason::Dependency;
  }
  if (spec.array_limit > 0) {
    auto a = array_active_.find(spec.array_job);
    if (a != array_active_.end() && a->second >= spec.array_limit) return PendingReason::ArrayTaskLimit;
  }
  return PendingReason::None;
}

void Scheduler::admit(Time now, bool join) {
  conditions_changed_ = false;
  Time wake = -1;
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    const Slot slot = *it;
    const PendingReason why = condition(slot, now, wake);
    if (why == PendingReason::None && !join) {
      wake = now;  // it joins at the next pass
      jobs_[slot].reason = PendingReason::Priority;
      ++it;
    } else if (why == PendingReason::None) {
      it = waiting_.erase(it);
      join_queue(slot, now);
      replan_ = true;
    } else {
      jobs_[slot].reason = why;
      ++it;
    }
  }
  next_wake_ = wake;
}

std::optional<std::vector<TaskPlacement>> Scheduler::place_all(FreeState& free, const JobSpec& spec) const {
  std::vector<TaskPlacement> out;
  std::vector<NodeId> used;
  for (int t = 0; t < spec.tasks; ++t) {
    const PlacementContext ctx{cluster_, free, rng_,
                               spec.spread ? std::span<const NodeId>(used) : std::span<const NodeId>()};
    auto where = placement_->place(ctx, spec.task);
    if (!where) {
      for (const TaskPlacement& p : out) cluster_.release(free, p, spec.task);
      return std::nullopt;
    }
    cluster_.allocate(free, *where, spec.task);
    if (spec.spread) used.push_back(where->node);
    out.push_back(std::move(*where));
  }
  return out;
}

bool Scheduler::fits(const FreeState& free, const JobSpec& spec) const {
  if (spec.tasks == 1) return placement_->place({cluster_, free, rng_}, spec.task).has_value();
  FreeState scratch = free;
  return place_all(scratch, spec).has_value();
}

bool Scheduler::probe(FreeState& free, const JobSpec& spec) const {
  auto placement = place_all(free, spec);
  if (!placement) return false;
  for (const TaskPlacement& p : *placement) cluster_.release(free, p, spec.task);
  return true;
}

std::vector<std::pair<JobId, Time>> Scheduler::planned_starts(Time now, std::size_t limit) const {
  const Rng saved = rng_;
  if (options_.backfill == Backfill::Conservative) {  // the reservations themselves
    std::vector<std::pair<JobId, Time>> out;
    for (const Planned& p : plan_reservations(queue_.begin(), now, limit, !replan_))
      out.emplace_back(jobs_[p.slot].spec.id, p.start);
    rng_ = saved;
    return out;
  }
  auto out = plan_queue(now, limit, nullptr, nullptr);
  rng_ = saved;
  return out;
}

Scheduler::PlannedStart Scheduler::plan_submission(const JobSpec& spec, Time now) const {
  const Rng saved = rng_;
  PlannedStart out;
  plan_queue(now, 0, &spec, &out);
  rng_ = saved;
  return out;
}

std::vector<std::pair<JobId, Time>> Scheduler::plan_queue(Time now, std::size_t limit, const JobSpec* extra,
                                                          PlannedStart* extra_start) const {
  FreeState free = cluster_.free();
  struct Release {
    Time at;
    const JobSpec* spec;
    std::vector<TaskPlacement> placement;
  };
  auto later = [](const Release& a, const Release& b) { return a.at > b.at; };
  std::vector<Release> releases;  // a min-heap by time
  for (const EndKey& k : running_) {
    const Job& job = jobs_[k.slot];
    releases.push_back({std::max(job.expected_end(), now), &job.spec, job.placement});
  }
  std::make_heap(releases.begin(), releases.end(), later);
  auto release_until = [&](Time t) {
    while (!releases.empty() && releases.front().at <= t) {
      std::pop_heap(releases.begin(), releases.end(), later);
      const Release& r = releases.back();
      for (const TaskPlacement& p : r.placement) cluster_.release(free, p, r.spec->task);
      releases.pop_back();
    }
  };
  std::vector<std::pair<JobId, Time>> out;
  Time t = now;
  // The earliest time from t on when `spec` fits, holding its resources from then (-1: never).
  auto plan = [&](const JobSpec& spec, std::vector<TaskPlacement>* where) {
    Time start = -1;
    while (true) {
      release_until(t);
      if (auto placement = place_all(free, spec)) {
        start = t;
        if (where) *where = *placement;
        releases.push_back({t + spec.planned_runtime(), &spec, std::move(*placement)});
        std::push_heap(releases.begin(), releases.end(), later);
        break;
      }
      if (releases.empty()) break;  // nothing will ever free what it needs
      t = std::max(t, releases.front().at);
    }
    return start;
  };
  for (const QueueKey& k : queue_) {
    if (limit > 0 && out.size() >= limit) break;
    const Job& job = jobs_[k.slot];
    const Time from = t;
    Time start = plan(job.spec, nullptr);
    if (start >= 0 && job.reason == PendingReason::Reserved && job.reserved_at >= start) start = job.reserved_at;
    out.emplace_back(job.spec.id, start);
    if (start < 0) t = from;  // the jobs behind it are planned as if it were not there
  }
  if (extra) {
    t = std::max(t, extra->begin);
    extra_start->start = plan(*extra, &extra_start->placement);
  }
  return out;
}

bool Scheduler::fits_now(JobId id) const { return fits(cluster_.free(), job(id).spec); }

void Scheduler::give_back(FreeState& free, const std::vector<TaskPlacement>& placement, const JobSpec& spec) const {
  for (const TaskPlacement& p : placement) cluster_.release(free, p, spec.task);
}

void Scheduler::start(Slot slot, std::vector<TaskPlacement> placement, Time now, std::vector<Decision>& out) {
  Job& job = jobs_[slot];
  job.state = JobState::Running;
  job.reason = PendingReason::None;
  job.reserved_at = -1;
  job.reserved_place.clear();
  job.start = now;
  job.charged_until = now;
  job.placement = placement;
  running_.insert({job.expected_end(), slot});
  if (job.spec.preemptible) ++running_preemptible_;
  count_quotas(slot, +1);
  conditions_changed_ = true;  // `after` dependencies on it may hold now
  out.push_back({Action::Start, job.spec.id, std::move(placement)});
}

void Scheduler::end_running(Slot slot, Time now, JobState outcome) {
  Job& job = jobs_[slot];
  if (now != job.expected_end()) replan_ = true;  // the plan's estimate of it was wrong
  assert(job.state == JobState::Running);
  charge_running(slot, now);
  count_quotas(slot, -1);
  give_back(cluster_.free(), job.placement, job.spec);
  running_.erase({job.expected_end(), slot});
  if (job.spec.preemptible) --running_preemptible_;
  if (job.preempting) {
    --preempting_;
    job.preempting = false;
  }
  job.state = outcome;
  job.end = now;
  conditions_changed_ = true;
  if (job.spec.in_array()) --array_active_[job.spec.array_job];
}

void Scheduler::enqueue_again(Slot slot, Time now) {
  replan_ = true;
  Job& job = jobs_[slot];
  job.state = JobState::Pending;
  job.reason = PendingReason::Priority;
  job.start = job.end = job.reserved_at = job.preempt_at = -1;
  job.placement.clear();
  if (auto n = named_.find(name_key(job.spec));
      n != named_.end() && std::find(n->second.begin(), n->second.end(), slot) == n->second.end()) {
    n->second.insert(std::upper_bound(n->second.begin(), n->second.end(), slot), slot);
  }
  enter(slot, now);
}

bool Scheduler::finish(JobId id, Time now, JobState outcome) {
  assert(outcome == JobState::Finished || outcome == JobState::Failed || outcome == JobState::TimedOut);
  auto it = index_.find(id);
  if (it == index_.end() || jobs_[it->second].state != JobState::Running) return false;
  end_running(it->second, now, outcome);
  return true;
}

bool Scheduler::cancel(JobId id, Time now) {
  replan_ = true;
  auto it = index_.find(id);
  if (it == index_.end()) return false;
  Job& job = jobs_[it->second];
  if (job.state == JobState::Running) {
    end_running(it->second, now, JobState::Cancelled);
    return true;
  }
  if (job.state != JobState::Pending) return false;
  if (job.held) {
    job.held = false;
    --held_;
  } else if (job.waiting) {
    job.waiting = false;
    waiting_.erase(it->second);
  } else {
    leave_queue(it->second);
  }
  conditions_changed_ = true;
  job.state = JobState::Cancelled;
  job.reason = PendingReason::None;
  job.end = now;
  return true;
}

bool Scheduler::requeue(JobId id, Time now) {
  auto it = index_.find(id);
  if (it == index_.end()) return false;
  Job& job = jobs_[it->second];
  if (job.state == JobState::Pending || job.state == JobState::Running) return false;
  enqueue_again(it->second, now);
  return true;
}

bool Scheduler::hold(JobId id) {
  replan_ = true;
  auto it = index_.find(id);
  if (it == index_.end()) return false;
  Job& job = jobs_[it->second];
  if (job.state != JobState::Pending || job.held) return false;
  if (job.waiting) {
    job.waiting = false;
    waiting_.erase(it->second);
  } else {
    leave_queue(it->second);
    conditions_changed_ = true;  // an array's task left: another may take its turn
  }
  job.held = true;
  job.reason = PendingReason::Held;
  job.reserved_at = -1;
  if (last_head_ == it->second) last_head_.reset();
  ++held_;
  return true;
}

bool Scheduler::release(JobId id, Time now) {
  replan_ = true;
  auto it = index_.find(id);
  if (it == index_.end() || !jobs_[it->second].held) return false;
  Job& job = jobs_[it->second];
  job.held = false;
  --held_;
  enter(it->second, now);
  return true;
}

bool Scheduler::set_preemptible(JobId id, bool preemptible) {
  auto it = index_.find(id);
  if (it == index_.end() || jobs_[it->second].state != JobState::Pending) return false;
  Job& job = jobs_[it->second];
  if (job.spec.preemptible == preemptible) return true;
  const bool queued = !job.held && !job.waiting;
  if (queued) queue_.erase(queue_key(it->second));
  job.spec.preemptible = preemptible;
  if (queued) queue_.insert(queue_key(it->second));
  return true;
}

bool Scheduler::preempted(JobId id, Time now) {
  auto it = index_.find(id);
  if (it == index_.end() || jobs_[it->second].state != JobState::Running) return false;
  end_running(it->second, now, JobState::Cancelled);  // the outcome lasts no time: it waits again
  enqueue_again(it->second, now);
  return true;
}

Result<void> Scheduler::adopt(JobId id, std::vector<TaskPlacement> placement, Time start) {
  const std::string who = "job " + std::to_string(id.value);
  auto it = index_.find(id);
  if (it == index_.end()) return fail(who + ": unknown");
  Job& job = jobs_[it->second];
  if (job.state != JobState::Pending) return fail(who + ": not pending");
  if (placement.size() != static_cast<std::size_t>(job.spec.tasks))
    return fail(who + ": " + std::to_string(placement.size()) + " places for " + std::to_string(job.spec.tasks) +
                " tasks");
  // Checked on a copy: all or nothing.
  FreeState trial = cluster_.free();
  const AcceleratorRequest& a = job.spec.task.accel;
  for (const TaskPlacement& p : placement) {
    if (p.node.value >= cluster_.size()) return fail(who + ": no node " + std::to_string(p.node.value));
    const NodeInfo& node = cluster_.node(p.node);
    const std::string& name = node.name;
    if (!cluster_.feasible_on(p.node, job.spec.task)) return fail(who + ": does not fit node " + name);
    if (p.devices.size() != static_cast<std::size_t>(a.count)) return fail(who + ": wrong device count on " + name);
    NodeFree& nf = trial[p.node];
    if (!job.spec.task.scalars.fits_in(nf.scalars)) return fail(who + ": not enough free on " + name);
    for (const DeviceShare& d : p.devices) {
      if (d.index >= nf.devices.size() || d.milli != a.per_device || nf.devices[d.index] < d.milli)
        return fail(who + ": device " + std::to_string(d.index) + " of " + name + " is not free");
      if (!a.models.empty() &&
          std::find(a.models.begin(), a.models.end(), node.device_models[d.index]) == a.models.end())
        return fail(who + ": device " + std::to_string(d.index) + " of " + name + " is not an allowed model");
    }
    cluster_.allocate(trial, p, job.spec.task);
  }
  for (const TaskPlacement& p : placement) cluster_.allocate(cluster_.free(), p, job.spec.task);
  if (job.held) {
    job.held = false;
    --held_;
    if (job.spec.in_array()) ++array_active_[job.spec.array_job];
  } else if (job.waiting) {
    job.waiting = false;
    waiting_.erase(it->second);
    if (job.spec.in_array()) ++array_active_[job.spec.array_job];
  } else {
    queue_.erase(queue_key(it->second));
  }
  std::vector<Decision> ignored;
  this->start(it->second, std::move(placement), start, ignored);
  return {};
}

std::vector<JobId> Scheduler::expire(Time now) {
  std::vector<Slot> due;
  for (const EndKey& k : running_) {
    const Job& job = jobs_[k.slot];
    if (job.start + job.spec.time_limit <= now) due.push_back(k.slot);
  }
  std::sort(due.begin(), due.end(), [this](Slot a, Slot b) { return jobs_[a].spec.id < jobs_[b].spec.id; });
  std::vector<JobId> out;
  for (Slot s : due) {
    end_running(s, now, JobState::TimedOut);
    out.push_back(jobs_[s].spec.id);
  }
  return out;
}

NodeId Scheduler::add_node(const NodeSpec& spec) {
  const NodeId id = cluster_.add_node(spec);
  count_capacity(id);
  return id;
}

std::vector<JobId> Scheduler::set_node_state(NodeId node, NodeState state, Time now) {
  replan_ = true;
  cluster_.set_state(node, state);
  std::vector<JobId> failed;
  if (state != NodeState::Down) return failed;
  std::vector<Slot> hit;
  for (const EndKey& k : running_) {
    const auto& placement = jobs_[k.slot].placement;
    if (std::any_of(placement.begin(), placement.end(), [node](const TaskPlacement& p) { return p.node == node; }))
      hit.push_back(k.slot);
  }
  std::sort(hit.begin(), hit.end(), [this](Slot a, Slot b) { return jobs_[a].spec.id < jobs_[b].spec.id; });
  for (Slot s : hit) {
    end_running(s, now, JobState::Failed);
    failed.push_back(jobs_[s].spec.id);
  }
  return failed;
}

Scheduler::Queue::iterator Scheduler::start_from_front(Time now, std::vector<Decision>& out) {
  FreeState& live = cluster_.free();
  auto it = queue_.begin();
  while (it != queue_.end()) {
    const Slot slot = it->slot;
    Job& job = jobs_[slot];
    if (over_quota(slot)) {
      hold_for_quota(job);
      ++it;
      continue;
    }
    auto placement = place_all(live, job.spec);
    if (!placement) break;
    if (over_quota(slot, *placement)) {
      give_back(live, *placement, job.spec);
      hold_for_quota(job);
      ++it;
      continue;
    }
    it = queue_.erase(it);
    start(slot, std::move(*placement), now, out);
  }
  return it;
}

std::vector<Decision> Scheduler::schedule(Time now) {
  std::vector<Decision> out;
  if (!waiting_.empty() && (conditions_changed_ || (next_wake_ >= 0 && now >= next_wake_))) admit(now, true);
  schedule_queue(now, out);
  // What this pass started may change what the waiting jobs wait for: their reasons and the next
  // wake (now, when one may join at the next pass).
  if (!waiting_.empty() && conditions_changed_) {
    admit(now, false);
    conditions_changed_ = true;
  }
  return out;
}

void Scheduler::schedule_queue(Time now, std::vector<Decision>& out) {
  if (options_.order == QueueOrder::Multifactor &&
      (ranked_at_ < 0 || now - ranked_at_ >= options_.reprioritize_every)) {
    reprioritize(now);
  }
  if (options_.backfill == Backfill::Conservative) {
    // Every start follows the plan, in the place planned: a job started elsewhere could take the
    // room a later reservation was planned in.
    if (!queue_.empty()) conservative(queue_.begin(), now, out);
    return;
  }
  const Queue::iterator head_at = start_from_front(now, out);
  if (head_at == queue_.end()) return;
  const Slot head = head_at->slot;
  // A job that was at the head and has been overtaken now waits behind others (unless this pass
  // passed it over for a quota).
  Job* last = last_head_ ? &jobs_[*last_head_] : nullptr;
  if (last && *last_head_ != head && last->state == JobState::Pending && last->reason != PendingReason::QuotaReached) {
    last->reason = PendingReason::Priority;
    last->reserved_at = -1;
  }
  last_head_ = head;
  preempt_for(head, now, out);
  if (options_.backfill == Backfill::None) {
    jobs_[head].reason = lacks_room(jobs_[head].spec);
  } else {
    backfill(head_at, now, out);
  }
  if (preempting_ > 0 && preemptor_ == head) jobs_[head].reason = PendingReason::Preempting;
}

// --- quotas

bool Scheduler::bound_by_quotas(const JobSpec& spec) const {
  return !quotas_.empty() && !spec.preemptible && spec.task.accel.count > 0;
}

bool Scheduler::over_quota(Slot slot) const {
  const JobSpec& spec = jobs_[slot].spec;
  if (!bound_by_quotas(spec)) return false;
  const AcceleratorRequest& a = spec.task.accel;
  const ModelAmount asked{a.models.size() == 1 ? std::optional(a.models.front()) : std::nullopt,
                          spec.tasks * a.total()};
  return !quotas_.allows(owners_[slot], std::span(&asked, 1));
}

bool Scheduler::over_quota(Slot slot, const std::vector<TaskPlacement>& placement) const {
  return bound_by_quotas(jobs_[slot].spec) && !quotas_.allows(owners_[slot], held(placement));
}

void Scheduler::hold_for_quota(Job& job) {
  job.reason = PendingReason::QuotaReached;
  job.reserved_at = -1;
}

void Scheduler::count_quotas(Slot slot, int sign) {
  const Job& job = jobs_[slot];
  if (bound_by_quotas(job.spec)) quotas_.count(owners_[slot], held(job.placement), sign);
}

std::vector<ModelAmount> Scheduler::held(const std::vector<TaskPlacement>& placement) const {
  std::vector<ModelAmount> out;
  for (const TaskPlacement& p : placement) {
    const NodeInfo& node = cluster_.node(p.node);
    for (const DeviceShare& d : p.devices) {
      const ResourceKind model = node.device_models[d.index];
      auto it = std::find_if(out.begin(), out.end(), [&](const ModelAmount& a) { return a.model == model; });
      if (it == out.end()) {
        out.push_back({model, d.milli});
      } else {
        it->milli += d.milli;
      }
    }
  }
  return out;
}

Milli Scheduler::usage_of(QuotaScope scope, const std::string& name, std::optional<ResourceKind> model) const {
  Milli sum = 0;
  for (const EndKey& k : running_) {
    const JobSpec& spec = jobs_[k.slot].spec;
    if (spec.preemptible || (scope == QuotaScope::Project ? spec.project : spec.institution) != name) continue;
    for (const ModelAmount& a : held(jobs_[k.slot].placement)) {
      if (!model || a.model == model) sum += a.milli;
    }
  }
  return sum;
}

Result<std::optional<ResourceKind>> Scheduler::quota_kind(const std::string& model) {
  if (model.empty()) return std::optional<ResourceKind>();
  ResourceRegistry& registry = cluster_.registry();
  const auto known = registry.find(model);
  if ((known && !registry.is_accelerator(*known)) || (!known && model.find(':') == std::string::npos)) {
    return fail("quota: '" + model + "' is not an accelerator model (family:model, as gpu:A100)");
  }
  return std::optional<ResourceKind>(known ? *known : registry.intern(model));
}

Result<void> Scheduler::set_quota(const Quota& quota) {
  const std::string scope(to_string(quota.scope));
  if (quota.name.empty()) return fail("quota: the " + scope + " name must not be empty");
  if (quota.limit < 0) return fail("quota of " + scope + " '" + quota.name + "': the limit must not be negative");
  auto kind = quota_kind(quota.model);
  if (!kind) return tl::unexpected(kind.error());
  quotas_.set(quota, *kind, usage_of(quota.scope, quota.name, *kind));
  return {};
}

Result<void> Scheduler::remove_quota(QuotaScope scope, const std::string& name, const std::string& model) {
  if (quotas_.remove(scope, name, model)) return {};
  return fail("no quota of " + std::string(to_string(scope)) + " '" + name + "'" +
              (model.empty() ? std::string(" for all models") : " for " + model));
}

std::vector<Quota> Scheduler::quotas() const { return quotas_.list(); }

Milli Scheduler::quota_used(QuotaScope scope, const std::string& name, const std::string& model) const {
  if (auto counted = quotas_.used(scope, name, model)) return *counted;
  if (model.empty()) return usage_of(scope, name, std::nullopt);
  const auto kind = cluster_.registry().find(model);
  return kind ? usage_of(scope, name, *kind) : 0;
}

// --- preemption

void Scheduler::preempt_for(Slot head, Time now, std::vector<Decision>& out) {
  const JobSpec& spec = jobs_[head].spec;
  if (spec.preemptible || preempting_ > 0 || running_preemptible_ == 0) return;
  const std::vector<Slot> victims = pick_victims(spec, trial_);
  if (victims.empty()) return;
  if (bound_by_quotas(spec)) {
    // Within its quotas where it would go: its models are known only now.
    auto placement = place_all(trial_, spec);
    if (!placement || over_quota(head, *placement)) return;
  }
  for (Slot v : victims) {
    mark_victim(v, now);
    out.push_back({Action::Preempt, jobs_[v].spec.id, {}});
  }
  preemptor_ = head;
}

std::vector<Scheduler::Slot> Scheduler::pick_victims(const JobSpec& spec, FreeState& trial) const {
  std::vector<Slot> pool;
  for (const EndKey& k : running_) {
    const Job& job = jobs_[k.slot];
    if (job.spec.preemptible && !job.preempting) pool.push_back(k.slot);
  }
  std::sort(pool.begin(), pool.end(), [this](Slot a, Slot b) {
    const Job& x = jobs_[a];
    const Job& y = jobs_[b];
    return x.start != y.start ? x.start > y.start : x.spec.id > y.spec.id;
  });
  auto stop = [&](Slot s) { give_back(trial, jobs_[s].placement, jobs_[s].spec); };
  // Cheap refusal first: with all of them gone, would it fit at all?
  trial = cluster_.free();
  for (Slot s : pool) stop(s);
  if (!probe(trial, spec)) return {};

  trial = cluster_.free();
  std::vector<Slot> victims;
  bool fits = false;
  for (Slot s : pool) {
    stop(s);
    victims.push_back(s);
    // A single task that did not fit before can only fit now on a node that just gained room.
    const auto& gained = jobs_[s].placement;
    if (spec.tasks == 1 && std::none_of(gained.begin(), gained.end(), [&](const TaskPlacement& p) {
          return cluster_.available_on(trial, p.node, spec.task);
        })) {
      continue;
    }
    if ((fits = probe(trial, spec))) break;
  }
  if (!fits) return {};
  // Keep running, oldest first, each victim the job fits without.
  std::vector<Slot> needed;
  for (auto it = victims.rbegin(); it != victims.rend(); ++it) {
    for (const TaskPlacement& p : jobs_[*it].placement) cluster_.allocate(trial, p, jobs_[*it].spec.task);
    if (probe(trial, spec)) continue;
    stop(*it);
    needed.push_back(*it);
  }
  std::reverse(needed.begin(), needed.end());
  return needed;
}

void Scheduler::mark_victim(Slot slot, Time now) {
  Job& job = jobs_[slot];
  job.preempting = true;
  job.preempt_at = now;
  ++preempting_;
}

AccountId Scheduler::account_of(const JobSpec& spec) {
  AccountId at = FairShare::root();
  for (const std::string* part : {&spec.institution, &spec.project, &spec.user}) {
    const std::string name = part->empty() ? "(none)" : *part;
    auto found = fairshare_.find(at, name);
    at = found ? *found : *fairshare_.add(at, name, 1);  // a name and a share of 1 are always valid
  }
  return at;
}

void Scheduler::charge_running(Slot slot, Time now) {
  Job& job = jobs_[slot];
  if (job.account == 0 || job.charged_until < 0 || now <= job.charged_until) return;
  const double seconds = static_cast<double>(now - job.charged_until);
  job.charged_until = now;
  double rate = 0;
  bool devices = false;
  for (const TaskPlacement& p : job.placement) {
    const NodeInfo& node = cluster_.node(p.node);
    for (const DeviceShare& d : p.devices) {
      devices = true;
      const auto w = options_.usage_weights.find(cluster_.registry().name(node.device_models[d.index]));
      rate += static_cast<double>(d.milli) / kMilli * (w == options_.usage_weights.end() ? 1.0 : w->second);
    }
  }
  if (!devices) {
    rate = static_cast<double>(job.spec.tasks) *
           static_cast<double>(job.spec.task.scalars.get(ResourceRegistry::kCpu)) / kMilli * options_.cpu_usage_weight;
  }
  if (rate > 0) fairshare_.charge(AccountId{job.account}, rate * seconds, now);
}

PriorityTerms Scheduler::terms_of(const Job& job, Time now, double fairshare_factor) const {
  const JobSpec& s = job.spec;
  double size = 0;
  if (s.task.accel.count > 0 && total_accel_ > 0) {
    size = static_cast<double>(s.tasks) * static_cast<double>(s.task.accel.total()) / static_cast<double>(total_accel_);
  } else if (total_cpu_ > 0) {
    size = static_cast<double>(s.tasks) * static_cast<double>(s.task.scalars.get(ResourceRegistry::kCpu)) /
           static_cast<double>(total_cpu_);
  }
  return multifactor(options_.priority, s.submit, now, fairshare_factor, size, s.programme_priority);
}

PriorityTerms Scheduler::priority_terms(JobId id, Time now) const {
  const Job& j = job(id);
  return terms_of(j, now, j.account ? fairshare_.factor(AccountId{j.account}, now) : 1.0);
}

void Scheduler::reprioritize(Time now) {
  ranked_at_ = now;
  for (const EndKey& r : running_) charge_running(r.slot, now);
  // The queue's nodes are taken out, given their new keys, sorted and put back at the end: no node
  // is freed or allocated, and each insertion is constant time with the hint.
  std::vector<decltype(queue_)::node_type> waiting;
  waiting.reserve(queue_.size());
  while (!queue_.empty()) waiting.push_back(queue_.extract(queue_.begin()));
  // Fair Tree ranks the whole tree at once; the classic factor is computed per account, once.
  const bool tree = options_.fairshare.algorithm == FairShareAlgorithm::FairTree;
  const std::vector<double> all = tree ? fairshare_.factors(now) : std::vector<double>{};
  std::unordered_map<std::uint32_t, double> factors;  // one per account this ranking
  for (auto& node : waiting) {
    const Slot slot = node.value().slot;
    Job& job = jobs_[slot];
    double factor = 0;
    if (tree) {
      factor = all[job.account];
    } else {
      auto f = factors.find(job.account);
      if (f == factors.end()) f = factors.emplace(job.account, fairshare_.factor(AccountId{job.account}, now)).first;
      factor = f->second;
    }
    job.rank = terms_of(job, now, factor).total;
    node.value() = queue_key(slot);
  }
  std::sort(waiting.begin(), waiting.end(), [](const auto& a, const auto& b) { return a.value() < b.value(); });
  for (auto& node : waiting) queue_.insert(queue_.end(), std::move(node));
}

std::optional<Time> Scheduler::reserve(Slot head, Time now, FreeState& shadow, std::vector<NodeId>& touched,
                                       std::vector<TaskPlacement>& plan) const {
  shadow = cluster_.free();
  touched.clear();
  const JobSpec& spec = jobs_[head].spec;
  std::vector<NodeId> released;
  auto release = [&](const Job& job) {
    for (const TaskPlacement& p : job.placement) {
      cluster_.release(shadow, p, job.spec.task);
      released.push_back(p.node);
    }
  };
  // After a group of jobs gave their resources back: whether the head fits (then it is placed).
  auto head_fits = [&] {
    touched.insert(touched.end(), released.begin(), released.end());
    // A single task that did not fit before can only fit now on a node that just gained room.
    if (spec.tasks == 1 && std::none_of(released.begin(), released.end(),
                                        [&](NodeId n) { return cluster_.available_on(shadow, n, spec.task); })) {
      return false;
    }
    auto placement = place_all(shadow, spec);
    if (!placement) return false;
    for (const TaskPlacement& p : *placement) touched.push_back(p.node);
    plan = std::move(*placement);
    return true;
  };
  // Jobs being preempted give their resources back first, and on their own: the job they make room
  // for is planned on what they free, as it was when they were chosen, not on what jobs running
  // past their estimates might free.
  if (preempting_ > 0) {
    for (const EndKey& k : running_) {
      if (jobs_[k.slot].preempting) release(jobs_[k.slot]);
    }
    if (head_fits()) return now;
  }
  auto it = running_.begin();
  while (it != running_.end()) {
    const Time at = std::max(it->end, now);
    // Every job planned to end by `at` gives its resources back, then the head tries to fit.
    released.clear();
    for (; it != running_.end() && std::max(it->end, now) == at; ++it) {
      if (!jobs_[it->slot].preempting) release(jobs_[it->slot]);
    }
    if (head_fits()) return at;
  }
  return std::nullopt;
}

void Scheduler::backfill(Queue::iterator head_at, Time now, std::vector<Decision>& out) {
  const Slot head = head_at->slot;
  // The planned future and the what-stays-free states are members so that their storage is reused
  // from pass to pass (copy-assignment keeps the nodes' buffers).
  FreeState& shadow = shadow_;
  FreeState& both = both_;
  std::vector<NodeId>& touched = touched_;  // the nodes where the planned future differs from now
  const std::optional<Time> shadow_time = reserve(head, now, shadow, touched, head_plan_);
  Job& head_job = jobs_[head];
  head_job.reason = shadow_time ? PendingReason::Reserved : PendingReason::NodesUnavailable;
  head_job.reserved_at = shadow_time.value_or(-1);

  std::vector<Slot> candidates;
  const std::size_t depth = options_.backfill_depth > 0 ? options_.backfill_depth : queue_.size();
  candidates.reserve(std::min(depth, queue_.size()));
  for (auto it = std::next(head_at); it != queue_.end() && candidates.size() < depth; ++it) {
    candidates.push_back(it->slot);
  }
  if (options_.backfill == Backfill::EasySjbf) {
    std::stable_sort(candidates.begin(), candidates.end(), [this](Slot a, Slot b) {
      return jobs_[a].spec.planned_runtime() < jobs_[b].spec.planned_runtime();
    });
  }

  // `both`: what is free now and stays free past the reservation.
  if (shadow_time) {
    both = cluster_.free();
    std::sort(touched.begin(), touched.end());
    touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
    for (NodeId n : touched) {
      min_into(both[n], cluster_.free()[n], shadow[n]);
      cluster_.reindex(both, n);
    }
  }
  FreeState& live = cluster_.free();
  // During the scan the states only shrink: an accelerator request that no node of a state can
  // serve stays unservable there for the rest of the pass, whatever the rest of the job asks.
  no_room_live_.clear();
  no_room_both_.clear();
  auto known_no_room = [](const std::vector<AcceleratorRequest>& memo, const AcceleratorRequest& a) {
    return a.count > 0 && std::any_of(memo.begin(), memo.end(), [&](const AcceleratorRequest& m) {
             return m.count == a.count && m.per_device == a.per_device && m.models == a.models;
           });
  };
  auto no_room = [&](const FreeState& state, std::vector<AcceleratorRequest>& memo, const AcceleratorRequest& a) {
    if (known_no_room(memo, a)) return true;
    if (!cluster_.candidates(state, a, bits_)) return false;
    if (std::any_of(bits_.begin(), bits_.end(), [](std::uint64_t w) { return w != 0; })) return false;
    memo.push_back(a);
    return true;
  };
  // The head's part of its quotas is kept for it as its resources are: a job that would still run
  // at the reservation may not take what the head holds in the plan.
  const JobSpec& head_spec = jobs_[head].spec;
  const std::vector<ModelAmount> head_part =
      shadow_time && bound_by_quotas(head_spec) ? held(head_plan_) : std::vector<ModelAmount>();
  auto over_quota_beside_head = [&](Slot slot, const std::vector<TaskPlacement>& placement) {
    if (head_part.empty() || !bound_by_quotas(jobs_[slot].spec)) return over_quota(slot, placement);
    quotas_.count(owners_[head], head_part, +1);
    const bool over = over_quota(slot, placement);
    quotas_.count(owners_[head], head_part, -1);
    return over;
  };
  for (Slot slot : candidates) {
    Job& job = jobs_[slot];
    const bool outlives = shadow_time && now + job.spec.planned_runtime() > *shadow_time;
    if (over_quota(slot)) {
      hold_for_quota(job);
      continue;
    }
    if (no_room(live, no_room_live_, job.spec.task.accel)) {
      job.reason = lacks_room(job.spec);
      continue;
    }
    std::optional<std::vector<TaskPlacement>> placement;
    if (!outlives) {
      placement = place_all(live, job.spec);
      if (!placement) {
        job.reason = lacks_room(job.spec);
        continue;
      }
      if (over_quota(slot, *placement)) {
        give_back(live, *placement, job.spec);
        hold_for_quota(job);
        continue;
      }
      if (shadow_time) {
        for (const TaskPlacement& p : *placement) {
          min_into(both[p.node], live[p.node], shadow[p.node]);
          cluster_.reindex(both, p.node);
        }
      }
    } else {
      if (!no_room(both, no_room_both_, job.spec.task.accel)) placement = place_all(both, job.spec);
      if (!placement) {
        // Fits now but would take what the reservation needs, or does not fit at all.
        if (probe(live, job.spec)) {
          job.reason = PendingReason::ReservedForOther;
          job.blocker = head_job.spec.id;
        } else {
          job.reason = lacks_room(job.spec);
        }
        continue;
      }
      if (over_quota_beside_head(slot, *placement)) {
        give_back(both, *placement, job.spec);
        hold_for_quota(job);
        continue;
      }
      for (const TaskPlacement& p : *placement) {
        cluster_.allocate(live, p, job.spec.task);
        cluster_.allocate(shadow, p, job.spec.task);
      }
    }
    queue_.erase(queue_key(slot));
    start(slot, std::move(*placement), now, out);
  }
}

std::vector<Scheduler::Planned> Scheduler::plan_reservations(Queue::const_iterator from, Time now, std::size_t limit,
                                                             bool keep) const {
  // The planned future as steps: steps[i] is the free room from its time until the next step's.
  // The first step is the live state: whatever runs now holds its room now. Running jobs give it
  // back at their expected ends, and those past their ends or being preempted at the next second;
  // each reservation takes its room over [start, start + planned runtime).
  struct Step {
    Time at;
    FreeState free;
  };
  std::vector<Step> steps{{now, cluster_.free()}};
  if (preempting_ > 0) {
    steps.push_back({now + 1, cluster_.free()});
    for (const EndKey& k : running_) {
      const Job& job = jobs_[k.slot];
      if (job.preempting) give_back(steps.back().free, job.placement, job.spec);
    }
  }
  for (auto it = running_.begin(); it != running_.end();) {
    const Time at = std::max(it->end, now + 1);
    if (at > steps.back().at) steps.push_back({at, steps.back().free});
    for (; it != running_.end() && std::max(it->end, now + 1) == at; ++it) {
      const Job& job = jobs_[it->slot];
      if (!job.preempting) give_back(steps.back().free, job.placement, job.spec);
    }
  }
  // The index of the step that starts at `t`, made by splitting the one that holds it.
  auto split = [&](Time t) {
    auto it = std::upper_bound(steps.begin(), steps.end(), t, [](Time x, const Step& s) { return x < s.at; });
    const auto i = static_cast<std::size_t>(it - steps.begin()) - 1;  // steps[0].at == now <= t
    if (steps[i].at == t) return i;
    steps.insert(steps.begin() + static_cast<std::ptrdiff_t>(i) + 1, Step{t, steps[i].free});
    return i + 1;
  };
  // A reservation's room over [from, to), taken (+1) or given back (-1).
  auto hold = [&](Time from, Time to, const std::vector<TaskPlacement>& placement, const TaskRequest& task, int sign) {
    const std::size_t first = split(from);
    const std::size_t last = split(to);
    for (std::size_t k = first; k < last; ++k) {
      for (const TaskPlacement& p : placement) {
        if (sign > 0)
          cluster_.allocate(steps[k].free, p, task);
        else
          cluster_.release(steps[k].free, p, task);
      }
    }
  };
  FreeState low;
  // The least free room over [t, t + runtime), from step i on.
  auto least_room = [&](std::size_t i, Time runtime) -> FreeState& {
    low = steps[i].free;
    bool narrowed = false;
    for (std::size_t j = i + 1; j < steps.size() && steps[j].at < steps[i].at + runtime; ++j) {
      for (std::size_t n = 0; n < low.nodes.size(); ++n) min_into(low.nodes[n], low.nodes[n], steps[j].free.nodes[n]);
      narrowed = true;
    }
    if (narrowed) cluster_.reindex(low);
    return low;
  };
  const std::size_t depth = options_.backfill_depth > 0 ? options_.backfill_depth : queue_.size();
  const std::size_t most = limit > 0 ? std::min(limit, depth) : depth;
  std::vector<Planned> out;
  std::vector<const Job*> considered;
  for (auto it = from; it != queue_.end() && considered.size() < most; ++it) considered.push_back(&jobs_[it->slot]);
  // With `keep`, the reservations of earlier passes stay in the plan while their room is still
  // there: a job moves only to an earlier start that fits beside all of them, so no reservation is
  // pushed later by another. Without it (the estimates proved wrong, a job was cancelled, held or
  // requeued, a node changed) the plan is made anew in queue order.
  std::vector<bool> kept(considered.size(), false);
  for (std::size_t k = 0; k < considered.size(); ++k) {
    const Job& job = *considered[k];
    if (!keep || job.reason != PendingReason::Reserved || job.reserved_place.empty() || job.reserved_at < now) {
      continue;
    }
    const Time runtime = job.spec.planned_runtime();
    const std::size_t i = split(job.reserved_at);
    FreeState& room = least_room(i, runtime);
    bool fits_there = true;
    for (const TaskPlacement& p : job.reserved_place) {
      fits_there = fits_there && cluster_.available_on(room, p.node, job.spec.task) &&
                   std::all_of(p.devices.begin(), p.devices.end(),
                               [&](const DeviceShare& d) { return room[p.node].devices[d.index] >= d.milli; });
      if (fits_there) cluster_.allocate(room, p, job.spec.task);
    }
    if (!fits_there) continue;
    hold(job.reserved_at, job.reserved_at + runtime, job.reserved_place, job.spec.task, +1);
    kept[k] = true;
  }
  for (std::size_t k = 0; k < considered.size(); ++k) {
    const Job& job = *considered[k];
    const Time runtime = job.spec.planned_runtime();
    Planned plan{index_.at(job.spec.id), -1, {}};
    Time until = std::numeric_limits<Time>::max();  // a kept reservation: only an earlier start moves it
    if (kept[k]) {
      hold(job.reserved_at, job.reserved_at + runtime, job.reserved_place, job.spec.task, -1);
      until = job.reserved_at;
      plan.start = job.reserved_at;
      plan.placement = job.reserved_place;
    }
    for (std::size_t i = 0; i < steps.size() && steps[i].at < until; ++i) {
      // A step it does not fit in alone rules its start out at once.
      if (!fits(steps[i].free, job.spec)) continue;
      if (auto placement = place_all(least_room(i, runtime), job.spec)) {
        plan.start = steps[i].at;
        plan.placement = std::move(*placement);
        break;
      }
    }
    if (plan.start >= 0) hold(plan.start, plan.start + runtime, plan.placement, job.spec.task, +1);
    out.push_back(std::move(plan));
  }
  return out;
}

void Scheduler::conservative(Queue::iterator from, Time now, std::vector<Decision>& out) {
  const Rng saved = rng_;
  std::vector<Planned> plan = plan_reservations(from, now, 0, !replan_);
  replan_ = false;
  rng_ = saved;  // placement draws for the plan are not decisions
  for (Planned& p : plan) {
    Job& job = jobs_[p.slot];
    if (p.start < 0) {
      job.reason = PendingReason::NodesUnavailable;
      job.reserved_at = -1;
    } else if (p.start > now) {
      job.reason = PendingReason::Reserved;
      job.reserved_at = p.start;
      job.reserved_place = std::move(p.placement);
    } else if (over_quota(p.slot, p.placement)) {
      hold_for_quota(job);
    } else {
      for (const TaskPlacement& t : p.placement) cluster_.allocate(cluster_.free(), t, job.spec.task);
      queue_.erase(queue_key(p.slot));
      start(p.slot, std::move(p.placement), now, out);
    }
  }
}

Time Scheduler::earliest_fit(const JobSpec& spec, Time now) const {
  FreeState free = cluster_.free();
  if (place_all(free, spec)) return now;
  for (auto it = running_.begin(); it != running_.end();) {
    const Time at = std::max(it->end, now + 1);
    for (; it != running_.end() && std::max(it->end, now + 1) == at; ++it) {
      give_back(free, jobs_[it->slot].placement, jobs_[it->slot].spec);
    }
    if (auto placement = place_all(free, spec)) return at;
  }
  return -1;
}

WhatIf Scheduler::what_if(JobId id, Time now) const {
  WhatIf out;
  const Job* job = find(id);
  // A job waiting for its conditions waits for them, not for room: no change of its request helps.
  if (!job || job->state != JobState::Pending || job->waiting) return out;
  const Rng saved = rng_;
  const JobSpec& spec = job->spec;
  out.start = earliest_fit(spec, now);
  auto sooner = [&](Time t) { return t >= 0 && (out.start < 0 || t < out.start); };
  const AcceleratorRequest& accel = spec.task.accel;
  // Fewer whole devices per task: the most that start it sooner.
  for (int count = accel.count - 1; accel.per_device == kMilli && count >= 1; --count) {
    JobSpec fewer = spec;
    fewer.task.accel.count = count;
    if (const Time t = earliest_fit(fewer, now); sooner(t)) {
      out.hints.push_back({Hint::Change::FewerDevices, count, {}, t});
      break;
    }
  }
  // Another model, as many devices.
  if (accel.count > 0) {
    std::set<ResourceKind> models;
    for (std::size_t n = 0; n < cluster_.size(); ++n) {
      for (ResourceKind m : cluster_.node(NodeId{static_cast<std::uint32_t>(n)}).device_models) {
        if (!accel.allows(m)) models.insert(m);
      }
    }
    for (ResourceKind m : models) {
      JobSpec other = spec;
      other.task.accel.models = {m};
      if (const Time t = earliest_fit(other, now); sooner(t)) out.hints.push_back({Hint::Change::OtherModel, 0, m, t});
    }
  }
  // Fewer tasks of a gang: the most that start it sooner.
  for (int tasks = spec.tasks - 1; tasks >= 1; --tasks) {
    JobSpec fewer = spec;
    fewer.tasks = tasks;
    if (const Time t = earliest_fit(fewer, now); sooner(t)) {
      out.hints.push_back({Hint::Change::FewerTasks, tasks, {}, t});
      break;
    }
  }
  // It fits now, in room reserved for the head: a run that ends by the reservation backfills.
  if (job->reason == PendingReason::ReservedForOther) {
    const Job* head = find(job->blocker);
    if (head && head->reason == PendingReason::Reserved && head->reserved_at > now) {
      out.hints.push_back({Hint::Change::ShorterLimit, head->reserved_at - now, {}, now});
    }
  }
  rng_ = saved;
  return out;
}

}  // namespace gwang::core
