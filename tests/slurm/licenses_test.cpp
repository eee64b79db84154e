// Slurm's license lists: the forms Slurm 22.05 takes and refuses (measured side by side in
// tests/slurm/compare.sh), and the list written back.
#include "slurm/licenses.h"

#include <gtest/gtest.h>

namespace gwang::slurm {
namespace {

using L = std::vector<LicenseCount>;

TEST(Licenses, FormsSlurmTakes) {
  EXPECT_EQ(*parse_licenses(""), L{});
  EXPECT_EQ(*parse_licenses("matlab"), (L{{"matlab", 1}}));
  EXPECT_EQ(*parse_licenses("matlab:2,fluent"), (L{{"matlab", 2}, {"fluent", 1}}));
  EXPECT_EQ(*parse_licenses(",matlab"), (L{{"matlab", 1}}));
  EXPECT_EQ(*parse_licenses("matlab,"), (L{{"matlab", 1}}));
  EXPECT_EQ(*parse_licenses("matlab:1,fluent,matlab:1"), (L{{"matlab", 2}, {"fluent", 1}}));
  EXPECT_EQ(*parse_licenses("matlab:0"), (L{{"matlab", 0}}));
  EXPECT_EQ(*parse_licenses("matlab:"), (L{{"matlab", 0}}));
  EXPECT_EQ(*parse_licenses("matlab:2;fluent"), (L{{"matlab", 2}, {"fluent", 1}}));
  // Names Slurm's own syntax does not give a meaning to are names (unknown to the cluster, they
  // are refused there): "matlab=1", "nastran@slurmdb:12" (remote licenses, served by slurmdbd).
  EXPECT_EQ(*parse_licenses("matlab=1"), (L{{"matlab=1", 1}}));
  EXPECT_EQ(*parse_licenses("nastran@slurmdb:12"), (L{{"nastran@slurmdb", 12}}));
}

TEST(Licenses, MistakesSayWhichItem) {
  EXPECT_EQ(parse_licenses("matlab:x").error().message, "license 'matlab:x': the count must be a whole number");
  EXPECT_EQ(parse_licenses("matlab:-1").error().message, "license 'matlab:-1': the count must be a whole number");
  EXPECT_EQ(parse_licenses(":2").error().message, "license ':2' has no name");
  EXPECT_EQ(parse_licenses("mat lab").error().message, "license 'mat lab' has a blank in it");
  EXPECT_EQ(parse_licenses("matlab:99999999999").error().message,
            "license 'matlab:99999999999': the count is too large");
}

TEST(Licenses, WrittenBackAndNamed) {
  EXPECT_EQ(format_licenses({{"matlab", 2}, {"fluent", 1}}), "matlab:2,fluent:1");
  EXPECT_EQ(format_licenses({}), "");
  EXPECT_TRUE(license_name_ok("ansys-2024.r1_x"));
  EXPECT_FALSE(license_name_ok(""));
  EXPECT_FALSE(license_name_ok("a:b"));
  EXPECT_FALSE(license_name_ok(std::string(65, 'a')));
}

}  // namespace
}  // namespace gwang::slurm
