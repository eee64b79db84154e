// gwang: the command line of the gwang scheduler.
#include <CLI/CLI.hpp>

#include "cli/commands.h"

int main(int argc, char** argv) {
  using namespace gwang::cli;
  CLI::App app{"gwang: scheduler, simulator and operations tool of an AI computing centre"};
  app.require_subcommand(1);

  CLI::App* sim = app.add_subcommand("sim", "Replay workloads through the scheduler in virtual time");
  sim->require_subcommand(1);

  ReplayArgs replay;
  CLI::App* r = sim->add_subcommand("replay", "Replay a batch workload (SWF trace) on a processor pool");
  r->add_option("trace", replay.trace, "SWF trace file (plain or gzip)")->required();
  r->add_option("--policy", replay.policy, "fcfs, sjf, easy, easy-sjbf or sjf-easy")->capture_default_str();
  r->add_option("--estimate", replay.estimate, "runtime estimate for planning: requested or actual")
      ->capture_default_str();
  r->add_option("--loader", replay.loader, "trace cleaning: predictsim, rlscheduler or none")->capture_default_str();
  r->add_option("--windows", replay.windows, "replay windows starting at these 0-based job indices (I,J,...)");
  r->add_option("--window-jobs", replay.window_jobs, "jobs per window")->capture_default_str();
  r->add_option("--procs", replay.procs, "machine size in processors (default: the trace header's MaxProcs)");
  r->add_option("--log", replay.log, "write the decision log (time, event, job) to this file");
  r->add_flag("--json", replay.json, "print one JSON object");
  r->add_flag("--quiet", replay.quiet, "no progress on stderr");

  PackArgs pack;
  CLI::App* p = sim->add_subcommand("pack", "Placement-only fill experiment on a GPU cluster (Alibaba 2023 trace)");
  p->add_option("--nodes", pack.nodes, "node list CSV")->required();
  p->add_option("--pods", pack.pods, "pod list CSV")->required();
  p->add_option("--policy", pack.policy,
                "placement policies, comma separated, or 'all' (random, dot-product, gpu-clustering, "
                "gpu-packing, best-fit, fgd; also first-fit)")
      ->capture_default_str();
  p->add_option("--seeds", pack.seeds, "seeds: N, N-M or N,M,...")->capture_default_str();
  p->add_option("--tune", pack.tune, "arrivals as a multiple of the cluster's GPU capacity")->capture_default_str();
  p->add_option("--curve", pack.curve, "write the curves (per policy and arrived %) to this CSV file");
  p->add_option("--chart", pack.chart, "draw the allocation curves to this SVG file");
  p->add_flag("--json", pack.json, "print one JSON object");
  p->add_flag("--quiet", pack.quiet, "no progress on stderr");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);  // prints help or the error
    return rc == 0 ? 0 : 2;
  }
  if (r->parsed()) return run_replay(replay);
  if (p->parsed()) return run_pack(pack);
  return 2;
}
