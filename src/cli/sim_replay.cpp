// gwang sim replay: a batch workload through the scheduler, in virtual time.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "api/json_writer.h"
#include "cli/commands.h"
#include "sim/replay.h"
#include "sim/sbatch_workload.h"
#include "trace/file.h"
#include "trace/swf.h"
#include "trace/swf_loader.h"

namespace gwang::cli {

using api::Json;

namespace {

void metrics_json(Json& j, const sim::ReplayMetrics& m) {
  j.field("jobs", m.jobs)
      .field("avg_wait_s", m.avg_wait_s)
      .field("avg_turnaround_s", m.avg_turnaround_s)
      .field("max_turnaround_s", m.max_turnaround_s)
      .field("avg_bounded_slowdown", m.avg_bounded_slowdown)
      .field("max_bounded_slowdown", m.max_bounded_slowdown)
      .field("utilization", m.utilization)
      .field("makespan_s", m.makespan_s);
  if (m.eta_planned > 0) {
    j.field("eta_planned", m.eta_planned).field("eta_met", m.eta_met).field("eta_exact", m.eta_exact);
    j.field("eta_late_avg_s", m.eta_late_avg_s);
  }
}

void eta_text(std::size_t planned, std::size_t met, std::size_t exact, double late_s) {
  if (planned == 0) return;
  std::printf("start estimates       %zu of %zu waiting jobs met or beaten (%.2f %%), %zu exactly", met, planned,
              100.0 * static_cast<double>(met) / static_cast<double>(planned), exact);
  if (met < planned) std::printf("; the late ones %.0f s late on average", late_s);
  std::printf("\n");
}

void metrics_text(const sim::ReplayMetrics& m) {
  std::printf("jobs                  %zu\n", m.jobs);
  std::printf("avg wait              %.2f s\n", m.avg_wait_s);
  std::printf("avg turnaround        %.2f s (max %.0f s)\n", m.avg_turnaround_s, m.max_turnaround_s);
  std::printf("avg bounded slowdown  %.6f (max %.1f)\n", m.avg_bounded_slowdown, m.max_bounded_slowdown);
  std::printf("utilization           %.2f %%\n", m.utilization * 100);
  std::printf("makespan              %.0f s\n", m.makespan_s);
  eta_text(m.eta_planned, m.eta_met, m.eta_exact, m.eta_late_avg_s);
}

// The jobs to replay, and what the workload's file says of the machine.
struct Workload {
  std::vector<sim::BatchJob> jobs;
  std::int64_t machine_procs = 0;  // the trace header's MaxProcs; 0 for an sbatch workload
  std::size_t dropped = 0;         // records the loader left out
};

// The replay's options from the command line's names (policy, estimate, loader into `loader`), and
// the windows' first jobs into `window_starts`; nullopt (and what is wrong, on stderr) if one is bad.
std::optional<sim::ReplayOptions> replay_options(const ReplayArgs& args, trace::SwfLoader& loader,
                                                 std::vector<std::int64_t>& window_starts) {
  auto policy = sim::parse_batch_policy(args.policy);
  auto estimate = sim::parse_estimate(args.estimate);
  auto load = trace::parse_swf_loader(args.loader);
  for (const auto* err :
       {policy ? nullptr : &policy.error(), estimate ? nullptr : &estimate.error(), load ? nullptr : &load.error()}) {
    if (err) {
      std::fprintf(stderr, "gwang: %s\n", err->message.c_str());
      return std::nullopt;
    }
  }
  if (!args.windows.empty()) {
    std::string error;
    if (!parse_int_list(args.windows, window_starts, error)) {
      std::fprintf(stderr, "gwang: --windows: %s\n", error.c_str());
      return std::nullopt;
    }
  }
  loader = *load;
  sim::ReplayOptions options;
  options.policy = *policy;
  options.estimate = *estimate;
  return options;
}

// Submissions in sbatch's terms, with their conditions (--format sbatch; the machine is --procs);
// nullopt (and why, on stderr) if there is no --procs or the file is unreadable or malformed.
std::optional<Workload> sbatch_workload(const ReplayArgs& args) {
  if (args.procs <= 0) {
    std::fprintf(stderr, "gwang: --format sbatch: give the machine's size with --procs\n");
    return std::nullopt;
  }
  auto text = trace::read_text_file(args.trace);
  if (!text) {
    std::fprintf(stderr, "gwang: %s\n", text.error().message.c_str());
    return std::nullopt;
  }
  auto read = sim::read_sbatch_workload(*text, args.trace);
  if (!read) {
    std::fprintf(stderr, "gwang: %s\n", read.error().message.c_str());
    return std::nullopt;
  }
  Workload w;
  w.jobs = std::move(*read);
  return w;
}

// The jobs of an SWF trace, as the loader cleans them; nullopt (and why, on stderr) if the trace is
// unreadable or malformed, or no job is left.
std::optional<Workload> swf_workload(const ReplayArgs& args, trace::SwfLoader loader) {
  auto trace = trace::read_swf(args.trace);
  if (!trace) {
    std::fprintf(stderr, "gwang: %s\n", trace.error().message.c_str());
    return std::nullopt;
  }
  auto workload = trace::load_swf(*trace, loader);
  if (!workload) {
    std::fprintf(stderr, "gwang: %s\n", workload.error().message.c_str());
    return std::nullopt;
  }
  if (workload->jobs.empty()) {
    std::fprintf(stderr,
                 "gwang: %s: no job to replay (%zu records, %zu dropped by the %s loader; "
                 "another --loader may keep them)\n",
                 args.trace.c_str(), trace->records.size(), workload->dropped, args.loader.c_str());
    return std::nullopt;
  }
  Workload w;
  w.jobs.reserve(workload->jobs.size());
  for (const auto& j : workload->jobs) {
    // The scheduler needs a positive limit: a job without a usable requested time is planned with
    // its run time.
    const std::int64_t requested = j.requested_time > 0 ? j.requested_time : j.run;
    w.jobs.push_back({j.id, j.submit, j.run, j.procs, requested, j.user, j.group});
  }
  w.machine_procs = workload->machine_procs;
  w.dropped = workload->dropped;
  return w;
}

// Prints the windows' results: as the JSON object `j` has begun, or as text.
void print_windows(const ReplayArgs& args, const std::vector<sim::WindowResult>& windows, double mean, double wall,
                   Json& j) {
  if (args.json) {
    j.field("window_jobs", args.window_jobs).field("jobs", windows.size() * args.window_jobs);
    j.field("avg_bounded_slowdown", mean);
    j.key("windows").begin_array();
    for (const auto& w : windows) {
      j.begin_object().field("first", w.first);
      metrics_json(j, w.metrics);
      j.end_object();
    }
    j.end_array().field("wall_s", wall).end_object();
    std::printf("%s\n", j.str().c_str());
    return;
  }
  for (const auto& w : windows) {
    std::printf("window at %-7zu avg bounded slowdown %.4f\n", w.first, w.metrics.avg_bounded_slowdown);
  }
  std::printf("mean of %zu windows:   %.4f\n", windows.size(), mean);
  std::size_t planned = 0, met = 0, exact = 0;
  double late_s = 0;
  for (const auto& w : windows) {
    planned += w.metrics.eta_planned;
    met += w.metrics.eta_met;
    exact += w.metrics.eta_exact;
    late_s += w.metrics.eta_late_avg_s * static_cast<double>(w.metrics.eta_planned - w.metrics.eta_met);
  }
  eta_text(planned, met, exact, planned > met ? late_s / static_cast<double>(planned - met) : 0);
}

// Replays windows of the jobs, each alone, and prints them (see print_windows); the exit status.
int run_windows(const ReplayArgs& args, const std::vector<sim::BatchJob>& jobs,
                const std::vector<std::int64_t>& window_starts, const sim::ReplayOptions& options,
                std::chrono::steady_clock::time_point t0, Json& j) {
  std::vector<std::size_t> starts(window_starts.begin(), window_starts.end());
  Progress progress(args.quiet || args.json, 1);
  progress.step("replaying " + std::to_string(starts.size()) + " windows");
  auto windows = sim::replay_windows(jobs, starts, args.window_jobs, options);
  progress.done();
  if (!windows) {
    std::fprintf(stderr, "gwang: %s: %s\n", args.trace.c_str(), windows.error().message.c_str());
    return 2;
  }
  double mean = 0;
  for (const auto& w : *windows) mean += w.metrics.avg_bounded_slowdown;
  mean /= static_cast<double>(windows->size());
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  print_windows(args, *windows, mean, wall, j);
  return 0;
}

// Writes the decision log, a line an event; false (and why, on stderr) if it cannot.
bool write_log(const std::string& path, const std::vector<std::string>& log) {
  std::ofstream out(path);
  for (const auto& line : log) out << line << '\n';
  if (!out) {
    std::fprintf(stderr, "gwang: cannot write %s\n", path.c_str());
    return false;
  }
  return true;
}

// The `n` groups (or users) that used the most, most first; none when `n` is 0.
std::vector<sim::GroupMetrics> top(const sim::ReplayResult& result, sim::GroupBy by, std::size_t n) {
  std::vector<sim::GroupMetrics> out;
  if (n == 0) return out;
  out = sim::by_group(result.jobs, by);
  if (out.size() > n) out.resize(n);
  return out;
}

// Ends the JSON object `j` has begun with the replay's metrics and the groups and users asked for,
// and prints it.
void result_json(const ReplayArgs& args, const sim::ReplayResult& result, const std::vector<sim::GroupMetrics>& groups,
                 const std::vector<sim::GroupMetrics>& users, double wall, Json& j) {
  metrics_json(j, result.metrics);
  j.field("unsatisfiable", result.metrics.unsatisfiable).field("never", result.metrics.never);
  j.field("wall_s", wall);
  for (const auto& [name, list, n] :
       {std::tuple{"groups", &groups, args.by_group}, std::tuple{"users", &users, args.by_user}}) {
    if (n == 0) continue;
    j.key(name).begin_array();
    for (const sim::GroupMetrics& g : *list) {
      j.begin_object().field("id", g.group).field("jobs", g.jobs).field("processor_hours", g.processor_hours);
      j.field("share", g.share).field("avg_wait_s", g.avg_wait_s).field("avg_bounded_slowdown", g.avg_bounded_slowdown);
      j.end_object();
    }
    j.end_array();
  }
  j.end_object();
  std::printf("%s\n", j.str().c_str());
}

// Prints the replay's metrics, then a table each of the groups and users asked for.
void result_text(const ReplayArgs& args, std::int64_t machine_procs, const sim::ReplayResult& result,
                 const std::vector<sim::GroupMetrics>& groups, const std::vector<sim::GroupMetrics>& users,
                 double wall) {
  const std::string input = args.format == "sbatch" ? "sbatch workload" : args.loader + " loader";
  std::printf("%s, %s, policy %s, estimate %s, %lld processors\n", args.trace.c_str(), input.c_str(),
              args.policy.c_str(), args.estimate.c_str(), static_cast<long long>(machine_procs));
  metrics_text(result.metrics);
  if (result.metrics.unsatisfiable) std::printf("unsatisfiable         %zu\n", result.metrics.unsatisfiable);
  if (result.metrics.never) {
    std::printf("never started         %zu (a dependency that can no longer hold)\n", result.metrics.never);
  }
  std::printf("wall                  %.3f s\n", wall);
  for (const auto& [title, list] : {std::pair{"GROUP", &groups}, std::pair{"USER", &users}}) {
    if (list->empty()) continue;
    std::printf("\n%8s %8s %14s %7s %12s %10s\n", title, "JOBS", "PROC-HOURS", "SHARE", "AVG WAIT", "AVG BSLD");
    for (const sim::GroupMetrics& g : *list) {
      std::printf("%8lld %8zu %14.1f %6.2f%% %10.0f s %10.2f\n", static_cast<long long>(g.group), g.jobs,
                  g.processor_hours, 100 * g.share, g.avg_wait_s, g.avg_bounded_slowdown);
    }
  }
}

}  // namespace

int run_replay(const ReplayArgs& args) {
  const auto t0 = std::chrono::steady_clock::now();
  trace::SwfLoader loader{};
  std::vector<std::int64_t> window_starts;
  std::optional<sim::ReplayOptions> options = replay_options(args, loader, window_starts);
  if (!options) return 2;
  const std::optional<Workload> workload = args.format == "sbatch" ? sbatch_workload(args) : swf_workload(args, loader);
  if (!workload) return 2;
  const std::vector<sim::BatchJob>& jobs = workload->jobs;
  options->machine_procs = args.procs > 0 ? args.procs : workload->machine_procs;
  options->log = !args.log.empty();
  options->eta = args.eta;

  Json j;
  j.begin_object();
  j.field("trace", args.trace).field("format", args.format);
  if (args.format == "swf") j.field("loader", args.loader);
  j.field("policy", args.policy);
  j.field("estimate", args.estimate).field("machine_procs", options->machine_procs);
  j.field("dropped", workload->dropped);
  if (!window_starts.empty()) return run_windows(args, jobs, window_starts, *options, t0, j);

  auto result = sim::replay(jobs, *options);
  if (!result) {
    std::fprintf(stderr, "gwang: %s: %s\n", args.trace.c_str(), result.error().message.c_str());
    return 2;
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!args.log.empty() && !write_log(args.log, result->log)) return 1;
  const std::vector<sim::GroupMetrics> groups = top(*result, sim::GroupBy::Group, args.by_group);
  const std::vector<sim::GroupMetrics> users = top(*result, sim::GroupBy::User, args.by_user);
  if (args.json) {
    result_json(args, *result, groups, users, wall, j);
  } else {
    result_text(args, options->machine_procs, *result, groups, users, wall);
  }
  return 0;
}

}  // namespace gwang::cli
