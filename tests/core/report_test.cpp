// Usage reports by each dimension, over a period, adding up to the period's usage.
#include "core/report.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cmath>

namespace gwang::core {
namespace {

constexpr Time kDay = 86400;
constexpr Time kT0 = 1'767'225'600;  // 2026-01-01

class ReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(tenancy_.add_institution({"kaist", InstitutionType::University, Sector::Other}));
    ASSERT_TRUE(tenancy_.add_institution({"hyundai", InstitutionType::LargeCompany, Sector::Mobility}));
    ASSERT_TRUE(tenancy_.add_institution({"medi", InstitutionType::Startup, Sector::Healthcare}));
    ASSERT_TRUE(tenancy_.add_project({"llm", "kaist"}));
    ASSERT_TRUE(tenancy_.add_project({"drive", "hyundai"}));
    ASSERT_TRUE(tenancy_.add_project({"scan", "medi"}));
    ASSERT_TRUE(grants_.add_programme({"voucher", ExhaustedRule::Refuse, 0.5}));
    ASSERT_TRUE(grants_.add_programme({"rnd", ExhaustedRule::Preemptible, 0.2}));
    voucher_ = *grants_.grant("scan", "voucher", 1000, kT0, kT0 + 365 * kDay, kT0, "op");
    rnd_ = *grants_.grant("llm", "rnd", 5000, kT0, kT0 + 365 * kDay, kT0, "op");
    usage_ = {
        {kT0 + 1 * kDay, JobId{1}, "kim", "llm", "gpu:H100", 8 * 3600, 64 * 3600, 8.0, rnd_},
        {kT0 + 2 * kDay, JobId{1}, "kim", "llm", "gpu:H100", 8 * 3600, 64 * 3600, 8.0, rnd_},
        {kT0 + 3 * kDay, JobId{2}, "lee", "drive", "gpu:V100", 4 * 3600, 32 * 3600, 1.2, std::nullopt},
        {kT0 + 4 * kDay, JobId{3}, "park", "scan", "gpu:H100", 1800, 8 * 3600, 0.5, voucher_},
        {kT0 + 5 * kDay, JobId{4}, "park", "scan", "", 0, 100 * 3600, 1.0, voucher_},
        {kT0 + 40 * kDay, JobId{5}, "kim", "llm", "gpu:H100", 3600, 8 * 3600, 1.0, rnd_},  // February
    };
  }
  std::vector<ReportRow> january(ReportBy by) const { return report(usage_, by, kT0, kT0 + 31 * kDay, tenancy_, grants_); }

  Tenancy tenancy_;
  Grants grants_;
  GrantId voucher_, rnd_;
  std::vector<Usage> usage_;
};

TEST_F(ReportTest, ByInstitutionTypeAndSector) {
  const auto by_type = january(ReportBy::InstitutionType);
  ASSERT_EQ(by_type.size(), 3u);
  EXPECT_EQ(by_type[0].key, "university");
  EXPECT_DOUBLE_EQ(by_type[0].charge, 16.0);
  EXPECT_EQ(by_type[0].jobs, 1u);  // one job, charged twice
  EXPECT_DOUBLE_EQ(by_type[0].accelerator_hours, 16.0);
  EXPECT_EQ(by_type[1].key, "startup");
  EXPECT_DOUBLE_EQ(by_type[1].charge, 1.5);
  EXPECT_EQ(by_type[1].jobs, 2u);
  EXPECT_EQ(by_type[2].key, "large-company");
  const auto by_sector = january(ReportBy::Sector);
  ASSERT_EQ(by_sector.size(), 3u);
  EXPECT_EQ(by_sector[0].key, "other");
  EXPECT_EQ(by_sector[1].key, "healthcare");
  EXPECT_EQ(by_sector[2].key, "mobility");
  EXPECT_DOUBLE_EQ(by_sector[2].cpu_hours, 32.0);
}

TEST_F(ReportTest, ByProgrammeModelAndUser) {
  const auto by_programme = january(ReportBy::Programme);
  ASSERT_EQ(by_programme.size(), 3u);
  EXPECT_EQ(by_programme[0].key, "rnd");
  EXPECT_EQ(by_programme[1].key, "voucher");
  EXPECT_EQ(by_programme[2].key, "(none)");  // the usage no grant held
  EXPECT_DOUBLE_EQ(by_programme[2].charge, 1.2);
  const auto by_model = january(ReportBy::Model);
  ASSERT_EQ(by_model.size(), 3u);
  EXPECT_EQ(by_model[0].key, "gpu:H100");
  EXPECT_DOUBLE_EQ(by_model[0].accelerator_hours, 16.5);
  EXPECT_EQ(by_model[2].key, "(none)");  // CPU-only work
  const auto by_user = report(usage_, ReportBy::User, kT0, kT0 + 60 * kDay, tenancy_, grants_);
  ASSERT_EQ(by_user[0].key, "kim");
  EXPECT_DOUBLE_EQ(by_user[0].charge, 17.0);  // February's job too
  EXPECT_EQ(by_user[0].jobs, 2u);
}

TEST_F(ReportTest, ThePeriodIsHalfOpen) {
  EXPECT_TRUE(report(usage_, ReportBy::Project, kT0 + 6 * kDay, kT0 + 40 * kDay, tenancy_, grants_).empty());
  EXPECT_EQ(report(usage_, ReportBy::Project, kT0 + 6 * kDay, kT0 + 40 * kDay + 1, tenancy_, grants_).size(), 1u);
}

TEST(ReportBy, NamesReadAndWrite) {
  for (auto by : {ReportBy::Programme, ReportBy::Institution, ReportBy::InstitutionType, ReportBy::Sector,
                  ReportBy::Project, ReportBy::User, ReportBy::Model}) {
    EXPECT_EQ(*parse_report_by(to_string(by)), by);
  }
  EXPECT_EQ(parse_report_by("month").error().message,
            "report by 'month': expected programme, institution, institution-type, sector, project, user or model");
}

// Whatever the records, each dimension's rows add up to the period's usage.
RC_GTEST_PROP(ReportProperty, RowsAddUpInEveryDimension, ()) {
  Tenancy t;
  RC_ASSERT(t.add_institution({"i", InstitutionType::Sme, Sector::Energy}).has_value());
  RC_ASSERT(t.add_project({"p", "i"}).has_value());
  Grants g;
  RC_ASSERT(g.add_programme({"prog", ExhaustedRule::Refuse, 0}).has_value());
  const GrantId grant = *g.grant("p", "prog", 100, kT0, kT0 + kDay, kT0, "op");
  std::vector<Usage> usage;
  const int n = *rc::gen::inRange(0, 50);
  const char* projects[] = {"p", "unknown", ""};
  const char* models[] = {"gpu:H100", "gpu:V100", ""};
  for (int i = 0; i < n; ++i) {
    Usage u;
    u.time = kT0 + *rc::gen::inRange<Time>(-kDay, 3 * kDay);
    u.job = JobId{*rc::gen::inRange(1, 10)};
    u.user = "u" + std::to_string(*rc::gen::inRange(0, 4));
    u.project = projects[*rc::gen::inRange(0, 3)];
    u.model = models[*rc::gen::inRange(0, 3)];
    u.accelerator_seconds = *rc::gen::inRange(0, 100000);
    u.cpu_seconds = *rc::gen::inRange(0, 100000);
    u.charge = *rc::gen::inRange(0, 1000) / 8.0;
    if (*rc::gen::arbitrary<bool>()) u.grant = grant;
    usage.push_back(u);
  }
  const Time from = kT0, to = kT0 + 2 * kDay;
  double charge = 0, cpu = 0;
  for (const Usage& u : usage) {
    if (u.time >= from && u.time < to) {
      charge += u.charge;
      cpu += u.cpu_seconds / 3600.0;
    }
  }
  for (auto by : {ReportBy::Programme, ReportBy::Institution, ReportBy::InstitutionType, ReportBy::Sector,
                  ReportBy::Project, ReportBy::User, ReportBy::Model}) {
    double rows_charge = 0, rows_cpu = 0;
    for (const ReportRow& r : report(usage, by, from, to, t, g)) {
      rows_charge += r.charge;
      rows_cpu += r.cpu_hours;
    }
    RC_ASSERT(std::abs(rows_charge - charge) < 1e-6);
    RC_ASSERT(std::abs(rows_cpu - cpu) < 1e-6);
  }
}

}  // namespace
}  // namespace gwang::core

namespace gwang::core {
namespace {

// A record measured over an interval is spread over the steps it covers; capacity is per step.
TEST(Utilisation, SpreadsUsageOverTheStepsItCovers) {
  Usage u;
  u.model = "gpu:H100";
  u.from = kT0 + 12 * 3600;        // noon of day 0
  u.time = kT0 + kDay + 12 * 3600;  // to noon of day 1
  u.accelerator_seconds = 2.0 * kDay;  // two devices all the time
  const std::vector<Usage> usage{u};
  const auto cells = utilisation(usage, {{"gpu:H100", 4}, {"gpu:V100", 2}}, kT0, kT0 + 3 * kDay, kDay);
  ASSERT_EQ(cells.size(), 6u);  // 3 days x 2 models, models by name within a day
  EXPECT_EQ(cells[0].model, "gpu:H100");
  EXPECT_EQ(cells[0].start, kT0);
  EXPECT_DOUBLE_EQ(cells[0].used_hours, 24.0);      // 2 devices x 12 h
  EXPECT_DOUBLE_EQ(cells[0].capacity_hours, 96.0);  // 4 devices x 24 h
  EXPECT_DOUBLE_EQ(cells[0].percent(), 25.0);
  EXPECT_DOUBLE_EQ(cells[2].used_hours, 24.0);
  EXPECT_DOUBLE_EQ(cells[4].used_hours, 0.0);
  EXPECT_EQ(cells[1].model, "gpu:V100");
  EXPECT_DOUBLE_EQ(cells[1].capacity_hours, 48.0);
  EXPECT_DOUBLE_EQ(cells[1].used_hours, 0.0);
}

// Whatever the records, the steps add up to the usage that falls inside the period.
RC_GTEST_PROP(UtilisationProperty, StepsAddUpToTheUsageInThePeriod, ()) {
  std::vector<Usage> usage;
  double inside = 0;
  const Time from = kT0, to = kT0 + 5 * kDay;
  const int n = *rc::gen::inRange(0, 40);
  for (int i = 0; i < n; ++i) {
    Usage u;
    u.model = *rc::gen::element<std::string>("gpu:H100", "npu:x");
    u.from = kT0 + *rc::gen::inRange<Time>(-kDay, 6 * kDay);
    u.time = u.from + *rc::gen::inRange<Time>(0, 2 * kDay);
    u.accelerator_seconds = *rc::gen::inRange(0, 1000000);
    usage.push_back(u);
    if (u.time == u.from) {
      if (u.time >= from && u.time < to) inside += u.accelerator_seconds;
      continue;
    }
    const Time a = std::max(u.from, from), b = std::min(u.time, to);
    if (b > a) inside += u.accelerator_seconds * static_cast<double>(b - a) / static_cast<double>(u.time - u.from);
  }
  const Time step = *rc::gen::inRange<Time>(3600, 3 * kDay);
  double total = 0;
  for (const UtilisationCell& c : utilisation(usage, {{"gpu:H100", 8}}, from, to, step)) total += c.used_hours * 3600;
  RC_ASSERT(std::abs(total - inside) < 1e-3);
}

}  // namespace
}  // namespace gwang::core
