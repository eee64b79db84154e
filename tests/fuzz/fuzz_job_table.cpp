// libFuzzer target: the job table reader of `gwang queue` on arbitrary bytes. What it accepts is
// JSON a general parser accepts too (but for numbers too large for it), and writing it back with the controller's writer and reading
// that again gives the same table.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/job_table.h"
#include "api/json_writer.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gwang::api;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto table = read_job_table(text);
  if (!table) {
    check(table.error().message.starts_with("job table: byte "));
    return 0;
  }
  try {
    (void)nlohmann::json::parse(text);
  } catch (const nlohmann::json::out_of_range&) {
    // A number too large for a double: valid JSON, which that parser declines.
  } catch (const nlohmann::json::exception&) {
    check(false);
  }
  Json w;
  w.begin_object().key("strings").begin_array();
  for (const std::string& s : table->strings) w.value(s);
  w.end_array().key("rows").begin_array();
  for (const JobTable::Row& r : table->rows) {
    w.begin_array().value(r.id).value(r.name).value(r.user).value(r.state).value(r.reason);
    r.start >= 0 ? w.value(r.start) : w.null();
    r.end >= 0 ? w.value(r.end) : w.null();
    w.value(r.node).end_array();
  }
  w.end_array().end_object();
  auto again = read_job_table(w.str());
  check(again.has_value());
  check(again->strings == table->strings);
  check(again->rows.size() == table->rows.size());
  for (std::size_t i = 0; i < table->rows.size(); ++i) {
    const JobTable::Row &a = table->rows[i], &b = again->rows[i];
    check(a.id == b.id && a.name == b.name && a.user == b.user && a.state == b.state && a.reason == b.reason);
    check(a.start == b.start && a.end == b.end && a.node == b.node);
  }
  return 0;
}
