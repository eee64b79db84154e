// srun's options: its command line and the variables it reads (srun(1), INPUT ENVIRONMENT
// VARIABLES), read into the step it asks the controller for.
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/slurm_jobs.h"

namespace gwang::cli {

// A setting of srun's: the value, and where it came from ("--ntasks" or the variable).
struct Setting {
  std::string text, from;
};

// What srun was asked: its settings by key ("ntasks", "jobid", ...), and the program to run.
struct SrunOptions {
  std::map<std::string, Setting> given;
  std::string name, chdir;
  bool quiet = false, verbose = false;
  int log_level = 3;  // Slurm's: 3 (info), one more for each -v, one less for each -Q (SRUN_DEBUG)
  std::vector<std::string> command;
  // Where the tasks' output and errors go (-o, -e): "" (srun's own), "none", a task's id (only
  // that task's), or a file name pattern; and whether files are appended to (--open-mode).
  std::string output, error;
  bool append = false;
  int wait_seconds = 0;  // -W: end the step this long after its first task ended (0: never)
  bool no_kill = false;  // -k: a failed node ends its tasks, not the step; -K and -W do nothing
  // --pty where srun's output is a terminal: its size, which task 0's terminal starts with (0: none).
  int pty_rows = 0, pty_cols = 0;
  std::int64_t time_limit = 0;  // -t: end the step after this many seconds (0: the job's limit)
  std::string multi_prog;       // --multi-prog: the configuration file (the command's first word)
  // --prolog and --epilog (run here, before and after the step, with its command as arguments);
  // --task-prolog and --task-epilog (run on the nodes, before and after each task).
  std::string prolog, epilog, task_prolog, task_epilog;
  std::optional<std::vector<std::string>> propagate;  // --propagate: the limits passed on (unset: all)
  bool pmi2 = false;  // --mpi=pmi2: srun serves the step's MPI tasks as their process manager
  bool pmix = false;  // --mpi=pmix: a PMIx server on each node serves them, srun relays among nodes
  // The options given that also shape a job's allocation, as "--NAME[=VALUE]" in sbatch's words:
  // what srun outside a job asks of the allocation it makes (srun_allocation.cpp).
  std::vector<std::string> allocation_args;
};

class HeldAllocation;
// srun outside a job: the allocation its options ask for, granted and asked after; null after
// saying why not, `*exit_code` srun's status then (srun_allocation.cpp).
std::unique_ptr<HeldAllocation> srun_allocation(const SrunOptions& o, int* exit_code);

// Says "srun: error: MESSAGE"; returns 1.
int srun_error(const std::string& message);
// A positive count written in digits, or nothing.
std::optional<int> positive(const std::string& text);
// Whether a flag setting ("label", "unbuffered") is on: given, and not "0".
bool flag_on(const SrunOptions& o, const char* key);

// Reads srun's environment and command line into `o`; returns the exit status when srun ends
// there (--help, --version, a mistake, no program given), nothing when it goes on.
std::optional<int> parse_srun(Argv& argv, SrunOptions& o);
// Puts the step's task counts, layout, nodes, name and directory into `body`, with Slurm's
// warnings for counts that do not fit together; returns 1 after saying why when a value is bad.
std::optional<int> step_layout(const SrunOptions& o, nlohmann::json& body);
// Puts the tasks' environment into `body`: this one's (--export=ALL), or its SLURM_* variables
// alone (NONE), and the variables named; returns 1 after saying why when --export is bad.
std::optional<int> step_environment(const SrunOptions& o, nlohmann::json& body);
// --pty with a terminal: task 0's terminal of its size in `body`, and the size in its
// environment, as Slurm tells its tasks (SLURM_PTY_WIN_ROW, SLURM_PTY_WIN_COL).
void step_pty(const SrunOptions& o, nlohmann::json& body);
// What the step holds of its job: --exact, --overlap, -I, memory, GPUs and -E (srun_shares.cpp).
std::optional<int> step_shares(const SrunOptions& o, nlohmann::json& body);
// --ntasks-per-gpu: the step's tasks (`ntasks`, unless given on the command line) from its GPUs on
// each of its `nodes`, and each task's GPU (srun_shares.cpp).
std::optional<int> step_tasks_per_gpu(const SrunOptions& o, nlohmann::json& body, std::optional<int>& ntasks,
                                      std::optional<int> nodes);
// -C, --gpu-bind, --resv-ports: the features of its nodes, its tasks' GPUs, its ports (srun_shares.cpp).
std::optional<int> step_placement(const SrunOptions& o, nlohmann::json& body);
// --mem-bind (and SLURM_MEM_BIND): the tasks' SLURM_MEM_BIND_* variables, by which each node's
// agent binds them; returns 255 after Slurm's words for a bad one (or its help) (srun_shares.cpp).
std::optional<int> step_mem_bind(const SrunOptions& o, nlohmann::json& body);
// --cpu-freq (and SLURM_CPU_FREQ_REQ): the tasks' SLURM_CPU_FREQ_REQ, in Slurm's words, which each
// node's agent sets on their CPUs; returns 255 after Slurm's two lines for a bad one (srun_shares.cpp).
std::optional<int> step_cpu_freq(const SrunOptions& o, nlohmann::json& body);
// --gpu-freq (and SLURM_GPU_FREQ): the tasks' SLURMD_TRES_FREQ ("gpu:VALUE"), by which each node's
// agent sets their GPUs' clocks; returns 255 after Slurm's words for a bad one (srun_shares.cpp).
std::optional<int> step_gpu_freq(const SrunOptions& o, nlohmann::json& body);
// --test-only: when and where a job of the step's counts would start, as Slurm's srun says it;
// nothing is submitted (srun_test_only.cpp). Returns srun's exit status.
int srun_test_only(const SrunOptions& o);
class BcastServer;
// --bcast (with --send-libs, --bcast-exclude, --compress): the program, and its libraries, served
// to the step's nodes by `server` at `address` (this host's, as the nodes reach it), and what the
// step's tasks are told to fetch them (srun_bcast.cpp). Returns 1 after saying why it cannot.
std::optional<int> step_bcast(const SrunOptions& o, const std::string& address, nlohmann::json& body,
                              std::unique_ptr<BcastServer>& server);
// With --task-prolog or --task-epilog, the step's command run between them: a shell that runs
// the prolog, takes its "export NAME=value", "unset NAME" and "print TEXT" lines as Slurm's
// slurmstepd takes them, runs the command, then the epilog.
void step_task_wrapper(const SrunOptions& o, nlohmann::json& body);
// With --multi-prog, the step's command: a shell that runs the program the configuration file gives
// each task (by SLURM_PROCID, with %t and %o replaced); returns 1 after saying why the file is bad.
std::optional<int> step_multi_prog(const SrunOptions& o, nlohmann::json& body);
// The id of the job the step runs in ("123" of "123.4"); nothing after saying why there is none.
std::optional<std::string> step_job_id(const SrunOptions& o);

}  // namespace gwang::cli
