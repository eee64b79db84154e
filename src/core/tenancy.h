// Who is who at the centre: institutions (with a type and a sector), their projects, the users who
// belong to projects, and what each may do. Pure: the controller keeps it durable and asks it; the
// simulator builds it from a trace's tenants.
//
// Roles:
//   operator           everything;
//   institution admin  its institutions' projects, their members and their jobs;
//   member             submits to its projects, sees their jobs and reads their logs; cancels its own.
// A user may be in several projects; each job is charged to one (the one asked for, or the user's
// default).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace gwang::core {

enum class InstitutionType { Startup, Sme, LargeCompany, University, ResearchInstitute, PublicBody };
enum class Sector { Energy, Mobility, Healthcare, Manufacturing, Other };

std::string_view to_string(InstitutionType type);  // "startup", "sme", "large-company", ...
std::string_view to_string(Sector sector);         // "energy", ...
Result<InstitutionType> parse_institution_type(std::string_view text);
Result<Sector> parse_sector(std::string_view text);

struct Institution {
  std::string name;
  InstitutionType type = InstitutionType::University;
  Sector sector = Sector::Other;
};

struct Project {
  std::string name;         // unique in the centre
  std::string institution;
};

struct User {
  std::string name;
  bool is_operator = false;
  std::set<std::string> admin_of;  // institutions
  std::set<std::string> projects;  // member of
  std::string default_project;     // one of `projects`, or empty
};

// What a user asks to do, and to what.
enum class Operation {
  Submit,             // a job to a project
  SeeJob,             // a job's record
  CancelJob,
  ReadLogs,
  ManageProject,      // its members, its settings
  ManageInstitution,  // its projects and admins
  ManageGrants,       // programmes, grants, top-ups: operators only
};

struct Target {
  std::string project;      // the job's or the project's
  std::string owner;        // the job's owner (SeeJob, CancelJob, ReadLogs)
  std::string institution;  // for ManageInstitution
};

class Tenancy {
 public:
  Result<void> add_institution(Institution institution);
  Result<void> add_project(Project project);
  Result<void> add_user(std::string name);
  Result<void> add_member(const std::string& user, const std::string& project);
  Result<void> remove_member(const std::string& user, const std::string& project);
  Result<void> make_admin(const std::string& user, const std::string& institution);
  Result<void> set_operator(const std::string& user, bool is_operator);
  Result<void> set_default_project(const std::string& user, const std::string& project);

  const Institution* institution(std::string_view name) const;
  const Project* project(std::string_view name) const;
  const User* user(std::string_view name) const;
  // The institution a project belongs to ("" for an unknown project).
  const std::string& institution_of(std::string_view project) const;

  const std::map<std::string, Institution, std::less<>>& institutions() const { return institutions_; }
  const std::map<std::string, Project, std::less<>>& projects() const { return projects_; }
  const std::map<std::string, User, std::less<>>& users() const { return users_; }

  // The project a job is charged to: `requested`, or the user's default. Errors say why not.
  Result<std::string> project_for(const std::string& user, const std::string& requested) const;

  // Whether `user` may do `action` on `target`. An unknown user may do nothing.
  bool allowed(const std::string& user, Operation op, const Target& target) const;

 private:
  std::map<std::string, Institution, std::less<>> institutions_;
  std::map<std::string, Project, std::less<>> projects_;
  std::map<std::string, User, std::less<>> users_;
};

}  // namespace gwang::core
