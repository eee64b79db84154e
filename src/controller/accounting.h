// The centre's books as the controller keeps them: who is who (core::Tenancy), the programmes and
// their grants (core::Grants), and the ledger of measured usage. Every change is a record (a kind and
// a JSON payload) that the controller checks here, journals, and then applies here; recovery applies
// the same records in the same order and so rebuilds the same books, bit for bit. Not thread-safe:
// the controller calls it under its lock.
//
// Records:
//   tenancy.institution     {name, type, sector}
//   tenancy.project         {name, institution}
//   tenancy.user            {name}
//   tenancy.member          {user, project, member}        member: true adds, false removes
//   tenancy.admin           {user, institution}
//   tenancy.operator        {user, operator}
//   tenancy.default_project {user, project}
//   grant.programme         {name, when_exhausted, priority[, session_idle_timeout, session_max_life]}
//                                                              when_exhausted: "refuse" | "preemptible";
//                                                              the sessions' defaults in seconds (0: none)
//   grant.granted           {project, programme, amount, start, end, who}
//   grant.topped_up         {grant, amount, who}
//   grant.extended          {grant, end, who}
//   usage.charged           {job, user, project, from, to, parts: [{rank, model, milli, cpus, mem, charge}]}
//   quota.set               {scope, name, model, limit}        scope: "project" | "institution";
//                                                              model "" = all; limit in milli-devices
//   quota.removed           {scope, name, model}
// A usage record carries its charge, computed with the rates in force when it was made: a later
// change of rates never rewrites the ledger.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/codec.h"
#include "core/grants.h"
#include "core/quota.h"
#include "core/report.h"
#include "core/result.h"
#include "core/tenancy.h"

namespace gwang::controller {

using api::Decoder;
using api::Encoder;

struct AccountingOptions {
  // Normalised accelerator-hours per device-hour of each model ("gpu:H100" = 1.0), and per CPU-hour
  // of work without accelerators. A model not listed is charged 1.0 per device-hour.
  core::ChargeRates rates;
  bool require_project = false;     // every job is charged to a project its owner is a member of
  bool require_grant = false;       // a project that has never held a grant runs nothing
  std::int64_t charge_every = 600;  // running jobs are charged at least this often (seconds)
};

// A warning about a grant: 80 % or 100 % of it used.
struct GrantWarning {
  std::int64_t seq = 0;  // 1, 2, ...: the order they happened in
  core::GrantEvent event;
};

// What a submission is admitted as.
struct JobAdmission {
  std::string project;      // charged to ("" where the centre does not require a project)
  std::string institution;  // the project's
  bool preemptible = false;
  std::string note;  // why it was made preemptible, if it was
  double programme_priority = 0;
  std::string programme;  // of the grant charged first ("" where none is)
};

// One piece of a running task's use since it was last charged, as the controller measures it.
struct TaskUse {
  int rank = 0;
  std::string model;      // accelerator model ("gpu:H100"); empty for the CPU part
  core::Milli milli = 0;  // devices of the model, in thousandths
  int cpus = 0;
  std::int64_t mem_bytes = 0;
};

class Accounting {
 public:
  explicit Accounting(AccountingOptions options);

  static bool handles(std::string_view kind);  // tenancy.*, grant.*, usage.*, quota.*

  // Whether the record would apply; changes nothing. Errors name the field or say what is wrong.
  Result<void> check(const std::string& kind, const nlohmann::json& payload) const;
  // Applies a record (checked live, or read back from the journal). Errors (a damaged record) change nothing.
  Result<void> apply(const std::string& kind, const nlohmann::json& payload, std::int64_t time);

  // What a job of `user` asking for `project` (may be empty) would run as at `now`; errors say why
  // it may not run at all (no such project, not a member, no grant under a refusing programme).
  Result<JobAdmission> admit(const std::string& user, const std::string& project, bool preemptible,
                             std::int64_t now) const;

  // The usage record of a job's use over (from, to]: the charge of each part at the current rates;
  // `programme` (the job's --qos), whose grants it is charged to first.
  nlohmann::json usage_record(std::int64_t job, const std::string& user, const std::string& project, std::int64_t from,
                              std::int64_t to, const std::vector<TaskUse>& use,
                              const std::string& programme = "") const;
  // Up to when a job's use has been charged (-1: never).
  std::int64_t charged_until(std::int64_t job) const;
  void forget(std::int64_t job) { charged_until_.erase(job); }

  const AccountingOptions& options() const { return options_; }
  void set_options(AccountingOptions options) { options_ = std::move(options); }
  const core::Tenancy& tenancy() const { return tenancy_; }
  // Counts the changes of the tenancy: a view copies it when this moved since its last copy.
  std::uint64_t tenancy_changes() const { return tenancy_changes_; }
  const core::Grants& grants() const { return grants_; }
  const std::vector<core::Usage>& ledger() const { return ledger_; }
  const std::vector<GrantWarning>& warnings() const { return warnings_; }
  // The quotas in force (the scheduler enforces them; the controller gives them to it).
  const std::vector<core::Quota>& quotas() const { return quotas_; }

  // Snapshots: the records applied so far, in order (applying them again rebuilds the books).
  void encode(Encoder& e) const;
  Result<void> decode(Decoder& d);

 private:
  Result<void> apply_tenancy(core::Tenancy& t, const std::string& kind, const nlohmann::json& p) const;
  Result<void> apply_grant(const std::string& kind, const nlohmann::json& p, std::int64_t time, bool dry);
  Result<void> apply_usage(const nlohmann::json& p, bool dry);
  Result<void> apply_quota(const std::string& kind, const nlohmann::json& p, bool dry);

  AccountingOptions options_;
  core::Tenancy tenancy_;
  std::uint64_t tenancy_changes_ = 0;
  core::Grants grants_;
  std::vector<core::Usage> ledger_;
  std::vector<GrantWarning> warnings_;
  std::vector<core::Quota> quotas_;
  std::map<std::int64_t, std::int64_t> charged_until_;  // running (and recently ended) jobs
  struct Logged {
    std::string kind;
    std::int64_t time;
    std::string payload;
  };
  std::vector<Logged> log_;
};

}  // namespace gwang::controller
