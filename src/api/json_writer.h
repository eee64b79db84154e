// A small streaming JSON writer: output built as text, no document in memory. Used where output is
// large or frequent (the job list, --json reports).
#pragma once

#include <charconv>
#include <cstdio>
#include <cmath>
#include <string>
#include <string_view>
#include <vector>

namespace gwang::api {

class Json {
 public:
  Json& begin_object() { value_prefix(); out_ += '{'; first_.push_back(true); return *this; }
  Json& end_object() { out_ += '}'; first_.pop_back(); return *this; }
  Json& begin_array() { value_prefix(); out_ += '['; first_.push_back(true); return *this; }
  Json& end_array() { out_ += ']'; first_.pop_back(); return *this; }

  Json& key(std::string_view k) {
    comma();
    string_literal(k);
    out_ += ':';
    after_key_ = true;
    return *this;
  }
  Json& value(std::string_view s) { value_prefix(); string_literal(s); return *this; }
  Json& value(const char* s) { return value(std::string_view(s)); }
  Json& value(bool b) { value_prefix(); out_ += b ? "true" : "false"; return *this; }
  Json& null() { value_prefix(); out_ += "null"; return *this; }
  // An array of strings.
  Json& strings(const std::vector<std::string>& items) {
    begin_array();
    for (const auto& s : items) value(s);
    return end_array();
  }
  Json& value(double d) {
    value_prefix();
    if (!std::isfinite(d)) {
      out_ += "null";
      return *this;
    }
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
    out_.append(buf, end);
    return *this;
  }
  template <class I>
    requires std::is_integral_v<I> && (!std::is_same_v<I, bool>)
  Json& value(I i) {
    value_prefix();
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, i);
    out_.append(buf, end);
    return *this;
  }
  template <class T>
  Json& field(std::string_view k, const T& v) { key(k); return value(v); }

  const std::string& str() const { return out_; }
  void reserve(std::size_t n) { out_.reserve(n); }

 private:
  void comma() {
    if (!first_.empty()) {
      if (!first_.back()) out_ += ',';
      first_.back() = false;
    }
  }
  void value_prefix() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    comma();
  }
  void string_literal(std::string_view s) {
    out_ += '"';
    for (char c : s) {
      switch (c) {
        case '"': out_ += "\\\""; break;
        case '\\': out_ += "\\\\"; break;
        case '\n': out_ += "\\n"; break;
        case '\t': out_ += "\\t"; break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out_ += buf;
          } else {
            out_ += c;
          }
      }
    }
    out_ += '"';
  }

  std::string out_;
  std::vector<bool> first_;
  bool after_key_ = false;
};

}  // namespace gwang::api
