// The scheduler's preemption: preemptible jobs that borrowed capacity are chosen to stop, so that the
// queue's head gets the room its reservation needs.

#include <algorithm>
#include <cassert>
#include <limits>

#include "core/scheduler.h"
#include "core/scheduler_passes.h"

namespace gwang::core {

using detail::lacks_room;
using detail::min_into;

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
    // A single task that did not fit before can only fit now on a node that just gained room (or
    // once seats it lacked came back).
    const auto& gained = jobs_[s].placement;
    if (spec.tasks == 1 && spec.licenses.empty() &&
        std::none_of(gained.begin(), gained.end(),
                     [&](const TaskPlacement& p) { return cluster_.available_on(trial, p.node, spec.task); })) {
      continue;
    }
    if ((fits = probe(trial, spec))) break;
  }
  if (!fits) return {};
  // Keep running, oldest first, each victim the job fits without.
  std::vector<Slot> needed;
  for (auto it = victims.rbegin(); it != victims.rend(); ++it) {
    take(trial, jobs_[*it].placement, jobs_[*it].spec);
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

}  // namespace gwang::core
