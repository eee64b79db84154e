// Reader of the Standard Workload Format (SWF) of the Parallel Workloads Archive.
//
// An SWF file is a header of ';' comment lines ("; MaxProcs: 100") and one line per job with 18
// whitespace-separated numbers (-1 = unknown). This reader is strict and keeps the numbers as
// written (as doubles: the format allows fractional times); what they mean for a simulation is the
// business of the loaders in swf_loader.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace gwang::trace {

// One data line: the 18 standard fields as written (-1 = unknown).
struct SwfRecord {
  double job_id, submit, wait, run, alloc_procs, avg_cpu, used_mem, req_procs, req_time, req_mem,
      status, user, group, app, queue, partition, preceding_job, think_time;
  int line;  // 1-based line number in the file
};

inline constexpr int kSwfFields = 18;

// The standard name of SWF field `field` (1-based, 1..18): "job number", "run time", ...
// Returns "?" outside 1..18.
std::string_view swf_field_name(int field);

// Field `field` (1-based, 1..18) of `record`.
double swf_field(const SwfRecord& record, int field);

// The header: every comment line of the form "; Label: value", in file order. The label is one word
// (letters, digits, '_', '-') directly followed by ':' and then a blank or the end of the line, so
// that continuation lines such as ";     http://host/path" are not taken for fields. Comment lines
// that are not of that form are ignored.
struct SwfHeader {
  std::vector<std::pair<std::string, std::string>> fields;  // label without ':', value trimmed

  // The value of the first field whose label equals `label`, ignoring ASCII case.
  std::optional<std::string> get(std::string_view label) const;
  // The leading integer of that value (optional '-', then digits): "100 (batch partition)" gives 100.
  // nullopt when the field is missing, the value does not start with a number, or it overflows.
  std::optional<int64_t> get_int(std::string_view label) const;
};

struct SwfTrace {
  std::string source;  // name used in messages (the path for read_swf)
  SwfHeader header;
  std::vector<SwfRecord> records;  // data lines in file order
};

// Parses SWF text. Blank lines are skipped; a line whose first non-blank character is ';' is a comment.
// Every other line must hold exactly 18 finite numbers (integers, decimals such as "12.5", exponents
// such as "1e3"); otherwise the Error reads
//   "<source_name>:<line>: expected 18 fields, found 17" or
//   "<source_name>:<line>: field 4 (run time): \"abc\" is not a number".
// A text with no data line is not an error (0 records): the loaders decide.
Result<SwfTrace> parse_swf(std::string_view text, std::string source_name);

// Reads and parses the SWF file at `path`, plain or gzip (recognised by its magic number, not by its
// name). The trace's source is `path`; I/O and decompression errors name it.
Result<SwfTrace> read_swf(const std::string& path);

}  // namespace gwang::trace
