// A workload in sbatch's terms through the replay: arrays with their limit, dependencies on how
// jobs ended, begin times that come due with no other event, singletons; and its mistakes, each
// named by file:line.
#include "sim/sbatch_workload.h"

#include <gtest/gtest.h>

#include <map>

namespace gwang::sim {
namespace {

struct Replayed {
  std::map<std::int64_t, core::Time> start;  // job id -> start
  ReplayMetrics metrics;
};

Replayed replay_text(const std::string& text, std::int64_t procs) {
  auto jobs = read_sbatch_workload(text, "w.sbatch");
  EXPECT_TRUE(jobs) << jobs.error().message;
  if (!jobs) return {};
  ReplayOptions o;
  o.policy = *parse_batch_policy("easy");
  o.machine_procs = procs;
  auto r = replay(*jobs, o);
  EXPECT_TRUE(r) << r.error().message;
  Replayed out;
  for (const JobResult& j : r->jobs) out.start[j.id] = j.start;
  out.metrics = r->metrics;
  return out;
}

TEST(SbatchWorkload, ConditionsHoldAsInTheLiveSystem) {
  const Replayed r = replay_text(
      "# SUBMIT RUN EXIT USER options\n"
      "0    600  0 alice -n 4 -t 20 -J prep\n"
      "0    3600 0 alice -n 8 -t 2:00:00 -J train -d afterok:1\n"
      "0    300  0 alice -n 2 -t 10 -J eval --dependency=afterok:2\n"
      "10   100  3 bob   -n 1 -t 5 -J flaky\n"
      "10   60   0 bob   -n 1 -t 5 -J cleanup -d afternotok:4\n"
      "40   60   0 dave  -n 1 -t 5 -J never -d afterok:4\n"
      "\n"
      "5000 60   0 carol -n 1 -t 5 -J later --begin=now+2hours\n",
      8);
  EXPECT_EQ(r.start.at(1), 0);
  EXPECT_EQ(r.start.at(2), 600) << "afterok: when prep has completed";
  EXPECT_EQ(r.start.at(3), 4200);
  EXPECT_EQ(r.start.at(4), 10);
  EXPECT_EQ(r.start.at(5), 110) << "afternotok: when flaky has failed";
  EXPECT_FALSE(r.start.contains(6)) << "afterok on a job that failed never holds";
  EXPECT_EQ(r.start.at(7), 5000 + 7200) << "woken at its begin time, with no other event then";
  EXPECT_EQ(r.metrics.never, 1u);
  EXPECT_EQ(r.metrics.jobs, 6u);
}

TEST(SbatchWorkload, AnArrayRunsWithinItsLimitAndTakesAnIdPerTask) {
  // Six tasks of 1 processor, at most 2 at a time, on 8 processors; then a job after all of them.
  const Replayed r = replay_text(
      "0 100 0 u -a 0-5%2 -t 5 -J sweep\n"
      "0 10  0 u -t 5 -J collect -d afterany:1\n",
      8);
  ASSERT_EQ(r.start.size(), 7u);
  for (std::int64_t id = 1; id <= 6; ++id) EXPECT_EQ(r.start.at(id), (id - 1) / 2 * 100) << id;
  EXPECT_EQ(r.start.at(7), 300) << "a dependency on an array is on every task of it";
}

TEST(SbatchWorkload, SingletonAndWidth) {
  // Two singletons of one user and name run one after the other; -N 2 --ntasks-per-node=2 -c 2 is
  // 8 processors wide and waits for the machine to be free.
  const Replayed r = replay_text(
      "0 100 0 u -J nightly -d singleton -t 5\n"
      "0 100 0 u -J nightly -d singleton -t 5\n"
      "0 50  0 v -N 2 --ntasks-per-node=2 -c 2 -t 5\n",
      8);
  EXPECT_EQ(r.start.at(1), 0);
  EXPECT_EQ(r.start.at(2), 100);
  EXPECT_EQ(r.start.at(3), 200);
}

TEST(SbatchWorkload, MistakesNameTheLine) {
  auto error = [](const std::string& text) {
    auto r = read_sbatch_workload(text, "w.sbatch");
    return r ? std::string("accepted") : r.error().message;
  };
  EXPECT_EQ(error("0 10 0\n"), "w.sbatch:1: expected SUBMIT RUN EXIT USER and sbatch's options");
  EXPECT_EQ(error("# c\nsoon 10 0 u -t 5\n"), "w.sbatch:2: SUBMIT: expected seconds from the start, 0 or more: 'soon'");
  EXPECT_EQ(error("0 0 0 u -t 5\n"), "w.sbatch:1: RUN: expected seconds above 0: '0'");
  EXPECT_EQ(error("0 10 300 u\n"), "w.sbatch:1: EXIT: expected an exit code from 0 to 255: '300'");
  EXPECT_EQ(error("10 10 0 u\n5 10 0 u\n"), "w.sbatch:2: SUBMIT: 5 is before the line above's 10");
  EXPECT_EQ(error("0 10 0 u -d afterok:3\n"),
            "w.sbatch:1: --dependency: job 3 is not a job of the lines above (ids are given from 1, an array one "
            "per task)");
  EXPECT_EQ(error("0 10 0 u --mem=4G\n"),
            "w.sbatch:1: option --mem (the replay counts processors only) is not replayed");
  EXPECT_EQ(error("0 10 0 u -p gpu\n"),
            "w.sbatch:1: option --partition (the replay is one pool of processors) is not replayed");
  EXPECT_EQ(error("0 10 0 u script.sh\n"),
            "w.sbatch:1: unexpected 'script.sh' after the options (a replay runs no script)");
  EXPECT_EQ(error("0 10 0 u -J 'open\n"), "w.sbatch:1: a quote (') that is not closed");
  EXPECT_NE(error("0 10 0 u --frobnicate\n").find("w.sbatch:1: unrecognized option '--frobnicate'"), std::string::npos);
  EXPECT_NE(error("0 10 0 u -t soon\n").find("w.sbatch:1: "), std::string::npos);
  EXPECT_EQ(error("# nothing\n"), "w.sbatch: no job (a line: SUBMIT RUN EXIT USER sbatch-options)");
  // Quotes as in a shell; a name with a blank.
  auto ok = read_sbatch_workload("0 10 0 u -J \"my job\" -t 5\n", "w.sbatch");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->front().name, "my job");
  EXPECT_EQ(ok->front().requested, 300);
}

}  // namespace
}  // namespace gwang::sim
