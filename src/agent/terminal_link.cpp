// A task's terminal linked to the controller (terminal_link.h), over Asio on the link's thread.

#include "agent/terminal_link.h"

#include <sys/ioctl.h>
#include <unistd.h>

// GCC 12 in C++20 mode needs <utility> before Asio's headers (std::exchange in its awaitables).
#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "api/urls.h"
#include "net/stream.h"

namespace gwang::agent {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

struct TerminalLink::Impl {
  std::string controllers, task, secret;
  int fd = -1;
  net::io_context ioc;
  std::optional<net::posix::stream_descriptor> terminal;
  std::shared_ptr<net::ssl::context> tls;  // for an https:// controller
  std::optional<websocket::stream<gwang::net::Stream>> ws;
  std::array<char, 16384> out{};
  beast::flat_buffer in;
  mutable std::mutex mu;
  std::string failure;
  bool terminal_ended = false;  // the task's terminal closed: the socket is being closed after it

  void failed(const std::string& why) {
    std::lock_guard lock(mu);
    if (failure.empty()) failure = why;
  }

  // The controller's end, from the first controller that takes it.
  bool connect() {
    std::string why = "no controller URL";
    for (const std::string& url : api::controller_urls(controllers)) {
      auto where = api::host_and_port(url);
      if (!where) {
        why = where.error().message;
        continue;
      }
      ws.emplace(beast::tcp_stream(ioc));
      beast::error_code ec;
      tcp::resolver resolver(ioc);
      const auto found = resolver.resolve(where->first, where->second, ec);
      beast::get_lowest_layer(*ws).expires_after(std::chrono::seconds(10));
      if (!ec) beast::get_lowest_layer(*ws).connect(found, ec);
      if (!ec) beast::get_lowest_layer(*ws).socket().set_option(tcp::no_delay(true), ec);
      if (!ec && api::uses_tls(url)) {
        const std::string failed = tls ? gwang::net::client_handshake(ws->next_layer(), tls, where->first)
                                       : "no TLS context to verify it with";
        if (!failed.empty()) {
          why = url + ": " + failed;
          continue;
        }
      }
      if (!ec) {
        ws->set_option(websocket::stream_base::decorator(
            [this](websocket::request_type& req) { req.set(beast::http::field::authorization, "Bearer " + secret); }));
        ws->handshake(api::authority_of(url), "/api/v1/agent/terminals/" + task, ec);
      }
      if (!ec) {
        beast::get_lowest_layer(*ws).expires_never();
        ws->set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
        return true;
      }
      why = url + ": " + ec.message();
    }
    failed("the terminal of task " + task + " could not reach the controller: " + why);
    return false;
  }

  // The task's output to the controller, one read at a time.
  void read_terminal() {
    terminal->async_read_some(net::buffer(out), [this](beast::error_code ec, std::size_t n) {
      if (ec) {
        // The terminal's end (EIO once the task and its keeper have gone): the last output is
        // through, so the socket closes.
        terminal_ended = true;
        ws->async_close(websocket::close_code::normal, [this](beast::error_code) { ioc.stop(); });
        return;
      }
      ws->binary(true);
      ws->async_write(net::buffer(out.data(), n), [this](beast::error_code ec, std::size_t) {
        if (ec) return stop("the controller's end of the terminal closed: " + ec.message());
        read_terminal();
      });
    });
  }

  // The client's input and sizes from the controller.
  void read_socket() {
    ws->async_read(in, [this](beast::error_code ec, std::size_t) {
      if (ec) {
        if (!terminal_ended) failed("the controller's end of the terminal closed: " + ec.message());
        return ioc.stop();
      }
      std::string m = beast::buffers_to_string(in.data());
      in.consume(in.size());
      if (ws->got_text()) {
        resize(m);
        return read_socket();
      }
      auto data = std::make_shared<std::string>(std::move(m));
      net::async_write(*terminal, net::buffer(*data), [this, data](beast::error_code ec, std::size_t) {
        if (ec) return stop("the task's terminal took no more input: " + ec.message());
        read_socket();
      });
    });
  }

  // {"rows":R,"cols":C}: the terminal's new size (its foreground processes get SIGWINCH).
  void resize(const std::string& m) {
    const auto j = nlohmann::json::parse(m, nullptr, false);
    if (!j.is_object() || !j.contains("rows") || !j.contains("cols") || !j["rows"].is_number_unsigned() ||
        !j["cols"].is_number_unsigned())
      return;
    const auto rows = j["rows"].get<std::uint64_t>(), cols = j["cols"].get<std::uint64_t>();
    if (rows < 1 || rows > 10000 || cols < 1 || cols > 10000) return;
    struct winsize size {};
    size.ws_row = static_cast<unsigned short>(rows);
    size.ws_col = static_cast<unsigned short>(cols);
    ::ioctl(fd, TIOCSWINSZ, &size);
  }

  void stop(const std::string& why) {
    failed(why);
    ioc.stop();
  }

  void run() {
    terminal.emplace(ioc, fd);  // owns it from here: closed when the link ends
    if (!connect()) return;
    read_terminal();
    read_socket();
    ioc.run();
  }
};

TerminalLink::TerminalLink(std::string controllers, gwang::net::TlsContext tls, std::string task, std::string secret,
                           int terminal)
    : impl_(std::make_unique<Impl>()) {
  impl_->controllers = std::move(controllers);
  if (tls) impl_->tls = gwang::net::asio_context(tls);
  impl_->task = std::move(task);
  impl_->secret = std::move(secret);
  impl_->fd = terminal;
  thread_ = std::thread([this] {
    impl_->run();
    impl_->terminal.reset();  // this link's descriptor of it (the task's own stays with the task)
    impl_->ws.reset();
    done_ = true;
  });
}

TerminalLink::~TerminalLink() {
  impl_->ioc.stop();
  thread_.join();
}

std::string TerminalLink::failure() const {
  std::lock_guard lock(impl_->mu);
  return impl_->failure;
}

}  // namespace gwang::agent
