// The ledger adds up: whatever the grants, top-ups, extensions and usage records, and in whatever
// order they come, the ledger's charges add up to the charges measured, its accelerator-seconds to
// the accelerator-seconds measured, and no grant is charged past its amount.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "controller/accounting.h"

namespace gwang::controller {
namespace {

using nlohmann::json;

RC_GTEST_PROP(LedgerProperty, ChargesAddUpToTheUsageMeasured, ()) {
  AccountingOptions options;
  options.rates.per_accelerator_hour["gpu:H100"] = 1.0;
  options.rates.per_accelerator_hour["gpu:V100"] = 0.3;
  options.rates.per_cpu_hour = 0.01;
  Accounting books(options);
  auto apply = [&](const std::string& kind, const json& p, std::int64_t t) {
    auto r = books.apply(kind, p, t);
    RC_ASSERT(r.has_value());
  };
  apply("tenancy.institution", {{"name", "i"}, {"type", "sme"}, {"sector", "energy"}}, 0);
  for (const char* p : {"p", "q"}) apply("tenancy.project", {{"name", p}, {"institution", "i"}}, 0);
  apply("grant.programme", {{"name", "v"}, {"when_exhausted", "refuse"}, {"priority", 0}}, 0);
  double measured_charge = 0, measured_seconds = 0;
  std::int64_t t = 0;
  const int steps = *rc::gen::inRange(1, 60);
  for (int i = 0; i < steps; ++i) {
    t += *rc::gen::inRange(0, 20000);
    const std::string project = *rc::gen::element<std::string>("p", "q", "");
    switch (*rc::gen::inRange(0, 5)) {
      case 0:
        if (!project.empty()) {
          apply("grant.granted",
                {{"project", project},
                 {"programme", "v"},
                 {"amount", *rc::gen::inRange(1, 50)},
                 {"start", t - *rc::gen::inRange(0, 50000)},
                 {"end", t + *rc::gen::inRange(1, 200000)},
                 {"who", "op"}},
                t);
        }
        break;
      case 1:
        if (!books.grants().all().empty()) {
          const auto id = *rc::gen::inRange<std::size_t>(1, books.grants().all().size() + 1);
          apply("grant.topped_up", {{"grant", id}, {"amount", *rc::gen::inRange(1, 20)}, {"who", "op"}}, t);
        }
        break;
      default: {
        std::vector<TaskUse> use;
        const int parts = *rc::gen::inRange(1, 4);
        for (int k = 0; k < parts; ++k) {
          const std::string model = *rc::gen::element<std::string>("gpu:H100", "gpu:V100", "gpu:A100", "");
          use.push_back({k, model, model.empty() ? 0 : *rc::gen::inRange(1, 8) * 500, *rc::gen::inRange(0, 64),
                         *rc::gen::inRange<std::int64_t>(0, 1LL << 36)});
        }
        const std::int64_t from = t - *rc::gen::inRange(0, 30000);
        const json record = books.usage_record(i, "u", project, from, t, use);
        for (const json& part : record["parts"]) {
          measured_charge += part["charge"].get<double>();
          measured_seconds += part["milli"].get<double>() / 1000.0 * static_cast<double>(t - from);
        }
        apply("usage.charged", record, t);
      }
    }
  }
  double ledger_charge = 0, ledger_seconds = 0;
  std::map<std::uint32_t, double> per_grant;
  for (const core::Usage& u : books.ledger()) {
    ledger_charge += u.charge;
    ledger_seconds += u.accelerator_seconds;
    if (u.grant) per_grant[u.grant->value] += u.charge;
  }
  RC_ASSERT(std::abs(ledger_charge - measured_charge) <= 1e-9 * std::max(1.0, measured_charge));
  RC_ASSERT(std::abs(ledger_seconds - measured_seconds) <= 1e-6 * std::max(1.0, measured_seconds));
  for (const core::Grant& g : books.grants().all()) {
    RC_ASSERT(g.used <= g.amount + 1e-9);
    RC_ASSERT(std::abs(per_grant[g.id.value] - g.used) <= 1e-9 * std::max(1.0, g.used));
  }
}

}  // namespace
}  // namespace gwang::controller
