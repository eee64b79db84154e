// The API's transport on its own, over raw sockets: kept connections beyond any thread count, what
// it answers to requests it cannot read, 100-continue, HEAD, decoding, and stopping.
#include "controller/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace gwang::controller {
namespace {

// A handler that echoes what it was asked: method, path, parameters and body, and where it served
// it. Paths under /block/ are served on a worker.
bool echo(httplib::Request& req, httplib::Response& res, bool in_loop) {
  if (in_loop && req.path.starts_with("/block/")) return false;
  if (req.path == "/throw") throw std::runtime_error("boom");
  std::string out = req.method + " " + req.path;
  for (const auto& [k, v] : req.params) out += " " + k + "=" + v;
  if (!req.body.empty()) out += " body=" + req.body;
  if (req.path.starts_with("/block/")) out += in_loop ? " in-loop" : " on-worker";
  res.status = 200;
  res.set_content(out, "text/plain");
  return true;
}

class Transport : public ::testing::Test {
 protected:
  void start(TransportOptions options = {}) {
    server_ = std::make_unique<HttpTransport>(echo, options);
    auto port = server_->bind("127.0.0.1", 0);
    ASSERT_TRUE(port) << port.error().message;
    port_ = *port;
    thread_ = std::thread([this] { server_->run(); });
  }
  void TearDown() override {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
  }
  int connect_one() const {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port_));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd);
      return -1;
    }
    timeval limit{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    return fd;
  }
  static void send_all(int fd, const std::string& data) {
    for (std::size_t at = 0; at < data.size();) {
      const ssize_t n = ::send(fd, data.data() + at, data.size() - at, MSG_NOSIGNAL);
      if (n <= 0) return;
      at += static_cast<std::size_t>(n);
    }
  }
  // One answer: its head, and as many body bytes as its Content-Length says (none for `head_only`).
  static std::string read_answer(int fd, bool head_only = false) {
    std::string in;
    char buf[4096];
    std::size_t end = std::string::npos;
    while ((end = in.find("\r\n\r\n")) == std::string::npos) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return in;
      in.append(buf, static_cast<std::size_t>(n));
    }
    std::size_t length = 0;
    const auto at = in.find("Content-Length: ");
    if (at != std::string::npos && at < end) length = std::stoul(in.substr(at + 16));
    if (head_only) length = 0;
    while (in.size() < end + 4 + length) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      in.append(buf, static_cast<std::size_t>(n));
    }
    return in;
  }
  static std::string body_of(const std::string& answer) { return answer.substr(answer.find("\r\n\r\n") + 4); }
  std::string get(const std::string& target) {
    const int fd = connect_one();
    send_all(fd, "GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    std::string out = read_answer(fd);
    ::close(fd);
    return out;
  }

  std::unique_ptr<HttpTransport> server_;
  std::thread thread_;
  int port_ = 0;
};

// 300 connections kept open at once, far more than the workers, are each answered twice in turn.
TEST_F(Transport, ServesManyKeptConnections) {
  start({.io_threads = 1, .workers = 4});
  std::vector<int> fds;
  for (int i = 0; i < 300; ++i) {
    const int fd = connect_one();
    ASSERT_GE(fd, 0) << "connection " << i;
    fds.push_back(fd);
  }
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 300; ++i) send_all(fds[i], "GET /n/" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n");
    for (int i = 0; i < 300; ++i) {
      const std::string answer = read_answer(fds[i]);
      ASSERT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << "connection " << i << ", round " << round << ": " << answer;
      EXPECT_EQ(body_of(answer), "GET /n/" + std::to_string(i));
    }
  }
  for (int fd : fds) ::close(fd);
}

// A request the loop must not serve is served on a worker, and its answer comes back in order.
TEST_F(Transport, ServesOnAWorkerWhatWouldBlock) {
  start({.io_threads = 1, .workers = 2});
  const int fd = connect_one();
  send_all(fd, "GET /block/1 HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(body_of(read_answer(fd)), "GET /block/1 on-worker");
  send_all(fd, "GET /quick HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(body_of(read_answer(fd)), "GET /quick");
  ::close(fd);
}

TEST_F(Transport, DecodesThePathAndTheParameters) {
  start();
  EXPECT_EQ(body_of(get("/a%20b?x=1&y=hello%20world")), "GET /a b x=1 y=hello world");
}

// A request that cannot be read is answered with what is wrong, and the connection closes.
TEST_F(Transport, SaysWhatIsWrongWithARequestItCannotRead) {
  start({.header_limit = 1024, .body_limit = 1024});
  {
    const int fd = connect_one();
    send_all(fd, "NOT HTTP AT ALL\r\n\r\n");
    const std::string answer = read_answer(fd);
    EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << answer;
    EXPECT_NE(body_of(answer).find("malformed HTTP request"), std::string::npos) << answer;
    ::close(fd);
  }
  {
    const int fd = connect_one();
    send_all(fd, "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" + std::string(5000, 'a'));
    const std::string answer = read_answer(fd);
    EXPECT_EQ(answer.rfind("HTTP/1.1 413", 0), 0u) << answer;
    EXPECT_NE(body_of(answer).find("request body over"), std::string::npos) << answer;
    ::close(fd);
  }
  {
    const int fd = connect_one();
    send_all(fd, "GET /x HTTP/1.1\r\nHost: x\r\nX-Long: " + std::string(2000, 'a') + "\r\n\r\n");
    const std::string answer = read_answer(fd);
    EXPECT_EQ(answer.rfind("HTTP/1.1 431", 0), 0u) << answer;
    ::close(fd);
  }
}

// A client that asks before it sends its body (curl does, past 1 KiB) is told to go on.
TEST_F(Transport, AnswersExpectContinue) {
  start();
  const int fd = connect_one();
  send_all(fd, "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  const std::string go_on = read_answer(fd);
  EXPECT_EQ(go_on.rfind("HTTP/1.1 100", 0), 0u) << go_on;
  send_all(fd, "hello");
  const std::string answer = read_answer(fd);
  EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer;
  EXPECT_EQ(body_of(answer), "POST /p body=hello");
  ::close(fd);
}

// HEAD: the length a GET would carry, no body; the connection goes on with the next request.
TEST_F(Transport, HeadCarriesTheLengthWithoutTheBody) {
  start();
  const int fd = connect_one();
  send_all(fd, "HEAD /abc HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string head = read_answer(fd, true);
  EXPECT_NE(head.find("Content-Length: 9\r\n"), std::string::npos) << head;  // "HEAD /abc"
  EXPECT_EQ(body_of(head), "");
  send_all(fd, "GET /d HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(body_of(read_answer(fd)), "GET /d");
  ::close(fd);
}

TEST_F(Transport, AHandlerThatThrowsIsAnswered500) {
  start();
  const std::string answer = get("/throw");
  EXPECT_EQ(answer.rfind("HTTP/1.1 500", 0), 0u) << answer;
  EXPECT_EQ(get("/after").rfind("HTTP/1.1 200", 0), 0u);
}

// Stopped before it runs, it returns at once; a port in use is refused with the address.
TEST(TransportStop, StopBeforeRunAndAPortInUse) {
  HttpTransport a(echo);
  auto port = a.bind("127.0.0.1", 0);
  ASSERT_TRUE(port) << port.error().message;
  HttpTransport b(echo);
  auto taken = b.bind("127.0.0.1", *port);
  ASSERT_FALSE(taken);
  EXPECT_NE(taken.error().message.find("cannot listen on 127.0.0.1:" + std::to_string(*port)), std::string::npos)
      << taken.error().message;
  a.stop();
  a.run();  // returns: stopped before
}

}  // namespace
}  // namespace gwang::controller
