// Sessions' requests and the apps gwang serves (api/session.h).

#include "api/session.h"

#include <nlohmann/json.hpp>

#include "api/request.h"
#include "api/units.h"

namespace gwang::api {

using nlohmann::json;

std::string_view to_string(SessionApp app) {
  switch (app) {
    case SessionApp::None:
      return "";
    case SessionApp::Jupyter:
      return "jupyter";
    case SessionApp::TensorBoard:
      return "tensorboard";
    case SessionApp::VSCode:
      return "vscode";
    case SessionApp::Terminal:
      return "terminal";
    case SessionApp::Custom:
      return "custom";
  }
  return "";
}

namespace {

constexpr const char* kApps = "jupyter, tensorboard, vscode, terminal or custom";

Result<void> field_error(const std::string& field, const std::string& what) {
  return fail("field 'session." + field + "': " + what);
}

Result<SessionApp> app_named(std::string_view name) {
  for (SessionApp a :
       {SessionApp::Jupyter, SessionApp::TensorBoard, SessionApp::VSCode, SessionApp::Terminal, SessionApp::Custom}) {
    if (name == to_string(a)) return a;
  }
  return fail("no app '" + std::string(name) + "' (the apps: " + kApps + ")");
}

Result<int> port_of(std::string_view text) {
  int port = 0;
  for (char c : text) {
    if (c < '0' || c > '9' || port > 65535) return fail("the port must be a number from 1024 to 65535");
    port = port * 10 + (c - '0');
  }
  if (text.empty() || port < 1024 || port > 65535) return fail("the port must be a number from 1024 to 65535");
  return port;
}

}  // namespace

Result<SessionRequest> parse_session(const json& j) {
  if (!j.is_object()) return fail("field 'session': must be an object");
  for (const auto& [key, value] : j.items()) {
    if (key != "app" && key != "port" && key != "idle_timeout")
      return fail("field 'session': unknown field '" + key + "'");
  }
  SessionRequest s;
  if (!j.contains("app") || !j["app"].is_string())
    return tl::unexpected(field_error("app", std::string("required, one of ") + kApps).error());
  auto app = app_named(j["app"].get<std::string>());
  if (!app) return tl::unexpected(field_error("app", app.error().message).error());
  s.app = *app;
  if (j.contains("port")) {
    if (s.app != SessionApp::Custom)
      return tl::unexpected(field_error("port", "only a custom app names its port").error());
    const json& p = j["port"];
    auto port = p.is_number_integer() ? port_of(std::to_string(p.get<std::int64_t>())) : port_of("x");
    if (!port) return tl::unexpected(field_error("port", port.error().message).error());
    s.port = *port;
  } else if (s.app == SessionApp::Custom) {
    return tl::unexpected(field_error("port", "required for a custom app (the port its service listens on)").error());
  }
  if (j.contains("idle_timeout")) {
    const json& v = j["idle_timeout"];
    Result<std::int64_t> t = v.is_number_integer() ? Result<std::int64_t>(v.get<std::int64_t>())
                             : v.is_string()       ? parse_duration(v.get<std::string>())
                                                   : fail("must be a duration (\"30m\") or seconds");
    if (!t || *t < 10)
      return tl::unexpected(field_error("idle_timeout", t ? "at least 10 seconds" : t.error().message).error());
    s.idle_timeout_s = *t;
  }
  return s;
}

Result<SessionRequest> parse_session_app(std::string_view text) {
  SessionRequest s;
  const auto colon = text.find(':');
  auto app = app_named(text.substr(0, colon));
  if (!app) return tl::unexpected(app.error());
  s.app = *app;
  if (s.app == SessionApp::Custom) {
    if (colon == std::string_view::npos)
      return fail("a custom app is written custom:PORT (the port its service listens on)");
    auto port = port_of(text.substr(colon + 1));
    if (!port) return tl::unexpected(port.error());
    s.port = *port;
  } else if (colon != std::string_view::npos) {
    return fail("only a custom app names its port (custom:PORT)");
  }
  return s;
}

json session_json(const SessionRequest& s) {
  json j{{"app", std::string(to_string(s.app))}};
  if (s.port > 0) j["port"] = s.port;
  if (s.idle_timeout_s > 0) j["idle_timeout"] = s.idle_timeout_s;
  return j;
}

Result<void> read_session(const json& j, SubmitRequest& r) {
  if (!j.contains("session")) return {};
  auto session = parse_session(j["session"]);
  if (!session) return tl::unexpected(session.error());
  r.session = std::move(*session);
  if (!r.script.empty() || r.allocation != Allocation::None)
    return fail("field 'session': a session's app is its script; it has no \"script\" or \"allocation\"");
  if (r.session.app == SessionApp::Terminal) {
    if (j.contains("command") && !(j["command"].is_array() && j["command"].empty()))
      return fail("field 'command': a terminal session runs no command of its own");
    r.allocation = Allocation::Unattended;
  }
  return {};
}

Result<void> check_session(const json& j, SubmitRequest& r) {
  if (r.session.app == SessionApp::None) return {};
  if (!r.array.empty()) return fail("field 'session': a job array is not a session");
  if (r.nodes != 1) return fail("field 'nodes': a session runs on one node");
  if (!j.contains("time")) r.time_s = 0;  // the controller's session_max_life
  r.requeue = false;                      // its owner is using it: it is not started again elsewhere
  return {};
}

namespace {

// Jupyter keeps its runtime files under the user's home; an account whose home it cannot write
// (a service account's /nonexistent) gets them in the job's own temporary directory.
constexpr const char* kJupyter = R"sh(#!/bin/sh
# A gwang session: Jupyter Notebook on 127.0.0.1:$GWANG_SESSION_PORT, served at $GWANG_SESSION_PATH.
export JUPYTER_TOKEN="$GWANG_SESSION_SECRET"
if [ ! -w "${HOME:-/nonexistent}" ]; then
  state=$(mktemp -d "${TMPDIR:-/tmp}/gwang-session-$GWANG_JOB_ID.XXXXXX") || exit 1
  export JUPYTER_CONFIG_DIR="$state/config" JUPYTER_RUNTIME_DIR="$state/runtime" JUPYTER_DATA_DIR="$state/data" \
    IPYTHONDIR="$state/ipython"
fi
# Root runs it only where the node lets jobs run as root at all.
[ "$(id -u)" = 0 ] && set -- --allow-root "$@"
exec jupyter notebook --no-browser --ip=127.0.0.1 --port="$GWANG_SESSION_PORT" --port-retries=0 \
  --NotebookApp.base_url="$GWANG_SESSION_PATH" --NotebookApp.allow_remote_access=True "$@"
)sh";

constexpr const char* kTensorBoard = R"(#!/bin/sh
# A gwang session: TensorBoard on 127.0.0.1:$GWANG_SESSION_PORT, served at $GWANG_SESSION_PATH.
exec tensorboard --host=127.0.0.1 --port="$GWANG_SESSION_PORT" --path_prefix="${GWANG_SESSION_PATH%/}" "$@"
)";

constexpr const char* kVSCode = R"(#!/bin/sh
# A gwang session: code-server (VS Code in the browser) on 127.0.0.1:$GWANG_SESSION_PORT; the
# proxy in front of it lets its owner alone through.
exec code-server --bind-addr="127.0.0.1:$GWANG_SESSION_PORT" --auth=none --disable-telemetry "$@"
)";

}  // namespace

const SessionAppPlan& plan_app(SessionApp app) {
  // Made once: the controller asks for a session's plan on every proxied request.
  static const SessionAppPlan jupyter{kJupyter, true, true, true}, tensorboard{kTensorBoard, true, false, true},
      vscode{kVSCode, false, false, true}, terminal{"", false, false, false}, own{"", false, false, true};
  switch (app) {
    case SessionApp::Jupyter:
      return jupyter;
    case SessionApp::TensorBoard:
      return tensorboard;
    case SessionApp::VSCode:
      return vscode;
    case SessionApp::Terminal:
      return terminal;
    case SessionApp::Custom:
    case SessionApp::None:
      break;
  }
  return own;
}

}  // namespace gwang::api
