// The contract every placement policy keeps, checked on all of them (core::all_placements()).
#include <gtest/gtest.h>

#include <set>

#include "core/placement.h"
#include "core_helpers.h"

namespace gwang::core {
namespace {

using namespace gwang::core::testing;

// A mixed cluster in a partly used state:
//   n0: 16000 CPU, 4 V100 (GPU 0 holds a 600 share, GPU 1 fully used)
//   n1: 8000 CPU, 2 T4 (idle)
//   n2: 4000 CPU, no accelerators
//   n3: 32000 CPU, 2 V100 + 2 T4 (GPU 2 holds a 300 share)
//   n4: 8000 CPU, 8 V100 (idle)
Cluster contract_cluster() {
  Cluster c = make_cluster();
  const ResourceKind v = v100(c);
  const ResourceKind t = t4(c);
  make_node(c, 16000, gpus(4, v));
  make_node(c, 8000, gpus(2, t));
  make_node(c, 4000, {});
  make_node(c, 32000, {v, v, t, t});
  make_node(c, 8000, gpus(8, v));
  c.allocate(c.free(), {nid(0), {{0, 600}}}, make_shared_task(1000, 600));
  c.allocate(c.free(), {nid(0), {{1, 1000}}}, make_task(1000, 1));
  c.allocate(c.free(), {nid(3), {{2, 300}}}, make_shared_task(500, 300, {t}));
  return c;
}

// The requests the contract is checked with.
std::vector<TaskRequest> contract_tasks(const Cluster& c) {
  const ResourceKind v = v100(c);
  const ResourceKind t = t4(c);
  return {
      make_task(2000),                  // CPU only
      make_task(20000),                 // CPU only, one node can take it
      make_shared_task(500, 300),       // a share of any model
      make_shared_task(500, 500, {t}),  // a share of a T4
      make_shared_task(100, 700, {v}),  // a share of a V100
      make_task(1000, 1),               // one whole device
      make_task(1000, 2, kMilli, {t}),  // two whole T4s
      make_task(1000, 4, kMilli, {v}),  // four whole V100s
      make_task(4000, 8),               // eight devices: only n4
  };
}

PlacementOptions fgd_options(const Cluster& c) {
  PlacementOptions o;
  const auto tasks = contract_tasks(c);
  o.typical_shapes = typical_shapes(tasks);
  return o;
}

class PlacementContract : public ::testing::TestWithParam<PlacementKind> {
 protected:
  std::unique_ptr<PlacementPolicy> policy(const Cluster& c) const { return make_placement(GetParam(), fgd_options(c)); }
  std::optional<TaskPlacement> place(const Cluster& c, const FreeState& free, const TaskRequest& t,
                                     std::uint64_t seed = 7) const {
    Rng rng(seed);
    return policy(c)->place({c, free, rng}, t);
  }
};

// Checks that `p` is a valid placement of `t` on `free`; returns a description of the first fault.
std::string fault(const Cluster& c, const FreeState& free, const TaskRequest& t, const TaskPlacement& p) {
  if (p.node.value >= c.size()) return "unknown node";
  if (!c.available_on(free, p.node, t)) return "node not available";
  if (c.node(p.node).state != NodeState::Up) return "node not up";
  if (!t.scalars.fits_in(free[p.node].scalars)) return "scalars do not fit";
  if (static_cast<int>(p.devices.size()) != t.accel.count) return "wrong number of devices";
  std::set<std::uint16_t> seen;
  for (const DeviceShare& d : p.devices) {
    if (d.index >= free[p.node].devices.size()) return "device index out of range";
    if (!seen.insert(d.index).second) return "device given twice";
    if (d.milli != t.accel.per_device) return "device share is not per_device";
    if (free[p.node].devices[d.index] < d.milli) return "device lacks free milli";
    if (!t.accel.allows(c.node(p.node).device_models[d.index])) return "model not allowed";
    if (!t.accel.shared() && free[p.node].devices[d.index] != kMilli) return "whole device not fully free";
  }
  return "";
}

// The policy's name parses back to its kind.
TEST_P(PlacementContract, NameMatchesKind) {
  Cluster c = contract_cluster();
  EXPECT_EQ(policy(c)->name(), to_string(GetParam()));
}

// Nothing fits: nullopt (too many devices, too much CPU, a model the free devices lack).
TEST_P(PlacementContract, NulloptWhenNothingFits) {
  Cluster c = contract_cluster();
  EXPECT_FALSE(place(c, c.free(), make_task(0, 9)).has_value());
  EXPECT_FALSE(place(c, c.free(), make_task(32001)).has_value());
  EXPECT_FALSE(place(c, c.free(), make_task(0, 3, kMilli, {t4(c)})).has_value());
  Cluster empty = make_cluster();
  EXPECT_FALSE(place(empty, empty.free(), make_task(1)).has_value());
}

// Every answer is an available node with enough free milli on distinct devices of allowed models;
// shares get exactly one device of per_device milli, k-device tasks k fully free devices.
TEST_P(PlacementContract, AnswersAreValidPlacements) {
  Cluster c = contract_cluster();
  for (const TaskRequest& t : contract_tasks(c)) {
    for (std::uint64_t seed : {1u, 2u, 3u}) {
      auto p = place(c, c.free(), t, seed);
      ASSERT_TRUE(p.has_value()) << "cpu " << t.scalars.get(R::kCpu) << " count " << t.accel.count;
      EXPECT_EQ(fault(c, c.free(), t, *p), "")
          << "cpu " << t.scalars.get(R::kCpu) << " count " << t.accel.count << " node " << p->node.value;
      if (t.accel.shared()) {
        ASSERT_EQ(p->devices.size(), 1u);
        EXPECT_EQ(p->devices[0].milli, t.accel.per_device);
      }
    }
  }
}

// Answers stay valid while the cluster fills up: placing tasks one after another until none fits.
TEST_P(PlacementContract, FillingTheClusterStaysValid) {
  Cluster c = contract_cluster();
  auto pol = policy(c);
  Rng rng(11);
  const auto tasks = contract_tasks(c);
  int placed = 0;
  for (int round = 0; round < 200; ++round) {
    const TaskRequest& t = tasks[static_cast<std::size_t>(round) % tasks.size()];
    auto p = pol->place({c, c.free(), rng}, t);
    if (!p) continue;
    ASSERT_EQ(fault(c, c.free(), t, *p), "") << "round " << round;
    c.allocate(c.free(), *p, t);
    ++placed;
  }
  EXPECT_GT(placed, 5);
  for (const NodeFree& nf : c.free().nodes) {
    EXPECT_GE(nf.scalars.get(R::kCpu), 0);
    for (Milli m : nf.devices) EXPECT_GE(m, 0);
  }
}

// Drained and Down nodes are never chosen, even when they are the only ones that fit.
TEST_P(PlacementContract, NeverPicksDrainedOrDownNodes) {
  Cluster c = contract_cluster();
  c.set_state(nid(4), NodeState::Drained);
  EXPECT_FALSE(place(c, c.free(), make_task(4000, 8)).has_value());  // only n4 has 8 devices
  c.set_state(nid(3), NodeState::Down);
  EXPECT_FALSE(place(c, c.free(), make_task(20000)).has_value());  // only n3 has 20000 CPU
  for (const TaskRequest& t : contract_tasks(c)) {
    for (std::uint64_t seed : {1u, 2u, 3u, 4u}) {
      auto p = place(c, c.free(), t, seed);
      if (!p) continue;
      EXPECT_NE(p->node, nid(3));
      EXPECT_NE(p->node, nid(4));
    }
  }
  // With every node out, nothing is placed.
  for (std::uint32_t i = 0; i < c.size(); ++i) c.set_state(nid(i), NodeState::Drained);
  EXPECT_FALSE(place(c, c.free(), make_task(100)).has_value());
}

// A task that names its nodes (--nodelist) goes only there; one that excludes nodes (--exclude)
// never goes there; nothing is placed when the named nodes cannot take it.
TEST_P(PlacementContract, KeepsToTheNodesATaskNames) {
  const Cluster c = contract_cluster();
  for (TaskRequest t : contract_tasks(c)) {
    const auto anywhere = place(c, c.free(), t);
    // Excluding where it went: it goes elsewhere or nowhere, never there.
    t.nodes = std::make_shared<const NodeFilter>(NodeFilter{{anywhere->node}, true});
    for (std::uint64_t seed : {1u, 2u, 3u}) {
      const auto p = place(c, c.free(), t, seed);
      if (p) {
        EXPECT_NE(p->node, anywhere->node);
        EXPECT_EQ(fault(c, c.free(), t, *p), "");
      }
    }
    // Naming only that node: it goes there.
    t.nodes = std::make_shared<const NodeFilter>(NodeFilter{{anywhere->node}, false});
    const auto named = place(c, c.free(), t);
    ASSERT_TRUE(named);
    EXPECT_EQ(named->node, anywhere->node);
  }
  // Only n2 (4000 CPU, no devices) named: a task of devices has nowhere to go.
  TaskRequest gpu = make_task(1000, 1);
  gpu.nodes = std::make_shared<const NodeFilter>(NodeFilter{{nid(2)}, false});
  EXPECT_FALSE(place(c, c.free(), gpu).has_value());
  EXPECT_FALSE(c.feasible_on(nid(0), gpu));
}

// A task whose rule names node features goes only to nodes that have them, and one asking for
// temporary disk or a CPU shape only to nodes with that much, under every policy.
TEST_P(PlacementContract, KeepsToNodesWithTheFeaturesATaskNames) {
  Cluster c = contract_cluster();
  c.set_traits(nid(1), 0b01, 0, {});  // n1: feature 0
  c.set_traits(nid(3), 0b11, 0, {});  // n3: features 0 and 1
  for (TaskRequest t : contract_tasks(c)) {
    t.features = std::make_shared<const FeatureRule>(FeatureRule{{0b01}});
    for (std::uint64_t seed : {1u, 2u, 3u}) {
      const auto p = place(c, c.free(), t, seed);
      if (p) {
        EXPECT_TRUE(p->node == nid(1) || p->node == nid(3)) << p->node.value;
        EXPECT_EQ(fault(c, c.free(), t, *p), "");
      }
    }
    // Both features (two clauses): n3 only; either (one clause of both): n1 or n3.
    t.features = std::make_shared<const FeatureRule>(FeatureRule{{0b01, 0b10}});
    if (const auto p = place(c, c.free(), t)) {
      EXPECT_EQ(p->node, nid(3));
    }
    t.features = std::make_shared<const FeatureRule>(FeatureRule{{0b100}});  // a feature no node has
    EXPECT_FALSE(place(c, c.free(), t).has_value());
  }
  // A CPU task that fits anywhere: with feature 1, it goes to n3.
  TaskRequest cpu = make_task(1000);
  cpu.features = std::make_shared<const FeatureRule>(FeatureRule{{0b10}});
  const auto p = place(c, c.free(), cpu);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->node, nid(3));
  EXPECT_FALSE(c.feasible_on(nid(0), cpu));
  EXPECT_TRUE(c.feasible_on(nid(3), cpu));
  // Temporary disk (--tmp): only n2 has 1000 MiB of it; a task asking 500 goes there, one asking more nowhere.
  c.set_traits(nid(2), 0, 1000, {});
  TaskRequest tmp = make_task(1000);
  tmp.tmp_mib = 500;
  const auto on_disk = place(c, c.free(), tmp);
  ASSERT_TRUE(on_disk);
  EXPECT_EQ(on_disk->node, nid(2));
  tmp.tmp_mib = 1001;
  EXPECT_FALSE(place(c, c.free(), tmp).has_value());
  // A shape (-B 2:4): only n4 has two sockets of four cores; none has three sockets.
  c.set_traits(nid(4), 0, 0, {2, 4, 2});
  TaskRequest shaped = make_task(1000);
  shaped.shape = {2, 4, 0};
  const auto on_shape = place(c, c.free(), shaped);
  ASSERT_TRUE(on_shape);
  EXPECT_EQ(on_shape->node, nid(4));
  shaped.shape = {3, 0, 0};
  EXPECT_FALSE(place(c, c.free(), shaped).has_value());
}

// A task of the whole node (--exclusive) goes only to a node without tasks, and while it runs no
// other task goes there, under every policy.
TEST_P(PlacementContract, AWholeNodeTaskSharesItsNodeWithNoOther) {
  Cluster c = contract_cluster();  // n0 and n3 run tasks already
  TaskRequest whole = make_task(1000);
  whole.whole_node = true;
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    const auto p = place(c, c.free(), whole, seed);
    ASSERT_TRUE(p);
    EXPECT_NE(p->node, nid(0));
    EXPECT_NE(p->node, nid(3));
  }
  // Taking n2 (the only node of 4000 CPU without devices) whole: a small task goes elsewhere.
  whole.nodes = std::make_shared<const NodeFilter>(NodeFilter{{nid(2)}, false});
  const auto held = place(c, c.free(), whole);
  ASSERT_TRUE(held);
  c.allocate(c.free(), *held, whole);
  TaskRequest small = make_task(100);
  small.nodes = whole.nodes;
  EXPECT_FALSE(place(c, c.free(), small).has_value());
  c.release(c.free(), *held, whole);
  EXPECT_TRUE(place(c, c.free(), small).has_value());
}

// place() leaves the FreeState it is given exactly as it was.
TEST_P(PlacementContract, DoesNotModifyTheFreeState) {
  Cluster c = contract_cluster();
  const FreeState before = c.free();
  FreeState plan = c.free();
  auto pol = policy(c);
  Rng rng(3);
  for (const TaskRequest& t : contract_tasks(c)) {
    pol->place({c, plan, rng}, t);
    EXPECT_TRUE(same_free(plan, before));
    EXPECT_TRUE(same_free(c.free(), before));
  }
}

// The same inputs and seed give the same answer, from fresh policies and from one reused policy.
TEST_P(PlacementContract, SameInputsSameSeedSameAnswer) {
  Cluster c = contract_cluster();
  auto reused = policy(c);
  for (const TaskRequest& t : contract_tasks(c)) {
    for (std::uint64_t seed : {5u, 6u}) {
      const auto a = place(c, c.free(), t, seed);
      const auto b = place(c, c.free(), t, seed);
      EXPECT_EQ(a, b);
      Rng rng(seed);
      EXPECT_EQ(reused->place({c, c.free(), rng}, t), a);
    }
  }
}

// A plan (a copied FreeState) is honoured: the policy reads the state it is given, not the live one.
TEST_P(PlacementContract, ReadsTheGivenStateNotTheLiveOne) {
  Cluster c = contract_cluster();
  FreeState plan = c.free();
  // In the plan every node but n1 has no CPU left.
  for (std::uint32_t i = 0; i < c.size(); ++i) {
    if (i != 1) plan[nid(i)].scalars.set(R::kCpu, 0);
  }
  auto p = place(c, plan, make_task(1000));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->node, nid(1));
  EXPECT_FALSE(place(c, plan, make_task(1000, 1, kMilli, {v100(c)})).has_value());
}

// A whole-device task that allows several models may take devices of different models on one node.
TEST_P(PlacementContract, WholeDevicesMaySpanModels) {
  Cluster c = make_cluster();
  make_node(c, 8000, {v100(c), v100(c), t4(c), t4(c)});
  auto four = place(c, c.free(), make_task(1000, 4));
  ASSERT_TRUE(four.has_value());
  EXPECT_EQ(four->devices.size(), 4u);
  EXPECT_EQ(fault(c, c.free(), make_task(1000, 4), *four), "");
  EXPECT_TRUE(place(c, c.free(), make_task(1000, 3, kMilli, {v100(c), t4(c)})).has_value());
}

INSTANTIATE_TEST_SUITE_P(AllPolicies, PlacementContract, ::testing::ValuesIn(all_placements()),
                         [](const ::testing::TestParamInfo<PlacementKind>& info) {
                           std::string name(to_string(info.param));
                           for (char& ch : name) {
                             if (ch == '-') ch = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace gwang::core
