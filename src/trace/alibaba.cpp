#include "trace/alibaba.h"

#include <charconv>
#include <limits>
#include <optional>
#include <system_error>

#include "trace/file.h"
#include "trace/text.h"

namespace gwang::trace {
namespace {

// A CSV whose header has been read: maps wanted column names to positions, then splits rows.
class Csv {
 public:
  Csv(std::string_view text, std::string source) : lines_(text), source_(std::move(source)) {}

  // Reads the header line. Fails on an empty text or a repeated column name.
  Result<bool> read_header() {
    std::string_view line;
    while (lines_.next(line)) {
      if (detail::trim(line).empty()) continue;
      split(line, header_);
      for (size_t i = 0; i < header_.size(); ++i) {
        for (size_t j = 0; j < i; ++j) {
          if (header_[i] == header_[j]) {
            return fail(where() + "column '" + std::string(header_[i]) + "' appears twice in the header");
          }
        }
      }
      return true;
    }
    return fail(source_ + ": empty file, expected a header line");
  }

  // Position of column `name`; an Error when `required` and missing, -1 when optional and missing.
  Result<int> column(std::string_view name, bool required) const {
    for (size_t i = 0; i < header_.size(); ++i) {
      if (header_[i] == name) return static_cast<int>(i);
    }
    if (required) return fail(source_ + ":1: missing required column '" + std::string(name) + "'");
    return -1;
  }

  // Reads the next non-blank row into fields(); false at the end; an Error on a wrong field count.
  Result<bool> next_row() {
    std::string_view line;
    while (lines_.next(line)) {
      if (detail::trim(line).empty()) continue;
      split(line, row_);
      if (row_.size() != header_.size()) {
        return fail(where() + "expected " + std::to_string(header_.size()) + " fields, found " +
                    std::to_string(row_.size()));
      }
      return true;
    }
    return false;
  }

  std::string_view field(int column) const { return column < 0 ? std::string_view() : row_[static_cast<size_t>(column)]; }
  int line() const { return lines_.number(); }
  std::string where() const { return source_ + ":" + std::to_string(lines_.number()) + ": "; }
  std::string where(std::string_view column) const { return where() + "column '" + std::string(column) + "': "; }

  // Non-negative integer of column `name` (at `column`), at most `max`.
  Result<int64_t> amount(int column, std::string_view name, int64_t max = std::numeric_limits<int64_t>::max()) const {
    const std::string_view text = field(column);
    int64_t v = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty()) return fail(where(name) + "empty, expected an integer");
    if (ec == std::errc::result_out_of_range) return fail(where(name) + detail::quoted(text) + " is out of range");
    if (ec != std::errc() || ptr != text.data() + text.size()) {
      return fail(where(name) + detail::quoted(text) + " is not an integer");
    }
    if (v < 0) return fail(where(name) + std::to_string(v) + " is negative");
    if (v > max) return fail(where(name) + std::to_string(v) + " is too large (at most " + std::to_string(max) + ")");
    return v;
  }

  // A time column: -1 when the column is absent or the field empty, else a non-negative integer.
  Result<int64_t> time(int column, std::string_view name) const {
    if (column < 0 || field(column).empty()) return -1;
    return amount(column, name);
  }

 private:
  static void split(std::string_view line, std::vector<std::string_view>& out) {
    out.clear();
    size_t start = 0;
    while (true) {
      const size_t comma = line.find(',', start);
      if (comma == std::string_view::npos) {
        out.push_back(line.substr(start));
        return;
      }
      out.push_back(line.substr(start, comma - start));
      start = comma + 1;
    }
  }

  detail::Lines lines_;
  std::string source_;
  std::vector<std::string_view> header_;
  std::vector<std::string_view> row_;
};

constexpr int64_t kMaxGpusPerNode = 1024;

#define GWANG_TRY(var, expr)                                      \
  auto var##_result = (expr);                                     \
  if (!var##_result) return tl::unexpected(var##_result.error()); \
  const auto var = *var##_result

}  // namespace

Result<std::vector<AlibabaNode>> parse_alibaba_nodes(std::string_view text, std::string source_name) {
  Csv csv(text, std::move(source_name));
  GWANG_TRY(header_ok, csv.read_header());
  (void)header_ok;
  GWANG_TRY(c_sn, csv.column("sn", true));
  GWANG_TRY(c_cpu, csv.column("cpu_milli", true));
  GWANG_TRY(c_mem, csv.column("memory_mib", true));
  GWANG_TRY(c_gpu, csv.column("gpu", true));
  GWANG_TRY(c_model, csv.column("model", true));
  std::vector<AlibabaNode> nodes;
  while (true) {
    GWANG_TRY(more, csv.next_row());
    if (!more) break;
    AlibabaNode node{};
    node.line = csv.line();
    node.name = csv.field(c_sn);
    if (node.name.empty()) return fail(csv.where("sn") + "empty node name");
    GWANG_TRY(cpu, csv.amount(c_cpu, "cpu_milli"));
    GWANG_TRY(mem, csv.amount(c_mem, "memory_mib"));
    GWANG_TRY(gpus, csv.amount(c_gpu, "gpu", kMaxGpusPerNode));
    node.cpu_milli = cpu;
    node.memory_mib = mem;
    node.gpus = static_cast<int>(gpus);
    node.model = csv.field(c_model);
    if (node.gpus > 0 && node.model.empty()) {
      return fail(csv.where("model") + "empty, but the node has " + std::to_string(node.gpus) + " GPUs");
    }
    nodes.push_back(std::move(node));
  }
  return nodes;
}

Result<std::vector<AlibabaPod>> parse_alibaba_pods(std::string_view text, std::string source_name) {
  Csv csv(text, std::move(source_name));
  GWANG_TRY(header_ok, csv.read_header());
  (void)header_ok;
  GWANG_TRY(c_name, csv.column("name", true));
  GWANG_TRY(c_cpu, csv.column("cpu_milli", true));
  GWANG_TRY(c_mem, csv.column("memory_mib", true));
  GWANG_TRY(c_num_gpu, csv.column("num_gpu", true));
  GWANG_TRY(c_gpu_milli, csv.column("gpu_milli", true));
  GWANG_TRY(c_spec, csv.column("gpu_spec", false));
  GWANG_TRY(c_qos, csv.column("qos", false));
  GWANG_TRY(c_phase, csv.column("pod_phase", false));
  GWANG_TRY(c_created, csv.column("creation_time", false));
  GWANG_TRY(c_deleted, csv.column("deletion_time", false));
  GWANG_TRY(c_scheduled, csv.column("scheduled_time", false));
  std::vector<AlibabaPod> pods;
  while (true) {
    GWANG_TRY(more, csv.next_row());
    if (!more) break;
    AlibabaPod pod{};
    pod.line = csv.line();
    pod.name = csv.field(c_name);
    if (pod.name.empty()) return fail(csv.where("name") + "empty pod name");
    GWANG_TRY(cpu, csv.amount(c_cpu, "cpu_milli"));
    GWANG_TRY(mem, csv.amount(c_mem, "memory_mib"));
    GWANG_TRY(num_gpu, csv.amount(c_num_gpu, "num_gpu", kMaxGpusPerNode));
    GWANG_TRY(gpu_milli, csv.amount(c_gpu_milli, "gpu_milli"));
    if (num_gpu == 0 && gpu_milli != 0) {
      return fail(csv.where("gpu_milli") + std::to_string(gpu_milli) + " with num_gpu 0 (expected 0)");
    }
    if (num_gpu == 1 && (gpu_milli < 1 || gpu_milli > 1000)) {
      return fail(csv.where("gpu_milli") + std::to_string(gpu_milli) + " is outside 1..1000");
    }
    if (num_gpu > 1 && gpu_milli != 1000) {
      return fail(csv.where("gpu_milli") + std::to_string(gpu_milli) + " with num_gpu " +
                  std::to_string(num_gpu) + " (a pod with several GPUs takes whole GPUs: expected 1000)");
    }
    pod.cpu_milli = cpu;
    pod.memory_mib = mem;
    pod.num_gpu = static_cast<int>(num_gpu);
    pod.gpu_milli = gpu_milli;
    const std::string_view spec = csv.field(c_spec);
    if (!spec.empty()) {
      size_t start = 0;
      while (true) {
        const size_t bar = spec.find('|', start);
        const std::string_view model = spec.substr(start, bar == std::string_view::npos ? spec.size() - start : bar - start);
        if (model.empty()) return fail(csv.where("gpu_spec") + detail::quoted(spec) + " has an empty GPU model");
        pod.gpu_spec.emplace_back(model);
        if (bar == std::string_view::npos) break;
        start = bar + 1;
      }
    }
    pod.qos = csv.field(c_qos);
    pod.phase = csv.field(c_phase);
    GWANG_TRY(created, csv.time(c_created, "creation_time"));
    GWANG_TRY(deleted, csv.time(c_deleted, "deletion_time"));
    GWANG_TRY(scheduled, csv.time(c_scheduled, "scheduled_time"));
    pod.creation_time = created;
    pod.deletion_time = deleted;
    pod.scheduled_time = scheduled;
    pods.push_back(std::move(pod));
  }
  return pods;
}

#undef GWANG_TRY

Result<std::vector<AlibabaNode>> read_alibaba_nodes(const std::string& path) {
  auto text = read_text_file(path);
  if (!text) return tl::unexpected(text.error());
  return parse_alibaba_nodes(*text, path);
}

Result<std::vector<AlibabaPod>> read_alibaba_pods(const std::string& path) {
  auto text = read_text_file(path);
  if (!text) return tl::unexpected(text.error());
  return parse_alibaba_pods(*text, path);
}

}  // namespace gwang::trace
