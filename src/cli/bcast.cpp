// `srun --bcast`: the files srun serves, and a node's fetching them before its tasks run.
#include "cli/bcast.h"

#include <fcntl.h>
#include <lz4.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

#include "cli/step_socket.h"
#include "mpi/wire.h"

namespace gwang::cli {

std::string bcast_destination(const std::string& dest, const std::string& job, const std::string& step,
                              const std::string& node) {
  if (!dest.empty() && dest.back() != '/') return dest;
  return dest + "slurm_bcast_" + job + "." + step + "_" + node;
}

std::string bcast_libraries(const std::string& destination) { return destination + "_libs"; }

std::vector<std::string> parse_bcast_exclude(std::string_view text) {
  std::vector<std::string> out;
  if (text == "NONE" || text == "none") return out;
  std::size_t at = 0;
  while (at <= text.size()) {
    const std::size_t comma = std::min(text.find(',', at), text.size());
    std::string dir(text.substr(at, comma - at));
    at = comma + 1;
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    if (!dir.empty()) out.push_back(std::move(dir));
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> ldd_libraries(std::string_view ldd_output,
                                                               const std::vector<std::string>& excluded) {
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream lines{std::string(ldd_output)};
  std::string line;
  while (std::getline(lines, line)) {
    const std::size_t arrow = line.find(" => ");
    if (arrow == std::string::npos) continue;  // the loader, the vDSO, "not a dynamic executable"
    const std::size_t start = line.find_first_not_of(" \t");
    const std::string name = line.substr(start, arrow - start);
    std::string path = line.substr(arrow + 4);
    if (const std::size_t paren = path.find(" ("); paren != std::string::npos) path.resize(paren);
    if (path.empty() || path.front() != '/') continue;  // "not found"
    bool skip = false;
    for (const std::string& dir : excluded) skip = skip || dir == "/" || path.starts_with(dir + "/");
    if (!skip && name.find('/') == std::string::npos) out.emplace_back(name, path);
  }
  return out;
}

std::string lz4_compress(std::string_view bytes) {
  std::string out(static_cast<std::size_t>(LZ4_compressBound(static_cast<int>(bytes.size()))), '\0');
  const int n =
      LZ4_compress_default(bytes.data(), out.data(), static_cast<int>(bytes.size()), static_cast<int>(out.size()));
  out.resize(static_cast<std::size_t>(n > 0 ? n : 0));
  return out;
}

Result<std::string> lz4_decompress(std::string_view bytes, std::uint64_t size) {
  if (size > mpi::kMaxWireData) return fail("too large");
  std::string out(static_cast<std::size_t>(size), '\0');
  const int n = LZ4_decompress_safe(bytes.data(), out.data(), static_cast<int>(bytes.size()), static_cast<int>(size));
  if (n < 0 || static_cast<std::uint64_t>(n) != size) return fail("corrupt lz4 data");
  return out;
}

Result<BcastFile> read_bcast_file(const std::string& path, const std::string& name, bool lz4) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return fail(path + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return fail(path + ": not a regular file");
  // The wire's limit, and lz4's (LZ4_MAX_INPUT_SIZE is a little under 2 GiB).
  if (static_cast<std::uint64_t>(st.st_size) > mpi::kMaxWireData) return fail(path + ": larger than 1 GiB");
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(path + ": " + std::strerror(errno));
  BcastFile f;
  f.name = name;
  f.data.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (f.data.size() != static_cast<std::size_t>(st.st_size)) return fail(path + ": changed while read");
  f.size = f.data.size();
  f.mode = st.st_mode & 07777;
  f.mtime = st.st_mtim.tv_sec;
  if (lz4) {
    f.data = lz4_compress(f.data);
    f.lz4 = true;
  }
  return f;
}

Result<std::string> bcast_contents(const BcastFile& file) {
  if (file.lz4) return lz4_decompress(file.data, file.size);
  if (file.data.size() != file.size) return fail("cut short");
  return file.data;
}

// ---- srun's side

struct BcastServer::Impl {
  StepSocket sock;
  std::vector<BcastFile> files;
  std::string key;
  std::atomic<bool> stopping{false};
  std::thread thread;

  struct Peer {
    int fd = -1;
    mpi::WireReader in;
  };
  std::vector<Peer> peers;

  // Answers one request; false for one that is not ours (the peer is dropped).
  bool answer(int fd, const mpi::WireMessage& m) {
    const bool known = m.a >= 0 && m.a < static_cast<std::int64_t>(files.size());
    if ((m.verb != "stat" && m.verb != "get") || m.data != key) return false;
    if (!known) {
      send_whole(fd, mpi::encode({"none", m.a, 0, ""}));
      return true;
    }
    const BcastFile& f = files[static_cast<std::size_t>(m.a)];
    if (m.verb == "stat") {
      char meta[64];
      std::snprintf(meta, sizeof meta, "%o %lld %s ", static_cast<unsigned>(f.mode), static_cast<long long>(f.mtime),
                    f.lz4 ? "lz4" : "none");
      send_whole(fd, mpi::encode({"meta", m.a, static_cast<std::int64_t>(f.size), meta + f.name}));
    } else {
      send_whole(fd, mpi::encode({"file", m.a, static_cast<std::int64_t>(f.size), f.data}));
    }
    return true;
  }

  void run() {
    while (!stopping) {
      std::vector<pollfd> fds{{sock.listener, POLLIN, 0}, {sock.wake[0], POLLIN, 0}};
      for (const Peer& p : peers) fds.push_back({p.fd, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[1].revents) sock.drain();
      for (std::size_t k = fds.size(); k-- > 2;) {
        if (!fds[k].revents) continue;
        Peer& p = peers[k - 2];
        char buf[4096];
        const ssize_t n = ::recv(p.fd, buf, sizeof buf, 0);
        bool keep = n > 0;
        if (keep) p.in.feed(std::string_view(buf, static_cast<std::size_t>(n)));
        while (keep) {
          auto m = p.in.next();
          if (!m || !*m) {
            keep = m.has_value();
            break;
          }
          keep = answer(p.fd, **m);
        }
        if (!keep) {
          ::close(p.fd);
          peers.erase(peers.begin() + static_cast<std::ptrdiff_t>(k - 2));
        }
      }
      if (fds[0].revents & POLLIN) {
        const int fd = ::accept4(sock.listener, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) peers.push_back({fd, {}});
      }
    }
  }
};

BcastServer::BcastServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

BcastServer::~BcastServer() {
  impl_->stopping = true;
  impl_->sock.wake_up();
  if (impl_->thread.joinable()) impl_->thread.join();
  for (const Impl::Peer& p : impl_->peers) ::close(p.fd);
  impl_->sock.close();
}

Result<std::unique_ptr<BcastServer>> BcastServer::listen(std::vector<BcastFile> files, std::string key) {
  auto impl = std::make_unique<Impl>();
  auto sock = StepSocket::open("the --bcast server");
  if (!sock) return tl::unexpected(sock.error());
  impl->sock = *sock;
  impl->files = std::move(files);
  impl->key = std::move(key);
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->run(); });
  return std::unique_ptr<BcastServer>(new BcastServer(std::move(impl)));
}

int BcastServer::port() const { return impl_->sock.port; }

// ---- a node's side

namespace {

class Connection {
 public:
  ~Connection() {
    if (fd_ >= 0) ::close(fd_);
  }
  Result<void> open(const std::string& address) {
    const std::size_t colon = address.rfind(':');
    if (colon == std::string::npos) return fail("no port in '" + address + "'");
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const std::string host = address.substr(0, colon), port = address.substr(colon + 1);
    if (const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0 || !found) {
      return fail("cannot resolve " + address + ": " + ::gai_strerror(rc));
    }
    fd_ = ::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int rc = fd_ < 0 ? -1 : ::connect(fd_, found->ai_addr, found->ai_addrlen);
    const int e = errno;
    ::freeaddrinfo(found);
    if (rc != 0) return fail("cannot reach srun at " + address + ": " + std::strerror(e));
    return {};
  }
  Result<mpi::WireMessage> ask(const mpi::WireMessage& m) {
    send_whole(fd_, mpi::encode(m));
    while (true) {
      auto next = in_.next();
      if (!next) return fail("srun's answer: " + next.error().message);
      if (*next) return std::move(**next);
      char buf[65536];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return fail("srun closed the connection");
      in_.feed(std::string_view(buf, static_cast<std::size_t>(n)));
    }
  }

 private:
  int fd_ = -1;
  mpi::WireReader in_;
};

Result<void> write_file(const std::string& path, const BcastFile& f) {
  auto contents = bcast_contents(f);
  if (!contents) return fail(path + ": " + contents.error().message);
  const std::string tmp = path + ".gwang-bcast." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0700);
  if (fd < 0) return fail("cannot create " + tmp + ": " + std::strerror(errno));
  std::size_t done = 0;
  while (done < contents->size()) {
    const ssize_t n = ::write(fd, contents->data() + done, contents->size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return fail("cannot write " + tmp + ": " + why);
    }
    done += static_cast<std::size_t>(n);
  }
  const timespec times[2] = {{f.mtime, 0}, {f.mtime, 0}};
  const bool ok = ::fchmod(fd, f.mode) == 0 && ::futimens(fd, times) == 0;
  const int e = errno;
  if (::close(fd) != 0 || !ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(ok ? errno : e);
    ::unlink(tmp.c_str());
    return fail("cannot put " + path + " in place: " + why);
  }
  return {};
}

int exec_failed(const std::string& why) {
  std::fprintf(stderr, "gwang: srun --bcast: %s\n", why.c_str());
  return 1;
}

}  // namespace

Result<std::string> fetch_bcast_file(const std::string& address, const std::string& key, int index,
                                     const std::string& path) {
  Connection c;
  if (auto o = c.open(address); !o) return tl::unexpected(o.error());
  auto meta = c.ask({"stat", index, 0, key});
  if (!meta) return tl::unexpected(meta.error());
  if (meta->verb != "meta") return fail("srun has no file " + std::to_string(index));
  BcastFile f;
  f.size = static_cast<std::uint64_t>(meta->b);
  unsigned mode = 0;
  long long mtime = 0;
  char codec[8] = {};
  int used = 0;
  if (std::sscanf(meta->data.c_str(), "%o %lld %7s %n", &mode, &mtime, codec, &used) < 3) {
    return fail("srun's answer: malformed file description");
  }
  f.mode = static_cast<mode_t>(mode & 07777);
  f.mtime = mtime;
  f.lz4 = std::strcmp(codec, "lz4") == 0;
  f.name = meta->data.substr(static_cast<std::size_t>(used));
  if (index > 0 && (f.name.empty() || f.name.find('/') != std::string::npos || f.name == "." || f.name == "..")) {
    return fail("srun's answer: a library without a plain name");
  }
  const std::string target = index > 0 ? path + "/" + f.name : path;
  struct stat st {};
  if (::stat(target.c_str(), &st) == 0 && static_cast<std::uint64_t>(st.st_size) == f.size &&
      st.st_mtim.tv_sec == f.mtime) {
    return f.name;  // this node has it already (another task of the step, here, fetched it)
  }
  auto got = c.ask({"get", index, 0, key});
  if (!got) return tl::unexpected(got.error());
  if (got->verb != "file") return fail("srun has no file " + std::to_string(index));
  f.data = std::move(got->data);
  if (auto w = write_file(target, f); !w) return tl::unexpected(w.error());
  return f.name;
}

int bcast_exec(int argc, char** argv) {
  if (argc < 3 || std::strcmp(argv[1], "--") != 0) return exec_failed("usage: bcast-exec N -- PROGRAM ARGS...");
  const int which = std::atoi(argv[0]);
  char** program = argv + 2;
  if (which < 0 || which >= argc - 2) return exec_failed("no argument " + std::string(argv[0]) + " to replace");
  const auto env = [](const char* name) {
    const char* v = std::getenv(name);
    return std::string(v ? v : "");
  };
  const std::string address = env("GWANG_BCAST_SRUN"), key = env("GWANG_BCAST_KEY");
  const int files = std::max(1, std::atoi(env("GWANG_BCAST_FILES").c_str()));
  std::string destination =
      bcast_destination(env("GWANG_BCAST_DEST"), env("SLURM_JOB_ID"), env("SLURM_STEP_ID"), env("SLURMD_NODENAME"));
  if (destination.front() != '/') {  // in the task's working directory; and never looked up in PATH
    char cwd[4096];
    if (!::getcwd(cwd, sizeof cwd)) return exec_failed(std::string("getcwd: ") + std::strerror(errno));
    destination = std::string(cwd) + "/" + destination;
  }
  // One task of the node fetches, the others find the copy in place: the directory is locked
  // while it is written (and on a shared file system, so is every node's turn).
  const std::string dir = destination.substr(0, std::max<std::size_t>(1, destination.rfind('/')));
  const int lock = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (lock < 0) return exec_failed("cannot open " + dir + ": " + std::strerror(errno));
  while (::flock(lock, LOCK_EX) != 0 && errno == EINTR) {
  }
  auto fetched = fetch_bcast_file(address, key, 0, destination);
  const std::string libraries = bcast_libraries(destination);
  if (fetched && files > 1 && ::mkdir(libraries.c_str(), 0755) != 0 && errno != EEXIST) {
    fetched = fail("cannot create " + libraries + ": " + std::strerror(errno));
  }
  for (int i = 1; fetched && i < files; ++i) fetched = fetch_bcast_file(address, key, i, libraries);
  ::close(lock);
  if (!fetched) return exec_failed(fetched.error().message);
  if (files > 1) {
    const std::string old = env("LD_LIBRARY_PATH");
    ::setenv("LD_LIBRARY_PATH", (libraries + (old.empty() ? "" : ":" + old)).c_str(), 1);
  }
  for (const char* name : {"GWANG_BCAST_SRUN", "GWANG_BCAST_KEY", "GWANG_BCAST_DEST", "GWANG_BCAST_FILES"})
    ::unsetenv(name);
  program[which] = destination.data();
  ::execv(program[0], program);
  return exec_failed(std::string("cannot run ") + program[0] + ": " + std::strerror(errno));
}

}  // namespace gwang::cli
