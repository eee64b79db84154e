// One task of a job on this node: a process tree started as the job owner's account, its output in
// files, tracked as a whole, ended by its own exit, a time limit or a cancel.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agent/tracker.h"
#include "core/result.h"

namespace gwang::agent {

using Clock = std::chrono::steady_clock;

struct TaskSpec {
  std::string name;               // unique on the node, e.g. "job-42.0"
  std::vector<std::string> argv;  // argv[0] is looked up in the env's PATH
  // Non-empty: what runs argv, as `LAUNCHER... PROGRAM ARGS...` with PROGRAM found as above and
  // LAUNCHER's first word the program executed: `gwang-pmix --` for a task of `srun --mpi=pmix`,
  // `gwang-server bcast-exec N --` before it for one of `srun --bcast`.
  std::vector<std::string> launcher;
  // False: PROGRAM is not looked for on the node, where the launcher puts it (srun --bcast).
  bool find_program = true;
  std::vector<std::pair<std::string, std::string>> env;  // the whole environment: nothing is inherited
  std::string workdir;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;             // supplementary groups
  std::string stdout_path, stderr_path;  // created (owned by uid) or appended to
  // The job's own output files (sbatch's -o and -e), opened by the task itself once it runs as
  // its user and is in its working directory, so that it writes only where its user may. Empty:
  // the stream stays on stdout_path (stderr_path). An empty output_error with a non-empty output
  // sends both streams to output. With output_append false they are truncated.
  std::string output, output_error;
  bool output_append = false;
  std::string input;                 // likewise, the job's standard input (sbatch's -i); empty: /dev/null
  long long memory_limit_bytes = 0;  // 0: no limit
  // Devices of the node the task may not use, as cgroup rules ("c 195:1 rwm"): enforced where the
  // host has the cgroup v1 devices controller (Tracking::enforces_devices).
  std::vector<std::string> denied_devices;
  // The CPU ids the task (and what it starts) runs on: its affinity, and its cgroup's cpuset where
  // the host has the cgroup v2 cpuset controller. Empty: wherever the agent may run.
  std::vector<int> cpus;
  // Non-empty: written to the task's standard error before it runs, its process id between the two
  // ("cpu-bind=MASK - n1, task  0  0 [" pid "]: mask 0x1 set\n"), as Slurm's task/affinity says a binding.
  std::string bind_note_head, bind_note_tail;
  // Likewise a second line, of its memory binding ("mem-bind=LOC - n1, task  0  0 [" pid "]: mask 0x1 set").
  std::string mem_note_head, mem_note_tail;
  // The task's memory policy (set_mempolicy(2)): 0 (none), or MPOL_BIND or MPOL_PREFERRED of the
  // NUMA nodes `mem_nodes` (srun --mem-bind).
  int mem_policy = 0;
  std::vector<int> mem_nodes;
  // Written on its standard error before it runs (what the agent set for it: --gpu-freq's clocks).
  std::string note;
  // Non-empty: the task does not run its program: this is written on its standard error and it
  // exits 1, as Slurm's slurmstepd ends a task whose binding the node cannot make.
  std::string refusal;
  // Non-empty: the task runs under a small keeper process that waits for it and writes its exit
  // status here, so that an agent that restarts can adopt the task and still learn how it ended.
  std::string status_path;
  // The file mode creation mask the task starts with (umask); -1: the agent's own.
  int umask = -1;
  // Non-empty: this variable of the task's environment is its own process id (SLURM_TASK_PID).
  std::string pid_variable;
  // Soft resource limits the task starts with (resource, value), each capped at its hard limit.
  std::vector<std::pair<int, std::uint64_t>> rlimits;
  // Rows and columns above 0: the task's standard input, output and error are a new
  // pseudo-terminal of this size, owned by its user, which is its controlling terminal (srun
  // --pty); the agent holds the terminal's other side (Task::terminal). Its output then goes
  // there alone, and input and output files are not opened.
  unsigned short terminal_rows = 0, terminal_cols = 0;
};

enum class TaskEnd {
  Exited,       // the main process exited by itself (see exit_code)
  Signaled,     // the main process died of a signal nobody here sent (see signal)
  TimedOut,     // ended by the agent at the time limit
  Cancelled,    // ended by the agent on request
  OutOfMemory,  // killed by the kernel at the task's memory limit
};

std::string_view to_string(TaskEnd end);

struct TaskStatus {
  TaskEnd end = TaskEnd::Exited;
  int exit_code = 0;  // for Exited
  int signal = 0;     // the signal that ended the main process, if one did
};

class Task {
 public:
  // Starts the task and returns at once. Fails, with the reason, when the program cannot be found
  // or the output files cannot be opened; nothing is left running then. What fails in the child
  // (the account, the working directory, executing the program) ends the task with exit code 127,
  // and failure() then says why.
  static Result<std::unique_ptr<Task>> launch(const TaskSpec& spec, const Tracking& tracking);

  // Takes over a task a previous agent launched with a status path: `pid` is its keeper, checked
  // against `start_time` (a reused pid is not the task). The task may have ended meanwhile; poll
  // then reports how, from the status file.
  static Result<std::unique_ptr<Task>> adopt(const std::string& name, pid_t pid, long long start_time,
                                             const std::string& status_path, const Tracking& tracking);

  ~Task();
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;

  pid_t pid() const { return pid_; }
  // The kernel's start time of a process, in clock ticks since boot; -1 if it is gone, or if it is
  // a zombie and `zombies` is false.
  static long long start_time(pid_t pid, bool zombies = false);
  // Whether `pid` is still the live process that started at `start_time` (never for -1).
  static bool same_process(pid_t pid, long long start_time);
  long long started() const { return start_time_; }  // start_time(pid()) when it was launched
  const std::string& name() const { return name_; }
  // Why the task could not start (empty if it did, or if that is not known yet).
  const std::string& failure() const { return failure_; }

  // Asks the task to end: SIGTERM to all its processes now, SIGKILL to what is left after `grace`.
  // `why` is TimedOut or Cancelled. A second call keeps the first reason and deadline.
  void terminate(TaskEnd why, Clock::duration grace, Clock::time_point now);

  // Sends `number` to all the task's processes, or to its main program alone (`main_only`: a batch
  // shell, not what it runs). Nothing once it has ended; a task whose program has not started yet
  // gets it once the program runs.
  void signal(int number, bool main_only);

  // Non-blocking. Reaps the main process if it has exited; then ends whatever of the task is still
  // running (no process of a task outlives it) and, once nothing is left, returns the final status.
  // Until then nullopt. Call it regularly, and at the kill deadline.
  std::optional<TaskStatus> poll(Clock::time_point now);

  // The terminal's other side (TaskSpec::terminal_rows): what the task writes is read here, what
  // is written here is its input (a Ctrl-C, 0x03, interrupts it as a terminal does). Non-blocking;
  // -1 for a task without one. A read fails with EIO once the task and its keeper have ended.
  int terminal() const { return terminal_fd_; }
  // A new size of the terminal: the task's foreground processes get SIGWINCH.
  Result<void> resize(unsigned short rows, unsigned short cols);

  // After the final status: true once the task's groups are removed too (asks again each call;
  // the kernel may keep a group busy a moment after its last process). The destructor waits for
  // what is still there.
  bool cleaned();

 private:
  Task() = default;
  // Reads the child's report without waiting: true once it is known whether the program was
  // executed (failure_ says what went wrong, if anything did).
  bool read_report();

  std::string name_;
  pid_t pid_ = -1;
  std::unique_ptr<ProcessTracker> tracker_;
  std::optional<int> wait_status_;            // of the main process, once reaped
  std::optional<TaskEnd> requested_;          // why the agent is ending it
  std::optional<Clock::time_point> kill_at_;  // SIGKILL deadline
  std::optional<TaskStatus> final_;
  bool adopted_ = false;  // not our child: its status comes from the file
  long long start_time_ = -1;
  std::string status_path_;
  bool removed_ = false;                                // the tracker's groups are gone
  bool term_deferred_ = false;                          // SIGTERM is due once the program runs
  std::vector<std::pair<int, bool>> signals_deferred_;  // signal() calls due once the program runs
  void send(int number, bool main_only);
  int report_fd_ = -1;    // the child's report: a failure, or end of file once it executed
  int terminal_fd_ = -1;  // the terminal's side the agent holds, or -1
  std::string failure_;
  std::string output_, error_, input_;  // the job's own files, for failure_
};

}  // namespace gwang::agent
