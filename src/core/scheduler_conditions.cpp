// The scheduler's conditions: a job with a begin time, dependencies (Slurm's kinds) or an array
// limit waits out of the queue until they hold; each pass first admits those that now may queue.

#include "core/scheduler.h"

#include <algorithm>
#include <cassert>
#include <limits>

#include "core/scheduler_passes.h"

namespace gwang::core {

using detail::lacks_room;
using detail::min_into;

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
  if (order_->ranked()) job.rank = priority_terms(job.spec.id, now).total;
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

}  // namespace gwang::core
