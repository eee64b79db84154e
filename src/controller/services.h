// The links of sessions' services (agent/service_link.h) and the proxy's streams over them: each
// session's link is a WebSocket its node's agent opened (showing the session's secret); the proxy
// sends over it the HTTP requests and WebSockets of the session's owner and waits for their
// answers. Thread-safe: the links' and sockets' handlers run on the API transport's loop; the
// proxy's exchanges on its workers, which they block until the answer (or a time) comes.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "api/service_frame.h"
#include "controller/http_server.h"
#include "core/result.h"

namespace gwang::controller {

class Services {
 public:
  using Clock = std::chrono::steady_clock;

  Services();
  ~Services();

  // A session's service runs as `task` with `secret`: its node's link is taken from now on. A task
  // opened again (its launch sent again, or after a restart) keeps what it had.
  void open(const std::string& task, const std::string& secret);
  // Its task has ended: its link and streams close, and it is forgotten.
  void end(const std::string& task);
  // The node's end of the link: null when there is no such service or the secret is not its. A
  // newer link takes the place of an older one (whose streams fail).
  std::shared_ptr<WebSocketHandler> link_end(const std::string& task, const std::string& secret);

  struct State {
    bool linked = false;             // its node's link is up
    bool ready = false;              // the service has answered on its port (once is enough)
    Clock::time_point opened, used;  // when opened; when its owner last used it (opened, if never)
  };
  std::optional<State> state(const std::string& task) const;

  // One HTTP exchange with the service (a Request frame; its stream is set here): its Response,
  // or why there is none (no link, the link broke, the service failed it, no answer in `timeout`).
  Result<api::ServiceFrame> exchange(const std::string& task, api::ServiceFrame request,
                                     std::chrono::milliseconds timeout);
  // A WebSocket opened on the service (a SocketOpen frame): once the service has taken it, the
  // handler of the owner's end (its messages go to the service's and back) and the subprotocol
  // the service chose; or why not.
  struct Opened {
    std::shared_ptr<WebSocketHandler> handler;
    std::string protocol;
  };
  Result<Opened> open_socket(const std::string& task, api::ServiceFrame open, std::chrono::milliseconds timeout);

  struct Link;

 private:
  std::shared_ptr<Link> find(const std::string& task) const;  // null: none
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Link>> links_;
};

}  // namespace gwang::controller
