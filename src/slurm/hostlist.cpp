#include "slurm/hostlist.h"

#include <algorithm>
#include <cctype>

namespace gwang::slurm {

namespace {

constexpr std::uint64_t kMaxRange = 65536;  // names in one range, as Slurm
constexpr std::size_t kMaxDigits = 18;      // a longer number is part of the name

bool digit(char c) { return c >= '0' && c <= '9'; }

// Leading zeros that `width` gives `n`.
int zero_padding(std::uint64_t n, int width) {
  int digits = 1;
  while (n /= 10) ++digits;
  return width > digits ? width - digits : 0;
}

// Whether numbers of widths `wn` and `wm` can share a range; may make one width the other's
// (9 of width 1 and 10 of width 2 join as width 1; 09 and 10 as width 2).
bool widths_combine(std::uint64_t n, int& wn, std::uint64_t m, int& wm) {
  if (wn == wm) return true;
  const bool n_same = zero_padding(n, wn) == zero_padding(n, wm);
  const bool m_same = zero_padding(m, wm) == zero_padding(m, wn);
  if (!n_same && !m_same) return false;
  if (!n_same) {
    wm = wn;
  } else {
    wn = wm;
  }
  return true;
}

std::string number(std::uint64_t n, int width) {
  std::string s = std::to_string(n);
  if (static_cast<int>(s.size()) < width) s.insert(0, static_cast<std::size_t>(width) - s.size(), '0');
  return s;
}

// "a1" < "a2" < "a10" < "b": digit runs compare as numbers.
int natural_compare(const std::string& a, const std::string& b) {
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (digit(a[i]) && digit(b[j])) {
      std::size_t ie = i, je = j;
      while (ie < a.size() && digit(a[ie])) ++ie;
      while (je < b.size() && digit(b[je])) ++je;
      std::string_view x(a.data() + i, ie - i), y(b.data() + j, je - j);
      while (x.size() > 1 && x.front() == '0') x.remove_prefix(1);
      while (y.size() > 1 && y.front() == '0') y.remove_prefix(1);
      if (x.size() != y.size()) return x.size() < y.size() ? -1 : 1;
      if (const int c = x.compare(y); c != 0) return c < 0 ? -1 : 1;
      i = ie;
      j = je;
    } else {
      if (a[i] != b[j]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[j]) ? -1 : 1;
      ++i;
      ++j;
    }
  }
  return i < a.size() ? 1 : j < b.size() ? -1 : 0;
}

Result<std::uint64_t> parse_number(std::string_view s, std::string_view token) {
  if (s.empty()) return fail("empty range in '" + std::string(token) + "'");
  if (s.size() > kMaxDigits) return fail("number too large in '" + std::string(token) + "'");
  std::uint64_t n = 0;
  for (char c : s) {
    if (!digit(c)) return fail("bad range '" + std::string(s) + "' in '" + std::string(token) + "'");
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return n;
}

}  // namespace

void HostList::push(Range r) {
  if (!ranges_.empty()) {
    Range& tail = ranges_.back();
    if (!tail.single && !r.single && tail.prefix == r.prefix && tail.hi + 1 == r.lo &&
        widths_combine(tail.lo, tail.width, r.lo, r.width)) {
      tail.hi = r.hi;
      return;
    }
  }
  ranges_.push_back(std::move(r));
}

void HostList::push(std::string_view host) {
  std::size_t start = host.size();
  while (start > 0 && digit(host[start - 1])) --start;
  Range r;
  if (start == host.size() || host.size() - start > kMaxDigits) {
    r.prefix = std::string(host);
    r.single = true;
  } else {
    r.prefix = std::string(host.substr(0, start));
    r.width = static_cast<int>(host.size() - start);
    for (char c : host.substr(start)) r.lo = r.lo * 10 + static_cast<std::uint64_t>(c - '0');
    r.hi = r.lo;
  }
  push(std::move(r));
}

Result<HostList> HostList::parse(std::string_view text, std::size_t max_hosts) {
  HostList out;
  std::size_t total = 0;
  auto separator = [](char c) { return c == ',' || std::isspace(static_cast<unsigned char>(c)); };
  std::size_t i = 0;
  while (i < text.size()) {
    if (separator(text[i])) {
      ++i;
      continue;
    }
    // One name or bracketed range: up to a separator outside brackets.
    const std::size_t start = i;
    int depth = 0;
    while (i < text.size() && (depth > 0 || !separator(text[i]))) {
      if (text[i] == '[') ++depth;
      if (text[i] == ']') --depth;
      if (depth < 0) break;
      ++i;
    }
    const std::string_view token = text.substr(start, i - start);
    const std::string where = "'" + std::string(token) + "' (at character " + std::to_string(start + 1) + ")";
    if (depth < 0) return fail("']' without '[' in " + where);
    const std::size_t open = token.find('[');
    if (open == std::string_view::npos) {
      ++total;
      if (total > max_hosts) return fail("more than " + std::to_string(max_hosts) + " names");
      out.push(token);
      continue;
    }
    const std::size_t close = token.find(']', open);
    if (close == std::string_view::npos) return fail("no ']' closes the '[' of " + where);
    if (token.substr(0, open).find(']') != std::string_view::npos) return fail("']' without '[' in " + where);
    // The numbers of one bracket: "1-3,7" -> (lo, hi, width) ranges.
    struct Span {
      std::uint64_t lo, hi;
      int width;
    };
    auto spans = [&](std::string_view ranges) -> Result<std::vector<Span>> {
      std::vector<Span> out;
      for (;;) {
        const std::size_t comma = ranges.find(',');
        const std::string_view one = ranges.substr(0, comma);
        const std::size_t dash = one.find('-');
        const std::string_view lo_text = one.substr(0, dash);
        auto lo = parse_number(lo_text, token);
        if (!lo) return fail(lo.error().message + " (at character " + std::to_string(start + 1) + ")");
        std::uint64_t hi = *lo;
        if (dash != std::string_view::npos) {
          auto h = parse_number(one.substr(dash + 1), token);
          if (!h) return fail(h.error().message + " (at character " + std::to_string(start + 1) + ")");
          hi = *h;
        }
        if (hi < *lo) return fail("backward range '" + std::string(one) + "' in " + where);
        if (hi - *lo + 1 > kMaxRange) {
          return fail("too many names in range '" + std::string(one) + "' of " + where + ": at most " +
                      std::to_string(kMaxRange));
        }
        out.push_back({*lo, hi, static_cast<int>(lo_text.size())});
        if (comma == std::string_view::npos) return out;
        ranges.remove_prefix(comma + 1);
      }
    };
    const std::string prefix(token.substr(0, open));
    auto first = spans(token.substr(open + 1, close - open - 1));
    if (!first) return tl::unexpected(first.error());
    if (close + 1 == token.size()) {
      for (const Span& sp : *first) {
        total += sp.hi - sp.lo + 1;
        if (total > max_hosts) return fail("more than " + std::to_string(max_hosts) + " names");
        out.push(Range{prefix, sp.lo, sp.hi, sp.width, false});
      }
      continue;
    }
    // Two brackets, "rack[1-2]-n[01-04]": every name of the first with every one of the second,
    // the first's the outer loop (as Slurm expands them). Text after the last bracket, or a third
    // bracket, is refused, as Slurm refuses "x[1-3]y".
    const std::size_t open2 = token.find('[', close + 1), close2 = token.find(']', close + 1);
    if (open2 == std::string_view::npos || close2 == std::string_view::npos || close2 < open2) {
      return fail("text after ']' in " + where);
    }
    if (token.find('[', open2 + 1) != std::string_view::npos) {
      return fail("more than two brackets in " + where + " (gwang takes one or two)");
    }
    if (close2 + 1 != token.size()) return fail("text after the second ']' in " + where);
    const std::string middle(token.substr(close + 1, open2 - close - 1));
    auto second = spans(token.substr(open2 + 1, close2 - open2 - 1));
    if (!second) return tl::unexpected(second.error());
    auto number = [](std::uint64_t n, int width) {
      std::string digits = std::to_string(n);
      if (static_cast<int>(digits.size()) < width)
        digits.insert(0, static_cast<std::size_t>(width) - digits.size(), '0');
      return digits;
    };
    std::uint64_t inner = 0;
    for (const Span& b : *second) inner += b.hi - b.lo + 1;
    for (const Span& a : *first) {
      for (std::uint64_t x = a.lo; x <= a.hi; ++x) {
        total += inner;
        if (total > max_hosts) return fail("more than " + std::to_string(max_hosts) + " names");
        // The second bracket stays a range of its own (Slurm prints "a1[3-4]", not "a[13-14]").
        for (const Span& b : *second) out.push(Range{prefix + number(x, a.width) + middle, b.lo, b.hi, b.width, false});
      }
    }
  }
  return out;
}

void HostList::sort() {
  std::vector<Range> ranges = std::move(ranges_);
  std::stable_sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) {
    if (const int c = natural_compare(a.prefix, b.prefix); c != 0) return c < 0;
    if (a.single != b.single) return a.single;
    if (a.width != b.width) {
      int wa = a.width, wb = b.width;
      if (!widths_combine(a.lo, wa, b.lo, wb)) return a.width < b.width;
    }
    return a.lo < b.lo;
  });
  ranges_.clear();
  for (Range& r : ranges) push(std::move(r));
}

std::size_t HostList::size() const {
  std::size_t n = 0;
  for (const Range& r : ranges_) n += r.single ? 1 : static_cast<std::size_t>(r.hi - r.lo + 1);
  return n;
}

std::vector<std::string> HostList::expand() const {
  std::vector<std::string> out;
  out.reserve(size());
  for (const Range& r : ranges_) {
    if (r.single) {
      out.push_back(r.prefix);
      continue;
    }
    for (std::uint64_t n = r.lo;; ++n) {
      out.push_back(r.prefix + number(n, r.width));
      if (n == r.hi) break;
    }
  }
  return out;
}

std::string HostList::str() const {
  std::string out;
  auto within = [&](std::size_t a, std::size_t b) {
    return !ranges_[a].single && !ranges_[b].single && ranges_[a].prefix == ranges_[b].prefix;
  };
  for (std::size_t i = 0; i < ranges_.size();) {
    if (!out.empty()) out += ',';
    const Range& first = ranges_[i];
    const bool brackets = !first.single && (first.hi > first.lo || (i + 1 < ranges_.size() && within(i, i + 1)));
    out += first.prefix;
    if (brackets) out += '[';
    std::size_t j = i;
    do {
      const Range& r = ranges_[j];
      if (j > i) out += ',';
      if (!r.single) {
        out += number(r.lo, r.width);
        if (r.hi > r.lo) out += "-" + number(r.hi, r.width);
      }
      ++j;
    } while (brackets && j < ranges_.size() && within(j - 1, j));
    if (brackets) out += ']';
    i = j;
  }
  return out;
}

std::string compress_hosts(const std::vector<std::string>& hosts) {
  HostList list;
  for (const std::string& h : hosts) list.push(h);
  return list.str();
}

}  // namespace gwang::slurm
