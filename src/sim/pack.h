// The placement-only fill experiment of the FGD study (Weng et al., ATC'23): a GPU cluster starts
// empty; pods arrive one by one, with no time and no departures; each is placed at once or fails.
// The experiment records how much of the cluster's GPU capacity is allocated as requests arrive.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/cluster.h"
#include "core/placement.h"
#include "core/result.h"
#include "trace/alibaba.h"

namespace gwang::sim {

inline constexpr int kPackMaxArrivedPct = 130;

struct PackOptions {
  core::PlacementKind policy = core::PlacementKind::Fgd;
  std::uint64_t seed = 42;
  double tune = 1.3;  // arrivals are topped up to this multiple of the cluster's GPU capacity
};

struct PackRun {
  // Index p = 0..130: the value when the GPU requested so far reaches p % of the cluster's GPU
  // capacity (linear between the pods on either side of that point; the last value beyond the end).
  std::vector<double> alloc_pct;  // allocated GPU, % of capacity
  std::vector<double> frag_pct;   // fragmentation (FGD's measure against the typical shapes), % of capacity
  std::size_t pods = 0;           // pods that arrived
  std::size_t failed = 0;         // pods that could not be placed
  double arrived_pct = 0;         // at the end
  double allocated_pct = 0;       // at the end
};

class PackExperiment {
 public:
  // Validates the inputs: a node with GPUs must name their model; a pod's GPU models are matched
  // against the node models by name.
  static Result<PackExperiment> create(std::span<const trace::AlibabaNode> nodes,
                                       std::span<const trace::AlibabaPod> pods);

  // One run. Order: the pods are shuffled with a generator seeded with `seed`, then pods drawn
  // uniformly with replacement are appended until the total GPU request would pass `tune` x the
  // cluster's GPUs; then the nodes are shuffled with the same generator (their order breaks ties).
  PackRun run(const PackOptions& options) const;

  const core::Cluster& cluster() const { return cluster_; }
  std::span<const core::TaskRequest> pods() const { return pods_; }
  std::span<const core::TypicalShape> typical_shapes() const { return shapes_; }
  core::Milli gpu_capacity() const { return gpu_capacity_; }

 private:
  core::Cluster cluster_;
  std::vector<core::TaskRequest> pods_;
  std::vector<core::TypicalShape> shapes_;
  core::Milli gpu_capacity_ = 0;
};

}  // namespace gwang::sim
