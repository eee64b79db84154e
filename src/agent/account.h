// The Unix accounts jobs run as.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "core/result.h"

namespace gwang::agent {

struct Account {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups, the primary one included
  std::string home;
  std::string shell;  // the login shell
};

// The account of this name on this host, with its groups. Error: no such account.
Result<Account> lookup_account(const std::string& name);

}  // namespace gwang::agent
