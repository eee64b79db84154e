// The names of waiting jobs' reasons, gwang's and Slurm's.

#include "api/reason.h"

#include <array>

namespace gwang::api {
namespace {

constexpr std::array<std::string_view, 17> kNames = {"None",
                                                     "Priority",
                                                     "Resources",
                                                     "Reserved",
                                                     "ReservedForJob",
                                                     "NodesUnavailable",
                                                     "Gang",
                                                     "QuotaReached",
                                                     "Preempting",
                                                     "JobHeldUser",
                                                     "JobHeldAdmin",
                                                     "Held",
                                                     "BeginTime",
                                                     "Dependency",
                                                     "DependencyNeverSatisfied",
                                                     "JobArrayTaskLimit",
                                                     "Licenses"};
static_assert(static_cast<std::size_t>(ReasonCode::Licenses) + 1 == kNames.size());

}  // namespace

std::string_view to_string(ReasonCode code) { return kNames[static_cast<std::size_t>(code)]; }

std::optional<ReasonCode> parse_reason_code(std::string_view name) {
  for (std::size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) return static_cast<ReasonCode>(i);
  }
  return std::nullopt;
}

std::string_view slurm_reason(ReasonCode code) {
  switch (code) {
    case ReasonCode::Gang:
    case ReasonCode::Reserved:
    case ReasonCode::Preempting:
      return "Resources";
    case ReasonCode::ReservedForJob:
      return "Priority";
    case ReasonCode::NodesUnavailable:
      return "ReqNodeNotAvail";
    case ReasonCode::QuotaReached:
      return "AssocGrpGRES";
    case ReasonCode::Held:
      return "AssocGrpBillingMinutes";  // its project's grants do not let it run
    default:
      return to_string(code);  // Slurm's own name
  }
}

}  // namespace gwang::api
