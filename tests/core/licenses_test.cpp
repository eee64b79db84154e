// Licenses (Slurm's Licenses= and -L): seats of the whole cluster that a job holds while it runs,
// taken and given back with its resources, waited for in the queue's order, and kept for a
// reservation by every backfilling mode.
#include <gtest/gtest.h>

#include "core/scheduler.h"
#include "core_helpers.h"

namespace gwang::core {
namespace {

using namespace gwang::core::testing;

// Two nodes of 8 CPUs, and a license "matlab" of `seats` seats (id 0).
Cluster licensed_cluster(std::int64_t seats) {
  Cluster c = make_cluster();
  make_node(c, 8000, {});
  make_node(c, 8000, {});
  EXPECT_EQ(c.add_license("matlab", seats), 0);
  return c;
}

JobSpec with_licenses(JobSpec spec, std::int32_t seats) {
  if (seats > 0) spec.licenses.push_back({0, seats});
  return spec;
}

SchedulerOptions options(Backfill backfill) {
  SchedulerOptions o;
  o.backfill = backfill;
  return o;
}

TEST(Licenses, HeldWhileRunningAndWaitedFor) {
  for (const Backfill backfill : {Backfill::None, Backfill::Easy, Backfill::Conservative}) {
    SCOPED_TRACE(std::string(to_string(backfill)));
    Scheduler s(licensed_cluster(2), options(backfill));
    ASSERT_TRUE(s.submit(with_licenses(make_job(1, make_task(1000)), 2), 0));
    ASSERT_TRUE(s.submit(with_licenses(make_job(2, make_task(1000)), 1), 0));
    ASSERT_TRUE(s.submit(make_job(3, make_task(1000)), 0));
    const std::vector<std::int64_t> first = started(s.schedule(0));
    // Job 3 asks for no license: it starts beside job 1 (at once, or by backfilling).
    EXPECT_EQ(first, backfill == Backfill::None ? std::vector<std::int64_t>{1}
                                                : (std::vector<std::int64_t>{1, 3}));
    EXPECT_EQ(s.job(jid(2)).reason, PendingReason::Licenses);
    EXPECT_EQ(s.cluster().free().licenses, std::vector<std::int64_t>{0});
    ASSERT_TRUE(s.finish(jid(1), 40));
    EXPECT_EQ(s.cluster().free().licenses, std::vector<std::int64_t>{2});
    const std::vector<std::int64_t> then = started(s.schedule(40));
    EXPECT_EQ(then.front(), 2);
    EXPECT_EQ(s.cluster().free().licenses, std::vector<std::int64_t>{1});
    ASSERT_TRUE(s.finish(jid(2), 50));
    EXPECT_EQ(s.cluster().free().licenses, std::vector<std::int64_t>{2});
  }
}

// Three seats; job 1 holds two until 100; job 2 needs all three, so it is planned at 100. A job
// that needs one seat and would still run at 100 must leave the free seat alone; one that ends by
// then takes it.
TEST(Licenses, BackfillingKeepsTheSeatsOfAReservation) {
  for (const Backfill backfill : {Backfill::Easy, Backfill::Conservative}) {
    SCOPED_TRACE(std::string(to_string(backfill)));
    Scheduler s(licensed_cluster(3), options(backfill));
    ASSERT_TRUE(s.submit(with_licenses(make_job(1, make_task(1000), {.time_limit = 100}), 2), 0));
    EXPECT_EQ(started(s.schedule(0)), std::vector<std::int64_t>{1});
    ASSERT_TRUE(s.submit(with_licenses(make_job(2, make_task(1000), {.time_limit = 100}), 3), 1));
    ASSERT_TRUE(s.submit(with_licenses(make_job(3, make_task(1000), {.time_limit = 500}), 1), 1));
    ASSERT_TRUE(s.submit(with_licenses(make_job(4, make_task(1000), {.time_limit = 50}), 1), 1));
    EXPECT_EQ(started(s.schedule(1)), std::vector<std::int64_t>{4});
    const Job& head = s.job(jid(2));
    EXPECT_EQ(head.reason, PendingReason::Licenses);
    EXPECT_EQ(head.reserved_at, 100);
    EXPECT_TRUE(head.has_reservation());
    EXPECT_EQ(s.job(jid(3)).state, JobState::Pending);
    EXPECT_EQ(s.cluster().free().licenses, std::vector<std::int64_t>{0});
    // The plan the scheduler shows agrees: job 2 at 100.
    bool planned = false;
    for (const auto& [id, at] : s.planned_starts(1, 0)) {
      if (id == jid(2)) {
        EXPECT_EQ(at, 100);
        planned = true;
      }
    }
    EXPECT_TRUE(planned);
    ASSERT_TRUE(s.finish(jid(4), 51));
    ASSERT_TRUE(s.finish(jid(1), 100));
    EXPECT_EQ(started(s.schedule(100)), std::vector<std::int64_t>{2});
    EXPECT_EQ(s.cluster().free().licenses, std::vector<std::int64_t>{0});
  }
}

TEST(Licenses, MalformedNeedsAreErrorsAndTooManyIsUnsatisfiable) {
  Scheduler s(licensed_cluster(2), options(Backfill::Easy));
  JobSpec unknown = make_job(1, make_task(1000));
  unknown.licenses.push_back({1, 1});
  JobSpec zero = make_job(2, make_task(1000));
  zero.licenses.push_back({0, 0});
  JobSpec twice = make_job(3, make_task(1000));
  twice.licenses = {{0, 1}, {0, 1}};
  for (const JobSpec& bad : {unknown, zero, twice}) {
    auto r = s.submit(bad, 0);
    ASSERT_FALSE(r.has_value()) << bad.id.value;
    EXPECT_NE(r.error().message.find("job " + std::to_string(bad.id.value)), std::string::npos);
  }
  auto r = s.submit(with_licenses(make_job(4, make_task(1000)), 3), 0);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, SubmitStatus::Unsatisfiable);
  EXPECT_EQ(s.cluster().free().licenses, std::vector<std::int64_t>{2});
}

// A driver that gives a license fewer seats than running jobs hold (its configuration changed
// across a restart) still adopts them; the seats are free again only once enough have ended.
TEST(Licenses, AdoptedJobsMayHoldMoreThanThereAre) {
  Scheduler s(licensed_cluster(1), options(Backfill::Easy));
  ASSERT_TRUE(s.submit(with_licenses(make_job(1, make_task(1000)), 1), 0));
  ASSERT_TRUE(s.submit(with_licenses(make_job(2, make_task(1000)), 1), 0));
  ASSERT_TRUE(s.adopt(jid(1), {TaskPlacement{nid(0), {}}}, 0));
  ASSERT_TRUE(s.adopt(jid(2), {TaskPlacement{nid(1), {}}}, 0));
  EXPECT_EQ(s.cluster().free().licenses, std::vector<std::int64_t>{-1});
  ASSERT_TRUE(s.submit(with_licenses(make_job(3, make_task(1000)), 1), 1));
  EXPECT_TRUE(started(s.schedule(1)).empty());
  ASSERT_TRUE(s.finish(jid(1), 2));
  EXPECT_TRUE(started(s.schedule(2)).empty());
  ASSERT_TRUE(s.finish(jid(2), 3));
  EXPECT_EQ(started(s.schedule(3)), std::vector<std::int64_t>{3});
}

}  // namespace
}  // namespace gwang::core
