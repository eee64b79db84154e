// gwang sim replay: a batch workload through the scheduler, in virtual time.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <tuple>

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

}  // namespace

int run_replay(const ReplayArgs& args) {
  const auto t0 = std::chrono::steady_clock::now();
  auto policy = sim::parse_batch_policy(args.policy);
  auto estimate = sim::parse_estimate(args.estimate);
  auto loader = trace::parse_swf_loader(args.loader);
  for (const auto* err : {policy ? nullptr : &policy.error(), estimate ? nullptr : &estimate.error(),
                          loader ? nullptr : &loader.error()}) {
    if (err) {
      std::fprintf(stderr, "gwang: %s\n", err->message.c_str());
      return 2;
    }
  }
  std::vector<std::int64_t> window_starts;
  if (!args.windows.empty()) {
    std::string error;
    if (!parse_int_list(args.windows, window_starts, error)) {
      std::fprintf(stderr, "gwang: --windows: %s\n", error.c_str());
      return 2;
    }
  }

  std::vector<sim::BatchJob> jobs;
  std::int64_t machine_procs = 0;
  std::size_t dropped = 0;
  if (args.format == "sbatch") {
    // Submissions in sbatch's terms, with their conditions; the machine is --procs.
    if (args.procs <= 0) {
      std::fprintf(stderr, "gwang: --format sbatch: give the machine's size with --procs\n");
      return 2;
    }
    auto text = trace::read_text_file(args.trace);
    if (!text) {
      std::fprintf(stderr, "gwang: %s\n", text.error().message.c_str());
      return 2;
    }
    auto read = sim::read_sbatch_workload(*text, args.trace);
    if (!read) {
      std::fprintf(stderr, "gwang: %s\n", read.error().message.c_str());
      return 2;
    }
    jobs = std::move(*read);
  } else {
    auto trace = trace::read_swf(args.trace);
    if (!trace) {
      std::fprintf(stderr, "gwang: %s\n", trace.error().message.c_str());
      return 2;
    }
    auto workload = trace::load_swf(*trace, *loader);
    if (!workload) {
      std::fprintf(stderr, "gwang: %s\n", workload.error().message.c_str());
      return 2;
    }
    if (workload->jobs.empty()) {
      std::fprintf(stderr,
                   "gwang: %s: no job to replay (%zu records, %zu dropped by the %s loader; "
                   "another --loader may keep them)\n",
                   args.trace.c_str(), trace->records.size(), workload->dropped, args.loader.c_str());
      return 2;
    }
    jobs.reserve(workload->jobs.size());
    for (const auto& j : workload->jobs) {
      // The scheduler needs a positive limit: a job without a usable requested time is planned with
      // its run time.
      const std::int64_t requested = j.requested_time > 0 ? j.requested_time : j.run;
      jobs.push_back({j.id, j.submit, j.run, j.procs, requested, j.user, j.group});
    }
    machine_procs = workload->machine_procs;
    dropped = workload->dropped;
  }

  sim::ReplayOptions options;
  options.policy = *policy;
  options.estimate = *estimate;
  options.machine_procs = args.procs > 0 ? args.procs : machine_procs;
  options.log = !args.log.empty();
  options.eta = args.eta;

  Json j;
  j.begin_object();
  j.field("trace", args.trace).field("format", args.format);
  if (args.format == "swf") j.field("loader", args.loader);
  j.field("policy", args.policy);
  j.field("estimate", args.estimate).field("machine_procs", options.machine_procs);
  j.field("dropped", dropped);

  if (!window_starts.empty()) {
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
    if (args.json) {
      j.field("window_jobs", args.window_jobs).field("jobs", windows->size() * args.window_jobs);
      j.field("avg_bounded_slowdown", mean);
      j.key("windows").begin_array();
      for (const auto& w : *windows) {
        j.begin_object().field("first", w.first);
        metrics_json(j, w.metrics);
        j.end_object();
      }
      j.end_array().field("wall_s", wall).end_object();
      std::printf("%s\n", j.str().c_str());
    } else {
      for (const auto& w : *windows) {
        std::printf("window at %-7zu avg bounded slowdown %.4f\n", w.first, w.metrics.avg_bounded_slowdown);
      }
      std::printf("mean of %zu windows:   %.4f\n", windows->size(), mean);
      std::size_t planned = 0, met = 0, exact = 0;
      double late_s = 0;
      for (const auto& w : *windows) {
        planned += w.metrics.eta_planned;
        met += w.metrics.eta_met;
        exact += w.metrics.eta_exact;
        late_s += w.metrics.eta_late_avg_s * static_cast<double>(w.metrics.eta_planned - w.metrics.eta_met);
      }
      eta_text(planned, met, exact, planned > met ? late_s / static_cast<double>(planned - met) : 0);
    }
    return 0;
  }

  auto result = sim::replay(jobs, options);
  if (!result) {
    std::fprintf(stderr, "gwang: %s: %s\n", args.trace.c_str(), result.error().message.c_str());
    return 2;
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!args.log.empty()) {
    std::ofstream out(args.log);
    for (const auto& line : result->log) out << line << '\n';
    if (!out) {
      std::fprintf(stderr, "gwang: cannot write %s\n", args.log.c_str());
      return 1;
    }
  }
  auto top = [&](sim::GroupBy by, std::size_t n) {
    std::vector<sim::GroupMetrics> out;
    if (n == 0) return out;
    out = sim::by_group(result->jobs, by);
    if (out.size() > n) out.resize(n);
    return out;
  };
  const std::vector<sim::GroupMetrics> groups = top(sim::GroupBy::Group, args.by_group);
  const std::vector<sim::GroupMetrics> users = top(sim::GroupBy::User, args.by_user);
  if (args.json) {
    metrics_json(j, result->metrics);
    j.field("unsatisfiable", result->metrics.unsatisfiable).field("never", result->metrics.never);
    j.field("wall_s", wall);
    for (const auto& [name, list, n] :
         {std::tuple{"groups", &groups, args.by_group}, std::tuple{"users", &users, args.by_user}}) {
      if (n == 0) continue;
      j.key(name).begin_array();
      for (const sim::GroupMetrics& g : *list) {
        j.begin_object().field("id", g.group).field("jobs", g.jobs).field("processor_hours", g.processor_hours);
        j.field("share", g.share)
            .field("avg_wait_s", g.avg_wait_s)
            .field("avg_bounded_slowdown", g.avg_bounded_slowdown);
        j.end_object();
      }
      j.end_array();
    }
    j.end_object();
    std::printf("%s\n", j.str().c_str());
  } else {
    const std::string input = args.format == "sbatch" ? "sbatch workload" : args.loader + " loader";
    std::printf("%s, %s, policy %s, estimate %s, %lld processors\n", args.trace.c_str(), input.c_str(),
                args.policy.c_str(), args.estimate.c_str(), static_cast<long long>(options.machine_procs));
    metrics_text(result->metrics);
    if (result->metrics.unsatisfiable) std::printf("unsatisfiable         %zu\n", result->metrics.unsatisfiable);
    if (result->metrics.never) {
      std::printf("never started         %zu (a dependency that can no longer hold)\n", result->metrics.never);
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
  return 0;
}

}  // namespace gwang::cli
