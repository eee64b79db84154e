// TLS: certificates made for one machine name what they are for; a server's key must be its
// certificate's; the transport over TLS serves requests and WebSockets to clients that trust its
// certificate for the name they called, refuses every other, answers plain HTTP with how to call,
// and serves a renewed certificate without a restart.
#include "net/tls.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <thread>
#include <utility>

#include "controller/http_server.h"
#include "net/stream.h"

namespace gwang::controller {
namespace {

namespace fs = std::filesystem;
namespace websocket = boost::beast::websocket;
using tcp = boost::asio::ip::tcp;

std::int64_t now() { return static_cast<std::int64_t>(std::time(nullptr)); }

// A key pair for `names` written to dir/NAME.pem and dir/NAME-key.pem; the certificate's path.
std::string write_pair(const fs::path& dir, const std::string& name, const std::vector<std::string>& names) {
  auto pair = net::make_self_signed(names, 30, now());
  EXPECT_TRUE(pair) << pair.error().message;
  std::ofstream(dir / (name + ".pem")) << pair->certificate_pem;
  std::ofstream(dir / (name + "-key.pem")) << pair->key_pem;
  return (dir / (name + ".pem")).string();
}

class TlsFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("gwang_tls_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string key(const std::string& name) const { return (dir_ / (name + "-key.pem")).string(); }
  fs::path dir_;
};

using Certificates = TlsFiles;

TEST_F(Certificates, ASelfSignedOneNamesItsHostsAndAddressesForItsDays) {
  const std::string cert = write_pair(dir_, "server", {"node1.example", "localhost", "10.1.2.3", "::1"});
  auto facts = net::read_certificate(cert);
  ASSERT_TRUE(facts) << facts.error().message;
  EXPECT_EQ(facts->names, (std::vector<std::string>{"node1.example", "localhost", "10.1.2.3", "::1"}));
  EXPECT_NEAR(static_cast<double>(facts->not_after), static_cast<double>(now() + 30 * 86400), 5.0);
  EXPECT_TRUE(net::server_context(cert, key("server")));
  EXPECT_TRUE(net::client_context(cert));
  EXPECT_FALSE(net::make_self_signed({}, 30, now()));
}

TEST_F(Certificates, WhatCannotBeUsedIsRefusedNamingTheFile) {
  const std::string a = write_pair(dir_, "a", {"localhost"});
  write_pair(dir_, "b", {"localhost"});
  auto missing = net::server_context((dir_ / "none.pem").string(), key("a"));
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("none.pem"), std::string::npos) << missing.error().message;
  auto other_key = net::server_context(a, key("b"));
  ASSERT_FALSE(other_key);
  EXPECT_NE(other_key.error().message.find("b-key.pem is not the key of the certificate"), std::string::npos)
      << other_key.error().message;
  std::ofstream(dir_ / "junk.pem") << "not a certificate\n";
  auto junk = net::read_certificate((dir_ / "junk.pem").string());
  ASSERT_FALSE(junk);
  EXPECT_NE(junk.error().message.find("junk.pem: not a PEM certificate"), std::string::npos) << junk.error().message;
  auto no_ca = net::client_context((dir_ / "none.pem").string());
  ASSERT_FALSE(no_ca);
  EXPECT_NE(no_ca.error().message.find("none.pem: no such file"), std::string::npos) << no_ca.error().message;
}

// A transport over TLS, on 127.0.0.1, with the pair "server" (for localhost and 127.0.0.1); its
// WebSocket at /echo sends each message back.
class TlsTransport : public TlsFiles {
 protected:
  class Echo final : public WebSocketHandler {
   public:
    void opened(std::shared_ptr<WebSocket> socket) override { socket_ = std::move(socket); }
    void message(std::string m, bool binary) override { socket_->send("echo " + m, binary); }
    void closed() override { socket_.reset(); }

   private:
    std::shared_ptr<WebSocket> socket_;
  };

  void SetUp() override {
    TlsFiles::SetUp();
    cert_ = write_pair(dir_, "server", {"localhost", "127.0.0.1"});
    auto credentials = net::ServerCredentials::load(cert_, key("server"));
    ASSERT_TRUE(credentials) << credentials.error().message;
    credentials_ = *credentials;
    transport_ = std::make_unique<HttpTransport>(
        [](httplib::Request& req, httplib::Response& res, bool) {
          res.status = 200;
          res.set_content("served " + req.path, "text/plain");
          return true;
        },
        TransportOptions{}, [](httplib::Request&, httplib::Response&) { return std::make_shared<Echo>(); });
    transport_->use_tls(credentials_);
    auto port = transport_->bind("127.0.0.1", 0);
    ASSERT_TRUE(port) << port.error().message;
    port_ = *port;
    server_ = std::thread([this] { transport_->run(); });
  }
  void TearDown() override {
    transport_->stop();
    server_.join();
    TlsFiles::TearDown();
  }

  int connect_tcp() const {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port_));
    ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    timeval timeout{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    return fd;
  }
  // GET `path` over TLS, verifying the server with `ca` for `host`: the answer, or why not.
  Result<std::string> get(const std::string& ca, const std::string& host, const std::string& path = "/x") const {
    auto ctx = net::client_context(ca);
    if (!ctx) return tl::unexpected(ctx.error());
    const int fd = connect_tcp();
    auto client = net::TlsClient::connect(fd, *ctx, host);
    if (!client) {
      ::close(fd);
      return tl::unexpected(client.error());
    }
    const std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n";
    EXPECT_EQ((*client)->write_all(request.data(), request.size()), static_cast<long>(request.size()));
    std::string reply;
    char buf[4096];
    for (long n; (n = (*client)->read(buf, sizeof buf)) > 0;) reply.append(buf, static_cast<std::size_t>(n));
    client->reset();
    ::close(fd);
    return reply;
  }

  std::string cert_;
  std::shared_ptr<net::ServerCredentials> credentials_;
  std::unique_ptr<HttpTransport> transport_;
  std::thread server_;
  int port_ = 0;
};

TEST_F(TlsTransport, AClientThatTrustsItsCertificateIsServedForEitherName) {
  for (const std::string host : {"127.0.0.1", "localhost"}) {
    auto reply = get(cert_, host, "/api/v1/status");
    ASSERT_TRUE(reply) << host << ": " << reply.error().message;
    EXPECT_EQ(reply->rfind("HTTP/1.1 200", 0), 0u) << *reply;
    EXPECT_NE(reply->find("served /api/v1/status"), std::string::npos) << *reply;
  }
}

TEST_F(TlsTransport, AnotherCertificateOrAnotherNameIsRefusedByTheClient) {
  const std::string other = write_pair(dir_, "other", {"localhost", "127.0.0.1"});
  auto untrusted = get(other, "127.0.0.1");
  ASSERT_FALSE(untrusted);
  EXPECT_NE(untrusted.error().message.find("self-signed certificate"), std::string::npos) << untrusted.error().message;
  auto elsewhere = get(cert_, "ctl.example.org");
  ASSERT_FALSE(elsewhere);
  EXPECT_NE(elsewhere.error().message.find("hostname mismatch"), std::string::npos) << elsewhere.error().message;
  auto by_address = get(cert_, "127.0.0.2");
  ASSERT_FALSE(by_address);
  EXPECT_NE(by_address.error().message.find("IP address mismatch"), std::string::npos) << by_address.error().message;
  // The system's store does not hold it either.
  EXPECT_FALSE(get("", "localhost"));
  // And the server goes on serving those that trust it.
  EXPECT_TRUE(get(cert_, "localhost"));
}

TEST_F(TlsTransport, PlainHttpIsAnsweredWithHowToCall) {
  const int fd = connect_tcp();
  const std::string request = "GET /api/v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\n\r\n";
  ASSERT_EQ(::send(fd, request.data(), request.size(), MSG_NOSIGNAL), static_cast<ssize_t>(request.size()));
  std::string reply;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) reply.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  EXPECT_EQ(reply.rfind("HTTP/1.1 400", 0), 0u) << reply;
  EXPECT_NE(reply.find("this controller speaks HTTPS only: call it at https://"), std::string::npos) << reply;
  EXPECT_NE(reply.find("Connection: close"), std::string::npos) << reply;
}

TEST_F(TlsTransport, AWebSocketRunsOverTls) {
  auto ctx = net::client_context(cert_);
  ASSERT_TRUE(ctx);
  boost::asio::io_context ioc;
  websocket::stream<net::Stream> ws(boost::beast::tcp_stream{ioc});
  tcp::resolver resolver(ioc);
  boost::beast::get_lowest_layer(ws).connect(resolver.resolve("127.0.0.1", std::to_string(port_)));
  ASSERT_EQ(net::client_handshake(ws.next_layer(), net::asio_context(*ctx), "localhost"), "");
  ws.handshake("localhost", "/echo");
  ws.text(true);
  ws.write(boost::asio::buffer(std::string("over tls")));
  boost::beast::flat_buffer in;
  ws.read(in);
  EXPECT_EQ(boost::beast::buffers_to_string(in.data()), "echo over tls");
  ws.close(websocket::close_code::normal);
}

TEST_F(TlsTransport, ARenewedCertificateIsServedWithoutARestart) {
  const auto t0 = std::chrono::steady_clock::now();
  const net::TlsContext before = credentials_->current(t0);
  // A renewal writes the new certificate first: with the old key beside it, the old pair serves on.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a modification time of its own
  auto renewed = net::make_self_signed({"localhost", "127.0.0.1"}, 90, now());
  ASSERT_TRUE(renewed);
  std::ofstream(cert_) << renewed->certificate_pem;
  EXPECT_EQ(credentials_->current(t0 + std::chrono::minutes(2)), before);
  EXPECT_FALSE(get(cert_, "localhost")) << "the old certificate is still served";
  // Then the key: the next look, a minute later, serves the renewed pair to new connections.
  std::ofstream(key("server")) << renewed->key_pem;
  EXPECT_EQ(credentials_->current(t0 + std::chrono::minutes(2) + std::chrono::seconds(30)), before)
      << "files are looked at once a minute at most";
  const net::TlsContext after = credentials_->current(t0 + std::chrono::minutes(4));
  EXPECT_NE(after, before);
  auto reply = get(cert_, "localhost");
  ASSERT_TRUE(reply) << reply.error().message;
  EXPECT_EQ(reply->rfind("HTTP/1.1 200", 0), 0u) << *reply;
}

}  // namespace
}  // namespace gwang::controller
