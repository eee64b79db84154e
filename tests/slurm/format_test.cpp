// Slurm's output formats: field specifications, widths that cut, and its ways of writing times.
#include "slurm/format.h"

#include <gtest/gtest.h>

namespace gwang::slurm {
namespace {

TEST(PercentFormat, FieldsWidthsAndLiterals) {
  auto f = parse_percent_format("%.18i %9P|%j%%", "iPj");
  ASSERT_TRUE(f) << f.error().message;
  ASSERT_EQ(f->size(), 6u);
  EXPECT_EQ((*f)[0].field, "i");
  EXPECT_EQ((*f)[0].width, 18);
  EXPECT_TRUE((*f)[0].right);
  EXPECT_EQ((*f)[1].literal, " ");
  EXPECT_EQ((*f)[2].field, "P");
  EXPECT_EQ((*f)[2].width, 9);
  EXPECT_FALSE((*f)[2].right);
  EXPECT_EQ((*f)[3].literal, "|");
  EXPECT_EQ((*f)[4].width, 0);
  EXPECT_EQ((*f)[5].literal, "%");
  const std::string line = render(*f, [](const FormatItem& i) {
    return i.field == "i" ? std::string("123") : i.field == "P" ? std::string("a-very-long-partition") : "name";
  });
  EXPECT_EQ(line, "               123 a-very-lo|name%");  // a width cuts what does not fit
  EXPECT_EQ(parse_percent_format("%i %Q", "iPj").error().message, "format '%i %Q': invalid field '%Q'");
  EXPECT_EQ(parse_percent_format("%.i", "i").error().message,
            "format '%.i': a '.' needs a size after it (at character 1)");
  EXPECT_EQ(parse_percent_format("%5", "i").error().message, "format '%5': a '%' without a field at its end");
}

TEST(LongFormat, NamesAnyCaseWithSizesAndSuffixes) {
  const std::vector<std::string> names = {"JobID", "Name", "State"};
  auto f = parse_long_format("jobid,NAME:.12,state:8|", names);
  ASSERT_TRUE(f) << f.error().message;
  ASSERT_EQ(f->size(), 3u);
  EXPECT_EQ((*f)[0].field, "JobID");
  EXPECT_EQ((*f)[0].width, 20);
  EXPECT_EQ((*f)[1].field, "Name");
  EXPECT_EQ((*f)[1].width, 12);
  EXPECT_TRUE((*f)[1].right);
  EXPECT_EQ((*f)[2].width, 8);
  EXPECT_EQ((*f)[2].suffix, "|");
  EXPECT_EQ(parse_long_format("jobid,bogus", names).error().message, "format 'jobid,bogus': invalid field 'bogus'");
}

TEST(SacctFormat, DefaultWidthsOrGiven) {
  const std::vector<std::string> names = {"JobID", "JobName"};
  auto f = parse_sacct_format("jobid,jobname%30", names, [](const std::string& n) { return n == "JobID" ? -12 : 10; });
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ((*f)[0].width, -12);
  EXPECT_EQ((*f)[1].width, 30);
  EXPECT_EQ(parse_sacct_format("jobid,nope", names, [](const std::string&) { return 10; }).error().message,
            "Invalid field requested: \"nope\"");
}

TEST(SlurmTimes, ElapsedAndLimits) {
  EXPECT_EQ(format_elapsed(0), "0:00");
  EXPECT_EQ(format_elapsed(59), "0:59");
  EXPECT_EQ(format_elapsed(61), "1:01");
  EXPECT_EQ(format_elapsed(3600), "1:00:00");
  EXPECT_EQ(format_elapsed(86399), "23:59:59");
  EXPECT_EQ(format_elapsed(90061), "1-01:01:01");
  EXPECT_EQ(format_minutes(30), "30:00");
  EXPECT_EQ(format_minutes(60), "1:00:00");
  EXPECT_EQ(format_minutes(2 * 1440), "2-00:00:00");
  EXPECT_EQ(format_minutes(0, true), "UNLIMITED");
  EXPECT_EQ(format_clock(65), "00:01:05");
  EXPECT_EQ(format_clock(90061), "1-01:01:01");
}

}  // namespace
}  // namespace gwang::slurm
