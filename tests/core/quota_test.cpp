// Quotas, preemptible jobs and preemption: the quota table, where preemptible jobs queue, the
// scheduler's quota checks in every phase of a pass, the choice of victims, and a property test of
// both over random event sequences.
#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <algorithm>
#include <set>

#include "core/quota.h"
#include "core_helpers.h"

namespace gwang::core {
namespace {

using namespace gwang::core::testing;

SchedulerOptions options(Backfill backfill = Backfill::Easy, QueueOrder order = QueueOrder::Fcfs) {
  SchedulerOptions o;
  o.order = order;
  o.backfill = backfill;
  return o;
}

// A job of `project` (institution "inst"), not preemptible.
JobSpec of(std::string project, std::int64_t id, TaskRequest task, JobArgs a = {}) {
  JobSpec s = make_job(id, std::move(task), a);
  s.project = std::move(project);
  s.institution = "inst";
  return s;
}

// The same, preemptible.
JobSpec borrowing(std::string project, std::int64_t id, TaskRequest task, JobArgs a = {}) {
  JobSpec s = of(std::move(project), id, std::move(task), a);
  s.preemptible = true;
  return s;
}

void queue_job(Scheduler& s, JobSpec spec, Time now) {
  const auto id = spec.id.value;
  auto r = s.submit(std::move(spec), now);
  ASSERT_TRUE(r.has_value()) << "job " << id << ": " << r.error().message;
  ASSERT_EQ(*r, SubmitStatus::Queued) << "job " << id;
}

void set(Scheduler& s, Quota q) {
  auto r = s.set_quota(q);
  ASSERT_TRUE(r.has_value()) << r.error().message;
}

std::vector<std::int64_t> preempted_ids(const std::vector<Decision>& v) {
  std::vector<std::int64_t> out;
  for (const Decision& d : v) {
    if (d.action == Action::Preempt) out.push_back(d.job.value);
  }
  return out;
}

std::vector<std::int64_t> started_ids(const std::vector<Decision>& v) {
  std::vector<std::int64_t> out;
  for (const Decision& d : v) {
    if (d.action == Action::Start) out.push_back(d.job.value);
  }
  return out;
}

using Ids = std::vector<std::int64_t>;

// A node of `n` V100s, and one of `n` T4s.
Cluster two_models(int n) {
  Cluster c = make_cluster();
  make_node(c, 16000, gpus(n, v100(c)));
  make_node(c, 16000, gpus(n, t4(c)));
  return c;
}

// --- the table

// Limits are set, replaced and removed by scope, name and model, and listed in a fixed order.
TEST(QuotaTable, SetReplaceRemoveList) {
  QuotaTable t;
  EXPECT_TRUE(t.empty());
  t.set({QuotaScope::Institution, "kaist", "", 8000}, std::nullopt, 0);
  t.set({QuotaScope::Project, "zeta", "gpu:V100", 1000}, ResourceKind{2}, 500);
  t.set({QuotaScope::Project, "alpha", "", 3000}, std::nullopt, 0);
  t.set({QuotaScope::Project, "zeta", "", 2000}, std::nullopt, 0);
  t.set({QuotaScope::Project, "zeta", "gpu:V100", 4000}, ResourceKind{2}, 700);  // replaces
  EXPECT_EQ(t.list(), (std::vector<Quota>{{QuotaScope::Project, "alpha", "", 3000},
                                          {QuotaScope::Project, "zeta", "", 2000},
                                          {QuotaScope::Project, "zeta", "gpu:V100", 4000},
                                          {QuotaScope::Institution, "kaist", "", 8000}}));
  EXPECT_EQ(t.used(QuotaScope::Project, "zeta", "gpu:V100"), 700);
  EXPECT_EQ(t.used(QuotaScope::Institution, "zeta", "gpu:V100"), std::nullopt);
  EXPECT_FALSE(t.remove(QuotaScope::Project, "zeta", "gpu:T4"));
  EXPECT_TRUE(t.remove(QuotaScope::Project, "zeta", "gpu:V100"));
  EXPECT_FALSE(t.remove(QuotaScope::Project, "zeta", "gpu:V100"));
  EXPECT_EQ(t.list().size(), 3u);
}

// A limit counts only the amounts of its model (all of them for ""); a job adding nothing passes.
TEST(QuotaTable, AllowsAndCountsByModel) {
  QuotaTable t;
  const ResourceKind v{2}, k{3};
  const QuotaTable::Owner p_i = t.owner("p", "i"), p_other = t.owner("p", "other"), q_i = t.owner("q", "i");
  t.set({QuotaScope::Project, "p", "gpu:V100", 1000}, v, 0);
  t.set({QuotaScope::Institution, "i", "", 1500}, std::nullopt, 0);
  const std::vector<ModelAmount> one_v{{v, 1000}}, one_k{{k, 1000}}, half_unknown{{std::nullopt, 500}};
  EXPECT_TRUE(t.allows(p_i, one_v));
  t.count(p_i, one_v, +1);
  EXPECT_FALSE(t.allows(p_other, one_v));         // the project's V100 limit
  EXPECT_TRUE(t.allows(p_other, one_k));          // T4 does not count toward it
  EXPECT_FALSE(t.allows(q_i, one_k));             // the institution's limit for all models
  EXPECT_TRUE(t.allows(q_i, half_unknown));       // 1000 + 500 <= 1500
  EXPECT_TRUE(t.allows(p_i, {}));                 // nothing more
  EXPECT_TRUE(t.allows(t.owner("", ""), one_v));  // no names: no limits
  t.count(p_i, one_v, -1);
  EXPECT_EQ(t.used(QuotaScope::Project, "p", "gpu:V100"), 0);
  EXPECT_EQ(parse_quota_scope("institution"), QuotaScope::Institution);
  EXPECT_FALSE(parse_quota_scope("user").has_value());
}

// --- the scheduler's quota API

// set_quota refuses an empty name, a negative limit and models that are not accelerator kinds;
// it interns a model no node has; remove_quota refuses a limit that does not exist.
TEST(SchedulerQuota, SetAndRemoveValidate) {
  Scheduler s(two_models(2), options());
  EXPECT_FALSE(s.set_quota({QuotaScope::Project, "", "", 1000}).has_value());
  EXPECT_FALSE(s.set_quota({QuotaScope::Project, "p", "", -1}).has_value());
  EXPECT_FALSE(s.set_quota({QuotaScope::Project, "p", "cpu", 1000}).has_value());
  EXPECT_FALSE(s.set_quota({QuotaScope::Project, "p", "V100", 1000}).has_value());
  EXPECT_TRUE(s.quotas().empty());
  set(s, {QuotaScope::Project, "p", "gpu:H100", 0});
  EXPECT_TRUE(s.cluster().registry().find("gpu:H100").has_value());
  set(s, {QuotaScope::Institution, "i", "", 2000});
  set(s, {QuotaScope::Project, "p", "gpu:H100", 3000});
  EXPECT_EQ(s.quotas(), (std::vector<Quota>{{QuotaScope::Project, "p", "gpu:H100", 3000},
                                            {QuotaScope::Institution, "i", "", 2000}}));
  EXPECT_FALSE(s.remove_quota(QuotaScope::Project, "p", "").has_value());
  EXPECT_TRUE(s.remove_quota(QuotaScope::Project, "p", "gpu:H100").has_value());
  EXPECT_EQ(s.quotas().size(), 1u);
  EXPECT_EQ(to_string(PendingReason::QuotaReached), "quota_reached");
  EXPECT_EQ(to_string(PendingReason::Preempting), "preempting");
}

// A project quota for all models caps its running accelerators; the held-back job does not block
// another project's job behind it, and starts once usage drops.
TEST(SchedulerQuota, ProjectQuotaForAllModels) {
  for (Backfill b : {Backfill::None, Backfill::Easy}) {
    Scheduler s(two_models(4), options(b));
    set(s, {QuotaScope::Project, "p", "", 2000});
    queue_job(s, of("p", 1, make_task(100, 1)), 0);
    queue_job(s, of("p", 2, make_task(100, 1, kMilli, {t4(s.cluster())})), 0);
    queue_job(s, of("p", 3, make_task(100, 1)), 0);
    queue_job(s, of("q", 4, make_task(100, 1)), 0);
    EXPECT_EQ(started_ids(s.schedule(0)), (Ids{1, 2, 4})) << to_string(b);
    EXPECT_EQ(s.job(jid(3)).reason, PendingReason::QuotaReached);
    EXPECT_EQ(s.job(jid(3)).reserved_at, -1);
    EXPECT_EQ(s.quota_used(QuotaScope::Project, "p", ""), 2000);
    EXPECT_EQ(s.quota_used(QuotaScope::Project, "p", "gpu:T4"), 1000);  // no limit: counted from scratch
    EXPECT_EQ(s.quota_used(QuotaScope::Project, "q", ""), 1000);
    EXPECT_TRUE(s.schedule(1).empty());
    EXPECT_TRUE(s.finish(jid(1), 2));
    EXPECT_EQ(s.quota_used(QuotaScope::Project, "p", ""), 1000);
    EXPECT_EQ(started_ids(s.schedule(2)), (Ids{3}));
  }
}

// A per-model quota counts only that model: a job restricted to it waits, one on another model
// starts, and a job that allows any model waits when placement puts it on the capped model.
TEST(SchedulerQuota, PerModelQuota) {
  Scheduler s(two_models(2), options());
  const ResourceKind v = v100(s.cluster()), k = t4(s.cluster());
  set(s, {QuotaScope::Project, "p", "gpu:V100", 1000});
  queue_job(s, of("p", 1, make_task(100, 1, kMilli, {v})), 0);
  queue_job(s, of("p", 2, make_task(100, 1, kMilli, {v})), 0);
  queue_job(s, of("p", 3, make_task(100, 1, kMilli, {k})), 0);
  queue_job(s, of("p", 4, make_task(100, 1)), 0);  // any model: first fit offers node 0's V100
  EXPECT_EQ(started_ids(s.schedule(0)), (Ids{1, 3}));
  EXPECT_EQ(s.job(jid(2)).reason, PendingReason::QuotaReached);
  EXPECT_EQ(s.job(jid(4)).reason, PendingReason::QuotaReached);  // though a T4 is free (documented)
  EXPECT_EQ(s.quota_used(QuotaScope::Project, "p", "gpu:V100"), 1000);
  EXPECT_EQ(s.quota_used(QuotaScope::Project, "p", ""), 2000);
  EXPECT_EQ(s.cluster().free()[nid(0)].devices, (std::vector<Milli>{0, kMilli}));  // nothing left held
}

// An institution quota binds its projects together.
TEST(SchedulerQuota, InstitutionQuota) {
  Scheduler s(two_models(4), options());
  set(s, {QuotaScope::Institution, "inst", "", 3000});
  queue_job(s, of("p", 1, make_task(100, 2)), 0);
  queue_job(s, of("q", 2, make_task(100, 2)), 0);
  JobSpec other = of("q", 3, make_task(100, 2));
  other.institution = "elsewhere";
  queue_job(s, other, 0);
  queue_job(s, of("q", 4, make_task(100, 1)), 0);
  EXPECT_EQ(started_ids(s.schedule(0)), (Ids{1, 3, 4}));
  EXPECT_EQ(s.job(jid(2)).reason, PendingReason::QuotaReached);
  EXPECT_EQ(s.quota_used(QuotaScope::Institution, "inst", ""), 3000);
}

// Shares of a device count in milli: 400 + 400 fit a limit of 1000, another 400 does not, 200 does.
TEST(SchedulerQuota, SharedFractionsCountInMilli) {
  Scheduler s(two_models(2), options());
  set(s, {QuotaScope::Project, "p", "", 1000});
  for (int id = 1; id <= 3; ++id) queue_job(s, of("p", id, make_shared_task(100, 400)), 0);
  queue_job(s, of("p", 4, make_shared_task(100, 200)), 0);
  EXPECT_EQ(started_ids(s.schedule(0)), (Ids{1, 2, 4}));
  EXPECT_EQ(s.job(jid(3)).reason, PendingReason::QuotaReached);
  EXPECT_EQ(s.quota_used(QuotaScope::Project, "p", ""), 1000);
}

// Preemptible jobs borrow past a quota (even a zero one) and do not count toward it.
TEST(SchedulerQuota, PreemptibleJobsIgnoreQuotas) {
  Scheduler s(two_models(2), options());
  set(s, {QuotaScope::Project, "p", "", 0});
  queue_job(s, borrowing("p", 1, make_task(100, 2)), 0);
  queue_job(s, of("p", 2, make_task(100, 1)), 0);
  queue_job(s, of("p", 3, make_task(100)), 0);  // no accelerators: quotas do not apply
  EXPECT_EQ(started_ids(s.schedule(0)), (Ids{3, 1}));
  EXPECT_EQ(s.job(jid(2)).reason, PendingReason::QuotaReached);
  EXPECT_EQ(s.quota_used(QuotaScope::Project, "p", ""), 0);
}

// Under EASY, a job held back ahead of the head gets no reservation; the head is the next job that
// does not fit, and backfilling goes on behind it.
TEST(SchedulerQuota, HeldBackJobIsNotTheHead) {
  Scheduler s(two_models(4), options());
  set(s, {QuotaScope::Project, "p", "", 2000});
  const ResourceKind v = v100(s.cluster());
  queue_job(s, of("p", 1, make_task(100, 2, kMilli, {v}), {.time_limit = 100}), 0);
  ASSERT_EQ(started_ids(s.schedule(0)), (Ids{1}));
  queue_job(s, of("p", 2, make_task(100, 1, kMilli, {v}), {.submit = 1}), 1);                    // over quota
  queue_job(s, of("q", 3, make_task(100, 4, kMilli, {v}), {.submit = 2}), 2);                    // the head
  queue_job(s, of("q", 4, make_task(100, 1, kMilli, {v}), {.submit = 3, .time_limit = 50}), 3);  // backfills
  queue_job(s, of("p", 5, make_task(100, 1, kMilli, {v}), {.submit = 4, .time_limit = 50}), 4);  // over quota
  EXPECT_EQ(started_ids(s.schedule(5)), (Ids{4}));
  EXPECT_EQ(s.job(jid(2)).reason, PendingReason::QuotaReached);
  EXPECT_EQ(s.job(jid(2)).reserved_at, -1);
  EXPECT_EQ(s.job(jid(3)).reason, PendingReason::Reserved);
  EXPECT_EQ(s.job(jid(3)).reserved_at, 100);
  EXPECT_EQ(s.job(jid(5)).reason, PendingReason::QuotaReached);  // checked in backfilling too
}

// Under EASY, a job that would still run at the head's reservation may not take the quota share the
// head holds in the plan; one that ends before it may, and other projects are not concerned.
TEST(SchedulerQuota, BackfillKeepsTheHeadsQuota) {
  Scheduler s(two_models(4), options());
  set(s, {QuotaScope::Project, "p", "", 3000});
  const ResourceKind v = v100(s.cluster()), k = t4(s.cluster());
  queue_job(s, of("q", 1, make_task(100, 2, kMilli, {v}), {.time_limit = 100}), 0);
  ASSERT_EQ(started_ids(s.schedule(0)), (Ids{1}));
  queue_job(s, of("p", 2, make_task(100, 3, kMilli, {v})), 1);                                     // the head
  queue_job(s, of("p", 3, make_task(100, 1, kMilli, {v}), {.submit = 1, .time_limit = 10}), 1);    // ends first
  queue_job(s, of("p", 4, make_task(100, 1, kMilli, {k}), {.submit = 1, .time_limit = 1000}), 1);  // outlives
  queue_job(s, of("q", 5, make_task(100, 1, kMilli, {k}), {.submit = 1, .time_limit = 1000}), 1);
  EXPECT_EQ(started_ids(s.schedule(1)), (Ids{3, 5}));
  EXPECT_EQ(s.job(jid(2)).reserved_at, 100);
  EXPECT_EQ(s.job(jid(4)).reason, PendingReason::QuotaReached);
  EXPECT_EQ(s.quota_used(QuotaScope::Project, "p", ""), 1000) << "the head's share is not left counted";
}

// adopt records what runs even over a quota, and counts it; usage drops with every way a job ends.
TEST(SchedulerQuota, AdoptCountsAndEveryEndUncounts) {
  Scheduler s(two_models(4), options());
  set(s, {QuotaScope::Project, "p", "", 1000});
  queue_job(s, of("p", 1, make_task(100, 2)), 0);
  ASSERT_TRUE(s.adopt(jid(1), {{nid(0), {{0, kMilli}, {1, kMilli}}}}, 0).has_value());
  EXPECT_EQ(s.quota_used(QuotaScope::Project, "p", ""), 2000);
  set(s, {QuotaScope::Project, "p", "", 8000});
  queue_job(s, of("p", 2, make_task(100, 1), {.time_limit = 10}), 0);
  queue_job(s, of("p", 3, make_task(100, 1)), 0);
  queue_job(s, of("p", 4, make_task(100, 1)), 0);
  queue_job(s, of("p", 5, make_task(100, 1, kMilli, {t4(s.cluster())})), 0);
  EXPECT_EQ(started_ids(s.schedule(0)), (Ids{2, 3, 4, 5}));
  EXPECT_EQ(s.quota_used(QuotaScope::Project, "p", ""), 6000);
  EXPECT_EQ(ids(s.expire(10)), (Ids{2}));
  EXPECT_EQ(s.quota_used(QuotaScope::Project, "p", ""), 5000);
  EXPECT_TRUE(s.cancel(jid(3), 11));
  EXPECT_EQ(s.quota_used(QuotaScope::Project, "p", ""), 4000);
  EXPECT_EQ(ids(s.set_node_state(nid(1), NodeState::Down, 12)), (Ids{4, 5}));  // the T4 node
  EXPECT_EQ(s.quota_used(QuotaScope::Project, "p", ""), 2000);
  EXPECT_TRUE(s.finish(jid(1), 13));
  EXPECT_EQ(s.quota_used(QuotaScope::Project, "p", ""), 0);
}

// A limit set while jobs run starts from what they hold; set below it, it stops no running job but
// holds back new ones until usage drops under it.
TEST(SchedulerQuota, LimitSetWhileJobsRun) {
  Scheduler s(two_models(4), options());
  queue_job(s, of("p", 1, make_task(100, 2)), 0);
  queue_job(s, of("p", 2, make_task(100, 1)), 0);
  ASSERT_EQ(started_ids(s.schedule(0)), (Ids{1, 2}));
  set(s, {QuotaScope::Project, "p", "gpu:V100", 2000});
  EXPECT_EQ(s.quota_used(QuotaScope::Project, "p", "gpu:V100"), 3000);
  queue_job(s, of("p", 3, make_task(100, 1, kMilli, {v100(s.cluster())})), 1);
  EXPECT_TRUE(s.schedule(1).empty());
  EXPECT_EQ(s.job(jid(2)).state, JobState::Running);
  EXPECT_EQ(s.job(jid(3)).reason, PendingReason::QuotaReached);
  EXPECT_TRUE(s.finish(jid(1), 2));
  EXPECT_EQ(started_ids(s.schedule(2)), (Ids{3}));
  EXPECT_EQ(s.quota_used(QuotaScope::Project, "p", "gpu:V100"), 2000);
}

// --- preemptible jobs in the queue

// Under every order, preemptible jobs queue after all the others, in that order among themselves.
TEST(PreemptibleQueue, QueuesLastUnderEveryOrder) {
  for (QueueOrder order : {QueueOrder::Fcfs, QueueOrder::Sjf, QueueOrder::Priority, QueueOrder::Multifactor}) {
    Scheduler s(two_models(1), options(Backfill::Easy, order));
    queue_job(s, borrowing("p", 1, make_task(100, 1), {.submit = 0, .time_limit = 10, .priority = 9}), 0);
    queue_job(s, borrowing("p", 2, make_task(100, 1), {.submit = 1, .time_limit = 20, .priority = 5}), 1);
    queue_job(s, of("p", 3, make_task(100, 1), {.submit = 2, .time_limit = 300, .priority = 0}), 2);
    queue_job(s, of("p", 4, make_task(100, 1), {.submit = 3, .time_limit = 400, .priority = 0}), 3);
    EXPECT_EQ(ids(s.queue()), (Ids{3, 4, 1, 2})) << to_string(order);
  }
}

// --- preemption

// A node of 4 V100s. Borrowers 1 (2 GPUs, from 0) and 2 (2 GPUs, from 1) fill it; job 3 (2 GPUs)
// arrives at 5.
struct Borrowed {
  Scheduler s{two_models(4), options()};
  std::vector<Decision> at5;
  Borrowed() {
    const ResourceKind v = v100(s.cluster());
    queue_job(s, borrowing("b", 1, make_task(100, 2, kMilli, {v}), {.time_limit = 1000}), 0);
    EXPECT_EQ(started_ids(s.schedule(0)), (Ids{1}));
    queue_job(s, borrowing("b", 2, make_task(100, 2, kMilli, {v}), {.submit = 1, .time_limit = 1000}), 1);
    EXPECT_EQ(started_ids(s.schedule(1)), (Ids{2}));
    queue_job(s, of("p", 3, make_task(100, 2, kMilli, {v}), {.submit = 5}), 5);
    at5 = s.schedule(5);
  }
};

// The most recent borrower alone is asked to stop; it runs on until preempted(), then waits again;
// the job it made room for starts at the next pass, and the borrower again when room frees.
TEST(Preemption, ReclaimsBorrowedCapacity) {
  Borrowed b;
  Scheduler& s = b.s;
  EXPECT_EQ(preempted_ids(b.at5), (Ids{2}));
  EXPECT_TRUE(started_ids(b.at5).empty());
  EXPECT_TRUE(b.at5[0].placement.empty());
  EXPECT_EQ(s.job(jid(2)).state, JobState::Running);
  EXPECT_TRUE(s.job(jid(2)).preempting);
  EXPECT_EQ(s.job(jid(2)).preempt_at, 5);
  EXPECT_EQ(s.job(jid(3)).reason, PendingReason::Preempting);
  EXPECT_EQ(s.job(jid(3)).reserved_at, 5);
  EXPECT_FALSE(s.preempted(jid(3), 6)) << "not running";

  EXPECT_TRUE(s.schedule(6).empty()) << "no second round while the first victim is still running";
  EXPECT_EQ(s.job(jid(3)).reason, PendingReason::Preempting);
  EXPECT_TRUE(s.preempted(jid(2), 8));
  EXPECT_EQ(s.job(jid(2)).state, JobState::Pending);
  EXPECT_FALSE(s.job(jid(2)).preempting);
  EXPECT_TRUE(s.job(jid(2)).placement.empty());
  EXPECT_EQ(ids(s.queue()), (Ids{3, 2}));
  EXPECT_FALSE(s.preempted(jid(2), 8));

  EXPECT_EQ(started_ids(s.schedule(8)), (Ids{3}));
  EXPECT_EQ(s.job(jid(2)).reason, PendingReason::Reserved) << "waits for the next end, not preempting anyone";
  EXPECT_TRUE(s.finish(jid(1), 20));
  EXPECT_EQ(started_ids(s.schedule(20)), (Ids{2}));
  EXPECT_EQ(s.job(jid(2)).start, 20);
}

// Victims: most recent first, ties by larger id, then only those needed. 4 GPUs: borrower 1 holds 2
// (from 0), borrowers 2 and 3 hold 1 each (both from 1). A 1-GPU job takes 3, not 2. Once 2 has
// ended, a 3-GPU job would stop 3 and then 1 in that order, but needs only 1 (2 GPUs and the free one).
TEST(Preemption, VictimsMostRecentFirstAndOnlyThoseNeeded) {
  auto setup = [](Scheduler& s) {
    const ResourceKind v = v100(s.cluster());
    queue_job(s, borrowing("b", 1, make_task(100, 2, kMilli, {v}), {.time_limit = 1000}), 0);
    s.schedule(0);
    queue_job(s, borrowing("b", 2, make_task(100, 1, kMilli, {v}), {.submit = 1, .time_limit = 1000}), 1);
    queue_job(s, borrowing("b", 3, make_task(100, 1, kMilli, {v}), {.submit = 1, .time_limit = 1000}), 1);
    EXPECT_EQ(started_ids(s.schedule(1)), (Ids{2, 3}));
  };
  Scheduler one(two_models(4), options());
  setup(one);
  queue_job(one, of("p", 4, make_task(100, 1, kMilli, {v100(one.cluster())})), 5);
  EXPECT_EQ(preempted_ids(one.schedule(5)), (Ids{3}));

  Scheduler three(two_models(4), options());
  setup(three);
  ASSERT_TRUE(three.finish(jid(2), 4));
  queue_job(three, of("p", 4, make_task(100, 3, kMilli, {v100(three.cluster())})), 5);
  EXPECT_EQ(preempted_ids(three.schedule(5)), (Ids{1}));
  EXPECT_FALSE(three.job(jid(3)).preempting);
}

// No preemption when the job fits, when stopping every borrower would not make room, when the
// waiting job is itself preemptible, or when it is over its quota.
TEST(Preemption, OnlyWhenItHelpsAJobWithinItsQuotas) {
  Scheduler s(two_models(4), options());
  const ResourceKind v = v100(s.cluster());
  queue_job(s, borrowing("b", 1, make_task(100, 2, kMilli, {v}), {.time_limit = 1000}), 0);
  queue_job(s, of("p", 2, make_task(100, 2, kMilli, {v}), {.time_limit = 1000}), 0);
  EXPECT_EQ(started_ids(s.schedule(0)), (Ids{2, 1}));
  queue_job(s, of("p", 3, make_task(100, 2)), 1);  // fits on the T4s
  EXPECT_EQ(started_ids(s.schedule(1)), (Ids{3}));
  queue_job(s, of("q", 4, make_task(100, 4, kMilli, {v})), 2);  // p's job 2 holds the rest
  queue_job(s, borrowing("b", 5, make_task(100, 2, kMilli, {v})), 2);
  EXPECT_TRUE(preempted_ids(s.schedule(2)).empty());
  EXPECT_TRUE(s.cancel(jid(4), 3));
  EXPECT_TRUE(preempted_ids(s.schedule(3)).empty()) << "a borrower does not preempt";
  set(s, {QuotaScope::Project, "p", "", 4000});
  queue_job(s, of("p", 6, make_task(100, 2, kMilli, {v})), 4);
  EXPECT_TRUE(preempted_ids(s.schedule(4)).empty());
  EXPECT_EQ(s.job(jid(6)).reason, PendingReason::QuotaReached);
}

// While victims end, backfilling keeps off what the waiting job will need: a short job that would
// have fitted before the borrower's planned end does not take the free GPU.
TEST(Preemption, BackfillKeepsOffTheReclaimedRoom) {
  Scheduler s(two_models(4), options());
  const ResourceKind v = v100(s.cluster());
  queue_job(s, borrowing("b", 1, make_task(100, 3, kMilli, {v}), {.time_limit = 1000}), 0);
  s.schedule(0);
  queue_job(s, of("p", 2, make_task(100, 4, kMilli, {v})), 1);
  queue_job(s, of("p", 3, make_task(100, 1, kMilli, {v}), {.submit = 1, .time_limit = 10}), 1);
  const auto d = s.schedule(1);
  EXPECT_EQ(preempted_ids(d), (Ids{1}));
  EXPECT_TRUE(started_ids(d).empty());
  EXPECT_EQ(s.job(jid(3)).reason, PendingReason::ReservedForOther);
  EXPECT_EQ(s.job(jid(3)).blocker, jid(2));
  EXPECT_TRUE(s.preempted(jid(1), 3));
  EXPECT_EQ(started_ids(s.schedule(3)), (Ids{2}));
}

// A victim that ends another way (finishes, or is cancelled) also ends the round: a later head may
// preempt again.
TEST(Preemption, RoundEndsHoweverTheVictimEnds) {
  Borrowed b;
  Scheduler& s = b.s;
  ASSERT_EQ(preempted_ids(b.at5), (Ids{2}));
  EXPECT_TRUE(s.finish(jid(2), 6));
  EXPECT_EQ(started_ids(s.schedule(6)), (Ids{3}));
  queue_job(s, of("p", 4, make_task(100, 2, kMilli, {v100(s.cluster())})), 7);
  EXPECT_EQ(preempted_ids(s.schedule(7)), (Ids{1}));
  EXPECT_TRUE(s.cancel(jid(1), 8));
  EXPECT_EQ(s.job(jid(1)).state, JobState::Cancelled);
  EXPECT_FALSE(s.job(jid(1)).preempting);
  EXPECT_EQ(started_ids(s.schedule(8)), (Ids{4}));
}

// --- property

const std::vector<std::string> kProjects{"a", "b", "c"};
const std::vector<std::string> kInstitutions{"x", "y"};
const std::vector<std::string> kModels{"gpu:M0", "gpu:M1"};

// A random cluster: 1-4 nodes of 4000-16000 milli-CPU and 0-6 devices of gpu:M0 or gpu:M1.
Cluster gen_cluster() {
  Cluster c;
  std::vector<ResourceKind> kinds;
  for (const std::string& m : kModels) kinds.push_back(c.registry().intern(m));
  const int nodes = *rc::gen::inRange(1, 5);
  for (int n = 0; n < nodes; ++n) {
    std::vector<ResourceKind> devices;
    const int count = *rc::gen::inRange(0, 7);
    for (int d = 0; d < count; ++d) devices.push_back(kinds[*rc::gen::inRange<std::size_t>(0, kinds.size())]);
    make_node(c, *rc::gen::inRange(4, 17) * Milli{1000}, std::move(devices));
  }
  return c;
}

// A random job: CPU only, a share or 1-3 whole devices, any model or one; one or two tasks; a random
// project and institution; preemptible one time in three.
JobSpec gen_job(const Cluster& c, std::int64_t id, Time now) {
  TaskRequest t = make_task(*rc::gen::inRange(1, 5) * Milli{500});
  const int kind = *rc::gen::inRange(0, 3);
  if (kind == 1) t = make_shared_task(t.scalars.get(R::kCpu), *rc::gen::inRange(1, 10) * Milli{100});
  if (kind == 2) t.accel.count = *rc::gen::inRange(1, 4);
  if (kind > 0 && *rc::gen::inRange(0, 2) == 1) {
    t.accel.models.push_back(*c.registry().find(kModels[*rc::gen::inRange<std::size_t>(0, kModels.size())]));
  }
  const Time limit = *rc::gen::inRange(1, 21) * Time{10};
  JobSpec s = make_job(id, std::move(t),
                       {.submit = now,
                        .tasks = *rc::gen::inRange(1, 3),
                        .time_limit = limit,
                        .estimate = *rc::gen::inRange<Time>(0, limit + 1),
                        .priority = *rc::gen::inRange(0, 4)});
  s.project = *rc::gen::elementOf(kProjects);
  s.institution = *rc::gen::elementOf(kInstitutions);
  s.preemptible = *rc::gen::inRange(0, 3) == 0;
  return s;
}

// A random quota with a limit of 0 to 4 devices, in half devices.
Quota gen_quota() {
  Quota q;
  q.scope = *rc::gen::element(QuotaScope::Project, QuotaScope::Institution);
  q.name = *rc::gen::elementOf(q.scope == QuotaScope::Project ? kProjects : kInstitutions);
  q.model = *rc::gen::element(std::string(), kModels[0], kModels[1]);
  q.limit = *rc::gen::inRange(0, 9) * Milli{500};
  return q;
}

// A scheduler with quotas and preemptible jobs, a twin fed the same events, and checks recomputed
// from the jobs themselves.
class QuotaWorld {
 public:
  QuotaWorld(const Cluster& c, const SchedulerOptions& o)
      : s_(c, o), twin_(c, o), random_(o.placement == PlacementKind::Random) {}

  void set_quota(Quota q, bool keep_invariant) {
    // Mid-run, a limit is never set below what is in use: then no start may take it over.
    if (keep_invariant) q.limit = std::max(q.limit, recount(q.scope, q.name, q.model));
    RC_ASSERT(s_.set_quota(q).has_value());
    RC_ASSERT(twin_.set_quota(q).has_value());
  }

  void remove_quota(std::size_t pick) {
    const auto all = s_.quotas();
    if (all.empty()) return;
    const Quota& q = all[pick % all.size()];
    RC_ASSERT(s_.remove_quota(q.scope, q.name, q.model).has_value());
    RC_ASSERT(twin_.remove_quota(q.scope, q.name, q.model).has_value());
  }

  void submit() {
    const JobSpec spec = gen_job(s_.cluster(), next_id_++, now_);
    const auto r = s_.submit(spec, now_);
    const auto twin = twin_.submit(spec, now_);
    RC_ASSERT(r.has_value() && twin.has_value() && *twin == *r);
    ids_.push_back(spec.id);
  }

  // A pass. Victims were running, preemptible and not yet asked to stop, and none are chosen while
  // earlier ones run. With `at_once`, the victims are reported stopped at once and, placement being
  // deterministic, the job they made room for starts in a pass at the same time.
  void pass(Time dt, bool at_once) {
    now_ += dt;
    const std::vector<JobId> ending = preempting();
    const auto d = decide();
    std::vector<JobId> victims;
    for (const Decision& x : d) {
      if (x.action != Action::Preempt) continue;
      const Job& v = s_.job(x.job);
      RC_ASSERT(ending.empty());
      RC_ASSERT(v.state == JobState::Running && v.spec.preemptible && v.preempting && v.preempt_at == now_);
      RC_ASSERT(x.placement.empty());
      victims.push_back(x.job);
    }
    if (victims.empty()) return;
    std::vector<JobId> waiting;
    for (JobId id : s_.queue()) {
      if (s_.job(id).reason == PendingReason::Preempting) waiting.push_back(id);
    }
    RC_ASSERT(waiting.size() == 1u);
    RC_ASSERT(!s_.job(waiting.front()).spec.preemptible);
    if (!at_once) return;
    // A job ahead that a per-model quota held back where placement put it may fit elsewhere now.
    bool held_by_placement = false;
    for (JobId id : s_.queue()) {
      if (id == waiting.front()) break;
      const Job& j = s_.job(id);
      held_by_placement |= j.reason == PendingReason::QuotaReached && j.spec.task.accel.models.size() != 1;
    }
    for (JobId v : victims) {
      RC_ASSERT(s_.preempted(v, now_));
      RC_ASSERT(twin_.preempted(v, now_));
      RC_ASSERT(s_.job(v).state == JobState::Pending);
    }
    check();
    decide();
    if (!random_ && !held_by_placement) RC_ASSERT(s_.job(waiting.front()).state == JobState::Running);
  }

  // Ends a job: finishes, cancels or reports preempted a random one (preferring victims).
  void end(std::size_t pick, int how) {
    std::vector<JobId> pool = how == 2 ? preempting() : std::vector<JobId>();
    if (pool.empty()) pool = ids_;
    if (pool.empty()) return;
    const JobId id = pool[pick % pool.size()];
    const JobState before = s_.job(id).state;
    bool done = false;
    if (how == 0) done = s_.finish(id, now_) && twin_.finish(id, now_);
    if (how == 1) done = s_.cancel(id, now_) && twin_.cancel(id, now_);
    if (how == 2) done = s_.preempted(id, now_) && twin_.preempted(id, now_);
    RC_ASSERT(done == (before == JobState::Running || (how == 1 && before == JobState::Pending)));
  }

  void expire(Time dt) {
    now_ += dt;
    RC_ASSERT(s_.expire(now_) == twin_.expire(now_));
  }

  // After every event: for every quota, what the running jobs that are not preemptible hold,
  // recounted from their placements, is within the limit and is what quota_used says (also where
  // no limit is set); no pending job holds anything; free devices are capacity minus placements.
  void check() const {
    for (const Quota& q : s_.quotas()) {
      const Milli used = recount(q.scope, q.name, q.model);
      RC_ASSERT(used <= q.limit);
      RC_ASSERT(s_.quota_used(q.scope, q.name, q.model) == used);
    }
    for (const std::string& model : {std::string(), kModels[0], kModels[1]}) {
      for (const std::string& p : kProjects)
        RC_ASSERT(s_.quota_used(QuotaScope::Project, p, model) == recount(QuotaScope::Project, p, model));
      for (const std::string& i : kInstitutions)
        RC_ASSERT(s_.quota_used(QuotaScope::Institution, i, model) == recount(QuotaScope::Institution, i, model));
    }
    const Cluster& c = s_.cluster();
    std::vector<std::vector<Milli>> used(c.size());
    for (std::uint32_t n = 0; n < c.size(); ++n) used[n].assign(c.node(nid(n)).device_models.size(), 0);
    const auto queued = ids(s_.queue());
    std::set<std::int64_t> pending;
    for (JobId id : ids_) {
      const Job& j = s_.job(id);
      RC_ASSERT(!j.preempting || (j.state == JobState::Running && j.spec.preemptible));
      RC_ASSERT(j.reason != PendingReason::QuotaReached || j.state == JobState::Pending);
      if (j.state == JobState::Pending) {
        RC_ASSERT(j.placement.empty());
        pending.insert(id.value);
      }
      if (j.state != JobState::Running) continue;
      RC_ASSERT(static_cast<int>(j.placement.size()) == j.spec.tasks);
      for (const TaskPlacement& p : j.placement) {
        for (const DeviceShare& d : p.devices) used[p.node.value][d.index] += d.milli;
      }
    }
    RC_ASSERT(pending == std::set<std::int64_t>(queued.begin(), queued.end()));
    for (std::uint32_t n = 0; n < c.size(); ++n) {
      for (std::size_t d = 0; d < used[n].size(); ++d) RC_ASSERT(c.free()[nid(n)].devices[d] == kMilli - used[n][d]);
    }
  }

 private:
  std::vector<Decision> decide() {
    const auto d = s_.schedule(now_);
    const auto t = twin_.schedule(now_);
    RC_ASSERT(d.size() == t.size());
    for (std::size_t i = 0; i < d.size(); ++i) {
      RC_ASSERT(d[i].action == t[i].action && d[i].job == t[i].job && d[i].placement == t[i].placement);
      if (d[i].action == Action::Start)
        RC_ASSERT(s_.job(d[i].job).state == JobState::Running && s_.job(d[i].job).start == now_);
    }
    return d;
  }

  std::vector<JobId> preempting() const {
    std::vector<JobId> out;
    for (JobId id : ids_) {
      if (s_.job(id).preempting) out.push_back(id);
    }
    return out;
  }

  Milli recount(QuotaScope scope, const std::string& name, const std::string& model) const {
    const Cluster& c = s_.cluster();
    Milli sum = 0;
    for (JobId id : ids_) {
      const Job* j = s_.find(id);
      if (j->state != JobState::Running || j->spec.preemptible) continue;
      if ((scope == QuotaScope::Project ? j->spec.project : j->spec.institution) != name) continue;
      for (const TaskPlacement& p : j->placement) {
        for (const DeviceShare& d : p.devices) {
          if (model.empty() || c.registry().name(c.node(p.node).device_models[d.index]) == model) sum += d.milli;
        }
      }
    }
    return sum;
  }

  Scheduler s_;
  Scheduler twin_;
  bool random_;
  std::vector<JobId> ids_;
  std::int64_t next_id_ = 1;
  Time now_ = 0;
};

void quotas_hold() {
  const Cluster c = gen_cluster();
  SchedulerOptions o;
  o.order = *rc::gen::element(QueueOrder::Fcfs, QueueOrder::Sjf, QueueOrder::Priority, QueueOrder::Multifactor);
  o.backfill = *rc::gen::element(Backfill::None, Backfill::Easy, Backfill::EasySjbf);
  o.placement = *rc::gen::element(PlacementKind::FirstFit, PlacementKind::BestFit, PlacementKind::Random,
                                  PlacementKind::DotProduct, PlacementKind::GpuClustering, PlacementKind::GpuPacking);
  o.seed = *rc::gen::inRange<std::uint64_t>(1, 1000);
  RC_TAG(std::string(to_string(o.placement)));
  QuotaWorld w(c, o);
  const int quotas = *rc::gen::inRange(0, 5);
  for (int i = 0; i < quotas; ++i) w.set_quota(gen_quota(), false);
  const int events = *rc::gen::inRange(0, 80);
  for (int e = 0; e < events; ++e) {
    const int kind = *rc::gen::inRange(0, 16);
    if (kind < 6) {
      w.submit();
    } else if (kind < 10) {
      w.pass(*rc::gen::inRange<Time>(0, 20), *rc::gen::inRange(0, 2) == 1);
    } else if (kind < 13) {
      w.end(*rc::gen::inRange<std::size_t>(0, 100), *rc::gen::inRange(0, 3));
    } else if (kind == 13) {
      w.expire(*rc::gen::inRange<Time>(0, 60));
    } else if (kind == 14) {
      w.set_quota(gen_quota(), true);
    } else {
      w.remove_quota(*rc::gen::inRange<std::size_t>(0, 8));
    }
    w.check();
  }
}

// Over random clusters, jobs (some preemptible), quotas and events (passes, finishes, cancels,
// expiries, preempted reports, quota changes that keep within usage), under every queue order and
// backfill and several placements: no quota is ever exceeded (recounted from placements), usage
// queries agree with the recount, no pending job holds resources, victims are running preemptible
// jobs chosen one round at a time, reporting them stopped lets the waiting job start, and a twin
// scheduler decides the same.
TEST(QuotaProperty, QuotasHoldAndPreemptionMakesRoom) {
  EXPECT_TRUE(rc::check("quotas hold", [] { quotas_hold(); }));
}

}  // namespace
}  // namespace gwang::core

namespace gwang::core {
namespace {

// A held job leaves the queue and blocks nobody; released, it takes its place again; a pending job
// made preemptible moves behind the others; a held job can be cancelled.
TEST(SchedulerHold, HoldReleaseAndPreemptibleWhilePending) {
  Cluster cluster;
  NodeSpec spec{"n", {}, {}};
  spec.scalars.set(ResourceRegistry::kCpu, 2 * kMilli);
  cluster.add_node(spec);
  SchedulerOptions options;
  Scheduler s(std::move(cluster), options);
  auto job = [](std::int64_t id, Time submit) {
    JobSpec j;
    j.id = JobId{id};
    j.submit = submit;
    j.time_limit = 100;
    j.task.scalars.set(ResourceRegistry::kCpu, 2 * kMilli);
    return j;
  };
  ASSERT_TRUE(s.submit(job(1, 0), 0));
  ASSERT_TRUE(s.submit(job(2, 1), 1));
  ASSERT_TRUE(s.submit(job(3, 2), 2));
  EXPECT_TRUE(s.hold(JobId{1}));
  EXPECT_FALSE(s.hold(JobId{1})) << "already held";
  EXPECT_EQ(s.job(JobId{1}).reason, PendingReason::Held);
  EXPECT_EQ(s.pending_count(), 3u);
  EXPECT_EQ(s.queue(), (std::vector<JobId>{JobId{2}, JobId{3}}));
  auto d = s.schedule(3);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].job, JobId{2}) << "the held job blocks nobody";
  EXPECT_TRUE(s.set_preemptible(JobId{3}, true));
  EXPECT_TRUE(s.release(JobId{1}, 4));
  EXPECT_FALSE(s.release(JobId{1}, 4));
  EXPECT_EQ(s.queue(), (std::vector<JobId>{JobId{1}, JobId{3}})) << "back in its place, before preemptible work";
  EXPECT_TRUE(s.set_preemptible(JobId{3}, false));
  EXPECT_TRUE(s.hold(JobId{3}));
  EXPECT_TRUE(s.cancel(JobId{3}, 5));
  EXPECT_EQ(s.pending_count(), 1u);
  EXPECT_FALSE(s.set_preemptible(JobId{2}, true)) << "running: no longer pending";
  s.finish(JobId{2}, 10);
  d = s.schedule(10);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].job, JobId{1});
}

}  // namespace
}  // namespace gwang::core
