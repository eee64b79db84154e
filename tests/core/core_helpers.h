// Small constructors shared by the tests of gwang_core.
#pragma once

#include <initializer_list>
#include <string>
#include <vector>

#include "core/cluster.h"
#include "core/job.h"
#include "core/resources.h"
#include "core/scheduler.h"

namespace gwang::core::testing {

using R = ResourceRegistry;

// A cluster whose registry already knows gpu:V100 (kind 2) and gpu:T4 (kind 3).
inline Cluster make_cluster() {
  Cluster c;
  c.registry().intern("gpu:V100");
  c.registry().intern("gpu:T4");
  return c;
}
inline ResourceKind v100(const Cluster& c) { return *c.registry().find("gpu:V100"); }
inline ResourceKind t4(const Cluster& c) { return *c.registry().find("gpu:T4"); }

// A node with `cpu` milli-CPU, 64 GiB of memory and one device per entry of `devices`.
inline NodeId make_node(Cluster& c, Milli cpu, std::vector<ResourceKind> devices, std::string name = "") {
  NodeSpec spec;
  spec.name = name.empty() ? "n" + std::to_string(c.size()) : std::move(name);
  spec.scalars.set(R::kCpu, cpu);
  spec.scalars.set(R::kMemory, 65536 * kMilli);
  spec.devices = std::move(devices);
  return c.add_node(spec);
}

// `n` devices of one model.
inline std::vector<ResourceKind> gpus(int n, ResourceKind model) {
  return std::vector<ResourceKind>(static_cast<std::size_t>(n), model);
}

// A task of `cpu` milli-CPU and `count` devices of `per_device` milli each, of the given models.
inline TaskRequest make_task(Milli cpu, int count = 0, Milli per_device = kMilli,
                             std::vector<ResourceKind> models = {}) {
  TaskRequest t;
  t.scalars.set(R::kCpu, cpu);
  t.accel.count = count;
  t.accel.per_device = per_device;
  t.accel.models = std::move(models);
  return t;
}
inline TaskRequest make_shared_task(Milli cpu, Milli per_device, std::vector<ResourceKind> models = {}) {
  return make_task(cpu, 1, per_device, std::move(models));
}

struct JobArgs {
  Time submit = 0;
  int tasks = 1;
  Time time_limit = 100;
  Time estimate = 0;
  std::int64_t priority = 0;
};

inline JobSpec make_job(std::int64_t id, TaskRequest task, JobArgs a = {}) {
  JobSpec s;
  s.id = JobId{id};
  s.submit = a.submit;
  s.task = std::move(task);
  s.tasks = a.tasks;
  s.time_limit = a.time_limit;
  s.estimate = a.estimate;
  s.priority = a.priority;
  return s;
}

inline JobId jid(std::int64_t id) { return JobId{id}; }
inline NodeId nid(std::uint32_t id) { return NodeId{id}; }

inline std::vector<std::int64_t> ids(const std::vector<JobId>& v) {
  std::vector<std::int64_t> out;
  for (JobId j : v) out.push_back(j.value);
  return out;
}
inline std::vector<std::int64_t> started(const std::vector<Decision>& v) {
  std::vector<std::int64_t> out;
  for (const Decision& d : v) out.push_back(d.job.value);
  return out;
}

// Two free states hold the same amounts, device by device and class by class.
inline bool same_free(const NodeFree& a, const NodeFree& b) {
  return a.scalars == b.scalars && a.devices == b.devices && a.accel_classes == b.accel_classes && a.tasks == b.tasks &&
         a.whole == b.whole;
}
inline bool same_free(const FreeState& a, const FreeState& b) {
  if (a.nodes.size() != b.nodes.size() || a.licenses != b.licenses) return false;
  for (std::size_t i = 0; i < a.nodes.size(); ++i) {
    if (!same_free(a.nodes[i], b.nodes[i])) return false;
  }
  return true;
}

}  // namespace gwang::core::testing
