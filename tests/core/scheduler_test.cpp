// Unit tests of Scheduler: submission, queue orders, backfilling, pending reasons, gangs and events.
#include <gtest/gtest.h>

#include <limits>

#include "core_helpers.h"

namespace gwang::core {
namespace {

using namespace gwang::core::testing;

SchedulerOptions make_options(QueueOrder order, Backfill backfill, PlacementKind placement = PlacementKind::FirstFit,
                              std::uint64_t seed = 1) {
  SchedulerOptions o;
  o.order = order;
  o.backfill = backfill;
  o.placement = placement;
  o.seed = seed;
  return o;
}

// A cluster of `nodes` nodes, each with 8000 milli-CPU and `gpus_per_node` V100s.
Cluster gpu_cluster(int nodes, int gpus_per_node) {
  Cluster c = make_cluster();
  for (int i = 0; i < nodes; ++i) make_node(c, 8000, gpus(gpus_per_node, v100(c)));
  return c;
}

// Submits and expects the job to be queued.
void queue_job(Scheduler& s, JobSpec spec, Time now) {
  const auto id = spec.id.value;
  auto r = s.submit(std::move(spec), now);
  ASSERT_TRUE(r.has_value()) << "job " << id << ": " << r.error().message;
  ASSERT_EQ(*r, SubmitStatus::Queued) << "job " << id;
}

// --- submission

// Malformed specs are errors naming the job, and leave queue, jobs and free state as they were.
TEST(SchedulerSubmit, MalformedSpecsChangeNothing) {
  Cluster c = gpu_cluster(1, 4);
  const ResourceKind v = v100(c);
  Scheduler s(std::move(c), make_options(QueueOrder::Fcfs, Backfill::Easy));
  queue_job(s, make_job(1, make_task(1000, 1)), 0);

  std::vector<JobSpec> bad;
  bad.push_back(make_job(1, make_task(500), {.time_limit = 999}));              // duplicate id
  bad.push_back(make_job(2, make_task(1000), {.tasks = 0}));                    // zero tasks
  bad.push_back(make_job(3, make_task(1000), {.time_limit = 0}));               // no time limit
  bad.push_back(make_job(4, make_task(1000), {.estimate = -1}));                // negative estimate
  bad.push_back(make_job(5, make_task(1000, 2, 500)));                          // share with count 2
  bad.push_back(make_job(6, make_task(1000, 1, 0)));                            // per_device 0
  bad.push_back(make_job(7, make_task(1000, 1, 1001)));                         // per_device > 1000
  bad.push_back(make_job(8, make_task(0)));                                     // empty request
  bad.push_back(make_job(9, make_task(1000, -1)));                              // negative count
  bad.push_back(make_job(10, make_task(1000, 1, kMilli, {R::kCpu})));           // model not an accelerator
  bad.push_back(make_job(11, make_task(1000, 1, kMilli, {ResourceKind{50}})));  // unknown kind id
  TaskRequest negative = make_task(1000);
  negative.scalars.set(R::kMemory, -1);
  bad.push_back(make_job(12, negative));  // negative amount
  TaskRequest scalar_gpu = make_task(1000);
  scalar_gpu.scalars.set(v, 1000);
  bad.push_back(make_job(13, scalar_gpu));  // accelerator as scalar

  const FreeState before = s.cluster().free();
  for (JobSpec& spec : bad) {
    const std::int64_t id = spec.id.value;
    auto r = s.submit(spec, 5);
    ASSERT_FALSE(r.has_value()) << "job " << id << " was accepted";
    EXPECT_NE(r.error().message.find("job " + std::to_string(id)), std::string::npos) << r.error().message;
    if (id != 1) {
      EXPECT_EQ(s.find(jid(id)), nullptr) << id;
    }
    EXPECT_EQ(s.pending_count(), 1u);
    EXPECT_EQ(ids(s.queue()), (std::vector<std::int64_t>{1}));
    EXPECT_TRUE(same_free(s.cluster().free(), before));
  }
  EXPECT_EQ(s.job(jid(1)).spec.time_limit, 100);  // the duplicate did not overwrite job 1
  EXPECT_EQ(started(s.schedule(5)), (std::vector<std::int64_t>{1}));
}

// A share needs a share of 1..999 milli of exactly one device; a whole device is per_device 1000.
TEST(SchedulerSubmit, AcceptsWellFormedAcceleratorRequests) {
  Scheduler s(gpu_cluster(1, 4), make_options(QueueOrder::Fcfs, Backfill::Easy));
  queue_job(s, make_job(1, make_shared_task(0, 1)), 0);
  queue_job(s, make_job(2, make_shared_task(0, 999)), 0);
  queue_job(s, make_job(3, make_task(0, 4)), 0);
  queue_job(s, make_job(4, make_task(100, 0, 0)), 0);  // no accelerators: per_device is not checked
  EXPECT_EQ(s.pending_count(), 4u);
}

// Requests no node can ever hold fail at submission: state Failed, reason Unsatisfiable, not queued.
TEST(SchedulerSubmit, ImpossibleRequestsAreUnsatisfiable) {
  Cluster c = gpu_cluster(2, 4);
  const ResourceKind t = c.registry().intern("gpu:T4");  // known kind, no node has one
  Scheduler s(std::move(c), make_options(QueueOrder::Fcfs, Backfill::Easy));
  struct Case {
    JobSpec spec;
    SubmitStatus want;
  };
  std::vector<Case> cases{
      {make_job(1, make_task(0, 5)), SubmitStatus::Unsatisfiable},                // 5 GPUs > 4 per node
      {make_job(2, make_task(0, 1, kMilli, {t})), SubmitStatus::Unsatisfiable},   // model nobody has
      {make_job(3, make_task(8001)), SubmitStatus::Unsatisfiable},                // more CPU than a node
      {make_job(4, make_task(0, 4), {.tasks = 3}), SubmitStatus::Unsatisfiable},  // 3 x 4 GPUs on 2 nodes
      {make_job(5, make_task(0, 4), {.tasks = 2}), SubmitStatus::Queued},
      // shares of 300: 3 per GPU, 8 GPUs -> 24 tasks at most
      {make_job(6, make_shared_task(0, 300), {.tasks = 25}), SubmitStatus::Unsatisfiable},
      {make_job(7, make_shared_task(0, 300), {.tasks = 24}), SubmitStatus::Queued},
      // 3000 CPU each: 2 per node -> 4 tasks at most
      {make_job(8, make_task(3000), {.tasks = 5}), SubmitStatus::Unsatisfiable},
      {make_job(9, make_task(3000), {.tasks = 4}), SubmitStatus::Queued},
  };
  for (Case& k : cases) {
    const JobId id = k.spec.id;
    auto r = s.submit(k.spec, 7);
    ASSERT_TRUE(r.has_value()) << id.value;
    EXPECT_EQ(*r, k.want) << id.value;
    if (k.want == SubmitStatus::Unsatisfiable) {
      EXPECT_EQ(s.job(id).state, JobState::Failed) << id.value;
      EXPECT_EQ(s.job(id).reason, PendingReason::Unsatisfiable) << id.value;
      EXPECT_EQ(s.job(id).end, 7) << id.value;
    } else {
      EXPECT_EQ(s.job(id).state, JobState::Pending) << id.value;
    }
  }
  EXPECT_EQ(ids(s.queue()), (std::vector<std::int64_t>{5, 7, 9}));
  // The id of an unsatisfiable job stays taken.
  EXPECT_FALSE(s.submit(make_job(1, make_task(100)), 8).has_value());
}

// A job of a node pool starts only on the pool's nodes, waits for them while others are free,
// and is unsatisfiable when its pool cannot hold it.
TEST(SchedulerSubmit, PoolsKeepJobsToTheirNodes) {
  Cluster c = make_cluster();
  for (int i = 0; i < 4; ++i) {
    NodeSpec spec;
    spec.name = "n" + std::to_string(i);
    spec.scalars.set(R::kCpu, 8000);
    spec.pools = i < 2 ? 0b01 : 0b10;  // n0, n1 in pool 1; n2, n3 in pool 2
    c.add_node(spec);
  }
  Scheduler s(std::move(c), make_options(QueueOrder::Fcfs, Backfill::Easy));
  auto in_pool = [](std::int64_t id, int pool, int tasks) {
    JobSpec j = make_job(id, make_task(8000), {.tasks = tasks});
    j.task.pool = pool;
    return j;
  };
  EXPECT_EQ(*s.submit(in_pool(1, 1, 3), 0), SubmitStatus::Unsatisfiable) << "three nodes of a pool of two";
  EXPECT_EQ(*s.submit(in_pool(9, 3, 1), 0), SubmitStatus::Unsatisfiable) << "a pool without nodes";
  EXPECT_FALSE(s.submit(in_pool(10, 65, 1), 0).has_value());
  queue_job(s, in_pool(2, 1, 2), 0);
  queue_job(s, in_pool(3, 1, 1), 0);  // waits for pool 1 while pool 2 is idle
  queue_job(s, in_pool(4, 0, 1), 0);  // any node
  const auto started = s.schedule(0);
  std::vector<std::string> where;
  for (const Decision& d : started) {
    if (d.action != Action::Start) continue;
    for (const TaskPlacement& p : d.placement)
      where.push_back(std::to_string(d.job.value) + "@" + s.cluster().node(p.node).name);
  }
  EXPECT_EQ(where, (std::vector<std::string>{"2@n0", "2@n1", "4@n2"}));
  EXPECT_EQ(s.job(jid(3)).state, JobState::Pending);
}

// Feature ways (Slurm's counts and matching or): the first way that places every task now is
// taken; counts put that many tasks on nodes with the counted feature; a way no node set can meet
// leaves the job unsatisfiable.
TEST(SchedulerSubmit, FeatureWaysPlaceCountsAndMatchingOrs) {
  Cluster c = make_cluster();
  // n0, n1: feature 0 (rack a); n2, n3: feature 1 (rack b); n3 also feature 2 (fast).
  for (int i = 0; i < 4; ++i) {
    NodeSpec spec;
    spec.name = "n" + std::to_string(i);
    spec.scalars.set(R::kCpu, 8000);
    spec.features = i < 2 ? 0b001 : i == 2 ? 0b010 : 0b110;
    c.add_node(spec);
  }
  Scheduler s(std::move(c), make_options(QueueOrder::Fcfs, Backfill::Easy));
  const auto rule = [](std::vector<FeatureSet> clauses) { return FeatureRule{std::move(clauses)}; };
  const auto job_of = [](std::int64_t id, int tasks, std::vector<FeatureWay> ways) {
    JobSpec j = make_job(id, make_task(8000), {.tasks = tasks});
    j.spread = tasks > 1;
    j.feature_ways = std::make_shared<const std::vector<FeatureWay>>(std::move(ways));
    return j;
  };
  const auto where = [&s](const std::vector<Decision>& ds, std::int64_t id) {
    std::vector<std::string> out;
    for (const Decision& d : ds) {
      if (d.action != Action::Start || d.job.value != id) continue;
      for (const TaskPlacement& p : d.placement) out.push_back(s.cluster().node(p.node).name);
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  // Three nodes all of one rack: neither rack has three.
  EXPECT_EQ(*s.submit(job_of(1, 3, {{{}, rule({0b001})}, {{}, rule({0b010})}}), 0), SubmitStatus::Unsatisfiable);
  // Two of one rack, matching: rack a, whose nodes are free.
  queue_job(s, job_of(2, 2, {{{}, rule({0b001})}, {{}, rule({0b010})}}), 0);
  auto first = s.schedule(0);
  EXPECT_EQ(where(first, 2), (std::vector<std::string>{"n0", "n1"}));
  // Again: rack a is taken, so rack b.
  queue_job(s, job_of(3, 2, {{{}, rule({0b001})}, {{}, rule({0b010})}}), 1);
  EXPECT_EQ(where(s.schedule(1), 3), (std::vector<std::string>{"n2", "n3"}));
  ASSERT_TRUE(s.finish(jid(2), 2));
  ASSERT_TRUE(s.finish(jid(3), 2));
  // A count: one node with fast (n3), one more of any.
  queue_job(s, job_of(4, 2, {{{{1, rule({0b100})}}, {}}}), 3);
  const auto counted = where(s.schedule(3), 4);
  ASSERT_EQ(counted.size(), 2u);
  EXPECT_TRUE(std::find(counted.begin(), counted.end(), "n3") != counted.end());
  // Two fast nodes: only one exists.
  EXPECT_EQ(*s.submit(job_of(5, 2, {{{{2, rule({0b100})}}, {}}}), 3), SubmitStatus::Unsatisfiable);
  // An empty list of ways is malformed.
  EXPECT_FALSE(s.submit(job_of(6, 1, {}), 3).has_value());
}

// A job's nice sends it behind the others, and an operator's fixed priority ahead, under every
// queue order: the queue, of jobs that each need the one node, reads so.
TEST(SchedulerQueue, NiceAndFixedPriorityMoveJobsInEveryOrder) {
  for (QueueOrder order : all_queue_orders()) {
    SCOPED_TRACE(std::string(to_string(order)));
    Scheduler s(gpu_cluster(1, 1), make_options(order, Backfill::None));
    queue_job(s, make_job(1, make_task(1000, 1)), 0);  // runs: the others wait behind it
    s.schedule(0);
    JobSpec nice = make_job(2, make_task(1000, 1), {.submit = 1});
    nice.nice = 100;
    queue_job(s, nice, 1);
    queue_job(s, make_job(3, make_task(1000, 1), {.submit = 2}), 2);
    JobSpec fixed = make_job(4, make_task(1000, 1), {.submit = 3});
    fixed.fixed_priority = 1000000;
    queue_job(s, fixed, 3);
    s.schedule(3);
    EXPECT_EQ(ids(s.queue()), (std::vector<std::int64_t>{4, 3, 2}));
  }
}

// A job that takes a shorter limit (Slurm's --time-min) backfills before the head's reservation
// with its limit lowered to end by it; without one, it waits behind the head.
TEST(SchedulerBackfill, ALeastTimeLimitLetsAJobStartBeforeTheReservation) {
  Cluster c = make_cluster();
  make_node(c, 3000, {});
  Scheduler s(std::move(c), make_options(QueueOrder::Fcfs, Backfill::Easy));
  queue_job(s, make_job(1, make_task(1000), {.time_limit = 100}), 0);  // runs until 100
  s.schedule(0);
  queue_job(s, make_job(2, make_task(3000), {.submit = 1, .time_limit = 100}), 1);  // the head: reserved at 100
  queue_job(s, make_job(3, make_task(1000), {.submit = 2, .time_limit = 300}), 2);  // would delay it
  JobSpec flexible = make_job(4, make_task(1000), {.submit = 3, .time_limit = 300});
  flexible.time_min = 60;
  queue_job(s, flexible, 3);
  const auto decisions = s.schedule(10);
  ASSERT_EQ(started(decisions), (std::vector<std::int64_t>{4}));
  EXPECT_EQ(decisions.front().time_limit, 90) << "ends by the reservation at 100";
  EXPECT_EQ(s.job(jid(4)).spec.time_limit, 90);
  EXPECT_EQ(s.job(jid(3)).state, JobState::Pending);
  // A CPU is still free, but too little time is left before the reservation for its least limit:
  // it waits.
  JobSpec late = make_job(5, make_task(1000), {.submit = 4, .time_limit = 300});
  late.time_min = 60;
  queue_job(s, late, 50);
  EXPECT_TRUE(started(s.schedule(50)).empty());
  EXPECT_EQ(s.job(jid(5)).state, JobState::Pending);
  JobSpec fits = make_job(7, make_task(1000), {.submit = 5, .time_limit = 300});
  fits.time_min = 40;
  queue_job(s, fits, 50);
  EXPECT_EQ(started(s.schedule(50)), (std::vector<std::int64_t>{7}));
  // A least limit above the limit is malformed.
  JobSpec bad = make_job(6, make_task(1000), {.time_limit = 10});
  bad.time_min = 20;
  EXPECT_FALSE(s.submit(bad, 50).has_value());
}

// A drained node still counts for satisfiability (it may come back).
TEST(SchedulerSubmit, DrainedNodesStillMakeJobsSatisfiable) {
  Scheduler s(gpu_cluster(1, 4), make_options(QueueOrder::Fcfs, Backfill::Easy));
  s.set_node_state(nid(0), NodeState::Drained, 0);
  EXPECT_EQ(s.submit(make_job(1, make_task(0, 4)), 0), SubmitStatus::Queued);
  EXPECT_TRUE(s.schedule(0).empty());
  EXPECT_EQ(s.job(jid(1)).reason, PendingReason::NodesUnavailable);
  EXPECT_EQ(s.job(jid(1)).reserved_at, -1);
  s.set_node_state(nid(0), NodeState::Up, 1);
  EXPECT_EQ(started(s.schedule(1)), (std::vector<std::int64_t>{1}));
}

// --- queue orders

// One 1-GPU node kept busy by job 1; jobs 2..5 wait. Returns the queue, then what starts first
// when job 1 ends.
std::pair<std::vector<std::int64_t>, std::vector<std::int64_t>> order_run(QueueOrder order) {
  Scheduler s(gpu_cluster(1, 1), make_options(order, Backfill::None));
  queue_job(s, make_job(1, make_task(100, 1), {.submit = 0, .time_limit = 1000}), 0);
  s.schedule(0);
  queue_job(s, make_job(2, make_task(100, 1), {.submit = 10, .time_limit = 300, .priority = 0}), 10);
  queue_job(s, make_job(3, make_task(100, 1), {.submit = 11, .time_limit = 100, .priority = 5}), 11);
  queue_job(s, make_job(4, make_task(100, 1), {.submit = 12, .time_limit = 200, .priority = 9}), 12);
  queue_job(s, make_job(5, make_task(100, 1), {.submit = 12, .time_limit = 900, .estimate = 100, .priority = 5}), 12);
  auto queue = ids(s.queue());
  s.finish(jid(1), 20);
  return {queue, started(s.schedule(20))};
}

// FCFS orders by submit time, then id.
TEST(QueueOrder, FcfsBySubmitTime) {
  auto [queue, first] = order_run(QueueOrder::Fcfs);
  EXPECT_EQ(queue, (std::vector<std::int64_t>{2, 3, 4, 5}));
  EXPECT_EQ(first, (std::vector<std::int64_t>{2}));
}

// SJF orders by planned runtime (the estimate when given), then submit time.
TEST(QueueOrder, SjfByPlannedRuntime) {
  auto [queue, first] = order_run(QueueOrder::Sjf);
  // 3: 100 (submit 11), 5: estimate 100 (submit 12), 4: 200, 2: 300
  EXPECT_EQ(queue, (std::vector<std::int64_t>{3, 5, 4, 2}));
  EXPECT_EQ(first, (std::vector<std::int64_t>{3}));
}

// Priority orders by priority, larger first, then submit time.
TEST(QueueOrder, PriorityLargerFirst) {
  auto [queue, first] = order_run(QueueOrder::Priority);
  EXPECT_EQ(queue, (std::vector<std::int64_t>{4, 3, 5, 2}));
  EXPECT_EQ(first, (std::vector<std::int64_t>{4}));
}

// Names of queue orders and backfills round-trip; unknown names list the valid ones.
TEST(ParseQueueOrder, NamesAndErrors) {
  for (auto o : {QueueOrder::Fcfs, QueueOrder::Sjf, QueueOrder::Priority}) {
    EXPECT_EQ(parse_queue_order(to_string(o)), o);
  }
  auto r = parse_queue_order("lifo");
  ASSERT_FALSE(r.has_value());
  for (const char* n : {"'lifo'", "fcfs", "sjf", "priority"}) {
    EXPECT_NE(r.error().message.find(n), std::string::npos) << r.error().message;
  }
}

// Backfill names round-trip; the error lists none, easy, easy-sjbf and conservative.
TEST(ParseBackfill, NamesAndErrors) {
  for (auto b : {Backfill::None, Backfill::Easy, Backfill::EasySjbf, Backfill::Conservative}) {
    EXPECT_EQ(parse_backfill(to_string(b)), b);
  }
  auto r = parse_backfill("aggressive");
  ASSERT_FALSE(r.has_value());
  for (const char* n : {"'aggressive'", "none", "easy", "easy-sjbf", "conservative"}) {
    EXPECT_NE(r.error().message.find(n), std::string::npos) << r.error().message;
  }
}

// --- backfilling and pending reasons

// One node, 8000 CPU, 4 GPUs. Job 1 (2 GPUs, 100 s) runs from 0. At 3: job 2 (head, 4 GPUs) can
// start at 100; job 3 (2 GPUs, 200 s) would delay it; job 4 (2 GPUs, 50 s) ends by 53; job 5 (CPU
// only, 1000 s) outlives the reservation but takes nothing the head needs.
struct EasyScenario {
  Scheduler s;
  std::vector<Decision> at3;
  explicit EasyScenario(Backfill backfill, QueueOrder order = QueueOrder::Fcfs)
      : s(gpu_cluster(1, 4), make_options(order, backfill)) {
    queue_job(s, make_job(1, make_task(1000, 2), {.submit = 0, .time_limit = 100}), 0);
    EXPECT_EQ(started(s.schedule(0)), (std::vector<std::int64_t>{1}));
    queue_job(s, make_job(2, make_task(1000, 4), {.submit = 1, .time_limit = 100}), 1);
    queue_job(s, make_job(3, make_task(1000, 2), {.submit = 2, .time_limit = 200}), 2);
    queue_job(s, make_job(4, make_task(1000, 2), {.submit = 3, .time_limit = 50}), 3);
    queue_job(s, make_job(5, make_task(1000), {.submit = 3, .time_limit = 1000}), 3);
    at3 = s.schedule(3);
  }
};

// EASY starts the short job and the non-conflicting long one, not the one that would delay the head.
TEST(EasyBackfill, BackfillsOnlyWhatKeepsTheReservation) {
  EasyScenario e(Backfill::Easy);
  EXPECT_EQ(started(e.at3), (std::vector<std::int64_t>{4, 5}));
  EXPECT_EQ(e.at3[0].placement, (std::vector<TaskPlacement>{{nid(0), {{2, 1000}, {3, 1000}}}}));
  EXPECT_EQ(e.s.job(jid(2)).reason, PendingReason::Reserved);
  EXPECT_EQ(e.s.job(jid(2)).reserved_at, 100);
  EXPECT_EQ(e.s.job(jid(3)).reason, PendingReason::ReservedForOther);  // fits now, would delay the head
  EXPECT_EQ(e.s.job(jid(3)).blocker, jid(2));
  EXPECT_EQ(ids(e.s.queue()), (std::vector<std::int64_t>{2, 3}));
  // The reservation holds: when jobs 4 and 1 end, the head starts at 100.
  EXPECT_TRUE(e.s.finish(jid(4), 53));
  EXPECT_TRUE(e.s.schedule(53).empty());
  EXPECT_TRUE(e.s.finish(jid(1), 100));
  EXPECT_EQ(started(e.s.schedule(100)), (std::vector<std::int64_t>{2}));
}

// Without backfilling nothing passes the head: it waits for Resources, the others for Priority.
TEST(NoBackfill, HeadWaitsForResourcesOthersForPriority) {
  EasyScenario e(Backfill::None);
  EXPECT_TRUE(e.at3.empty());
  EXPECT_EQ(e.s.job(jid(2)).reason, PendingReason::Resources);
  EXPECT_EQ(e.s.job(jid(2)).reserved_at, -1);
  for (std::int64_t id : {3, 4, 5}) EXPECT_EQ(e.s.job(jid(id)).reason, PendingReason::Priority) << id;
  EXPECT_EQ(ids(e.s.queue()), (std::vector<std::int64_t>{2, 3, 4, 5}));
}

// A gang that does not fit waits for room for all its tasks at once (GangNodes), at the head and
// behind it; a single task that does not fit waits for Resources.
TEST(PendingReasons, GangsWaitForAllTheirNodes) {
  for (Backfill b : {Backfill::None, Backfill::Easy}) {
    Scheduler s(gpu_cluster(2, 4), make_options(QueueOrder::Fcfs, b));
    queue_job(s, make_job(1, make_task(100, 3), {.submit = 0, .time_limit = 100}), 0);
    EXPECT_EQ(started(s.schedule(0)), (std::vector<std::int64_t>{1}));
    JobSpec gang = make_job(2, make_task(100, 2), {.submit = 1, .time_limit = 100});
    gang.tasks = 2;
    gang.spread = true;
    queue_job(s, gang, 1);
    queue_job(s, make_job(3, make_task(100, 4), {.submit = 1, .time_limit = 500}), 1);
    JobSpec behind = make_job(4, make_task(100, 2), {.submit = 2, .time_limit = 10});
    behind.tasks = 2;
    behind.spread = true;
    queue_job(s, behind, 2);
    EXPECT_TRUE(started(s.schedule(2)).empty()) << to_string(b);
    // Node 0 has 1 GPU free, node 1 has 4: a 2-GPU task fits on one node only.
    EXPECT_EQ(s.job(jid(2)).reason, b == Backfill::None ? PendingReason::GangNodes : PendingReason::Reserved);
    if (b == Backfill::Easy) {
      // Job 3 (4 GPUs on one node, past the reservation) fits on node 1 now, in room planned for
      // the head; the gang behind, short enough to backfill, has no node for its second task.
      EXPECT_EQ(s.job(jid(3)).reason, PendingReason::ReservedForOther);
      EXPECT_EQ(s.job(jid(3)).blocker, jid(2));
      EXPECT_EQ(s.job(jid(4)).reason, PendingReason::GangNodes);
    }
  }
}

// What would let a waiting job start sooner. One node of 4 V100 and one of 2 T4; job 1 holds 3 V100
// until 100 and job 2 both T4 until 50. The head, job 3 (4 V100), could start at 100: with 1 V100
// now, or on the T4 node at 50 if it asked for 2 (not 4: no T4 hint). Job 4 (1 V100 for 500 s)
// fits now in the head's room: a limit of 99 s would start it now. A job that is not waiting gets
// nothing.
TEST(WhatIf, NearestChangesThatStartSooner) {
  Cluster c = make_cluster();
  make_node(c, 8000, gpus(4, v100(c)));
  make_node(c, 8000, gpus(2, t4(c)));
  const ResourceKind v = v100(c), t = t4(c);
  Scheduler s(std::move(c), make_options(QueueOrder::Fcfs, Backfill::Easy));
  queue_job(s, make_job(1, make_task(100, 3, kMilli, {v}), {.submit = 0, .time_limit = 100}), 0);
  queue_job(s, make_job(2, make_task(100, 2, kMilli, {t}), {.submit = 0, .time_limit = 50}), 0);
  EXPECT_EQ(started(s.schedule(0)), (std::vector<std::int64_t>{1, 2}));
  queue_job(s, make_job(3, make_task(100, 4, kMilli, {v}), {.submit = 1, .time_limit = 100}), 1);
  queue_job(s, make_job(4, make_task(100, 1, kMilli, {v}), {.submit = 1, .time_limit = 500}), 1);
  EXPECT_TRUE(started(s.schedule(1)).empty());
  ASSERT_EQ(s.job(jid(4)).reason, PendingReason::ReservedForOther);

  const WhatIf head = s.what_if(jid(3), 1);
  EXPECT_EQ(head.start, 100);
  ASSERT_EQ(head.hints.size(), 1u);
  EXPECT_EQ(head.hints[0].change, Hint::Change::FewerDevices);
  EXPECT_EQ(head.hints[0].value, 1);
  EXPECT_EQ(head.hints[0].start, 1);

  // Asking for 2 V100: the T4 node frees at 50, before the V100 ones.
  queue_job(s, make_job(5, make_task(100, 2, kMilli, {v}), {.submit = 2, .time_limit = 500}), 2);
  const WhatIf two = s.what_if(jid(5), 2);
  EXPECT_EQ(two.start, 100);
  ASSERT_EQ(two.hints.size(), 2u);
  EXPECT_EQ(two.hints[0].change, Hint::Change::FewerDevices);
  EXPECT_EQ(two.hints[0].value, 1);
  EXPECT_EQ(two.hints[1].change, Hint::Change::OtherModel);
  EXPECT_EQ(two.hints[1].model, t);
  EXPECT_EQ(two.hints[1].start, 50);

  const WhatIf blocked = s.what_if(jid(4), 1);
  EXPECT_EQ(blocked.start, 1);  // it fits now, as asked
  ASSERT_EQ(blocked.hints.size(), 1u);
  EXPECT_EQ(blocked.hints[0].change, Hint::Change::ShorterLimit);
  EXPECT_EQ(blocked.hints[0].value, 99);
  EXPECT_EQ(blocked.hints[0].start, 1);

  EXPECT_TRUE(s.what_if(jid(1), 1).hints.empty());
  EXPECT_EQ(s.what_if(jid(1), 1).start, -1);
  EXPECT_EQ(s.what_if(jid(99), 1).start, -1);
}

// A job demoted from the head by a higher-priority arrival waits for Priority, not Resources.
TEST(NoBackfill, DemotedHeadReasonBecomesPriority) {
  Scheduler s(gpu_cluster(1, 1), make_options(QueueOrder::Priority, Backfill::None));
  queue_job(s, make_job(1, make_task(100, 1)), 0);
  s.schedule(0);
  queue_job(s, make_job(2, make_task(100, 1), {.submit = 1, .priority = 1}), 1);
  s.schedule(1);
  EXPECT_EQ(s.job(jid(2)).reason, PendingReason::Resources);
  queue_job(s, make_job(3, make_task(100, 1), {.submit = 2, .priority = 5}), 2);
  s.schedule(2);
  EXPECT_EQ(s.job(jid(3)).reason, PendingReason::Resources);
  EXPECT_EQ(s.job(jid(2)).reason, PendingReason::Priority);
}

// EASY-SJBF tries the shortest candidate first; plain EASY takes queue order.
// Job 1 holds 2 of 4 GPUs until 100; head job 2 wants 4. Jobs 3 (80 s) and 4 (40 s) each want the
// 2 free GPUs and both end before 100: only one can start.
TEST(EasySjbf, ShortestCandidateFirst) {
  for (Backfill b : {Backfill::Easy, Backfill::EasySjbf}) {
    Scheduler s(gpu_cluster(1, 4), make_options(QueueOrder::Fcfs, b));
    queue_job(s, make_job(1, make_task(100, 2), {.submit = 0, .time_limit = 100}), 0);
    s.schedule(0);
    queue_job(s, make_job(2, make_task(100, 4), {.submit = 1}), 1);
    queue_job(s, make_job(3, make_task(100, 2), {.submit = 2, .time_limit = 80}), 2);
    queue_job(s, make_job(4, make_task(100, 2), {.submit = 3, .time_limit = 500, .estimate = 40}), 3);
    const auto got = started(s.schedule(3));
    if (b == Backfill::Easy) {
      EXPECT_EQ(got, (std::vector<std::int64_t>{3}));
      EXPECT_EQ(s.job(jid(4)).reason, PendingReason::Resources);
    } else {
      EXPECT_EQ(got, (std::vector<std::int64_t>{4}));
      EXPECT_EQ(s.job(jid(3)).reason, PendingReason::Resources);
    }
    EXPECT_EQ(s.job(jid(2)).reserved_at, 100);
  }
}

// The reservation is planned from estimates: a job whose estimate ends by the reservation backfills
// even when its time limit is longer.
TEST(EasyBackfill, UsesEstimatesForThePlan) {
  Scheduler s(gpu_cluster(1, 2), make_options(QueueOrder::Fcfs, Backfill::Easy));
  queue_job(s, make_job(1, make_task(100, 1), {.time_limit = 1000, .estimate = 60}), 0);
  s.schedule(0);
  queue_job(s, make_job(2, make_task(100, 2)), 0);
  queue_job(s, make_job(3, make_task(100, 1), {.time_limit = 1000, .estimate = 60}), 0);
  EXPECT_EQ(started(s.schedule(0)), (std::vector<std::int64_t>{3}));
  EXPECT_EQ(s.job(jid(2)).reserved_at, 60);
}

// The head starts as soon as it fits; jobs behind it start in order while they fit.
TEST(Schedule, StartsFromTheHeadWhileJobsFit) {
  Scheduler s(gpu_cluster(2, 2), make_options(QueueOrder::Fcfs, Backfill::None));
  for (int id = 1; id <= 5; ++id) queue_job(s, make_job(id, make_task(100, 1), {.submit = id}), id);
  const auto d = s.schedule(10);
  EXPECT_EQ(started(d), (std::vector<std::int64_t>{1, 2, 3, 4}));
  EXPECT_EQ(d[2].placement, (std::vector<TaskPlacement>{{nid(1), {{0, 1000}}}}));
  EXPECT_EQ(s.job(jid(3)).start, 10);
  EXPECT_EQ(s.job(jid(3)).state, JobState::Running);
  EXPECT_EQ(s.job(jid(3)).reason, PendingReason::None);
  EXPECT_EQ(s.running_count(), 4u);
  EXPECT_EQ(s.pending_count(), 1u);
  EXPECT_FALSE(s.fits_now(jid(5)));
  s.finish(jid(2), 11);
  EXPECT_TRUE(s.fits_now(jid(5)));
}

// --- gangs

// A gang of 3 one-GPU tasks starts all together or not at all.
TEST(Gang, StartsAllOrNone) {
  Scheduler s(gpu_cluster(2, 2), make_options(QueueOrder::Fcfs, Backfill::None));
  queue_job(s, make_job(1, make_task(100, 2)), 0);
  EXPECT_EQ(started(s.schedule(0)), (std::vector<std::int64_t>{1}));  // node 0, both GPUs
  queue_job(s, make_job(2, make_task(100, 1), {.submit = 1, .tasks = 3}), 1);
  const FreeState before = s.cluster().free();
  EXPECT_TRUE(s.schedule(1).empty());
  EXPECT_TRUE(same_free(s.cluster().free(), before));  // no task of the gang holds anything
  EXPECT_EQ(s.job(jid(2)).state, JobState::Pending);
  EXPECT_TRUE(s.job(jid(2)).placement.empty());

  s.finish(jid(1), 5);
  const auto d = s.schedule(5);
  ASSERT_EQ(started(d), (std::vector<std::int64_t>{2}));
  EXPECT_EQ(d[0].placement,
            (std::vector<TaskPlacement>{{nid(0), {{0, 1000}}}, {nid(0), {{1, 1000}}}, {nid(1), {{0, 1000}}}}));
  EXPECT_EQ(s.job(jid(2)).placement, d[0].placement);
  EXPECT_EQ(s.cluster().free()[nid(0)].devices, (std::vector<Milli>{0, 0}));
  EXPECT_EQ(s.cluster().free()[nid(1)].devices, (std::vector<Milli>{0, 1000}));
  EXPECT_EQ(s.cluster().free()[nid(0)].tasks, 2);
  EXPECT_EQ(s.cluster().free()[nid(0)].scalars.get(R::kCpu), 8000 - 200);
  // Ending the gang frees every task's share.
  s.finish(jid(2), 6);
  EXPECT_EQ(s.cluster().free()[nid(0)].devices, (std::vector<Milli>{1000, 1000}));
  EXPECT_EQ(s.cluster().free()[nid(1)].tasks, 0);
}

// --- ending jobs

// finish frees the job's resources once; it keeps its placement; unknown or ended jobs give false.
TEST(SchedulerFinish, FreesResourcesOnce) {
  Scheduler s(gpu_cluster(1, 2), make_options(QueueOrder::Fcfs, Backfill::Easy));
  const FreeState idle = s.cluster().free();
  queue_job(s, make_job(1, make_shared_task(1500, 400)), 0);
  s.schedule(0);
  EXPECT_EQ(s.cluster().free()[nid(0)].devices, (std::vector<Milli>{600, 1000}));
  EXPECT_EQ(s.cluster().free()[nid(0)].scalars.get(R::kCpu), 6500);
  EXPECT_TRUE(s.finish(jid(1), 50));
  EXPECT_TRUE(same_free(s.cluster().free(), idle));
  EXPECT_EQ(s.job(jid(1)).state, JobState::Finished);
  EXPECT_EQ(s.job(jid(1)).end, 50);
  EXPECT_EQ(s.job(jid(1)).placement.size(), 1u);
  EXPECT_FALSE(s.finish(jid(1), 51));
  EXPECT_FALSE(s.finish(jid(99), 51));
  EXPECT_EQ(s.running_count(), 0u);
}

// finish records the outcome it is given; a pending job cannot be finished.
TEST(SchedulerFinish, RecordsOutcomeAndRejectsPending) {
  Scheduler s(gpu_cluster(1, 1), make_options(QueueOrder::Fcfs, Backfill::Easy));
  queue_job(s, make_job(1, make_task(100, 1)), 0);
  queue_job(s, make_job(2, make_task(100, 1)), 0);
  s.schedule(0);
  EXPECT_FALSE(s.finish(jid(2), 1));
  EXPECT_EQ(s.job(jid(2)).state, JobState::Pending);
  EXPECT_TRUE(s.finish(jid(1), 2, JobState::Failed));
  EXPECT_EQ(s.job(jid(1)).state, JobState::Failed);
}

// cancel ends pending and running jobs (freeing the latter), and nothing else.
TEST(SchedulerCancel, PendingAndRunning) {
  Scheduler s(gpu_cluster(1, 1), make_options(QueueOrder::Fcfs, Backfill::Easy));
  const FreeState idle = s.cluster().free();
  queue_job(s, make_job(1, make_task(100, 1)), 0);
  queue_job(s, make_job(2, make_task(100, 1)), 0);
  queue_job(s, make_job(3, make_task(100, 1)), 0);
  s.schedule(0);
  EXPECT_TRUE(s.cancel(jid(2), 4));
  EXPECT_EQ(s.job(jid(2)).state, JobState::Cancelled);
  EXPECT_EQ(s.job(jid(2)).reason, PendingReason::None);
  EXPECT_EQ(s.job(jid(2)).end, 4);
  EXPECT_EQ(ids(s.queue()), (std::vector<std::int64_t>{3}));
  EXPECT_FALSE(s.cancel(jid(2), 5));

  EXPECT_TRUE(s.cancel(jid(1), 6));
  EXPECT_EQ(s.job(jid(1)).state, JobState::Cancelled);
  EXPECT_TRUE(same_free(s.cluster().free(), idle));
  EXPECT_FALSE(s.cancel(jid(1), 7));
  EXPECT_FALSE(s.cancel(jid(42), 7));
  EXPECT_EQ(started(s.schedule(8)), (std::vector<std::int64_t>{3}));
}

// expire ends running jobs whose time limit (not estimate) has passed, in id order, freeing them.
TEST(SchedulerExpire, EndsJobsAtTheirTimeLimit) {
  Scheduler s(gpu_cluster(1, 4), make_options(QueueOrder::Fcfs, Backfill::Easy));
  queue_job(s, make_job(3, make_task(100, 1), {.time_limit = 100, .estimate = 10}), 0);
  queue_job(s, make_job(1, make_task(100, 1), {.time_limit = 100}), 0);
  queue_job(s, make_job(2, make_task(100, 1), {.time_limit = 200}), 0);
  s.schedule(0);
  EXPECT_TRUE(s.expire(99).empty());
  EXPECT_EQ(ids(s.expire(100)), (std::vector<std::int64_t>{1, 3}));
  EXPECT_EQ(s.job(jid(1)).state, JobState::TimedOut);
  EXPECT_EQ(s.job(jid(3)).end, 100);
  EXPECT_EQ(s.job(jid(2)).state, JobState::Running);
  EXPECT_EQ(s.cluster().free()[nid(0)].whole_free_devices(), 3);
  EXPECT_TRUE(s.expire(150).empty());
  EXPECT_EQ(ids(s.expire(250)), (std::vector<std::int64_t>{2}));
  EXPECT_EQ(s.running_count(), 0u);
}

// --- node events

// A node going Down fails the jobs with a task on it (id order) and frees their resources; a Drained
// node keeps its jobs but takes no new ones.
TEST(NodeEvents, DownFailsRunningJobsDrainedKeepsThem) {
  Scheduler s(gpu_cluster(2, 2), make_options(QueueOrder::Fcfs, Backfill::Easy));
  queue_job(s, make_job(1, make_task(100, 1)), 0);                // node 0 GPU 0
  queue_job(s, make_job(2, make_task(100, 1), {.tasks = 2}), 0);  // node 0 GPU 1, node 1 GPU 0
  queue_job(s, make_job(3, make_task(100, 1)), 0);                // node 1 GPU 1
  ASSERT_EQ(started(s.schedule(0)), (std::vector<std::int64_t>{1, 2, 3}));

  EXPECT_EQ(ids(s.set_node_state(nid(0), NodeState::Down, 10)), (std::vector<std::int64_t>{1, 2}));
  for (std::int64_t id : {1, 2}) {
    EXPECT_EQ(s.job(jid(id)).state, JobState::Failed) << id;
    EXPECT_EQ(s.job(jid(id)).end, 10) << id;
  }
  EXPECT_EQ(s.job(jid(3)).state, JobState::Running);
  EXPECT_EQ(s.cluster().free()[nid(0)].devices, (std::vector<Milli>{1000, 1000}));
  EXPECT_EQ(s.cluster().free()[nid(1)].devices, (std::vector<Milli>{1000, 0}));
  EXPECT_EQ(s.cluster().node(nid(0)).state, NodeState::Down);

  queue_job(s, make_job(4, make_task(100, 1)), 11);
  queue_job(s, make_job(5, make_task(100, 1)), 11);
  const auto d = s.schedule(11);
  ASSERT_EQ(started(d), (std::vector<std::int64_t>{4}));  // only node 1 GPU 0; node 0 is down
  EXPECT_EQ(d[0].placement[0].node, nid(1));

  EXPECT_TRUE(s.set_node_state(nid(1), NodeState::Drained, 12).empty());
  EXPECT_EQ(s.job(jid(3)).state, JobState::Running);
  s.set_node_state(nid(0), NodeState::Up, 13);
  EXPECT_EQ(started(s.schedule(13)), (std::vector<std::int64_t>{5}));
  EXPECT_EQ(s.job(jid(5)).placement[0].node, nid(0));
}

// A node added to a running scheduler takes work at the next pass.
TEST(NodeEvents, AddedNodeTakesWork) {
  Scheduler s(gpu_cluster(1, 1), make_options(QueueOrder::Fcfs, Backfill::Easy));
  queue_job(s, make_job(1, make_task(100, 1)), 0);
  queue_job(s, make_job(2, make_task(100, 1)), 0);
  s.schedule(0);
  NodeSpec spec;
  spec.name = "late";
  spec.scalars.set(R::kCpu, 1000);
  spec.devices = {*s.cluster().registry().find("gpu:V100")};
  EXPECT_EQ(s.add_node(spec), nid(1));
  EXPECT_EQ(started(s.schedule(1)), (std::vector<std::int64_t>{2}));
  EXPECT_EQ(s.job(jid(2)).placement[0].node, nid(1));
}

// --- determinism

// Drives a scheduler with random placement through a fixed mix of events; returns every decision.
std::vector<Decision> drive(std::uint64_t seed) {
  Scheduler s(gpu_cluster(4, 4), make_options(QueueOrder::Sjf, Backfill::EasySjbf, PlacementKind::Random, seed));
  std::vector<Decision> all;
  for (int i = 1; i <= 40; ++i) {
    const Time now = i * 5;
    TaskRequest t =
        i % 3 == 0 ? make_shared_task(500, 100 * (i % 9 + 1)) : make_task(1000 * (i % 4), i % 4 == 0 ? 0 : i % 4);
    if (t.scalars.empty() && t.accel.count == 0) t = make_task(700);
    queue_job(s, make_job(i, t, {.submit = now, .tasks = 1 + i % 2, .time_limit = 20 + 7 * (i % 5)}), now);
    s.expire(now);
    if (i % 7 == 0) s.cancel(jid(i - 3), now);
    auto d = s.schedule(now);
    all.insert(all.end(), d.begin(), d.end());
  }
  return all;
}

// Two schedulers fed the same events with the same seed decide identically.
TEST(Determinism, SameEventsSameSeedSameDecisions) {
  const auto a = drive(12345);
  const auto b = drive(12345);
  ASSERT_EQ(a.size(), b.size());
  ASSERT_FALSE(a.empty());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].job, b[i].job) << i;
    EXPECT_EQ(a[i].placement, b[i].placement) << i;
  }
}

// A job of 4 whole devices of any model, on an idle node of 2 V100s and 2 T4s, starts.
TEST(SchedulerSubmit, AnyModelJobStartsOnMixedNode) {
  Cluster c = make_cluster();
  make_node(c, 8000, {v100(c), v100(c), t4(c), t4(c)});
  Scheduler s(std::move(c), make_options(QueueOrder::Fcfs, Backfill::Easy));
  queue_job(s, make_job(1, make_task(1000, 4)), 0);
  EXPECT_EQ(started(s.schedule(0)), (std::vector<std::int64_t>{1}));
  EXPECT_EQ(s.job(jid(1)).state, JobState::Running);
}

// Under the priority order, the lowest possible priority still goes last.
TEST(QueueOrder, PriorityMinimumGoesLast) {
  Scheduler s(gpu_cluster(1, 1), make_options(QueueOrder::Priority, Backfill::None));
  queue_job(s, make_job(1, make_task(100, 1), {.priority = std::numeric_limits<std::int64_t>::min()}), 0);
  queue_job(s, make_job(2, make_task(100, 1), {.priority = 0}), 0);
  EXPECT_EQ(ids(s.queue()), (std::vector<std::int64_t>{2, 1}));
}

}  // namespace
}  // namespace gwang::core

namespace gwang::core {
namespace {

// A spread job puts each task on its own node: on one node it can never run; on two it takes both.
TEST(Spread, EachTaskOnItsOwnNode) {
  Scheduler one(gpu_cluster(1, 4), make_options(QueueOrder::Fcfs, Backfill::Easy));
  JobSpec spec = make_job(1, make_task(1000, 1), {.tasks = 2});
  spec.spread = true;
  auto r = one.submit(spec, 0);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, SubmitStatus::Unsatisfiable);  // without spread the node would hold both tasks

  Scheduler two(gpu_cluster(2, 4), make_options(QueueOrder::Fcfs, Backfill::Easy));
  queue_job(two, spec, 0);
  const auto d = two.schedule(0);
  ASSERT_EQ(d.size(), 1u);
  ASSERT_EQ(d[0].placement.size(), 2u);
  EXPECT_NE(d[0].placement[0].node, d[0].placement[1].node);
}

}  // namespace
}  // namespace gwang::core

// --- requeue and adopt (driver events of the live controller)

namespace gwang::core {
namespace {

using namespace gwang::core::testing;

TEST(SchedulerRequeue, FailedJobWaitsAgainInItsPlaceAndRunsAgain) {
  Cluster c = make_cluster();
  make_node(c, 4000, gpus(2, v100(c)));
  make_node(c, 4000, gpus(2, v100(c)));
  SchedulerOptions o;
  o.backfill = Backfill::Easy;
  Scheduler s(std::move(c), o);
  ASSERT_TRUE(s.submit(make_job(1, make_task(4000, 2)), 0));
  ASSERT_TRUE(s.submit(make_job(2, make_task(4000, 2), {.submit = 1}), 1));
  ASSERT_TRUE(s.submit(make_job(3, make_task(4000, 2), {.submit = 2}), 2));
  auto d = s.schedule(2);
  ASSERT_EQ(d.size(), 2u);
  const NodeId node_of_1 = s.job(jid(1)).placement.front().node;
  EXPECT_EQ(s.set_node_state(node_of_1, NodeState::Down, 5), std::vector<JobId>{jid(1)});
  EXPECT_FALSE(s.requeue(jid(2), 5)) << "a running job is not requeued";
  ASSERT_TRUE(s.requeue(jid(1), 5));
  EXPECT_FALSE(s.requeue(jid(1), 5)) << "a pending job is not requeued twice";
  EXPECT_EQ(s.job(jid(1)).state, JobState::Pending);
  EXPECT_TRUE(s.job(jid(1)).placement.empty());
  // Job 1 keeps its submit time: it is ahead of job 3 in the queue.
  EXPECT_EQ(ids(s.queue()), (std::vector<std::int64_t>{1, 3}));
  EXPECT_TRUE(s.finish(jid(2), 10));
  d = s.schedule(10);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].job, jid(1));
  EXPECT_NE(d[0].placement.front().node, node_of_1) << "the down node takes no work";
}

TEST(SchedulerAdopt, RunningJobIsRestoredOnItsPlacementAllOrNothing) {
  Cluster c = make_cluster();
  make_node(c, 4000, gpus(2, v100(c)));
  make_node(c, 4000, gpus(2, t4(c)));
  const ResourceKind v = v100(c);
  Scheduler s(std::move(c), SchedulerOptions{});
  ASSERT_TRUE(s.submit(make_job(1, make_task(2000, 1, kMilli, {v}), {.tasks = 2}), 0));
  ASSERT_TRUE(s.submit(make_job(2, make_task(4000, 0)), 0));
  // One place per task is required, on devices of an allowed model that are free.
  EXPECT_FALSE(s.adopt(jid(1), {{nid(0), {{0, kMilli}}}}, 3));
  EXPECT_FALSE(s.adopt(jid(1), {{nid(0), {{0, kMilli}}}, {nid(1), {{0, kMilli}}}}, 3)) << "T4 is not allowed";
  EXPECT_FALSE(s.adopt(jid(1), {{nid(0), {{0, kMilli}}}, {nid(0), {{0, kMilli}}}}, 3)) << "the same device twice";
  EXPECT_FALSE(s.adopt(jid(1), {{nid(0), {{7, kMilli}}}, {nid(0), {{0, kMilli}}}}, 3)) << "no device 7";
  EXPECT_EQ(s.cluster().free()[nid(0)].devices, (std::vector<Milli>{kMilli, kMilli})) << "failures change nothing";
  auto ok = s.adopt(jid(1), {{nid(0), {{0, kMilli}}}, {nid(0), {{1, kMilli}}}}, 3);
  ASSERT_TRUE(ok) << ok.error().message;
  const Job& j = s.job(jid(1));
  EXPECT_EQ(j.state, JobState::Running);
  EXPECT_EQ(j.start, 3);
  EXPECT_EQ(s.cluster().free()[nid(0)].devices, (std::vector<Milli>{0, 0}));
  EXPECT_EQ(s.cluster().free()[nid(0)].scalars.get(R::kCpu), 0);
  EXPECT_FALSE(s.adopt(jid(1), {{nid(1), {}}}, 3)) << "only a pending job is adopted";
  EXPECT_FALSE(s.adopt(jid(2), {{nid(0), {}}}, 3)) << "node 0's CPUs are taken";
  // The adopted job ends like any other and gives its resources back.
  EXPECT_TRUE(s.finish(jid(1), 9));
  EXPECT_EQ(s.cluster().free()[nid(0)].devices, (std::vector<Milli>{kMilli, kMilli}));
  EXPECT_EQ(ids(s.queue()), (std::vector<std::int64_t>{2}));
}

}  // namespace
}  // namespace gwang::core
