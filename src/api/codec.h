// A compact binary encoding: unsigned and zigzag varints, and strings written once and then
// referred to by number (a centre's jobs repeat their users, states, reasons, working directories
// and commands). The controller's snapshots and journal records and the agent protocol's binary
// form use it. Reading checks every length and reference against what is there: damaged data is an
// error with the byte offset, never a crash.
#pragma once

#include <cassert>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "api/utf8.h"

namespace gwang::api {

// `t` with each byte that is not part of a well-formed UTF-8 character replaced by U+FFFD.
inline std::string replace_bad_utf8(std::string_view t) {
  std::string out;
  out.reserve(t.size());
  for (std::size_t i = 0; i < t.size();) {
    const std::size_t n = utf8_sequence(t, i);
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
    auto it = index_.find(text);
    if (it == index_.end()) {
      std::string key = valid_utf8(text) ? std::string(text) : replace_bad_utf8(text);
      bool added = false;
      std::tie(it, added) = index_.try_emplace(std::move(key), table_.size());
      if (added) table_.push_back(&it->first);
    }
    u(it->second);
  }
  // Bytes of any kind (a task's output), written in place with their length: not in the table.
  void bytes(std::string_view raw) {
    u(raw.size());
    body_.append(raw);
  }
  // A place in what was written, and then, from there on, made into what bytes() writes: its
  // length put before it. So a part whose length is not known before it is written (a block of
  // records a decoder may skip, or read on another thread) is written in place.
  std::size_t mark() const { return body_.size(); }
  void prefix_length(std::size_t mark) {
    Encoder length;
    length.u(body_.size() - mark);
    body_.insert(mark, length.body_);
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
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view t) const { return std::hash<std::string_view>{}(t); }
  };
  std::unordered_map<std::string, std::uint64_t, Hash, std::equal_to<>> index_;
  std::vector<const std::string*> table_;
};

class Decoder {
 public:
  // Reads the magic and the string table; ok() is false if they are not there.
  Decoder(std::string_view data, std::string_view magic) : d_(data) {
    if (d_.substr(0, magic.size()) != magic) {
      fail("not data of this format");
      return;
    }
    at_ = magic.size();
    const std::uint64_t n = u();
    if (n > d_.size()) fail("a string table larger than the data");
    for (std::uint64_t k = 0; ok() && k < n; ++k) {
      const std::uint64_t len = u();
      if (!ok()) break;
      if (len > d_.size() - at_) {
        fail("a string past the end");
        break;
      }
      own_table_.emplace_back(d_.substr(at_, len));
      if (!valid_utf8(own_table_.back())) {
        fail("a string that is not UTF-8");  // everything stored came in as JSON, which is UTF-8
        break;
      }
      at_ += len;
    }
  }

  // A decoder of `part` (what bytes() gave of `whole`) with the string table of `whole`, which
  // must outlive it; offsets are counted from the start of `whole`, as in its errors.
  Decoder(const Decoder& whole, std::string_view part) : d_(whole.d_), table_(whole.table_) {
    const auto begin = static_cast<std::size_t>(part.data() - whole.d_.data());
    assert(part.data() >= whole.d_.data() && begin + part.size() <= whole.d_.size());
    d_ = whole.d_.substr(0, begin + part.size());
    at_ = begin;
  }
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

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
    if (k >= table_->size()) return fail("a reference to no string"), std::string_view();
    return (*table_)[k];
  }
  // What Encoder::bytes wrote.
  std::string_view bytes() {
    const std::uint64_t len = u();
    if (!ok()) return {};
    if (len > d_.size() - at_) return fail("bytes past the end"), std::string_view();
    const std::string_view out = d_.substr(at_, len);
    at_ += len;
    return out;
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
  std::vector<std::string_view> own_table_;
  const std::vector<std::string_view>* table_ = &own_table_;  // own_table_, or a whole's (see above)
  std::string error_;
};

// A count, then that many things read by `one`, stopping at the first damage: a count cannot make
// room for more than the data holds.
template <typename T, typename Read>
void decode_each(Decoder& d, std::vector<T>& out, Read one) {
  for (std::size_t n = d.count(); n > 0 && d.ok(); --n) one(out.emplace_back());
}

// Lists of strings, and of (name, value) pairs (an environment).
inline void encode_strings(Encoder& e, const std::vector<std::string>& list) {
  e.u(list.size());
  for (const std::string& t : list) e.s(t);
}
inline std::vector<std::string> decode_strings(Decoder& d) {
  std::vector<std::string> out;
  decode_each(d, out, [&](std::string& t) { t = d.s(); });
  return out;
}
// Lists of ints (CPU ids): a value out of an int's range leaves the decoder failed.
inline void encode_ints(Encoder& e, const std::vector<int>& list) {
  e.u(list.size());
  for (const int v : list) e.i(v);
}
inline std::vector<int> decode_ints(Decoder& d) {
  std::vector<int> out;
  decode_each(d, out, [&](int& v) {
    const std::int64_t x = d.i();
    if (x < std::numeric_limits<int>::min() || x > std::numeric_limits<int>::max()) d.fail("a value out of range");
    v = static_cast<int>(x);
  });
  return out;
}
inline void encode_pairs(Encoder& e, const std::vector<std::pair<std::string, std::string>>& pairs) {
  e.u(pairs.size());
  for (const auto& [k, v] : pairs) {
    e.s(k);
    e.s(v);
  }
}
inline std::vector<std::pair<std::string, std::string>> decode_pairs(Decoder& d) {
  std::vector<std::pair<std::string, std::string>> out;
  decode_each(d, out, [&](std::pair<std::string, std::string>& kv) {
    kv.first = d.s();
    kv.second = d.s();
  });
  return out;
}

}  // namespace gwang::api
