// The fill experiment on small hand-made clusters.
#include <gtest/gtest.h>

#include "sim/pack.h"

namespace gwang::sim {
namespace {

trace::AlibabaNode node(std::string name, int gpus, std::string model = "T4") {
  return {std::move(name), 32000, 65536, gpus, std::move(model), 0};
}
trace::AlibabaPod pod(std::string name, int gpus, std::int64_t milli = 1000, std::vector<std::string> spec = {}) {
  return {std::move(name), 1000, 1024, gpus, gpus > 0 ? milli : 0, std::move(spec), "LS", "Running", 0, 0, 0, 0};
}

// Two whole-GPU pods fill a two-GPU node: allocation follows arrival, and nothing fails.
TEST(Pack, FillsAlongTheDiagonal) {
  const std::vector nodes{node("a", 2)};
  const std::vector pods{pod("p1", 1), pod("p2", 1)};
  auto e = PackExperiment::create(nodes, pods);
  ASSERT_TRUE(e) << e.error().message;
  const PackRun run = e->run({core::PlacementKind::BestFit, 42, 1.0});
  EXPECT_EQ(run.pods, 2u);  // the top-up stops at once: any GPU pod would pass 1.0 x capacity
  EXPECT_EQ(run.failed, 0u);
  EXPECT_DOUBLE_EQ(run.alloc_pct[0], 0.0);
  EXPECT_DOUBLE_EQ(run.alloc_pct[25], 25.0);
  EXPECT_DOUBLE_EQ(run.alloc_pct[50], 50.0);
  EXPECT_DOUBLE_EQ(run.alloc_pct[100], 100.0);
  EXPECT_DOUBLE_EQ(run.alloc_pct[130], 100.0);  // past the last arrival: the final value
}

// A pod larger than any node, and a pod asking for a model the cluster lacks, both fail and still
// count as arrived.
TEST(Pack, ImpossiblePodsFail) {
  const std::vector nodes{node("a", 2), node("b", 2)};
  const std::vector pods{pod("big", 3), pod("a100", 1, 1000, {"A100"})};
  auto e = PackExperiment::create(nodes, pods);
  ASSERT_TRUE(e);
  const PackRun run = e->run({core::PlacementKind::Fgd, 1, 1.0});
  EXPECT_EQ(run.pods, 2u);
  EXPECT_EQ(run.failed, 2u);
  EXPECT_DOUBLE_EQ(run.arrived_pct, 100.0);
  EXPECT_DOUBLE_EQ(run.allocated_pct, 0.0);
}

// The same seed gives the same run; the top-up draws pods until the request would pass `tune`.
TEST(Pack, DeterministicPerSeedAndToppedUp) {
  const std::vector nodes{node("a", 8), node("b", 8), node("c", 4, "V100")};
  std::vector<trace::AlibabaPod> pods;
  for (int i = 0; i < 6; ++i) pods.push_back(pod("s" + std::to_string(i), 1, 300 + 100 * i));
  pods.push_back(pod("w", 2));
  auto e = PackExperiment::create(nodes, pods);
  ASSERT_TRUE(e);
  for (auto policy : {core::PlacementKind::Random, core::PlacementKind::Fgd, core::PlacementKind::GpuPacking}) {
    const PackRun a = e->run({policy, 7, 1.3});
    const PackRun b = e->run({policy, 7, 1.3});
    EXPECT_EQ(a.alloc_pct, b.alloc_pct);
    EXPECT_EQ(a.failed, b.failed);
    EXPECT_LE(a.arrived_pct, 130.0);
    EXPECT_GT(a.arrived_pct, 130.0 - 200.0 / 20.0);  // within one pod (at most 2 GPUs of 20) of the limit
    EXPECT_LE(a.allocated_pct, a.arrived_pct);
  }
}

// A node with GPUs but no model is refused with its name and line.
TEST(Pack, NodeWithoutModelIsAnError) {
  const std::vector nodes{node("x", 2, "")};
  auto e = PackExperiment::create(nodes, std::vector<trace::AlibabaPod>{});
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("node x"), std::string::npos);
}

}  // namespace
}  // namespace gwang::sim
