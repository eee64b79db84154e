// Loaders: SWF records -> jobs, each the way a published simulator read its logs, so that gwang's
// runs can be compared with the figures that simulator produced (see docs/references.md).
//
// Every loader sets machine_procs from the header: MaxProcs if present and positive, else MaxNodes if
// present and positive, else the largest procs among the loaded jobs; with neither header field and
// no job, loading fails. `dropped` counts the records that did not become jobs. A job wider than
// machine_procs is dropped by the predictsim filter (its rule 1) and kept by the other loaders, for
// the scheduler to report as unsatisfiable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "trace/swf.h"

namespace gwang::trace {

enum class SwfLoader {
  // The predictsim (pyss, Gaussier et al. SC'15) job filter, references.md section 1. Jobs in file order.
  //  1. drop if allocated (field 5) or requested (field 8) processors exceed the header's machine size;
  //  2. if only one of fields 5 and 8 is positive, copy it into the other; if neither is, drop;
  //  3. drop if run time (4) <= 0, requested time (9) <= 0 or submit time (2) < 0;
  //  4. if requested time < run time, run time = requested time.
  // procs = field 8, requested_time = field 9.
  // Numbers: pyss's parser (simulation/pyss/src/base/workload_parser.py, JobInput) reads field 4 with
  // float() and every other field with int(), which refuses a fractional text ("12.5") with a
  // ValueError; base/prototype.py's _job_input_to_job then makes the run time an integer with int(),
  // truncating toward zero, and raises a run time below 1 to 1. Here likewise: a fractional value in
  // fields 1, 2, 5, 8 or 9 is an Error, and field 4 is compared as written, then truncated (a run
  // time in (0,1) becomes 1 s). Fields the filter does not read may hold any number.
  Predictsim,
  // RLScheduler (DIR-LAB/deep-batch-scheduler, SC'20), job.py's Workloads, references.md section 2.
  //  procs = max(field 5, field 8); requested_time = field 9, or field 4 as written if field 9 is -1;
  //  a negative run time becomes 10 (after requested_time was taken); keep jobs with run time > 0;
  //  stable sort by job id. Submit times are kept as written (no shift to 0).
  // Numbers: job.py's Job reads every field but 6 (float) with int() on the text, which refuses a
  // fractional value: here a fractional value in a field this loader reads (1, 2, 4, 5, 8, 9) is an
  // Error. job.py changes nothing else: submit times stay as written.
  // procs may be <= 0 and requested_time may be -1 or below the run time: kept as RLScheduler has them.
  Rlscheduler,
  // Every record as written, in file order: procs = field 8 if > 0 else field 5; requested_time =
  // field 9 if > 0 else the run time. Values are rounded to the nearest integer first (SWF logs
  // round times to whole seconds, a run time of 0 meaning under 0.5 s); records whose procs or run
  // time are then not positive are dropped.
  None,
};

// "predictsim" | "rlscheduler" | "none"; the error lists the valid names.
Result<SwfLoader> parse_swf_loader(std::string_view name);
std::string_view to_string(SwfLoader loader);

struct SwfJob {
  int64_t id;
  int64_t submit;          // seconds
  int64_t run;             // seconds (actual duration)
  int64_t procs;           // processors
  int64_t requested_time;  // seconds (the user's estimate / limit)
  int line;                // line of the record in the file
  int64_t user = -1;       // field 12 (user id), -1: unknown
  int64_t group = -1;      // field 13 (group id), -1: unknown
};

struct SwfWorkload {
  std::vector<SwfJob> jobs;
  int64_t machine_procs;
  size_t dropped;  // records that did not become jobs
};

// Errors: "<source>:<line>: field 9 (requested time): 12.5 is not an integer ..." for a value the
// loader cannot take, one beyond +-2^53, or "<source>: no MaxProcs or MaxNodes in the header and no job
// to size the machine from".
Result<SwfWorkload> load_swf(const SwfTrace& trace, SwfLoader loader);

}  // namespace gwang::trace
