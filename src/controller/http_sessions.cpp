// Sessions over HTTP: the caller's sessions (GET /api/v1/sessions), the login that lets a browser
// into one (POST /api/v1/sessions/{id}/login: a cookie for its path alone), the proxy to each
// session's service at /s/{id}/... (HTTP and WebSocket, for its owner alone, over its link:
// services.h), and the link's own WebSocket for the agent that runs the service.

#include <algorithm>
#include <chrono>
#include <mutex>

#include "controller/auth.h"
#include "controller/http_impl.h"

namespace gwang::controller {

using nlohmann::json;
using Frame = api::ServiceFrame;

namespace {

constexpr auto kExchangeTimeout = std::chrono::seconds(300);
constexpr auto kSocketTimeout = std::chrono::seconds(30);
const std::regex kProxied(R"(/s/(\d{1,18})(/.*)?)");

std::string cookie_name(std::int64_t id) { return "gwang_session_" + std::to_string(id); }

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Headers that belong to one connection, not to the request or answer relayed.
bool hop_by_hop(const std::string& name) {
  static const std::set<std::string> kHop = {"connection",          "keep-alive", "proxy-authenticate",
                                             "proxy-authorization", "te",         "trailer",
                                             "transfer-encoding",   "upgrade",    "content-length"};
  return kHop.contains(lower(name));
}

// The value of cookie `name` in a Cookie header, and the header without it.
std::pair<std::string, std::string> take_cookie(const std::string& header, const std::string& name) {
  std::string value, rest;
  std::size_t at = 0;
  while (at < header.size()) {
    std::size_t end = header.find(';', at);
    if (end == std::string::npos) end = header.size();
    std::string one = header.substr(at, end - at);
    const std::size_t first = one.find_first_not_of(' ');
    one = first == std::string::npos ? "" : one.substr(first);
    if (one.starts_with(name + "=")) {
      value = one.substr(name.size() + 1);
    } else if (!one.empty() && !one.starts_with("gwang_session_")) {
      rest += (rest.empty() ? "" : "; ") + one;
    }
    at = end + 1;
  }
  return {value, rest};
}

}  // namespace

// The browser logins of sessions: a cookie's value (random) stands for its session and owner; a
// ticket (random, for one use within a minute) lets a browser in by its URL alone.
struct ApiServer::Impl::SessionLogins {
  std::mutex mu;
  std::map<std::string, std::pair<std::int64_t, std::string>> by_value;
  struct Ticket {
    std::int64_t session;
    std::string user;
    std::chrono::steady_clock::time_point until;
  };
  std::map<std::string, Ticket> tickets;
};

std::optional<std::string> ApiServer::Impl::session_caller(const httplib::Request& req, std::int64_t id,
                                                           httplib::Response& res, bool* by_cookie) {
  const std::string cookie = take_cookie(req.get_header_value("Cookie"), cookie_name(id)).first;
  if (!cookie.empty()) {
    std::lock_guard lock(logins->mu);
    auto it = logins->by_value.find(cookie);
    if (it != logins->by_value.end() && it->second.first == id) {
      *by_cookie = true;
      return it->second.second;
    }
  }
  *by_cookie = false;
  if (!bearer_token(req)) {
    error(res, 401,
          "session " + std::to_string(id) +
              ": not logged in (open it from the dashboard, or present your token: Authorization: Bearer <token>)");
    return std::nullopt;
  }
  auto who = authenticate(req, res);
  if (!who) return std::nullopt;
  return who->user;
}

std::optional<Controller::SessionTarget> ApiServer::Impl::session_for(const httplib::Request& req,
                                                                      httplib::Response& res, bool* by_cookie,
                                                                      std::int64_t* session) {
  std::smatch m;
  if (!std::regex_match(req.path, m, kProxied)) {
    error(res, 404, "no such route: " + req.method + " " + req.path);
    return std::nullopt;
  }
  const std::int64_t id = *session = std::stoll(m[1].str());
  auto user = session_caller(req, id, res, by_cookie);
  if (!user) return std::nullopt;
  auto target = controller.session_target(id, *user);
  if (!target) {
    const std::string& why = target.error().message;
    const int status = why.ends_with("not found") ? 404 : why.ends_with("not started yet") ? 503 : 410;
    if (status == 503) res.set_header("Retry-After", "5");
    error(res, status, why);
    return std::nullopt;
  }
  return *target;
}

namespace {

// The request as the service gets it: the proxy's own credentials taken out, the session's secret
// and where the request came from put in (`tls`: it came over HTTPS).
Frame service_request(const httplib::Request& req, const Controller::SessionTarget& t, std::int64_t id, bool websocket,
                      bool tls) {
  Frame f;
  f.method = req.method;
  const std::string prefix = "/s/" + std::to_string(id);
  f.target = t.keeps_prefix ? req.target : req.target.substr(prefix.size());
  if (f.target.empty() || f.target.front() != '/') f.target.insert(0, "/");
  for (const auto& [name, value] : req.headers) {
    const std::string n = lower(name);
    if (n == "authorization" || n == "x-gwang-session-secret" || n.starts_with("x-forwarded-") ||
        (!websocket && hop_by_hop(n)) || n == "cookie")
      continue;
    f.headers.emplace_back(name, value);
  }
  const std::string cookies = take_cookie(req.get_header_value("Cookie"), cookie_name(id)).second;
  if (!cookies.empty()) f.headers.emplace_back("Cookie", cookies);
  f.headers.emplace_back("X-Forwarded-For", req.remote_addr);
  f.headers.emplace_back("X-Forwarded-Host", req.get_header_value("Host"));
  f.headers.emplace_back("X-Forwarded-Proto", tls ? "https" : "http");
  f.headers.emplace_back("X-Forwarded-Prefix", prefix);
  f.headers.emplace_back("X-Gwang-Session-Secret", t.secret);
  if (t.token_authorization) f.headers.emplace_back("Authorization", "token " + t.secret);
  f.body = req.body;
  return f;
}

}  // namespace

void ApiServer::Impl::proxy(const httplib::Request& req, httplib::Response& res) {
  bool by_cookie = false;
  std::int64_t id = 0;
  if (req.has_param("gwang_ticket")) return enter_session(req, res);
  auto t = session_for(req, res, &by_cookie, &id);
  if (!t) return;
  if (!t->serves) {
    // A terminal session's service is its owner's terminal, in the dashboard.
    res.status = 302;
    res.set_header("Location", "/#/job/" + std::to_string(id) + "?terminal=1");
    return;
  }
  if (req.path == "/s/" + std::to_string(id)) {
    res.status = 301;
    res.set_header("Location", "/s/" + std::to_string(id) + "/");
    return;
  }
  auto answer = controller.services().exchange(t->task, service_request(req, *t, id, false, tls), kExchangeTimeout);
  if (!answer) {
    const auto state = controller.services().state(t->task);
    if (state && !state->ready) {
      res.set_header("Retry-After", "2");
      return error(res, 503,
                   "session " + std::to_string(id) + ": its service is starting (" + answer.error().message + ")");
    }
    return error(res, 502, "session " + std::to_string(id) + ": " + answer.error().message);
  }
  res.status = answer->status;
  for (auto& [name, value] : answer->headers) {
    if (!hop_by_hop(name)) res.headers.emplace(name, value);
  }
  res.body = std::move(answer->body);
}

std::shared_ptr<WebSocketHandler> ApiServer::Impl::session_upgrade(httplib::Request& req, httplib::Response& res) {
  bool by_cookie = false;
  std::int64_t id = 0;
  auto t = session_for(req, res, &by_cookie, &id);
  if (!t) return nullptr;
  if (by_cookie) {
    // A browser's own cookie rides along with a WebSocket any page opens: this page's alone.
    const std::string origin = req.get_header_value("Origin");
    const std::string host = req.get_header_value("Host");
    if (!origin.empty() && origin != "http://" + host && origin != "https://" + host) {
      error(res, 403, "a WebSocket into a session from another site (" + origin + ")");
      return nullptr;
    }
  }
  if (!t->serves) {
    error(res, 404, "a terminal session serves no WebSocket of its own: its terminals are its steps'");
    return nullptr;
  }
  auto opened = controller.services().open_socket(t->task, service_request(req, *t, id, true, tls), kSocketTimeout);
  if (!opened) {
    error(res, 502, "session " + std::to_string(id) + ": " + opened.error().message);
    return nullptr;
  }
  if (!opened->protocol.empty()) res.set_header("Sec-WebSocket-Protocol", opened->protocol);
  return opened->handler;
}

std::shared_ptr<WebSocketHandler> ApiServer::Impl::link_upgrade(const std::string& task, const httplib::Request& req,
                                                                httplib::Response& res) {
  const std::string header = req.get_header_value("Authorization");
  const std::string prefix = "Bearer ";
  auto end = header.starts_with(prefix) ? controller.services().link_end(task, header.substr(prefix.size())) : nullptr;
  if (!end) error(res, 404, "no session's service " + task + " with that secret");
  return end;
}

std::string ApiServer::Impl::login_cookie(std::int64_t id, const std::string& user) {
  const std::string value = random_token();
  std::lock_guard lock(logins->mu);
  // Logins of sessions that have ended, and tickets past their time, are let go as new ones come.
  std::erase_if(logins->by_value, [&](const auto& e) {
    auto s = controller.job(e.second.first);
    return !s || s->ended();
  });
  const auto now = std::chrono::steady_clock::now();
  std::erase_if(logins->tickets, [&](const auto& e) { return e.second.until < now; });
  logins->by_value[value] = {id, user};
  return cookie_name(id) + "=" + value + "; Path=/s/" + std::to_string(id) + "/; HttpOnly; SameSite=Strict" +
         (tls ? "; Secure" : "");
}

void ApiServer::Impl::session_login(const httplib::Request& req, httplib::Response& res) {
  auto who = authenticate(req, res);
  if (!who) return;
  const std::int64_t id = std::stoll(req.matches[1].str());
  auto t = controller.session_target(id, who->user);
  if (!t && t.error().message.ends_with("not found")) return error(res, 404, t.error().message);
  res.set_header("Set-Cookie", login_cookie(id, who->user));
  const std::string ticket = random_token();
  {
    std::lock_guard lock(logins->mu);
    logins->tickets[ticket] = {id, who->user, std::chrono::steady_clock::now() + std::chrono::minutes(1)};
  }
  const std::string path = "/s/" + std::to_string(id) + "/";
  reply(res, 200, json{{"url", path}, {"open", path + "?gwang_ticket=" + ticket}});
}

void ApiServer::Impl::enter_session(const httplib::Request& req, httplib::Response& res) {
  const std::string ticket = req.get_param_value("gwang_ticket");
  std::smatch m;
  const bool proxied = std::regex_match(req.path, m, kProxied);
  std::optional<SessionLogins::Ticket> found;
  {
    std::lock_guard lock(logins->mu);
    auto it = logins->tickets.find(ticket);
    if (it != logins->tickets.end()) {
      found = it->second;
      logins->tickets.erase(it);  // once
    }
  }
  if (!proxied || !found || found->until < std::chrono::steady_clock::now() ||
      found->session != std::stoll(m[1].str())) {
    return error(res, 401, "this link to a session has been used or is out of date: open the session again");
  }
  res.set_header("Set-Cookie", login_cookie(found->session, found->user));
  // The same place, without the ticket.
  std::string query;
  for (const auto& [name, value] : req.params) {
    if (name != "gwang_ticket")
      query += (query.empty() ? "?" : "&") + httplib::detail::encode_query_param(name) + "=" +
               httplib::detail::encode_query_param(value);
  }
  res.status = 302;
  res.set_header("Location", req.path + query);
}

namespace {

json session_json(const Controller& controller, const JobRecord& j) {
  const std::int64_t now = wall_now();
  const auto s = controller.session_state(j);
  json one{{"id", j.id},
           {"name", j.request.name},
           {"app", std::string(api::to_string(j.request.session.app))},
           {"state", std::string(to_string(j.state))},
           {"url", "/s/" + std::to_string(j.id) + "/"},
           {"ready", s && s->ready},
           {"idle_timeout", j.request.session.idle_timeout_s}};
  if (j.request.session.port > 0) one["port"] = j.request.session.port;
  if (j.state == JobState::Running) {
    one["ends_by"] = j.start + j.request.time_s;
    one["time_left"] = std::max<std::int64_t>(0, j.start + j.request.time_s - now);
    if (s && s->ready) one["idle"] = s->idle_s;
  }
  if (!j.reason.empty()) one["reason"] = j.reason;
  return one;
}

}  // namespace

void ApiServer::Impl::list_sessions(const httplib::Request& req, httplib::Response& res) {
  auto who = authenticate(req, res);
  if (!who) return;
  const bool all = req.get_param_value("all") == "1" || req.get_param_value("all") == "true";
  std::vector<JobRecord> mine;
  controller.for_each_job(all, [&](const JobRecord& j, api::Reason) {
    if (j.user == who->user && j.request.session.app != api::SessionApp::None) mine.push_back(j);
  });
  json out = json::array();
  for (const JobRecord& j : mine) out.push_back(session_json(controller, j));
  reply(res, 200, json{{"sessions", out}});
}

void ApiServer::Impl::show_session(const httplib::Request& req, httplib::Response& res) {
  auto who = authenticate(req, res);
  if (!who) return;
  const std::int64_t id = std::stoll(req.matches[1].str());
  auto job = controller.job(id);
  if (!job || job->user != who->user || job->request.session.app == api::SessionApp::None)
    return error(res, 404, "session " + std::to_string(id) + " not found");
  reply(res, 200, session_json(controller, *job));
}

void ApiServer::Impl::session_routes() {
  logins = std::make_shared<SessionLogins>();
  route("GET", "/api/v1/sessions", "/api/v1/sessions", &Impl::list_sessions);
  route("GET", "/api/v1/sessions/{id}", R"(/api/v1/sessions/(\d{1,18}))", &Impl::show_session);
  route("POST", "/api/v1/sessions/{id}/login", R"(/api/v1/sessions/(\d{1,18})/login)", &Impl::session_login);
  route("GET", "/api/v1/agent/services/{task}", R"(/api/v1/agent/services/([0-9a-z.]{1,64}))", &Impl::not_upgraded);
  for (const char* method : {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
    route(method, "/s/{id}/{path}", R"(/s/(\d{1,18})(/.*)?)", &Impl::proxy);
}

}  // namespace gwang::controller
