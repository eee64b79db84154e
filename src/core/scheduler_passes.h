// Pieces the scheduler's passes and plans share (scheduler_*.cpp); not part of the core's interface.
#pragma once

#include <algorithm>

#include "core/scheduler.h"

namespace gwang::core::detail {

// Why a job that does not fit waits: for room, or, for a gang, for room for all its tasks at once.
inline PendingReason lacks_room(const JobSpec& spec) {
  return spec.tasks > 1 ? PendingReason::GangNodes : PendingReason::Resources;
}

// Resources free now and also free in the planned future: what a backfilled job that outlives the
// reservation may use. Element-wise minimum of two states of the same cluster.
inline void min_into(NodeFree& out, const NodeFree& now, const NodeFree& later) {
  out = now;
  const std::size_t width = std::max(now.scalars.width(), later.scalars.width());
  for (std::size_t k = 0; k < width; ++k) {
    const ResourceKind kind{static_cast<std::uint16_t>(k)};
    out.scalars.set(kind, std::min(now.scalars.get(kind), later.scalars.get(kind)));
  }
  for (std::size_t i = 0; i < out.devices.size(); ++i) {
    out.devices[i] = std::min(now.devices[i], later.devices[i]);
  }
}

// The same for the licenses' seats, which belong to no node.
inline void licenses_min_into(FreeState& out, const FreeState& now, const FreeState& later) {
  for (std::size_t i = 0; i < out.licenses.size(); ++i) out.licenses[i] = std::min(now.licenses[i], later.licenses[i]);
}

}  // namespace gwang::core::detail
