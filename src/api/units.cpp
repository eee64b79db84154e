#include "api/units.h"

#include "core/calendar.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace gwang::api {

namespace {

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

bool to_int(std::string_view s, std::int64_t& out) {
  if (!all_digits(s) || s.size() > 12) return false;
  std::from_chars(s.data(), s.data() + s.size(), out);
  return true;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  std::size_t pos = 0;
  while (true) {
    const std::size_t next = s.find(sep, pos);
    parts.push_back(s.substr(pos, next == std::string_view::npos ? std::string_view::npos : next - pos));
    if (next == std::string_view::npos) break;
    pos = next + 1;
  }
  return parts;
}

constexpr std::int64_t kMaxSeconds = 365LL * 24 * 3600;

}  // namespace

Result<std::int64_t> parse_duration(std::string_view text) {
  const std::string quoted = "'" + std::string(text) + "'";
  auto bad = [&] {
    return fail("time " + quoted + ": expected minutes, M:S, H:M:S, D-H[:M[:S]] or a number with a unit (90s, 30m, 2h, 1d)");
  };
  if (text.empty()) return bad();
  std::int64_t seconds = 0;
  if (std::isalpha(static_cast<unsigned char>(text.back()))) {
    // Unit forms, possibly chained: 1h30m.
    std::size_t i = 0;
    while (i < text.size()) {
      std::size_t j = i;
      while (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j]))) ++j;
      std::int64_t n = 0;
      if (j == i || j >= text.size() || !to_int(text.substr(i, j - i), n)) return bad();
      switch (text[j]) {
        case 's': seconds += n; break;
        case 'm': seconds += n * 60; break;
        case 'h': seconds += n * 3600; break;
        case 'd': seconds += n * 86400; break;
        default: return bad();
      }
      if (n > kMaxSeconds) return bad();
      i = j + 1;
    }
  } else {
    std::int64_t days = 0;
    std::string_view rest = text;
    const std::size_t dash = text.find('-');
    if (dash != std::string_view::npos) {
      if (!to_int(text.substr(0, dash), days)) return bad();
      rest = text.substr(dash + 1);
    }
    const auto parts = split(rest, ':');
    std::int64_t v[3] = {0, 0, 0};
    if (parts.size() > 3) return bad();
    for (std::size_t k = 0; k < parts.size(); ++k) {
      if (!to_int(parts[k], v[k])) return bad();
    }
    if (dash != std::string_view::npos) {
      // D-H, D-H:M, D-H:M:S
      seconds = days * 86400 + v[0] * 3600 + v[1] * 60 + v[2];
    } else if (parts.size() == 1) {
      seconds = v[0] * 60;  // minutes
    } else if (parts.size() == 2) {
      seconds = v[0] * 60 + v[1];  // M:S
    } else {
      seconds = v[0] * 3600 + v[1] * 60 + v[2];
    }
  }
  if (seconds <= 0) return fail("time " + quoted + ": must be positive");
  if (seconds > kMaxSeconds) return fail("time " + quoted + ": more than 365 days");
  return seconds;
}

std::string format_duration(std::int64_t s) {
  char buf[48];
  const std::int64_t d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60, sec = s % 60;
  if (d > 0) {
    std::snprintf(buf, sizeof buf, "%lld-%02lld:%02lld:%02lld", static_cast<long long>(d), static_cast<long long>(h),
                  static_cast<long long>(m), static_cast<long long>(sec));
  } else {
    std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld", static_cast<long long>(h), static_cast<long long>(m),
                  static_cast<long long>(sec));
  }
  return buf;
}

Result<std::int64_t> parse_memory(std::string_view text) {
  const std::string quoted = "'" + std::string(text) + "'";
  std::size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
  const std::string_view number = text.substr(0, i);
  std::string unit(text.substr(i));
  for (auto& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  double value = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (number.empty() || ec != std::errc() || end != number.data() + number.size()) {
    return fail("memory " + quoted + ": expected a number with an optional unit K, M, G or T (16G, 512M)");
  }
  std::int64_t scale = 0;
  if (unit.empty() || unit == "M" || unit == "MB" || unit == "MIB") scale = 1LL << 20;
  else if (unit == "K" || unit == "KB" || unit == "KIB") scale = 1LL << 10;
  else if (unit == "G" || unit == "GB" || unit == "GIB") scale = 1LL << 30;
  else if (unit == "T" || unit == "TB" || unit == "TIB") scale = 1LL << 40;
  else return fail("memory " + quoted + ": unknown unit '" + std::string(text.substr(i)) + "' (K, M, G or T)");
  const double bytes = value * static_cast<double>(scale);
  if (bytes < 1) return fail("memory " + quoted + ": must be positive");
  if (bytes > static_cast<double>(1LL << 50)) return fail("memory " + quoted + ": more than 1 PiB");
  return static_cast<std::int64_t>(std::llround(bytes));
}

std::string format_memory(std::int64_t bytes) {
  if (bytes == 0) return "0";
  const char* units[] = {"K", "M", "G", "T"};
  double v = static_cast<double>(bytes) / 1024;
  int u = 0;
  while (v >= 1024 && u < 3) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (std::abs(v - std::round(v)) < 0.05) {
    std::snprintf(buf, sizeof buf, "%.0f%s", v, units[u]);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f%s", v, units[u]);
  }
  return buf;
}

Result<GpuRequest> parse_gpus(std::string_view text) {
  const std::string quoted = "'" + std::string(text) + "'";
  GpuRequest out;
  const std::size_t colon = text.find(':');
  std::int64_t n = 0;
  if (!to_int(text.substr(0, colon), n) || n < 1 || n > 1024) {
    return fail("gpus " + quoted + ": expected N or N:MODEL[,MODEL...] with N from 1 to 1024");
  }
  out.count = static_cast<int>(n);
  if (colon != std::string_view::npos) {
    for (std::string_view model : split(text.substr(colon + 1), ',')) {
      if (model.empty()) return fail("gpus " + quoted + ": an empty model name");
      for (char c : model) {
        // ':' allows a family: "npu:ascend910" (a bare model is a GPU).
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == ':')) {
          return fail("gpus " + quoted + ": character '" + std::string(1, c) + "' in a model name");
        }
      }
      out.models.emplace_back(model);
    }
  }
  return out;
}

Result<std::int64_t> parse_date(std::string_view text) { return core::parse_utc(text); }

std::string format_date(std::int64_t seconds) { return core::format_utc(seconds); }

}  // namespace gwang::api
