// A shared GPU cluster and its tenants, in virtual time: institutions with entitled shares, their
// projects with grants and a workload each, all through the scheduler core, the grants and the
// usage reports that the live controller uses. What it answers: does each institution's share of
// the machine converge to its entitlement, and what becomes of the grants?
//
// Workload: each project submits jobs in a Poisson stream (rate per hour), each of 1 to max_gpus
// whole GPUs (a power of two) running an exponentially distributed time (mean, capped at the time
// limit). A project keeps at most `backlog` jobs waiting: users who have that many queued wait
// before they submit more (an arrival finding the backlog full is dropped), so that an institution
// that wants more than its share always has work waiting without the queue growing without end.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/grants.h"
#include "core/report.h"
#include "core/result.h"
#include "core/scheduler.h"
#include "core/tenancy.h"

namespace gwang::sim {

struct TenantInstitution {
  core::Institution institution;
  double shares = 1;  // its entitlement, relative to the other institutions'
};

struct TenantProject {
  std::string name, institution;
  double shares = 1;               // within its institution
  double jobs_per_hour = 1;        // Poisson arrivals
  int max_gpus = 8;                // each job takes 1, 2, 4, ... up to this many GPUs (one node)
  core::Time mean_run = 4 * 3600;  // exponential, capped at time_limit
  core::Time time_limit = 24 * 3600;
  int backlog = 20;       // at most this many waiting jobs
  double grant = 0;       // normalised GPU-hours (0: no grant)
  std::string programme;  // the grant's programme
};

struct TenantScenario {
  int nodes = 8, gpus_per_node = 8;
  std::string model = "gpu:H100";  // charged 1.0 per GPU-hour
  core::Time days = 84;
  core::Time half_life = 7 * 86400;  // fair share's
  core::Time period = 7 * 86400;     // report shares per period
  std::uint64_t seed = 1;
  std::vector<core::Programme> programmes;
  std::vector<TenantInstitution> institutions;
  std::vector<TenantProject> projects;
  // A recorded workload that carries its tenants: each job names its project (read by
  // load_tenant_trace from the CSV file the scenario's "trace" names). It runs beside the Poisson
  // streams, which a project without jobs_per_hour does not have.
  struct RecordedJob {
    core::Time submit = 0;
    std::size_t project = 0;  // index into projects
    int gpus = 1;
    core::Time run = 0;
  };
  std::string trace;  // the file, as the scenario names it
  std::vector<RecordedJob> recorded;
};

// Reads a scenario (JSON; docs/simulator.md). Errors name the field ("projects[2].shares").
Result<TenantScenario> parse_tenant_scenario(const std::string& json_text);
// Reads a recorded workload into `scenario.recorded`: CSV with the header
// "submit_hours,project,gpus,run_hours", one job per line (run capped at its project's time limit).
// Errors name `name`:line and the column; nothing is added on error.
Result<void> load_tenant_trace(TenantScenario& scenario, const std::string& csv_text, const std::string& name);

struct TenantPeriod {
  core::Time start = 0;
  std::map<std::string, double> gpu_hours;  // by institution
};

struct TenantOutcome {
  std::string policy;  // "multifactor" or "fcfs"
  std::vector<TenantPeriod> periods;
  std::map<std::string, double> entitlement;                  // institution -> its share of the machine (0..1)
  std::map<std::string, double> wait_h;                       // institution -> mean wait of its jobs that started (h)
  std::map<std::string, std::size_t> jobs, refused, dropped;  // by institution
  std::map<std::string, std::size_t> preempted;  // runs stopped to make room, by institution
  std::vector<core::Grant> grants;                            // at the end
  std::map<std::uint32_t, core::Time> spent_at;               // grant -> when it reached 100 % (if it did)
  std::vector<core::ReportRow> by_institution;                // the whole run, core::report's rows
  double utilisation = 0;                                     // GPU-hours used / GPU-hours there were
};

// Runs the scenario under `order` (Multifactor: fair share over institution -> project -> user with
// the scenario's shares; Fcfs: for comparison), with EASY backfilling.
TenantOutcome run_tenants(const TenantScenario& scenario, core::QueueOrder order);

}  // namespace gwang::sim
