// CPU places: picking a task's CPUs on its node, splitting a job's among its step's tasks, and the
// kernel's CPU list form.

#include "core/cpus.h"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <map>

#include "core/ranges.h"

namespace gwang::core {

namespace {

// The position of CPU `id` in the topology's list; -1 when it has none.
int position(const CpuTopology& t, int id) {
  const auto it = std::lower_bound(t.cpus.begin(), t.cpus.end(), id);
  return it != t.cpus.end() && *it == id ? static_cast<int>(it - t.cpus.begin()) : -1;
}

}  // namespace

Result<void> validate(const CpuTopology& t) {
  if (t.core.size() != t.cpus.size()) {
    return fail("a topology of " + std::to_string(t.cpus.size()) + " CPU(s) names the cores of " +
                std::to_string(t.core.size()));
  }
  for (std::size_t i = 0; i < t.cpus.size(); ++i) {
    if (t.cpus[i] < 0) return fail("CPU id " + std::to_string(t.cpus[i]) + " is negative");
    if (i > 0 && t.cpus[i] <= t.cpus[i - 1]) return fail("CPU ids are not ascending and distinct");
  }
  for (std::size_t d = 0; d < t.near.size(); ++d) {
    for (const int id : t.near[d]) {
      if (position(t, id) < 0) {
        return fail("device " + std::to_string(d) + " is near CPU " + std::to_string(id) + ", which the node has not");
      }
    }
  }
  return {};
}

std::optional<std::vector<int>> pick_cpus(const CpuTopology& t, std::span<const int> free, int count,
                                          std::span<const std::uint16_t> devices, int threads_per_core) {
  if (count <= 0) return std::vector<int>{};
  if (static_cast<int>(free.size()) < count) return std::nullopt;
  // The free CPUs by core, with whether the core is near one of the devices.
  struct Core {
    int id = 0;
    bool near = false;
    std::vector<int> cpus;  // its free threads, ascending
  };
  std::vector<bool> near(t.cpus.size(), false);
  for (const std::uint16_t d : devices) {
    if (d >= t.near.size()) continue;
    for (const int id : t.near[d]) {
      if (const int p = position(t, id); p >= 0) near[static_cast<std::size_t>(p)] = true;
    }
  }
  std::map<int, Core> by_core;
  int known = 0;
  for (const int id : free) {
    const int p = position(t, id);
    if (p < 0) continue;
    ++known;
    Core& c = by_core[t.core[static_cast<std::size_t>(p)]];
    c.id = t.core[static_cast<std::size_t>(p)];
    c.near = c.near || near[static_cast<std::size_t>(p)];
    c.cpus.push_back(id);
  }
  if (known < count) return std::nullopt;
  std::vector<Core> cores;
  for (auto& [id, c] : by_core) {
    std::sort(c.cpus.begin(), c.cpus.end());
    cores.push_back(std::move(c));
  }
  std::stable_sort(cores.begin(), cores.end(), [](const Core& a, const Core& b) {
    if (a.near != b.near) return a.near;
    if (a.cpus.size() != b.cpus.size()) return a.cpus.size() > b.cpus.size();
    return a.cpus.front() < b.cpus.front();
  });
  std::vector<int> out;
  for (const Core& c : cores) {
    int taken = 0;
    for (const int id : c.cpus) {
      if (static_cast<int>(out.size()) == count || (threads_per_core > 0 && taken == threads_per_core)) break;
      out.push_back(id);
      ++taken;
    }
  }
  if (static_cast<int>(out.size()) < count) return std::nullopt;  // too few cores for the threads asked
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::vector<int>> split_cpus(const CpuTopology& t, std::span<const int> held, std::span<const int> busy,
                                         int tasks, int per_task) {
  assert(held.size() == busy.size());
  std::vector<int> use(busy.begin(), busy.end());
  std::vector<std::vector<int>> out;
  const int want = std::clamp(per_task, 1, std::max(1, static_cast<int>(held.size())));
  for (int k = 0; k < tasks && !held.empty(); ++k) {
    // The least busy CPUs first: the task's CPUs come from the lowest levels of use that hold them.
    std::vector<int> levels(use.begin(), use.end());
    std::sort(levels.begin(), levels.end());
    const int ceiling = levels[static_cast<std::size_t>(want - 1)];
    std::vector<int> low, at;
    for (std::size_t i = 0; i < held.size(); ++i) {
      if (use[i] < ceiling)
        low.push_back(held[i]);
      else if (use[i] == ceiling)
        at.push_back(held[i]);
    }
    // Those below the ceiling all go; the rest from the ceiling's, as a task's own CPUs are picked.
    std::vector<int> mine = low;
    if (auto more = pick_cpus(t, at, want - static_cast<int>(low.size()))) {
      mine.insert(mine.end(), more->begin(), more->end());
    } else {
      // CPUs the topology does not list: in id order.
      std::sort(at.begin(), at.end());
      mine.insert(mine.end(), at.begin(), at.begin() + (want - static_cast<int>(low.size())));
    }
    std::sort(mine.begin(), mine.end());
    for (const int id : mine) {
      const auto i = static_cast<std::size_t>(std::find(held.begin(), held.end(), id) - held.begin());
      ++use[i];
    }
    out.push_back(std::move(mine));
  }
  return out;
}

std::string format_cpu_list(std::span<const int> cpus) { return format_ranges(cpus); }

std::string format_cpu_mask(std::span<const int> cpus) {
  std::string digits;  // by 4-CPU group, lowest first
  for (const int id : cpus) {
    if (id < 0) continue;
    const auto at = static_cast<std::size_t>(id / 4);
    if (digits.size() <= at) digits.resize(at + 1, 0);
    digits[at] = static_cast<char>(digits[at] | 1 << (id % 4));
  }
  std::string out = "0x";
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) out += "0123456789abcdef"[static_cast<int>(*it)];
  return digits.empty() ? "0x0" : out;
}

Result<std::vector<int>> parse_cpu_list(std::string_view text) {
  std::vector<int> out;
  const auto number = [](std::string_view s, int& v) {
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc() && end == s.data() + s.size() && v >= 0 && v < 65536;
  };
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    const std::size_t dash = item.find('-');
    int lo = 0, hi = 0;
    if (!number(item.substr(0, dash), lo) || (dash != std::string_view::npos && !number(item.substr(dash + 1), hi))) {
      return fail("CPU list element '" + std::string(item) + "': expected a CPU id or a range of them (\"0-3\")");
    }
    if (dash == std::string_view::npos) hi = lo;
    if (hi < lo) return fail("CPU list element '" + std::string(item) + "': the range runs backwards");
    for (int id = lo; id <= hi; ++id) out.push_back(id);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace gwang::core
