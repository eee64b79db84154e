// The API of the centre's books: its route table (http_tenancy.cpp and http_grants.cpp hold the
// handlers) and the pieces they share: fields read from requests, users and grants as JSON.
// Changes go through Controller::administer (checked, journalled, applied); a refusal by the rules
// is 403, a request that names something unknown or breaks a rule of the books is 422 with what is
// wrong.
#include <algorithm>
#include <cmath>

#include "api/units.h"
#include "controller/http_impl.h"
#include "core/report.h"

namespace gwang::controller {

using nlohmann::json;

// A required string field of a request, or a 400 naming it.
std::optional<std::string> string_field(const json& body, const char* field, httplib::Response& res) {
  auto it = body.find(field);
  if (it == body.end() || !it->is_string() || it->get<std::string>().empty()) {
    error(res, 400, std::string("field '") + field + "': expected a non-empty string");
    return std::nullopt;
  }
  return it->get<std::string>();
}

std::optional<double> number_field(const json& body, const char* field, httplib::Response& res) {
  auto it = body.find(field);
  if (it == body.end() || !it->is_number()) {
    error(res, 400, std::string("field '") + field + "': expected a number");
    return std::nullopt;
  }
  return it->get<double>();
}

// A date: Unix seconds, or a string api::parse_date reads ("2026-03-01").
std::optional<std::int64_t> date_field(const json& body, const char* field, httplib::Response& res) {
  auto it = body.find(field);
  if (it != body.end() && it->is_number_integer()) return it->get<std::int64_t>();
  if (it == body.end() || !it->is_string()) {
    error(res, 400, std::string("field '") + field + "': expected a date (\"2026-03-01\") or Unix seconds");
    return std::nullopt;
  }
  auto d = api::parse_date(it->get<std::string>());
  if (!d) {
    error(res, 400, std::string("field '") + field + "': " + d.error().message);
    return std::nullopt;
  }
  return *d;
}

std::optional<std::int64_t> date_param(const httplib::Request& req, const char* name, std::int64_t fallback,
                                       httplib::Response& res) {
  if (!req.has_param(name)) return fallback;
  auto d = api::parse_date(req.get_param_value(name));
  if (!d) {
    error(res, 400, std::string("parameter '") + name + "': " + d.error().message);
    return std::nullopt;
  }
  return *d;
}

json user_json(const core::User& u) {
  return {{"name", u.name},
          {"operator", u.is_operator},
          {"projects", u.projects},
          {"admin_of", u.admin_of},
          {"default_project", u.default_project}};
}

std::string grant_state(const core::Grant& g, std::int64_t now) {
  if (now < g.start) return "upcoming";
  if (now >= g.end) return "expired";
  return g.remaining() > 0 ? "active" : "spent";
}

json grant_json(const core::Grants& grants, const core::Grant& g, std::int64_t now) {
  json audit = json::array();
  for (const core::AuditEntry& a : grants.audit()) {
    if (a.grant == g.id) audit.push_back({{"time", a.time}, {"who", a.who}, {"what", a.what}});
  }
  return {{"id", g.id.value},
          {"project", g.project},
          {"programme", g.programme},
          {"amount", g.amount},
          {"used", g.used},
          {"remaining", g.remaining()},
          {"start", g.start},
          {"end", g.end},
          {"state", grant_state(g, now)},
          {"percent_used", g.amount > 0 ? 100.0 * g.used / g.amount : 0.0},
          {"audit", audit}};
}

void ApiServer::Impl::book_routes() {
  route("GET", "/api/v1/whoami", "/api/v1/whoami", &Impl::whoami);

  // --- institutions and projects
  route("GET", "/api/v1/institutions", "/api/v1/institutions", &Impl::list_institutions);
  route("POST", "/api/v1/institutions", "/api/v1/institutions", &Impl::add_institution);
  route("POST", "/api/v1/institutions/{name}/admins", R"(/api/v1/institutions/([A-Za-z0-9._-]{1,64})/admins)", &Impl::add_institution_admin);
  route("GET", "/api/v1/projects", "/api/v1/projects", &Impl::list_projects);
  route("POST", "/api/v1/projects", "/api/v1/projects", &Impl::add_project);
  route("POST", "/api/v1/projects/{name}/members", R"(/api/v1/projects/([A-Za-z0-9._-]{1,64})/members)",
        &Impl::add_member);
  route("POST", "/api/v1/projects/{name}/members/{user}/remove",
        R"(/api/v1/projects/([A-Za-z0-9._-]{1,64})/members/([A-Za-z0-9._-]{1,64})/remove)", &Impl::remove_member);

  // --- users
  route("GET", "/api/v1/users", "/api/v1/users", &Impl::list_users);
  route("POST", "/api/v1/users", "/api/v1/users", &Impl::add_user);
  route("POST", "/api/v1/users/{name}/operator", R"(/api/v1/users/([A-Za-z0-9._-]{1,64})/operator)", &Impl::set_operator);
  route("POST", "/api/v1/users/{name}/default-project", R"(/api/v1/users/([A-Za-z0-9._-]{1,64})/default-project)", &Impl::set_default_project);

  // --- tokens
  route("GET", "/api/v1/tokens", "/api/v1/tokens", &Impl::list_tokens);
  route("POST", "/api/v1/tokens", "/api/v1/tokens", &Impl::issue_token);
  route("POST", "/api/v1/tokens/{id}/revoke", R"(/api/v1/tokens/([0-9a-f]{12})/revoke)", &Impl::revoke_token);

  // --- programmes and grants
  route("GET", "/api/v1/programmes", "/api/v1/programmes", &Impl::list_programmes);
  route("POST", "/api/v1/programmes", "/api/v1/programmes", &Impl::add_programme);
  route("GET", "/api/v1/grants", "/api/v1/grants", &Impl::list_grants);
  route("POST", "/api/v1/grants", "/api/v1/grants", &Impl::add_grant);
  route("GET", "/api/v1/grants/{id}", R"(/api/v1/grants/(\d{1,9}))", &Impl::show_grant);
  route("POST", "/api/v1/grants/{id}/top-up", R"(/api/v1/grants/(\d{1,9})/top-up)", &Impl::top_up_grant);
  route("POST", "/api/v1/grants/{id}/extend", R"(/api/v1/grants/(\d{1,9})/extend)", &Impl::extend_grant);

  route("GET", "/api/v1/events", "/api/v1/events", &Impl::list_events);

  // --- reports
  route("GET", "/api/v1/reports/usage", "/api/v1/reports/usage", &Impl::usage_report);

  route("GET", "/api/v1/reports/utilisation", "/api/v1/reports/utilisation", &Impl::utilisation_report);

  // --- quotas
  route("GET", "/api/v1/quotas", "/api/v1/quotas", &Impl::list_quotas);
  route("POST", "/api/v1/quotas", "/api/v1/quotas", &Impl::set_quota);
  route("POST", "/api/v1/quotas/remove", "/api/v1/quotas/remove", &Impl::remove_quota);
}

}  // namespace gwang::controller
