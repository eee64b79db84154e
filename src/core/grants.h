// Allocation programmes, the grants they give projects, and the ledger that charges usage to them.
// Pure and deterministic, as the rest of the core: time comes with each call.
//
// Amounts are in normalised accelerator-hours (an H100 hour = 1.0 where the operator says so; see
// ChargeRates). A project may hold several grants at once: usage is charged to the valid grant
// that expires first, and what it cannot hold to the next one; what no grant holds is recorded
// all the same, against no grant, so that the ledger always adds up to the usage measured.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/types.h"

namespace gwang::core {

using GrantId = TypedId<struct GrantIdTag, std::uint32_t>;

// What a project without a valid grant (none, all spent, or all expired) may still do.
enum class ExhaustedRule {
  Refuse,       // new jobs are refused
  Preemptible,  // new jobs run only as preemptible work, at the lowest priority
};

struct Programme {
  std::string name;  // "AI startup compute voucher"
  ExhaustedRule when_exhausted = ExhaustedRule::Refuse;
  double priority = 0;  // the programme's priority factor, 0 (lowest) to 1
  // Its sessions' defaults (seconds; 0: the controller's): how long one may go unused, and the
  // longest time limit one may have (which one that asks for none gets).
  std::int64_t session_idle_timeout = 0, session_max_life = 0;
};

struct Grant {
  GrantId id;
  std::string project;
  std::string programme;
  double amount = 0;        // normalised accelerator-hours granted (top-ups included)
  double used = 0;          // charged so far
  Time start = 0, end = 0;  // valid in [start, end)
  bool warned_80 = false, warned_100 = false;

  double remaining() const { return amount > used ? amount - used : 0; }
  bool valid_at(Time t) const { return t >= start && t < end; }
};

// Normalised accelerator-hours per hour of each resource kind ("gpu:H100" = 1.0, "gpu:V100" = 0.3;
// a shared half GPU is half an hour of it), and per CPU-hour for work without accelerators.
struct ChargeRates {
  std::map<std::string, double> per_accelerator_hour;
  double per_cpu_hour = 0;
  // The charge for `seconds` of `count` units (milli-units: 500 = half a device) of `kind`; an
  // unknown kind is charged at 0 and reported by the caller.
  double charge(const std::string& kind, Milli count, Time seconds) const;
};

struct LedgerEntry {
  std::int64_t seq = 0;  // 1, 2, 3, ...: the ledger only grows
  Time time = 0;
  JobId job;
  std::string project;
  std::optional<GrantId> grant;  // none: no valid grant held it
  double amount = 0;
};

// The 80 % and 100 % marks of a grant, each reported once.
struct GrantEvent {
  Time time = 0;
  GrantId grant;
  std::string project;
  int percent = 0;  // 80 or 100
};

// Whether a project's new job may run.
struct Admission {
  enum Kind { Allowed, PreemptibleOnly, Refused } kind = Allowed;
  std::string reason;  // for the last two
};

struct AuditEntry {
  Time time = 0;
  GrantId grant;
  std::string who;
  std::string what;  // "granted 100 from ... to ...", "topped up by 50", "extended to ..."
};

class Grants {
 public:
  // Each change has a check that says, without changing anything, whether it would succeed: a
  // driver checks, makes the change durable, then applies it.
  Result<void> check_programme(const Programme& programme) const;
  Result<void> check_grant(const std::string& project, const std::string& programme, double amount, Time start,
                           Time end) const;
  Result<void> check_top_up(GrantId id, double amount) const;
  Result<void> check_extend(GrantId id, Time end) const;

  Result<void> add_programme(Programme programme);
  const Programme* programme(const std::string& name) const;

  // A grant of `amount` (> 0) to `project` under `programme`, valid in [start, end) (end > start).
  // Nothing is added on error.
  Result<GrantId> grant(const std::string& project, const std::string& programme, double amount, Time start, Time end,
                        Time now, const std::string& who);
  Result<void> top_up(GrantId id, double amount, Time now, const std::string& who);
  Result<void> extend(GrantId id, Time end, Time now, const std::string& who);

  // Charges `amount` (>= 0) of a job's usage at `now` to the project's valid grants, the one that
  // expires first first. Returns the ledger entries made (their amounts add up to `amount`).
  // `programme`: the grants of that programme are charged before the project's others (a job
  // submitted under it, Slurm's --qos).
  std::vector<LedgerEntry> charge(const std::string& project, JobId job, double amount, Time now,
                                  const std::string& programme = "");

  // What a project may run now.
  Admission admit(const std::string& project, Time now) const;
  // The valid grants of a project at `now`, the one that expires first first.
  std::vector<const Grant*> valid(const std::string& project, Time now) const;
  const Grant* find(GrantId id) const;
  const std::vector<Grant>& all() const { return grants_; }
  const std::map<std::string, Programme>& programmes() const { return programmes_; }

  const std::vector<LedgerEntry>& ledger() const { return ledger_; }
  const std::vector<AuditEntry>& audit() const { return audit_; }
  // Warnings since the last call.
  std::vector<GrantEvent> take_events();

 private:
  Grant* find_mutable(GrantId id);
  void mark(Grant& g, Time now);

  std::map<std::string, Programme> programmes_;
  std::vector<Grant> grants_;
  std::vector<LedgerEntry> ledger_;
  std::vector<AuditEntry> audit_;
  std::vector<GrantEvent> events_;
};

}  // namespace gwang::core
