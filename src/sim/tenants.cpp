#include "sim/tenants.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <queue>
#include <set>

#include "core/rng.h"

namespace gwang::sim {

using core::Time;
using nlohmann::json;

namespace {

// Field readers naming the field's path on error.
struct Fields {
  const json& j;
  std::string where;  // "projects[2]."

  Result<void> known(std::initializer_list<const char*> names) const {
    for (const auto& [key, value] : j.items()) {
      if (std::none_of(names.begin(), names.end(), [&](const char* n) { return key == n; })) {
        return fail("unknown field '" + where + key + "'");
      }
    }
    return {};
  }
  template <class T>
  Result<void> number(const char* name, T& out, double lo, double hi, bool required = false) const {
    if (!j.contains(name)) return required ? fail("field '" + where + name + "': required") : Result<void>{};
    const json& v = j[name];
    if (!v.is_number() || !(v.get<double>() >= lo && v.get<double>() <= hi) ||
        (std::is_integral_v<T> && !v.is_number_integer())) {
      std::string range = std::to_string(lo), top = std::to_string(hi);
      for (std::string* s : {&range, &top}) {
        s->erase(s->find_last_not_of('0') + 1);
        if (s->back() == '.') s->pop_back();
      }
      return fail("field '" + where + name + "': expected " + (std::is_integral_v<T> ? "an integer" : "a number") +
                  " from " + range + " to " + top);
    }
    out = v.get<T>();
    return {};
  }
  Result<void> text(const char* name, std::string& out, bool required = false) const {
    if (!j.contains(name)) return required ? fail("field '" + where + name + "': required") : Result<void>{};
    if (!j[name].is_string() || j[name].get<std::string>().empty()) {
      return fail("field '" + where + name + "': expected a non-empty string");
    }
    out = j[name].get<std::string>();
    return {};
  }
};

#define GWANG_TRY(expr)                                           \
  do {                                                            \
    if (auto r_ = (expr); !r_) return tl::unexpected(r_.error()); \
  } while (0)

// An exponential draw with mean `mean` from the core's generator.
double exponential(core::Rng& rng, double mean) {
  const double u = (static_cast<double>(rng.next() >> 11) + 0.5) / 9007199254740992.0;  // (0, 1)
  return -std::log(u) * mean;
}

// A job as it arrives: when, from which project (its index), its GPUs and how long it runs.
struct Arrival {
  Time time;
  std::size_t project;
  int gpus;
  Time run;
};

// A job that runs: its project (index), its GPUs, its start, how far it is charged, and its end.
struct Running {
  std::size_t project;
  int gpus;
  Time start, charged, end;
};

// The scenario's machine: its nodes, each with 64 CPUs, 1 TiB of memory and its GPUs of the model.
core::Cluster tenant_machine(const TenantScenario& sc) {
  core::Cluster cluster;
  const core::ResourceKind model = cluster.registry().intern(sc.model);
  for (int n = 0; n < sc.nodes; ++n) {
    core::NodeSpec spec{"n" + std::to_string(n), {}, {}};
    spec.scalars.set(core::ResourceRegistry::kCpu, 64 * core::kMilli);
    spec.scalars.set(core::ResourceRegistry::kMemory, 1024 * 1024 * core::kMilli);
    spec.devices.assign(static_cast<std::size_t>(sc.gpus_per_node), model);
    cluster.add_node(spec);
  }
  return cluster;
}

// The scheduler's options under `order`: EASY backfilling, best fit, and fair tree over GPU usage
// with the scenario's half-life and seed.
core::SchedulerOptions tenant_scheduler_options(const TenantScenario& sc, core::QueueOrder order) {
  core::SchedulerOptions options;
  options.order = order;
  options.backfill = core::Backfill::Easy;
  options.placement = core::PlacementKind::BestFit;
  options.backfill_depth = 1000;
  options.fairshare.half_life = sc.half_life;
  options.fairshare.algorithm = core::FairShareAlgorithm::FairTree;
  options.usage_weights[sc.model] = 1.0;
  options.seed = sc.seed;
  return options;
}

// The jobs that arrive before `end`, in time order: drawn up front per project from the scenario's
// seed (the same for every policy), and the recorded ones.
std::vector<Arrival> draw_arrivals(const TenantScenario& sc, Time end) {
  std::vector<Arrival> arrivals;
  core::Rng rng(sc.seed);
  for (std::size_t k = 0; k < sc.projects.size(); ++k) {
    const TenantProject& p = sc.projects[k];
    if (p.jobs_per_hour <= 0) continue;
    int sizes = 0;
    while ((1 << (sizes + 1)) <= p.max_gpus) ++sizes;
    for (double t = exponential(rng, 3600.0 / p.jobs_per_hour); t < static_cast<double>(end);
         t += exponential(rng, 3600.0 / p.jobs_per_hour)) {
      const int gpus = 1 << static_cast<int>(rng.below(static_cast<std::uint64_t>(sizes + 1)));
      const Time run =
          std::clamp<Time>(static_cast<Time>(exponential(rng, static_cast<double>(p.mean_run))), 60, p.time_limit);
      arrivals.push_back({static_cast<Time>(t), k, gpus, run});
    }
  }
  for (const TenantScenario::RecordedJob& j : sc.recorded) {
    if (j.submit < end) arrivals.push_back({j.submit, j.project, j.gpus, j.run});
  }
  std::stable_sort(arrivals.begin(), arrivals.end(),
                   [](const Arrival& a, const Arrival& b) { return a.time < b.time; });
  return arrivals;
}

// One run of a scenario under one queue order: the scheduler, the tenants' grants, the jobs that
// wait and run, and what each institution got.
class TenantRun {
 public:
  TenantRun(const TenantScenario& sc, core::QueueOrder order);
  // Runs the scenario to its end: events in time order, a pass after each instant's events.
  TenantOutcome run();

 private:
  using EndEvent = std::pair<Time, std::int64_t>;
  const TenantScenario& sc_;
  TenantOutcome out_;
  core::Scheduler scheduler_;
  core::Tenancy tenancy_;
  core::Grants grants_;
  const Time end_;
  std::vector<Arrival> arrivals_;
  std::map<std::int64_t, Running> running_;
  std::map<std::int64_t, std::size_t> waiting_project_;
  std::vector<int> backlog_;
  std::vector<core::Usage> usage_;
  std::map<std::string, double> wait_sum_;
  std::priority_queue<EndEvent, std::vector<EndEvent>, std::greater<>> ends_;
  std::int64_t next_id_ = 1;
  double gpu_seconds_ = 0;
  std::set<std::int64_t> held_;
  std::size_t next_arrival_ = 0;
  Time next_charge_ = 3600;

  // Tenants, entitlements and grants: the institutions and projects in the tenancy and the fair
  // share tree, and the projects' grants.
  void add_tenants();
  // Charges a running job's GPU time from where it was charged to `now` to its project's grants.
  void charge(std::int64_t id, Running& r, Time now);
  // A scheduling pass at `now`: starts the jobs it says, and stops those it preempts.
  void pass(Time now);
  // The runs that end at `now`, charged and finished.
  void end_runs(Time now);
  // The jobs that arrive at `now`: dropped past the backlog, refused by exhausted grants, or submitted.
  void arrive(Time now);
  // Submits an arrival of project `p` (preemptible when its grants say so) at `now`.
  void submit(const Arrival& a, const TenantProject& p, bool preemptible, Time now);
  // Every hour: charges the running jobs, and the waiting ones follow their projects' grants.
  void hourly(Time now);
  // What each institution got, period by period and in all, with the reports the controller serves.
  void report();
};

TenantRun::TenantRun(const TenantScenario& sc, core::QueueOrder order)
    : sc_(sc),
      scheduler_(tenant_machine(sc), tenant_scheduler_options(sc, order)),
      end_(sc.days * 86400),
      backlog_(sc.projects.size(), 0) {
  out_.policy = std::string(core::to_string(order));
  add_tenants();
  arrivals_ = draw_arrivals(sc_, end_);
}

void TenantRun::add_tenants() {
  double total_shares = 0;
  for (const TenantInstitution& i : sc_.institutions) total_shares += i.shares;
  for (const core::Programme& p : sc_.programmes) (void)grants_.add_programme(p);
  for (const TenantInstitution& i : sc_.institutions) {
    (void)tenancy_.add_institution(i.institution);
    out_.entitlement[i.institution.name] = i.shares / total_shares;
    (void)scheduler_.fairshare().add(core::FairShare::root(), i.institution.name, i.shares);
  }
  for (const TenantProject& p : sc_.projects) {
    (void)tenancy_.add_project({p.name, p.institution});
    auto inst = scheduler_.fairshare().find(core::FairShare::root(), p.institution);
    assert(inst);
    (void)scheduler_.fairshare().add(*inst, p.name, p.shares);
    if (p.grant > 0) (void)grants_.grant(p.name, p.programme, p.grant, 0, end_, 0, "scenario");
  }
}

void TenantRun::charge(std::int64_t id, Running& r, Time now) {
  if (now <= r.charged) return;
  const TenantProject& p = sc_.projects[r.project];
  const double seconds = static_cast<double>(now - r.charged);
  const double amount = r.gpus * seconds / 3600.0;
  gpu_seconds_ += r.gpus * seconds;
  std::vector<core::LedgerEntry> entries = grants_.charge(p.name, core::JobId{id}, amount, now);
  for (const core::LedgerEntry& e : entries) {
    core::Usage u;
    u.time = now;
    u.from = r.charged;
    u.job = core::JobId{id};
    u.user = "u-" + p.name;
    u.project = p.name;
    u.model = sc_.model;
    u.accelerator_seconds = r.gpus * seconds * (e.amount / amount);
    u.charge = e.amount;
    u.grant = e.grant;
    usage_.push_back(std::move(u));
  }
  r.charged = now;
}

void TenantRun::pass(Time now) {
  for (const core::Decision& d : scheduler_.schedule(now)) {
    const std::int64_t id = d.job.value;
    if (d.action == core::Action::Preempt) {
      // Stopped at once, at the same virtual time; it waits again (and will start over).
      auto r = running_.find(id);
      assert(r != running_.end());
      charge(id, r->second, now);
      const std::size_t k = r->second.project;
      running_.erase(r);
      scheduler_.preempted(d.job, now);
      waiting_project_[id] = k;
      ++backlog_[k];
      ++out_.preempted[sc_.projects[k].institution];
      continue;
    }
    const std::size_t k = waiting_project_.at(id);
    waiting_project_.erase(id);
    --backlog_[k];
    const TenantProject& p = sc_.projects[k];
    const core::Job& job = scheduler_.job(d.job);
    Running r{k, job.spec.task.accel.count, now, now, now + static_cast<Time>(job.spec.estimate)};
    wait_sum_[p.institution] += static_cast<double>(now - job.spec.submit) / 3600.0;
    ++out_.jobs[p.institution];
    running_.emplace(id, r);
    ends_.push({r.end, id});
  }
}

void TenantRun::end_runs(Time now) {
  while (!ends_.empty() && ends_.top().first == now) {
    const std::int64_t id = ends_.top().second;
    ends_.pop();
    auto found = running_.find(id);
    if (found == running_.end() || found->second.end != now) continue;  // a run cut short by preemption
    Running& r = found->second;
    charge(id, r, now);
    scheduler_.finish(core::JobId{id}, now);
    running_.erase(id);
  }
}

void TenantRun::arrive(Time now) {
  while (next_arrival_ < arrivals_.size() && arrivals_[next_arrival_].time == now) {
    const Arrival& a = arrivals_[next_arrival_++];
    const TenantProject& p = sc_.projects[a.project];
    if (backlog_[a.project] >= p.backlog) {
      ++out_.dropped[p.institution];
      continue;
    }
    const core::Admission admitted = grants_.admit(p.name, now);
    const bool granted_ever = p.grant > 0;
    if (granted_ever && admitted.kind == core::Admission::Refused) {
      ++out_.refused[p.institution];
      continue;
    }
    submit(a, p, granted_ever && admitted.kind == core::Admission::PreemptibleOnly, now);
  }
}

void TenantRun::submit(const Arrival& a, const TenantProject& p, bool preemptible, Time now) {
  core::JobSpec spec;
  spec.id = core::JobId{next_id_++};
  spec.submit = now;
  spec.task.scalars.set(core::ResourceRegistry::kCpu, 8 * core::kMilli);
  spec.task.accel.count = a.gpus;
  spec.time_limit = p.time_limit;
  spec.estimate = a.run;  // the simulated job runs exactly this long; planning knows it (an oracle)
  spec.user = "u-" + p.name;
  spec.project = p.name;
  spec.institution = p.institution;
  spec.preemptible = preemptible;
  if (const auto valid = grants_.valid(p.name, now); !valid.empty()) {
    spec.programme_priority = grants_.programme(valid.front()->programme)->priority;
  }
  auto status = scheduler_.submit(std::move(spec), now);
  assert(status && *status == core::SubmitStatus::Queued);
  (void)status;
  waiting_project_[next_id_ - 1] = a.project;
  ++backlog_[a.project];
}

void TenantRun::hourly(Time now) {
  for (auto& [id, r] : running_) charge(id, r, now);
  next_charge_ += 3600;
  // The waiting jobs follow their projects' grants, as in the live controller: held while the
  // programme refuses, preemptible while it says so.
  for (const auto& [id, k] : waiting_project_) {
    const TenantProject& p = sc_.projects[k];
    if (p.grant <= 0) continue;
    const core::Admission verdict = grants_.admit(p.name, now);
    const core::JobId jid{id};
    if (verdict.kind == core::Admission::Refused) {
      if (held_.insert(id).second) scheduler_.hold(jid);
      continue;
    }
    if (held_.erase(id) > 0) scheduler_.release(jid, now);
    scheduler_.set_preemptible(jid, verdict.kind == core::Admission::PreemptibleOnly);
  }
}

void TenantRun::report() {
  for (Time start = 0; start < end_; start += sc_.period) {
    TenantPeriod period{start, {}};
    for (const TenantInstitution& i : sc_.institutions) period.gpu_hours[i.institution.name] = 0;
    // Half-open periods; the last one also holds the charges made at the very end.
    const Time to = start + sc_.period >= end_ ? end_ + 1 : start + sc_.period;
    for (const core::ReportRow& row : core::report(usage_, core::ReportBy::Institution, start, to, tenancy_, grants_)) {
      period.gpu_hours[row.key] = row.accelerator_hours;
    }
    out_.periods.push_back(std::move(period));
  }
  out_.by_institution = core::report(usage_, core::ReportBy::Institution, 0, end_ + 1, tenancy_, grants_);
  for (const auto& [inst, n] : out_.jobs) out_.wait_h[inst] = n > 0 ? wait_sum_[inst] / static_cast<double>(n) : 0;
  out_.grants = grants_.all();
  for (const core::GrantEvent& e : grants_.take_events()) {
    if (e.percent == 100) out_.spent_at[e.grant.value] = e.time;
  }
  out_.utilisation = gpu_seconds_ / (static_cast<double>(sc_.nodes) * sc_.gpus_per_node * static_cast<double>(end_));
}

TenantOutcome TenantRun::run() {
  while (true) {
    Time now = end_;
    if (next_arrival_ < arrivals_.size()) now = std::min(now, arrivals_[next_arrival_].time);
    if (!ends_.empty()) now = std::min(now, ends_.top().first);
    now = std::min(now, next_charge_);
    if (now >= end_) break;
    end_runs(now);
    arrive(now);
    if (now == next_charge_) hourly(now);
    pass(now);
  }
  for (auto& [id, r] : running_) charge(id, r, end_);
  report();
  return std::move(out_);
}

}  // namespace

Result<TenantScenario> parse_tenant_scenario(const std::string& text) {
  json root;
  try {
    root = json::parse(text);
  } catch (const json::parse_error& e) {
    return fail("malformed JSON at byte " + std::to_string(e.byte) + ": " +
                std::string(e.what()).substr(std::string(e.what()).find("] ") + 2));
  }
  if (!root.is_object()) return fail("expected a JSON object");
  TenantScenario s;
  const Fields top{root, ""};
  GWANG_TRY(top.known({"nodes", "gpus_per_node", "model", "days", "half_life_days", "period_days", "seed", "programmes",
                       "institutions", "projects", "trace"}));
  GWANG_TRY(top.text("trace", s.trace));
  GWANG_TRY(top.number("nodes", s.nodes, 1, 10000));
  GWANG_TRY(top.number("gpus_per_node", s.gpus_per_node, 1, 64));
  GWANG_TRY(top.text("model", s.model));
  if (s.model.find(':') == std::string::npos) return fail("field 'model': expected a model with its family, gpu:H100");
  GWANG_TRY(top.number("days", s.days, 1, 3650));
  double half_life = 7, period = 7;
  GWANG_TRY(top.number("half_life_days", half_life, 0.01, 3650));
  GWANG_TRY(top.number("period_days", period, 1, 3650));
  s.half_life = static_cast<Time>(half_life * 86400);
  s.period = static_cast<Time>(period * 86400);
  GWANG_TRY(top.number("seed", s.seed, 0, 1e18));
  auto list = [&](const char* name) -> Result<const json*> {
    if (!root.contains(name)) return fail(std::string("field '") + name + "': required");
    if (!root[name].is_array()) return fail(std::string("field '") + name + "': expected an array");
    return &root[name];
  };
  core::Grants check;  // the programmes, checked as the live system checks them
  if (root.contains("programmes")) {
    auto programmes = list("programmes");
    if (!programmes) return tl::unexpected(programmes.error());
    for (std::size_t i = 0; i < (*programmes)->size(); ++i) {
      const Fields f{(**programmes)[i], "programmes[" + std::to_string(i) + "]."};
      if (!f.j.is_object()) return fail("field 'programmes[" + std::to_string(i) + "]': expected an object");
      GWANG_TRY(f.known({"name", "when_exhausted", "priority"}));
      core::Programme p;
      std::string rule = "refuse";
      GWANG_TRY(f.text("name", p.name, true));
      GWANG_TRY(f.text("when_exhausted", rule));
      if (rule != "refuse" && rule != "preemptible") {
        return fail("field '" + f.where + "when_exhausted': expected refuse or preemptible");
      }
      p.when_exhausted = rule == "refuse" ? core::ExhaustedRule::Refuse : core::ExhaustedRule::Preemptible;
      GWANG_TRY(f.number("priority", p.priority, 0, 1));
      if (auto ok = check.add_programme(p); !ok) return fail("field '" + f.where + "name': " + ok.error().message);
      s.programmes.push_back(std::move(p));
    }
  }
  auto institutions = list("institutions");
  if (!institutions) return tl::unexpected(institutions.error());
  core::Tenancy tenancy;
  for (std::size_t i = 0; i < (*institutions)->size(); ++i) {
    const Fields f{(**institutions)[i], "institutions[" + std::to_string(i) + "]."};
    if (!f.j.is_object()) return fail("field 'institutions[" + std::to_string(i) + "]': expected an object");
    GWANG_TRY(f.known({"name", "type", "sector", "shares"}));
    TenantInstitution inst;
    std::string type = "university", sector = "other";
    GWANG_TRY(f.text("name", inst.institution.name, true));
    GWANG_TRY(f.text("type", type));
    GWANG_TRY(f.text("sector", sector));
    auto t = core::parse_institution_type(type);
    if (!t) return fail("field '" + f.where + "type': " + t.error().message);
    auto sec = core::parse_sector(sector);
    if (!sec) return fail("field '" + f.where + "sector': " + sec.error().message);
    inst.institution.type = *t;
    inst.institution.sector = *sec;
    GWANG_TRY(f.number("shares", inst.shares, 1e-6, 1e9));
    if (auto ok = tenancy.add_institution(inst.institution); !ok) {
      return fail("field '" + f.where + "name': " + ok.error().message);
    }
    s.institutions.push_back(std::move(inst));
  }
  auto projects = list("projects");
  if (!projects) return tl::unexpected(projects.error());
  for (std::size_t i = 0; i < (*projects)->size(); ++i) {
    const Fields f{(**projects)[i], "projects[" + std::to_string(i) + "]."};
    if (!f.j.is_object()) return fail("field 'projects[" + std::to_string(i) + "]': expected an object");
    GWANG_TRY(f.known({"name", "institution", "shares", "jobs_per_hour", "max_gpus", "mean_run_hours",
                       "time_limit_hours", "backlog", "grant", "programme"}));
    TenantProject p;
    GWANG_TRY(f.text("name", p.name, true));
    GWANG_TRY(f.text("institution", p.institution, true));
    if (auto ok = tenancy.add_project({p.name, p.institution}); !ok) {
      return fail("field '" + f.where + (tenancy.institution(p.institution) ? "name" : "institution") +
                  "': " + ok.error().message);
    }
    GWANG_TRY(f.number("shares", p.shares, 1e-6, 1e9));
    GWANG_TRY(f.number("jobs_per_hour", p.jobs_per_hour, 0, 1e4));
    GWANG_TRY(f.number("max_gpus", p.max_gpus, 1, s.gpus_per_node));
    double mean = 4, limit = 24;
    GWANG_TRY(f.number("mean_run_hours", mean, 0.01, 1e4));
    GWANG_TRY(f.number("time_limit_hours", limit, 0.01, 1e4));
    p.mean_run = static_cast<Time>(mean * 3600);
    p.time_limit = static_cast<Time>(limit * 3600);
    GWANG_TRY(f.number("backlog", p.backlog, 1, 100000));
    GWANG_TRY(f.number("grant", p.grant, 0, 1e12));
    GWANG_TRY(f.text("programme", p.programme));
    if (p.grant > 0 && !check.programme(p.programme)) {
      return fail("field '" + f.where + "programme': " +
                  (p.programme.empty() ? std::string("required with a grant") : "no programme '" + p.programme + "'"));
    }
    s.projects.push_back(std::move(p));
  }
  if (s.institutions.empty()) return fail("field 'institutions': at least one");
  if (s.projects.empty()) return fail("field 'projects': at least one");
  return s;
}

Result<void> load_tenant_trace(TenantScenario& sc, const std::string& text, const std::string& name) {
  std::vector<TenantScenario::RecordedJob> jobs;
  std::size_t at = 0, line = 0;
  auto number = [](const std::string& cell, double& out) {
    char* end = nullptr;
    out = std::strtod(cell.c_str(), &end);
    return !cell.empty() && end == cell.c_str() + cell.size() && std::isfinite(out);
  };
  while (at < text.size()) {
    std::size_t eol = text.find('\n', at);
    if (eol == std::string::npos) eol = text.size();
    std::string row = text.substr(at, eol - at);
    at = eol + 1;
    ++line;
    if (!row.empty() && row.back() == '\r') row.pop_back();
    const std::string where = name + ":" + std::to_string(line) + ": ";
    if (line == 1) {
      if (row != "submit_hours,project,gpus,run_hours") {
        return fail(where + "expected the header submit_hours,project,gpus,run_hours");
      }
      continue;
    }
    if (row.empty()) continue;
    std::vector<std::string> cells;
    for (std::size_t from = 0;;) {
      const std::size_t comma = row.find(',', from);
      cells.push_back(row.substr(from, comma == std::string::npos ? std::string::npos : comma - from));
      if (comma == std::string::npos) break;
      from = comma + 1;
    }
    if (cells.size() != 4) return fail(where + "expected 4 columns, found " + std::to_string(cells.size()));
    double submit = 0, gpus = 0, run = 0;
    if (!number(cells[0], submit) || submit < 0 || submit > static_cast<double>(sc.days) * 24) {
      return fail(where + "submit_hours: expected hours from 0 to the scenario's end");
    }
    auto project = std::find_if(sc.projects.begin(), sc.projects.end(),
                                [&](const TenantProject& p) { return p.name == cells[1]; });
    if (project == sc.projects.end()) return fail(where + "project: no project '" + cells[1] + "' in the scenario");
    if (!number(cells[2], gpus) || gpus < 1 || gpus > sc.gpus_per_node || gpus != std::floor(gpus)) {
      return fail(where + "gpus: expected a whole number from 1 to " + std::to_string(sc.gpus_per_node));
    }
    if (!number(cells[3], run) || run <= 0) return fail(where + "run_hours: expected hours above 0");
    const auto k = static_cast<std::size_t>(project - sc.projects.begin());
    jobs.push_back({static_cast<Time>(submit * 3600), k, static_cast<int>(gpus),
                    std::clamp<Time>(static_cast<Time>(run * 3600), 1, sc.projects[k].time_limit)});
  }
  if (line == 0) return fail(name + ":1: expected the header submit_hours,project,gpus,run_hours");
  sc.recorded.insert(sc.recorded.end(), jobs.begin(), jobs.end());
  return {};
}

TenantOutcome run_tenants(const TenantScenario& sc, core::QueueOrder order) { return TenantRun(sc, order).run(); }

}  // namespace gwang::sim
