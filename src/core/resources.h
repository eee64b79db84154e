// Resource kinds, amounts and requests.
//
// A cluster declares its resource kinds by name. "cpu" (milli-cores) and "memory" (milli-MiB) always
// exist; accelerator kinds are named "<family>:<model>" (gpu:V100, gpu:T4, npu:...) and are counted
// in milli-devices. Kinds are interned into dense ids once; nothing on the scheduling path compares
// strings.
#pragma once

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/types.h"

namespace gwang::core {

class ResourceRegistry {
 public:
  static constexpr ResourceKind kCpu{0};
  static constexpr ResourceKind kMemory{1};

  ResourceRegistry();

  // The kind with this name, created on first use. A name with a ':' is an accelerator model.
  ResourceKind intern(std::string_view name);
  std::optional<ResourceKind> find(std::string_view name) const;
  const std::string& name(ResourceKind kind) const { return names_[kind.value]; }
  bool is_accelerator(ResourceKind kind) const { return accelerator_[kind.value]; }
  std::size_t size() const { return names_.size(); }

  // Node features (Slurm's), numbered from 0 in order of first use: the feature of this name,
  // created on first use (nullopt past kMaxFeatures), or found.
  std::optional<int> intern_feature(std::string_view name);
  std::optional<int> find_feature(std::string_view name) const;
  const std::vector<std::string>& features() const { return features_; }

 private:
  std::vector<std::string> names_;
  std::vector<bool> accelerator_;
  std::vector<std::string> features_;
};

// Amounts per resource kind, dense by kind id. Entries past the end are zero, so vectors built
// before a kind was interned stay valid.
class ResourceVector {
 public:
  ResourceVector() = default;

  Milli get(ResourceKind kind) const { return kind.value < amounts_.size() ? amounts_[kind.value] : 0; }
  void set(ResourceKind kind, Milli amount);
  void add(ResourceKind kind, Milli amount) { set(kind, get(kind) + amount); }

  // True when every amount of *this is at most the same kind's amount in `other`.
  bool fits_in(const ResourceVector& other) const;
  ResourceVector& operator+=(const ResourceVector& other);
  ResourceVector& operator-=(const ResourceVector& other);
  ResourceVector scaled(std::int64_t factor) const;
  bool empty() const;
  bool operator==(const ResourceVector& other) const;

  std::size_t width() const { return amounts_.size(); }

 private:
  std::vector<Milli> amounts_;
};

// What one task asks of accelerators: `count` devices, each with at least `per_device` milli free.
// per_device < 1000 asks for a share of one device (count must then be 1). `models` lists the
// accelerator kinds allowed; empty allows any.
struct AcceleratorRequest {
  int count = 0;
  Milli per_device = kMilli;
  std::vector<ResourceKind> models;

  bool allows(ResourceKind model) const {
    return models.empty() || std::find(models.begin(), models.end(), model) != models.end();
  }
  bool shared() const { return count == 1 && per_device < kMilli; }
  Milli total() const { return count * per_device; }
};

// A node's features, as a set of the registry's feature numbers (bit k: feature k).
using FeatureSet = std::uint64_t;
inline constexpr int kMaxFeatures = 64;

// A rule over a node's features: each clause names features of which the node must have at least
// one. No clauses: any node.
struct FeatureRule {
  std::vector<FeatureSet> clauses;
  bool allows(FeatureSet have) const {
    return std::all_of(clauses.begin(), clauses.end(), [have](FeatureSet c) { return (c & have) != 0; });
  }
  bool operator==(const FeatureRule&) const = default;
};

// A node's CPUs by shape (Slurm's sockets, cores per socket, threads per core), or the least a
// task asks of its node's (sbatch -B): 0 asks nothing.
struct NodeShape {
  int sockets = 0, cores = 0, threads = 0;
  int cores_total = 0;  // asked only: the least cores of the node in all (Slurm's --ntasks-per-core)
  bool covers(const NodeShape& least) const {
    return sockets >= least.sockets && cores >= least.cores && threads >= least.threads &&
           sockets * cores >= least.cores_total;
  }
  bool operator==(const NodeShape&) const = default;
};

// Node pools (Slurm's partitions): named sets of nodes, numbered 1 to 64 by the driver. A node
// may be in several; a task may ask for the nodes of one.
using PoolSet = std::uint64_t;  // bit k - 1: pool k
inline constexpr int kMaxPools = 64;

// Nodes a job names (Slurm's --nodelist and --exclude): those it may use, or those it may not.
struct NodeFilter {
  std::vector<NodeId> ids;  // ascending
  bool exclude = false;     // ids are the nodes it may not use (else the only ones it may)
  bool allows(NodeId id) const { return std::binary_search(ids.begin(), ids.end(), id) != exclude; }
};

// What one task of a job needs: scalar resources (cpu, memory, ...) and accelerators, on a node
// of `pool` (0: any node) that `nodes` allows (none: any), whose features meet `features` (none:
// any), whose temporary disk is at least `tmp_mib` (not consumed: Slurm's --tmp) and whose CPUs'
// shape covers `shape` (Slurm's -B).
struct TaskRequest {
  ResourceVector scalars;
  AcceleratorRequest accel;
  int pool = 0;
  std::shared_ptr<const NodeFilter> nodes;      // shared by the job's copies; immutable
  std::shared_ptr<const FeatureRule> features;  // likewise
  std::int64_t tmp_mib = 0;
  NodeShape shape;
  bool whole_node = false;  // no other task shares its node while it runs (Slurm's --exclusive)
  template <typename Node>  // NodeInfo (cluster.h)
  bool allowed_on(NodeId id, const Node& node) const {
    return (!nodes || nodes->allows(id)) && (!features || features->allows(node.features)) && node.tmp_mib >= tmp_mib &&
           node.shape.covers(shape);
  }
};

}  // namespace gwang::core
