// A TCP connection that speaks TLS or not, as decided when it opens, for Boost.Beast's HTTP and
// WebSocket streams: the controller's transport serves both kinds on one code path, and the
// agents and the command line reach an http:// or an https:// controller alike. Include it only
// where Beast is compiled already: it brings Asio's SSL headers.
#pragma once

// GCC 12 in C++20 mode needs <utility> before Asio's headers (std::exchange in its awaitables).
#include <utility>
// clang-format off
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
// clang-format on
#include <memory>
#include <optional>
#include <string>

#include "net/tls.h"

namespace gwang::net {

namespace asio = boost::asio;
namespace beast = boost::beast;

// An Asio context sharing a TlsContext (tls.h): Asio frees its own reference, the TlsContext's
// owners keep theirs.
inline std::shared_ptr<asio::ssl::context> asio_context(const TlsContext& ctx) {
  SSL_CTX_up_ref(ctx.get());
  return std::make_shared<asio::ssl::context>(ctx.get());
}

class Stream {
 public:
  using executor_type = beast::tcp_stream::executor_type;
  using next_layer_type = beast::tcp_stream;
  using Tls = beast::ssl_stream<beast::tcp_stream>;

  explicit Stream(beast::tcp_stream plain) : plain_(std::move(plain)) {}
  Stream(Stream&&) = default;
  Stream& operator=(Stream&&) = default;

  // From now on over TLS with `context` (which this keeps while it lives).
  void start_tls(std::shared_ptr<asio::ssl::context> context) {
    context_ = std::move(context);
    tls_.emplace(std::move(*plain_), *context_);
    plain_.reset();
  }
  bool tls() const { return tls_.has_value(); }
  Tls& tls_stream() { return *tls_; }

  executor_type get_executor() { return next_layer().get_executor(); }
  beast::tcp_stream& next_layer() { return tls_ ? tls_->next_layer() : *plain_; }
  const beast::tcp_stream& next_layer() const { return tls_ ? tls_->next_layer() : *plain_; }

  template <class Buffers, class Handler>
  void async_read_some(const Buffers& buffers, Handler&& handler) {
    if (tls_) return tls_->async_read_some(buffers, std::forward<Handler>(handler));
    plain_->async_read_some(buffers, std::forward<Handler>(handler));
  }
  template <class Buffers, class Handler>
  void async_write_some(const Buffers& buffers, Handler&& handler) {
    if (tls_) return tls_->async_write_some(buffers, std::forward<Handler>(handler));
    plain_->async_write_some(buffers, std::forward<Handler>(handler));
  }
  template <class Buffers>
  std::size_t read_some(const Buffers& buffers, beast::error_code& ec) {
    return tls_ ? tls_->read_some(buffers, ec) : plain_->read_some(buffers, ec);
  }
  template <class Buffers>
  std::size_t read_some(const Buffers& buffers) {
    return tls_ ? tls_->read_some(buffers) : plain_->read_some(buffers);
  }
  template <class Buffers>
  std::size_t write_some(const Buffers& buffers, beast::error_code& ec) {
    return tls_ ? tls_->write_some(buffers, ec) : plain_->write_some(buffers, ec);
  }
  template <class Buffers>
  std::size_t write_some(const Buffers& buffers) {
    return tls_ ? tls_->write_some(buffers) : plain_->write_some(buffers);
  }

  // A WebSocket's end of the connection (Beast finds these by argument-dependent lookup).
  friend void teardown(beast::role_type role, Stream& s, beast::error_code& ec) {
    using beast::websocket::teardown;
    if (s.tls_) return teardown(role, *s.tls_, ec);
    teardown(role, *s.plain_, ec);
  }
  template <class Handler>
  friend void async_teardown(beast::role_type role, Stream& s, Handler&& handler) {
    using beast::websocket::async_teardown;
    if (s.tls_) return async_teardown(role, *s.tls_, std::forward<Handler>(handler));
    async_teardown(role, *s.plain_, std::forward<Handler>(handler));
  }

 private:
  std::optional<beast::tcp_stream> plain_;
  std::shared_ptr<asio::ssl::context> context_;
  std::optional<Tls> tls_;
};

// Turns a client's connected `stream` to TLS with `context`, for `host` (its name or address,
// which the server's certificate must name). The handshake comes next.
inline void start_client_tls(Stream& stream, std::shared_ptr<asio::ssl::context> context, const std::string& host) {
  stream.start_tls(std::move(context));
  expect_peer(stream.tls_stream().native_handle(), host);
}

// Why a client's handshake with `host` failed with `ec`: the certificate verification's own
// reason where that failed.
inline std::string handshake_failure(Stream& stream, const beast::error_code& ec, const std::string& host) {
  const long verified = stream.tls() ? SSL_get_verify_result(stream.tls_stream().native_handle()) : X509_V_OK;
  return "TLS with " + host + ": " + (verified != X509_V_OK ? X509_verify_cert_error_string(verified) : ec.message());
}

// The two above with the handshake between them, waiting for it: "" when the stream speaks TLS.
inline std::string client_handshake(Stream& stream, std::shared_ptr<asio::ssl::context> context,
                                    const std::string& host) {
  start_client_tls(stream, std::move(context), host);
  beast::error_code ec;
  stream.tls_stream().handshake(asio::ssl::stream_base::client, ec);
  return ec ? handshake_failure(stream, ec, host) : "";
}

}  // namespace gwang::net
