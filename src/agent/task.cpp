#include "agent/task.h"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "agent/decimal.h"

namespace gwang::agent {

namespace {

// What the child reports through the pipe when it cannot exec: the step and errno.
struct ChildFailure {
  int step;
  int error;
};
enum Step {
  kJoin = 1,
  kSession,
  kStdio,
  kWorkdir,
  kGroups,
  kGid,
  kUid,
  kExec,
  kKeeper,
  kCreateGroup,
  kLimit,
  kDevices,
  kAffinity,
  kOutput,
  kError,
  kInput,
  kMemory,
  kTerminal
};

const char* step_text(int step) {
  switch (step) {
    case kJoin:
      return "joining the task's process group";
    case kCreateGroup:
      return "creating the task's cgroup";
    case kLimit:
      return "setting the task's memory limit";
    case kDevices:
      return "keeping the task from the node's other devices";
    case kAffinity:
      return "binding the task to its CPUs";
    case kMemory:
      return "binding the task's memory to its NUMA nodes";
    case kSession:
      return "starting a session";
    case kStdio:
      return "redirecting output";
    case kWorkdir:
      return "entering the working directory";
    case kGroups:
      return "setting supplementary groups";
    case kGid:
      return "setting the group id";
    case kUid:
      return "setting the user id";
    case kExec:
      return "executing the program";
    case kKeeper:
      return "starting the task under its keeper";
    case kOutput:
      return "opening its output file";
    case kError:
      return "opening its error file";
    case kInput:
      return "opening its input file";
    case kTerminal:
      return "taking its terminal";
  }
  return "starting";
}

std::string env_value(const TaskSpec& spec, const std::string& key) {
  for (const auto& [k, v] : spec.env) {
    if (k == key) return v;
  }
  return "";
}

// The program to execute: argv[0] if it has a '/', else the first executable match in PATH.
Result<std::string> resolve_program(const TaskSpec& spec) {
  const std::string& prog = spec.argv.front();
  if (prog.find('/') != std::string::npos) return prog;
  std::string path = env_value(spec, "PATH");
  if (path.empty()) path = "/usr/local/bin:/usr/bin:/bin";
  std::size_t pos = 0;
  while (pos <= path.size()) {
    const std::size_t colon = path.find(':', pos);
    const std::string dir = path.substr(pos, colon == std::string::npos ? std::string::npos : colon - pos);
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + prog;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string::npos) break;
    pos = colon + 1;
  }
  return fail("program '" + prog + "' not found in PATH (" + path + ")");
}

Result<int> open_output(const std::string& path, uid_t uid, gid_t gid) {
  // O_NOFOLLOW: the agent, as root, never writes through a link someone placed at the path.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
  if (fd < 0) return fail("cannot open " + path + ": " + std::strerror(errno));
  if (::fchown(fd, uid, gid) != 0 && errno != EPERM) {
    ::close(fd);
    return fail("cannot give " + path + " to uid " + std::to_string(uid) + ": " + std::strerror(errno));
  }
  return fd;
}

// A new pseudo-terminal of `rows` x `cols` for a task of `uid`: the side the agent keeps
// (non-blocking) and the one the task takes, owned by its user and writable by its group alone.
struct Terminal {
  int agent = -1, task = -1;
};
Result<Terminal> open_terminal(const TaskSpec& spec) {
  Terminal t;
  t.agent = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
  if (t.agent < 0) return fail(std::string("cannot open a terminal: ") + std::strerror(errno));
  char name[128];
  if (::grantpt(t.agent) != 0 || ::unlockpt(t.agent) != 0 || ::ptsname_r(t.agent, name, sizeof name) != 0 ||
      (t.task = ::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
    const int e = errno;
    ::close(t.agent);
    return fail(std::string("cannot open a terminal: ") + std::strerror(e));
  }
  const struct winsize size { spec.terminal_rows, spec.terminal_cols, 0, 0 };
  if (::ioctl(t.agent, TIOCSWINSZ, &size) != 0 || ::fchown(t.task, spec.uid, static_cast<gid_t>(-1)) != 0 ||
      ::fchmod(t.task, 0620) != 0) {
    const int e = errno;
    ::close(t.agent);
    ::close(t.task);
    return fail("cannot give task " + spec.name + " its terminal: " + std::strerror(e));
  }
  return t;
}

// The most NUMA nodes a task's memory can be bound to.
constexpr int kMemMaskBits = 1024;

// What the child of a launch is given, all of it made before the fork.
struct ChildSetup {
  ProcessTracker& tracker;
  int out_fd, err_fd, status_fd, report_fd;
  int terminal_fd;  // the task's side of its terminal (its standard files), or -1
  const char* program;
  char* const* argv;
  char* const* envp;
  char* pid_slot;         // where the task writes its process id in its environment (room for 20 digits), or null
  const cpu_set_t* cpus;  // the task's CPUs, or null: not bound
  const unsigned long* mem_mask;  // the task's NUMA nodes (kMemMaskBits), for spec.mem_policy
};

// In the child: says which step failed (with errno) to the agent, and ends.
[[noreturn]] void child_failed(int report_fd, int step) {
  const ChildFailure f{step, errno};
  (void)!::write(report_fd, &f, sizeof f);
  ::_exit(127);
}

// In the child, with a status file: becomes the keeper, which runs the task as its own child,
// waits for it, writes its status, and ends the same way; it ignores the SIGTERM the task gets
// (SIGKILL still ends it). Returns in the task's process.
void keep(const ChildSetup& c) {
  const pid_t task = ::fork();
  if (task < 0) child_failed(c.report_fd, kKeeper);
  if (task > 0) {
    // The keeper holds nothing of the agent's (its sockets, its files) but the status file; the
    // agent reads EOF on the report once the task has exec'd.
    if (c.status_fd > 3) ::close_range(3, static_cast<unsigned>(c.status_fd) - 1, 0);
    ::close_range(static_cast<unsigned>(c.status_fd) + 1, ~0U, 0);
    // It outlives what is sent to the task's processes (SIGTERM at a cancel, a user's SIGUSR1):
    // only SIGKILL ends it, after the task.
    for (int sig = 1; sig < NSIG; ++sig) {
      if (sig != SIGKILL && sig != SIGSTOP && sig != SIGCHLD && sig != SIGSEGV && sig != SIGBUS && sig != SIGFPE &&
          sig != SIGILL && sig != SIGTRAP && sig != SIGABRT && sig != SIGSYS) {
        ::signal(sig, SIG_IGN);
      }
    }
    int status = 0;
    while (::waitpid(task, &status, 0) < 0 && errno == EINTR) {
    }
    char text[32] = "exit ";
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? WTERMSIG(status) : 1;
    if (WIFSIGNALED(status)) std::memcpy(text, "sig  ", 5);
    int len = 5 + format_decimal(code, text + 5);
    text[len++] = '\n';
    (void)!::write(c.status_fd, text, static_cast<std::size_t>(len));
    ::close(c.status_fd);
    if (WIFSIGNALED(status)) {
      ::signal(WTERMSIG(status), SIG_DFL);
      ::raise(WTERMSIG(status));
    }
    ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128);
  }
  ::close(c.status_fd);
}

// In the child, as the owner: the job's output, error and input files in place of the agent's.
void open_job_files(const TaskSpec& spec, int report_fd) {
  if (!spec.output.empty() || !spec.output_error.empty()) {
    const int flags = O_WRONLY | O_CREAT | (spec.output_append ? O_APPEND : O_TRUNC);
    int out = -1, err = -1;
    if (!spec.output.empty()) {
      out = ::open(spec.output.c_str(), flags, 0644);
      if (out < 0 || ::dup2(out, STDOUT_FILENO) < 0) child_failed(report_fd, kOutput);
    }
    if (!spec.output_error.empty() && spec.output_error != spec.output) {
      err = ::open(spec.output_error.c_str(), flags, 0644);
      if (err < 0 || ::dup2(err, STDERR_FILENO) < 0) child_failed(report_fd, kError);
    } else if (::dup2(out, STDERR_FILENO) < 0) {
      child_failed(report_fd, kStdio);
    }
    if (out > STDERR_FILENO) ::close(out);
    if (err > STDERR_FILENO) ::close(err);
  }
  if (!spec.input.empty()) {
    const int in = ::open(spec.input.c_str(), O_RDONLY);
    if (in < 0 || ::dup2(in, STDIN_FILENO) < 0) child_failed(report_fd, kInput);
    if (in > STDERR_FILENO) ::close(in);
  }
}

// The child of a launch: joins its task group, takes its session and files, its keeper if it has
// a status file, becomes its owner in its working directory, and runs the program. After the fork
// only async-signal-safe calls: everything it uses was made before.
[[noreturn]] void run_child(const TaskSpec& spec, const ChildSetup& c) {
  const ProcessTracker::JoinFailure joined = c.tracker.join_from_child();
  if (joined == ProcessTracker::kCreateFailed) child_failed(c.report_fd, kCreateGroup);
  if (joined == ProcessTracker::kLimitFailed) child_failed(c.report_fd, kLimit);
  if (joined == ProcessTracker::kDevicesFailed) child_failed(c.report_fd, kDevices);
  if (joined == ProcessTracker::kMoveFailed) child_failed(c.report_fd, kJoin);
  if (joined == ProcessTracker::kCpusFailed) child_failed(c.report_fd, kAffinity);
  if (c.cpus && ::sched_setaffinity(0, sizeof(cpu_set_t), c.cpus) != 0) child_failed(c.report_fd, kAffinity);
  if (::setsid() < 0) child_failed(c.report_fd, kSession);
  if (c.terminal_fd >= 0) {
    // The new session's controlling terminal: its keeper leads the session, the task's
    // processes get the terminal's signals (Ctrl-C, a resize).
    if (::ioctl(c.terminal_fd, TIOCSCTTY, 0) != 0) child_failed(c.report_fd, kTerminal);
    for (int fd : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO}) {
      if (::dup2(c.terminal_fd, fd) < 0) child_failed(c.report_fd, kTerminal);
    }
  } else {
    if (::dup2(c.out_fd, STDOUT_FILENO) < 0 || ::dup2(c.err_fd, STDERR_FILENO) < 0) child_failed(c.report_fd, kStdio);
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd < 0 || ::dup2(null_fd, STDIN_FILENO) < 0) child_failed(c.report_fd, kStdio);
  }
  // Signals the agent may block or ignore must not stay so in the task.
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD}) ::signal(sig, SIG_DFL);
  if (c.status_fd >= 0) keep(c);
  if (::getuid() == 0) {
    if (::setgroups(spec.groups.size(), spec.groups.data()) != 0) child_failed(c.report_fd, kGroups);
    if (::setgid(spec.gid) != 0) child_failed(c.report_fd, kGid);
    if (::setuid(spec.uid) != 0) child_failed(c.report_fd, kUid);
  } else if (::getuid() != spec.uid) {
    errno = EPERM;
    child_failed(c.report_fd, kUid);
  }
  // Only as the owner: a directory the owner may not enter stays closed to the task.
  if (::chdir(spec.workdir.empty() ? "/" : spec.workdir.c_str()) != 0) child_failed(c.report_fd, kWorkdir);
  if (c.terminal_fd < 0) open_job_files(spec, c.report_fd);
  if (spec.umask >= 0) ::umask(static_cast<mode_t>(spec.umask));
  for (const auto& [resource, value] : spec.rlimits) {
    struct rlimit limit {};
    const auto which = static_cast<__rlimit_resource_t>(resource);
    if (::getrlimit(which, &limit) != 0) continue;
    limit.rlim_cur = std::min<rlim_t>(static_cast<rlim_t>(value), limit.rlim_max);
    ::setrlimit(which, &limit);  // as Slurm does: a limit that cannot be set is left as it is
  }
  if (c.pid_slot) c.pid_slot[format_decimal(::getpid(), c.pid_slot)] = '\0';
  if (!spec.bind_note_head.empty()) {
    char pid[24];
    const int n = format_decimal(::getpid(), pid);
    (void)!::write(STDERR_FILENO, spec.bind_note_head.data(), spec.bind_note_head.size());
    (void)!::write(STDERR_FILENO, pid, static_cast<std::size_t>(n));
    (void)!::write(STDERR_FILENO, spec.bind_note_tail.data(), spec.bind_note_tail.size());
  }
  if (!spec.mem_note_head.empty()) {
    char pid[24];
    const int n = format_decimal(::getpid(), pid);
    (void)!::write(STDERR_FILENO, spec.mem_note_head.data(), spec.mem_note_head.size());
    (void)!::write(STDERR_FILENO, pid, static_cast<std::size_t>(n));
    (void)!::write(STDERR_FILENO, spec.mem_note_tail.data(), spec.mem_note_tail.size());
  }
  if (!spec.note.empty()) (void)!::write(STDERR_FILENO, spec.note.data(), spec.note.size());
  if (!spec.refusal.empty()) {
    (void)!::write(STDERR_FILENO, spec.refusal.data(), spec.refusal.size());
    ::_exit(1);
  }
  if (spec.mem_policy != 0 &&
      ::syscall(SYS_set_mempolicy, spec.mem_policy, c.mem_mask, static_cast<unsigned long>(kMemMaskBits) + 1) != 0) {
    child_failed(c.report_fd, kMemory);
  }
  // The task inherits its three standard files and nothing else of the agent's.
  ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
  ::execve(c.program, c.argv, c.envp);
  child_failed(c.report_fd, kExec);
}

}  // namespace

std::string_view to_string(TaskEnd end) {
  switch (end) {
    case TaskEnd::Exited:
      return "exited";
    case TaskEnd::Signaled:
      return "signaled";
    case TaskEnd::TimedOut:
      return "timed_out";
    case TaskEnd::Cancelled:
      return "cancelled";
    case TaskEnd::OutOfMemory:
      return "out_of_memory";
  }
  return "?";
}

Result<std::unique_ptr<Task>> Task::launch(const TaskSpec& spec, const Tracking& tracking) {
  if (spec.argv.empty()) return fail("task " + spec.name + ": no program to run");
  auto program = spec.find_program ? resolve_program(spec) : Result<std::string>(spec.argv.front());
  if (!program) return tl::unexpected(program.error());
  auto out_fd = open_output(spec.stdout_path, spec.uid, spec.gid);
  if (!out_fd) return tl::unexpected(out_fd.error());
  auto err_fd = open_output(spec.stderr_path, spec.uid, spec.gid);
  if (!err_fd) {
    ::close(*out_fd);
    return tl::unexpected(err_fd.error());
  }
  auto tracker = tracking.create(spec.name, spec.memory_limit_bytes, spec.denied_devices, spec.cpus);
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  for (const int id : spec.cpus) {
    if (id < 0 || id >= CPU_SETSIZE)
      return fail("CPU " + std::to_string(id) + " is beyond what a task can be bound to");
    CPU_SET(id, &cpus);
  }

  unsigned long mem_mask[kMemMaskBits / (8 * sizeof(unsigned long))] = {};
  for (const int node : spec.mem_nodes) {
    if (node < 0 || node >= kMemMaskBits)
      return fail("NUMA node " + std::to_string(node) + " is beyond what a task can be bound to");
    mem_mask[node / (8 * sizeof(unsigned long))] |= 1UL << (node % (8 * sizeof(unsigned long)));
  }

  // Everything the child needs is prepared before fork: after it, only async-signal-safe calls.
  std::vector<std::string> env_text;
  for (const auto& [k, v] : spec.env) {
    if (k != spec.pid_variable) env_text.push_back(k + "=" + v);
  }
  if (!spec.pid_variable.empty()) env_text.push_back(spec.pid_variable + "=" + std::string(20, ' '));
  std::vector<std::string> args = spec.argv;
  if (!spec.launcher.empty()) {
    args.front() = *program;
    args.insert(args.begin(), spec.launcher.begin(), spec.launcher.end());
    program = spec.launcher.front();
  }
  std::vector<char*> argv, envp;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (auto& e : env_text) envp.push_back(e.data());
  envp.push_back(nullptr);
  int status_fd = -1;
  if (!spec.status_path.empty()) {
    status_fd = ::open(spec.status_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (status_fd < 0) {
      ::close(*out_fd);
      ::close(*err_fd);
      tracker->remove_waiting();
      return fail("cannot open " + spec.status_path + ": " + std::strerror(errno));
    }
  }
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) {
    const int e = errno;
    ::close(*out_fd);
    ::close(*err_fd);
    if (status_fd >= 0) ::close(status_fd);
    tracker->remove_waiting();
    return fail(std::string("pipe: ") + std::strerror(e));
  }
  Terminal terminal;
  if (spec.terminal_rows > 0 && spec.terminal_cols > 0) {
    auto opened = open_terminal(spec);
    if (!opened) {
      for (int fd : {report[0], report[1], *out_fd, *err_fd, status_fd}) {
        if (fd >= 0) ::close(fd);
      }
      tracker->remove_waiting();
      return tl::unexpected(opened.error());
    }
    terminal = *opened;
  }

  const pid_t pid = ::fork();
  if (pid < 0) {
    const int e = errno;
    ::close(report[0]);
    ::close(report[1]);
    ::close(*out_fd);
    ::close(*err_fd);
    if (status_fd >= 0) ::close(status_fd);
    for (int fd : {terminal.agent, terminal.task}) {
      if (fd >= 0) ::close(fd);
    }
    tracker->remove_waiting();
    return fail(std::string("fork: ") + std::strerror(e));
  }
  if (pid == 0) {
    char* pid_slot = spec.pid_variable.empty() ? nullptr : env_text.back().data() + spec.pid_variable.size() + 1;
    run_child(spec, ChildSetup{*tracker, *out_fd, *err_fd, status_fd, report[1], terminal.task, program->c_str(),
                               argv.data(), envp.data(), pid_slot, spec.cpus.empty() ? nullptr : &cpus, mem_mask});
  }

  ::close(report[1]);
  if (terminal.task >= 0) ::close(terminal.task);
  ::close(*out_fd);
  ::close(*err_fd);
  if (status_fd >= 0) ::close(status_fd);
  // Whether the program was executed is read later, by poll: the caller does not wait for the
  // child to set itself up (a move into a cgroup can take tens of milliseconds).
  (void)::fcntl(report[0], F_SETFL, O_NONBLOCK);
  auto task = std::unique_ptr<Task>(new Task());
  task->name_ = spec.name;
  task->pid_ = pid;
  task->report_fd_ = report[0];
  task->terminal_fd_ = terminal.agent;
  task->status_path_ = spec.status_path;
  task->output_ = spec.output;
  task->error_ = spec.output_error.empty() ? spec.output : spec.output_error;
  task->input_ = spec.input;
  // Our child, not reaped yet: its start time is readable even if it has already ended.
  task->start_time_ = start_time(pid, true);
  task->tracker_ = std::move(tracker);
  task->tracker_->started(pid);
  return task;
}

bool Task::read_report() {
  if (report_fd_ < 0) return true;
  ChildFailure failure{};
  ssize_t n;
  do {
    n = ::read(report_fd_, &failure, sizeof failure);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && errno == EAGAIN) return false;
  if (n == static_cast<ssize_t>(sizeof failure)) {
    failure_ = "task " + name_ + ": " + step_text(failure.step);
    if (failure.step == kOutput) failure_ += " " + output_;
    if (failure.step == kError) failure_ += " " + error_;
    if (failure.step == kInput) failure_ += " " + input_;
    failure_ += std::string(" failed: ") + std::strerror(failure.error);
  }
  ::close(report_fd_);  // end of file: the program was executed (or the report was all there is)
  report_fd_ = -1;
  return true;
}

long long Task::start_time(pid_t pid, bool zombies) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return -1;
  const auto paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 2 > stat.size()) return -1;
  std::istringstream fields(stat.substr(paren + 2));
  std::string field;
  for (int i = 3; i <= 22 && fields >> field; ++i) {
    // A zombie has ended: where nobody reaps it (a container's init may not), it must not look alive.
    if (i == 3 && !zombies && (field == "Z" || field == "X")) return -1;
    if (i == 22) return std::stoll(field);
  }
  return -1;
}

bool Task::same_process(pid_t pid, long long start_time) {
  // An unknown start time (-1) matches no process: a record without one must not keep a task alive.
  return pid > 1 && start_time >= 0 && Task::start_time(pid) == start_time;
}

Result<std::unique_ptr<Task>> Task::adopt(const std::string& name, pid_t pid, long long start_time,
                                          const std::string& status_path, const Tracking& tracking) {
  auto tracker = tracking.create(name, 0);  // the task's existing group
  auto task = std::unique_ptr<Task>(new Task());
  task->name_ = name;
  task->pid_ = pid;
  task->adopted_ = true;
  task->start_time_ = start_time;
  task->status_path_ = status_path;
  task->tracker_ = std::move(tracker);
  if (same_process(pid, start_time)) task->tracker_->started(pid);
  return task;
}

Result<void> Task::resize(unsigned short rows, unsigned short cols) {
  if (terminal_fd_ < 0) return fail("task " + name_ + " has no terminal");
  const struct winsize size { rows, cols, 0, 0 };
  if (::ioctl(terminal_fd_, TIOCSWINSZ, &size) != 0)
    return fail("task " + name_ + ": cannot resize its terminal: " + std::strerror(errno));
  return {};
}

Task::~Task() {
  if (report_fd_ >= 0) ::close(report_fd_);
  if (terminal_fd_ >= 0) ::close(terminal_fd_);
  if (pid_ > 0 && !final_) {
    // Never leave a task behind: end it now.
    tracker_->signal_all(SIGKILL);
    if (adopted_) {
      if (same_process(pid_, start_time_)) ::kill(pid_, SIGKILL);
    } else if (!wait_status_) {
      // Our own child, not reaped: still that process. It may not have joined its group yet (it
      // joins after the fork, and the group's signal missed it), so it is killed by its pid too;
      // whatever it started after joining is in the group and ends below.
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    for (int i = 0; i < 200 && !tracker_->empty(); ++i) {
      tracker_->signal_all(SIGKILL);
      ::usleep(5000);
    }
    tracker_->remove_waiting();
  } else if (final_ && !removed_) {
    tracker_->remove_waiting();
  }
}

bool Task::cleaned() {
  if (!removed_) removed_ = tracker_->remove();
  return removed_;
}

void Task::terminate(TaskEnd why, Clock::duration grace, Clock::time_point now) {
  if (final_ || requested_) return;
  requested_ = why;
  kill_at_ = now + grace;
  // A child still setting itself up may not be in its group yet: the signal waits until the
  // program runs (poll sends it then), and the deadline holds either way.
  if (!read_report()) {
    term_deferred_ = true;
    return;
  }
  tracker_->signal_all(SIGTERM);
}

void Task::signal(int number, bool main_only) {
  if (final_ || wait_status_) return;
  if (!read_report()) {
    signals_deferred_.emplace_back(number, main_only);
    return;
  }
  send(number, main_only);
}

void Task::send(int number, bool main_only) {
  if (!main_only) {
    tracker_->signal_all(number);
    return;
  }
  // Under a keeper, the program is the keeper's one child.
  pid_t program = pid_;
  if (!status_path_.empty()) {
    std::ifstream children("/proc/" + std::to_string(pid_) + "/task/" + std::to_string(pid_) + "/children");
    if (!(children >> program)) return;
  }
  ::kill(program, number);
}

std::optional<TaskStatus> Task::poll(Clock::time_point now) {
  if (final_) return final_;
  if (read_report() && (term_deferred_ || !signals_deferred_.empty())) {
    for (const auto& [number, main_only] : signals_deferred_) send(number, main_only);
    signals_deferred_.clear();
    if (term_deferred_) tracker_->signal_all(SIGTERM);
    term_deferred_ = false;
  }
  if (!wait_status_ && !adopted_) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      wait_status_ = status;
      // A failure is written before the process that met it exits, and the main process exits
      // after any other: what the report holds now is complete.
      (void)read_report();
    }
  } else if (!wait_status_ && !same_process(pid_, start_time_)) {
    // Not our child: the keeper is gone, and its file says how the task ended. No file: the
    // keeper itself was killed (SIGKILL), as a task that ignores SIGTERM is at its deadline.
    std::ifstream in(status_path_);
    std::string kind;
    int value = 0;
    if (in >> kind >> value && kind == "exit") {
      wait_status_ = W_EXITCODE(value & 0xff, 0);
    } else {
      wait_status_ = W_EXITCODE(0, kind == "sig" && value > 0 ? value : SIGKILL);
    }
  }
  if (kill_at_ && now >= *kill_at_) {
    tracker_->signal_all(SIGKILL);
    if (!adopted_ && !wait_status_) ::kill(pid_, SIGKILL);  // our child, not reaped: still that process
    if (adopted_ && same_process(pid_, start_time_)) ::kill(pid_, SIGKILL);
  }
  if (!wait_status_) return std::nullopt;
  // The main process is gone: what is left of the task goes with it.
  if (!tracker_->empty()) {
    tracker_->signal_all(SIGKILL);
    if (!tracker_->empty()) return std::nullopt;
  }
  TaskStatus s;
  const int status = *wait_status_;
  if (WIFSIGNALED(status)) s.signal = WTERMSIG(status);
  if (WIFEXITED(status)) s.exit_code = WEXITSTATUS(status);
  if (requested_) {
    s.end = *requested_;
  } else if (s.signal == SIGKILL && tracker_->oom_kills() > 0) {
    s.end = TaskEnd::OutOfMemory;
  } else if (WIFSIGNALED(status)) {
    s.end = TaskEnd::Signaled;
  } else {
    s.end = TaskEnd::Exited;
  }
  removed_ = tracker_->remove();
  final_ = s;
  return final_;
}

}  // namespace gwang::agent
