// gwang: the command line of the gwang scheduler.
#include <CLI/CLI.hpp>
#include <cstring>
#include <initializer_list>
#include <string_view>

#include "cli/books.h"
#include "cli/commands.h"
#include "core/queue_policy.h"

namespace {

// A check of an option by one of the core's name parsers: its refusal, which names the valid ones.
template <class Parse>
CLI::Validator core_name(Parse parse) {
  return CLI::Validator(
      [parse](std::string& text) -> std::string {
        auto r = parse(text);
        return r ? std::string() : r.error().message;
      },
      "NAME");
}

}  // namespace

int main(int argc, char** argv) {
  using namespace gwang::cli;
  // Slurm's commands: by the program's name (a link named sbatch), or as gwang's first word.
  {
    std::string_view program = argv[0];
    program = program.substr(program.find_last_of('/') + 1);
    for (const auto& [name, run] : kSlurmCommands) {
      if (program == name) return run(std::vector<std::string>(argv + 1, argv + argc));
      if (argc > 1 && std::strcmp(argv[1], name) == 0) return run(std::vector<std::string>(argv + 2, argv + argc));
    }
  }
  CLI::App app{"gwang: scheduler, simulator and operations tool of an AI computing centre"};
  app.require_subcommand(1);

  // Only the subcommand named is built: setting up every option of every subcommand costs more
  // than most commands' own work. An unknown first word (or --help) builds them all.
  bool every = true;
  if (argc > 1) {
    for (const char* name :
         {"sim",  "up",    "controller", "agent",  "submit", "queue", "show",  "cancel", "hold",   "release",
          "logs", "nodes", "drain",      "resume", "user",   "token", "admin", "grants", "events", "report"})
      if (std::strcmp(argv[1], name) == 0) every = false;
  }
  auto wanted = [&](const char* name) { return every || std::strcmp(argv[1], name) == 0; };
  auto parsed = [](const CLI::App* c) { return c != nullptr && c->parsed(); };

  CLI::App *r = nullptr, *p = nullptr, *u = nullptr, *ctl = nullptr, *agt = nullptr, *sb = nullptr, *q = nullptr,
           *sh = nullptr, *ca = nullptr, *lg = nullptr, *nd = nullptr, *dr = nullptr, *rs = nullptr, *ho = nullptr,
           *rl = nullptr;
  ReplayArgs replay;
  PackArgs pack;
  TenantsArgs tenants;
  CLI::App* tn = nullptr;
  if (wanted("sim")) {
    CLI::App* sim = app.add_subcommand("sim", "Replay workloads through the scheduler in virtual time");
    sim->require_subcommand(1);

    r = sim->add_subcommand("replay", "Replay a batch workload (SWF trace) on a processor pool");
    r->add_option("trace", replay.trace, "SWF trace file (plain or gzip)")->required();
    r->add_option("--policy", replay.policy, "fcfs, sjf, easy, easy-sjbf, sjf-easy, multifactor-easy or conservative")
        ->capture_default_str();
    r->add_flag("--eta", replay.eta, "compare each waiting job's start, planned when it was submitted, with its start");
    r->add_option("--estimate", replay.estimate, "runtime estimate for planning: requested or actual")
        ->capture_default_str();
    r->add_option("--loader", replay.loader, "trace cleaning: predictsim, rlscheduler or none")->capture_default_str();
    r->add_option("--format", replay.format,
                  "swf, or sbatch: one submission a line, SUBMIT RUN EXIT USER sbatch-options (arrays, "
                  "dependencies, begin times; needs --procs)")
        ->check(CLI::IsMember({"swf", "sbatch"}))
        ->capture_default_str();
    r->add_option("--windows", replay.windows, "replay windows starting at these 0-based job indices (I,J,...)");
    r->add_option("--window-jobs", replay.window_jobs, "jobs per window")->capture_default_str();
    r->add_option("--procs", replay.procs, "machine size in processors (default: the trace header's MaxProcs)");
    r->add_option("--log", replay.log, "write the decision log (time, event, job) to this file");
    r->add_option("--by-group", replay.by_group, "also show the N groups that used the most: share, wait, slowdown");
    r->add_option("--by-user", replay.by_user, "the same for the N users that used the most");
    r->add_flag("--json", replay.json, "print one JSON object");
    r->add_flag("--quiet", replay.quiet, "no progress on stderr");

    p = sim->add_subcommand("pack", "Placement-only fill experiment on a GPU cluster (Alibaba 2023 trace)");
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

    tn = sim->add_subcommand("tenants", "Institutions sharing a GPU cluster under grants (a JSON scenario)");
    tn->add_option("scenario", tenants.scenario, "scenario file (see docs/simulator.md)")->required();
    tn->add_option("--policy", tenants.policy, "multifactor, fcfs, or both side by side")
        ->check(CLI::IsMember({"multifactor", "fcfs", "both"}))
        ->capture_default_str();
    tn->add_flag("--json", tenants.json, "print JSON");
  }

  // --- the live system
  UpArgs up;
  if (wanted("up")) {
    u = app.add_subcommand("up", "Run the controller and this machine's agent in one process");
    u->add_option("--data", up.data, "state directory (default: /var/lib/gwang for root, else ~/.local/state/gwang)");
    u->add_option("--listen", up.listen, "address to serve the API on, HOST:PORT (port 0: any free one)")
        ->capture_default_str();
    u->add_option("--user", up.user, "the account the local token's jobs run as (default: yours; for root, nobody)");
    u->add_flag("--allow-root", up.allow_root, "allow jobs to run as root");
    u->add_option("--declare", up.declare, "declare devices the agent cannot discover, KIND=COUNT (npu:ascend910=8)");
    u->add_flag("--no-nvml", up.no_nvml, "do not look for NVIDIA GPUs");
    u->add_option("--cpus", up.cpus, "the CPUs the node offers to jobs (default: this host's)")
        ->check(CLI::Range(1, 65536));
    u->add_flag("--demo", up.demo, "submit a first job once up");
    u->add_option("--queue-order", up.queue_order,
                  "who goes first: fcfs, sjf, priority, or multifactor (age, fair share, size, programme)")
        ->check(core_name(gwang::core::parse_queue_order))
        ->capture_default_str();
    u->add_option("--backfill", up.backfill,
                  "none, easy, easy-sjbf, or conservative (every waiting job keeps a reservation)")
        ->check(core_name(gwang::core::parse_backfill))
        ->capture_default_str();
    u->add_option("--web", up.web,
                  "the dashboard's built files (default: web/ beside the program, then share/gwang/web)");
  }

  DaemonArgs controller_args, agent_args;
  if (wanted("controller")) {
    ctl = app.add_subcommand("controller", "Run the controller of a cluster whose nodes run 'gwang agent'");
    ctl->add_option("--config", controller_args.config, "configuration file (TOML; see etc/controller.toml)")
        ->required();
    ctl->add_flag("--check", controller_args.check, "check the configuration and exit");
    ctl->add_option(
        "--store", controller_args.store,
        "the journal's store, over the configuration's: postgresql://USER@HOST/DB (default: SQLite in data_dir)");
  }
  if (wanted("agent")) {
    agt = app.add_subcommand("agent", "Run a node's agent: it registers with the controller and runs its tasks");
    agt->add_option("--config", agent_args.config, "configuration file (TOML; see etc/agent.toml)")->required();
    agt->add_flag("--check", agent_args.check, "check the configuration and exit");
  }

  auto client_options = [](CLI::App* c, ClientArgs& a) {
    c->add_option("--url", a.url, "controller URL (default: $GWANG_URL, then the local 'gwang up')");
    c->add_option("--token", a.token, "API token (default: $GWANG_TOKEN, then the local 'gwang up')");
    c->add_flag("--json", a.json, "print JSON");
  };
  SubmitArgs submit;
  if (wanted("submit")) {
    sb = app.add_subcommand("submit", "Submit a job: gwang submit [options] -- COMMAND ARGS, or a SCRIPT");
    client_options(sb, submit.client);
    sb->add_option("--cpus", submit.cpus, "CPUs per task")->capture_default_str();
    sb->add_option("--mem", submit.mem, "memory per task (16G, 512M)")->capture_default_str();
    sb->add_option("--gpus", submit.gpus, "whole GPUs per task: N or N:MODEL[,MODEL]");
    sb->add_option("--gpu-share", submit.gpu_share, "a share of one GPU, between 0 and 1");
    sb->add_option("--nodes", submit.nodes, "nodes (one task on each)")->capture_default_str();
    sb->add_option("--time", submit.time, "time limit (2h, 30m, 1-00:00:00, minutes)")->capture_default_str();
    sb->add_option("--name", submit.name, "job name (default: the program's name)");
    sb->add_option("--workdir", submit.workdir, "working directory (default: the current one)");
    sb->add_option("--env", submit.env, "extra environment, NAME=VALUE (repeatable)");
    sb->add_option("--project", submit.project, "the project charged (default: your default project)");
    sb->add_flag(
        "--preemptible", submit.preemptible,
        "may borrow idle capacity beyond quotas; preempted (SIGTERM, grace, kill, requeued) when it is needed back");
    sb->add_option("--begin", submit.begin, "not before this time (16:00, now+1hour, tomorrow, 2026-03-01T08:30)");
    sb->add_option("--dependency", submit.dependency,
                   "wait for other jobs: afterok:ID[:ID], afterany:ID, singleton, ...");
    sb->add_option("--array", submit.array, "a job array: one job per index (0-15, 1,3,5-7, 0-15:4, %N at once)");
    sb->add_option("--partition", submit.partition, "the partition (node pool) it runs in (default: the default one)");
    sb->add_flag("--hold", submit.hold, "submit it held: it waits until released (gwang release)");
    sb->add_option("command", submit.command, "the command and its arguments, or a script")->required()->expected(-1);
  }

  ClientArgs client;
  bool all = false, stderr_stream = false, follow = false, start = false;
  int rank = 0;
  std::string job_arg, node_arg;
  if (wanted("queue")) {
    q = app.add_subcommand("queue", "List jobs that have not ended (with --all, also those that have)");
    client_options(q, client);
    q->add_flag("--all", all, "include ended jobs");
    q->add_flag("--start", start, "the waiting jobs, with when each is expected to start (as squeue --start)");
  }
  if (wanted("show")) {
    sh = app.add_subcommand("show", "Show one job");
    client_options(sh, client);
    sh->add_option("job", job_arg, "job id")->required();
  }
  if (wanted("cancel")) {
    ca = app.add_subcommand("cancel", "Cancel a job");
    client_options(ca, client);
    ca->add_option("job", job_arg, "job id")->required();
  }
  if (wanted("hold")) {
    ho = app.add_subcommand("hold", "Hold a pending job (or every pending task of an array) until released");
    client_options(ho, client);
    ho->add_option("job", job_arg, "job id")->required();
  }
  if (wanted("release")) {
    rl = app.add_subcommand("release", "Release a held job");
    client_options(rl, client);
    rl->add_option("job", job_arg, "job id")->required();
  }
  if (wanted("logs")) {
    lg = app.add_subcommand("logs", "Print a job's output");
    client_options(lg, client);
    lg->add_option("job", job_arg, "job id")->required();
    lg->add_flag("--stderr", stderr_stream, "the error stream instead of the output");
    lg->add_flag("--follow,-f", follow, "keep printing until the job ends");
    lg->add_option("--rank", rank, "the task of a multi-node job (default 0)")->check(CLI::NonNegativeNumber);
  }
  if (wanted("nodes")) {
    nd = app.add_subcommand("nodes", "List nodes");
    client_options(nd, client);
  }
  if (wanted("drain")) {
    dr = app.add_subcommand("drain", "Stop placing new jobs on a node");
    client_options(dr, client);
    dr->add_option("node", node_arg, "node name")->required();
  }
  if (wanted("resume")) {
    rs = app.add_subcommand("resume", "Place jobs on a drained node again");
    client_options(rs, client);
    rs->add_option("node", node_arg, "node name")->required();
  }

  std::string slurm_dir;
  CLI::App* si = nullptr;
  if (wanted("slurm")) {
    CLI::App* sl =
        app.add_subcommand("slurm", "Slurm's commands (sbatch, squeue, scancel, sacct, sinfo, scontrol, srun)");
    sl->require_subcommand(1);
    si = sl->add_subcommand("install", "Make links named sbatch, squeue, ... to gwang in a directory (on PATH)");
    si->add_option("dir", slurm_dir, "the directory, e.g. /usr/local/bin")->required();
  }

  BookCommands books;
  books.add(app, wanted);
  MigrateArgs migrate;
  CLI::App* mig = nullptr;
  if (wanted("admin")) {
    mig = app.get_subcommand("admin")->add_subcommand(
        "migrate-store", "Copy a stopped controller's embedded store into PostgreSQL, and check the copy");
    mig->add_option("--data", migrate.data, "the controller's data_dir (it holds state.db)")->required();
    mig->add_option("--to", migrate.to, "the PostgreSQL store: postgresql://USER@HOST/DB (an empty one)")->required();
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);  // prints help or the error
    return rc == 0 ? 0 : 2;
  }
#ifdef GWANG_SERVER
  if (parsed(mig)) return run_migrate_store(migrate);
#else
  if (parsed(mig)) return exec_server(argv);
#endif
  if (books.action()) return books.action()();
  if (parsed(r)) return run_replay(replay);
  if (parsed(p)) return run_pack(pack);
  if (parsed(tn)) return run_tenants_sim(tenants);
#ifdef GWANG_SERVER
  if (parsed(u)) return run_up(up);
  if (parsed(ctl)) return run_controller(controller_args);
  if (parsed(agt)) return run_agent(agent_args);
#else
  if (parsed(u) || parsed(ctl) || parsed(agt)) return exec_server(argv);
#endif
  if (parsed(sb)) return run_submit(submit);
  if (parsed(si)) return run_slurm_install(slurm_dir);
  if (parsed(q)) return run_queue(client, all, start);
  if (parsed(sh)) return run_show(client, job_arg);
  if (parsed(ca)) return run_cancel(client, job_arg);
  if (parsed(ho)) return run_cancel(client, job_arg, "hold");
  if (parsed(rl)) return run_cancel(client, job_arg, "release");
  if (parsed(lg)) return run_logs(client, job_arg, stderr_stream, follow, rank);
  if (parsed(nd)) return run_nodes(client);
  if (parsed(dr)) return run_node_state(client, node_arg, true);
  if (parsed(rs)) return run_node_state(client, node_arg, false);
  return 2;
}
