// sbatch's options, from its command line, the SBATCH_* environment and a job script's #SBATCH
// directives, read as Slurm 22.05 reads them (getopt_long: "--time=10", "--time 10", "-t10",
// "-t 10", unique prefixes of long names, flags run together, "--" to end) and merged with its
// precedence: command line over environment over script. Every value is checked here; an option
// sbatch has but gwang does not carry out is refused by name, never ignored.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "slurm/specs.h"

namespace gwang::slurm {

struct SbatchOptions {
  std::optional<std::string> account;    // -A
  std::optional<ArraySpec> array;        // -a
  std::optional<std::int64_t> begin;     // -b, Unix seconds
  std::optional<std::int64_t> deadline;  // --deadline, Unix seconds
  std::optional<TimeLimit> time_min;     // --time-min
  std::optional<std::string> chdir;      // -D
  std::optional<std::string> comment;    // --comment
  // -w, -F, -x as given: host lists, or files of names (read by the command, not here).
  std::optional<std::string> nodelist, nodefile, exclude;
  std::optional<std::string> mail_type;           // --mail-type, as parse_mail_type gives it
  std::optional<std::string> mail_user;           // --mail-user
  std::optional<std::string> signal;              // --signal, as format_signal_spec writes it
  std::optional<bool> kill_on_invalid_dep;        // --kill-on-invalid-dep=yes|no
  std::optional<std::string> uid;                 // --uid: the user (name or number) it is for
  std::optional<std::string> gid;                 // --gid: the group (name or number) it runs as
  std::optional<std::string> clusters;            // -M: the clusters it may go to (this one, or all)
  std::optional<std::string> constraint, prefer;  // -C, --prefer: node features (features.h)
  std::optional<std::string> batch_features;      // --batch: the batch script's node's features
  std::optional<std::int64_t> tmp;                // --tmp: temporary disk per node, bytes
  std::optional<std::int64_t> nice;               // --nice (100 when given no value)
  std::optional<std::int64_t> priority;           // --priority (TOP: the largest)
  // -B S[:C[:T]], --sockets-per-node, --cores-per-socket: the least of a node's CPU shape.
  std::optional<std::int64_t> sockets_per_node, cores_per_socket, threads_per_core;
  std::optional<bool> exclusive;        // --exclusive: whole nodes (=user and =mcs refused by name)
  std::optional<bool> spread_job;       // --spread-job: over as many nodes as its tasks and partition allow
  std::optional<bool> contiguous;       // --contiguous: its nodes adjacent in name order
  std::optional<std::string> licenses;  // -L, --licenses: the cluster's licenses it holds while it runs
  std::optional<bool> no_kill;          // -k, --no-kill[=off]: a failed node leaves the job, which goes on
  // How its tasks lie on cores (--hint, --ntasks-per-core, --ntasks-per-socket, --threads-per-core,
  // which also sets threads_per_core): checked and carried out by the command (sbatch_job.cpp).
  std::optional<std::string> hint;
  std::optional<std::int64_t> ntasks_per_core, ntasks_per_socket, threads_used;
  std::optional<bool> gpu_binding_disabled;            // --gres-flags=disable-binding (enforce-binding refused by name)
  std::optional<std::int64_t> core_spec, thread_spec;  // -S, --thread-spec: kept for the system on each node
  // --gpu-bind, --mem-bind: its steps' tasks' GPUs and memory (SLURM_GPU_BIND and SLURM_MEM_BIND,
  // which srun reads).
  std::optional<std::string> gpu_bind, mem_bind;
  std::optional<std::string> gpu_freq;        // --gpu-freq, as given (SLURM_GPU_FREQ: its tasks' GPUs' clocks)
  std::optional<std::string> cpu_freq;        // --cpu-freq, in Slurm's words (SLURM_CPU_FREQ_REQ: its tasks' CPUs)
  std::optional<std::int64_t> cpus_per_task;  // -c
  std::optional<DependencySpec> dependency;   // -d
  std::optional<std::string> error;           // -e pattern
  std::optional<ExportSpec> export_env;       // --export
  std::optional<bool> get_user_env;           // --get-user-env: the user's login environment
  std::optional<std::string> export_file;     // --export-file: a file (or descriptor) of NAME=value
  std::optional<std::vector<std::string>> propagate;      // --propagate: the limits passed on (default: all)
  std::optional<std::vector<DeviceCount>> gpus;           // -G, per job
  std::optional<std::vector<DeviceCount>> gpus_per_node;  // --gpus-per-node
  std::optional<std::vector<DeviceCount>> gpus_per_task;  // --gpus-per-task
  std::optional<std::vector<DeviceCount>> gres;           // --gres, per node
  std::optional<bool> hold;                               // -H
  std::optional<std::string> input;                       // -i pattern
  std::optional<std::string> job_name;                    // -J
  std::optional<std::int64_t> mem_per_node;               // --mem, bytes (0: all of the node's)
  std::optional<std::int64_t> mem_per_cpu;                // --mem-per-cpu, bytes
  std::optional<std::int64_t> mem_per_gpu;                // --mem-per-gpu, bytes
  std::optional<std::int64_t> cpus_per_gpu;               // --cpus-per-gpu
  std::optional<std::int64_t> mincpus;                    // --mincpus: at least this many CPUs on a node
  std::optional<bool> overcommit;                         // -O: one task's CPUs on each node
  std::optional<bool> use_min_nodes;                      // --use-min-nodes: the least of a node range
  std::optional<std::string> distribution;                // -m: the steps' layout (SLURM_DISTRIBUTION)
  std::optional<NodeRange> nodes;                         // -N
  std::optional<std::int64_t> ntasks;                     // -n
  std::optional<std::int64_t> ntasks_per_node;            // --ntasks-per-node
  std::optional<std::int64_t> ntasks_per_gpu;             // --ntasks-per-gpu (--ntasks-per-tres)
  std::optional<std::string> open_mode;                   // --open-mode: append or truncate
  std::optional<std::string> output;                      // -o pattern
  std::optional<std::string> partition;                   // -p
  std::optional<std::string> qos;                         // -q
  std::optional<bool> requeue;                            // --requeue / --no-requeue
  std::optional<TimeLimit> time;                          // -t
  std::optional<std::string> wrap;                        // --wrap
  // How sbatch itself behaves.
  std::optional<bool> parsable, test_only, quiet, wait, help, usage, version;
  int verbose = 0;

  // Sets what `over` sets (the later source wins).
  void merge(const SbatchOptions& over);
};

// Where options came from, for messages: "job.sh:3", "SBATCH_TIMELIMIT", "" for the command line.
struct Reader {
  Clock clock;  // for --begin
  std::int64_t max_array_size = 1001;
};

// The command line: options up to the first argument that is not one (the script) and the
// arguments from there on. Errors read as sbatch's: "unrecognized option '--foo'",
// "option '--mem-per' is ambiguous; possibilities: '--mem-per-cpu' '--mem-per-gpu'".
struct CommandLine {
  SbatchOptions options;
  std::vector<std::string> rest;  // the script and its arguments
};
Result<CommandLine> parse_command_line(const std::vector<std::string>& args, const Reader& reader);

// SBATCH_ACCOUNT, SBATCH_TIMELIMIT, ...: the variables sbatch(1) lists for the options gwang has.
Result<SbatchOptions> parse_environment(const std::map<std::string, std::string>& env, const Reader& reader);

// A job script: it must not be empty, must start with "#!", may not hold NUL bytes or DOS line
// ends. Its #SBATCH lines before the first command are split as sbatch splits them (quotes,
// backslashes, '#' starting a comment) and read as options. `file` names the script in messages
// ("job.sh:4: ...").
Result<SbatchOptions> parse_script(std::string_view script, std::string_view file, const Reader& reader);

// The script that --wrap makes: "#!/bin/sh\n# This script was created by sbatch --wrap.\n\nCMD\n".
std::string wrap_script(std::string_view command);

// The long names of sbatch's options (all of them, also those gwang refuses), for --help and tests.
std::vector<std::string> sbatch_option_names();

}  // namespace gwang::slurm
