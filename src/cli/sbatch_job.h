// From sbatch's options and a job script to a gwang job submission.
//
// gwang runs a job as tasks of equal size, one per node; sbatch speaks of nodes, tasks and CPUs
// per task. A job gets, on each of its nodes, the CPUs of the tasks it runs there
// (--ntasks-per-node, or -n spread evenly over -N nodes) times --cpus-per-task; --mem is per node
// and --mem-per-cpu per CPU; GPUs are per node (--gres, --gpus-per-node), per task
// (--gpus-per-task) or per job (--gpus, split evenly over the nodes). Without -N a job has one
// node, or as many as -n and --ntasks-per-node make. Partitions are gwang's node pools of the
// same name, accounts projects. What has no equivalent is refused with the option's name.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "api/request.h"
#include "core/result.h"
#include "slurm/sbatch.h"

namespace gwang::cli {

// Where a submission comes from.
struct SbatchContext {
  std::string script;                                            // the script's text
  std::string script_file;                                       // as named; "" when read from stdin
  bool wrapped = false;                                          // made by --wrap
  std::vector<std::string> args;                                 // the script's arguments
  std::string cwd;                                               // the submitter's working directory
  std::vector<std::pair<std::string, std::string>> environment;  // the submitter's, in order
  std::string host;                                              // the submitting host (SLURM_SUBMIT_HOST)
  int nice = 0;                                                  // its scheduling priority (SLURM_PRIO_PROCESS)
  unsigned umask = 022;                                          // its file mode mask (SLURM_UMASK)
  std::vector<std::pair<std::string, std::string>> export_file;  // what --export-file's file defines
  std::vector<std::pair<std::string, std::uint64_t>> rlimits;    // its soft resource limits, by Slurm's names
};

struct SbatchJob {
  api::SubmitRequest request;
  // No -t: the partition's longest time limit applies, or none (UNLIMITED), as in Slurm; the
  // caller sets request.time_s once it knows the partition's.
  bool partition_time = false;
  std::vector<std::string> warnings;  // what sbatch would warn of ("setting nodes to 1")
};

// The submitter's side, as this process has it (sbatch.cpp): its environment, host, nice, umask,
// resource limits and working directory; no script yet.
Result<SbatchContext> local_context();

// The request for the options (already merged: command line over environment over script).
// Errors say which option is wrong and why.
Result<SbatchJob> sbatch_request(const slurm::SbatchOptions& options, const SbatchContext& context);

// What the commands that submit share (sbatch.cpp). The user --uid names (a name or a number),
// for root alone, as Slurm's sbatch takes it; "" when not given. The group --gid names, likewise.
Result<std::string> uid_user(const std::optional<std::string>& uid);
Result<std::string> gid_group(const std::optional<std::string>& gid);
// A job without -t: its partition's MaxTime (none is UNLIMITED, gwang's longest) into `r`; false
// (after saying why) where the partitions cannot be read.
struct ClientArgs;
bool partition_time(const ClientArgs& client, api::SubmitRequest& r);

}  // namespace gwang::cli
