#include "slurm/specs.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <set>

#include "api/rlimits.h"

namespace gwang::slurm {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool all_digits(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_digit); }

// Digits only, at most 15 of them (no overflow below).
std::optional<std::int64_t> number(std::string_view s) {
  if (!all_digits(s) || s.size() > 15) return std::nullopt;
  std::int64_t n = 0;
  for (char c : s) n = n * 10 + (c - '0');
  return n;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    const std::size_t at = s.find(sep);
    out.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return out;
    s.remove_prefix(at + 1);
  }
}

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

}  // namespace

// ---- time limits ---------------------------------------------------------------------------

Result<TimeLimit> parse_time_limit(std::string_view text) {
  auto bad = [&] {
    return fail("invalid time limit " + quoted(text) +
                ": expected minutes, minutes:seconds, hours:minutes:seconds, days-hours, days-hours:minutes, "
                "days-hours:minutes:seconds, or UNLIMITED");
  };
  const std::string l = lower(text);
  if (l == "infinite" || l == "unlimited" || l == "-1") return TimeLimit{true, 0};
  std::int64_t days = 0;
  std::string_view rest = text;
  const std::size_t dash = text.find('-');
  if (dash != std::string_view::npos) {
    auto d = number(text.substr(0, dash));
    if (!d || *d > 1'000'000) return bad();
    days = *d;
    rest = text.substr(dash + 1);
  }
  const auto parts = split(rest, ':');
  if (parts.size() > 3) return bad();
  std::int64_t v[3] = {0, 0, 0};
  for (std::size_t i = 0; i < parts.size(); ++i) {
    auto n = number(parts[i]);
    if (!n || *n > 1'000'000'000) return bad();
    v[i] = *n;
  }
  std::int64_t seconds = 0;
  if (dash != std::string_view::npos) {
    seconds = days * 86400 + v[0] * 3600 + v[1] * 60 + v[2];  // days-hours[:minutes[:seconds]]
  } else if (parts.size() == 1) {
    seconds = v[0] * 60;  // minutes
  } else if (parts.size() == 2) {
    seconds = v[0] * 60 + v[1];  // minutes:seconds
  } else {
    seconds = v[0] * 3600 + v[1] * 60 + v[2];  // hours:minutes:seconds
  }
  if (seconds == 0) return TimeLimit{true, 0};  // "0": no limit
  if (seconds > 60LL * 1'000'000'000) return bad();
  return TimeLimit{false, (seconds + 59) / 60};
}

std::string format_time_limit(const TimeLimit& t) {
  if (t.unlimited) return "UNLIMITED";
  const std::int64_t d = t.minutes / 1440, h = t.minutes / 60 % 24, m = t.minutes % 60;
  char buf[64];
  if (d > 0) {
    std::snprintf(buf, sizeof buf, "%lld-%02lld:%02lld:00", static_cast<long long>(d), static_cast<long long>(h),
                  static_cast<long long>(m));
  } else {
    std::snprintf(buf, sizeof buf, "%02lld:%02lld:00", static_cast<long long>(h), static_cast<long long>(m));
  }
  return buf;
}

// ---- arrays --------------------------------------------------------------------------------

Result<ArraySpec> parse_array(std::string_view text, std::int64_t max_array_size) {
  auto bad = [&](const std::string& why) {
    return fail("invalid job array specification " + quoted(text) + ": " + why);
  };
  ArraySpec spec;
  std::string_view list = text;
  if (const std::size_t pct = text.find('%'); pct != std::string_view::npos) {
    auto limit = number(text.substr(pct + 1));
    if (!limit || *limit < 1) return bad("the limit after '%' must be a positive number");
    spec.max_running = *limit;
    list = text.substr(0, pct);
  }
  if (list.empty()) return bad("no indices");
  // Which indices are named, one bit each up to the largest (each below max_array_size).
  std::vector<bool> named;
  for (std::string_view part : split(list, ',')) {
    std::int64_t step = 1;
    if (const std::size_t colon = part.find(':'); colon != std::string_view::npos) {
      auto s = number(part.substr(colon + 1));
      if (!s || *s < 1) return bad("the step after ':' must be a positive number");
      step = *s;
      part = part.substr(0, colon);
    }
    const std::size_t dash = part.find('-');
    auto lo = number(part.substr(0, dash));
    auto hi = dash == std::string_view::npos ? lo : number(part.substr(dash + 1));
    if (!lo || !hi) return bad("expected indices and ranges such as 0-15, 1,3,5 or 0-15:4");
    if (*hi < *lo) return bad("range " + quoted(part) + " ends before it starts");
    if (*hi >= max_array_size) {
      return bad("index " + std::to_string(*hi) + " is above the largest allowed, " +
                 std::to_string(max_array_size - 1));
    }
    if (named.size() <= static_cast<std::size_t>(*hi)) named.resize(static_cast<std::size_t>(*hi) + 1);
    for (std::int64_t i = *lo; i <= *hi; i += step) named[static_cast<std::size_t>(i)] = true;
  }
  for (std::size_t i = 0; i < named.size(); ++i) {
    if (named[i]) spec.indices.push_back(static_cast<std::int64_t>(i));
  }
  return spec;
}

std::string format_array(const ArraySpec& a) {
  std::string out;
  const auto& v = a.indices;
  for (std::size_t i = 0; i < v.size();) {
    // The longest run from v[i] with one step: "lo-hi" (step 1) or "lo-hi:step" (3 or more).
    std::size_t j = i + 1;
    std::int64_t step = j < v.size() ? v[j] - v[i] : 1;
    while (j < v.size() && v[j] - v[j - 1] == step) ++j;
    if (!out.empty()) out += ',';
    if (j - i >= 2 && step == 1) {
      out += std::to_string(v[i]) + "-" + std::to_string(v[j - 1]);
      i = j;
    } else if (j - i >= 3) {
      out += std::to_string(v[i]) + "-" + std::to_string(v[j - 1]) + ":" + std::to_string(step);
      i = j;
    } else {
      out += std::to_string(v[i]);
      ++i;
    }
  }
  if (a.max_running) out += "%" + std::to_string(*a.max_running);
  return out;
}

// ---- dependencies --------------------------------------------------------------------------

const char* kind_name(Dependency::Kind k) {
  switch (k) {
    case Dependency::Kind::After:
      return "after";
    case Dependency::Kind::AfterAny:
      return "afterany";
    case Dependency::Kind::AfterOk:
      return "afterok";
    case Dependency::Kind::AfterNotOk:
      return "afternotok";
    case Dependency::Kind::AfterCorr:
      return "aftercorr";
    case Dependency::Kind::Singleton:
      return "singleton";
  }
  return "?";
}

Result<DependencySpec> parse_dependency(std::string_view text) {
  auto bad = [&](const std::string& why) { return fail("invalid dependency " + quoted(text) + ": " + why); };
  DependencySpec spec;
  const bool has_comma = text.find(',') != std::string_view::npos;
  const bool has_query = text.find('?') != std::string_view::npos;
  if (has_comma && has_query) return bad("use either ',' (all must hold) or '?' (any is enough), not both");
  spec.any = has_query;
  if (text.empty()) return bad("empty");
  for (std::string_view item : split(text, has_query ? '?' : ',')) {
    if (item.empty()) return bad("an empty condition");
    Dependency d;
    std::vector<std::string_view> parts = split(item, ':');
    const std::string type = lower(parts[0]);
    if (all_digits(parts[0])) {
      d.kind = Dependency::Kind::AfterAny;  // a bare job id: afterany
    } else {
      parts.erase(parts.begin());
      if (type == "after") {
        d.kind = Dependency::Kind::After;
      } else if (type == "afterany") {
        d.kind = Dependency::Kind::AfterAny;
      } else if (type == "afterok") {
        d.kind = Dependency::Kind::AfterOk;
      } else if (type == "afternotok") {
        d.kind = Dependency::Kind::AfterNotOk;
      } else if (type == "aftercorr") {
        d.kind = Dependency::Kind::AfterCorr;
      } else if (type == "singleton") {
        if (!parts.empty()) return bad("singleton takes no job ids");
        d.kind = Dependency::Kind::Singleton;
        spec.all.push_back(d);
        continue;
      } else if (type == "afterburstbuffer") {
        return bad("afterburstbuffer is not supported: this cluster has no burst buffers");
      } else {
        return bad("unknown type " + quoted(parts.empty() ? item : item.substr(0, item.find(':'))) +
                   " (after, afterany, afterok, afternotok, aftercorr or singleton)");
      }
      if (parts.empty()) return bad(type + " needs at least one job id (" + type + ":JOBID)");
    }
    for (std::string_view t : parts) {
      Dependency::Target target;
      if (const std::size_t plus = t.find('+'); plus != std::string_view::npos) {
        if (d.kind != Dependency::Kind::After) return bad("only 'after' takes a delay (+minutes)");
        auto m = number(t.substr(plus + 1));
        if (!m) return bad("the delay after '+' must be a number of minutes");
        target.delay_minutes = *m;
        t = t.substr(0, plus);
      }
      const std::size_t under = t.find('_');
      auto job = number(t.substr(0, under));
      if (!job || *job < 1) return bad("job id " + quoted(t) + " is not a positive number");
      target.job = *job;
      if (under != std::string_view::npos) {
        const std::string_view task = t.substr(under + 1);
        if (task != "*") {
          auto n = number(task);
          if (!n) return bad("array task " + quoted(t) + ": expected JOB_TASK or JOB_*");
          target.task = *n;
        }
      }
      d.targets.push_back(target);
    }
    spec.all.push_back(std::move(d));
  }
  return spec;
}

std::string format_dependency(const DependencySpec& d) {
  std::string out;
  for (const Dependency& dep : d.all) {
    if (!out.empty()) out += d.any ? '?' : ',';
    out += kind_name(dep.kind);
    for (const Dependency::Target& t : dep.targets) {
      out += ":" + std::to_string(t.job);
      if (t.task) out += "_" + std::to_string(*t.task);
      if (t.delay_minutes) out += "+" + std::to_string(t.delay_minutes);
    }
  }
  return out;
}

// ---- devices, counts and memory ------------------------------------------------------------

namespace {

// A count with an optional k, m, g, t or p (powers of 1024).
std::optional<std::int64_t> scaled_count(std::string_view s) {
  std::int64_t scale = 1;
  if (!s.empty() && !is_digit(s.back())) {
    switch (std::tolower(static_cast<unsigned char>(s.back()))) {
      case 'k':
        scale = 1LL << 10;
        break;
      case 'm':
        scale = 1LL << 20;
        break;
      case 'g':
        scale = 1LL << 30;
        break;
      case 't':
        scale = 1LL << 40;
        break;
      case 'p':
        scale = 1LL << 50;
        break;
      default:
        return std::nullopt;
    }
    s.remove_suffix(1);
  }
  auto n = number(s);
  if (!n || *n > (1LL << 40) / scale) return std::nullopt;
  return *n * scale;
}

bool good_name(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

}  // namespace

Result<std::vector<DeviceCount>> parse_gres(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return fail("invalid generic resource (gres) specification " + quoted(text) + ": " + why);
  };
  std::vector<DeviceCount> out;
  for (std::string_view item : split(text, ',')) {
    if (item.starts_with("gres/") || item.starts_with("gres:")) item.remove_prefix(5);
    const auto parts = split(item, ':');
    if (parts.size() > 3) return bad("expected name[[:type]:count]");
    DeviceCount d;
    d.name = lower(parts[0]);
    if (!good_name(d.name)) return bad("expected name[[:type]:count]");
    d.count = 1;
    if (parts.size() == 3) {
      d.type = std::string(parts[1]);
      auto c = scaled_count(parts[2]);
      if (!c) return bad("count " + quoted(parts[2]) + " is not a number");
      d.count = *c;
    } else if (parts.size() == 2) {
      if (auto c = scaled_count(parts[1])) {
        d.count = *c;
      } else {
        d.type = std::string(parts[1]);
      }
    }
    if (!d.type.empty() && !good_name(d.type)) return bad("type " + quoted(d.type) + " is not a name");
    out.push_back(std::move(d));
  }
  return out;
}

Result<std::vector<DeviceCount>> parse_gpu_counts(std::string_view text) {
  std::vector<DeviceCount> out;
  for (std::string_view item : split(text, ',')) {
    const auto parts = split(item, ':');
    DeviceCount d{"gpu", "", 0};
    if (parts.size() > 2 || (parts.size() == 2 && !good_name(parts[0]))) {
      return fail("invalid GPU specification " + quoted(text) + ": expected [type:]count");
    }
    if (parts.size() == 2) d.type = std::string(parts[0]);
    auto c = scaled_count(parts.back());
    if (!c) return fail("invalid GPU specification " + quoted(text) + ": expected [type:]count");
    d.count = *c;
    out.push_back(std::move(d));
  }
  return out;
}

Result<NodeRange> parse_node_range(std::string_view text) {
  auto bad = [&] { return fail("invalid node count " + quoted(text) + ": expected N or MIN-MAX"); };
  const std::size_t dash = text.find('-');
  auto lo = scaled_count(text.substr(0, dash));
  if (!lo || *lo > (1LL << 30)) return bad();
  auto hi = dash == std::string_view::npos ? lo : scaled_count(text.substr(dash + 1));
  if (!hi || *hi > (1LL << 30)) return bad();
  if (*lo < 1) return fail("invalid node count " + quoted(text) + ": at least one node");
  if (*hi < *lo) {
    return fail("maximum node count " + std::to_string(*hi) + " is less than minimum node count " +
                std::to_string(*lo));
  }
  return NodeRange{*lo, *hi};
}

Result<std::int64_t> parse_count(std::string_view text, std::string_view what, std::int64_t max) {
  auto n = number(text);
  if (!n || *n < 1 || *n > max) {
    return fail("invalid numeric value \"" + std::string(text) + "\" for " + std::string(what) + ": expected 1 to " +
                std::to_string(max));
  }
  return *n;
}

Result<std::int64_t> parse_slurm_memory(std::string_view text) {
  auto bad = [&] {
    return fail("invalid memory size " + quoted(text) + ": expected a number with an optional K, M, G or T (16G)");
  };
  std::string_view digits = text;
  std::int64_t unit = 1LL << 20;  // MiB
  if (!digits.empty() && (digits.back() == 'b' || digits.back() == 'B') && digits.size() >= 2 &&
      !is_digit(digits[digits.size() - 2])) {
    digits.remove_suffix(1);  // "16GB"
  }
  if (!digits.empty() && !is_digit(digits.back())) {
    switch (std::toupper(static_cast<unsigned char>(digits.back()))) {
      case 'K':
        unit = 1LL << 10;
        break;
      case 'M':
        unit = 1LL << 20;
        break;
      case 'G':
        unit = 1LL << 30;
        break;
      case 'T':
        unit = 1LL << 40;
        break;
      default:
        return bad();
    }
    digits.remove_suffix(1);
  }
  auto n = number(digits);
  if (!n || *n > (1LL << 50) / unit) return bad();
  return *n * unit;
}

// ---- begin times ---------------------------------------------------------------------------

namespace {

LocalTime from_tm(const std::tm& t) {
  return {t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec};
}
std::tm to_tm(const LocalTime& l) {
  std::tm t{};
  t.tm_year = l.year - 1900;
  t.tm_mon = l.month - 1;
  t.tm_mday = l.day;
  t.tm_hour = l.hour;
  t.tm_min = l.minute;
  t.tm_sec = l.second;
  t.tm_isdst = -1;
  return t;
}

int days_in_month(int year, int month) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

}  // namespace

Clock local_clock(std::int64_t now) {
  return Clock{now,
               [](std::int64_t s) {
                 const std::time_t t = static_cast<std::time_t>(s);
                 std::tm tm{};
                 ::localtime_r(&t, &tm);
                 return from_tm(tm);
               },
               [](const LocalTime& l) {
                 std::tm tm = to_tm(l);
                 return static_cast<std::int64_t>(std::mktime(&tm));
               }};
}

Clock utc_clock(std::int64_t now) {
  return Clock{now,
               [](std::int64_t s) {
                 const std::time_t t = static_cast<std::time_t>(s);
                 std::tm tm{};
                 ::gmtime_r(&t, &tm);
                 return from_tm(tm);
               },
               [](const LocalTime& l) {
                 std::tm tm = to_tm(l);
                 return static_cast<std::int64_t>(::timegm(&tm));
               }};
}

namespace {

// Reads a begin time (parse_begin) token by token: words, numbers and signs, so that
// "now + 1 hour" and "now+1hour" read alike; what it read is then resolved against the clock.
class BeginReader {
 public:
  BeginReader(std::string_view text, const Clock& clock)
      : text_(text), clock_(clock), today_(clock.to_local(clock.now)), s_(lower(text)) {}

  Result<std::int64_t> read() {
    skip_space();
    if (i_ == s_.size()) return tl::unexpected(bad("empty"));
    while (skip_space(), i_ < s_.size()) {
      const std::size_t start = i_;
      auto r = std::isalpha(static_cast<unsigned char>(s_[i_])) ? read_word() : read_number(start);
      if (!r) return tl::unexpected(r.error());
    }
    return resolve();
  }

 private:
  Error bad(const std::string& why) const { return Error{"invalid begin time " + quoted(text_) + ": " + why}; }
  void skip_space() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  std::string word() {
    const std::size_t start = i_;
    while (i_ < s_.size() && std::isalpha(static_cast<unsigned char>(s_[i_]))) ++i_;
    return s_.substr(start, i_ - start);
  }

  // now[+-N[units]], today, tomorrow, midnight, noon, fika or teatime.
  Result<void> read_word() {
    const std::string w = word();
    if (w == "now") return read_now();
    if (w == "today" || w == "tomorrow") {
      date_ = today_;
      year_given_ = true;
      if (w == "tomorrow") next_day_ = true;
    } else if (w == "midnight" || w == "noon" || w == "fika" || w == "teatime") {
      hour_ = w == "midnight" ? 0 : w == "noon" ? 12 : w == "fika" ? 15 : 16;
      minute_ = 0;
      second_ = 0;
    } else {
      return tl::unexpected(bad("unknown word " + quoted(w)));
    }
    return {};
  }

  // After "now": an offset, +N or -N with a unit (seconds when none).
  Result<void> read_now() {
    std::int64_t offset = 0;
    skip_space();
    if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) {
      const int sign = s_[i_] == '+' ? 1 : -1;
      ++i_;
      skip_space();
      const std::size_t d = i_;
      while (i_ < s_.size() && is_digit(s_[i_])) ++i_;
      auto n = number(std::string_view(s_).substr(d, i_ - d));
      if (!n) return tl::unexpected(bad("expected a number after now" + std::string(sign > 0 ? "+" : "-")));
      skip_space();
      const std::string unit = word();
      std::int64_t scale = 1;
      if (unit.empty() || unit == "second" || unit == "seconds") {
        scale = 1;
      } else if (unit == "minute" || unit == "minutes") {
        scale = 60;
      } else if (unit == "hour" || unit == "hours") {
        scale = 3600;
      } else if (unit == "day" || unit == "days") {
        scale = 86400;
      } else if (unit == "week" || unit == "weeks") {
        scale = 7 * 86400;
      } else {
        return tl::unexpected(bad("unknown unit " + quoted(unit) + " (seconds, minutes, hours, days or weeks)"));
      }
      if (*n > 1'000'000'000'000 / scale) return tl::unexpected(bad("too far away"));
      offset = sign * *n * scale;
    }
    at_ = clock_.now + offset;
    return {};
  }

  // A number from `start`: a time of day, a date, or both.
  Result<void> read_number(std::size_t start) {
    while (i_ < s_.size() && !std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
    std::string_view tok = std::string_view(s_).substr(start, i_ - start);
    Result<void> r;
    if (tok.find(':') != std::string_view::npos && tok.find('-') == std::string_view::npos) {
      r = set_time(tok);
    } else if (tok.size() >= 10 && tok[4] == '-' && tok[7] == '-') {
      // YYYY-MM-DD[THH:MM[:SS]]
      auto y = number(tok.substr(0, 4)), mo = number(tok.substr(5, 2)), d = number(tok.substr(8, 2));
      if (!y || !mo || !d || (tok.size() > 10 && tok[10] != 't')) {
        return tl::unexpected(bad("expected YYYY-MM-DD[THH:MM[:SS]]"));
      }
      r = set_date(static_cast<int>(*y), static_cast<int>(*mo), static_cast<int>(*d), true);
      if (r && tok.size() > 10) r = set_time(tok.substr(11));
    } else if (tok.find('/') != std::string_view::npos || tok.find('.') != std::string_view::npos) {
      // MM/DD[/YY] or MM.DD[.YY]
      const auto parts = split(tok, tok.find('/') != std::string_view::npos ? '/' : '.');
      std::optional<std::int64_t> mo, d, y;
      if (parts.size() >= 2 && parts.size() <= 3 && parts[0].size() <= 2 && parts[1].size() <= 2) {
        mo = number(parts[0]);
        d = number(parts[1]);
        if (parts.size() == 3) y = parts[2].size() == 2 ? number(parts[2]) : std::nullopt;
      }
      if (!mo || !d || (parts.size() == 3 && !y)) return tl::unexpected(bad("expected MM/DD[/YY] or MM.DD[.YY]"));
      r = set_date(parts.size() == 3 ? 2000 + static_cast<int>(*y) : today_.year, static_cast<int>(*mo),
                   static_cast<int>(*d), parts.size() == 3);
    } else if (tok.size() == 6 && all_digits(tok)) {
      // MMDDYY
      r = set_date(2000 + static_cast<int>(*number(tok.substr(4, 2))), static_cast<int>(*number(tok.substr(0, 2))),
                   static_cast<int>(*number(tok.substr(2, 2))), true);
    } else {
      return tl::unexpected(
          bad("unknown form " + quoted(tok) +
              " (HH:MM[:SS], midnight, noon, fika, teatime, today, tomorrow, now+N[units], MMDDYY, MM/DD[/YY], "
              "YYYY-MM-DD[THH:MM[:SS]])"));
    }
    if (!r) return tl::unexpected(bad(r.error().message));
    return {};
  }

  // HH:MM[:SS] with AM or PM after it or as the next word.
  Result<void> set_time(std::string_view t) {
    std::optional<int> meridiem;  // 0 am, 12 pm
    if (t.ends_with("am") || t.ends_with("pm")) {
      meridiem = t.ends_with("pm") ? 12 : 0;
      t.remove_suffix(2);
    } else {
      // "10:00 am": the meridiem may come as the next word
      std::size_t j = i_;
      while (j < s_.size() && std::isspace(static_cast<unsigned char>(s_[j]))) ++j;
      if (s_.compare(j, 2, "am") == 0 || s_.compare(j, 2, "pm") == 0) {
        if (j + 2 == s_.size() || std::isspace(static_cast<unsigned char>(s_[j + 2]))) {
          meridiem = s_[j] == 'p' ? 12 : 0;
          i_ = j + 2;
        }
      }
    }
    const auto parts = split(t, ':');
    if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[0].size() > 2 || parts[1].size() != 2 ||
        (parts.size() == 3 && parts[2].size() != 2)) {
      return fail("expected a time of day as HH:MM[:SS] [AM|PM]");
    }
    auto h = number(parts[0]), m = number(parts[1]);
    auto sec = parts.size() == 3 ? number(parts[2]) : std::optional<std::int64_t>(0);
    if (!h || !m || !sec || *m > 59 || *sec > 59) return fail("expected a time of day as HH:MM[:SS] [AM|PM]");
    if (meridiem) {
      if (*h > 12) return fail("an hour past 12 with AM or PM");
      *h = *h % 12 + *meridiem;
    } else if (*h > 23) {
      return fail("an hour past 23");
    }
    hour_ = static_cast<int>(*h);
    minute_ = static_cast<int>(*m);
    second_ = static_cast<int>(*sec);
    return {};
  }

  Result<void> set_date(int y, int mo, int d, bool with_year) {
    if (mo < 1 || mo > 12) return fail("month " + std::to_string(mo) + " does not exist");
    if (d < 1 || d > days_in_month(y, mo)) {
      return fail("day " + std::to_string(d) + " does not exist in month " + std::to_string(mo));
    }
    date_ = LocalTime{y, mo, d, 0, 0, 0};
    year_given_ = with_year;
    return {};
  }

  // What was read, as Unix seconds: a time of day already past is tomorrow's, a day without its
  // year already past is next year's.
  Result<std::int64_t> resolve() const {
    if (at_ && !date_ && !hour_) return *at_;
    if (at_) return tl::unexpected(bad("'now' does not combine with a date or a time of day"));
    LocalTime when = date_.value_or(today_);
    when.hour = hour_.value_or(0);
    when.minute = minute_.value_or(0);
    when.second = second_.value_or(0);
    std::int64_t t = clock_.from_local(when);
    if (next_day_) {
      ++when.day;
      t = clock_.from_local(when);  // mktime and timegm carry into the next month
    } else if (!date_ && t <= clock_.now) {
      ++when.day;  // a time of day already past: tomorrow
      t = clock_.from_local(when);
    } else if (date_ && !year_given_ && t < clock_.now) {
      ++when.year;  // a day without its year already past: next year
      t = clock_.from_local(when);
    }
    return t;
  }

  std::string_view text_;
  const Clock& clock_;
  const LocalTime today_;
  std::string s_;  // the text in lower case
  std::size_t i_ = 0;
  std::optional<LocalTime> date_;  // a day, with or without its year
  bool year_given_ = false;
  std::optional<int> hour_, minute_, second_;
  std::optional<std::int64_t> at_;  // now[+-N[units]]
  bool next_day_ = false;           // "tomorrow"
};

}  // namespace

Result<std::int64_t> parse_begin(std::string_view text, const Clock& clock) { return BeginReader(text, clock).read(); }

// ---- --export ------------------------------------------------------------------------------

Result<std::vector<std::string>> parse_propagate(std::string_view text) {
  std::vector<std::string> out;
  if (text.empty() || text == "ALL") {
    for (const api::Rlimit& r : api::kRlimits) out.emplace_back(r.name);
    return out;
  }
  if (text == "NONE") return out;
  for (std::string_view name : split(text, ',')) {
    if (std::none_of(std::begin(api::kRlimits), std::end(api::kRlimits),
                     [&](const api::Rlimit& r) { return name == r.name; })) {
      return fail(
          quoted(name) +
          " is not a resource limit (ALL, NONE, AS, CORE, CPU, DATA, FSIZE, MEMLOCK, NOFILE, NPROC, RSS or STACK)");
    }
    out.emplace_back(name);
  }
  return out;
}

std::string umask_text(unsigned mask) {
  std::string out = "0";
  for (int shift : {6, 3, 0}) out += static_cast<char>('0' + ((mask >> shift) & 7));
  return out;
}

Result<ExportSpec> parse_export(std::string_view text) {
  ExportSpec spec;
  spec.all = false;
  if (text.empty()) return fail("invalid --export '': expected ALL, NONE or a list of variables");
  bool none = false;
  std::size_t i = 0;
  const std::vector<std::string_view> items = split(text, ',');
  for (std::string_view item : items) {
    ++i;
    if (item == "ALL") {
      spec.all = true;
    } else if (item == "NONE") {
      none = true;
    } else {
      const std::size_t eq = item.find('=');
      const std::string_view name = item.substr(0, eq);
      if (name.empty() || is_digit(name.front()) || !std::all_of(name.begin(), name.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
          })) {
        return fail("invalid --export " + quoted(text) + ": " + quoted(item) + " is not a variable name");
      }
      if (eq == std::string_view::npos) {
        spec.vars.emplace_back(std::string(name), std::nullopt);
      } else {
        // A value may hold commas only as the list's last item: "A=1,2" is A=1 and a variable "2",
        // which is refused above, as Slurm would split it.
        spec.vars.emplace_back(std::string(name), std::string(item.substr(eq + 1)));
      }
    }
  }
  if (none && (spec.all || !spec.vars.empty())) {
    return fail("invalid --export " + quoted(text) + ": NONE takes no other names");
  }
  return spec;
}

}  // namespace gwang::slurm
