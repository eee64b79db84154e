// Tools that drive Slurm, from Debian's packages, run unchanged against gwang on a cluster of three
// hosts (network namespaces): Snakemake's Slurm executor, Toil's Slurm batch system, PyTorch's
// data-parallel training across two hosts, and Open MPI's and MPICH's own launchers inside a
// two-node allocation. Each runs as the job's user would, with gwang's sbatch, srun, squeue,
// sacct, sinfo and scontrol on its PATH. Needs root and the tools (scripts/test installs them).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>

#include "multihost.h"
#include "shell.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

using gwang::testing::Outcome;
using gwang::testing::sh;
using gwang::testing::slurp;

class Tools : public gwang::testing::multihost::MultiHost {
 protected:
  void SetUp() override {
    MultiHost::SetUp();
    if (HasFatalFailure()) return;
    bin_ = dir_ / "bin";
    fs::create_directories(bin_);
    run(std::string(GWANG_BINARY) + " slurm install " + bin_.string());
    const fs::path tools = fs::path(GWANG_TEST_DIR) / "tools";
    for (const auto& e : fs::directory_iterator(tools)) {
      fs::copy_file(e.path(), dir_ / e.path().filename());
      fs::permissions(dir_ / e.path().filename(), fs::perms::all);
    }
  }

  // `cmd` in the controller's namespace, in the test's directory, as the job's user (nobody, the
  // operator account here) with the Slurm commands first on its PATH and the directory its home.
  Outcome as_user(const std::string& cmd) {
    return sh("cd " + dir_.string() + " && env PATH=" + bin_.string() + ":/usr/bin:/bin HOME=" + dir_.string() +
              " USER=nobody LOGNAME=nobody " + client_env() + " ip netns exec " + ns(0) +
              " setpriv --reuid=nobody --regid=nogroup --clear-groups " + cmd);
  }

  // The ids of the jobs sacct lists (without steps), and their states.
  std::map<std::string, std::string> jobs_in_sacct() {
    const Outcome o = gwang("sacct -X -P -n -o JobID,State -S 1970-01-01");
    EXPECT_EQ(o.status, 0) << o.output;
    std::map<std::string, std::string> out;
    std::istringstream in(o.output);
    for (std::string line; std::getline(in, line);) {
      const auto bar = line.find('|');
      if (bar != std::string::npos) out[line.substr(0, bar)] = line.substr(bar + 1);
    }
    return out;
  }

  // Submits `script` with sbatch as the user, its output to `out`; waits for the job to end and
  // expects it COMPLETED. The output.
  std::string run_batch(const std::string& script, const std::string& out) {
    const Outcome o = as_user("sbatch --parsable -o " + out + " " + script);
    EXPECT_EQ(o.status, 0) << o.output;
    const std::string id = o.output.substr(0, o.output.find('\n'));
    json j;
    wait_for(
        script + " to end", [&] { return ended(j = job(id)); }, 120s);
    const std::string text = slurp(dir_ / out);
    EXPECT_EQ(j["state"], "COMPLETED") << text;
    return text;
  }

  fs::path bin_;
};

// Snakemake 7's Slurm executor: a job per rule instance with sbatch (-J, -o, --export=ALL, -p
// from sinfo's default partition, -t, --mem, --cpus-per-task, -D, --wrap), each running its shell
// command through `srun -n1 --cpu-bind=q`, its state followed with sacct.
TEST_F(Tools, SnakemakeRunsAWorkflowThroughSbatchAndSrun) {
  const Outcome o = as_user(
      "snakemake --slurm --jobs 3 --latency-wait 5 --max-status-checks-per-second 1 --default-resources runtime=5 "
      "mem_mb=64");
  ASSERT_EQ(o.status, 0) << o.output;
  EXPECT_EQ(slurp(dir_ / "total.txt"), "14\n") << o.output;
  // Each square was a job of its own, its command srun's step 0 there.
  std::set<std::string> jobs;
  for (int n = 1; n <= 3; ++n) {
    std::istringstream in(slurp(dir_ / ("square_" + std::to_string(n) + ".txt")));
    std::string value, job, step, node;
    in >> value >> job >> step >> node;
    EXPECT_EQ(value, std::to_string(n * n));
    EXPECT_EQ(step, "0") << n;
    EXPECT_EQ(node.rfind("host", 0), 0u) << node;
    jobs.insert(job);
  }
  EXPECT_EQ(jobs.size(), 3u);
  const auto acct = jobs_in_sacct();
  EXPECT_EQ(acct.size(), 4u);
  for (const auto& [id, state] : acct) EXPECT_EQ(state, "COMPLETED") << id;
}

// Toil's Slurm batch system: sbatch --wrap for each job, squeue -h --format '%i %t %M' to follow
// them, sacct (then scontrol show job) for how they ended, and `scontrol show config` for how often
// to look.
TEST_F(Tools, ToilRunsAWorkflowOnItsSlurmBatchSystem) {
  // How often Toil looks, from `scontrol show config` (SchedulerTimeSlice, AcctGatherNodeFreq):
  // 30 seconds and a fifth. The workflow itself is told to look every second.
  const Outcome wait = as_user(
      "python3 -c 'from toil.batchSystems.slurm import SlurmBatchSystem; print(SlurmBatchSystem.getWaitDuration())'");
  EXPECT_TRUE(wait.output.ends_with("\n36\n") || wait.output == "36\n") << wait.output;  // after Toil's warnings
  const Outcome o = as_user(
      "python3 toil_workflow.py ./jobstore --batchSystem slurm --disableCaching --clean always --statePollingWait 1");
  ASSERT_EQ(o.status, 0) << o.output;
  EXPECT_NE(o.output.find("toil total 14 from"), std::string::npos) << o.output;
  const auto acct = jobs_in_sacct();
  EXPECT_GE(acct.size(), 3u);
  for (const auto& [id, state] : acct) EXPECT_EQ(state, "COMPLETED") << id;
}

// PyTorch's data-parallel recipe on two hosts: srun starts four ranks, two a host, which meet at
// MASTER_ADDR through torch.distributed's env:// rendezvous and all-reduce over gloo.
TEST_F(Tools, PyTorchAllReducesAcrossTwoHostsUnderSrun) {
  const std::string out = run_batch("ddp_torch.sh", "ddp.out");
  std::set<std::string> hosts;
  for (int rank = 0; rank < 4; ++rank) {
    const std::string line = "rank " + std::to_string(rank) + " of 4 on ";
    const auto at = out.find(line);
    ASSERT_NE(at, std::string::npos) << out;
    const std::string rest = out.substr(at + line.size(), out.find('\n', at) - at - line.size());
    EXPECT_NE(rest.find(": all_reduce 10"), std::string::npos) << rest;
    hosts.insert(rest.substr(0, rest.find(':')));
  }
  EXPECT_EQ(hosts.size(), 2u) << out;
}

// Open MPI's mpirun and MPICH's mpiexec inside `sbatch -N 2`: each starts its daemon on the other
// host through gwang's srun; then srun starts MPICH's ranks itself (--mpi=pmi2), as their process
// manager, and Open MPI's (--mpi=pmix), each host's PMIx server serving them. Each time the four
// ranks, two a host, all-reduce their numbers.
TEST_F(Tools, MpiLaunchersStartTheirRanksAcrossTwoHostsThroughSrun) {
  run("cd " + dir_.string() +
      " && mpicc.openmpi -o allreduce.openmpi allreduce.c && mpicc.mpich -o allreduce.mpich allreduce.c");
  const std::string out = run_batch("mpirun.sh", "mpi.out");
  EXPECT_NE(out.find("openmpi rc=0"), std::string::npos) << out;
  EXPECT_NE(out.find("mpich rc=0"), std::string::npos) << out;
  EXPECT_NE(out.find("srun rc=0"), std::string::npos) << out;
  EXPECT_NE(out.find("pmix rc=0"), std::string::npos) << out;
  EXPECT_NE(out.find("one node rc=0"), std::string::npos) << out;
  // A rank's MPI_Abort ended the step, its other ranks with it.
  EXPECT_NE(out.find("a task aborted the step (exit code 3)\nabort rc="), std::string::npos) << out;
  EXPECT_EQ(out.find("abort rc=0"), std::string::npos) << out;
  // Two ranks on one node, with shared memory between them (Open MPI's default transports).
  for (int rank = 0; rank < 2; ++rank) {
    const auto at = out.find("one node: rank " + std::to_string(rank) + " of 2 at ");
    ASSERT_NE(at, std::string::npos) << out;
    EXPECT_NE(out.substr(at, out.find('\n', at) - at).find(": sum 1"), std::string::npos) << out;
  }
  // Each rank four times (once a launcher), at its host's address.
  for (int rank = 0; rank < 4; ++rank) {
    const std::string line =
        "rank " + std::to_string(rank) + " of 4 at " + net_->ip(1).substr(0, net_->ip(1).rfind('.'));
    std::size_t count = 0;
    for (auto at = out.find(line); at != std::string::npos; at = out.find(line, at + 1)) {
      ++count;
      const std::string rest = out.substr(at, out.find('\n', at) - at);
      EXPECT_NE(rest.find(": sum 6"), std::string::npos) << rest;
    }
    EXPECT_EQ(count, 4u) << out;
  }
  // Each launcher's ranks ran on two hosts.
  std::size_t from = 0;
  for (const char* end : {"openmpi rc=", "mpich rc=", "srun rc=", "pmix rc="}) {
    const std::size_t to = out.find(end, from);
    ASSERT_NE(to, std::string::npos) << end << "\n" << out;
    const std::string part = out.substr(from, to - from);
    from = to + 1;
    std::set<std::string> hosts;
    for (auto at = part.find(" at "); at != std::string::npos; at = part.find(" at ", at + 1)) {
      hosts.insert(part.substr(at + 4, part.find(':', at) - at - 4));
    }
    EXPECT_EQ(hosts.size(), 2u) << part;
  }
}

}  // namespace
