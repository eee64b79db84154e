// Well-formed UTF-8 (Unicode 15, table 3-7): what JSON, and so the API, can carry.
#pragma once

#include <cstddef>
#include <string_view>

namespace gwang::api {

// The length of the well-formed UTF-8 sequence that starts at text[at], or 0 when none does
// (a stray continuation byte, an overlong form, a surrogate, past U+10FFFF, cut short).
inline std::size_t utf8_sequence(std::string_view text, std::size_t at) {
  const auto c = static_cast<unsigned char>(text[at]);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 1;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 2;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 3;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (n >= text.size() - at) return 0;
  for (std::size_t k = 1; k <= n; ++k) {
    const auto d = static_cast<unsigned char>(text[at + k]);
    if (d < (k == 1 ? lo : 0x80) || d > (k == 1 ? hi : 0xBF)) return 0;
  }
  return n + 1;
}

// Whether text is all well-formed UTF-8; `bad` gets the offset of the first byte that is not.
inline bool valid_utf8(std::string_view text, std::size_t* bad = nullptr) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = utf8_sequence(text, i);
    if (n == 0) {
      if (bad) *bad = i;
      return false;
    }
    i += n;
  }
  return true;
}

}  // namespace gwang::api
