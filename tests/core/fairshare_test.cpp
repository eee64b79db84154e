// Fair share with decayed usage over institution -> project -> user, and the multifactor priority,
// on an injected clock running through months.
#include "core/fairshare.h"

#include <gtest/gtest.h>

#include <memory>

#include "core_helpers.h"
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

// Factors stay in [0, 1] (an account far over a tiny share underflows to 0); more usage never raises
// an account's factor.
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
    RC_ASSERT(f >= 0.0);
    RC_ASSERT(f <= 1.0);
  }
  // Charging one account more lowers (or keeps) its factor.
  const AccountId who = accounts[*rc::gen::inRange<std::size_t>(1, accounts.size())];
  const double before = fs.factor(who, now);
  fs.charge(who, 1 + *rc::gen::inRange(0, 100000), now);
  RC_ASSERT(fs.factor(who, now) <= before + 1e-12);
}

// Fair Tree: every user of an institution under its share ranks above every user of one over it,
// however many projects each has; the classic factor does not promise that.
TEST(FairTree, AnInstitutionUnderItsShareRanksAllItsUsersFirst) {
  FairShare fs({86400, FairShareAlgorithm::FairTree});
  const AccountId big = *fs.add(FairShare::root(), "big", 50);
  const AccountId small = *fs.add(FairShare::root(), "small", 50);
  const AccountId b1 = *fs.add(*fs.add(big, "p1", 1), "u", 1);
  const AccountId b2 = *fs.add(*fs.add(big, "p2", 1), "u", 1);
  const AccountId s1 = *fs.add(*fs.add(small, "p", 1), "u", 1);
  fs.charge(b1, 10, 0);   // big has used 40 % of the machine, below its 50 %
  fs.charge(b2, 30, 0);
  fs.charge(s1, 60, 0);   // small, 60 %
  const std::vector<double> f = fs.factors(0);
  EXPECT_GT(f[b1.value], f[s1.value]);
  EXPECT_GT(f[b2.value], f[s1.value]) << "even big's heavier project goes before small";
  EXPECT_GT(f[b1.value], f[b2.value]) << "within big, the project further under its share first";
  EXPECT_DOUBLE_EQ(f[b1.value], 1.0);
  EXPECT_DOUBLE_EQ(f[s1.value], 1.0 / 3);
  EXPECT_DOUBLE_EQ(fs.factor(b2, 0), f[b2.value]);
}

// Users of the same project with the same level fair share share a rank; nothing used ranks first.
TEST(FairTree, TiesShareARankAndTheUnusedGoFirst) {
  FairShare fs({86400, FairShareAlgorithm::FairTree});
  const AccountId p = *fs.add(FairShare::root(), "p", 1);
  const AccountId a = *fs.add(p, "a", 1);
  const AccountId b = *fs.add(p, "b", 1);
  const AccountId c = *fs.add(p, "c", 1);
  fs.charge(c, 5, 0);
  const std::vector<double> f = fs.factors(0);
  EXPECT_DOUBLE_EQ(f[a.value], 1.0);
  EXPECT_DOUBLE_EQ(f[b.value], 1.0) << "a tie with a";
  EXPECT_DOUBLE_EQ(f[c.value], 1.0 / 3);
}

// Whatever the tree and the usage, Fair Tree's factors lie in (0, 1] and keep the order of the
// level fair shares between siblings that are leaves.
RC_GTEST_PROP(FairTreeProperty, FactorsAreRanksInOrder, ()) {
  FairShare fs({3600, FairShareAlgorithm::FairTree});
  std::vector<AccountId> accounts{FairShare::root()};
  const int n = *rc::gen::inRange(1, 25);
  for (int i = 0; i < n; ++i) {
    const AccountId parent = accounts[*rc::gen::inRange<std::size_t>(0, accounts.size())];
    accounts.push_back(*fs.add(parent, "a" + std::to_string(i), *rc::gen::inRange(1, 10)));
  }
  for (int i = 0; i < 20; ++i) {
    fs.charge(accounts[*rc::gen::inRange<std::size_t>(1, accounts.size())], *rc::gen::inRange(0, 100), i * 60);
  }
  const std::vector<double> f = fs.factors(20 * 60);
  for (std::size_t i = 1; i < f.size(); ++i) RC_ASSERT(f[i] > 0.0 && f[i] <= 1.0);
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


// --- the scheduler's multifactor order

namespace multifactor_order {

using namespace gwang::core::testing;

// One node of 4 V100s and 4 T4s; the multifactor order with fair share dominant.
struct Fixture {
  Fixture(Time reprioritize_every = 300) {
    Cluster c = make_cluster();
    v100_ = v100(c);
    t4_ = t4(c);
    make_node(c, 64 * kMilli, {v100_, v100_, v100_, v100_, t4_, t4_, t4_, t4_});
    SchedulerOptions o;
    o.order = QueueOrder::Multifactor;
    o.backfill = Backfill::None;
    o.priority = {.age = 1000, .fairshare = 100000, .size = 0, .programme = 0, .max_age = 7 * kDay};
    o.fairshare = {.half_life = 7 * kDay};
    o.reprioritize_every = reprioritize_every;
    o.usage_weights = {{"gpu:V100", 1.0}, {"gpu:T4", 0.25}};
    s = std::make_unique<Scheduler>(std::move(c), o);
  }
  JobSpec job(std::int64_t id, const std::string& project, int gpus, ResourceKind model, Time submit, Time limit = kDay) {
    JobSpec j = make_job(id, make_task(kMilli, gpus, kMilli, {model}), {.submit = submit, .time_limit = limit});
    j.institution = "kaist";
    j.project = project;
    j.user = project + "-user";
    return j;
  }
  std::unique_ptr<Scheduler> s;
  ResourceKind v100_, t4_;
};

std::vector<std::int64_t> started(const std::vector<Decision>& d) {
  std::vector<std::int64_t> out;
  for (const Decision& x : d) out.push_back(x.job.value);
  return out;
}

// A project that has used the machine waits behind one that has not, though it asked first.
TEST(MultifactorOrder, FairShareGoesBeforeFirstCome) {
  Fixture f;
  ASSERT_TRUE(f.s->submit(f.job(1, "busy", 4, f.v100_, kT0), kT0));
  EXPECT_EQ(started(f.s->schedule(kT0)), std::vector<std::int64_t>{1});
  ASSERT_TRUE(f.s->finish(jid(1), kT0 + kDay));  // 4 V100-days charged to busy
  ASSERT_TRUE(f.s->submit(f.job(2, "busy", 4, f.v100_, kT0 + kDay), kT0 + kDay));
  ASSERT_TRUE(f.s->submit(f.job(3, "idle", 4, f.v100_, kT0 + kDay + 60), kT0 + kDay + 60));
  // The T4s are free but neither job may use them: 3 goes first on the V100s, 2 waits for them.
  EXPECT_EQ(started(f.s->schedule(kT0 + kDay + 60)), std::vector<std::int64_t>{3});
  const AccountId busy = *f.s->fairshare().find_path({"kaist", "busy", "busy-user"});
  EXPECT_DOUBLE_EQ(f.s->fairshare().usage(busy, kT0 + kDay), 4.0 * kDay);
  const PriorityTerms t2 = f.s->priority_terms(jid(2), kT0 + kDay + 60);
  const PriorityTerms t3 = f.s->priority_terms(jid(3), kT0 + kDay + 60);
  EXPECT_LT(t2.fairshare, t3.fairshare);
  EXPECT_GT(t2.age, t3.age);
}

// Usage is weighted by model: a T4-day counts a quarter of a V100-day.
TEST(MultifactorOrder, UsageIsWeightedByModel) {
  Fixture f;
  ASSERT_TRUE(f.s->submit(f.job(1, "on-v100", 1, f.v100_, kT0), kT0));
  ASSERT_TRUE(f.s->submit(f.job(2, "on-t4", 1, f.t4_, kT0), kT0));
  EXPECT_EQ(started(f.s->schedule(kT0)).size(), 2u);
  f.s->finish(jid(1), kT0 + kDay);
  f.s->finish(jid(2), kT0 + kDay);
  const FairShare& fs = f.s->fairshare();
  EXPECT_DOUBLE_EQ(fs.usage(*fs.find_path({"kaist", "on-v100"}), kT0 + kDay), 1.0 * kDay);
  EXPECT_DOUBLE_EQ(fs.usage(*fs.find_path({"kaist", "on-t4"}), kT0 + kDay), 0.25 * kDay);
}

// A job that runs for days is charged while it runs, at each ranking: its project falls behind
// before the job ends.
TEST(MultifactorOrder, RunningJobsAreChargedAsTheyRun) {
  Fixture f(3600);
  ASSERT_TRUE(f.s->submit(f.job(1, "long", 4, f.v100_, kT0, 10 * kDay), kT0));
  EXPECT_EQ(started(f.s->schedule(kT0)), std::vector<std::int64_t>{1});
  f.s->schedule(kT0 + 2 * kDay);  // a ranking: two days of 4 V100s charged
  const AccountId long_user = *f.s->fairshare().find_path({"kaist", "long", "long-user"});
  EXPECT_DOUBLE_EQ(f.s->fairshare().usage(long_user, kT0 + 2 * kDay), 8.0 * kDay);
  f.s->finish(jid(1), kT0 + 3 * kDay);  // the rest at the end, not twice
  EXPECT_NEAR(f.s->fairshare().usage(long_user, kT0 + 3 * kDay), 8.0 * kDay * std::exp2(-1.0 / 7) + 4.0 * kDay, 1e-6);
}

// Waiting jobs are ranked again as time passes: usage decays and age grows, and a job held back
// by its project's past use gets its turn once that use is forgotten enough.
TEST(MultifactorOrder, RankingsChangeAsUsageDecays) {
  Fixture f(kDay);
  // busy used the machine for a week; idle used a tenth of that.
  ASSERT_TRUE(f.s->submit(f.job(1, "busy", 4, f.v100_, kT0, 7 * kDay), kT0));
  ASSERT_TRUE(f.s->submit(f.job(2, "idle", 4, f.t4_, kT0, 7 * kDay), kT0));
  f.s->schedule(kT0);
  f.s->finish(jid(1), kT0 + 7 * kDay);
  f.s->finish(jid(2), kT0 + 7 * kDay / 10 * 4);  // T4s weigh a quarter: 0.1 of busy's usage
  // A blocker holds the V100s while busy and idle each queue a job for them.
  ASSERT_TRUE(f.s->submit(f.job(3, "other", 4, f.v100_, kT0 + 7 * kDay, 30 * kDay), kT0 + 7 * kDay));
  EXPECT_EQ(started(f.s->schedule(kT0 + 7 * kDay)), std::vector<std::int64_t>{3});
  ASSERT_TRUE(f.s->submit(f.job(4, "busy", 4, f.v100_, kT0 + 7 * kDay), kT0 + 7 * kDay));
  ASSERT_TRUE(f.s->submit(f.job(5, "idle", 4, f.v100_, kT0 + 7 * kDay + 1), kT0 + 7 * kDay + 1));
  f.s->schedule(kT0 + 8 * kDay);
  EXPECT_EQ(ids(f.s->queue()), (std::vector<std::int64_t>{5, 4}));
  const double gap_then = f.s->priority_terms(jid(5), kT0 + 8 * kDay).fairshare -
                          f.s->priority_terms(jid(4), kT0 + 8 * kDay).fairshare;
  // A month on, while "other" keeps running, busy's week is mostly forgotten: the gap narrows.
  f.s->schedule(kT0 + 38 * kDay);
  const double gap_now = f.s->priority_terms(jid(5), kT0 + 38 * kDay).fairshare -
                         f.s->priority_terms(jid(4), kT0 + 38 * kDay).fairshare;
  EXPECT_GT(gap_then, 0);
  EXPECT_GT(gap_now, 0);
  EXPECT_LT(gap_now, gap_then / 4);
}

// The same calls give the same decisions, bit for bit.
TEST(MultifactorOrder, Deterministic) {
  auto run = []() -> std::vector<std::int64_t> {
    Fixture f(600);
    std::vector<std::int64_t> log;
    Time now = kT0;
    for (std::int64_t id = 1; id <= 60; ++id) {
      now += 300;
      const char* projects[] = {"a", "b", "c"};
      EXPECT_TRUE(f.s->submit(f.job(id, projects[id % 3], 1 + id % 4, id % 2 ? f.v100_ : f.t4_, now, 3600 * (1 + id % 5)), now));
      for (JobId done : f.s->expire(now)) log.push_back(-done.value);
      for (std::int64_t s : started(f.s->schedule(now))) log.push_back(s);
    }
    return log;
  };
  EXPECT_EQ(run(), run());
}

}  // namespace multifactor_order

}  // namespace
}  // namespace gwang::core
