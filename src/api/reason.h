// Why a waiting job waits, as a code: the API sends it beside the reason's words, and Slurm's
// commands show it as Slurm names it.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace gwang::api {

enum class ReasonCode : std::uint8_t {
  None,                      // not waiting, or waiting for what the words alone say
  Priority,                  // jobs ahead of it go first
  Resources,                 // waiting for resources to free up
  Reserved,                  // resources are reserved for it
  ReservedForJob,            // it fits, but in room reserved for another job
  NodesUnavailable,          // the nodes it fits are drained or down
  Gang,                      // waiting for room for all its tasks at once
  QuotaReached,              // its project's or institution's accelerators are all in use
  Preempting,                // preemptible jobs are stopping to make room for it
  JobHeldUser,               // held by its owner
  JobHeldAdmin,              // held by an operator
  Held,                      // its project's grants do not let it run
  BeginTime,                 // not before its begin time
  Dependency,                // waiting for other jobs
  DependencyNeverSatisfied,  // its dependency can no longer hold
  JobArrayTaskLimit,         // its array runs as many tasks at once as it allows
  Licenses,                  // the licenses it needs are not all free
};

// A reason as shown: its code, and its words (valid as long as what they were made from).
struct Reason {
  ReasonCode code = ReasonCode::None;
  std::string_view text;
};

std::string_view to_string(ReasonCode code);  // the enumerator's name: "Priority", "JobHeldUser", ...
std::optional<ReasonCode> parse_reason_code(std::string_view name);  // to_string's names only
// The reason squeue shows for it (Slurm 22.05's names): "Resources", "AssocGrpGRES", ...
std::string_view slurm_reason(ReasonCode code);

}  // namespace gwang::api
