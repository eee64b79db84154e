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
  ResourceVector scalars;             // cpu, memory, ... (accelerator kinds are ignored here)
  std::vector<ResourceKind> devices;  // the model of each accelerator device, by device index
  PoolSet pools = 0;                  // the node pools it belongs to (TaskRequest::pool)
  FeatureSet features = 0;            // its features (TaskRequest::features)
  std::int64_t tmp_mib = 0;           // its temporary disk (TaskRequest::tmp_mib)
  NodeShape shape;                    // its CPUs' shape (TaskRequest::shape); none: asked of no task
};

struct NodeInfo {
  std::string name;
  ResourceVector capacity;  // scalars, plus per accelerator model the sum of its devices
  std::vector<ResourceKind> device_models;
  NodeState state = NodeState::Up;
  PoolSet pools = 0;
  FeatureSet features = 0;
  std::int64_t tmp_mib = 0;
  NodeShape shape;
  bool in_pool(int pool) const { return pool == 0 || (pools >> (pool - 1) & 1) != 0; }
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
  std::vector<Milli> devices;                      // free milli per device
  std::vector<std::pair<int, int>> accel_classes;  // (accel_class, running tasks), sorted by class
  int tasks = 0;                                   // tasks placed on the node
  bool whole = false;                              // one of them holds the whole node (TaskRequest::whole_node)

  Milli device_free_total() const;
  int whole_free_devices() const;
};

// A job's need of one license: the license's id (Cluster::add_license) and how many seats.
struct LicenseNeed {
  std::uint16_t id = 0;
  std::int32_t count = 1;
  bool operator==(const LicenseNeed&) const = default;
};

class FreeState {
 public:
  std::vector<NodeFree> nodes;
  // Free seats of each license, by id: the whole cluster's, not a node's. A job holds its seats
  // while it runs, wherever its tasks are (Slurm's Licenses=). Below zero where a driver gave a
  // license fewer seats than running jobs hold: nobody starts with it until they end.
  std::vector<std::int64_t> licenses;
  const NodeFree& operator[](NodeId id) const { return nodes[id.value]; }
  NodeFree& operator[](NodeId id) { return nodes[id.value]; }

  // The free-capacity index, kept by Cluster: for each accelerator kind present on some node,
  // bitsets over scan positions of the nodes that have exactly j whole free devices of that kind
  // (j = 0..max devices), and of the nodes whose freest device of that kind has b hundred milli
  // free (b = 0..10). Placement reads it to visit only nodes that may hold a task.
  std::vector<std::uint64_t> index;
};

// Scan positions of the nodes that may hold a task, as a bitset (see Cluster::candidates).
using NodeBits = std::vector<std::uint64_t>;

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
  void set_traits(NodeId id, FeatureSet features, std::int64_t tmp_mib, NodeShape shape) {
    nodes_[id.value].features = features;
    nodes_[id.value].tmp_mib = tmp_mib;
    nodes_[id.value].shape = shape;
  }
  std::optional<NodeId> find(std::string_view name) const;

  // Licenses: seats counted over the whole cluster (software licenses, say). Adds one with `total`
  // seats, all free; returns its id (dense, in order of addition).
  std::uint16_t add_license(std::string name, std::int64_t total);
  std::size_t license_count() const { return licenses_.size(); }
  const std::string& license_name(std::uint16_t id) const { return licenses_[id].name; }
  std::int64_t license_total(std::uint16_t id) const { return licenses_[id].total; }
  std::optional<std::uint16_t> find_license(std::string_view name) const;
  // Whether `free` has the seats of every need; takes them, gives them back.
  static bool licenses_free(const FreeState& free, std::span<const LicenseNeed> needs);
  static void take_licenses(FreeState& free, std::span<const LicenseNeed> needs);
  static void give_licenses(FreeState& free, std::span<const LicenseNeed> needs);

  // The order in which placement policies visit nodes (and break ties: first visited wins).
  // Node id order unless a driver sets another permutation.
  std::span<const NodeId> scan_order() const { return scan_order_; }
  void set_scan_order(std::vector<NodeId> order);

  const FreeState& free() const { return free_; }
  FreeState& free() { return free_; }

  // The largest capacity of any node, per kind (scalars) and in devices: normalisers for scoring.
  Milli max_scalar(ResourceKind kind) const;
  int max_devices() const { return max_devices_; }

  // Fits the node's capacity and is in the task's pool, ignoring what is in use and the node's state.
  bool feasible_on(NodeId id, const TaskRequest& task) const;
  // Fits what `free` says is free on the node now, and the node takes new work (state Up).
  bool available_on(const FreeState& free, NodeId id, const TaskRequest& task) const;

  // Takes / gives back a task's resources in `free`. The placement must be available.
  void allocate(FreeState& free, const TaskPlacement& where, const TaskRequest& task) const;
  void release(FreeState& free, const TaskPlacement& where, const TaskRequest& task) const;

  // Rebuilds the index of `free` (of one node of it) after its nodes were changed directly.
  void reindex(FreeState& free) const;
  void reindex(FreeState& free, NodeId id) const;
  // Nodes that may hold the accelerators of `task` now, as a bitset over scan positions; a superset
  // of the nodes where it is available. False when the task needs no accelerator (every node may).
  bool candidates(const FreeState& free, const AcceleratorRequest& accel, NodeBits& out) const;
  // The node at a scan position.
  NodeId at_position(std::size_t position) const { return scan_order_[position]; }

 private:
  struct DeviceSummary {
    int whole = 0;      // devices of the kind with all 1000 milli free
    int max_free = -1;  // the most milli free on one device of the kind; -1: the node has none
  };
  DeviceSummary summarize(const NodeFree& free, NodeId id, int kind_slot) const;
  void index_node(FreeState& free, NodeId id, bool set) const;
  std::size_t bit_slot(int kind_slot, int slot) const;
  void rebuild_layout();

  std::vector<int> kind_slot_;               // accelerator kind id -> dense slot, -1 if on no node
  std::vector<ResourceKind> indexed_kinds_;  // dense slot -> kind
  std::vector<std::uint32_t> position_;      // node id -> scan position
  std::size_t words_ = 0;                    // 64-bit words per bitset

  struct License {
    std::string name;
    std::int64_t total = 0;
  };
  ResourceRegistry registry_;
  std::vector<License> licenses_;
  std::vector<NodeInfo> nodes_;
  std::vector<NodeId> scan_order_;
  FreeState free_;
  int max_devices_ = 0;
  ResourceVector max_capacity_;  // per kind, the largest node's capacity
};

// Device choices inside one node. Each returns nullopt when the node cannot serve the request.
// Best fit: a shared task gets the device with the least free milli that still fits (lowest index
// among equals); a whole-device task gets the lowest-indexed fully free devices.
std::optional<std::vector<DeviceShare>> pick_devices_best_fit(const NodeInfo& info, const NodeFree& free,
                                                              const AcceleratorRequest& req);

}  // namespace gwang::core
