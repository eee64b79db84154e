// What the controller shows: jobs with the reason each waits, planned starts, hints, fair share,
// its own status and its metrics.

#include <algorithm>

#include "api/units.h"
#include "controller/controller.h"
#include "core/calendar.h"

namespace gwang::controller {

std::shared_ptr<const Controller::View> Controller::view() const {
  std::lock_guard lock(view_mu_);
  return view_;
}

void Controller::publish() {
  // Those waiting for news of steps look again once the lock is let go, when this view is out.
  if (step_news_due_) {
    step_news_due_ = false;
    step_news_cv_.notify_all();
  }
  for (std::int64_t id : jobs_.take_touched()) {
    const JobRecord* job = jobs_.find(id);
    if (job) note_waiting(*job);
    count_state(id, job);
  }
  const bool tenancy_changed = books_.tenancy_changes() != viewed_tenancy_;
  if (!jobs_.changed() && !waits_.changed() && !held_changed_ && !tenancy_changed) return;
  auto next = std::make_shared<View>();
  next->jobs = jobs_.freeze();
  next->waiting = waits_.freeze();
  next->by_state = by_state_;
  const std::shared_ptr<const View> before = held_changed_ && tenancy_changed ? nullptr : view();
  if (held_changed_) {
    next->held = std::make_shared<const std::map<std::int64_t, std::string>>(held_);
    held_changed_ = false;
  } else {
    next->held = before->held;
  }
  if (tenancy_changed) {
    next->tenancy = std::make_shared<const core::Tenancy>(books_.tenancy());
    viewed_tenancy_ = books_.tenancy_changes();
  } else {
    next->tenancy = before->tenancy;
  }
  std::shared_ptr<const View> published = std::move(next);
  std::lock_guard lock(view_mu_);
  view_.swap(published);  // the view before is let go outside view_mu_ (published's destructor)
}

void Controller::count_state(std::int64_t id, const JobRecord* job) {
  const auto at = static_cast<std::size_t>(id);
  if (at >= counted_as_.size()) counted_as_.resize(std::max(at + 1, counted_as_.size() * 2), kUncounted);
  const std::uint8_t now = job ? static_cast<std::uint8_t>(job->state) : kUncounted;
  std::uint8_t& was = counted_as_[at];
  if (was == now) return;
  if (was != kUncounted) --by_state_[was];
  if (now != kUncounted) ++by_state_[now];
  was = now;
}

void Controller::note_waiting(const JobRecord& job) { note_waiting(job, scheduler_->find(core::JobId{job.id})); }

void Controller::note_waiting(const JobRecord& job, const core::Job* j) {
  if (job.state != JobState::Pending) return;
  Waiting w;
  if (j) {
    w.known = true;
    w.reason = j->reason;
    w.reserved_at = j->reserved_at;
    w.blocker = j->blocker.value;
    w.tasks = j->spec.tasks;
    w.begin = j->spec.begin;
    if (j->reason == core::PendingReason::ReservedForOther) {
      const core::Job* other = scheduler_->find(j->blocker);
      if (other && other->has_reservation()) w.blocker_at = other->reserved_at;
    }
  }
  const Waiting* was = waits_.find(job.id);
  if (!was || !(*was == w)) waits_.put(job.id, w);
  // sbatch --kill-on-invalid-dep=yes: cancelled once its dependency can never be met.
  if (j && j->reason == core::PendingReason::DependencyNeverSatisfied && job.request.kill_on_invalid_dep) {
    invalid_dependents_.insert(job.id);
  }
}

void Controller::note_all_waiting() {
  scheduler_->visit_pending([&](const core::Job& j) {
    if (const JobRecord* job = jobs_.find(j.spec.id.value)) note_waiting(*job, &j);
  });
}

std::optional<JobRecord> Controller::job(std::int64_t id) const {
  const auto v = view();
  const JobRecord* found = v->jobs.find(id);
  if (!found) return std::nullopt;
  std::string scratch;
  JobRecord out = *found;
  out.show(v->reason(out, scratch));
  if (out.state == JobState::Pending && options_.queue_order == core::QueueOrder::Multifactor) {
    std::lock_guard lock(mu_);  // the terms are the core's, as of now
    if (scheduler_->find(core::JobId{id})) {
      out.priority = scheduler_->priority_terms(core::JobId{id}, std::max(last_pass_, out.submit));
    }
  }
  return out;
}

std::vector<JobRecord> Controller::jobs(bool all) const {
  std::vector<JobRecord> out;
  for_each_job(all, [&](const JobRecord& job, api::Reason reason) {
    out.push_back(job);
    out.back().show(reason);
  });
  return out;
}

void Controller::for_each_job(bool all, const std::function<void(const JobRecord&, api::Reason)>& visit) const {
  const auto v = view();
  std::string scratch;
  v->jobs.scan(false, [&](std::int64_t, const JobRecord& job) {
    if (all || !job.ended()) visit(job, v->reason(job, scratch));
    return true;
  });
}

void Controller::scan_jobs(bool all, bool newest_first,
                           const std::function<bool(const JobRecord&, const Reasons&)>& visit,
                           StateCounts* counts) const {
  const auto v = view();
  if (counts) *counts = v->by_state;
  std::string scratch;
  const Reasons reasons(*v, scratch);
  v->jobs.scan(newest_first,
               [&](std::int64_t, const JobRecord& job) { return !(all || !job.ended()) || visit(job, reasons); });
}

api::Reason Controller::View::reason(const JobRecord& job, std::string& scratch) const {
  const auto h = held->find(job.id);
  return reason_of(waiting.find(job.id), h == held->end() ? nullptr : &h->second, job, scratch);
}

api::Reason Controller::reason_of(const Waiting* j, const std::string* held, const JobRecord& job,
                                  std::string& scratch) {
  using api::ReasonCode;
  if (job.state == JobState::Cancelled && job.reason.starts_with("DependencyNeverSatisfied")) {
    return {ReasonCode::DependencyNeverSatisfied, job.reason};  // --kill-on-invalid-dep=yes ended it
  }
  if (job.state != JobState::Pending || !j || !j->known) return {ReasonCode::None, job.reason};
  std::string_view reason;
  ReasonCode code = ReasonCode::None;
  switch (j->reason) {
    case core::PendingReason::Resources:
      code = ReasonCode::Resources;
      reason = "Resources: waiting for resources to free up";
      break;
    case core::PendingReason::Reserved:
      code = ReasonCode::Reserved;
      scratch = "Reserved: resources are reserved for it, expected start at " + core::format_utc(j->reserved_at);
      reason = scratch;
      break;
    case core::PendingReason::NodesUnavailable:
      code = ReasonCode::NodesUnavailable;
      reason = "NodesUnavailable: the nodes it fits are drained or down";
      break;
    case core::PendingReason::ReservedForOther: {
      code = ReasonCode::ReservedForJob;
      scratch = "ReservedForJob: it fits now, but in room reserved for job " + std::to_string(j->blocker);
      if (j->blocker_at >= 0) scratch += " (expected to start at " + core::format_utc(j->blocker_at) + ")";
      reason = scratch;
      break;
    }
    case core::PendingReason::GangNodes:
      code = ReasonCode::Gang;
      scratch = "Gang: waiting for room for all its " + std::to_string(j->tasks) + " tasks at once, one per node";
      reason = scratch;
      break;
    case core::PendingReason::QuotaReached:
      code = ReasonCode::QuotaReached;
      reason = "QuotaReached: its project's or institution's accelerators are all in use";
      break;
    case core::PendingReason::Preempting:
      code = ReasonCode::Preempting;
      reason = "Preempting: preemptible jobs are stopping to make room for it";
      break;
    case core::PendingReason::Held:
      if (job.hold == Hold::Admin) {
        code = ReasonCode::JobHeldAdmin;
        reason = "JobHeldAdmin: held by an operator until an operator releases it";
      } else if (job.hold == Hold::User) {
        code = ReasonCode::JobHeldUser;
        reason = "JobHeldUser: held by its owner until released (scontrol release, gwang release)";
      } else if (held) {
        code = ReasonCode::Held;
        reason = *held;
      }
      break;
    case core::PendingReason::BeginTime:
      code = ReasonCode::BeginTime;
      scratch = "BeginTime: not before " + core::format_utc(j->begin);
      reason = scratch;
      break;
    case core::PendingReason::Dependency:
      code = ReasonCode::Dependency;
      scratch = "Dependency: waiting for " + job.request.dependency;
      reason = scratch;
      break;
    case core::PendingReason::DependencyNeverSatisfied:
      code = ReasonCode::DependencyNeverSatisfied;
      scratch =
          "DependencyNeverSatisfied: " + job.request.dependency + " can no longer hold; it will not run (cancel it)";
      reason = scratch;
      break;
    case core::PendingReason::ArrayTaskLimit:
      code = ReasonCode::JobArrayTaskLimit;
      reason = "JobArrayTaskLimit: its array runs as many tasks at once as it allows";
      break;
    case core::PendingReason::Licenses:
      code = ReasonCode::Licenses;
      scratch = "Licenses: waiting for licenses to free up (" + job.request.licenses + ")";
      if (j->reserved_at >= 0) scratch += ", expected start at " + core::format_utc(j->reserved_at);
      reason = scratch;
      break;
    default:
      code = ReasonCode::Priority;
      reason = "Priority: jobs ahead of it go first";
  }
  if (job.attempt == 0) return {code, reason};
  scratch = std::string(reason) + " (" + job.reason + ")";
  return {code, scratch};
}

JobRecord Controller::with_reason(JobRecord job) {
  note_waiting(job);
  std::string scratch;
  const auto h = held_.find(job.id);
  job.show(reason_of(waits_.find(job.id), h == held_.end() ? nullptr : &h->second, job, scratch));
  return job;
}

std::map<std::int64_t, std::int64_t> Controller::planned_starts(std::int64_t now, std::size_t limit) const {
  std::lock_guard lock(mu_);
  std::map<std::int64_t, std::int64_t> out;
  for (const auto& [id, at] : scheduler_->planned_starts(now, limit)) out[id.value] = at;
  return out;
}

Controller::StartHints Controller::start_hints(std::int64_t id, std::int64_t now) const {
  std::lock_guard lock(mu_);
  StartHints out;
  const core::Job* job = scheduler_->find(core::JobId{id});
  if (!job || job->state != core::JobState::Pending) return out;
  out.waiting = true;
  const core::WhatIf what = scheduler_->what_if(core::JobId{id}, now);
  out.start = what.start;
  const core::JobSpec& spec = job->spec;
  auto plural = [](std::int64_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
  };
  for (const core::Hint& h : what.hints) {
    StartHint hint;
    hint.value = h.value;
    hint.start = h.start;
    switch (h.change) {
      case core::Hint::Change::FewerDevices:
        hint.change = "gpus";
        hint.text = "with " + plural(h.value, "accelerator", "accelerators") + " per task instead of " +
                    std::to_string(spec.task.accel.count);
        break;
      case core::Hint::Change::OtherModel:
        hint.change = "model";
        hint.model = scheduler_->cluster().registry().name(h.model);
        hint.text = "on " + hint.model + " instead";
        break;
      case core::Hint::Change::FewerTasks:
        hint.change = "nodes";
        hint.text = "on " + plural(h.value, "node", "nodes") + " instead of " + std::to_string(spec.tasks);
        break;
      case core::Hint::Change::ShorterLimit:
        hint.change = "time_limit";
        hint.text = "with a time limit of at most " + api::format_duration(h.value) +
                    ": it would run before the reserved job starts";
        break;
    }
    out.hints.push_back(std::move(hint));
  }
  return out;
}

std::vector<Controller::FairShareRow> Controller::fair_share(std::int64_t now) const {
  std::lock_guard lock(mu_);
  const core::FairShare& fs = scheduler_->fairshare();
  const std::vector<double> factors = fs.factors(now);
  std::vector<FairShareRow> out;
  out.reserve(fs.size());
  for (std::uint32_t i = 1; i < fs.size(); ++i) {  // 0 is the centre itself
    FairShareRow row;
    for (core::AccountId a{i}; a != core::FairShare::root(); a = fs.parent(a)) row.path.push_back(fs.name(a));
    std::reverse(row.path.begin(), row.path.end());
    row.terms = fs.terms(core::AccountId{i}, now);
    row.factor = i < factors.size() ? factors[i] : row.terms.factor;
    out.push_back(std::move(row));
  }
  return out;
}

Status Controller::status(int window) const {
  std::lock_guard lock(mu_);
  Status s;
  s.jobs = static_cast<std::int64_t>(jobs_.size());
  s.pending = static_cast<std::int64_t>(scheduler_->pending_count());
  s.running = static_cast<std::int64_t>(running_.size());
  s.nodes = static_cast<std::int64_t>(by_id_.size());
  for (const Node* n : by_id_) s.nodes_up += n->heard && !n->down && !n->drained;
  s.passes = passes_;
  if (!pass_ms_.empty()) {
    s.pass_ms_last = pass_ms_[(passes_ - 1) % pass_ms_.size()];
    const std::size_t n = std::clamp<std::size_t>(static_cast<std::size_t>(std::max(window, 1)), 1, pass_ms_.size());
    std::vector<double> sorted;
    for (std::size_t i = 0; i < n; ++i) sorted.push_back(pass_ms_[(passes_ - 1 - i) % pass_ms_.size()]);
    std::sort(sorted.begin(), sorted.end());
    auto at = [&](double q) {
      return sorted[std::min(sorted.size() - 1, static_cast<std::size_t>(q * sorted.size()))];
    };
    s.pass_ms_p50 = at(0.5);
    s.pass_ms_p99 = at(0.99);
    s.pass_ms_max = sorted.back();
  }
  if (inflight_ == 0 && unflushed_.empty() && !awaiting_ && !snapshotting_) s.journal_seq = journal_->last_seq();
  s.snapshot_seq = snapshot_seq_;
  return s;
}

void Controller::write_metrics(std::string& out) const {
  namespace m = metrics;
  std::lock_guard lock(mu_);
  std::int64_t counts[std::size(kJobStates)] = {};
  jobs_.scan(false, [&](std::int64_t, const JobRecord& job) {
    ++counts[static_cast<std::size_t>(job.state)];
    return true;
  });
  std::map<std::string_view, std::int64_t> by_state;  // by name, as they are listed
  for (JobState s : kJobStates) by_state[to_string(s)] = counts[static_cast<std::size_t>(s)];
  m::family(out, "gwang_jobs", "gauge", "Jobs the controller holds, by state");
  for (const auto& [state, n] : by_state) m::sample(out, "gwang_jobs", m::labels({{"state", state}}), n);
  m::family(out, "gwang_queue_length", "gauge", "Jobs waiting to start (held ones included)");
  m::sample(out, "gwang_queue_length", "", static_cast<double>(scheduler_->pending_count()));
  m::family(out, "gwang_jobs_held", "gauge", "Waiting jobs held because their project's grants do not let them run");
  m::sample(out, "gwang_jobs_held", "", static_cast<double>(held_.size()));
  m::family(out, "gwang_job_wait_seconds", "histogram", "Time from submission to start, observed at each start");
  wait_seconds_.write(out, "gwang_job_wait_seconds");
  m::family(out, "gwang_scheduling_pass_duration_seconds", "histogram", "Duration of the scheduler's passes");
  pass_seconds_.write(out, "gwang_scheduling_pass_duration_seconds");
  m::family(out, "gwang_scheduler_decisions_total", "counter", "Decisions of the scheduler, by action");
  m::sample(out, "gwang_scheduler_decisions_total", m::labels({{"action", "start"}}),
            static_cast<double>(started_total_));
  m::sample(out, "gwang_scheduler_decisions_total", m::labels({{"action", "preempt"}}),
            static_cast<double>(preempted_total_));

  // Nodes, and devices by model and state: free, shared (part of it in use), busy, unavailable (on a
  // node that takes no work).
  std::map<std::string, std::int64_t> nodes{{"up", 0}, {"drained", 0}, {"down", 0}, {"unknown", 0}};
  std::map<std::pair<std::string, int>, core::Milli> used;  // (node, device index) -> milli in use
  for (std::int64_t id : running_) {
    for (const TaskRecord& t : jobs_.find(id)->tasks) {
      if (t.done) continue;
      for (const core::DeviceShare& d : t.shares) used[{t.node, d.index}] += d.milli;
    }
  }
  std::map<std::pair<std::string, std::string>, std::int64_t> devices;  // (model, state)
  std::map<std::string, std::pair<double, double>> utilisation;         // model -> (used, total) in devices
  for (const Node* n : by_id_) {
    const bool usable = n->heard && !n->down && !n->drained;
    ++nodes[n->down ? "down" : !n->heard ? "unknown" : n->drained ? "drained" : "up"];
    for (std::size_t i = 0; i < n->host.devices.size(); ++i) {
      const std::string& model = n->host.devices[i].kind;
      auto u = used.find({n->name, static_cast<int>(i)});
      const core::Milli milli = u == used.end() ? 0 : u->second;
      const char* state = device_state(usable, milli);
      for (const char* s : {"free", "shared", "busy", "unavailable"}) devices.try_emplace({model, s}, 0);
      ++devices[{model, state}];
      utilisation[model].first += static_cast<double>(milli) / core::kMilli;
      utilisation[model].second += 1;
    }
  }
  m::family(out, "gwang_nodes", "gauge", "Nodes by state");
  for (const auto& [state, n] : nodes) m::sample(out, "gwang_nodes", m::labels({{"state", state}}), n);
  m::family(out, "gwang_devices", "gauge", "Accelerator devices by model and state");
  for (const auto& [key, n] : devices) {
    m::sample(out, "gwang_devices", m::labels({{"model", key.first}, {"state", key.second}}), n);
  }
  m::family(out, "gwang_accelerator_utilisation_ratio", "gauge",
            "Share of each accelerator model's devices in use now (shares counted by their part)");
  for (const auto& [model, u] : utilisation) {
    m::sample(out, "gwang_accelerator_utilisation_ratio", m::labels({{"model", model}}),
              u.second > 0 ? u.first / u.second : 0);
  }
  m::family(out, "gwang_grant_remaining_hours", "gauge", "Normalised accelerator-hours left in each grant");
  for (const core::Grant& g : books_.grants().all()) {
    const std::string id = std::to_string(g.id.value);
    m::sample(out, "gwang_grant_remaining_hours",
              m::labels({{"grant", id}, {"project", g.project}, {"programme", g.programme}}), g.remaining());
  }
  m::family(out, "gwang_grant_used_hours", "gauge", "Normalised accelerator-hours charged to each grant");
  for (const core::Grant& g : books_.grants().all()) {
    const std::string id = std::to_string(g.id.value);
    m::sample(out, "gwang_grant_used_hours",
              m::labels({{"grant", id}, {"project", g.project}, {"programme", g.programme}}), g.used);
  }
}

}  // namespace gwang::controller
