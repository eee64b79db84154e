#include "core/cluster.h"

#include <algorithm>
#include <cassert>

namespace gwang::core {

Milli NodeFree::device_free_total() const {
  Milli total = 0;
  for (Milli m : devices) total += m;
  return total;
}

int NodeFree::whole_free_devices() const {
  return static_cast<int>(std::count(devices.begin(), devices.end(), kMilli));
}

NodeId Cluster::add_node(const NodeSpec& spec) {
  const NodeId id{static_cast<std::uint32_t>(nodes_.size())};
  NodeInfo info;
  info.name = spec.name;
  NodeFree free;
  for (std::size_t k = 0; k < registry_.size(); ++k) {
    const ResourceKind kind{static_cast<std::uint16_t>(k)};
    if (!registry_.is_accelerator(kind)) info.capacity.set(kind, spec.scalars.get(kind));
  }
  for (ResourceKind model : spec.devices) {
    assert(registry_.is_accelerator(model));
    info.capacity.add(model, kMilli);
  }
  info.device_models = spec.devices;
  free.scalars = info.capacity;
  free.devices.assign(spec.devices.size(), kMilli);
  max_devices_ = std::max(max_devices_, static_cast<int>(spec.devices.size()));
  nodes_.push_back(std::move(info));
  free_.nodes.push_back(std::move(free));
  scan_order_.push_back(id);
  return id;
}

std::optional<NodeId> Cluster::find(std::string_view name) const {
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].name == name) return NodeId{static_cast<std::uint32_t>(i)};
  }
  return std::nullopt;
}

void Cluster::set_scan_order(std::vector<NodeId> order) {
  assert(order.size() == nodes_.size());
  scan_order_ = std::move(order);
}

Milli Cluster::max_scalar(ResourceKind kind) const {
  Milli best = 0;
  for (const auto& n : nodes_) best = std::max(best, n.capacity.get(kind));
  return best;
}

namespace {

// Devices of an allowed model with at least `per_device` milli free.
int count_fitting_devices(const NodeInfo& info, const std::vector<Milli>& free,
                          const AcceleratorRequest& req) {
  int n = 0;
  for (std::size_t i = 0; i < free.size(); ++i) {
    if (free[i] >= req.per_device && req.allows(info.device_models[i])) ++n;
  }
  return n;
}

bool scalars_fit(const TaskRequest& task, const ResourceVector& have) {
  return task.scalars.fits_in(have);
}

}  // namespace

bool Cluster::feasible_on(NodeId id, const TaskRequest& task) const {
  const NodeInfo& info = nodes_[id.value];
  if (!scalars_fit(task, info.capacity)) return false;
  if (task.accel.count == 0) return true;
  const std::vector<Milli> all_free(info.device_models.size(), kMilli);
  return count_fitting_devices(info, all_free, task.accel) >= task.accel.count;
}

bool Cluster::available_on(const FreeState& free, NodeId id, const TaskRequest& task) const {
  const NodeInfo& info = nodes_[id.value];
  if (info.state != NodeState::Up) return false;
  const NodeFree& nf = free[id];
  if (!scalars_fit(task, nf.scalars)) return false;
  if (task.accel.count == 0) return true;
  return count_fitting_devices(info, nf.devices, task.accel) >= task.accel.count;
}

void Cluster::allocate(FreeState& free, const TaskPlacement& where, const TaskRequest& task) const {
  NodeFree& nf = free[where.node];
  nf.scalars -= task.scalars;
  for (const DeviceShare& d : where.devices) {
    assert(nf.devices[d.index] >= d.milli);
    nf.devices[d.index] -= d.milli;
  }
  ++nf.tasks;
  if (task.accel.count > 0) {
    const int cls = accel_class(task.accel);
    auto it = std::lower_bound(nf.accel_classes.begin(), nf.accel_classes.end(),
                               std::pair<int, int>{cls, 0});
    if (it != nf.accel_classes.end() && it->first == cls) {
      ++it->second;
    } else {
      nf.accel_classes.insert(it, {cls, 1});
    }
  }
}

void Cluster::release(FreeState& free, const TaskPlacement& where, const TaskRequest& task) const {
  NodeFree& nf = free[where.node];
  nf.scalars += task.scalars;
  for (const DeviceShare& d : where.devices) {
    nf.devices[d.index] += d.milli;
    assert(nf.devices[d.index] <= kMilli);
  }
  assert(nf.tasks > 0);
  --nf.tasks;
  if (task.accel.count > 0) {
    const int cls = accel_class(task.accel);
    auto it = std::lower_bound(nf.accel_classes.begin(), nf.accel_classes.end(),
                               std::pair<int, int>{cls, 0});
    assert(it != nf.accel_classes.end() && it->first == cls);
    if (--it->second == 0) nf.accel_classes.erase(it);
  }
}

std::optional<std::vector<DeviceShare>> pick_devices_best_fit(const NodeInfo& info,
                                                              const NodeFree& free,
                                                              const AcceleratorRequest& req) {
  std::vector<DeviceShare> out;
  if (req.count == 0) return out;
  if (req.shared()) {
    int best = -1;
    for (std::size_t i = 0; i < free.devices.size(); ++i) {
      if (free.devices[i] < req.per_device || !req.allows(info.device_models[i])) continue;
      if (best < 0 || free.devices[i] < free.devices[best]) best = static_cast<int>(i);
    }
    if (best < 0) return std::nullopt;
    out.push_back({static_cast<std::uint16_t>(best), req.per_device});
    return out;
  }
  for (std::size_t i = 0; i < free.devices.size() && static_cast<int>(out.size()) < req.count; ++i) {
    if (free.devices[i] >= req.per_device && req.allows(info.device_models[i])) {
      out.push_back({static_cast<std::uint16_t>(i), req.per_device});
    }
  }
  if (static_cast<int>(out.size()) < req.count) return std::nullopt;
  return out;
}

}  // namespace gwang::core
