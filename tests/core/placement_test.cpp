// Unit tests of the placement policies, typical_shapes and node_fragmentation, with scores worked out
// by hand from the policies' definitions (docs/references.md, section 3).
#include <gtest/gtest.h>

#include <numeric>

#include "core/placement.h"
#include "core_helpers.h"

namespace gwang::core {
namespace {

using namespace gwang::core::testing;

// Places `task` with a fresh policy of `kind` on the cluster's live free state.
std::optional<TaskPlacement> place(PlacementKind kind, const Cluster& c, const TaskRequest& task,
                                   PlacementOptions options = {}, std::uint64_t seed = 1) {
  auto policy = make_placement(kind, std::move(options));
  Rng rng(seed);
  return policy->place({c, c.free(), rng}, task);
}

// Allocates `task` on `node` at the given devices in the live free state.
void occupy(Cluster& c, NodeId node, const TaskRequest& task, std::vector<DeviceShare> devices) {
  c.allocate(c.free(), TaskPlacement{node, std::move(devices)}, task);
}

// --- parsing

// Every policy name parses to its kind and back.
TEST(ParsePlacement, RoundTripsEveryName) {
  ASSERT_EQ(all_placements().size(), 7u);
  for (PlacementKind k : all_placements()) {
    auto parsed = parse_placement(to_string(k));
    ASSERT_TRUE(parsed.has_value()) << to_string(k);
    EXPECT_EQ(*parsed, k);
  }
  EXPECT_EQ(parse_placement("gpu-packing"), PlacementKind::GpuPacking);
  EXPECT_EQ(make_placement(PlacementKind::DotProduct)->name(), "dot-product");
}

// An unknown name is an error that repeats the name and lists all seven valid ones.
TEST(ParsePlacement, ErrorListsValidNames) {
  auto r = parse_placement("worst-fit");
  ASSERT_FALSE(r.has_value());
  const std::string& m = r.error().message;
  EXPECT_NE(m.find("'worst-fit'"), std::string::npos) << m;
  for (const char* name :
       {"first-fit", "best-fit", "random", "dot-product", "gpu-clustering", "gpu-packing", "fgd"}) {
    EXPECT_NE(m.find(name), std::string::npos) << name << " missing in: " << m;
  }
  EXPECT_FALSE(parse_placement("").has_value());
  EXPECT_FALSE(parse_placement("FGD").has_value());  // names are case-sensitive
}

// --- first fit and random

// First fit takes the first available node in scan order, skipping nodes that do not fit.
TEST(FirstFit, FirstAvailableInScanOrder) {
  Cluster c = make_cluster();
  make_node(c, 1000, gpus(1, v100(c)));
  make_node(c, 8000, gpus(2, v100(c)));
  make_node(c, 8000, gpus(2, v100(c)));
  const TaskRequest t = make_task(2000, 1);
  EXPECT_EQ(place(PlacementKind::FirstFit, c, t)->node, nid(1));
  c.set_scan_order({nid(2), nid(1), nid(0)});
  EXPECT_EQ(place(PlacementKind::FirstFit, c, t)->node, nid(2));
  EXPECT_EQ(place(PlacementKind::FirstFit, c, t)->devices, (std::vector<DeviceShare>{{0, 1000}}));
}

// Random with a single available node always returns it; with several, the same seed repeats.
TEST(RandomPlacement, SingleCandidateAndSeededRepeatability) {
  Cluster c = make_cluster();
  make_node(c, 1000, {});
  make_node(c, 8000, gpus(4, v100(c)));
  make_node(c, 1000, {});
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    auto p = place(PlacementKind::Random, c, make_shared_task(2000, 300), {}, seed);
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->node, nid(1));
    ASSERT_EQ(p->devices.size(), 1u);
    EXPECT_EQ(p->devices[0].milli, 300);
  }
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    EXPECT_EQ(place(PlacementKind::Random, c, make_task(500), {}, seed),
              place(PlacementKind::Random, c, make_task(500), {}, seed));
  }
}

// Over many seeds random reaches every available node (and no unavailable one).
TEST(RandomPlacement, ReachesEveryAvailableNode) {
  Cluster c = make_cluster();
  for (int i = 0; i < 4; ++i) make_node(c, 4000, {});
  c.set_state(nid(2), NodeState::Drained);
  std::vector<int> hits(4, 0);
  auto policy = make_placement(PlacementKind::Random);
  Rng rng(99);
  for (int i = 0; i < 300; ++i) ++hits[policy->place({c, c.free(), rng}, make_task(1000))->node.value];
  EXPECT_GT(hits[0], 0);
  EXPECT_GT(hits[1], 0);
  EXPECT_EQ(hits[2], 0);
  EXPECT_GT(hits[3], 0);
}

// --- best fit

// Best fit picks the node with the least CPU and accelerator left over.
// Scale: 8000 CPU, 4 devices = 4000. Task 1000 CPU + 1 GPU.
//   n0 (idle):         leftover 0.5*7000/8000 + 0.5*3000/4000 = 0.8125 -> 18
//   n1 (2 GPUs in use): leftover 0.5*7000/8000 + 0.5*1000/4000 = 0.5625 -> 43  wins
TEST(BestFit, PicksTightestNode) {
  Cluster c = make_cluster();
  make_node(c, 8000, gpus(4, v100(c)));
  const NodeId n1 = make_node(c, 8000, gpus(4, v100(c)));
  occupy(c, n1, make_task(0, 2), {{0, 1000}, {1, 1000}});
  auto p = place(PlacementKind::BestFit, c, make_task(1000, 1));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->node, n1);
  EXPECT_EQ(p->devices, (std::vector<DeviceShare>{{2, 1000}}));
}

// Best fit weighs CPU leftover too: with equal GPUs, the node with less CPU free wins.
//   n0: 0.5*(8000-1000)/8000 + 0.5*1000/2000 = 0.6875 -> 31; n1: 0.5*(4000-1000)/8000 + 0.25 = 0.4375 -> 56
TEST(BestFit, CpuLeftoverCounts) {
  Cluster c = make_cluster();
  make_node(c, 8000, gpus(2, v100(c)));
  make_node(c, 4000, gpus(2, v100(c)));
  EXPECT_EQ(place(PlacementKind::BestFit, c, make_task(1000, 1))->node, nid(1));
}

// Equal scores: the node visited first in scan order wins.
TEST(BestFit, TiesGoToScanOrder) {
  Cluster c = make_cluster();
  make_node(c, 8000, gpus(2, v100(c)));
  make_node(c, 8000, gpus(2, v100(c)));
  EXPECT_EQ(place(PlacementKind::BestFit, c, make_task(1000, 1))->node, nid(0));
  c.set_scan_order({nid(1), nid(0)});
  EXPECT_EQ(place(PlacementKind::BestFit, c, make_task(1000, 1))->node, nid(1));
}

// --- dot product

// Dot product picks the node whose free vector aligns least with the request.
// Scale: 8000 CPU, 2000 GPU. Task 4000 CPU + 1 GPU = (0.5, 0.5).
//   n0 free (1, 1):   dot 1.0  -> 100*(1 - 0.5)   = 50
//   n1 free (0.5, 1): dot 0.75 -> 100*(1 - 0.375) = 62  wins
TEST(DotProduct, PicksLeastAlignedNode) {
  Cluster c = make_cluster();
  make_node(c, 8000, gpus(2, v100(c)));
  const NodeId n1 = make_node(c, 8000, gpus(2, v100(c)));
  occupy(c, n1, make_task(4000), {});
  EXPECT_EQ(place(PlacementKind::DotProduct, c, make_task(4000, 1))->node, n1);
}

// A GPU-heavy request goes where GPUs are scarcer relative to CPU.
// Scale 8000 CPU, 2000 GPU. Task 1000 CPU + 2 GPUs = (0.125, 1).
//   n0 free (1, 1): dot 1.125 -> 43;  n1 free (0.25, 1): dot 1.03125 -> 48  wins
TEST(DotProduct, GpuHeavyRequest) {
  Cluster c = make_cluster();
  make_node(c, 8000, gpus(2, v100(c)));
  const NodeId n1 = make_node(c, 8000, gpus(2, v100(c)));
  occupy(c, n1, make_task(6000), {});
  EXPECT_EQ(place(PlacementKind::DotProduct, c, make_task(1000, 2))->node, n1);
}

// --- GPU clustering

// Builds four 4-GPU nodes: n0 idle, n1 runs a 1-GPU task, n2 a share, n3 a share and a 1-GPU task.
Cluster clustering_cluster() {
  Cluster c = make_cluster();
  for (int i = 0; i < 4; ++i) make_node(c, 8000, gpus(4, v100(c)));
  occupy(c, nid(1), make_task(0, 1), {{0, 1000}});
  occupy(c, nid(2), make_shared_task(0, 500), {{0, 500}});
  occupy(c, nid(3), make_shared_task(0, 500), {{0, 500}});
  occupy(c, nid(3), make_task(0, 1), {{1, 1000}});
  return c;
}

// A share (class 0) joins the node whose GPU tasks are all shares.
// Total 4000. n0: base 0 + 25 = 25; n1: base 25*1000/4000 = 6, other class -> 6;
// n2: base 25*500/4000 = 3, only class 0 -> 78; n3: base 25*1500/4000 = 9, mixed -> 59.
TEST(GpuClustering, GroupsLikeClasses) {
  Cluster c = clustering_cluster();
  EXPECT_EQ(place(PlacementKind::GpuClustering, c, make_shared_task(0, 200))->node, nid(2));
  c.set_state(nid(2), NodeState::Drained);
  EXPECT_EQ(place(PlacementKind::GpuClustering, c, make_shared_task(0, 200))->node, nid(3));
  c.set_state(nid(3), NodeState::Drained);
  EXPECT_EQ(place(PlacementKind::GpuClustering, c, make_shared_task(0, 200))->node, nid(0));
}

// A 1-GPU task (class 1) joins n1, whose only class is 1 (6 + 75 = 81), over n3 (9 + 50 = 59).
TEST(GpuClustering, WholeGpuClassJoinsItsKind) {
  Cluster c = clustering_cluster();
  EXPECT_EQ(place(PlacementKind::GpuClustering, c, make_task(0, 1))->node, nid(1));
  // A 2-GPU task is class 2: no node has it; idle n0 scores 25, the others at most 9.
  EXPECT_EQ(place(PlacementKind::GpuClustering, c, make_task(0, 2))->node, nid(0));
}

// A CPU-only task scores 0 everywhere: the first node in scan order wins.
TEST(GpuClustering, CpuOnlyTaskTakesScanOrder) {
  Cluster c = clustering_cluster();
  c.set_scan_order({nid(3), nid(1), nid(0), nid(2)});
  EXPECT_EQ(place(PlacementKind::GpuClustering, c, make_task(1000))->node, nid(3));
}

// --- GPU packing

// Four 4-GPU nodes: n0 idle; n1 GPU 0 fully used; n2 a 500 share on GPU 0; n3 a 700 share on GPU 0.
Cluster packing_cluster() {
  Cluster c = make_cluster();
  for (int i = 0; i < 4; ++i) make_node(c, 8000, gpus(4, v100(c)));
  occupy(c, nid(1), make_task(0, 1), {{0, 1000}});
  occupy(c, nid(2), make_shared_task(0, 500), {{0, 500}});
  occupy(c, nid(3), make_shared_task(0, 700), {{0, 700}});
  return c;
}

// A share prefers a partly used GPU, the fuller the better.
// n0 idle: max(33-4, 4) = 29; n1 needs a free GPU: max(50-1, 33) = 49;
// n2 GPU 0 has 500 free: 100 - 50/10 = 95; n3 GPU 0 has 300 free: 100 - 30/10 = 97 wins.
TEST(GpuPacking, PrefersPartlyUsedGpu) {
  Cluster c = packing_cluster();
  auto p = place(PlacementKind::GpuPacking, c, make_shared_task(0, 200));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->node, nid(3));
  EXPECT_EQ(p->devices, (std::vector<DeviceShare>{{0, 200}}));
  // A share of 400 does not fit n3's 300: n2 (95) wins, on its GPU 0.
  p = place(PlacementKind::GpuPacking, c, make_shared_task(0, 400));
  EXPECT_EQ(p->node, nid(2));
  EXPECT_EQ(p->devices, (std::vector<DeviceShare>{{0, 400}}));
  // A share of 600 fits no partly used GPU: partly used nodes (49) beat the idle one (29).
  p = place(PlacementKind::GpuPacking, c, make_shared_task(0, 600));
  EXPECT_EQ(p->node, nid(1));
  EXPECT_EQ(p->devices, (std::vector<DeviceShare>{{1, 600}}));
}

// Whole GPUs go to partly used nodes (max(50-2, 33) = 48) before idle ones (29); first in scan order.
TEST(GpuPacking, WholeGpusPreferPartlyUsedNodes) {
  Cluster c = packing_cluster();
  auto p = place(PlacementKind::GpuPacking, c, make_task(0, 2));
  EXPECT_EQ(p->node, nid(1));
  EXPECT_EQ(p->devices, (std::vector<DeviceShare>{{1, 1000}, {2, 1000}}));
  c.set_state(nid(1), NodeState::Down);
  EXPECT_EQ(place(PlacementKind::GpuPacking, c, make_task(0, 2))->node, nid(2));
}

// Among idle nodes, the one with fewer GPUs wins: 2 GPUs -> 31, 8 GPUs -> 25.
TEST(GpuPacking, IdleNodesPreferFewerGpus) {
  Cluster c = make_cluster();
  make_node(c, 8000, gpus(8, v100(c)));
  make_node(c, 8000, gpus(2, v100(c)));
  EXPECT_EQ(place(PlacementKind::GpuPacking, c, make_task(0, 1))->node, nid(1));
}

// --- typical shapes and fragmentation

// 40 tasks: shape A (1000 CPU, 1 GPU) x25, shape B (100 CPU, share 500) x14 of which 8 ask 0 CPU
// (counted as 100), shape C (2000 CPU only) x1. 95% of 40 = 38: A (25) then B (39) cover it; C is
// left out; frequencies renormalise to 25/39 and 14/39.
TEST(TypicalShapes, CoverageCutsAndRenormalises) {
  std::vector<TaskRequest> tasks;
  for (int i = 0; i < 25; ++i) tasks.push_back(make_task(1000, 1));
  for (int i = 0; i < 8; ++i) tasks.push_back(make_shared_task(0, 500));
  tasks.push_back(make_task(2000));
  for (int i = 0; i < 6; ++i) tasks.push_back(make_shared_task(100, 500));
  const auto shapes = typical_shapes(tasks);
  ASSERT_EQ(shapes.size(), 2u);
  EXPECT_EQ(shapes[0].cpu, 1000);
  EXPECT_EQ(shapes[0].accel.count, 1);
  EXPECT_EQ(shapes[0].accel.per_device, kMilli);
  EXPECT_DOUBLE_EQ(shapes[0].frequency, 25.0 / 39.0);
  EXPECT_EQ(shapes[1].cpu, 100);
  EXPECT_EQ(shapes[1].accel.count, 1);
  EXPECT_EQ(shapes[1].accel.per_device, 500);
  EXPECT_DOUBLE_EQ(shapes[1].frequency, 14.0 / 39.0);
}

// Full coverage keeps every shape; equal counts keep the smaller request first; model lists and
// CPU-only shapes are kept (a CPU-only shape has count 0).
TEST(TypicalShapes, FullCoverageKeepsAllShapesInOrder) {
  Cluster c = make_cluster();
  std::vector<TaskRequest> tasks{
      make_task(3000), make_task(3000), make_task(500, 2, kMilli, {t4(c)}),
      make_task(500, 2, kMilli, {t4(c)}), make_task(200, 1), make_task(500, 2, kMilli, {t4(c)})};
  const auto shapes = typical_shapes(tasks, 1.0);
  ASSERT_EQ(shapes.size(), 3u);
  EXPECT_EQ(shapes[0].cpu, 500);  // 3 tasks
  EXPECT_EQ(shapes[0].accel.models, (std::vector<ResourceKind>{t4(c)}));
  EXPECT_DOUBLE_EQ(shapes[0].frequency, 0.5);
  EXPECT_EQ(shapes[1].cpu, 3000);  // 2 tasks; ties with nothing
  EXPECT_EQ(shapes[1].accel.count, 0);
  EXPECT_DOUBLE_EQ(shapes[1].frequency, 2.0 / 6.0);
  EXPECT_EQ(shapes[2].cpu, 200);
  EXPECT_DOUBLE_EQ(shapes[2].frequency, 1.0 / 6.0);
  double sum = 0;
  for (const auto& s : shapes) sum += s.frequency;
  EXPECT_DOUBLE_EQ(sum, 1.0);

  // Two shapes with one task each: the smaller CPU request comes first.
  std::vector<TaskRequest> two{make_task(900), make_task(300)};
  const auto tied = typical_shapes(two, 1.0);
  ASSERT_EQ(tied.size(), 2u);
  EXPECT_EQ(tied[0].cpu, 300);
  EXPECT_EQ(tied[1].cpu, 900);
}

// No tasks: no shapes.
TEST(TypicalShapes, EmptyInputGivesNoShapes) {
  EXPECT_TRUE(typical_shapes(std::span<const TaskRequest>{}).empty());
}

// One 4-V100 node with free {1000, 600, 300, 0} (F = 1900) and three shapes:
//   s1 (0.5):  1000 CPU, 1 whole GPU: GPU 0 fits -> stranded 600+300+0 = 900
//   s2 (0.25): 100 CPU, share 500: GPUs 0, 1 fit -> stranded 300+0 = 300
//   s3 (0.25): CPU only -> F = 1900
// Fragmentation = 450 + 75 + 475 = 1000. With 500 CPU free, s1 lacks CPU -> F: 950 + 75 + 475 = 1500.
TEST(NodeFragmentation, HandComputedNode) {
  Cluster c = make_cluster();
  const NodeId n = make_node(c, 8000, gpus(4, v100(c)));
  std::vector<TypicalShape> shapes(3);
  shapes[0] = {.cpu = 1000, .accel = {.count = 1, .per_device = kMilli, .models = {}}, .frequency = 0.5};
  shapes[1] = {.cpu = 100, .accel = {.count = 1, .per_device = 500, .models = {}}, .frequency = 0.25};
  shapes[2] = {.cpu = 100, .accel = {}, .frequency = 0.25};
  const std::vector<Milli> free{1000, 600, 300, 0};
  EXPECT_DOUBLE_EQ(node_fragmentation(c.node(n), 8000, free, shapes), 1000.0);
  EXPECT_DOUBLE_EQ(node_fragmentation(c.node(n), 500, free, shapes), 1500.0);
}

// A shape whose model the node lacks, or that needs more GPUs than fit, sees all free GPU as fragment.
TEST(NodeFragmentation, DisallowedModelOrTooFewGpusIsAllFragment) {
  Cluster c = make_cluster();
  const NodeId n = make_node(c, 8000, gpus(4, v100(c)));
  const std::vector<Milli> free{1000, 600, 300, 0};
  std::vector<TypicalShape> t4_only{
      {.cpu = 100, .accel = {.count = 1, .per_device = 100, .models = {t4(c)}}, .frequency = 1.0}};
  EXPECT_DOUBLE_EQ(node_fragmentation(c.node(n), 8000, free, t4_only), 1900.0);
  std::vector<TypicalShape> two{
      {.cpu = 100, .accel = {.count = 2, .per_device = kMilli, .models = {}}, .frequency = 1.0}};
  EXPECT_DOUBLE_EQ(node_fragmentation(c.node(n), 8000, free, two), 1900.0);
  std::vector<Milli> idle{1000, 1000, 1000, 1000};
  EXPECT_DOUBLE_EQ(node_fragmentation(c.node(n), 8000, idle, two), 0.0);
}

// --- FGD

PlacementOptions shapes_of(std::vector<TypicalShape> shapes) {
  PlacementOptions o;
  o.typical_shapes = std::move(shapes);
  return o;
}

// One typical shape (100 CPU, 1 whole GPU). A 500 share:
//   n0 free {1000, 1000}: before 0, after {500, 1000} -> 500: D = -500 -> 37
//   n1 free {500, 1000}:  before 500; on GPU 0 -> {0, 1000} -> 0, on GPU 1 -> {500, 500} -> 1000;
//                         best GPU 0: D = +500 -> 62  wins, on GPU 0
TEST(Fgd, PicksNodeWhoseFragmentationGrowsLeast) {
  Cluster c = make_cluster();
  make_node(c, 8000, gpus(2, v100(c)));
  const NodeId n1 = make_node(c, 8000, gpus(2, v100(c)));
  occupy(c, n1, make_shared_task(0, 500), {{0, 500}});
  auto opts = shapes_of(
      {{.cpu = 100, .accel = {.count = 1, .per_device = kMilli, .models = {}}, .frequency = 1.0}});
  auto p = place(PlacementKind::Fgd, c, make_shared_task(100, 500), opts);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->node, n1);
  EXPECT_EQ(p->devices, (std::vector<DeviceShare>{{0, 500}}));
}

// FGD's device for a share is the one that fragments least, which need not be best fit.
// Node free {300, 600}; task: share 200.
//   shape "share 400": GPU 0 -> {100, 600}: stranded 100; GPU 1 -> {300, 400}: stranded 300 -> GPU 0
//   shape "share 250": GPU 0 -> {100, 600}: stranded 100; GPU 1 -> {300, 400}: stranded 0   -> GPU 1
//   (best fit would take GPU 0, the least free, in both cases)
TEST(Fgd, ShareGoesToTheLeastFragmentingDevice) {
  Cluster c = make_cluster();
  const NodeId n = make_node(c, 8000, gpus(2, v100(c)));
  occupy(c, n, make_shared_task(0, 700), {{0, 700}});
  occupy(c, n, make_shared_task(0, 400), {{1, 400}});
  // free {300, 600}
  auto opts = shapes_of(
      {{.cpu = 100, .accel = {.count = 1, .per_device = 400, .models = {}}, .frequency = 1.0}});
  auto p = place(PlacementKind::Fgd, c, make_shared_task(100, 200), opts);
  EXPECT_EQ(p->devices, (std::vector<DeviceShare>{{0, 200}}));
  opts = shapes_of(
      {{.cpu = 100, .accel = {.count = 1, .per_device = 250, .models = {}}, .frequency = 1.0}});
  p = place(PlacementKind::Fgd, c, make_shared_task(100, 200), opts);
  EXPECT_EQ(p->devices, (std::vector<DeviceShare>{{1, 200}}));
}

// A CPU-only task that would starve a GPU node of the CPU its typical shape needs goes to a CPU node.
// Shape (4000 CPU, 1 GPU). Task 5000 CPU. n0 (8000 CPU, 1 GPU): before 0, after 3000 CPU < 4000 ->
// F = 1000: D = -1000 -> 26. n1 (no GPU): 0 -> 0: D = 0 -> 50  wins.
TEST(Fgd, CpuTaskAvoidsStrandingGpus) {
  Cluster c = make_cluster();
  make_node(c, 8000, gpus(1, v100(c)));
  make_node(c, 8000, {});
  auto opts = shapes_of(
      {{.cpu = 4000, .accel = {.count = 1, .per_device = kMilli, .models = {}}, .frequency = 1.0}});
  EXPECT_EQ(place(PlacementKind::Fgd, c, make_task(5000), opts)->node, nid(1));
  // First fit would have taken n0.
  EXPECT_EQ(place(PlacementKind::FirstFit, c, make_task(5000))->node, nid(0));
}

// Equal fragmentation change: the first node in scan order wins.
TEST(Fgd, TiesGoToScanOrder) {
  Cluster c = make_cluster();
  make_node(c, 8000, gpus(2, v100(c)));
  make_node(c, 8000, gpus(2, v100(c)));
  auto opts = shapes_of(
      {{.cpu = 100, .accel = {.count = 1, .per_device = kMilli, .models = {}}, .frequency = 1.0}});
  EXPECT_EQ(place(PlacementKind::Fgd, c, make_task(100, 1), opts)->node, nid(0));
  c.set_scan_order({nid(1), nid(0)});
  EXPECT_EQ(place(PlacementKind::Fgd, c, make_task(100, 1), opts)->node, nid(1));
}

// One FGD policy reused across changing states answers as a fresh one would (its caches follow
// the free state).
TEST(Fgd, ReusedPolicyFollowsStateChanges) {
  Cluster c = make_cluster();
  make_node(c, 8000, gpus(2, v100(c)));
  make_node(c, 8000, gpus(2, v100(c)));
  auto opts = shapes_of(
      {{.cpu = 100, .accel = {.count = 1, .per_device = kMilli, .models = {}}, .frequency = 1.0}});
  auto policy = make_placement(PlacementKind::Fgd, opts);
  Rng rng(1);
  const TaskRequest share = make_shared_task(100, 500);
  // Both idle: D = -500 on each, n0 first.
  EXPECT_EQ(policy->place({c, c.free(), rng}, share)->node, nid(0));
  occupy(c, nid(1), make_shared_task(0, 500), {{1, 500}});
  // Now n1 has a half-used GPU 1: completing it gives D = +500 there.
  auto p = policy->place({c, c.free(), rng}, share);
  EXPECT_EQ(p->node, nid(1));
  EXPECT_EQ(p->devices, (std::vector<DeviceShare>{{1, 500}}));
  EXPECT_EQ(p, place(PlacementKind::Fgd, c, share, opts));
}

}  // namespace
}  // namespace gwang::core
