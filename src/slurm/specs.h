// The small languages inside sbatch's options, as Slurm's man pages define them: time limits,
// job arrays, dependencies, generic resources and GPU counts, node counts, begin times, --export
// and file name patterns. Each parser refuses what Slurm refuses, with a message that names the
// text and what was expected.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace gwang::slurm {

// `s` in lower case (ASCII letters): Slurm's words are matched regardless of case.
std::string lower(std::string_view s);

// -t/--time: "minutes", "minutes:seconds", "hours:minutes:seconds", "days-hours",
// "days-hours:minutes", "days-hours:minutes:seconds"; "0", "-1", "INFINITE" and "UNLIMITED" for
// no limit. Seconds round up to the next minute, as in Slurm.
struct TimeLimit {
  bool unlimited = false;
  std::int64_t minutes = 0;
};
Result<TimeLimit> parse_time_limit(std::string_view text);
// Slurm's way of writing minutes: "1-02:03:00", "02:03:00", "UNLIMITED".
std::string format_time_limit(const TimeLimit& t);

// -a/--array: "0-15", "0,6,16-32", "0-15:4", "0-15%4". Indices from 0 to max_array_size - 1
// (Slurm's MaxArraySize, 1001 by default), sorted and without repeats.
struct ArraySpec {
  std::vector<std::int64_t> indices;
  std::optional<std::int64_t> max_running;  // "%N"
};
Result<ArraySpec> parse_array(std::string_view text, std::int64_t max_array_size = 1001);
// Slurm's compact form of indices: "0-15:4%2", "1,3,5-7".
std::string format_array(const ArraySpec& a);

// -d/--dependency: "afterok:20:21,afterany:23", "afterok:20?afternotok:21", "singleton", "after:5+10",
// and a bare "20" (afterany). A job may be an array task: "20_3".
struct Dependency {
  enum class Kind { After, AfterAny, AfterOk, AfterNotOk, AfterCorr, Singleton };
  struct Target {
    std::int64_t job = 0;
    std::optional<std::int64_t> task;  // "20_3": task 3 of array job 20
    std::int64_t delay_minutes = 0;    // after:JOB+MINUTES
    bool operator==(const Target&) const = default;
  };
  Kind kind = Kind::AfterAny;
  std::vector<Target> targets;  // empty for singleton
  bool operator==(const Dependency&) const = default;
};
struct DependencySpec {
  std::vector<Dependency> all;  // each must hold ("," between them) ...
  bool any = false;             // ... or any one is enough ("?")
  bool operator==(const DependencySpec&) const = default;
};
Result<DependencySpec> parse_dependency(std::string_view text);
std::string format_dependency(const DependencySpec& d);  // as squeue prints it: "afterok:20_*,afterany:23"
const char* kind_name(Dependency::Kind k);

// A count of accelerators of one kind and model: from --gres=gpu[:type][:N], --gpus=[type:]N and
// the like. `name` is the generic resource ("gpu"; "npu" for the centre's domestic chips).
struct DeviceCount {
  std::string name;
  std::string type;  // "" for any model
  std::int64_t count = 0;
  bool operator==(const DeviceCount&) const = default;
};
// --gres: a comma list of name[[:type]:count]; the count may carry k, m, g, t or p (powers of 1024).
Result<std::vector<DeviceCount>> parse_gres(std::string_view text);
// --gpus, --gpus-per-node, --gpus-per-task: a comma list of [type:]count, of GPUs.
Result<std::vector<DeviceCount>> parse_gpu_counts(std::string_view text);

// -N/--nodes: "min[-max]", each with an optional k or m (x1024, x1048576).
struct NodeRange {
  std::int64_t min = 1, max = 1;
};
Result<NodeRange> parse_node_range(std::string_view text);

// A positive count (-n, -c, --ntasks-per-node): digits only, up to `max`.
Result<std::int64_t> parse_count(std::string_view text, std::string_view what, std::int64_t max = 1 << 20);

// --mem, --mem-per-cpu: a size with an optional unit K, M, G or T (binary); plain numbers are
// MiB. 0 for a node's whole memory. Bytes.
Result<std::int64_t> parse_slurm_memory(std::string_view text);

// -b/--begin, relative to `now` (Unix seconds), in the time zone of `to_local`/`from_local`
// (the caller's; tests give UTC): "16:00", "4pm", "noon", "midnight", "fika", "teatime",
// "today", "tomorrow", "now+1hour", "now+60", "MMDDYY", "MM/DD[/YY]", "MM.DD[.YY]",
// "YYYY-MM-DD[THH:MM[:SS]]". A time of day already past means the next day; a date without a
// year already past, the next year.
struct LocalTime {
  int year, month, day, hour, minute, second;  // month 1-12
};
struct Clock {
  std::int64_t now = 0;
  std::function<LocalTime(std::int64_t)> to_local;
  std::function<std::int64_t(const LocalTime&)> from_local;
};
Clock local_clock(std::int64_t now);  // the process's time zone (TZ)
Clock utc_clock(std::int64_t now);
Result<std::int64_t> parse_begin(std::string_view text, const Clock& clock);

// --export: "ALL" (the default), "NONE", or "[ALL,]NAME[=value],..." (a NAME alone takes the
// submitter's value).
struct ExportSpec {
  bool all = true;  // the submitter's whole environment
  std::vector<std::pair<std::string, std::optional<std::string>>> vars;
};
Result<ExportSpec> parse_export(std::string_view text);
// A file mode mask as Slurm passes it to a job (SLURM_UMASK): "0" and three octal digits, "0022".
std::string umask_text(unsigned mask);

// --propagate's value: ALL (also for no value), NONE, or names of resource limits (api/rlimits.h),
// comma-separated. Returns the names.
Result<std::vector<std::string>> parse_propagate(std::string_view text);

// A file name pattern of -o, -e and -i, expanded for one job: %% %A %a %J %j %N %n %s %t %u %x,
// with an optional zero-padding width ("%4j"); a "\\" anywhere turns every replacement off.
struct PatternContext {
  std::int64_t job_id = 0;                 // %j
  std::int64_t array_job_id = 0;           // %A (the job's own id when it is not in an array)
  std::optional<std::int64_t> array_task;  // %a ("4294967294" when none, as Slurm)
  std::string step = "batch";              // %s
  std::string node;                        // %N: short host name
  std::int64_t node_index = 0;             // %n
  std::int64_t task = 0;                   // %t
  std::string user;                        // %u
  std::string job_name;                    // %x
};
std::string expand_pattern(std::string_view pattern, const PatternContext& ctx);

}  // namespace gwang::slurm
