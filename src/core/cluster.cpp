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
  info.pools = spec.pools;
  info.features = spec.features;
  info.tmp_mib = spec.tmp_mib;
  info.shape = spec.shape;
  free.scalars = info.capacity;
  free.devices.assign(spec.devices.size(), kMilli);
  const bool new_kind = std::any_of(spec.devices.begin(), spec.devices.end(), [&](ResourceKind m) {
    return m.value >= kind_slot_.size() || kind_slot_[m.value] < 0;
  });
  const bool relayout =
      new_kind || static_cast<int>(spec.devices.size()) > max_devices_ || (nodes_.size() + 1 + 63) / 64 != words_;
  max_devices_ = std::max(max_devices_, static_cast<int>(spec.devices.size()));
  for (std::size_t k = 0; k < info.capacity.width(); ++k) {
    const ResourceKind kind{static_cast<std::uint16_t>(k)};
    max_capacity_.set(kind, std::max(max_capacity_.get(kind), info.capacity.get(kind)));
  }
  nodes_.push_back(std::move(info));
  free_.nodes.push_back(std::move(free));
  scan_order_.push_back(id);
  if (relayout) {
    rebuild_layout();
  } else {
    position_.push_back(static_cast<std::uint32_t>(scan_order_.size() - 1));
    index_node(free_, id, true);
  }
  return id;
}

std::uint16_t Cluster::add_license(std::string name, std::int64_t total) {
  assert(total >= 0 && licenses_.size() < 65535 && !find_license(name));
  licenses_.push_back({std::move(name), total});
  free_.licenses.push_back(total);
  return static_cast<std::uint16_t>(licenses_.size() - 1);
}

std::optional<std::uint16_t> Cluster::find_license(std::string_view name) const {
  for (std::size_t i = 0; i < licenses_.size(); ++i) {
    if (licenses_[i].name == name) return static_cast<std::uint16_t>(i);
  }
  return std::nullopt;
}

bool Cluster::licenses_free(const FreeState& free, std::span<const LicenseNeed> needs) {
  return std::all_of(needs.begin(), needs.end(), [&](const LicenseNeed& n) {
    assert(n.id < free.licenses.size());
    return free.licenses[n.id] >= n.count;
  });
}

void Cluster::take_licenses(FreeState& free, std::span<const LicenseNeed> needs) {
  for (const LicenseNeed& n : needs) free.licenses[n.id] -= n.count;
}

void Cluster::give_licenses(FreeState& free, std::span<const LicenseNeed> needs) {
  for (const LicenseNeed& n : needs) free.licenses[n.id] += n.count;
}

// --- the free-capacity index

namespace {
constexpr int kShareBuckets = 11;  // b = free milli / 100, 0..10
}

// Kind slots 0..n-1 are the accelerator kinds present on nodes; slot n ("any") summarises all of a
// node's devices whatever their kind, for tasks that accept any accelerator.
std::size_t Cluster::bit_slot(int kind_slot, int slot) const {
  const int per_kind = max_devices_ + 1 + kShareBuckets;
  return (static_cast<std::size_t>(kind_slot) * per_kind + slot) * words_;
}

Cluster::DeviceSummary Cluster::summarize(const NodeFree& free, NodeId id, int kind_slot) const {
  DeviceSummary s;
  const bool any = kind_slot == static_cast<int>(indexed_kinds_.size());
  const auto& models = nodes_[id.value].device_models;
  for (std::size_t i = 0; i < models.size(); ++i) {
    if (!any && models[i] != indexed_kinds_[kind_slot]) continue;
    s.whole += free.devices[i] == kMilli ? 1 : 0;
    s.max_free = std::max<int>(s.max_free, static_cast<int>(free.devices[i]));
  }
  return s;
}

void Cluster::index_node(FreeState& free, NodeId id, bool set) const {
  const std::uint32_t pos = position_[id.value];
  const std::uint64_t bit = std::uint64_t{1} << (pos % 64);
  const int per_kind = max_devices_ + 1 + kShareBuckets;
  if (nodes_[id.value].device_models.empty()) return;
  std::vector<int> slots{static_cast<int>(indexed_kinds_.size())};
  for (ResourceKind kind : nodes_[id.value].device_models) {
    if (std::find(slots.begin(), slots.end(), kind_slot_[kind.value]) == slots.end()) {
      slots.push_back(kind_slot_[kind.value]);
    }
  }
  for (int ks : slots) {
    if (!set) {
      // Clear the node from every bucket of the kind: no need to know where it was.
      for (int slot = 0; slot < per_kind; ++slot) free.index[bit_slot(ks, slot) + pos / 64] &= ~bit;
      continue;
    }
    const DeviceSummary s = summarize(free[id], id, ks);
    for (int slot : {s.whole, max_devices_ + 1 + s.max_free / 100}) {
      free.index[bit_slot(ks, slot) + pos / 64] |= bit;
    }
  }
}

void Cluster::reindex(FreeState& free, NodeId id) const {
  index_node(free, id, false);
  index_node(free, id, true);
}

void Cluster::rebuild_layout() {
  kind_slot_.assign(registry_.size(), -1);
  indexed_kinds_.clear();
  for (const NodeInfo& n : nodes_) {
    for (ResourceKind m : n.device_models) {
      if (kind_slot_[m.value] < 0) {
        kind_slot_[m.value] = static_cast<int>(indexed_kinds_.size());
        indexed_kinds_.push_back(m);
      }
    }
  }
  position_.assign(nodes_.size(), 0);
  for (std::size_t p = 0; p < scan_order_.size(); ++p) position_[scan_order_[p].value] = static_cast<std::uint32_t>(p);
  words_ = (nodes_.size() + 63) / 64;
  reindex(free_);
}

void Cluster::reindex(FreeState& free) const {
  free.index.assign((indexed_kinds_.size() + 1) * (max_devices_ + 1 + kShareBuckets) * words_, 0);
  for (std::size_t i = 0; i < nodes_.size(); ++i) index_node(free, NodeId{static_cast<std::uint32_t>(i)}, true);
}

bool Cluster::candidates(const FreeState& free, const AcceleratorRequest& accel, NodeBits& out) const {
  if (accel.count == 0) return false;
  out.assign(words_, 0);
  // `whole`: at least this many fully free devices of the kind slot.
  auto merge = [&](int ks, int whole) {
    if (accel.shared()) {
      for (int b = static_cast<int>(accel.per_device / 100); b < kShareBuckets; ++b) {
        const std::uint64_t* src = &free.index[bit_slot(ks, max_devices_ + 1 + b)];
        for (std::size_t w = 0; w < words_; ++w) out[w] |= src[w];
      }
    } else {
      for (int j = whole; j <= max_devices_; ++j) {
        const std::uint64_t* src = &free.index[bit_slot(ks, j)];
        for (std::size_t w = 0; w < words_; ++w) out[w] |= src[w];
      }
    }
  };
  std::vector<int> allowed;
  for (ResourceKind m : accel.models) {
    if (m.value < kind_slot_.size() && kind_slot_[m.value] >= 0) allowed.push_back(kind_slot_[m.value]);
  }
  if (accel.models.empty()) {
    merge(static_cast<int>(indexed_kinds_.size()), accel.count);  // any accelerator: all devices count
  } else if (allowed.size() == 1) {
    merge(allowed.front(), accel.count);
  } else {
    // Several allowed kinds may add up on one node: any node with a free device of one of them.
    for (int ks : allowed) merge(ks, 1);
  }
  return true;
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
  rebuild_layout();
}

Milli Cluster::max_scalar(ResourceKind kind) const { return max_capacity_.get(kind); }

namespace {

// Devices of an allowed model with at least `per_device` milli free.
int count_fitting_devices(const NodeInfo& info, const std::vector<Milli>& free, const AcceleratorRequest& req) {
  int n = 0;
  for (std::size_t i = 0; i < free.size(); ++i) {
    if (free[i] >= req.per_device && req.allows(info.device_models[i])) ++n;
  }
  return n;
}

bool scalars_fit(const TaskRequest& task, const ResourceVector& have) { return task.scalars.fits_in(have); }

}  // namespace

bool Cluster::feasible_on(NodeId id, const TaskRequest& task) const {
  const NodeInfo& info = nodes_[id.value];
  if (!info.in_pool(task.pool) || !task.allowed_on(id, info) || !scalars_fit(task, info.capacity)) return false;
  if (task.accel.count == 0) return true;
  const std::vector<Milli> all_free(info.device_models.size(), kMilli);
  return count_fitting_devices(info, all_free, task.accel) >= task.accel.count;
}

bool Cluster::available_on(const FreeState& free, NodeId id, const TaskRequest& task) const {
  const NodeInfo& info = nodes_[id.value];
  if (info.state != NodeState::Up || !info.in_pool(task.pool) || !task.allowed_on(id, info)) return false;
  const NodeFree& nf = free[id];
  if (nf.whole || (task.whole_node && nf.tasks > 0) || !scalars_fit(task, nf.scalars)) return false;
  if (task.accel.count == 0) return true;
  return count_fitting_devices(info, nf.devices, task.accel) >= task.accel.count;
}

void Cluster::allocate(FreeState& free, const TaskPlacement& where, const TaskRequest& task) const {
  if (!where.devices.empty()) index_node(free, where.node, false);
  NodeFree& nf = free[where.node];
  nf.scalars -= task.scalars;
  for (const DeviceShare& d : where.devices) {
    assert(nf.devices[d.index] >= d.milli);
    nf.devices[d.index] -= d.milli;
  }
  ++nf.tasks;
  nf.whole = nf.whole || task.whole_node;
  if (task.accel.count > 0) {
    const int cls = accel_class(task.accel);
    auto it = std::lower_bound(nf.accel_classes.begin(), nf.accel_classes.end(), std::pair<int, int>{cls, 0});
    if (it != nf.accel_classes.end() && it->first == cls) {
      ++it->second;
    } else {
      nf.accel_classes.insert(it, {cls, 1});
    }
  }
  if (!where.devices.empty()) index_node(free, where.node, true);
}

void Cluster::release(FreeState& free, const TaskPlacement& where, const TaskRequest& task) const {
  if (!where.devices.empty()) index_node(free, where.node, false);
  NodeFree& nf = free[where.node];
  nf.scalars += task.scalars;
  for (const DeviceShare& d : where.devices) {
    nf.devices[d.index] += d.milli;
    assert(nf.devices[d.index] <= kMilli);
  }
  assert(nf.tasks > 0);
  --nf.tasks;
  if (task.whole_node) nf.whole = false;
  if (task.accel.count > 0) {
    const int cls = accel_class(task.accel);
    auto it = std::lower_bound(nf.accel_classes.begin(), nf.accel_classes.end(), std::pair<int, int>{cls, 0});
    assert(it != nf.accel_classes.end() && it->first == cls);
    if (--it->second == 0) nf.accel_classes.erase(it);
  }
  if (!where.devices.empty()) index_node(free, where.node, true);
}

std::optional<std::vector<DeviceShare>> pick_devices_best_fit(const NodeInfo& info, const NodeFree& free,
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
