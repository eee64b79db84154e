// Unit tests of Cluster, FreeState and pick_devices_best_fit.
#include <gtest/gtest.h>

#include "core_helpers.h"

namespace gwang::core {
namespace {

using namespace gwang::core::testing;

// A node's capacity holds its scalars plus 1000 milli per device of each model; all of it is free.
TEST(Cluster, AddNodeRecordsCapacityAndFreesEverything) {
  Cluster c = make_cluster();
  const NodeId a = make_node(c, 8000, {v100(c), v100(c), t4(c)}, "a");
  const NodeId b = make_node(c, 16000, {}, "b");
  EXPECT_EQ(a, nid(0));
  EXPECT_EQ(b, nid(1));
  EXPECT_EQ(c.size(), 2u);
  const NodeInfo& info = c.node(a);
  EXPECT_EQ(info.name, "a");
  EXPECT_EQ(info.capacity.get(R::kCpu), 8000);
  EXPECT_EQ(info.capacity.get(R::kMemory), 65536 * kMilli);
  EXPECT_EQ(info.capacity.get(v100(c)), 2000);
  EXPECT_EQ(info.capacity.get(t4(c)), 1000);
  EXPECT_EQ(info.state, NodeState::Up);
  EXPECT_EQ(c.free()[a].scalars, info.capacity);
  EXPECT_EQ(c.free()[a].devices, (std::vector<Milli>{1000, 1000, 1000}));
  EXPECT_EQ(c.free()[a].tasks, 0);
  EXPECT_EQ(c.free()[a].device_free_total(), 3000);
  EXPECT_EQ(c.free()[a].whole_free_devices(), 3);
  EXPECT_EQ(c.find("b"), b);
  EXPECT_FALSE(c.find("zz").has_value());
  EXPECT_EQ(c.max_scalar(R::kCpu), 16000);
  EXPECT_EQ(c.max_devices(), 3);
  ASSERT_EQ(c.scan_order().size(), 2u);
  EXPECT_EQ(c.scan_order()[0], a);
  EXPECT_EQ(c.scan_order()[1], b);
}

// Accelerator amounts given as node scalars are ignored: devices alone make accelerator capacity.
TEST(Cluster, AcceleratorScalarsOfANodeSpecAreIgnored) {
  Cluster c = make_cluster();
  NodeSpec spec;
  spec.name = "x";
  spec.scalars.set(R::kCpu, 1000);
  spec.scalars.set(v100(c), 5000);
  spec.devices = {v100(c)};
  const NodeId id = c.add_node(spec);
  EXPECT_EQ(c.node(id).capacity.get(v100(c)), 1000);
}

// Drained and Down nodes stay feasible but are never available.
TEST(Cluster, FeasibleIgnoresStateAvailableDoesNot) {
  Cluster c = make_cluster();
  const NodeId n = make_node(c, 4000, gpus(2, v100(c)));
  const TaskRequest t = make_task(1000, 1);
  EXPECT_TRUE(c.feasible_on(n, t));
  EXPECT_TRUE(c.available_on(c.free(), n, t));
  c.set_state(n, NodeState::Drained);
  EXPECT_TRUE(c.feasible_on(n, t));
  EXPECT_FALSE(c.available_on(c.free(), n, t));
  c.set_state(n, NodeState::Down);
  EXPECT_TRUE(c.feasible_on(n, t));
  EXPECT_FALSE(c.available_on(c.free(), n, t));
  c.set_state(n, NodeState::Up);
  EXPECT_TRUE(c.available_on(c.free(), n, t));
}

// A task of a pool fits only the pool's nodes; a task of pool 0 fits any node.
TEST(Cluster, PoolsRestrictWhereATaskFits) {
  Cluster c = make_cluster();
  NodeSpec gpu_node;
  gpu_node.name = "g";
  gpu_node.scalars.set(R::kCpu, 4000);
  gpu_node.devices = gpus(2, v100(c));
  gpu_node.pools = 0b011;  // pools 1 and 2
  const NodeId g = c.add_node(gpu_node);
  NodeSpec cpu_node = gpu_node;
  cpu_node.name = "c";
  cpu_node.devices.clear();
  cpu_node.pools = 0b100;  // pool 3
  const NodeId n = c.add_node(cpu_node);
  TaskRequest t = make_task(1000);
  for (int pool : {0, 1, 2, 3, 4}) {
    t.pool = pool;
    SCOPED_TRACE(pool);
    EXPECT_EQ(c.feasible_on(g, t), pool <= 2);
    EXPECT_EQ(c.available_on(c.free(), g, t), pool <= 2);
    EXPECT_EQ(c.feasible_on(n, t), pool == 0 || pool == 3);
    EXPECT_EQ(c.available_on(c.free(), n, t), pool == 0 || pool == 3);
  }
}

// Model lists restrict which devices count; scalars and device counts are checked against capacity.
TEST(Cluster, FeasibleChecksModelsCountsAndScalars) {
  Cluster c = make_cluster();
  const NodeId n = make_node(c, 4000, {v100(c), v100(c), t4(c)});
  EXPECT_TRUE(c.feasible_on(n, make_task(4000)));
  EXPECT_FALSE(c.feasible_on(n, make_task(4001)));
  EXPECT_TRUE(c.feasible_on(n, make_task(0, 3)));
  EXPECT_FALSE(c.feasible_on(n, make_task(0, 4)));
  EXPECT_TRUE(c.feasible_on(n, make_task(0, 2, kMilli, {v100(c)})));
  EXPECT_FALSE(c.feasible_on(n, make_task(0, 2, kMilli, {t4(c)})));
  EXPECT_TRUE(c.feasible_on(n, make_task(0, 3, kMilli, {t4(c), v100(c)})));
  EXPECT_TRUE(c.feasible_on(n, make_shared_task(0, 500, {t4(c)})));
  TaskRequest mem = make_task(0);
  mem.scalars.set(R::kMemory, 65536 * kMilli + 1);
  EXPECT_FALSE(c.feasible_on(n, mem));
}

// Used resources make a node unavailable while it stays feasible.
TEST(Cluster, AvailableFollowsTheFreeState) {
  Cluster c = make_cluster();
  const NodeId n = make_node(c, 4000, gpus(2, v100(c)));
  const TaskRequest two = make_task(1000, 2);
  c.allocate(c.free(), TaskPlacement{n, {{0, 1000}, {1, 1000}}}, two);
  EXPECT_TRUE(c.feasible_on(n, make_task(0, 1)));
  EXPECT_FALSE(c.available_on(c.free(), n, make_task(0, 1)));
  EXPECT_FALSE(c.available_on(c.free(), n, make_shared_task(0, 1)));
  EXPECT_TRUE(c.available_on(c.free(), n, make_task(3000)));
  EXPECT_FALSE(c.available_on(c.free(), n, make_task(3001)));
}

// allocate takes scalars, device milli and a class slot; release gives exactly that back.
TEST(Cluster, AllocateReleaseRoundTrip) {
  Cluster c = make_cluster();
  const NodeId n = make_node(c, 8000, gpus(4, v100(c)));
  const FreeState before = c.free();
  FreeState free = c.free();

  const TaskRequest share = make_shared_task(500, 300);
  const TaskPlacement p1{n, {{2, 300}}};
  const TaskRequest pair = make_task(2000, 2);
  const TaskPlacement p2{n, {{0, 1000}, {1, 1000}}};
  const TaskRequest cpu_only = make_task(1000);
  const TaskPlacement p3{n, {}};
  c.allocate(free, p1, share);
  c.allocate(free, p2, pair);
  c.allocate(free, p3, cpu_only);
  c.allocate(free, p1, share);

  const NodeFree& nf = free[n];
  EXPECT_EQ(nf.scalars.get(R::kCpu), 8000 - 500 - 2000 - 1000 - 500);
  EXPECT_EQ(nf.devices, (std::vector<Milli>{0, 0, 400, 1000}));
  EXPECT_EQ(nf.tasks, 4);
  EXPECT_EQ(nf.accel_classes, (std::vector<std::pair<int, int>>{{0, 2}, {2, 1}}));
  EXPECT_EQ(nf.whole_free_devices(), 1);
  EXPECT_EQ(nf.device_free_total(), 1400);
  EXPECT_TRUE(same_free(c.free(), before));  // the live state was not touched

  c.release(free, p1, share);
  EXPECT_EQ(free[n].accel_classes, (std::vector<std::pair<int, int>>{{0, 1}, {2, 1}}));
  c.release(free, p2, pair);
  c.release(free, p3, cpu_only);
  c.release(free, p1, share);
  EXPECT_TRUE(same_free(free, before));
  EXPECT_TRUE(free[n].accel_classes.empty());
}

// A copy of a FreeState is independent of the original.
TEST(FreeState, CopiesAreIndependent) {
  Cluster c = make_cluster();
  const NodeId n = make_node(c, 8000, gpus(2, v100(c)));
  FreeState plan = c.free();
  c.allocate(plan, TaskPlacement{n, {{1, 1000}}}, make_task(100, 1));
  EXPECT_EQ(plan[n].devices, (std::vector<Milli>{1000, 0}));
  EXPECT_EQ(c.free()[n].devices, (std::vector<Milli>{1000, 1000}));
}

// A set scan order is reported as set.
TEST(Cluster, ScanOrderCanBePermuted) {
  Cluster c = make_cluster();
  make_node(c, 1000, {});
  make_node(c, 1000, {});
  make_node(c, 1000, {});
  c.set_scan_order({nid(2), nid(0), nid(1)});
  ASSERT_EQ(c.scan_order().size(), 3u);
  EXPECT_EQ(c.scan_order()[0], nid(2));
  EXPECT_EQ(c.scan_order()[1], nid(0));
  EXPECT_EQ(c.scan_order()[2], nid(1));
}

// Fixture for pick_devices_best_fit: a node of four devices (V100, T4, T4, V100) with chosen free milli.
struct Picker {
  Cluster c = make_cluster();
  NodeId n = make_node(c, 8000, {v100(c), t4(c), t4(c), v100(c)});
  NodeFree free_with(std::vector<Milli> devices) {
    NodeFree f = c.free()[n];
    f.devices = std::move(devices);
    return f;
  }
  std::optional<std::vector<DeviceShare>> pick(std::vector<Milli> devices, AcceleratorRequest req) {
    return pick_devices_best_fit(c.node(n), free_with(std::move(devices)), req);
  }
};

// A share goes to the least free device that still fits, the lowest index among equals.
TEST(PickDevicesBestFit, ShareTakesLeastFreeThatFits) {
  Picker p;
  const std::vector<Milli> free{1000, 300, 500, 300};
  auto share = [](Milli m) { return AcceleratorRequest{.count = 1, .per_device = m, .models = {}}; };
  EXPECT_EQ(p.pick(free, share(200)), (std::vector<DeviceShare>{{1, 200}}));  // 300 at 1 and 3: 1
  EXPECT_EQ(p.pick(free, share(300)), (std::vector<DeviceShare>{{1, 300}}));
  EXPECT_EQ(p.pick(free, share(400)), (std::vector<DeviceShare>{{2, 400}}));
  EXPECT_EQ(p.pick(free, share(600)), (std::vector<DeviceShare>{{0, 600}}));
  EXPECT_EQ(p.pick({0, 0, 0, 0}, share(1)), std::nullopt);
}

// A share honours the model list: the least free allowed device.
TEST(PickDevicesBestFit, ShareHonoursModels) {
  Picker p;
  const ResourceKind v = v100(p.c);
  const ResourceKind t = t4(p.c);
  // V100 at 0 and 3, T4 at 1 and 2.
  EXPECT_EQ(p.pick({400, 200, 900, 1000}, {.count = 1, .per_device = 300, .models = {v}}),
            (std::vector<DeviceShare>{{0, 300}}));
  EXPECT_EQ(p.pick({400, 200, 900, 1000}, {.count = 1, .per_device = 300, .models = {t}}),
            (std::vector<DeviceShare>{{2, 300}}));
  EXPECT_EQ(p.pick({400, 200, 100, 1000}, {.count = 1, .per_device = 300, .models = {t}}), std::nullopt);
}

// Whole devices: the lowest-indexed fully free ones of an allowed model.
TEST(PickDevicesBestFit, WholeDevicesLowestIndexedFree) {
  Picker p;
  const ResourceKind v = v100(p.c);
  const ResourceKind t = t4(p.c);
  EXPECT_EQ(p.pick({1000, 300, 1000, 1000}, {.count = 2, .per_device = kMilli, .models = {}}),
            (std::vector<DeviceShare>{{0, 1000}, {2, 1000}}));
  EXPECT_EQ(p.pick({1000, 1000, 1000, 1000}, {.count = 1, .per_device = kMilli, .models = {t}}),
            (std::vector<DeviceShare>{{1, 1000}}));
  EXPECT_EQ(p.pick({999, 1000, 1000, 1000}, {.count = 2, .per_device = kMilli, .models = {v}}), std::nullopt);
  EXPECT_EQ(p.pick({1000, 1000, 1000, 1000}, {.count = 5, .per_device = kMilli, .models = {}}), std::nullopt);
}

// No accelerators asked: an empty device list, never nullopt.
TEST(PickDevicesBestFit, NoAcceleratorsGivesEmptyList) {
  Picker p;
  auto got = p.pick({0, 0, 0, 0}, {});
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(got->empty());
}

}  // namespace
}  // namespace gwang::core
