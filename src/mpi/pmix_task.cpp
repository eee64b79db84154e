// gwang-pmix: one task of a `srun --mpi=pmix` step. The agent starts each task of such a step as
// `gwang-pmix -- PROGRAM ARGS...`, as the task's user, in its place. The node's first task
// (SLURM_LOCALID 0) starts the node's PMIx server (PmixHost), connects it to srun, and runs its
// program under it; it ends when its program has ended and the node's other tasks have. Each other
// task asks that server for its PMIx environment over a socket in the step's directory on the
// node, and then becomes its program. Slurm's slurmstepd plays both parts for its mpi/pmix plugin.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "mpi/pmix_host.h"
#include "mpi/step_layout.h"
#include "mpi/wire.h"

namespace gwang::mpi {
namespace {

using Clock = std::chrono::steady_clock;
// How long the node's tasks wait for one another: the agent starts them together.
constexpr auto kMeetWithin = std::chrono::seconds(60);

volatile sig_atomic_t g_child = -1;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "gwang-pmix: error: %s\n", what.c_str());
  std::exit(1);
}

bool send_all(int fd, const std::string& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// Reads what has come on `fd` into `in`; false at the end of the stream.
bool receive(int fd, WireReader& in) {
  char buf[65536];
  const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (n <= 0) return false;
  in.feed(std::string_view(buf, static_cast<std::size_t>(n)));
  return true;
}

std::string socket_path(const StepLayout& l) { return l.dir + "/leader"; }

sockaddr_un unix_address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) die("the socket path " + path + " is too long (TMPDIR)");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

std::string pack_env(const std::vector<std::pair<std::string, std::string>>& env) {
  std::string out;
  for (const auto& [k, v] : env) out += k + "=" + v + '\0';
  return out;
}

// Runs PROGRAM in place of this process, with `env` added to the environment.
[[noreturn]] void become(const std::vector<std::string>& program, const std::string& packed_env) {
  for (std::size_t at = 0; at < packed_env.size();) {
    const std::size_t end = packed_env.find('\0', at);
    const std::string kv = packed_env.substr(at, end - at);
    if (const auto eq = kv.find('='); eq != std::string::npos)
      ::setenv(kv.substr(0, eq).c_str(), kv.c_str() + eq + 1, 1);
    at = end == std::string::npos ? packed_env.size() : end + 1;
  }
  std::vector<char*> argv;
  for (const std::string& a : program) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ::execv(argv[0], argv.data());
  std::fprintf(stderr, "gwang-pmix: error: execv %s: %s\n", argv[0], std::strerror(errno));
  std::_Exit(127);
}

// A task other than the node's first: its environment from the node's server, then its program.
int follow(const StepLayout& l, const std::vector<std::string>& program) {
  const auto deadline = Clock::now() + kMeetWithin;
  const sockaddr_un addr = unix_address(socket_path(l));
  int fd = -1;
  for (const auto pause = std::chrono::milliseconds(5);;) {
    fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) die(std::string("socket: ") + std::strerror(errno));
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) break;
    ::close(fd);
    if (Clock::now() > deadline)
      die("the step's PMIx server on this node (" + socket_path(l) + ") did not answer within 60 s");
    std::this_thread::sleep_for(pause);
  }
  if (!send_all(fd, encode({"env", l.rank, ::getpid(), ""}))) die("the node's PMIx server closed its socket");
  WireReader in;
  for (;;) {
    auto m = in.next();
    if (!m) die(m.error().message);
    if (*m) {
      ::close(fd);
      if ((*m)->verb != "env") die("the node's PMIx server: " + (*m)->data);
      become(program, (*m)->data);
    }
    if (!receive(fd, in))
      die("the node's PMIx server ended before it gave rank " + std::to_string(l.rank) + " its environment");
  }
}

int connect_to_srun(const std::string& where) {
  const auto colon = where.rfind(':');
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string host = where.substr(0, colon), port = where.substr(colon + 1);
  if (const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    die("GWANG_PMIX_SRUN=" + where + ": " + ::gai_strerror(rc));
  }
  int fd = -1;
  for (addrinfo* a = found; a && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd >= 0 && ::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(found);
  if (fd < 0) die("cannot reach srun at " + where + ": " + std::strerror(errno));
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

void forward_signal(int sig) {
  if (g_child > 0) ::kill(g_child, sig);
}

// The status this process ends with: its program's.
[[noreturn]] void end_as(int status) {
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    ::signal(sig, SIG_DFL);
    ::kill(::getpid(), sig);
  }
  std::_Exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}

// A descriptor that becomes readable when `pid` ends (-1 where the kernel has none: then the
// loop looks every 100 ms).
int watch(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

struct Follower {
  int fd = -1;
  WireReader in;
};

// Makes the step's directory on this node and listens there for the node's other tasks.
int open_step_dir(const StepLayout& l) {
  std::error_code ec;
  ::mkdir(l.dir.c_str(), 0700);
  struct stat st {};
  if (::lstat(l.dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::getuid()) {
    die(l.dir + " is not a directory of this user's");
  }
  std::filesystem::create_directories(l.dir + "/ns", ec);
  const std::string path = socket_path(l);
  ::unlink(path.c_str());
  const sockaddr_un addr = unix_address(path);
  const int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener < 0 || ::bind(listener, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener, 256) != 0) {
    die("cannot listen on " + path + ": " + std::strerror(errno));
  }
  return listener;
}

constexpr int kForwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCONT, SIGTSTP};

// Starts this task's own program, as a child that the signals this process gets are passed to.
pid_t start_own(const std::vector<std::string>& program, const std::string& packed_env, int listener, int srun) {
  for (int sig : kForwarded) ::signal(sig, forward_signal);
  const pid_t child = ::fork();
  if (child < 0) die(std::string("fork: ") + std::strerror(errno));
  if (child == 0) {
    ::close(listener);
    ::close(srun);
    for (int sig : kForwarded) ::signal(sig, SIG_DFL);
    become(program, packed_env);
  }
  g_child = child;
  return child;
}

// Answers another task of the node: its environment, or why not. Records its process.
void answer(Follower& f, const WireMessage& m, const StepLayout& l, PmixHost& host, std::map<int, pid_t>& pids,
            std::map<int, int>& watched) {
  const int rank = static_cast<int>(m.a);
  auto env = m.verb == "env" && rank >= 0 && rank < l.ntasks() && rank != l.rank &&
                     l.task_nodes[static_cast<std::size_t>(rank)] == l.node
                 ? host.client_env(rank)
                 : Result<std::vector<std::pair<std::string, std::string>>>(
                       fail("rank " + std::to_string(rank) + " is not another task of this node"));
  if (env) {
    pids[rank] = static_cast<pid_t>(m.b);
    if (const int fd = watch(pids[rank]); fd >= 0) watched[rank] = fd;
  }
  send_all(f.fd, env ? encode({"env", rank, 0, pack_env(*env)}) : encode({"error", rank, 0, env.error().message}));
}

// The node's first task: the node's server, its own program, and the others' environments.
int lead(const StepLayout& l, const std::vector<std::string>& program) {
  const auto started = Clock::now();
  const int listener = open_step_dir(l);
  auto host = PmixHost::start(l, ::getuid(), ::getgid());
  if (!host) die(host.error().message);
  const int srun = connect_to_srun(l.srun);
  if (!send_all(srun, encode({"hello", l.node, 0, ""}))) die("srun closed the connection");

  auto env = (*host)->client_env(l.rank);
  if (!env) die(env.error().message);
  const pid_t child = start_own(program, pack_env(*env), listener, srun);
  // pidfds of the others' processes, by rank (a process that has ended may stay a zombie a while:
  // its pidfd says it ended). The own program's ends the poll at once.
  std::map<int, int> watched;
  std::set<int> ended;
  const int child_fd = watch(child);

  std::map<int, Follower> followers;  // by fd
  std::map<int, pid_t> pids;          // rank -> process, of the others that have asked
  const std::size_t others = l.local_ranks().size() - 1;
  int child_status = -1;
  WireReader from_srun;
  bool srun_open = true;
  for (;;) {
    if (child_status < 0) {
      int status = 0;
      if (::waitpid(child, &status, WNOHANG) == child) child_status = status;
    }
    if (child_status >= 0) {
      bool all_done = true;
      for (const auto& [rank, pid] : pids) {
        all_done =
            all_done && (ended.contains(rank) || (!watched.contains(rank) && ::kill(pid, 0) != 0 && errno == ESRCH));
      }
      if (all_done && (pids.size() == others || Clock::now() - started > kMeetWithin)) break;
    }
    std::vector<pollfd> fds{{listener, POLLIN, 0}, {(*host)->wake_fd(), POLLIN, 0}, {srun_open ? srun : -1, POLLIN, 0}};
    for (const auto& [fd, f] : followers) fds.push_back({fd, POLLIN, 0});
    const std::size_t first_watched = fds.size();
    fds.push_back({child_status < 0 ? child_fd : -1, POLLIN, 0});
    for (const auto& [rank, fd] : watched) fds.push_back({ended.contains(rank) ? -1 : fd, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), 100) < 0 && errno != EINTR) die(std::string("poll: ") + std::strerror(errno));
    if (fds[0].revents & POLLIN) {
      const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) followers[fd].fd = fd;
    }
    if (fds[1].revents) {
      for (const WireMessage& m : (*host)->take()) {
        if (srun_open && !send_all(srun, encode(m))) srun_open = false;
      }
    }
    if (fds[2].revents) {
      srun_open = receive(srun, from_srun);
      for (;;) {
        auto m = from_srun.next();
        if (!m) die("from srun: " + m.error().message);
        if (!*m) break;
        (*host)->deliver(**m);
      }
    }
    for (const auto& [rank, fd] : watched) {
      for (std::size_t k = first_watched + 1; k < fds.size(); ++k) {
        if (fds[k].fd == fd && fds[k].revents) ended.insert(rank);
      }
    }
    for (std::size_t k = 3; k < first_watched; ++k) {
      if (!fds[k].revents) continue;
      Follower& f = followers[fds[k].fd];
      bool open = receive(f.fd, f.in);
      while (open) {
        auto m = f.in.next();
        if (!m || !*m) {
          open = static_cast<bool>(m);
          break;
        }
        answer(f, **m, l, **host, pids, watched);
        open = false;
      }
      if (!open) {
        ::close(f.fd);
        followers.erase(fds[k].fd);
      }
    }
  }
  for (const auto& [rank, fd] : watched) ::close(fd);
  if (child_fd >= 0) ::close(child_fd);
  host->reset();
  ::close(srun);
  ::close(listener);
  std::error_code ec;
  std::filesystem::remove_all(l.dir, ec);
  end_as(child_status);
}

}  // namespace
}  // namespace gwang::mpi

int main(int argc, char** argv) {
  using namespace gwang::mpi;
  int first = 1;
  if (first < argc && std::strcmp(argv[first], "--") == 0) ++first;
  if (first >= argc) {
    std::fprintf(stderr,
                 "usage: gwang-pmix [--] PROGRAM [ARGS...]\n"
                 "Runs one task of a `srun --mpi=pmix` step: the agent starts it so.\n");
    return 2;
  }
  const std::vector<std::string> program(argv + first, argv + argc);
  auto layout = layout_from_env(
      [](const char* name) {
        const char* v = std::getenv(name);
        return std::string(v ? v : "");
      },
      ::getuid());
  if (!layout) die(layout.error().message);
  return layout->local == 0 ? lead(*layout, program) : follow(*layout, program);
}
