#include "cli/accounts.h"

#include <grp.h>
#include <pwd.h>

#include <cstdio>
#include <map>
#include <sstream>
#include <vector>

#include "cli/program_output.h"

namespace gwang::cli {

namespace {

bool numeric(const std::string& key) {
  return !key.empty() && key.size() < 10 && key.find_first_not_of("0123456789") == std::string::npos;
}

// getent's line for `key` in `database` ("passwd", "group"), split at its colons; empty when none.
std::vector<std::string> getent(const char* database, const std::string& key) {
  const std::optional<std::string> text = program_output({"getent", database, key});
  std::vector<std::string> fields;
  if (!text) return fields;
  std::istringstream line(text->substr(0, text->find('\n')));
  for (std::string f; std::getline(line, f, ':');) fields.push_back(f);
  return fields;
}

}  // namespace

std::optional<UserEntry> find_user(const std::string& key) {
  static std::map<std::string, std::optional<UserEntry>> known;
  if (auto it = known.find(key); it != known.end()) return it->second;
  std::optional<UserEntry> found;
  if (FILE* f = std::fopen("/etc/passwd", "re")) {
    while (const passwd* pw = ::fgetpwent(f)) {
      if (numeric(key) ? pw->pw_uid == std::stoul(key) : key == pw->pw_name) {
        found = UserEntry{pw->pw_name, pw->pw_uid, pw->pw_gid};
        break;
      }
    }
    std::fclose(f);
  }
  if (!found && !key.empty()) {
    const std::vector<std::string> f = getent("passwd", key);
    if (f.size() >= 4 && numeric(f[2]) && numeric(f[3])) {
      found = UserEntry{f[0], static_cast<uid_t>(std::stoul(f[2])), static_cast<gid_t>(std::stoul(f[3]))};
    }
  }
  return known[key] = found;
}

std::optional<GroupEntry> find_group(const std::string& key) {
  static std::map<std::string, std::optional<GroupEntry>> known;
  if (auto it = known.find(key); it != known.end()) return it->second;
  std::optional<GroupEntry> found;
  if (FILE* f = std::fopen("/etc/group", "re")) {
    while (const group* gr = ::fgetgrent(f)) {
      if (numeric(key) ? gr->gr_gid == std::stoul(key) : key == gr->gr_name) {
        found = GroupEntry{gr->gr_name, gr->gr_gid};
        break;
      }
    }
    std::fclose(f);
  }
  if (!found && !key.empty()) {
    const std::vector<std::string> f = getent("group", key);
    if (f.size() >= 3 && numeric(f[2])) found = GroupEntry{f[0], static_cast<gid_t>(std::stoul(f[2]))};
  }
  return known[key] = found;
}

}  // namespace gwang::cli
