// Basic value types of the scheduler core: time, fixed-point amounts and typed ids.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>

namespace gwang::core {

// Time in whole seconds on the driver's clock (trace time in the simulator, Unix time live).
// The core never reads a clock: every call that needs "now" takes it as an argument.
using Time = std::int64_t;

// Fixed-point amount: thousandths of a unit (milli-CPU, milli-GPU, ...). Memory is counted in MiB
// and stored as milli-MiB so that every resource shares one arithmetic. No floating point decides
// whether something fits.
using Milli = std::int64_t;
inline constexpr Milli kMilli = 1000;

// A typed integer id: ids of different things cannot be mixed up.
template <class Tag, class Rep>
struct TypedId {
  Rep value{};
  constexpr auto operator<=>(const TypedId&) const = default;
};

using ResourceKind = TypedId<struct ResourceKindTag, std::uint16_t>;
using NodeId = TypedId<struct NodeIdTag, std::uint32_t>;
using JobId = TypedId<struct JobIdTag, std::int64_t>;

}  // namespace gwang::core

template <class Tag, class Rep>
struct std::hash<gwang::core::TypedId<Tag, Rep>> {
  std::size_t operator()(const gwang::core::TypedId<Tag, Rep>& id) const noexcept {
    return std::hash<Rep>{}(id.value);
  }
};
