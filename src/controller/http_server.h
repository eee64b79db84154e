// The API's transport: HTTP/1.1 connections served by an event loop (Boost.Beast over Asio), each
// request's handler run on a pool of workers. A kept connection waiting for its next request costs
// a socket and a buffer, not a thread, so every agent of a centre can keep its own; a handler that
// waits for the controller's lock holds a worker, never the loop that reads the other connections.
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
  int io_threads = 2;                 // threads reading and writing connections
  int workers = 64;                   // threads running handlers
  std::chrono::seconds idle{120};     // a kept connection with no request for this long is closed
  std::chrono::seconds transfer{60};  // a request's body, or an answer, moves within this
  std::size_t header_limit = 64 << 10;
  std::size_t body_limit = 256 << 20;  // a larger body is answered 413
};

class HttpTransport {
 public:
  // `serve` answers one request: it fills the response's status, headers and body. It runs on a
  // worker, many at once; what it throws is answered 500.
  using Serve = std::function<void(httplib::Request&, httplib::Response&)>;
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
