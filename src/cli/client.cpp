#include "cli/client.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <thread>

namespace gwang::cli {

namespace {

std::string read_first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  int fd() const { return fd_; }

 private:
  int fd_;
};

// Connects to host:port within `timeout_ms`; -1 and errno on failure.
int connect_to(const std::string& host, const std::string& port, int timeout_ms, std::string& why) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    why = ::gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  for (addrinfo* a = found; a; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) continue;
    int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      rc = ::poll(&p, 1, timeout_ms) == 1 ? 0 : -1;
      int err = rc == 0 ? 0 : ETIMEDOUT;
      socklen_t len = sizeof err;
      if (rc == 0) ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        errno = err;
        rc = -1;
      }
    }
    if (rc == 0) break;
    why = std::strerror(errno);
    ::close(fd);
    fd = -1;
  }
  ::freeaddrinfo(found);
  if (fd >= 0) {
    const int flags = 0;
    ::fcntl(fd, F_SETFL, flags);  // blocking from now on, with timeouts
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  return fd;
}

}  // namespace

std::string default_data_dir() {
  if (const char* d = std::getenv("GWANG_DATA"); d && *d) return d;
  if (::getuid() == 0) return "/var/lib/gwang";
  if (const char* x = std::getenv("XDG_STATE_HOME"); x && *x) return std::string(x) + "/gwang";
  return env_or("HOME", "/tmp") + "/.local/state/gwang";
}

Result<Endpoint> resolve_endpoint(const std::string& url_flag, const std::string& token_flag) {
  const std::string data = default_data_dir();
  Endpoint e;
  e.url = !url_flag.empty() ? url_flag : env_or("GWANG_URL", read_first_line(data + "/url"));
  e.token = !token_flag.empty() ? token_flag : env_or("GWANG_TOKEN", read_first_line(data + "/token"));
  if (e.url.empty()) {
    return fail("no controller: give --url, set GWANG_URL, or start one here with 'gwang up' (looked in " + data + ")");
  }
  if (e.token.empty()) return fail("no token: give --token or set GWANG_TOKEN (looked in " + data + "/token)");
  e.ca_file = net::client_ca_file("", data);
  return e;
}

Result<net::TlsContext> tls_context_for(const Endpoint& endpoint) {
  // Made once: every call of a command verifies against the same trust.
  static std::mutex mu;
  static std::string made_for;
  static net::TlsContext made;
  std::lock_guard lock(mu);
  if (made && made_for == endpoint.ca_file) return made;
  auto ctx = net::client_context(endpoint.ca_file);
  if (!ctx)
    return fail(ctx.error().message + (endpoint.ca_file.empty() ? "" : " (from $GWANG_CA or the data directory)"));
  made_for = endpoint.ca_file;
  made = *ctx;
  return made;
}

namespace {

// A plain HTTP/1.1 exchange, one request per connection, over TLS for an https:// URL: the
// command makes one or two calls per run, and a small client of its own keeps the command quick to
// start (no compression library to load, no TLS set up for a plain controller). `sent`: whether
// the request left whole (the controller may have acted on it even when no answer came).
Result<Response> call_one(const Endpoint& endpoint, const std::string& url, const std::string& method,
                          const std::string& path, const std::string& body, bool& sent) {
  sent = false;
  auto where = host_and_port(url);
  if (!where) return tl::unexpected(where.error());
  const auto& [host, port] = *where;
  const std::string authority = api::authority_of(url);
  std::string why;
  Socket sock(connect_to(host, port, 5000, why));
  if (sock.fd() < 0) return fail("cannot reach the controller at " + url + ": " + why);
  timeval timeout{30, 0};
  ::setsockopt(sock.fd(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(sock.fd(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  std::unique_ptr<net::TlsClient> tls;
  if (api::uses_tls(url)) {
    auto ctx = tls_context_for(endpoint);
    if (!ctx) return tl::unexpected(ctx.error());
    auto connected = net::TlsClient::connect(sock.fd(), *ctx, host);
    if (!connected) return fail("cannot reach the controller at " + url + ": " + connected.error().message);
    tls = std::move(*connected);
  }
  const std::string& token = endpoint.token;

  std::string request = method + " " + path + " HTTP/1.1\r\nHost: " + authority + "\r\nAuthorization: Bearer " + token +
                        "\r\nConnection: close\r\n";
  if (method == "POST") {
    request += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  request += "\r\n" + body;
  bool written = !tls || tls->write_all(request.data(), request.size()) > 0;
  for (std::size_t done = 0; written && !tls && done < request.size();) {
    const ssize_t n = ::send(sock.fd(), request.data() + done, request.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    written = n > 0;
    if (written) done += static_cast<std::size_t>(n);
  }
  if (!written) return fail("cannot send to the controller at " + url + ": " + std::strerror(errno));
  sent = true;
  std::string reply;
  char buf[65536];
  while (true) {
    const ssize_t n = tls ? tls->read(buf, sizeof buf) : ::recv(sock.fd(), buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR && !tls) continue;
    if (n < 0) {
      return fail("no answer from the controller at " + url + ": " + std::strerror(errno) +
                  (method == "GET" ? std::string() : " (the request may or may not have been carried out)"));
    }
    if (n == 0) break;
    reply.append(buf, static_cast<std::size_t>(n));
  }
  // Status line, headers, body.
  const auto head_end = reply.find("\r\n\r\n");
  if (reply.empty()) {
    return fail(
        "the controller at " + url + " closed the connection without answering" +
        (method == "GET" ? std::string() : " (it may have stopped): the request may or may not have been carried out"));
  }
  if (reply.rfind("HTTP/1.", 0) != 0 || head_end == std::string::npos || reply.size() < 12) {
    return fail("the controller at " + url + " answered something that is not HTTP");
  }
  Response out;
  out.status = std::atoi(reply.c_str() + 9);
  bool chunked = false;
  long long length = -1;
  std::size_t line = reply.find("\r\n") + 2;
  while (line < head_end) {
    const std::size_t next = reply.find("\r\n", line);
    const std::string header = reply.substr(line, next - line);
    line = next + 2;
    const auto colon = header.find(':');
    if (colon == std::string::npos) continue;
    const std::string name = lower(header.substr(0, colon));
    std::string value = header.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    if (name == "content-length") length = std::atoll(value.c_str());
    if (name == "transfer-encoding") chunked = lower(value).find("chunked") != std::string::npos;
    if (name == "x-gwang-next-offset") out.next_offset = value;
    if (name == "x-gwang-job-state") out.job_state = value;
    if (name == "x-gwang-standby") out.standby = true;
    if (name == "x-gwang-leader") out.leader = value;
  }
  std::string rest = reply.substr(head_end + 4);
  // A controller that stops while it answers leaves the body short: that is no answer.
  bool whole = !chunked;
  if (chunked) {
    std::size_t at = 0;
    while (at < rest.size()) {
      const std::size_t eol = rest.find("\r\n", at);
      if (eol == std::string::npos) break;
      char* digits_end = nullptr;
      const long long size = std::strtoll(rest.c_str() + at, &digits_end, 16);
      if (digits_end == rest.c_str() + at || size < 0) break;  // not a chunk's size: cut short
      if (size == 0) {
        whole = true;
        break;
      }
      if (eol + 2 + static_cast<std::size_t>(size) > rest.size()) break;
      out.body.append(rest, eol + 2, static_cast<std::size_t>(size));
      at = eol + 2 + static_cast<std::size_t>(size) + 2;
    }
  } else if (length >= 0) {
    whole = rest.size() >= static_cast<std::size_t>(length);
    out.body = rest.substr(0, static_cast<std::size_t>(length));
  } else {
    out.body = rest;
  }
  if (!whole) {
    return fail("the controller at " + url + " stopped in the middle of its answer" +
                (method == "GET" ? std::string() : ": the request may or may not have been carried out"));
  }
  return out;
}

}  // namespace

Result<Response> call(const Endpoint& endpoint, const std::string& method, const std::string& path,
                      const std::string& body) {
  std::vector<std::string> urls = controller_urls(endpoint.url);
  if (urls.empty()) return fail("no controller URL given");
  // Several controllers take turns leading: one that stands by names the leader, and one that
  // cannot be reached sends the call on to the next. While none leads (a standby is taking over),
  // rounds are tried again for up to 20 s. A call that reached a controller which then failed to
  // answer is repeated only when it reads (GET): a submission may have been carried out.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::size_t next = 0;
  Error last{""};
  bool standing_by = false;
  while (true) {
    const std::string url = urls[next % urls.size()];
    ++next;
    bool sent = false;
    auto r = call_one(endpoint, url, method, path, body, sent);
    if (r && !r->standby) return r;
    if (r) {
      standing_by = true;
      last = Error{"the controller at " + url + " stands by" +
                   (r->leader.empty() ? "" : "; the leader is at " + r->leader)};
      if (!r->leader.empty() && r->leader != url) {
        // Straight to the leader it names, whether or not it was given.
        bool sent_there = false;
        auto there = call_one(endpoint, r->leader, method, path, body, sent_there);
        if (there && !there->standby) return there;
        if (!there && sent_there && method != "GET") return there;
      }
    } else {
      if (sent && method != "GET") return r;
      last = r.error();
    }
    if (urls.size() == 1 && !standing_by) return tl::unexpected(last);
    if (next % urls.size() == 0) {
      if (!standing_by || std::chrono::steady_clock::now() > deadline) return tl::unexpected(last);
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  }
}

}  // namespace gwang::cli
