// Charging and the books: running jobs' use charged to their grants, the books' changes, and
// what those change for the waiting jobs (quotas, holds by grants, preemptibility).

#include "controller/controller.h"

#include <cassert>

#include <nlohmann/json.hpp>

namespace gwang::controller {

using nlohmann::json;

void Controller::charge(const JobRecord& job, std::int64_t now) {
  if (job.state != JobState::Running || job.start < 0) return;
  const std::int64_t from = std::max(books_.charged_until(job.id), job.start);
  if (now <= from) return;
  std::vector<TaskUse> use;
  for (std::size_t rank = 0; rank < job.tasks.size(); ++rank) {
    const TaskRecord& t = job.tasks[rank];
    if (t.done) continue;  // charged up to its end when it ended
    std::map<std::string, core::Milli> by_model;
    const Node* node = find_node(t.node);
    for (const core::DeviceShare& share : t.shares) {
      if (node && share.index < node->host.devices.size())
        by_model[node->host.devices[share.index].kind] += share.milli;
    }
    TaskUse u{static_cast<int>(rank), "", 0, job.request.cpus, job.request.mem_bytes};
    if (by_model.empty()) {
      use.push_back(u);
      continue;
    }
    for (const auto& [model, milli] : by_model) {
      u.model = model;
      u.milli = milli;
      use.push_back(u);
      u.cpus = 0;  // a task's CPUs and memory are counted once, with its first model
      u.mem_bytes = 0;
    }
  }
  if (use.empty()) return;
  const json record = books_.usage_record(job.id, job.user, job.project, from, now, use, job.request.qos);
  journal_async("usage.charged", record.dump(), now);
  const std::size_t warnings = books_.warnings().size();
  auto applied = books_.apply("usage.charged", record, now);
  if (books_.warnings().size() != warnings) readmit_due_ = true;  // a grant may be spent
  assert(applied);                                                // made here from valid parts
  (void)applied;
}

Result<void> Controller::administer(const std::string& kind, const json& payload, std::int64_t now) {
  Changing lock(*this);
  if (!Accounting::handles(kind) || kind == "usage.charged") return fail("not a change of the books: " + kind);
  if (auto ok = books_.check(kind, payload); !ok) return ok;
  if (auto r = journal(kind, payload.dump(), now); !r) return r;
  auto applied = books_.apply(kind, payload, now);
  assert(applied);  // checked above, under the same lock
  if (kind.starts_with("quota.")) sync_quotas();
  readmit_due_ = true;
  return applied;
}

void Controller::read_books(const std::function<void(const Accounting&)>& read) const {
  std::lock_guard lock(mu_);
  read(books_);
}

std::vector<std::pair<core::Quota, core::Milli>> Controller::quotas() const {
  std::lock_guard lock(mu_);
  std::vector<std::pair<core::Quota, core::Milli>> out;
  for (const core::Quota& q : scheduler_->quotas())
    out.emplace_back(q, scheduler_->quota_used(q.scope, q.name, q.model));
  return out;
}

void Controller::readmit(std::int64_t now) {
  readmit_due_ = false;
  next_readmit_ = now + 60;
  if (books_.grants().all().empty() && held_.empty()) return;
  std::map<std::pair<std::string, std::string>, Result<JobAdmission>> verdicts;  // by (user, project)
  jobs_.scan(false, [&](std::int64_t id, const JobRecord& job) {
    if (job.state != JobState::Pending || job.project.empty()) return true;
    auto v = verdicts.find({job.user, job.project});
    if (v == verdicts.end()) {
      v = verdicts.emplace(std::make_pair(job.user, job.project), books_.admit(job.user, job.project, false, now))
              .first;
    }
    const core::JobId jid{id};
    if (!v->second) {
      std::string why = "Held: " + v->second.error().message;
      if (auto h = held_.find(id); h == held_.end() || h->second != why) {
        held_[id] = std::move(why);
        held_changed_ = true;
      }
      scheduler_->hold(jid);
      note_waiting(job);
      return true;
    }
    if (held_.erase(id) > 0) {
      held_changed_ = true;
      if (job.hold == Hold::None) {
        scheduler_->release(jid, now);
        pass_due_ = true;
      }
      note_waiting(job);
    }
    const bool preemptible = job.request.preemptible || v->second->preemptible;
    if (preemptible != job.preemptible && scheduler_->set_preemptible(jid, preemptible)) {
      jobs_.edit(id)->preemptible = preemptible;  // `job` is the view's from here on: not read again
      pass_due_ = true;
    }
    return true;
  });
}

void Controller::sync_quotas() {
  const std::vector<core::Quota>& want = books_.quotas();
  for (const core::Quota& q : scheduler_->quotas()) {
    const bool kept = std::any_of(want.begin(), want.end(), [&](const core::Quota& w) {
      return w.scope == q.scope && w.name == q.name && w.model == q.model;
    });
    if (!kept) (void)scheduler_->remove_quota(q.scope, q.name, q.model);
  }
  for (const core::Quota& q : want) {
    auto r = scheduler_->set_quota(q);
    assert(r);  // the books checked it
    (void)r;
  }
  pass_due_ = true;
}

}  // namespace gwang::controller
