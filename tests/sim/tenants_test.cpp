// Institutions sharing a GPU cluster under grants: under the multifactor order (Fair Tree), each
// institution's share of the GPU-hours converges to its entitlement; grants burn down and refuse
// once spent; bad scenarios say which field is wrong.
#include "sim/tenants.h"

#include <gtest/gtest.h>

#include <cmath>

namespace gwang::sim {
namespace {

// Three institutions that each want more than their entitlement, one with a grant that runs out.
const char* kScenario = R"({
  "nodes": 4, "gpus_per_node": 8, "days": 42, "seed": 7,
  "programmes": [{"name": "voucher", "when_exhausted": "refuse", "priority": 0.5}],
  "institutions": [
    {"name": "big", "type": "large-company", "sector": "mobility", "shares": 60},
    {"name": "mid", "type": "university", "shares": 30},
    {"name": "small", "type": "startup", "sector": "healthcare", "shares": 10}
  ],
  "projects": [
    {"name": "b1", "institution": "big", "jobs_per_hour": 2, "max_gpus": 8, "mean_run_hours": 4},
    {"name": "b2", "institution": "big", "shares": 3, "jobs_per_hour": 1, "max_gpus": 2, "mean_run_hours": 2},
    {"name": "m1", "institution": "mid", "jobs_per_hour": 1.5, "max_gpus": 4, "mean_run_hours": 5},
    {"name": "m2", "institution": "mid", "jobs_per_hour": 2, "max_gpus": 1, "mean_run_hours": 1,
     "grant": 300, "programme": "voucher"},
    {"name": "s1", "institution": "small", "jobs_per_hour": 1, "max_gpus": 4, "mean_run_hours": 3}
  ]
})";

double share(const TenantPeriod& p, const std::string& institution) {
  double total = 0;
  for (const auto& [name, h] : p.gpu_hours) total += h;
  return total > 0 ? p.gpu_hours.at(institution) / total : 0;
}

// Every week after the first, each institution's share is within 3 points of its entitlement under
// the multifactor order; first come first served misses by more for at least one of them.
TEST(Tenants, SharesConvergeToEntitlements) {
  auto sc = parse_tenant_scenario(kScenario);
  ASSERT_TRUE(sc) << sc.error().message;
  const TenantOutcome fair = run_tenants(*sc, core::QueueOrder::Multifactor);
  ASSERT_EQ(fair.periods.size(), 6u);
  EXPECT_GT(fair.utilisation, 0.9);
  for (std::size_t w = 1; w < fair.periods.size(); ++w) {
    for (const auto& [name, entitled] : fair.entitlement) {
      EXPECT_NEAR(share(fair.periods[w], name), entitled, 0.03) << name << " in week " << w;
    }
  }
  const TenantOutcome fcfs = run_tenants(*sc, core::QueueOrder::Fcfs);
  double worst = 0;
  for (std::size_t w = 1; w < fcfs.periods.size(); ++w) {
    for (const auto& [name, entitled] : fcfs.entitlement) {
      worst = std::max(worst, std::abs(share(fcfs.periods[w], name) - entitled));
    }
  }
  EXPECT_GT(worst, 0.05) << "first come first served ignores entitlements";
}

// The grant of m2 is spent, warns at 100 %, and m2's later jobs are refused; the rows of the
// report add up to what the grants were charged plus what no grant held.
TEST(Tenants, GrantsBurnDownAndRefuseOnceSpent) {
  auto sc = parse_tenant_scenario(kScenario);
  ASSERT_TRUE(sc);
  const TenantOutcome o = run_tenants(*sc, core::QueueOrder::Multifactor);
  ASSERT_EQ(o.grants.size(), 1u);
  EXPECT_DOUBLE_EQ(o.grants[0].used, 300);
  ASSERT_TRUE(o.spent_at.contains(o.grants[0].id.value));
  EXPECT_LT(o.spent_at.at(o.grants[0].id.value), 42 * 86400);
  EXPECT_GT(o.refused.at("mid"), 0u);
  EXPECT_EQ(o.refused.count("big"), 0u);
  double rows = 0, periods = 0;
  for (const core::ReportRow& r : o.by_institution) rows += r.accelerator_hours;
  for (const TenantPeriod& p : o.periods) {
    for (const auto& [name, h] : p.gpu_hours) periods += h;
  }
  EXPECT_NEAR(rows, periods, 1e-6);
  EXPECT_NEAR(rows, o.utilisation * 4 * 8 * 42 * 24, 1e-3);
}

// The same scenario and seed give the same outcome.
TEST(Tenants, Deterministic) {
  auto sc = parse_tenant_scenario(kScenario);
  ASSERT_TRUE(sc);
  const TenantOutcome a = run_tenants(*sc, core::QueueOrder::Multifactor);
  const TenantOutcome b = run_tenants(*sc, core::QueueOrder::Multifactor);
  ASSERT_EQ(a.periods.size(), b.periods.size());
  for (std::size_t w = 0; w < a.periods.size(); ++w) EXPECT_EQ(a.periods[w].gpu_hours, b.periods[w].gpu_hours);
}

// Under a preemptible programme a spent grant does not refuse: the project's work runs as
// preemptible, borrows what the other institution leaves idle and is preempted when it is needed.
TEST(Tenants, SpentGrantsUnderAPreemptibleProgrammeBorrowAndArePreempted) {
  auto sc = parse_tenant_scenario(R"({
    "nodes": 2, "gpus_per_node": 8, "days": 14, "seed": 3,
    "programmes": [{"name": "rnd", "when_exhausted": "preemptible"}],
    "institutions": [{"name": "a", "shares": 50}, {"name": "b", "shares": 50}],
    "projects": [
      {"name": "pa", "institution": "a", "jobs_per_hour": 2, "max_gpus": 4, "mean_run_hours": 3,
       "grant": 100, "programme": "rnd"},
      {"name": "pb", "institution": "b", "jobs_per_hour": 0.4, "max_gpus": 8, "mean_run_hours": 4}
    ]
  })");
  ASSERT_TRUE(sc) << sc.error().message;
  const TenantOutcome o = run_tenants(*sc, core::QueueOrder::Multifactor);
  EXPECT_EQ(o.refused.count("a"), 0u) << "nothing is refused under a preemptible programme";
  ASSERT_TRUE(o.preempted.contains("a"));
  EXPECT_GT(o.preempted.at("a"), 0u);
  EXPECT_EQ(o.preempted.count("b"), 0u) << "b's work is never preemptible";
  EXPECT_GT(o.jobs.at("a"), 100u) << "a keeps running past its grant, on borrowed GPUs";
}

// A recorded workload carries its tenants: its jobs run as their projects', charged and ranked the
// same; bad rows name the file, the line and the column, and add nothing.
TEST(Tenants, RecordedWorkloadsCarryTheirTenants) {
  auto sc = parse_tenant_scenario(R"({
    "nodes": 1, "gpus_per_node": 8, "days": 2, "trace": "jobs.csv",
    "programmes": [{"name": "v"}],
    "institutions": [{"name": "a"}, {"name": "b"}],
    "projects": [{"name": "pa", "institution": "a", "jobs_per_hour": 0, "grant": 20, "programme": "v"},
                 {"name": "pb", "institution": "b", "jobs_per_hour": 0}]
  })");
  ASSERT_TRUE(sc) << sc.error().message;
  EXPECT_EQ(sc->trace, "jobs.csv");
  ASSERT_TRUE(
      load_tenant_trace(*sc, "submit_hours,project,gpus,run_hours\n0,pa,8,2\n0.5,pb,4,3\n1,pa,4,10\n", "jobs.csv"));
  ASSERT_EQ(sc->recorded.size(), 3u);
  const TenantOutcome o = run_tenants(*sc, core::QueueOrder::Multifactor);
  EXPECT_EQ(o.jobs.at("a"), 2u);
  EXPECT_EQ(o.jobs.at("b"), 1u);
  double a = 0, b = 0;
  for (const TenantPeriod& p : o.periods) {
    a += p.gpu_hours.at("a");
    b += p.gpu_hours.at("b");
  }
  EXPECT_NEAR(a, 8 * 2 + 4 * 10, 1e-9);
  EXPECT_NEAR(b, 4 * 3, 1e-9);
  EXPECT_DOUBLE_EQ(o.grants.at(0).used, 20) << "pa's grant is spent by its recorded jobs";

  const std::pair<const char*, const char*> bad[] = {
      {"submit,project\n", "jobs.csv:1: expected the header"},
      {"submit_hours,project,gpus,run_hours\n0,pc,1,1\n", "jobs.csv:2: project: no project 'pc'"},
      {"submit_hours,project,gpus,run_hours\n0,pa,1,1\n0,pa,9,1\n",
       "jobs.csv:3: gpus: expected a whole number from 1 to 8"},
      {"submit_hours,project,gpus,run_hours\n-1,pa,1,1\n", "jobs.csv:2: submit_hours"},
      {"submit_hours,project,gpus,run_hours\n0,pa,1,0\n", "jobs.csv:2: run_hours"},
      {"submit_hours,project,gpus,run_hours\n0,pa,1\n", "jobs.csv:2: expected 4 columns, found 3"},
  };
  for (const auto& [text, says] : bad) {
    const std::size_t before = sc->recorded.size();
    auto r = load_tenant_trace(*sc, text, "jobs.csv");
    ASSERT_FALSE(r) << text;
    EXPECT_NE(r.error().message.find(says), std::string::npos) << r.error().message;
    EXPECT_EQ(sc->recorded.size(), before);
  }
}

// Bad scenarios: the error names the field.
TEST(Tenants, BadScenariosNameTheField) {
  struct Bad {
    const char* text;
    const char* says;
  };
  const Bad bad[] = {
      {"{", "malformed JSON at byte 2"},
      {R"({"institutions": [], "projects": []})", "field 'institutions': at least one"},
      {R"({"institutions": [{"name": "a", "shares": -1}], "projects": []})",
       "field 'institutions[0].shares': expected a number from 0.000001 to 1000000000"},
      {R"({"institutions": [{"name": "a", "type": "guild"}], "projects": []})", "field 'institutions[0].type'"},
      {R"({"institutions": [{"name": "a"}], "projects": [{"name": "p", "institution": "b"}]})",
       "field 'projects[0].institution': no institution 'b'"},
      {R"({"institutions": [{"name": "a"}], "projects": [{"name": "p", "institution": "a", "grant": 5}]})",
       "field 'projects[0].programme': required with a grant"},
      {R"({"institutions": [{"name": "a"}], "projects": [{"name": "p", "institution": "a", "max_gpus": 16}]})",
       "field 'projects[0].max_gpus': expected an integer from 1 to 8"},
      {R"({"institutions": [{"name": "a"}], "projects": [{"name": "p", "institution": "a", "colour": 1}]})",
       "unknown field 'projects[0].colour'"},
      {R"({"nodes": 0, "institutions": [{"name": "a"}], "projects": []})", "field 'nodes': expected an integer"},
  };
  for (const Bad& b : bad) {
    auto sc = parse_tenant_scenario(b.text);
    ASSERT_FALSE(sc) << b.text;
    EXPECT_NE(sc.error().message.find(b.says), std::string::npos) << b.text << " -> " << sc.error().message;
  }
}

}  // namespace
}  // namespace gwang::sim
