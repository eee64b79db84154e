// Usage reports: what the centre owes the people who fund it. Measured usage, as charged, summed
// over a period by programme, institution, institution type, sector, project, user or accelerator
// model. Pure: the controller and the simulator give it their records.
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/grants.h"
#include "core/result.h"
#include "core/tenancy.h"
#include "core/types.h"

namespace gwang::core {

enum class ReportBy { Programme, Institution, InstitutionType, Sector, Project, User, Model };

// "programme", "institution", "institution-type", "sector", "project", "user", "model"; the error
// lists them.
Result<ReportBy> parse_report_by(std::string_view text);
std::string_view to_string(ReportBy by);

// One measured piece of a job's use and what it was charged.
struct Usage {
  Time time = 0;                 // when it was charged
  JobId job;
  std::string user, project;
  std::string model;             // the accelerator model ("gpu:H100"), empty for CPU-only work
  double accelerator_seconds = 0;
  double cpu_seconds = 0;
  double charge = 0;             // normalised accelerator-hours
  std::optional<GrantId> grant;  // the grant charged, if any held it
  int task = 0;                  // the job's task (rank)
  double memory_gib_seconds = 0;
  Time from = -1;                // the start of the interval measured (-1: `time` alone)
};

struct ReportRow {
  std::string key;               // "(none)" where the record has no such thing (no grant, no model)
  std::size_t jobs = 0;          // distinct jobs
  double accelerator_hours = 0, cpu_hours = 0, charge = 0;
};

// The usage charged in [from, to), summed by `by`: rows by charge, largest first (ties by key).
// Every record in the period lands in exactly one row: the rows add up to the period's usage.
std::vector<ReportRow> report(std::span<const Usage> usage, ReportBy by, Time from, Time to, const Tenancy& tenancy,
                              const Grants& grants);

// How busy each accelerator model was in each step of [from, to): device-hours used against
// device-hours there were. A usage record's device-seconds are spread evenly over the interval it
// measured, [from, time]. `capacity` is the number of devices of each model.
struct UtilisationCell {
  Time start = 0;                 // of the step
  std::string model;
  double used_hours = 0, capacity_hours = 0;
  double percent() const { return capacity_hours > 0 ? 100.0 * used_hours / capacity_hours : 0; }
};
// Steps in order, models by name within a step; every model of `capacity` or of the usage appears.
std::vector<UtilisationCell> utilisation(std::span<const Usage> usage, const std::map<std::string, int>& capacity,
                                         Time from, Time to, Time step);

}  // namespace gwang::core
