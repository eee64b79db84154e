// The controller's records of jobs, their tasks and steps, and nodes, as it keeps them in memory,
// journals and snapshots them, and shows them; and the states they pass through.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/devices.h"
#include "agent/task.h"
#include "api/job_state.h"
#include "api/reason.h"
#include "api/request.h"
#include "core/scheduler.h"

namespace gwang::controller {

using api::Hold;
using api::JobState;
using api::kJobStates;
using api::parse_hold;
using api::parse_job_state;

// One task (rank) of a running job.
struct TaskRecord {
  std::string node;
  std::vector<std::string> devices;       // UUIDs of the devices it got
  std::vector<core::DeviceShare> shares;  // the same as the core placed them
  bool done = false;
  bool lost = false;      // its node failed and left the job, which went on (--no-kill); done too
  std::vector<int> cpus;  // the CPU ids it holds and is bound to; empty: not bound
  bool operator==(const TaskRecord&) const = default;
};

// One task of a job step.
struct StepTaskRecord {
  int node = 0;                        // the job's node it runs on: an index into JobRecord::tasks
  JobState state = JobState::Running;  // how it ended (Completed, Failed, Cancelled, OutOfMemory, NodeFail)
  int exit_code = 0, signal = 0;
  std::vector<int> cpus;             // the CPU ids it is bound to, of its job's there; empty: not bound
  std::vector<std::string> devices;  // its devices (UUIDs) where its step has its own (own_devices)
  bool done() const { return state != JobState::Running; }
};

// A job step: a command a running job has its nodes run as tasks (srun inside the job). Its tasks
// share the job's allocation on each node: its devices and memory, within its CPUs.
struct StepRecord {
  int id = 0;
  std::string name;  // the program's base name unless asked otherwise
  std::vector<std::string> argv;
  std::string workdir;
  std::vector<std::pair<std::string, std::string>> env;  // the asker's; each task's own are added to it
  int cpus_per_task = 1;
  bool cpus_per_task_given = false;  // SLURM_CPUS_PER_TASK is set only when asked for
  bool kill_on_bad_exit = false;
  bool no_kill = false;  // a failed node ends its tasks there, not the step (srun -k)
  // What it holds of its job's on each of the job's nodes (by index; 0 where it has no task), as
  // Slurm 22.05's steps hold it: other steps wait while it runs, unless it overlaps (holds nothing).
  bool overlap = false;
  std::vector<int> node_cpus;
  std::vector<std::int64_t> node_mem;  // bytes; also each of its tasks' memory limit there
  // Its own of the job's devices (srun --gres, --gpus...), held on each node (UUIDs); without,
  // it has (and holds) all of the job's.
  bool own_devices = false;
  std::vector<std::vector<std::string>> node_devices;
  bool preserve_env = false;          // srun -E: its tasks keep the job's SLURM_NTASKS, SLURM_NNODES, ...
  std::int64_t time_s = 0;            // its own time limit (srun -t), seconds from its start; 0: the job's
  std::vector<int> resv_ports;        // the ports reserved for it on each of its nodes (srun --resv-ports)
  int pty_rows = 0, pty_cols = 0;     // above 0: its first task's terminal (srun --pty)
  std::vector<StepTaskRecord> tasks;  // by task id (SLURM_PROCID)
  JobState state = JobState::Running;
  std::optional<JobState> failure;  // the state of the first task that failed
  bool cancelled = false;           // ended by a cancel: CANCELLED, whatever its tasks did
  // Its tasks' highest wait status (an exit code over a signal), as sacct shows it.
  int exit_code = 0, signal = 0;
  std::int64_t start = -1, end = -1;
  std::string stopping;  // being ended, and why ("" not)
  bool ended() const { return state != JobState::Running; }
  std::vector<int> nodes() const;  // the job's nodes it runs on (indices), in order
};

// Job ids run from 1 up, as Slurm's do, to its largest (MaxJobId's ceiling, 0x7fff0000).
inline constexpr std::int64_t kMaxJobId = 0x7fff0000;

// Which of a running job's processes a signal goes to (Slurm's scancel and --signal):
enum class SignalTarget {
  Steps,  // its steps' tasks (for a job without a script, its own tasks), not the batch shell
  Batch,  // the batch step: its shell and what the shell runs (scancel -b)
  Shell,  // the batch shell alone (sbatch --signal=B:)
  All,    // both (scancel -f)
};

// A signal sent to a running job (scancel --signal, or sbatch --signal's before its end), kept in
// the order sent: its place in JobRecord::signals is its serial, by which agents send it once.
// A step's task gets the signals sent while it runs: those not older than the step.
struct SignalRecord {
  std::int64_t time = 0;  // when sent, Unix seconds
  int attempt = 0;        // to the job's run of this attempt
  int number = 0;
  SignalTarget target = SignalTarget::Steps;
  int step = -1;       // Steps: this step only; -1 all
  bool timed = false;  // sbatch --signal's, before the time limit
  bool operator==(const SignalRecord&) const = default;
};

// Why a waiting job waits, as the core last said: what its reason's words are made from when read
// (Controller::reason_of).
// 40 bytes, kept for every waiting job.
struct Waiting {
  bool known = false;  // the core has the job
  core::PendingReason reason = core::PendingReason::Priority;
  int tasks = 0;
  std::int64_t reserved_at = -1;
  std::int64_t blocker = 0;
  std::int64_t blocker_at = -1;  // the blocker's expected start, when it holds a reservation
  std::int64_t begin = -1;
  bool operator==(const Waiting&) const = default;
};

struct JobRecord {
  std::int64_t id = 0;
  std::string user;
  std::string project;       // charged to ("" where the centre requires none)
  bool preemptible = false;  // asked for, or made so because the project's grants are spent
  api::SubmitRequest request;
  JobState state = JobState::Pending;
  std::string reason;  // why it waits, or how it ended
  // The code of `reason` in a copy made to be shown (Controller::job, jobs, with_reason).
  api::ReasonCode reason_code = api::ReasonCode::None;
  // Makes this a copy to be shown, with `shown` as its reason (its text may view this record's).
  void show(api::Reason shown) {
    reason = std::string(shown.text);
    reason_code = shown.code;
  }
  std::int64_t submit = 0, start = -1, end = -1;  // Unix seconds
  int exit_code = 0;
  int attempt = 0;                // how many times it was requeued
  std::vector<TaskRecord> tasks;  // while running (and after): one per rank
  std::int64_t array_job = 0;     // a task of a job array: the array's id (its first task's id) ...
  std::int64_t array_task = -1;   // ... and its index
  bool in_array() const { return array_task >= 0; }
  // Pending under the multifactor order (job() only): its priority, term by term, as last ranked.
  std::optional<core::PriorityTerms> priority;
  // Held until released (scontrol hold): "user" by its owner (JobHeldUser), "admin" by an
  // operator (JobHeldAdmin, which only an operator releases); "" not held.
  Hold hold = Hold::None;
  std::vector<StepRecord> steps;  // of the current attempt, by id
  // Grows with each end of a task of its steps and each arrival of their output: what srun,
  // following a step, waits for (Controller::wait_step_news). Not kept: 0 again after a restart.
  std::uint64_t step_news = 0;
  std::vector<SignalRecord> signals;  // sent to it, in order (all attempts)
  // The job's own credential while it runs (random, made at each start): its tasks' GWANG_TOKEN,
  // with which the commands inside the job (srun, squeue, ...) act as its user.
  std::string credential;
  bool ended() const { return state != JobState::Pending && state != JobState::Running; }
  std::string nodelist() const;  // "n1,n2": its nodes, less those it lost (--no-kill)
  // A batch job runs its script on its first node only; its other nodes are held for the steps
  // the script starts. An allocation runs nothing: its nodes are held for its holder's steps.
  // Other jobs run their command on every node.
  bool batch() const { return !request.script.empty(); }
  bool allocation() const { return request.allocation != api::Allocation::None; }
  bool runs_rank(std::size_t rank) const { return !allocation() && (rank == 0 || !batch()); }
};

// How a device shows, in metrics and on the dashboard's map: "unavailable" on a node that takes no
// work, else "free", "shared" (part of it in use) or "busy", by the milli-devices in use.
inline const char* device_state(bool node_usable, std::int64_t milli_used) {
  return !node_usable ? "unavailable" : milli_used <= 0 ? "free" : milli_used >= core::kMilli ? "busy" : "shared";
}

struct NodeRecord {
  std::string name;
  std::string state;  // "up", "drained", "down" (an agent that went silent), "drained+down"
  int cpus = 0, cpus_used = 0;
  std::int64_t memory_bytes = 0, memory_used = 0;
  std::vector<agent::Device> devices;
  std::vector<int> device_used;  // per device: the milli-devices the running tasks hold of it
  std::vector<std::int64_t> jobs;
  std::vector<std::string> partitions;  // the partitions it is in
  std::string tracking;                 // how the agent tracks tasks there
  std::string address;
  bool local = false;                 // run by the controller's own process
  std::int64_t last_seen = -1;        // Unix seconds of the agent's last call (remote nodes)
  std::vector<std::string> features;  // what jobs may ask of it besides resources (--constraint)
  std::int64_t tmp_bytes = 0;         // its temporary file system (--tmp)
};

// The controller's own figures: what it holds and how long its scheduling passes take.
struct Status {
  std::int64_t pending = 0, running = 0, jobs = 0;
  std::int64_t nodes = 0, nodes_up = 0;
  std::int64_t passes = 0;                                                     // since start
  double pass_ms_last = 0, pass_ms_p50 = 0, pass_ms_p99 = 0, pass_ms_max = 0;  // over the last 1,000 passes
  std::int64_t journal_seq = 0, snapshot_seq = 0;
};

// How a job's rank ended when it decides how the job ends (its first failure), or how a rank ended.
struct Failure {
  JobState state = JobState::Failed;
  int exit_code = 0;
  std::string reason;
};

// The core counts memory in MiB.
inline constexpr core::Milli kMiB = 1LL << 20;

// The state a task's end gives it (and its job, when it is the one that decides).
JobState state_for(agent::TaskEnd end, int exit_code);
// How the core sees a job that ended in `state`.
core::JobState core_outcome(JobState state);

}  // namespace gwang::controller
