// Jobs that outlive a node (Slurm's --no-kill): a node going down takes its tasks out of such a
// job, whose other tasks go on, and gives their room back; its last node going down still fails
// it, as it fails every other job.
#include <gtest/gtest.h>

#include "core/scheduler.h"
#include "core_helpers.h"

namespace gwang::core {
namespace {

using namespace gwang::core::testing;

Cluster three_nodes() {
  Cluster c = make_cluster();
  for (int i = 0; i < 3; ++i) make_node(c, 8000, {});
  return c;
}

JobSpec spread_job(std::int64_t id, int tasks, bool no_kill) {
  JobSpec spec = make_job(id, make_task(8000), {.tasks = tasks});
  spec.spread = true;
  spec.no_kill = no_kill;
  return spec;
}

TEST(NoKill, ANodeGoingDownLeavesTheJobWithTheOthers) {
  Scheduler s(three_nodes(), SchedulerOptions{});
  ASSERT_TRUE(s.submit(spread_job(1, 3, true), 0));
  ASSERT_EQ(started(s.schedule(0)), std::vector<std::int64_t>{1});
  const NodeId last = s.job(jid(1)).placement.back().node;
  std::vector<JobId> shrunk;
  EXPECT_TRUE(s.set_node_state(last, NodeState::Down, 10, &shrunk).empty());
  EXPECT_EQ(shrunk, std::vector<JobId>{jid(1)});
  const Job job = s.job(jid(1));  // a copy: submissions below may move the scheduler's jobs
  EXPECT_EQ(job.state, JobState::Running);
  EXPECT_EQ(job.placement.size(), 2u);
  EXPECT_EQ(job.spec.tasks, 3) << "what it asked for, should it be requeued";
  for (const TaskPlacement& p : job.placement) EXPECT_NE(p.node, last);
  EXPECT_EQ(s.cluster().free()[last].scalars.get(R::kCpu), 8000);
  EXPECT_EQ(s.cluster().free()[last].tasks, 0);
  // Back up, the node takes other work while the job runs on.
  s.set_node_state(last, NodeState::Up, 11);
  ASSERT_TRUE(s.submit(make_job(2, make_task(8000)), 11));
  EXPECT_EQ(started(s.schedule(11)), std::vector<std::int64_t>{2});
  EXPECT_EQ(s.job(jid(2)).placement.front().node, last);
  // Down to one node, then none: its last node going down ends it.
  shrunk.clear();
  EXPECT_TRUE(s.set_node_state(s.job(jid(1)).placement.front().node, NodeState::Down, 20, &shrunk).empty());
  EXPECT_EQ(shrunk, std::vector<JobId>{jid(1)});
  EXPECT_EQ(s.job(jid(1)).placement.size(), 1u);
  shrunk.clear();
  EXPECT_EQ(s.set_node_state(s.job(jid(1)).placement.front().node, NodeState::Down, 21, &shrunk),
            std::vector<JobId>{jid(1)});
  EXPECT_TRUE(shrunk.empty());
  EXPECT_EQ(s.job(jid(1)).state, JobState::Failed);
}

TEST(NoKill, OthersFailAsBefore) {
  Scheduler s(three_nodes(), SchedulerOptions{});
  ASSERT_TRUE(s.submit(spread_job(1, 2, false), 0));
  ASSERT_TRUE(s.submit(spread_job(2, 1, true), 0));
  ASSERT_EQ(started(s.schedule(0)).size(), 2u);
  std::vector<JobId> shrunk;
  const NodeId second = s.job(jid(1)).placement.back().node;
  EXPECT_EQ(s.set_node_state(second, NodeState::Down, 5, &shrunk), std::vector<JobId>{jid(1)});
  // A one-task job has no other node to go on with.
  const NodeId only = s.job(jid(2)).placement.front().node;
  EXPECT_EQ(s.set_node_state(only, NodeState::Down, 6, &shrunk), std::vector<JobId>{jid(2)});
  EXPECT_TRUE(shrunk.empty());
}

// A driver that restarts re-adopts a shrunk job on the places it has left.
TEST(NoKill, AShrunkJobIsAdoptedOnFewerPlaces) {
  Scheduler s(three_nodes(), SchedulerOptions{});
  ASSERT_TRUE(s.submit(spread_job(1, 3, true), 0));
  ASSERT_TRUE(s.submit(spread_job(2, 3, false), 0));
  EXPECT_TRUE(s.adopt(jid(1), {TaskPlacement{nid(0), {}}, TaskPlacement{nid(1), {}}}, 0));
  auto refused = s.adopt(jid(2), {TaskPlacement{nid(2), {}}}, 0);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message, "job 2: 1 places for 3 tasks");
}

}  // namespace
}  // namespace gwang::core
