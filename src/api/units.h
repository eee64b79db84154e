// Parsing the amounts people type: durations, memory sizes, GPU requests. Shared by the command
// line and the HTTP API so that both accept, and refuse, the same things with the same words.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace gwang::api {

// Seconds. Slurm's forms: "M", "M:S", "H:M:S", "D-H", "D-H:M", "D-H:M:S" (a bare number is
// minutes), and unit forms: "90s", "30m", "2h", "1d", "1h30m". At most 365 days.
Result<std::int64_t> parse_duration(std::string_view text);
std::string format_duration(std::int64_t seconds);  // "1-02:03:04" or "02:03:04"

// Bytes. A number with an optional binary unit: K, M, G, T (also KiB, MB, ...); a bare number is
// MiB, as in Slurm. At most 1 PiB.
Result<std::int64_t> parse_memory(std::string_view text);
std::string format_memory(std::int64_t bytes);  // "16G", "512M", "1.5G"

// Unix seconds, UTC. "2026-03-01", "2026-03-01T08:30", "2026-03-01T08:30:00" (with "T" or a space,
// an optional trailing "Z"), or a plain number of Unix seconds. Years 1970 to 9999.
Result<std::int64_t> parse_date(std::string_view text);
std::string format_date(std::int64_t seconds);  // "2026-03-01T08:30:00Z"

// "N" or "N:MODEL[,MODEL...]": N whole devices, of any GPU model or of one of those listed. A model
// is a GPU model ("H100") or an accelerator kind with its family ("npu:ascend910").
struct GpuRequest {
  int count = 0;
  std::vector<std::string> models;
};
Result<GpuRequest> parse_gpus(std::string_view text);

}  // namespace gwang::api
