#include "core/quota.h"

#include <algorithm>

#include "core/names.h"

namespace gwang::core {

namespace {

constexpr std::pair<QuotaScope, std::string_view> kScopes[] = {{QuotaScope::Project, "project"},
                                                               {QuotaScope::Institution, "institution"}};

}  // namespace

Result<QuotaScope> parse_quota_scope(std::string_view name) {
  if (auto v = names::value_of<QuotaScope>(name, kScopes)) return *v;
  return fail("unknown quota scope '" + std::string(name) + "' (valid: " + names::list(kScopes, ", ", " or ") + ")");
}

std::string_view to_string(QuotaScope scope) { return names::name_of(scope, kScopes); }

Milli QuotaTable::Limit::part_of(std::span<const ModelAmount> amounts) const {
  Milli sum = 0;
  for (const ModelAmount& a : amounts) {
    if (!kind || a.model == kind) sum += a.milli;
  }
  return sum;
}

std::uint32_t QuotaTable::Scope::intern(std::string_view name) {
  if (name.empty()) return kNone;
  auto it = ids.find(name);
  if (it != ids.end()) return it->second;
  const auto id = static_cast<std::uint32_t>(limits.size());
  ids.emplace(std::string(name), id);
  limits.emplace_back();
  return id;
}

const QuotaTable::Limits* QuotaTable::Scope::find(std::string_view name) const {
  auto it = ids.find(name);
  return it == ids.end() ? nullptr : &limits[it->second];
}

QuotaTable::Owner QuotaTable::owner(std::string_view project, std::string_view institution) {
  return {scope(QuotaScope::Project).intern(project), scope(QuotaScope::Institution).intern(institution)};
}

void QuotaTable::set(const Quota& quota, std::optional<ResourceKind> kind, Milli used) {
  Scope& s = scope(quota.scope);
  Limits& limits = s.limits[s.intern(quota.name)];
  auto it = std::lower_bound(limits.begin(), limits.end(), quota.model,
                             [](const Limit& l, const std::string& model) { return l.model < model; });
  if (it == limits.end() || it->model != quota.model) {
    it = limits.insert(it, Limit{quota.model, kind});
    ++size_;
  }
  it->kind = kind;
  it->limit = quota.limit;
  it->used = used;
}

bool QuotaTable::remove(QuotaScope scope_of, std::string_view name, std::string_view model) {
  Scope& s = scope(scope_of);
  auto found = s.ids.find(name);
  if (found == s.ids.end()) return false;
  Limits& limits = s.limits[found->second];
  auto it = std::find_if(limits.begin(), limits.end(), [&](const Limit& l) { return l.model == model; });
  if (it == limits.end()) return false;
  limits.erase(it);
  --size_;
  return true;
}

std::vector<Quota> QuotaTable::list() const {
  std::vector<Quota> out;
  out.reserve(size_);
  for (QuotaScope s : {QuotaScope::Project, QuotaScope::Institution}) {
    for (const auto& [name, id] : scope(s).ids) {
      for (const Limit& l : scope(s).limits[id]) out.push_back({s, name, l.model, l.limit});
    }
  }
  return out;
}

std::optional<Milli> QuotaTable::used(QuotaScope s, std::string_view name, std::string_view model) const {
  const Limits* limits = scope(s).find(name);
  if (!limits) return std::nullopt;
  for (const Limit& l : *limits) {
    if (l.model == model) return l.used;
  }
  return std::nullopt;
}

bool QuotaTable::allows(Owner owner, std::span<const ModelAmount> amounts) const {
  for (const Limits* limits :
       {scope(QuotaScope::Project).at(owner.project), scope(QuotaScope::Institution).at(owner.institution)}) {
    if (!limits) continue;
    for (const Limit& l : *limits) {
      const Milli more = l.part_of(amounts);
      if (more > 0 && l.used + more > l.limit) return false;
    }
  }
  return true;
}

void QuotaTable::count(Owner owner, std::span<const ModelAmount> amounts, int sign) {
  for (Limits* limits :
       {scope(QuotaScope::Project).at(owner.project), scope(QuotaScope::Institution).at(owner.institution)}) {
    if (!limits) continue;
    for (Limit& l : *limits) l.used += sign * l.part_of(amounts);
  }
}

}  // namespace gwang::core
