// The API's transport: HTTP/1.1 connections served by an event loop (Boost.Beast over Asio), each
// request served on the loop's thread where it cannot block, else on a pool of workers. A kept
// connection waiting for its next request costs a socket and a buffer, not a thread, so every agent
// of a centre can keep its own; a handler that waits (for the controller's lock, the journal, a
// file) holds a worker, never the loop that reads the other connections. Serving in the loop saves
// two thread switches per request, which were most of a heartbeat's cost.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "core/result.h"

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
};

class HttpTransport {
 public:
  // `serve` answers one request: it fills the response's status, headers and body. It is called
  // first on the loop's thread with `in_loop` true, where it must not block: a request that might
  // is left there (false, nothing written) and served again on a worker, many at once, with
  // `in_loop` false (where it returns true). What it throws is answered 500.
  using Serve = std::function<bool(httplib::Request&, httplib::Response&, bool in_loop)>;
  explicit HttpTransport(Serve serve, TransportOptions options = {});
  ~HttpTransport();
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  // Listens on `host:port` (port 0: any free one); returns the port bound.
  Result<int> bind(const std::string& host, int port);
  // Serves until stop(), then closes every connection and returns.
  void run();
  // From any thread, before or during run().
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace gwang::controller
