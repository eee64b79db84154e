// Institutions, projects, users and what each role may do.
#include "core/tenancy.h"

#include <gtest/gtest.h>

namespace gwang::core {
namespace {

// Two institutions; kaist has two projects. Users: an operator, kaist's admin, two members of
// llm (kim, lee), a member of vision (park), and snu's member (choi).
class TenancyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(t_.add_institution({"kaist", InstitutionType::University, Sector::Other}));
    ASSERT_TRUE(t_.add_institution({"snu", InstitutionType::University, Sector::Healthcare}));
    ASSERT_TRUE(t_.add_project({"llm", "kaist"}));
    ASSERT_TRUE(t_.add_project({"vision", "kaist"}));
    ASSERT_TRUE(t_.add_project({"bio", "snu"}));
    for (const char* u : {"root", "admin", "kim", "lee", "park", "choi"}) ASSERT_TRUE(t_.add_user(u));
    ASSERT_TRUE(t_.set_operator("root", true));
    ASSERT_TRUE(t_.make_admin("admin", "kaist"));
    ASSERT_TRUE(t_.add_member("kim", "llm"));
    ASSERT_TRUE(t_.add_member("lee", "llm"));
    ASSERT_TRUE(t_.add_member("park", "vision"));
    ASSERT_TRUE(t_.add_member("choi", "bio"));
  }
  Tenancy t_;
};

// Each row: who, what, on which project (owned by whom), allowed or not.
struct Case {
  const char* user;
  Operation action;
  const char* project;
  const char* owner;
  bool allowed;
};

TEST_F(TenancyTest, RoleActionOwnerMatrix) {
  const Case cases[] = {
      // the operator: everything
      {"root", Operation::Submit, "llm", "", true},
      {"root", Operation::SeeJob, "bio", "choi", true},
      {"root", Operation::CancelJob, "llm", "kim", true},
      {"root", Operation::ReadLogs, "vision", "park", true},
      {"root", Operation::ManageProject, "bio", "", true},
      {"root", Operation::ManageGrants, "", "", true},
      // kaist's admin: kaist's projects and jobs, nothing of snu's, no grants, no submitting where not a member
      {"admin", Operation::SeeJob, "llm", "kim", true},
      {"admin", Operation::SeeJob, "vision", "park", true},
      {"admin", Operation::CancelJob, "llm", "kim", true},
      {"admin", Operation::ReadLogs, "vision", "park", true},
      {"admin", Operation::ManageProject, "llm", "", true},
      {"admin", Operation::ManageProject, "vision", "", true},
      {"admin", Operation::SeeJob, "bio", "choi", false},
      {"admin", Operation::CancelJob, "bio", "choi", false},
      {"admin", Operation::ReadLogs, "bio", "choi", false},
      {"admin", Operation::ManageProject, "bio", "", false},
      {"admin", Operation::ManageGrants, "", "", false},
      {"admin", Operation::Submit, "llm", "", false},
      // kim, a member of llm: its jobs, its own cancels only
      {"kim", Operation::Submit, "llm", "", true},
      {"kim", Operation::SeeJob, "llm", "kim", true},
      {"kim", Operation::SeeJob, "llm", "lee", true},
      {"kim", Operation::ReadLogs, "llm", "lee", true},
      {"kim", Operation::CancelJob, "llm", "kim", true},
      {"kim", Operation::CancelJob, "llm", "lee", false},
      {"kim", Operation::Submit, "vision", "", false},
      {"kim", Operation::SeeJob, "vision", "park", false},
      {"kim", Operation::ReadLogs, "vision", "park", false},
      {"kim", Operation::CancelJob, "vision", "park", false},
      {"kim", Operation::SeeJob, "bio", "choi", false},
      {"kim", Operation::ReadLogs, "bio", "choi", false},
      {"kim", Operation::ManageProject, "llm", "", false},
      {"kim", Operation::ManageGrants, "", "", false},
      // park, of vision, the same institution: still nothing of llm's
      {"park", Operation::SeeJob, "llm", "kim", false},
      {"park", Operation::CancelJob, "llm", "kim", false},
      {"park", Operation::ReadLogs, "llm", "kim", false},
      {"park", Operation::Submit, "llm", "", false},
      {"park", Operation::Submit, "vision", "", true},
      // choi, of another institution
      {"choi", Operation::SeeJob, "llm", "kim", false},
      {"choi", Operation::ReadLogs, "vision", "park", false},
      {"choi", Operation::CancelJob, "bio", "choi", true},
      {"choi", Operation::ManageProject, "bio", "", false},
      // someone unknown: nothing
      {"stranger", Operation::SeeJob, "llm", "kim", false},
      {"stranger", Operation::Submit, "llm", "", false},
      // a job that belongs to no known project: only the operator and its owner
      {"kim", Operation::SeeJob, "gone", "kim", true},
      {"admin", Operation::SeeJob, "gone", "kim", false},
      {"lee", Operation::SeeJob, "gone", "kim", false},
  };
  static_assert(std::size(cases) >= 40);
  for (const Case& c : cases) {
    EXPECT_EQ(t_.allowed(c.user, c.action, {c.project, c.owner, ""}), c.allowed)
        << c.user << " action " << static_cast<int>(c.action) << " on " << c.project << " owned by " << c.owner;
  }
  EXPECT_TRUE(t_.allowed("admin", Operation::ManageInstitution, {"", "", "kaist"}));
  EXPECT_FALSE(t_.allowed("admin", Operation::ManageInstitution, {"", "", "snu"}));
  EXPECT_FALSE(t_.allowed("kim", Operation::ManageInstitution, {"", "", "kaist"}));
}

TEST_F(TenancyTest, AJobIsChargedToTheProjectAskedForOrTheDefault) {
  ASSERT_TRUE(t_.add_member("kim", "vision"));
  EXPECT_EQ(*t_.project_for("kim", ""), "llm");  // the first project joined
  EXPECT_EQ(*t_.project_for("kim", "vision"), "vision");
  ASSERT_TRUE(t_.set_default_project("kim", "vision"));
  EXPECT_EQ(*t_.project_for("kim", ""), "vision");
  EXPECT_EQ(t_.project_for("kim", "bio").error().message, "user 'kim' is not a member of project 'bio'");
  EXPECT_EQ(t_.project_for("kim", "nope").error().message, "no project 'nope'");
  EXPECT_EQ(t_.project_for("admin", "").error().message, "user 'admin' is in no project: name one");
  EXPECT_EQ(t_.project_for("ghost", "").error().message, "no user 'ghost'");
  // Leaving the default project moves the default to another one.
  ASSERT_TRUE(t_.remove_member("kim", "vision"));
  EXPECT_EQ(*t_.project_for("kim", ""), "llm");
  EXPECT_EQ(t_.remove_member("kim", "vision").error().message, "user 'kim' is not a member of project 'vision'");
}

TEST_F(TenancyTest, BadNamesAndReferencesAreRefused) {
  EXPECT_EQ(t_.add_institution({"kaist", InstitutionType::University, Sector::Other}).error().message,
            "institution 'kaist' exists already");
  EXPECT_EQ(t_.add_institution({"two words", InstitutionType::Sme, Sector::Energy}).error().message,
            "institution name 'two words': use letters, digits, '.', '-' and '_' (1 to 64)");
  EXPECT_EQ(t_.add_project({"x", "nowhere"}).error().message, "no institution 'nowhere'");
  EXPECT_EQ(t_.add_project({"llm", "snu"}).error().message, "project 'llm' exists already");
  EXPECT_EQ(t_.add_project({"", "snu"}).error().message, "project name '': use letters, digits, '.', '-' and '_' (1 to 64)");
  EXPECT_EQ(t_.add_user(std::string(65, 'a')).error().message.substr(0, 10), "user name ");
  EXPECT_EQ(t_.add_member("kim", "nope").error().message, "no project 'nope'");
  EXPECT_EQ(t_.make_admin("kim", "nope").error().message, "no institution 'nope'");
  EXPECT_EQ(t_.set_default_project("kim", "bio").error().message, "user 'kim' is not a member of project 'bio'");
  EXPECT_EQ(t_.institution_of("llm"), "kaist");
  EXPECT_EQ(t_.institution_of("nope"), "");
}

TEST(TenancyNames, TypesAndSectorsReadAndWrite) {
  for (auto type : {InstitutionType::Startup, InstitutionType::Sme, InstitutionType::LargeCompany,
                    InstitutionType::University, InstitutionType::ResearchInstitute, InstitutionType::PublicBody}) {
    EXPECT_EQ(*parse_institution_type(to_string(type)), type);
  }
  for (auto sector : {Sector::Energy, Sector::Mobility, Sector::Healthcare, Sector::Manufacturing, Sector::Other}) {
    EXPECT_EQ(*parse_sector(to_string(sector)), sector);
  }
  EXPECT_EQ(parse_institution_type("corp").error().message,
            "institution type 'corp': expected startup, sme, large-company, university, research-institute or "
            "public-body");
  EXPECT_EQ(parse_sector("").error().message,
            "sector '': expected energy, mobility, healthcare, manufacturing or other");
}

}  // namespace
}  // namespace gwang::core
