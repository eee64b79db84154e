// The transport's WebSockets: a request that asks for one gets it when the upgrade handler takes
// it (messages both ways, text and binary, in order, then a close from either side), and an HTTP
// answer when it does not; plain requests on the same server are served as before.
#include <gtest/gtest.h>
#include <httplib.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

#include "controller/http_impl.h"
#include "controller/http_server.h"

namespace gwang::controller {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

// Echoes each message back with its kind, upper-cased for text; "bye" closes from the server.
class Echo final : public WebSocketHandler {
 public:
  void opened(std::shared_ptr<WebSocket> socket) override { socket_ = std::move(socket); }
  void message(std::string m, bool binary) override {
    if (m == "bye") return socket_->close();
    if (!binary) {
      for (char& c : m) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    socket_->send(std::move(m), binary);
  }
  void closed() override {
    socket_.reset();  // as the contract asks: the socket goes with its transport
    std::lock_guard lock(mu_);
    closed_ = true;
    cv_.notify_all();
  }
  bool wait_closed() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [this] { return closed_; });
  }

 private:
  std::shared_ptr<WebSocket> socket_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool closed_ = false;
};

class WebSockets : public ::testing::Test {
 protected:
  void SetUp() override {
    transport_ = std::make_unique<HttpTransport>(
        [](httplib::Request& req, httplib::Response& res, bool) {
          res.status = 200;
          res.set_content("plain " + req.path, "text/plain");
          return true;
        },
        TransportOptions{},
        [this](httplib::Request& req, httplib::Response& res) -> std::shared_ptr<WebSocketHandler> {
          if (req.path != "/echo") {
            res.status = 404;
            res.set_content(R"({"error":"no such stream"})", "application/json");
            return nullptr;
          }
          auto echo = std::make_shared<Echo>();
          last_ = echo;
          presented_ = bearer_token(req).value_or("(none)");
          return echo;
        });
    auto port = transport_->bind("127.0.0.1", 0);
    ASSERT_TRUE(port) << port.error().message;
    port_ = *port;
    server_ = std::thread([this] { transport_->run(); });
  }
  void TearDown() override {
    transport_->stop();
    server_.join();
  }

  // A client's WebSocket to `path`; throws beast's error when the handshake fails.
  std::unique_ptr<websocket::stream<tcp::socket>> open(const std::string& path) {
    auto ws = std::make_unique<websocket::stream<tcp::socket>>(ioc_);
    tcp::resolver resolver(ioc_);
    net::connect(ws->next_layer(), resolver.resolve("127.0.0.1", std::to_string(port_)));
    ws->handshake("127.0.0.1", path);
    return ws;
  }
  static std::string read(websocket::stream<tcp::socket>& ws, bool& binary) {
    beast::flat_buffer buffer;
    ws.read(buffer);
    binary = ws.got_binary();
    return beast::buffers_to_string(buffer.data());
  }

  net::io_context ioc_;
  std::unique_ptr<HttpTransport> transport_;
  std::thread server_;
  int port_ = 0;
  std::shared_ptr<Echo> last_;
  std::string presented_;  // the token the last WebSocket presented
};

// A browser cannot give a WebSocket an Authorization header: it offers the subprotocols "gwang"
// and "gwang.bearer.TOKEN"; the token is read from there, and the answer takes "gwang", without
// which a browser drops the connection.
TEST_F(WebSockets, ABrowsersTokenComesAsASubprotocol) {
  websocket::stream<tcp::socket> ws(ioc_);
  tcp::resolver resolver(ioc_);
  net::connect(ws.next_layer(), resolver.resolve("127.0.0.1", std::to_string(port_)));
  ws.set_option(websocket::stream_base::decorator([](websocket::request_type& r) {
    r.set(beast::http::field::sec_websocket_protocol, "gwang, gwang.bearer.0123abcd");
  }));
  websocket::response_type answer;
  ws.handshake(answer, "127.0.0.1", "/echo");
  EXPECT_EQ(answer[beast::http::field::sec_websocket_protocol], "gwang");
  EXPECT_EQ(presented_, "0123abcd");
  ws.close(websocket::close_code::normal);
  // Without it, no token.
  auto plain = open("/echo");
  EXPECT_EQ(presented_, "(none)");
  plain->close(websocket::close_code::normal);
  // Read from a WebSocket's upgrade alone, as a whole entry of the list, never empty; an
  // Authorization header comes first.
  const auto token_of = [](const std::string& method, const std::string& upgrade, const std::string& offered,
                           const std::string& authorization = "") {
    httplib::Request r;
    r.method = method;
    if (!upgrade.empty()) r.set_header("Upgrade", upgrade);
    r.set_header("Sec-WebSocket-Protocol", offered);
    if (!authorization.empty()) r.set_header("Authorization", authorization);
    return bearer_token(r).value_or("(none)");
  };
  EXPECT_EQ(token_of("GET", "WebSocket", "gwang,\tgwang.bearer.abc "), "abc");
  EXPECT_EQ(token_of("GET", "websocket", "x.gwang.bearer.A, gwang.bearer.B"), "B");
  EXPECT_EQ(token_of("GET", "websocket", "gwang, gwang.bearer."), "(none)");
  EXPECT_EQ(token_of("POST", "websocket", "gwang, gwang.bearer.abc"), "(none)");
  EXPECT_EQ(token_of("GET", "h2c", "gwang, gwang.bearer.abc"), "(none)");
  EXPECT_EQ(token_of("GET", "", "gwang, gwang.bearer.abc"), "(none)");
  EXPECT_EQ(token_of("GET", "websocket", "gwang, gwang.bearer.abc", "Bearer xyz"), "xyz");
}

TEST_F(WebSockets, MessagesGoBothWaysInOrder) {
  auto ws = open("/echo");
  ws->text(true);
  ws->write(net::buffer(std::string("hello")));
  ws->binary(true);
  const std::string raw("\x00\x01\xff\x03", 4);
  ws->write(net::buffer(raw));
  for (int i = 0; i < 100; ++i) ws->write(net::buffer(std::to_string(i)));
  bool binary = false;
  EXPECT_EQ(read(*ws, binary), "HELLO");
  EXPECT_FALSE(binary);
  EXPECT_EQ(read(*ws, binary), raw);
  EXPECT_TRUE(binary);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(read(*ws, binary), std::to_string(i));
  ws->close(websocket::close_code::normal);
  EXPECT_TRUE(last_->wait_closed());
}

TEST_F(WebSockets, TheServerClosesAfterWhatItSent) {
  auto ws = open("/echo");
  ws->text(true);
  ws->write(net::buffer(std::string("one")));
  ws->write(net::buffer(std::string("bye")));
  bool binary = false;
  EXPECT_EQ(read(*ws, binary), "ONE");
  beast::flat_buffer rest;
  beast::error_code ec;
  ws->read(rest, ec);
  EXPECT_EQ(ec, websocket::error::closed) << ec.message();
  EXPECT_TRUE(last_->wait_closed());
}

TEST_F(WebSockets, AClientThatGoesAwayClosesItsHandler) {
  auto ws = open("/echo");
  ws->next_layer().close();  // no close frame: the connection drops
  EXPECT_TRUE(last_->wait_closed());
}

TEST_F(WebSockets, ARefusedUpgradeIsAnsweredInHttp) {
  EXPECT_THROW(open("/elsewhere"), beast::system_error);
  // What such a client reads.
  httplib::Client client("127.0.0.1", port_);
  auto refused = client.Get("/elsewhere", {{"Connection", "Upgrade"},
                                           {"Upgrade", "websocket"},
                                           {"Sec-WebSocket-Version", "13"},
                                           {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="}});
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 404);
  EXPECT_EQ(refused->body, R"({"error":"no such stream"})");
  // Plain requests are served as ever, beside the WebSockets.
  auto ws = open("/echo");
  auto plain = client.Get("/other");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->body, "plain /other");
}

}  // namespace
}  // namespace gwang::controller
