// The controller's records of jobs, steps and nodes: what they say of themselves.

#include "controller/records.h"

#include <algorithm>

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
  for (const TaskRecord& t : tasks) {
    if (!t.lost) out += (out.empty() ? "" : ",") + t.node;
  }
  return out;
}

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
