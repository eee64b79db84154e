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

std::string shown(const agent::Launch& l) {
  std::ostringstream out;
  out << "task " << l.task << "\njob " << l.job << " attempt " << l.attempt << " rank " << l.rank << " step "
      << l.step << "\nuser " << l.user << "\nworkdir " << l.workdir << "\nmemory " << l.memory_limit_bytes << "\n";
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
  expect_golden("launch_batch_rank0.txt", shown(make_launch(batch_array_job(), 0, "10.0.0.1")));
}

TEST(Launch, ACommandJobsSecondRank) {
  expect_golden("launch_command_rank1.txt", shown(make_launch(command_job(), 1, "n1")));
}

TEST(Launch, AStepsTaskOnTheSecondNode) {
  expect_golden("launch_step_task3.txt", shown(make_step_launch(batch_array_job(), cyclic_step(), 3)));
}

// The pieces the golden files rest on, said once more as Slurm documents them.
TEST(Launch, SlurmsVariablesMeanWhatSlurmSays) {
  const agent::Launch l = make_step_launch(batch_array_job(), cyclic_step(), 3);
  auto env = [&](const std::string& key) {
    std::string value = "<unset>";
    for (const auto& [k, v] : l.env) {
      if (k == key) value = v;  // the last one wins, as in the task's environment
    }
    return value;
  };
  EXPECT_EQ(env("SLURM_STEP_TASKS_PER_NODE"), "3,2");
  EXPECT_EQ(env("SLURM_PROCID"), "3");
  EXPECT_EQ(env("SLURM_LOCALID"), "1");  // the second of the step's tasks on gpu-node-02
  EXPECT_EQ(env("SLURM_NODEID"), "1");
  EXPECT_EQ(env("SLURM_GTIDS"), "1,3");
  EXPECT_EQ(env("SLURM_STEP_NODELIST"), "gpu-node-[01-02]");
  EXPECT_EQ(env("SLURM_JOB_ID"), "4242");  // the job's identity is the controller's to say
  EXPECT_EQ(env("SLURM_ARRAY_TASK_STEP"), "2");
  EXPECT_EQ(env("LOCAL_WORLD_SIZE"), "2");
}

}  // namespace
}  // namespace gwang::controller
