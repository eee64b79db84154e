// The API of the centre's tenancy: who calls, institutions and their admins, projects and their
// members, users, and tokens. Operators reach everything; an institution's admins manage its
// projects and their members; members see their projects.

#include <algorithm>
#include <cmath>

#include "api/units.h"
#include "controller/auth.h"
#include "controller/http_impl.h"
#include "core/report.h"

namespace gwang::controller {

using nlohmann::json;

void ApiServer::Impl::whoami(const httplib::Request& req, httplib::Response& res) {
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
}

void ApiServer::Impl::list_institutions(const httplib::Request& req, httplib::Response& res) {
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
}

void ApiServer::Impl::add_institution(const httplib::Request& req, httplib::Response& res) {
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
}

void ApiServer::Impl::add_institution_admin(const httplib::Request& req, httplib::Response& res) {
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
}

void ApiServer::Impl::list_projects(const httplib::Request& req, httplib::Response& res) {
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
}

void ApiServer::Impl::add_project(const httplib::Request& req, httplib::Response& res) {
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
}

void ApiServer::Impl::change_member(const httplib::Request& req, httplib::Response& res, bool add_it) {
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
}

void ApiServer::Impl::add_member(const httplib::Request& req, httplib::Response& res) { change_member(req, res, true); }

void ApiServer::Impl::remove_member(const httplib::Request& req, httplib::Response& res) {
  change_member(req, res, false);
}

void ApiServer::Impl::list_users(const httplib::Request& req, httplib::Response& res) {
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
}

void ApiServer::Impl::add_user(const httplib::Request& req, httplib::Response& res) {
  auto who = authenticate(req, res);
  if (!who) return;
  if (!who->is_operator) return error(res, 403, "only operators add users directly (admins add members to projects)");
  auto body = body_object(req, res);
  if (!body) return;
  auto name = string_field(*body, "name", res);
  if (!name) return;
  if (change(res, "tenancy.user", {{"name", *name}})) reply(res, 201, json{{"name", *name}});
}

void ApiServer::Impl::set_operator(const httplib::Request& req, httplib::Response& res) {
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
}

void ApiServer::Impl::set_default_project(const httplib::Request& req, httplib::Response& res) {
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
}

bool ApiServer::Impl::token_rights(const Scope& who, const std::string& user) {
  if (who.is_operator || user == who.user) return true;
  bool reach = false;
  controller.read_books([&](const Accounting& books) {
    if (const core::User* u = books.tenancy().user(user)) {
      for (const std::string& p : u->projects) reach = reach || who.managed.contains(p);
    }
  });
  return reach;
}

void ApiServer::Impl::list_tokens(const httplib::Request& req, httplib::Response& res) {
  auto who = authenticate(req, res);
  if (!who) return;
  json out = json::array();
  for (const TokenInfo& t : tokens.list()) {
    if (token_rights(*who, t.user)) out.push_back({{"id", t.id}, {"user", t.user}, {"operator", t.is_operator}});
  }
  reply(res, 200, json{{"tokens", out}});
}

void ApiServer::Impl::issue_token(const httplib::Request& req, httplib::Response& res) {
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
}

void ApiServer::Impl::revoke_token(const httplib::Request& req, httplib::Response& res) {
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
}

}  // namespace gwang::controller
