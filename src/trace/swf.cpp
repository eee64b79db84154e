#include "trace/swf.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <system_error>

#include "trace/file.h"
#include "trace/text.h"

namespace gwang::trace {
namespace {

constexpr std::array<std::string_view, kSwfFields> kFieldNames = {
    "job number",          "submit time",     "wait time",          "run time",
    "allocated processors", "average CPU time", "used memory",        "requested processors",
    "requested time",      "requested memory", "status",             "user id",
    "group id",            "executable number", "queue number",      "partition number",
    "preceding job",       "think time"};

constexpr std::array<double SwfRecord::*, kSwfFields> kMembers = {
    &SwfRecord::job_id,    &SwfRecord::submit,     &SwfRecord::wait,     &SwfRecord::run,
    &SwfRecord::alloc_procs, &SwfRecord::avg_cpu,  &SwfRecord::used_mem, &SwfRecord::req_procs,
    &SwfRecord::req_time,  &SwfRecord::req_mem,    &SwfRecord::status,   &SwfRecord::user,
    &SwfRecord::group,     &SwfRecord::app,        &SwfRecord::queue,    &SwfRecord::partition,
    &SwfRecord::preceding_job, &SwfRecord::think_time};

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool is_label_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// `body` is a comment line without its ';'. Adds "Label: value" to the header when it is one.
void add_header_field(std::string_view body, SwfHeader& header) {
  body = detail::trim(body);
  size_t i = 0;
  while (i < body.size() && is_label_char(body[i])) ++i;
  if (i == 0 || i >= body.size() || body[i] != ':') return;
  if (i + 1 < body.size() && !detail::is_space(body[i + 1])) return;  // "http://..."
  header.fields.emplace_back(std::string(body.substr(0, i)), std::string(detail::trim(body.substr(i + 1))));
}

// Fast path for the common token: an optional '-' and at most 15 digits, which a double holds exactly.
// Returns false (leaving `value` alone) for anything else, which then goes through std::from_chars.
bool parse_small_integer(std::string_view token, double& value) {
  size_t i = 0;
  const bool negative = !token.empty() && token[0] == '-';
  if (negative) i = 1;
  const size_t digits = token.size() - i;
  if (digits == 0 || digits > 15) return false;
  int64_t n = 0;
  for (; i < token.size(); ++i) {
    const unsigned d = static_cast<unsigned char>(token[i]) - static_cast<unsigned>('0');
    if (d > 9) return false;
    n = n * 10 + static_cast<int64_t>(d);
  }
  value = static_cast<double>(negative ? -n : n);
  return true;
}

std::string where(const std::string& source, int line) {
  return source + ":" + std::to_string(line) + ": ";
}

}  // namespace

std::string_view swf_field_name(int field) {
  if (field < 1 || field > kSwfFields) return "?";
  return kFieldNames[static_cast<size_t>(field - 1)];
}

double swf_field(const SwfRecord& record, int field) {
  return record.*kMembers[static_cast<size_t>(field - 1)];
}

std::optional<std::string> SwfHeader::get(std::string_view label) const {
  for (const auto& [key, value] : fields) {
    if (iequals(key, label)) return value;
  }
  return std::nullopt;
}

std::optional<int64_t> SwfHeader::get_int(std::string_view label) const {
  const auto value = get(label);
  if (!value) return std::nullopt;
  const char* first = value->data();
  const char* last = first + value->size();
  int64_t n = 0;
  const auto [ptr, ec] = std::from_chars(first, last, n);
  if (ec != std::errc() || ptr == first) return std::nullopt;
  return n;
}

Result<SwfTrace> parse_swf(std::string_view text, std::string source_name) {
  SwfTrace trace;
  trace.source = std::move(source_name);
  // One record per line, roughly: reserving up front avoids regrowing a large vector.
  size_t newlines = 0;
  for (const char* p = text.data(); (p = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(text.data() + text.size() - p)))) != nullptr; ++p) {
    ++newlines;
  }
  trace.records.reserve(newlines + 1);
  detail::Lines lines(text);
  std::string_view line;
  std::array<std::string_view, kSwfFields> tokens;
  while (lines.next(line)) {
    size_t i = 0;
    while (i < line.size() && detail::is_space(line[i])) ++i;
    if (i == line.size()) continue;  // blank
    if (line[i] == ';') {
      add_header_field(line.substr(i + 1), trace.header);
      continue;
    }
    // Split into whitespace-separated tokens, counting them all.
    int count = 0;
    while (i < line.size()) {
      const size_t start = i;
      while (i < line.size() && !detail::is_space(line[i])) ++i;
      if (count < kSwfFields) tokens[static_cast<size_t>(count)] = line.substr(start, i - start);
      ++count;
      while (i < line.size() && detail::is_space(line[i])) ++i;
    }
    if (count != kSwfFields) {
      return fail(where(trace.source, lines.number()) + "expected 18 fields, found " + std::to_string(count));
    }
    SwfRecord record{};
    record.line = lines.number();
    for (int f = 0; f < kSwfFields; ++f) {
      const std::string_view token = tokens[static_cast<size_t>(f)];
      double value = 0;
      if (parse_small_integer(token, value)) {
        record.*kMembers[static_cast<size_t>(f)] = value;
        continue;
      }
      const auto [ptr, ec] =
          std::from_chars(token.data(), token.data() + token.size(), value, std::chars_format::general);
      if (ec == std::errc::result_out_of_range) {
        return fail(where(trace.source, lines.number()) + "field " + std::to_string(f + 1) + " (" +
                    std::string(kFieldNames[static_cast<size_t>(f)]) + "): " + detail::quoted(token) +
                    " is out of range");
      }
      if (ec != std::errc() || ptr != token.data() + token.size() || !std::isfinite(value)) {
        return fail(where(trace.source, lines.number()) + "field " + std::to_string(f + 1) + " (" +
                    std::string(kFieldNames[static_cast<size_t>(f)]) + "): " + detail::quoted(token) +
                    " is not a number");
      }
      record.*kMembers[static_cast<size_t>(f)] = value;
    }
    trace.records.push_back(record);
  }
  return trace;
}

Result<SwfTrace> read_swf(const std::string& path) {
  auto text = read_text_file(path);
  if (!text) return tl::unexpected(text.error());
  return parse_swf(*text, path);
}

}  // namespace gwang::trace
