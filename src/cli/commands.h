// The gwang command's subcommands. main.cpp parses the arguments into these option structs; each
// run_* function validates what parsing cannot, does the work and returns the exit status
// (0 success, 1 failure at run time, 2 bad arguments or input).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gwang::api {
struct SubmitRequest;
}

namespace gwang::cli {

struct ReplayArgs {
  std::string trace;
  std::string policy = "easy";
  std::string estimate = "requested";
  std::string loader = "predictsim";
  std::string format = "swf";  // or "sbatch" (sim/sbatch_workload.h)
  std::string windows;         // "I,J,..." 0-based first job of each window
  std::size_t window_jobs = 1024;
  std::int64_t procs = 0;    // machine size; 0: from the trace header
  std::string log;           // file for the decision log
  std::size_t by_group = 0;  // also show the N groups that used the most
  std::size_t by_user = 0;   // ... and users
  bool json = false;
  bool quiet = false;
  bool eta = false;  // measure the start estimates given at submission
};
int run_replay(const ReplayArgs& args);

struct PackArgs {
  std::string nodes;
  std::string pods;
  std::string policy = "fgd";  // one name, a comma list, or "all"
  std::string seeds = "42";    // "42", "42-51", "42,45"
  double tune = 1.3;
  std::string curve;  // CSV file of the curves
  std::string chart;  // SVG file of the allocation curves
  bool json = false;
  bool quiet = false;
};
int run_pack(const PackArgs& args);

struct TenantsArgs {
  std::string scenario;         // JSON file (docs/simulator.md)
  std::string policy = "both";  // multifactor, fcfs or both
  bool json = false;
};
int run_tenants_sim(const TenantsArgs& args);

// Shows progress on stderr when it is a terminal and not silenced.
class Progress {
 public:
  Progress(bool quiet, std::size_t total);
  void step(const std::string& what);
  void done();

 private:
  bool on_;
  std::size_t total_, done_ = 0;
};

// Parses "42", "42-51" or "42,45,50" into a list; an error message names the bad part.
bool parse_int_list(const std::string& text, std::vector<std::int64_t>& out, std::string& error);

}  // namespace gwang::cli

namespace gwang::cli {

// Where the controller is and who we are; empty: from the environment or `gwang up`'s files.
struct ClientArgs {
  std::string url;
  std::string token;
  bool json = false;
};

struct UpArgs {
  std::string data;  // default: default_data_dir()
  std::string listen = "127.0.0.1:8686";
  std::string user;  // the account the local token's jobs run as; default: the caller
  bool allow_root = false;
  std::vector<std::string> declare;  // "npu:ascend910=2"
  bool no_nvml = false;
  int cpus = 0;                      // the CPUs the node offers; 0: this host's
  std::string features;              // the node's features, "a100,ib" (jobs' --constraint)
  bool demo = false;                 // submit a first job once up
  std::string web;                   // the dashboard's directory (default: found beside the program)
  std::string queue_order = "fcfs";  // or "multifactor"
  std::string backfill = "easy";     // or "conservative"
  std::string cluster_name = "gwang";
  std::string licenses;  // the cluster's licenses, "matlab:2,fluent:30" (jobs' -L)
  bool tls = false;      // serve HTTPS with a certificate of its own (made once, kept in data)
};
int run_up(const UpArgs& args);

// gwang controller / gwang agent
struct DaemonArgs {
  std::string config;
  std::string store;   // the controller's store, over the configuration's (postgresql://...)
  bool check = false;  // check the configuration, print what it says, and exit
};
int run_controller(const DaemonArgs& args);
// gwang admin migrate-store: copies a controller's embedded store (data/state.db) into PostgreSQL.
struct MigrateArgs {
  std::string data;  // the controller's data_dir
  std::string to;    // the PostgreSQL store
};
int run_migrate_store(const MigrateArgs& args);
int run_agent(const DaemonArgs& args);
// The `gwang` command hands up, controller and agent to gwang-server (same arguments).
int exec_server(char** argv);

struct SubmitArgs {
  ClientArgs client;
  int cpus = 1;
  std::string mem = "1G";
  std::string gpus;
  double gpu_share = 0;
  int nodes = 1;
  std::string time = "1h";
  std::string name;
  std::string workdir;
  std::vector<std::string> env;  // K=V
  std::string project;
  bool preemptible = false;
  std::string begin;       // sbatch --begin's forms
  std::string dependency;  // Slurm's dependency syntax
  std::string array;       // Slurm's array syntax
  std::string partition;
  bool hold = false;
  std::vector<std::string> command;
};
int run_submit(const SubmitArgs& args);
// The request `args` ask for, into `r`; the exit status after saying why where one is bad.
std::optional<int> submit_request(const SubmitArgs& args, api::SubmitRequest& r);
// gwang run: an allocation of what `args` ask for, COMMAND run in it as a step (srun's), on a
// terminal of this one's with `tty`, and the allocation let go when it ends: its exit status.
int run_interactive(const SubmitArgs& args, bool tty);
// gwang session (session.cpp): start one of `app` ("jupyter", "custom:8888"; api::parse_session_app)
// on what `args` ask for (its command: the app's arguments, or a custom app's service), waiting
// until it answers unless !wait; list the caller's; open one (a browser's link, or a terminal
// session's terminal).
int run_session_start(const SubmitArgs& args, const std::string& app, const std::string& idle_timeout, bool wait);
int run_session_list(const ClientArgs& client, bool all);
int run_session_open(const ClientArgs& client, const std::string& session);

int run_queue(const ClientArgs& client, bool all, bool start = false);
int run_show(const ClientArgs& client, const std::string& job);
// POSTs the action (cancel, hold, release) to the job.
int run_cancel(const ClientArgs& client, const std::string& job, const char* action = "cancel");
int run_logs(const ClientArgs& client, const std::string& job, bool stderr_stream, bool follow, int rank);
// A terminal in a running job's allocation (attach.cpp): `command` (default $SHELL) on its first
// node; its exit code.
int run_attach(const ClientArgs& client, const std::string& job, std::vector<std::string> command);
int run_nodes(const ClientArgs& client);
int run_node_state(const ClientArgs& client, const std::string& node, bool drain);

// Slurm's commands (docs/slurm.md), each given its arguments after the command's name.
int run_sbatch(const std::vector<std::string>& args);
int run_squeue(const std::vector<std::string>& args);
int run_scancel(const std::vector<std::string>& args);
int run_sacct(const std::vector<std::string>& args);
int run_sinfo(const std::vector<std::string>& args);
int run_scontrol(const std::vector<std::string>& args);
int run_salloc(const std::vector<std::string>& args);  // an allocation, and a command with it
int run_srun(const std::vector<std::string>& args);    // inside a job's allocation: a job step
// Each of them by name, as a link to this program (`gwang slurm install`) or gwang's first word
// calls it (slurm.cpp).
struct SlurmCommand {
  const char* name;
  int (*run)(const std::vector<std::string>& args);
};
extern const SlurmCommand kSlurmCommands[8];
// Links named after each of them to this program in `dir`.
int run_slurm_install(const std::string& dir);

}  // namespace gwang::cli
