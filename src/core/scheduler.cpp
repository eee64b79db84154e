// The scheduler: its jobs' lives (submitted, started, ended, cancelled, requeued, held, adopted),
// its nodes, and the names of its policies. The rest of it, by duty: scheduler_conditions.cpp,
// scheduler_passes.cpp, scheduler_plans.cpp, scheduler_quotas.cpp, scheduler_preemption.cpp,
// scheduler_priority.cpp.
#include "core/scheduler.h"

#include <algorithm>
#include <cassert>
#include <limits>
#include <string>

#include "core/names.h"
#include "core/scheduler_passes.h"

namespace gwang::core {

namespace {

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
    {PendingReason::ArrayTaskLimit, "array_task_limit"},
    {PendingReason::Licenses, "licenses"}};

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

std::string_view to_string(JobState state) { return names::name_of(state, kStates); }
std::string_view to_string(PendingReason reason) { return names::name_of(reason, kReasons); }

Scheduler::Scheduler(Cluster cluster, SchedulerOptions options)
    : cluster_(std::move(cluster)),
      options_(std::move(options)),
      placement_(make_placement(options_.placement, options_.placement_options)),
      order_(make_queue_order(options_.order)),
      rules_(rules_of(options_.backfill)),
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
  const std::array<std::int64_t, 4> k = order_->key(s, jobs_[slot].rank);
  return {s.preemptible, k[0], k[1], k[2], k[3], slot};  // preemptible jobs last
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
  for (const LicenseNeed& n : spec.licenses) {
    if (n.count > cluster_.license_total(n.id)) return false;
  }
  // The tasks the cluster's nodes could hold at most, each under the rule `features` (the task's own
  // where none).
  const auto room = [&](const FeatureRule* features, std::int64_t enough) {
    std::int64_t tasks = 0;
    for (std::size_t i = 0; i < cluster_.size() && tasks < enough; ++i) {
      const NodeId id{static_cast<std::uint32_t>(i)};
      const NodeInfo& node = cluster_.node(id);
      const bool allowed = spec.task.allowed_on(id, node) && (!features || features->allows(node.features));
      const std::int64_t fit = allowed ? capacity_in_tasks(node, spec.task) : 0;
      tasks += spec.spread ? std::min<std::int64_t>(fit, 1) : fit;
    }
    return tasks;
  };
  if (!spec.feature_ways) return room(nullptr, spec.tasks) >= spec.tasks;
  // With ways: one of them whose every run of tasks has room (an estimate from above: runs may
  // compete for the same nodes).
  return std::any_of(spec.feature_ways->begin(), spec.feature_ways->end(), [&](const FeatureWay& way) {
    int leading = 0;
    for (const auto& [count, rule] : way.leading) {
      if (room(&rule, count) < count) return false;
      leading += count;
    }
    return leading >= spec.tasks || room(&way.rest, spec.tasks - leading) >= spec.tasks - leading;
  });
}

Result<SubmitStatus> Scheduler::submit(JobSpec spec, Time now) {
  const std::string who = "job " + std::to_string(spec.id.value);
  if (index_.contains(spec.id)) return fail(who + ": id already used");
  if (spec.tasks < 1) return fail(who + ": tasks must be at least 1");
  if (spec.time_limit <= 0) return fail(who + ": time limit must be positive");
  if (spec.time_min < 0 || spec.time_min > spec.time_limit)
    return fail(who + ": the least time limit must be from 0 to the time limit");
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
  if (spec.feature_ways && spec.feature_ways->empty()) return fail(who + ": a feature constraint needs a way");
  for (std::size_t i = 0; i < spec.licenses.size(); ++i) {
    const LicenseNeed& n = spec.licenses[i];
    if (n.id >= cluster_.license_count()) return fail(who + ": no license " + std::to_string(n.id));
    if (n.count < 1) return fail(who + ": a license's count must be at least 1");
    for (std::size_t k = 0; k < i; ++k) {
      if (spec.licenses[k].id == n.id) return fail(who + ": license " + std::to_string(n.id) + " is named twice");
    }
  }
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
  if (order_->ranked()) job.account = account_of(job.spec).value;
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

bool Scheduler::fits_now(JobId id) const { return fits(cluster_.free(), job(id).spec); }

void Scheduler::take(FreeState& free, const std::vector<TaskPlacement>& placement, const JobSpec& spec) const {
  for (const TaskPlacement& p : placement) cluster_.allocate(free, p, spec.task);
  Cluster::take_licenses(free, spec.licenses);
}

void Scheduler::give_back(FreeState& free, const std::vector<TaskPlacement>& placement, const JobSpec& spec) const {
  for (const TaskPlacement& p : placement) cluster_.release(free, p, spec.task);
  Cluster::give_licenses(free, spec.licenses);
}

PendingReason Scheduler::lacking(const FreeState& free, const JobSpec& spec) {
  return Cluster::licenses_free(free, spec.licenses) ? detail::lacks_room(spec) : PendingReason::Licenses;
}

void Scheduler::start(Slot slot, std::vector<TaskPlacement> placement, Time now, std::vector<Decision>& out,
                      Time lowered) {
  Job& job = jobs_[slot];
  if (lowered > 0) {
    job.spec.time_limit = lowered;
    if (job.spec.estimate > lowered) job.spec.estimate = lowered;
  }
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
  out.push_back({Action::Start, job.spec.id, std::move(placement), lowered});
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
  // A no_kill job may have lost some of its tasks' nodes (shrink), not its first.
  const bool shrunk =
      job.spec.no_kill && !placement.empty() && placement.size() < static_cast<std::size_t>(job.spec.tasks);
  if (placement.size() != static_cast<std::size_t>(job.spec.tasks) && !shrunk)
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
  // Its licenses are taken even where fewer seats are free (the driver's count of them went down
  // while it ran): the seats come back free only as the jobs that hold them end.
  take(cluster_.free(), placement, job.spec);
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

void Scheduler::set_node_traits(NodeId node, FeatureSet features, std::int64_t tmp_mib, NodeShape shape) {
  const NodeInfo& info = cluster_.node(node);
  if (info.features == features && info.tmp_mib == tmp_mib && info.shape == shape) return;
  replan_ = true;
  cluster_.set_traits(node, features, tmp_mib, shape);
}

bool Scheduler::shrink(Slot slot, NodeId node) {
  Job& job = jobs_[slot];
  std::vector<TaskPlacement>& placement = job.placement;
  if (!job.spec.no_kill || placement.empty()) return false;
  if (std::all_of(placement.begin(), placement.end(), [node](const TaskPlacement& p) { return p.node == node; }))
    return false;
  count_quotas(slot, -1);
  std::vector<TaskPlacement> kept;
  for (TaskPlacement& p : placement) {
    if (p.node == node) {
      cluster_.release(cluster_.free(), p, job.spec.task);
    } else {
      kept.push_back(std::move(p));
    }
  }
  placement = std::move(kept);  // its spec keeps the tasks it asked for (a requeue starts them all)
  count_quotas(slot, +1);
  return true;
}

std::vector<JobId> Scheduler::set_node_state(NodeId node, NodeState state, Time now, std::vector<JobId>* shrunk) {
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
    charge_running(s, now);  // its use so far, on all of its places
    if (shrink(s, node)) {
      if (shrunk) shrunk->push_back(jobs_[s].spec.id);
      continue;
    }
    end_running(s, now, JobState::Failed);
    failed.push_back(jobs_[s].spec.id);
  }
  return failed;
}

}  // namespace gwang::core
