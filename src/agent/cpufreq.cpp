#include "agent/cpufreq.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "slurm/specs.h"

namespace gwang::agent {

namespace {

namespace fs = std::filesystem;

std::string read_word(const fs::path& p) {
  std::ifstream in(p);
  std::string w;
  in >> w;
  return w;
}

bool write_word(const fs::path& p, const std::string& w) {
  std::ofstream out(p);
  out << w << '\n';
  out.flush();
  return static_cast<bool>(out);
}

std::vector<std::int64_t> available(const fs::path& dir) {
  std::vector<std::int64_t> out;
  std::ifstream in(dir / "scaling_available_frequencies");
  for (std::int64_t f; in >> f;) out.push_back(f);
  if (out.empty()) {
    for (const char* name : {"cpuinfo_min_freq", "cpuinfo_max_freq"}) {
      const std::string w = read_word(dir / name);
      if (!w.empty() && w.size() < 12 && w.find_first_not_of("0123456789") == std::string::npos)
        out.push_back(std::stoll(w));
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// Lower bound and upper bound written in an order the kernel takes (never min above max).
void write_range(const fs::path& dir, const std::string& lo, const std::string& hi) {
  const std::string max_now = read_word(dir / "scaling_max_freq");
  const bool raise =
      !max_now.empty() && !lo.empty() && lo.size() < 12 && max_now.size() < 12 && std::stoll(lo) > std::stoll(max_now);
  if (raise) write_word(dir / "scaling_max_freq", hi);
  if (!lo.empty()) write_word(dir / "scaling_min_freq", lo);
  if (!raise && !hi.empty()) write_word(dir / "scaling_max_freq", hi);
}

std::vector<int> all_cpus(const fs::path& base) {
  std::vector<int> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(base, ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() > 3 && name.size() < 9 && name.starts_with("cpu") &&
        name.find_first_not_of("0123456789", 3) == std::string::npos)
      out.push_back(std::stoi(name.substr(3)));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

CpuFreqSaved apply_cpu_freq(const std::string& sysfs, const std::vector<int>& cpus, const slurm::CpuFreq& freq) {
  CpuFreqSaved saved;
  const fs::path base = fs::path(sysfs) / "devices/system/cpu";
  for (const int id : cpus.empty() ? all_cpus(base) : cpus) {
    const fs::path dir = base / ("cpu" + std::to_string(id)) / "cpufreq";
    std::error_code ec;
    if (!fs::exists(dir / "scaling_governor", ec)) continue;
    const std::vector<std::int64_t> freqs = available(dir);
    CpuFreqSaved::Cpu was{id, read_word(dir / "scaling_governor"), read_word(dir / "scaling_min_freq"),
                          read_word(dir / "scaling_max_freq"), read_word(dir / "scaling_setspeed")};
    const auto pick = [&](const std::string& word) {
      const std::int64_t f = slurm::resolve_frequency(word, freqs);
      return f > 0 ? std::to_string(f) : std::string();
    };
    if (freq.single()) {
      write_word(dir / "scaling_governor", "userspace");
      if (const std::string f = pick(freq.max); !f.empty()) write_word(dir / "scaling_setspeed", f);
    } else if (!freq.max.empty()) {
      write_range(dir, pick(freq.min), pick(freq.max));
    }
    if (!freq.governor.empty()) write_word(dir / "scaling_governor", slurm::lower(freq.governor));
    saved.cpus.push_back(std::move(was));
  }
  return saved;
}

void restore_cpu_freq(const std::string& sysfs, const CpuFreqSaved& saved) {
  const fs::path base = fs::path(sysfs) / "devices/system/cpu";
  for (const CpuFreqSaved::Cpu& c : saved.cpus) {
    const fs::path dir = base / ("cpu" + std::to_string(c.id)) / "cpufreq";
    if (!c.governor.empty()) write_word(dir / "scaling_governor", c.governor);
    write_range(dir, c.min, c.max);
    if (c.governor == "userspace" && !c.speed.empty() && c.speed != "<unsupported>")
      write_word(dir / "scaling_setspeed", c.speed);
  }
}

}  // namespace gwang::agent
