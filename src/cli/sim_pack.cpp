// gwang sim pack: the placement-only fill experiment, several policies over several seeds.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "api/json_writer.h"
#include "sim/chart.h"
#include "sim/pack.h"
#include "trace/alibaba.h"

namespace gwang::cli {

using api::Json;

namespace {

struct Summary {
  core::PlacementKind policy;
  std::vector<double> alloc_mean, alloc_sd, frag_mean;
  std::vector<std::size_t> failed;
  std::vector<double> final_alloc;
  double wall_s = 0;
};

// Mean and sample standard deviation at each point of several curves.
void mean_sd(const std::vector<std::vector<double>>& runs, std::vector<double>& mean, std::vector<double>& sd) {
  const std::size_t n = runs.front().size();
  mean.assign(n, 0);
  sd.assign(n, 0);
  for (const auto& r : runs) {
    for (std::size_t i = 0; i < n; ++i) mean[i] += r[i];
  }
  for (auto& m : mean) m /= static_cast<double>(runs.size());
  if (runs.size() < 2) return;
  for (const auto& r : runs) {
    for (std::size_t i = 0; i < n; ++i) sd[i] += (r[i] - mean[i]) * (r[i] - mean[i]);
  }
  for (auto& s : sd) s = std::sqrt(s / static_cast<double>(runs.size() - 1));
}

void keyed(Json& j, std::string_view name, const std::vector<double>& values) {
  j.key(name).begin_object();
  for (std::size_t i = 0; i < values.size(); ++i) j.field(std::to_string(i), values[i]);
  j.end_object();
}

// The placement policies --policy names (a comma list, or "all"); nullopt (and why, on stderr) if
// one is unknown.
std::optional<std::vector<core::PlacementKind>> parse_policies(const std::string& text) {
  std::vector<core::PlacementKind> policies;
  if (text == "all") {
    policies = {core::PlacementKind::Random,     core::PlacementKind::DotProduct,
                core::PlacementKind::GpuClustering, core::PlacementKind::GpuPacking,
                core::PlacementKind::BestFit,    core::PlacementKind::Fgd};
  } else {
    std::size_t pos = 0;
    while (true) {
      const std::size_t comma = text.find(',', pos);
      auto kind = core::parse_placement(text.substr(pos, comma == std::string::npos ? comma : comma - pos));
      if (!kind) {
        std::fprintf(stderr, "gwang: --policy: %s, or 'all'\n", kind.error().message.c_str());
        return std::nullopt;
      }
      policies.push_back(*kind);
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
  }
  return policies;
}

// One policy's runs, one per seed (a progress step each): their curves' mean and spread.
Summary run_policy(const sim::PackExperiment& experiment, core::PlacementKind policy,
                   const std::vector<std::int64_t>& seeds, double tune, Progress& progress) {
  Summary s{policy, {}, {}, {}, {}, {}, 0};
  std::vector<std::vector<double>> alloc, frag;
  const auto p0 = std::chrono::steady_clock::now();
  for (std::int64_t seed : seeds) {
    progress.step(std::string(core::to_string(policy)) + " seed " + std::to_string(seed));
    sim::PackRun run = experiment.run({policy, static_cast<std::uint64_t>(seed), tune});
    alloc.push_back(std::move(run.alloc_pct));
    frag.push_back(std::move(run.frag_pct));
    s.failed.push_back(run.failed);
    s.final_alloc.push_back(run.allocated_pct);
  }
  s.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - p0).count();
  std::vector<double> unused;
  mean_sd(alloc, s.alloc_mean, s.alloc_sd);
  mean_sd(frag, s.frag_mean, unused);
  return s;
}

// Writes the curves, a CSV row per policy and arrived %; false (and why, on stderr) if it cannot.
bool write_curve(const std::string& path, const std::vector<Summary>& summaries) {
  std::ofstream out(path);
  out << "policy,arrived_pct,alloc_pct_mean,alloc_pct_sd,frag_pct_mean\n";
  for (const auto& s : summaries) {
    for (std::size_t i = 0; i < s.alloc_mean.size(); ++i) {
      out << core::to_string(s.policy) << ',' << i << ',' << s.alloc_mean[i] << ',' << s.alloc_sd[i] << ','
          << s.frag_mean[i] << '\n';
    }
  }
  if (!out) {
    std::fprintf(stderr, "gwang: cannot write %s\n", path.c_str());
    return false;
  }
  return true;
}

// Draws the allocation curves to an SVG file; false (and why, on stderr) if it cannot be written.
bool write_chart(const std::string& path, const std::vector<Summary>& summaries, std::size_t seeds) {
  std::vector<sim::Series> series;
  for (const auto& s : summaries) {
    sim::Series se{std::string(core::to_string(s.policy)), {}, s.alloc_mean, s.alloc_sd};
    for (std::size_t i = 0; i < s.alloc_mean.size(); ++i) se.x.push_back(static_cast<double>(i));
    series.push_back(std::move(se));
  }
  sim::ChartOptions o;
  o.title = "GPU allocated as requests arrive (" + std::to_string(seeds) + " seeds, mean +- sd)";
  o.x_label = "GPU requested so far, % of cluster capacity";
  o.y_label = "GPU allocated, % of cluster capacity";
  o.diagonal = true;
  // The whole run, then the region where the policies part: from where the first one leaves the
  // diagonal, with the allocation axis from just below the lowest final value.
  double first_gap = sim::kPackMaxArrivedPct, low = 100;
  for (const auto& s : summaries) {
    for (int p = 0; p <= sim::kPackMaxArrivedPct; ++p) {
      if (p - s.alloc_mean[p] > 0.5) {
        first_gap = std::min(first_gap, static_cast<double>(p));
        break;
      }
    }
    low = std::min(low, s.alloc_mean.back() - s.alloc_sd.back());
  }
  const double zoom_y = std::clamp(std::floor(low) - 2, 0.0, 98.0);
  const double zoom_x =
      std::clamp(std::floor(std::max(first_gap, zoom_y) / 5) * 5 - 5, 0.0, sim::kPackMaxArrivedPct - 10.0);
  o.panels = {{"whole run", 0, sim::kPackMaxArrivedPct, 0, 100},
              {"where the policies part", zoom_x, sim::kPackMaxArrivedPct, zoom_y, 100}};
  std::ofstream out(path);
  out << sim::line_chart_svg(series, o);
  if (!out) {
    std::fprintf(stderr, "gwang: cannot write %s\n", path.c_str());
    return false;
  }
  return true;
}

// Prints the experiment and every policy's curves as one JSON object.
void print_json(const sim::PackExperiment& experiment, double tune, const std::vector<std::int64_t>& seeds,
                const std::vector<Summary>& summaries, double wall) {
  Json j;
  j.begin_object();
  j.field("nodes", experiment.cluster().size()).field("gpus", experiment.gpu_capacity() / core::kMilli);
  j.field("pod_list", experiment.pods().size()).field("tune", tune);
  j.key("seeds").begin_array();
  for (auto s : seeds) j.value(s);
  j.end_array();
  j.key("policies").begin_object();
  for (const auto& s : summaries) {
    j.key(core::to_string(s.policy)).begin_object();
    keyed(j, "alloc_pct_mean", s.alloc_mean);
    keyed(j, "alloc_pct_sd", s.alloc_sd);
    keyed(j, "frag_pct_mean", s.frag_mean);
    j.key("failed").begin_array();
    for (auto f : s.failed) j.value(f);
    j.end_array();
    j.field("wall_s", s.wall_s).end_object();
  }
  j.end_object().field("wall_s", wall).end_object();
  std::printf("%s\n", j.str().c_str());
}

// Prints the experiment and a line per policy: allocated at 90, 100 and 130 % arrived, failures.
void print_text(const sim::PackExperiment& experiment, double tune, std::size_t seeds,
                const std::vector<Summary>& summaries, double wall) {
  std::printf("%zu nodes, %lld GPUs, %zu pods in the list, tune %.2f, %zu seeds\n", experiment.cluster().size(),
              static_cast<long long>(experiment.gpu_capacity() / core::kMilli), experiment.pods().size(),
              tune, seeds);
  std::printf("%-15s %14s %14s %14s %10s %8s\n", "policy", "alloc@90%", "alloc@100%", "alloc@130%",
              "failed", "wall s");
  for (const auto& s : summaries) {
    double failed = 0;
    for (auto f : s.failed) failed += static_cast<double>(f);
    std::printf("%-15s %8.2f+-%.2f %8.2f+-%.2f %8.2f+-%.2f %10.1f %8.2f\n",
                std::string(core::to_string(s.policy)).c_str(), s.alloc_mean[90], s.alloc_sd[90],
                s.alloc_mean[100], s.alloc_sd[100], s.alloc_mean[130], s.alloc_sd[130],
                failed / static_cast<double>(s.failed.size()), s.wall_s);
  }
  std::printf("wall %.2f s\n", wall);
}

}  // namespace

int run_pack(const PackArgs& args) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::optional<std::vector<core::PlacementKind>> policies = parse_policies(args.policy);
  if (!policies) return 2;
  std::vector<std::int64_t> seeds;
  std::string error;
  if (!parse_int_list(args.seeds, seeds, error) || seeds.empty()) {
    std::fprintf(stderr, "gwang: --seeds: %s\n", error.empty() ? "no seed" : error.c_str());
    return 2;
  }
  if (!(args.tune > 0 && args.tune <= 10)) {
    std::fprintf(stderr, "gwang: --tune: must be within (0, 10]\n");
    return 2;
  }

  auto nodes = trace::read_alibaba_nodes(args.nodes);
  if (!nodes) {
    std::fprintf(stderr, "gwang: %s\n", nodes.error().message.c_str());
    return 2;
  }
  auto pods = trace::read_alibaba_pods(args.pods);
  if (!pods) {
    std::fprintf(stderr, "gwang: %s\n", pods.error().message.c_str());
    return 2;
  }
  auto experiment = sim::PackExperiment::create(*nodes, *pods);
  if (!experiment) {
    std::fprintf(stderr, "gwang: %s\n", experiment.error().message.c_str());
    return 2;
  }

  Progress progress(args.quiet || !isatty(2), policies->size() * seeds.size());
  std::vector<Summary> summaries;
  for (core::PlacementKind policy : *policies)
    summaries.push_back(run_policy(*experiment, policy, seeds, args.tune, progress));
  progress.done();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  if (!args.curve.empty() && !write_curve(args.curve, summaries)) return 1;
  if (!args.chart.empty() && !write_chart(args.chart, summaries, seeds.size())) return 1;
  if (args.json) {
    print_json(*experiment, args.tune, seeds, summaries, wall);
  } else {
    print_text(*experiment, args.tune, seeds.size(), summaries, wall);
  }
  return 0;
}

}  // namespace gwang::cli
