// The contract every queue order and backfill mode keeps, run over each combination of the two
// (with first-fit placement; the placement contract is placement_contract_test.cpp's, and the
// property tests mix all three): random workloads on random clusters, run to the end with exact
// runtimes, checked after every pass.
#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <algorithm>
#include <limits>
#include <map>
#include <tuple>

#include "core_helpers.h"

namespace gwang::core {
namespace {

using namespace gwang::core::testing;

using Combination = std::tuple<QueueOrder, Backfill>;

std::vector<Combination> all_combinations() {
  std::vector<Combination> out;
  for (QueueOrder o : all_queue_orders()) {
    for (Backfill b : all_backfills()) out.emplace_back(o, b);
  }
  return out;
}

// 1 to 4 nodes of 2 to 16 CPUs and 0 to 4 devices of one model.
Cluster gen_cluster() {
  Cluster c = make_cluster();
  const int nodes = *rc::gen::inRange(1, 5);
  for (int n = 0; n < nodes; ++n) {
    make_node(c, *rc::gen::inRange(2, 17) * Milli{1000}, gpus(*rc::gen::inRange(0, 5), v100(c)));
  }
  return c;
}

// Jobs that the cluster can hold: each fits the nodes it is drawn for (one, or two for a gang of
// two tasks), arriving over time with priorities, owners and exact estimates.
std::vector<JobSpec> gen_jobs(const Cluster& c) {
  std::vector<JobSpec> out;
  Time t = 0;
  const int count = *rc::gen::inRange(1, 30);
  for (int i = 0; i < count; ++i) {
    t += *rc::gen::inRange<Time>(0, 15);
    JobArgs a;
    a.submit = t;
    a.tasks = c.size() > 1 ? *rc::gen::inRange(1, 3) : 1;
    Milli cpus = std::numeric_limits<Milli>::max();
    std::size_t devices = std::numeric_limits<std::size_t>::max();
    const std::uint32_t first = *rc::gen::inRange<std::uint32_t>(0, static_cast<std::uint32_t>(c.size()));
    for (int k = 0; k < a.tasks; ++k) {
      const NodeInfo& node = c.node(nid((first + static_cast<std::uint32_t>(k)) % static_cast<std::uint32_t>(c.size())));
      cpus = std::min(cpus, node.capacity.get(R::kCpu));
      devices = std::min(devices, node.device_models.size());
    }
    a.time_limit = *rc::gen::inRange(1, 20) * Time{10};
    a.estimate = a.time_limit;
    a.priority = *rc::gen::inRange(0, 4);
    const Milli cpu = *rc::gen::inRange<Milli>(1, cpus / kMilli + 1) * kMilli;
    const int gpus = *rc::gen::inRange(0, static_cast<int>(devices) + 1);
    JobSpec spec = make_job(i + 1, make_task(cpu, gpus), a);
    spec.user = *rc::gen::element<std::string>("ana", "bo", "cy");
    spec.project = "p-" + spec.user;
    out.push_back(std::move(spec));
  }
  return out;
}

// What running jobs hold on each node, against its capacity.
void check_capacity(const Scheduler& s, const std::map<std::int64_t, Time>& running) {
  const Cluster& c = s.cluster();
  std::vector<Milli> cpu(c.size(), 0);
  std::vector<std::vector<Milli>> dev(c.size());
  for (std::uint32_t n = 0; n < c.size(); ++n) dev[n].assign(c.node(nid(n)).device_models.size(), 0);
  for (const auto& [id, end] : running) {
    const Job& j = s.job(jid(id));
    RC_ASSERT(j.state == JobState::Running);
    RC_ASSERT(static_cast<int>(j.placement.size()) == j.spec.tasks);
    for (const TaskPlacement& p : j.placement) {
      cpu[p.node.value] += j.spec.task.scalars.get(R::kCpu);
      for (const DeviceShare& d : p.devices) dev[p.node.value][d.index] += d.milli;
    }
  }
  for (std::uint32_t n = 0; n < c.size(); ++n) {
    RC_ASSERT(cpu[n] <= c.node(nid(n)).capacity.get(R::kCpu));
    for (Milli m : dev[n]) RC_ASSERT(m <= kMilli);
  }
}

// The queue is in the order's keys, preemptible jobs last (ties by slot: submission order here).
void check_order(const Scheduler& s, const QueueOrderPolicy& order) {
  const std::vector<JobId> queue = s.queue();
  for (std::size_t i = 1; i < queue.size(); ++i) {
    const Job& a = s.job(queue[i - 1]);
    const Job& b = s.job(queue[i]);
    RC_ASSERT(a.state == JobState::Pending);
    RC_ASSERT(std::make_tuple(a.spec.preemptible, order.key(a.spec, a.rank)) <=
              std::make_tuple(b.spec.preemptible, order.key(b.spec, b.rank)));
  }
}

// One workload run to its end under one combination, with a twin fed the same events.
void run_contract(QueueOrder order, Backfill backfill) {
  const Cluster cluster = gen_cluster();
  const std::vector<JobSpec> jobs = gen_jobs(cluster);
  SchedulerOptions o;
  o.order = order;
  o.backfill = backfill;
  o.placement = PlacementKind::FirstFit;
  o.reprioritize_every = *rc::gen::element<Time>(1, 30, 300);
  Scheduler s(cluster, o), twin(cluster, o);
  const auto policy = make_queue_order(order);
  const BackfillRules rules = rules_of(backfill);

  std::map<std::int64_t, Time> running;  // job -> its end
  std::size_t next = 0;
  for (int passes = 0; next < jobs.size() || !running.empty() || s.pending_count() > 0; ++passes) {
    RC_ASSERT(passes < 2000);  // every job runs in the end: nothing starves on a finite workload
    Time now = std::numeric_limits<Time>::max();
    if (next < jobs.size()) now = jobs[next].submit;
    for (const auto& [id, end] : running) now = std::min(now, end);
    RC_ASSERT(now != std::numeric_limits<Time>::max());  // something waits with nothing to wait for
    for (auto it = running.begin(); it != running.end();) {
      if (it->second != now) {
        ++it;
        continue;
      }
      RC_ASSERT(s.finish(jid(it->first), now));
      RC_ASSERT(twin.finish(jid(it->first), now));
      it = running.erase(it);
    }
    for (; next < jobs.size() && jobs[next].submit == now; ++next) {
      RC_ASSERT(*s.submit(jobs[next], now) == SubmitStatus::Queued);
      RC_ASSERT(*twin.submit(jobs[next], now) == SubmitStatus::Queued);
    }
    const std::vector<Decision> decisions = s.schedule(now);
    const std::vector<Decision> twins = twin.schedule(now);
    RC_ASSERT(decisions.size() == twins.size());
    for (std::size_t i = 0; i < decisions.size(); ++i) {
      RC_ASSERT(decisions[i].action == Action::Start);  // nothing is preemptible here
      RC_ASSERT(decisions[i].job == twins[i].job && decisions[i].placement == twins[i].placement);
      running[decisions[i].job.value] = now + s.job(decisions[i].job).spec.planned_runtime();
    }
    check_capacity(s, running);
    check_order(s, *policy);
    const std::vector<JobId> after = s.queue();
    // A head that fits starts: the queue's head after a pass does not fit now. (Conservative
    // backfilling keeps this only where nothing jumps the queue: a reservation once given is kept,
    // and a job that arrives ahead of it under another order waits for its own.)
    if (!after.empty() && (rules.reservations != BackfillRules::Reservations::All || order == QueueOrder::Fcfs)) {
      RC_ASSERT(!s.fits_now(after.front()));
    }
    // Without backfilling nothing passes a waiting job: every job this pass started comes before
    // every job still waiting, in the queue's order as the pass ranked it.
    if (rules.reservations == BackfillRules::Reservations::None) {
      for (const Decision& d : decisions) {
        const Job& started = s.job(d.job);
        for (JobId id : after) {
          const Job& waiting = s.job(id);
          RC_ASSERT(std::make_tuple(started.spec.preemptible, policy->key(started.spec, started.rank)) <
                    std::make_tuple(waiting.spec.preemptible, policy->key(waiting.spec, waiting.rank)));
        }
      }
    }
  }
  RC_ASSERT(s.pending_count() == 0u);
}

class QueueContract : public ::testing::TestWithParam<Combination> {};

// Under each queue order and backfill mode: decisions are deterministic (a twin decides the same),
// no node is over-allocated, the queue keeps its order's keys, a head that fits is never left
// waiting (see run_contract for conservative's exception), without backfilling nothing passes a
// waiting job, and every job of a finite workload runs.
TEST_P(QueueContract, KeepsTheContract) {
  const auto [order, backfill] = GetParam();
  EXPECT_TRUE(rc::check("queue contract", [order, backfill] { run_contract(order, backfill); }));
}

INSTANTIATE_TEST_SUITE_P(EveryOrderAndBackfill, QueueContract, ::testing::ValuesIn(all_combinations()),
                         [](const ::testing::TestParamInfo<Combination>& info) {
                           std::string name = std::string(to_string(std::get<0>(info.param))) + "_" +
                                              std::string(to_string(std::get<1>(info.param)));
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

// The names every configuration and command line reads are the core's, and a bad one says which
// are valid.
TEST(QueuePolicyNames, ReadBackAndBadNamesSayTheValidOnes) {
  for (QueueOrder o : all_queue_orders()) EXPECT_EQ(*parse_queue_order(to_string(o)), o);
  for (Backfill b : all_backfills()) EXPECT_EQ(*parse_backfill(to_string(b)), b);
  EXPECT_EQ(parse_queue_order("lifo").error().message,
            "unknown queue order 'lifo' (valid: fcfs, sjf, priority, multifactor)");
  EXPECT_EQ(parse_backfill("aggressive").error().message,
            "unknown backfill 'aggressive' (valid: none, easy, easy-sjbf, conservative)");
  EXPECT_TRUE(make_queue_order(QueueOrder::Multifactor)->ranked());
  EXPECT_FALSE(make_queue_order(QueueOrder::Sjf)->ranked());
  EXPECT_TRUE(rules_of(Backfill::EasySjbf).shortest_first);
  EXPECT_EQ(rules_of(Backfill::Conservative).reservations, BackfillRules::Reservations::All);
}

}  // namespace
}  // namespace gwang::core
