// The HTTP API's internals, shared by its route files: http.cpp (the server and its route table),
// http_jobs.cpp, http_steps.cpp, http_nodes.cpp (nodes, status, metrics, agents), http_books.cpp
// (tenancy, tokens, programmes, grants, reports), http_dashboard.cpp; http_wire.cpp writes records.
#pragma once

#include <httplib.h>

#include <array>
#include <cstdint>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "api/job_view.h"
#include "api/json_writer.h"
#include "api/node_view.h"
#include "controller/http.h"
#include "controller/http_server.h"
#include "controller/metrics.h"
#include "core/grants.h"
#include "core/tenancy.h"

namespace gwang::controller {

void reply(httplib::Response& res, int status, const nlohmann::json& body);
// The wire form of records (http_wire.cpp): the API's types (src/api) made from them. A job with
// the reason to show, and its planned start where `estimate` is given (null when -1); a step with
// its tasks or without.
api::JobSummary job_summary(const JobRecord& j, api::Reason reason, const std::int64_t* estimate);
api::JobView job_view(const JobRecord& j, api::Reason reason, const std::int64_t* estimate);
api::StepView step_view(const JobRecord& j, const StepRecord& st, bool tasks);
api::NodeView node_view(const NodeRecord& n);
void write_job(api::Json& w, const JobRecord& j, api::Reason reason, const std::int64_t* estimate = nullptr);
void write_step(api::Json& w, const JobRecord& j, const StepRecord& st, bool tasks);
// A shown copy (its reason and code made: Controller::job, with_reason).
void reply_job(httplib::Response& res, int status, const JobRecord& j);
// 200 with {"nodes": [...]}; with one node alone.
void reply_nodes(httplib::Response& res, const std::vector<NodeRecord>& nodes);
void reply_node(httplib::Response& res, const NodeRecord& node);

// The books' pieces (http_books.cpp). A request's field or parameter, or nullopt with a 400 written
// that names it: a non-empty string, a number, a date ("2026-03-01" or Unix seconds).
std::optional<std::string> string_field(const nlohmann::json& body, const char* field, httplib::Response& res);
std::optional<double> number_field(const nlohmann::json& body, const char* field, httplib::Response& res);
std::optional<std::int64_t> date_field(const nlohmann::json& body, const char* field, httplib::Response& res);
std::optional<std::int64_t> date_param(const httplib::Request& req, const char* name, std::int64_t fallback,
                                       httplib::Response& res);
nlohmann::json user_json(const core::User& u);
std::string grant_state(const core::Grant& g, std::int64_t now);  // upcoming, active, spent, expired
nlohmann::json grant_json(const core::Grants& grants, const core::Grant& g, std::int64_t now);
void error(httplib::Response& res, int status, const std::string& message);
// The token a request presents: its Authorization header's (Bearer), or, for a browser's
// WebSocket, which cannot send one, its offered subprotocol "gwang.bearer.TOKEN" (beside "gwang").
std::optional<std::string> bearer_token(const httplib::Request& req);
std::int64_t wall_now();

// Who calls, and what the tenancy lets them reach, as it stands at the call. An operator (by the
// token's role or the tenancy's) reaches everything.
struct Scope {
  std::string user;
  bool is_operator = false;
  std::set<std::string> projects;      // member of
  std::set<std::string> institutions;  // admin of
  std::set<std::string> managed;       // the projects of those institutions

  // A job's record and logs: its owner, its project's members, its institution's admins.
  bool sees(const std::string& project, const std::string& owner) const {
    return is_operator || owner == user ||
           (!project.empty() && (projects.contains(project) || managed.contains(project)));
  }
  // Cancelling a job: its owner and its institution's admins.
  bool cancels(const std::string& project, const std::string& owner) const {
    return is_operator || owner == user || (!project.empty() && managed.contains(project));
  }
  bool sees_project(const std::string& project) const {
    return is_operator || projects.contains(project) || managed.contains(project);
  }
};

// The filters and page of a job list (GET /api/v1/jobs).
struct JobFilter {
  std::set<JobState> states;              // empty: any
  std::set<std::string> projects, users;  // empty: any
  bool wants_ended = false;               // a state asked for is an ended one: ended jobs are looked at
  bool descending = false;                // newest first
  std::int64_t offset = 0;
  std::int64_t limit = std::numeric_limits<std::int64_t>::max();
  bool matches(const JobRecord& j) const {
    return (states.empty() || states.contains(j.state)) && (projects.empty() || projects.contains(j.project)) &&
           (users.empty() || users.contains(j.user));
  }
};
// The job list's filters from a request's parameters, or a 400 already written.
std::optional<JobFilter> job_filter(const httplib::Request& req, httplib::Response& res);
// ?wait=MS&seen=N of a call that waits for news (MS up to 60,000; 0, 0 when absent), or a 400
// already written.
std::optional<std::pair<std::int64_t, std::uint64_t>> wait_params(const httplib::Request& req, httplib::Response& res);
// A whole-number parameter in [min, max], `fallback` when absent; nullopt: a 400 already written.
std::optional<std::int64_t> int_param(const httplib::Request& req, const char* name, std::int64_t min, std::int64_t max,
                                      std::int64_t fallback, httplib::Response& res);

struct ApiServer::Impl {
  Impl(Controller& c, TokenStore& t, std::string s) : controller(c), tokens(t), secret(std::move(s)) {}
  Controller& controller;
  TokenStore& tokens;
  std::string secret;
  std::vector<std::string> documented;  // "METHOD /path" of every route, as the API document names it

  using Serve = std::function<void(const httplib::Request&, httplib::Response&)>;
  // A handler that may be served in the transport's loop: false where it would block, having
  // written nothing.
  using ServeInLoop = std::function<bool(const httplib::Request&, httplib::Response&)>;
  struct Route {
    std::string method;
    std::string literal;                // the path, for a route without parameters
    std::optional<std::regex> pattern;  // else the paths it serves; its groups are the parameters
    Serve serve;
    ServeInLoop in_loop;  // none: always on a worker
  };
  std::vector<Route> table;
  std::string web_dir;      // the dashboard's built files, served at /; empty: none
  std::string missing_web;  // where there are none, why (the page at / says it)
  bool tls = false;         // served over HTTPS: cookies are Secure, services are told so

  // Registers a handler; `path` is the route as documented, `pattern` the regex that serves it.
  void add(const std::string& method, const std::string& path, const std::string& pattern, Serve h);
  // Every request: its route's handler, else a file of the dashboard, else 404; counted for /metrics.
  // In the loop (`in_loop`), only routes that may be served there, and only where they would not
  // block; false: serve it on a worker.
  bool dispatch(httplib::Request& req, httplib::Response& res, bool in_loop);
  bool serve_file(const httplib::Request& req, httplib::Response& res);  // false: no such file
  // The caller, or a 401 already written.
  std::optional<Scope> authenticate(const httplib::Request& req, httplib::Response& res);
  // The job if the caller may see it; else a 404 already written (a job out of reach looks absent).
  std::optional<JobRecord> visible_job(const httplib::Request& req, httplib::Response& res, const Scope& who);
  // The JSON object of a request's body, or a 400 already written.
  std::optional<nlohmann::json> body_object(const httplib::Request& req, httplib::Response& res);
  // Applies a change of the books and answers 200 with `answer`, or the error: 422 for what the
  // check refused (the message names the field or the unknown name), 500 for the journal.
  bool change(httplib::Response& res, const std::string& kind, const nlohmann::json& payload);

  using Handler = void (Impl::*)(const httplib::Request&, httplib::Response&);
  using LoopHandler = bool (Impl::*)(const httplib::Request&, httplib::Response&);
  // Registers a route served by a member handler (add, for one function per route), and by
  // `in_loop` first where given.
  void route(const std::string& method, const std::string& path, const std::string& pattern, Handler handler,
             LoopHandler in_loop = nullptr);

  // Jobs (http_jobs.cpp).
  void submit_job(const httplib::Request& req, httplib::Response& res);
  void list_jobs(const httplib::Request& req, httplib::Response& res);
  void show_job(const httplib::Request& req, httplib::Response& res);
  void cancel_job(const httplib::Request& req, httplib::Response& res);
  void signal_job(const httplib::Request& req, httplib::Response& res);
  void hold_job(const httplib::Request& req, httplib::Response& res);
  void release_job(const httplib::Request& req, httplib::Response& res);
  void list_partitions(const httplib::Request& req, httplib::Response& res);
  void list_licenses(const httplib::Request& req, httplib::Response& res);
  void job_logs(const httplib::Request& req, httplib::Response& res);
  // Whether the caller may cancel, hold or release the job (`verb`): its owner, its institution's
  // admins and operators; else a 403 written that says so.
  bool may_act(httplib::Response& res, const Scope& who, const JobRecord& job, const std::string& verb);
  using JobAction = std::function<Result<JobRecord>(const Scope&, const JobRecord&, bool task_only)>;
  // What cancel, hold and release share: who may (`verb` says what, in the refusal), then `act`.
  void job_action(const httplib::Request& req, httplib::Response& res, const std::string& verb, const JobAction& act);
  // Steps (http_steps.cpp).
  void start_step(const httplib::Request& req, httplib::Response& res);
  void show_step(const httplib::Request& req, httplib::Response& res);
  std::pair<std::string, bool> step_answer(const JobRecord& job, const StepRecord& step,
                                           const std::vector<std::array<std::int64_t, 2>>& offsets,
                                           std::optional<std::uint64_t> news);
  void cancel_step(const httplib::Request& req, httplib::Response& res);
  // Allocations (http_allocations.cpp).
  void show_allocation(const httplib::Request& req, httplib::Response& res);
  void relinquish_job(const httplib::Request& req, httplib::Response& res);
  // A terminal's route asked without a WebSocket (http_terminals.cpp): 426, saying so.
  void not_upgraded(const httplib::Request& req, httplib::Response& res);
  // ?offsets=OUT:ERR,... for a step of `tasks` tasks (0:0 for those not given), or a 400 written.
  std::optional<std::vector<std::array<std::int64_t, 2>>> step_offsets(const httplib::Request& req,
                                                                       httplib::Response& res, std::size_t tasks);
  // Nodes, status, metrics and the agents (http_nodes.cpp).
  void list_nodes(const httplib::Request& req, httplib::Response& res);
  void drain_node(const httplib::Request& req, httplib::Response& res);
  void resume_node(const httplib::Request& req, httplib::Response& res);
  void change_node_state(const httplib::Request& req, httplib::Response& res, const std::string& state);
  void show_status(const httplib::Request& req, httplib::Response& res);
  void show_config(const httplib::Request& req, httplib::Response& res);
  void agent_sync(const httplib::Request& req, httplib::Response& res);
  bool agent_sync_in_loop(const httplib::Request& req, httplib::Response& res);  // heartbeats, mostly
  bool sync_agent(const httplib::Request& req, httplib::Response& res, bool may_wait);
  void show_metrics(const httplib::Request& req, httplib::Response& res);

  // The tenancy (http_tenancy.cpp).
  void whoami(const httplib::Request& req, httplib::Response& res);
  void list_institutions(const httplib::Request& req, httplib::Response& res);
  void add_institution(const httplib::Request& req, httplib::Response& res);
  void add_institution_admin(const httplib::Request& req, httplib::Response& res);
  void list_projects(const httplib::Request& req, httplib::Response& res);
  void add_project(const httplib::Request& req, httplib::Response& res);
  void add_member(const httplib::Request& req, httplib::Response& res);
  void remove_member(const httplib::Request& req, httplib::Response& res);
  void change_member(const httplib::Request& req, httplib::Response& res, bool add_it);
  void list_users(const httplib::Request& req, httplib::Response& res);
  void add_user(const httplib::Request& req, httplib::Response& res);
  void set_operator(const httplib::Request& req, httplib::Response& res);
  void set_default_project(const httplib::Request& req, httplib::Response& res);
  // Whether the caller may make or revoke tokens of `user`: their own; an institution's admins for
  // the members of its projects; operators for anyone.
  bool token_rights(const Scope& who, const std::string& user);
  void list_tokens(const httplib::Request& req, httplib::Response& res);
  void issue_token(const httplib::Request& req, httplib::Response& res);
  void revoke_token(const httplib::Request& req, httplib::Response& res);
  // Programmes, grants, reports and quotas (http_grants.cpp).
  void list_programmes(const httplib::Request& req, httplib::Response& res);
  void add_programme(const httplib::Request& req, httplib::Response& res);
  void list_grants(const httplib::Request& req, httplib::Response& res);
  void add_grant(const httplib::Request& req, httplib::Response& res);
  // The grant of the path's id with its burn-down, if the caller sees it; else a 404 written.
  std::optional<nlohmann::json> visible_grant(const httplib::Request& req, httplib::Response& res, const Scope& who);
  void show_grant(const httplib::Request& req, httplib::Response& res);
  void top_up_grant(const httplib::Request& req, httplib::Response& res);
  void extend_grant(const httplib::Request& req, httplib::Response& res);
  void change_grant(const httplib::Request& req, httplib::Response& res, bool top_up);
  void list_events(const httplib::Request& req, httplib::Response& res);
  void usage_report(const httplib::Request& req, httplib::Response& res);
  void utilisation_report(const httplib::Request& req, httplib::Response& res);
  void list_quotas(const httplib::Request& req, httplib::Response& res);
  void set_quota(const httplib::Request& req, httplib::Response& res);
  void remove_quota(const httplib::Request& req, httplib::Response& res);
  void change_quota(const httplib::Request& req, httplib::Response& res, bool set);

  // What the dashboard reads (http_dashboard.cpp).
  void show_cluster(const httplib::Request& req, httplib::Response& res);
  void job_usage(const httplib::Request& req, httplib::Response& res);
  void job_hints(const httplib::Request& req, httplib::Response& res);
  void show_fairshare(const httplib::Request& req, httplib::Response& res);

  // Sessions (http_sessions.cpp): the caller's, a browser's login to one, the proxy to their
  // services (HTTP here, WebSockets through session_upgrade) and the agents' links to them.
  void list_sessions(const httplib::Request& req, httplib::Response& res);
  void show_session(const httplib::Request& req, httplib::Response& res);
  void session_login(const httplib::Request& req, httplib::Response& res);
  // A browser come with a login's ticket: its cookie set, and sent on to the same place.
  void enter_session(const httplib::Request& req, httplib::Response& res);
  std::string login_cookie(std::int64_t id, const std::string& user);  // a new login's Set-Cookie
  void proxy(const httplib::Request& req, httplib::Response& res);
  std::shared_ptr<WebSocketHandler> session_upgrade(httplib::Request& req, httplib::Response& res);
  std::shared_ptr<WebSocketHandler> link_upgrade(const std::string& task, const httplib::Request& req,
                                                 httplib::Response& res);
  // Who asks for session `id` (its login cookie's owner, or the token's), or nullopt with a 401
  // written; and the running session at a proxied path of theirs, or nullopt with the answer
  // written (404 for another's, 410 for one ended, 503 for one not started).
  std::optional<std::string> session_caller(const httplib::Request& req, std::int64_t id, httplib::Response& res,
                                            bool* by_cookie);
  std::optional<Controller::SessionTarget> session_for(const httplib::Request& req, httplib::Response& res,
                                                       bool* by_cookie, std::int64_t* id);
  struct SessionLogins;
  std::shared_ptr<SessionLogins> logins;

  void routes();            // http.cpp: the route table
  void session_routes();    // http_sessions.cpp
  void book_routes();       // http_books.cpp
  void dashboard_routes();  // http_dashboard.cpp

  // Requests served, by method, route (as documented; "other" for no route) and status, and their
  // durations by route: for /metrics.
  struct ApiMetrics {
    std::mutex mu;
    std::map<std::string, std::string> routes;  // a path's shape ("/api/v1/jobs/{}") -> the documented route
    std::map<std::tuple<std::string, std::string, int>, std::uint64_t> requests;
    std::map<std::string, metrics::Histogram> seconds;
  } api;
  std::string route_of(const std::string& path);  // the documented route a path is served by, or "other"
  void write_api_metrics(std::string& out);

  // The WebSockets a request may open (http_terminals.cpp): a step's terminal for its owner, and
  // its node's end for the agent running its task. Null, with the answer written, otherwise.
  std::shared_ptr<WebSocketHandler> upgrade(httplib::Request& req, httplib::Response& res);

  // Last: gone first, with the handlers it may still be running.
  HttpTransport transport{
      [this](httplib::Request& req, httplib::Response& res, bool in_loop) { return dispatch(req, res, in_loop); },
      TransportOptions{}, [this](httplib::Request& req, httplib::Response& res) { return upgrade(req, res); }};
};

}  // namespace gwang::controller
