// The scheduler's passes: the queue's front started in order, then EASY backfilling behind the
// head's reservation, or conservative backfilling where every waiting job keeps one.

#include "core/scheduler_passes.h"

#include <algorithm>
#include <cassert>
#include <cctype>
#include <limits>
#include <memory>
#include <string_view>

#include "core/scheduler.h"

namespace gwang::core {

using detail::licenses_min_into;
using detail::min_into;

std::optional<std::vector<TaskPlacement>> Scheduler::place_all(FreeState& free, const JobSpec& spec) const {
  if (spec.licenses.empty()) return place_nodes(free, spec);
  if (!Cluster::licenses_free(free, spec.licenses)) return std::nullopt;
  auto placed = place_nodes(free, spec);
  if (placed) Cluster::take_licenses(free, spec.licenses);
  return placed;
}

std::optional<std::vector<TaskPlacement>> Scheduler::place_nodes(FreeState& free, const JobSpec& spec) const {
  if (spec.contiguous && spec.tasks > 1) return place_contiguous(free, spec);
  if (!spec.feature_ways) return place_tasks(free, spec, nullptr);
  for (const FeatureWay& way : *spec.feature_ways) {
    if (auto placed = place_tasks(free, spec, &way)) return placed;
  }
  return std::nullopt;
}

std::optional<std::vector<TaskPlacement>> Scheduler::place_tasks(FreeState& free, const JobSpec& spec,
                                                                 const FeatureWay* way) const {
  std::vector<TaskPlacement> out;
  std::vector<NodeId> used;
  // With a way, a copy of the task whose features are the way's rule for each task (sharing the
  // ways' owner); without, the task itself, uncopied.
  std::optional<TaskRequest> ruled;
  if (way) ruled = spec.task;
  for (int t = 0; t < spec.tasks; ++t) {
    const PlacementContext ctx{cluster_, free, rng_,
                               spec.spread ? std::span<const NodeId>(used) : std::span<const NodeId>()};
    if (way) ruled->features = std::shared_ptr<const FeatureRule>(spec.feature_ways, &way->rule_for(t));
    auto where = placement_->place(ctx, way ? *ruled : spec.task);
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

namespace {

// Node names in their natural order, as Slurm's host lists run: digits as numbers (host2 before
// host10), the rest character by character.
bool name_before(const std::string& a, const std::string& b) {
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const bool da = std::isdigit(static_cast<unsigned char>(a[i])) != 0;
    const bool db = std::isdigit(static_cast<unsigned char>(b[j])) != 0;
    if (da && db) {
      std::size_t ei = i, ej = j;
      while (ei < a.size() && std::isdigit(static_cast<unsigned char>(a[ei]))) ++ei;
      while (ej < b.size() && std::isdigit(static_cast<unsigned char>(b[ej]))) ++ej;
      std::string_view x(a.data() + i, ei - i), y(b.data() + j, ej - j);
      while (x.size() > 1 && x.front() == '0') x.remove_prefix(1);
      while (y.size() > 1 && y.front() == '0') y.remove_prefix(1);
      if (x.size() != y.size()) return x.size() < y.size();
      if (x != y) return x < y;
      i = ei;
      j = ej;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

}  // namespace

std::optional<std::vector<TaskPlacement>> Scheduler::place_contiguous(FreeState& free, const JobSpec& spec) const {
  std::vector<NodeId> order;
  for (std::size_t i = 0; i < cluster_.size(); ++i) order.push_back(NodeId{static_cast<std::uint32_t>(i)});
  std::sort(order.begin(), order.end(),
            [&](NodeId x, NodeId y) { return name_before(cluster_.node(x).name, cluster_.node(y).name); });
  std::vector<std::size_t> position(order.size());
  for (std::size_t k = 0; k < order.size(); ++k) position[order[k].value] = k;
  JobSpec windowed = spec;
  windowed.contiguous = false;
  const std::shared_ptr<const NodeFilter> named = spec.task.nodes;
  const std::size_t widest = std::min<std::size_t>(static_cast<std::size_t>(spec.tasks), order.size());
  for (std::size_t width = spec.spread ? widest : 1; width <= widest; ++width) {
    for (std::size_t start = 0; start + width <= order.size(); ++start) {
      // A run it may not use whole (a node down, or one it excludes) is no run; nor, for a spread
      // job, one with a node that has no room for a task now: only runs that may hold it are
      // tried, so a job that waits costs a pass a look at each node, not a placement per run.
      auto window = std::make_shared<NodeFilter>();
      bool usable = true;
      for (std::size_t k = start; k < start + width && usable; ++k) {
        const NodeId id = order[k];
        usable = cluster_.node(id).state == NodeState::Up && (!named || named->allows(id)) &&
                 (!spec.spread || cluster_.available_on(free, id, spec.task));
        window->ids.push_back(id);
      }
      if (!usable) continue;
      std::sort(window->ids.begin(), window->ids.end());
      windowed.task.nodes = std::move(window);
      auto placed = place_nodes(free, windowed);
      if (!placed) continue;
      // Its tasks may hold fewer nodes than the run: those must be adjacent too.
      std::size_t lo = order.size(), hi = 0, used = 0;
      std::vector<bool> seen(order.size(), false);
      for (const TaskPlacement& p : *placed) {
        const std::size_t at = position[p.node.value];
        if (!seen[at]) ++used;
        seen[at] = true;
        lo = std::min(lo, at);
        hi = std::max(hi, at);
      }
      if (hi - lo + 1 == used) return placed;
      for (const TaskPlacement& p : *placed) cluster_.release(free, p, spec.task);
    }
  }
  return std::nullopt;
}

bool Scheduler::fits(const FreeState& free, const JobSpec& spec) const {
  if (!Cluster::licenses_free(free, spec.licenses)) return false;
  if (spec.tasks == 1 && !spec.feature_ways) return placement_->place({cluster_, free, rng_}, spec.task).has_value();
  FreeState scratch = free;
  return place_all(scratch, spec).has_value();
}

bool Scheduler::probe(FreeState& free, const JobSpec& spec) const {
  auto placement = place_all(free, spec);
  if (!placement) return false;
  give_back(free, *placement, spec);
  return true;
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
  if (order_->ranked() && (ranked_at_ < 0 || now - ranked_at_ >= options_.reprioritize_every)) {
    reprioritize(now);
  }
  if (rules_.reservations == BackfillRules::Reservations::All) {
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
  if (rules_.reservations == BackfillRules::Reservations::None) {
    jobs_[head].reason = lacking(cluster_.free(), jobs_[head].spec);
  } else {
    backfill(head_at, now, out);
  }
  if (preempting_ > 0 && preemptor_ == head) jobs_[head].reason = PendingReason::Preempting;
}

std::optional<Time> Scheduler::reserve(Slot head, Time now, FreeState& shadow, std::vector<NodeId>& touched,
                                       std::vector<TaskPlacement>& plan) const {
  shadow = cluster_.free();
  touched.clear();
  const JobSpec& spec = jobs_[head].spec;
  std::vector<NodeId> released;
  auto release = [&](const Job& job) {
    give_back(shadow, job.placement, job.spec);
    for (const TaskPlacement& p : job.placement) released.push_back(p.node);
  };
  // After a group of jobs gave their resources back: whether the head fits (then it is placed).
  auto head_fits = [&] {
    touched.insert(touched.end(), released.begin(), released.end());
    // A single task that did not fit before can only fit now on a node that just gained room (or
    // once the licenses it lacked came back).
    if (spec.tasks == 1 && spec.licenses.empty() && std::none_of(released.begin(), released.end(), [&](NodeId n) {
          return cluster_.available_on(shadow, n, spec.task);
        })) {
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
  const bool seats = Cluster::licenses_free(cluster_.free(), head_job.spec.licenses);
  head_job.reason = !seats        ? PendingReason::Licenses
                    : shadow_time ? PendingReason::Reserved
                                  : PendingReason::NodesUnavailable;
  head_job.reserved_at = shadow_time.value_or(-1);

  std::vector<Slot> candidates;
  const std::size_t depth = options_.backfill_depth > 0 ? options_.backfill_depth : queue_.size();
  candidates.reserve(std::min(depth, queue_.size()));
  for (auto it = std::next(head_at); it != queue_.end() && candidates.size() < depth; ++it)
    candidates.push_back(it->slot);
  if (rules_.shortest_first) {
    std::stable_sort(candidates.begin(), candidates.end(), [this](Slot a, Slot b) {
      return jobs_[a].spec.planned_runtime() < jobs_[b].spec.planned_runtime();
    });
  }

  if (shadow_time) stays_free(both, shadow, touched);
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
    // A job that takes a shorter limit (time_min) starts now with one that ends by the reservation.
    const Time lowered = shadow_time ? shorter_limit(job.spec, now, *shadow_time) : 0;
    const bool outlives = lowered == 0 && shadow_time && now + job.spec.planned_runtime() > *shadow_time;
    if (over_quota(slot)) {
      hold_for_quota(job);
      continue;
    }
    if (no_room(live, no_room_live_, job.spec.task.accel)) {
      job.reason = lacking(live, job.spec);
      continue;
    }
    std::optional<std::vector<TaskPlacement>> placement;
    if (!outlives) {
      placement = place_all(live, job.spec);
      if (!placement) {
        job.reason = lacking(live, job.spec);
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
        licenses_min_into(both, live, shadow);
      }
    } else {
      if (!no_room(both, no_room_both_, job.spec.task.accel)) placement = place_all(both, job.spec);
      if (!placement) {
        // Fits now but would take what the reservation needs, or does not fit at all.
        if (probe(live, job.spec)) {
          job.reason = PendingReason::ReservedForOther;
          job.blocker = head_job.spec.id;
        } else {
          job.reason = lacking(live, job.spec);
        }
        continue;
      }
      if (over_quota_beside_head(slot, *placement)) {
        give_back(both, *placement, job.spec);
        hold_for_quota(job);
        continue;
      }
      take(live, *placement, job.spec);
      take(shadow, *placement, job.spec);
    }
    queue_.erase(queue_key(slot));
    start(slot, std::move(*placement), now, out, lowered);
  }
}

void Scheduler::stays_free(FreeState& both, const FreeState& shadow, std::vector<NodeId>& touched) const {
  both = cluster_.free();
  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
  for (NodeId n : touched) {
    min_into(both[n], cluster_.free()[n], shadow[n]);
    cluster_.reindex(both, n);
  }
  licenses_min_into(both, cluster_.free(), shadow);
}

Time Scheduler::shorter_limit(const JobSpec& spec, Time now, Time reserved) {
  const bool outlives = now + spec.planned_runtime() > reserved;
  return outlives && spec.time_min > 0 && now + spec.time_min <= reserved ? reserved - now : 0;
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
      job.reason = Cluster::licenses_free(cluster_.free(), job.spec.licenses) ? PendingReason::Reserved
                                                                              : PendingReason::Licenses;
      job.reserved_at = p.start;
      job.reserved_place = std::move(p.placement);
    } else if (over_quota(p.slot, p.placement)) {
      hold_for_quota(job);
    } else {
      take(cluster_.free(), p.placement, job.spec);
      queue_.erase(queue_key(p.slot));
      start(p.slot, std::move(p.placement), now, out);
    }
  }
}

}  // namespace gwang::core
