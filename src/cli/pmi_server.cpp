#include "cli/pmi_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "cli/client.h"
#include "cli/step_socket.h"
#include "slurm/mapping.h"

namespace gwang::cli {

namespace {

// A command line's "key=value" words.
std::map<std::string, std::string> words_of(const std::string& line) {
  std::map<std::string, std::string> out;
  std::size_t at = 0;
  while (at < line.size()) {
    while (at < line.size() && line[at] == ' ') ++at;
    const std::size_t end = std::min(line.find(' ', at), line.size());
    const std::string word = line.substr(at, end - at);
    if (const auto eq = word.find('='); eq != std::string::npos) out[word.substr(0, eq)] = word.substr(eq + 1);
    at = end;
  }
  return out;
}

struct Client {
  int fd = -1;
  std::string in;  // what has come and is not yet a whole line
};

}  // namespace

struct PmiServer::Impl {
  StepSocket sock;  // the listener, and the pipe that ends poll(): start() and the end
  int ntasks = 0;
  std::string kvsname;
  std::mutex mu;
  std::string mapping;  // set by start()
  std::atomic<bool> started{false}, stopping{false};
  std::optional<int> abort_code;
  std::map<std::string, std::string> kvs;
  std::vector<Client> clients;
  std::vector<int> waiting;  // in the barrier: their fds
  std::thread thread;

  static void send(int fd, const std::string& line) { send_whole(fd, line); }

  // One command of a client; false: the client is done (finalized, or said something else).
  bool answer(int fd, const std::string& line) {
    auto w = words_of(line);
    const std::string cmd = w["cmd"];
    if (cmd == "init") {
      send(fd, "cmd=response_to_init pmi_version=1 pmi_subversion=1 rc=0\n");
    } else if (cmd == "get_maxes") {
      send(fd, "cmd=maxes rc=0 kvsname_max=256 keylen_max=256 vallen_max=1024\n");
    } else if (cmd == "get_appnum") {
      send(fd, "cmd=appnum rc=0 appnum=0\n");
    } else if (cmd == "get_my_kvsname") {
      send(fd, "cmd=my_kvsname rc=0 kvsname=" + kvsname + "\n");
    } else if (cmd == "get_universe_size") {
      send(fd, "cmd=universe_size rc=0 size=" + std::to_string(ntasks) + "\n");
    } else if (cmd == "put") {
      std::lock_guard lock(mu);
      kvs[w["key"]] = w["value"];
      send(fd, "cmd=put_result rc=0\n");
    } else if (cmd == "get") {
      std::lock_guard lock(mu);
      const std::string key = w["key"];
      if (key == "PMI_process_mapping") {
        send(fd, "cmd=get_result rc=0 value=" + mapping + "\n");
      } else if (auto it = kvs.find(key); it != kvs.end()) {
        send(fd, "cmd=get_result rc=0 value=" + it->second + "\n");
      } else {
        send(fd, "cmd=get_result rc=-1 value=unknown msg=key_" + key + "_not_found\n");
      }
    } else if (cmd == "barrier_in") {
      waiting.push_back(fd);
      if (static_cast<int>(waiting.size()) >= ntasks) {
        for (int f : waiting) send(f, "cmd=barrier_out rc=0\n");
        waiting.clear();
      }
    } else if (cmd == "finalize") {
      send(fd, "cmd=finalize_ack rc=0\n");
      return false;
    } else if (cmd == "abort") {
      std::lock_guard lock(mu);
      const std::string code = w["exitcode"];
      abort_code = code.empty() || code.find_first_not_of("-0123456789") != std::string::npos ? 1 : std::stoi(code);
      return false;
    } else if (cmd == "publish_name" || cmd == "unpublish_name" || cmd == "lookup_name") {
      send(fd, "cmd=" + cmd + "_result rc=-1 msg=not_supported\n");
    } else {  // spawn and what else PMI-1 has: not served
      send(fd, "cmd=" + cmd + "_result rc=-1 msg=not_supported\n");
    }
    return true;
  }

  void drop(std::size_t i) {
    std::erase(waiting, clients[i].fd);
    ::close(clients[i].fd);
    clients.erase(clients.begin() + static_cast<std::ptrdiff_t>(i));
  }

  void run() {
    while (!stopping) {
      std::vector<pollfd> fds{{sock.listener, POLLIN, 0}, {sock.wake[0], POLLIN, 0}};
      if (started) {
        for (const Client& c : clients) fds.push_back({c.fd, POLLIN, 0});
      }
      if (::poll(fds.data(), fds.size(), -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[1].revents) sock.drain();
      if (fds[0].revents & POLLIN) {
        const int fd = ::accept4(sock.listener, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) clients.push_back({fd, ""});
      }
      // Clients' lines, last first (a client that ends is dropped in place).
      for (std::size_t k = fds.size(); k-- > 2;) {
        if (!fds[k].revents) continue;
        const std::size_t i = k - 2;
        char buf[4096];
        const ssize_t n = ::recv(clients[i].fd, buf, sizeof buf, 0);
        if (n <= 0) {
          drop(i);
          continue;
        }
        clients[i].in.append(buf, static_cast<std::size_t>(n));
        bool keep = true;
        for (std::size_t nl; keep && (nl = clients[i].in.find('\n')) != std::string::npos;) {
          const std::string line = clients[i].in.substr(0, nl);
          clients[i].in.erase(0, nl + 1);
          keep = answer(clients[i].fd, line);
        }
        if (!keep) drop(i);
      }
    }
  }
};

PmiServer::PmiServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

PmiServer::~PmiServer() {
  impl_->stopping = true;
  impl_->sock.wake_up();
  if (impl_->thread.joinable()) impl_->thread.join();
  for (const Client& c : impl_->clients) ::close(c.fd);
  impl_->sock.close();
}

Result<std::unique_ptr<PmiServer>> PmiServer::listen(std::string kvsname) {
  auto impl = std::make_unique<Impl>();
  impl->kvsname = std::move(kvsname);
  auto sock = StepSocket::open("the PMI server");
  if (!sock) return tl::unexpected(sock.error());
  impl->sock = *sock;
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->run(); });
  return std::unique_ptr<PmiServer>(new PmiServer(std::move(impl)));
}

int PmiServer::port() const { return impl_->sock.port; }

void PmiServer::start(const std::vector<int>& task_nodes) {
  {
    std::lock_guard lock(impl_->mu);
    impl_->mapping = slurm::process_mapping(task_nodes);
    impl_->ntasks = static_cast<int>(task_nodes.size());
  }
  impl_->started = true;
  impl_->sock.wake_up();
}

std::optional<int> PmiServer::aborted() const {
  std::lock_guard lock(impl_->mu);
  return impl_->abort_code;
}

Result<std::string> local_address_towards(const std::string& url) {
  auto where = host_and_port(url);
  if (!where) return tl::unexpected(where.error());
  const auto& [host, port] = *where;
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0 || !found) {
    return fail("cannot resolve " + host + ": " + ::gai_strerror(rc));
  }
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in mine{};
  socklen_t len = sizeof mine;
  const bool ok = fd >= 0 && ::connect(fd, found->ai_addr, found->ai_addrlen) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&mine), &len) == 0;
  ::freeaddrinfo(found);
  if (fd >= 0) ::close(fd);
  if (!ok) return fail("no route to " + host + ": " + std::strerror(errno));
  char text[INET_ADDRSTRLEN];
  ::inet_ntop(AF_INET, &mine.sin_addr, text, sizeof text);
  return std::string(text);
}

}  // namespace gwang::cli
