// A node's PMIx server learns its step from the task's environment: read right, and each missing
// or inconsistent variable named.
#include "mpi/step_layout.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <map>

namespace gwang::mpi {
namespace {

std::map<std::string, std::string> task_env() {
  return {{"SLURM_JOB_ID", "42"},
          {"SLURM_STEP_ID", "3"},
          {"SLURM_PROCID", "3"},
          {"SLURM_LOCALID", "1"},
          {"SLURM_NODEID", "1"},
          {"SLURM_STEP_NUM_TASKS", "4"},
          {"SLURM_PMIX_MAPPING_SERV", "(vector,(0,2,1),(0,2,1))"},  // cyclic: 0 and 2 on n1, 1 and 3 on n2
          {"SLURM_STEP_NODELIST", "n[1-2]"},
          {"GWANG_PMIX_SRUN", "10.0.0.1:4000"},
          {"TMPDIR", "/scratch"},
          {"SLURM_DISTRIBUTION", "cyclic"}};
}

Result<StepLayout> read(const std::map<std::string, std::string>& env) {
  return layout_from_env(
      [&](const char* name) {
        auto it = env.find(name);
        return it == env.end() ? std::string() : it->second;
      },
      1000);
}

TEST(StepLayout, ReadsTheStepFromTheTasksEnvironment) {
  auto l = read(task_env());
  ASSERT_TRUE(l) << l.error().message;
  EXPECT_EQ(l->nspace, "slurm.pmix.42.3");
  EXPECT_EQ(l->task_nodes, (std::vector<int>{0, 1, 0, 1}));
  EXPECT_EQ(l->hosts, (std::vector<std::string>{"n1", "n2"}));
  EXPECT_EQ(l->local_ranks(), (std::vector<int>{1, 3}));
  EXPECT_EQ(l->local_rank_of(3), 1);
  EXPECT_EQ(l->local_rank_of(2), 1);
  EXPECT_EQ(l->local_rank_of(0), 0);
  EXPECT_EQ(l->srun, "10.0.0.1:4000");
  EXPECT_EQ(l->dir, "/scratch/gwang-pmix.1000.42.3.n2");  // one per node: nodes may share /scratch
  EXPECT_EQ(l->distribution, "cyclic");
  auto no_tmpdir = task_env();
  no_tmpdir.erase("TMPDIR");
  EXPECT_EQ(read(no_tmpdir)->tmpdir, "/tmp");
}

TEST(StepLayout, NamesTheVariableAtFault) {
  const std::vector<std::pair<std::map<std::string, std::string>, std::string>> cases = {
      {{{"SLURM_PROCID", ""}}, "SLURM_PROCID is not set"},
      {{{"SLURM_LOCALID", "x"}}, "SLURM_LOCALID='x' is not a count"},
      {{{"SLURM_STEP_NUM_TASKS", "-4"}}, "SLURM_STEP_NUM_TASKS='-4' is not a count"},
      {{{"SLURM_PMIX_MAPPING_SERV", ""}}, "SLURM_PMIX_MAPPING_SERV is not set"},
      {{{"SLURM_PMIX_MAPPING_SERV", "(vector,(0,2,3))"}}, "SLURM_PMIX_MAPPING_SERV: process mapping"},
      {{{"SLURM_PMIX_MAPPING_SERV", "(vector,(0,4,1))"}}, "names node 2 of a step on 2 nodes"},
      {{{"SLURM_STEP_NODELIST", "n[2-1]"}}, "SLURM_STEP_NODELIST='n[2-1]'"},
      {{{"SLURM_NODEID", "0"}}, "disagree with SLURM_PMIX_MAPPING_SERV"},
      {{{"SLURM_LOCALID", "0"}}, "disagree with SLURM_PMIX_MAPPING_SERV"},
      {{{"SLURM_PROCID", "4"}}, "disagree with SLURM_PMIX_MAPPING_SERV"},
      {{{"GWANG_PMIX_SRUN", "10.0.0.1"}}, "GWANG_PMIX_SRUN='10.0.0.1' is not HOST:PORT"},
  };
  for (const auto& [change, expected] : cases) {
    auto env = task_env();
    for (const auto& [k, v] : change) env[k] = v;
    auto l = read(env);
    ASSERT_FALSE(l) << expected;
    EXPECT_NE(l.error().message.find(expected), std::string::npos) << l.error().message;
  }
}

// What gwang-pmix says when it is not run as a task of `srun --mpi=pmix`: the variable at fault,
// and a failure, with nothing started.
TEST(StepLayout, GwangPmixOutsideAStepSaysWhatIsMissing) {
  auto run = [](const std::string& cmd) {
    std::string out;
    FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
    char buf[512];
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    const int status = ::pclose(p);
    return std::pair{WEXITSTATUS(status), out};
  };
  const auto [usage_rc, usage] = run(GWANG_PMIX);
  EXPECT_EQ(usage_rc, 2);
  EXPECT_NE(usage.find("usage: gwang-pmix [--] PROGRAM [ARGS...]"), std::string::npos) << usage;
  const auto [rc, said] = run("env -i SLURM_JOB_ID=4 " + std::string(GWANG_PMIX) + " -- /bin/echo started");
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(said, "gwang-pmix: error: SLURM_STEP_ID is not set: gwang-pmix runs as a task of `srun --mpi=pmix`\n");
}

}  // namespace
}  // namespace gwang::mpi
