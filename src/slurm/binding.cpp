#include "slurm/binding.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <string>
#include <vector>

namespace gwang::slurm {

namespace {

// One element of a map or mask list: a number (or a hex mask), optionally "*count".
bool list_element(std::string_view e, bool mask) {
  if (auto star = e.find('*'); star != std::string_view::npos) {
    const std::string_view count = e.substr(star + 1);
    if (count.empty() || count.find_first_not_of("0123456789") != std::string_view::npos) return false;
    e = e.substr(0, star);
  }
  const bool hex = e.starts_with("0x") || e.starts_with("0X");
  if (hex) e.remove_prefix(2);
  if (e.empty()) return false;
  for (char c : e) {
    if (mask || hex ? !std::isxdigit(static_cast<unsigned char>(c)) : !std::isdigit(static_cast<unsigned char>(c)))
      return false;
  }
  return true;
}

}  // namespace

Result<CpuBind> parse_cpu_bind(std::string_view text) {
  CpuBind out;
  const auto bad = [&text](const std::string& why) -> Result<CpuBind> {
    return fail("--cpu-bind=" + std::string(text) + ": " + why);
  };
  if (text.empty()) return bad("empty; give a binding type (none, cores, threads, ...) or quiet/verbose");
  // The list of a map_* or mask_* type takes the rest of the text, commas and all.
  std::vector<std::string_view> words;
  for (std::size_t at = 0; at <= text.size();) {
    std::size_t comma = text.find(',', at);
    std::string_view w = text.substr(at, comma == std::string_view::npos ? std::string_view::npos : comma - at);
    if (w.starts_with("map_") || w.starts_with("mask_")) {
      words.push_back(text.substr(at));
      break;
    }
    words.push_back(w);
    if (comma == std::string_view::npos) break;
    at = comma + 1;
  }
  for (std::string_view w : words) {
    if (w == "q" || w == "quiet") {
      out.verbose = false;
    } else if (w == "v" || w == "verbose") {
      out.verbose = true;
    } else if (w.empty()) {
      return bad("an empty word between commas");
    } else {
      std::string type(w.substr(0, w.find(':')));
      if (type == "no") type = "none";
      static constexpr std::string_view kPlain[] = {"none",  "rank",    "rank_ldom", "sockets",
                                                    "cores", "threads", "ldoms",     "boards"};
      static constexpr std::string_view kListed[] = {"map_cpu", "mask_cpu", "map_ldom", "mask_ldom"};
      bool plain = false, listed = false;
      for (auto t : kPlain) plain = plain || t == type;
      for (auto t : kListed) listed = listed || t == type;
      if (!plain && !listed) {
        return fail("unrecognized --cpu-bind argument \"" + std::string(w) +
                    "\": expected quiet, verbose, none, rank, map_cpu:<list>, mask_cpu:<list>, rank_ldom, "
                    "map_ldom:<list>, mask_ldom:<list>, sockets, cores, threads, ldoms or boards");
      }
      if (!out.type.empty()) return bad("two binding types ('" + out.type + "' and '" + type + "'); give one");
      if (listed) {
        const auto colon = w.find(':');
        if (colon == std::string_view::npos || colon + 1 == w.size()) {
          return bad(type + " needs a list: " + type + ":<list>");
        }
        const std::string_view list = w.substr(colon + 1);
        const bool mask = type.starts_with("mask_");
        for (std::size_t at = 0; at <= list.size();) {
          const std::size_t comma = list.find(',', at);
          const std::string_view e =
              list.substr(at, comma == std::string_view::npos ? std::string_view::npos : comma - at);
          if (!list_element(e, mask)) {
            return bad("'" + std::string(e) + "' is not " + (mask ? "a hexadecimal mask" : "a CPU number"));
          }
          if (comma == std::string_view::npos) break;
          at = comma + 1;
        }
        out.list = std::string(list);
      } else if (w.find(':') != std::string_view::npos) {
        return bad(type + " takes no list");
      }
      out.type = type;
    }
  }
  return out;
}

CpuBind cpu_bind_of(const std::vector<std::pair<std::string, std::string>>& env) {
  CpuBind out;
  for (const auto& [key, value] : env) {
    if (key == "SLURM_CPU_BIND_TYPE") out.type = value.substr(0, value.find(':'));
    if (key == "SLURM_CPU_BIND_LIST") out.list = value;
    if (key == "SLURM_CPU_BIND_VERBOSE") out.verbose = value == "verbose";
  }
  if (out.type != "map_cpu" && out.type != "mask_cpu" && !out.type.ends_with("_ldom")) out.list.clear();
  return out;
}

std::vector<std::vector<int>> cpu_bind_elements(const CpuBind& bind) {
  std::vector<std::vector<int>> out;
  if (bind.type != "map_cpu" && bind.type != "mask_cpu") return out;
  const bool mask = bind.type == "mask_cpu";
  std::string_view list = bind.list;
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    std::string_view e = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    std::size_t times = 1;
    if (const auto star = e.find('*'); star != std::string_view::npos) {
      const std::string_view count = e.substr(star + 1);
      if (std::from_chars(count.data(), count.data() + count.size(), times).ec != std::errc()) times = 4096;
      e = e.substr(0, star);
    }
    const bool hex = e.starts_with("0x") || e.starts_with("0X");
    if (hex) e.remove_prefix(2);
    std::vector<int> ids;
    if (mask) {
      // Hexadecimal digits, the last the lowest CPUs.
      for (std::size_t i = 0; i < e.size(); ++i) {
        const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(e[e.size() - 1 - i])));
        const int v = c <= '9' ? c - '0' : c - 'a' + 10;
        for (int b = 0; b < 4; ++b) {
          if (v >> b & 1) ids.push_back(static_cast<int>(i) * 4 + b);
        }
      }
    } else {
      int id = 0;
      if (std::from_chars(e.data(), e.data() + e.size(), id, hex ? 16 : 10).ec != std::errc()) continue;
      ids.push_back(id);
    }
    for (std::size_t k = 0; k < std::min<std::size_t>(times, 4096); ++k) out.push_back(ids);
  }
  return out;
}

}  // namespace gwang::slurm

namespace gwang::slurm {

Result<GpuBind> parse_gpu_bind(std::string_view text) {
  const auto bad = [&text](const std::string& why) -> Result<GpuBind> {
    return fail("--gpu-bind=" + std::string(text) + ": " + why);
  };
  GpuBind out;
  std::string_view rest = text;
  if (rest.starts_with("verbose,") || rest == "verbose")
    return bad("verbose is not supported by gwang (its tasks do not say their GPU binding)");
  const std::size_t colon = rest.find(':');
  const std::string_view type = rest.substr(0, colon);
  const std::string_view value = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
  if (type == "none" || type == "closest") {
    if (colon != std::string_view::npos) return bad(std::string(type) + " takes no value");
    out.type = std::string(type);
    return out;
  }
  if (type == "single" || type == "per_task") {
    int n = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || end != value.data() + value.size() || n < 1 || n > 1024)
      return bad(std::string(type) + ": expected a count from 1");
    out.type = std::string(type);
    out.count = n;
    return out;
  }
  if (type == "map_gpu" || type == "mask_gpu") {
    const bool mask = type == "mask_gpu";
    if (value.empty()) return bad(std::string(type) + ": expected a list");
    for (std::size_t at = 0; at <= value.size();) {
      const std::size_t comma = std::min(value.find(',', at), value.size());
      std::string_view e = value.substr(at, comma - at);
      at = comma + 1;
      if (!list_element(e, mask)) return bad(std::string(type) + ": '" + std::string(e) + "' is not an element");
      int times = 1;
      if (const auto star = e.find('*'); star != std::string_view::npos) {
        std::from_chars(e.data() + star + 1, e.data() + e.size(), times);
        e = e.substr(0, star);
      }
      const bool hex = mask || e.starts_with("0x") || e.starts_with("0X");
      if (e.starts_with("0x") || e.starts_with("0X")) e.remove_prefix(2);
      std::uint64_t v = 0;
      const auto [end, ec] = std::from_chars(e.data(), e.data() + e.size(), v, hex ? 16 : 10);
      if (ec != std::errc() || (!mask && v > 1023) || (mask && v == 0) || times < 1 || times > 4096)
        return bad(std::string(type) + ": '" + std::string(e) + "' is out of range");
      out.list.insert(out.list.end(), static_cast<std::size_t>(times), v);
    }
    out.type = std::string(type);
    return out;
  }
  return bad("unknown type '" + std::string(type) + "' (closest, map_gpu, mask_gpu, none, per_task, single)");
}

std::vector<std::vector<int>> bind_gpus(const GpuBind& bind, int gpus, int tasks,
                                        const std::vector<std::vector<int>>& near,
                                        const std::vector<std::vector<int>>& task_cpus) {
  std::vector<std::vector<int>> out(static_cast<std::size_t>(std::max(tasks, 0)));
  std::vector<int> all(static_cast<std::size_t>(std::max(gpus, 0)));
  for (int g = 0; g < gpus; ++g) all[static_cast<std::size_t>(g)] = g;
  for (int t = 0; t < tasks; ++t) {
    std::vector<int>& mine = out[static_cast<std::size_t>(t)];
    if (gpus < 1 || bind.type == "none") {
      mine = all;
    } else if (bind.type == "single") {
      mine = {(t / bind.count) % gpus};
    } else if (bind.type == "per_task") {
      for (int k = 0; k < bind.count && k < gpus; ++k) mine.push_back((t * bind.count + k) % gpus);
      std::sort(mine.begin(), mine.end());
    } else if (bind.type == "map_gpu") {
      mine = {static_cast<int>(bind.list[static_cast<std::size_t>(t) % bind.list.size()] % gpus)};
    } else if (bind.type == "mask_gpu") {
      const std::uint64_t m = bind.list[static_cast<std::size_t>(t) % bind.list.size()];
      for (int g = 0; g < gpus && g < 64; ++g) {
        if (m >> g & 1) mine.push_back(g);
      }
      if (mine.empty()) mine = all;  // a mask of no GPU the step has
    } else {                         // closest: the GPUs near any of its CPUs
      const std::vector<int>* cpus =
          static_cast<std::size_t>(t) < task_cpus.size() ? &task_cpus[static_cast<std::size_t>(t)] : nullptr;
      for (int g = 0; cpus && g < gpus && static_cast<std::size_t>(g) < near.size(); ++g) {
        const auto& n = near[static_cast<std::size_t>(g)];
        if (std::any_of(cpus->begin(), cpus->end(), [&](int c) { return std::find(n.begin(), n.end(), c) != n.end(); }))
          mine.push_back(g);
      }
      if (mine.empty()) mine = all;
    }
  }
  return out;
}

}  // namespace gwang::slurm
