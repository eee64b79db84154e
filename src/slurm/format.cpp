#include "slurm/format.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>

#include "slurm/specs.h"

namespace gwang::slurm {

namespace {

// Reads "[.][digits]" at `at`; false when a '.' has no digits after it.
bool read_size(std::string_view text, std::size_t& at, int& width, bool& right) {
  right = at < text.size() && text[at] == '.';
  if (right) ++at;
  const std::size_t start = at;
  while (at < text.size() && std::isdigit(static_cast<unsigned char>(text[at])) && at - start < 6) {
    width = width * 10 + (text[at] - '0');
    ++at;
  }
  return !right || at > start;
}

}  // namespace

Result<std::vector<FormatItem>> parse_percent_format(std::string_view text, std::string_view types) {
  std::vector<FormatItem> out;
  std::string literal;
  auto flush = [&] {
    if (literal.empty()) return;
    FormatItem l;
    l.literal = std::move(literal);
    out.push_back(std::move(l));
    literal.clear();
  };
  for (std::size_t at = 0; at < text.size();) {
    if (text[at] != '%') {
      literal += text[at++];
      continue;
    }
    if (at + 1 < text.size() && text[at + 1] == '%') {
      literal += '%';
      at += 2;
      continue;
    }
    const std::size_t start = at++;
    FormatItem f;
    if (!read_size(text, at, f.width, f.right))
      return fail("format '" + std::string(text) + "': a '.' needs a size after it (at character " +
                  std::to_string(start + 1) + ")");
    if (at >= text.size()) return fail("format '" + std::string(text) + "': a '%' without a field at its end");
    const char type = text[at++];
    if (types.find(type) == std::string_view::npos)
      return fail("format '" + std::string(text) + "': invalid field '%" + std::string(1, type) + "'");
    flush();
    f.field = std::string(1, type);
    out.push_back(std::move(f));
  }
  flush();
  return out;
}

Result<std::vector<FormatItem>> parse_long_format(std::string_view text, const std::vector<std::string>& names,
                                                  int default_width) {
  std::vector<FormatItem> out;
  std::size_t at = 0;
  while (at <= text.size()) {
    std::size_t comma = text.find(',', at);
    if (comma == std::string_view::npos) comma = text.size();
    const std::string_view part = text.substr(at, comma - at);
    at = comma + 1;
    if (part.empty()) {
      if (comma == text.size()) break;
      return fail("format '" + std::string(text) + "': an empty field");
    }
    const std::size_t colon = part.find(':');
    const std::string name = lower(part.substr(0, colon));
    auto it = std::find_if(names.begin(), names.end(), [&](const std::string& n) { return lower(n) == name; });
    if (it == names.end())
      return fail("format '" + std::string(text) + "': invalid field '" + std::string(part.substr(0, colon)) + "'");
    FormatItem f;
    f.field = *it;
    f.width = default_width;
    if (colon != std::string_view::npos) {
      const std::string_view spec = part.substr(colon + 1);
      std::size_t k = 0;
      int width = 0;
      if (!read_size(spec, k, width, f.right))
        return fail("format '" + std::string(text) + "': a '.' needs a size after it");
      if (k > (f.right ? 1u : 0u)) f.width = width;
      f.suffix = std::string(spec.substr(k));
    }
    out.push_back(std::move(f));
    if (comma == text.size()) break;
  }
  if (out.empty()) return fail("format '" + std::string(text) + "': no fields");
  return out;
}

Result<std::vector<FormatItem>> parse_sacct_format(std::string_view text, const std::vector<std::string>& names,
                                                   const std::function<int(const std::string&)>& width) {
  std::vector<FormatItem> out;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t comma = text.find(',', at);
    if (comma == std::string_view::npos) comma = text.size();
    const std::string_view part = text.substr(at, comma - at);
    at = comma + 1;
    if (part.empty()) continue;
    const std::size_t pct = part.find('%');
    const std::string name = lower(part.substr(0, pct));
    auto it = std::find_if(names.begin(), names.end(), [&](const std::string& n) { return lower(n) == name; });
    if (it == names.end()) return fail("Invalid field requested: \"" + std::string(part.substr(0, pct)) + "\"");
    FormatItem f;
    f.field = *it;
    f.width = width(*it);
    if (pct != std::string_view::npos) {
      int w = 0;
      for (char c : part.substr(pct + 1)) {
        if (!std::isdigit(static_cast<unsigned char>(c)) || w > 100000)
          return fail("Invalid field width in \"" + std::string(part) + "\"");
        w = w * 10 + (c - '0');
      }
      if (w > 0) f.width = w;
    }
    out.push_back(std::move(f));
  }
  if (out.empty()) return fail("no fields in format '" + std::string(text) + "'");
  return out;
}

std::string fit(std::string_view value, int width, bool right) {
  if (width <= 0) return std::string(value);
  const auto w = static_cast<std::size_t>(width);
  if (value.size() >= w) return std::string(value.substr(0, w));
  std::string pad(w - value.size(), ' ');
  return right ? pad + std::string(value) : std::string(value) + pad;
}

std::string render(const std::vector<FormatItem>& items, const std::function<std::string(const FormatItem&)>& value) {
  std::string out;
  for (const FormatItem& f : items) {
    if (f.field.empty()) {
      out += f.literal;
      continue;
    }
    const std::string v = value(f);
    const int width = f.cut ? f.width : std::max(f.width, static_cast<int>(v.size()));
    out += fit(v, width, f.right);
    out += f.suffix;
  }
  return out;
}

std::string format_elapsed(std::int64_t seconds) {
  if (seconds < 0) seconds = 0;
  const std::int64_t days = seconds / 86400, hours = seconds / 3600 % 24, minutes = seconds / 60 % 60,
                     secs = seconds % 60;
  char buf[64];
  if (days > 0) {
    std::snprintf(buf, sizeof buf, "%lld-%02lld:%02lld:%02lld", static_cast<long long>(days),
                  static_cast<long long>(hours), static_cast<long long>(minutes), static_cast<long long>(secs));
  } else if (hours > 0) {
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(hours), static_cast<long long>(minutes),
                  static_cast<long long>(secs));
  } else {
    std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(minutes), static_cast<long long>(secs));
  }
  return buf;
}

std::string format_clock(std::int64_t seconds) {
  if (seconds < 0) seconds = 0;
  char buf[48];
  const long long d = seconds / 86400, h = seconds / 3600 % 24, m = seconds / 60 % 60, s = seconds % 60;
  if (d > 0) {
    std::snprintf(buf, sizeof buf, "%lld-%02lld:%02lld:%02lld", d, h, m, s);
  } else {
    std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld", h, m, s);
  }
  return buf;
}

std::string format_minutes(std::int64_t minutes, bool unlimited) {
  if (unlimited) return "UNLIMITED";
  return format_elapsed(minutes * 60);
}

std::string format_slurm_date(std::int64_t seconds) {
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return buf;
}

}  // namespace gwang::slurm
