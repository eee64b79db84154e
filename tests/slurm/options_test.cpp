// sbatch against docs/slurm-options.md: every option the page marks `no` is refused by name, and
// every other is taken (its value may still be wrong: the page says nothing of values).
#include <gtest/gtest.h>

#include "options_table.h"
#include "slurm/sbatch.h"

namespace gwang::slurm {
namespace {

TEST(SbatchOptions, EachIsRefusedByNameExactlyWhereThePageSaysNo) {
  const auto rows = testing::documented_options(std::string(GWANG_TEST_DIR) + "/../../docs/slurm-options.md", "sbatch");
  ASSERT_EQ(rows.size(), 103u) << "sbatch 22.05 has 103 options";
  const Reader reader{utc_clock(1795791600), 1001};
  int refused = 0;
  for (const auto& o : rows) {
    const std::string refusal = "option '--" + o.name + "' is not supported by gwang";
    // As a flag first; with a value where it needs one.
    auto r = parse_command_line({"--" + o.name, "job.sh"}, reader);
    if (!r && r.error().message.find("requires an argument") != std::string::npos)
      r = parse_command_line({"--" + o.name + "=1", "job.sh"}, reader);
    const std::string got = r ? "accepted" : r.error().message;
    if (o.status == "no") {
      ++refused;
      EXPECT_EQ(got, refusal) << o.name;
    } else {
      EXPECT_NE(got, refusal) << o.name;
      EXPECT_EQ(got.find("unrecognized option"), std::string::npos) << o.name << ": " << got;
    }
    if (o.letter) {  // the short form is the same option
      auto s = parse_command_line({std::string("-") + o.letter, "1", "job.sh"}, reader);
      EXPECT_EQ(!s && s.error().message == refusal, o.status == "no") << o.letter;
    }
  }
  EXPECT_EQ(refused, 6) << "the count docs/slurm-options.md gives";
}

}  // namespace
}  // namespace gwang::slurm
