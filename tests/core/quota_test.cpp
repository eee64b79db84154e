// Quotas: the quota table.
#include <gtest/gtest.h>

#include "core/quota.h"

namespace gwang::core {
namespace {

// --- the table

// Limits are set, replaced and removed by scope, name and model, and listed in a fixed order.
TEST(QuotaTable, SetReplaceRemoveList) {
  QuotaTable t;
  EXPECT_TRUE(t.empty());
  t.set({QuotaScope::Institution, "kaist", "", 8000}, std::nullopt, 0);
  t.set({QuotaScope::Project, "zeta", "gpu:V100", 1000}, ResourceKind{2}, 500);
  t.set({QuotaScope::Project, "alpha", "", 3000}, std::nullopt, 0);
  t.set({QuotaScope::Project, "zeta", "", 2000}, std::nullopt, 0);
  t.set({QuotaScope::Project, "zeta", "gpu:V100", 4000}, ResourceKind{2}, 700);  // replaces
  EXPECT_EQ(t.list(), (std::vector<Quota>{{QuotaScope::Project, "alpha", "", 3000},
                                          {QuotaScope::Project, "zeta", "", 2000},
                                          {QuotaScope::Project, "zeta", "gpu:V100", 4000},
                                          {QuotaScope::Institution, "kaist", "", 8000}}));
  EXPECT_EQ(t.used(QuotaScope::Project, "zeta", "gpu:V100"), 700);
  EXPECT_EQ(t.used(QuotaScope::Institution, "zeta", "gpu:V100"), std::nullopt);
  EXPECT_FALSE(t.remove(QuotaScope::Project, "zeta", "gpu:T4"));
  EXPECT_TRUE(t.remove(QuotaScope::Project, "zeta", "gpu:V100"));
  EXPECT_FALSE(t.remove(QuotaScope::Project, "zeta", "gpu:V100"));
  EXPECT_EQ(t.list().size(), 3u);
}

// A limit counts only the amounts of its model (all of them for ""); a job adding nothing passes.
TEST(QuotaTable, AllowsAndCountsByModel) {
  QuotaTable t;
  const ResourceKind v{2}, k{3};
  const QuotaTable::Owner p_i = t.owner("p", "i"), p_other = t.owner("p", "other"), q_i = t.owner("q", "i");
  t.set({QuotaScope::Project, "p", "gpu:V100", 1000}, v, 0);
  t.set({QuotaScope::Institution, "i", "", 1500}, std::nullopt, 0);
  const std::vector<ModelAmount> one_v{{v, 1000}}, one_k{{k, 1000}}, half_unknown{{std::nullopt, 500}};
  EXPECT_TRUE(t.allows(p_i, one_v));
  t.count(p_i, one_v, +1);
  EXPECT_FALSE(t.allows(p_other, one_v));         // the project's V100 limit
  EXPECT_TRUE(t.allows(p_other, one_k));          // T4 does not count toward it
  EXPECT_FALSE(t.allows(q_i, one_k));             // the institution's limit for all models
  EXPECT_TRUE(t.allows(q_i, half_unknown));       // 1000 + 500 <= 1500
  EXPECT_TRUE(t.allows(p_i, {}));                 // nothing more
  EXPECT_TRUE(t.allows(t.owner("", ""), one_v));  // no names: no limits
  t.count(p_i, one_v, -1);
  EXPECT_EQ(t.used(QuotaScope::Project, "p", "gpu:V100"), 0);
  EXPECT_EQ(parse_quota_scope("institution"), QuotaScope::Institution);
  EXPECT_FALSE(parse_quota_scope("user").has_value());
}

}  // namespace
}  // namespace gwang::core
