// The scheduler's quotas: the accelerators a project or an institution may hold at once, counted as
// jobs start and end, and the jobs they hold back.

#include "core/scheduler.h"

#include <algorithm>
#include <cassert>
#include <limits>

#include "core/scheduler_passes.h"

namespace gwang::core {

using detail::lacks_room;
using detail::min_into;

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

}  // namespace gwang::core
