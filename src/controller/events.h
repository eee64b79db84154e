// The journal's records of jobs and nodes as types: one struct per kind of record, each with its
// binary encoding beside its decoding (api/codec.h's varints and string table), and the first form of
// the records, JSON, still read. The controller applies an event by one function, the same for a
// change it makes live and for recovery (recovery.cpp). The books' records are accounting.h's.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "agent/devices.h"
#include "api/request.h"
#include "controller/records.h"
#include "core/result.h"

namespace gwang::controller::events {

// A job, or a job array's tasks (consecutive ids from `id`, one per index), was submitted.
struct Submitted {
  std::int64_t id = 0;
  std::string user;
  std::string project;  // charged to ("" none)
  bool preemptible = false;
  api::SubmitRequest request;             // as the controller completed it (working directory, partition)
  std::vector<std::int64_t> array_tasks;  // a job array's indices; empty for a single job
};

// A job started (attempt `attempt`) with one task per node, in its ranks' order.
struct Started {
  std::int64_t id = 0;
  int attempt = 0;
  std::string credential;  // the job's own, while it runs
  std::vector<TaskRecord> tasks;
  std::int64_t time_s = 0;  // > 0: its time limit, lowered to start it now (--time-min)
  bool operator==(const Started&) const = default;
};

// One rank of a job with other ranks still running ended.
struct RankEnded {
  std::int64_t id = 0;
  int attempt = 0, rank = 0;
  JobState state = JobState::Failed;
  int exit_code = 0;
  std::string reason;
  bool operator==(const RankEnded&) const = default;
};

// A job step started: its tasks laid out over the job's nodes (indices into the job's tasks).
struct StepStarted {
  std::int64_t id = 0;
  int attempt = 0;
  int step = 0;
  std::string name;
  std::vector<std::string> argv;
  std::string workdir;
  std::vector<std::pair<std::string, std::string>> env;
  int cpus_per_task = 0;  // 0: not asked for (1)
  bool kill_on_bad_exit = false;
  std::vector<int> task_nodes;
  std::vector<std::vector<int>> task_cpus;  // by task: the CPU ids it is bound to (empty: not bound)
  bool overlap = false;                     // StepRecord's: what it holds of the job's on each node
  std::vector<int> node_cpus;
  std::vector<std::int64_t> node_mem;
  bool own_devices = false;  // StepRecord's
  std::vector<std::vector<std::string>> node_devices;
  std::vector<std::vector<std::string>> task_devices;  // by task: StepTaskRecord::devices
  bool preserve_env = false;                           // StepRecord's
  std::int64_t time_s = 0;                             // StepRecord's
  std::vector<int> resv_ports;                         // StepRecord's
  bool no_kill = false;                                // StepRecord's
  int pty_rows = 0, pty_cols = 0;                      // StepRecord's
  bool operator==(const StepStarted&) const = default;
};

// A step's task ended.
struct StepTaskEnded {
  std::int64_t id = 0;
  int attempt = 0, step = 0, task = 0;
  JobState state = JobState::Failed;
  int exit_code = 0, signal = 0;
  bool operator==(const StepTaskEnded&) const = default;
};

// A step's tasks are being ended: cancelled, or one failed under kill-on-bad-exit.
struct StepStopping {
  std::int64_t id = 0;
  int attempt = 0, step = 0;
  std::string why;
  bool cancel = false;
  bool operator==(const StepStopping&) const = default;
};

// A job waits again, as attempt `attempt`.
struct Requeued {
  std::int64_t id = 0;
  int attempt = 0;
  std::string reason;
  bool operator==(const Requeued&) const = default;
};

// A job ended.
struct Ended {
  std::int64_t id = 0;
  JobState state = JobState::Completed;
  int exit_code = 0;
  std::string reason;
  bool operator==(const Ended&) const = default;
};

// Waiting jobs were held, or released (Hold::None).
struct Held {
  std::vector<std::int64_t> ids;
  Hold hold = Hold::None;
  std::string by;  // who asked
  bool operator==(const Held&) const = default;
};

// A node's agent registered it (again): where it is and what it has.
struct NodeRegistered {
  std::string node;
  std::string instance;  // the agent's run
  std::string address;
  int cpus = 0;
  std::int64_t memory_bytes = 0;
  std::vector<agent::Device> devices;  // what the journal keeps of them: kind, name, uuid, index, memory, declared
  std::vector<std::string> features;   // what jobs may ask of it besides resources (--constraint)
  std::int64_t tmp_bytes = 0;          // its temporary file system (--tmp)
};

// An operator drained a node, or put it back ("up" or "drained").
struct NodeState {
  std::string node;
  std::string state;
  bool operator==(const NodeState&) const = default;
};

// A node of a running --no-kill job failed: its ranks there are lost, and the job goes on.
struct NodeLeft {
  std::int64_t id = 0;
  int attempt = 0;
  std::string node;
  bool operator==(const NodeLeft&) const = default;
};

// A signal was sent to a running job (JobRecord::signals).
struct Signalled {
  std::int64_t id = 0;
  SignalRecord signal;
  bool operator==(const Signalled&) const = default;
};

using Event = std::variant<Submitted, Started, RankEnded, StepStarted, StepTaskEnded, StepStopping, Requeued, Ended,
                           Held, NodeRegistered, NodeState, Signalled, NodeLeft>;

// The record's kind ("job.submitted", "job.array_submitted", "job.started", ...).
std::string_view kind_of(const Event& event);
// The record's payload: binary, the first byte 0x01.
std::string encode(const Event& event);
// A record's payload of `kind`, binary or the first form (JSON). Errors: an unknown kind, a
// damaged payload (with the byte or the field).
Result<Event> decode(std::string_view kind, std::string_view payload);

// The first form of a record's payload, JSON, read into `event` (blank, of the kind's type).
// events_json.cpp.
Result<Event> decode_json(std::string_view kind, std::string_view payload, Event event);
// A node's devices as the first form of the records and the first snapshot format hold them.
// Throws nlohmann::json::exception.
std::vector<agent::Device> devices_from(const nlohmann::json& a);

}  // namespace gwang::controller::events
