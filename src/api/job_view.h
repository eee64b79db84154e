// A job as the API shows it (GET /api/v1/jobs, /jobs/ID, and the answers to submit, hold and
// release), with its steps: one type, written by the controller and read by every command.
// docs/api/openapi.yaml's Job and Step schemas describe the same fields; tests hold the three
// (this writer, the schema, the dashboard's TypeScript types) together.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "api/job_state.h"
#include "api/json_writer.h"
#include "api/reason.h"
#include "core/result.h"

namespace gwang::api {

// One task of a step: on which of the job's nodes it ran, and how it ended.
struct StepTaskView {
  std::string node;
  JobState state = JobState::Running;
  int exit_code = 0, signal = 0;
  bool operator==(const StepTaskView&) const = default;
};

// A job step (srun inside a job).
struct StepView {
  int id = 0;
  std::string name;
  JobState state = JobState::Running;
  int exit_code = 0, signal = 0;
  std::int64_t start_time = -1, end_time = -1;  // Unix seconds; -1: not yet (null)
  int ntasks = 0, cpus_per_task = 1;
  std::vector<std::string> nodes;  // the job's nodes it runs on, in order
  std::vector<std::string> command;
  std::string stopping;                            // being ended, and why ("": not)
  std::optional<std::vector<StepTaskView>> tasks;  // by task id; only in a step's own answer
  bool ended() const { return api::ended(state); }
  bool operator==(const StepView&) const = default;
};

// The terms of a waiting job's priority under the multifactor order, each weight times its factor.
struct PriorityView {
  std::int64_t total = 0;
  double age = 0, fairshare = 0, size = 0, programme = 0;
  bool operator==(const PriorityView&) const = default;
};

// What a job list shows of each job (GET /api/v1/jobs without view=full).
struct JobSummary {
  std::int64_t id = 0;
  std::string name, user;
  JobState state = JobState::Pending;
  ReasonCode reason_code = ReasonCode::None;  // why it waits, as a code
  std::string reason;                         // the same in words, or why it ended
  std::int64_t submit_time = 0;
  std::int64_t start_time = -1, end_time = -1;  // -1: not yet (null)
  std::string node;                             // its nodes, comma-separated, once it runs
  std::string project;
  std::optional<std::int64_t> estimated_start;  // where asked for (?start=1); -1: none known (null)
  bool pending() const { return state == JobState::Pending; }
  bool ended() const { return api::ended(state); }
  bool operator==(const JobSummary&) const = default;
};

// The whole job (view=full, and a job's own answer).
struct JobView : JobSummary {
  std::vector<std::string> command;
  std::string workdir;
  int cpus = 1;                 // per task
  std::int64_t mem = 0;         // bytes per task
  int nodes = 1;                // tasks, one per node
  std::int64_t time_limit = 0;  // seconds
  int exit_code = 0;
  int attempt = 0;  // how many times it was requeued
  bool requeue = true;
  bool preemptible = false;
  std::vector<std::string> devices;     // UUIDs of the devices it holds
  int gpus = 0;                         // GPUs per task (0: none)
  std::vector<std::string> gpu_models;  // the models it accepts (empty: any)
  double gpu_share = 0;                 // a share of one GPU instead (0: none)
  std::int64_t begin = 0;               // not eligible before (0: at once)
  std::string dependency;
  bool batch = false;  // runs a script
  // An allocation's kind (salloc's, srun's outside a job): "attended", "unattended"; "" none.
  std::string allocation;
  // A session's app (api/session.h: "jupyter", ..., "custom"); "" none. Its service is at /s/ID/.
  std::string session;
  std::string output, error, input;
  bool open_append = false;
  std::string comment, partition;
  std::string group;     // the group it runs as (sbatch --gid); empty: its user's own
  std::string licenses;  // the licenses it holds while it runs ("matlab:2,fluent:1"); empty: none
  Hold hold = Hold::None;
  std::string qos;                // the allocation programme it runs under, when named
  std::string array;              // its array's spec ("0-15%4"), for a task of an array
  std::int64_t array_job_id = 0;  // 0: not in an array
  std::int64_t array_task_id = -1;
  std::vector<StepView> steps;
  std::optional<PriorityView> priority;  // a waiting job's, under the multifactor order
  bool in_array() const { return array_task_id >= 0; }
  bool operator==(const JobView&) const = default;
};

void write_step_view(Json& w, const StepView& step);
void write_job_summary(Json& w, const JobSummary& job);
void write_job_view(Json& w, const JobView& job);
// Fail with the field that is missing or of the wrong type ("jobs[3].start_time: expected an
// integer or null"); `where` names the value in the document read.
Result<StepView> read_step_view(const nlohmann::json& j, const std::string& where = "step");
Result<JobSummary> read_job_summary(const nlohmann::json& j, const std::string& where = "job");
Result<JobView> read_job_view(const nlohmann::json& j, const std::string& where = "job");
// The "jobs" array of a job list, of summaries or of whole jobs (view=full).
Result<std::vector<JobSummary>> read_job_summaries(const nlohmann::json& list, const std::string& where = "jobs");
Result<std::vector<JobView>> read_job_views(const nlohmann::json& list, const std::string& where = "jobs");

}  // namespace gwang::api
