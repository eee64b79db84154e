// The API's node routes, the controller's own figures (status, metrics), and the agents' protocol
// (agent/protocol.h), which is signed with the cluster secret rather than a user's token.

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "agent/protocol.h"
#include "controller/http_impl.h"

namespace gwang::controller {

using nlohmann::json;
namespace proto = agent::protocol;

void ApiServer::Impl::list_nodes(const httplib::Request& req, httplib::Response& res) {
  auto who = authenticate(req, res);
  if (!who) return;
  reply_nodes(res, controller.nodes());
}

void ApiServer::Impl::change_node_state(const httplib::Request& req, httplib::Response& res, const std::string& state) {
  auto who = authenticate(req, res);
  if (!who) return;
  if (!who->is_operator) return error(res, 403, "only operators change node states");
  auto r = controller.set_node_state(req.matches[1], state, wall_now());
  if (!r) return error(res, 404, r.error().message);
  for (const NodeRecord& n : controller.nodes()) {
    if (n.name == req.matches[1]) return reply_node(res, n);
  }
}

void ApiServer::Impl::drain_node(const httplib::Request& req, httplib::Response& res) {
  change_node_state(req, res, "drained");
}

void ApiServer::Impl::resume_node(const httplib::Request& req, httplib::Response& res) {
  change_node_state(req, res, "up");
}

void ApiServer::Impl::show_status(const httplib::Request& req, httplib::Response& res) {
  auto who = authenticate(req, res);
  if (!who) return;
  int window = 1000;
  if (req.has_param("window")) {
    const std::string text = req.get_param_value("window");
    if (text.empty() || text.size() > 4 || text.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(text) < 1) {
      return error(res, 400, "parameter 'window': expected a number of passes from 1 to 1000");
    }
    window = std::stoi(text);
  }
  const Status s = controller.status(window);
  reply(res, 200,
        json{{"jobs", {{"pending", s.pending}, {"running", s.running}, {"total", s.jobs}}},
             {"nodes", {{"total", s.nodes}, {"up", s.nodes_up}}},
             {"passes",
              {{"count", s.passes},
               {"last_ms", s.pass_ms_last},
               {"p50_ms", s.pass_ms_p50},
               {"p99_ms", s.pass_ms_p99},
               {"max_ms", s.pass_ms_max}}},
             {"journal", {{"seq", s.journal_seq}, {"snapshot_seq", s.snapshot_seq}}}});
}

void ApiServer::Impl::show_config(const httplib::Request& req, httplib::Response& res) {
  auto who = authenticate(req, res);
  if (!who) return;
  const ControllerOptions& o = controller.options();
  const auto seconds = [](std::chrono::milliseconds d) {
    return std::chrono::duration_cast<std::chrono::seconds>(d).count();
  };
  reply(res, 200,
        json{{"cluster_name", o.cluster_name},
             {"kill_grace_s", seconds(o.kill_grace)},
             {"node_timeout_s", seconds(o.node_timeout)},
             {"requeue_limit", o.requeue_limit},
             {"max_array_size", o.max_array_size},
             {"mail_program", o.mail_program},
             {"max_job_id", kMaxJobId},
             {"queue_order", std::string(core::to_string(o.queue_order))},
             {"backfill", std::string(core::to_string(o.backfill))},
             {"partitions", o.partitions.size()},
             {"licenses", slurm::format_licenses(o.licenses)},
             {"local_node", o.local_node}});
}

void ApiServer::Impl::agent_sync(const httplib::Request& req, httplib::Response& res) {
  (void)sync_agent(req, res, true);
}

bool ApiServer::Impl::agent_sync_in_loop(const httplib::Request& req, httplib::Response& res) {
  return sync_agent(req, res, false);
}

bool ApiServer::Impl::sync_agent(const httplib::Request& req, httplib::Response& res, bool may_wait) {
  auto error = [&res](int status, const std::string& message) {
    controller::error(res, status, message);
    return true;
  };
  if (secret.empty()) return error(403, "this controller takes no remote agents (no cluster secret configured)");
  const std::string node = req.get_header_value("X-Gwang-Node");
  const std::string date = req.get_header_value("X-Gwang-Date");
  const std::string signature = req.get_header_value("X-Gwang-Signature");
  const std::string expected = proto::sign_request(secret, req.method, req.path, date, node, req.body);
  if (signature.empty() || !proto::same_signature(signature, expected)) {
    return error(401, "bad agent signature (is the cluster secret the same on both sides?)");
  }
  std::int64_t sent = 0;
  try {
    sent = std::stoll(date);
  } catch (...) {
    return error(401, "header 'X-Gwang-Date': expected Unix seconds");
  }
  if (std::llabs(sent - wall_now()) > proto::kMaxClockSkew) {
    return error(401, "header 'X-Gwang-Date': more than 5 minutes from the controller's clock");
  }
  auto request = proto::decode_request(req.body);
  if (!request) return error(400, request.error().message);
  if (request->node != node) return error(400, "field 'node': differs from the signed X-Gwang-Node header");
  std::optional<proto::SyncResponse> answer;
  if (may_wait) {
    auto r = controller.sync(*request, req.remote_addr, agent::Clock::now(), wall_now());
    if (!r) return error(409, r.error().message);
    answer = std::move(*r);
  } else {
    auto r = controller.try_sync(*request, req.remote_addr, agent::Clock::now(), wall_now());
    if (!r) return error(409, r.error().message);
    if (!*r) return false;  // it would wait: on a worker
    answer = std::move(**r);
  }
  const proto::Form form = proto::form_of(req.body);  // answered in the form it was asked
  const std::string body = proto::encode(*answer, form);
  res.set_header("X-Gwang-Signature", proto::sign_response(secret, signature, body));
  res.status = 200;
  res.set_content(body, proto::content_type(form));
  return true;
}

void ApiServer::Impl::show_metrics(const httplib::Request& req, httplib::Response& res) {
  auto who = authenticate(req, res);
  if (!who) return;
  if (!who->is_operator) return error(res, 403, "metrics are for operators (scrape with an operator's token)");
  std::string out;
  out.reserve(16 << 10);
  controller.write_metrics(out);
  write_api_metrics(out);
  res.status = 200;
  res.set_content(out, "text/plain; version=0.0.4; charset=utf-8");
}

}  // namespace gwang::controller
