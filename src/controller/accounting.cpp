#include "controller/accounting.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

namespace gwang::controller {

using nlohmann::json;

namespace {

// Field readers: a missing or mistyped field is an error that names it.
Result<std::string> text(const json& p, const char* field) {
  auto it = p.find(field);
  if (it == p.end() || !it->is_string()) return fail("field '" + std::string(field) + "': expected a string");
  return it->get<std::string>();
}
Result<double> number(const json& p, const char* field) {
  auto it = p.find(field);
  if (it == p.end() || !it->is_number() || !std::isfinite(it->get<double>())) {
    return fail("field '" + std::string(field) + "': expected a number");
  }
  return it->get<double>();
}
Result<std::int64_t> integer(const json& p, const char* field) {
  auto it = p.find(field);
  if (it == p.end() || !it->is_number_integer()) return fail("field '" + std::string(field) + "': expected an integer");
  return it->get<std::int64_t>();
}
// An optional integer field: `fallback` where it is absent.
Result<std::int64_t> integer_or(const json& p, const char* field, std::int64_t fallback) {
  return p.contains(field) ? integer(p, field) : Result<std::int64_t>(fallback);
}
Result<bool> boolean(const json& p, const char* field) {
  auto it = p.find(field);
  if (it == p.end() || !it->is_boolean()) return fail("field '" + std::string(field) + "': expected true or false");
  return it->get<bool>();
}

#define GWANG_TRY(var, expr)                            \
  auto var##_r = (expr);                                \
  if (!var##_r) return tl::unexpected(var##_r.error()); \
  auto var = std::move(*var##_r)

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

}  // namespace

Accounting::Accounting(AccountingOptions options) : options_(std::move(options)) {}

bool Accounting::handles(std::string_view kind) {
  return kind.starts_with("tenancy.") || kind.starts_with("grant.") || kind.starts_with("usage.") ||
         kind.starts_with("quota.");
}

Result<void> Accounting::apply_tenancy(core::Tenancy& t, const std::string& kind, const json& p) const {
  if (kind == "tenancy.institution") {
    GWANG_TRY(name, text(p, "name"));
    GWANG_TRY(type_name, text(p, "type"));
    GWANG_TRY(sector_name, text(p, "sector"));
    GWANG_TRY(type, core::parse_institution_type(type_name));
    GWANG_TRY(sector, core::parse_sector(sector_name));
    return t.add_institution({name, type, sector});
  }
  if (kind == "tenancy.project") {
    GWANG_TRY(name, text(p, "name"));
    GWANG_TRY(institution, text(p, "institution"));
    return t.add_project({name, institution});
  }
  if (kind == "tenancy.user") {
    GWANG_TRY(name, text(p, "name"));
    return t.add_user(name);
  }
  GWANG_TRY(user, text(p, "user"));
  if (kind == "tenancy.member") {
    GWANG_TRY(project, text(p, "project"));
    GWANG_TRY(member, boolean(p, "member"));
    return member ? t.add_member(user, project) : t.remove_member(user, project);
  }
  if (kind == "tenancy.admin") {
    GWANG_TRY(institution, text(p, "institution"));
    return t.make_admin(user, institution);
  }
  if (kind == "tenancy.operator") {
    GWANG_TRY(is_operator, boolean(p, "operator"));
    return t.set_operator(user, is_operator);
  }
  if (kind == "tenancy.default_project") {
    GWANG_TRY(project, text(p, "project"));
    return t.set_default_project(user, project);
  }
  return fail("unknown record kind '" + kind + "'");
}

Result<void> Accounting::apply_grant(const std::string& kind, const json& p, std::int64_t time, bool dry) {
  if (kind == "grant.programme") {
    core::Programme prog;
    GWANG_TRY(name, text(p, "name"));
    GWANG_TRY(rule, text(p, "when_exhausted"));
    GWANG_TRY(priority, number(p, "priority"));
    GWANG_TRY(idle, integer_or(p, "session_idle_timeout", 0));
    GWANG_TRY(life, integer_or(p, "session_max_life", 0));
    if (rule != "refuse" && rule != "preemptible") {
      return fail("field 'when_exhausted': expected refuse or preemptible, not '" + rule + "'");
    }
    prog.name = name;
    prog.when_exhausted = rule == "refuse" ? core::ExhaustedRule::Refuse : core::ExhaustedRule::Preemptible;
    prog.priority = priority;
    prog.session_idle_timeout = idle;
    prog.session_max_life = life;
    if (dry) return grants_.check_programme(prog);
    return grants_.add_programme(std::move(prog));
  }
  GWANG_TRY(who, text(p, "who"));
  if (kind == "grant.granted") {
    GWANG_TRY(project, text(p, "project"));
    GWANG_TRY(programme, text(p, "programme"));
    GWANG_TRY(amount, number(p, "amount"));
    GWANG_TRY(start, integer(p, "start"));
    GWANG_TRY(end, integer(p, "end"));
    if (!tenancy_.project(project)) return fail("no project '" + project + "'");
    if (dry) return grants_.check_grant(project, programme, amount, start, end);
    auto id = grants_.grant(project, programme, amount, start, end, time, who);
    if (!id) return tl::unexpected(id.error());
    return {};
  }
  GWANG_TRY(grant, integer(p, "grant"));
  if (grant <= 0 || grant > UINT32_MAX) return fail("no grant " + std::to_string(grant));
  const core::GrantId id{static_cast<std::uint32_t>(grant)};
  if (kind == "grant.topped_up") {
    GWANG_TRY(amount, number(p, "amount"));
    return dry ? grants_.check_top_up(id, amount) : grants_.top_up(id, amount, time, who);
  }
  if (kind == "grant.extended") {
    GWANG_TRY(end, integer(p, "end"));
    return dry ? grants_.check_extend(id, end) : grants_.extend(id, end, time, who);
  }
  return fail("unknown record kind '" + kind + "'");
}

Result<void> Accounting::apply_usage(const json& p, bool dry) {
  GWANG_TRY(job, integer(p, "job"));
  GWANG_TRY(user, text(p, "user"));
  GWANG_TRY(project, text(p, "project"));
  GWANG_TRY(from, integer(p, "from"));
  GWANG_TRY(to, integer(p, "to"));
  if (to < from) return fail("field 'to': before 'from'");
  std::string programme;  // the job's (--qos): its grants are charged first
  if (p.contains("programme")) {
    GWANG_TRY(named, text(p, "programme"));
    programme = named;
  }
  auto parts = p.find("parts");
  if (parts == p.end() || !parts->is_array()) return fail("field 'parts': expected an array");
  std::vector<core::Usage> made;
  const double seconds = static_cast<double>(to - from);
  for (const json& part : *parts) {
    GWANG_TRY(rank, integer(part, "rank"));
    GWANG_TRY(model, text(part, "model"));
    GWANG_TRY(milli, integer(part, "milli"));
    GWANG_TRY(cpus, integer(part, "cpus"));
    GWANG_TRY(mem, integer(part, "mem"));
    GWANG_TRY(charge, number(part, "charge"));
    if (charge < 0 || milli < 0 || cpus < 0 || mem < 0) return fail("field 'parts': a negative amount");
    core::Usage u;
    u.time = to;
    u.from = from;
    u.job = core::JobId{job};
    u.task = static_cast<int>(rank);
    u.user = user;
    u.project = project;
    u.model = model;
    u.accelerator_seconds = static_cast<double>(milli) / 1000.0 * seconds;
    u.cpu_seconds = static_cast<double>(cpus) * seconds;
    u.memory_gib_seconds = static_cast<double>(mem) / kGiB * seconds;
    u.charge = charge;
    made.push_back(std::move(u));
  }
  if (dry) return {};
  // Each part is charged to the project's grants, the one that expires first first; a part that
  // spans two grants (the first one ran out) is split between them, its measures in proportion.
  for (core::Usage& u : made) {
    const std::vector<core::LedgerEntry> entries =
        project.empty() ? std::vector<core::LedgerEntry>{} : grants_.charge(project, u.job, u.charge, to, programme);
    if (entries.size() <= 1) {
      if (entries.size() == 1) u.grant = entries.front().grant;
      ledger_.push_back(std::move(u));
      continue;
    }
    for (const core::LedgerEntry& e : entries) {
      core::Usage piece = u;
      const double share = e.amount / u.charge;
      piece.accelerator_seconds *= share;
      piece.cpu_seconds *= share;
      piece.memory_gib_seconds *= share;
      piece.charge = e.amount;
      piece.grant = e.grant;
      ledger_.push_back(std::move(piece));
    }
  }
  for (const core::GrantEvent& e : grants_.take_events()) {
    warnings_.push_back({static_cast<std::int64_t>(warnings_.size() + 1), e});
  }
  charged_until_[job] = std::max(charged_until(job), to);
  return {};
}

Result<void> Accounting::apply_quota(const std::string& kind, const json& p, bool dry) {
  GWANG_TRY(scope_name, text(p, "scope"));
  GWANG_TRY(scope, core::parse_quota_scope(scope_name));
  GWANG_TRY(name, text(p, "name"));
  GWANG_TRY(model, text(p, "model"));
  if (!model.empty() && (model.find(':') == std::string::npos || model.starts_with("cpu"))) {
    return fail("field 'model': expected an accelerator model with its family (gpu:H100), or none for all models");
  }
  const bool project = scope == core::QuotaScope::Project;
  if (project ? !tenancy_.project(name) : !tenancy_.institution(name)) {
    return fail(std::string("no ") + (project ? "project" : "institution") + " '" + name + "'");
  }
  auto same = [&](const core::Quota& q) { return q.scope == scope && q.name == name && q.model == model; };
  auto it = std::find_if(quotas_.begin(), quotas_.end(), same);
  if (kind == "quota.removed") {
    if (it == quotas_.end()) {
      return fail("no quota of " + scope_name + " " + name + (model.empty() ? "" : " for " + model));
    }
    if (!dry) quotas_.erase(it);
    return {};
  }
  if (kind != "quota.set") return fail("unknown record kind '" + kind + "'");
  GWANG_TRY(limit, integer(p, "limit"));
  if (limit < 0) return fail("field 'limit': must not be negative");
  if (dry) return {};
  if (it != quotas_.end()) {
    it->limit = limit;
  } else {
    quotas_.push_back({scope, name, model, limit});
  }
  return {};
}

Result<void> Accounting::check(const std::string& kind, const json& payload) const {
  if (!payload.is_object()) return fail("expected a JSON object");
  if (kind.starts_with("tenancy.")) {
    core::Tenancy trial = tenancy_;  // small: institutions, projects and users
    return apply_tenancy(trial, kind, payload);
  }
  auto* self = const_cast<Accounting*>(this);  // a dry run changes nothing
  if (kind.starts_with("grant.")) return self->apply_grant(kind, payload, 0, true);
  if (kind == "usage.charged") return self->apply_usage(payload, true);
  if (kind.starts_with("quota.")) return self->apply_quota(kind, payload, true);
  return fail("unknown record kind '" + kind + "'");
}

Result<void> Accounting::apply(const std::string& kind, const json& payload, std::int64_t time) {
  if (auto ok = check(kind, payload); !ok) return ok;
  Result<void> done;
  if (kind.starts_with("tenancy.")) {
    done = apply_tenancy(tenancy_, kind, payload);
    ++tenancy_changes_;
  } else if (kind.starts_with("grant.")) {
    done = apply_grant(kind, payload, time, false);
  } else if (kind.starts_with("quota.")) {
    done = apply_quota(kind, payload, false);
  } else {
    done = apply_usage(payload, false);
  }
  if (done) log_.push_back({kind, time, payload.dump()});
  return done;
}

Result<JobAdmission> Accounting::admit(const std::string& user, const std::string& project, bool preemptible,
                                       std::int64_t now) const {
  JobAdmission a;
  a.preemptible = preemptible;
  if (project.empty() && !options_.require_project) {
    const core::User* u = tenancy_.user(user);
    if (!u || u->default_project.empty()) return a;  // not charged to any project
  }
  if (!tenancy_.user(user)) {
    return fail("user '" + user +
                "' is in no project, and every job here is charged to one (an admin of your "
                "institution adds you to a project)");
  }
  auto charged = tenancy_.project_for(user, project);
  if (!charged) return tl::unexpected(charged.error());
  a.project = *charged;
  a.institution = tenancy_.institution_of(a.project);
  bool ever = false;
  for (const core::Grant& g : grants_.all()) ever = ever || g.project == a.project;
  if (!ever && !options_.require_grant) return a;
  const core::Admission verdict = grants_.admit(a.project, now);
  if (verdict.kind == core::Admission::Refused) return fail(verdict.reason);
  if (verdict.kind == core::Admission::PreemptibleOnly) {
    a.preemptible = true;
    a.note = verdict.reason;
    return a;
  }
  const std::vector<const core::Grant*> valid = grants_.valid(a.project, now);
  if (!valid.empty()) {
    a.programme = valid.front()->programme;
    if (const core::Programme* p = grants_.programme(a.programme)) a.programme_priority = p->priority;
  }
  return a;
}

json Accounting::usage_record(std::int64_t job, const std::string& user, const std::string& project, std::int64_t from,
                              std::int64_t to, const std::vector<TaskUse>& use, const std::string& programme) const {
  json parts = json::array();
  const std::int64_t seconds = to - from;
  for (const TaskUse& t : use) {
    double charge = 0;
    if (!t.model.empty()) {
      const auto& rates = options_.rates.per_accelerator_hour;
      const bool listed = rates.contains(t.model);
      charge = listed ? options_.rates.charge(t.model, t.milli, seconds)
                      : static_cast<double>(t.milli) / 1000.0 * static_cast<double>(seconds) / 3600.0;
    } else {
      charge = options_.rates.charge("cpu", static_cast<core::Milli>(t.cpus) * 1000, seconds);
    }
    parts.push_back({{"rank", t.rank},
                     {"model", t.model},
                     {"milli", t.milli},
                     {"cpus", t.cpus},
                     {"mem", t.mem_bytes},
                     {"charge", charge}});
  }
  json record{{"job", job}, {"user", user}, {"project", project}, {"from", from}, {"to", to}, {"parts", parts}};
  if (!programme.empty()) record["programme"] = programme;
  return record;
}

std::int64_t Accounting::charged_until(std::int64_t job) const {
  auto it = charged_until_.find(job);
  return it == charged_until_.end() ? -1 : it->second;
}

void Accounting::encode(Encoder& e) const {
  e.u(log_.size());
  for (const Logged& l : log_) {
    e.s(l.kind);
    e.i(l.time);
    e.s(l.payload);
  }
}

Result<void> Accounting::decode(Decoder& d) {
  for (std::size_t n = d.count(); d.ok() && n > 0; --n) {
    const std::string kind(d.s());
    const std::int64_t time = d.i();
    const std::string payload(d.s());
    if (!d.ok()) break;
    const json p = json::parse(payload, nullptr, false);
    if (p.is_discarded()) return fail("accounting record " + kind + ": malformed JSON");
    if (auto r = apply(kind, p, time); !r) return fail("accounting record " + kind + ": " + r.error().message);
  }
  return {};
}

}  // namespace gwang::controller
