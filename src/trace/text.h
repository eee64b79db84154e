// Small text helpers shared by the trace readers (internal to gwang_trace).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace gwang::trace::detail {

// Walks a text line by line. Accepts "\n" and "\r\n" endings; the last line may lack one.
class Lines {
 public:
  explicit Lines(std::string_view text) : text_(text) {}
  // Sets `line` to the next line (without its ending) and returns true; false at the end.
  bool next(std::string_view& line) {
    if (pos_ >= text_.size()) return false;
    const size_t end = text_.find('\n', pos_);
    const size_t stop = end == std::string_view::npos ? text_.size() : end;
    line = text_.substr(pos_, stop - pos_);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos_ = end == std::string_view::npos ? text_.size() : end + 1;
    ++number_;
    return true;
  }
  int number() const { return number_; }  // 1-based number of the line last returned

 private:
  std::string_view text_;
  size_t pos_ = 0;
  int number_ = 0;
};

// Blank characters inside a line: space, tab, and the CR of a CRLF ending (a table: this test runs
// on every byte of multi-megabyte traces).
inline constexpr struct SpaceTable {
  bool is[256] = {};
  constexpr SpaceTable() {
    for (unsigned char c : {' ', '\t', '\r', '\v', '\f'}) is[c] = true;
  }
} kSpaces{};

inline bool is_space(char c) { return kSpaces.is[static_cast<unsigned char>(c)]; }

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// The token in double quotes for an error message: bytes that are not printable ASCII are written
// as \xNN, and a long token is cut (with "...") so that one bad line cannot flood a message.
inline std::string quoted(std::string_view token) {
  constexpr size_t kMax = 40;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (size_t i = 0; i < token.size() && i < kMax; ++i) {
    const auto c = static_cast<unsigned char>(token[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (token.size() > kMax) out += "...";
  out += '"';
  return out;
}

}  // namespace gwang::trace::detail
