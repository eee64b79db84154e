// Users and groups looked up from the command line. The gwang command is a static program, and
// glibc's name services in a static program load the system's shared NSS modules, which crash it
// (libnss_systemd, consulted for a name /etc does not have). So: /etc/passwd and /etc/group read
// directly first, then getent(1) (a dynamic program, which asks every source the system has).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace gwang::cli {

struct UserEntry {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
};
struct GroupEntry {
  std::string name;
  gid_t gid = 0;
};

// By name, or by number where `key` is all digits (as getent takes it). Remembered for the
// program's life.
std::optional<UserEntry> find_user(const std::string& key);
std::optional<GroupEntry> find_group(const std::string& key);

}  // namespace gwang::cli
