// What a node is asked to run, golden-tested: the whole launch of a job's rank and of a step's task
// (command, devices, limits, files, and every variable of the environment in order) against files
// under golden/. A change to a task's environment shows there, line by line, for review; with
// GWANG_UPDATE_GOLDEN=1 the files are written anew instead of compared.
#include "controller/launch.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace gwang::controller {
namespace {

// A batch job of an array (task 3 of "1-7:2%2"), on two nodes with two GPUs each, in its second
// attempt, charged to a project, in a partition, with its output files named by patterns.
JobRecord batch_array_job() {
  JobRecord j;
  j.id = 4242;
  j.user = "ana";
  j.project = "vision";
  j.attempt = 1;
  j.credential = "0123456789abcdef0123456789abcdef";
  j.array_job = 4240;
  j.array_task = 3;
  j.state = JobState::Running;
  api::SubmitRequest& r = j.request;
  r.name = "train";
  r.script = "#!/bin/sh\nsrun python3 train.py\n";
  r.command = {"/var/spool/gwang/job.sh", "--epochs", "3"};
  r.workdir = "/home/ana/run";
  r.env = {{"OMP_NUM_THREADS", "8"}, {"SLURM_JOB_ID", "overridden"}};
  r.cpus = 16;
  r.mem_bytes = 64LL << 30;
  r.nodes = 2;
  r.array = "1-7:2%2";
  r.partition = "gpu";
  r.output = "logs/%x-%A_%a.%N.out";
  r.error = "logs/%j.err";
  j.tasks = {{"gpu-node-01", {"GPU-aaaa", "GPU-bbbb"}, {{0, 1000}, {1, 1000}}, false},
             {"gpu-node-02", {"GPU-cccc", "GPU-dddd"}, {{2, 1000}, {3, 1000}}, false}};
  return j;
}

// A job of one command on every node (not a batch script), two nodes, a quarter of a GPU each.
JobRecord command_job() {
  JobRecord j;
  j.id = 77;
  j.user = "bo";
  j.state = JobState::Running;
  j.request.name = "sweep";
  j.request.command = {"python3", "sweep.py"};
  j.request.workdir = "/home/bo";
  j.request.cpus = 2;
  j.request.mem_bytes = 4LL << 30;
  j.request.nodes = 2;
  j.tasks = {{"n1", {"GPU-1"}, {{0, 250}}, false}, {"n2", {"GPU-2"}, {{1, 250}}, false}};
  return j;
}

// A step of five tasks laid out round-robin over the batch job's two nodes (0 1 0 1 0).
StepRecord cyclic_step() {
  StepRecord st;
  st.id = 2;
  st.name = "hostname";
  st.argv = {"hostname", "-s"};
  st.env = {{"SRUN_DEBUG", "3"}};
  st.cpus_per_task = 2;
  st.cpus_per_task_given = true;
  for (int node : {0, 1, 0, 1, 0}) st.tasks.push_back({node, JobState::Running, 0, 0});
  return st;
}

// The value a task gets for `key`: the last one its launch sets, as in its environment.
std::string value_of(const agent::Launch& l, const std::string& key) {
  std::string value = "<unset>";
  for (const auto& [k, v] : l.env) {
    if (k == key) value = v;
  }
  return value;
}

std::string shown(const agent::Launch& l) {
  std::ostringstream out;
  out << "task " << l.task << "\njob " << l.job << " attempt " << l.attempt << " rank " << l.rank << " step " << l.step
      << "\nuser " << l.user << "\nworkdir " << l.workdir << "\nmemory " << l.memory_limit_bytes << "\n";
  for (const std::string& a : l.argv) out << "argv " << a << "\n";
  for (const std::string& d : l.devices) out << "device " << d << "\n";
  out << "script " << (l.script.empty() ? "no" : "yes") << "\noutput " << l.output << "\nerror " << l.error
      << "\ninput " << l.input << "\nappend " << l.output_append << "\n";
  for (const auto& [k, v] : l.env) out << "env " << k << "=" << v << "\n";
  return out.str();
}

void expect_golden(const std::string& name, const std::string& got) {
  const std::string path = std::string(GWANG_TEST_DIR) + "/golden/" + name;
  if (const char* update = std::getenv("GWANG_UPDATE_GOLDEN"); update && std::string(update) == "1") {
    std::ofstream(path) << got;
    return;
  }
  std::ifstream in(path);
  ASSERT_TRUE(in) << path << " is missing (GWANG_UPDATE_GOLDEN=1 writes it)";
  std::stringstream want;
  want << in.rdbuf();
  EXPECT_EQ(got, want.str()) << "differs from " << path;
}

TEST(Launch, ABatchArrayJobsFirstRank) {
  expect_golden("launch_batch_rank0.txt", shown(make_launch(batch_array_job(), 0, {"centre", "10.0.0.1"})));
}

TEST(Launch, ACommandJobsSecondRank) {
  expect_golden("launch_command_rank1.txt", shown(make_launch(command_job(), 1, {"centre", "n1"})));
}

TEST(Launch, AStepsTaskOnTheSecondNode) {
  expect_golden("launch_step_task3.txt", shown(make_step_launch(batch_array_job(), cyclic_step(), 3, "centre")));
}

// The pieces the golden files rest on, said once more as Slurm documents them.
TEST(Launch, SlurmsVariablesMeanWhatSlurmSays) {
  const agent::Launch l = make_step_launch(batch_array_job(), cyclic_step(), 3, "centre");
  auto env = [&](const std::string& key) { return value_of(l, key); };
  EXPECT_EQ(env("SLURM_STEP_TASKS_PER_NODE"), "3,2");
  EXPECT_EQ(env("SLURM_PROCID"), "3");
  EXPECT_EQ(env("SLURM_LOCALID"), "1");  // the second of the step's tasks on gpu-node-02
  EXPECT_EQ(env("SLURM_NODEID"), "1");
  EXPECT_EQ(env("SLURM_GTIDS"), "1,3");
  EXPECT_EQ(env("SLURM_STEP_NODELIST"), "gpu-node-[01-02]");
  EXPECT_EQ(env("SLURM_JOB_ID"), "4242");  // the job's identity is the controller's to say
  EXPECT_EQ(env("SLURM_ARRAY_TASK_STEP"), "2");
  EXPECT_EQ(env("LOCAL_WORLD_SIZE"), "2");
  EXPECT_EQ(env("SLURM_DISTRIBUTION"), "block");  // five tasks on two nodes
  EXPECT_EQ(env("SLURM_CLUSTER_NAME"), "centre");
  EXPECT_EQ(env("SLURM_TOPOLOGY_ADDR"), "gpu-node-02");
}

TEST(Launch, TasksAreCountedOntoNodesRoundRobin) {
  EXPECT_EQ(tasks_on_nodes(3, 2, 2), (std::vector<int>{2, 1}));
  EXPECT_EQ(tasks_on_nodes(4, 2, 4), (std::vector<int>{2, 2}));
  EXPECT_EQ(tasks_on_nodes(5, 3, 2), (std::vector<int>{2, 2, 1}));
  EXPECT_EQ(tasks_on_nodes(2, 3, 1), (std::vector<int>{1, 1, 0}));
  EXPECT_EQ(tasks_on_nodes(6, 2, 4), (std::vector<int>{3, 3}));
}

// A batch script's own variables follow the counts sbatch gave, as Slurm's batch step shows them.
TEST(Launch, ABatchScriptIsToldItsJobsLayout) {
  JobRecord j = batch_array_job();  // two nodes of 16 CPUs
  auto script = [&] { return make_launch(j, 0, {"centre", "10.0.0.1"}); };
  EXPECT_EQ(value_of(script(), "SLURM_TASKS_PER_NODE"), "16(x2)") << "no task count: as many as the CPUs hold";
  EXPECT_EQ(value_of(script(), "SLURM_GTIDS"), "0");
  EXPECT_EQ(value_of(script(), "ENVIRONMENT"), "BATCH");
  EXPECT_EQ(value_of(script(), "HOSTNAME"), "gpu-node-01");
  j.request.env.emplace_back("SLURM_NTASKS", "3");
  EXPECT_EQ(value_of(script(), "SLURM_TASKS_PER_NODE"), "2,1");
  j.request.env.emplace_back("SLURM_CPUS_PER_TASK", "8");  // two tasks of 8 CPUs fill a node
  j.request.env.emplace_back("SLURM_NTASKS", "4");
  EXPECT_EQ(value_of(script(), "SLURM_TASKS_PER_NODE"), "2(x2)");
  j.request.env.emplace_back("SLURM_NTASKS", "6");
  EXPECT_EQ(value_of(script(), "SLURM_TASKS_PER_NODE"), "2(x2)") << "at most what the CPUs hold";
  j.request.env.emplace_back("SLURM_OVERCOMMIT", "1");
  EXPECT_EQ(value_of(script(), "SLURM_TASKS_PER_NODE"), "3(x2)") << "unless overcommitted";
  // Memory per node unless sbatch gave it per CPU; a temporary directory unless the job names one.
  EXPECT_EQ(value_of(script(), "SLURM_MEM_PER_NODE"), "65536");
  EXPECT_EQ(value_of(script(), "TMPDIR"), "/tmp");
  j.request.env.emplace_back("SLURM_MEM_PER_CPU", "4096");
  j.request.env.emplace_back("TMPDIR", "/scratch/ana");
  EXPECT_EQ(value_of(script(), "SLURM_MEM_PER_NODE"), "<unset>");
  EXPECT_EQ(value_of(script(), "TMPDIR"), "/scratch/ana");
  EXPECT_EQ(value_of(script(), "SLURM_JOB_QOS"), "<unset>");
  j.request.qos = "national";
  EXPECT_EQ(value_of(script(), "SLURM_JOB_QOS"), "national");
  // A rank that is not a batch script (gwang submit) runs one task per node.
  EXPECT_EQ(value_of(make_launch(command_job(), 1, {"centre", "n1"}), "SLURM_TASKS_PER_NODE"), "1(x2)");
  EXPECT_EQ(value_of(make_launch(command_job(), 1, {"centre", "n1"}), "ENVIRONMENT"), "<unset>");
}

// srun's default layout is named as Slurm names it: cyclic where no node runs two of its tasks.
TEST(Launch, AStepsDefaultLayoutIsNamed) {
  StepRecord one = cyclic_step();
  one.tasks = {{0, JobState::Running, 0, 0}, {1, JobState::Running, 0, 0}};
  EXPECT_EQ(value_of(make_step_launch(batch_array_job(), one, 0, "centre"), "SLURM_DISTRIBUTION"), "cyclic");
  one.env.emplace_back("SLURM_DISTRIBUTION", "block:cyclic");  // as srun was asked
  EXPECT_EQ(value_of(make_step_launch(batch_array_job(), one, 0, "centre"), "SLURM_DISTRIBUTION"), "block:cyclic");
}

}  // namespace
}  // namespace gwang::controller
