// Quotas and preemptible jobs: the quota table, and where preemptible jobs queue.
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

}  // namespace
}  // namespace gwang::core
