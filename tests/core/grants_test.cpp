// Programmes, grants and the ledger, on an injected clock running through months.
#include "core/grants.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cmath>
#include <numeric>

namespace gwang::core {
namespace {

constexpr Time kDay = 86400;
constexpr Time kT0 = 1'767'225'600;  // 2026-01-01

class GrantsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(g_.add_programme({"voucher", ExhaustedRule::Refuse, 0.5}));
    ASSERT_TRUE(g_.add_programme({"course", ExhaustedRule::Preemptible, 0.2}));
  }
  static double sum(const std::vector<LedgerEntry>& entries) {
    return std::accumulate(entries.begin(), entries.end(), 0.0, [](double s, const LedgerEntry& e) { return s + e.amount; });
  }
  Grants g_;
};

TEST_F(GrantsTest, AGrantBurnsDownAndWarnsAt80And100Percent) {
  const GrantId id = *g_.grant("llm-lab", "voucher", 100, kT0, kT0 + 90 * kDay, kT0, "operator");
  EXPECT_EQ(g_.admit("llm-lab", kT0).kind, Admission::Allowed);
  for (int day = 0; day < 8; ++day) g_.charge("llm-lab", JobId{1}, 10, kT0 + day * kDay);
  EXPECT_DOUBLE_EQ(g_.find(id)->remaining(), 20);
  std::vector<GrantEvent> events = g_.take_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].percent, 80);
  EXPECT_EQ(events[0].time, kT0 + 7 * kDay);  // the charge that crossed the mark
  EXPECT_TRUE(g_.take_events().empty());      // each mark once
  g_.charge("llm-lab", JobId{2}, 30, kT0 + 9 * kDay);
  events = g_.take_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].percent, 100);
  EXPECT_DOUBLE_EQ(g_.find(id)->used, 100);
  // The 10 the grant could not hold is recorded against no grant: the ledger adds up to the usage.
  ASSERT_EQ(g_.ledger().size(), 10u);
  EXPECT_EQ(g_.ledger()[8].grant, id);
  EXPECT_DOUBLE_EQ(g_.ledger()[8].amount, 20);
  EXPECT_FALSE(g_.ledger()[9].grant);
  EXPECT_DOUBLE_EQ(g_.ledger()[9].amount, 10);
  EXPECT_DOUBLE_EQ(sum(g_.ledger()), 110);
}

TEST_F(GrantsTest, ExhaustionFollowsTheProgrammesRule) {
  g_.grant("startup", "voucher", 10, kT0, kT0 + 30 * kDay, kT0, "operator");
  g_.grant("class", "course", 10, kT0, kT0 + 30 * kDay, kT0, "operator");
  g_.charge("startup", JobId{1}, 10, kT0 + kDay);
  g_.charge("class", JobId{2}, 10, kT0 + kDay);
  const Admission refused = g_.admit("startup", kT0 + kDay);
  EXPECT_EQ(refused.kind, Admission::Refused);
  EXPECT_EQ(refused.reason, "grant 1 (voucher) is spent: new jobs are refused");
  const Admission preemptible = g_.admit("class", kT0 + kDay);
  EXPECT_EQ(preemptible.kind, Admission::PreemptibleOnly);
  EXPECT_EQ(preemptible.reason, "grant 2 (course) is spent: new jobs run as preemptible work");
  EXPECT_EQ(g_.admit("nobody-knows", kT0).reason, "project nobody-knows holds no grant");
}

TEST_F(GrantsTest, GrantsStartAndExpire) {
  const GrantId later = *g_.grant("p", "voucher", 50, kT0 + 31 * kDay, kT0 + 59 * kDay, kT0, "operator");
  EXPECT_EQ(g_.admit("p", kT0).reason, "grant 1 (voucher) has not started: new jobs are refused");
  EXPECT_EQ(g_.admit("p", kT0 + 31 * kDay).kind, Admission::Allowed);
  // Usage before the start is held by no grant.
  const auto before = g_.charge("p", JobId{1}, 5, kT0 + 30 * kDay);
  ASSERT_EQ(before.size(), 1u);
  EXPECT_FALSE(before[0].grant);
  EXPECT_DOUBLE_EQ(g_.find(later)->used, 0);
  // The end is exclusive: from it on, the grant holds nothing, however much is left.
  EXPECT_EQ(g_.admit("p", kT0 + 59 * kDay).reason, "grant 1 (voucher) has expired: new jobs are refused");
  EXPECT_FALSE(g_.charge("p", JobId{2}, 5, kT0 + 59 * kDay)[0].grant);
}

TEST_F(GrantsTest, UsageGoesToTheGrantThatExpiresFirst) {
  const GrantId long_one = *g_.grant("p", "voucher", 100, kT0, kT0 + 365 * kDay, kT0, "operator");
  const GrantId short_one = *g_.grant("p", "course", 10, kT0, kT0 + 30 * kDay, kT0, "operator");
  const auto entries = g_.charge("p", JobId{7}, 25, kT0 + kDay);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].grant, short_one);
  EXPECT_DOUBLE_EQ(entries[0].amount, 10);
  EXPECT_EQ(entries[1].grant, long_one);
  EXPECT_DOUBLE_EQ(entries[1].amount, 15);
  EXPECT_EQ(g_.admit("p", kT0 + kDay).kind, Admission::Allowed);  // the long one still holds
}

TEST_F(GrantsTest, TopUpAndExtensionAreAudited) {
  const GrantId id = *g_.grant("p", "voucher", 10, kT0, kT0 + 30 * kDay, kT0, "operator");
  g_.charge("p", JobId{1}, 10, kT0 + kDay);
  ASSERT_EQ(g_.take_events().size(), 2u);  // 80 % and 100 % at once
  EXPECT_EQ(g_.admit("p", kT0 + kDay).kind, Admission::Refused);
  ASSERT_TRUE(g_.top_up(id, 40, kT0 + 2 * kDay, "kim"));
  EXPECT_EQ(g_.admit("p", kT0 + 2 * kDay).kind, Admission::Allowed);
  EXPECT_DOUBLE_EQ(g_.find(id)->remaining(), 40);
  ASSERT_TRUE(g_.extend(id, kT0 + 60 * kDay, kT0 + 3 * kDay, "kim"));
  EXPECT_EQ(g_.admit("p", kT0 + 45 * kDay).kind, Admission::Allowed);
  // Below the marks again: each warns once more when crossed again.
  g_.charge("p", JobId{2}, 35, kT0 + 46 * kDay);
  const auto events = g_.take_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].percent, 80);
  ASSERT_EQ(g_.audit().size(), 3u);
  EXPECT_EQ(g_.audit()[0].what, "granted 10 to p under voucher, valid from 2026-01-01T00:00:00Z to 2026-01-31T00:00:00Z");
  EXPECT_EQ(g_.audit()[1].what, "topped up by 40 to 50");
  EXPECT_EQ(g_.audit()[1].who, "kim");
  EXPECT_EQ(g_.audit()[2].what, "end moved from 2026-01-31T00:00:00Z to 2026-03-02T00:00:00Z");
}

TEST_F(GrantsTest, BadGrantsAreRefusedAndNothingIsWritten) {
  EXPECT_EQ(g_.grant("p", "voucher", 10, kT0 + kDay, kT0, kT0, "op").error().message,
            "the grant's end (2026-01-01T00:00:00Z) is not after its start (2026-01-02T00:00:00Z)");
  EXPECT_EQ(g_.grant("p", "voucher", 10, kT0, kT0, kT0, "op").error().message,
            "the grant's end (2026-01-01T00:00:00Z) is not after its start (2026-01-01T00:00:00Z)");
  EXPECT_EQ(g_.grant("p", "voucher", -5, kT0, kT0 + kDay, kT0, "op").error().message, "amount must be above 0");
  EXPECT_EQ(g_.grant("p", "voucher", NAN, kT0, kT0 + kDay, kT0, "op").error().message, "amount must be above 0");
  EXPECT_EQ(g_.grant("p", "unknown", 5, kT0, kT0 + kDay, kT0, "op").error().message, "no programme 'unknown'");
  EXPECT_EQ(g_.grant("", "voucher", 5, kT0, kT0 + kDay, kT0, "op").error().message, "a grant needs a project");
  EXPECT_TRUE(g_.audit().empty());
  EXPECT_EQ(g_.top_up(GrantId{3}, 5, kT0, "op").error().message, "no grant 3");
  const GrantId id = *g_.grant("p", "voucher", 10, kT0, kT0 + kDay, kT0, "op");
  EXPECT_EQ(g_.top_up(id, 0, kT0, "op").error().message, "a top-up must be above 0");
  EXPECT_EQ(g_.extend(id, kT0 - 1, kT0, "op").error().message,
            "the new end (2025-12-31T23:59:59Z) is not after the grant's start (2026-01-01T00:00:00Z)");
  EXPECT_EQ(g_.audit().size(), 1u);
  EXPECT_EQ(g_.add_programme({"voucher", ExhaustedRule::Refuse, 0}).error().message, "programme 'voucher' exists already");
  EXPECT_EQ(g_.add_programme({"x", ExhaustedRule::Refuse, 2}).error().message, "programme 'x': priority must be between 0 and 1");
}

TEST(ChargeRates, WeightsPerModelAndShares) {
  ChargeRates rates{{{"gpu:H100", 1.0}, {"gpu:V100", 0.3}}, 0.01};
  EXPECT_DOUBLE_EQ(rates.charge("gpu:H100", 2 * kMilli, 3600), 2.0);
  EXPECT_DOUBLE_EQ(rates.charge("gpu:V100", kMilli, 7200), 0.6);
  EXPECT_DOUBLE_EQ(rates.charge("gpu:H100", 500, 3600), 0.5);  // a shared half GPU
  EXPECT_DOUBLE_EQ(rates.charge("cpu", 16 * kMilli, 1800), 0.08);
  EXPECT_DOUBLE_EQ(rates.charge("npu:unknown", kMilli, 3600), 0);
}

// Whatever the grants and charges, the ledger adds up to what was charged, each grant's use is
// what the ledger gives it, and no grant is charged past its amount or outside its validity.
RC_GTEST_PROP(GrantsProperty, TheLedgerBalances, ()) {
  Grants g;
  RC_ASSERT(g.add_programme({"p", ExhaustedRule::Refuse, 0}).has_value());
  const std::vector<std::string> projects = {"a", "b", "c"};
  const int grants = *rc::gen::inRange(0, 8);
  for (int i = 0; i < grants; ++i) {
    const Time start = kT0 + *rc::gen::inRange<Time>(0, 60) * kDay;
    const Time end = start + *rc::gen::inRange<Time>(1, 60) * kDay;
    RC_ASSERT(g.grant(projects[*rc::gen::inRange<std::size_t>(0, 3)], "p", *rc::gen::inRange(1, 1000), start, end, kT0, "op")
                  .has_value());
  }
  double charged = 0;
  const int charges = *rc::gen::inRange(0, 60);
  for (int i = 0; i < charges; ++i) {
    const double amount = *rc::gen::inRange(0, 300) / 4.0;
    const Time at = kT0 + *rc::gen::inRange<Time>(0, 130 * kDay);
    const auto made = g.charge(projects[*rc::gen::inRange<std::size_t>(0, 3)], JobId{i}, amount, at);
    double part = 0;
    for (const LedgerEntry& e : made) {
      part += e.amount;
      if (e.grant) RC_ASSERT(g.find(*e.grant)->valid_at(at));
    }
    RC_ASSERT(std::abs(part - amount) < 1e-9);
    charged += amount;
  }
  double in_ledger = 0;
  std::map<std::uint32_t, double> per_grant;
  for (const LedgerEntry& e : g.ledger()) {
    in_ledger += e.amount;
    if (e.grant) per_grant[e.grant->value] += e.amount;
  }
  RC_ASSERT(std::abs(in_ledger - charged) < 1e-6);
  for (std::uint32_t id = 1; id <= static_cast<std::uint32_t>(grants); ++id) {
    const Grant* grant = g.find(GrantId{id});
    RC_ASSERT(std::abs(grant->used - per_grant[id]) < 1e-9);
    RC_ASSERT(grant->used <= grant->amount + 1e-9);
  }
}

}  // namespace
}  // namespace gwang::core
