#include "core/report.h"

#include "core/names.h"

#include <algorithm>
#include <cassert>
#include <array>
#include <map>
#include <set>
#include <utility>

namespace gwang::core {

namespace {

constexpr std::array<std::pair<ReportBy, std::string_view>, 7> kBy{{
    {ReportBy::Programme, "programme"},
    {ReportBy::Institution, "institution"},
    {ReportBy::InstitutionType, "institution-type"},
    {ReportBy::Sector, "sector"},
    {ReportBy::Project, "project"},
    {ReportBy::User, "user"},
    {ReportBy::Model, "model"},
}};

const std::string kNone = "(none)";

}  // namespace

Result<ReportBy> parse_report_by(std::string_view text) {
  if (auto v = names::value_of<ReportBy>(text, kBy)) return *v;
  return fail("report by '" + std::string(text) + "': expected " + names::list(kBy, ", ", " or "));
}

std::string_view to_string(ReportBy by) { return names::name_of(by, kBy); }

std::vector<ReportRow> report(std::span<const Usage> usage, ReportBy by, Time from, Time to, const Tenancy& tenancy,
                              const Grants& grants) {
  auto key_of = [&](const Usage& u) -> std::string {
    auto or_none = [](const std::string& s) { return s.empty() ? kNone : s; };
    const Institution* inst = tenancy.institution(tenancy.institution_of(u.project));
    switch (by) {
      case ReportBy::Programme: {
        const Grant* g = u.grant ? grants.find(*u.grant) : nullptr;
        return g ? g->programme : kNone;
      }
      case ReportBy::Institution: return inst ? inst->name : kNone;
      case ReportBy::InstitutionType: return inst ? std::string(to_string(inst->type)) : kNone;
      case ReportBy::Sector: return inst ? std::string(to_string(inst->sector)) : kNone;
      case ReportBy::Project: return or_none(u.project);
      case ReportBy::User: return or_none(u.user);
      case ReportBy::Model: return or_none(u.model);
    }
    return kNone;
  };
  std::map<std::string, ReportRow> rows;
  std::map<std::string, std::set<std::int64_t>> jobs;
  for (const Usage& u : usage) {
    if (u.time < from || u.time >= to) continue;
    const std::string key = key_of(u);
    ReportRow& r = rows[key];
    r.key = key;
    r.accelerator_hours += u.accelerator_seconds / 3600.0;
    r.cpu_hours += u.cpu_seconds / 3600.0;
    r.charge += u.charge;
    jobs[key].insert(u.job.value);
  }
  std::vector<ReportRow> out;
  out.reserve(rows.size());
  for (auto& [key, row] : rows) {
    row.jobs = jobs[key].size();
    out.push_back(std::move(row));
  }
  std::stable_sort(out.begin(), out.end(), [](const ReportRow& a, const ReportRow& b) {
    return a.charge != b.charge ? a.charge > b.charge : a.key < b.key;
  });
  return out;
}

std::vector<UtilisationCell> utilisation(std::span<const Usage> usage, const std::map<std::string, int>& capacity,
                                         Time from, Time to, Time step) {
  assert(step > 0 && to >= from);
  const std::size_t steps = static_cast<std::size_t>((to - from + step - 1) / step);
  std::set<std::string> models;
  for (const auto& [model, n] : capacity) models.insert(model);
  for (const Usage& u : usage) {
    if (!u.model.empty()) models.insert(u.model);
  }
  std::map<std::string, std::vector<double>> used;  // device-seconds per step
  for (const std::string& m : models) used[m].assign(steps, 0.0);
  for (const Usage& u : usage) {
    if (u.model.empty() || u.accelerator_seconds <= 0) continue;
    const Time begin = u.from >= 0 && u.from < u.time ? u.from : u.time;
    std::vector<double>& row = used[u.model];
    if (begin == u.time) {  // a point: all of it in the step that holds it
      if (u.time >= from && u.time < to) row[static_cast<std::size_t>((u.time - from) / step)] += u.accelerator_seconds;
      continue;
    }
    const double per_second = u.accelerator_seconds / static_cast<double>(u.time - begin);
    for (Time t = std::max(begin, from); t < std::min(u.time, to);) {
      const std::size_t k = static_cast<std::size_t>((t - from) / step);
      const Time step_end = std::min(from + static_cast<Time>(k + 1) * step, std::min(u.time, to));
      row[k] += per_second * static_cast<double>(step_end - t);
      t = step_end;
    }
  }
  std::vector<UtilisationCell> out;
  out.reserve(steps * models.size());
  for (std::size_t k = 0; k < steps; ++k) {
    const Time start = from + static_cast<Time>(k) * step;
    const Time length = std::min(start + step, to) - start;
    for (const std::string& m : models) {
      auto c = capacity.find(m);
      const double devices = c == capacity.end() ? 0 : c->second;
      out.push_back({start, m, used[m][k] / 3600.0, devices * static_cast<double>(length) / 3600.0});
    }
  }
  return out;
}

}  // namespace gwang::core
