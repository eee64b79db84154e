// The HTTP API's internals, shared by its route files (http.cpp: jobs, nodes, agents;
// http_books.cpp: tenancy, tokens, programmes, grants, reports).
#pragma once

#include <httplib.h>

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "controller/http.h"
#include "controller/metrics.h"

namespace gwang::controller {

void reply(httplib::Response& res, int status, const nlohmann::json& body);
void error(httplib::Response& res, int status, const std::string& message);
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
  std::set<std::string> states, projects, users;  // empty: any
  bool wants_ended = false;  // a state asked for is an ended one: ended jobs are looked at
  bool descending = false;   // newest first
  std::int64_t offset = 0;
  std::int64_t limit = std::numeric_limits<std::int64_t>::max();
  bool matches(const JobRecord& j) const {
    return (states.empty() || states.contains(j.state)) && (projects.empty() || projects.contains(j.project)) &&
           (users.empty() || users.contains(j.user));
  }
};
// The job list's filters from a request's parameters, or a 400 already written.
std::optional<JobFilter> job_filter(const httplib::Request& req, httplib::Response& res);
// A whole-number parameter in [min, max], `fallback` when absent; nullopt: a 400 already written.
std::optional<std::int64_t> int_param(const httplib::Request& req, const char* name, std::int64_t min,
                                      std::int64_t max, std::int64_t fallback, httplib::Response& res);

struct ApiServer::Impl {
  Controller& controller;
  TokenStore& tokens;
  std::string secret;
  httplib::Server server;
  std::vector<std::string> documented;  // "METHOD /path" of every route, as the API document names it

  // Registers a handler; `path` is the route as documented, `pattern` the regex that serves it.
  void add(const std::string& method, const std::string& path, const std::string& pattern, httplib::Server::Handler h);
  // The caller, or a 401 already written.
  std::optional<Scope> authenticate(const httplib::Request& req, httplib::Response& res);
  // The job if the caller may see it; else a 404 already written (a job out of reach looks absent).
  std::optional<JobRecord> visible_job(const httplib::Request& req, httplib::Response& res, const Scope& who);
  // The JSON object of a request's body, or a 400 already written.
  std::optional<nlohmann::json> body_object(const httplib::Request& req, httplib::Response& res);
  // Applies a change of the books and answers 200 with `answer`, or the error: 422 for what the
  // check refused (the message names the field or the unknown name), 500 for the journal.
  bool change(httplib::Response& res, const std::string& kind, const nlohmann::json& payload);

  void routes();       // http.cpp
  void book_routes();  // http_books.cpp
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
};

}  // namespace gwang::controller
