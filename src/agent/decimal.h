// Decimal text of a number without allocating or locking: usable between fork and exec, where
// only async-signal-safe calls are allowed.
#pragma once

namespace gwang::agent {

// Writes the decimal digits of `value` (not negative) to `out`, which must hold 20 characters;
// returns how many were written.
inline int format_decimal(long value, char* out) noexcept {
  char digits[20];
  int d = 0;
  do {
    digits[d++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value > 0);
  int n = 0;
  while (d > 0) out[n++] = digits[--d];
  return n;
}

}  // namespace gwang::agent
