#include "controller/http.h"

#include <zlib.h>

#include <array>
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

namespace {

// A job step: with `tasks`, each task's node and end too.
void write_step(api::Json& w, const JobRecord& j, const StepRecord& st, bool tasks) {
  w.begin_object().field("id", st.id).field("name", st.name).field("state", st.state);
  w.field("exit_code", st.exit_code).field("signal", st.signal);
  w.key("start_time");
  st.start >= 0 ? w.value(st.start) : w.null();
  w.key("end_time");
  st.end >= 0 ? w.value(st.end) : w.null();
  w.field("ntasks", static_cast<std::int64_t>(st.tasks.size())).field("cpus_per_task", st.cpus_per_task);
  std::vector<std::string> nodes;
  for (int n : st.nodes()) nodes.push_back(j.tasks[static_cast<std::size_t>(n)].node);
  w.key("nodes").strings(nodes);
  w.key("command").strings(st.argv);
  if (!st.stopping.empty() && !st.ended()) w.field("stopping", st.stopping);
  if (tasks) {
    w.key("tasks").begin_array();
    for (const StepTaskRecord& t : st.tasks) {
      w.begin_object().field("node", j.tasks[static_cast<std::size_t>(t.node)].node);
      w.field("state", t.done() ? t.state : std::string(kRunning));
      w.field("exit_code", t.exit_code).field("signal", t.signal).end_object();
    }
    w.end_array();
  }
  w.end_object();
}

// Jobs are written straight as text: the job list is the API's largest and most frequent answer.
// `estimate`: the planned start of a waiting job (?start=1), written as estimated_start.
void write_job(api::Json& w, const JobRecord& j, std::string_view reason, const std::int64_t* estimate = nullptr) {
  const auto& r = j.request;
  w.begin_object();
  w.field("id", j.id).field("name", r.name).field("user", j.user).field("state", j.state);
  w.field("reason", reason).field("submit_time", j.submit);
  w.key("start_time");
  j.start >= 0 ? w.value(j.start) : w.null();
  w.key("end_time");
  j.end >= 0 ? w.value(j.end) : w.null();
  w.key("command").strings(r.command);
  w.field("workdir", r.workdir).field("cpus", r.cpus).field("mem", r.mem_bytes).field("nodes", r.nodes);
  w.field("time_limit", r.time_s).field("exit_code", j.exit_code).field("node", j.nodelist());
  w.field("attempt", j.attempt).field("requeue", r.requeue);
  w.field("project", j.project).field("preemptible", j.preemptible);
  std::vector<std::string> devices;
  for (const TaskRecord& t : j.tasks) devices.insert(devices.end(), t.devices.begin(), t.devices.end());
  w.key("devices").strings(devices);
  if (r.gpus.count > 0) {
    w.key("gpus").begin_object().field("count", r.gpus.count);
    w.key("models").strings(r.gpus.models);
    w.end_object();
  }
  if (r.gpu_share > 0) w.field("gpu_share", r.gpu_share);
  if (r.begin > 0) w.field("begin", r.begin);
  if (!r.dependency.empty()) w.field("dependency", r.dependency);
  if (j.batch()) w.field("batch", true);  // the script itself is not repeated in listings
  if (!r.output.empty()) w.field("output", r.output);
  if (!r.error.empty()) w.field("error", r.error);
  if (!r.input.empty()) w.field("input", r.input);
  if (r.open_append) w.field("open_append", true);
  if (!r.comment.empty()) w.field("comment", r.comment);
  if (!r.partition.empty()) w.field("partition", r.partition);
  if (!j.hold.empty()) w.field("hold", j.hold);
  if (!r.qos.empty()) w.field("qos", r.qos);
  if (j.in_array()) {
    w.field("array", r.array).field("array_job_id", j.array_job).field("array_task_id", j.array_task);
  }
  if (!j.steps.empty()) {
    w.key("steps").begin_array();
    for (const StepRecord& st : j.steps) write_step(w, j, st, false);
    w.end_array();
  }
  if (estimate) {
    w.key("estimated_start");
    *estimate >= 0 ? w.value(*estimate) : w.null();
  }
  if (j.priority) {
    w.key("priority").begin_object().field("total", j.priority->total).field("age", j.priority->age);
    w.field("fairshare", j.priority->fairshare).field("size", j.priority->size);
    w.field("programme", j.priority->programme).end_object();
  }
  w.end_object();
}

void reply_job(httplib::Response& res, int status, const JobRecord& j) {
  api::Json w;
  write_job(w, j, j.reason);
  res.status = status;
  res.set_content(w.str(), "application/json");
}

json node_json(const NodeRecord& n) {
  json devices = json::array();
  for (const auto& d : n.devices) {
    devices.push_back({{"kind", d.kind},
                       {"name", d.name},
                       {"uuid", d.uuid},
                       {"index", d.index},
                       {"memory", d.memory_bytes},
                       {"declared", d.declared}});
  }
  return {{"name", n.name},
          {"state", n.state},
          {"cpus", n.cpus},
          {"cpus_used", n.cpus_used},
          {"memory", n.memory_bytes},
          {"memory_used", n.memory_used},
          {"devices", devices},
          {"jobs", n.jobs},
          {"tracking", n.tracking},
          {"address", n.address},
          {"partitions", n.partitions},
          {"local", n.local},
          {"last_seen", n.last_seen >= 0 ? json(n.last_seen) : json(nullptr)}};
}

}  // namespace

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
  static const std::set<std::string> kStates = {kPending,   kRunning, kCompleted,   kFailed,
                                                kCancelled, kTimeout, kOutOfMemory, kNodeFail};
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
  f.states = list("state");
  for (const std::string& s : f.states) {
    if (!kStates.contains(s)) {
      error(res, 400,
            "parameter 'state': '" + s +
                "' is not a job state (PENDING, RUNNING, COMPLETED, FAILED, "
                "CANCELLED, TIMEOUT, OUT_OF_MEMORY, NODE_FAIL)");
      return std::nullopt;
    }
    f.wants_ended = f.wants_ended || (s != kPending && s != kRunning);
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

// JSON answers of 1 KiB or more go out gzipped (at zlib's fastest level) to clients that accept
// it (every route's handler ends with it). Left to itself, the HTTP library would pick Brotli at its slowest, best
// level: 6 s for the 800 KB cluster map of 6,250 nodes on a busy 2-core machine, against 5 ms here. The content type
// gains a charset, which the library does not compress again.
void gzip_json(const httplib::Request& req, httplib::Response& res) {
  if (res.body.size() < 1024 || res.has_header("Content-Encoding")) return;
  if (res.get_header_value("Content-Type") != "application/json") return;
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
  res.headers.erase("Content-Type");
  res.set_header("Content-Type", "application/json; charset=utf-8");
  res.set_header("Content-Encoding", "gzip");
  res.set_header("Vary", "Accept-Encoding");
}

thread_local std::chrono::steady_clock::time_point request_started;  // of the request this thread serves
}  // namespace

namespace {

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

void ApiServer::Impl::add(const std::string& method, const std::string& path, const std::string& pattern,
                          httplib::Server::Handler h) {
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
  auto then_gzip = [h = std::move(h)](const httplib::Request& req, httplib::Response& res) {
    h(req, res);
    gzip_json(req, res);
  };
  if (method == "GET") {
    server.Get(pattern, std::move(then_gzip));
  } else {
    server.Post(pattern, std::move(then_gzip));
  }
}

std::optional<Scope> ApiServer::Impl::authenticate(const httplib::Request& req, httplib::Response& res) {
  const std::string header = req.get_header_value("Authorization");
  const std::string prefix = "Bearer ";
  if (header.rfind(prefix, 0) != 0) {
    error(res, 401, "missing bearer token (Authorization: Bearer <token>)");
    return std::nullopt;
  }
  const std::string token = header.substr(prefix.size());
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
  controller.read_books([&](const Accounting& books) {
    const core::Tenancy& t = books.tenancy();
    const core::User* u = t.user(scope.user);
    if (!u) return;
    scope.is_operator = scope.is_operator || u->is_operator;
    scope.projects = u->projects;
    scope.institutions = u->admin_of;
    if (u->admin_of.empty()) return;  // most callers: no walk over the centre's projects
    for (const auto& [name, project] : t.projects()) {
      if (u->admin_of.contains(project.institution)) scope.managed.insert(name);
    }
  });
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
  add("POST", "/api/v1/jobs", "/api/v1/jobs", [this](const httplib::Request& req, httplib::Response& res) {
    auto who = authenticate(req, res);
    if (!who) return;
    auto request = api::parse_submit(req.body);
    if (!request) return error(res, 400, request.error().message);
    if (!request->project.empty() && !who->projects.contains(request->project)) {
      return error(res, 403,
                   "field 'project': " + who->user + " is not a member of project '" + request->project + "'");
    }
    auto account = lookup_account(who->user);
    if (!account) return error(res, 403, account.error().message);
    if (req.get_param_value("test_only") == "1") {  // sbatch --test-only: checked and planned, not submitted
      auto t = controller.test_only(*request, *account, wall_now());
      if (!t) return error(res, 422, t.error().message);
      return reply(res, 200,
                   json{{"id", t->id},
                        {"start", t->start >= 0 ? json(t->start) : json(nullptr)},
                        {"nodes", t->nodes},
                        {"partition", t->partition},
                        {"cpus", t->cpus}});
    }
    auto job = controller.submit(*request, *account, wall_now());
    if (!job) return error(res, 422, job.error().message);
    reply_job(res, 201, *job);
  });
  add("GET", "/api/v1/jobs", "/api/v1/jobs", [this](const httplib::Request& req, httplib::Response& res) {
    auto who = authenticate(req, res);
    if (!who) return;
    const bool all = req.get_param_value("all") == "1" || req.get_param_value("all") == "true";
    const std::string view = req.has_param("view") ? req.get_param_value("view") : "full";
    if (view != "full" && view != "summary" && view != "table") {
      return error(res, 400, "parameter 'view': expected full, summary or table");
    }
    if (view == "table") {
      // Rows of [id, name, user, state, reason, start_time, end_time, node], where name, user,
      // state and reason are indices into "strings": a queue repeats them, and the table is what
      // `gwang queue` prints, so it is sent small.
      // Keys are views of the jobs' own strings (stable while the visit holds the lock) or of
      // copies kept in `made`, for reasons made on the fly.
      std::unordered_map<std::string_view, int> index;
      std::vector<std::string_view> strings;
      std::deque<std::string> made;
      auto intern = [&](std::string_view text, bool stable) {
        auto it = index.find(text);
        if (it != index.end()) return it->second;
        if (!stable) text = made.emplace_back(text);
        strings.push_back(text);
        return index.emplace(text, static_cast<int>(strings.size() - 1)).first->second;
      };
      api::Json rows;
      rows.reserve(64 << 10);
      rows.begin_array();
      controller.for_each_job(all, [&](const JobRecord& j, std::string_view reason) {
        if (!who->sees(j.project, j.user)) return;
        rows.begin_array().value(j.id).value(intern(j.request.name, true)).value(intern(j.user, true));
        rows.value(intern(j.state, true)).value(intern(reason, false));
        j.start >= 0 ? rows.value(j.start) : rows.null();
        j.end >= 0 ? rows.value(j.end) : rows.null();
        rows.value(j.tasks.empty() ? std::string() : j.nodelist());
        rows.end_array();
      });
      rows.end_array();
      api::Json w;
      w.reserve(rows.str().size() + 4096);
      w.begin_object().key("strings").begin_array();
      for (std::string_view t : strings) w.value(t);
      w.end_array();
      std::string body = w.str() + ",\"rows\":" + rows.str() + "}";
      res.status = 200;
      res.set_content(std::move(body), "application/json");
      return;
    }
    // Filters (state, project, user: comma-separated lists) and a page (offset, limit; order
    // asc by id, or desc: newest first); "total" counts every job that matches.
    auto filter = job_filter(req, res);
    if (!filter) return;
    const bool full = view == "full";
    // ?start=1: the waiting jobs' planned starts (the first 1,000 in queue order; others null).
    const bool starts = req.get_param_value("start") == "1" || req.get_param_value("start") == "true";
    const std::map<std::int64_t, std::int64_t> planned =
        starts ? controller.planned_starts(wall_now(), 1000) : std::map<std::int64_t, std::int64_t>{};
    auto write_one = [&](api::Json& w, const JobRecord& j, std::string_view reason) {
      if (full) {
        const auto p = planned.find(j.id);
        const std::int64_t none = -1;
        return write_job(w, j, reason, !starts ? nullptr : p != planned.end() ? &p->second : &none);
      }
      w.begin_object();
      w.field("id", j.id).field("name", j.request.name).field("user", j.user).field("state", j.state);
      w.field("reason", reason).field("submit_time", j.submit);
      w.key("start_time");
      j.start >= 0 ? w.value(j.start) : w.null();
      w.key("end_time");
      j.end >= 0 ? w.value(j.end) : w.null();
      w.field("node", j.nodelist()).field("project", j.project);
      if (starts) {
        auto p = planned.find(j.id);
        w.key("estimated_start");
        p != planned.end() && p->second >= 0 ? w.value(p->second) : w.null();
      }
      w.end_object();
    };
    // One pass, in the page's order: every matching job is counted, the page's are written (and
    // only theirs get their reasons made).
    std::int64_t total = 0;
    api::Json w;
    w.reserve(64 << 10);
    w.begin_array();
    controller.scan_jobs(all || filter->wants_ended, filter->descending,
                         [&](const JobRecord& j, const Controller::Reasons& reason) {
                           if (!who->sees(j.project, j.user) || !filter->matches(j)) return true;
                           const std::int64_t rank = total++;
                           if (rank >= filter->offset && rank < filter->offset + filter->limit) {
                             write_one(w, j, reason(j));
                           }
                           return true;
                         });
    w.end_array();
    std::string body = "{\"total\":" + std::to_string(total) + ",\"offset\":" + std::to_string(filter->offset) +
                       ",\"jobs\":" + w.str();
    body += "}";
    res.status = 200;
    res.set_content(std::move(body), "application/json");
  });
  add("GET", "/api/v1/jobs/{id}", R"(/api/v1/jobs/(\d{1,18}))",
      [this](const httplib::Request& req, httplib::Response& res) {
        auto who = authenticate(req, res);
        if (!who) return;
        if (auto job = visible_job(req, res, *who)) reply_job(res, 200, *job);
      });
  // Cancels, holds and releases: the owner, the institution's admins and operators may. A hold by
  // someone other than the owner is theirs to release (JobHeldAdmin). ?task_only=1: an array's id
  // names its first task alone.
  using Action = std::function<Result<JobRecord>(const Scope&, const JobRecord&, bool task_only)>;
  auto job_action = [this](std::string verb, Action act) {
    return [this, verb, act](const httplib::Request& req, httplib::Response& res) {
      auto who = authenticate(req, res);
      if (!who) return;
      auto job = visible_job(req, res, *who);
      if (!job) return;
      if (!who->cancels(job->project, job->user)) {
        return error(res, 403,
                     "job " + std::to_string(job->id) + " is not yours to " + verb +
                         " (its owner, its institution's admins and operators may)");
      }
      auto r = act(*who, *job, req.get_param_value("task_only") == "1");
      if (!r) return error(res, 409, r.error().message);
      reply_job(res, 200, *r);
    };
  };
  add("POST", "/api/v1/jobs/{id}/cancel", R"(/api/v1/jobs/(\d{1,18})/cancel)",
      job_action("cancel", [this](const Scope& who, const JobRecord& job, bool task_only) {
        return controller.cancel(job.id, who.user, true, wall_now(), task_only);
      }));
  auto hold = [this](bool on) {
    return [this, on](const Scope& who, const JobRecord& job, bool task_only) {
      return controller.set_hold(job.id, on, who.user, who.user != job.user || who.is_operator, wall_now(), task_only);
    };
  };
  add("POST", "/api/v1/jobs/{id}/hold", R"(/api/v1/jobs/(\d{1,18})/hold)", job_action("hold", hold(true)));
  add("POST", "/api/v1/jobs/{id}/release", R"(/api/v1/jobs/(\d{1,18})/release)", job_action("release", hold(false)));
  add("GET", "/api/v1/partitions", "/api/v1/partitions", [this](const httplib::Request& req, httplib::Response& res) {
    auto who = authenticate(req, res);
    if (!who) return;
    json out = json::array();
    for (const Controller::PartitionRecord& p : controller.partitions()) {
      out.push_back({{"name", p.spec.name},
                     {"default", p.spec.is_default},
                     {"max_time", p.spec.max_time_s > 0 ? json(p.spec.max_time_s) : json(nullptr)},
                     {"nodes", p.nodes}});
    }
    reply(res, 200, json{{"partitions", out}});
  });
  add("GET", "/api/v1/jobs/{id}/logs", R"(/api/v1/jobs/(\d{1,18})/logs)",
      [this](const httplib::Request& req, httplib::Response& res) {
        auto who = authenticate(req, res);
        if (!who) return;
        auto job = visible_job(req, res, *who);
        if (!job) return;
        const std::string stream = req.has_param("stream") ? req.get_param_value("stream") : "stdout";
        if (stream != "stdout" && stream != "stderr") {
          return error(res, 400, "parameter 'stream': expected stdout or stderr");
        }
        auto from = int_param(req, "offset", 0, std::numeric_limits<std::int64_t>::max() / 2, 0, res);
        if (!from) return;
        std::int64_t offset = *from;
        auto rank_param = int_param(req, "rank", 0, std::max(1, job->request.nodes) - 1, 0, res);
        if (!rank_param) return;
        const int rank = static_cast<int>(*rank_param);
        // ?tail=BYTES: the last BYTES of the stream (from a line's start), instead of from `offset`.
        auto tail = int_param(req, "tail", 1, 8 << 20, 0, res);
        if (!tail) return;
        std::ifstream in(controller.log_path(*job, rank, stream == "stderr"), std::ios::binary);
        std::string data;
        if (in && *tail > 0) {
          in.seekg(0, std::ios::end);
          const std::int64_t size = static_cast<std::int64_t>(in.tellg());
          offset = std::max<std::int64_t>(0, size - *tail);
          if (offset > 0) {  // start after the first newline in the window, so no line is cut
            std::string window(static_cast<std::size_t>(size - offset), '\0');
            in.seekg(offset);
            in.read(window.data(), static_cast<std::streamsize>(window.size()));
            const std::size_t nl = window.find('\n');
            if (nl != std::string::npos && nl + 1 < window.size()) offset += static_cast<std::int64_t>(nl + 1);
          }
          in.clear();
        }
        if (in) {
          constexpr std::size_t kChunk = 8u << 20;  // at most this much per answer
          in.seekg(offset);
          data.resize(kChunk);
          in.read(data.data(), static_cast<std::streamsize>(kChunk));
          data.resize(static_cast<std::size_t>(std::max<std::streamsize>(0, in.gcount())));
        }
        res.set_header("X-Gwang-Next-Offset", std::to_string(offset + static_cast<std::int64_t>(data.size())));
        res.set_header("X-Gwang-Job-State", job->state);
        res.status = 200;
        res.set_content(data, "text/plain");
      });
  // Job steps (srun inside a job): started by the job's owner alone, since its tasks run as the
  // owner; seen by whoever sees the job; cancelled by whoever may cancel it.
  add("POST", "/api/v1/jobs/{id}/steps", R"(/api/v1/jobs/(\d{1,18})/steps)",
      [this](const httplib::Request& req, httplib::Response& res) {
        auto who = authenticate(req, res);
        if (!who) return;
        auto job = visible_job(req, res, *who);
        if (!job) return;
        if (job->user != who->user) {
          return error(res, 403,
                       "job " + std::to_string(job->id) + " is " + job->user + "'s: only its owner starts steps in it");
        }
        auto request = api::parse_step(req.body);
        if (!request) return error(res, 400, request.error().message);
        auto step = controller.start_step(job->id, *request, who->user, false, wall_now());
        if (!step) return error(res, 409, step.error().message);
        auto now = controller.job(job->id);
        api::Json w;
        write_step(w, now ? *now : *job, *step, true);
        res.status = 201;
        res.set_content(w.str(), "application/json");
      });
  auto step_of = [](const JobRecord& job, const std::string& text) -> const StepRecord* {
    const std::int64_t id = std::stoll(text);
    return id < static_cast<std::int64_t>(job.steps.size()) ? &job.steps[static_cast<std::size_t>(id)] : nullptr;
  };
  // A step, with its tasks and their new output: ?offsets=OUT:ERR,... (bytes already read of each
  // task's stdout and stderr, in task order; missing ones are 0). At most 1 MiB of a stream and
  // 4 MiB in all per answer; a task's output is all there once the step shows ended.
  add("GET", "/api/v1/jobs/{id}/steps/{step}", R"(/api/v1/jobs/(\d{1,18})/steps/(\d{1,6}))",
      [this, step_of](const httplib::Request& req, httplib::Response& res) {
        auto who = authenticate(req, res);
        if (!who) return;
        auto job = visible_job(req, res, *who);
        if (!job) return;
        const StepRecord* step = step_of(*job, req.matches[2]);
        if (!step)
          return error(res, 404, "step " + std::to_string(job->id) + "." + std::string(req.matches[2]) + " not found");
        std::vector<std::array<std::int64_t, 2>> offsets(step->tasks.size(), {0, 0});
        if (req.has_param("offsets")) {
          const std::string text = req.get_param_value("offsets");
          std::size_t at = 0, task = 0;
          while (at < text.size()) {
            const std::size_t comma = std::min(text.find(',', at), text.size());
            const std::string one = text.substr(at, comma - at);
            const std::size_t colon = one.find(':');
            std::int64_t out = -1, err = -1;
            try {
              std::size_t used = 0;
              if (colon != std::string::npos) {
                out = std::stoll(one.substr(0, colon), &used);
                if (used != colon) out = -1;
                err = std::stoll(one.substr(colon + 1), &used);
                if (used != one.size() - colon - 1) err = -1;
              }
            } catch (const std::exception&) {
              out = -1;
            }
            if (out < 0 || err < 0 || task >= offsets.size()) {
              return error(res, 400,
                           "parameter 'offsets': expected OUT:ERR byte counts for each of the step's " +
                               std::to_string(offsets.size()) + " task(s), separated by commas (at '" + one + "')");
            }
            offsets[task++] = {out, err};
            at = comma + 1;
          }
        }
        api::Json w;
        w.begin_object().key("step");
        write_step(w, *job, *step, true);
        w.key("output").begin_array();
        constexpr std::int64_t kStream = 1 << 20, kAll = 4 << 20;
        std::int64_t budget = kAll;
        for (std::size_t t = 0; t < step->tasks.size() && budget > 0; ++t) {
          std::string data[2];
          for (int s = 0; s < 2; ++s) {
            std::ifstream in(controller.step_log_path(*job, step->id, static_cast<int>(t), s == 1), std::ios::binary);
            if (!in) continue;
            in.seekg(offsets[t][static_cast<std::size_t>(s)]);
            data[s].resize(static_cast<std::size_t>(std::min(kStream, budget)));
            in.read(data[s].data(), static_cast<std::streamsize>(data[s].size()));
            data[s].resize(static_cast<std::size_t>(std::max<std::streamsize>(0, in.gcount())));
            budget -= static_cast<std::int64_t>(data[s].size());
          }
          if (data[0].empty() && data[1].empty()) continue;
          w.begin_object().field("task", static_cast<std::int64_t>(t));
          w.field("stdout", api::base64(data[0])).field("stderr", api::base64(data[1]));
          w.field("stdout_offset", offsets[t][0] + static_cast<std::int64_t>(data[0].size()));
          w.field("stderr_offset", offsets[t][1] + static_cast<std::int64_t>(data[1].size()));
          w.end_object();
        }
        w.end_array();
        w.field("more", budget <= 0).end_object();
        res.status = 200;
        res.set_content(w.str(), "application/json");
      });
  add("POST", "/api/v1/jobs/{id}/steps/{step}/cancel", R"(/api/v1/jobs/(\d{1,18})/steps/(\d{1,6})/cancel)",
      [this](const httplib::Request& req, httplib::Response& res) {
        auto who = authenticate(req, res);
        if (!who) return;
        auto job = visible_job(req, res, *who);
        if (!job) return;
        if (!who->cancels(job->project, job->user)) {
          return error(res, 403,
                       "job " + std::to_string(job->id) +
                           " is not yours to cancel (its owner, its institution's admins and operators may)");
        }
        auto step = controller.cancel_step(job->id, std::stoi(req.matches[2]), who->user, true, wall_now());
        if (!step) return error(res, 409, step.error().message);
        api::Json w;
        write_step(w, *job, *step, true);
        res.status = 200;
        res.set_content(w.str(), "application/json");
      });
  add("GET", "/api/v1/nodes", "/api/v1/nodes", [this](const httplib::Request& req, httplib::Response& res) {
    auto who = authenticate(req, res);
    if (!who) return;
    json out = json::array();
    for (const NodeRecord& n : controller.nodes()) out.push_back(node_json(n));
    reply(res, 200, json{{"nodes", out}});
  });
  auto node_state = [this](const std::string& state) {
    return [this, state](const httplib::Request& req, httplib::Response& res) {
      auto who = authenticate(req, res);
      if (!who) return;
      if (!who->is_operator) return error(res, 403, "only operators change node states");
      auto r = controller.set_node_state(req.matches[1], state, wall_now());
      if (!r) return error(res, 404, r.error().message);
      for (const NodeRecord& n : controller.nodes()) {
        if (n.name == req.matches[1]) return reply(res, 200, node_json(n));
      }
    };
  };
  add("POST", "/api/v1/nodes/{name}/drain", R"(/api/v1/nodes/([A-Za-z0-9._-]{1,64})/drain)", node_state("drained"));
  add("POST", "/api/v1/nodes/{name}/resume", R"(/api/v1/nodes/([A-Za-z0-9._-]{1,64})/resume)", node_state("up"));
  add("GET", "/api/v1/status", "/api/v1/status", [this](const httplib::Request& req, httplib::Response& res) {
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
  });
  // The agent protocol (agent/protocol.h): signed with the cluster secret, not a user token.
  add("POST", "/api/v1/agent/sync", proto::kSyncPath, [this](const httplib::Request& req, httplib::Response& res) {
    if (secret.empty()) return error(res, 403, "this controller takes no remote agents (no cluster secret configured)");
    const std::string node = req.get_header_value("X-Gwang-Node");
    const std::string date = req.get_header_value("X-Gwang-Date");
    const std::string signature = req.get_header_value("X-Gwang-Signature");
    const std::string expected = proto::sign_request(secret, req.method, req.path, date, node, req.body);
    if (signature.empty() || !proto::same_signature(signature, expected)) {
      return error(res, 401, "bad agent signature (is the cluster secret the same on both sides?)");
    }
    std::int64_t sent = 0;
    try {
      sent = std::stoll(date);
    } catch (...) {
      return error(res, 401, "header 'X-Gwang-Date': expected Unix seconds");
    }
    if (std::llabs(sent - wall_now()) > proto::kMaxClockSkew) {
      return error(res, 401, "header 'X-Gwang-Date': more than 5 minutes from the controller's clock");
    }
    auto request = proto::decode_request(req.body);
    if (!request) return error(res, 400, request.error().message);
    if (request->node != node) return error(res, 400, "field 'node': differs from the signed X-Gwang-Node header");
    auto answer = controller.sync(*request, req.remote_addr, agent::Clock::now(), wall_now());
    if (!answer) return error(res, 409, answer.error().message);
    const std::string body = proto::encode(*answer);
    res.set_header("X-Gwang-Signature", proto::sign_response(secret, signature, body));
    res.status = 200;
    res.set_content(body, "application/json");
  });
  server.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (res.body.empty()) error(res, res.status, "no such route: " + req.method + " " + req.path);
  });
  add("GET", "/metrics", "/metrics", [this](const httplib::Request& req, httplib::Response& res) {
    auto who = authenticate(req, res);
    if (!who) return;
    if (!who->is_operator) return error(res, 403, "metrics are for operators (scrape with an operator's token)");
    std::string out;
    out.reserve(16 << 10);
    controller.write_metrics(out);
    write_api_metrics(out);
    res.status = 200;
    res.set_content(out, "text/plain; version=0.0.4; charset=utf-8");
  });
  // Every request's route, status and duration (the logger runs on the serving thread, after the
  // handler).
  server.set_pre_routing_handler([](const httplib::Request&, httplib::Response&) {
    request_started = std::chrono::steady_clock::now();
    return httplib::Server::HandlerResponse::Unhandled;
  });
  server.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - request_started).count();
    const std::string route = route_of(req.path);
    std::lock_guard lock(api.mu);
    ++api.requests[{req.method, route, res.status}];
    api.seconds.try_emplace(route, metrics::short_seconds()).first->second.observe(seconds);
  });
  server.set_tcp_nodelay(true);
  // Agents hold a connection while they long-poll: room for them beside the users' requests.
  server.new_task_queue = [] { return new httplib::ThreadPool(64); };
  server.set_keep_alive_max_count(100);
  book_routes();
  dashboard_routes();
}

ApiServer::ApiServer(Controller& controller, TokenStore& tokens, std::string cluster_secret)
    : impl_(new Impl{controller, tokens, std::move(cluster_secret), {}, {}}) {
  impl_->routes();
}

ApiServer::~ApiServer() = default;

const std::vector<std::string>& ApiServer::routes() const { return impl_->documented; }

Result<int> ApiServer::bind(const std::string& host, int port) {
  const int bound =
      port == 0 ? impl_->server.bind_to_any_port(host) : (impl_->server.bind_to_port(host, port) ? port : -1);
  if (bound < 0) return fail("cannot listen on " + host + ":" + std::to_string(port));
  return bound;
}

void ApiServer::serve() { impl_->server.listen_after_bind(); }

void ApiServer::stop() { impl_->server.stop(); }

}  // namespace gwang::controller
