// The scheduler's plans, made without changing anything: when waiting jobs are expected to start,
// when a job not yet submitted would, and what change to a waiting job would start it sooner.

#include <algorithm>
#include <cassert>
#include <limits>

#include "core/scheduler.h"
#include "core/scheduler_passes.h"

namespace gwang::core {

using detail::licenses_min_into;
using detail::min_into;

std::vector<std::pair<JobId, Time>> Scheduler::planned_starts(Time now, std::size_t limit) const {
  const Rng saved = rng_;
  if (rules_.reservations == BackfillRules::Reservations::All) {  // the reservations themselves
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
      give_back(free, r.placement, *r.spec);
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
    if (start >= 0 && job.has_reservation() && job.reserved_at >= start) start = job.reserved_at;
    out.emplace_back(job.spec.id, start);
    if (start < 0) t = from;  // the jobs behind it are planned as if it were not there
  }
  if (extra) {
    t = std::max(t, extra->begin);
    extra_start->start = plan(*extra, &extra_start->placement);
  }
  return out;
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
  auto hold = [&](Time from, Time to, const std::vector<TaskPlacement>& placement, const JobSpec& spec, int sign) {
    const std::size_t first = split(from);
    const std::size_t last = split(to);
    for (std::size_t k = first; k < last; ++k) {
      if (sign > 0)
        take(steps[k].free, placement, spec);
      else
        give_back(steps[k].free, placement, spec);
    }
  };
  FreeState low;
  // The least free room over [t, t + runtime), from step i on.
  auto least_room = [&](std::size_t i, Time runtime) -> FreeState& {
    low = steps[i].free;
    bool narrowed = false;
    for (std::size_t j = i + 1; j < steps.size() && steps[j].at < steps[i].at + runtime; ++j) {
      for (std::size_t n = 0; n < low.nodes.size(); ++n) min_into(low.nodes[n], low.nodes[n], steps[j].free.nodes[n]);
      licenses_min_into(low, low, steps[j].free);
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
    if (!keep || !job.has_reservation() || job.reserved_place.empty() || job.reserved_at < now) {
      continue;
    }
    const Time runtime = job.spec.planned_runtime();
    const std::size_t i = split(job.reserved_at);
    FreeState& room = least_room(i, runtime);
    bool fits_there = Cluster::licenses_free(room, job.spec.licenses);
    for (const TaskPlacement& p : job.reserved_place) {
      fits_there = fits_there && cluster_.available_on(room, p.node, job.spec.task) &&
                   std::all_of(p.devices.begin(), p.devices.end(),
                               [&](const DeviceShare& d) { return room[p.node].devices[d.index] >= d.milli; });
      if (fits_there) cluster_.allocate(room, p, job.spec.task);
    }
    if (!fits_there) continue;
    hold(job.reserved_at, job.reserved_at + runtime, job.reserved_place, job.spec, +1);
    kept[k] = true;
  }
  for (std::size_t k = 0; k < considered.size(); ++k) {
    const Job& job = *considered[k];
    const Time runtime = job.spec.planned_runtime();
    Planned plan{index_.at(job.spec.id), -1, {}};
    Time until = std::numeric_limits<Time>::max();  // a kept reservation: only an earlier start moves it
    if (kept[k]) {
      hold(job.reserved_at, job.reserved_at + runtime, job.reserved_place, job.spec, -1);
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
    if (plan.start >= 0) hold(plan.start, plan.start + runtime, plan.placement, job.spec, +1);
    out.push_back(std::move(plan));
  }
  return out;
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
    if (head && head->has_reservation() && head->reserved_at > now) {
      out.hints.push_back({Hint::Change::ShorterLimit, head->reserved_at - now, {}, now});
    }
  }
  rng_ = saved;
  return out;
}

}  // namespace gwang::core
