// End to end: srun --pty in a job's allocation, driven from a terminal of the test's own as a user
// at a keyboard would: the task's terminal has this one's size and follows its resizes, what is
// typed reaches the task (a Ctrl-C interrupts what it runs, not srun), and srun ends with the
// task's exit code.
#include <poll.h>
#include <pty.h>
#include <sys/ioctl.h>

#include "up_fixture.h"

namespace {

class Terminal : public Up {
 protected:
  // What the terminal shows until `needle` does (or `limit` passes).
  std::string read_until(int fd, const std::string& needle, std::chrono::seconds limit = 15s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (seen_.find(needle) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      char buf[4096];
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      seen_.append(buf, static_cast<std::size_t>(n));
    }
    return seen_;
  }
  // A running job to start steps in; the Slurm commands installed in bin_.
  std::string running_job() {
    bin_ = dir_ / "bin";
    fs::create_directories(bin_);
    EXPECT_EQ(gwang("slurm install " + bin_.string()).status, 0);
    Outcome o = gwang_as((bin_ / "sbatch").string(), "--parsable -t 5 --mem 64M --wrap 'sleep 300'");
    EXPECT_EQ(o.status, 0) << o.output;
    const std::string id = o.output.substr(0, o.output.find('\n'));
    for (int i = 0; i < 200 && gwang("show " + id).output.find("State=RUNNING") == std::string::npos; ++i)
      std::this_thread::sleep_for(50ms);
    return id;
  }
  void type(int fd, const std::string& keys) {
    ASSERT_EQ(::write(fd, keys.data(), keys.size()), static_cast<ssize_t>(keys.size()));
  }
  // `program` (a path) with `args` on a new terminal of `rows` x `cols`, in the work directory;
  // its pid, and the terminal's other end in `fd`.
  pid_t on_terminal(int rows, int cols, const std::string& program, const std::vector<std::string>& args, int& fd) {
    struct winsize size {};
    size.ws_row = static_cast<unsigned short>(rows);
    size.ws_col = static_cast<unsigned short>(cols);
    const pid_t pid = ::forkpty(&fd, nullptr, nullptr, &size);
    if (pid == 0) {
      ::setenv("GWANG_DATA", (dir_ / "data").c_str(), 1);
      ::setenv("SHELL", "/bin/sh", 1);
      ::setenv("PS1", "$ ", 1);
      if (!bin_.empty()) ::setenv("PATH", (bin_.string() + ":" + std::getenv("PATH")).c_str(), 1);
      if (::chdir((dir_ / "work").c_str()) != 0) ::_exit(126);
      std::vector<char*> argv{const_cast<char*>(program.c_str())};
      for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(program.c_str(), argv.data());
      ::_exit(127);
    }
    return pid;
  }
  // Its exit status once it has ended (-1: it did not within 10 s, or ended by a signal).
  static int exit_of(pid_t pid) {
    int status = 0;
    for (int i = 0; i < 200 && ::waitpid(pid, &status, WNOHANG) == 0; ++i) std::this_thread::sleep_for(50ms);
    if (!WIFEXITED(status)) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      return -1;
    }
    return WEXITSTATUS(status);
  }
  static std::string host_name() {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);  // gwang up's node is this host
    return host;
  }
  void install_slurm() {
    bin_ = dir_ / "bin";
    fs::create_directories(bin_);
    EXPECT_EQ(gwang("slurm install " + bin_.string()).status, 0);
  }
  std::string seen_;
  fs::path bin_;  // set by running_job
};

TEST_F(Terminal, SrunPtyGivesTaskZeroATerminal) {
  const std::string id = running_job();
  const fs::path& bin = bin_;

  // srun on a terminal of 30 rows and 90 columns.
  struct winsize size {};
  size.ws_row = 30;
  size.ws_col = 90;
  int terminal = -1;
  const pid_t srun = ::forkpty(&terminal, nullptr, nullptr, &size);
  ASSERT_GE(srun, 0);
  if (srun == 0) {
    ::setenv("GWANG_DATA", (dir_ / "data").c_str(), 1);
    if (::chdir((dir_ / "work").c_str()) != 0) ::_exit(126);
    const std::string program = (bin / "srun").string();
    const std::string job = "--jobid=" + id;
    ::execl(program.c_str(), program.c_str(), job.c_str(), "--overlap", "--pty", "sh", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  type(terminal, "stty size; tty; echo SLURM_PTY_WIN=$SLURM_PTY_WIN_ROW,$SLURM_PTY_WIN_COL\r");
  read_until(terminal, "SLURM_PTY_WIN=30,90");
  EXPECT_NE(seen_.find("30 90\r\n"), std::string::npos) << seen_;
  EXPECT_NE(seen_.find("/dev/pts/"), std::string::npos) << seen_;
  EXPECT_NE(seen_.find("SLURM_PTY_WIN=30,90"), std::string::npos) << seen_;
  // A resize of this terminal reaches the task's.
  seen_.clear();
  size.ws_row = 40;
  size.ws_col = 100;
  ASSERT_EQ(::ioctl(terminal, TIOCSWINSZ, &size), 0);
  std::this_thread::sleep_for(300ms);
  type(terminal, "stty size\r");
  read_until(terminal, "40 100\r\n");
  EXPECT_NE(seen_.find("40 100\r\n"), std::string::npos) << seen_;
  // Ctrl-C interrupts the task's sleep; the shell, and srun, go on.
  const auto typed = std::chrono::steady_clock::now();
  type(terminal, "sleep 60\r");
  std::this_thread::sleep_for(500ms);
  type(terminal, "\x03");
  seen_.clear();
  type(terminal, "echo back-$((6*7))\r");
  read_until(terminal, "back-42\r\n");
  EXPECT_NE(seen_.find("back-42\r\n"), std::string::npos) << seen_;
  EXPECT_LT(std::chrono::steady_clock::now() - typed, 30s);
  // The task's exit code is srun's.
  type(terminal, "exit 3\r");
  read_until(terminal, "never", 5s);
  int status = 0;
  for (int i = 0; i < 200 && ::waitpid(srun, &status, WNOHANG) == 0; ++i) std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(WIFEXITED(status)) << status << "\n" << seen_;
  EXPECT_EQ(WEXITSTATUS(status), 3) << seen_;
  ::close(terminal);
  ::kill(srun, SIGKILL);
  ::waitpid(srun, nullptr, WNOHANG);
  // The step shows how its task ended, and the job goes on.
  Outcome o = gwang_as((bin / "sacct").string(), "-n -P -j " + id + " -o JobID,State,ExitCode");
  EXPECT_NE(o.output.find(id + ".0|FAILED|3:0\n"), std::string::npos) << o.output;
  EXPECT_NE(gwang("show " + id).output.find("State=RUNNING"), std::string::npos);
  gwang("cancel " + id);
}

// gwang attach: a shell in a running job's allocation, in this terminal; its exit code is the
// command's. Without a terminal, it says so.
TEST_F(Terminal, AttachOpensAShellInARunningJob) {
  const std::string id = running_job();
  struct winsize size {};
  size.ws_row = 25;
  size.ws_col = 70;
  int terminal = -1;
  const pid_t attach = ::forkpty(&terminal, nullptr, nullptr, &size);
  ASSERT_GE(attach, 0);
  if (attach == 0) {
    ::setenv("GWANG_DATA", (dir_ / "data").c_str(), 1);
    ::execl(GWANG_BINARY, GWANG_BINARY, "attach", id.c_str(), "--", "sh", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  type(terminal, "echo in-job-$SLURM_JOB_ID; stty size\r");
  read_until(terminal, "25 70\r\n");
  EXPECT_NE(seen_.find("in-job-" + id + "\r\n"), std::string::npos) << seen_;
  EXPECT_NE(seen_.find("25 70\r\n"), std::string::npos) << seen_;
  type(terminal, "exit 4\r");
  read_until(terminal, "never", 5s);
  int status = 0;
  for (int i = 0; i < 200 && ::waitpid(attach, &status, WNOHANG) == 0; ++i) std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 4) << status << "\n" << seen_;
  ::close(terminal);
  const Outcome none = gwang("attach " + id);
  EXPECT_EQ(none.status, 2);
  EXPECT_EQ(none.output, "gwang: attach gives a terminal, and this is none (its input or output is not one)\n");
  gwang("cancel " + id);
}

// --pty where srun's output is no terminal: Slurm's two lines, and the step runs without one.
TEST_F(Terminal, SrunPtyWithoutATerminalRunsWithoutOne) {
  const std::string id = running_job();
  const fs::path& bin = bin_;
  Outcome o =
      gwang_as((bin / "srun").string(), "--jobid=" + id + " --overlap --pty sh -c 'test -t 1 || echo no-terminal'");
  EXPECT_EQ(o.output,
            "srun: error: ioctl(TIOCGWINSZ): Inappropriate ioctl for device\n"
            "srun: error: Not using a pseudo-terminal, disregarding --pty option\n"
            "no-terminal\n");
  EXPECT_EQ(o.status, 0);
  o = gwang_as((bin / "srun").string(), "--jobid=" + id + " --overlap --pty -o out.txt true");
  EXPECT_EQ(o.output, "srun: error: --error/--input/--output are incompatible with --pty\n");
  EXPECT_EQ(o.status, 1);
  gwang("cancel " + id);
}

// salloc: an allocation and a shell with it here, in this terminal's foreground; srun in it runs
// on the allocation's node; what is typed reaches the shell (Ctrl-C its sleep); its exit code is
// salloc's, and the job ends FAILED with it.
TEST_F(Terminal, SallocGivesAShellWithTheAllocation) {
  install_slurm();
  int terminal = -1;
  const pid_t salloc = on_terminal(30, 90, (bin_ / "salloc").string(), {"-t", "5", "--mem=64M", "sh"}, terminal);
  ASSERT_GE(salloc, 0);
  read_until(terminal, "salloc: Granted job allocation ");
  read_until(terminal, "\r\n", 2s);
  const auto granted = seen_.find("salloc: Granted job allocation ");
  ASSERT_NE(granted, std::string::npos) << seen_;
  const std::string id = seen_.substr(granted + 31, seen_.find('\r', granted) - granted - 31);
  type(terminal, "echo job=$SLURM_JOB_ID nodes=$SLURM_JOB_NUM_NODES; srun -n1 sh -c 'echo step-$((40+2))'\r");
  read_until(terminal, "step-42\r\n");
  EXPECT_NE(seen_.find("job=" + id + " nodes=1\r\n"), std::string::npos) << seen_;
  EXPECT_NE(seen_.find("step-42\r\n"), std::string::npos) << seen_;
  EXPECT_NE(gwang("show " + id).output.find("State=RUNNING"), std::string::npos);
  seen_.clear();
  type(terminal, "stty size; sleep 60\r");
  read_until(terminal, "30 90\r\n");
  std::this_thread::sleep_for(300ms);
  type(terminal, "\x03");
  type(terminal, "echo back-$((6*7))\r");
  read_until(terminal, "back-42\r\n");
  EXPECT_NE(seen_.find("back-42\r\n"), std::string::npos) << seen_;
  seen_.clear();
  type(terminal, "exit 3\r");
  read_until(terminal, "salloc: Relinquishing job allocation " + id);
  EXPECT_EQ(exit_of(salloc), 3) << seen_;
  ::close(terminal);
  Outcome o = gwang_as((bin_ / "sacct").string(), "-n -P -X -j " + id + " -o JobName,State,ExitCode");
  EXPECT_EQ(o.output, "interactive|FAILED|3:0\n");
}

// srun --pty outside a job: an allocation made for it, task 0 on a terminal of this one's size,
// and srun's exit code the task's; gwang run -it does the same. The allocations are let go.
TEST_F(Terminal, SrunPtyOutsideAJobAndGwangRun) {
  install_slurm();
  int terminal = -1;
  pid_t srun = on_terminal(28, 88, (bin_ / "srun").string(), {"-t", "5", "--mem=64M", "--pty", "sh"}, terminal);
  ASSERT_GE(srun, 0);
  // What is typed is echoed before it runs: the output waited for is computed, not typed.
  type(terminal, "stty size; echo in-$SLURM_JOB_ID-$((6*7))\r");
  read_until(terminal, "-42\r\n");
  EXPECT_NE(seen_.find("28 88\r\n"), std::string::npos) << seen_;
  type(terminal, "exit 5\r");
  EXPECT_EQ(exit_of(srun), 5) << seen_;
  ::close(terminal);
  const auto end = seen_.rfind("-42\r\n");
  const auto in = seen_.rfind("in-", end);
  ASSERT_TRUE(end != std::string::npos && in != std::string::npos) << seen_;
  const std::string id = seen_.substr(in + 3, end - in - 3);
  Outcome o = gwang_as((bin_ / "sacct").string(), "-n -P -j " + id + " -o JobID,JobName,State,ExitCode");
  EXPECT_EQ(o.output, id + "|sh|FAILED|5:0\n" + id + ".0|sh|FAILED|5:0\n");

  seen_.clear();
  const pid_t run = on_terminal(24, 80, GWANG_BINARY, {"run", "-it", "--mem", "64M", "--", "sh"}, terminal);
  ASSERT_GE(run, 0);
  type(terminal, "tty\r");
  read_until(terminal, "/dev/pts/");
  EXPECT_NE(seen_.find("/dev/pts/"), std::string::npos) << seen_;
  type(terminal, "exit 0\r");
  EXPECT_EQ(exit_of(run), 0) << seen_;
  ::close(terminal);
  // Without a terminal, gwang run relays the output; the job shows how the command ended.
  const Outcome plain = gwang("run --mem 64M -- sh -c 'echo plain; exit 2'");
  EXPECT_EQ(plain.output, "plain\nsrun: error: " + host_name() + ": task 0: Exited with exit code 2\n");
  EXPECT_EQ(plain.status, 2);
  EXPECT_EQ(gwang_as((bin_ / "squeue").string(), "-h").output, "") << "every allocation was let go";
}

}  // namespace
