// Jobs that wait for conditions before they queue: begin times, dependencies (Slurm's types),
// job arrays with a limit of tasks at once, singletons.
#include <gtest/gtest.h>

#include "core_helpers.h"

namespace gwang::core {
namespace {

using namespace testing;

// One node of 4 CPUs: a job of 1 CPU fits four at once.
class Conditions : public ::testing::Test {
 protected:
  Conditions() : s(cluster(), SchedulerOptions{}) {}
  static Cluster cluster() {
    Cluster c = make_cluster();
    make_node(c, 4 * kMilli, {});
    return c;
  }
  JobSpec job(std::int64_t id, Time limit = 100) { return make_job(id, make_task(kMilli), {0, 1, limit}); }
  JobSpec after(std::int64_t id, DependencyKind kind, std::int64_t on, std::int64_t task = -1, Time delay = 0) {
    JobSpec j = job(id);
    j.depends.push_back({kind, JobId{on}, task, delay});
    return j;
  }
  void submit(JobSpec j, Time now = 0) { ASSERT_TRUE(s.submit(std::move(j), now)); }
  std::vector<std::int64_t> pass(Time now) { return started(s.schedule(now)); }
  PendingReason reason(std::int64_t id) const { return s.job(jid(id)).reason; }
  JobState state(std::int64_t id) const { return s.job(jid(id)).state; }

  Scheduler s;
};

TEST_F(Conditions, AfterOkWaitsForSuccessAndNeverRunsAfterAFailure) {
  submit(job(1));
  submit(job(2));
  submit(after(3, DependencyKind::AfterOk, 1));
  submit(after(4, DependencyKind::AfterOk, 2));
  EXPECT_EQ(pass(0), (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(reason(3), PendingReason::Dependency);
  EXPECT_EQ(s.waiting_count(), 2u);
  EXPECT_EQ(s.pending_count(), 2u);
  ASSERT_TRUE(s.finish(jid(1), 10, JobState::Finished));
  ASSERT_TRUE(s.finish(jid(2), 10, JobState::Failed));
  EXPECT_EQ(pass(10), (std::vector<std::int64_t>{3}));
  EXPECT_EQ(reason(4), PendingReason::DependencyNeverSatisfied);
  EXPECT_EQ(state(4), JobState::Pending);
  // It stays so, even if job 2 is requeued and then succeeds (as in Slurm); a cancel ends it.
  ASSERT_TRUE(s.requeue(jid(2), 20));
  pass(20);
  ASSERT_TRUE(s.finish(jid(2), 30, JobState::Finished));
  EXPECT_TRUE(pass(30).empty());
  EXPECT_EQ(reason(4), PendingReason::DependencyNeverSatisfied);
  EXPECT_TRUE(s.cancel(jid(4), 40));
  EXPECT_EQ(s.waiting_count(), 0u);
}

TEST_F(Conditions, AfterNotOkAfterAnyAndAfter) {
  submit(job(1));
  submit(after(2, DependencyKind::AfterNotOk, 1));
  submit(after(3, DependencyKind::AfterAny, 1));
  submit(after(4, DependencyKind::After, 1, -1, 50));  // 50 s after job 1 starts
  EXPECT_EQ(pass(0), (std::vector<std::int64_t>{1}));
  EXPECT_EQ(s.next_wake(), 50);
  EXPECT_TRUE(pass(49).empty());
  EXPECT_EQ(pass(50), (std::vector<std::int64_t>{4}));
  ASSERT_TRUE(s.finish(jid(1), 60, JobState::TimedOut));
  EXPECT_EQ(pass(60), (std::vector<std::int64_t>{2, 3}));
}

TEST_F(Conditions, AfterACancelledJobThatNeverStarted) {
  submit(job(1));
  submit(after(2, DependencyKind::After, 1));
  submit(after(3, DependencyKind::AfterOk, 1));
  ASSERT_TRUE(s.hold(jid(1)));
  EXPECT_TRUE(pass(0).empty());
  ASSERT_TRUE(s.cancel(jid(1), 5));
  EXPECT_EQ(pass(5), (std::vector<std::int64_t>{2}));  // after: a cancel before the start counts
  EXPECT_EQ(reason(3), PendingReason::DependencyNeverSatisfied);
}

TEST_F(Conditions, AllOrAnyOfSeveral) {
  submit(job(1));
  submit(job(2));
  JobSpec all = job(3);
  all.depends = {{DependencyKind::AfterOk, jid(1)}, {DependencyKind::AfterOk, jid(2)}};
  submit(all);
  JobSpec any = job(4);
  any.depends = {{DependencyKind::AfterOk, jid(1)}, {DependencyKind::AfterOk, jid(2)}};
  any.depends_any = true;
  submit(any);
  pass(0);
  ASSERT_TRUE(s.finish(jid(1), 10, JobState::Failed));
  EXPECT_TRUE(pass(10).empty());
  EXPECT_EQ(reason(3), PendingReason::DependencyNeverSatisfied);
  EXPECT_EQ(reason(4), PendingReason::Dependency);  // job 2 may still do it
  ASSERT_TRUE(s.finish(jid(2), 20, JobState::Finished));
  EXPECT_EQ(pass(20), (std::vector<std::int64_t>{4}));
}

TEST_F(Conditions, BeginTime) {
  JobSpec j = job(1);
  j.begin = 100;
  submit(j);
  EXPECT_EQ(reason(1), PendingReason::BeginTime);
  EXPECT_TRUE(s.what_if(jid(1), 0).hints.empty());  // no change of its request starts it sooner
  EXPECT_EQ(s.what_if(jid(1), 0).start, -1);
  EXPECT_TRUE(pass(0).empty());
  EXPECT_EQ(s.next_wake(), 100);
  EXPECT_TRUE(pass(99).empty());
  EXPECT_EQ(pass(100), (std::vector<std::int64_t>{1}));
}

// Ten tasks of array 1, at most 2 at once: they run two by two, in index order.
TEST_F(Conditions, ArrayLimitRunsThatManyAtOnce) {
  for (int t = 0; t < 10; ++t) {
    JobSpec j = job(1 + t);
    j.array_job = jid(1);
    j.array_task = t;
    j.array_limit = 2;
    submit(j);
  }
  EXPECT_EQ(pass(0), (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(reason(3), PendingReason::ArrayTaskLimit);
  EXPECT_EQ(s.running_count(), 2u);
  ASSERT_TRUE(s.finish(jid(2), 10));
  EXPECT_EQ(pass(10), (std::vector<std::int64_t>{3}));
  ASSERT_TRUE(s.cancel(jid(1), 11));  // a cancelled task frees its turn too
  ASSERT_TRUE(s.hold(jid(4)));        // a held one takes none
  EXPECT_EQ(pass(11), (std::vector<std::int64_t>{5}));
  ASSERT_TRUE(s.release(jid(4), 12));
  EXPECT_TRUE(pass(12).empty());
  EXPECT_EQ(reason(4), PendingReason::ArrayTaskLimit);
}

// A dependency on an array is on all its tasks; one on "1_3" on that task; aftercorr pairs tasks.
TEST_F(Conditions, DependenciesOnArrays) {
  for (int t = 0; t < 3; ++t) {
    JobSpec j = job(1 + t);
    j.array_job = jid(1);
    j.array_task = t;
    submit(j);
  }
  submit(after(10, DependencyKind::AfterOk, 1));      // the whole array
  submit(after(11, DependencyKind::AfterAny, 1, 2));  // task 2 only
  for (int t = 0; t < 3; ++t) {
    JobSpec j = after(20 + t, DependencyKind::AfterCorr, 1);
    j.array_job = jid(20);
    j.array_task = t;
    submit(j);
  }
  submit(after(30, DependencyKind::AfterNotOk, 1));
  EXPECT_EQ(pass(0), (std::vector<std::int64_t>{1, 2, 3}));
  ASSERT_TRUE(s.finish(jid(3), 5));  // task 2
  EXPECT_EQ(pass(5), (std::vector<std::int64_t>{11, 22}));
  ASSERT_TRUE(s.finish(jid(1), 6));
  ASSERT_TRUE(s.finish(jid(2), 6, JobState::Failed));
  EXPECT_EQ(pass(6), (std::vector<std::int64_t>{20, 30}));
  EXPECT_EQ(reason(10), PendingReason::DependencyNeverSatisfied);
  EXPECT_EQ(reason(21), PendingReason::DependencyNeverSatisfied);
}

// Singleton: one job of a user and name at a time, in submission order.
TEST_F(Conditions, SingletonRunsOneOfItsNameAtATime) {
  JobSpec first = job(1);
  first.user = "kim";
  first.name = "etl";
  submit(first);  // not a singleton itself: later singletons still wait for it
  for (int id = 2; id <= 3; ++id) {
    JobSpec j = job(id);
    j.user = "kim";
    j.name = "etl";
    j.depends.push_back({DependencyKind::Singleton});
    submit(j);
  }
  JobSpec other = job(4);
  other.user = "lee";
  other.name = "etl";
  other.depends.push_back({DependencyKind::Singleton});
  submit(other);
  EXPECT_EQ(pass(0), (std::vector<std::int64_t>{1, 4}));
  EXPECT_EQ(reason(2), PendingReason::Dependency);
  ASSERT_TRUE(s.finish(jid(1), 10));
  EXPECT_EQ(pass(10), (std::vector<std::int64_t>{2}));
  EXPECT_EQ(reason(3), PendingReason::Dependency);
  ASSERT_TRUE(s.finish(jid(2), 20, JobState::Failed));
  EXPECT_EQ(pass(20), (std::vector<std::int64_t>{3}));
}

TEST_F(Conditions, BadConditionsAreRefused) {
  submit(job(1));
  auto unknown = s.submit(after(2, DependencyKind::AfterOk, 99), 0);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message, "job 2: depends on job 99, which does not exist");
  auto self = s.submit(after(3, DependencyKind::AfterOk, 3), 0);
  ASSERT_FALSE(self);
  EXPECT_EQ(self.error().message, "job 3: depends on itself");
  auto corr = s.submit(after(4, DependencyKind::AfterCorr, 1), 0);
  ASSERT_FALSE(corr);
  EXPECT_EQ(corr.error().message, "job 4: aftercorr is for the tasks of an array");
  EXPECT_EQ(s.pending_count(), 1u);
}

// A job held while it waits for its conditions waits for them again once released.
TEST_F(Conditions, HoldAndReleaseOfAWaitingJob) {
  submit(job(1));
  submit(after(2, DependencyKind::AfterAny, 1));
  ASSERT_TRUE(s.hold(jid(2)));
  EXPECT_EQ(reason(2), PendingReason::Held);
  pass(0);
  ASSERT_TRUE(s.release(jid(2), 1));
  EXPECT_EQ(reason(2), PendingReason::Dependency);
  ASSERT_TRUE(s.finish(jid(1), 5));
  EXPECT_EQ(pass(5), (std::vector<std::int64_t>{2}));
}

}  // namespace
}  // namespace gwang::core
