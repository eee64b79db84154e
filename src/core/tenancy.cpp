#include "core/tenancy.h"

#include "core/names.h"

#include <array>
#include <utility>

namespace gwang::core {

namespace {

constexpr std::array<std::pair<InstitutionType, std::string_view>, 6> kTypes{{
    {InstitutionType::Startup, "startup"},
    {InstitutionType::Sme, "sme"},
    {InstitutionType::LargeCompany, "large-company"},
    {InstitutionType::University, "university"},
    {InstitutionType::ResearchInstitute, "research-institute"},
    {InstitutionType::PublicBody, "public-body"},
}};
constexpr std::array<std::pair<Sector, std::string_view>, 5> kSectors{{
    {Sector::Energy, "energy"},
    {Sector::Mobility, "mobility"},
    {Sector::Healthcare, "healthcare"},
    {Sector::Manufacturing, "manufacturing"},
    {Sector::Other, "other"},
}};

// Names go into URLs, command lines and reports: letters, digits, '.', '-' and '_', 1 to 64 of them.
Result<void> check_name(std::string_view name, const char* what) {
  bool ok = !name.empty() && name.size() <= 64;
  for (char c : name) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
                c == '_');
  }
  if (!ok) {
    return fail(std::string(what) + " name '" + std::string(name) + "': use letters, digits, '.', '-' and '_' (1 to 64)");
  }
  return {};
}

}  // namespace

std::string_view to_string(InstitutionType type) { return names::name_of(type, kTypes); }
std::string_view to_string(Sector sector) { return names::name_of(sector, kSectors); }

Result<InstitutionType> parse_institution_type(std::string_view text) {
  if (auto v = names::value_of<InstitutionType>(text, kTypes)) return *v;
  return fail("institution type '" + std::string(text) + "': expected " + names::list(kTypes, ", ", " or "));
}
Result<Sector> parse_sector(std::string_view text) {
  if (auto v = names::value_of<Sector>(text, kSectors)) return *v;
  return fail("sector '" + std::string(text) + "': expected " + names::list(kSectors, ", ", " or "));
}

Result<void> Tenancy::add_institution(Institution institution) {
  if (auto ok = check_name(institution.name, "institution"); !ok) return ok;
  if (institutions_.contains(institution.name)) return fail("institution '" + institution.name + "' exists already");
  std::string name = institution.name;
  institutions_.emplace(std::move(name), std::move(institution));
  return {};
}

Result<void> Tenancy::add_project(Project project) {
  if (auto ok = check_name(project.name, "project"); !ok) return ok;
  if (projects_.contains(project.name)) return fail("project '" + project.name + "' exists already");
  if (!institutions_.contains(project.institution)) return fail("no institution '" + project.institution + "'");
  std::string name = project.name;
  projects_.emplace(std::move(name), std::move(project));
  return {};
}

Result<void> Tenancy::add_user(std::string name) {
  if (auto ok = check_name(name, "user"); !ok) return ok;
  if (users_.contains(name)) return fail("user '" + name + "' exists already");
  User u;
  u.name = name;
  users_.emplace(std::move(name), std::move(u));
  return {};
}

Result<void> Tenancy::add_member(const std::string& user, const std::string& project) {
  auto u = users_.find(user);
  if (u == users_.end()) return fail("no user '" + user + "'");
  if (!projects_.contains(project)) return fail("no project '" + project + "'");
  u->second.projects.insert(project);
  if (u->second.default_project.empty()) u->second.default_project = project;
  return {};
}

Result<void> Tenancy::remove_member(const std::string& user, const std::string& project) {
  auto u = users_.find(user);
  if (u == users_.end()) return fail("no user '" + user + "'");
  if (u->second.projects.erase(project) == 0) return fail("user '" + user + "' is not a member of project '" + project + "'");
  if (u->second.default_project == project) {
    u->second.default_project = u->second.projects.empty() ? "" : *u->second.projects.begin();
  }
  return {};
}

Result<void> Tenancy::make_admin(const std::string& user, const std::string& institution) {
  auto u = users_.find(user);
  if (u == users_.end()) return fail("no user '" + user + "'");
  if (!institutions_.contains(institution)) return fail("no institution '" + institution + "'");
  u->second.admin_of.insert(institution);
  return {};
}

Result<void> Tenancy::set_operator(const std::string& user, bool is_operator) {
  auto u = users_.find(user);
  if (u == users_.end()) return fail("no user '" + user + "'");
  u->second.is_operator = is_operator;
  return {};
}

Result<void> Tenancy::set_default_project(const std::string& user, const std::string& project) {
  auto u = users_.find(user);
  if (u == users_.end()) return fail("no user '" + user + "'");
  if (!u->second.projects.contains(project)) {
    return fail("user '" + user + "' is not a member of project '" + project + "'");
  }
  u->second.default_project = project;
  return {};
}

const Institution* Tenancy::institution(std::string_view name) const {
  auto it = institutions_.find(name);
  return it == institutions_.end() ? nullptr : &it->second;
}
const Project* Tenancy::project(std::string_view name) const {
  auto it = projects_.find(name);
  return it == projects_.end() ? nullptr : &it->second;
}
const User* Tenancy::user(std::string_view name) const {
  auto it = users_.find(name);
  return it == users_.end() ? nullptr : &it->second;
}
const std::string& Tenancy::institution_of(std::string_view project) const {
  static const std::string none;
  const Project* p = this->project(project);
  return p ? p->institution : none;
}

Result<std::string> Tenancy::project_for(const std::string& user, const std::string& requested) const {
  const User* u = this->user(user);
  if (!u) return fail("no user '" + user + "'");
  if (requested.empty()) {
    if (u->default_project.empty()) return fail("user '" + user + "' is in no project: name one");
    return u->default_project;
  }
  if (!projects_.contains(requested)) return fail("no project '" + requested + "'");
  if (!u->projects.contains(requested)) {
    return fail("user '" + user + "' is not a member of project '" + requested + "'");
  }
  return requested;
}

bool Tenancy::allowed(const std::string& user, Operation op, const Target& target) const {
  const User* u = this->user(user);
  if (!u) return false;
  if (u->is_operator) return true;
  const bool member = u->projects.contains(target.project);
  const std::string& home = institution_of(target.project);
  const bool admin = !home.empty() && u->admin_of.contains(home);
  switch (op) {
    case Operation::Submit: return member;
    case Operation::SeeJob:
    case Operation::ReadLogs: return member || admin || (!target.owner.empty() && target.owner == user);
    case Operation::CancelJob: return admin || (!target.owner.empty() && target.owner == user);
    case Operation::ManageProject: return admin;
    case Operation::ManageInstitution: return u->admin_of.contains(target.institution);
    case Operation::ManageGrants: return false;
  }
  return false;
}

}  // namespace gwang::core
