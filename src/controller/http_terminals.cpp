// The API's WebSockets: a step's terminal (srun --pty) for its owner, at
// /api/v1/jobs/{id}/steps/{step}/terminal, and the other end of it for the agent that runs its
// task, at /api/v1/agent/terminals/{task}, shown the terminal's secret from the task's launch;
// and sessions' (http_sessions.cpp).

#include <regex>

#include "controller/http_impl.h"

namespace gwang::controller {

std::shared_ptr<WebSocketHandler> ApiServer::Impl::upgrade(httplib::Request& req, httplib::Response& res) {
  static const std::regex client(R"(/api/v1/jobs/(\d{1,18})/steps/(\d{1,6})/terminal)");
  static const std::regex node(R"(/api/v1/agent/terminals/([0-9]{1,18}\.[0-9]{1,9}\.s[0-9]{1,6}\.[0-9]{1,9}))");
  static const std::regex link(R"(/api/v1/agent/services/([0-9]{1,18}\.[0-9]{1,9}\.[0-9]{1,9}))");
  std::smatch m;
  if (req.method != "GET") {
    error(res, 405, "a WebSocket is opened with GET");
    return nullptr;
  }
  if (req.path.starts_with("/s/")) return session_upgrade(req, res);
  if (std::regex_match(req.path, m, link)) return link_upgrade(m[1].str(), req, res);
  if (std::regex_match(req.path, m, node)) {
    const std::string header = req.get_header_value("Authorization");
    const std::string prefix = "Bearer ";
    auto end = header.starts_with(prefix) ? controller.terminals().node_end(m[1].str(), header.substr(prefix.size()))
                                          : nullptr;
    if (!end) error(res, 404, "no terminal " + m[1].str() + " with that secret");
    return end;
  }
  if (std::regex_match(req.path, m, client)) {
    auto who = authenticate(req, res);
    if (!who) return nullptr;
    auto task = controller.terminal_task(std::stoll(m[1].str()), std::stoi(m[2].str()), who->user, who->is_operator);
    if (!task) {
      error(res, task.error().message.ends_with("not found") ? 404 : 409, task.error().message);
      return nullptr;
    }
    auto end = controller.terminals().client_end(*task);
    if (!end) error(res, 409, "the terminal of task " + *task + " has closed");
    return end;
  }
  error(res, 404, "no WebSocket at " + req.path);
  return nullptr;
}

void ApiServer::Impl::not_upgraded(const httplib::Request& req, httplib::Response& res) {
  error(res, 426, req.path + " is a WebSocket: open it with 'Connection: Upgrade' and 'Upgrade: websocket'");
  res.set_header("Upgrade", "websocket");
}

}  // namespace gwang::controller
