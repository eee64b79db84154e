#include "slurm/features.h"

#include <gtest/gtest.h>

namespace gwang::slurm {
namespace {

using C = FeatureClauses;

FeatureWay way(C all, std::vector<std::pair<int, C>> counted = {}) { return {std::move(all), std::move(counted)}; }

TEST(Constraint, AndOrAndParenthesesBecomeClauses) {
  EXPECT_EQ(*parse_constraint("intel"), std::vector<FeatureWay>{way({{"intel"}})});
  EXPECT_EQ(*parse_constraint("intel&ib"), std::vector<FeatureWay>{way({{"intel"}, {"ib"}})});
  EXPECT_EQ(*parse_constraint("intel,ib"), std::vector<FeatureWay>{way({{"intel"}, {"ib"}})});
  EXPECT_EQ(*parse_constraint("intel|amd"), std::vector<FeatureWay>{way({{"intel", "amd"}})});
  // (a & b) | c == (a | c) & (b | c)
  EXPECT_EQ(*parse_constraint("(a&b)|c"), std::vector<FeatureWay>{way({{"a", "c"}, {"b", "c"}})});
  EXPECT_EQ(*parse_constraint("(a|b)&(c|d)"), std::vector<FeatureWay>{way({{"a", "b"}, {"c", "d"}})});
}

TEST(Constraint, CountsAndBracketsBecomeWays) {
  EXPECT_EQ(*parse_constraint("gpu*2"), std::vector<FeatureWay>{way({}, {{2, {{"gpu"}}}})});
  EXPECT_EQ(*parse_constraint("ib&gpu*2"), std::vector<FeatureWay>{way({{"ib"}}, {{2, {{"gpu"}}}})});
  // A matching or: one way per alternative.
  EXPECT_EQ(*parse_constraint("[rack1|rack2]"), (std::vector<FeatureWay>{way({{"rack1"}}), way({{"rack2"}})}));
  EXPECT_EQ(*parse_constraint("ib&[rack1|rack2]"),
            (std::vector<FeatureWay>{way({{"ib"}, {"rack1"}}), way({{"ib"}, {"rack2"}})}));
  // Multiple counts, and a counted group.
  EXPECT_EQ(*parse_constraint("[knl*4&haswell*1]"),
            std::vector<FeatureWay>{way({}, {{4, {{"knl"}}}, {1, {{"haswell"}}}})});
  EXPECT_EQ(*parse_constraint("[(knl&snc4)*4&haswell*1]"),
            std::vector<FeatureWay>{way({}, {{4, {{"knl"}, {"snc4"}}}, {1, {{"haswell"}}}})});
  EXPECT_EQ(feature_names(*parse_constraint("ib&[rack1|rack2]")), (std::vector<std::string>{"ib", "rack1", "rack2"}));
}

TEST(Constraint, MalformedOnesSayWhatAndWhere) {
  for (const char* bad : {"", "a&", "&a", "a||b", "(a&b", "[a|b", "a*", "a*0", "a b", "a&b|c", "[[a]]", "a|b*2",
                          "[a]&[b]", "(a*2)|b", "((a)"}) {
    auto r = parse_constraint(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_NE(r.error().message.find("Invalid --constraint specification"), std::string::npos) << r.error().message;
  }
  EXPECT_NE(parse_constraint("a&b|c").error().message.find("at character 4"), std::string::npos)
      << parse_constraint("a&b|c").error().message;
  EXPECT_NE(parse_constraint("a|b", "--prefer").has_value(), false);
  EXPECT_NE(parse_constraint("a b", "--prefer").error().message.find("--prefer"), std::string::npos);
}

TEST(Constraint, BatchListsAreNamesJoinedByAndOrOr) {
  EXPECT_EQ(*parse_feature_list("haswell"), (C{{"haswell"}}));
  EXPECT_EQ(*parse_feature_list("a&b"), (C{{"a"}, {"b"}}));
  EXPECT_EQ(*parse_feature_list("a|b"), (C{{"a", "b"}}));
  for (const char* bad : {"a*2", "[a|b]", "(a|b)&c", ""}) EXPECT_FALSE(parse_feature_list(bad).has_value()) << bad;
}

TEST(Constraint, ANodeMeetsClausesWhenItSharesANameWithEach) {
  const C clauses{{"ib"}, {"a100", "h100"}};
  EXPECT_TRUE(meets(clauses, {"h100", "ib"}));
  EXPECT_FALSE(meets(clauses, {"h100"}));
  EXPECT_FALSE(meets(clauses, {"ib", "v100"}));
  EXPECT_TRUE(meets({}, {}));
}

TEST(Constraint, NodeFeatureListsAreNames) {
  EXPECT_EQ(*parse_node_features("a100,ib,a100"), (std::vector<std::string>{"a100", "ib"}));
  EXPECT_EQ(*parse_node_features(""), std::vector<std::string>{});
  EXPECT_FALSE(parse_node_features("a100,,ib").has_value());
  EXPECT_FALSE(parse_node_features("a b").has_value());
}

}  // namespace
}  // namespace gwang::slurm
