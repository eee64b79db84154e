// Tasks on this node: launched as the job's account with a clean environment, output in files,
// tracked as a whole, ended by exit, time limit, cancel or the memory limit. These tests start real
// processes; they need root (as the agent does) for the account switch and the cgroups.
#include "agent/task.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace gwang::agent {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class TaskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("gwang_task_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    fs::permissions(dir_, fs::perms::all);  // the unprivileged account writes here too
  }
  void TearDown() override { fs::remove_all(dir_); }

  TaskSpec spec(std::vector<std::string> argv) {
    TaskSpec s;
    s.name = "test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++);
    s.argv = std::move(argv);
    s.env = {{"PATH", "/usr/local/bin:/usr/bin:/bin"}, {"GWANG_JOB_ID", "7"}};
    s.workdir = dir_.string();
    s.stdout_path = (dir_ / "out").string();
    s.stderr_path = (dir_ / "err").string();
    return s;
  }
  static std::string slurp(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  // Polls until the task ends (or `limit` passes: a failure).
  static TaskStatus wait_end(Task& task, Clock::duration limit = 20s) {
    const auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      if (auto s = task.poll(Clock::now())) return *s;
      std::this_thread::sleep_for(5ms);
    }
    ADD_FAILURE() << "task did not end within the limit";
    task.terminate(TaskEnd::Cancelled, 0s, Clock::now());
    for (int i = 0; i < 1000; ++i) {
      if (auto s = task.poll(Clock::now())) return *s;
      std::this_thread::sleep_for(5ms);
    }
    return {};
  }
  // True when no live process has this pid (a zombie left to init counts as gone).
  static bool gone(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    if (!stat) return true;
    std::string line;
    std::getline(stat, line);
    const auto close = line.rfind(')');
    return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
  }

  fs::path dir_;
  int counter_ = 0;
  Tracking tracking_ = Tracking::detect();
};

// A task's output goes to its files and its exit code comes back.
TEST_F(TaskTest, OutputFilesAndExitCode) {
  auto task = Task::launch(spec({"sh", "-c", "echo to-out; echo to-err >&2; exit 3"}), tracking_);
  ASSERT_TRUE(task) << task.error().message;
  const TaskStatus s = wait_end(**task);
  EXPECT_EQ(s.end, TaskEnd::Exited);
  EXPECT_EQ(s.exit_code, 3);
  EXPECT_EQ(slurp(dir_ / "out"), "to-out\n");
  EXPECT_EQ(slurp(dir_ / "err"), "to-err\n");
}

// srun --mem-bind: the task's memory policy is set before its program runs (numa_maps shows it
// for each mapping without one of its own), with its verbose line first; a binding the node cannot
// make ends the task with exit code 1 and the reason, the program not run.
TEST_F(TaskTest, MemoryBindingAndItsRefusal) {
  for (const auto& [policy, shown] : {std::pair{2, "bind:0"}, std::pair{1, "prefer:0"}}) {
    TaskSpec s = spec({"sh", "-c", "head -1 /proc/self/numa_maps | cut -d' ' -f2"});
    s.mem_policy = policy;  // MPOL_BIND, MPOL_PREFERRED
    s.mem_nodes = {0};
    s.mem_note_head = "mem-bind=MAP - n1, task  0  0 [";
    s.mem_note_tail = "]: mask 0x1 set\n";
    auto task = Task::launch(s, tracking_);
    ASSERT_TRUE(task) << task.error().message;
    EXPECT_EQ(wait_end(**task).exit_code, 0);
    EXPECT_EQ(slurp(dir_ / "out"), std::string(shown) + "\n");
    EXPECT_EQ(slurp(dir_ / "err"),
              "mem-bind=MAP - n1, task  0  0 [" + std::to_string((*task)->pid()) + "]: mask 0x1 set\n");
    fs::remove(dir_ / "out");
    fs::remove(dir_ / "err");
  }
  TaskSpec s = spec({"sh", "-c", "echo ran"});
  s.refusal = "gwang-agent-n1: error: NUMA node 1 does not exist\n";
  auto task = Task::launch(s, tracking_);
  ASSERT_TRUE(task) << task.error().message;
  const TaskStatus end = wait_end(**task);
  EXPECT_EQ(end.end, TaskEnd::Exited);
  EXPECT_EQ(end.exit_code, 1);
  EXPECT_EQ(slurp(dir_ / "out"), "");
  EXPECT_EQ(slurp(dir_ / "err"), "gwang-agent-n1: error: NUMA node 1 does not exist\n");
  TaskSpec far = spec({"true"});
  far.mem_policy = 2;
  far.mem_nodes = {4096};
  const auto beyond = Task::launch(far, tracking_);
  ASSERT_FALSE(beyond);
  EXPECT_EQ(beyond.error().message, "NUMA node 4096 is beyond what a task can be bound to");
}

// The task sees exactly the environment it was given, and starts in its working directory.
TEST_F(TaskTest, CleanEnvironmentAndWorkdir) {
  auto task = Task::launch(spec({"sh", "-c", "env | sort; pwd"}), tracking_);
  ASSERT_TRUE(task) << task.error().message;
  EXPECT_EQ(wait_end(**task).exit_code, 0);
  const std::string out = slurp(dir_ / "out");
  // sh itself adds PWD (and may add SHLVL); nothing of the agent's environment leaks in.
  EXPECT_NE(out.find("GWANG_JOB_ID=7\n"), std::string::npos) << out;
  EXPECT_NE(out.find("PATH=/usr/local/bin:/usr/bin:/bin\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("HOME="), std::string::npos) << out;
  EXPECT_NE(out.find("\n" + dir_.string() + "\n"), std::string::npos) << out;
}

// A task inherits its three standard files and nothing else the agent holds open without
// close-on-exec (a listening socket, say): else a job would keep the controller's port bound after
// it stopped.
TEST_F(TaskTest, InheritsOnlyItsStandardFiles) {
  const int leak = ::socket(AF_INET, SOCK_STREAM, 0);  // inheritable, as a library may open one
  ASSERT_GE(leak, 3);
  auto task = Task::launch(spec({"sh", "-c", "ls /proc/self/fd"}), tracking_);
  ::close(leak);
  ASSERT_TRUE(task) << task.error().message;
  EXPECT_EQ(wait_end(**task).exit_code, 0);
  // 0, 1, 2, and the directory ls reads.
  EXPECT_EQ(slurp(dir_ / "out"), "0\n1\n2\n3\n") << "leaked descriptor: " << leak;
}

// A task runs as its owner's account (here nobody), and its output files belong to it.
TEST_F(TaskTest, RunsAsTheOwnersAccount) {
  ASSERT_EQ(::getuid(), 0u) << "the agent, and this test, run as root";
  TaskSpec s = spec({"sh", "-c", "id -u; id -g; id -G"});
  s.uid = 65534;
  s.gid = 65534;
  s.groups = {65534};
  auto task = Task::launch(s, tracking_);
  ASSERT_TRUE(task) << task.error().message;
  EXPECT_EQ(wait_end(**task).exit_code, 0);
  EXPECT_EQ(slurp(dir_ / "out"), "65534\n65534\n65534\n");
  struct stat st;
  ASSERT_EQ(::stat((dir_ / "out").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 65534u);
}

// A program that does not exist is refused at launch; a working directory that does not exist
// ends the task with 127, and the task says why.
TEST_F(TaskTest, LaunchFailuresSayWhy) {
  auto missing = Task::launch(spec({"no-such-program-gwang"}), tracking_);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("program 'no-such-program-gwang' not found in PATH"), std::string::npos)
      << missing.error().message;
  TaskSpec s = spec({"true"});
  s.workdir = (dir_ / "nowhere").string();
  auto bad_dir = Task::launch(s, tracking_);
  ASSERT_TRUE(bad_dir) << bad_dir.error().message;
  EXPECT_EQ((*bad_dir)->failure(), "");  // not known before the child reports
  const TaskStatus status = wait_end(**bad_dir);
  EXPECT_EQ(status.end, TaskEnd::Exited);
  EXPECT_EQ(status.exit_code, 127);
  EXPECT_NE((*bad_dir)->failure().find("entering the working directory failed: No such file or directory"),
            std::string::npos)
      << (*bad_dir)->failure();
}

// The working directory is entered as the owner: one the owner may not enter is refused.
TEST_F(TaskTest, WorkdirIsEnteredAsTheOwner) {
  const auto closed = dir_ / "closed";
  fs::create_directories(closed);
  fs::permissions(closed, fs::perms::owner_all);  // root only
  TaskSpec s = spec({"pwd"});
  s.uid = 65534;
  s.gid = 65534;
  s.groups = {65534};
  s.workdir = closed.string();
  auto task = Task::launch(s, tracking_);
  ASSERT_TRUE(task) << task.error().message;
  EXPECT_EQ(wait_end(**task).exit_code, 127);
  EXPECT_NE((*task)->failure().find("entering the working directory failed: Permission denied"), std::string::npos)
      << (*task)->failure();
  EXPECT_EQ(slurp(dir_ / "out"), "");  // pwd never ran
}

// Output is never written through a link placed where the output file goes.
TEST_F(TaskTest, OutputPathMayNotBeALink) {
  fs::create_symlink(dir_ / "elsewhere", dir_ / "out");
  auto task = Task::launch(spec({"true"}), tracking_);
  ASSERT_FALSE(task);
  EXPECT_NE(task.error().message.find("cannot open " + (dir_ / "out").string()), std::string::npos)
      << task.error().message;
  EXPECT_FALSE(fs::exists(dir_ / "elsewhere"));
}

// Cancel: SIGTERM first; a task that ignores it gets SIGKILL when the grace runs out.
TEST_F(TaskTest, CancelEscalatesToKillAfterGrace) {
  auto task = Task::launch(spec({"sh", "-c", "trap '' TERM; echo ready; while :; do sleep 1; done"}), tracking_);
  ASSERT_TRUE(task) << task.error().message;
  while (slurp(dir_ / "out").empty()) std::this_thread::sleep_for(5ms);
  const auto t0 = Clock::now();
  (*task)->terminate(TaskEnd::Cancelled, 300ms, t0);
  const TaskStatus s = wait_end(**task);
  EXPECT_GE(Clock::now() - t0, 300ms);
  EXPECT_EQ(s.end, TaskEnd::Cancelled);
  EXPECT_EQ(s.signal, SIGKILL);
}

// Time limit: a task that honours SIGTERM ends with it, and is reported timed out.
TEST_F(TaskTest, TimeLimitEndsWithSigterm) {
  auto task = Task::launch(spec({"sleep", "100"}), tracking_);
  ASSERT_TRUE(task) << task.error().message;
  (*task)->terminate(TaskEnd::TimedOut, 10s, Clock::now());
  const TaskStatus s = wait_end(**task, 5s);
  EXPECT_EQ(s.end, TaskEnd::TimedOut);
  EXPECT_EQ(s.signal, SIGTERM);
}

// A task's groups are removed once it has ended, without the caller waiting on a busy group.
TEST_F(TaskTest, GroupsAreRemovedAfterTheEnd) {
  TaskSpec s = spec({"sh", "-c", "sleep 0.1 & exit 0"});
  s.name += "-cleanup";
  auto task = Task::launch(s, tracking_);
  ASSERT_TRUE(task) << task.error().message;
  EXPECT_EQ(wait_end(**task).exit_code, 0);
  bool cleaned = false;
  for (int i = 0; i < 200 && !(cleaned = (*task)->cleaned()); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(cleaned);
  EXPECT_EQ(tracking_.end_groups(std::to_string(::getpid()) + "-" + std::to_string(counter_ - 1) + "-cleanup"), 0)
      << tracking_.describe();
}

// No process of a task outlives it: children left behind when the main process exits are ended,
// also one that started its own session (cgroup tracking), where the host can track it.
TEST_F(TaskTest, NoChildOutlivesTheTask) {
  auto task = Task::launch(spec({"sh", "-c",
                                 "sleep 1000 & echo $! > child; setsid sleep 1000 & echo $! > escaped; "
                                 "sleep 0.2; exit 0"}),
                           tracking_);
  ASSERT_TRUE(task) << task.error().message;
  const TaskStatus s = wait_end(**task);
  EXPECT_EQ(s.end, TaskEnd::Exited);
  const pid_t child = std::stoi(slurp(dir_ / "child"));
  const pid_t escaped = std::stoi(slurp(dir_ / "escaped"));
  for (int i = 0; i < 100 && !gone(child); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(gone(child));
  if (tracking_.tracks_with_cgroups() || tracking_.enforces_memory()) {
    for (int i = 0; i < 100 && !gone(escaped); ++i) std::this_thread::sleep_for(10ms);
    EXPECT_TRUE(gone(escaped)) << tracking_.describe();
  } else {
    // Without cgroups a process that leaves the session cannot be found: the agent says so.
    EXPECT_NE(tracking_.describe().find("escape"), std::string::npos);
    ::kill(escaped, SIGKILL);
  }
}

// Without cgroups, a task's shell with job control (a terminal's, `set -m`) gives each job a
// process group of its own: they are still the task's, by its session, ended with it whether it
// exits or is cancelled.
TEST_F(TaskTest, AShellsJobsEndWithTheTaskWithoutCgroups) {
  const Tracking groups = Tracking::detect({.allow_cgroups = false});
  const auto on_terminal = [&](std::vector<std::string> argv) {
    TaskSpec s = spec(std::move(argv));
    s.terminal_rows = 24;
    s.terminal_cols = 80;
    return s;
  };
  auto exits =
      Task::launch(on_terminal({"sh", "-c", "set -m; sleep 1000 & echo $! > child; sleep 0.2; exit 0"}), groups);
  ASSERT_TRUE(exits) << exits.error().message;
  EXPECT_EQ(wait_end(**exits).end, TaskEnd::Exited);
  const pid_t child = std::stoi(slurp(dir_ / "child"));
  for (int i = 0; i < 200 && !gone(child); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(gone(child));
  auto cancelled = Task::launch(on_terminal({"sh", "-c", "set -m; sleep 1000 & echo $! > job; sleep 1000"}), groups);
  ASSERT_TRUE(cancelled) << cancelled.error().message;
  for (int i = 0; i < 200 && !fs::exists(dir_ / "job"); ++i) std::this_thread::sleep_for(10ms);
  std::this_thread::sleep_for(50ms);
  const pid_t job = std::stoi(slurp(dir_ / "job"));
  EXPECT_EQ(::getpgid(job), job) << "the job leads a group of its own";
  (*cancelled)->terminate(TaskEnd::Cancelled, 1s, Clock::now());
  EXPECT_EQ(wait_end(**cancelled).end, TaskEnd::Cancelled);
  for (int i = 0; i < 200 && !gone(job); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(gone(job));
}

// The memory limit is enforced where the host allows it: the task is killed and reported so.
TEST_F(TaskTest, MemoryLimit) {
  TaskSpec s = spec({"awk", "BEGIN { s = \"x\"; for (;;) s = s s }"});  // doubles a string until stopped
  s.memory_limit_bytes = 64ll << 20;
  auto task = Task::launch(s, tracking_);
  ASSERT_TRUE(task) << task.error().message;
  if (tracking_.enforces_memory()) {
    const TaskStatus st = wait_end(**task, 30s);
    EXPECT_EQ(st.end, TaskEnd::OutOfMemory) << tracking_.describe();
    EXPECT_EQ(st.signal, SIGKILL);
  } else {
    // Nothing to enforce it with: the task runs until it ends by itself or is ended.
    std::this_thread::sleep_for(200ms);
    EXPECT_FALSE((*task)->poll(Clock::now()).has_value());
    (*task)->terminate(TaskEnd::Cancelled, 0s, Clock::now());
    EXPECT_EQ(wait_end(**task).end, TaskEnd::Cancelled);
  }
}

// The host's tracking is described for operators.
// What the task wrote on its terminal until `needle` appears (or `limit` passes: all there was).
std::string read_terminal_until(int fd, const std::string& needle, std::string& seen,
                                std::chrono::milliseconds limit = 10000ms) {
  const auto deadline = Clock::now() + limit;
  while (seen.find(needle) == std::string::npos && Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    char buf[4096];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) seen.append(buf, static_cast<std::size_t>(n));
    if (n < 0 && errno == EIO) break;  // the task and its keeper have ended
  }
  return seen;
}

void write_terminal(int fd, const std::string& bytes) {
  ASSERT_EQ(::write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
}

// srun --pty: the task's standard files are its terminal, of the size asked, owned by its user;
// what it writes there is read on the agent's side, and its exit code comes back as usual.
TEST_F(TaskTest, ATerminalTaskWritesOnItsTerminal) {
  TaskSpec s = spec({"sh", "-c", "stty size; stat -c %U $(tty); test -t 0 && echo on-a-terminal; exit 3"});
  s.uid = 65534;
  s.gid = 65534;
  s.groups = {65534};
  s.status_path = (dir_ / "status").string();  // under its keeper, as the agent runs tasks
  s.terminal_rows = 24;
  s.terminal_cols = 100;
  auto task = Task::launch(s, tracking_);
  ASSERT_TRUE(task) << task.error().message;
  ASSERT_GE((*task)->terminal(), 0);
  std::string seen;
  read_terminal_until((*task)->terminal(), "never", seen);
  EXPECT_NE(seen.find("24 100\r\n"), std::string::npos) << seen;
  EXPECT_NE(seen.find("nobody\r\n"), std::string::npos) << seen;
  EXPECT_NE(seen.find("on-a-terminal"), std::string::npos) << seen;
  const TaskStatus st = wait_end(**task);
  EXPECT_EQ(st.end, TaskEnd::Exited);
  EXPECT_EQ(st.exit_code, 3);
  EXPECT_EQ(slurp(dir_ / "out"), "");  // its output went to the terminal alone
  auto plain = Task::launch(spec({"true"}), tracking_);
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ((*plain)->terminal(), -1);
  EXPECT_FALSE((*plain)->resize(10, 10));
  wait_end(**plain);
}

// An interactive shell on the terminal: input reaches it, a resize is seen, Ctrl-C interrupts what
// runs in the foreground and the shell goes on, and `exit 5` ends the task with 5.
TEST_F(TaskTest, ATerminalCarriesInputResizesAndCtrlC) {
  TaskSpec s = spec({"sh"});
  s.status_path = (dir_ / "status").string();
  s.terminal_rows = 24;
  s.terminal_cols = 80;
  auto task = Task::launch(s, tracking_);
  ASSERT_TRUE(task) << task.error().message;
  const int fd = (*task)->terminal();
  const auto started = Clock::now();
  std::string seen;
  write_terminal(fd, "echo ready-$((6*7))\n");
  read_terminal_until(fd, "ready-42\r\n", seen);
  ASSERT_NE(seen.find("ready-42\r\n"), std::string::npos) << seen;
  ASSERT_TRUE((*task)->resize(40, 120));
  seen.clear();
  write_terminal(fd, "stty size\n");
  read_terminal_until(fd, "40 120\r\n", seen);
  EXPECT_NE(seen.find("40 120\r\n"), std::string::npos) << seen;
  write_terminal(fd, "sleep 60\n");
  std::this_thread::sleep_for(300ms);
  write_terminal(fd, "\x03");
  seen.clear();
  write_terminal(fd, "echo back-$((6*7))\n");
  read_terminal_until(fd, "back-42\r\n", seen);
  EXPECT_NE(seen.find("back-42\r\n"), std::string::npos) << seen;
  write_terminal(fd, "exit 5\n");
  const TaskStatus st = wait_end(**task);
  EXPECT_EQ(st.end, TaskEnd::Exited);
  EXPECT_EQ(st.exit_code, 5);
  EXPECT_LT(Clock::now() - started, 30s);  // the sleep was interrupted
}

TEST(Tracking, DescribesWhatTheHostOffers) {
  const Tracking t = Tracking::detect();
  EXPECT_FALSE(t.describe().empty());
  const Tracking none = Tracking::detect({.allow_cgroups = false});
  EXPECT_FALSE(none.tracks_with_cgroups());
  EXPECT_FALSE(none.enforces_memory());
  EXPECT_NE(none.describe().find("process groups"), std::string::npos);
}

}  // namespace
}  // namespace gwang::agent

namespace gwang::agent {
namespace {

// A task with a status file runs under a keeper: the exit code and the signal that ended it reach
// the agent as before, and the file holds them for an agent that adopts the task later.
TEST(TaskKeeper, StatusFileHoldsHowTheTaskEnded) {
  const Tracking tracking = Tracking::detect();
  const std::string dir = ::testing::TempDir() + "gwang_keeper_" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  auto spec = [&](const std::string& name, std::vector<std::string> argv) {
    TaskSpec s;
    s.name = name + "." + std::to_string(::getpid());
    s.argv = std::move(argv);
    s.env = {{"PATH", "/usr/bin:/bin"}};
    s.uid = ::getuid();
    s.gid = ::getgid();
    s.stdout_path = dir + "/" + name + ".out";
    s.stderr_path = dir + "/" + name + ".err";
    s.status_path = dir + "/" + name + ".status";
    return s;
  };
  auto wait = [](Task& t) {
    for (int i = 0; i < 2000; ++i) {
      if (auto s = t.poll(Clock::now())) return *s;
      ::usleep(2000);
    }
    ADD_FAILURE() << "task did not end";
    return TaskStatus{};
  };
  auto slurp = [](const std::string& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  auto exits = Task::launch(spec("exits", {"sh", "-c", "echo out; exit 7"}), tracking);
  ASSERT_TRUE(exits) << exits.error().message;
  TaskStatus s = wait(**exits);
  EXPECT_EQ(s.end, TaskEnd::Exited);
  EXPECT_EQ(s.exit_code, 7);
  EXPECT_EQ(slurp(dir + "/exits.status"), "exit 7\n");
  EXPECT_EQ(slurp(dir + "/exits.out"), "out\n");

  auto killed = Task::launch(spec("killed", {"sh", "-c", "kill -SEGV $$"}), tracking);
  ASSERT_TRUE(killed) << killed.error().message;
  s = wait(**killed);
  EXPECT_EQ(s.end, TaskEnd::Signaled);
  EXPECT_EQ(s.signal, SIGSEGV);
  EXPECT_EQ(slurp(dir + "/killed.status"), "sig  11\n");

  // Cancelled: the keeper ignores the SIGTERM, the task does not.
  auto cancelled = Task::launch(spec("cancelled", {"sleep", "30"}), tracking);
  ASSERT_TRUE(cancelled) << cancelled.error().message;
  (*cancelled)->terminate(TaskEnd::Cancelled, std::chrono::seconds(5), Clock::now());
  s = wait(**cancelled);
  EXPECT_EQ(s.end, TaskEnd::Cancelled);
  EXPECT_EQ(s.signal, SIGTERM);
  EXPECT_EQ(slurp(dir + "/cancelled.status"), "sig  15\n");

  // A program that cannot run ends the task with 127 and says why, as without a keeper.
  auto missing = Task::launch(spec("missing", {"/nonexistent/program"}), tracking);
  ASSERT_TRUE(missing) << missing.error().message;
  s = wait(**missing);
  EXPECT_EQ(s.end, TaskEnd::Exited);
  EXPECT_EQ(s.exit_code, 127);
  EXPECT_NE((*missing)->failure().find("executing the program failed"), std::string::npos) << (*missing)->failure();
  EXPECT_EQ(slurp(dir + "/missing.status"), "exit 127\n");
  std::filesystem::remove_all(dir);
}

// A process that has ended but is not reaped keeps its start time for the one who asks for
// zombies (the agent, right after it forks a task that may end at once), and reads as gone for
// everyone else.
TEST(TaskStartTime, AZombieKeepsItsStartTimeOnlyWhenAskedFor) {
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    char c;
    (void)::read(ready[0], &c, 1);
    ::_exit(0);
  }
  const long long alive = Task::start_time(child);
  EXPECT_GT(alive, 0);
  EXPECT_TRUE(Task::same_process(child, alive));
  EXPECT_FALSE(Task::same_process(child, -1));
  ASSERT_EQ(::write(ready[1], "x", 1), 1);
  siginfo_t info{};
  ASSERT_EQ(::waitid(P_PID, child, &info, WEXITED | WNOWAIT), 0);  // ended, not reaped
  EXPECT_EQ(Task::start_time(child), -1);
  EXPECT_EQ(Task::start_time(child, true), alive);
  EXPECT_FALSE(Task::same_process(child, alive));
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_EQ(Task::start_time(child, true), -1);
  ::close(ready[0]);
  ::close(ready[1]);
}

}  // namespace
}  // namespace gwang::agent
