// Batch replay: event semantics, metrics, bad input, and golden decision logs of small traces.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "sim/replay.h"
#include "trace/swf.h"
#include "trace/swf_loader.h"

namespace gwang::sim {
namespace {

ReplayOptions options_for(std::string_view policy, std::int64_t procs) {
  ReplayOptions o;
  o.policy = *parse_batch_policy(policy);
  o.machine_procs = procs;
  o.log = true;
  return o;
}

// Bounded slowdown uses a 10 s floor on the run time and never goes below 1.
TEST(BoundedSlowdown, UsesTenSecondThreshold) {
  EXPECT_DOUBLE_EQ(bounded_slowdown(0, 100), 1.0);
  EXPECT_DOUBLE_EQ(bounded_slowdown(100, 100), 2.0);
  EXPECT_DOUBLE_EQ(bounded_slowdown(18, 2), 2.0);  // (18 + 2) / 10
  EXPECT_DOUBLE_EQ(bounded_slowdown(3, 2), 1.0);
}

// An unknown policy name is refused with the list of valid ones.
TEST(ReplayPolicy, UnknownNameListsValidOnes) {
  auto p = parse_batch_policy("backfill");
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message.find("'backfill'"), std::string::npos);
  EXPECT_NE(p.error().message.find("fcfs, sjf, easy, easy-sjbf, sjf-easy, multifactor-easy"), std::string::npos);
  auto e = parse_estimate("guess");
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("requested, actual"), std::string::npos);
}

// A job with a non-positive width or run time is an error naming the job.
TEST(Replay, RejectsMalformedJob) {
  const std::vector<BatchJob> jobs{{7, 0, 10, 1, 10}, {8, 5, 0, 1, 10}};
  auto r = replay(jobs, options_for("easy", 4));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("job 8"), std::string::npos);
}

// An empty workload replays to zero jobs without error.
TEST(Replay, EmptyWorkload) {
  auto r = replay({}, options_for("easy", 4));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->metrics.jobs, 0u);
  EXPECT_TRUE(r->log.empty());
}

// A job wider than the machine is reported unsatisfiable at once, and the others still run.
TEST(Replay, WiderThanMachineIsUnsatisfiable) {
  const std::vector<BatchJob> jobs{{1, 0, 10, 8, 10}, {2, 0, 10, 2, 10}};
  auto r = replay(jobs, options_for("easy", 4));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->metrics.unsatisfiable, 1u);
  ASSERT_EQ(r->jobs.size(), 1u);
  EXPECT_EQ(r->jobs[0].id, 2);
  EXPECT_EQ(r->jobs[0].start, 0);
}

// Metrics of a hand-computed two-job replay: the second job waits for the first.
TEST(Replay, MetricsByHand) {
  const std::vector<BatchJob> jobs{{1, 0, 100, 4, 100}, {2, 10, 50, 4, 60}};
  auto r = replay(jobs, options_for("fcfs", 4));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->jobs.size(), 2u);
  EXPECT_EQ(r->jobs[1].start, 100);
  EXPECT_DOUBLE_EQ(r->metrics.avg_wait_s, 45.0);             // (0 + 90) / 2
  EXPECT_DOUBLE_EQ(r->metrics.avg_turnaround_s, 120.0);      // (100 + 140) / 2
  EXPECT_DOUBLE_EQ(r->metrics.max_turnaround_s, 140.0);
  EXPECT_DOUBLE_EQ(r->metrics.avg_bounded_slowdown, 1.9);    // (1 + 140/50) / 2
  EXPECT_DOUBLE_EQ(r->metrics.makespan_s, 150.0);
  EXPECT_DOUBLE_EQ(r->metrics.utilization, 600.0 / 600.0);  // 4x100 + 4x50 over 4x150
}

// Under multifactor-easy, a group that has used the machine waits behind one that has not, where
// FCFS with EASY serves them in arrival order.
TEST(Replay, MultifactorServesTheGroupThatUsedLessFirst) {
  // Group 1 runs the whole machine for a day; then, while a blocker of group 3 holds it, group 1
  // and group 2 each queue a job (group 1's first).
  const std::vector<BatchJob> jobs{
      {1, 0, 86400, 4, 86400, 10, 1},
      {2, 86400, 3600, 4, 3600, 30, 3},
      {3, 86401, 600, 4, 600, 10, 1},
      {4, 86402, 600, 4, 600, 20, 2},
  };
  auto easy = replay(jobs, options_for("easy", 4));
  auto fair = replay(jobs, options_for("multifactor-easy", 4));
  ASSERT_TRUE(easy && fair);
  auto start_of = [](const ReplayResult& r, std::int64_t id) {
    for (const JobResult& j : r.jobs) {
      if (j.id == id) return j.start;
    }
    return core::Time{-1};
  };
  EXPECT_LT(start_of(*easy, 3), start_of(*easy, 4));
  EXPECT_GT(start_of(*fair, 3), start_of(*fair, 4));
  EXPECT_EQ(start_of(*fair, 4), 86400 + 3600);
  // The same replay twice gives the same decisions.
  auto again = replay(jobs, options_for("multifactor-easy", 4));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->log, fair->log);
}

// How each group and each user fared, by hand.
TEST(Replay, ByGroupAndUser) {
  const std::vector<JobResult> jobs{
      {1, 0, 0, 3600, 4, 10, 1},     // group 1: 4 processor-hours, no wait
      {2, 0, 100, 1800, 4, 11, 1},   // group 1: 2, waited 100 s
      {3, 0, 300, 3600, 2, 10, 2},   // group 2: 2, waited 300 s
  };
  const auto groups = by_group(jobs);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].group, 1);
  EXPECT_EQ(groups[0].jobs, 2u);
  EXPECT_DOUBLE_EQ(groups[0].processor_hours, 6.0);
  EXPECT_DOUBLE_EQ(groups[0].share, 0.75);
  EXPECT_DOUBLE_EQ(groups[0].avg_wait_s, 50.0);
  EXPECT_DOUBLE_EQ(groups[0].avg_bounded_slowdown, (1.0 + 1900.0 / 1800.0) / 2);
  EXPECT_EQ(groups[1].group, 2);
  EXPECT_DOUBLE_EQ(groups[1].share, 0.25);
  const auto users = by_group(jobs, GroupBy::User);
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[0].group, 10);  // users 10 (6 processor-hours) and 11 (2)
  EXPECT_DOUBLE_EQ(users[0].processor_hours, 6.0);
  EXPECT_DOUBLE_EQ(users[0].avg_wait_s, 150.0);
}

// A window that runs past the end of the trace is an error.
TEST(ReplayWindows, OutOfRange) {
  const std::vector<BatchJob> jobs{{1, 0, 10, 1, 10}, {2, 0, 10, 1, 10}};
  const std::vector<std::size_t> starts{1};
  auto w = replay_windows(jobs, starts, 2, options_for("fcfs", 4));
  ASSERT_FALSE(w);
  EXPECT_NE(w.error().message.find("window at 1"), std::string::npos);
}

// Golden scenarios: each tests/scenarios/NAME.POLICY.log is the decision log, derived by hand, of
// replaying NAME.swf with POLICY.
TEST(Scenario, DecisionLogsMatchGoldenFiles) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(GWANG_TEST_DIR) / ".." / "scenarios";
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string file = entry.path().filename().string();
    if (entry.path().extension() != ".log") continue;
    const std::string stem = entry.path().stem().string();  // NAME.POLICY
    const std::string name = stem.substr(0, stem.find('.'));
    const std::string policy = stem.substr(stem.find('.') + 1);
    auto trace = trace::read_swf((dir / (name + ".swf")).string());
    ASSERT_TRUE(trace) << trace.error().message;
    auto workload = trace::load_swf(*trace, trace::SwfLoader::Predictsim);
    ASSERT_TRUE(workload) << workload.error().message;
    std::vector<BatchJob> jobs;
    for (const auto& j : workload->jobs) jobs.push_back({j.id, j.submit, j.run, j.procs, j.requested_time});
    auto r = replay(jobs, options_for(policy, workload->machine_procs));
    ASSERT_TRUE(r) << file << ": " << r.error().message;
    std::ifstream in(entry.path());
    std::vector<std::string> expected;
    for (std::string line; std::getline(in, line);) expected.push_back(line);
    EXPECT_EQ(r->log, expected) << file;
    ++checked;
  }
  EXPECT_GE(checked, 4);
}

}  // namespace
}  // namespace gwang::sim
