// Slurm's license lists, parsed and written back.

#include "slurm/licenses.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace gwang::slurm {

Result<std::vector<LicenseCount>> parse_licenses(std::string_view text) {
  std::vector<LicenseCount> out;
  if (text.empty()) return out;
  std::size_t at = 0;
  while (at <= text.size()) {
    const std::size_t comma = std::min(text.find_first_of(",;", at), text.size());
    const std::string_view item = text.substr(at, comma - at);
    at = comma + 1;
    if (item.empty()) continue;
    const std::string quoted = "'" + std::string(item) + "'";
    if (std::any_of(item.begin(), item.end(), [](unsigned char c) { return std::isspace(c) != 0; }))
      return fail("license " + quoted + " has a blank in it");
    const std::size_t sep = item.find(':');
    const std::string_view name = item.substr(0, sep);
    if (name.empty()) return fail("license " + quoted + " has no name");
    std::int64_t count = 1;
    if (sep != std::string_view::npos) {
      const std::string_view digits = item.substr(sep + 1);
      const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), count);
      // "matlab:" is a count of 0, as Slurm's strtol reads it.
      if (digits.empty()) count = 0;
      if (!digits.empty() && (ec != std::errc() || end != digits.data() + digits.size()))
        return fail("license " + quoted + ": the count must be a whole number");
    }
    if (count < 0) return fail("license " + quoted + ": the count must be a whole number");
    if (count > 1'000'000'000) return fail("license " + quoted + ": the count is too large");
    auto same = std::find_if(out.begin(), out.end(), [&](const LicenseCount& l) { return l.name == name; });
    if (same != out.end()) {
      same->count += count;
    } else {
      out.push_back({std::string(name), count});
    }
  }
  return out;
}

bool license_name_ok(std::string_view name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 || c == '.' || c == '_' || c == '-';
  });
}

std::string format_licenses(const std::vector<LicenseCount>& licenses) {
  std::string out;
  for (const LicenseCount& l : licenses) {
    if (!out.empty()) out += ',';
    out += l.name + ':' + std::to_string(l.count);
  }
  return out;
}

}  // namespace gwang::slurm
