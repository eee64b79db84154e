// A compact binary encoding for the controller's snapshots: unsigned and zigzag varints, and
// strings written once and then referred to by number (a centre's jobs repeat their users, states,
// reasons, working directories and commands). Reading checks every length and reference against
// what is there: a damaged snapshot is an error with the byte offset, never a crash.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

namespace gwang::controller {

// The length of the well-formed UTF-8 character at `t[i]` (1 to 4), or 0 where there is none.
inline std::size_t utf8_char(std::string_view t, std::size_t i) {
  const auto c = static_cast<unsigned char>(t[i]);
  const std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || i + n > t.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(t[i + k]) & 0xC0) != 0x80) return 0;
  }
  if (n > 1) {
    std::uint32_t cp = c & (0x7F >> n);
    for (std::size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(t[i + k]) & 0x3F);
    static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  }
  return n;
}

inline bool utf8(std::string_view t) {
  for (std::size_t i = 0; i < t.size();) {
    const std::size_t n = utf8_char(t, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

// `t` with each byte that is not part of a well-formed UTF-8 character replaced by U+FFFD.
inline std::string valid_utf8(std::string_view t) {
  std::string out;
  out.reserve(t.size());
  for (std::size_t i = 0; i < t.size();) {
    const std::size_t n = utf8_char(t, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(t, i, n);
      i += n;
    }
  }
  return out;
}

class Encoder {
 public:
  void u(std::uint64_t v) {
    while (v >= 0x80) {
      body_ += static_cast<char>(v | 0x80);
      v >>= 7;
    }
    body_ += static_cast<char>(v);
  }
  void i(std::int64_t v) { u((static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63)); }
  void f(double v) {
    char raw[sizeof v];
    std::memcpy(raw, &v, sizeof v);
    body_.append(raw, sizeof v);
  }
  // A string, as a reference into the table. The decoder takes UTF-8 alone (everything stored
  // comes in as JSON, which is UTF-8): a string that is not, such as a message with a file name
  // of other bytes, is stored with U+FFFD in place of each byte that does not belong.
  // Only a string not in the table yet is checked: a repeated one costs a look-up.
  void s(std::string_view text) {
    std::string key(text);
    auto it = index_.find(key);
    if (it == index_.end()) {
      if (!utf8(key)) key = valid_utf8(key);
      bool added = false;
      std::tie(it, added) = index_.try_emplace(std::move(key), table_.size());
      if (added) table_.push_back(&it->first);
    }
    u(it->second);
  }
  // `magic`, the string table, then what was written: the whole encoding.
  std::string finish(std::string_view magic) const {
    Encoder head;
    head.body_.append(magic);
    head.u(table_.size());
    for (const std::string* t : table_) {
      head.u(t->size());
      head.body_ += *t;
    }
    return head.body_ + body_;
  }

 private:
  std::string body_;
  std::unordered_map<std::string, std::uint64_t> index_;
  std::vector<const std::string*> table_;
};

class Decoder {
 public:
  // Reads the magic and the string table; ok() is false if they are not there.
  Decoder(std::string_view data, std::string_view magic) : d_(data) {
    if (d_.substr(0, magic.size()) != magic) {
      fail("not a snapshot of this format");
      return;
    }
    at_ = magic.size();
    const std::uint64_t n = u();
    if (n > d_.size()) fail("a string table larger than the snapshot");
    for (std::uint64_t k = 0; ok() && k < n; ++k) {
      const std::uint64_t len = u();
      if (!ok()) break;
      if (len > d_.size() - at_) {
        fail("a string past the end");
        break;
      }
      table_.emplace_back(d_.substr(at_, len));
      if (!utf8(table_.back())) {
        fail("a string that is not UTF-8");  // everything stored came in as JSON, which is UTF-8
        break;
      }
      at_ += len;
    }
  }

  bool ok() const { return error_.empty(); }
  bool at_end() const { return at_ == d_.size(); }
  const std::string& error() const { return error_; }
  std::size_t offset() const { return at_; }

  std::uint64_t u() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (at_ >= d_.size()) return fail("the end of the data in a number"), 0;
      const auto byte = static_cast<unsigned char>(d_[at_++]);
      v |= static_cast<std::uint64_t>(byte & 0x7F) << shift;
      if (!(byte & 0x80)) return v;
    }
    return fail("a number longer than 64 bits"), 0;
  }
  std::int64_t i() {
    const std::uint64_t z = u();
    return static_cast<std::int64_t>(z >> 1) ^ -static_cast<std::int64_t>(z & 1);
  }
  // An unsigned number no larger than `max` (a count, an int field).
  std::uint64_t u(std::uint64_t max) {
    const std::uint64_t v = u();
    if (v > max) return fail("a value out of range"), 0;
    return v;
  }
  double f() {
    double v = 0;
    if (d_.size() - at_ < sizeof v) return fail("the end of the data in a number"), 0;
    std::memcpy(&v, d_.data() + at_, sizeof v);
    at_ += sizeof v;
    return v;
  }
  std::string_view s() {
    const std::uint64_t k = u();
    if (!ok()) return {};
    if (k >= table_.size()) return fail("a reference to no string"), std::string_view();
    return table_[k];
  }
  // A count of things that each take at least one byte: no larger than what is left.
  std::size_t count() { return static_cast<std::size_t>(u(d_.size() - at_)); }
  // Marks the data damaged (the first such mark is the error), at the byte read last.
  void fail(const std::string& what) {
    if (error_.empty()) error_ = "byte " + std::to_string(at_) + ": " + what;
  }

 private:


  std::string_view d_;
  std::size_t at_ = 0;
  std::vector<std::string_view> table_;
  std::string error_;
};

}  // namespace gwang::controller
