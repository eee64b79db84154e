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
  for (const TaskRecord& t : tasks) out += (out.empty() ? "" : ",") + t.node;
  return out;
}

core::JobState core_outcome(const std::string& state) {
  if (state == kCompleted) return core::JobState::Finished;
  if (state == kCancelled) return core::JobState::Cancelled;
  if (state == kTimeout) return core::JobState::TimedOut;
  return core::JobState::Failed;
}

std::string state_for(agent::TaskEnd end, int exit_code) {
  switch (end) {
    case agent::TaskEnd::Exited:
      return exit_code == 0 ? kCompleted : kFailed;
    case agent::TaskEnd::Signaled:
      return kFailed;
    case agent::TaskEnd::TimedOut:
      return kTimeout;
    case agent::TaskEnd::Cancelled:
      return kCancelled;
    case agent::TaskEnd::OutOfMemory:
      return kOutOfMemory;
  }
  return kFailed;
}

}  // namespace gwang::controller
