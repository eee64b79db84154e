// CPU places on the nodes: each node's CPU topology as its agent reports it, the CPUs its running
// jobs hold, a starting task's CPUs picked near its devices (core/cpus.h), and a step's tasks'
// CPUs split from their job's.

#include <algorithm>
#include <map>

#include "controller/controller.h"

namespace gwang::controller {

void Controller::set_topology(Node& node, const agent::HostResources& host) {
  core::CpuTopology t;
  if (!host.cpu_ids.empty() && static_cast<int>(host.cpu_ids.size()) == host.cpus) {
    t.cpus = host.cpu_ids;
    t.core = host.cpu_cores;
    for (const agent::Device& d : host.devices) t.near.push_back(d.near_cpus);
    if (!core::validate(t)) t = {};
  }
  if (t == node.cpus) return;
  node.cpus = std::move(t);
  set_features(node);  // its shape, from the topology
  node.host.cpu_ids = host.cpu_ids;
  node.host.cpu_cores = host.cpu_cores;
  for (std::size_t i = 0; i < node.host.devices.size() && i < host.devices.size(); ++i)
    node.host.devices[i].near_cpus = host.devices[i].near_cpus;
}

core::NodeShape node_shape(const core::CpuTopology& t, int cpus) {
  if (!t.known()) return {1, cpus, 1};  // unknown: one socket of single-threaded cores
  // A core is its socket's (package << 16) and its own number; one with the high bit is a CPU
  // whose core sysfs did not say (each its own core, on socket 0).
  std::map<int, std::map<int, int>> threads;  // socket -> core -> threads
  for (const int core : t.core) {
    const bool known = core < (1 << 30);
    ++threads[known ? core >> 16 : 0][known ? core & 0xffff : core];
  }
  core::NodeShape shape{static_cast<int>(threads.size()), 1 << 30, 1 << 30};
  for (const auto& [socket, cores] : threads) {
    shape.cores = std::min(shape.cores, static_cast<int>(cores.size()));
    for (const auto& [core, n] : cores) shape.threads = std::min(shape.threads, n);
  }
  return shape;
}

int Controller::whole_node_cpus(const Node& node, const api::SubmitRequest& r) {
  int kept = r.thread_spec;
  if (r.core_spec > 0) {
    const core::NodeShape shape = node_shape(node.cpus, node.host.cpus);
    kept = r.core_spec * std::max(1, shape.threads);
  }
  return std::max(1, node.host.cpus - kept);
}

std::vector<int> Controller::place_cpus(Node& node, std::int64_t job, const core::TaskPlacement& where, int count,
                                        int threads_per_core) {
  if (!node.cpus.known() || count < 1) return {};
  std::vector<bool> held(node.cpus.cpus.size(), false);
  for (const auto& [other, ids] : node.cpus_held) {
    for (const int id : ids) {
      const auto it = std::lower_bound(node.cpus.cpus.begin(), node.cpus.cpus.end(), id);
      if (it != node.cpus.cpus.end() && *it == id) held[static_cast<std::size_t>(it - node.cpus.cpus.begin())] = true;
    }
  }
  std::vector<int> free;
  for (std::size_t i = 0; i < held.size(); ++i) {
    if (!held[i]) free.push_back(node.cpus.cpus[i]);
  }
  std::vector<std::uint16_t> devices;
  for (const core::DeviceShare& d : where.devices) devices.push_back(d.index);
  // Too few cores for the threads per core asked (the scheduler counts CPUs): any of the free.
  auto picked = core::pick_cpus(node.cpus, free, count, devices, threads_per_core);
  if (!picked && threads_per_core > 0) picked = core::pick_cpus(node.cpus, free, count, devices);
  if (!picked) return {};  // more CPUs in use than the node's count says: the task is not bound
  std::vector<int>& mine = node.cpus_held[job];
  mine.insert(mine.end(), picked->begin(), picked->end());
  return std::move(*picked);
}

void Controller::hold_cpus(const JobRecord& job) {
  for (const TaskRecord& t : job.tasks) {
    if (t.cpus.empty() || t.lost) continue;
    if (Node* node = find_node(t.node)) {
      std::vector<int>& mine = node->cpus_held[job.id];
      mine.insert(mine.end(), t.cpus.begin(), t.cpus.end());
    }
  }
}

void Controller::free_cpus(const JobRecord& job) {
  for (const TaskRecord& t : job.tasks) {
    if (Node* node = find_node(t.node)) node->cpus_held.erase(job.id);
  }
}

std::vector<std::vector<int>> Controller::step_cpus(const JobRecord& job, const std::vector<int>& task_nodes,
                                                    int per_task, bool exact, const slurm::CpuBind& bind) const {
  const std::vector<std::vector<int>> listed = slurm::cpu_bind_elements(bind);
  const bool whole =
      bind.type == "none" || bind.type == "ldoms" || bind.type == "boards" || bind.type.ends_with("_ldom");
  std::vector<std::vector<int>> out(task_nodes.size());
  for (std::size_t n = 0; n < job.tasks.size(); ++n) {
    const std::vector<int>& held = job.tasks[n].cpus;
    if (held.empty()) continue;
    std::vector<std::size_t> mine;  // this node's tasks of the step, in task order
    for (std::size_t t = 0; t < task_nodes.size(); ++t) {
      if (task_nodes[t] == static_cast<int>(n)) mine.push_back(t);
    }
    if (mine.empty()) continue;
    if (whole) {
      for (const std::size_t t : mine) out[t] = held;
      continue;
    }
    if (bind.type == "rank" || !listed.empty()) {
      // The node's k-th task: the job's k-th CPU there, or the list's k-th element (of the job's).
      for (std::size_t k = 0; k < mine.size(); ++k) {
        std::vector<int>& cpus = out[mine[k]];
        if (listed.empty()) {
          cpus = {held[k % held.size()]};
          continue;
        }
        for (const int id : listed[k % listed.size()]) {
          if (std::find(held.begin(), held.end(), id) != held.end()) cpus.push_back(id);
        }
        std::sort(cpus.begin(), cpus.end());
        if (cpus.empty()) cpus = held;  // none of the job's: it runs on all of them
      }
      continue;
    }
    // How many running tasks of the job's other steps use each of its CPUs here.
    std::vector<int> busy(held.size(), 0);
    for (const StepRecord& step : job.steps) {
      if (step.ended()) continue;
      for (const StepTaskRecord& other : step.tasks) {
        if (other.done() || other.node != static_cast<int>(n)) continue;
        for (const int id : other.cpus) {
          const auto it = std::find(held.begin(), held.end(), id);
          if (it != held.end()) ++busy[static_cast<std::size_t>(it - held.begin())];
        }
      }
    }
    static const core::CpuTopology kFlat;
    const auto found = nodes_.find(job.tasks[n].node);
    const core::CpuTopology& topology = found != nodes_.end() ? found->second->cpus : kFlat;
    // Without a type, as Slurm's auto-binding: the node's tasks divide the step's CPUs there (all
    // of the job's unless --exact); cores, threads, sockets: --cpus-per-task each.
    const int each =
        bind.type.empty() && !exact ? std::max(per_task, static_cast<int>(held.size() / mine.size())) : per_task;
    if (static_cast<std::size_t>(each) * mine.size() > held.size()) {
      // More tasks than the job's CPUs hold (--overcommit): each runs on all of them, as Slurm's.
      for (const std::size_t t : mine) out[t] = held;
      continue;
    }
    auto split = core::split_cpus(topology, held, busy, static_cast<int>(mine.size()), each);
    for (std::size_t k = 0; k < mine.size(); ++k) out[mine[k]] = std::move(split[k]);
  }
  return out;
}

}  // namespace gwang::controller
