// The names of jobs' states and holds.

#include "api/job_state.h"

#include <ostream>

namespace gwang::api {
namespace {

constexpr std::string_view kStateNames[] = {"PENDING", "RUNNING",       "COMPLETED", "FAILED",  "CANCELLED",
                                            "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "DEADLINE"};
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

}  // namespace gwang::api
