#include "sim/replay.h"

#include <algorithm>
#include <cassert>
#include <map>
#include <queue>
#include <string>

namespace gwang::sim {

using core::Time;

namespace {

constexpr std::pair<std::string_view, BatchPolicy> kPolicies[] = {
    {"fcfs", {core::QueueOrder::Fcfs, core::Backfill::None}},
    {"sjf", {core::QueueOrder::Sjf, core::Backfill::None}},
    {"easy", {core::QueueOrder::Fcfs, core::Backfill::Easy}},
    {"easy-sjbf", {core::QueueOrder::Fcfs, core::Backfill::EasySjbf}},
    {"sjf-easy", {core::QueueOrder::Sjf, core::Backfill::Easy}},
    {"multifactor-easy", {core::QueueOrder::Multifactor, core::Backfill::Easy}},
    {"conservative", {core::QueueOrder::Fcfs, core::Backfill::Conservative}},
};

// At one instant: submissions, then terminations, then a wake-up (a begin time or a dependency's
// delay that comes due with no other event).
enum class EventKind : std::uint8_t { Submit = 0, End = 1, Wake = 2 };

struct Event {
  Time time;
  EventKind kind;
  std::uint64_t seq;      // creation order
  std::uint32_t job;      // index into the input
  std::uint32_t run = 0;  // for End: which run of the job (a preempted job runs again)
  bool operator>(const Event& o) const {
    if (time != o.time) return time > o.time;
    if (kind != o.kind) return kind > o.kind;
    return seq > o.seq;
  }
};

struct PlannedEnd {
  Time end;
  std::uint32_t job;
  std::uint32_t run = 0;
  bool operator>(const PlannedEnd& o) const { return end != o.end ? end > o.end : job > o.job; }
};

// The core's id of the job at an index of the input (ids start at 1: 0 is no job).
core::JobId core_id(std::int64_t index) { return core::JobId{index + 1}; }

template <class T>
using MinHeap = std::priority_queue<T, std::vector<T>, std::greater<T>>;

// The machine of a batch replay: one node, a pool of `procs` processors.
core::Cluster batch_machine(std::int64_t procs) {
  core::Cluster cluster;
  core::NodeSpec pool{"pool", {}, {}};
  pool.scalars.set(core::ResourceRegistry::kCpu, procs * core::kMilli);
  cluster.add_node(pool);
  return cluster;
}

// The scheduler's options for a replay policy: first fit, fair share in processor-seconds.
core::SchedulerOptions batch_scheduler_options(const BatchPolicy& policy) {
  core::SchedulerOptions sched;
  sched.order = policy.order;
  sched.backfill = policy.backfill;
  sched.placement = core::PlacementKind::FirstFit;
  sched.cpu_usage_weight = 1;  // fair-share usage in processor-seconds: a batch machine has no accelerators
  return sched;
}

// The core's job for the job at index `i` of the input, planned to run `estimate` seconds.
core::JobSpec job_spec(const BatchJob& j, std::uint32_t i, Time estimate) {
  core::JobSpec spec;
  spec.id = core_id(i);
  spec.submit = j.submit;
  spec.tasks = 1;
  spec.task.scalars.set(core::ResourceRegistry::kCpu, j.procs * core::kMilli);
  spec.time_limit = j.requested;
  spec.estimate = estimate;
  spec.project = j.group >= 0 ? "g" + std::to_string(j.group) : "";
  spec.user = j.user >= 0 ? "u" + std::to_string(j.user) : "";
  spec.name = j.name;
  spec.begin = j.begin;
  spec.depends = j.depends;
  for (core::JobDependency& d : spec.depends) {
    if (d.kind != core::DependencyKind::Singleton) d.job = core_id(d.job.value);
  }
  spec.depends_any = j.depends_any;
  if (j.array_first >= 0) {
    spec.array_job = core_id(j.array_first);
    spec.array_task = j.array_task;
    spec.array_limit = j.array_limit;
  }
  return spec;
}

// One replay of well-formed jobs on an empty machine: the scheduler, the events to come, and what
// became of each job (see replay.h for the events' order).
class Replayer {
 public:
  Replayer(std::span<const BatchJob> jobs, const ReplayOptions& options);
  // Handles every event in time order; fails when the scheduler refuses a job.
  Result<void> run();
  // The jobs that ran and the metrics, once run.
  ReplayResult finish();

 private:
  std::span<const BatchJob> jobs_;
  const ReplayOptions& options_;
  core::Scheduler scheduler_;
  ReplayResult result_;
  std::vector<Time> start_;
  std::vector<bool> ended_;
  std::vector<std::uint32_t> runs_;  // runs cut short by preemption, per job
  std::vector<Time> promised_;       // with options.eta: the start planned at submission
  MinHeap<Event> events_;
  MinHeap<PlannedEnd> planned_;
  std::uint64_t seq_ = 0;
  // The core names the next instant a waiting job's conditions may hold by time alone; a pass runs
  // then, once per instant.
  std::vector<Time> wakes_;  // those asked for, not yet due

  // The run time the scheduler plans with: the actual one or the requested one.
  Time planned_run(const BatchJob& j) const { return options_.estimate == Estimate::Actual ? j.run : j.requested; }
  // Adds a line to the decision log, when asked for.
  void note(Time t, std::string_view what, std::uint32_t i);
  // Tells the scheduler that job i ended at t.
  void end_job(std::uint32_t i, Time t);
  // Runs scheduling passes at t until one asks nothing to stop.
  void run_pass(Time t);
  // Asks for a wake-up at the next instant the core names, if later than t and not asked for yet.
  void wake(Time t);
  // Ends the jobs that end exactly at their planned end, at or before `now`.
  void end_planned(Time now);
  // Submits job i at `now`, then runs a pass if it fits now; fails when the scheduler refuses it.
  Result<void> submit(std::uint32_t i, Time now);
};

Replayer::Replayer(std::span<const BatchJob> jobs, const ReplayOptions& options)
    : jobs_(jobs),
      options_(options),
      scheduler_(batch_machine(options.machine_procs), batch_scheduler_options(options.policy)),
      start_(jobs.size(), -1),
      ended_(jobs.size(), false),
      runs_(jobs.size(), 0),
      promised_(jobs.size(), -1) {
  for (std::uint32_t i = 0; i < jobs_.size(); ++i) events_.push({jobs_[i].submit, EventKind::Submit, seq_++, i});
}

void Replayer::note(Time t, std::string_view what, std::uint32_t i) {
  if (options_.log)
    result_.log.push_back(std::to_string(t) + " " + std::string(what) + " " + std::to_string(jobs_[i].id));
}

void Replayer::end_job(std::uint32_t i, Time t) {
  const bool was_running =
      scheduler_.finish(core_id(i), t, jobs_[i].fails ? core::JobState::Failed : core::JobState::Finished);
  assert(was_running);
  (void)was_running;
  ended_[i] = true;
  note(t, "end", i);
}

// A job asked to stop (Preempt) stops at once, with no grace period in virtual time, and waits
// again; then another pass runs at the same instant, until one asks nothing to stop. That ends:
// each such pass starts the job the previous one made room for, which is not preemptible.
// (A batch trace has no preemptible jobs: today no pass asks anything to stop.)
void Replayer::run_pass(Time t) {
  bool again = true;
  while (again) {
    again = false;
    for (const core::Decision& d : scheduler_.schedule(t)) {
      const auto i = static_cast<std::uint32_t>(d.job.value - 1);
      if (d.action == core::Action::Preempt) {
        const bool was_running = scheduler_.preempted(d.job, t);
        assert(was_running);
        (void)was_running;
        start_[i] = -1;
        ++runs_[i];
        note(t, "preempt", i);
        again = true;
        continue;
      }
      start_[i] = t;
      note(t, "start", i);
      events_.push({t + jobs_[i].run, EventKind::End, seq_++, i, runs_[i]});
      planned_.push({t + planned_run(jobs_[i]), i, runs_[i]});
    }
  }
}

void Replayer::wake(Time t) {
  const Time w = scheduler_.next_wake();
  if (w <= t || std::find(wakes_.begin(), wakes_.end(), w) != wakes_.end()) return;
  wakes_.push_back(w);
  events_.push({w, EventKind::Wake, seq_++, 0});
}

// A job that ends exactly at its planned end has ended, for planning, from the first event at
// that instant, whether or not its own termination event has been handled. (A job planned to
// end earlier than it does keeps its resources until its termination.)
void Replayer::end_planned(Time now) {
  while (!planned_.empty() && planned_.top().end <= now) {
    const PlannedEnd p = planned_.top();
    planned_.pop();
    if (p.run == runs_[p.job] && !ended_[p.job] && start_[p.job] + jobs_[p.job].run == now) end_job(p.job, now);
  }
}

Result<void> Replayer::submit(std::uint32_t i, Time now) {
  auto status = scheduler_.submit(job_spec(jobs_[i], i, planned_run(jobs_[i])), now);
  if (!status) return fail(status.error().message);
  note(now, "submit", i);
  if (*status == core::SubmitStatus::Unsatisfiable) {
    ++result_.metrics.unsatisfiable;
    return {};
  }
  if (scheduler_.fits_now(core_id(i))) run_pass(now);
  wake(now);
  if (options_.eta && start_[i] < 0) {
    for (const auto& [id, at] : scheduler_.planned_starts(now, 0)) {
      if (id == core_id(i)) promised_[i] = at;
    }
  }
  return {};
}

Result<void> Replayer::run() {
  while (!events_.empty()) {
    const Event e = events_.top();
    events_.pop();
    const Time now = e.time;
    end_planned(now);
    if (e.kind == EventKind::Submit) {
      if (auto ok = submit(e.job, now); !ok) return ok;
    } else if (e.kind == EventKind::Wake) {
      std::erase(wakes_, now);
      run_pass(now);
      wake(now);
    } else {
      if (e.run != runs_[e.job]) continue;  // the end of a run cut short by preemption
      if (!ended_[e.job]) end_job(e.job, now);
      run_pass(now);
      wake(now);
    }
  }
  return {};
}

ReplayResult Replayer::finish() {
  for (std::uint32_t i = 0; i < jobs_.size(); ++i) {
    if (start_[i] >= 0) {
      result_.jobs.push_back(
          {jobs_[i].id, jobs_[i].submit, start_[i], jobs_[i].run, jobs_[i].procs, jobs_[i].user, jobs_[i].group});
    }
  }
  const std::size_t unsatisfiable = result_.metrics.unsatisfiable;
  result_.metrics = summarize(result_.jobs, options_.machine_procs);
  result_.metrics.unsatisfiable = unsatisfiable;
  result_.metrics.never = jobs_.size() - result_.jobs.size() - unsatisfiable;
  double late_s = 0;
  for (std::uint32_t i = 0; i < jobs_.size(); ++i) {
    if (promised_[i] < 0 || start_[i] < 0) continue;
    ++result_.metrics.eta_planned;
    result_.metrics.eta_met += start_[i] <= promised_[i];
    result_.metrics.eta_exact += start_[i] == promised_[i];
    if (start_[i] > promised_[i]) late_s += static_cast<double>(start_[i] - promised_[i]);
  }
  const std::size_t late = result_.metrics.eta_planned - result_.metrics.eta_met;
  result_.metrics.eta_late_avg_s = late > 0 ? late_s / static_cast<double>(late) : 0;
  return std::move(result_);
}

}  // namespace

Result<BatchPolicy> parse_batch_policy(std::string_view name) {
  std::string valid;
  for (const auto& [text, policy] : kPolicies) {
    if (text == name) return policy;
    valid += valid.empty() ? "" : ", ";
    valid += text;
  }
  return fail("unknown policy '" + std::string(name) + "' (valid: " + valid + ")");
}

Result<Estimate> parse_estimate(std::string_view name) {
  if (name == "requested") return Estimate::Requested;
  if (name == "actual") return Estimate::Actual;
  return fail("unknown estimate '" + std::string(name) + "' (valid: requested, actual)");
}

double bounded_slowdown(Time wait, Time run) {
  const double turnaround = static_cast<double>(wait + run);
  return std::max(1.0, turnaround / static_cast<double>(std::max<Time>(10, run)));
}

ReplayMetrics summarize(std::span<const JobResult> jobs, std::int64_t machine_procs) {
  ReplayMetrics m;
  m.jobs = jobs.size();
  if (jobs.empty()) return m;
  double wait = 0, turnaround = 0, bsld = 0, work = 0;
  Time first_submit = jobs.front().submit, last_end = 0;
  for (const JobResult& j : jobs) {
    const Time w = j.start - j.submit;
    wait += static_cast<double>(w);
    turnaround += static_cast<double>(w + j.run);
    m.max_turnaround_s = std::max(m.max_turnaround_s, static_cast<double>(w + j.run));
    const double b = bounded_slowdown(w, j.run);
    bsld += b;
    m.max_bounded_slowdown = std::max(m.max_bounded_slowdown, b);
    work += static_cast<double>(j.run) * static_cast<double>(j.procs);
    first_submit = std::min(first_submit, j.submit);
    last_end = std::max(last_end, j.start + j.run);
  }
  const double n = static_cast<double>(jobs.size());
  m.avg_wait_s = wait / n;
  m.avg_turnaround_s = turnaround / n;
  m.avg_bounded_slowdown = bsld / n;
  m.makespan_s = static_cast<double>(last_end - first_submit);
  if (m.makespan_s > 0 && machine_procs > 0) {
    m.utilization = work / (static_cast<double>(machine_procs) * m.makespan_s);
  }
  return m;
}

std::vector<GroupMetrics> by_group(std::span<const JobResult> jobs, GroupBy by) {
  std::map<std::int64_t, GroupMetrics> groups;
  double total = 0;
  for (const JobResult& j : jobs) {
    const std::int64_t id = by == GroupBy::Group ? j.group : j.user;
    GroupMetrics& g = groups[id];
    g.group = id;
    ++g.jobs;
    const double hours = static_cast<double>(j.run) * static_cast<double>(j.procs) / 3600.0;
    g.processor_hours += hours;
    total += hours;
    g.avg_wait_s += static_cast<double>(j.start - j.submit);
    g.avg_bounded_slowdown += bounded_slowdown(j.start - j.submit, j.run);
  }
  std::vector<GroupMetrics> out;
  out.reserve(groups.size());
  for (auto& [id, g] : groups) {
    g.share = total > 0 ? g.processor_hours / total : 0;
    g.avg_wait_s /= static_cast<double>(g.jobs);
    g.avg_bounded_slowdown /= static_cast<double>(g.jobs);
    out.push_back(g);
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const GroupMetrics& a, const GroupMetrics& b) { return a.processor_hours > b.processor_hours; });
  return out;
}

Result<ReplayResult> replay(std::span<const BatchJob> jobs, const ReplayOptions& options) {
  if (options.machine_procs <= 0) return fail("machine size must be positive");
  for (const BatchJob& j : jobs) {
    if (j.procs <= 0 || j.run <= 0 || j.requested <= 0) {
      return fail("job " + std::to_string(j.id) + ": width, run time and requested time must be positive");
    }
  }
  Replayer replayer(jobs, options);
  if (auto ok = replayer.run(); !ok) return tl::unexpected(ok.error());
  return replayer.finish();
}

Result<std::vector<WindowResult>> replay_windows(std::span<const BatchJob> jobs, std::span<const std::size_t> starts,
                                                 std::size_t size, const ReplayOptions& options) {
  std::vector<WindowResult> out;
  for (std::size_t first : starts) {
    if (size == 0 || first + size > jobs.size()) {
      return fail("window at " + std::to_string(first) + " of " + std::to_string(size) + " jobs does not fit in the " +
                  std::to_string(jobs.size()) + " jobs of the trace");
    }
    auto r = replay(jobs.subspan(first, size), options);
    if (!r) return tl::unexpected(r.error());
    out.push_back({first, r->metrics});
  }
  return out;
}

}  // namespace gwang::sim
