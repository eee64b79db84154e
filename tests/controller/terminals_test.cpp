// The relay of tasks' terminals, with sockets of the test's own: what each end sends reaches the
// other in order, what comes before the other end is held (within its bound), the node's end
// needs the terminal's secret, a newer client takes the place of the one before, a client gone
// for longer than the grace is reported, and an ended task's terminal closes after its output.
#include "controller/terminals.h"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

namespace gwang::controller {
namespace {

using namespace std::chrono_literals;

// A socket that keeps what it is sent.
class Socket final : public WebSocket {
 public:
  void send(std::string message, bool binary) override { sent.emplace_back(std::move(message), binary); }
  void close() override { closed = true; }
  std::size_t backlog() const override { return unwritten; }
  void pause_reading(bool p) override { paused = p; }
  std::vector<std::pair<std::string, bool>> sent;
  bool closed = false;
  std::size_t unwritten = 0;  // what the test says is not written out yet
  bool paused = false;
};

struct Connected {
  std::shared_ptr<WebSocketHandler> end;
  std::shared_ptr<Socket> socket = std::make_shared<Socket>();
};

Connected connect(std::shared_ptr<WebSocketHandler> end) {
  Connected c{std::move(end)};
  if (c.end) c.end->opened(c.socket);
  return c;
}

const std::string kTask = "7.0.s1.0";

TEST(Terminals, EachEndReachesTheOtherInOrder) {
  Terminals t;
  const std::string secret = t.open(kTask);
  EXPECT_EQ(t.open(kTask), secret);  // its launch sent again: the same terminal
  Connected node = connect(t.node_end(kTask, secret));
  Connected client = connect(t.client_end(kTask));
  ASSERT_TRUE(node.end && client.end);
  client.end->message("ls\r", true);
  client.end->message(R"({"rows":40,"cols":100})", false);
  node.end->message("a", true);
  node.end->message("b", true);
  EXPECT_EQ(node.socket->sent,
            (std::vector<std::pair<std::string, bool>>{{"ls\r", true}, {R"({"rows":40,"cols":100})", false}}));
  EXPECT_EQ(client.socket->sent, (std::vector<std::pair<std::string, bool>>{{"a", true}, {"b", true}}));
}

TEST(Terminals, TheNodesEndNeedsTheSecret) {
  Terminals t;
  const std::string secret = t.open(kTask);
  EXPECT_FALSE(t.node_end(kTask, ""));
  EXPECT_FALSE(t.node_end(kTask, secret.substr(1) + "x"));
  EXPECT_FALSE(t.node_end("8.0.s1.0", secret));
  EXPECT_FALSE(t.client_end("8.0.s1.0"));
  EXPECT_TRUE(t.node_end(kTask, secret));
  EXPECT_NE(Terminals().open(kTask), secret);  // each terminal its own
}

TEST(Terminals, WhatComesBeforeTheOtherEndIsHeldWithinItsBound) {
  Terminals t;
  const std::string secret = t.open(kTask);
  Connected node = connect(t.node_end(kTask, secret));
  // Output before any client: the newest megabyte of it is kept.
  const std::string chunk(256 << 10, 'x');
  node.end->message("first", true);
  for (int i = 0; i < 5; ++i) node.end->message(chunk + std::to_string(i), true);
  Connected client = connect(t.client_end(kTask));
  std::size_t bytes = 0;
  for (const auto& [m, binary] : client.socket->sent) bytes += m.size();
  EXPECT_LE(bytes, Terminals::kHeldForClient);
  ASSERT_FALSE(client.socket->sent.empty());
  EXPECT_EQ(client.socket->sent.back().first, chunk + "4");
  EXPECT_NE(client.socket->sent.front().first, "first");
  // Input before the node's end: the oldest is kept, within its bound.
  Terminals u;
  const std::string s2 = u.open(kTask);
  Connected early = connect(u.client_end(kTask));
  early.end->message("echo hi\r", true);
  early.end->message(std::string(Terminals::kHeldForNode, 'y'), true);  // over the bound: dropped
  Connected late = connect(u.node_end(kTask, s2));
  EXPECT_EQ(late.socket->sent, (std::vector<std::pair<std::string, bool>>{{"echo hi\r", true}}));
}

// A client that takes its output slower than it comes (stopped, on a slow link) holds up the
// node's end, and so the task, rather than the controller holding it all; likewise a task that
// does not read its input holds up the client.
TEST(Terminals, ASlowEndHoldsUpTheOther) {
  Terminals t;
  const std::string secret = t.open(kTask);
  Connected node = connect(t.node_end(kTask, secret));
  Connected client = connect(t.client_end(kTask));
  node.end->message("fast", true);
  EXPECT_FALSE(node.socket->paused);
  client.socket->unwritten = WebSocket::kBacklog + 1;
  node.end->message("more", true);
  EXPECT_TRUE(node.socket->paused);
  client.socket->unwritten = 0;
  client.end->drained();
  EXPECT_FALSE(node.socket->paused);
  node.socket->unwritten = WebSocket::kBacklog + 1;
  client.end->message("keys", true);
  EXPECT_TRUE(client.socket->paused);
  node.end->drained();
  EXPECT_FALSE(client.socket->paused);
  // A client that goes while it holds the node up lets it go on: the newest output is held.
  client.socket->unwritten = WebSocket::kBacklog + 1;
  node.end->message("again", true);
  EXPECT_TRUE(node.socket->paused);
  client.end->closed();
  EXPECT_FALSE(node.socket->paused);
}

TEST(Terminals, ANewerClientTakesThePlaceOfTheOneBefore) {
  Terminals t;
  const std::string secret = t.open(kTask);
  Connected node = connect(t.node_end(kTask, secret));
  Connected first = connect(t.client_end(kTask));
  Connected second = connect(t.client_end(kTask));
  EXPECT_TRUE(first.socket->closed);
  node.end->message("out", true);
  EXPECT_TRUE(first.socket->sent.empty());
  EXPECT_EQ(second.socket->sent.size(), 1u);
  first.end->closed();  // the one replaced going does not count as the client leaving
  EXPECT_TRUE(t.abandoned(Terminals::Clock::now() + 1h, 1s).empty());
}

TEST(Terminals, AClientGoneLongerThanTheGraceIsReported) {
  Terminals t;
  const std::string secret = t.open(kTask);
  Connected node = connect(t.node_end(kTask, secret));
  Connected client = connect(t.client_end(kTask));
  const auto t0 = Terminals::Clock::now();
  EXPECT_TRUE(t.abandoned(t0, 30s).empty());
  EXPECT_TRUE(t.abandoned(t0 + 1h, 30s).empty());  // its client is there
  client.end->closed();
  EXPECT_TRUE(t.abandoned(t0, 30s).empty());  // gone since now
  EXPECT_TRUE(t.abandoned(t0 + 20s, 30s).empty());
  // One that comes back in time: not abandoned.
  Connected again = connect(t.client_end(kTask));
  EXPECT_TRUE(t.abandoned(t0 + 40s, 30s).empty());
  again.end->closed();
  EXPECT_TRUE(t.abandoned(t0 + 50s, 30s).empty());
  EXPECT_EQ(t.abandoned(t0 + 81s, 30s), std::vector<std::string>{kTask});
  // A client that never comes: its grace counts from when the terminal is first looked at.
  Terminals u;
  u.open(kTask);
  EXPECT_TRUE(u.abandoned(t0, 30s).empty());
  EXPECT_EQ(u.abandoned(t0 + 31s, 30s), std::vector<std::string>{kTask});
}

TEST(Terminals, AnEndedTasksTerminalClosesAfterItsOutput) {
  Terminals t;
  const std::string secret = t.open(kTask);
  Connected node = connect(t.node_end(kTask, secret));
  Connected client = connect(t.client_end(kTask));
  t.end(kTask);
  EXPECT_FALSE(t.has(kTask));
  EXPECT_FALSE(t.client_end(kTask));
  EXPECT_FALSE(client.socket->closed);  // the node's end is still there: its last output comes
  node.end->message("bye\r\n", true);
  node.end->closed();
  EXPECT_EQ(client.socket->sent, (std::vector<std::pair<std::string, bool>>{{"bye\r\n", true}}));
  EXPECT_TRUE(client.socket->closed);
  // Without a node's end, the client's closes at once.
  Terminals u;
  u.open(kTask);
  Connected alone = connect(u.client_end(kTask));
  u.end(kTask);
  EXPECT_TRUE(alone.socket->closed);
  // An end that comes to an ended terminal is closed.
  Connected too_late;
  too_late.socket = std::make_shared<Socket>();
  alone.end->opened(too_late.socket);
  EXPECT_TRUE(too_late.socket->closed);
}

}  // namespace
}  // namespace gwang::controller
