// The scheduler core alone: placement decisions per second and the time of one scheduling pass on
// a large synthetic cluster with a deep queue. No I/O inside the measured region.
//
//   build/bench/core_bench [--nodes 6250] [--jobs 100000] [--backfill none|easy] [--placement P]
//                          [--depth N] [--rounds 200] [--seed 1]
//                          [--order fcfs|multifactor] [--institutions 0] [--quotas 0] [--preemptible 0]
//
// With --institutions N, jobs belong to N institutions of 10 projects of 10 users each (the
// multifactor order then ranks them by Fair Tree fair share); --quotas Q puts a quota on Q projects
// (half of the devices of one model a project may hold, 64 at most); --preemptible P makes P % of
// the jobs preemptible.
//
// The cluster: nodes of 8 devices, each node one of four accelerator models (three GPU generations
// and an NPU), 128 CPUs and 1 TiB each. The queue: jobs of mixed shapes (shares of one GPU, 1 to 8
// whole devices, CPU-only), most bound to one model, some to any. A first pass fills the empty
// cluster; then each round ends 1 % of the running jobs and runs one pass. Reported: decisions
// (jobs started) per second of pass time, and the median, p99 and maximum pass times.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/scheduler.h"

using namespace gwang::core;

int main(int argc, char** argv) {
  int nodes = 6250, jobs = 100000, rounds = 200;
  std::uint64_t seed = 1;
  std::string backfill = "none", placement = "first-fit";
  std::size_t depth = 0;
  std::string order = "fcfs";
  int institutions = 0, quotas = 0, preemptible = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--nodes") nodes = std::atoi(argv[i + 1]);
    else if (a == "--jobs") jobs = std::atoi(argv[i + 1]);
    else if (a == "--rounds") rounds = std::atoi(argv[i + 1]);
    else if (a == "--seed") seed = std::strtoull(argv[i + 1], nullptr, 10);
    else if (a == "--backfill") backfill = argv[i + 1];
    else if (a == "--placement") placement = argv[i + 1];
    else if (a == "--depth") depth = std::strtoull(argv[i + 1], nullptr, 10);
    else if (a == "--order") order = argv[i + 1];
    else if (a == "--institutions") institutions = std::atoi(argv[i + 1]);
    else if (a == "--quotas") quotas = std::atoi(argv[i + 1]);
    else if (a == "--preemptible") preemptible = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "core_bench: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  auto bf = parse_backfill(backfill);
  auto pl = parse_placement(placement);
  auto qo = parse_queue_order(order);
  if (!bf || !pl || !qo) {
    std::fprintf(stderr, "core_bench: %s\n", (!bf ? bf.error() : !pl ? pl.error() : qo.error()).message.c_str());
    return 2;
  }

  Cluster cluster;
  const ResourceKind models[] = {cluster.registry().intern("gpu:H100"), cluster.registry().intern("gpu:A100"),
                                 cluster.registry().intern("gpu:V100"), cluster.registry().intern("npu:X1")};
  for (int n = 0; n < nodes; ++n) {
    NodeSpec spec{"node" + std::to_string(n), {}, std::vector<ResourceKind>(8, models[n % 4])};
    spec.scalars.set(ResourceRegistry::kCpu, 128 * kMilli);
    spec.scalars.set(ResourceRegistry::kMemory, 1024 * 1024 * kMilli);
    cluster.add_node(spec);
  }
  Rng rng(seed);
  std::vector<JobSpec> specs;
  for (int j = 0; j < jobs; ++j) {
    JobSpec spec;
    spec.id = JobId{j};
    spec.submit = 0;
    spec.time_limit = 3600 * static_cast<Time>(1 + rng.below(24));
    const auto shape = rng.below(100);
    spec.task.scalars.set(ResourceRegistry::kCpu, static_cast<Milli>(1 + rng.below(16)) * kMilli);
    spec.task.scalars.set(ResourceRegistry::kMemory, static_cast<Milli>(1 + rng.below(64)) * 1024 * kMilli);
    if (shape < 40) {
      spec.task.accel = {1, rng.below(2) ? 250 : 500, {}};
    } else if (shape < 80) {
      spec.task.accel = {1 << rng.below(3), kMilli, {}};
    } else if (shape < 95) {
      spec.task.accel = {8, kMilli, {}};
    }
    if (spec.task.accel.count > 0 && rng.below(10) < 7) spec.task.accel.models = {models[rng.below(4)]};
    if (institutions > 0) {
      const auto inst = rng.below(static_cast<std::uint64_t>(institutions));
      const auto project = inst * 10 + rng.below(10);
      spec.institution = "i" + std::to_string(inst);
      spec.project = "p" + std::to_string(project);
      spec.user = "u" + std::to_string(project * 10 + rng.below(10));
      spec.programme_priority = static_cast<double>(rng.below(3)) / 2;
    }
    spec.preemptible = static_cast<int>(rng.below(100)) < preemptible;
    specs.push_back(std::move(spec));
  }

  SchedulerOptions options;
  options.backfill = *bf;
  options.placement = *pl;
  options.seed = seed;
  options.backfill_depth = depth;
  options.order = *qo;
  options.fairshare.algorithm = FairShareAlgorithm::FairTree;
  std::vector<TaskRequest> tasks;
  for (const JobSpec& spec : specs) tasks.push_back(spec.task);
  options.placement_options.typical_shapes = typical_shapes(tasks);
  Scheduler scheduler(std::move(cluster), options);
  for (int q = 0; q < quotas && institutions > 0; ++q) {
    const Quota quota{QuotaScope::Project, "p" + std::to_string(q % (institutions * 10)),
                      q % 2 ? "gpu:H100" : "gpu:A100", 64 * kMilli};
    if (!scheduler.set_quota(quota)) return 1;
  }
  for (JobSpec& spec : specs) {
    if (!scheduler.submit(std::move(spec), 0)) return 1;
  }

  using clock = std::chrono::steady_clock;
  std::vector<double> pass_s;
  std::size_t decisions = 0;
  Time now = 0;
  auto pass = [&] {
    const auto t0 = clock::now();
    const auto d = scheduler.schedule(now);
    pass_s.push_back(std::chrono::duration<double>(clock::now() - t0).count());
    for (const Decision& x : d) decisions += x.action == Action::Start ? 1 : 0;
    for (const Decision& x : d) {
      if (x.action == Action::Preempt) scheduler.preempted(x.job, now);  // stopped at once
    }
  };
  pass();
  const double first_pass = pass_s.back();
  const std::size_t first_decisions = decisions;
  std::vector<JobId> running;
  for (int r = 0; r < rounds; ++r) {
    now += 60;
    running.clear();
    for (int j = 0; j < jobs; ++j) {
      const Job* job = scheduler.find(JobId{j});
      if (job->state == JobState::Running) running.push_back(JobId{j});
    }
    const std::size_t ending = std::max<std::size_t>(1, running.size() / 100);
    for (std::size_t k = 0; k < ending && !running.empty(); ++k) {
      const std::size_t i = rng.below(running.size());
      scheduler.finish(running[i], now);
      running[i] = running.back();
      running.pop_back();
    }
    pass();
  }
  double total = 0;
  for (double s : pass_s) total += s;
  std::vector<double> sorted = pass_s;
  std::sort(sorted.begin(), sorted.end());
  auto pct = [&](double p) { return sorted[std::min(sorted.size() - 1, static_cast<std::size_t>(p * sorted.size()))]; };
  std::printf("nodes %d x 8 devices, %d jobs, order %s, backfill %s (depth %zu), placement %s\n", nodes, jobs,
              order.c_str(), backfill.c_str(), depth, placement.c_str());
  if (institutions > 0) {
    std::printf("%d institutions, %d projects, %d users; %d quotas; %d %% preemptible\n", institutions,
                institutions * 10, institutions * 100, quotas, preemptible);
  }
  std::printf("first pass: %zu decisions in %.3f s (%.0f decisions/s)\n", first_decisions, first_pass,
              static_cast<double>(first_decisions) / first_pass);
  std::printf("all %zu passes: %zu decisions in %.3f s (%.0f decisions/s)\n", pass_s.size(), decisions, total,
              static_cast<double>(decisions) / total);
  std::printf("pass time: median %.3f ms, p99 %.3f ms, max %.3f ms\n", pct(0.5) * 1e3, pct(0.99) * 1e3,
              sorted.back() * 1e3);
  std::printf("pending at the end: %zu, running: %zu\n", scheduler.pending_count(), scheduler.running_count());
  return 0;
}
