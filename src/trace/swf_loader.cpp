#include "trace/swf_loader.h"

#include <algorithm>
#include <cmath>
#include <charconv>
#include <system_error>
#include <optional>
#include <string>

namespace gwang::trace {
namespace {

// A user or group id as written; -1 where unknown or not a whole number in range.
int64_t id_field(double v) {
  if (!(v >= 0 && v <= 9007199254740992.0) || v != static_cast<double>(static_cast<int64_t>(v))) return -1;
  return static_cast<int64_t>(v);
}


// Beyond 2^53 a double no longer holds every integer; no trace has such values.
constexpr double kMaxMagnitude = 9007199254740992.0;

std::string field_where(const SwfTrace& trace, const SwfRecord& r, int field) {
  return trace.source + ":" + std::to_string(r.line) + ": field " + std::to_string(field) + " (" +
         std::string(swf_field_name(field)) + "): ";
}

// Shortest text that reads back as `v` ("30.7", "1e+300").
std::string number_text(double v) {
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v);
  return ec == std::errc() ? std::string(buffer, end) : std::string("?");
}

Result<double> in_range(const SwfTrace& trace, const SwfRecord& r, int field) {
  const double v = swf_field(r, field);
  if (std::fabs(v) > kMaxMagnitude) return fail(field_where(trace, r, field) + number_text(v) + " is out of range");
  return v;
}

// The field as an integer, refusing fractional values as Python's int("12.5") does.
Result<int64_t> exact_int(const SwfTrace& trace, const SwfRecord& r, int field, SwfLoader loader) {
  auto v = in_range(trace, r, field);
  if (!v) return tl::unexpected(v.error());
  if (std::trunc(*v) != *v) {
    return fail(field_where(trace, r, field) + number_text(*v) + " is not an integer (the " +
                std::string(to_string(loader)) + " loader reads this field as an integer)");
  }
  return static_cast<int64_t>(*v);
}

Result<int64_t> rounded(const SwfTrace& trace, const SwfRecord& r, int field) {
  auto v = in_range(trace, r, field);
  if (!v) return tl::unexpected(v.error());
  return static_cast<int64_t>(std::llround(*v));
}

// Machine size from the header: MaxProcs, else MaxNodes (non-positive values count as absent).
std::optional<int64_t> header_procs(const SwfHeader& header) {
  for (const char* label : {"MaxProcs", "MaxNodes"}) {
    const auto n = header.get_int(label);
    if (n && *n > 0) return n;
  }
  return std::nullopt;
}

#define GWANG_TRY(var, expr)                          \
  auto var##_result = (expr);                         \
  if (!var##_result) return tl::unexpected(var##_result.error()); \
  const int64_t var = *var##_result

// One record through the predictsim filter; nullopt when the filter drops it.
Result<std::optional<SwfJob>> predictsim_job(const SwfTrace& trace, const SwfRecord& r,
                                             std::optional<int64_t> max_procs) {
  constexpr auto kLoader = SwfLoader::Predictsim;
  GWANG_TRY(id, exact_int(trace, r, 1, kLoader));
  GWANG_TRY(submit, exact_int(trace, r, 2, kLoader));
  GWANG_TRY(alloc, exact_int(trace, r, 5, kLoader));
  GWANG_TRY(req_procs, exact_int(trace, r, 8, kLoader));
  GWANG_TRY(req_time, exact_int(trace, r, 9, kLoader));
  auto run_value = in_range(trace, r, 4);
  if (!run_value) return tl::unexpected(run_value.error());
  const double run_f = *run_value;

  std::optional<SwfJob> none;
  // 1. wider than the machine
  if (max_procs && (alloc > *max_procs || req_procs > *max_procs)) return none;
  // 2. processors
  int64_t procs = req_procs;
  if (alloc <= 0 && req_procs <= 0) return none;
  if (req_procs <= 0) procs = alloc;
  // 3. times
  if (run_f <= 0 || req_time <= 0 || submit < 0) return none;
  // 4. killed at the limit; pyss truncates the run time and raises it to at least 1 s.
  int64_t run = 0;
  if (static_cast<double>(req_time) < run_f) {
    run = req_time;
  } else {
    run = std::max<int64_t>(1, static_cast<int64_t>(run_f));
  }
  return std::optional<SwfJob>(SwfJob{id, submit, run, procs, req_time, r.line, id_field(r.user), id_field(r.group)});
}

Result<std::optional<SwfJob>> rlscheduler_job(const SwfTrace& trace, const SwfRecord& r) {
  constexpr auto kLoader = SwfLoader::Rlscheduler;
  GWANG_TRY(id, exact_int(trace, r, 1, kLoader));
  GWANG_TRY(submit, exact_int(trace, r, 2, kLoader));
  GWANG_TRY(run_written, exact_int(trace, r, 4, kLoader));
  GWANG_TRY(alloc, exact_int(trace, r, 5, kLoader));
  GWANG_TRY(req_procs, exact_int(trace, r, 8, kLoader));
  GWANG_TRY(req_time_written, exact_int(trace, r, 9, kLoader));
  const int64_t procs = std::max(alloc, req_procs);
  const int64_t req_time = req_time_written == -1 ? run_written : req_time_written;
  const int64_t run = run_written < 0 ? 10 : run_written;
  if (run <= 0) return std::optional<SwfJob>();
  return std::optional<SwfJob>(SwfJob{id, submit, run, procs, req_time, r.line, id_field(r.user), id_field(r.group)});
}

Result<std::optional<SwfJob>> plain_job(const SwfTrace& trace, const SwfRecord& r) {
  GWANG_TRY(id, rounded(trace, r, 1));
  GWANG_TRY(submit, rounded(trace, r, 2));
  GWANG_TRY(run, rounded(trace, r, 4));
  GWANG_TRY(alloc, rounded(trace, r, 5));
  GWANG_TRY(req_procs, rounded(trace, r, 8));
  GWANG_TRY(req_time_written, rounded(trace, r, 9));
  const int64_t procs = req_procs > 0 ? req_procs : alloc;
  const int64_t req_time = req_time_written > 0 ? req_time_written : run;
  if (procs <= 0 || run <= 0) return std::optional<SwfJob>();
  return std::optional<SwfJob>(SwfJob{id, submit, run, procs, req_time, r.line, id_field(r.user), id_field(r.group)});
}

#undef GWANG_TRY

}  // namespace

Result<SwfLoader> parse_swf_loader(std::string_view name) {
  for (const auto loader : {SwfLoader::Predictsim, SwfLoader::Rlscheduler, SwfLoader::None}) {
    if (name == to_string(loader)) return loader;
  }
  return fail("unknown SWF loader \"" + std::string(name) + "\"; valid loaders: predictsim, rlscheduler, none");
}

std::string_view to_string(SwfLoader loader) {
  switch (loader) {
    case SwfLoader::Predictsim: return "predictsim";
    case SwfLoader::Rlscheduler: return "rlscheduler";
    case SwfLoader::None: return "none";
  }
  return "?";
}

Result<SwfWorkload> load_swf(const SwfTrace& trace, SwfLoader loader) {
  const std::optional<int64_t> from_header = header_procs(trace.header);
  SwfWorkload workload{{}, 0, 0};
  workload.jobs.reserve(trace.records.size());
  for (const SwfRecord& r : trace.records) {
    Result<std::optional<SwfJob>> job = std::optional<SwfJob>();
    switch (loader) {
      case SwfLoader::Predictsim: job = predictsim_job(trace, r, from_header); break;
      case SwfLoader::Rlscheduler: job = rlscheduler_job(trace, r); break;
      case SwfLoader::None: job = plain_job(trace, r); break;
    }
    if (!job) return tl::unexpected(job.error());
    if (*job) {
      workload.jobs.push_back(**job);
    } else {
      ++workload.dropped;
    }
  }
  if (loader == SwfLoader::Rlscheduler) {
    std::stable_sort(workload.jobs.begin(), workload.jobs.end(),
                     [](const SwfJob& a, const SwfJob& b) { return a.id < b.id; });
  }
  if (from_header) {
    workload.machine_procs = *from_header;
    return workload;
  }
  for (const SwfJob& job : workload.jobs) workload.machine_procs = std::max(workload.machine_procs, job.procs);
  if (workload.machine_procs <= 0) {
    return fail(trace.source + ": no MaxProcs or MaxNodes in the header and no job to size the machine from");
  }
  return workload;
}

}  // namespace gwang::trace
