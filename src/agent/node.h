// A node's agent: runs the tasks the controller assigns to the node and reports how they ended.
// The same class serves the controller's own node (in process, `gwang up`) and a remote node
// (`gwang agent`, which talks to the controller over the agent protocol). Not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "agent/devices.h"
#include "agent/service_link.h"
#include "agent/task.h"
#include "agent/terminal_link.h"
#include "agent/tracker.h"
#include "core/result.h"
#include "net/tls.h"

namespace gwang::agent {

struct Frequencies;

// One task of a job, as the controller asks a node to run it.
struct Launch {
  // "JOB.ATTEMPT.RANK", or "JOB.ATTEMPT.sSTEP.RANK" for a task of a job step (srun inside a job):
  // unique in the cluster, also across requeues.
  std::string task;
  std::int64_t job = 0;
  int attempt = 0;
  int rank = 0;      // the job's rank, or the step's task (SLURM_PROCID)
  int step = -1;     // the job step it belongs to; -1: the job's own task
  std::string user;  // the account it runs as, looked up on the node
  std::vector<std::string> argv;
  std::string workdir;  // empty: the account's home
  // The job's environment (GWANG_*, the rank variables, the user's own); the agent adds PATH,
  // HOME, USER, LOGNAME and the device variables.
  std::vector<std::pair<std::string, std::string>> env;
  std::vector<std::string> devices;  // UUIDs of the node's devices it gets
  std::vector<int> cpus;             // the CPU ids it is bound to; empty: not bound
  bool cpu_bind_verbose = false;     // says its binding on its standard error first (srun --cpu-bind=verbose)
  bool cpu_bind_none = false;        // ... which is none (--cpu-bind=verbose,none: it runs on all of cpus)
  std::int64_t memory_limit_bytes = 0;
  // A batch script: written to a file of the task's user on the node and run with argv as its
  // arguments (argv may then be empty).
  std::string script;
  // The job's own output files (sbatch's -o, -e), relative to workdir, opened as the user:
  // TaskSpec::output. Empty: the task's output goes to the agent's log files.
  std::string output, error;
  bool output_append = false;  // appended to (a requeued job's second run, --open-mode), else truncated
  std::string input;           // likewise the file its standard input comes from (default /dev/null)
  // Rows and columns above 0: it runs on a terminal of this size (srun --pty), which the agent
  // links to the controller's end of it (api/v1/agent/terminals/TASK), showing this secret.
  int terminal_rows = 0, terminal_cols = 0;
  std::string terminal_secret;
  // 0 or more: it serves a session (api/session.h) on 127.0.0.1 at this port, or (0) at one the
  // agent chooses and gives it as GWANG_SESSION_PORT; the agent links it to the controller's proxy
  // (api/v1/agent/services/TASK), showing this secret. -1: no service.
  int service_port = -1;
  std::string service_secret;
};

// Where a node keeps the batch script of a task: log_dir/scripts/TASK/script.
std::string script_path(const std::string& log_dir, const std::string& task);

// A task that has ended, as the node saw it.
struct Finished {
  std::string task;
  TaskStatus status;
  std::string message;  // why it could not start, or how it was ended
  bool fenced = false;  // ended by the agent itself when the controller could not be reached
};

// What a task id names: a rank of a job's attempt, or a task of one of its steps.
struct TaskRef {
  std::int64_t job = 0;
  int attempt = 0;
  int step = -1;  // -1: the job's own task
  int rank = 0;
};
// Splits "JOB.ATTEMPT.RANK" and "JOB.ATTEMPT.sSTEP.RANK"; nullopt when malformed.
std::optional<TaskRef> parse_task_id(const std::string& task);
std::string task_id(std::int64_t job, int attempt, int rank);
std::string step_task_id(std::int64_t job, int attempt, int step, int rank);
// The log file of a task's stream under a log directory: "JOB/ATTEMPT.RANK.stdout" (for a step's
// task "JOB/ATTEMPT.sSTEP.RANK.stdout"). The task id must be well formed.
std::string log_name(const std::string& task, bool stderr_stream);

struct NodeAgentOptions {
  std::string log_dir;  // task output goes to log_dir/log_name(...)
  HostResources host;
  TrackingOptions tracking;
  std::chrono::milliseconds kill_grace{10000};
  bool allow_root = false;   // whether tasks may run as root
  std::string group_suffix;  // appended to task group names: tells this agent's tasks from others'
  // Where the agent keeps its tasks (the file `tasks`: task, keeper pid, start time, group) and
  // their exit statuses (`status/TASK`) until the controller has them, so that a restarted agent
  // adopts what still runs and reports what ended meanwhile. Empty: kept in memory only.
  std::string state_dir;
  // Where tasks reach the controller (one URL or several, comma-separated): their GWANG_URL, so
  // that the commands inside a job find it. Empty: not set.
  std::string controller_url;
  // What terminals' and sessions' links verify an https:// controller with, and tasks are given as
  // GWANG_CA ("": the system's store, and no GWANG_CA).
  std::string controller_ca;
  // Where the kernel's sysfs is (its cpufreq files set tasks' CPU frequencies): "/sys".
  std::string sysfs = "/sys";
  // The NVML library that sets tasks' GPU clocks (--gpu-freq).
  std::string nvml_library = "libnvidia-ml.so.1";
};

// Forgets every task a state directory records (a clean stop, once its tasks have ended): the
// next agent on it adopts nothing.
void forget_recorded(const std::string& state_dir);

class NodeAgent {
 public:
  explicit NodeAgent(NodeAgentOptions options);
  ~NodeAgent();  // ends every task still running

  const HostResources& host() const { return options_.host; }
  const Tracking& tracking() const { return tracking_; }

  // Starts a task. A task id seen before is ignored (the controller may send a launch twice). A
  // task that cannot start is reported by the next poll, with the reason and exit code 127.
  void launch(const Launch& launch, Clock::time_point now);
  // Asks a task to end: SIGTERM now, SIGKILL after the grace. Unknown or ended tasks: nothing.
  void terminate(const std::string& task, TaskEnd why, Clock::time_point now, const std::string& message = "");
  // Ends every task; `fenced` marks them as ended because the controller was out of reach.
  void terminate_all(TaskEnd why, Clock::time_point now, const std::string& message, bool fenced);
  // Sends a task the signal of serial `serial` (agent/protocol.h's Signal), once: a serial not
  // above the last it was sent is passed over, also after the agent restarts. Unknown or ended
  // tasks: nothing.
  void signal(const std::string& task, int serial, int number, bool main_only);
  // The last serial sent to each running task that was sent any.
  std::map<std::string, int> signalled() const;
  // Tasks that have ended since the last call.
  std::vector<Finished> poll(Clock::time_point now);
  // Tasks running now (including those being ended).
  std::vector<std::string> running() const;
  // The controller has recorded that the task ended: its status is no longer kept.
  void acknowledge(const std::string& task);
  // Adopts the tasks a previous agent with the same state directory left: those still running
  // go on under this agent; those that ended meanwhile are reported by the next poll. Returns
  // the tasks, running or ended.
  std::vector<std::string> adopt_recorded();
  bool knows(const std::string& task) const { return seen_.contains(task); }
  void set_controller(const std::string& url, const std::string& ca_file) {
    options_.controller_url = url;
    options_.controller_ca = ca_file;
    link_tls_.reset();
  }

 private:
  struct Running {
    std::unique_ptr<Task> task;
    std::string message;
    bool fenced = false;
    std::string group;  // the task group's name
    long long started = -1;
    int signalled = -1;  // the last serial sent
    // srun --slurmd-debug: the start of the agent's lines about the task, and the file they go to
    // (its standard error); empty: none.
    std::string debug_note, debug_log;
    std::shared_ptr<const Frequencies> freq;  // --cpu-freq, --gpu-freq: what to put back
  };
  // --cpu-freq and --gpu-freq: the frequencies a task asks (SLURM_CPU_FREQ_REQ, SLURMD_TRES_FREQ or
  // SLURM_GPU_FREQ) set on its CPUs and GPUs; what to put back (null: nothing was set).
  std::shared_ptr<const Frequencies> set_frequencies(const Launch& l, TaskSpec& spec) const;
  static void put_back(const std::string& sysfs, const Frequencies& freq);
  // srun --slurmd-debug: the agent's lines about a task that started, and one that ended.
  void debug_started(Running& r, const Launch& l, const TaskSpec& spec, pid_t pid);
  static void debug_ended(const Running& r, const TaskStatus& status);
  struct Done {
    pid_t pid = -1;
    long long started = -1;
    std::string group;
  };
  NodeAgentOptions options_;
  Tracking tracking_;
  std::map<std::string, Running> tasks_;
  std::map<std::string, Done> done_;  // ended, until acknowledged
  // A session's service's port (Launch::service_port): one chosen where it is 0; why not, if not.
  std::optional<std::string> choose_service_port(int& port);
  // A started task's links to the controller: its terminal's, its session's service's.
  void link(const Launch& l, Task& task, int service_port, Clock::time_point now);
  void save();                           // rewrites the state file whole
  void append(const std::string& line);  // adds a change to it
  int state_fd_ = -1;
  std::size_t appended_ = 0;  // changes appended since it was last rewritten
  std::vector<Finished> failed_to_start_;
  std::vector<std::unique_ptr<Task>> unremoved_;                  // ended tasks whose groups the kernel still holds
  std::map<std::string, std::unique_ptr<TerminalLink>> links_;    // tasks' terminals, until their links end
  std::map<std::string, std::unique_ptr<ServiceLink>> services_;  // sessions' services, while their tasks run
  std::optional<Result<net::TlsContext>> link_tls_;               // what links verify an https:// controller with
  // Why links cannot be made to the controller (no URL; no trust for https://), if they cannot.
  std::optional<std::string> link_problem(const char* what);
  // The context links verify the controller with (null for an http:// one); after link_problem.
  net::TlsContext link_tls() const { return link_tls_ && *link_tls_ ? **link_tls_ : nullptr; }
  std::set<std::string> seen_;
};

}  // namespace gwang::agent
