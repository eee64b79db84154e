// The states a job, a step and a step's task pass through, and who holds a waiting job: the names
// the API, the journal and Slurm's commands all use.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string_view>

namespace gwang::api {

// A job's state, and a step's and a step task's, as Slurm names them (to_string).
// Deadline: a pending job removed because it could no longer end by its deadline (sbatch --deadline).
enum class JobState : std::uint8_t {
  Pending,
  Running,
  Completed,
  Failed,
  Cancelled,
  Timeout,
  OutOfMemory,
  NodeFail,
  Deadline
};
inline constexpr JobState kJobStates[] = {JobState::Pending,     JobState::Running,   JobState::Completed,
                                          JobState::Failed,      JobState::Cancelled, JobState::Timeout,
                                          JobState::OutOfMemory, JobState::NodeFail,  JobState::Deadline};
std::string_view to_string(JobState state);                      // "PENDING", "RUNNING", ..., "NODE_FAIL", "DEADLINE"
std::optional<JobState> parse_job_state(std::string_view name);  // to_string's names only
void PrintTo(JobState state, std::ostream* out);                 // for tests' messages
inline bool ended(JobState state) { return state != JobState::Pending && state != JobState::Running; }

// Who holds a waiting job until it is released: its owner (Slurm's JobHeldUser) or an operator
// (JobHeldAdmin, which only an operator releases).
enum class Hold : std::uint8_t { None, User, Admin };
std::string_view to_string(Hold hold);  // "", "user", "admin"
std::optional<Hold> parse_hold(std::string_view name);
void PrintTo(Hold hold, std::ostream* out);

}  // namespace gwang::api
