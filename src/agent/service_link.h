// A session's service linked to the controller's proxy: one WebSocket the agent opens to
// /api/v1/agent/services/TASK (showing the session's secret; agents still listen on no port),
// over which the proxy sends the requests and WebSockets of the session's owner
// (api/service_frame.h) and the agent serves each from the service on 127.0.0.1:PORT. It says
// once the service answers on its port (Ready). A link that breaks (the controller restarted or
// moved) is made again, from the first controller that answers, until the link is destroyed with
// its task. On its own thread.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "net/tls.h"

namespace gwang::agent {

class ServiceLink {
 public:
  // `controllers`: their URLs, comma-separated; `tls` verifies an https:// one.
  ServiceLink(std::string controllers, net::TlsContext tls, std::string task, std::string secret, int port);
  ~ServiceLink();  // closes the link and every stream, and waits for its thread
  ServiceLink(const ServiceLink&) = delete;
  ServiceLink& operator=(const ServiceLink&) = delete;

  bool ready() const { return ready_; }  // the service has answered on its port

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> ready_{false};
  std::thread thread_;
};

// A port on 127.0.0.1 that nothing listens on now (0 when none could be found): where a session's
// service is told to listen when its app chooses none.
int free_local_port();

}  // namespace gwang::agent
