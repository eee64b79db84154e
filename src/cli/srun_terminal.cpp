// srun --pty's terminal (srun_terminal.h): the socket read and written on an Asio loop, this
// terminal read on a thread of its own that also notices size changes.

#include "cli/srun_terminal.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

// GCC 12 in C++20 mode needs <utility> before Asio's headers (std::exchange in its awaitables).
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <cerrno>
#include <deque>
#include <optional>
#include <thread>
#include <utility>

#include "net/stream.h"

namespace gwang::cli {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

namespace {

std::atomic<int> g_wake_fd{-1};      // written by the SIGWINCH handler
std::atomic<bool> g_resized{false};  // a SIGWINCH came
extern "C" void on_winch(int) {
  g_resized = true;
  const int fd = g_wake_fd;
  if (fd >= 0) (void)!::write(fd, "w", 1);
}

termios g_saved{};
std::atomic<bool> g_raw{false};
void put_terminal_back() {
  if (g_raw.exchange(false)) ::tcsetattr(STDIN_FILENO, TCSANOW, &g_saved);
}

}  // namespace

struct StepTerminal::Impl {
  net::io_context ioc;
  std::optional<websocket::stream<gwang::net::Stream>> ws;
  beast::flat_buffer in;
  std::deque<std::pair<std::string, bool>> out;  // to the socket, in order
  int wake[2] = {-1, -1};                        // wakes the keyboard's thread
  std::thread keyboard;
  std::atomic<bool> stopping{false};

  void send(std::string m, bool binary) {
    net::post(ioc, [this, m = std::move(m), binary]() mutable {
      out.emplace_back(std::move(m), binary);
      if (out.size() == 1) write_next();
    });
  }
  void write_next() {
    ws->binary(out.front().second);
    ws->async_write(net::buffer(out.front().first), [this](beast::error_code ec, std::size_t) {
      if (ec) return ioc.stop();
      out.pop_front();
      if (!out.empty()) write_next();
    });
  }
  void read() {
    ws->async_read(in, [this](beast::error_code ec, std::size_t) {
      if (ec) return ioc.stop();  // closed: the task's terminal is gone
      const std::string shown = beast::buffers_to_string(in.data());
      const char* p = shown.data();
      std::size_t left = shown.size();
      while (left > 0) {
        const ssize_t n = ::write(STDOUT_FILENO, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        p += n;
        left -= static_cast<std::size_t>(n);
      }
      in.consume(in.size());
      read();
    });
  }
  void send_size() {
    struct winsize size {};
    if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) != 0 || size.ws_row == 0 || size.ws_col == 0) return;
    send(R"({"rows":)" + std::to_string(size.ws_row) + R"(,"cols":)" + std::to_string(size.ws_col) + "}", false);
  }
  // What is typed, as it is typed; and the size after each SIGWINCH.
  void read_keyboard() {
    char buf[4096];
    while (!stopping) {
      pollfd p[2] = {{STDIN_FILENO, POLLIN, 0}, {wake[0], POLLIN, 0}};
      if (::poll(p, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (p[1].revents & POLLIN) {
        char drained[64];
        (void)!::read(wake[0], drained, sizeof drained);
        if (g_resized.exchange(false)) send_size();
      }
      if (p[0].revents & (POLLIN | POLLHUP)) {
        const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;  // this side's input ended: the task's goes on until it ends
        send(std::string(buf, static_cast<std::size_t>(n)), true);
      }
    }
  }
};

StepTerminal::StepTerminal(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<StepTerminal>> StepTerminal::open(const Endpoint& endpoint, const std::string& path) {
  auto impl = std::make_unique<Impl>();
  std::string why = "no controller URL";
  for (const std::string& url : controller_urls(endpoint.url)) {
    auto where = host_and_port(url);
    if (!where) {
      why = where.error().message;
      continue;
    }
    impl->ws.emplace(beast::tcp_stream(impl->ioc));
    beast::error_code ec;
    tcp::resolver resolver(impl->ioc);
    const auto found = resolver.resolve(where->first, where->second, ec);
    if (!ec) beast::get_lowest_layer(*impl->ws).connect(found, ec);
    if (!ec) beast::get_lowest_layer(*impl->ws).socket().set_option(tcp::no_delay(true), ec);
    if (!ec && api::uses_tls(url)) {
      auto ctx = tls_context_for(endpoint);
      if (!ctx) return tl::unexpected(ctx.error());
      if (std::string failed =
              gwang::net::client_handshake(impl->ws->next_layer(), gwang::net::asio_context(*ctx), where->first);
          !failed.empty()) {
        why = url + ": " + failed;
        continue;
      }
    }
    if (!ec) {
      impl->ws->set_option(websocket::stream_base::decorator([&](websocket::request_type& req) {
        req.set(beast::http::field::authorization, "Bearer " + endpoint.token);
      }));
      impl->ws->handshake(api::authority_of(url), path, ec);
    }
    if (!ec) {
      impl->ws->set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
      return std::unique_ptr<StepTerminal>(new StepTerminal(std::move(impl)));
    }
    why = url + ": " + ec.message();
  }
  return fail("cannot open the step's terminal: " + why);
}

void StepTerminal::run() {
  Impl& t = *impl_;
  if (::pipe2(t.wake, O_CLOEXEC | O_NONBLOCK) != 0) return;
  g_wake_fd = t.wake[1];
  struct sigaction sa {};
  sa.sa_handler = on_winch;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  ::sigaction(SIGWINCH, &sa, nullptr);
  if (::tcgetattr(STDIN_FILENO, &g_saved) == 0) {
    termios raw = g_saved;
    ::cfmakeraw(&raw);
    if (::tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0 && !g_raw.exchange(true)) std::atexit(put_terminal_back);
  }
  t.send_size();  // in case it changed since the step was asked for
  t.keyboard = std::thread([&t] { t.read_keyboard(); });
  t.read();
  t.ioc.run();
  put_terminal_back();
}

void StepTerminal::stop() { impl_->ioc.stop(); }

void StepTerminal::put_back() { put_terminal_back(); }

void StepTerminal::start() {
  relaying_ = std::thread([this] {
    run();
    closed_ = true;
  });
}

void StepTerminal::finish() {
  for (int i = 0; i < 200 && !closed_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  stop();
  if (relaying_.joinable()) relaying_.join();
}

StepTerminal::~StepTerminal() {
  impl_->ioc.stop();
  if (relaying_.joinable()) relaying_.join();
  ::signal(SIGWINCH, SIG_DFL);  // before its pipe goes
  g_wake_fd = -1;
  impl_->stopping = true;
  if (impl_->wake[1] >= 0) (void)!::write(impl_->wake[1], "s", 1);
  if (impl_->keyboard.joinable()) impl_->keyboard.join();
  for (int fd : impl_->wake) {
    if (fd >= 0) ::close(fd);
  }
  put_terminal_back();
}

}  // namespace gwang::cli
