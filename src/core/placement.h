// Placement policies: where one task goes, given what is free now.
//
// A policy sees the cluster's static facts, a FreeState (the live one, or a plan of the future) and
// the injected random generator. It returns a node that can take the task now, with the devices the
// task gets there, or nothing. Most policies are "filter, score, pick": every available node is
// scored with an integer 0..100 and the best wins; among equal scores the node visited first in the
// cluster's scan order wins, so the same state always gives the same answer.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "core/cluster.h"
#include "core/result.h"
#include "core/rng.h"

namespace gwang::core {

struct PlacementContext {
  const Cluster& cluster;
  const FreeState& free;
  Rng& rng;
  std::span<const NodeId> exclude = {};  // nodes not to use (the other tasks of a spread job)
};

class PlacementPolicy {
 public:
  virtual ~PlacementPolicy() = default;
  virtual std::string_view name() const = 0;
  // Where `task` goes now, or nullopt when no node can take it. Does not change `ctx.free`.
  virtual std::optional<TaskPlacement> place(const PlacementContext& ctx,
                                             const TaskRequest& task) = 0;
};

enum class PlacementKind { FirstFit, BestFit, Random, DotProduct, GpuClustering, GpuPacking, Fgd };

// Parses a policy name ("first-fit", "best-fit", "random", "dot-product", "gpu-clustering",
// "gpu-packing", "fgd"); the error lists the valid names.
Result<PlacementKind> parse_placement(std::string_view name);
std::string_view to_string(PlacementKind kind);
std::span<const PlacementKind> all_placements();

// A request shape that is common in the workload, with its share of all tasks (frequencies sum to 1).
// Fragmentation gradient descent (FGD) measures a node's fragmentation against these shapes.
struct TypicalShape {
  Milli cpu = 0;
  AcceleratorRequest accel;
  double frequency = 0;
};

// The most frequent shapes of `tasks` (memory is not part of a shape; a CPU request of 0 counts as
// 100 milli-CPU), most frequent first, taken until they cover `coverage` of all tasks, with their
// frequencies renormalised to sum to 1.
std::vector<TypicalShape> typical_shapes(std::span<const TaskRequest> tasks, double coverage = 0.95);

struct PlacementOptions {
  std::vector<TypicalShape> typical_shapes;  // FGD only; required there
};

std::unique_ptr<PlacementPolicy> make_placement(PlacementKind kind, PlacementOptions options = {});

// FGD's measure: a node's fragmentation, in milli-devices, against the typical shapes: the sum over
// shapes of frequency x the free accelerator milli that a task of that shape could not use there.
class FragmentationModel {
 public:
  explicit FragmentationModel(std::span<const TypicalShape> shapes);
  double of(const NodeInfo& info, Milli cpu_free, std::span<const Milli> devices) const;

 private:
  // Shapes that ask for the same accelerators differ only in CPU, which decides just whether the
  // node can take them at all: such shapes form one group, with their CPU needs sorted and the
  // frequency of the shapes needing at most each of them.
  struct Group {
    AcceleratorRequest accel;
    std::vector<Milli> cpu;        // ascending
    std::vector<double> cum_freq;  // cum_freq[i]: frequency of the shapes with cpu <= cpu[i]
  };
  std::vector<Group> groups_;
};

double node_fragmentation(const NodeInfo& info, Milli cpu_free, std::span<const Milli> devices,
                          std::span<const TypicalShape> shapes);

}  // namespace gwang::core
