#include "api/job_table.h"

#include <charconv>

#include "api/utf8.h"

namespace gwang::api {

namespace {

class Scanner {
 public:
  explicit Scanner(std::string_view text) : s_(text) {}

  std::string error;

  void space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')) ++i_;
  }
  bool at(char c) {
    space();
    return i_ < s_.size() && s_[i_] == c;
  }
  bool take(char c) {
    if (!at(c)) return expected(std::string("'") + c + "'");
    ++i_;
    return true;
  }
  bool expected(const std::string& what) { return expected_at(i_, what); }
  bool expected_at(std::size_t at, const std::string& what) {
    if (error.empty()) error = "byte " + std::to_string(at) + ": expected " + what;
    return false;
  }
  std::size_t position() {
    space();
    return i_;
  }
  bool done() {
    space();
    return i_ == s_.size() || expected("the end");
  }
  // An integer, or null (as -1) where `nullable`.
  bool integer(std::int64_t& out, bool nullable) {
    space();
    if (nullable && s_.substr(i_, 4) == "null") {
      i_ += 4;
      out = -1;
      return true;
    }
    const std::size_t length = number_length();
    const auto [end, ec] = std::from_chars(s_.data() + i_, s_.data() + s_.size(), out);
    if (length == 0 || ec != std::errc() || end != s_.data() + i_ + length) {
      return expected(nullable ? "an integer or null" : "an integer");
    }
    i_ += length;
    return true;
  }
  bool string(std::string& out) {
    if (!take('"')) return expected("a string");
    out.clear();
    while (true) {
      const std::size_t from = i_;
      if (!plain()) return false;
      out.append(s_.data() + from, i_ - from);
      if (i_ >= s_.size()) return expected("the end of a string");
      if (s_[i_++] == '"') return true;
      if (i_ >= s_.size()) return expected("an escape");
      const char e = s_[i_++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          std::uint32_t cp = 0;
          if (!hex4(cp)) return false;
          if (cp >= 0xD800 && cp < 0xDC00) {  // a surrogate pair
            std::uint32_t low = 0;
            if (s_.substr(i_, 2) != "\\u") return expected("the second half of a surrogate pair");
            i_ += 2;
            if (!hex4(low) || low < 0xDC00 || low >= 0xE000) return expected("a low surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp < 0xE000) {
            return expected("a high surrogate first");
          }
          utf8(cp, out);
          break;
        }
        default:
          --i_;
          return expected("an escape");
      }
    }
  }
  bool key(std::string& out) { return string(out) && take(':'); }
  // Skips one value of any kind (a key the reader does not know).
  bool skip() {
    space();
    if (i_ >= s_.size()) return expected("a value");
    const char c = s_[i_];
    if (c == '"') {
      std::string ignored;
      return string(ignored);
    }
    if (c == '[' || c == '{') {
      const char close = c == '[' ? ']' : '}';
      ++i_;
      if (at(close)) return take(close);
      do {
        if (c == '{') {
          std::string k;
          if (!key(k)) return false;
        }
        if (!skip()) return false;
      } while (at(',') && take(','));
      return take(close);
    }
    for (std::string_view word : {"null", "true", "false"}) {
      if (s_.substr(i_, word.size()) == word) {
        i_ += word.size();
        return true;
      }
    }
    const std::size_t length = number_length(true);
    if (length == 0) return expected("a value");
    i_ += length;
    return true;
  }

 private:
  // The length of the JSON number at the cursor, 0 if there is none: -?(0|[1-9][0-9]*), and with
  // `fraction`, then (.[0-9]+)?([eE][+-]?[0-9]+)?.
  std::size_t number_length(bool fraction = false) const {
    std::size_t k = i_;
    auto digit = [&](std::size_t at) { return at < s_.size() && s_[at] >= '0' && s_[at] <= '9'; };
    if (k < s_.size() && s_[k] == '-') ++k;
    if (!digit(k)) return 0;
    if (s_[k] == '0') {
      ++k;
    } else {
      while (digit(k)) ++k;
    }
    if (fraction && k < s_.size() && s_[k] == '.') {
      if (!digit(++k)) return 0;
      while (digit(k)) ++k;
    }
    if (fraction && k < s_.size() && (s_[k] == 'e' || s_[k] == 'E')) {
      ++k;
      if (k < s_.size() && (s_[k] == '+' || s_[k] == '-')) ++k;
      if (!digit(k)) return 0;
      while (digit(k)) ++k;
    }
    return k - i_;
  }

  // Moves past the characters of a string up to a quote, a backslash or the end: UTF-8, and no
  // control character (JSON wants those escaped).
  bool plain() {
    while (i_ < s_.size()) {
      const auto c = static_cast<unsigned char>(s_[i_]);
      if (c == '"' || c == '\\') return true;
      if (c < 0x20) return expected("no control character in a string");
      if (c < 0x80) {
        ++i_;
        continue;
      }
      const std::size_t n = utf8_sequence(s_, i_);
      if (n == 0) return expected("UTF-8");
      i_ += n;
    }
    return true;
  }

  bool hex4(std::uint32_t& out) {
    if (i_ + 4 > s_.size()) return expected("four hex digits");
    const auto [end, ec] = std::from_chars(s_.data() + i_, s_.data() + i_ + 4, out, 16);
    if (ec != std::errc() || end != s_.data() + i_ + 4) return expected("four hex digits");
    i_ += 4;
    return true;
  }
  static void utf8(std::uint32_t cp, std::string& out) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

bool read_row(Scanner& in, JobTable::Row& r) {
  // Indices and times are never negative (-1 stands for null).
  auto index = [&](std::int64_t& out) {
    const std::size_t at = in.position();
    return in.integer(out, false) && (out >= 0 || in.expected_at(at, "an index (0 or more)"));
  };
  auto time = [&](std::int64_t& out) {
    const std::size_t at = in.position();
    const bool null = in.at('n');
    return in.integer(out, true) && (null || out >= 0 || in.expected_at(at, "a time (0 or more) or null"));
  };
  return in.take('[') && in.integer(r.id, false) && in.take(',') && index(r.name) && in.take(',') && index(r.user) &&
         in.take(',') && index(r.state) && in.take(',') && index(r.reason) && in.take(',') && time(r.start) &&
         in.take(',') && time(r.end) && in.take(',') && in.string(r.node) && in.take(']');
}

}  // namespace

const std::string& JobTable::text(std::int64_t i) const {
  static const std::string unknown = "?";
  return i >= 0 && static_cast<std::size_t>(i) < strings.size() ? strings[static_cast<std::size_t>(i)] : unknown;
}

Result<JobTable> read_job_table(std::string_view body) {
  JobTable t;
  Scanner in(body);
  auto failed = [&]() -> Result<JobTable> { return fail("job table: " + in.error); };
  if (!in.take('{')) return failed();
  bool any = false;
  std::string k;
  while (!in.at('}')) {
    if (any && !in.at(',')) {
      in.expected("',' or '}'");
      return failed();
    }
    if (any) in.take(',');
    any = true;
    if (!in.key(k)) return failed();
    if (k == "strings") {
      if (!in.take('[')) return failed();
      if (!in.at(']')) {
        do {
          if (!in.string(t.strings.emplace_back())) return failed();
        } while (in.at(',') && in.take(','));
      }
      if (!in.at(']')) in.expected("',' or ']'");
      if (!in.take(']')) return failed();
    } else if (k == "rows") {
      if (!in.take('[')) return failed();
      if (!in.at(']')) {
        do {
          if (!read_row(in, t.rows.emplace_back())) return failed();
        } while (in.at(',') && in.take(','));
      }
      if (!in.at(']')) in.expected("',' or ']'");
      if (!in.take(']')) return failed();
    } else if (!in.skip()) {
      return failed();
    }
  }
  if (!in.take('}') || !in.done()) return failed();
  return t;
}

}  // namespace gwang::api
