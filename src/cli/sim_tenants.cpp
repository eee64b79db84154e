// gwang sim tenants: institutions sharing a GPU cluster under grants, in virtual time.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.h"
#include "sim/tenants.h"

namespace gwang::cli {

using nlohmann::json;

namespace {

json outcome_json(const sim::TenantScenario& sc, const sim::TenantOutcome& o) {
  json periods = json::array();
  for (const sim::TenantPeriod& p : o.periods)
    periods.push_back({{"start_day", p.start / 86400}, {"gpu_hours", p.gpu_hours}});
  json grants = json::array();
  for (const core::Grant& g : o.grants) {
    auto spent = o.spent_at.find(g.id.value);
    grants.push_back({{"project", g.project},
                      {"programme", g.programme},
                      {"amount", g.amount},
                      {"used", g.used},
                      {"spent_day", spent == o.spent_at.end() ? json(nullptr) : json(spent->second / 86400.0)}});
  }
  json inst = json::object();
  for (const auto& [name, share] : o.entitlement) {
    inst[name] = {{"entitlement", share},
                  {"jobs", o.jobs.contains(name) ? o.jobs.at(name) : 0},
                  {"mean_wait_h", o.wait_h.contains(name) ? o.wait_h.at(name) : 0.0},
                  {"refused", o.refused.contains(name) ? o.refused.at(name) : 0},
                  {"dropped", o.dropped.contains(name) ? o.dropped.at(name) : 0},
                  {"preempted", o.preempted.contains(name) ? o.preempted.at(name) : 0}};
  }
  return {{"policy", o.policy},   {"days", sc.days},    {"utilisation", o.utilisation},
          {"institutions", inst}, {"periods", periods}, {"grants", grants}};
}

void outcome_text(const sim::TenantScenario& sc, const sim::TenantOutcome& o) {
  std::printf("policy %s: %d nodes x %d %s, %lld days, GPU utilisation %.1f %%\n", o.policy.c_str(), sc.nodes,
              sc.gpus_per_node, sc.model.c_str(), static_cast<long long>(sc.days), 100 * o.utilisation);
  std::printf("\nshare of the GPU-hours used, per period (entitlement in the last row)\n%-8s", "day");
  for (const auto& [name, e] : o.entitlement) std::printf(" %14s", name.c_str());
  std::printf("\n");
  for (const sim::TenantPeriod& p : o.periods) {
    double total = 0;
    for (const auto& [name, h] : p.gpu_hours) total += h;
    std::printf("%-8lld", static_cast<long long>(p.start / 86400));
    for (const auto& [name, e] : o.entitlement) {
      const auto h = p.gpu_hours.find(name);
      std::printf(" %13.1f%%", total > 0 && h != p.gpu_hours.end() ? 100 * h->second / total : 0.0);
    }
    std::printf("\n");
  }
  std::printf("%-8s", "entitled");
  for (const auto& [name, e] : o.entitlement) std::printf(" %13.1f%%", 100 * e);
  std::printf("\n\n%-16s %8s %12s %9s %9s %10s\n", "institution", "jobs", "mean wait h", "refused", "dropped",
              "preempted");
  for (const auto& [name, e] : o.entitlement) {
    auto get = [&](const std::map<std::string, std::size_t>& m) { return m.contains(name) ? m.at(name) : 0; };
    std::printf("%-16s %8zu %12.1f %9zu %9zu %10zu\n", name.c_str(), get(o.jobs),
                o.wait_h.contains(name) ? o.wait_h.at(name) : 0.0, get(o.refused), get(o.dropped), get(o.preempted));
  }
  if (!o.grants.empty()) {
    std::printf("\n%-16s %-12s %10s %10s %10s\n", "grant project", "programme", "amount", "used", "spent day");
    for (const core::Grant& g : o.grants) {
      auto spent = o.spent_at.find(g.id.value);
      std::printf("%-16s %-12s %10.0f %10.0f %10s\n", g.project.c_str(), g.programme.c_str(), g.amount, g.used,
                  spent == o.spent_at.end() ? "-" : std::to_string(spent->second / 86400).c_str());
    }
  }
}

}  // namespace

int run_tenants_sim(const TenantsArgs& args) {
  std::ifstream in(args.scenario);
  if (!in) {
    std::fprintf(stderr, "gwang: %s: cannot read\n", args.scenario.c_str());
    return 2;
  }
  std::stringstream text;
  text << in.rdbuf();
  auto sc = sim::parse_tenant_scenario(text.str());
  if (!sc) {
    std::fprintf(stderr, "gwang: %s: %s\n", args.scenario.c_str(), sc.error().message.c_str());
    return 2;
  }
  if (!sc->trace.empty()) {
    // A relative path is relative to the scenario's own directory.
    const std::filesystem::path trace = std::filesystem::path(args.scenario).parent_path() / sc->trace;
    std::ifstream csv(sc->trace.front() == '/' ? std::filesystem::path(sc->trace) : trace);
    if (!csv) {
      std::fprintf(stderr, "gwang: %s: trace '%s': cannot read\n", args.scenario.c_str(), sc->trace.c_str());
      return 2;
    }
    std::stringstream rows;
    rows << csv.rdbuf();
    if (auto r = sim::load_tenant_trace(*sc, rows.str(), sc->trace); !r) {
      std::fprintf(stderr, "gwang: %s\n", r.error().message.c_str());
      return 2;
    }
  }
  std::vector<core::QueueOrder> orders;
  if (args.policy == "multifactor" || args.policy == "both") orders.push_back(core::QueueOrder::Multifactor);
  if (args.policy == "fcfs" || args.policy == "both") orders.push_back(core::QueueOrder::Fcfs);
  json all = json::array();
  for (std::size_t i = 0; i < orders.size(); ++i) {
    const sim::TenantOutcome o = sim::run_tenants(*sc, orders[i]);
    if (args.json) {
      all.push_back(outcome_json(*sc, o));
    } else {
      if (i > 0) std::printf("\n");
      outcome_text(*sc, o);
    }
  }
  if (args.json) std::printf("%s\n", (all.size() == 1 ? all[0] : all).dump(2).c_str());
  return 0;
}

}  // namespace gwang::cli
