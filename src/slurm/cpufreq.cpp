#include "slurm/cpufreq.h"

#include <algorithm>
#include <cctype>

#include "slurm/specs.h"

namespace gwang::slurm {

namespace {

// A frequency word in Slurm's spelling ("High"), or a positive number of kHz as given; "" when
// neither.
std::string frequency_word(std::string_view w) {
  const std::string l = lower(w);
  for (const char* name : {"Low", "Medium", "Highm1", "High"}) {
    if (l == lower(name)) return name;
  }
  if (!w.empty() && w.size() <= 12 && w.find_first_not_of("0123456789") == std::string_view::npos &&
      w.find_first_not_of('0') != std::string_view::npos) {
    return std::string(w);
  }
  return "";
}

// A governor's name in Slurm's spelling, and whether slurm.conf's default CpuFreqGovernors
// (OnDemand, Performance, UserSpace) allows it; "" for a word that is no governor.
std::pair<std::string, bool> governor_word(std::string_view w) {
  const std::string l = lower(w);
  for (const auto& [name, allowed] :
       {std::pair{"OnDemand", true}, std::pair{"Performance", true}, std::pair{"UserSpace", true},
        std::pair{"Conservative", false}, std::pair{"PowerSave", false}, std::pair{"SchedUtil", false}}) {
    if (l == lower(name)) return {name, allowed};
  }
  return {"", false};
}

}  // namespace

Result<CpuFreq> parse_cpu_freq(std::string_view text) {
  CpuFreq out;
  std::string_view range = text;
  std::string_view gov;
  if (const std::size_t colon = text.find(':'); colon != std::string_view::npos) {
    range = text.substr(0, colon);
    gov = text.substr(colon + 1);
  } else if (const auto [name, allowed] = governor_word(text); !name.empty()) {
    if (!allowed) return fail("governor of " + std::string(text) + " is not allowed in slurm.conf");
    out.governor = name;
    return out;
  }
  const std::size_t dash = range.find('-');
  const std::string_view first = range.substr(0, dash);
  out.max = frequency_word(first);
  if (out.max.empty()) return fail("unrecognized --cpu-freq argument \"" + std::string(first) + "\"");
  if (dash != std::string_view::npos) {
    const std::string_view second = range.substr(dash + 1);
    out.min = out.max;
    out.max = frequency_word(second);
    if (out.max.empty()) return fail("unrecognized --cpu-freq argument \"" + std::string(second) + "\"");
  }
  if (!gov.empty() || text.find(':') != std::string_view::npos) {
    if (dash == std::string_view::npos) {
      return fail("gov on cpu-frec (" + std::string(gov) + ") illegal without max");
    }
    const auto [name, allowed] = governor_word(gov);
    if (name.empty()) return fail("unrecognized --cpu-freq argument \"" + std::string(gov) + "\"");
    if (!allowed) return fail("governor of " + std::string(gov) + " is not allowed in slurm.conf");
    out.governor = name;
  }
  return out;
}

std::string cpu_freq_text(const CpuFreq& f) {
  std::string out = f.min.empty() ? f.max : f.min + "-" + f.max;
  if (!f.governor.empty()) out += (out.empty() ? "" : ":") + f.governor;
  return out;
}

std::int64_t resolve_frequency(const std::string& word, const std::vector<std::int64_t>& available) {
  if (available.empty()) return 0;
  const std::size_t n = available.size();
  if (word == "Low") return available.front();
  if (word == "High") return available.back();
  if (word == "Highm1") return available[n >= 2 ? n - 2 : 0];
  if (word == "Medium") return available[(n - 1) / 2];
  const std::int64_t asked = std::stoll(word);
  std::int64_t best = available.front();
  for (const std::int64_t f : available) {
    if (f <= asked) best = f;
  }
  return best;
}

Result<GpuFreq> parse_gpu_freq(std::string_view text) {
  GpuFreq out;
  const auto value = [](std::string_view v) {
    const std::string l = lower(v);
    return l == "low" || l == "medium" || l == "high" || l == "highm1" ||
           (!v.empty() && v.size() <= 6 && v.find_first_not_of("0123456789") == std::string_view::npos);
  };
  for (std::size_t at = 0; at <= text.size();) {
    const std::size_t comma = std::min(text.find(',', at), text.size());
    const std::string_view w = text.substr(at, comma - at);
    at = comma + 1;
    if (w == "verbose") {
      out.verbose = true;
    } else if (w.starts_with("memory=") && value(w.substr(7))) {
      out.memory = std::string(w.substr(7));
    } else if (value(w)) {
      out.graphics = std::string(w);
    } else {
      return fail("Invalid --gpu-freq argument: gpu:" + std::string(text));
    }
  }
  return out;
}

}  // namespace gwang::slurm
