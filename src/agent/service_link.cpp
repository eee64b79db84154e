// A session's service linked to the controller's proxy (service_link.h): over Asio on the link's
// thread, the link's WebSocket, each stream's connection to the service, and the timers that make
// the link again and wait for the service to answer.

#include "agent/service_link.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

// GCC 12 in C++20 mode needs <utility> before Asio's headers (std::exchange in its awaitables).
#include <utility>
// (blank line: the include above stays first)
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <cstdio>
#include <deque>
#include <map>
#include <optional>

#include "api/service_frame.h"
#include "api/urls.h"
#include "net/stream.h"

namespace gwang::agent {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using Frame = api::ServiceFrame;

namespace {

// What the link may hold unsent before the service's sockets stop being read (and again once it
// has drained below the second).
constexpr std::size_t kLinkBacklog = 4 << 20, kLinkDrained = 1 << 20;
constexpr std::size_t kBodyLimit = 256 << 20;  // the largest answer relayed (the API's own request limit)
constexpr auto kExchangeTimeout = std::chrono::seconds(300);

// Headers the service's end of a connection sets itself.
bool own_header(beast::string_view name) {
  static constexpr std::string_view kOwn[] = {
      "connection",     "upgrade",          "sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions",
      "content-length", "transfer-encoding"};
  for (std::string_view o : kOwn) {
    if (beast::iequals(name, beast::string_view(o.data(), o.size()))) return true;
  }
  return false;
}

}  // namespace

struct ServiceLink::Impl {
  std::string controllers, task, secret;
  int port = 0;
  std::atomic<bool>* ready = nullptr;
  net::io_context ioc;
  net::steady_timer retry{ioc}, probe_timer{ioc};
  std::shared_ptr<net::ssl::context> tls;  // for an https:// controller
  std::optional<websocket::stream<gwang::net::Stream>> ws;
  beast::flat_buffer in;
  std::deque<std::string> outbox;
  std::size_t outbox_bytes = 0;
  bool linked = false, writing = false, stopping = false;
  std::string attempt_failure, problem;  // why the last try failed; the last reason said
  std::uint64_t generation = 0;          // of the link: what a link that broke began is dropped

  // A WebSocket of the owner's, relayed to the service.
  struct Socket {
    websocket::stream<beast::tcp_stream> ws;
    beast::flat_buffer in;
    std::deque<std::pair<std::string, bool>> queue;
    bool open = false, closing = false, reading = false;
    explicit Socket(net::io_context& ioc) : ws(ioc) {}
  };
  std::map<std::uint64_t, std::shared_ptr<Socket>> sockets;
  std::vector<std::uint64_t> paused;  // sockets not read until the link drains

  // --- the link ---

  void send(const Frame& f) {
    if (!linked) return;
    outbox.push_back(api::encode(f));
    outbox_bytes += outbox.back().size();
    if (!writing) write_next();
  }
  void write_next() {
    writing = true;
    ws->binary(true);
    ws->async_write(net::buffer(outbox.front()), [this, g = generation](beast::error_code ec, std::size_t) {
      if (g != generation) return;
      writing = false;
      if (ec) return lost();
      outbox_bytes -= outbox.front().size();
      outbox.pop_front();
      if (outbox_bytes < kLinkDrained) resume_sockets();
      if (!outbox.empty()) write_next();
    });
  }

  void connect() {
    if (stopping) return;
    auto urls = std::make_shared<std::vector<std::string>>(api::controller_urls(controllers));
    try_url(urls, 0);
  }
  // Says once why the link cannot be made (each new reason), and once when it is made after that.
  void unlinked(const std::string& why) {
    if (why == problem) return;
    problem = why;
    std::fprintf(stderr,
                 "gwang agent: the service of task %s cannot link to the controller: %s (trying every second)\n",
                 task.c_str(), why.c_str());
  }
  void try_url(std::shared_ptr<std::vector<std::string>> urls, std::size_t k) {
    if (stopping) return;
    if (k >= urls->size()) {
      unlinked(attempt_failure);
      return again(std::chrono::seconds(1));
    }
    const std::string url = (*urls)[k];
    auto failed = [=, this](const std::string& why) {
      attempt_failure = url + ": " + why;
      try_url(urls, k + 1);
    };
    auto where = api::host_and_port(url);
    if (!where) return failed(where.error().message);
    if (api::uses_tls(url) && !tls) return failed("no TLS context to verify it with");
    ws.emplace(beast::tcp_stream(ioc));
    const std::uint64_t g = ++generation;
    auto resolver = std::make_shared<tcp::resolver>(ioc);
    resolver->async_resolve(
        where->first, where->second, [=, this](beast::error_code ec, tcp::resolver::results_type found) {
          if (g != generation || stopping) return;
          if (ec) return failed(ec.message());
          beast::get_lowest_layer(*ws).expires_after(std::chrono::seconds(10));
          beast::get_lowest_layer(*ws).async_connect(found, [=, this](beast::error_code ec, const tcp::endpoint&) {
            if (g != generation || stopping) return;
            if (ec) return failed(ec.message());
            if (!api::uses_tls(url)) return handshake(urls, k, g);
            gwang::net::start_client_tls(ws->next_layer(), tls, where->first);
            ws->next_layer().tls_stream().async_handshake(
                net::ssl::stream_base::client, [=, this](beast::error_code ec) {
                  if (g != generation || stopping) return;
                  if (ec) {
                    return failed(gwang::net::handshake_failure(ws->next_layer(), ec, where->first));
                  }
                  handshake(urls, k, g);
                });
          });
        });
  }
  // The WebSocket's handshake on the connection to the `k`th controller.
  void handshake(std::shared_ptr<std::vector<std::string>> urls, std::size_t k, std::uint64_t g) {
    ws->set_option(websocket::stream_base::decorator(
        [s = secret](websocket::request_type& req) { req.set(http::field::authorization, "Bearer " + s); }));
    ws->read_message_max(kBodyLimit + (1 << 20));
    ws->async_handshake(api::authority_of((*urls)[k]), "/api/v1/agent/services/" + task,
                        [=, this](beast::error_code ec) {
                          if (g != generation || stopping) return;
                          if (ec) {
                            attempt_failure = (*urls)[k] + ": " + ec.message();
                            return try_url(urls, k + 1);
                          }
                          if (!problem.empty()) {
                            std::fprintf(stderr, "gwang agent: the service of task %s is linked to %s again\n",
                                         task.c_str(), (*urls)[k].c_str());
                            problem.clear();
                          }
                          beast::get_lowest_layer(*ws).expires_never();
                          ws->set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
                          linked = true;
                          read_link();
                          probe();
                        });
  }
  void again(std::chrono::milliseconds after) {
    retry.expires_after(after);
    retry.async_wait([this](beast::error_code ec) {
      if (!ec) connect();
    });
  }
  // The link broke: its streams with it; it is made again.
  void lost() {
    if (!linked) return;
    linked = false;
    writing = false;
    ++generation;
    outbox.clear();
    outbox_bytes = 0;
    for (auto& [id, s] : sockets) close_socket(*s);
    sockets.clear();
    paused.clear();
    beast::error_code ignored;
    beast::get_lowest_layer(*ws).socket().close(ignored);
    if (!stopping) again(std::chrono::seconds(1));
  }

  void read_link() {
    ws->async_read(in, [this, g = generation](beast::error_code ec, std::size_t) {
      if (g != generation) return;
      if (ec) return lost();
      auto frame =
          api::decode_service_frame(std::string_view(static_cast<const char*>(in.data().data()), in.data().size()));
      in.consume(in.size());
      if (frame) take(std::move(*frame));
      read_link();
    });
  }

  void take(Frame f) {
    switch (f.type) {
      case Frame::Type::Request:
        return exchange(std::move(f));
      case Frame::Type::SocketOpen:
        return open_socket(std::move(f));
      case Frame::Type::Message:
        if (auto it = sockets.find(f.stream); it != sockets.end()) {
          it->second->queue.emplace_back(std::move(f.body), f.text);
          if (it->second->open && it->second->queue.size() == 1) write_socket(f.stream, it->second);
        }
        return;
      case Frame::Type::SocketClose:
        if (auto it = sockets.find(f.stream); it != sockets.end()) {
          close_socket(*it->second);
          sockets.erase(it);
        }
        return;
      default:
        return;  // the agent's own kinds: not sent to it
    }
  }

  // --- the service ---

  // Whether the service answers on its port yet: asked every 200 ms until it does, then said.
  void probe() {
    auto socket = std::make_shared<tcp::socket>(ioc);
    socket->async_connect(tcp::endpoint(net::ip::address_v4::loopback(), static_cast<unsigned short>(port)),
                          [this, socket, g = generation](beast::error_code ec) {
                            if (g != generation || stopping) return;
                            if (ec) {
                              probe_timer.expires_after(std::chrono::milliseconds(200));
                              return probe_timer.async_wait([this, g](beast::error_code ec) {
                                if (!ec && g == generation) probe();
                              });
                            }
                            *ready = true;
                            send({.type = Frame::Type::Ready});
                          });
  }

  std::string refused(const beast::error_code& ec) const {
    return "the session's service does not answer on 127.0.0.1:" + std::to_string(port) + " (" + ec.message() + ")";
  }

  // One HTTP exchange with the service, on a connection of its own.
  void exchange(Frame f) {
    struct Exchange {
      beast::tcp_stream stream;
      http::request<http::string_body> req;
      beast::flat_buffer buffer;
      http::response_parser<http::string_body> parser;
      std::uint64_t id;
      Exchange(net::io_context& ioc, std::uint64_t id) : stream(ioc), id(id) { parser.body_limit(kBodyLimit); }
    };
    auto x = std::make_shared<Exchange>(ioc, f.stream);
    x->req.method_string(f.method);
    x->req.target(f.target);
    x->req.version(11);
    for (const auto& [name, value] : f.headers) {
      if (!own_header(name)) x->req.insert(name, value);
    }
    x->req.body() = std::move(f.body);
    x->req.prepare_payload();
    x->req.keep_alive(false);
    const std::uint64_t g = generation;
    auto failed = [this, x, g](const std::string& why) {
      if (g == generation) send({.type = Frame::Type::Failed, .stream = x->id, .message = why});
    };
    x->stream.expires_after(kExchangeTimeout);
    x->stream.async_connect(
        tcp::endpoint(net::ip::address_v4::loopback(), static_cast<unsigned short>(port)),
        [this, x, g, failed](beast::error_code ec) {
          if (ec) return failed(refused(ec));
          http::async_write(x->stream, x->req, [this, x, g, failed](beast::error_code ec, std::size_t) {
            if (ec) return failed("the session's service took no request: " + ec.message());
            http::async_read(x->stream, x->buffer, x->parser, [this, x, g, failed](beast::error_code ec, std::size_t) {
              if (ec) return failed("the session's service gave no answer: " + ec.message());
              if (g != generation) return;
              auto& res = x->parser.get();
              Frame out{.type = Frame::Type::Response, .stream = x->id};
              out.status = static_cast<int>(res.result_int());
              for (const auto& h : res) {
                if (!own_header(h.name_string()))
                  out.headers.emplace_back(std::string(h.name_string()), std::string(h.value()));
              }
              out.body = std::move(res.body());
              send(out);
              beast::error_code ignored;
              x->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
            });
          });
        });
  }

  // A WebSocket of the owner's opened on the service, with the owner's headers (the proxy's own
  // taken out and the secret put in).
  void open_socket(Frame f) {
    auto s = std::make_shared<Socket>(ioc);
    const std::uint64_t id = f.stream, g = generation;
    sockets[id] = s;
    std::string host = "127.0.0.1:" + std::to_string(port);
    auto headers = std::make_shared<std::vector<std::pair<std::string, std::string>>>();
    for (auto& [name, value] : f.headers) {
      if (beast::iequals(name, "host"))
        host = value;
      else if (!own_header(name))
        headers->emplace_back(std::move(name), std::move(value));
    }
    auto failed = [this, id, g](const std::string& why) {
      if (g != generation || !sockets.contains(id)) return;
      sockets.erase(id);
      send({.type = Frame::Type::Failed, .stream = id, .message = why});
    };
    beast::get_lowest_layer(s->ws).expires_after(std::chrono::seconds(30));
    beast::get_lowest_layer(s->ws).async_connect(
        tcp::endpoint(net::ip::address_v4::loopback(), static_cast<unsigned short>(port)),
        [=, this, target = std::move(f.target)](beast::error_code ec) {
          if (ec) return failed(refused(ec));
          s->ws.set_option(websocket::stream_base::decorator([headers](websocket::request_type& req) {
            for (const auto& [name, value] : *headers) req.set(name, value);
          }));
          s->ws.read_message_max(16 << 20);
          auto res = std::make_shared<websocket::response_type>();
          s->ws.async_handshake(*res, host, target, [=, this](beast::error_code ec) {
            if (ec) return failed("the session's service refused the WebSocket: " + ec.message());
            if (g != generation || !sockets.contains(id)) return;
            beast::get_lowest_layer(s->ws).expires_never();
            s->ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
            s->open = true;
            send({.type = Frame::Type::SocketOpened,
                  .stream = id,
                  .protocol = std::string((*res)[http::field::sec_websocket_protocol])});
            if (!s->queue.empty()) write_socket(id, s);
            read_socket(id, s);
          });
        });
  }

  void read_socket(std::uint64_t id, std::shared_ptr<Socket> s) {
    if (outbox_bytes > kLinkBacklog) return paused.push_back(id);
    s->reading = true;
    s->ws.async_read(s->in, [this, id, s, g = generation](beast::error_code ec, std::size_t) {
      s->reading = false;
      if (g != generation || !sockets.contains(id)) return;
      if (ec) {
        sockets.erase(id);
        return send({.type = Frame::Type::SocketClose, .stream = id});
      }
      send({.type = Frame::Type::Message,
            .stream = id,
            .text = s->ws.got_text(),
            .body = beast::buffers_to_string(s->in.data())});
      s->in.consume(s->in.size());
      read_socket(id, s);
    });
  }
  void resume_sockets() {
    auto waiting = std::move(paused);
    paused.clear();
    for (std::uint64_t id : waiting) {
      if (auto it = sockets.find(id); it != sockets.end() && !it->second->reading) read_socket(id, it->second);
    }
  }
  void write_socket(std::uint64_t id, std::shared_ptr<Socket> s) {
    s->ws.text(s->queue.front().second);
    s->ws.async_write(net::buffer(s->queue.front().first), [this, id, s](beast::error_code ec, std::size_t) {
      if (ec) return;  // its read ends it
      s->queue.pop_front();
      if (!s->queue.empty() && sockets.contains(id)) write_socket(id, s);
    });
  }
  void close_socket(Socket& s) {
    if (s.closing) return;
    s.closing = true;
    if (s.open) {
      s.ws.async_close(websocket::close_code::normal, [](beast::error_code) {});
    } else {
      beast::error_code ignored;
      beast::get_lowest_layer(s.ws).socket().close(ignored);
    }
  }

  void stop() {
    stopping = true;
    ++generation;
    retry.cancel();
    probe_timer.cancel();
    beast::error_code ignored;
    for (auto& [id, s] : sockets) beast::get_lowest_layer(s->ws).socket().close(ignored);
    sockets.clear();
    if (ws) beast::get_lowest_layer(*ws).socket().close(ignored);
    ioc.stop();
  }
};

ServiceLink::ServiceLink(std::string controllers, gwang::net::TlsContext tls, std::string task, std::string secret,
                         int port)
    : impl_(std::make_unique<Impl>()) {
  impl_->controllers = std::move(controllers);
  if (tls) impl_->tls = gwang::net::asio_context(tls);
  impl_->task = std::move(task);
  impl_->secret = std::move(secret);
  impl_->port = port;
  impl_->ready = &ready_;
  thread_ = std::thread([impl = impl_.get()] {
    impl->connect();
    auto work = net::make_work_guard(impl->ioc);
    impl->ioc.run();
  });
}

ServiceLink::~ServiceLink() {
  net::post(impl_->ioc, [impl = impl_.get()] { impl->stop(); });
  thread_.join();
}

int free_local_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

}  // namespace gwang::agent
