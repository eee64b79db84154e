// Starts: a start the pass decided, recorded with its ranks in the nodes' order, then sent to its
// nodes (or run here) once durable; a step's tasks sent the same way.

#include <algorithm>
#include <cassert>

#include "controller/auth.h"
#include "controller/controller.h"
#include "controller/launch.h"
#include "slurm/features.h"
#include "slurm/hostlist.h"

namespace gwang::controller {

void Controller::begin(const core::Decision& d, std::int64_t now) {
  JobRecord& job = *jobs_.edit(d.job.value);
  // Ranks go in the nodes' order, as Slurm orders a job's nodes: rank 0 (a batch job's script,
  // a step's first tasks) on the first of them.
  std::vector<core::TaskPlacement> placement;
  {
    slurm::HostList order;
    for (const core::TaskPlacement& p : d.placement) order.push(by_id_.at(p.node.value)->name);
    order.sort();
    std::vector<bool> taken(d.placement.size(), false);
    for (const std::string& name : order.expand()) {
      for (std::size_t i = 0; i < d.placement.size(); ++i) {
        if (taken[i] || by_id_.at(d.placement[i].node.value)->name != name) continue;
        taken[i] = true;
        placement.push_back(d.placement[i]);
        break;
      }
    }
    assert(placement.size() == d.placement.size());
    // --batch: the first of its nodes with the features asked first, where the script runs.
    if (!job.request.batch_features.empty()) {
      const auto clauses = slurm::parse_feature_list(job.request.batch_features);  // checked at submission
      const auto meets = [&](const core::TaskPlacement& p) {
        return clauses && slurm::meets(*clauses, by_id_.at(p.node.value)->host.features);
      };
      const auto batch = std::find_if(placement.begin(), placement.end(), meets);
      if (batch != placement.end()) std::rotate(placement.begin(), batch, batch + 1);
    }
  }
  events::Started started{job.id, job.attempt, random_token().substr(0, 32), {}, d.time_limit};
  for (const core::TaskPlacement& p : placement) {
    Node& node = *by_id_.at(p.node.value);
    TaskRecord t;
    t.node = node.name;
    t.shares = p.devices;
    for (const core::DeviceShare& share : p.devices) t.devices.push_back(node.host.devices.at(share.index).uuid);
    // --gres-flags=disable-binding: its CPUs chosen as if it had no devices.
    const core::TaskPlacement nearness = job.request.gpu_binding_disabled ? core::TaskPlacement{p.node, {}} : p;
    t.cpus = place_cpus(node, job.id, nearness,
                        job.request.exclusive ? whole_node_cpus(node, job.request) : job.request.cpus,
                        job.request.cpu_threads_per_core);
    started.tasks.push_back(std::move(t));
  }
  journal_async(started, now);
  ++started_total_;
  wait_seconds_.observe(static_cast<double>(std::max<std::int64_t>(0, now - job.submit)));
  (void)apply(started, now);  // of the job the pass decided: cannot fail
  mail(job, MailEvent::Began);
  if (job.attempt == 0) job.reason.clear();  // a requeued job keeps saying why it runs again
  running_.insert(job.id);
}

void Controller::launch(JobRecord& job, std::int64_t now) {
  if (job.allocation()) note_step_news(job);  // its start is durable: its holder hears of it
  bool remote = false;
  for (std::size_t rank = 0; rank < job.tasks.size(); ++rank) {
    if (!job.runs_rank(rank)) continue;
    Node& node = *find_node(job.tasks[rank].node);
    agent::Launch l = job_launch(job, static_cast<int>(rank));
    node.tasks.insert(l.task);
    if (node.local && stopping_.contains(job.id)) {
      // Cancelled (or out of time) between its start being decided and being durable: it never runs.
      agent::Finished f;
      f.task = l.task;
      f.status.end = stopping_.at(job.id).first;
      f.message = stopping_.at(job.id).second + " before it started";
      task_ended(node, f, now);
    } else if (l.service_port >= 0 && !node.local && !node.takes_services) {
      agent::Finished f;
      f.task = l.task;
      f.status.exit_code = 1;
      f.message = "node " + node.name + "'s agent is of an earlier gwang, which serves no session: update it";
      task_ended(node, f, now);
    } else if (node.local) {
      local_->launch(l);
    } else {
      node.launches[l.task] = std::move(l);
      remote = true;
    }
  }
  if (remote) orders_cv_.notify_all();
}

void Controller::launch_step(JobRecord& job, const StepRecord& step) {
  bool remote = false;
  for (std::size_t t = 0; t < step.tasks.size(); ++t) {
    if (step.tasks[t].done()) continue;
    Node* node = find_node(job.tasks[static_cast<std::size_t>(step.tasks[t].node)].node);
    if (!node) continue;  // gone: the job is failing with it
    agent::Launch l = step_launch(job, step, static_cast<int>(t));
    node->tasks.insert(l.task);
    if (node->local) {
      local_->launch(l);
    } else {
      node->launches[l.task] = std::move(l);
      remote = true;
    }
  }
  if (remote) orders_cv_.notify_all();
}

std::string Controller::master_address(const JobRecord& job) const {
  const Node& master = *nodes_.at(job.tasks.front().node);
  return master.address.empty() ? master.name : master.address;
}

}  // namespace gwang::controller
