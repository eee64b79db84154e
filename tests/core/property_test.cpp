// Property tests: random clusters and random event sequences under every combination of queue order,
// backfill and placement; the scheduler's books are checked against a shadow model after every event.
#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <algorithm>
#include <limits>
#include <map>
#include <set>

#include "core_helpers.h"

namespace gwang::core {
namespace {

using namespace gwang::core::testing;

// A random cluster: 1-4 nodes, each 1000-16000 milli-CPU and 0-8 devices of 1-3 models.
Cluster gen_cluster() {
  Cluster c;
  const int models = *rc::gen::inRange(1, 4);
  std::vector<ResourceKind> kinds;
  for (int m = 0; m < models; ++m) kinds.push_back(c.registry().intern("gpu:M" + std::to_string(m)));
  const int nodes = *rc::gen::inRange(1, 5);
  for (int n = 0; n < nodes; ++n) {
    const Milli cpu = *rc::gen::inRange(1, 17) * Milli{1000};
    const int devices = *rc::gen::inRange(0, 9);
    std::vector<ResourceKind> dev;
    for (int d = 0; d < devices; ++d) dev.push_back(kinds[*rc::gen::inRange<std::size_t>(0, kinds.size())]);
    make_node(c, cpu, std::move(dev));
  }
  return c;
}

// A random job shape: CPU, then nothing / a share / whole devices, maybe restricted to one model.
// `whole_one_model`: whole-device tasks always name exactly one model (see the  property
// below for why the enabled properties need it).
JobSpec gen_template(const Cluster& c, bool whole_one_model) {
  const std::size_t models = c.registry().size() - 2;  // kinds 2.. are the accelerator models
  const Milli cpu = *rc::gen::inRange(0, 9) * Milli{500};
  const int kind = *rc::gen::inRange(0, 3);
  TaskRequest t = make_task(cpu);
  if (kind == 1) {
    t.accel.count = 1;
    t.accel.per_device = *rc::gen::inRange(1, 10) * Milli{100};
  } else if (kind == 2) {
    t.accel.count = *rc::gen::inRange(1, 5);
  }
  const bool one_model = whole_one_model && t.accel.count > 0 && !t.accel.shared();
  if (t.accel.count > 0 && (one_model || *rc::gen::inRange(0, 2) == 1)) {
    t.accel.models.push_back(ResourceKind{static_cast<std::uint16_t>(2 + *rc::gen::inRange<std::size_t>(0, models))});
  }
  if (t.accel.count == 0 && cpu == 0) t.scalars.set(R::kCpu, 500);
  JobArgs a;
  a.tasks = *rc::gen::inRange(1, 4);
  a.time_limit = *rc::gen::inRange(1, 21) * Time{10};
  a.estimate = *rc::gen::inRange<Time>(0, a.time_limit + 1);
  a.priority = *rc::gen::inRange(0, 4);
  return make_job(0, std::move(t), a);
}

// What the shadow model knows of a job.
struct ShadowJob {
  JobSpec spec;
  enum { Pending, Running, Ended } st = Pending;
  std::vector<TaskPlacement> placement;
  Time start = -1;
};

struct Usage {
  std::vector<ResourceVector> scalars;      // per node
  std::vector<std::vector<Milli>> devices;  // per node, per device
  std::vector<int> tasks;                   // per node
  explicit Usage(const Cluster& c) {
    for (std::uint32_t n = 0; n < c.size(); ++n) {
      scalars.emplace_back();
      devices.emplace_back(c.node(nid(n)).device_models.size(), 0);
      tasks.push_back(0);
    }
  }
  void add(const TaskPlacement& p, const TaskRequest& t, int sign) {
    scalars[p.node.value] += t.scalars.scaled(sign);
    for (const DeviceShare& d : p.devices) devices[p.node.value][d.index] += sign * d.milli;
    tasks[p.node.value] += sign;
  }
};

// The scheduler under test, a twin fed the same events (determinism), and the shadow model.
class World {
 public:
  World(Cluster c, SchedulerOptions o) : used_(c), s_(c, o), twin_(c, o) {
    for (std::uint32_t n = 0; n < c.size(); ++n) states_.push_back(NodeState::Up);
  }

  void submit(JobSpec spec) {
    spec.id = JobId{next_id_++};
    spec.submit = now_;
    const auto r = s_.submit(spec, now_);
    RC_ASSERT(r.has_value());
    const auto twin = twin_.submit(spec, now_);
    RC_ASSERT(twin.has_value() && *twin == *r);
    const Job& j = s_.job(spec.id);
    if (*r == SubmitStatus::Queued) {
      RC_ASSERT(j.state == JobState::Pending);
      jobs_[spec.id.value] = ShadowJob{spec};
    } else {
      RC_ASSERT(j.state == JobState::Failed);
      RC_ASSERT(j.reason == PendingReason::Unsatisfiable);
      jobs_[spec.id.value] = ShadowJob{spec, ShadowJob::Ended};
    }
  }

  void schedule(Time dt) {
    now_ += dt;
    const auto decisions = s_.schedule(now_);
    const auto twin = twin_.schedule(now_);
    RC_ASSERT(decisions.size() == twin.size());
    for (std::size_t i = 0; i < decisions.size(); ++i) {
      RC_ASSERT(decisions[i].job == twin[i].job);
      RC_ASSERT(decisions[i].placement == twin[i].placement);
    }
    for (const Decision& d : decisions) check_start(d);
  }

  void finish(std::size_t pick) {
    const auto all = known();
    if (all.empty()) return;
    const std::int64_t id = all[pick % all.size()];
    const bool running = jobs_[id].st == ShadowJob::Running;
    RC_ASSERT(s_.finish(jid(id), now_) == running);
    RC_ASSERT(twin_.finish(jid(id), now_) == running);
    if (running) end(id);
  }

  void cancel(std::size_t pick) {
    const auto all = known();
    if (all.empty()) return;
    const std::int64_t id = all[pick % all.size()];
    const bool live = jobs_[id].st != ShadowJob::Ended;
    RC_ASSERT(s_.cancel(jid(id), now_) == live);
    RC_ASSERT(twin_.cancel(jid(id), now_) == live);
    RC_ASSERT(s_.job(jid(id)).state != JobState::Pending && s_.job(jid(id)).state != JobState::Running);
    if (live) end(id);
  }

  void expire(Time dt) {
    now_ += dt;
    std::vector<JobId> due;
    for (auto& [id, j] : jobs_) {
      if (j.st == ShadowJob::Running && j.start + j.spec.time_limit <= now_) due.push_back(jid(id));
    }
    const auto got = s_.expire(now_);
    RC_ASSERT(got == due);
    RC_ASSERT(twin_.expire(now_) == due);
    for (JobId id : due) {
      RC_ASSERT(s_.job(id).state == JobState::TimedOut);
      end(id.value);
    }
  }

  void set_state(std::size_t node, NodeState state) {
    const NodeId n = nid(static_cast<std::uint32_t>(node % states_.size()));
    std::vector<JobId> hit;
    if (state == NodeState::Down) {
      for (auto& [id, j] : jobs_) {
        if (j.st != ShadowJob::Running) continue;
        if (std::any_of(j.placement.begin(), j.placement.end(), [n](const TaskPlacement& p) { return p.node == n; }))
          hit.push_back(jid(id));
      }
    }
    RC_ASSERT(s_.set_node_state(n, state, now_) == hit);
    RC_ASSERT(twin_.set_node_state(n, state, now_) == hit);
    states_[n.value] = state;
    for (JobId id : hit) {
      RC_ASSERT(s_.job(id).state == JobState::Failed);
      end(id.value);
    }
  }

  // The scheduler's books agree with the shadow model and with the capacity of every node.
  void check() const {
    const Cluster& c = s_.cluster();
    Usage recomputed(c);
    std::set<std::int64_t> running;
    std::set<std::int64_t> pending;
    for (const auto& [id, shadow] : jobs_) {
      const Job& j = s_.job(jid(id));
      if (j.state == JobState::Running) {
        RC_ASSERT(static_cast<int>(j.placement.size()) == j.spec.tasks);
        for (const TaskPlacement& p : j.placement) recomputed.add(p, j.spec.task, +1);
        running.insert(id);
        RC_ASSERT(shadow.st == ShadowJob::Running);
        RC_ASSERT(shadow.placement == j.placement);
      } else if (j.state == JobState::Pending) {
        pending.insert(id);
        RC_ASSERT(shadow.st == ShadowJob::Pending);
      } else {
        RC_ASSERT(shadow.st == ShadowJob::Ended);
      }
    }
    const auto queue = ids(s_.queue());
    RC_ASSERT(std::set<std::int64_t>(queue.begin(), queue.end()) == pending);
    RC_ASSERT(queue.size() == pending.size());
    RC_ASSERT(s_.pending_count() == pending.size());
    RC_ASSERT(s_.running_count() == running.size());
    for (std::uint32_t n = 0; n < c.size(); ++n) {
      const NodeInfo& info = c.node(nid(n));
      const NodeFree& free = c.free()[nid(n)];
      ResourceVector left = info.capacity;
      left -= recomputed.scalars[n];
      RC_ASSERT(recomputed.scalars[n].fits_in(info.capacity));  // not over-allocated
      RC_ASSERT(free.scalars == left);
      RC_ASSERT(free.tasks == recomputed.tasks[n]);
      RC_ASSERT(recomputed.scalars[n] == used_.scalars[n]);
      RC_ASSERT(recomputed.devices[n] == used_.devices[n]);
      RC_ASSERT(free.devices.size() == info.device_models.size());
      for (std::size_t d = 0; d < free.devices.size(); ++d) {
        RC_ASSERT(recomputed.devices[n][d] >= 0);
        RC_ASSERT(recomputed.devices[n][d] <= kMilli);
        RC_ASSERT(free.devices[d] == kMilli - recomputed.devices[n][d]);
      }
    }
  }

  // Ends everything running, brings every node up and runs a pass: the job at the head of the queue,
  // as that pass orders it, must start on the idle cluster (its tasks are alike, so filling nodes
  // greedily reaches their capacity).
  // The multifactor order ranks the queue again in a pass once `reprioritize_every` has gone by, so
  // the queue seen before a pass need not be the order that pass starts jobs in: a job ranked while
  // its owner's fair share was higher falls behind smaller jobs, which then take its room. So a first
  // pass, with every node drained, starts nothing but ranks the queue if due; the checked pass runs
  // at the same time, when no ranking is due, and starts from the head seen between the two.
  void drain_and_check_head_starts() {
    for (std::int64_t id : known()) {
      if (jobs_[id].st == ShadowJob::Running) {
        RC_ASSERT(s_.finish(jid(id), now_));
        RC_ASSERT(twin_.finish(jid(id), now_));
        end(id);
      }
    }
    for (std::size_t n = 0; n < states_.size(); ++n) set_state(n, NodeState::Drained);
    schedule(1);
    RC_ASSERT(s_.running_count() == 0u);
    for (std::size_t n = 0; n < states_.size(); ++n) set_state(n, NodeState::Up);
    check();
    const auto queue = s_.queue();
    if (queue.empty()) return;
    schedule(0);
    RC_ASSERT(s_.job(queue.front()).state == JobState::Running);
    check();
  }

 private:
  std::vector<std::int64_t> known() const {
    std::vector<std::int64_t> out;
    for (const auto& [id, j] : jobs_) out.push_back(id);
    return out;
  }

  // A started job: it was pending, each task got an Up node with room and free devices of an allowed
  // model, exactly as many as asked.
  void check_start(const Decision& d) {
    RC_ASSERT(jobs_.contains(d.job.value));
    ShadowJob& j = jobs_[d.job.value];
    RC_ASSERT(j.st == ShadowJob::Pending);
    RC_ASSERT(static_cast<int>(d.placement.size()) == j.spec.tasks);
    const Cluster& c = s_.cluster();
    for (const TaskPlacement& p : d.placement) {
      RC_ASSERT(p.node.value < c.size());
      RC_ASSERT(states_[p.node.value] == NodeState::Up);
      const NodeInfo& info = c.node(p.node);
      ResourceVector after = used_.scalars[p.node.value];
      after += j.spec.task.scalars;
      RC_ASSERT(after.fits_in(info.capacity));
      RC_ASSERT(static_cast<int>(p.devices.size()) == j.spec.task.accel.count);
      std::set<std::uint16_t> seen;
      for (const DeviceShare& dev : p.devices) {
        RC_ASSERT(dev.index < info.device_models.size());
        RC_ASSERT(seen.insert(dev.index).second);
        RC_ASSERT(dev.milli == j.spec.task.accel.per_device);
        RC_ASSERT(j.spec.task.accel.allows(info.device_models[dev.index]));
        const Milli free = kMilli - used_.devices[p.node.value][dev.index];
        RC_ASSERT(free >= dev.milli);
        if (!j.spec.task.accel.shared()) RC_ASSERT(free == kMilli);
      }
      used_.add(p, j.spec.task, +1);
    }
    j.st = ShadowJob::Running;
    j.placement = d.placement;
    j.start = now_;
    RC_ASSERT(s_.job(d.job).start == now_);
  }

  void end(std::int64_t id) {
    ShadowJob& j = jobs_[id];
    if (j.st == ShadowJob::Running) {
      for (const TaskPlacement& p : j.placement) used_.add(p, j.spec.task, -1);
    }
    j.st = ShadowJob::Ended;
  }

  Usage used_;
  Scheduler s_;
  Scheduler twin_;
  std::vector<NodeState> states_;
  std::map<std::int64_t, ShadowJob> jobs_;
  std::int64_t next_id_ = 1;
  Time now_ = 0;
};

// Random options: every queue order x backfill with `placement`; FGD gets the templates' typical shapes.
SchedulerOptions gen_options(PlacementKind placement, const std::vector<JobSpec>& templates) {
  SchedulerOptions o;
  o.order = *rc::gen::elementOf(all_queue_orders());
  o.reprioritize_every = *rc::gen::element<Time>(1, 30, 300);
  o.backfill = *rc::gen::elementOf(all_backfills());
  o.placement = placement;
  o.seed = *rc::gen::inRange<std::uint64_t>(1, 1000);
  std::vector<TaskRequest> tasks;
  for (const JobSpec& t : templates) tasks.push_back(t.task);
  o.placement_options.typical_shapes = typical_shapes(tasks);
  return o;
}

// One random case: a random cluster, job templates and options, then random events.
void books_balance(PlacementKind placement, bool whole_one_model) {
  Cluster c = gen_cluster();
  std::vector<JobSpec> templates;
  const int n_templates = *rc::gen::inRange(1, 7);
  for (int i = 0; i < n_templates; ++i) templates.push_back(gen_template(c, whole_one_model));
  const SchedulerOptions options = gen_options(placement, templates);
  RC_TAG(std::string(to_string(options.order)), std::string(to_string(options.backfill)));
  World w(std::move(c), options);
  w.check();
  const int events = *rc::gen::inRange(0, 60);
  for (int e = 0; e < events; ++e) {
    const int kind = *rc::gen::inRange(0, 12);
    if (kind < 5) {
      w.submit(templates[*rc::gen::inRange<std::size_t>(0, templates.size())]);
    } else if (kind < 8) {
      w.schedule(*rc::gen::inRange<Time>(0, 30));
    } else if (kind == 8) {
      w.finish(*rc::gen::inRange<std::size_t>(0, 64));
    } else if (kind == 9) {
      w.cancel(*rc::gen::inRange<std::size_t>(0, 64));
    } else if (kind == 10) {
      w.expire(*rc::gen::inRange<Time>(0, 60));
    } else {
      w.set_state(*rc::gen::inRange<std::size_t>(0, 4),
                  *rc::gen::element(NodeState::Up, NodeState::Drained, NodeState::Down));
    }
    w.check();
  }
  w.drain_and_check_head_starts();
}

// One random case of EASY under FCFS where every job runs exactly its planned runtime: once a job
// at the head is given a reservation, backfilling never makes it start later than that.
void easy_keeps_reservations(PlacementKind placement, bool whole_one_model, bool conservative = false) {
  Cluster c = gen_cluster();
  std::vector<JobSpec> templates;
  const int n_templates = *rc::gen::inRange(1, 7);
  for (int i = 0; i < n_templates; ++i) templates.push_back(gen_template(c, whole_one_model));
  SchedulerOptions o = gen_options(placement, templates);
  o.order = QueueOrder::Fcfs;
  o.backfill = conservative ? Backfill::Conservative : *rc::gen::element(Backfill::Easy, Backfill::EasySjbf);
  Scheduler s(std::move(c), o);

  std::vector<JobSpec> arrivals;
  Time t = 0;
  const int n_jobs = *rc::gen::inRange(1, 40);
  for (int i = 0; i < n_jobs; ++i) {
    t += *rc::gen::inRange<Time>(0, 20);
    JobSpec spec = templates[*rc::gen::inRange<std::size_t>(0, templates.size())];
    spec.id = jid(i + 1);
    spec.submit = t;
    arrivals.push_back(std::move(spec));
  }
  std::map<std::int64_t, Time> ends;      // running job -> its planned end
  std::map<std::int64_t, Time> reserved;  // job -> the first reservation it was given
  std::size_t next = 0;
  int passes = 0;
  while (next < arrivals.size() || !ends.empty()) {
    RC_ASSERT(++passes < 1000);
    Time now = std::numeric_limits<Time>::max();
    if (next < arrivals.size()) now = arrivals[next].submit;
    for (const auto& [id, end] : ends) now = std::min(now, end);
    for (auto it = ends.begin(); it != ends.end();) {
      if (it->second == now) {
        RC_ASSERT(s.finish(jid(it->first), now));
        it = ends.erase(it);
      } else {
        ++it;
      }
    }
    for (; next < arrivals.size() && arrivals[next].submit == now; ++next) {
      RC_ASSERT(s.submit(arrivals[next], now).has_value());
    }
    for (const Decision& d : s.schedule(now)) {
      const Job& j = s.job(d.job);
      ends[d.job.value] = now + j.spec.planned_runtime();
      if (auto r = reserved.find(d.job.value); r != reserved.end()) RC_ASSERT(now <= r->second);
    }
    for (JobId id : s.queue()) {
      const Job& j = s.job(id);
      if (j.reason == PendingReason::Reserved && !reserved.contains(id.value)) {
        RC_ASSERT(j.reserved_at >= now);
        reserved[id.value] = j.reserved_at;
      }
    }
  }
  RC_ASSERT(s.pending_count() == 0u);
}

class SchedulerProperty : public ::testing::TestWithParam<PlacementKind> {};

// After every submit, finish, cancel, expire, node change and scheduling pass, under every queue
// order and backfill: no node is over-allocated, free = capacity - running placements, started jobs
// got free devices, running jobs hold one placement per task, pending jobs are exactly those in
// queue(), and a twin scheduler fed the same events decides the same.
TEST_P(SchedulerProperty, BooksBalanceAfterEveryEvent) {
  const PlacementKind placement = GetParam();
  EXPECT_TRUE(rc::check("books balance", [placement] { books_balance(placement, true); }));
}

// The same with whole-device tasks that allow any model or several: on an idle cluster the head
// must start (drain_and_check_head_starts).
TEST_P(SchedulerProperty, BooksBalanceWithMixedModelWholeDevices) {
  const PlacementKind placement = GetParam();
  EXPECT_TRUE(rc::check("books balance, mixed models", [placement] { books_balance(placement, false); }));
}

// Under FCFS with EASY or EASY-SJBF and exact estimates, no job starts after its first reservation,
// and every job eventually runs.
TEST_P(SchedulerProperty, EasyNeverDelaysTheReservation) {
  const PlacementKind placement = GetParam();
  EXPECT_TRUE(rc::check("easy keeps reservations", [placement] { easy_keeps_reservations(placement, true); }));
}

// The same with whole-device tasks that allow any model or several.
TEST_P(SchedulerProperty, EasyNeverDelaysTheReservationMixedModels) {
  const PlacementKind placement = GetParam();
  EXPECT_TRUE(
      rc::check("easy keeps reservations, mixed models", [placement] { easy_keeps_reservations(placement, false); }));
}

// Conservative backfilling with exact estimates: no job starts after the first reservation it was
// given, under every placement policy (a reservation keeps its place from pass to pass).
TEST(ConservativeProperty, KeepsEveryReservation) {
  for (PlacementKind placement : all_placements()) {
    EXPECT_TRUE(rc::check("conservative keeps reservations", [placement] {
      easy_keeps_reservations(placement, *rc::gen::arbitrary<bool>(), true);
    })) << to_string(placement);
  }
}

INSTANTIATE_TEST_SUITE_P(AllPolicies, SchedulerProperty, ::testing::ValuesIn(all_placements()),
                         [](const ::testing::TestParamInfo<PlacementKind>& info) {
                           std::string name(to_string(info.param));
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace gwang::core
