// Quotas, preemptible jobs and preemption: the quota table, where preemptible jobs queue, the
// scheduler's quota checks in every phase of a pass, and the choice of victims.
#include <gtest/gtest.h>

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
  EXPECT_EQ(s.job(jid(3)).reason, PendingReason::Priority);
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

}  // namespace
}  // namespace gwang::core
