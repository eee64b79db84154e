// Admission: a request checked and made into jobs (or an array of them), journalled, then queued;
// test submissions; cancels and holds of what waits.

#include <algorithm>
#include <cassert>

#include "api/units.h"
#include "controller/controller.h"
#include "slurm/core_dependencies.h"
#include "slurm/features.h"
#include "slurm/specs.h"

namespace gwang::controller {

Result<std::shared_ptr<const core::NodeFilter>> Controller::node_filter(const api::SubmitRequest& r) const {
  const auto ids_of = [this](const std::vector<std::string>& names) -> Result<std::vector<core::NodeId>> {
    std::vector<core::NodeId> ids;
    for (const std::string& name : names) {
      const auto it = nodes_.find(name);
      if (it == nodes_.end()) return fail("Invalid node name specified: no node '" + name + "'");
      ids.push_back(it->second->id);
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    return ids;
  };
  auto filter = std::make_shared<core::NodeFilter>();
  if (!r.nodelist.empty()) {
    for (const std::string& name : r.nodelist) {
      if (std::find(r.exclude.begin(), r.exclude.end(), name) != r.exclude.end())
        return fail("node " + name + " is both required (--nodelist) and excluded (--exclude)");
    }
    auto ids = ids_of(r.nodelist);
    if (!ids) return tl::unexpected(ids.error());
    if (static_cast<int>(ids->size()) != r.nodes) {
      return fail("the job asks for " + std::to_string(r.nodes) + " node(s) and names " + std::to_string(ids->size()) +
                  " (--nodelist): gwang runs such a job on exactly the nodes it names");
    }
    filter->ids = std::move(*ids);
  } else {
    auto ids = ids_of(r.exclude);
    if (!ids) return tl::unexpected(ids.error());
    filter->ids = std::move(*ids);
    filter->exclude = true;
  }
  return std::shared_ptr<const core::NodeFilter>(std::move(filter));
}

namespace {

// A rule's names as the core's feature numbers: a clause of names no node has can never be met
// (nullopt).
std::optional<core::FeatureRule> rule_of(const slurm::FeatureClauses& clauses, const core::ResourceRegistry& registry) {
  core::FeatureRule rule;
  for (const auto& clause : clauses) {
    core::FeatureSet set = 0;
    for (const std::string& name : clause) {
      if (auto bit = registry.find_feature(name)) set |= core::FeatureSet{1} << *bit;
    }
    if (set == 0) return std::nullopt;
    rule.clauses.push_back(set);
  }
  return rule;
}

core::FeatureRule both(core::FeatureRule a, const core::FeatureRule& b) {
  a.clauses.insert(a.clauses.end(), b.clauses.begin(), b.clauses.end());
  return a;
}

}  // namespace

Result<void> Controller::set_features(const api::SubmitRequest& r, core::JobSpec& spec) const {
  spec.task.tmp_mib = (r.tmp_bytes + kMiB - 1) / kMiB;
  spec.task.shape = {r.sockets_per_node, r.cores_per_socket, r.threads_per_core, r.cores_per_node};
  spec.task.whole_node = r.exclusive;
  if (r.constraint.empty() && r.prefer.empty() && r.batch_features.empty()) return {};
  const auto& registry = scheduler_->cluster().registry();
  // --batch: its first task's node (where its script runs) meets these as well.
  slurm::FeatureClauses batch;
  if (!r.batch_features.empty()) {
    auto clauses = slurm::parse_feature_list(r.batch_features);
    if (!clauses) return tl::unexpected(clauses.error());
    batch = std::move(*clauses);
    for (const auto& clause : batch) {
      for (const std::string& name : clause) {
        if (!registry.find_feature(name))
          return fail("Invalid feature specification: no node has feature '" + name + "' (--batch)");
      }
    }
  }
  auto required = r.constraint.empty() ? Result<std::vector<slurm::FeatureWay>>(std::vector<slurm::FeatureWay>{{}})
                                       : slurm::parse_constraint(r.constraint);
  if (!required) return tl::unexpected(required.error());
  for (const std::string& name : slurm::feature_names(*required)) {
    if (!registry.find_feature(name)) return fail("Invalid feature specification: no node has feature '" + name + "'");
  }
  std::vector<slurm::FeatureWay> preferred;
  if (!r.prefer.empty()) {
    auto p = slurm::parse_constraint(r.prefer, "--prefer");
    if (!p) return tl::unexpected(p.error());
    preferred = std::move(*p);
  }
  // Each preferred way with each required one first, then the required ones alone.
  std::vector<slurm::FeatureWay> ways;
  for (const slurm::FeatureWay& p : preferred) {
    for (slurm::FeatureWay w : *required) {
      w.all.insert(w.all.end(), p.all.begin(), p.all.end());
      w.counted.insert(w.counted.end(), p.counted.begin(), p.counted.end());
      ways.push_back(std::move(w));
    }
  }
  ways.insert(ways.end(), required->begin(), required->end());
  auto out = std::make_shared<std::vector<core::FeatureWay>>();
  for (const slurm::FeatureWay& w : ways) {
    core::FeatureWay way;
    auto all = rule_of(w.all, registry);
    bool possible = all.has_value();
    int counted = 0;
    if (possible && !batch.empty()) way.leading.emplace_back(1, both(*all, *rule_of(batch, registry)));
    for (const auto& [count, clauses] : w.counted) {
      auto rule = rule_of(clauses, registry);
      possible = possible && rule.has_value();
      if (possible) way.leading.emplace_back(count, both(*all, *rule));
      counted += count;
    }
    if (counted > r.nodes) {
      return fail("Invalid feature specification: the constraint counts " + std::to_string(counted) +
                  " nodes, and the job has " + std::to_string(r.nodes));
    }
    if (!possible) continue;  // a preferred feature no node has
    way.rest = std::move(*all);
    out->push_back(std::move(way));
  }
  assert(!out->empty());  // the required ways name known features only
  if (out->size() == 1 && out->front().leading.empty()) {
    if (!out->front().rest.clauses.empty())
      spec.task.features = std::make_shared<const core::FeatureRule>(std::move(out->front().rest));
  } else {
    spec.feature_ways = std::move(out);
  }
  return {};
}

Result<void> Controller::set_licenses(const api::SubmitRequest& r, core::JobSpec& spec, bool running) const {
  if (r.licenses.empty()) return {};
  auto asked = slurm::parse_licenses(r.licenses);
  if (!asked) return fail("Invalid license specification: " + asked.error().message);
  const core::Cluster& cluster = scheduler_->cluster();
  for (const slurm::LicenseCount& l : *asked) {
    const auto id = cluster.find_license(l.name);
    // A running job (recovered after the licenses' configuration changed) keeps running: it holds
    // the seats left of what it asked.
    if (running) {
      const std::int64_t seats = id ? std::min(l.count, cluster.license_total(*id)) : 0;
      if (seats > 0) spec.licenses.push_back({*id, static_cast<std::int32_t>(seats)});
      continue;
    }
    if (!id) {
      std::string names;
      for (std::uint16_t k = 0; k < cluster.license_count(); ++k)
        names += (names.empty() ? "" : ", ") + cluster.license_name(k);
      return fail("Invalid license specification: no license '" + l.name +
                  "' (this cluster's: " + (names.empty() ? "none" : names) + ")");
    }
    if (l.count > cluster.license_total(*id)) {
      return fail("Invalid license specification: " + std::to_string(l.count) + " of license '" + l.name +
                  "' asked, and the cluster has " + std::to_string(cluster.license_total(*id)));
    }
    if (l.count > 0) spec.licenses.push_back({*id, static_cast<std::int32_t>(l.count)});
  }
  return {};
}

Result<core::JobSpec> Controller::to_spec(const JobRecord& job) const {
  const api::SubmitRequest& r = job.request;
  core::JobSpec spec;
  spec.id = core::JobId{job.id};
  spec.submit = job.submit;
  spec.tasks = r.nodes;
  spec.spread = r.nodes > 1;
  spec.contiguous = r.contiguous;
  spec.no_kill = r.no_kill;
  spec.time_limit = r.time_s;
  spec.time_min = std::min(r.time_min_s, r.time_s);
  spec.user = job.user;
  spec.project = job.project;
  spec.preemptible = job.preemptible;
  spec.institution = books_.tenancy().institution_of(job.project);
  if (!job.project.empty()) {
    // Its programme's priority: the one it runs under (--qos), else its project's first valid grant's.
    const auto valid = books_.grants().valid(job.project, job.submit);
    const std::string programme = !r.qos.empty() ? r.qos : valid.empty() ? "" : valid.front()->programme;
    if (const core::Programme* p = books_.grants().programme(programme)) spec.programme_priority = p->priority;
  }
  spec.task.scalars.set(core::ResourceRegistry::kCpu, r.cpus * core::kMilli);
  spec.task.scalars.set(core::ResourceRegistry::kMemory, (r.mem_bytes + kMiB - 1) / kMiB * core::kMilli);
  if (r.gpu_share > 0) {
    spec.task.accel.count = 1;
    spec.task.accel.per_device = std::clamp<core::Milli>(static_cast<core::Milli>(r.gpu_share * 1000 + 0.5), 1, 999);
  } else {
    spec.task.accel.count = r.gpus.count;
  }
  const auto& registry = scheduler_->cluster().registry();
  for (const std::string& model : r.gpus.models) {
    // A model may be named bare ("H100": a GPU) or with its family ("npu:ascend910").
    const std::string kind = model.find(':') == std::string::npos ? "gpu:" + model : model;
    auto k = registry.find(kind);
    if (!k || !registry.is_accelerator(*k)) return fail("no node has accelerator model '" + model + "'");
    spec.task.accel.models.push_back(*k);
  }
  if (!r.partition.empty()) {
    spec.task.pool = pool_of(r.partition);
    if (spec.task.pool == 0) {
      std::string names;
      for (const PartitionNodes& p : partitions_) names += (names.empty() ? "" : ", ") + p.spec.name;
      return fail("invalid partition name '" + r.partition + "' (this cluster's: " + names + ")");
    }
  }
  if (!r.nodelist.empty() || !r.exclude.empty()) {
    auto filter = node_filter(r);
    if (!filter) return tl::unexpected(filter.error());
    spec.task.nodes = std::move(*filter);
  }
  if (auto f = set_features(r, spec); !f) return tl::unexpected(f.error());
  if (auto l = set_licenses(r, spec, job.state == JobState::Running); !l) return tl::unexpected(l.error());
  spec.nice = r.nice;
  spec.fixed_priority = r.priority;
  spec.name = r.name;
  spec.begin = r.begin;
  if (job.in_array()) {
    spec.array_job = core::JobId{job.array_job};
    spec.array_task = job.array_task;
    auto a = slurm::parse_array(r.array, api::kMaxArrayIndex + 1);
    if (!a) return fail("array: " + a.error().message);
    spec.array_limit = static_cast<int>(a->max_running.value_or(0));
  }
  if (!r.dependency.empty()) {
    auto d = slurm::parse_dependency(r.dependency);
    if (!d) return fail("dependency: " + d.error().message);
    slurm::set_core_dependencies(*d, spec);
  }
  return spec;
}

std::string Controller::nearest_fit(const core::JobSpec& spec) const {
  std::vector<std::string> changes;
  for (int count = spec.task.accel.count - 1; count >= 1; --count) {
    core::JobSpec fewer = spec;
    fewer.task.accel.count = count;
    if (scheduler_->would_ever_fit(fewer)) {
      changes.push_back("at most " + std::to_string(count) + " accelerator(s) per task");
      break;
    }
  }
  if (spec.task.accel.count > 0 && !spec.task.accel.models.empty()) {
    core::JobSpec any = spec;
    any.task.accel.models.clear();
    if (scheduler_->would_ever_fit(any)) changes.push_back("any accelerator model");
  }
  for (int tasks = spec.tasks - 1; tasks >= 1; --tasks) {
    core::JobSpec fewer = spec;
    fewer.tasks = tasks;
    if (scheduler_->would_ever_fit(fewer)) {
      changes.push_back("at most " + std::to_string(tasks) + " node(s)");
      break;
    }
  }
  if (changes.empty()) return "";
  std::string out = "; it could run with ";
  for (std::size_t i = 0; i < changes.size(); ++i) out += (i == 0 ? "" : ", or ") + changes[i];
  return out;
}

Result<Controller::Prepared> Controller::prepare(const api::SubmitRequest& request, const Account& owner,
                                                 std::int64_t now) {
  Prepared out;
  JobRecord& job = out.job;
  std::vector<std::int64_t>& indices = out.indices;
  job.id = next_id_;
  job.user = owner.name;
  job.request = request;
  job.submit = now;
  auto admitted = books_.admit(owner.name, request.project, request.preemptible, now);
  if (!admitted) return tl::unexpected(admitted.error());
  job.project = admitted->project;
  job.preemptible = admitted->preemptible;
  if (!admitted->note.empty()) job.reason = admitted->note;
  if (!request.qos.empty()) {
    // Slurm's QOS is a programme of the project's grants: one it holds, valid now.
    std::string names;
    for (const auto& [name, p] : books_.grants().programmes()) names += (names.empty() ? "" : ", ") + name;
    if (!books_.grants().programme(request.qos)) {
      return fail("qos '" + request.qos + "': no allocation programme of that name (the centre's: " +
                  (names.empty() ? std::string("none") : names) + ")");
    }
    const auto valid = books_.grants().valid(job.project, now);
    if (job.project.empty() ||
        std::none_of(valid.begin(), valid.end(), [&](const core::Grant* g) { return g->programme == request.qos; })) {
      return fail("qos '" + request.qos + "': project " + (job.project.empty() ? "(none)" : job.project) +
                  " holds no valid grant of that programme");
    }
  }
  if (job.request.workdir.empty()) job.request.workdir = owner.home;
  // A session takes the defaults of its programme (its --qos, else its first grant's), if it has any.
  const core::Programme* programme = books_.grants().programme(request.qos.empty() ? admitted->programme : request.qos);
  if (auto session = prepare_session(job, programme); !session) return tl::unexpected(session.error());
  if (job.request.partition.empty()) {
    const auto d =
        std::find_if(partitions_.begin(), partitions_.end(), [](const PartitionNodes& p) { return p.spec.is_default; });
    job.request.partition = (d == partitions_.end() ? partitions_.front() : *d).spec.name;
  }
  if (const int pool = pool_of(job.request.partition); pool > 0) {
    const api::Partition& part = partitions_[static_cast<std::size_t>(pool - 1)].spec;
    if (part.max_time_s > 0 && job.request.time_s > part.max_time_s) {
      return fail("time limit " + slurm::format_time_limit({false, (job.request.time_s + 59) / 60}) +
                  " is above partition " + part.name + "'s MaxTime of " +
                  slurm::format_time_limit({false, part.max_time_s / 60}));
    }
  }
  if (request.hold) job.hold = Hold::User;
  if (!request.array.empty()) {
    auto a = slurm::parse_array(request.array, options_.max_array_size);
    if (!a) return fail("array: " + a.error().message + " (max_array_size)");
    indices = std::move(a->indices);
    job.array_job = job.id;
    job.array_task = indices.front();
  }
  auto s = to_spec(job);
  if (!s) return tl::unexpected(s.error());
  for (const core::JobDependency& d : s->depends) {
    if (d.kind != core::DependencyKind::Singleton && !scheduler_->find(d.job)) {
      return fail("dependency: job " + std::to_string(d.job.value) + " does not exist");
    }
    if (d.kind == core::DependencyKind::AfterCorr) return fail("dependency: aftercorr is for the tasks of job arrays");
  }
  if (!scheduler_->would_ever_fit(*s)) {
    int cpus = 0;
    std::int64_t memory = 0;
    std::size_t devices = 0;
    for (const auto& [name, node] : nodes_) {
      cpus = std::max(cpus, node->host.cpus);
      memory = std::max(memory, node->host.memory_bytes);
      devices = std::max(devices, node->host.devices.size());
    }
    return fail("no node can ever hold this job: each of its " + std::to_string(request.nodes) + " task(s) needs " +
                std::to_string(request.cpus) + " CPUs, " + api::format_memory(request.mem_bytes) + " of memory" +
                (s->task.accel.count > 0 ? " and " + std::to_string(s->task.accel.count) + " accelerator(s)" : "") +
                " on a node of its own; the largest node has " + std::to_string(cpus) + " CPUs, " +
                api::format_memory(memory) + " and " + std::to_string(devices) + " accelerator(s), and there are " +
                std::to_string(scheduler_->cluster().size()) + " node(s)" + nearest_fit(*s));
  }
  out.spec = std::move(*s);
  return out;
}

Result<Controller::TestOnly> Controller::test_only(const api::SubmitRequest& request, const Account& owner,
                                                   std::int64_t now) {
  std::lock_guard lock(mu_);
  auto prepared = prepare(request, owner, now);
  if (!prepared) return tl::unexpected(prepared.error());
  TestOnly out;
  out.id = prepared->job.id;
  ++next_id_;  // as in Slurm, the id a test names is not given again
  out.partition = prepared->job.request.partition;
  out.cpus = request.cpus * request.nodes;
  const auto planned = scheduler_->plan_submission(prepared->spec, now);
  out.start = planned.start;
  for (const core::TaskPlacement& p : planned.placement) out.nodes.push_back(by_id_.at(p.node.value)->name);
  return out;
}

Result<JobRecord> Controller::submit(const api::SubmitRequest& request, const Account& owner, std::int64_t now) {
  JobRecord job;
  std::optional<core::JobSpec> spec;
  std::vector<std::int64_t> indices;  // a job array's
  {
    std::lock_guard lock(mu_);
    auto prepared = prepare(request, owner, now);
    if (!prepared) return tl::unexpected(prepared.error());
    job = std::move(prepared->job);
    indices = std::move(prepared->indices);
    spec = std::move(prepared->spec);
    next_id_ += indices.empty() ? 1 : static_cast<std::int64_t>(indices.size());
    ++inflight_;
  }
  // Durable before anything else happens to it; concurrent submissions share one disk flush. An
  // array is one record, however many tasks it has.
  auto journalled =
      journal(events::Submitted{job.id, job.user, job.project, job.preemptible, job.request, indices}, now);
  Changing lock(*this);
  --inflight_;
  if (!journalled) return tl::unexpected(journalled.error());
  const std::size_t count = indices.empty() ? 1 : indices.size();
  for (std::size_t k = 0; k < count; ++k) {
    JobRecord task = job;
    core::JobSpec task_spec = *spec;
    task.id = job.id + static_cast<std::int64_t>(k);
    task_spec.id = core::JobId{task.id};
    if (!indices.empty()) task.array_task = task_spec.array_task = indices[k];
    auto status = scheduler_->submit(std::move(task_spec), now);
    if (!status) return tl::unexpected(status.error());  // validated above: a broken invariant otherwise
    if (task.hold != Hold::None) scheduler_->hold(core::JobId{task.id});
    if (task.request.allocation == api::Allocation::Attended) new_allocations_.push_back(task.id);
    watch_deadline(task);
    jobs_.put(task.id, std::move(task));
  }
  // A job that can start now starts at the next round of the control loop (milliseconds away),
  // with the other starts of that pass: the answer does not wait for it.
  if (scheduler_->fits_now(spec->id)) pass_due_ = true;
  return with_reason(*jobs_.find(job.id));
}

Result<JobRecord> Controller::cancel(std::int64_t id, const std::string& user, bool operator_rights, std::int64_t now,
                                     bool task_only) {
  Changing lock(*this);
  const JobRecord* found = jobs_.find(id);
  if (!found || (!operator_rights && found->user != user)) {
    return fail("job " + std::to_string(id) + " not found");
  }
  if (found->in_array() && found->array_job == id && !task_only) {
    // The array: every task not ended yet (its tasks have consecutive ids).
    bool any = false;
    for (std::int64_t t = id;; ++t) {
      const JobRecord* task = jobs_.find(t);
      if (!task || task->array_job != id) break;
      if (task->ended()) continue;
      any = true;
      cancel_one(*jobs_.edit(t), user, now);
    }
    if (!any) return fail("job array " + std::to_string(id) + " has already ended");
    return *jobs_.find(id);
  }
  if (found->ended()) {
    return fail("job " + std::to_string(id) + " has already ended (" + std::string(to_string(found->state)) + ")");
  }
  JobRecord& job = *jobs_.edit(id);
  cancel_one(job, user, now);
  return *jobs_.find(id);
}

void Controller::watch_deadline(const JobRecord& job) {
  // It can still end by its deadline if it starts by then less its least limit.
  const std::int64_t least = job.request.time_min_s > 0 ? job.request.time_min_s : job.request.time_s;
  if (job.request.deadline > 0) deadlines_.emplace(job.request.deadline - least, job.id);
}

void Controller::end_past_deadline(std::int64_t now) {
  while (!deadlines_.empty() && deadlines_.begin()->first < now) {
    const std::int64_t id = deadlines_.begin()->second;
    deadlines_.erase(deadlines_.begin());
    JobRecord* job = jobs_.edit(id);
    if (!job || job->state != JobState::Pending) continue;  // one that runs keeps running, as in Slurm
    scheduler_->cancel(core::JobId{id}, now);
    end(*job, JobState::Deadline, 0, "DeadLine: it could no longer end by its deadline", now);
    pass_due_ = true;
  }
}

void Controller::end_invalid_dependents(std::int64_t now) {
  for (const std::int64_t id : std::exchange(invalid_dependents_, {})) {
    JobRecord* job = jobs_.edit(id);
    if (!job || job->state != JobState::Pending) continue;
    scheduler_->cancel(core::JobId{id}, now);
    end(*job, JobState::Cancelled, 0, "DependencyNeverSatisfied: " + job->request.dependency + " can no longer hold",
        now);
    pass_due_ = true;
  }
}

void Controller::cancel_one(JobRecord& job, const std::string& user, std::int64_t now) {
  const std::int64_t id = job.id;
  if (job.state == JobState::Pending) {
    scheduler_->cancel(core::JobId{id}, now);
    end(job, JobState::Cancelled, 0, "cancelled by " + user, now);
    pass_due_ = true;  // the jobs behind it may now go
  } else {
    stop_tasks(job, agent::TaskEnd::Cancelled, "cancelled by " + user, now);
    if (!job.ended()) job.reason = "cancelling (asked by " + user + ")";
  }
}

Result<JobRecord> Controller::set_hold(std::int64_t id, bool hold, const std::string& user, bool operator_rights,
                                       std::int64_t now, bool task_only) {
  Changing lock(*this);
  const JobRecord* found = jobs_.find(id);
  if (!found || (!operator_rights && found->user != user)) {
    return fail("job " + std::to_string(id) + " not found");
  }
  const bool array = found->in_array() && found->array_job == id && !task_only;
  const JobState state = found->state;
  const std::string owner = found->user;
  events::Held held{{}, Hold::None, user};
  for (std::int64_t t = id;; ++t) {  // the job, or its array's tasks (consecutive ids)
    const JobRecord* j = jobs_.find(t);
    if (!j || (t != id && !(array && j->array_job == id))) break;
    if (j->state != JobState::Pending || hold != (j->hold == Hold::None)) continue;  // not pending, or as asked already
    if (!hold && j->hold == Hold::Admin && !operator_rights) {
      return fail("job " + std::to_string(j->id) + " is held by an operator: only an operator may release it");
    }
    held.ids.push_back(t);
    if (!array) break;
  }
  const std::string what = array ? "job array " + std::to_string(id) : "job " + std::to_string(id);
  if (held.ids.empty()) {
    if (!array && state == JobState::Pending) return fail(what + (hold ? " is held already" : " is not held"));
    return fail(what + " is not pending" + (array ? "" : " (" + std::string(to_string(state)) + ")"));
  }
  // An operator's hold of someone else's job is the operator's to lift (Slurm's admin hold).
  held.hold = !hold ? Hold::None : operator_rights && owner != user ? Hold::Admin : Hold::User;
  if (auto r = journal(held, now); !r) return tl::unexpected(r.error());
  auto applied = apply(held, now);
  assert(applied);  // of jobs found above, under the same lock
  (void)applied;
  for (std::int64_t t : held.ids) hold_in_core(*jobs_.find(t), now);
  return with_reason(*jobs_.find(id));
}

void Controller::hold_in_core(const JobRecord& job, std::int64_t now) {
  const core::JobId jid{job.id};
  if (job.hold != Hold::None) {
    scheduler_->hold(jid);  // false when its grants hold it already: it stays held, for both reasons
  } else if (!held_.contains(job.id)) {
    scheduler_->release(jid, now);
  }
  pass_due_ = true;
}

}  // namespace gwang::controller
