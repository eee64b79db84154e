// The relay of tasks' terminals between their nodes and their clients (terminals.h).

#include "controller/terminals.h"

#include <deque>
#include <optional>
#include <utility>

#include "agent/protocol.h"
#include "controller/auth.h"

namespace gwang::controller {

// One terminal: its two ends as they are now, and what waits for each.
struct Terminals::Terminal {
  std::mutex mu;
  std::string secret;
  std::shared_ptr<WebSocket> node, client;
  using Held = std::deque<std::pair<std::string, bool>>;
  Held for_node, for_client;
  std::size_t node_bytes = 0, client_bytes = 0;
  bool ended = false;
  // The last client went and none came since (client_gone), first seen so at client_left, on the
  // clock abandoned() is given.
  bool client_gone = false;
  std::optional<Terminals::Clock::time_point> client_left;

  // `m` to `to` if it is there, else held (within `limit`: `keep_newest` drops the oldest).
  static void pass(const std::shared_ptr<WebSocket>& to, Held& held, std::size_t& bytes, std::string m, bool binary,
                   std::size_t limit, bool keep_newest) {
    if (to) return to->send(std::move(m), binary);
    if (!keep_newest && bytes + m.size() > limit) return;
    bytes += m.size();
    held.emplace_back(std::move(m), binary);
    while (keep_newest && bytes > limit && !held.empty()) {
      bytes -= held.front().first.size();
      held.pop_front();
    }
  }
  static void flush(const std::shared_ptr<WebSocket>& to, Held& held, std::size_t& bytes) {
    for (auto& [m, binary] : held) to->send(std::move(m), binary);
    held.clear();
    bytes = 0;
  }
};

namespace {

using Terminal = Terminals::Terminal;

// One end of a terminal, as the transport's handler of its socket.
class End final : public WebSocketHandler {
 public:
  End(std::shared_ptr<Terminal> t, bool node) : t_(std::move(t)), node_(node) {}

  void opened(std::shared_ptr<WebSocket> socket) override {
    std::lock_guard lock(t_->mu);
    if (t_->ended) return socket->close();
    socket_ = socket;
    if (node_) {
      if (t_->node) t_->node->close();
      t_->node = socket;
      Terminal::flush(socket, t_->for_node, t_->node_bytes);
    } else {
      if (t_->client) t_->client->close();  // a newer client takes its place
      t_->client = socket;
      t_->client_gone = false;
      t_->client_left.reset();
      Terminal::flush(socket, t_->for_client, t_->client_bytes);
      if (t_->node) t_->node->pause_reading(false);  // what the one before had not taken is dropped
    }
  }
  void message(std::string m, bool binary) override {
    std::lock_guard lock(t_->mu);
    if (t_->ended || !socket_) return;
    // A side that does not take what it is sent as fast as it comes (a client stopped, a task not
    // reading its input) holds up the other: this end reads no more until that one has drained.
    const std::shared_ptr<WebSocket>& to = node_ ? t_->client : t_->node;
    if (node_) {
      Terminal::pass(t_->client, t_->for_client, t_->client_bytes, std::move(m), binary, Terminals::kHeldForClient,
                     true);
    } else {
      Terminal::pass(t_->node, t_->for_node, t_->node_bytes, std::move(m), binary, Terminals::kHeldForNode, false);
    }
    if (to && to->backlog() > WebSocket::kBacklog) socket_->pause_reading(true);
  }
  void drained() override {
    std::lock_guard lock(t_->mu);
    const std::shared_ptr<WebSocket>& from = node_ ? t_->client : t_->node;
    if (from && socket_ && (node_ ? t_->node : t_->client) == socket_) from->pause_reading(false);
  }
  void closed() override {
    std::lock_guard lock(t_->mu);
    if (node_ && t_->node == socket_ && socket_) {
      // The node's end went: the task's terminal is gone with it (the task ended, or its agent).
      t_->node.reset();
      t_->ended = true;
      if (t_->client) t_->client->close();
    } else if (!node_ && t_->client == socket_ && socket_) {
      t_->client.reset();
      t_->client_gone = true;
      if (t_->node) t_->node->pause_reading(false);  // its output is held (the newest) for the next client
    }
    socket_.reset();
  }

 private:
  std::shared_ptr<Terminal> t_;
  bool node_;
  std::shared_ptr<WebSocket> socket_;  // while this end is the terminal's
};

}  // namespace

Terminals::Terminals() = default;
Terminals::~Terminals() = default;

std::string Terminals::open(const std::string& task) {
  std::lock_guard lock(mu_);
  auto& t = open_[task];
  if (!t) {
    t = std::make_shared<Terminal>();
    t->secret = random_token();
    t->client_gone = true;  // until one comes: one that never does leaves the task to end too
  }
  return t->secret;
}

void Terminals::end(const std::string& task) {
  std::shared_ptr<Terminal> t;
  {
    std::lock_guard lock(mu_);
    auto it = open_.find(task);
    if (it == open_.end()) return;
    t = std::move(it->second);
    open_.erase(it);
  }
  std::lock_guard lock(t->mu);
  // A node's end still there closes by itself once the task's last output is through (the agent
  // reads the end of the terminal), and the client's with it; without one, the client's now.
  if (!t->node) {
    t->ended = true;
    if (t->client) t->client->close();
  }
}

bool Terminals::has(const std::string& task) const {
  std::lock_guard lock(mu_);
  return open_.contains(task);
}

std::shared_ptr<WebSocketHandler> Terminals::node_end(const std::string& task, const std::string& secret) {
  std::lock_guard lock(mu_);
  auto it = open_.find(task);
  if (it == open_.end() || secret.empty() || !agent::protocol::same_signature(secret, it->second->secret))
    return nullptr;
  return std::make_shared<End>(it->second, true);
}

std::shared_ptr<WebSocketHandler> Terminals::client_end(const std::string& task) {
  std::lock_guard lock(mu_);
  auto it = open_.find(task);
  if (it == open_.end()) return nullptr;
  return std::make_shared<End>(it->second, false);
}

std::vector<std::string> Terminals::abandoned(Clock::time_point now, Clock::duration grace) {
  std::vector<std::string> out;
  std::lock_guard lock(mu_);
  for (const auto& [task, t] : open_) {
    std::lock_guard inner(t->mu);
    if (!t->client_gone) continue;
    if (!t->client_left) t->client_left = now;
    if (now - *t->client_left > grace) out.push_back(task);
  }
  return out;
}

}  // namespace gwang::controller
