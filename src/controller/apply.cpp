// Events applied to the records in memory: one function per kind of event, the same for a change
// the controller makes live (once journalled) and for recovery. What an event means for the core,
// the nodes and the books' running charges is the caller's: these change the records only.

#include <algorithm>

#include "controller/controller.h"

namespace gwang::controller {

namespace {

std::string unknown_job(std::int64_t id) { return "names unknown job " + std::to_string(id); }

}  // namespace

Result<void> Controller::apply(events::Event&& event, std::int64_t time) {
  return std::visit([&](auto& e) { return apply(std::move(e), time); }, event);
}

Result<void> Controller::apply(events::Submitted&& e, std::int64_t time) {
  const std::size_t count = e.array_tasks.empty() ? 1 : e.array_tasks.size();
  if (e.id < 1 || e.id > kMaxJobId - static_cast<std::int64_t>(count))
    return fail("a job with id " + std::to_string(e.id) + ": out of range");
  for (std::size_t k = 0; k < count; ++k) {
    JobRecord job;
    job.id = e.id + static_cast<std::int64_t>(k);
    job.user = e.user;
    job.project = e.project;
    job.preemptible = e.preemptible;
    job.request = k + 1 < count ? e.request : std::move(e.request);
    job.submit = time;
    if (!e.array_tasks.empty()) {
      job.array_job = e.id;
      job.array_task = e.array_tasks[k];
    }
    if (job.request.hold) job.hold = Hold::User;
    if (job.request.allocation == api::Allocation::Attended) new_allocations_.push_back(job.id);
    watch_deadline(job);
    jobs_.put(job.id, std::move(job));
  }
  next_id_ = std::max(next_id_, e.id + static_cast<std::int64_t>(count));
  return {};
}

Result<void> Controller::apply(const events::Started& e, std::int64_t time) {
  JobRecord* found = jobs_.edit(e.id);
  if (!found) return fail(unknown_job(e.id));
  JobRecord& job = *found;
  job.state = JobState::Running;
  job.start = time;
  job.attempt = e.attempt;
  job.credential = e.credential;
  job.tasks = e.tasks;
  if (e.time_s > 0) job.request.time_s = e.time_s;  // lowered to start it (--time-min)
  if (job.request.exclusive) {
    // Its nodes are its own: it has all of their CPUs (the fewest of any of them, where they differ).
    int cpus = 0;
    for (const TaskRecord& t : job.tasks) {
      const Node* node = find_node(t.node);
      const int here = !t.cpus.empty() ? static_cast<int>(t.cpus.size()) : node ? node->host.cpus : job.request.cpus;
      cpus = cpus == 0 ? here : std::min(cpus, here);
    }
    job.request.cpus = std::max(cpus, job.request.cpus);
  }
  return {};
}

Result<void> Controller::apply(const events::RankEnded& e, std::int64_t) {
  JobRecord* found = jobs_.edit(e.id);
  if (!found) return fail(unknown_job(e.id));
  JobRecord& job = *found;
  if (e.attempt == job.attempt && e.rank >= 0 && e.rank < static_cast<int>(job.tasks.size())) {
    job.tasks[static_cast<std::size_t>(e.rank)].done = true;
    rank_ends_[e.id][e.rank] = {e.state, e.exit_code, e.reason};
  }
  return {};
}

Result<void> Controller::apply(const events::StepStarted& e, std::int64_t time) {
  JobRecord* found = jobs_.edit(e.id);
  if (!found) return fail(unknown_job(e.id));
  JobRecord& job = *found;
  if (e.attempt != job.attempt || e.step != static_cast<int>(job.steps.size()))
    return fail("step " + std::to_string(e.step) + " is not the job's next");
  StepRecord step;
  step.id = e.step;
  step.name = e.name;
  step.argv = e.argv;
  step.workdir = e.workdir;
  step.env = e.env;
  step.cpus_per_task = std::max(1, e.cpus_per_task);
  step.cpus_per_task_given = e.cpus_per_task > 0;
  step.kill_on_bad_exit = e.kill_on_bad_exit;
  step.overlap = e.overlap;
  step.node_cpus = e.node_cpus;
  step.node_mem = e.node_mem;
  step.own_devices = e.own_devices;
  step.preserve_env = e.preserve_env;
  step.time_s = e.time_s;
  step.resv_ports = e.resv_ports;
  step.no_kill = e.no_kill;
  step.pty_rows = e.pty_rows;
  step.pty_cols = e.pty_cols;
  step.node_devices = e.node_devices;
  if (!e.task_devices.empty() && e.task_devices.size() != e.task_nodes.size())
    return fail("the devices of " + std::to_string(e.task_devices.size()) + " task(s) of a step of " +
                std::to_string(e.task_nodes.size()));
  step.start = time;
  if (!e.task_cpus.empty() && e.task_cpus.size() != e.task_nodes.size())
    return fail("the CPUs of " + std::to_string(e.task_cpus.size()) + " task(s) of a step of " +
                std::to_string(e.task_nodes.size()));
  for (std::size_t t = 0; t < e.task_nodes.size(); ++t) {
    const int node = e.task_nodes[t];
    if (node < 0 || node >= static_cast<int>(job.tasks.size()))
      return fail("a task on node " + std::to_string(node) + " of a job of " + std::to_string(job.tasks.size()));
    step.tasks.push_back({node, JobState::Running, 0, 0, e.task_cpus.empty() ? std::vector<int>{} : e.task_cpus[t],
                          e.task_devices.empty() ? std::vector<std::string>{} : e.task_devices[t]});
  }
  job.steps.push_back(std::move(step));
  return {};
}

// The step an event names, of the job's current attempt; nullptr for an attempt that is over.
StepRecord* Controller::step_of(JobRecord& job, int attempt, int step) {
  if (attempt != job.attempt || step < 0 || step >= static_cast<int>(job.steps.size())) return nullptr;
  return &job.steps[static_cast<std::size_t>(step)];
}

Result<void> Controller::apply(const events::StepTaskEnded& e, std::int64_t time) {
  JobRecord* job = jobs_.edit(e.id);
  if (!job) return fail(unknown_job(e.id));
  if (StepRecord* step = step_of(*job, e.attempt, e.step)) {
    step_task_ended(*step, e.task, e.state, e.exit_code, e.signal, time);
    note_step_news(*job);
  }
  return {};
}

Result<void> Controller::apply(const events::StepStopping& e, std::int64_t) {
  JobRecord* job = jobs_.edit(e.id);
  if (!job) return fail(unknown_job(e.id));
  if (StepRecord* step = step_of(*job, e.attempt, e.step)) {
    step->stopping = e.why;
    step->cancelled = e.cancel;
  }
  return {};
}

Result<void> Controller::apply(const events::Requeued& e, std::int64_t) {
  JobRecord* found = jobs_.edit(e.id);
  if (!found) return fail(unknown_job(e.id));
  JobRecord& job = *found;
  job.state = JobState::Pending;
  job.attempt = e.attempt;
  job.reason = e.reason;
  job.start = -1;
  job.tasks.clear();
  job.steps.clear();
  rank_ends_.erase(e.id);
  return {};
}

Result<void> Controller::apply(const events::Ended& e, std::int64_t time) {
  JobRecord* found = jobs_.edit(e.id);
  if (!found) return fail(unknown_job(e.id));
  JobRecord& job = *found;
  close_steps(job, time, false);
  books_.forget(e.id);
  job.state = e.state;
  job.exit_code = e.exit_code;
  job.reason = e.reason;
  job.end = time;
  rank_ends_.erase(e.id);
  return {};
}

Result<void> Controller::apply(const events::NodeLeft& e, std::int64_t) {
  JobRecord* job = jobs_.edit(e.id);
  if (!job) return fail(unknown_job(e.id));
  if (e.attempt != job->attempt) return {};
  for (TaskRecord& t : job->tasks) {
    if (t.node != e.node) continue;
    t.done = true;
    t.lost = true;
  }
  return {};
}

Result<void> Controller::apply(const events::Signalled& e, std::int64_t) {
  JobRecord* job = jobs_.edit(e.id);
  if (!job) return fail(unknown_job(e.id));
  job->signals.push_back(e.signal);
  return {};
}

Result<void> Controller::apply(const events::Held& e, std::int64_t) {
  for (std::int64_t id : e.ids) {
    if (!jobs_.contains(id)) return fail(unknown_job(id));
  }
  for (std::int64_t id : e.ids) jobs_.edit(id)->hold = e.hold;
  return {};
}

Result<void> Controller::apply(const events::NodeRegistered& e, std::int64_t) {
  agent::HostResources host;
  host.cpus = e.cpus;
  host.memory_bytes = e.memory_bytes;
  host.devices = e.devices;
  host.features = e.features;
  host.tmp_bytes = e.tmp_bytes;
  registered(e.node, host, e.instance, e.address);
  return {};
}

Controller::Node& Controller::registered(const std::string& name, const agent::HostResources& host,
                                         const std::string& instance, const std::string& address) {
  Node* node = find_node(name);
  if (!node) {
    node = &add_node(name, host, false);
  } else if (!node->local) {
    node->host = host;  // a change is refused while a node is known; kept as journalled
    set_features(*node);
  }
  node->instance = instance;
  node->address = address;
  node_images_.reset();
  return *node;
}

Result<void> Controller::apply(const events::NodeState& e, std::int64_t) {
  const bool drained = e.state != "up";
  drained ? (void)drained_names_.insert(e.node) : (void)drained_names_.erase(e.node);
  if (Node* node = find_node(e.node)) node->drained = drained;
  return {};
}

}  // namespace gwang::controller
