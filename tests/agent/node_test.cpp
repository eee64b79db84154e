// The node agent's record of its tasks: what a restarted agent learns from it. These tests start
// real processes as `nobody` (they need root, as the agent does).
#include "agent/node.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

namespace gwang::agent {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class NodeAgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("gwang_node_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "logs");
    fs::permissions(dir_, fs::perms::all);
  }
  void TearDown() override { fs::remove_all(dir_); }

  NodeAgentOptions options() const {
    NodeAgentOptions o;
    o.log_dir = (dir_ / "logs").string();
    o.state_dir = (dir_ / "state").string();
    o.group_suffix = "-nodetest" + std::to_string(::getpid());
    o.kill_grace = 1s;
    return o;
  }
  static Launch launch(std::int64_t job, std::vector<std::string> argv) {
    Launch l;
    l.task = task_id(job, 0, 0);
    l.job = job;
    l.user = "nobody";
    l.argv = std::move(argv);
    l.workdir = "/";
    return l;
  }
  // Polls until `n` tasks have ended.
  static std::vector<Finished> ended(NodeAgent& agent, std::size_t n) {
    std::vector<Finished> out;
    for (int i = 0; i < 2000 && out.size() < n; ++i) {
      for (Finished& f : agent.poll(Clock::now())) out.push_back(std::move(f));
      if (out.size() < n) std::this_thread::sleep_for(5ms);
    }
    return out;
  }

  fs::path dir_;
};

// Ends that the controller has not acknowledged are reported again by the next agent on the same
// state directory; acknowledged ones are forgotten.
TEST_F(NodeAgentTest, UnacknowledgedEndsSurviveARestart) {
  {
    NodeAgent agent(options());
    agent.launch(launch(1, {"sh", "-c", "exit 3"}), Clock::now());
    agent.launch(launch(2, {"sh", "-c", "exit 4"}), Clock::now());
    const std::vector<Finished> done = ended(agent, 2);
    ASSERT_EQ(done.size(), 2u);
    agent.acknowledge(task_id(1, 0, 0));
  }
  NodeAgent again(options());
  const std::vector<std::string> adopted = again.adopt_recorded();
  EXPECT_EQ(adopted, std::vector<std::string>{task_id(2, 0, 0)});
  const std::vector<Finished> reported = ended(again, 1);
  ASSERT_EQ(reported.size(), 1u);
  EXPECT_EQ(reported[0].task, task_id(2, 0, 0));
  EXPECT_EQ(reported[0].status.exit_code, 4);
}

// A line cut short (the agent died while writing it) is not taken for a task; the lines before it
// are.
TEST_F(NodeAgentTest, ALineCutShortIsIgnored) {
  {
    NodeAgent agent(options());
    agent.launch(launch(5, {"sh", "-c", "exit 0"}), Clock::now());
    ASSERT_EQ(ended(agent, 1).size(), 1u);
  }
  {
    std::ofstream out(dir_ / "state" / "tasks", std::ios::app);
    out << "+ 6.0.0 12 345 job-6.0.0";  // every field, but no end of line
  }
  NodeAgent again(options());
  EXPECT_EQ(again.adopt_recorded(), std::vector<std::string>{task_id(5, 0, 0)});
}

// A record whose start time is unknown (-1: an agent that read it after the task had ended) is not
// taken for a live process: the task is reported ended at once, not waited on for ever.
TEST_F(NodeAgentTest, ARecordWithoutAStartTimeIsNotALiveTask) {
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) ::_exit(0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);  // a pid that is gone
  fs::create_directories(dir_ / "state");
  {
    std::ofstream out(dir_ / "state" / "tasks");
    out << "+ 8.0.0 " << child << " -1 job-8.0.0" << options().group_suffix << "\n";
  }
  NodeAgent again(options());
  EXPECT_EQ(again.adopt_recorded(), std::vector<std::string>{task_id(8, 0, 0)});
  const std::vector<Finished> reported = ended(again, 1);
  ASSERT_EQ(reported.size(), 1u);
  EXPECT_EQ(reported[0].task, task_id(8, 0, 0));
}

// A task that cannot start is reported by a poll, with exit code 127 and the step that failed.
TEST_F(NodeAgentTest, AFailedStartIsReportedWithItsReason) {
  NodeAgent agent(options());
  Launch l = launch(7, {"true"});
  l.workdir = (dir_ / "missing").string();
  agent.launch(l, Clock::now());
  const std::vector<Finished> done = ended(agent, 1);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].status.exit_code, 127);
  EXPECT_NE(done[0].message.find("entering the working directory failed"), std::string::npos) << done[0].message;
}

// A task with a terminal whose link cannot reach the controller is ended, saying why, rather than
// left writing to no one; one asked for where the agent knows no controller is refused.
TEST_F(NodeAgentTest, ATerminalThatCannotBeLinkedEndsItsTask) {
  NodeAgentOptions o = options();
  o.controller_url = "http://127.0.0.1:1";  // nothing listens there
  NodeAgent agent(o);
  Launch l = launch(9, {"sleep", "30"});
  l.step = 0;
  l.task = step_task_id(9, 0, 0, 0);
  l.terminal_rows = 24;
  l.terminal_cols = 80;
  l.terminal_secret = "s";
  agent.launch(l, Clock::now());
  std::vector<Finished> done = ended(agent, 1);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].status.end, TaskEnd::Cancelled);
  EXPECT_NE(done[0].message.find("could not reach the controller"), std::string::npos) << done[0].message;
  NodeAgent alone(options());
  l.task = step_task_id(9, 0, 1, 0);
  alone.launch(l, Clock::now());
  done = ended(alone, 1);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].status.exit_code, 127);
  EXPECT_NE(done[0].message.find("no controller URL"), std::string::npos) << done[0].message;
}

// What the node itself tells a task, as Slurm's slurmd does: its own process id, its owner's ids,
// and the file mode mask srun asked for, which it starts with.
TEST_F(NodeAgentTest, ATaskIsToldItsProcessAndOwner) {
  NodeAgent agent(options());
  Launch l = launch(8, {"sh", "-c",
                        "echo $SLURM_TASK_PID $$ $SLURM_JOB_UID $(id -u) $SLURM_JOB_GID $(id -g) "
                        "$SLURM_UMASK $(umask) > " +
                            (dir_ / "out8").string()});
  l.env = {{"SLURM_UMASK", "0027"}, {"SLURM_TASK_PID", "1"}};
  agent.launch(l, Clock::now());
  ASSERT_EQ(ended(agent, 1).size(), 1u);
  std::ifstream in(dir_ / "out8");
  std::string pid, own_pid, uid, own_uid, gid, own_gid, mask_var, mask;
  in >> pid >> own_pid >> uid >> own_uid >> gid >> own_gid >> mask_var >> mask;
  EXPECT_EQ(pid, own_pid);
  EXPECT_EQ(uid, own_uid);
  EXPECT_EQ(gid, own_gid);
  EXPECT_EQ(mask_var, "0027");
  EXPECT_EQ(mask, "0027");
}

// --cpu-freq: the task's CPUs' frequencies are set (the node's cpufreq files: a made-up sysfs
// here) before its program runs, and put back when it ends; a CPU without cpufreq is left alone.
TEST_F(NodeAgentTest, ATasksCpuFrequenciesAreSetAndPutBack) {
  const fs::path cpu0 = dir_ / "sys/devices/system/cpu/cpu0/cpufreq";
  fs::create_directories(cpu0);
  fs::create_directories(dir_ / "sys/devices/system/cpu/cpu1");
  const auto put = [&](const char* name, const std::string& value) { std::ofstream(cpu0 / name) << value << "\n"; };
  const auto get = [&](const char* name) {
    std::ifstream in(cpu0 / name);
    std::string w;
    in >> w;
    return w;
  };
  put("scaling_available_frequencies", "2000000 1000000 1500000");
  put("scaling_governor", "ondemand");
  put("scaling_min_freq", "1000000");
  put("scaling_max_freq", "2000000");
  put("scaling_setspeed", "<unsupported>");
  for (const fs::path& p : fs::directory_iterator(cpu0)) fs::permissions(p, fs::perms::all);
  NodeAgentOptions o = options();
  o.sysfs = (dir_ / "sys").string();
  NodeAgent agent(o);
  // A single frequency: the UserSpace governor at that speed (the highest available below it).
  Launch l = launch(11, {"sh", "-c",
                         "cat " + (cpu0 / "scaling_governor").string() + " " + (cpu0 / "scaling_setspeed").string() +
                             " > " + (dir_ / "out11").string()});
  l.env = {{"SLURM_CPU_FREQ_REQ", "1800000"}};
  agent.launch(l, Clock::now());
  ASSERT_EQ(ended(agent, 1).size(), 1u);
  std::ifstream in(dir_ / "out11");
  std::stringstream seen;
  seen << in.rdbuf();
  EXPECT_EQ(seen.str(), "userspace\n1500000\n");
  EXPECT_EQ(get("scaling_governor"), "ondemand");
  // A range and a governor: Low-Medium:Performance.
  Launch r = launch(12, {"sh", "-c",
                         "cat " + (cpu0 / "scaling_min_freq").string() + " " + (cpu0 / "scaling_max_freq").string() +
                             " " + (cpu0 / "scaling_governor").string() + " > " + (dir_ / "out12").string()});
  r.env = {{"SLURM_CPU_FREQ_REQ", "Low-Medium:Performance"}};
  agent.launch(r, Clock::now());
  ASSERT_EQ(ended(agent, 1).size(), 1u);
  std::ifstream in12(dir_ / "out12");
  std::stringstream seen12;
  seen12 << in12.rdbuf();
  EXPECT_EQ(seen12.str(), "1000000\n1500000\nperformance\n");
  EXPECT_EQ(get("scaling_governor"), "ondemand");
  EXPECT_EQ(get("scaling_min_freq"), "1000000");
  EXPECT_EQ(get("scaling_max_freq"), "2000000");
}

// --gpu-freq: the task's GPUs' application clocks set through NVML (a stand-in library here)
// before its program runs, said on its standard error with verbose, and reset when it ends; a
// step reads SLURMD_TRES_FREQ, a batch shell SLURM_GPU_FREQ.
TEST_F(NodeAgentTest, ATasksGpuClocksAreSetAndReset) {
  const std::string gpu = "GPU-11111111-2222-3333-4444-555555555555";
  const fs::path log = dir_ / "nvml.log";
  ::setenv("GWANG_FAKE_NVML_LOG", log.c_str(), 1);
  NodeAgentOptions o = options();
  o.nvml_library = FAKE_NVML;
  o.host.devices.push_back({"gpu:H100", "NVIDIA H100 80GB HBM3", gpu, 0, 0, false, "", 'c', -1, -1, {}});
  NodeAgent agent(o);
  Launch step = launch(13, {"sh", "-c", "cat " + log.string() + " > " + (dir_ / "out13").string()});
  step.task = step_task_id(13, 0, 0, 0);
  step.step = 0;
  step.devices = {gpu};
  step.env = {{"SLURMD_TRES_FREQ", "gpu:medium,memory=high,verbose"}};
  agent.launch(step, Clock::now());
  ASSERT_EQ(ended(agent, 1).size(), 1u);
  const auto slurp = [](const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  EXPECT_EQ(slurp(dir_ / "out13"), "set " + gpu + " 2619 1005\n");
  EXPECT_EQ(slurp(dir_ / "logs" / log_name(step.task, true)),
            "gpu-freq: " + gpu + ": memory 2619 MHz, graphics 1005 MHz\n");
  EXPECT_EQ(slurp(log), "set " + gpu + " 2619 1005\nreset " + gpu + "\n");
  // A batch shell: its SLURM_GPU_FREQ; without verbose, nothing said.
  fs::remove(log);
  Launch batch = launch(14, {"true"});
  batch.devices = {gpu};
  batch.env = {{"SLURM_GPU_FREQ", "low"}};
  agent.launch(batch, Clock::now());
  ASSERT_EQ(ended(agent, 1).size(), 1u);
  EXPECT_EQ(slurp(log), "set " + gpu + " 2619 210\nreset " + gpu + "\n");
  EXPECT_EQ(slurp(dir_ / "logs" / log_name(batch.task, true)), "");
  ::unsetenv("GWANG_FAKE_NVML_LOG");
}

// The resource limits from where the job was submitted: the task starts with them (each at most
// its hard limit), and is not shown them.
TEST_F(NodeAgentTest, ATaskStartsWithTheLimitsItWasSent) {
  NodeAgent agent(options());
  Launch l = launch(
      10, {"sh", "-c", "echo $(ulimit -S -n) $(ulimit -S -c) [$SLURM_RLIMIT_NOFILE] > " + (dir_ / "out10").string()});
  l.env = {{"SLURM_RLIMIT_NOFILE", "77"}, {"SLURM_RLIMIT_CORE", "0"}, {"SLURM_RLIMIT_STACK", "not a number"}};
  agent.launch(l, Clock::now());
  ASSERT_EQ(ended(agent, 1).size(), 1u);
  std::ifstream in(dir_ / "out10");
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "77 0 []");
}

// A batch script starts with the mask sbatch sent, but is not shown it; one that asks for its
// user's login environment gets it from its login shell's profile, with the job's own variables
// over it.
TEST_F(NodeAgentTest, ABatchScriptMayStartFromItsUsersLogin) {
  fs::create_directories(dir_ / "home");
  std::ofstream(dir_ / "home" / ".profile") << "FROM_PROFILE=yes; export FROM_PROFILE\nFOO=profile; export FOO\n";
  NodeAgent agent(options());
  Launch l = launch(9, {});
  l.script = "#!/bin/sh\necho \"[$SLURM_UMASK] $(umask) $FROM_PROFILE $FOO $QUOTED $SLURM_JOB_ID\" > " +
             (dir_ / "out9").string() + "\n";
  l.env = {{"SLURM_UMASK", "0077"}, {"SLURM_GET_USER_ENV", "1"}, {"HOME", (dir_ / "home").string()},
           {"FOO", "job"},          {"QUOTED", "it's"},          {"SLURM_JOB_ID", "9"}};
  agent.launch(l, Clock::now());
  const std::vector<Finished> done = ended(agent, 1);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].status.exit_code, 0) << done[0].message;
  std::ifstream in(dir_ / "out9");
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "[] 0077 yes job it's 9");
}

// The record is rewritten whole once it has grown well past what it describes.
TEST_F(NodeAgentTest, TheRecordStaysSmall) {
  NodeAgent agent(options());
  for (std::int64_t round = 0; round < 24; ++round) {
    for (std::int64_t job = round * 50 + 1; job <= round * 50 + 50; ++job) {
      agent.launch(launch(job, {"true"}), Clock::now());
    }
    const std::vector<Finished> done = ended(agent, 50);
    ASSERT_EQ(done.size(), 50u) << round;
    for (const Finished& f : done) agent.acknowledge(f.task);
  }
  std::ifstream in(dir_ / "state" / "tasks");
  int lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  EXPECT_LT(lines, 1100);
  NodeAgent again(options());
  EXPECT_TRUE(again.adopt_recorded().empty());
}

// A task can open the device files of the devices it was given, and not those of the node's other
// devices (cgroup v1 devices controller): the file of its own device answers as a device without a
// driver does (ENXIO), the other's is refused (EPERM). The files are made here with mknod, with a
// major number reserved for local use, so no driver answers either.
TEST_F(NodeAgentTest, ATaskCannotOpenTheNodesOtherDevices) {
  ASSERT_TRUE(Tracking::detect().enforces_devices())
      << "this host has no cgroup v1 devices hierarchy: jobs would see every device file";
  std::vector<Device> devices;
  for (int i = 0; i < 2; ++i) {
    const std::string file = (dir_ / ("dev" + std::to_string(i))).string();
    ASSERT_EQ(::mknod(file.c_str(), S_IFCHR | 0666, ::makedev(240, 10 + i)), 0) << std::strerror(errno);
    ::chmod(file.c_str(), 0666);
    Device d{"npu:test", "npu:test", "npu:test-" + std::to_string(i), i, 0, true};
    ASSERT_TRUE(set_device_file(d, file));
    EXPECT_EQ(deny_rule(d), "c 240:" + std::to_string(10 + i) + " rwm");
    devices.push_back(d);
  }
  NodeAgentOptions o = options();
  o.host.cpus = 1;
  o.host.memory_bytes = 1LL << 30;
  o.host.devices = devices;
  NodeAgent agent(o);
  Launch l =
      launch(31, {"sh", "-c", "cat " + (dir_ / "dev0").string() + "; cat " + (dir_ / "dev1").string() + "; true"});
  l.devices = {"npu:test-0"};
  agent.launch(l, Clock::now());
  const auto done = ended(agent, 1);
  ASSERT_EQ(done.size(), 1u);
  std::ifstream in(dir_ / "logs" / log_name(task_id(31, 0, 0), true));
  std::stringstream err;
  err << in.rdbuf();
  EXPECT_NE(err.str().find("dev0: No such device or address"), std::string::npos) << err.str();
  EXPECT_NE(err.str().find("dev1: Operation not permitted"), std::string::npos) << err.str();
}

// A signal is sent once by its serial: to all the task's processes, or to its main program
// alone; a serial sent before is passed over, and each sent one is recorded for the next agent.
TEST_F(NodeAgentTest, SignalsAreSentOnceEachByTheirSerial) {
  NodeAgent agent(options());
  const std::string out = (dir_ / "signals").string(), ready = (dir_ / "ready").string();
  // No shell forks while signals come (a forked shell not yet exec'd keeps the traps): the main
  // shell only waits, and its child is perl, which says it is ready once its handlers are set.
  const std::string child = "perl -e '$SIG{USR1}=\"IGNORE\"; $SIG{USR2}=sub{open(my $f, \">>" + out +
                            "\"); print $f \"child-usr2\\n\"; close $f}; open(my $r, \">" + ready +
                            "\"); close $r; sleep 1 while 1'";
  Launch l = launch(20, {"bash", "-c",
                         "trap 'echo usr1 >> " + out + "' USR1; trap 'echo usr2 >> " + out + "' USR2; " + child +
                             " & while :; do wait $!; done"});
  agent.launch(l, Clock::now());
  const std::string task = task_id(20, 0, 0);
  for (int i = 0; i < 400 && !fs::exists(ready); ++i) {
    (void)agent.poll(Clock::now());
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_TRUE(fs::exists(ready));  // both shells' traps are set: the child says so once it has set its own
  const auto lines = [&] {
    std::ifstream in(out);
    std::vector<std::string> got;
    for (std::string line; std::getline(in, line);) got.push_back(line);
    std::sort(got.begin(), got.end());
    return got;
  };
  const auto wait_for = [&](std::size_t n) {
    for (int i = 0; i < 400 && lines().size() < n; ++i) std::this_thread::sleep_for(5ms);
  };
  agent.signal(task, 0, SIGUSR1, false);
  agent.signal(task, 0, SIGUSR1, false);  // the same serial again: passed over
  wait_for(1);
  agent.signal(task, 1, SIGUSR2, true);  // the main program (the shell) alone, not its child
  wait_for(2);
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(lines(), (std::vector<std::string>{"usr1", "usr2"}));
  agent.signal(task, 2, SIGUSR2, false);  // every process
  wait_for(4);
  EXPECT_EQ(lines(), (std::vector<std::string>{"child-usr2", "usr1", "usr2", "usr2"}));
  agent.signal(task, 1, SIGUSR1, false);  // older than the last: passed over
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(lines().size(), 4u);
  EXPECT_EQ(agent.signalled(), (std::map<std::string, int>{{task, 2}}));
  agent.signal("99.0.0", 0, SIGUSR1, false);  // no such task: nothing
  // The record says what was sent, for an agent that adopts the task.
  std::ifstream record(dir_ / "state" / "tasks");
  const std::string text((std::istreambuf_iterator<char>(record)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("s " + task + " 2\n"), std::string::npos) << text;
  agent.terminate(task, TaskEnd::Cancelled, Clock::now());
  EXPECT_EQ(ended(agent, 1).size(), 1u);
}

}  // namespace
}  // namespace gwang::agent
