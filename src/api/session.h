// A session: a job that serves one application (a notebook, TensorBoard, an editor, a terminal,
// the user's own service), reached through the controller's proxy at /s/JOB/. What a submission
// asks for ("session": {...}), and what the apps gwang knows are.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

#include "core/result.h"

namespace gwang::api {

enum class SessionApp { None, Jupyter, TensorBoard, VSCode, Terminal, Custom };
std::string_view to_string(SessionApp app);  // "", "jupyter", "tensorboard", "vscode", "terminal", "custom"

struct SessionRequest {
  SessionApp app = SessionApp::None;
  int port = 0;  // the service's own port on its node (custom); 0: one the node's agent chooses
  // Without use for this long, the session ends; 0: the controller's default.
  std::int64_t idle_timeout_s = 0;
  // The secret between the proxy and the service (and the service's link to the controller):
  // the controller's, made when the session is accepted, never taken from a request nor shown.
  std::string secret;
  bool operator==(const SessionRequest&) const = default;
};

// "session": {"app": "jupyter"|"tensorboard"|"vscode"|"terminal"|"custom", "port": N (custom:
// required, 1024 to 65535; others: none), "idle_timeout": "30m" or seconds}. Errors name the field
// ("field 'session.app': ...").
Result<SessionRequest> parse_session(const nlohmann::json& j);
// "jupyter", "custom:8888" (as the command line writes an app), with no idle timeout.
Result<SessionRequest> parse_session_app(std::string_view text);
// Its JSON form (without the secret).
nlohmann::json session_json(const SessionRequest& s);

// A submission's "session" into `r` (parse_submit's part; a terminal session is an unattended
// allocation); then, once the rest is read, what a session may not be (an array, on more than one
// node) and what it is (not requeued; without "time", the controller's longest).
struct SubmitRequest;
Result<void> read_session(const nlohmann::json& j, SubmitRequest& r);
Result<void> check_session(const nlohmann::json& j, SubmitRequest& r);

// What serving an app takes.
struct SessionAppPlan {
  // The batch script that starts the service (empty: the app runs nothing of its own, a terminal
  // session, or the submission's command is the service, a custom one). It reads the
  // environment every session's job has: GWANG_SESSION_PORT (where to listen, on 127.0.0.1),
  // GWANG_SESSION_SECRET and GWANG_SESSION_PATH ("/s/JOB/", where the proxy serves it); the
  // submission's command becomes the script's arguments.
  std::string script;
  // The service is served its requests with the proxy's prefix (/s/JOB/...) kept, for an app told
  // it (Jupyter's base_url, TensorBoard's path_prefix); else without it (X-Forwarded-Prefix says it).
  bool keeps_prefix = false;
  // The service is given the secret as "Authorization: token SECRET" (Jupyter's form) besides
  // "X-Gwang-Session-Secret: SECRET", which every service is given.
  bool token_authorization = false;
  bool serves = true;  // false: no service (a terminal session is its owner's terminals)
};
const SessionAppPlan& plan_app(SessionApp app);

}  // namespace gwang::api
