#include "controller/http_server.h"

#include <fcntl.h>

// GCC 12 in C++20 mode needs <utility> before Asio's headers (std::exchange in its awaitables).
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "net/stream.h"

namespace gwang::controller {

namespace net = boost::asio;
namespace tls = gwang::net;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

namespace {

std::string text(beast::string_view s) { return {s.data(), s.size()}; }

// A request as the handlers read it. The path is percent-decoded; the query's parameters too.
void to_handler_form(http::request<http::string_body>& in, const std::string& remote, int port, httplib::Request& req) {
  req.method = text(in.method_string());
  req.version = in.version() == 10 ? "HTTP/1.0" : "HTTP/1.1";
  req.target = text(in.target());
  const std::size_t query = req.target.find('?');
  req.path = httplib::detail::decode_url(req.target.substr(0, query), false);
  if (query != std::string::npos) httplib::detail::parse_query_text(req.target.substr(query + 1), req.params);
  for (const auto& field : in) req.headers.emplace(text(field.name_string()), text(field.value()));
  req.body = std::move(in.body());
  req.remote_addr = remote;
  req.remote_port = port;
}

// The answer to a request of `version`, kept open after if `keep`; to HEAD (`head`) without its body.
http::response<http::string_body> to_wire_form(httplib::Response& res, unsigned version, bool keep, bool head) {
  http::response<http::string_body> out;
  out.version(version);
  out.result(static_cast<unsigned>(res.status));
  for (const auto& [name, value] : res.headers) {
    if (!beast::iequals(name, "Content-Length")) out.insert(name, value);
  }
  out.keep_alive(keep);
  if (head) {
    out.content_length(res.body.size());  // what a GET would carry, without it
  } else {
    out.body() = std::move(res.body);
    out.prepare_payload();
  }
  return out;
}

// An answer to a request that could not be read, after which the connection closes.
http::response<http::string_body> refusal(http::status status, const std::string& why) {
  http::response<http::string_body> out{status, 11};
  out.set(http::field::content_type, "application/json");
  out.body() = R"({"error":")" + why + R"("})";
  out.keep_alive(false);
  out.prepare_payload();
  return out;
}

}  // namespace

namespace {
class SocketSession;
}

struct HttpTransport::Impl {
  Serve serve;
  Upgrade upgrade;
  // The WebSockets open, so that those still open when the loop stops are closed to their
  // handlers (which may hold them) before the loop's io_context goes.
  std::mutex sockets_mu;
  std::vector<std::weak_ptr<SocketSession>> sockets;
  TransportOptions options;
  std::mutex mu;  // guards the three below against stop() while run() tears them down
  bool stopped = false;
  std::unique_ptr<net::io_context> ioc;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<net::thread_pool> workers;
  std::optional<net::steady_timer> pause;  // after a failed accept (out of descriptors)
  // The TLS context new connections are served with (options.tls's current one, wrapped for Asio).
  std::mutex tls_mu;
  tls::TlsContext tls_served;
  std::shared_ptr<net::ssl::context> tls_wrapped;

  void accept();
  std::shared_ptr<net::ssl::context> tls_context() {
    tls::TlsContext now = options.tls->current(std::chrono::steady_clock::now());
    std::lock_guard lock(tls_mu);
    if (now != tls_served) {
      tls_served = now;
      tls_wrapped = tls::asio_context(now);
    }
    return tls_wrapped;
  }
};

std::vector<std::string_view> websocket_subprotocols(std::string_view offered) {
  std::vector<std::string_view> out;
  for (std::size_t from = 0; from <= offered.size();) {
    const std::size_t comma = std::min(offered.find(',', from), offered.size());
    std::string_view one = offered.substr(from, comma - from);
    while (!one.empty() && (one.front() == ' ' || one.front() == '\t')) one.remove_prefix(1);
    while (!one.empty() && (one.back() == ' ' || one.back() == '\t')) one.remove_suffix(1);
    if (!one.empty()) out.push_back(one);
    from = comma + 1;
  }
  return out;
}

namespace {

// A WebSocket taken over from an HTTP connection: reads go to its handler, sends are queued and
// written in order on the connection's strand.
class SocketSession final : public WebSocket, public std::enable_shared_from_this<SocketSession> {
 public:
  SocketSession(tls::Stream stream, std::shared_ptr<WebSocketHandler> handler)
      : ws_(std::move(stream)), handler_(std::move(handler)) {}

  std::size_t backlog() const override { return backlog_; }
  void pause_reading(bool paused) override {
    net::post(ws_.get_executor(), [self = shared_from_this(), paused] {
      self->paused_ = paused;
      if (!paused && !self->reading_ && !self->done_) self->read();
    });
  }
  // The loop has stopped: its handler hears the end now, and lets go of it (and this of it).
  void abandon() {
    if (!done_) {
      done_ = true;
      handler_->closed();
    }
    handler_.reset();
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
  }

  // `protocol`: the subprotocol its handler took (a session's service chose it), if any.
  void accept(http::request<http::string_body> request, std::string protocol) {
    beast::get_lowest_layer(ws_).expires_never();  // the WebSocket's own timeouts apply
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.read_message_max(16 << 20);
    // A browser, which cannot send a WebSocket an Authorization header, offers the subprotocol
    // "gwang" (with its token as another: see bearer_token); the answer must name the one taken.
    const auto offered = request[http::field::sec_websocket_protocol];
    const auto offers = websocket_subprotocols(std::string_view(offered.data(), offered.size()));
    if (!protocol.empty()) {
      ws_.set_option(websocket::stream_base::decorator(
          [protocol](websocket::response_type& r) { r.set(http::field::sec_websocket_protocol, protocol); }));
    } else if (std::find(offers.begin(), offers.end(), "gwang") != offers.end()) {
      ws_.set_option(websocket::stream_base::decorator(
          [](websocket::response_type& r) { r.set(http::field::sec_websocket_protocol, "gwang"); }));
    }
    auto req = std::make_shared<http::request<http::string_body>>(std::move(request));
    ws_.async_accept(*req, [self = shared_from_this(), req](beast::error_code ec) {
      if (ec) return self->ended();
      self->handler_->opened(self);
      self->read();
    });
  }

  void send(std::string message, bool binary) override {
    backlog_ += message.size();
    net::post(ws_.get_executor(), [self = shared_from_this(), m = std::move(message), binary]() mutable {
      if (self->closing_ || self->done_) return void(self->backlog_ -= m.size());
      self->queue_.emplace_back(std::move(m), binary);
      if (self->queue_.size() == 1) self->write_next();
    });
  }

  void close() override {
    net::post(ws_.get_executor(), [self = shared_from_this()] {
      if (self->closing_ || self->done_) return;
      self->closing_ = true;
      if (self->queue_.empty()) self->close_now();
    });
  }

 private:
  void read() {
    reading_ = true;
    ws_.async_read(in_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->reading_ = false;
      if (ec || self->done_) return self->ended();
      std::string message = beast::buffers_to_string(self->in_.data());
      self->in_.consume(self->in_.size());
      self->handler_->message(std::move(message), self->ws_.got_binary());
      if (!self->paused_ && !self->done_) self->read();
    });
  }
  void write_next() {
    ws_.binary(queue_.front().second);
    ws_.async_write(net::buffer(queue_.front().first), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->ended();
      const bool over = self->backlog_ > kBacklog;
      self->backlog_ -= self->queue_.front().first.size();
      self->queue_.pop_front();
      if (over && self->backlog_ < kDrained && !self->done_) self->handler_->drained();
      if (!self->queue_.empty()) return self->write_next();
      if (self->closing_) self->close_now();
    });
  }
  void close_now() {
    ws_.async_close(websocket::close_code::normal, [self = shared_from_this()](beast::error_code) { self->ended(); });
  }
  void ended() {
    if (done_) return;
    done_ = true;
    for (const auto& [m, binary] : queue_) backlog_ -= m.size();
    queue_.clear();
    if (handler_) handler_->closed();
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
  }

  websocket::stream<tls::Stream> ws_;
  std::shared_ptr<WebSocketHandler> handler_;
  beast::flat_buffer in_;
  std::deque<std::pair<std::string, bool>> queue_;
  std::atomic<std::size_t> backlog_{0};  // bytes of what was sent, not yet written out
  bool closing_ = false, done_ = false;
  bool paused_ = false, reading_ = false;  // pause_reading; a read under way
};

// One connection: read a request, hand it to a worker, write its answer, read the next.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(HttpTransport::Impl& t, tcp::socket socket) : t_(t), stream_(beast::tcp_stream(std::move(socket))) {
    beast::error_code ec;
    const tcp::endpoint peer = tcp_().socket().remote_endpoint(ec);
    if (!ec) {
      remote_ = peer.address().to_string();
      remote_port_ = peer.port();
    }
    tcp_().socket().set_option(tcp::no_delay(true), ec);
    ::fcntl(tcp_().socket().native_handle(), F_SETFD, FD_CLOEXEC);  // not a job's to inherit
  }
  void start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      if (self->t_.options.tls) return self->detect_tls();
      self->read_header();
    });
  }

 private:
  beast::tcp_stream& tcp_() { return stream_.next_layer(); }

  // A TLS server's connection: its handshake, or, where the client speaks plain HTTP, an answer
  // that says how to call (its token has crossed the network in the clear by then: the answer
  // tells its user so).
  void detect_tls() {
    tcp_().expires_after(t_.options.transfer);
    beast::async_detect_ssl(tcp_(), buffer_, [self = shared_from_this()](beast::error_code ec, bool tls) {
      if (ec) return self->close();
      if (!tls) {
        return self->write(refusal(http::status::bad_request,
                                   "this controller speaks HTTPS only: call it at https:// (whatever this request "
                                   "carried, a token too, has crossed the network unencrypted)"));
      }
      self->stream_.start_tls(self->t_.tls_context());
      self->stream_.tls_stream().async_handshake(net::ssl::stream_base::server, self->buffer_.data(),
                                                 [self](beast::error_code ec, std::size_t used) {
                                                   if (ec) return self->close();
                                                   self->buffer_.consume(used);
                                                   self->read_header();
                                                 });
    });
  }

  void read_header() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(t_.options.header_limit));
    parser_->body_limit(t_.options.body_limit);
    tcp_().expires_after(t_.options.idle);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec) return failed(ec);
    if (beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
      // curl and others wait for this before they send a body.
      proceed_.emplace(http::status::continue_, parser_->get().version());
      tcp_().expires_after(t_.options.transfer);
      http::async_write(stream_, *proceed_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
        if (ec) return self->close();
        self->read_body();
      });
      return;
    }
    read_body();
  }

  void read_body() {
    tcp_().expires_after(t_.options.transfer);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_request(ec); });
  }

  void on_request(beast::error_code ec) {
    if (ec) return failed(ec);
    tcp_().expires_never();  // the handler may wait for the controller
    http::request<http::string_body> in = parser_->release();
    if (t_.upgrade && websocket::is_upgrade(in)) return upgrade(std::move(in));
    const Form form{in.version(), in.keep_alive(), in.method() == http::verb::head};
    auto req = std::make_shared<httplib::Request>();
    to_handler_form(in, remote_, remote_port_, *req);
    httplib::Response res;
    if (serve(*req, res, true)) return write(to_wire_form(res, form.version, form.keep, form.head));
    if (!t_.workers) {
      serve(*req, res, false);
      return write(to_wire_form(res, form.version, form.keep, form.head));
    }
    net::post(*t_.workers, [self = shared_from_this(), req, form] {
      httplib::Response res;
      self->serve(*req, res, false);
      auto out =
          std::make_shared<http::response<http::string_body>>(to_wire_form(res, form.version, form.keep, form.head));
      net::post(self->stream_.get_executor(), [self, out] { self->write(std::move(*out)); });
    });
  }

  // A request for a WebSocket: the connection becomes one if the handler takes it, else it is
  // answered (and closed).
  void upgrade(http::request<http::string_body> in) {
    auto original = std::make_shared<http::request<http::string_body>>(std::move(in));
    auto decide = [self = shared_from_this(), original] {
      auto req = std::make_shared<httplib::Request>();
      http::request<http::string_body> copy = *original;
      to_handler_form(copy, self->remote_, self->remote_port_, *req);
      auto res = std::make_shared<httplib::Response>();
      std::shared_ptr<WebSocketHandler> handler;
      try {
        handler = self->t_.upgrade(*req, *res);
      } catch (const std::exception&) {
        *res = httplib::Response{};
        res->status = 500;
        res->set_content(std::string(R"({"error":"internal error"})"), "application/json");
      }
      net::post(self->stream_.get_executor(), [self, original, handler, res] {
        if (!handler) {
          if (res->status < 400 || res->status > 599) res->status = 500;
          return self->write(to_wire_form(*res, original->version(), false, false));
        }
        auto socket = std::make_shared<SocketSession>(std::move(self->stream_), handler);
        {
          std::lock_guard lock(self->t_.sockets_mu);
          std::erase_if(self->t_.sockets, [](const std::weak_ptr<SocketSession>& s) { return s.expired(); });
          self->t_.sockets.push_back(socket);
        }
        socket->accept(std::move(*original), res->get_header_value("Sec-WebSocket-Protocol"));
      });
    };
    if (t_.workers) return net::post(*t_.workers, std::move(decide));
    decide();
  }

  // What the answer's form depends on of its request.
  struct Form {
    unsigned version;
    bool keep;
    bool head;
  };

  // Runs the handler; false: it must run on a worker.
  bool serve(httplib::Request& req, httplib::Response& res, bool in_loop) {
    try {
      if (!t_.serve(req, res, in_loop)) return false;
    } catch (const std::exception& e) {
      res = httplib::Response{};
      res.status = 500;
      res.set_content(std::string(R"({"error":"internal error"})"), "application/json");
    }
    if (res.status < 100 || res.status > 999) res.status = 500;
    return true;
  }

  void write(http::response<http::string_body>&& out) {
    out_ = std::move(out);
    tcp_().expires_after(t_.options.transfer);
    http::async_write(stream_, out_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec || self->out_.need_eof()) return self->close();
      self->out_ = {};
      self->read_header();
    });
  }

  // A request that could not be read: answered where the client can still read an answer.
  void failed(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      return write(refusal(http::status::payload_too_large,
                           "request body over " + std::to_string(t_.options.body_limit >> 20) + " MiB"));
    }
    if (ec == http::error::header_limit) {
      return write(refusal(http::status::request_header_fields_too_large,
                           "request header over " + std::to_string(t_.options.header_limit >> 10) + " KiB"));
    }
    if (ec.category() == http::make_error_code(http::error::end_of_stream).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message) {
      return write(refusal(http::status::bad_request, "malformed HTTP request: " + ec.message()));
    }
    close();  // closed by the client, timed out, reset
  }

  void close() {
    beast::error_code ec;
    tcp_().socket().shutdown(tcp::socket::shutdown_send, ec);
    tcp_().close();
  }

  HttpTransport::Impl& t_;
  tls::Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::empty_body>> proceed_;
  http::response<http::string_body> out_;
  std::string remote_;
  int remote_port_ = 0;
};

}  // namespace

void HttpTransport::Impl::accept() {
  acceptor->async_accept(net::make_strand(*ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor->is_open()) return;
    if (ec) {
      // Out of descriptors, most likely: let connections close before the next accept.
      pause->expires_after(std::chrono::milliseconds(50));
      pause->async_wait([this](beast::error_code) { accept(); });
      return;
    }
    std::make_shared<Session>(*this, std::move(socket))->start();
    accept();
  });
}

HttpTransport::HttpTransport(Serve serve, TransportOptions options, Upgrade upgrade) : impl_(new Impl) {
  impl_->serve = std::move(serve);
  impl_->upgrade = std::move(upgrade);
  impl_->options = options;
  impl_->ioc = std::make_unique<net::io_context>(options.io_threads);
  impl_->acceptor = std::make_unique<tcp::acceptor>(*impl_->ioc);
  if (options.workers > 0)
    impl_->workers = std::make_unique<net::thread_pool>(static_cast<std::size_t>(options.workers));
  impl_->pause.emplace(*impl_->ioc);
}

HttpTransport::~HttpTransport() {
  stop();
  std::lock_guard lock(impl_->mu);
  impl_->workers.reset();  // its queued handlers hold sessions of the loop: gone before it
}

Result<int> HttpTransport::bind(const std::string& host, int port) {
  const std::string where = host + ":" + std::to_string(port);
  beast::error_code ec;
  tcp::resolver resolver(*impl_->ioc);
  const auto found = resolver.resolve(host, std::to_string(port), tcp::resolver::passive, ec);
  if (ec || found.empty()) return fail("cannot listen on " + where + ": " + ec.message());
  const tcp::endpoint endpoint = found.begin()->endpoint();
  tcp::acceptor& a = *impl_->acceptor;
  a.open(endpoint.protocol(), ec);
  if (!ec) ::fcntl(a.native_handle(), F_SETFD, FD_CLOEXEC);
  if (!ec) a.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(endpoint, ec);
  if (!ec) a.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    beast::error_code ignored;
    a.close(ignored);
    return fail("cannot listen on " + where + ": " + ec.message());
  }
  return static_cast<int>(a.local_endpoint().port());
}

void HttpTransport::use_tls(std::shared_ptr<tls::ServerCredentials> credentials) {
  impl_->options.tls = std::move(credentials);
}

void HttpTransport::run() {
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopped || !impl_->acceptor->is_open()) return;
  }
  impl_->accept();
  std::vector<std::thread> loops;
  for (int i = 1; i < impl_->options.io_threads; ++i) loops.emplace_back([this] { impl_->ioc->run(); });
  impl_->ioc->run();
  for (std::thread& t : loops) t.join();
  std::lock_guard lock(impl_->mu);
  // No connection is taken from now on: the kernel would otherwise complete connections that nobody
  // serves (an agent's, or a link's, which would wait for its timeout instead of trying the next
  // controller, or this one restarted, at once).
  beast::error_code ignored;
  impl_->acceptor->close(ignored);
  // Handlers still running finish; their answers, and every connection, go with the loop.
  impl_->workers.reset();
  {
    std::lock_guard sockets(impl_->sockets_mu);
    for (const std::weak_ptr<SocketSession>& s : impl_->sockets) {
      if (auto open = s.lock()) open->abandon();
    }
    impl_->sockets.clear();
  }
  impl_->pause.reset();
  impl_->acceptor.reset();
  impl_->ioc.reset();
}

void HttpTransport::stop() {
  std::lock_guard lock(impl_->mu);
  impl_->stopped = true;
  if (impl_->ioc) impl_->ioc->stop();
}

}  // namespace gwang::controller
