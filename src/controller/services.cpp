// Sessions' service links and the proxy's streams over them (services.h).

#include "controller/services.h"

#include <condition_variable>
#include <deque>
#include <set>
#include <utility>

#include "agent/protocol.h"

namespace gwang::controller {

using Frame = api::ServiceFrame;

namespace {
class ClientEnd;
}

// One session's link, its streams waiting for an answer and its owner's open WebSockets; all under
// its one lock.
struct Services::Link {
  std::mutex mu;
  std::string secret;
  std::shared_ptr<WebSocket> node;  // the link, while it is up
  bool ended = false, ready = false;
  Clock::time_point opened, used;
  std::uint64_t next_stream = 1;
  struct Pending {
    std::condition_variable cv;
    std::optional<Result<Frame>> answer;
  };
  std::map<std::uint64_t, std::shared_ptr<Pending>> pending;
  std::map<std::uint64_t, std::shared_ptr<ClientEnd>> sockets;
  std::set<std::uint64_t> over;  // owners' sockets whose backlog holds up the link's reading

  void send(const Frame& f) {
    if (node) node->send(api::encode(f), true);
  }
  // Every stream fails: the link went (or another took its place).
  void drop_streams(const std::string& why);
};

namespace {

// The owner's end of a WebSocket relayed to the service: what it sends goes over the link, what
// the service sends comes to it (held until the transport has opened it).
class ClientEnd final : public WebSocketHandler {
 public:
  ClientEnd(std::shared_ptr<Services::Link> link, std::uint64_t stream) : link_(std::move(link)), stream_(stream) {}

  void opened(std::shared_ptr<WebSocket> socket) override {
    std::lock_guard lock(link_->mu);
    socket_ = socket;
    for (auto& [m, binary] : held_) socket->send(std::move(m), binary);
    held_.clear();
    if (gone_) socket->close();
  }
  void message(std::string m, bool binary) override {
    std::lock_guard lock(link_->mu);
    if (gone_ || !link_->node) return;
    link_->used = Services::Clock::now();
    link_->send({.type = Frame::Type::Message, .stream = stream_, .text = !binary, .body = std::move(m)});
    // A service that does not take what it is sent as fast as it comes holds up its owner.
    if (link_->node->backlog() > WebSocket::kBacklog) socket_->pause_reading(true);
  }
  void closed() override {
    std::lock_guard lock(link_->mu);
    if (!gone_) link_->send({.type = Frame::Type::SocketClose, .stream = stream_});
    gone_ = true;
    forget();
  }
  void drained() override {
    std::lock_guard lock(link_->mu);
    link_->over.erase(stream_);
    if (link_->over.empty() && link_->node) link_->node->pause_reading(false);
  }

  // From the service, under the link's lock.
  void deliver(std::string m, bool binary) {
    if (gone_) return;
    link_->used = Services::Clock::now();
    if (!socket_) {
      held_.emplace_back(std::move(m), binary);
      return;
    }
    socket_->send(std::move(m), binary);
    if (socket_->backlog() > WebSocket::kBacklog && link_->node) {
      link_->over.insert(stream_);
      link_->node->pause_reading(true);
    }
  }
  // The service's end closed, or the link went: under the link's lock.
  void end() {
    gone_ = true;
    if (socket_) socket_->close();
    forget();
  }
  void pause(bool paused) {
    if (socket_) socket_->pause_reading(paused);
  }

 private:
  void forget() {
    link_->over.erase(stream_);
    if (link_->over.empty() && link_->node) link_->node->pause_reading(false);
    link_->sockets.erase(stream_);
  }
  std::shared_ptr<Services::Link> link_;
  std::uint64_t stream_;
  std::shared_ptr<WebSocket> socket_;
  std::deque<std::pair<std::string, bool>> held_;
  bool gone_ = false;
};

// The node's end of a link: the frames the agent sends.
class LinkEnd final : public WebSocketHandler {
 public:
  explicit LinkEnd(std::shared_ptr<Services::Link> link) : link_(std::move(link)) {}

  void opened(std::shared_ptr<WebSocket> socket) override {
    std::lock_guard lock(link_->mu);
    if (link_->ended) return socket->close();
    if (link_->node) {
      link_->node->close();
      link_->drop_streams("the session's node linked its service again");
    }
    link_->node = socket_ = socket;
  }
  void message(std::string m, bool) override {
    auto frame = api::decode_service_frame(m);
    if (!frame) return;  // an agent of another version's kind: nothing to do with it
    std::lock_guard lock(link_->mu);
    if (link_->node != socket_) return;
    Frame& f = *frame;
    switch (f.type) {
      case Frame::Type::Ready:
        link_->ready = true;
        return;
      case Frame::Type::Response:
      case Frame::Type::Failed:
      case Frame::Type::SocketOpened:
        return answer(std::move(f));
      case Frame::Type::Message:
        if (auto it = link_->sockets.find(f.stream); it != link_->sockets.end())
          it->second->deliver(std::move(f.body), !f.text);
        return;
      case Frame::Type::SocketClose:
        if (auto it = link_->sockets.find(f.stream); it != link_->sockets.end()) {
          const std::shared_ptr<ClientEnd> s = it->second;  // it forgets itself
          s->end();
        }
        return;
      default:
        return;
    }
  }
  void drained() override {
    std::lock_guard lock(link_->mu);
    for (auto& [id, s] : link_->sockets) s->pause(false);
  }
  void closed() override {
    std::lock_guard lock(link_->mu);
    if (link_->node == socket_ && socket_) {
      link_->node.reset();
      link_->drop_streams("the link to the session's node broke");
    }
    socket_.reset();
  }

 private:
  void answer(Frame f) {
    auto it = link_->pending.find(f.stream);
    if (it == link_->pending.end()) {
      // Its asker gave up waiting: a WebSocket the service took is closed again.
      if (f.type == Frame::Type::SocketOpened) link_->send({.type = Frame::Type::SocketClose, .stream = f.stream});
      return;
    }
    if (f.type == Frame::Type::SocketOpened) link_->sockets[f.stream] = std::make_shared<ClientEnd>(link_, f.stream);
    it->second->answer = f.type == Frame::Type::Failed ? Result<Frame>(fail(f.message)) : Result<Frame>(std::move(f));
    it->second->cv.notify_all();
    link_->pending.erase(it);
  }
  std::shared_ptr<Services::Link> link_;
  std::shared_ptr<WebSocket> socket_;
};

}  // namespace

void Services::Link::drop_streams(const std::string& why) {
  for (auto& [id, p] : pending) {
    p->answer = fail(why);
    p->cv.notify_all();
  }
  pending.clear();
  auto open = std::move(sockets);
  sockets.clear();
  for (auto& [id, s] : open) s->end();
  over.clear();
}

Services::Services() = default;
Services::~Services() = default;

void Services::open(const std::string& task, const std::string& secret) {
  std::lock_guard lock(mu_);
  auto& link = links_[task];
  if (link) return;
  link = std::make_shared<Link>();
  link->secret = secret;
  link->opened = link->used = Clock::now();
}

void Services::end(const std::string& task) {
  std::shared_ptr<Link> link;
  {
    std::lock_guard lock(mu_);
    auto it = links_.find(task);
    if (it == links_.end()) return;
    link = std::move(it->second);
    links_.erase(it);
  }
  std::lock_guard lock(link->mu);
  link->ended = true;
  link->drop_streams("the session has ended");
  if (link->node) link->node->close();
}

std::shared_ptr<WebSocketHandler> Services::link_end(const std::string& task, const std::string& secret) {
  std::lock_guard lock(mu_);
  auto it = links_.find(task);
  if (it == links_.end() || secret.empty() || !agent::protocol::same_signature(secret, it->second->secret))
    return nullptr;
  return std::make_shared<LinkEnd>(it->second);
}

std::optional<Services::State> Services::state(const std::string& task) const {
  const std::shared_ptr<Link> link = find(task);
  if (!link) return std::nullopt;
  std::lock_guard lock(link->mu);
  return State{link->node != nullptr, link->ready, link->opened, link->used};
}

namespace {

// Sends `f` over the task's link and waits for its answer.
Result<Frame> ask(const std::shared_ptr<Services::Link>& link, Frame f, std::chrono::milliseconds timeout) {
  std::unique_lock lock(link->mu);
  if (link->ended) return fail("the session has ended");
  if (!link->node) {
    return fail(link->ready ? "the link to the session's node broke; it is being made again"
                            : "the session's node has not linked its service to the controller yet");
  }
  link->used = Services::Clock::now();
  f.stream = link->next_stream++;
  auto p = std::make_shared<Services::Link::Pending>();
  link->pending[f.stream] = p;
  link->send(f);
  if (!p->cv.wait_for(lock, timeout, [&] { return p->answer.has_value(); })) {
    link->pending.erase(f.stream);
    return fail("the session's service gave no answer within " + std::to_string(timeout.count() / 1000) + " s");
  }
  link->used = Services::Clock::now();
  return std::move(*p->answer);
}

}  // namespace

std::shared_ptr<Services::Link> Services::find(const std::string& task) const {
  std::lock_guard lock(mu_);
  auto it = links_.find(task);
  return it == links_.end() ? nullptr : it->second;
}

Result<Frame> Services::exchange(const std::string& task, Frame request, std::chrono::milliseconds timeout) {
  const std::shared_ptr<Link> link = find(task);
  if (!link) return fail("the session has ended");
  request.type = Frame::Type::Request;
  return ask(link, std::move(request), timeout);
}

Result<Services::Opened> Services::open_socket(const std::string& task, Frame open, std::chrono::milliseconds timeout) {
  const std::shared_ptr<Link> link = find(task);
  if (!link) return fail("the session has ended");
  open.type = Frame::Type::SocketOpen;
  auto answer = ask(link, std::move(open), timeout);
  if (!answer) return tl::unexpected(answer.error());
  std::lock_guard lock(link->mu);
  auto it = link->sockets.find(answer->stream);
  if (it == link->sockets.end()) return fail("the session's service closed the WebSocket at once");
  return Opened{it->second, answer->protocol};
}

}  // namespace gwang::controller
