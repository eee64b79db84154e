// The compact job table the controller sends for `gwang queue` (GET /api/v1/jobs?view=table):
//   {"strings": ["...", ...], "rows": [[id, name, user, state, reason, start, end, node], ...]}
// where name, user, state and reason index "strings", and start and end are Unix times or null.
// Read by a scanner made for exactly this shape: a queue of 10,000 jobs is 100,000 values, and a
// general JSON document would cost the command more than the rest of its work.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace gwang::api {

struct JobTable {
  struct Row {
    std::int64_t id = 0;
    std::int64_t name = -1, user = -1, state = -1, reason = -1;  // indices into strings
    std::int64_t start = -1, end = -1;                           // -1: null
    std::string node;
  };
  std::vector<std::string> strings;
  std::vector<Row> rows;

  // The string at index `i`, or "?" where there is none.
  const std::string& text(std::int64_t i) const;
};

// Fails with the byte offset and what was expected there.
Result<JobTable> read_job_table(std::string_view body);

}  // namespace gwang::api
