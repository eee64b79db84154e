// The body of a job submission (POST /api/v1/jobs), parsed and checked field by field.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/session.h"
#include "api/units.h"
#include "core/result.h"

namespace gwang::api {

// The largest array index any request may name; a controller allows less (max_array_size).
inline constexpr std::int64_t kMaxArrayIndex = 10'000'000;

// A job that runs nothing of its own and holds its resources for the steps its holder starts
// (salloc's, srun's outside a job): attended, its holder asks after it (GET .../allocation), and
// it ends once the holder has been silent longer than the controller's allocation_grace;
// unattended (salloc --no-shell), it is held until released, cancelled or out of time.
enum class Allocation { None, Attended, Unattended };
std::string_view to_string(Allocation a);  // "", "attended", "unattended"

struct SubmitRequest {
  std::string name;                                      // default: the program's base name
  std::vector<std::string> command;                      // required, argv
  std::string workdir;                                   // default: the user's home directory
  std::vector<std::pair<std::string, std::string>> env;  // added to the job's environment
  int cpus = 1;                                          // per task
  std::int64_t mem_bytes = 1LL << 30;                    // per task
  GpuRequest gpus;                                       // per task, whole GPUs
  double gpu_share = 0;                                  // 0 < share < 1: a share of one GPU instead
  int nodes = 1;                                         // tasks, one per node
  std::int64_t time_s = 3600;                            // time limit
  bool requeue = true;                                   // run again (once) if its node fails under it
  std::string project;                                   // charged to; default: the user's default project
  bool preemptible = false;  // may borrow idle capacity beyond quotas; may be preempted (SIGTERM, grace, kill, requeue)
  std::int64_t begin = 0;    // Unix seconds: not eligible before (0: at once)
  std::string dependency;    // Slurm's syntax: "afterok:12:13", "afterany:12?afternotok:14", "singleton"
  std::string array;         // Slurm's syntax: "0-15%4", "1,3,5-7": one job per index (a job array)
  // A batch script (sbatch's): it runs once, on the job's first node, with `command` as its
  // arguments (then optional); the job's other nodes are its to use (srun). Starts with "#!".
  std::string script;
  // Files the job's output and error go to, relative to workdir, as sbatch's -o and -e patterns
  // (%j, %A, %a, %x, %u, %N, ...). Empty output: the controller keeps the output (gwang logs);
  // empty error: errors go with the output.
  std::string output, error;
  std::string input;         // a file the job reads as its standard input (default /dev/null)
  bool open_append = false;  // output and error are appended to, not truncated (sbatch --open-mode)
  std::string comment;       // the submitter's note, kept with the job (up to 1,024 bytes)
  std::string partition;     // the node pool it runs in (default: the cluster's default partition)
  bool hold = false;         // submitted held (JobHeldUser) until released
  // The allocation programme it runs under (Slurm's QOS): its priority, and its grants charged
  // first. The project must hold a valid grant of it. Empty: the project's first valid grant's.
  std::string qos;
  // Mail to the job's user at its events (sbatch --mail-type, --mail-user): the events, as
  // slurm::parse_mail_type gives them ("BEGIN,END"; empty: none), and to whom (empty: the job's user).
  std::string mail_type, mail_user;
  // The nodes it runs on, all of them (sbatch's --nodelist; its node count is at least theirs), or
  // those it may not run on (--exclude). Node names.
  std::vector<std::string> nodelist, exclude;
  // A signal before its time limit (sbatch --signal), as slurm::format_signal_spec writes it
  // ("B:10@90": SIGUSR1 to the batch shell 90 s before the end); empty: none.
  std::string signal;
  // Cancelled once its dependency can never be met (sbatch --kill-on-invalid-dep=yes), rather
  // than left waiting (DependencyNeverSatisfied).
  bool kill_on_invalid_dep = false;
  // The features its nodes must have (sbatch -C, --constraint), and those it would rather they had
  // (--prefer: tried first, then without), in Slurm's syntax (slurm/features.h); empty: none.
  std::string constraint, prefer;
  // The features the node its batch script runs on must have (sbatch --batch: names joined by &
  // and |); that node comes first among its nodes. Empty: any of them.
  std::string batch_features;
  // The group it runs as on its nodes (sbatch --gid, an operator's): a group name; empty: its
  // user's own.
  std::string group;
  bool contiguous = false;  // its nodes adjacent in name order (sbatch --contiguous)
  // The cluster's licenses it holds while it runs (sbatch -L): "NAME[:COUNT],...", as given
  // (slurm/licenses.h); empty: none.
  std::string licenses;
  // A node failure takes that node out of the job, and the rest go on (sbatch -k, --no-kill):
  // not its first node (its script's) or its last.
  bool no_kill = false;
  // Nodes with at least this many cores in all (sbatch --ntasks-per-core: its tasks per node over
  // it); 0: any.
  int cores_per_node = 0;
  // At most this many threads of each core among its CPUs (sbatch --threads-per-core, and
  // --hint=nomultithread, compute_bound, memory_bound: 1); 0: any.
  int cpu_threads_per_core = 0;
  std::int64_t tmp_bytes = 0;  // the temporary disk each of its nodes must have (sbatch --tmp)
  // Nodes with at least this many sockets, cores per socket and threads per core (sbatch -B,
  // --sockets-per-node, --cores-per-socket); 0: any.
  int sockets_per_node = 0, cores_per_socket = 0, threads_per_core = 0;
  // Its nodes are its own (sbatch --exclusive): no other job's task runs there with it, and it has
  // all of each node's CPUs (`cpus` becomes theirs when it starts).
  bool exclusive = false;
  // Of each of its (whole) nodes, the cores or threads kept for the system, which its tasks do not
  // use (sbatch --core-spec, --thread-spec: the node's last, and it is exclusive); 0: none.
  int core_spec = 0, thread_spec = 0;
  // Unix seconds by which it must end (sbatch --deadline): a job still waiting when it could no
  // longer end by then (its start plus its time limit) is removed, state DEADLINE; 0: none.
  std::int64_t deadline = 0;
  // The least time limit it takes (sbatch --time-min): its limit may be lowered to as little as this
  // when it starts, if that lets it start before a reservation; 0: its limit stands.
  std::int64_t time_min_s = 0;
  // Its tasks' CPUs chosen without regard to their GPUs' nearness (sbatch
  // --gres-flags=disable-binding); by default those near its GPUs come first.
  bool gpu_binding_disabled = false;
  // Its place in the queue: lowered by `nice` (sbatch --nice; below 0, for operators only), or
  // fixed at `priority` by an operator (sbatch --priority; -1: as the queue order gives it).
  std::int64_t nice = 0;
  std::int64_t priority = -1;
  // An allocation: its command (optional) is what its holder runs, shown, never run by gwang;
  // it is never requeued, and has no batch script or array.
  Allocation allocation = Allocation::None;
  // A session (api/session.h): one node, no array; its app's script runs its service, the command
  // given its arguments (a custom app's command is the service). A terminal session is an
  // unattended allocation that its owner's terminals use.
  SessionRequest session;
};

inline constexpr std::int64_t kMaxNice = 2147483645;      // Slurm's NICE_OFFSET - 3
inline constexpr std::int64_t kMaxPriority = 4294967294;  // Slurm's largest (TOP)

inline constexpr std::size_t kMaxScriptBytes = 4 << 20;  // Slurm's default max_script_size

// Parses a JSON object. Errors name the field: "field 'cpus': must be an integer from 1 to 4096",
// "unknown field 'cpu'", "malformed JSON at byte 12: ...". Memory, time and GPUs take the same
// strings as the command line ("16G", "2h", "2:H100"); memory and time also take plain numbers
// (bytes, seconds). "begin" takes a date ("2026-03-01T08:30") or Unix seconds; "dependency" Slurm's
// dependency syntax, checked here for its form (the jobs it names are the controller's to check);
// "array" Slurm's array syntax (its largest index is the controller's to check). "command" is
// required unless there is a "script", an "allocation" ("attended", "unattended") or a "session"
// whose app is not custom.
// An array's indices must be below `max_array_size` (a controller's own limit, where it is known:
// an array beyond it is refused before its indices are spelled out).
Result<SubmitRequest> parse_submit(const std::string& body, std::int64_t max_array_size = kMaxArrayIndex + 1);
// The same from a parsed JSON value (the controller's journal holds requests inside its records).
Result<SubmitRequest> parse_submit(const nlohmann::json& value, std::int64_t max_array_size = kMaxArrayIndex + 1);
std::string to_json(const SubmitRequest& request);

// A job step (POST /api/v1/jobs/{id}/steps; srun inside a job): a command run as tasks spread over
// the nodes of a running job's allocation. Counts left 0 take the defaults the controller says.
struct StepRequest {
  std::string name;                                      // default: the program's base name
  std::vector<std::string> command;                      // required, argv
  std::string workdir;                                   // default: the job's
  std::vector<std::pair<std::string, std::string>> env;  // the tasks' environment (srun's own)
  int ntasks = 0;                                        // default: one per node
  int nodes = 0;                                         // default: every node of the job
  int ntasks_per_node = 0;                               // at most this many on a node (0: as CPUs allow)
  int cpus_per_task = 0;                                 // default 1
  bool cyclic = false;                                   // task ids round-robin over the nodes, not in blocks
  bool kill_on_bad_exit = false;                         // a task that fails ends the step's others
  bool no_kill = false;  // a failed node ends its tasks of the step, not the step (srun -k)
  // `nodes` is the job's count (srun's SLURM_NNODES), not -N: lowered to the nodes left to a job
  // that lost some (--no-kill), as Slurm's srun lowers it to the allocation's.
  bool nodes_from_env = false;
  bool overcommit = false;  // more tasks on a node than its CPUs (srun -O)
  // Which of the job's nodes (srun -w, -x, -r): these names (each a node of the job), none of
  // those, and from the job's node of index `relative` on (-1: from its first).
  std::vector<std::string> nodelist, exclude;
  int relative = -1;
  // Its share of the job's resources on each of its nodes, as a Slurm 22.05 step's: all of the
  // job's CPUs there unless `exact` (srun --exact, --exclusive, or -c given: its tasks' CPUs), all
  // of its memory unless `mem_bytes` (srun --mem, per node; --mem-per-cpu, per CPU, is made into
  // it). A step waits while the job's other steps hold what it needs, unless `overlap` (srun
  // --overlap: it shares, and holds nothing), or is refused when `immediate` (srun -I).
  bool exact = false, overlap = false, immediate = false;
  std::int64_t mem_bytes = 0;    // per node; 0: all of the job's
  std::int64_t mem_per_cpu = 0;  // per CPU of the step's on a node; 0: none
  std::int64_t mem_per_gpu = 0;  // per GPU of the step's on a node (srun --mem-per-gpu); 0: none
  // Its own of the job's GPUs (srun --gres=gpu[:type]:N, --gpus-per-node, --gpus, --gpus-per-task),
  // held while it runs as its CPUs are: `gpus_per_node` on each node (-1: not asked, all of the
  // job's there; 0: none), or `gpus_per_task` for each of its tasks, each task seeing its own.
  // `gpu_type`: the model they must be ("" any).
  int gpus_per_node = -1;
  int gpus_per_task = 0;
  int gpus = 0;  // srun --gpus: in all, split evenly over the step's nodes (> 0: instead of the two above)
  // srun -E: the tasks keep the job's SLURM_NTASKS, SLURM_NPROCS, SLURM_NNODES and
  // SLURM_TASKS_PER_NODE (as srun's environment gives them) rather than the step's.
  bool preserve_env = false;
  std::string gpu_type;
  std::int64_t time_s = 0;  // its own time limit (srun -t), seconds from its start; 0: the job's
  // The features the nodes of the job it runs on must have (srun -C): names with & and |, as
  // slurm/features.h reads them (no counts or brackets: those are for allocations).
  std::string constraint;
  // Which of its node's step GPUs each task sees (srun --gpu-bind, as slurm::parse_gpu_bind reads
  // it); empty: all.
  std::string gpu_bind;
  // Ports reserved for it on each of its nodes (srun --resv-ports[=N]): -1 none; 0 as many as the
  // most tasks it has on a node; else this many.
  int resv_ports = -1;
  // Rows and columns above 0: its first task runs on a terminal of this size, which its asker
  // reaches through the controller (srun --pty); the task's output goes there alone.
  int pty_rows = 0, pty_cols = 0;
};

// Why a step is being ended (its view's `stopping`) when its own time limit has come.
inline constexpr std::string_view kStepTimeLimit = "its time limit was reached";
// Errors name the field, as parse_submit's.
Result<StepRequest> parse_step(const std::string& body);

}  // namespace gwang::api
