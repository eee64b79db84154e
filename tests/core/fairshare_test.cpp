// Fair share with decayed usage over institution -> project -> user, and the multifactor priority,
// on an injected clock running through months.
#include "core/fairshare.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cmath>

namespace gwang::core {
namespace {

constexpr Time kDay = 86400;
constexpr Time kT0 = 1'700'000'000;  // an arbitrary start

TEST(FairShare, UsageHalvesEveryHalfLife) {
  FairShare fs({.half_life = 7 * kDay});
  const AccountId inst = *fs.add(FairShare::root(), "kaist", 1);
  fs.charge(inst, 800, kT0);
  EXPECT_DOUBLE_EQ(fs.usage(inst, kT0), 800);
  EXPECT_DOUBLE_EQ(fs.usage(inst, kT0 + 7 * kDay), 400);
  EXPECT_DOUBLE_EQ(fs.usage(inst, kT0 + 21 * kDay), 100);
  // Three months on, what was used in the first week is all but forgotten.
  EXPECT_LT(fs.usage(inst, kT0 + 90 * kDay), 800 * std::exp2(-12.8));
  EXPECT_DOUBLE_EQ(fs.usage(FairShare::root(), kT0 + 7 * kDay), 400);  // the centre's total
}

TEST(FairShare, ChargesOutOfOrderAreDecayedFromTheirOwnTime) {
  FairShare a({.half_life = kDay}), b({.half_life = kDay});
  const AccountId x = *a.add(FairShare::root(), "x", 1);
  const AccountId y = *b.add(FairShare::root(), "x", 1);
  a.charge(x, 100, kT0);
  a.charge(x, 50, kT0 + kDay);
  b.charge(y, 50, kT0 + kDay);
  b.charge(y, 100, kT0);  // the earlier charge recorded later
  EXPECT_DOUBLE_EQ(a.usage(x, kT0 + 3 * kDay), b.usage(y, kT0 + 3 * kDay));
  EXPECT_DOUBLE_EQ(a.usage(x, kT0 + kDay), 100);
}

TEST(FairShare, NothingUsedIsAFactorOfOne) {
  FairShare fs;
  const AccountId p = *fs.add(FairShare::root(), "inst", 3);
  const AccountId u = *fs.add(p, "user", 1);
  EXPECT_EQ(fs.factor(p, kT0), 1.0);
  EXPECT_EQ(fs.factor(u, kT0), 1.0);
}

// Two institutions with equal shares: the one that used everything is far over its entitlement
// (2^(-1/0.5) = 0.25), the other has used nothing (1.0); using exactly the entitlement is 0.5.
TEST(FairShare, FactorFollowsUsageAgainstEntitlement) {
  FairShare fs;
  const AccountId a = *fs.add(FairShare::root(), "a", 1);
  const AccountId b = *fs.add(FairShare::root(), "b", 1);
  fs.charge(a, 1000, kT0);
  EXPECT_DOUBLE_EQ(fs.factor(a, kT0), 0.25);
  EXPECT_DOUBLE_EQ(fs.factor(b, kT0), 1.0);
  fs.charge(b, 1000, kT0);
  EXPECT_DOUBLE_EQ(fs.factor(a, kT0), 0.5);
  EXPECT_DOUBLE_EQ(fs.factor(b, kT0), 0.5);
  // Shares 3:1 and usage 3:1: both at their entitlement.
  FairShare uneven;
  const AccountId big = *uneven.add(FairShare::root(), "big", 3);
  const AccountId small = *uneven.add(FairShare::root(), "small", 1);
  uneven.charge(big, 300, kT0);
  uneven.charge(small, 100, kT0);
  EXPECT_DOUBLE_EQ(uneven.factor(big, kT0), 0.5);
  EXPECT_DOUBLE_EQ(uneven.factor(small, kT0), 0.5);
  const FairShareTerms t = uneven.terms(big, kT0);
  EXPECT_DOUBLE_EQ(t.usage, 300);
  EXPECT_DOUBLE_EQ(t.normalized_usage, 0.75);
  EXPECT_DOUBLE_EQ(t.normalized_shares, 0.75);
}

// An institution's heavy use weighs on all its projects, even one that used nothing itself.
TEST(FairShare, AParentsUsageIsInherited) {
  FairShare fs;
  const AccountId heavy = *fs.add(FairShare::root(), "heavy", 1);
  const AccountId light = *fs.add(FairShare::root(), "light", 1);
  const AccountId busy = *fs.add(heavy, "busy", 1);
  const AccountId idle = *fs.add(heavy, "idle", 1);
  const AccountId fresh = *fs.add(light, "fresh", 1);
  fs.charge(busy, 900, kT0);
  fs.charge(fresh, 100, kT0);
  const double idle_f = fs.factor(idle, kT0), fresh_f = fs.factor(fresh, kT0), busy_f = fs.factor(busy, kT0);
  EXPECT_LT(busy_f, idle_f);
  EXPECT_LT(idle_f, 1.0);  // used nothing, but its institution did
  // UE(idle) = 0 + (0.9 - 0) * 1/2 = 0.45 over S = 1/4: 2^(-1.8).
  EXPECT_NEAR(idle_f, std::exp2(-1.8), 1e-12);
  // fresh: U = 0.1, UE = 0.1 + (0.1 - 0.1) * 1 = 0.1 over S = 1/2: 2^(-0.2).
  EXPECT_NEAR(fresh_f, std::exp2(-0.2), 1e-12);
  EXPECT_GT(fresh_f, idle_f);
}

// Months of virtual time: a project that used the machine heavily in January is back to the
// front by March; one that keeps using it stays behind.
TEST(FairShare, DecayLetsPastUseBeForgiven) {
  FairShare fs({.half_life = 7 * kDay});
  const AccountId jan = *fs.add(FairShare::root(), "january", 1);
  const AccountId steady = *fs.add(FairShare::root(), "steady", 1);
  for (Time day = 0; day < 31; ++day) {
    fs.charge(jan, 24 * 3600 * 8, kT0 + day * kDay);  // 8 GPUs, all month
    fs.charge(steady, 24 * 3600, kT0 + day * kDay);   // 1 GPU, always
  }
  EXPECT_LT(fs.factor(jan, kT0 + 31 * kDay), fs.factor(steady, kT0 + 31 * kDay));
  for (Time day = 31; day < 90; ++day) fs.charge(steady, 24 * 3600, kT0 + day * kDay);
  EXPECT_GT(fs.factor(jan, kT0 + 90 * kDay), fs.factor(steady, kT0 + 90 * kDay));
  EXPECT_GT(fs.factor(jan, kT0 + 90 * kDay), 0.9);
}

TEST(FairShare, BadAccountsAreRefusedWithTheReason) {
  FairShare fs;
  const AccountId a = *fs.add(FairShare::root(), "a", 1);
  EXPECT_EQ(fs.add(FairShare::root(), "a", 1).error().message, "account 'a' exists already there");
  EXPECT_EQ(fs.add(FairShare::root(), "", 1).error().message, "an account needs a name");
  EXPECT_EQ(fs.add(a, "u", 0).error().message, "account 'u': shares must be a finite number above 0");
  EXPECT_EQ(fs.add(a, "u", -2).error().message, "account 'u': shares must be a finite number above 0");
  EXPECT_EQ(fs.add(a, "u", NAN).error().message, "account 'u': shares must be a finite number above 0");
  EXPECT_EQ(fs.add(AccountId{99}, "u", 1).error().message, "no account 99 to add under");
  EXPECT_FALSE(fs.set_shares(FairShare::root(), 2));
  EXPECT_EQ(fs.size(), 2u);  // nothing half-added
  ASSERT_TRUE(fs.add(a, "u", 1));
  EXPECT_EQ(fs.find_path({"a", "u"}), fs.find(a, "u"));
  EXPECT_FALSE(fs.find_path({"a", "v"}));
}

TEST(FairShare, ChangingSharesMovesTheEntitlement) {
  FairShare fs;
  const AccountId a = *fs.add(FairShare::root(), "a", 1);
  const AccountId b = *fs.add(FairShare::root(), "b", 1);
  fs.charge(a, 600, kT0);
  fs.charge(b, 400, kT0);
  EXPECT_LT(fs.factor(a, kT0), 0.5);
  ASSERT_TRUE(fs.set_shares(a, 1.5));  // now 60 %: exactly what it used
  EXPECT_DOUBLE_EQ(fs.factor(a, kT0), 0.5);
  EXPECT_DOUBLE_EQ(fs.factor(b, kT0), 0.5);
}

// Factors stay in (0, 1]; more usage never raises an account's factor.
RC_GTEST_PROP(FairShareProperty, FactorsAreBoundedAndMonotone, ()) {
  FairShare fs({.half_life = 1 + *rc::gen::inRange<Time>(0, 30 * kDay)});
  std::vector<AccountId> accounts{FairShare::root()};
  const int n = *rc::gen::inRange(1, 12);
  for (int i = 0; i < n; ++i) {
    const AccountId parent = accounts[*rc::gen::inRange<std::size_t>(0, accounts.size())];
    auto id = fs.add(parent, "a" + std::to_string(i), *rc::gen::inRange(1, 100));
    RC_ASSERT(id.has_value());
    accounts.push_back(*id);
  }
  Time now = kT0;
  const int charges = *rc::gen::inRange(0, 40);
  for (int i = 0; i < charges; ++i) {
    now += *rc::gen::inRange<Time>(0, 3 * kDay);
    const AccountId who = accounts[*rc::gen::inRange<std::size_t>(1, accounts.size())];
    fs.charge(who, *rc::gen::inRange(0, 100000), now);
  }
  for (std::size_t i = 1; i < accounts.size(); ++i) {
    const double f = fs.factor(accounts[i], now);
    RC_ASSERT(f > 0.0);
    RC_ASSERT(f <= 1.0);
  }
  // Charging one account more lowers (or keeps) its factor.
  const AccountId who = accounts[*rc::gen::inRange<std::size_t>(1, accounts.size())];
  const double before = fs.factor(who, now);
  fs.charge(who, 1 + *rc::gen::inRange(0, 100000), now);
  RC_ASSERT(fs.factor(who, now) <= before + 1e-12);
}

TEST(Multifactor, EachTermIsItsWeightTimesItsFactor) {
  const PriorityWeights w{.age = 1000, .fairshare = 10000, .size = 1000, .programme = 2000, .max_age = 10 * kDay};
  const PriorityTerms t = multifactor(w, kT0, kT0 + 5 * kDay, 0.25, 0.1, 0.5);
  EXPECT_DOUBLE_EQ(t.age, 500);
  EXPECT_DOUBLE_EQ(t.fairshare, 2500);
  EXPECT_DOUBLE_EQ(t.size, 900);
  EXPECT_DOUBLE_EQ(t.programme, 1000);
  EXPECT_EQ(t.total, 4900);
  // Age stops growing at max_age; factors outside [0, 1] are clamped; a submit in the future is 0.
  EXPECT_DOUBLE_EQ(multifactor(w, kT0, kT0 + 30 * kDay, 0, 0, 0).age, 1000);
  EXPECT_EQ(multifactor(w, kT0, kT0 + 30 * kDay, 7, -3, NAN).total, 1000 + 10000 + 1000 + 0);
  EXPECT_DOUBLE_EQ(multifactor(w, kT0 + 10, kT0, 0, 1, 0).age, 0);
}

// A project far under its entitlement overtakes one far over it, until age makes up for the gap.
TEST(Multifactor, FairShareOutweighsAgeUntilTheWaitIsLong) {
  FairShare fs;
  const AccountId over = *fs.add(FairShare::root(), "over", 1);
  const AccountId under = *fs.add(FairShare::root(), "under", 1);
  fs.charge(over, 1000, kT0);
  const PriorityWeights w{.age = 10000, .fairshare = 10000, .size = 0, .programme = 0, .max_age = 10 * kDay};
  const Time now = kT0 + kDay;
  const auto late_under = multifactor(w, now - 3600, now, fs.factor(under, now), 0, 0);
  const auto early_over = multifactor(w, now - kDay, now, fs.factor(over, now), 0, 0);
  EXPECT_GT(late_under.total, early_over.total);
  const auto old_over = multifactor(w, now - 10 * kDay, now, fs.factor(over, now), 0, 0);
  EXPECT_GT(old_over.total, late_under.total);
}

}  // namespace
}  // namespace gwang::core
