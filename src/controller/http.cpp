#include "controller/http.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <ctime>
#include <deque>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>

#include "api/base64.h"
#include "api/json_writer.h"
#include "api/units.h"
#include "controller/http_impl.h"

namespace gwang::controller {

using nlohmann::json;
namespace proto = agent::protocol;

void reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void error(httplib::Response& res, int status, const std::string& message) {
  reply(res, status, json{{"error", message}});
}

std::int64_t wall_now() { return static_cast<std::int64_t>(std::time(nullptr)); }

std::optional<std::int64_t> int_param(const httplib::Request& req, const char* name, std::int64_t min, std::int64_t max,
                                      std::int64_t fallback, httplib::Response& res) {
  if (!req.has_param(name)) return fallback;
  const std::string text = req.get_param_value(name);
  std::int64_t v = 0;
  const bool digits = !text.empty() && text.size() <= 18 && text.find_first_not_of("0123456789") == std::string::npos;
  if (digits) v = std::stoll(text);
  if (!digits || v < min || v > max) {
    error(res, 400,
          std::string("parameter '") + name + "': expected a whole number from " + std::to_string(min) + " to " +
              std::to_string(max));
    return std::nullopt;
  }
  return v;
}

std::optional<JobFilter> job_filter(const httplib::Request& req, httplib::Response& res) {
  JobFilter f;
  auto list = [&](const char* name) {
    std::set<std::string> out;
    if (!req.has_param(name)) return out;
    const std::string text = req.get_param_value(name);
    for (std::size_t at = 0; at <= text.size();) {
      std::size_t comma = text.find(',', at);
      if (comma == std::string::npos) comma = text.size();
      if (comma > at) out.insert(text.substr(at, comma - at));
      at = comma + 1;
    }
    return out;
  };
  for (const std::string& name : list("state")) {
    const auto s = parse_job_state(name);
    if (!s) {
      error(res, 400,
            "parameter 'state': '" + name +
                "' is not a job state (PENDING, RUNNING, COMPLETED, FAILED, "
                "CANCELLED, TIMEOUT, OUT_OF_MEMORY, NODE_FAIL, DEADLINE)");
      return std::nullopt;
    }
    f.states.insert(*s);
    f.wants_ended = f.wants_ended || (*s != JobState::Pending && *s != JobState::Running);
  }
  f.projects = list("project");
  f.users = list("user");
  const std::string order = req.has_param("order") ? req.get_param_value("order") : "asc";
  if (order != "asc" && order != "desc") {
    error(res, 400, "parameter 'order': expected asc or desc");
    return std::nullopt;
  }
  f.descending = order == "desc";
  auto offset = int_param(req, "offset", 0, std::numeric_limits<std::int64_t>::max() / 2, 0, res);
  if (!offset) return std::nullopt;
  auto limit = int_param(req, "limit", 1, 10000, f.limit, res);
  if (!limit) return std::nullopt;
  f.offset = *offset;
  f.limit = *limit;
  return f;
}

namespace {

// Answers of 1 KiB or more in JSON or text (the dashboard's files) go out gzipped, at zlib's
// fastest level, to clients that accept it: 5 ms for the 800 KB cluster map of 6,250 nodes on a busy
// 2-core machine.
bool compressible(const std::string& type) {
  return type.starts_with("application/json") || type.starts_with("text/") ||
         type.starts_with("application/javascript") || type.starts_with("image/svg+xml");
}

void gzip(const httplib::Request& req, httplib::Response& res) {
  if (res.body.size() < 1024 || res.has_header("Content-Encoding")) return;
  if (!compressible(res.get_header_value("Content-Type"))) return;
  if (req.get_header_value("Accept-Encoding").find("gzip") == std::string::npos) return;
  z_stream z{};
  if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return;
  std::string out(deflateBound(&z, static_cast<uLong>(res.body.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(res.body.data());
  z.avail_in = static_cast<uInt>(res.body.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) return;
  res.body = std::move(out);
  res.set_header("Content-Encoding", "gzip");
  res.set_header("Vary", "Accept-Encoding");
}

// A path with the segment after each collection replaced by {}: /api/v1/jobs/12/logs ->
// /api/v1/jobs/{}/logs. Documented routes and requested paths meet in this shape.
std::string shape_of(std::string_view path) {
  static const std::set<std::string_view> kCollections = {"jobs",  "nodes",  "institutions", "projects",
                                                          "users", "tokens", "grants",       "members"};
  std::string out;
  bool after_collection = false;
  std::size_t at = 0;
  while (at < path.size()) {
    std::size_t next = path.find('/', at + 1);
    if (next == std::string_view::npos) next = path.size();
    const std::string_view segment = path.substr(at + 1, next - at - 1);  // without its '/'
    out += '/';
    out += after_collection ? std::string_view("{}") : segment;
    after_collection = !after_collection && kCollections.contains(segment);
    at = next;
  }
  return out;
}

}  // namespace

std::string ApiServer::Impl::route_of(const std::string& path) {
  auto it = api.routes.find(shape_of(path));
  return it == api.routes.end() ? "other" : it->second;
}

void ApiServer::Impl::write_api_metrics(std::string& out) {
  namespace m = metrics;
  std::lock_guard lock(api.mu);
  m::family(out, "gwang_api_requests_total", "counter", "API requests served, by method, route and status");
  for (const auto& [key, n] : api.requests) {
    const auto& [method, route, code] = key;
    const std::string status = std::to_string(code);
    m::sample(out, "gwang_api_requests_total", m::labels({{"method", method}, {"route", route}, {"code", status}}),
              static_cast<double>(n));
  }
  m::family(out, "gwang_api_request_duration_seconds", "histogram", "Time to serve an API request, by route");
  for (const auto& [route, h] : api.seconds)
    h.write(out, "gwang_api_request_duration_seconds", m::labels({{"route", route}}));
}

void ApiServer::Impl::add(const std::string& method, const std::string& path, const std::string& pattern, Serve h) {
  documented.push_back(method + " " + path);
  {
    std::string shape;  // {id}, {name}, ... -> {}
    for (std::size_t i = 0; i < path.size(); ++i) {
      if (path[i] == '{') {
        shape += "{}";
        i = path.find('}', i);
      } else {
        shape += path[i];
      }
    }
    api.routes[shape] = path;
  }
  Route r{method, "", std::nullopt, std::move(h)};
  if (pattern.find_first_of("\\()[]{}.*+?^$|") == std::string::npos) {
    r.literal = pattern;
  } else {
    r.pattern.emplace(pattern);
  }
  table.push_back(std::move(r));
}

bool ApiServer::Impl::dispatch(httplib::Request& req, httplib::Response& res, bool in_loop) {
  const auto started = std::chrono::steady_clock::now();
  const std::string& method = req.method == "HEAD" ? std::string("GET") : req.method;
  const Route* found = nullptr;
  for (const Route& r : table) {
    if (r.method != method) continue;
    if (r.pattern ? std::regex_match(req.path, req.matches, *r.pattern) : req.path == r.literal) {
      found = &r;
      break;
    }
  }
  if (in_loop && (!found || !found->in_loop)) return false;
  try {
    if (in_loop) {
      if (!found->in_loop(req, res)) return false;
    } else if (found) {
      found->serve(req, res);
    } else if (method != "GET" || !serve_file(req, res)) {
      error(res, 404, "no such route: " + req.method + " " + req.path);
    }
  } catch (const std::exception& e) {
    res = httplib::Response{};
    error(res, 500, std::string("internal error: ") + e.what());
  }
  gzip(req, res);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const std::string route = route_of(req.path);
  std::lock_guard lock(api.mu);
  ++api.requests[{req.method, route, res.status}];
  api.seconds.try_emplace(route, metrics::short_seconds()).first->second.observe(seconds);
  return true;
}

std::optional<std::string> bearer_token(const httplib::Request& req) {
  const std::string header = req.get_header_value("Authorization");
  const std::string prefix = "Bearer ";
  if (header.rfind(prefix, 0) == 0) return header.substr(prefix.size());
  // A browser's WebSocket (and only a WebSocket's upgrade): its subprotocols "gwang, gwang.bearer.TOKEN".
  std::string upgrade = req.get_header_value("Upgrade");
  for (char& c : upgrade) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (req.method != "GET" || upgrade != "websocket") return std::nullopt;
  const std::string offered = req.get_header_value("Sec-WebSocket-Protocol");
  constexpr std::string_view kMark = "gwang.bearer.";
  for (const std::string_view one : websocket_subprotocols(offered)) {
    if (one.starts_with(kMark) && one.size() > kMark.size()) return std::string(one.substr(kMark.size()));
  }
  return std::nullopt;
}

std::optional<Scope> ApiServer::Impl::authenticate(const httplib::Request& req, httplib::Response& res) {
  const std::optional<std::string> presented = bearer_token(req);
  if (!presented) {
    error(res, 401, "missing bearer token (Authorization: Bearer <token>)");
    return std::nullopt;
  }
  const std::string& token = *presented;
  auto who = tokens.check(token);
  if (!who) {
    if (auto user = controller.job_credential_user(token)) who = Principal{*user, false};
  }
  if (!who) {
    error(res, 401, "invalid token");
    return std::nullopt;
  }
  Scope scope;
  scope.user = who->user;
  scope.is_operator = who->is_operator;
  // The tenancy of the latest view: no lock, so a pass never holds up who a caller is.
  const std::shared_ptr<const core::Tenancy> tenancy = controller.tenancy();
  const core::User* u = tenancy->user(scope.user);
  if (!u) return scope;
  scope.is_operator = scope.is_operator || u->is_operator;
  scope.projects = u->projects;
  scope.institutions = u->admin_of;
  if (u->admin_of.empty()) return scope;  // most callers: no walk over the centre's projects
  for (const auto& [name, project] : tenancy->projects()) {
    if (u->admin_of.contains(project.institution)) scope.managed.insert(name);
  }
  return scope;
}

std::optional<JobRecord> ApiServer::Impl::visible_job(const httplib::Request& req, httplib::Response& res,
                                                      const Scope& who) {
  const std::int64_t id = std::stoll(req.matches[1]);
  auto job = controller.job(id);
  if (!job || !who.sees(job->project, job->user)) {
    error(res, 404, "job " + std::to_string(id) + " not found");
    return std::nullopt;
  }
  return job;
}

std::optional<json> ApiServer::Impl::body_object(const httplib::Request& req, httplib::Response& res) {
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    error(res, 400, "expected a JSON object in the request body");
    return std::nullopt;
  }
  return body;
}

bool ApiServer::Impl::change(httplib::Response& res, const std::string& kind, const json& payload) {
  auto r = controller.administer(kind, payload, wall_now());
  if (!r) {
    error(res, r.error().message.starts_with("journal") ? 500 : 422, r.error().message);
    return false;
  }
  return true;
}

void ApiServer::Impl::routes() {
  // Jobs (http_jobs.cpp) and their steps (http_steps.cpp).
  route("POST", "/api/v1/jobs", "/api/v1/jobs", &Impl::submit_job);
  route("GET", "/api/v1/jobs", "/api/v1/jobs", &Impl::list_jobs);
  route("GET", "/api/v1/jobs/{id}", R"(/api/v1/jobs/(\d{1,18}))", &Impl::show_job);
  route("POST", "/api/v1/jobs/{id}/cancel", R"(/api/v1/jobs/(\d{1,18})/cancel)", &Impl::cancel_job);
  route("POST", "/api/v1/jobs/{id}/signal", R"(/api/v1/jobs/(\d{1,18})/signal)", &Impl::signal_job);
  route("POST", "/api/v1/jobs/{id}/hold", R"(/api/v1/jobs/(\d{1,18})/hold)", &Impl::hold_job);
  route("POST", "/api/v1/jobs/{id}/release", R"(/api/v1/jobs/(\d{1,18})/release)", &Impl::release_job);
  route("GET", "/api/v1/jobs/{id}/allocation", R"(/api/v1/jobs/(\d{1,18})/allocation)", &Impl::show_allocation);
  route("POST", "/api/v1/jobs/{id}/relinquish", R"(/api/v1/jobs/(\d{1,18})/relinquish)", &Impl::relinquish_job);
  route("GET", "/api/v1/partitions", "/api/v1/partitions", &Impl::list_partitions);
  route("GET", "/api/v1/licenses", "/api/v1/licenses", &Impl::list_licenses);
  route("GET", "/api/v1/jobs/{id}/logs", R"(/api/v1/jobs/(\d{1,18})/logs)", &Impl::job_logs);
  route("POST", "/api/v1/jobs/{id}/steps", R"(/api/v1/jobs/(\d{1,18})/steps)", &Impl::start_step);
  route("GET", "/api/v1/jobs/{id}/steps/{step}", R"(/api/v1/jobs/(\d{1,18})/steps/(\d{1,6}))", &Impl::show_step);
  route("POST", "/api/v1/jobs/{id}/steps/{step}/cancel", R"(/api/v1/jobs/(\d{1,18})/steps/(\d{1,6})/cancel)",
        &Impl::cancel_step);
  // Terminals are WebSockets (upgrade(), http_terminals.cpp); a plain request is told so.
  route("GET", "/api/v1/jobs/{id}/steps/{step}/terminal", R"(/api/v1/jobs/(\d{1,18})/steps/(\d{1,6})/terminal)",
        &Impl::not_upgraded);
  route("GET", "/api/v1/agent/terminals/{task}", R"(/api/v1/agent/terminals/([0-9a-z.]{1,64}))", &Impl::not_upgraded);
  // Nodes, the controller's own figures, and the agents' protocol (http_nodes.cpp).
  route("GET", "/api/v1/nodes", "/api/v1/nodes", &Impl::list_nodes);
  route("POST", "/api/v1/nodes/{name}/drain", R"(/api/v1/nodes/([A-Za-z0-9._-]{1,64})/drain)", &Impl::drain_node);
  route("POST", "/api/v1/nodes/{name}/resume", R"(/api/v1/nodes/([A-Za-z0-9._-]{1,64})/resume)", &Impl::resume_node);
  route("GET", "/api/v1/status", "/api/v1/status", &Impl::show_status);
  route("GET", "/api/v1/config", "/api/v1/config", &Impl::show_config);
  route("POST", "/api/v1/agent/sync", proto::kSyncPath, &Impl::agent_sync, &Impl::agent_sync_in_loop);
  route("GET", "/metrics", "/metrics", &Impl::show_metrics);
  book_routes();
  dashboard_routes();
  session_routes();
}

void ApiServer::Impl::route(const std::string& method, const std::string& path, const std::string& pattern,
                            Handler handler, LoopHandler in_loop) {
  add(method, path, pattern,
      [this, handler](const httplib::Request& req, httplib::Response& res) { (this->*handler)(req, res); });
  if (in_loop) {
    table.back().in_loop = [this, in_loop](const httplib::Request& req, httplib::Response& res) {
      return (this->*in_loop)(req, res);
    };
  }
}

ApiServer::ApiServer(Controller& controller, TokenStore& tokens, std::string cluster_secret)
    : impl_(std::make_unique<Impl>(controller, tokens, std::move(cluster_secret))) {
  impl_->routes();
}

ApiServer::~ApiServer() = default;

const std::vector<std::string>& ApiServer::routes() const { return impl_->documented; }

Result<int> ApiServer::bind(const std::string& host, int port) { return impl_->transport.bind(host, port); }

void ApiServer::use_tls(std::shared_ptr<net::ServerCredentials> credentials) {
  impl_->tls = credentials != nullptr;
  impl_->transport.use_tls(std::move(credentials));
}

void ApiServer::serve() { impl_->transport.run(); }

void ApiServer::stop() { impl_->transport.stop(); }

}  // namespace gwang::controller
