// Slurm's process mapping (PMI_process_mapping, SLURM_PMIX_MAPPING_SERV), written and read back.
#include "slurm/mapping.h"

#include <gtest/gtest.h>

namespace gwang::slurm {
namespace {

TEST(ProcessMapping, SaysRunsOfTasksOnNodes) {
  EXPECT_EQ(process_mapping({0, 0, 1, 1}), "(vector,(0,2,2))");          // blocks of two
  EXPECT_EQ(process_mapping({0, 1, 0, 1}), "(vector,(0,2,1),(0,2,1))");  // cyclic
  EXPECT_EQ(process_mapping({0, 0, 1}), "(vector,(0,1,2),(1,1,1))");     // 2 and 1
  EXPECT_EQ(process_mapping({0}), "(vector,(0,1,1))");
  EXPECT_EQ(process_mapping({1, 1, 2, 2, 3, 3}), "(vector,(1,3,2))");  // from the second node
}

TEST(ProcessMapping, ReadsBackEveryLayout) {
  const std::vector<std::vector<int>> layouts = {{0, 0, 1, 1},       {0, 1, 0, 1},          {0, 0, 1},      {0},
                                                 {1, 1, 2, 2, 3, 3}, {0, 1, 2, 0, 1, 2, 0}, {2, 0, 1, 1, 0}};
  for (const auto& layout : layouts) {
    auto back = parse_process_mapping(process_mapping(layout), static_cast<int>(layout.size()));
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(*back, layout) << process_mapping(layout);
  }
}

TEST(ProcessMapping, RefusesWhatIsMalformedOrOfAnotherSize) {
  for (const char* text : {"", "vector", "(vector,(0,2))", "(vector,(0,2,2)", "(vector,(0,a,2))", "(vector,(0,2,0))",
                           "(vector;(0,2,2))", "(vector,(0,2,2,1))", "(vector,(-1,2,2))"}) {
    auto got = parse_process_mapping(text, 4);
    ASSERT_FALSE(got) << text;
    EXPECT_NE(got.error().message.find("process mapping"), std::string::npos) << got.error().message;
  }
  auto short_one = parse_process_mapping("(vector,(0,2,1))", 4);
  ASSERT_FALSE(short_one);
  EXPECT_NE(short_one.error().message.find("names 2 tasks, not the step's 4"), std::string::npos);
  EXPECT_FALSE(parse_process_mapping("(vector,(0,2,4))", 4));  // 8 tasks named
  EXPECT_EQ(*parse_process_mapping("(vector)", 0), std::vector<int>{});
}

}  // namespace
}  // namespace gwang::slurm
