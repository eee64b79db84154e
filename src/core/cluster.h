// The cluster: nodes with scalar resources and individually tracked accelerator devices.
//
// Static facts (names, capacities, device models) live in Cluster; what is free right now lives in
// FreeState, a plain value that the scheduler copies to plan ahead (reservations) without touching
// the live state. "Feasible" (fits a node's capacity, ever) is kept apart from "available" (fits
// what is free now).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/resources.h"

namespace gwang::core {

enum class NodeState : std::uint8_t { Up, Drained, Down };

struct NodeSpec {
  std::string name;
  ResourceVector scalars;               // cpu, memory, ... (accelerator kinds are ignored here)
  std::vector<ResourceKind> devices;    // the model of each accelerator device, by device index
};

struct NodeInfo {
  std::string name;
  ResourceVector capacity;              // scalars, plus per accelerator model the sum of its devices
  std::vector<ResourceKind> device_models;
  NodeState state = NodeState::Up;
};

// One device given to a task: its index on the node and the milli of it the task holds.
struct DeviceShare {
  std::uint16_t index;
  Milli milli;
  bool operator==(const DeviceShare&) const = default;
};

// Where one task runs.
struct TaskPlacement {
  NodeId node;
  std::vector<DeviceShare> devices;
  bool operator==(const TaskPlacement&) const = default;
};

// Class of an accelerator task, for policies that group like with like: 0 = a share of one device,
// k > 0 = k whole devices. Tasks without accelerators have no class.
inline int accel_class(const AcceleratorRequest& a) { return a.shared() ? 0 : a.count; }

// What is free on one node.
struct NodeFree {
  ResourceVector scalars;
  std::vector<Milli> devices;                           // free milli per device
  std::vector<std::pair<int, int>> accel_classes;       // (accel_class, running tasks), sorted by class
  int tasks = 0;                                        // tasks placed on the node

  Milli device_free_total() const;
  int whole_free_devices() const;
};

class FreeState {
 public:
  std::vector<NodeFree> nodes;
  const NodeFree& operator[](NodeId id) const { return nodes[id.value]; }
  NodeFree& operator[](NodeId id) { return nodes[id.value]; }
};

class Cluster {
 public:
  explicit Cluster(ResourceRegistry registry = {}) : registry_(std::move(registry)) {}

  ResourceRegistry& registry() { return registry_; }
  const ResourceRegistry& registry() const { return registry_; }

  // Adds a node, all of it free. Returns its id (dense, in order of addition).
  NodeId add_node(const NodeSpec& spec);
  std::size_t size() const { return nodes_.size(); }
  const NodeInfo& node(NodeId id) const { return nodes_[id.value]; }
  void set_state(NodeId id, NodeState state) { nodes_[id.value].state = state; }
  std::optional<NodeId> find(std::string_view name) const;

  // The order in which placement policies visit nodes (and break ties: first visited wins).
  // Node id order unless a driver sets another permutation.
  std::span<const NodeId> scan_order() const { return scan_order_; }
  void set_scan_order(std::vector<NodeId> order);

  const FreeState& free() const { return free_; }
  FreeState& free() { return free_; }

  // The largest capacity of any node, per kind (scalars) and in devices: normalisers for scoring.
  Milli max_scalar(ResourceKind kind) const;
  int max_devices() const { return max_devices_; }

  // Fits the node's capacity, ignoring what is in use and the node's state.
  bool feasible_on(NodeId id, const TaskRequest& task) const;
  // Fits what `free` says is free on the node now, and the node takes new work (state Up).
  bool available_on(const FreeState& free, NodeId id, const TaskRequest& task) const;

  // Takes / gives back a task's resources in `free`. The placement must be available.
  void allocate(FreeState& free, const TaskPlacement& where, const TaskRequest& task) const;
  void release(FreeState& free, const TaskPlacement& where, const TaskRequest& task) const;

 private:
  ResourceRegistry registry_;
  std::vector<NodeInfo> nodes_;
  std::vector<NodeId> scan_order_;
  FreeState free_;
  int max_devices_ = 0;
};

// Device choices inside one node. Each returns nullopt when the node cannot serve the request.
// Best fit: a shared task gets the device with the least free milli that still fits (lowest index
// among equals); a whole-device task gets the lowest-indexed fully free devices.
std::optional<std::vector<DeviceShare>> pick_devices_best_fit(const NodeInfo& info,
                                                              const NodeFree& free,
                                                              const AcceleratorRequest& req);

}  // namespace gwang::core
