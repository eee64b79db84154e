// TLS contexts, certificates and the command line's client connection (tls.h).

#include "net/tls.h"

#include <arpa/inet.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <functional>

namespace gwang::net {

namespace {

template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using Key = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

void free_context(SSL_CTX* c) { SSL_CTX_free(c); }

std::string pem_of(const std::function<int(BIO*)>& write) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || write(bio.get()) != 1) return "";
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : "";
}

bool is_address(const std::string& name) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, name.c_str(), buf) == 1 || ::inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

// ASN1_TIME as Unix time.
std::int64_t unix_time(const ASN1_TIME* t) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<std::int64_t>(::timegm(&tm));
}

SSL_CTX* new_context(const SSL_METHOD* method) {
  SSL_CTX* ctx = SSL_CTX_new(method);
  if (ctx) SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  return ctx;
}

std::int64_t modified(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec + st.st_size;
}

}  // namespace

std::string take_errors() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    // "error:0A000086:SSL routines::certificate verify failed": the reason is what people read.
    std::string text = buf;
    if (const auto colon = text.rfind(':'); colon != std::string::npos) text = text.substr(colon + 1);
    if (out.find(text) == std::string::npos) out += (out.empty() ? "" : "; ") + text;
  }
  return out;
}

Result<KeyPair> make_self_signed(const std::vector<std::string>& names, int days, std::int64_t now) {
  if (names.empty()) return fail("a certificate needs at least one name");
  Key key(EVP_EC_gen("P-256"));
  Cert cert(X509_new());
  if (!key || !cert) return fail("cannot make a key: " + take_errors());
  X509_set_version(cert.get(), 2);
  // A random serial: a browser that saw an earlier certificate of this name must not mistake it.
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) return fail("no randomness: " + take_errors());
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  time_t start = static_cast<time_t>(now - 3600);  // a client's clock a little behind
  X509_time_adj_ex(X509_getm_notBefore(cert.get()), 0, 0, &start);
  time_t from = static_cast<time_t>(now);
  X509_time_adj_ex(X509_getm_notAfter(cert.get()), days, 0, &from);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* subject = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("gwang"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(names[0].c_str()), -1,
                             -1, 0);
  X509_set_issuer_name(cert.get(), subject);
  std::string alt;
  for (const std::string& n : names) alt += (alt.empty() ? "" : ",") + std::string(is_address(n) ? "IP:" : "DNS:") + n;
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, cert.get(), cert.get(), nullptr, nullptr, 0);
  // It signs nothing else: a client that trusts it trusts this server, not what it might sign.
  const std::pair<const char*, std::string> extensions[] = {{"subjectAltName", alt},
                                                            {"basicConstraints", "critical,CA:FALSE"},
                                                            {"keyUsage", "critical,digitalSignature"},
                                                            {"extendedKeyUsage", "serverAuth"},
                                                            {"subjectKeyIdentifier", "hash"}};
  for (const auto& [name, value] : extensions) {
    X509_EXTENSION* ext = X509V3_EXT_conf(nullptr, &v3, name, value.c_str());
    if (!ext) return fail(std::string("certificate extension ") + name + " '" + value + "': " + take_errors());
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) return fail("cannot sign the certificate: " + take_errors());
  KeyPair out;
  out.certificate_pem = pem_of([&](BIO* b) { return PEM_write_bio_X509(b, cert.get()); });
  out.key_pem =
      pem_of([&](BIO* b) { return PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr); });
  if (out.certificate_pem.empty() || out.key_pem.empty()) return fail("cannot write the key pair: " + take_errors());
  return out;
}

Result<CertificateFacts> read_certificate(const std::string& pem_file) {
  Bio bio(BIO_new_file(pem_file.c_str(), "r"));
  if (!bio) return fail(pem_file + ": cannot read it");
  Cert cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return fail(pem_file + ": not a PEM certificate (" + take_errors() + ")");
  CertificateFacts facts;
  facts.not_after = unix_time(X509_get0_notAfter(cert.get()));
  auto* alt = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; alt && i < sk_GENERAL_NAME_num(alt); ++i) {
    const GENERAL_NAME* g = sk_GENERAL_NAME_value(alt, i);
    if (g->type == GEN_DNS) {
      const auto* s = g->d.dNSName;
      facts.names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), ASN1_STRING_length(s));
    } else if (g->type == GEN_IPADD) {
      const auto* s = g->d.iPAddress;
      char text[INET6_ADDRSTRLEN] = "";
      const int len = ASN1_STRING_length(s);
      if (len == 4 || len == 16)
        ::inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(s), text, sizeof text);
      if (*text) facts.names.emplace_back(text);
    }
  }
  GENERAL_NAMES_free(alt);
  return facts;
}

Result<TlsContext> server_context(const std::string& certificate_file, const std::string& key_file) {
  TlsContext ctx(new_context(TLS_server_method()), free_context);
  if (!ctx) return fail("cannot make a TLS context: " + take_errors());
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), certificate_file.c_str()) != 1) {
    return fail("TLS certificate " + certificate_file + ": " + take_errors());
  }
  const bool loaded = SSL_CTX_use_PrivateKey_file(ctx.get(), key_file.c_str(), SSL_FILETYPE_PEM) == 1;
  const std::string why = loaded ? "" : take_errors();
  if (why.find("mismatch") != std::string::npos || (loaded && SSL_CTX_check_private_key(ctx.get()) != 1)) {
    return fail("TLS key " + key_file + " is not the key of the certificate " + certificate_file);
  }
  if (!loaded) return fail("TLS key " + key_file + ": " + why);
  // Nothing is kept across connections but what the tickets carry: the controller may restart.
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION);
  return ctx;
}

Result<TlsContext> client_context(const std::string& ca_file) {
  TlsContext ctx(new_context(TLS_client_method()), free_context);
  if (!ctx) return fail("cannot make a TLS context: " + take_errors());
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  // A server that closes its end without TLS's close_notify ends the connection as TCP's end
  // would: the HTTP answer's own length says whether it came whole.
  SSL_CTX_set_options(ctx.get(), SSL_OP_IGNORE_UNEXPECTED_EOF);
  if (ca_file.empty()) {
    if (SSL_CTX_set_default_verify_paths(ctx.get()) != 1) return fail("the system's certificates: " + take_errors());
  } else if (SSL_CTX_load_verify_locations(ctx.get(), ca_file.c_str(), nullptr) != 1) {
    return fail("CA file " + ca_file + ": " + (std::filesystem::exists(ca_file) ? take_errors() : "no such file"));
  }
  return ctx;
}

ServerCredentials::ServerCredentials(std::string certificate_file, std::string key_file, TlsContext context)
    : certificate_file_(std::move(certificate_file)), key_file_(std::move(key_file)), context_(std::move(context)) {}

std::int64_t ServerCredentials::stamp() const { return modified(certificate_file_) ^ (modified(key_file_) << 1); }

Result<std::shared_ptr<ServerCredentials>> ServerCredentials::load(std::string certificate_file, std::string key_file) {
  auto ctx = server_context(certificate_file, key_file);
  if (!ctx) return tl::unexpected(ctx.error());
  std::shared_ptr<ServerCredentials> out(
      new ServerCredentials(std::move(certificate_file), std::move(key_file), std::move(*ctx)));
  out->stamp_ = out->stamp();
  out->checked_ = std::chrono::steady_clock::now();
  return out;
}

TlsContext ServerCredentials::current(std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mu_);
  if (now - checked_ < std::chrono::minutes(1)) return context_;
  checked_ = now;
  const std::int64_t seen = stamp();
  if (seen == stamp_) return context_;
  // A renewal writes the certificate and the key one after the other: a pair that does not match
  // yet is tried again at the next check.
  auto fresh = server_context(certificate_file_, key_file_);
  if (!fresh) {
    if (fresh.error().message != failed_) {
      failed_ = fresh.error().message;
      std::fprintf(stderr, "gwang: the changed TLS files are not used yet: %s\n", failed_.c_str());
    }
    return context_;
  }
  std::fprintf(stderr, "gwang: serving the renewed TLS certificate %s\n", certificate_file_.c_str());
  failed_.clear();
  stamp_ = seen;
  context_ = std::move(*fresh);
  return context_;
}

void expect_peer(SSL* ssl, const std::string& host) {
  if (is_address(host)) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl, host.c_str());
    SSL_set1_host(ssl, host.c_str());
  }
}

TlsClient::~TlsClient() { SSL_free(ssl_); }

Result<std::unique_ptr<TlsClient>> TlsClient::connect(int fd, const TlsContext& context, const std::string& host) {
  ERR_clear_error();
  SSL* ssl = SSL_new(context.get());
  if (!ssl) return fail("cannot start TLS: " + take_errors());
  std::unique_ptr<TlsClient> out(new TlsClient(ssl));
  SSL_set_fd(ssl, fd);
  expect_peer(ssl, host);
  if (SSL_connect(ssl) != 1) {
    const long verified = SSL_get_verify_result(ssl);
    std::string why = take_errors();
    if (verified != X509_V_OK) why = X509_verify_cert_error_string(verified);
    if (why.empty()) why = "the connection closed during the TLS handshake (is it a TLS server?)";
    return fail("TLS with " + host + ": " + why);
  }
  return out;
}

long TlsClient::write_all(const char* data, std::size_t size) {
  std::size_t written = 0;
  while (written < size) {
    std::size_t n = 0;
    if (SSL_write_ex(ssl_, data + written, size - written, &n) != 1) {
      const bool interrupted = SSL_get_error(ssl_, 0) == SSL_ERROR_SYSCALL && errno == EINTR;
      ERR_clear_error();
      if (interrupted) continue;  // a signal: the socket is as it was
      return -1;
    }
    written += n;
  }
  return static_cast<long>(written);
}

long TlsClient::read(char* into, std::size_t size) {
  while (true) {
    std::size_t n = 0;
    if (SSL_read_ex(ssl_, into, size, &n) == 1) return static_cast<long>(n);
    const int e = SSL_get_error(ssl_, 0);
    const bool interrupted = e == SSL_ERROR_SYSCALL && errno == EINTR;
    ERR_clear_error();
    if (!interrupted) return e == SSL_ERROR_ZERO_RETURN ? 0 : -1;
  }
}

std::string client_ca_file(const std::string& flag, const std::string& data_dir) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("GWANG_CA"); env && *env) return env;
  const std::string local = data_dir + "/ca.pem";
  std::error_code ec;
  return std::filesystem::exists(local, ec) ? local : "";
}

}  // namespace gwang::net
