#include "sim/pack.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace gwang::sim {

using core::Milli;

namespace {

// Records a curve sampled at each integer percentage of arrived GPU request.
class Curve {
 public:
  explicit Curve(std::vector<double>& out) : out_(out) { out_.assign(kPackMaxArrivedPct + 1, 0.0); }

  // The curve went from (a0, y0) to (a1, y1); a in percent, a1 >= a0.
  void segment(double a0, double y0, double a1, double y1) {
    while (next_ <= kPackMaxArrivedPct && next_ <= a1) {
      const double p = next_;
      out_[next_] = a1 > a0 ? y0 + (y1 - y0) * (p - a0) / (a1 - a0) : y1;
      ++next_;
    }
  }
  void finish(double y) {
    for (; next_ <= kPackMaxArrivedPct; ++next_) out_[next_] = y;
  }

 private:
  std::vector<double>& out_;
  int next_ = 1;  // the value at 0 % is 0
};

}  // namespace

Result<PackExperiment> PackExperiment::create(std::span<const trace::AlibabaNode> nodes,
                                              std::span<const trace::AlibabaPod> pods) {
  PackExperiment e;
  auto& reg = e.cluster_.registry();
  for (const auto& n : nodes) {
    if (n.gpus > 0 && n.model.empty()) {
      return fail("node " + n.name + " (line " + std::to_string(n.line) + "): GPUs without a model");
    }
    const core::ResourceKind model = n.gpus > 0 ? reg.intern("gpu:" + n.model) : core::ResourceKind{};
    core::NodeSpec spec{n.name, {}, std::vector<core::ResourceKind>(n.gpus, model)};
    spec.scalars.set(core::ResourceRegistry::kCpu, n.cpu_milli);
    spec.scalars.set(core::ResourceRegistry::kMemory, n.memory_mib * core::kMilli);
    e.cluster_.add_node(spec);
    e.gpu_capacity_ += n.gpus * core::kMilli;
  }
  if (e.gpu_capacity_ == 0) return fail("the node list has no GPU");
  for (const auto& p : pods) {
    core::TaskRequest t;
    t.scalars.set(core::ResourceRegistry::kCpu, p.cpu_milli);
    t.scalars.set(core::ResourceRegistry::kMemory, p.memory_mib * core::kMilli);
    t.accel.count = p.num_gpu;
    t.accel.per_device = p.num_gpu > 0 ? p.gpu_milli : core::kMilli;
    if (t.accel.count > 1 && t.accel.per_device != core::kMilli) {
      return fail("pod " + p.name + " (line " + std::to_string(p.line) +
                  "): several GPUs must be whole GPUs");
    }
    for (const auto& model : p.gpu_spec) t.accel.models.push_back(reg.intern("gpu:" + model));
    e.pods_.push_back(std::move(t));
  }
  e.shapes_ = core::typical_shapes(e.pods_);
  return e;
}

PackRun PackExperiment::run(const PackOptions& options) const {
  core::Rng rng(options.seed);
  std::vector<std::size_t> order(pods_.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  rng.shuffle(order);
  Milli total = 0;
  for (std::size_t i : order) total += pods_[i].accel.total();
  const auto limit = static_cast<Milli>(std::llround(options.tune * static_cast<double>(gpu_capacity_)));
  if (!pods_.empty() && total > 0) {
    while (true) {
      const std::size_t i = rng.below(pods_.size());
      if (total + pods_[i].accel.total() > limit) break;
      total += pods_[i].accel.total();
      order.push_back(i);
    }
  }

  core::Cluster cluster = cluster_;
  std::vector<core::NodeId> nodes(cluster.size());
  for (std::size_t i = 0; i < nodes.size(); ++i) nodes[i] = core::NodeId{static_cast<std::uint32_t>(i)};
  rng.shuffle(nodes);
  cluster.set_scan_order(std::move(nodes));

  auto policy = core::make_placement(options.policy, {shapes_});
  core::FreeState& free = cluster.free();

  // Fragmentation is tracked per node and summed; a placement changes one node.
  std::vector<double> node_frag(cluster.size());
  double frag_total = 0;
  const core::FragmentationModel fragmentation(shapes_);
  auto frag_of = [&](core::NodeId id) {
    const core::NodeFree& f = free[id];
    return fragmentation.of(cluster.node(id), f.scalars.get(core::ResourceRegistry::kCpu), f.devices);
  };
  for (std::size_t i = 0; i < cluster.size(); ++i) {
    node_frag[i] = frag_of(core::NodeId{static_cast<std::uint32_t>(i)});
    frag_total += node_frag[i];
  }

  PackRun out;
  Curve alloc_curve(out.alloc_pct), frag_curve(out.frag_pct);
  const double capacity = static_cast<double>(gpu_capacity_);
  out.frag_pct[0] = frag_total / capacity * 100.0;
  Milli arrived = 0, allocated = 0;
  for (std::size_t i : order) {
    const core::TaskRequest& pod = pods_[i];
    const double a0 = static_cast<double>(arrived) / capacity * 100.0;
    const double y0 = static_cast<double>(allocated) / capacity * 100.0;
    const double f0 = frag_total / capacity * 100.0;
    arrived += pod.accel.total();
    ++out.pods;
    auto where = policy->place({cluster, free, rng}, pod);
    if (where) {
      cluster.allocate(free, *where, pod);
      allocated += pod.accel.total();
      const double f = frag_of(where->node);
      frag_total += f - node_frag[where->node.value];
      node_frag[where->node.value] = f;
    } else {
      ++out.failed;
    }
    const double a1 = static_cast<double>(arrived) / capacity * 100.0;
    alloc_curve.segment(a0, y0, a1, static_cast<double>(allocated) / capacity * 100.0);
    frag_curve.segment(a0, f0, a1, frag_total / capacity * 100.0);
  }
  out.arrived_pct = static_cast<double>(arrived) / capacity * 100.0;
  out.allocated_pct = static_cast<double>(allocated) / capacity * 100.0;
  alloc_curve.finish(out.allocated_pct);
  frag_curve.finish(frag_total / capacity * 100.0);
  return out;
}

}  // namespace gwang::sim
