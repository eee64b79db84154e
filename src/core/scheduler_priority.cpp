// The scheduler's multifactor priority: age, fair share over the accounts' usage (charged as jobs
// run), size and programme, and the queue ordered by it again.

#include <algorithm>
#include <cassert>
#include <limits>

#include "core/scheduler.h"
#include "core/scheduler_passes.h"

namespace gwang::core {

using detail::lacks_room;
using detail::min_into;

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
    rate = static_cast<double>(job.placement.size()) *
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
  PriorityTerms t = multifactor(options_.priority, s.submit, now, fairshare_factor, size, s.programme_priority);
  t.total = s.fixed_priority >= 0 ? s.fixed_priority : t.total - s.nice;
  return t;
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

}  // namespace gwang::core
