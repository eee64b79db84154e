// gwang: the command line of the gwang scheduler.
#include <CLI/CLI.hpp>
#include <charconv>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string_view>

#include "api/partition.h"
#include "cli/bcast.h"
#include "cli/books.h"
#include "cli/commands.h"
#include "core/queue_policy.h"
#include "slurm/features.h"
#include "slurm/licenses.h"

namespace {

using namespace gwang::cli;

// Whether the subcommand of this first word is to be built.
using Wanted = std::function<bool(const char*)>;

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

// A whole number from `low` up (CLI11's own range check prints its bounds as doubles).
CLI::Validator at_least(long long low) {
  return CLI::Validator(
      [low](std::string& text) -> std::string {
        long long v = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec == std::errc() && end == text.data() + text.size() && v >= low) return "";
        return "expected a whole number, " + std::to_string(low) + " or more (got '" + text + "')";
      },
      "N");
}

// What every subcommand parses into, and each subcommand once built (null when it was not).
struct Commands {
  CLI::App *r = nullptr, *p = nullptr, *tn = nullptr, *u = nullptr, *ctl = nullptr, *agt = nullptr, *sb = nullptr,
           *q = nullptr, *sh = nullptr, *ca = nullptr, *ho = nullptr, *rl = nullptr, *lg = nullptr, *nd = nullptr,
           *dr = nullptr, *rs = nullptr, *si = nullptr, *mig = nullptr, *at = nullptr, *rn = nullptr, *ss = nullptr,
           *sl = nullptr, *so = nullptr, *sx = nullptr;
  ReplayArgs replay;
  PackArgs pack;
  TenantsArgs tenants;
  UpArgs up;
  DaemonArgs controller_args, agent_args;
  SubmitArgs submit;
  ClientArgs client;  // of queue, show, cancel, hold, release, logs, nodes, drain and resume
  bool all = false, stderr_stream = false, follow = false, start = false;
  bool tty = false, interactive = false;  // gwang run -t, -i
  int rank = 0;
  std::string job_arg, node_arg;
  std::vector<std::string> attach_command;
  SubmitArgs session;  // gwang session start
  std::string session_app, session_idle;
  bool session_no_wait = false;
  std::string slurm_dir;
  MigrateArgs migrate;
};

// Runs Slurm's command the program is named after (a link named sbatch), or that gwang's first word
// names; nullopt when neither names one.
std::optional<int> run_slurm_command(int argc, char** argv) {
  std::string_view program = argv[0];
  program = program.substr(program.find_last_of('/') + 1);
  for (const auto& [name, run] : kSlurmCommands) {
    if (program == name) return run(std::vector<std::string>(argv + 1, argv + argc));
    if (argc > 1 && std::strcmp(argv[1], name) == 0) return run(std::vector<std::string>(argv + 2, argv + argc));
  }
  return std::nullopt;
}

// Whether to build every subcommand: the first word is none of those built alone (an unknown one, or --help).
bool build_every(int argc, char** argv) {
  bool every = true;
  if (argc > 1) {
    for (const char* name : {"sim",   "up",      "controller", "agent",  "submit", "queue",  "show", "cancel",
                             "hold",  "release", "logs",       "nodes",  "drain",  "resume", "user", "token",
                             "admin", "grants",  "events",     "report", "slurm",  "attach", "run",  "session"})
      if (std::strcmp(argv[1], name) == 0) every = false;
  }
  return every;
}

// gwang sim replay: its options.
void add_replay(CLI::App* sim, Commands& c) {
  ReplayArgs& replay = c.replay;
  CLI::App* r = c.r = sim->add_subcommand("replay", "Replay a batch workload (SWF trace) on a processor pool");
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
}

// gwang sim (replay, pack and tenants), when wanted.
void add_sim(CLI::App& app, const Wanted& wanted, Commands& c) {
  if (!wanted("sim")) return;
  CLI::App* sim = app.add_subcommand("sim", "Replay workloads through the scheduler in virtual time");
  sim->require_subcommand(1);
  add_replay(sim, c);

  PackArgs& pack = c.pack;
  CLI::App* p = c.p =
      sim->add_subcommand("pack", "Placement-only fill experiment on a GPU cluster (Alibaba 2023 trace)");
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

  TenantsArgs& tenants = c.tenants;
  CLI::App* tn = c.tn =
      sim->add_subcommand("tenants", "Institutions sharing a GPU cluster under grants (a JSON scenario)");
  tn->add_option("scenario", tenants.scenario, "scenario file (see docs/simulator.md)")->required();
  tn->add_option("--policy", tenants.policy, "multifactor, fcfs, or both side by side")
      ->check(CLI::IsMember({"multifactor", "fcfs", "both"}))
      ->capture_default_str();
  tn->add_flag("--json", tenants.json, "print JSON");
}

// gwang up, when wanted.
void add_up(CLI::App& app, const Wanted& wanted, Commands& c) {
  if (!wanted("up")) return;
  UpArgs& up = c.up;
  CLI::App* u = c.u = app.add_subcommand("up", "Run the controller and this machine's agent in one process");
  u->add_option("--data", up.data, "state directory (default: /var/lib/gwang for root, else ~/.local/state/gwang)");
  u->add_option("--listen", up.listen, "address to serve the API on, HOST:PORT (port 0: any free one)")
      ->capture_default_str();
  u->add_option("--user", up.user, "the account the local token's jobs run as (default: yours; for root, nobody)");
  u->add_flag("--allow-root", up.allow_root, "allow jobs to run as root");
  u->add_option("--declare", up.declare, "declare devices the agent cannot discover, KIND=COUNT (npu:ascend910=8)");
  u->add_flag("--no-nvml", up.no_nvml, "do not look for NVIDIA GPUs");
  u->add_option("--cpus", up.cpus, "the CPUs the node offers to jobs (default: this host's)")
      ->check(CLI::Range(1, 65536));
  u->add_option("--features", up.features, "the node's features, NAME[,NAME...] (jobs ask for them with -C)")
      ->check(CLI::Validator(
          [](std::string& text) {
            auto f = gwang::slurm::parse_node_features(text);
            return f ? std::string() : f.error().message;
          },
          "NAME[,NAME...]"));
  u->add_flag("--demo", up.demo, "submit a first job once up");
  u->add_flag("--tls", up.tls,
              "serve HTTPS, with a self-signed certificate kept in the data directory (ca.pem, which the "
              "command line here trusts, and others given it as GWANG_CA)");
  u->add_option("--cluster-name", up.cluster_name, "the cluster's name, as jobs are told it (SLURM_CLUSTER_NAME)")
      ->check(CLI::Validator(
          [](std::string& text) {
            return gwang::api::cluster_name_ok(text) ? std::string() : gwang::api::kClusterNameRule;
          },
          "NAME"))
      ->capture_default_str();
  u->add_option("--licenses", up.licenses,
                "the cluster's licenses, NAME:SEATS[,NAME:SEATS...] (jobs ask for them with -L)")
      ->check(CLI::Validator(
          [](std::string& text) {
            auto l = gwang::slurm::parse_licenses(text);
            if (!l) return l.error().message;
            for (const auto& one : *l) {
              if (!gwang::slurm::license_name_ok(one.name))
                return "license '" + one.name + "': expected a name of letters, digits, '.', '_' or '-'";
            }
            return std::string();
          },
          "NAME:SEATS[,...]"));
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

// gwang controller and gwang agent, each when wanted.
void add_daemons(CLI::App& app, const Wanted& wanted, Commands& c) {
  if (wanted("controller")) {
    DaemonArgs& a = c.controller_args;
    CLI::App* ctl = c.ctl =
        app.add_subcommand("controller", "Run the controller of a cluster whose nodes run 'gwang agent'");
    ctl->add_option("--config", a.config, "configuration file (TOML; see etc/controller.toml)")->required();
    ctl->add_flag("--check", a.check, "check the configuration and exit");
    ctl->add_option(
        "--store", a.store,
        "the journal's store, over the configuration's: postgresql://USER@HOST/DB (default: SQLite in data_dir)");
  }
  if (wanted("agent")) {
    DaemonArgs& a = c.agent_args;
    CLI::App* agt = c.agt =
        app.add_subcommand("agent", "Run a node's agent: it registers with the controller and runs its tasks");
    agt->add_option("--config", a.config, "configuration file (TOML; see etc/agent.toml)")->required();
    agt->add_flag("--check", a.check, "check the configuration and exit");
  }
}

// The options of every command that calls the controller: where it is, who we are, and --json.
void client_options(CLI::App* c, ClientArgs& a) {
  c->add_option("--url", a.url, "controller URL (default: $GWANG_URL, then the local 'gwang up')");
  c->add_option("--token", a.token, "API token (default: $GWANG_TOKEN, then the local 'gwang up')");
  c->add_flag("--json", a.json, "print JSON");
}

// What a job asks for, of gwang submit and gwang run.
void job_options(CLI::App* sb, SubmitArgs& submit) {
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
  sb->add_option("--partition", submit.partition, "the partition (node pool) it runs in (default: the default one)");
}

// gwang submit and gwang run, when wanted.
void add_submit(CLI::App& app, const Wanted& wanted, Commands& c) {
  if (wanted("submit")) {
    SubmitArgs& submit = c.submit;
    CLI::App* sb = c.sb =
        app.add_subcommand("submit", "Submit a job: gwang submit [options] -- COMMAND ARGS, or a SCRIPT");
    job_options(sb, submit);
    sb->add_option("--array", submit.array, "a job array: one job per index (0-15, 1,3,5-7, 0-15:4, %N at once)");
    sb->add_flag("--hold", submit.hold, "submit it held: it waits until released (gwang release)");
    sb->add_option("command", submit.command, "the command and its arguments, or a script")->required()->expected(-1);
  }
  if (wanted("run")) {
    CLI::App* rn = c.rn = app.add_subcommand(
        "run", "Run a command now on the resources asked for, its output here: gwang run [-it] [options] -- COMMAND");
    job_options(rn, c.submit);
    rn->add_flag("-t,--tty", c.tty, "on a terminal of this one's (its size, raw keys, Ctrl-C to the command)");
    rn->add_flag("-i,--interactive", c.interactive, "its input from here: with -t, the terminal's");
    rn->add_option("command", c.submit.command, "the command and its arguments")->required()->expected(-1);
  }
}

// gwang session start, list, open and stop, when wanted.
void add_session(CLI::App& app, const Wanted& wanted, Commands& c) {
  if (!wanted("session")) return;
  CLI::App* s = app.add_subcommand("session",
                                   "Sessions: a notebook, TensorBoard, an editor, a terminal or a "
                                   "service of your own, reached through the controller");
  s->require_subcommand(1);
  c.session.time.clear();  // none given: the controller's longest (session_max_life)
  c.ss = s->add_subcommand("start", "Start a session: gwang session start --app APP [options] [-- ARGS]");
  job_options(c.ss, c.session);
  c.ss->add_option("--app", c.session_app, "jupyter, tensorboard, vscode, terminal, or custom:PORT (your own service)")
      ->required();
  c.ss->add_option("--idle-timeout", c.session_idle,
                   "ends after this long unused (default: the controller's session_idle_timeout)");
  c.ss->add_flag("--no-wait", c.session_no_wait, "return once submitted, not once its service answers");
  c.ss->add_option("command", c.session.command, "the app's arguments, or a custom app's command (after --)")
      ->expected(-1);
  c.sl = s->add_subcommand("list", "Your sessions (with --all, also those that have ended)");
  client_options(c.sl, c.client);
  c.sl->add_flag("--all", c.all, "include ended sessions");
  for (auto [sub, name, help] : {std::tuple{&c.so, "open",
                                            "A link that opens a session in a browser (once, within a "
                                            "minute); a terminal in a terminal session"},
                                 std::tuple{&c.sx, "stop", "End a session"}}) {
    *sub = s->add_subcommand(name, help);
    client_options(*sub, c.client);
    (*sub)->add_option("session", c.job_arg, "session id")->required();
  }
}

// A subcommand of one job, named by its id, with the client's options; null when not wanted.
CLI::App* add_job_command(CLI::App& app, const Wanted& wanted, Commands& c, const char* name, const char* help) {
  if (!wanted(name)) return nullptr;
  CLI::App* sub = app.add_subcommand(name, help);
  client_options(sub, c.client);
  sub->add_option("job", c.job_arg, "job id")->required();
  return sub;
}

// gwang queue, show, cancel, hold, release and logs, each when wanted.
void add_jobs(CLI::App& app, const Wanted& wanted, Commands& c) {
  if (wanted("queue")) {
    c.q = app.add_subcommand("queue", "List jobs that have not ended (with --all, also those that have)");
    client_options(c.q, c.client);
    c.q->add_flag("--all", c.all, "include ended jobs");
    c.q->add_flag("--start", c.start, "the waiting jobs, with when each is expected to start (as squeue --start)");
  }
  c.sh = add_job_command(app, wanted, c, "show", "Show one job");
  c.ca = add_job_command(app, wanted, c, "cancel", "Cancel a job");
  c.ho =
      add_job_command(app, wanted, c, "hold", "Hold a pending job (or every pending task of an array) until released");
  c.rl = add_job_command(app, wanted, c, "release", "Release a held job");
  if (CLI::App* lg = c.lg = add_job_command(app, wanted, c, "logs", "Print a job's output")) {
    lg->add_flag("--stderr", c.stderr_stream, "the error stream instead of the output");
    lg->add_flag("--follow,-f", c.follow, "keep printing until the job ends");
    lg->add_option("--rank", c.rank, "the task of a multi-node job (default 0)")->check(at_least(0));
  }
  if (CLI::App* at = c.at = add_job_command(app, wanted, c, "attach",
                                            "A terminal in a running job's allocation: COMMAND (default $SHELL) on "
                                            "its first node, as srun --jobid=JOB --overlap --pty does")) {
    at->add_option("command", c.attach_command, "the command and its arguments (after --)")->expected(-1);
  }
}

// gwang nodes, drain and resume, each when wanted.
void add_nodes(CLI::App& app, const Wanted& wanted, Commands& c) {
  if (wanted("nodes")) {
    c.nd = app.add_subcommand("nodes", "List nodes");
    client_options(c.nd, c.client);
  }
  if (wanted("drain")) {
    c.dr = app.add_subcommand("drain", "Stop placing new jobs on a node");
    client_options(c.dr, c.client);
    c.dr->add_option("node", c.node_arg, "node name")->required();
  }
  if (wanted("resume")) {
    c.rs = app.add_subcommand("resume", "Place jobs on a drained node again");
    client_options(c.rs, c.client);
    c.rs->add_option("node", c.node_arg, "node name")->required();
  }
}

// gwang slurm install, when wanted.
void add_slurm(CLI::App& app, const Wanted& wanted, Commands& c) {
  if (!wanted("slurm")) return;
  CLI::App* sl =
      app.add_subcommand("slurm", "Slurm's commands (sbatch, squeue, scancel, sacct, sinfo, scontrol, srun)");
  sl->require_subcommand(1);
  c.si = sl->add_subcommand("install", "Make links named sbatch, squeue, ... to gwang in a directory (on PATH)");
  c.si->add_option("dir", c.slurm_dir, "the directory, e.g. /usr/local/bin")->required();
}

// gwang admin migrate-store, when wanted (under the books' admin command, already built).
void add_migrate(CLI::App& app, const Wanted& wanted, Commands& c) {
  if (!wanted("admin")) return;
  c.mig = app.get_subcommand("admin")->add_subcommand(
      "migrate-store", "Copy a stopped controller's embedded store into PostgreSQL, and check the copy");
  c.mig->add_option("--data", c.migrate.data, "the controller's data_dir (it holds state.db)")->required();
  c.mig->add_option("--to", c.migrate.to, "the PostgreSQL store: postgresql://USER@HOST/DB (an empty one)")->required();
}

// Runs the subcommand parsed, or hands the command (`argv`) to gwang-server: its exit status (2 if none was).
int run_parsed(const Commands& c, const BookCommands& books, [[maybe_unused]] char** argv) {
  auto parsed = [](const CLI::App* sub) { return sub != nullptr && sub->parsed(); };
#ifdef GWANG_SERVER
  if (parsed(c.mig)) return run_migrate_store(c.migrate);
#else
  if (parsed(c.mig)) return exec_server(argv);
#endif
  if (books.action()) return books.action()();
  if (parsed(c.r)) return run_replay(c.replay);
  if (parsed(c.p)) return run_pack(c.pack);
  if (parsed(c.tn)) return run_tenants_sim(c.tenants);
#ifdef GWANG_SERVER
  if (parsed(c.u)) return run_up(c.up);
  if (parsed(c.ctl)) return run_controller(c.controller_args);
  if (parsed(c.agt)) return run_agent(c.agent_args);
#else
  if (parsed(c.u) || parsed(c.ctl) || parsed(c.agt)) return exec_server(argv);
#endif
  if (parsed(c.sb)) return run_submit(c.submit);
  if (parsed(c.rn)) {
    if (c.interactive && !c.tty) {
      std::fprintf(stderr, "gwang: run -i: a step's input is its terminal's; give -t with it (-it)\n");
      return 2;
    }
    return run_interactive(c.submit, c.tty);
  }
  if (parsed(c.ss)) return run_session_start(c.session, c.session_app, c.session_idle, !c.session_no_wait);
  if (parsed(c.sl)) return run_session_list(c.client, c.all);
  if (parsed(c.so)) return run_session_open(c.client, c.job_arg);
  if (parsed(c.sx)) return run_cancel(c.client, c.job_arg);
  if (parsed(c.si)) return run_slurm_install(c.slurm_dir);
  if (parsed(c.q)) return run_queue(c.client, c.all, c.start);
  if (parsed(c.sh)) return run_show(c.client, c.job_arg);
  if (parsed(c.ca)) return run_cancel(c.client, c.job_arg);
  if (parsed(c.ho)) return run_cancel(c.client, c.job_arg, "hold");
  if (parsed(c.rl)) return run_cancel(c.client, c.job_arg, "release");
  if (parsed(c.lg)) return run_logs(c.client, c.job_arg, c.stderr_stream, c.follow, c.rank);
  if (parsed(c.at)) return run_attach(c.client, c.job_arg, c.attach_command);
  if (parsed(c.nd)) return run_nodes(c.client);
  if (parsed(c.dr)) return run_node_state(c.client, c.node_arg, true);
  if (parsed(c.rs)) return run_node_state(c.client, c.node_arg, false);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
#ifdef GWANG_SERVER
  // A task of `srun --bcast`, started by the agent: its program fetched from srun, then run.
  if (argc > 1 && std::strcmp(argv[1], "bcast-exec") == 0) return gwang::cli::bcast_exec(argc - 2, argv + 2);
#endif
  // Slurm's commands: by the program's name (a link named sbatch), or as gwang's first word.
  if (const std::optional<int> rc = run_slurm_command(argc, argv)) return *rc;
  CLI::App app{"gwang: scheduler, simulator and operations tool of an AI computing centre"};
  app.require_subcommand(1);

  // Only the subcommand named is built: setting up every option of every subcommand costs more
  // than most commands' own work. An unknown first word (or --help) builds them all.
  const bool every = build_every(argc, argv);
  const Wanted wanted = [&](const char* name) { return every || std::strcmp(argv[1], name) == 0; };
  Commands c;
  add_sim(app, wanted, c);
  // --- the live system
  add_up(app, wanted, c);
  add_daemons(app, wanted, c);
  add_submit(app, wanted, c);
  add_session(app, wanted, c);
  add_jobs(app, wanted, c);
  add_nodes(app, wanted, c);
  add_slurm(app, wanted, c);
  BookCommands books;
  books.add(app, wanted);
  add_migrate(app, wanted, c);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);  // prints help or the error
    return rc == 0 ? 0 : 2;
  }
  return run_parsed(c, books, argv);
}
