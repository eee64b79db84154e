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

}  // namespace
