// The API of the centre's books: institutions, projects, users, tokens, programmes, grants, their
// warnings and usage reports. Operators reach everything; an institution's admins manage its
// projects and their members; members see their projects. Changes go through Controller::administer
// (checked, journalled, applied); a refusal by the rules is 403, a request that names something
// unknown or breaks a rule of the books is 422 with what is wrong.
#include <algorithm>
#include <cmath>

#include "api/units.h"
#include "controller/http_impl.h"
#include "core/report.h"

namespace gwang::controller {

using nlohmann::json;

namespace {

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

}  // namespace

void ApiServer::Impl::book_routes() {
  using Req = httplib::Request;
  using Res = httplib::Response;

  add("GET", "/api/v1/whoami", "/api/v1/whoami", [this](const Req& req, Res& res) {
    auto who = authenticate(req, res);
    if (!who) return;
    json out{{"user", who->user},
             {"operator", who->is_operator},
             {"projects", who->projects},
             {"admin_of", who->institutions},
             {"default_project", ""}};
    controller.read_books([&](const Accounting& books) {
      if (const core::User* u = books.tenancy().user(who->user)) out["default_project"] = u->default_project;
    });
    reply(res, 200, out);
  });

  // --- institutions and projects
  add("GET", "/api/v1/institutions", "/api/v1/institutions", [this](const Req& req, Res& res) {
    auto who = authenticate(req, res);
    if (!who) return;
    json out = json::array();
    controller.read_books([&](const Accounting& books) {
      const core::Tenancy& t = books.tenancy();
      for (const auto& [name, inst] : t.institutions()) {
        bool reach = who->is_operator || who->institutions.contains(name);
        for (const std::string& p : who->projects) reach = reach || t.institution_of(p) == name;
        if (!reach) continue;
        json projects = json::array();
        for (const auto& [pname, p] : t.projects()) {
          if (p.institution == name) projects.push_back(pname);
        }
        out.push_back({{"name", name},
                       {"type", core::to_string(inst.type)},
                       {"sector", core::to_string(inst.sector)},
                       {"projects", projects}});
      }
    });
    reply(res, 200, json{{"institutions", out}});
  });
  add("POST", "/api/v1/institutions", "/api/v1/institutions", [this](const Req& req, Res& res) {
    auto who = authenticate(req, res);
    if (!who) return;
    if (!who->is_operator) return error(res, 403, "only operators add institutions");
    auto body = body_object(req, res);
    if (!body) return;
    auto name = string_field(*body, "name", res);
    if (!name) return;
    auto type = string_field(*body, "type", res);
    if (!type) return;
    const std::string sector = body->value("sector", "other");
    if (change(res, "tenancy.institution", {{"name", *name}, {"type", *type}, {"sector", sector}})) {
      reply(res, 201, json{{"name", *name}, {"type", *type}, {"sector", sector}});
    }
  });
  add("POST", "/api/v1/institutions/{name}/admins", R"(/api/v1/institutions/([A-Za-z0-9._-]{1,64})/admins)",
      [this](const Req& req, Res& res) {
        auto who = authenticate(req, res);
        if (!who) return;
        const std::string institution = req.matches[1];
        if (!who->is_operator && !who->institutions.contains(institution)) {
          return error(res, 403, "only operators and the admins of " + institution + " name its admins");
        }
        auto body = body_object(req, res);
        if (!body) return;
        auto user = string_field(*body, "user", res);
        if (!user) return;
        bool known = false, exists = false;
        controller.read_books([&](const Accounting& books) {
          known = books.tenancy().user(*user) != nullptr;
          exists = books.tenancy().institution(institution) != nullptr;
        });
        if (!exists) return error(res, 422, "no institution '" + institution + "'");
        if (!known && !change(res, "tenancy.user", {{"name", *user}})) return;
        if (change(res, "tenancy.admin", {{"user", *user}, {"institution", institution}})) {
          reply(res, 200, json{{"institution", institution}, {"admin", *user}});
        }
      });
  add("GET", "/api/v1/projects", "/api/v1/projects", [this](const Req& req, Res& res) {
    auto who = authenticate(req, res);
    if (!who) return;
    json out = json::array();
    controller.read_books([&](const Accounting& books) {
      const core::Tenancy& t = books.tenancy();
      for (const auto& [name, p] : t.projects()) {
        if (!who->sees_project(name)) continue;
        json members = json::array();
        for (const auto& [uname, u] : t.users()) {
          if (u.projects.contains(name)) members.push_back(uname);
        }
        out.push_back({{"name", name}, {"institution", p.institution}, {"members", members}});
      }
    });
    reply(res, 200, json{{"projects", out}});
  });
  add("POST", "/api/v1/projects", "/api/v1/projects", [this](const Req& req, Res& res) {
    auto who = authenticate(req, res);
    if (!who) return;
    auto body = body_object(req, res);
    if (!body) return;
    auto name = string_field(*body, "name", res);
    if (!name) return;
    auto institution = string_field(*body, "institution", res);
    if (!institution) return;
    if (!who->is_operator && !who->institutions.contains(*institution)) {
      return error(res, 403, "only operators and the admins of " + *institution + " add its projects");
    }
    if (change(res, "tenancy.project", {{"name", *name}, {"institution", *institution}})) {
      reply(res, 201, json{{"name", *name}, {"institution", *institution}});
    }
  });
  auto manage_member = [this](bool add_it) {
    return [this, add_it](const Req& req, Res& res) {
      auto who = authenticate(req, res);
      if (!who) return;
      const std::string project = req.matches[1];
      if (!who->is_operator && !who->managed.contains(project)) {
        return error(res, 403, "only operators and the admins of its institution change the members of " + project);
      }
      std::string user;
      if (add_it) {
        auto body = body_object(req, res);
        if (!body) return;
        auto u = string_field(*body, "user", res);
        if (!u) return;
        user = *u;
      } else {
        user = req.matches[2];
      }
      bool known = false, exists = false;
      controller.read_books([&](const Accounting& books) {
        known = books.tenancy().user(user) != nullptr;
        exists = books.tenancy().project(project) != nullptr;
      });
      if (!exists) return error(res, 422, "no project '" + project + "'");
      if (add_it && !known && !change(res, "tenancy.user", {{"name", user}})) return;
      if (change(res, "tenancy.member", {{"user", user}, {"project", project}, {"member", add_it}})) {
        reply(res, 200, json{{"project", project}, {"user", user}, {"member", add_it}});
      }
    };
  };
  add("POST", "/api/v1/projects/{name}/members", R"(/api/v1/projects/([A-Za-z0-9._-]{1,64})/members)",
      manage_member(true));
  add("POST", "/api/v1/projects/{name}/members/{user}/remove",
      R"(/api/v1/projects/([A-Za-z0-9._-]{1,64})/members/([A-Za-z0-9._-]{1,64})/remove)", manage_member(false));

  // --- users
  add("GET", "/api/v1/users", "/api/v1/users", [this](const Req& req, Res& res) {
    auto who = authenticate(req, res);
    if (!who) return;
    json out = json::array();
    controller.read_books([&](const Accounting& books) {
      for (const auto& [name, u] : books.tenancy().users()) {
        bool reach = who->is_operator || name == who->user;
        for (const std::string& p : u.projects) reach = reach || who->managed.contains(p);
        if (reach) out.push_back(user_json(u));
      }
    });
    reply(res, 200, json{{"users", out}});
  });
  add("POST", "/api/v1/users", "/api/v1/users", [this](const Req& req, Res& res) {
    auto who = authenticate(req, res);
    if (!who) return;
    if (!who->is_operator) return error(res, 403, "only operators add users directly (admins add members to projects)");
    auto body = body_object(req, res);
    if (!body) return;
    auto name = string_field(*body, "name", res);
    if (!name) return;
    if (change(res, "tenancy.user", {{"name", *name}})) reply(res, 201, json{{"name", *name}});
  });
  add("POST", "/api/v1/users/{name}/operator", R"(/api/v1/users/([A-Za-z0-9._-]{1,64})/operator)",
      [this](const Req& req, Res& res) {
        auto who = authenticate(req, res);
        if (!who) return;
        if (!who->is_operator) return error(res, 403, "only operators name operators");
        auto body = body_object(req, res);
        if (!body) return;
        auto it = body->find("operator");
        if (it == body->end() || !it->is_boolean()) return error(res, 400, "field 'operator': expected true or false");
        const std::string user = req.matches[1];
        if (change(res, "tenancy.operator", {{"user", user}, {"operator", it->get<bool>()}})) {
          reply(res, 200, json{{"user", user}, {"operator", it->get<bool>()}});
        }
      });
  add("POST", "/api/v1/users/{name}/default-project", R"(/api/v1/users/([A-Za-z0-9._-]{1,64})/default-project)",
      [this](const Req& req, Res& res) {
        auto who = authenticate(req, res);
        if (!who) return;
        const std::string user = req.matches[1];
        if (!who->is_operator && user != who->user) return error(res, 403, "users set their own default project");
        auto body = body_object(req, res);
        if (!body) return;
        auto project = string_field(*body, "project", res);
        if (!project) return;
        if (change(res, "tenancy.default_project", {{"user", user}, {"project", *project}})) {
          reply(res, 200, json{{"user", user}, {"default_project", *project}});
        }
      });

  // --- tokens
  // Whether the caller may make or revoke tokens of `user`: their own; an institution's admins for
  // the members of its projects; operators for anyone.
  auto token_rights = [this](const Scope& who, const std::string& user) {
    if (who.is_operator || user == who.user) return true;
    bool reach = false;
    controller.read_books([&](const Accounting& books) {
      if (const core::User* u = books.tenancy().user(user)) {
        for (const std::string& p : u->projects) reach = reach || who.managed.contains(p);
      }
    });
    return reach;
  };
  add("GET", "/api/v1/tokens", "/api/v1/tokens", [this, token_rights](const Req& req, Res& res) {
    auto who = authenticate(req, res);
    if (!who) return;
    json out = json::array();
    for (const TokenInfo& t : tokens.list()) {
      if (token_rights(*who, t.user)) out.push_back({{"id", t.id}, {"user", t.user}, {"operator", t.is_operator}});
    }
    reply(res, 200, json{{"tokens", out}});
  });
  add("POST", "/api/v1/tokens", "/api/v1/tokens", [this, token_rights](const Req& req, Res& res) {
    auto who = authenticate(req, res);
    if (!who) return;
    auto body = body_object(req, res);
    if (!body) return;
    std::string user = who->user;
    if (body->contains("user")) {
      auto u = string_field(*body, "user", res);
      if (!u) return;
      user = *u;
    }
    if (user.size() > 64 ||
        user.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") !=
            std::string::npos) {
      return error(res, 400, "field 'user': expected a user name (letters, digits, '.', '_', '-')");
    }
    if (!token_rights(*who, user)) return error(res, 403, "tokens of " + user + " are not yours to make");
    auto token = tokens.issue(user, false);
    if (!token) return error(res, 500, token.error().message);
    reply(res, 201, json{{"id", sha256_hex(*token).substr(0, 12)}, {"user", user}, {"token", *token}});
  });
  add("POST", "/api/v1/tokens/{id}/revoke", R"(/api/v1/tokens/([0-9a-f]{12})/revoke)",
      [this, token_rights](const Req& req, Res& res) {
        auto who = authenticate(req, res);
        if (!who) return;
        const std::string id = req.matches[1];
        std::optional<TokenInfo> found;
        for (const TokenInfo& t : tokens.list()) {
          if (t.id == id) found = t;
        }
        if (!found || !token_rights(*who, found->user)) return error(res, 404, "token " + id + " not found");
        auto r = tokens.revoke(id);
        if (!r) return error(res, 404, r.error().message);
        reply(res, 200, json{{"id", id}, {"user", r->user}, {"revoked", true}});
      });

  // --- programmes and grants
  add("GET", "/api/v1/programmes", "/api/v1/programmes", [this](const Req& req, Res& res) {
    auto who = authenticate(req, res);
    if (!who) return;
    json out = json::array();
    controller.read_books([&](const Accounting& books) {
      for (const auto& [name, p] : books.grants().programmes()) {
        out.push_back({{"name", name},
                       {"when_exhausted", p.when_exhausted == core::ExhaustedRule::Refuse ? "refuse" : "preemptible"},
                       {"priority", p.priority}});
      }
    });
    reply(res, 200, json{{"programmes", out}});
  });
  add("POST", "/api/v1/programmes", "/api/v1/programmes", [this](const Req& req, Res& res) {
    auto who = authenticate(req, res);
    if (!who) return;
    if (!who->is_operator) return error(res, 403, "only operators add programmes");
    auto body = body_object(req, res);
    if (!body) return;
    auto name = string_field(*body, "name", res);
    if (!name) return;
    const json payload{{"name", *name},
                       {"when_exhausted", body->value("when_exhausted", "refuse")},
                       {"priority", body->contains("priority") ? (*body)["priority"] : json(0.0)}};
    if (change(res, "grant.programme", payload)) reply(res, 201, payload);
  });
  add("GET", "/api/v1/grants", "/api/v1/grants", [this](const Req& req, Res& res) {
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
  });
  add("POST", "/api/v1/grants", "/api/v1/grants", [this](const Req& req, Res& res) {
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
  });
  auto visible_grant = [this](const Req& req, Res& res, const Scope& who) -> std::optional<json> {
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
  };
  add("GET", "/api/v1/grants/{id}", R"(/api/v1/grants/(\d{1,9}))", [this, visible_grant](const Req& req, Res& res) {
    auto who = authenticate(req, res);
    if (!who) return;
    if (auto g = visible_grant(req, res, *who)) reply(res, 200, *g);
  });
  auto grant_change = [this, visible_grant](bool top_up) {
    return [this, visible_grant, top_up](const Req& req, Res& res) {
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
    };
  };
  add("POST", "/api/v1/grants/{id}/top-up", R"(/api/v1/grants/(\d{1,9})/top-up)", grant_change(true));
  add("POST", "/api/v1/grants/{id}/extend", R"(/api/v1/grants/(\d{1,9})/extend)", grant_change(false));

  add("GET", "/api/v1/events", "/api/v1/events", [this](const Req& req, Res& res) {
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
  });

  // --- reports
  add("GET", "/api/v1/reports/usage", "/api/v1/reports/usage", [this](const Req& req, Res& res) {
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
  });

  add("GET", "/api/v1/reports/utilisation", "/api/v1/reports/utilisation", [this](const Req& req, Res& res) {
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
  });

  // --- quotas
  add("GET", "/api/v1/quotas", "/api/v1/quotas", [this](const Req& req, Res& res) {
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
  });
  auto quota_change = [this](bool set) {
    return [this, set](const Req& req, Res& res) {
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
    };
  };
  add("POST", "/api/v1/quotas", "/api/v1/quotas", quota_change(true));
  add("POST", "/api/v1/quotas/remove", "/api/v1/quotas/remove", quota_change(false));
}

}  // namespace gwang::controller
