// sbatch's --mail-type and --mail-user, against sbatch(1) of Slurm 22.05.
#include "slurm/mail.h"

#include <gtest/gtest.h>

#include "slurm/sbatch.h"

namespace gwang::slurm {
namespace {

TEST(MailType, TakesSlurmsWordsInAnyCaseInOneOrder) {
  EXPECT_EQ(parse_mail_type("END").value(), "END");
  EXPECT_EQ(parse_mail_type("end,begin").value(), "BEGIN,END");
  EXPECT_EQ(parse_mail_type("ALL").value(), "BEGIN,END,FAIL,REQUEUE,STAGE_OUT");
  EXPECT_EQ(parse_mail_type("FAIL,TIME_LIMIT,ARRAY_TASKS").value(), "FAIL,TIME_LIMIT,ARRAY_TASKS");
  EXPECT_EQ(parse_mail_type("NONE").value(), "");
  EXPECT_EQ(parse_mail_type("BEGIN,NONE,END").value(), "END");  // NONE clears what came before
  EXPECT_TRUE(mails_at("BEGIN,END", "END"));
  EXPECT_FALSE(mails_at("BEGIN,END", "FAIL"));
  EXPECT_FALSE(mails_at("", "END"));
}

TEST(MailType, RefusesWhatItDoesNotKnowAndWhatGwangDoesNotSend) {
  EXPECT_NE(parse_mail_type("SOMETIMES").error().message.find("'SOMETIMES' is not a mail type"), std::string::npos);
  EXPECT_NE(parse_mail_type("TIME_LIMIT_90").error().message.find("gwang sends no mail for it yet"), std::string::npos);
  EXPECT_NE(parse_mail_type("INVALID_DEPEND").error().message.find("gwang sends no mail for it yet"),
            std::string::npos);
  EXPECT_FALSE(parse_mail_type(""));
  EXPECT_TRUE(mail_user_ok("ada@example.org"));
  EXPECT_TRUE(mail_user_ok("ada"));
  EXPECT_FALSE(mail_user_ok("ada lovelace"));
  EXPECT_FALSE(mail_user_ok(""));
  EXPECT_FALSE(mail_user_ok(std::string(257, 'a')));
}

TEST(MailType, SbatchCarriesThemFromTheCommandLineAndTheScript) {
  const Reader reader{utc_clock(1795791600), 1001};
  auto cli = parse_command_line({"--mail-type=end,fail", "--mail-user=ada@example.org", "job.sh"}, reader);
  ASSERT_TRUE(cli) << cli.error().message;
  EXPECT_EQ(cli->options.mail_type, "END,FAIL");
  EXPECT_EQ(cli->options.mail_user, "ada@example.org");
  // The script's directives under the command line's: both kept where the command line is silent.
  auto from_script = parse_script("#!/bin/sh\n#SBATCH --mail-type=BEGIN --mail-user=bob\ntrue\n", "job.sh", reader);
  ASSERT_TRUE(from_script) << from_script.error().message;
  SbatchOptions merged = *from_script;
  auto only_type = parse_command_line({"--mail-type=END", "job.sh"}, reader);
  ASSERT_TRUE(only_type);
  merged.merge(only_type->options);
  EXPECT_EQ(merged.mail_type, "END");
  EXPECT_EQ(merged.mail_user, "bob");
  auto script = parse_script("#!/bin/sh\n#SBATCH --mail-type=BEGIN\n#SBATCH --mail-type=bogus\ntrue\n", "job.sh", reader);
  ASSERT_FALSE(script);
  EXPECT_NE(script.error().message.find("job.sh:3"), std::string::npos) << script.error().message;
}

}  // namespace
}  // namespace gwang::slurm
