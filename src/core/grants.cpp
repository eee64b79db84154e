#include "core/grants.h"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "core/calendar.h"

namespace gwang::core {

namespace {

std::string number(double v) {
  std::string s = std::to_string(v);
  s.erase(s.find_last_not_of('0') + 1);
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

double ChargeRates::charge(const std::string& kind, Milli count, Time seconds) const {
  double rate = 0;
  if (kind == "cpu") {
    rate = per_cpu_hour;
  } else if (auto it = per_accelerator_hour.find(kind); it != per_accelerator_hour.end()) {
    rate = it->second;
  }
  return rate * (static_cast<double>(count) / kMilli) * (static_cast<double>(seconds) / 3600.0);
}

Result<void> Grants::check_programme(const Programme& p) const {
  if (p.name.empty()) return fail("a programme needs a name");
  if (!std::isfinite(p.priority) || p.priority < 0 || p.priority > 1) {
    return fail("programme '" + p.name + "': priority must be between 0 and 1");
  }
  if (p.session_idle_timeout < 0 || (p.session_idle_timeout > 0 && p.session_idle_timeout < 10)) {
    return fail("programme '" + p.name + "': session_idle_timeout must be 0 (the controller's) or at least 10 seconds");
  }
  if (p.session_max_life < 0 || (p.session_max_life > 0 && p.session_max_life < 60)) {
    return fail("programme '" + p.name + "': session_max_life must be 0 (the controller's) or at least 60 seconds");
  }
  if (programmes_.contains(p.name)) return fail("programme '" + p.name + "' exists already");
  return {};
}

Result<void> Grants::add_programme(Programme p) {
  if (auto ok = check_programme(p); !ok) return ok;
  std::string name = p.name;
  programmes_.emplace(std::move(name), std::move(p));
  return {};
}

const Programme* Grants::programme(const std::string& name) const {
  auto it = programmes_.find(name);
  return it == programmes_.end() ? nullptr : &it->second;
}

Result<void> Grants::check_grant(const std::string& project, const std::string& programme, double amount, Time start,
                                 Time end) const {
  if (project.empty()) return fail("a grant needs a project");
  if (!programmes_.contains(programme)) return fail("no programme '" + programme + "'");
  if (!std::isfinite(amount) || amount <= 0) return fail("amount must be above 0");
  if (end <= start) {
    return fail("the grant's end (" + format_utc(end) + ") is not after its start (" + format_utc(start) + ")");
  }
  return {};
}

Result<GrantId> Grants::grant(const std::string& project, const std::string& programme, double amount, Time start,
                              Time end, Time now, const std::string& who) {
  if (auto ok = check_grant(project, programme, amount, start, end); !ok) return tl::unexpected(ok.error());
  Grant g;
  g.id = GrantId{static_cast<std::uint32_t>(grants_.size() + 1)};
  g.project = project;
  g.programme = programme;
  g.amount = amount;
  g.start = start;
  g.end = end;
  grants_.push_back(g);
  audit_.push_back({now, g.id, who,
                    "granted " + number(amount) + " to " + project + " under " + programme + ", valid from " +
                        format_utc(start) + " to " + format_utc(end)});
  return g.id;
}

Grant* Grants::find_mutable(GrantId id) {
  if (id.value == 0 || id.value > grants_.size()) return nullptr;
  return &grants_[id.value - 1];
}

const Grant* Grants::find(GrantId id) const { return const_cast<Grants*>(this)->find_mutable(id); }

Result<void> Grants::check_top_up(GrantId id, double amount) const {
  if (!find(id)) return fail("no grant " + std::to_string(id.value));
  if (!std::isfinite(amount) || amount <= 0) return fail("a top-up must be above 0");
  return {};
}

Result<void> Grants::top_up(GrantId id, double amount, Time now, const std::string& who) {
  if (auto ok = check_top_up(id, amount); !ok) return ok;
  Grant* g = find_mutable(id);
  g->amount += amount;
  // Marks passed before are passed no more if the top-up lifts the grant below them.
  if (g->used < 0.8 * g->amount) g->warned_80 = false;
  if (g->used < g->amount) g->warned_100 = false;
  audit_.push_back({now, id, who, "topped up by " + number(amount) + " to " + number(g->amount)});
  return {};
}

Result<void> Grants::check_extend(GrantId id, Time end) const {
  const Grant* g = find(id);
  if (!g) return fail("no grant " + std::to_string(id.value));
  if (end <= g->start) {
    return fail("the new end (" + format_utc(end) + ") is not after the grant's start (" + format_utc(g->start) + ")");
  }
  return {};
}

Result<void> Grants::extend(GrantId id, Time end, Time now, const std::string& who) {
  if (auto ok = check_extend(id, end); !ok) return ok;
  Grant* g = find_mutable(id);
  audit_.push_back({now, id, who, "end moved from " + format_utc(g->end) + " to " + format_utc(end)});
  g->end = end;
  return {};
}

std::vector<const Grant*> Grants::valid(const std::string& project, Time now) const {
  std::vector<const Grant*> out;
  for (const Grant& g : grants_) {
    if (g.project == project && g.valid_at(now)) out.push_back(&g);
  }
  std::stable_sort(out.begin(), out.end(), [](const Grant* a, const Grant* b) { return a->end < b->end; });
  return out;
}

void Grants::mark(Grant& g, Time now) {
  if (!g.warned_80 && g.used >= 0.8 * g.amount) {
    g.warned_80 = true;
    events_.push_back({now, g.id, g.project, 80});
  }
  if (!g.warned_100 && g.used >= g.amount) {
    g.warned_100 = true;
    events_.push_back({now, g.id, g.project, 100});
  }
}

std::vector<LedgerEntry> Grants::charge(const std::string& project, JobId job, double amount, Time now,
                                        const std::string& programme) {
  assert(std::isfinite(amount) && amount >= 0);
  std::vector<LedgerEntry> made;
  if (amount == 0) return made;
  double left = amount;
  auto record = [&](std::optional<GrantId> grant, double part) {
    LedgerEntry e{static_cast<std::int64_t>(ledger_.size() + 1), now, job, project, grant, part};
    ledger_.push_back(e);
    made.push_back(e);
  };
  std::vector<const Grant*> order = valid(project, now);
  if (!programme.empty()) {
    std::stable_partition(order.begin(), order.end(), [&](const Grant* g) { return g->programme == programme; });
  }
  for (const Grant* v : order) {
    if (left <= 0) break;
    Grant& g = *find_mutable(v->id);
    const double part = std::min(left, g.remaining());
    if (part <= 0) continue;
    g.used += part;
    left -= part;
    record(g.id, part);
    mark(g, now);
  }
  if (left > 0) record(std::nullopt, left);
  return made;
}

Admission Grants::admit(const std::string& project, Time now) const {
  for (const Grant* g : valid(project, now)) {
    if (g->remaining() > 0) return {};
  }
  // The project's latest grant decides what happens without one.
  const Grant* latest = nullptr;
  for (const Grant& g : grants_) {
    if (g.project == project && (!latest || g.end >= latest->end)) latest = &g;
  }
  if (!latest) return {Admission::Refused, "project " + project + " holds no grant"};
  const Programme& p = programmes_.at(latest->programme);
  const std::string why = "grant " + std::to_string(latest->id.value) + " (" + latest->programme + ") " +
                          (latest->valid_at(now) ? "is spent"
                           : now < latest->start ? "has not started"
                                                 : "has expired");
  if (p.when_exhausted == ExhaustedRule::Preemptible) {
    return {Admission::PreemptibleOnly, why + ": new jobs run as preemptible work"};
  }
  return {Admission::Refused, why + ": new jobs are refused"};
}

std::vector<GrantEvent> Grants::take_events() {
  std::vector<GrantEvent> out = std::move(events_);
  events_.clear();
  return out;
}

}  // namespace gwang::core
