// Quotas: the most accelerators that the running jobs of a project, or of an institution, may hold
// at once, per accelerator model or for all models together.
//
// The table keeps the limits and, beside each, the usage in force. It knows nothing of jobs or
// placements: the scheduler says what a job holds, or would hold, in milli-devices per model, and
// decides which jobs count (running, not preemptible). Lookups go by name through ordered maps:
// listing is deterministic, and nothing depends on hash order.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/types.h"

namespace gwang::core {

enum class QuotaScope : std::uint8_t { Project, Institution };

Result<QuotaScope> parse_quota_scope(std::string_view name);  // "project", "institution"
std::string_view to_string(QuotaScope scope);

struct Quota {
  QuotaScope scope = QuotaScope::Project;
  std::string name;   // the project or institution, as in JobSpec::project / JobSpec::institution
  std::string model;  // an accelerator kind ("gpu:A100"); "": all models together
  Milli limit = 0;    // milli-devices held at once: 1000 = one device, a half share of one = 500
  bool operator==(const Quota&) const = default;
};

// Milli-devices of one accelerator model that a job holds or asks for. No model: not known yet (a
// job that allows several models, before it is placed); it counts only toward all-model limits.
struct ModelAmount {
  std::optional<ResourceKind> model;
  Milli milli = 0;
};

class QuotaTable {
 public:
  // The project and the institution of a job, interned once (at submission), so that checks during
  // a pass compare no strings. An empty name is no name: it has no limits.
  struct Owner {
    std::uint32_t project = kNone;
    std::uint32_t institution = kNone;
  };
  static constexpr std::uint32_t kNone = ~std::uint32_t{0};
  Owner owner(std::string_view project, std::string_view institution);

  // No limit at all: nothing needs checking or counting.
  bool empty() const { return size_ == 0; }

  // Sets the limit of quota.scope / quota.name / quota.model, replacing an earlier one. `kind` is
  // the kind of quota.model (none for ""), `used` what the counted jobs hold of it now. The caller
  // has checked the quota (name not empty, limit not negative).
  void set(const Quota& quota, std::optional<ResourceKind> kind, Milli used);
  // Removes a limit. Returns false, changing nothing, when there is none.
  bool remove(QuotaScope scope, std::string_view name, std::string_view model);
  // Every limit: projects before institutions, then by name, then by model ("" first).
  std::vector<Quota> list() const;
  // The usage counted for a limit; none when there is no such limit.
  std::optional<Milli> used(QuotaScope scope, std::string_view name, std::string_view model) const;

  // Whether a job of `owner` may come to hold `amounts` more without taking one of the limits of its
  // project or institution over. A limit counts the amounts of its model (all of them when it is for
  // all models); a job that adds nothing to a limit passes it even when it is already over (lowered).
  bool allows(Owner owner, std::span<const ModelAmount> amounts) const;
  // Adds (sign +1) or takes back (sign -1) what a job of `owner` holds to the usage of its limits.
  void count(Owner owner, std::span<const ModelAmount> amounts, int sign);

 private:
  struct Limit {
    std::string model;
    std::optional<ResourceKind> kind;
    Milli limit = 0;
    Milli used = 0;
    Milli part_of(std::span<const ModelAmount> amounts) const;  // what of `amounts` it counts
  };
  using Limits = std::vector<Limit>;  // of one project or institution, by model
  struct Scope {
    std::map<std::string, std::uint32_t, std::less<>> ids;  // by name: listing order
    std::vector<Limits> limits;                             // by id
    std::uint32_t intern(std::string_view name);
    const Limits* find(std::string_view name) const;
    const Limits* at(std::uint32_t id) const { return id < limits.size() ? &limits[id] : nullptr; }
    Limits* at(std::uint32_t id) { return id < limits.size() ? &limits[id] : nullptr; }
  };

  Scope& scope(QuotaScope s) { return scopes_[static_cast<std::size_t>(s)]; }
  const Scope& scope(QuotaScope s) const { return scopes_[static_cast<std::size_t>(s)]; }

  Scope scopes_[2];
  std::size_t size_ = 0;
};

}  // namespace gwang::core
