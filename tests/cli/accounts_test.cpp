// Users and groups as the command line finds them: by name or number, from /etc or getent(1).
#include "cli/accounts.h"

#include <gtest/gtest.h>

namespace gwang::cli {
namespace {

TEST(Accounts, UsersAndGroupsByNameOrNumber) {
  const auto root = find_user("root");
  ASSERT_TRUE(root);
  EXPECT_EQ(root->uid, 0u);
  EXPECT_EQ(root->gid, 0u);
  EXPECT_EQ(find_user("0")->name, "root");
  EXPECT_EQ(find_user("nobody")->uid, 65534u);
  EXPECT_EQ(find_group("daemon")->gid, 1u);
  EXPECT_EQ(find_group("1")->name, "daemon");
  // Not in /etc, so asked of getent, which knows none either.
  EXPECT_FALSE(find_user("no-such-user-here"));
  EXPECT_FALSE(find_group("no-such-group-here"));
  EXPECT_FALSE(find_group("4000000000"));
  EXPECT_FALSE(find_user(""));
}

}  // namespace
}  // namespace gwang::cli
