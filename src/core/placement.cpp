#include "core/placement.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <map>
#include <string>
#include <tuple>

namespace gwang::core {

namespace {

struct NamedPlacement {
  PlacementKind kind;
  std::string_view name;
};
constexpr std::array<NamedPlacement, 7> kPlacements{{
    {PlacementKind::FirstFit, "first-fit"},
    {PlacementKind::BestFit, "best-fit"},
    {PlacementKind::Random, "random"},
    {PlacementKind::DotProduct, "dot-product"},
    {PlacementKind::GpuClustering, "gpu-clustering"},
    {PlacementKind::GpuPacking, "gpu-packing"},
    {PlacementKind::Fgd, "fgd"},
}};
constexpr std::array<PlacementKind, kPlacements.size()> kAllPlacements = [] {
  std::array<PlacementKind, kPlacements.size()> kinds{};
  for (std::size_t i = 0; i < kPlacements.size(); ++i) kinds[i] = kPlacements[i].kind;
  return kinds;
}();

Milli cpu_of(const TaskRequest& task) { return task.scalars.get(ResourceRegistry::kCpu); }

// Devices for the chosen node: the device the policy picked for a shared task, else best fit.
std::optional<TaskPlacement> placement_on(const PlacementContext& ctx, NodeId node, int device,
                                          const TaskRequest& task) {
  if (task.accel.count > 0 && task.accel.shared() && device >= 0) {
    return TaskPlacement{node, {{static_cast<std::uint16_t>(device), task.accel.per_device}}};
  }
  auto devices = pick_devices_best_fit(ctx.cluster.node(node), ctx.free[node], task.accel);
  assert(devices);
  return TaskPlacement{node, std::move(*devices)};
}

// Visits, in scan order, the nodes where `task` is available now, until `fn` returns false. The
// free-capacity index narrows the walk to nodes with room for the task's accelerators.
template <class Fn>
void for_each_available(const PlacementContext& ctx, const TaskRequest& task, NodeBits& bits, Fn&& fn) {
  const Cluster& cluster = ctx.cluster;
  auto usable = [&](NodeId id) {
    return cluster.available_on(ctx.free, id, task) &&
           std::find(ctx.exclude.begin(), ctx.exclude.end(), id) == ctx.exclude.end();
  };
  if (!cluster.candidates(ctx.free, task.accel, bits)) {
    for (NodeId id : cluster.scan_order()) {
      if (usable(id) && !fn(id)) return;
    }
    return;
  }
  for (std::size_t w = 0; w < bits.size(); ++w) {
    for (std::uint64_t word = bits[w]; word != 0; word &= word - 1) {
      const NodeId id = cluster.at_position(w * 64 + static_cast<std::size_t>(__builtin_ctzll(word)));
      if (usable(id) && !fn(id)) return;
    }
  }
}

// --- first fit: the first available node in scan order.
class FirstFit final : public PlacementPolicy {
 public:
  std::string_view name() const override { return "first-fit"; }
  std::optional<TaskPlacement> place(const PlacementContext& ctx, const TaskRequest& task) override {
    std::optional<NodeId> found;
    for_each_available(ctx, task, bits_, [&](NodeId id) {
      found = id;
      return false;
    });
    if (!found) return std::nullopt;
    return placement_on(ctx, *found, -1, task);
  }

 private:
  NodeBits bits_;
};

// --- random: one available node, drawn uniformly; a shared task also gets a device drawn
// uniformly among those with room (the FGD study's Random baseline selects GPUs this way too).
class RandomFit final : public PlacementPolicy {
 public:
  std::string_view name() const override { return "random"; }
  std::optional<TaskPlacement> place(const PlacementContext& ctx, const TaskRequest& task) override {
    candidates_.clear();
    for_each_available(ctx, task, bits_, [&](NodeId id) {
      candidates_.push_back(id);
      return true;
    });
    if (candidates_.empty()) return std::nullopt;
    const NodeId node = candidates_[ctx.rng.below(candidates_.size())];
    int device = -1;
    if (task.accel.count > 0 && task.accel.shared()) {
      const NodeInfo& info = ctx.cluster.node(node);
      const NodeFree& free = ctx.free[node];
      std::vector<int> fitting;
      for (std::size_t i = 0; i < free.devices.size(); ++i) {
        if (free.devices[i] >= task.accel.per_device && task.accel.allows(info.device_models[i])) {
          fitting.push_back(static_cast<int>(i));
        }
      }
      device = fitting[ctx.rng.below(fitting.size())];
    }
    return placement_on(ctx, node, device, task);
  }

 private:
  std::vector<NodeId> candidates_;
  NodeBits bits_;
};

// --- filter, score, pick.
struct Score {
  int value = 0;    // 0..100
  int device = -1;  // the device chosen for a shared task; -1: best fit
};

class ScoringPolicy : public PlacementPolicy {
 public:
  std::optional<TaskPlacement> place(const PlacementContext& ctx, const TaskRequest& task) override {
    prepare(ctx, task);
    int best = -1;
    NodeId best_node{};
    int best_device = -1;
    for_each_available(ctx, task, bits_, [&](NodeId id) {
      const Score s = score(ctx, id, task);
      assert(s.value >= 0 && s.value <= 100);
      if (s.value > best) {
        best = s.value;
        best_node = id;
        best_device = s.device;
      }
      return best < 100 || !stops_at_full_score();
    });
    if (best < 0) return std::nullopt;
    return placement_on(ctx, best_node, best_device, task);
  }

 protected:
  // Work that depends only on the task, done once per placement.
  virtual void prepare(const PlacementContext&, const TaskRequest&) {}
  virtual Score score(const PlacementContext& ctx, NodeId node, const TaskRequest& task) = 0;
  // True when no node can beat a score of 100, so the first node scoring 100 wins at once.
  virtual bool stops_at_full_score() const { return true; }

 private:
  NodeBits bits_;
};

// Normalisers: the largest node's CPU and accelerator capacity.
struct Scale {
  double cpu = 1;
  double gpu = 1;
  Milli gpu_milli = kMilli;
  void from(const Cluster& cluster) {
    cpu = std::max<double>(1, static_cast<double>(cluster.max_scalar(ResourceRegistry::kCpu)));
    gpu_milli = std::max<Milli>(kMilli, cluster.max_devices() * kMilli);
    gpu = static_cast<double>(gpu_milli);
  }
};

// A scoring policy that measures CPU and accelerators against the largest node's capacity.
class ScaledScoring : public ScoringPolicy {
 protected:
  void prepare(const PlacementContext& ctx, const TaskRequest&) override { scale_.from(ctx.cluster); }
  Scale scale_;
};

// --- best fit: least leftover CPU and accelerator, each weighted one half. The linear rescaling of
// all candidates' scores to 0..100 that the reference scheduler applies keeps the winner (scores are
// integers within 0..100, so the map is strictly increasing), and is therefore not repeated here.
class BestFit final : public ScaledScoring {
 public:
  std::string_view name() const override { return "best-fit"; }

 protected:
  Score score(const PlacementContext& ctx, NodeId node, const TaskRequest& task) override {
    const NodeFree& f = ctx.free[node];
    const double cpu_left = static_cast<double>(f.scalars.get(ResourceRegistry::kCpu) - cpu_of(task));
    const double gpu_left = static_cast<double>(f.device_free_total() - task.accel.total());
    const double leftover = 0.5 * cpu_left / scale_.cpu + 0.5 * gpu_left / scale_.gpu;
    return {std::clamp(static_cast<int>(100.0 * (1.0 - leftover)), 0, 100)};
  }
};

// --- dot product: the node whose free (CPU, accelerator) vector aligns least with the request.
class DotProduct final : public ScaledScoring {
 public:
  std::string_view name() const override { return "dot-product"; }

 protected:
  Score score(const PlacementContext& ctx, NodeId node, const TaskRequest& task) override {
    const NodeFree& f = ctx.free[node];
    const double dot =
        (static_cast<double>(f.scalars.get(ResourceRegistry::kCpu)) / scale_.cpu) *
            (static_cast<double>(cpu_of(task)) / scale_.cpu) +
        (static_cast<double>(f.device_free_total()) / scale_.gpu) *
            (static_cast<double>(task.accel.total()) / scale_.gpu);
    return {std::clamp(static_cast<int>(100.0 * (1.0 - dot / 2.0)), 0, 100)};
  }
};

// --- GPU clustering: put accelerator tasks of one class together.
class GpuClustering final : public ScaledScoring {
 public:
  std::string_view name() const override { return "gpu-clustering"; }

 protected:
  Score score(const PlacementContext& ctx, NodeId node, const TaskRequest& task) override {
    if (task.accel.count == 0) return {0};
    const NodeFree& f = ctx.free[node];
    const Milli total = scale_.gpu_milli;
    const int base = static_cast<int>(25 * (total - f.device_free_total()) / total);
    const int cls = accel_class(task.accel);
    if (f.accel_classes.empty()) return {base + 25};
    const bool has = std::any_of(f.accel_classes.begin(), f.accel_classes.end(),
                                 [cls](const auto& c) { return c.first == cls; });
    if (has && f.accel_classes.size() == 1) return {base + 75};
    if (has) return {base + 50};
    return {base};
  }
};

// --- GPU packing: fill partly used devices first, then partly used nodes, then empty nodes.
class GpuPacking final : public ScoringPolicy {
 public:
  std::string_view name() const override { return "gpu-packing"; }

 protected:
  Score score(const PlacementContext& ctx, NodeId node, const TaskRequest& task) override {
    if (task.accel.count == 0) return {0};
    const NodeFree& f = ctx.free[node];
    const int devices = static_cast<int>(f.devices.size());
    if (f.whole_free_devices() == devices) return {std::max(33 - devices, devices)};
    if (!task.accel.shared()) return {std::max(50 - task.accel.count, 33)};
    // A share of one device: the least free device that fits.
    auto chosen = pick_devices_best_fit(ctx.cluster.node(node), f, task.accel);
    assert(chosen);
    const Milli free = f.devices[chosen->front().index];
    if (free == kMilli) return {std::max(50 - 1, 33), chosen->front().index};
    const Milli pct = free * 100 / kMilli;
    return {static_cast<int>(std::max<Milli>(100 - pct / 10, 50)), chosen->front().index};
  }
};

// --- fragmentation gradient descent.
class Fgd final : public ScoringPolicy {
 public:
  explicit Fgd(const std::vector<TypicalShape>& shapes) : model_(shapes) {}
  std::string_view name() const override { return "fgd"; }

 protected:
  void prepare(const PlacementContext& ctx, const TaskRequest& task) override {
    if (cache_.size() != ctx.cluster.size()) cache_.assign(ctx.cluster.size(), {});
    // Tasks of one shape (CPU, accelerators) score alike on nodes in the same state: give the
    // shape a small id so that each node can remember its scores until its state changes.
    std::vector<std::uint16_t> models;
    for (ResourceKind m : task.accel.models) models.push_back(m.value);
    const ShapeKey key{cpu_of(task), task.accel.count, task.accel.per_device, std::move(models)};
    auto [it, inserted] = shape_ids_.try_emplace(key, static_cast<int>(shape_ids_.size()));
    shape_ = it->second;
  }

  Score score(const PlacementContext& ctx, NodeId node, const TaskRequest& task) override {
    const NodeInfo& info = ctx.cluster.node(node);
    const NodeFree& f = ctx.free[node];
    const Milli cpu_free = f.scalars.get(ResourceRegistry::kCpu);
    Cached& c = cache_[node.value];
    if (c.cpu_free != cpu_free || c.devices != f.devices) {
      c.cpu_free = cpu_free;
      c.devices = f.devices;
      c.before = model_.of(info, cpu_free, f.devices);
      c.scores.clear();
    }
    for (const auto& [shape, s] : c.scores) {
      if (shape == shape_) return s;
    }
    const Score s = compute(info, f, c.before, task);
    c.scores.emplace_back(shape_, s);
    return s;
  }

 private:
  Score compute(const NodeInfo& info, const NodeFree& f, double before, const TaskRequest& task) {
    const Milli cpu_after = f.scalars.get(ResourceRegistry::kCpu) - cpu_of(task);
    scratch_.assign(f.devices.begin(), f.devices.end());
    if (task.accel.count == 0) {
      return {to_score(before - model_.of(info, cpu_after, scratch_))};
    }
    if (!task.accel.shared()) {
      auto chosen = pick_devices_best_fit(info, f, task.accel);
      assert(chosen);
      for (const DeviceShare& d : *chosen) scratch_[d.index] -= d.milli;
      return {to_score(before - model_.of(info, cpu_after, scratch_))};
    }
    // A share: try each device with room (devices with equal free milli give equal results, so
    // each distinct amount is tried once, on its lowest-indexed device); the least fragmentation
    // after placement wins, the lowest index among equals.
    double best_after = 0;
    int best_device = -1;
    for (std::size_t i = 0; i < f.devices.size(); ++i) {
      if (f.devices[i] < task.accel.per_device || !task.accel.allows(info.device_models[i])) continue;
      bool seen = false;
      for (std::size_t j = 0; j < i && !seen; ++j) {
        seen = f.devices[j] == f.devices[i] && info.device_models[j] == info.device_models[i];
      }
      if (seen) continue;
      scratch_[i] -= task.accel.per_device;
      const double after = model_.of(info, cpu_after, scratch_);
      scratch_[i] += task.accel.per_device;
      if (best_device < 0 || after < best_after) {
        best_after = after;
        best_device = static_cast<int>(i);
      }
    }
    assert(best_device >= 0);
    return {to_score(before - best_after), best_device};
  }

  static int to_score(double delta) {
    const double sigmoid = 1.0 / (1.0 + std::exp(-delta / 1000.0));
    return std::clamp(static_cast<int>(100.0 * sigmoid), 0, 100);
  }

  using ShapeKey = std::tuple<Milli, int, Milli, std::vector<std::uint16_t>>;
  // What a node's state gave last time: its fragmentation, and the score of each shape tried.
  struct Cached {
    Milli cpu_free = -1;
    std::vector<Milli> devices;
    double before = 0;
    std::vector<std::pair<int, Score>> scores;
  };

  FragmentationModel model_;
  std::map<ShapeKey, int> shape_ids_;
  int shape_ = 0;
  std::vector<Cached> cache_;
  std::vector<Milli> scratch_;
};

}  // namespace

Result<PlacementKind> parse_placement(std::string_view name) {
  std::string valid;
  for (const auto& p : kPlacements) {
    if (p.name == name) return p.kind;
    valid += valid.empty() ? "" : ", ";
    valid += p.name;
  }
  return fail("unknown placement policy '" + std::string(name) + "' (valid: " + valid + ")");
}

std::string_view to_string(PlacementKind kind) {
  for (const auto& p : kPlacements) {
    if (p.kind == kind) return p.name;
  }
  return "?";
}

std::span<const PlacementKind> all_placements() { return kAllPlacements; }

FragmentationModel::FragmentationModel(std::span<const TypicalShape> shapes) {
  for (const TypicalShape& t : shapes) {
    auto same = [&](const Group& g) {
      return g.accel.count == t.accel.count && g.accel.per_device == t.accel.per_device &&
             g.accel.models == t.accel.models;
    };
    auto it = std::find_if(groups_.begin(), groups_.end(), same);
    if (it == groups_.end()) it = groups_.insert(groups_.end(), Group{t.accel, {}, {}});
    it->cpu.push_back(t.cpu);
    it->cum_freq.push_back(t.frequency);
  }
  for (Group& g : groups_) {
    std::vector<std::size_t> order(g.cpu.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return g.cpu[x] < g.cpu[y]; });
    std::vector<Milli> cpu;
    std::vector<double> cum;
    double running = 0;
    for (std::size_t i : order) {
      running += g.cum_freq[i];
      cpu.push_back(g.cpu[i]);
      cum.push_back(running);
    }
    g.cpu = std::move(cpu);
    g.cum_freq = std::move(cum);
  }
}

double FragmentationModel::of(const NodeInfo& info, Milli cpu_free, std::span<const Milli> devices) const {
  Milli device_free = 0;
  for (Milli m : devices) device_free += m;
  double total = 0;
  for (const Group& g : groups_) {
    // The shapes of the group that the node's CPU can take...
    const std::size_t fit = static_cast<std::size_t>(
        std::upper_bound(g.cpu.begin(), g.cpu.end(), cpu_free) - g.cpu.begin());
    const double all = g.cum_freq.back();
    const double with_cpu = fit == 0 ? 0.0 : g.cum_freq[fit - 1];
    // ...strand the free milli of the devices they cannot use (all of it if they cannot run here);
    // the others strand all of it.
    Milli stranded = device_free;
    if (g.accel.count > 0 && with_cpu > 0) {
      int fitting = 0;
      Milli unusable = 0;
      for (std::size_t i = 0; i < devices.size(); ++i) {
        if (g.accel.allows(info.device_models[i]) && devices[i] >= g.accel.per_device) {
          ++fitting;
        } else {
          unusable += devices[i];
        }
      }
      if (fitting >= g.accel.count) stranded = unusable;
    }
    total += with_cpu * static_cast<double>(stranded) + (all - with_cpu) * static_cast<double>(device_free);
  }
  return total;
}

double node_fragmentation(const NodeInfo& info, Milli cpu_free, std::span<const Milli> devices,
                          std::span<const TypicalShape> shapes) {
  return FragmentationModel(shapes).of(info, cpu_free, devices);
}

std::vector<TypicalShape> typical_shapes(std::span<const TaskRequest> tasks, double coverage) {
  using Key = std::tuple<Milli, int, Milli, std::vector<std::uint16_t>>;
  std::map<Key, std::size_t> counts;
  for (const TaskRequest& t : tasks) {
    std::vector<std::uint16_t> models;
    for (ResourceKind m : t.accel.models) models.push_back(m.value);
    std::sort(models.begin(), models.end());
    const Milli cpu = cpu_of(t) == 0 ? 100 : cpu_of(t);
    const Milli per = t.accel.count == 0 ? 0 : t.accel.per_device;
    ++counts[Key{cpu, t.accel.count, per, std::move(models)}];
  }
  std::vector<std::pair<Key, std::size_t>> ranked(counts.begin(), counts.end());
  // Most frequent first; equal counts keep the shape order (smaller request first).
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  std::vector<TypicalShape> out;
  std::size_t covered = 0;
  for (const auto& [key, count] : ranked) {
    if (static_cast<double>(covered) >= coverage * static_cast<double>(tasks.size())) break;
    TypicalShape s;
    s.cpu = std::get<0>(key);
    s.accel.count = std::get<1>(key);
    s.accel.per_device = s.accel.count == 0 ? kMilli : std::get<2>(key);
    for (std::uint16_t m : std::get<3>(key)) s.accel.models.push_back(ResourceKind{m});
    s.frequency = static_cast<double>(count);
    covered += count;
    out.push_back(std::move(s));
  }
  for (auto& s : out) s.frequency /= static_cast<double>(covered);
  return out;
}

std::unique_ptr<PlacementPolicy> make_placement(PlacementKind kind, PlacementOptions options) {
  switch (kind) {
    case PlacementKind::FirstFit: return std::make_unique<FirstFit>();
    case PlacementKind::BestFit: return std::make_unique<BestFit>();
    case PlacementKind::Random: return std::make_unique<RandomFit>();
    case PlacementKind::DotProduct: return std::make_unique<DotProduct>();
    case PlacementKind::GpuClustering: return std::make_unique<GpuClustering>();
    case PlacementKind::GpuPacking: return std::make_unique<GpuPacking>();
    case PlacementKind::Fgd: return std::make_unique<Fgd>(options.typical_shapes);
  }
  return nullptr;
}

}  // namespace gwang::core
