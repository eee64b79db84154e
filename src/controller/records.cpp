// The controller's records of jobs, steps and nodes: what they say of themselves.

#include "controller/records.h"

#include <algorithm>
#include <ostream>

namespace gwang::controller {

std::vector<int> StepRecord::nodes() const {
  std::vector<int> out;
  for (const StepTaskRecord& t : tasks) {
    if (std::find(out.begin(), out.end(), t.node) == out.end()) out.push_back(t.node);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string JobRecord::nodelist() const {
  std::string out;
  for (const TaskRecord& t : tasks) out += (out.empty() ? "" : ",") + t.node;
  return out;
}

namespace {

constexpr std::string_view kStateNames[] = {"PENDING",   "RUNNING", "COMPLETED",     "FAILED",
                                            "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL"};
constexpr std::string_view kHoldNames[] = {"", "user", "admin"};

}  // namespace

std::string_view to_string(JobState state) { return kStateNames[static_cast<std::size_t>(state)]; }

std::optional<JobState> parse_job_state(std::string_view name) {
  for (JobState s : kJobStates) {
    if (to_string(s) == name) return s;
  }
  return std::nullopt;
}

void PrintTo(JobState state, std::ostream* out) { *out << to_string(state); }

std::string_view to_string(Hold hold) { return kHoldNames[static_cast<std::size_t>(hold)]; }

std::optional<Hold> parse_hold(std::string_view name) {
  for (Hold h : {Hold::None, Hold::User, Hold::Admin}) {
    if (to_string(h) == name) return h;
  }
  return std::nullopt;
}

void PrintTo(Hold hold, std::ostream* out) { *out << (hold == Hold::None ? "none" : to_string(hold)); }

core::JobState core_outcome(JobState state) {
  switch (state) {
    case JobState::Completed:
      return core::JobState::Finished;
    case JobState::Cancelled:
      return core::JobState::Cancelled;
    case JobState::Timeout:
      return core::JobState::TimedOut;
    default:
      return core::JobState::Failed;
  }
}

JobState state_for(agent::TaskEnd end, int exit_code) {
  switch (end) {
    case agent::TaskEnd::Exited:
      return exit_code == 0 ? JobState::Completed : JobState::Failed;
    case agent::TaskEnd::Signaled:
      return JobState::Failed;
    case agent::TaskEnd::TimedOut:
      return JobState::Timeout;
    case agent::TaskEnd::Cancelled:
      return JobState::Cancelled;
    case agent::TaskEnd::OutOfMemory:
      return JobState::OutOfMemory;
  }
  return JobState::Failed;
}

}  // namespace gwang::controller
