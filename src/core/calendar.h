// Dates in UTC, for people: parsing what they type and writing what they read. Pure arithmetic on
// the proleptic Gregorian calendar (no time zone database, no clock).
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"
#include "core/types.h"

namespace gwang::core {

// Unix seconds. "2026-03-01", "2026-03-01T08:30", "2026-03-01T08:30:00" (with "T" or a space, an
// optional trailing "Z"), or a plain number of Unix seconds. Years 1970 to 9999.
Result<Time> parse_utc(std::string_view text);
std::string format_utc(Time seconds);  // "2026-03-01T08:30:00Z"

}  // namespace gwang::core
