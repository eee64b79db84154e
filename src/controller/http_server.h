// The API's transport: HTTP/1.1 connections served by an event loop (Boost.Beast over Asio), each
// request served on the loop's thread where it cannot block, else on a pool of workers. A kept
// connection waiting for its next request costs a socket and a buffer, not a thread, so every agent
// of a centre can keep its own; a handler that waits (for the controller's lock, the journal, a
// file) holds a worker, never the loop that reads the other connections. Serving in the loop saves
// two thread switches per request, which were most of a heartbeat's cost. A request may open a
// WebSocket (a terminal's stream, a session's service) that the loop then reads and writes. Where
// the controller has a certificate, every connection speaks TLS (net/stream.h).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "net/tls.h"

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace gwang::controller {

struct TransportOptions {
  int io_threads = 1;                 // threads reading and writing connections
  int workers = 64;                   // threads running handlers that might block (0: none, the loop's)
  std::chrono::seconds idle{120};     // a kept connection with no request for this long is closed
  std::chrono::seconds transfer{60};  // a request's body, or an answer, moves within this
  std::size_t header_limit = 64 << 10;
  std::size_t body_limit = 256 << 20;  // a larger body is answered 413
  // Where set, every connection speaks TLS with these credentials; a plain HTTP request is answered
  // 400 (saying to call https://) and its connection closed.
  std::shared_ptr<net::ServerCredentials> tls;
};

// A WebSocket (RFC 6455) the transport opened: messages sent on it go out in order. Any thread.
class WebSocket {
 public:
  // Bytes sent and not yet written out above which a relay should stop feeding it (pause what
  // feeds it) until it has drained below kDrained (its handler's drained()).
  static constexpr std::size_t kBacklog = 4 << 20, kDrained = 1 << 20;
  virtual ~WebSocket() = default;
  virtual void send(std::string message, bool binary) = 0;
  virtual void close() = 0;                 // after what was sent before
  virtual std::size_t backlog() const = 0;  // bytes sent, not yet written out
  // Stops reading messages from the peer (which, its own buffers full, then stops sending), or
  // starts again.
  virtual void pause_reading(bool paused) = 0;
};

// The subprotocols a WebSocket's client offers (Sec-WebSocket-Protocol: "a, b"), each trimmed of
// spaces and tabs, empty entries left out.
std::vector<std::string_view> websocket_subprotocols(std::string_view offered);

// What a WebSocket's messages go to. Called on the loop's thread, one at a time: none may block.
class WebSocketHandler {
 public:
  virtual ~WebSocketHandler() = default;
  virtual void opened(std::shared_ptr<WebSocket> socket) = 0;
  virtual void message(std::string message, bool binary) = 0;
  // Once, by either side, a broken connection, or the transport stopping; nothing comes after.
  // The handler lets go of the socket then: none may outlive its transport.
  virtual void closed() = 0;
  // Its backlog, once over kBacklog, has fallen below kDrained.
  virtual void drained() {}
};

class HttpTransport {
 public:
  // Whether a request that asks for a WebSocket gets one: its handler, or null with the answer
  // (an error) in the response. Called on a worker: it may wait for the controller.
  using Upgrade = std::function<std::shared_ptr<WebSocketHandler>(httplib::Request&, httplib::Response&)>;
  // `serve` answers one request: it fills the response's status, headers and body. It is called
  // first on the loop's thread with `in_loop` true, where it must not block: a request that might
  // is left there (false, nothing written) and served again on a worker, many at once, with
  // `in_loop` false (where it returns true). What it throws is answered 500.
  using Serve = std::function<bool(httplib::Request&, httplib::Response&, bool in_loop)>;
  explicit HttpTransport(Serve serve, TransportOptions options = {}, Upgrade upgrade = {});
  ~HttpTransport();
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  // Listens on `host:port` (port 0: any free one); returns the port bound.
  Result<int> bind(const std::string& host, int port);
  // Sets TransportOptions::tls (before run()).
  void use_tls(std::shared_ptr<net::ServerCredentials> credentials);
  // Serves until stop(), then closes every connection and returns.
  void run();
  // From any thread, before or during run().
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace gwang::controller
