// Several hosts on one machine: a controller and three agents, each in its own network namespace,
// joined by veth pairs on a bridge (set up and torn down by each test). Real `gwang controller` and
// `gwang agent` processes; the command line runs in the controller's namespace. Needs root.
#include "multihost.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "shell.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

using gwang::testing::Outcome;
using gwang::testing::sh;
using gwang::testing::slurp;

using gwang::testing::multihost::MultiHost;

TEST_F(MultiHost, TwoNodeJobPrintsItsRankEnvironment) {
  const std::string id = submit(
      "--nodes 2 --cpus 1 --mem 64M --gpus 1 --workdir / -- sh -c "
      "'echo rank=$RANK world=$WORLD_SIZE local=$LOCAL_RANK master=$MASTER_ADDR:$MASTER_PORT nodes=$GWANG_NODELIST "
      "devices=$GWANG_DEVICES; id -un'");
  json j;
  wait_for("the job to end", [&] { return ended(j = job(id)); });
  ASSERT_EQ(j["state"], "COMPLETED") << j.dump();
  const std::string nodes = j["node"];
  const auto comma = nodes.find(',');
  ASSERT_NE(comma, std::string::npos) << nodes;
  const std::string rank0 = nodes.substr(0, comma), rank1 = nodes.substr(comma + 1);
  EXPECT_NE(rank0, rank1);
  const std::string port = std::to_string(20000 + std::stoi(id) % 20000);
  for (int rank = 0; rank < 2; ++rank) {
    const Outcome logs = gwang("logs " + id + " --rank " + std::to_string(rank));
    EXPECT_EQ(logs.output, "rank=" + std::to_string(rank) + " world=2 local=0 master=" + ip(host_of(rank0)) + ":" +
                               port + " nodes=" + nodes + " devices=npu:test-0\nnobody\n");
  }
  // The agents keep no output the controller has.
  for (int h = 1; h <= kAgents; ++h) {
    EXPECT_TRUE(fs::is_empty(dir_ / node(h) / "jobs")) << node(h);
  }
}

TEST_F(MultiHost, KilledAgentsNodeGoesDownAndItsJobIsRequeued) {
  // How many processes of the job run, on any host (they all share this machine's process table).
  auto copies = [] {
    const Outcome o = sh("pgrep -c -f 'killed-agent-[m]ark'");
    return std::stoi(o.output);
  };
  const std::string id =
      submit("--cpus 1 --mem 64M --workdir / -- sh -c 'echo ran on $GWANG_NODELIST; sleep 60' killed-agent-mark");
  json j;
  wait_for("the job to start", [&] { return (j = job(id))["state"] == "RUNNING" && copies() == 1; });
  const std::string first = j["node"];
  const int h = host_of(first);
  ::kill(pids_[h], SIGKILL);
  ::waitpid(pids_[h], nullptr, 0);
  pids_[h] = -1;
  wait_for("the node to go down", [&] { return node_states()[first] == "down"; });
  wait_for("the job to run again", [&] { return (j = job(id))["state"] == "RUNNING" && j["attempt"] == 1; });
  const std::string second = j["node"];
  EXPECT_NE(second, first);
  EXPECT_NE(j["reason"].get<std::string>().find("NODE_FAIL"), std::string::npos) << j.dump();
  // The agent comes back: its node is up again, and what its predecessor left running has ended.
  pids_[h] = spawn(h, "agent", dir_ / ("agent" + std::to_string(h) + ".toml"));
  wait_for("the node to be up again", [&] { return node_states()[first] == "up"; });
  wait_for("one copy of the job", [&] { return copies() == 1; });
  wait_for("its output", [&] { return gwang("logs " + id).output == "ran on " + second + "\n"; });
  EXPECT_EQ(gwang("cancel " + id).status, 0);
  wait_for("the job to end", [&] { return ended(j = job(id)); });
  EXPECT_EQ(j["state"], "CANCELLED");
  EXPECT_EQ(copies(), 0);
}

TEST_F(MultiHost, RestartedAgentAdoptsWhatRunsAndReportsWhatEndedMeanwhile) {
  // One job outlives the agent's restart; the other ends while no agent watches it.
  const std::string a = submit("--cpus 1 --mem 64M --workdir / -- sh -c 'echo a started; sleep 4; echo a done'");
  json ja;
  wait_for("job a to start", [&] { return (ja = job(a))["state"] == "RUNNING"; });
  const int h = host_of(ja["node"]);
  const std::string b = submit("--cpus 1 --mem 64M --workdir / -- sh -c 'sleep 1; echo b exits 3; exit 3'");
  json jb;
  wait_for("job b to start", [&] { return (jb = job(b))["state"] == "RUNNING"; });
  const int hb = host_of(jb["node"]);
  for (int x : std::set<int>{h, hb}) {
    ::kill(pids_[x], SIGKILL);
    ::waitpid(pids_[x], nullptr, 0);
  }
  std::this_thread::sleep_for(2s);  // b ends meanwhile; well within the node timeout
  for (int x : std::set<int>{h, hb}) pids_[x] = spawn(x, "agent", dir_ / ("agent" + std::to_string(x) + ".toml"));
  wait_for("both jobs to end", [&] { return ended(ja = job(a)) && ended(jb = job(b)); });
  EXPECT_EQ(ja["state"], "COMPLETED") << ja.dump();
  EXPECT_EQ(ja["attempt"], 0) << "ran once, not requeued";
  EXPECT_EQ(gwang("logs " + a).output, "a started\na done\n");
  EXPECT_EQ(jb["state"], "FAILED") << jb.dump();
  EXPECT_EQ(jb["exit_code"], 3);
  EXPECT_EQ(jb["attempt"], 0);
  EXPECT_EQ(gwang("logs " + b).output, "b exits 3\n");
}

TEST_F(MultiHost, CutOffAgentEndsItsTasksAndTheJobRunsOnceElsewhere) {
  // Each run writes when it starts and when it stops, with the time.
  const std::string marks = (dir_ / "marks").string();
  write(marks, "");
  fs::permissions(marks, fs::perms::all);
  const std::string id = submit(
      "--cpus 1 --mem 64M --workdir / -- sh -c '"
      "trap \"echo stop $GWANG_NODELIST $(date +%s.%N) >> " +
      marks +
      "; exit 143\" TERM; "
      "echo start $GWANG_NODELIST $(date +%s.%N) >> " +
      marks +
      "; sleep 8 & wait; "
      "echo end $GWANG_NODELIST $(date +%s.%N) >> " +
      marks + "'");
  json j;
  wait_for("the job to start", [&] { return (j = job(id))["state"] == "RUNNING"; });
  const std::string first = j["node"];
  const int h = host_of(first);
  wait_for("the first run to start", [&] { return slurp(marks).find("start") != std::string::npos; });
  run("ip link set " + veth(h) + " down");
  wait_for("the node to go down", [&] { return node_states()[first] == "down"; });
  wait_for("the job to run again", [&] { return (j = job(id))["state"] == "RUNNING" && j["attempt"] == 1; });
  run("ip link set " + veth(h) + " up");
  wait_for("the cut-off node to be up again", [&] { return node_states()[first] == "up"; });
  wait_for("the job to end", [&] { return ended(j = job(id)); });
  EXPECT_EQ(j["state"], "COMPLETED") << j.dump();
  EXPECT_NE(j["node"], first);
  // The marks: the first run stopped (ended by its own node) before the second started, and only
  // the second ran to its end.
  std::istringstream in(slurp(marks));
  std::vector<std::tuple<std::string, std::string, double>> lines;
  std::string what, where;
  double at = 0;
  while (in >> what >> where >> at) lines.emplace_back(what, where, at);
  ASSERT_EQ(lines.size(), 4u) << slurp(marks);
  EXPECT_EQ(std::get<0>(lines[0]), "start");
  EXPECT_EQ(std::get<1>(lines[0]), first);
  EXPECT_EQ(std::get<0>(lines[1]), "stop");
  EXPECT_EQ(std::get<1>(lines[1]), first);
  EXPECT_EQ(std::get<0>(lines[2]), "start");
  EXPECT_EQ(std::get<1>(lines[2]), j["node"]);
  EXPECT_EQ(std::get<0>(lines[3]), "end");
  EXPECT_LT(std::get<2>(lines[1]), std::get<2>(lines[2])) << "the two runs overlapped";
}

// srun --pty across hosts: the agent of the task's host links its terminal to the controller, so
// keys and output go through with no port open on the node; once srun has gone for longer than
// the controller's terminal_grace (2 s here), its step is cancelled and the job goes on.
TEST_F(MultiHost, SrunPtyAcrossHostsAndAClientThatGoesAway) {
  const std::string env = slurm_commands();
  const Outcome o = sh(env + "sbatch --parsable -t 5 --mem=64M -o /dev/null --wrap 'sleep 300'");
  ASSERT_EQ(o.status, 0) << o.output;
  const std::string id = o.output.substr(0, o.output.find('\n'));
  wait_for("the job to run", [&] { return job(id)["state"] == "RUNNING"; });
  int terminal = -1;
  std::string seen;
  const pid_t srun = typed_on_terminal(env + "srun --jobid=" + id + " --overlap --pty sh",
                                       "echo on-$SLURMD_NODENAME-$((6*7))\r", "-42\r\n", terminal, seen);
  ASSERT_GE(srun, 0);
  EXPECT_NE(seen.find("on-" + job(id)["node"].get<std::string>() + "-42\r\n"), std::string::npos) << seen;
  kill_on_terminal(srun, terminal);  // srun goes, without a word to the controller
  wait_for("the step to be cancelled", [&] {
    return sh(env + "sacct -n -P -j " + id + " -o JobID,State").output.find(id + ".0|CANCELLED") != std::string::npos;
  });
  EXPECT_EQ(job(id)["state"], "RUNNING");
  gwang("cancel " + id);
}

// gwang run, salloc and srun outside a job keep asking after their allocations while their
// commands run: a command longer than the allocation's grace (3 s here) runs to its end.
TEST_F(MultiHost, HoldersKeepTheirAllocationsPastTheGrace) {
  const std::string env = slurm_commands();
  const Outcome run = gwang("run --mem 64M -- sh -c 'sleep 5; echo ran-$((6*7))'");
  EXPECT_EQ(run.status, 0) << run.output;
  EXPECT_EQ(run.output, "ran-42\n");
  const Outcome salloc = sh(env + "salloc -t 5 --mem=64M sh -c 'sleep 5; srun -n1 echo step-$((6*7))' 2>&1");
  EXPECT_EQ(salloc.status, 0) << salloc.output;
  EXPECT_NE(salloc.output.find("\nstep-42\nsalloc: Relinquishing job allocation "), std::string::npos) << salloc.output;
  const Outcome srun = sh(env + "srun -t 5 --mem=64M sh -c 'sleep 5; echo srun-$((6*7))'");
  EXPECT_EQ(srun.status, 0) << srun.output;
  EXPECT_EQ(srun.output, "srun-42\n");
}

// srun --pty outside a job, on another host: its own allocation; when srun dies without a word,
// its step is cancelled after the terminal's grace (2 s here), what it started there with it, and
// its allocation after the allocation's (3 s): nothing is left on the node.
TEST_F(MultiHost, SrunOutsideAJobThatDiesLeavesNothingBehind) {
  const std::string env = slurm_commands();
  int terminal = -1;
  std::string seen;
  const pid_t srun = typed_on_terminal(env + "srun -t 5 --mem=64M --pty sh",
                                       "sleep 317 & echo job-$((SLURM_JOB_ID+0))-on-$SLURMD_NODENAME-$((6*7))\r",
                                       "-42\r\n", terminal, seen);
  ASSERT_GE(srun, 0);
  const auto at = seen.rfind("job-");
  ASSERT_NE(at, std::string::npos) << seen;
  const std::string id = seen.substr(at + 4, seen.find("-on-", at) - at - 4);
  EXPECT_NE(seen.find("-on-" + job(id)["node"].get<std::string>() + "-42\r\n"), std::string::npos) << seen;
  EXPECT_EQ(sh("pgrep -f 'sleep 31[7]' >/dev/null; echo $?").output, "0\n") << "the step's process runs";
  kill_on_terminal(srun, terminal);
  // Its last call was a long poll, which counts as presence until it would have returned (at most
  // half the grace).
  wait_for("the allocation to end", [&] { return job(id)["state"] == "CANCELLED"; });
  EXPECT_EQ(job(id)["reason"], "its holder (salloc or srun) went silent: no word for 3 s");
  EXPECT_NE(sh(env + "sacct -n -P -j " + id + " -o JobID,State").output.find(id + ".0|CANCELLED"), std::string::npos);
  wait_for("the step's processes to be gone",
           [&] { return sh("pgrep -f 'sleep 31[7]' >/dev/null; echo $?").output == "1\n"; });
}

}  // namespace

// The corpus's multi-node scripts (tests/slurm/corpus/multinode), submitted with gwang's sbatch:
// srun spreads their steps over two hosts (a data-parallel rendezvous over TCP among them), and
// each script checks from inside what Slurm would have given it.
TEST_F(MultiHost, TheMultiNodeCorpusRunsItsStepsAcrossHosts) {
  const fs::path bin = dir_ / "bin";
  const std::string env = slurm_commands();
  const std::string corpus = std::string(GWANG_TEST_DIR) + "/../slurm/corpus/multinode";
  std::vector<std::string> scripts;
  for (const auto& e : fs::directory_iterator(corpus)) {
    fs::copy_file(e.path(), dir_ / e.path().filename());
    fs::permissions(dir_ / e.path().filename(), fs::perms::all);
    if (e.path().extension() == ".sh") scripts.push_back(e.path().stem().string());
  }
  std::sort(scripts.begin(), scripts.end());
  ASSERT_GE(scripts.size(), 3u);
  // The jobs find srun and scontrol on the PATH sbatch sends along; the controller and their
  // credential they are given.
  std::map<std::string, std::string> ids;
  for (const std::string& s : scripts) {
    const Outcome o = sh(env + (bin / "sbatch").string() + " --parsable " + s + ".sh");
    ASSERT_EQ(o.status, 0) << s << ": " << o.output;
    ids[s] = o.output.substr(0, o.output.find('\n'));
  }
  for (const auto& [s, id] : ids) {
    json j;
    wait_for(
        s + " to end", [&] { return ended(j = job(id)); }, 90s);
    const std::string out = slurp(dir_ / (s == "ddp" ? "ddp-" + id + ".out" : "slurm-" + id + ".out"));
    EXPECT_EQ(j["state"], "COMPLETED") << s << ": " << j.dump() << "\n" << out;
    EXPECT_NE(out.find("corpus ok: " + s), std::string::npos) << out;
    ASSERT_TRUE(j.contains("steps")) << j.dump();
    // The first step ran on both hosts of the job.
    EXPECT_EQ(j["steps"][0]["nodes"].size(), 2u) << j.dump();
  }
  // Every rank met the others, on two hosts.
  const std::string ddp = slurp(dir_ / ("ddp-" + ids["ddp"] + ".out"));
  for (int rank = 0; rank < 4; ++rank) {
    EXPECT_NE(ddp.find("rank " + std::to_string(rank) + " of 4 on node " + std::to_string(rank / 2) + ": sum 6"),
              std::string::npos)
        << ddp;
  }
  // sacct has the steps, as Slurm lists them: the one that failed under -K with its code.
  const Outcome acct = gwang("sacct -j " + ids["kill_bad_exit"] + " -P -n -o JobID,JobName,State,ExitCode,NNodes");
  EXPECT_NE(acct.output.find(ids["kill_bad_exit"] + ".0|bash|FAILED|4:0|2\n"), std::string::npos) << acct.output;
  EXPECT_NE(acct.output.find(ids["kill_bad_exit"] + ".1|true|COMPLETED|0:0|2\n"), std::string::npos) << acct.output;
}

// sbatch --mail-type: the controller runs its mail program, as Slurm's slurmctld runs MailProg,
// with the subject, the address, the job's variables and an empty input.
TEST_F(MultiHost, AJobMailsItsUserThroughTheMailProgram) {
  const fs::path bin = dir_ / "bin";
  const std::string env = slurm_commands();
  const Outcome o = sh(env + (bin / "sbatch").string() +
                       " --parsable -J mailed --mail-type=begin,end --mail-user=ada@example.org --wrap true");
  ASSERT_EQ(o.status, 0) << o.output;
  const std::string id = o.output.substr(0, o.output.find('\n'));
  wait_for("two mails", [&] {
    const std::string m = slurp(dir_ / "mails.txt");
    return std::count(m.begin(), m.end(), '\n') >= 2;
  });
  const std::string mails = slurp(dir_ / "mails.txt");
  EXPECT_NE(mails.find("-s Slurm Job_id=" + id + " Name=mailed Began, Queued time "), std::string::npos)
      << mails << job(id).dump();
  EXPECT_NE(mails.find(" ada@example.org|" + id + "|Began|\n"), std::string::npos) << mails;
  EXPECT_NE(mails.find("-s Slurm Job_id=" + id + " Name=mailed Ended, Run time "), std::string::npos) << mails;
  EXPECT_NE(mails.find(", COMPLETED, ExitCode 0 ada@example.org|" + id + "|Ended|\n"), std::string::npos) << mails;
}

// CPU places: a job's task runs on CPUs of its own, near its device where the node's topology says
// (each host's npu:test is declared near CPU 1); a step's tasks on disjoint CPUs of the job's, told
// as Slurm's task/affinity tells them, with its line for --cpu-bind=verbose; --cpu-bind=none and
// map_cpu as asked; a step waits while another holds the job's CPUs; exact steps side by side.
// Each task reads its own Cpus_allowed_list.
TEST_F(MultiHost, TasksRunOnTheirOwnCpusNearTheirDevices) {
  const std::string near =
      submit("--cpus 1 --mem 64M --gpus 1 --workdir / -- grep Cpus_allowed_list /proc/self/status");
  json j;
  wait_for("the device's job to end", [&] { return ended(j = job(near)); });
  ASSERT_EQ(j["state"], "COMPLETED") << j.dump();
  EXPECT_EQ(gwang("logs " + near).output, "Cpus_allowed_list:\t1\n");

  const fs::path bin = dir_ / "bin";
  const std::string env = slurm_commands();
  const std::string show =
      "sh -c 'echo \"$SLURM_PROCID $(grep Cpus_allowed_list /proc/self/status | cut -f2) $SLURM_CPU_BIND\"'";
  write(dir_ / "bind.sh",
        "#!/bin/sh\n"
        "echo \"batch $(grep Cpus_allowed_list /proc/self/status | cut -f2)\"\n"
        "srun -n2 " +
            show +
            " | sort\n"
            "srun -n2 --cpu-bind=verbose true 2>&1 | sed 's/\\[[0-9]*\\]/[PID]/' | sort\n"
            "srun -n2 --cpu-bind=none " +
            show +
            " | sort\n"
            "srun -n1 --cpu-bind=map_cpu:1 " +
            show +
            "\n"
            // A step holds the job's CPUs: the next waits for it, and says so.
            "srun -n1 sleep 2 &\nsleep 0.5\nsrun -n1 true 2>&1 | sed \"s/$SLURM_JOB_ID/ID/\"\nwait\n"
            // Exact steps with their own memory run side by side, each on its CPU (each holds it a
            // second, so that the second starts while the first runs).
            "for k in 1 2; do srun -n1 --exact --mem=10 " +
            show.substr(0, show.size() - 1) + "; sleep 1' & done | cut -d' ' -f2 | sort\n");
  const Outcome o = sh(env + (bin / "sbatch").string() + " --parsable -N1 -n2 --mem=64M -o " +
                       (dir_ / "bind.out").string() + " " + (dir_ / "bind.sh").string());
  ASSERT_EQ(o.status, 0) << o.output;
  const std::string id = o.output.substr(0, o.output.find('\n'));
  wait_for("the steps' job to end", [&] { return ended(j = job(id)); });
  ASSERT_EQ(j["state"], "COMPLETED") << j.dump() << slurp(dir_ / "bind.out");
  const std::string host = j["node"];
  // --gres-flags=disable-binding: the task's CPU chosen as if it had no device (the lowest), not CPU 1.
  const json f = ended_job(
      sh(env + (bin / "sbatch").string() + " --parsable --mem=64M --gres=npu:test:1 --gres-flags=disable-binding -o " +
         (dir_ / "far.out").string() + " --wrap 'grep Cpus_allowed_list /proc/self/status'"),
      "--gres-flags=disable-binding");
  EXPECT_EQ(f["state"], "COMPLETED") << f.dump();
  EXPECT_EQ(slurp(dir_ / "far.out"), "Cpus_allowed_list:\t0\n");
  EXPECT_EQ(slurp(dir_ / "bind.out"),
            "batch 0-1\n"
            "0 0 quiet,mask_cpu:0x1,0x2\n"
            "1 1 quiet,mask_cpu:0x1,0x2\n"
            "cpu-bind=MASK - " +
                host +
                ", task  0  0 [PID]: mask 0x1 set\n"
                "cpu-bind=MASK - " +
                host +
                ", task  1  1 [PID]: mask 0x2 set\n"
                "0 0-1 quiet,none\n"
                "1 0-1 quiet,none\n"
                "0 1 quiet,map_cpu:1\n"
                "srun: Job ID step creation temporarily disabled, retrying (Requested nodes are busy)\n"
                "srun: Step created for job ID\n"
                "0\n"
                "1\n");
}

// sbatch's --nodelist, --nodefile and --exclude: a job runs on the nodes it names, all of them,
// and never on those it excludes; a node that does not exist is refused as Slurm refuses it.
TEST_F(MultiHost, JobsRunOnTheNodesTheyNameAndNotOnThoseTheyExclude) {
  const fs::path bin = dir_ / "bin";
  const std::string env = slurm_commands();
  const auto sbatch = [&](const std::string& args) {
    return sh(env + (bin / "sbatch").string() + " --parsable --mem=64M -o /dev/null " + args + " --wrap true");
  };
  write(dir_ / "nodes.txt", node(3) + "\n");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"-w " + node(2), node(2)},
      {"-w " + node(1) + "," + node(3), node(1) + "," + node(3)},  // the node count raised to two
      {"-N 2 --nodelist=host[2-3]", node(2) + "," + node(3)},
      {"-F " + (dir_ / "nodes.txt").string(), node(3)},
      {"-x " + node(1) + "," + node(2), node(3)},
      {"-N 2 --exclude=" + node(2), node(1) + "," + node(3)},
  };
  for (const auto& [args, nodes] : cases) {
    const json j = ended_job(sbatch(args), args);
    EXPECT_EQ(j["state"], "COMPLETED") << args << ": " << j.dump();
    EXPECT_EQ(j["node"], nodes) << args;
  }
  const Outcome unknown = sbatch("-w nosuch");
  EXPECT_EQ(unknown.status, 1) << unknown.output;
  EXPECT_NE(unknown.output.find("sbatch: error: Batch job submission failed: Invalid node name specified"),
            std::string::npos)
      << unknown.output;
  const Outcome both = sbatch("-w " + node(1) + " -x " + node(1));
  EXPECT_EQ(both.status, 1) << both.output;
  EXPECT_NE(both.output.find("is both required (--nodelist) and excluded (--exclude)"), std::string::npos)
      << both.output;
  const Outcome fewer = sbatch("-N 3 -w " + node(1));
  EXPECT_EQ(fewer.status, 1) << fewer.output;
  EXPECT_NE(fewer.output.find("gwang runs such a job on exactly the nodes it names"), std::string::npos)
      << fewer.output;
}

// sbatch's --constraint and --prefer against the agents' features (host1 fast and ib, host2 slow
// and ib, host3 none), and --tmp against their temporary file systems; scontrol shows a node's.
TEST_F(MultiHost, JobsRunOnNodesWithTheFeaturesTheyAsk) {
  const fs::path bin = dir_ / "bin";
  const std::string env = slurm_commands();
  const auto sbatch = [&](const std::string& args) {
    return sh(env + (bin / "sbatch").string() + " --parsable --mem=64M -o /dev/null " + args + " --wrap true");
  };
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"-C fast", node(1)},
      {"-C 'slow|fast' -x " + node(1), node(2)},
      {"-N 2 -C ib", node(1) + "," + node(2)},
      {"-N 2 -C '(fast|slow)&ib'", node(1) + "," + node(2)},
      {"-N 2 -C 'slow*1'", ""},  // host2 and one other: checked below
      {"--prefer slow", node(2)},
      {"--prefer nosuch", ""},  // a preference no node meets: placed without it
      {"-N 2 --prefer ib", node(1) + "," + node(2)},
      {"--tmp=1", ""},
      {"-B 1:1 --sockets-per-node=1 --cores-per-socket=1", ""},
      {"-n 3 --spread-job", node(1) + "," + node(2) + "," + node(3)},  // over every node, a task on each
      {"-n 4 -N 1-2 --spread-job -C ib", node(1) + "," + node(2)},
  };
  for (const auto& [args, nodes] : cases) {
    const json j = ended_job(sbatch(args), args);
    EXPECT_EQ(j["state"], "COMPLETED") << args << ": " << j.dump();
    if (!nodes.empty()) {
      EXPECT_EQ(j["node"], nodes) << args;
    }
    if (args.find("slow*1") != std::string::npos) {
      EXPECT_NE(j["node"].get<std::string>().find(node(2)), std::string::npos) << j.dump();
    }
  }
  // A feature no node has; a matching or that no two nodes meet alike; more /tmp than any has.
  const Outcome unknown = sbatch("-C nosuch");
  EXPECT_EQ(unknown.status, 1) << unknown.output;
  EXPECT_NE(unknown.output.find("sbatch: error: Batch job submission failed: Invalid feature specification"),
            std::string::npos)
      << unknown.output;
  const Outcome apart = sbatch("-N 2 -C '[fast|slow]'");
  EXPECT_EQ(apart.status, 1) << apart.output;
  EXPECT_NE(apart.output.find("no node can ever hold this job"), std::string::npos) << apart.output;
  const Outcome disk = sbatch("--tmp=1000000000");  // a petabyte of /tmp
  EXPECT_EQ(disk.status, 1) << disk.output;
  const Outcome sockets = sbatch("-B 64");
  EXPECT_EQ(sockets.status, 1) << sockets.output;
  EXPECT_NE(sockets.output.find("no node can ever hold this job"), std::string::npos) << sockets.output;
  const Outcome malformed = sbatch("-C 'fast&'");
  EXPECT_NE(malformed.status, 0) << malformed.output;
  EXPECT_NE(malformed.output.find("Invalid --constraint specification 'fast&'"), std::string::npos) << malformed.output;
  // --batch: the script runs on the job's node with the feature (host2), which comes first.
  const json b = ended_job(sh(env + (bin / "sbatch").string() + " --parsable --mem=64M -N 2 -C ib --batch=slow -o " +
                              (dir_ / "batch.out").string() + " --wrap 'echo $SLURMD_NODENAME $SLURM_NODEID'"),
                           "--batch");
  EXPECT_EQ(b["state"], "COMPLETED") << b.dump();
  EXPECT_EQ(slurp(dir_ / "batch.out"), node(2) + " 0\n");
  const Outcome shown = sh(env + (bin / "scontrol").string() + " show node " + node(1));
  EXPECT_NE(shown.output.find("AvailableFeatures=fast,ib"), std::string::npos) << shown.output;
  EXPECT_NE(shown.output.find("ActiveFeatures=fast,ib"), std::string::npos) << shown.output;
  // srun -C inside a job of two nodes: the step runs on those of its nodes with the feature.
  const json j =
      ended_job(sh(env + (bin / "sbatch").string() + " --parsable --mem=64M -N 2 -C ib -o " +
                   (dir_ / "step.out").string() + " --wrap 'srun -N 1 -C slow hostname; srun -N 1 -C nosuch true'"),
                "srun -C");
  const std::string out = slurp(dir_ / "step.out");
  EXPECT_NE(out.find("Requested node configuration is not available"), std::string::npos) << out;
  ASSERT_TRUE(j.contains("steps")) << j.dump() << out;
  EXPECT_EQ(j["steps"][0]["nodes"], json::array({node(2)})) << j.dump();
}

// sbatch --exclusive: the job has all of its node's CPUs, and no other job's task runs there
// while it does; with --thread-spec, less those it keeps for the system.
TEST_F(MultiHost, AnExclusiveJobHasItsNodeToItself) {
  const fs::path bin = dir_ / "bin";
  const std::string env = slurm_commands();
  const auto sbatch = [&](const std::string& args) {
    const Outcome o = sh(env + (bin / "sbatch").string() + " --parsable --mem=64M " + args);
    EXPECT_EQ(o.status, 0) << args << ": " << o.output;
    return o.output.substr(0, o.output.find('\n'));
  };
  const std::string whole = sbatch("--exclusive -w " + node(1) + " -o " + (dir_ / "whole.out").string() +
                                   " --wrap 'echo cpus=$SLURM_CPUS_ON_NODE; sleep 2'");
  const std::string other = sbatch("-w " + node(1) + " -o /dev/null --wrap true");
  json a, b;
  wait_for(
      "both jobs to end", [&] { return ended(a = job(whole)) && ended(b = job(other)); }, 60s);
  EXPECT_EQ(a["state"], "COMPLETED") << a.dump();
  EXPECT_EQ(b["state"], "COMPLETED") << b.dump();
  EXPECT_GE(b["start_time"].get<std::int64_t>(), a["end_time"].get<std::int64_t>()) << a.dump() << b.dump();
  EXPECT_EQ(slurp(dir_ / "whole.out"), "cpus=" + sh("nproc").output);  // the CPUs this process may use, as the agent's
  // --thread-spec: the node whole, less a thread kept for the system.
  const std::string spec = sbatch("--thread-spec=1 -w " + node(2) + " -o " + (dir_ / "spec.out").string() +
                                  " --wrap 'echo cpus=$SLURM_CPUS_ON_NODE'");
  json c;
  wait_for(
      "the job of --thread-spec to end", [&] { return ended(c = job(spec)); }, 60s);
  EXPECT_EQ(c["state"], "COMPLETED") << c.dump();
  EXPECT_EQ(slurp(dir_ / "spec.out"), "cpus=" + std::to_string(std::max(1, std::stoi(sh("nproc").output) - 1)) + "\n");
  const Outcome shown = sh(env + (bin / "sbatch").string() + " --exclusive=user --wrap true");
  EXPECT_NE(shown.status, 0);
  EXPECT_NE(shown.output.find("--exclusive=user: gwang keeps whole nodes for a job"), std::string::npos)
      << shown.output;
}

// srun --bcast on two hosts: each node's own copy of the program (compressed on the way), and
// with --send-libs the library it needs from a directory that is not the system's, beside the
// copy and first in LD_LIBRARY_PATH: the copy loads it from there.
TEST_F(MultiHost, SrunBcastCopiesTheProgramAndItsLibrariesToEachNode) {
  const fs::path bin = dir_ / "bin", work = dir_ / "bcast";
  const std::string env = slurm_commands();
  fs::create_directories(work / "lib");
  fs::create_directories(work / "copies");
  fs::permissions(work, fs::perms::all);
  fs::permissions(work / "copies", fs::perms::all);
  write(work / "gw.c", "int gw(void) { return 7; }\n");
  write(work / "uses.c",
        "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\nint gw(void);\n"
        "int main(void) {\n  char line[512], *lib = \"none\";\n  FILE* maps = fopen(\"/proc/self/maps\", \"r\");\n"
        "  while (fgets(line, sizeof line, maps)) if (strstr(line, \"libgw\")) { lib = strchr(line, '/'); break; }\n"
        "  lib[strcspn(lib, \"\\n\")] = 0;\n"
        "  printf(\"%s %s %d\\n\", getenv(\"SLURMD_NODENAME\"), lib, gw());\n  return 0;\n}\n");
  run("cd " + work.string() + " && cc -shared -fPIC -o lib/libgw.so gw.c && cc -o uses uses.c -Llib -lgw");
  const json j =
      ended_job(sh(env + (bin / "sbatch").string() + " --parsable --mem=64M -N 2 -o " + (work / "out").string() +
                   " --wrap 'cd " + work.string() + " && LD_LIBRARY_PATH=" + (work / "lib").string() +
                   " srun --bcast=" + (work / "copies").string() + "/ --send-libs --compress ./uses | sort'"),
                "srun --bcast");
  EXPECT_EQ(j["state"], "COMPLETED") << j.dump() << slurp(work / "out");
  const std::string id = std::to_string(j["id"].get<std::int64_t>());
  std::string expected;
  std::stringstream nodes(j["node"].get<std::string>());
  for (std::string n; std::getline(nodes, n, ',');) {
    const fs::path copy = work / "copies" / ("slurm_bcast_" + id + ".0_" + n);
    expected += n + " " + copy.string() + "_libs/libgw.so 7\n";
    EXPECT_TRUE(slurp(copy) == slurp(work / "uses")) << copy;  // (binaries: not printed)
    EXPECT_TRUE(slurp(copy.string() + "_libs/libgw.so") == slurp(work / "lib" / "libgw.so")) << copy;
  }
  EXPECT_EQ(slurp(work / "out"), expected);
}

// srun --slurmd-debug: each node's agent says on the task's standard error (relayed by srun) what
// it started, as whom and where, on which CPUs, and how the task ended; without it, nothing.
TEST_F(MultiHost, SrunSlurmdDebugSaysWhatTheAgentDidWithEachTask) {
  const fs::path bin = dir_ / "bin";
  const std::string env = slurm_commands();
  const json j =
      ended_job(sh(env + (bin / "sbatch").string() + " --parsable --mem=64M -N 2 -o " + (dir_ / "debug.out").string() +
                   " --wrap 'srun --slurmd-debug=verbose sh -c \"exit \\$SLURM_NODEID\" 2>&1 | sort; "
                   "srun true 2>&1'"),
                "srun --slurmd-debug");
  EXPECT_EQ(j["state"], "COMPLETED") << j.dump();
  const std::string out = slurp(dir_ / "debug.out");
  const std::string first = j["node"].get<std::string>().substr(0, j["node"].get<std::string>().find(','));
  const std::string second = j["node"].get<std::string>().substr(first.size() + 1);
  for (const auto& [node, rank] : {std::pair{first, 0}, std::pair{second, 1}}) {
    const std::string task = "gwang-agent-" + node + ": task " + std::to_string(rank) + " \\(\\d+\\)";
    for (const std::string& line :
         {task + " started \\S+ as sh \\(uid 65534\\) in " + dir_.string(), task + ": CPUs \\S+, memory limit 64 MB",
          task + " exited with exit code " + std::to_string(rank) + "\\."}) {
      EXPECT_TRUE(std::regex_search(out, std::regex("(^|\n)" + line + "\n"))) << line << "\n" << out;
    }
  }
  EXPECT_NE(out.find("srun: error: " + second + ": task 1: Exited with exit code 1\n"), std::string::npos) << out;
  // Six lines of the agents', srun's own, and none from the plain srun after it.
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 7) << out;
}

// sbatch --gid (root's): the job's tasks run as that group on their nodes, batch shell and steps
// alike, and scontrol shows it; another user may not ask it.
TEST_F(MultiHost, AJobRunsAsTheGroupItsGidNames) {
  const fs::path bin = dir_ / "bin";
  const std::string env = slurm_commands();
  const json j = ended_job(
      sh(env + (bin / "sbatch").string() + " --parsable --mem=64M --gid=daemon -o " + (dir_ / "gid.out").string() +
         " --wrap 'id -gn; echo $SLURM_JOB_GID; srun id -gn; scontrol show job $SLURM_JOB_ID "
         "| grep -o \"GroupId=[^ ]*\"'"),
      "sbatch --gid");
  EXPECT_EQ(j["state"], "COMPLETED") << j.dump() << slurp(dir_ / "gid.out");
  EXPECT_EQ(slurp(dir_ / "gid.out"), "daemon\n1\ndaemon\nGroupId=daemon(1)\n");
  const Outcome unknown = sh(env + (bin / "sbatch").string() + " --gid=no-such-group --wrap true");
  EXPECT_EQ(unknown.status, 1) << unknown.output;
  EXPECT_EQ(unknown.output, "sbatch: error: Invalid --gid specification\n");
  const Outcome user = sh(env + "setpriv --reuid=65534 --regid=65534 --clear-groups " + (bin / "sbatch").string() +
                          " --gid=daemon --wrap true");
  EXPECT_EQ(user.status, 1) << user.output;
  EXPECT_EQ(user.output, "sbatch: error: --gid only permitted by root user\n");
}

// sbatch --contiguous: two nodes adjacent in name order. With host2 held whole, host1 and host3
// are free but not adjacent: the job waits for host2 and runs on it and a neighbour.
TEST_F(MultiHost, AContiguousJobWaitsForAdjacentNodes) {
  const fs::path bin = dir_ / "bin";
  const std::string env = slurm_commands();
  const auto sbatch = [&](const std::string& args) {
    const Outcome o = sh(env + (bin / "sbatch").string() + " --parsable --mem=64M -o /dev/null " + args);
    EXPECT_EQ(o.status, 0) << args << ": " << o.output;
    return o.output.substr(0, o.output.find('\n'));
  };
  const std::string whole = sbatch("--exclusive -w " + node(2) + " --wrap 'sleep 2'");
  json w;
  wait_for("the whole-node job to start", [&] { return (w = job(whole))["state"] == "RUNNING"; });
  const std::string adjacent = sbatch("-N 2 --contiguous --wrap true");
  json a;
  wait_for(
      "both jobs to end", [&] { return ended(w = job(whole)) && ended(a = job(adjacent)); }, 60s);
  EXPECT_EQ(a["state"], "COMPLETED") << a.dump();
  EXPECT_GE(a["start_time"].get<std::int64_t>(), w["end_time"].get<std::int64_t>()) << a.dump() << w.dump();
  const std::string nodes = a["node"];
  EXPECT_TRUE(nodes == node(1) + "," + node(2) || nodes == node(2) + "," + node(3)) << nodes;
}

// sbatch -k (--no-kill): a node of the job that fails leaves it, and the job goes on with the
// others. Its step there without srun -k ends whole; the one with -k goes on on the other nodes;
// a new step (its node count the job's SLURM_NNODES, still 3) runs on the two left, and the job
// completes as its script does.
TEST_F(MultiHost, ANoKillJobGoesOnWithoutItsFailedNode) {
  const fs::path bin = dir_ / "bin";
  const std::string env = slurm_commands();
  const fs::path started = dir_ / "nokill.started", out = dir_ / "nokill.out", script = dir_ / "nokill.sh";
  std::ofstream(script) << "#!/bin/bash\n"
                           "srun --overlap -N3 sleep 300 & a=$!\n"
                           "srun --overlap -k -N3 sleep 25 & b=$!\n"
                           "sleep 3; touch "
                        << started.string()
                        << "\n"
                           "wait $a; echo \"without -k: rc=$?\"\n"
                           "srun --overlap bash -c 'echo on $SLURMD_NODENAME' | sort\n"
                           "wait $b; echo \"with -k: rc=$?\"\n"
                           "scontrol show job $SLURM_JOB_ID | grep -o 'NumNodes=[0-9]*'\n";
  const Outcome o =
      sh(env + (bin / "sbatch").string() + " --parsable -N3 -k --mem=64M -o " + out.string() + " " + script.string());
  ASSERT_EQ(o.status, 0) << o.output;
  const std::string id = o.output.substr(0, o.output.find('\n'));
  json j;
  wait_for("the job and its steps to run", [&] { return fs::exists(started) && (j = job(id))["state"] == "RUNNING"; });
  std::vector<std::string> nodes;
  for (std::string s = j["node"]; !s.empty();) {
    const auto comma = s.find(',');
    nodes.push_back(s.substr(0, comma));
    s = comma == std::string::npos ? "" : s.substr(comma + 1);
  }
  ASSERT_EQ(nodes.size(), 3u) << j.dump();
  const std::string lost = nodes[2];  // not the script's node
  const int h = host_of(lost);
  ::kill(pids_[h], SIGKILL);
  ::waitpid(pids_[h], nullptr, 0);
  pids_[h] = -1;
  wait_for("the node to go down", [&] { return node_states()[lost] == "down"; });
  j = job(id);
  EXPECT_EQ(j["state"], "RUNNING") << j.dump();
  EXPECT_EQ(j["node"], nodes[0] + "," + nodes[1]) << j.dump();
  wait_for(
      "the job to end", [&] { return ended(j = job(id)); }, 60s);
  EXPECT_EQ(j["state"], "COMPLETED") << j.dump() << slurp(out);
  const std::string text = slurp(out);
  EXPECT_EQ(text.find("without -k: rc=0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("without -k: rc="), std::string::npos) << text;
  std::vector<std::string> left = {nodes[0], nodes[1]};
  std::sort(left.begin(), left.end());
  EXPECT_NE(text.find("on " + left[0] + "\non " + left[1] + "\n"), std::string::npos) << text;
  EXPECT_NE(text.find("with -k: rc="), std::string::npos) << text;
  EXPECT_NE(text.find("NumNodes=2\n"), std::string::npos) << text;
}
