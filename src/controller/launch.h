// What a node is asked to run for a job's rank or a step's task: the command, its devices and
// limits, and the task's environment (GWANG_*, SLURM_*, torch.distributed's), as pure functions of
// the job's record. The same at a start and when recovery sends a launch again.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "agent/node.h"
#include "controller/records.h"

namespace gwang::controller {

using Env = std::vector<std::pair<std::string, std::string>>;

// Where a job runs, beside its record: the cluster's name (SLURM_CLUSTER_NAME) and where the
// job's first node is reached (MASTER_ADDR).
struct LaunchSite {
  std::string cluster;
  std::string master_address;
};

// Appends who and where the job's task on its node `rank` is (GWANG_*, SLURM_*) to `env`.
// Requires: the job has started (rank < job.tasks.size()).
void add_identity_env(const JobRecord& job, int rank, const std::string& cluster, Env& env);

// What an allocation's holder (salloc) gives its command: the job's identity (SLURM_JOB_ID, its
// nodes, CPUs, memory, task counts and layout), nothing of one node's or a task's.
// Requires: the job has started.
Env allocation_env(const JobRecord& job, const std::string& cluster);

// What the node of `rank` is asked to run.
agent::Launch make_launch(const JobRecord& job, int rank, const LaunchSite& site);

// What the node of a step's task is asked to run: the job's devices and memory there, the asker's
// environment, the job's identity, then the task's place in the step.
agent::Launch make_step_launch(const JobRecord& job, const StepRecord& step, int task, const std::string& cluster);

// How many of `ntasks` tasks each of `nodes` nodes runs, at most `cap` a node: counted round-robin
// over the nodes, as Slurm lays out a step (and a batch job's tasks). Requires cap * nodes >= ntasks.
std::vector<int> tasks_on_nodes(int ntasks, int nodes, int cap);

// SLURM_TASKS_PER_NODE's form: counts in node order, repeats folded ("2(x3),1").
std::string tasks_per_node_text(const std::vector<int>& counts);

}  // namespace gwang::controller
