// TLS for gwang's connections (OpenSSL 3): the controller's certificate and key, made for one
// machine or read from files (and read again when the files change), and the trust that its
// clients (the command line, the agents, tools run in jobs) verify it with. This header names no
// OpenSSL type: its users that do not speak TLS themselves stay light to compile.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/result.h"

struct ssl_ctx_st;  // OpenSSL's SSL_CTX
struct ssl_st;      // OpenSSL's SSL

namespace gwang::net {

using TlsContext = std::shared_ptr<ssl_ctx_st>;

// A key (ECDSA P-256) and a certificate for it, signed by itself, valid for `days` from `now`, for
// `names` (host names and IP addresses, each a subjectAltName; the first also its common name).
struct KeyPair {
  std::string certificate_pem, key_pem;
};
Result<KeyPair> make_self_signed(const std::vector<std::string>& names, int days, std::int64_t now);

// What a certificate file holds that decides whether it can be used again.
struct CertificateFacts {
  std::vector<std::string> names;  // its subjectAltNames (DNS names and IP addresses)
  std::int64_t not_after = 0;      // Unix time
};
Result<CertificateFacts> read_certificate(const std::string& pem_file);

// A server's context: the certificate chain in `certificate_file` (PEM, the server's first) and
// the key that goes with it in `key_file`. TLS 1.2 and 1.3 only. Error: a file cannot be read, is
// not PEM, or the key is not the certificate's; the message names the file.
Result<TlsContext> server_context(const std::string& certificate_file, const std::string& key_file);

// A client's context that verifies servers against the certificates in `ca_file` (PEM: a CA, or a
// server's own self-signed certificate), or against the system's store where `ca_file` is empty.
Result<TlsContext> client_context(const std::string& ca_file);

// A server's certificate and key files, read again when either changes (at most once a minute,
// asked by each new connection), so that a renewed certificate is served without a restart. A
// change that cannot be read keeps the context before it, and says why once.
class ServerCredentials {
 public:
  static Result<std::shared_ptr<ServerCredentials>> load(std::string certificate_file, std::string key_file);
  // The context to serve a new connection with.
  TlsContext current(std::chrono::steady_clock::time_point now);

 private:
  ServerCredentials(std::string certificate_file, std::string key_file, TlsContext context);
  std::int64_t stamp() const;  // the files' modification times, together

  const std::string certificate_file_, key_file_;
  std::mutex mu_;
  TlsContext context_;
  std::int64_t stamp_ = 0;
  std::chrono::steady_clock::time_point checked_{};
  std::string failed_;  // the last change that could not be read (said once)
};

// Sets what a client's connection `ssl` expects of its server: a certificate for `host` (a name,
// also sent as SNI, or an IP address).
void expect_peer(ssl_st* ssl, const std::string& host);

// The last OpenSSL errors of this thread, as text (and cleared); "" if none.
std::string take_errors();

// One TLS client connection over a connected, blocking socket (whose timeouts apply), as the
// command line speaks to the controller. The server must present a certificate `context` trusts,
// for `host`.
class TlsClient {
 public:
  ~TlsClient();
  // Error: the handshake failed; the message says why (e.g. the certificate is not trusted).
  static Result<std::unique_ptr<TlsClient>> connect(int fd, const TlsContext& context, const std::string& host);
  // Bytes written (all of them), or -1.
  long write_all(const char* data, std::size_t size);
  // Bytes read; 0 at the end of the connection (also where the peer closed without TLS's
  // close_notify, as an HTTP server may once its answer has a length); -1 on an error.
  long read(char* into, std::size_t size);

 private:
  explicit TlsClient(ssl_st* ssl) : ssl_(ssl) {}
  ssl_st* ssl_;
};

// The trust a client verifies the controller with: `flag` if given, else $GWANG_CA, else
// `data_dir`/ca.pem where it exists (what `gwang up --tls` leaves), else "" (the system's store).
std::string client_ca_file(const std::string& flag, const std::string& data_dir);

}  // namespace gwang::net
