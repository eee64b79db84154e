// The API of the centre's allocations: programmes, grants (topped up, extended, burnt down), their
// warnings, usage and utilisation reports, and quotas. Members see their projects' grants; only
// operators change them.

#include <algorithm>
#include <cmath>

#include "api/units.h"
#include "controller/auth.h"
#include "controller/http_impl.h"
#include "core/report.h"

namespace gwang::controller {

using nlohmann::json;

void ApiServer::Impl::list_programmes(const httplib::Request& req, httplib::Response& res) {
  auto who = authenticate(req, res);
  if (!who) return;
  json out = json::array();
  controller.read_books([&](const Accounting& books) {
    for (const auto& [name, p] : books.grants().programmes()) {
      out.push_back({{"name", name},
                     {"when_exhausted", p.when_exhausted == core::ExhaustedRule::Refuse ? "refuse" : "preemptible"},
                     {"priority", p.priority},
                     {"session_idle_timeout", p.session_idle_timeout},
                     {"session_max_life", p.session_max_life}});
    }
  });
  reply(res, 200, json{{"programmes", out}});
}

void ApiServer::Impl::add_programme(const httplib::Request& req, httplib::Response& res) {
  auto who = authenticate(req, res);
  if (!who) return;
  if (!who->is_operator) return error(res, 403, "only operators add programmes");
  auto body = body_object(req, res);
  if (!body) return;
  auto name = string_field(*body, "name", res);
  if (!name) return;
  json payload{{"name", *name},
               {"when_exhausted", body->value("when_exhausted", "refuse")},
               {"priority", body->contains("priority") ? (*body)["priority"] : json(0.0)}};
  for (const char* field : {"session_idle_timeout", "session_max_life"}) {
    if (body->contains(field)) payload[field] = (*body)[field];
  }
  if (change(res, "grant.programme", payload)) reply(res, 201, payload);
}

void ApiServer::Impl::list_grants(const httplib::Request& req, httplib::Response& res) {
  auto who = authenticate(req, res);
  if (!who) return;
  const std::string project = req.get_param_value("project");
  const std::int64_t now = wall_now();
  json out = json::array();
  controller.read_books([&](const Accounting& books) {
    for (const core::Grant& g : books.grants().all()) {
      if ((project.empty() || g.project == project) && who->sees_project(g.project)) {
        out.push_back(grant_json(books.grants(), g, now));
      }
    }
  });
  reply(res, 200, json{{"grants", out}});
}

void ApiServer::Impl::add_grant(const httplib::Request& req, httplib::Response& res) {
  auto who = authenticate(req, res);
  if (!who) return;
  if (!who->is_operator) return error(res, 403, "only operators grant compute");
  auto body = body_object(req, res);
  if (!body) return;
  auto project = string_field(*body, "project", res);
  if (!project) return;
  auto programme = string_field(*body, "programme", res);
  if (!programme) return;
  auto amount = number_field(*body, "amount", res);
  if (!amount) return;
  auto start = date_field(*body, "start", res);
  if (!start) return;
  auto end = date_field(*body, "end", res);
  if (!end) return;
  if (!change(res, "grant.granted",
              {{"project", *project},
               {"programme", *programme},
               {"amount", *amount},
               {"start", *start},
               {"end", *end},
               {"who", who->user}})) {
    return;
  }
  controller.read_books([&](const Accounting& books) {
    reply(res, 201, grant_json(books.grants(), books.grants().all().back(), wall_now()));
  });
}

std::optional<nlohmann::json> ApiServer::Impl::visible_grant(const httplib::Request& req, httplib::Response& res,
                                                             const Scope& who) {
  const std::int64_t id = std::stoll(req.matches[1]);
  std::optional<json> out;
  controller.read_books([&](const Accounting& books) {
    if (id <= 0 || id > static_cast<std::int64_t>(books.grants().all().size())) return;
    const core::Grant& g = books.grants().all()[static_cast<std::size_t>(id - 1)];
    if (!who.sees_project(g.project)) return;
    out = grant_json(books.grants(), g, wall_now());
    // The burn-down: what had been used after each charge.
    json points = json::array();
    double used = 0;
    for (const core::Usage& u : books.ledger()) {
      if (u.grant != g.id) continue;
      used += u.charge;
      if (!points.empty() && points.back()[0] == u.time) {
        points.back()[1] = used;
      } else {
        points.push_back({u.time, used});
      }
    }
    (*out)["burndown"] = points;
  });
  if (!out) error(res, 404, "grant " + std::to_string(id) + " not found");
  return out;
}

void ApiServer::Impl::show_grant(const httplib::Request& req, httplib::Response& res) {
  auto who = authenticate(req, res);
  if (!who) return;
  if (auto g = visible_grant(req, res, *who)) reply(res, 200, *g);
}

void ApiServer::Impl::change_grant(const httplib::Request& req, httplib::Response& res, bool top_up) {
  auto who = authenticate(req, res);
  if (!who) return;
  if (!visible_grant(req, res, *who)) return;
  if (!who->is_operator) return error(res, 403, "only operators change grants");
  auto body = body_object(req, res);
  if (!body) return;
  json payload{{"grant", std::stoll(req.matches[1])}, {"who", who->user}};
  if (top_up) {
    auto amount = number_field(*body, "amount", res);
    if (!amount) return;
    payload["amount"] = *amount;
  } else {
    auto end = date_field(*body, "end", res);
    if (!end) return;
    payload["end"] = *end;
  }
  if (!change(res, top_up ? "grant.topped_up" : "grant.extended", payload)) return;
  if (auto g = visible_grant(req, res, *who)) reply(res, 200, *g);
}

void ApiServer::Impl::top_up_grant(const httplib::Request& req, httplib::Response& res) {
  change_grant(req, res, true);
}

void ApiServer::Impl::extend_grant(const httplib::Request& req, httplib::Response& res) {
  change_grant(req, res, false);
}

void ApiServer::Impl::list_events(const httplib::Request& req, httplib::Response& res) {
  auto who = authenticate(req, res);
  if (!who) return;
  std::int64_t since = 0;
  if (req.has_param("since")) {
    const std::string text = req.get_param_value("since");
    if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos) {
      return error(res, 400, "parameter 'since': expected an event number");
    }
    since = std::stoll(text);
  }
  json out = json::array();
  std::int64_t last = since;
  controller.read_books([&](const Accounting& books) {
    for (const GrantWarning& w : books.warnings()) {
      if (w.seq <= since || !who->sees_project(w.event.project)) continue;
      out.push_back({{"seq", w.seq},
                     {"time", w.event.time},
                     {"kind", "grant." + std::to_string(w.event.percent)},
                     {"grant", w.event.grant.value},
                     {"project", w.event.project},
                     {"message", "grant " + std::to_string(w.event.grant.value) + " of project " + w.event.project +
                                     (w.event.percent >= 100 ? " is spent" : " is 80% used")}});
      last = std::max(last, w.seq);
    }
  });
  reply(res, 200, json{{"events", out}, {"next", last}});
}

void ApiServer::Impl::usage_report(const httplib::Request& req, httplib::Response& res) {
  auto who = authenticate(req, res);
  if (!who) return;
  auto by = core::parse_report_by(req.has_param("by") ? req.get_param_value("by") : "project");
  if (!by) return error(res, 400, "parameter 'by': " + by.error().message);
  auto from = date_param(req, "from", 0, res);
  if (!from) return;
  auto to = date_param(req, "to", wall_now() + 1, res);
  if (!to) return;
  if (*to <= *from) return error(res, 400, "parameter 'to': not after 'from'");
  json rows = json::array();
  json total{{"jobs", 0}, {"accelerator_hours", 0.0}, {"cpu_hours", 0.0}, {"charge", 0.0}};
  controller.read_books([&](const Accounting& books) {
    std::vector<core::Usage> mine;
    const std::vector<core::Usage>* usage = &books.ledger();
    if (!who->is_operator) {
      for (const core::Usage& u : books.ledger()) {
        if (u.user == who->user || (!u.project.empty() && who->sees_project(u.project))) mine.push_back(u);
      }
      usage = &mine;
    }
    std::size_t jobs = 0;
    double accel = 0, cpu = 0, charge = 0;
    for (const core::ReportRow& r : core::report(*usage, *by, *from, *to, books.tenancy(), books.grants())) {
      rows.push_back({{"key", r.key},
                      {"jobs", r.jobs},
                      {"accelerator_hours", r.accelerator_hours},
                      {"cpu_hours", r.cpu_hours},
                      {"charge", r.charge}});
      accel += r.accelerator_hours;
      cpu += r.cpu_hours;
      charge += r.charge;
    }
    std::set<std::int64_t> distinct;
    for (const core::Usage& u : *usage) {
      if (u.time >= *from && u.time < *to) distinct.insert(u.job.value);
    }
    jobs = distinct.size();
    total = {{"jobs", jobs}, {"accelerator_hours", accel}, {"cpu_hours", cpu}, {"charge", charge}};
  });
  reply(res, 200, json{{"from", *from}, {"to", *to}, {"by", core::to_string(*by)}, {"rows", rows}, {"total", total}});
}

void ApiServer::Impl::utilisation_report(const httplib::Request& req, httplib::Response& res) {
  auto who = authenticate(req, res);
  if (!who) return;
  if (!who->is_operator) return error(res, 403, "the centre's utilisation is for operators");
  const std::int64_t now = wall_now();
  auto to = date_param(req, "to", now, res);
  if (!to) return;
  auto from = date_param(req, "from", *to - 7 * 86400, res);
  if (!from) return;
  std::int64_t step = 86400;
  if (req.has_param("step")) {
    auto d = api::parse_duration(req.get_param_value("step"));
    if (!d || *d < 60) return error(res, 400, "parameter 'step': expected a duration of a minute or more (1h, 1d)");
    step = *d;
  }
  if (*to <= *from) return error(res, 400, "parameter 'to': not after 'from'");
  if ((*to - *from) / step > 10000) return error(res, 400, "parameter 'step': more than 10,000 steps in the period");
  std::map<std::string, int> capacity;  // the devices registered now, by model
  for (const NodeRecord& n : controller.nodes()) {
    for (const agent::Device& d : n.devices) ++capacity[d.kind];
  }
  json cells = json::array();
  controller.read_books([&](const Accounting& books) {
    for (const core::UtilisationCell& c : core::utilisation(books.ledger(), capacity, *from, *to, step)) {
      cells.push_back({{"start", c.start},
                       {"model", c.model},
                       {"used_hours", c.used_hours},
                       {"capacity_hours", c.capacity_hours},
                       {"percent", c.percent()}});
    }
  });
  reply(res, 200, json{{"from", *from}, {"to", *to}, {"step", step}, {"cells", cells}});
}

void ApiServer::Impl::list_quotas(const httplib::Request& req, httplib::Response& res) {
  auto who = authenticate(req, res);
  if (!who) return;
  json out = json::array();
  for (const auto& [q, used] : controller.quotas()) {
    const bool project = q.scope == core::QuotaScope::Project;
    if (!who->is_operator && !(project ? who->sees_project(q.name) : who->institutions.contains(q.name))) {
      bool member = false;  // a member sees the quota of its projects' institution
      controller.read_books([&](const Accounting& books) {
        for (const std::string& p : who->projects) member = member || books.tenancy().institution_of(p) == q.name;
      });
      if (project || !member) continue;
    }
    out.push_back({{"scope", core::to_string(q.scope)},
                   {"name", q.name},
                   {"model", q.model},
                   {"limit", static_cast<double>(q.limit) / 1000.0},
                   {"used", static_cast<double>(used) / 1000.0}});
  }
  reply(res, 200, json{{"quotas", out}});
}

void ApiServer::Impl::change_quota(const httplib::Request& req, httplib::Response& res, bool set) {
  auto who = authenticate(req, res);
  if (!who) return;
  if (!who->is_operator) return error(res, 403, "only operators set quotas");
  auto body = body_object(req, res);
  if (!body) return;
  auto scope = string_field(*body, "scope", res);
  if (!scope) return;
  auto name = string_field(*body, "name", res);
  if (!name) return;
  const json model = body->contains("model") ? (*body)["model"] : json("");
  if (!model.is_string()) return error(res, 400, "field 'model': expected a string");
  json payload{{"scope", *scope}, {"name", *name}, {"model", model}};
  if (set) {
    auto limit = number_field(*body, "limit", res);
    if (!limit) return;
    if (!std::isfinite(*limit) || *limit < 0 || *limit > 1e9) {
      return error(res, 422, "field 'limit': expected a number of devices, 0 or more");
    }
    payload["limit"] = static_cast<std::int64_t>(std::llround(*limit * 1000));
  }
  if (change(res, set ? "quota.set" : "quota.removed", payload)) reply(res, 200, payload);
}

void ApiServer::Impl::set_quota(const httplib::Request& req, httplib::Response& res) { change_quota(req, res, true); }

void ApiServer::Impl::remove_quota(const httplib::Request& req, httplib::Response& res) {
  change_quota(req, res, false);
}

}  // namespace gwang::controller
