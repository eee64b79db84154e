#include "agent/account.h"

#include <grp.h>
#include <pwd.h>

namespace gwang::agent {

Result<Account> lookup_account(const std::string& name) {
  struct passwd pw;
  struct passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || !found) {
    return fail("no account named '" + name + "' on this host");
  }
  Account a{pw.pw_name, pw.pw_uid, pw.pw_gid, {}, pw.pw_dir, pw.pw_shell ? pw.pw_shell : ""};
  int n = 64;
  std::vector<gid_t> groups(n);
  if (::getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &n) < 0) {
    groups.resize(n);
    ::getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &n);
  }
  groups.resize(n);
  a.groups = std::move(groups);
  return a;
}

}  // namespace gwang::agent
