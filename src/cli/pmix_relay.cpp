#include "cli/pmix_relay.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "cli/step_socket.h"
#include "mpi/wire.h"

namespace gwang::cli {

namespace {

constexpr std::int64_t kNotFound = -46;  // PMIX_ERR_NOT_FOUND

struct Server {
  int fd = -1;
  int node = -1;  // known once it has said hello
  mpi::WireReader in;
};

struct Fence {
  std::set<int> nodes;               // who takes part
  std::map<int, std::string> blobs;  // what each has given
};

struct ModexAsk {
  int asker_node = -1;
  std::int64_t asker_id = 0;
};

}  // namespace

struct PmixRelay::Impl {
  StepSocket sock;  // the listener, and the pipe that ends poll(): start() and the end
  std::mutex mu;
  std::vector<int> task_nodes;  // set by start()
  int nnodes = 0;
  std::atomic<bool> started{false}, stopping{false};
  std::optional<int> abort_status;
  std::vector<Server> servers;
  std::map<std::string, Fence> fences;                     // by "NODES#SEQ"
  std::map<std::int64_t, ModexAsk> asks;                   // by this relay's number
  std::vector<std::pair<int, mpi::WireMessage>> held;      // (node, message) until start()
  std::vector<std::pair<int, mpi::WireMessage>> unrouted;  // asks for ranks of nodes not yet come
  std::int64_t next_ask = 1;
  std::thread thread;

  static void send(int fd, const mpi::WireMessage& m) { send_whole(fd, mpi::encode(m)); }

  int fd_of(int node) const {
    for (const Server& s : servers) {
      if (s.node == node) return s.fd;
    }
    return -1;
  }

  // The nodes a fence's "NODES" names: "*" for all of the step's, else "0,2".
  std::set<int> participants(const std::string& text) const {
    std::set<int> out;
    if (text == "*") {
      for (int n = 0; n < nnodes; ++n) out.insert(n);
      return out;
    }
    std::size_t at = 0;
    while (at < text.size()) {
      const std::size_t comma = std::min(text.find(',', at), text.size());
      const std::string word = text.substr(at, comma - at);
      if (!word.empty() && word.find_first_not_of("0123456789") == std::string::npos && word.size() < 9) {
        const int n = std::stoi(word);
        if (n < nnodes) out.insert(n);
      }
      at = comma + 1;
    }
    return out;
  }

  void fence(int node, const mpi::WireMessage& m) {
    const std::size_t nl = m.data.find('\n');
    if (nl == std::string::npos) return;
    const std::string nodes = m.data.substr(0, nl);
    const std::string key = nodes + "#" + std::to_string(m.a);
    Fence& f = fences[key];
    if (f.nodes.empty()) f.nodes = participants(nodes);
    f.blobs[node] = m.data.substr(nl + 1);
    if (f.blobs.size() < f.nodes.size()) return;
    std::string all = nodes + "\n";
    for (const auto& [n, blob] : f.blobs) all += blob;
    for (int n : f.nodes) send(fd_of(n), {"fenced", m.a, 0, all});
    fences.erase(key);
  }

  void handle(int node, const mpi::WireMessage& m) {
    if (m.verb == "fence") {
      fence(node, m);
    } else if (m.verb == "abort") {
      std::lock_guard lock(mu);
      if (!abort_status) abort_status = static_cast<int>(m.a);
    } else if (m.verb == "modex-ask") {
      const std::int64_t rank = m.b;
      const int holder = rank >= 0 && rank < static_cast<std::int64_t>(task_nodes.size())
                             ? task_nodes[static_cast<std::size_t>(rank)]
                             : -1;
      if (holder < 0) {
        send(fd_of(node), {"modex-data", m.a, kNotFound, ""});
        return;
      }
      const int holder_fd = fd_of(holder);
      if (holder_fd < 0) {  // its node's server has not come yet
        unrouted.emplace_back(node, m);
        return;
      }
      asks[next_ask] = {node, m.a};
      send(holder_fd, {"modex-ask", next_ask++, rank, ""});
    } else if (m.verb == "modex-data") {
      auto it = asks.find(m.a);
      if (it == asks.end()) return;
      send(fd_of(it->second.asker_node), {"modex-data", it->second.asker_id, m.b, m.data});
      asks.erase(it);
    }
  }

  void drop(std::size_t i) {
    ::close(servers[i].fd);
    servers.erase(servers.begin() + static_cast<std::ptrdiff_t>(i));
  }

  void run() {
    bool released = false;
    while (!stopping) {
      if (started && !released) {  // what came before the layout was known
        released = true;
        for (const auto& [node, m] : held) handle(node, m);
        held.clear();
      }
      std::vector<pollfd> fds{{sock.listener, POLLIN, 0}, {sock.wake[0], POLLIN, 0}};
      for (const Server& s : servers) fds.push_back({s.fd, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[1].revents) sock.drain();
      if (fds[0].revents & POLLIN) {
        const int fd = ::accept4(sock.listener, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) {
          const int one = 1;
          ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          servers.push_back({fd, -1, {}});
        }
      }
      for (std::size_t k = fds.size(); k-- > 2;) {
        if (!fds[k].revents) continue;
        const std::size_t i = k - 2;
        char buf[65536];
        const ssize_t n = ::recv(servers[i].fd, buf, sizeof buf, 0);
        if (n <= 0) {
          drop(i);
          continue;
        }
        servers[i].in.feed(std::string_view(buf, static_cast<std::size_t>(n)));
        bool keep = true;
        while (keep) {
          auto m = servers[i].in.next();
          if (!m) keep = false;  // a malformed stream: not one of ours
          if (!m || !*m) break;
          if ((*m)->verb == "hello") {
            servers[i].node = static_cast<int>((*m)->a);
            if (started) {  // the asks that waited for it
              auto waiting = std::move(unrouted);
              unrouted.clear();
              for (const auto& [asker, ask] : waiting) handle(asker, ask);
            }
          } else if (!started) {
            held.emplace_back(servers[i].node, std::move(**m));
          } else {
            handle(servers[i].node, **m);
          }
        }
        if (!keep) drop(i);
      }
    }
  }
};

PmixRelay::PmixRelay(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

PmixRelay::~PmixRelay() {
  impl_->stopping = true;
  impl_->sock.wake_up();
  if (impl_->thread.joinable()) impl_->thread.join();
  for (const Server& s : impl_->servers) ::close(s.fd);
  impl_->sock.close();
}

Result<std::unique_ptr<PmixRelay>> PmixRelay::listen() {
  auto impl = std::make_unique<Impl>();
  auto sock = StepSocket::open("the PMIx relay");
  if (!sock) return tl::unexpected(sock.error());
  impl->sock = *sock;
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->run(); });
  return std::unique_ptr<PmixRelay>(new PmixRelay(std::move(impl)));
}

int PmixRelay::port() const { return impl_->sock.port; }

void PmixRelay::start(const std::vector<int>& task_nodes) {
  {
    std::lock_guard lock(impl_->mu);
    impl_->task_nodes = task_nodes;
    impl_->nnodes = task_nodes.empty() ? 0 : *std::max_element(task_nodes.begin(), task_nodes.end()) + 1;
  }
  impl_->started = true;
  impl_->sock.wake_up();
}

std::optional<int> PmixRelay::aborted() const {
  std::lock_guard lock(impl_->mu);
  return impl_->abort_status;
}

}  // namespace gwang::cli
