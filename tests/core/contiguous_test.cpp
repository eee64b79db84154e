// Contiguous jobs (Slurm's --contiguous): their nodes adjacent in the order of node names, under
// every placement policy.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/scheduler.h"
#include "core_helpers.h"

namespace gwang::core {
namespace {

using namespace gwang::core::testing;

// Nodes named out of their order of registration: n10 comes after n9, not after n1.
Cluster named_cluster() {
  Cluster c = make_cluster();
  for (const char* name : {"n10", "n1", "n9", "n2", "n3"}) make_node(c, 4000, {}, name);
  return c;
}

std::vector<std::string> names(const Scheduler& s, const std::vector<TaskPlacement>& placement) {
  std::vector<std::string> out;
  for (const TaskPlacement& p : placement) out.push_back(s.cluster().node(p.node).name);
  std::sort(out.begin(), out.end());
  return out;
}

TEST(Contiguous, NodesAdjacentInNameOrderUnderEveryPolicy) {
  for (const PlacementKind kind :
       {PlacementKind::FirstFit, PlacementKind::BestFit, PlacementKind::Random, PlacementKind::DotProduct,
        PlacementKind::GpuClustering, PlacementKind::GpuPacking, PlacementKind::Fgd}) {
    SchedulerOptions o;
    o.placement = kind;
    Scheduler s(named_cluster(), o);
    // n2 busy: n1, n3, n9 and n10 are free; in name order n1 | n2 | n3 n9 n10 (no n4 to n8 exist,
    // so n3 and n9 are neighbours).
    JobSpec busy = make_job(1, make_task(4000), {});
    busy.task.nodes = std::make_shared<NodeFilter>(NodeFilter{{NodeId{3}}, false});
    ASSERT_TRUE(s.submit(busy, 0));
    JobSpec two = make_job(2, make_task(4000), {.tasks = 2});
    two.spread = true;
    two.contiguous = true;
    ASSERT_TRUE(s.submit(two, 0));
    const auto d = s.schedule(0);
    ASSERT_EQ(d.size(), 2u) << to_string(kind);
    EXPECT_EQ(names(s, d[1].placement), (std::vector<std::string>{"n3", "n9"})) << to_string(kind);
    // n1 and n10 are left, not adjacent: a job without the constraint takes them, another
    // contiguous one waits.
    JobSpec loose = make_job(3, make_task(4000), {.tasks = 2});
    loose.spread = true;
    ASSERT_TRUE(s.submit(loose, 1));
    JobSpec three = make_job(4, make_task(4000), {.tasks = 2});
    three.spread = true;
    three.contiguous = true;
    ASSERT_TRUE(s.submit(three, 1));
    const auto later = s.schedule(1);
    ASSERT_EQ(later.size(), 1u) << to_string(kind);
    EXPECT_EQ(later[0].job, JobId{3});
    EXPECT_EQ(names(s, later[0].placement), (std::vector<std::string>{"n1", "n10"}));
    EXPECT_EQ(s.job(JobId{4}).state, JobState::Pending);
  }
}

// Tasks packed on nodes (not spread): the fewest adjacent nodes that hold them.
TEST(Contiguous, PackedTasksTakeTheNarrowestRun) {
  Scheduler s(named_cluster(), SchedulerOptions{});
  JobSpec job = make_job(1, make_task(3000), {.tasks = 3});
  job.contiguous = true;
  ASSERT_TRUE(s.submit(job, 0));
  const auto d = s.schedule(0);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(names(s, d[0].placement), (std::vector<std::string>{"n1", "n2", "n3"}));
}

}  // namespace
}  // namespace gwang::core
