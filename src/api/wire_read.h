// Reading the API's JSON into wire types strictly: a field that is missing or of the wrong type is
// an error naming it ("jobs[3].start_time: expected an integer or null"), never a silent default.
// For the .cpp files of src/api only (it includes nlohmann/json.hpp).
#pragma once

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace gwang::api::wire {

// The fields of one JSON object; the first failure is kept and the rest of the reads do nothing.
class Fields {
 public:
  Fields(const nlohmann::json& j, std::string where) : j_(j), where_(std::move(where)) {
    if (!j_.is_object()) error_ = where_ + ": expected an object";
  }

  // A field that must be there.
  template <class T>
  Fields& need(const char* key, T& out) {
    if (error_) return *this;
    const auto it = j_.find(key);
    if (it == j_.end()) {
      error_ = where_ + "." + key + ": missing";
    } else {
      read(*it, key, out);
    }
    return *this;
  }
  // A field written only when it is not its default: absent leaves `out` as it is.
  template <class T>
  Fields& may(const char* key, T& out) {
    if (error_) return *this;
    const auto it = j_.find(key);
    if (it != j_.end()) read(*it, key, out);
    return *this;
  }
  // A time that must be there: a Unix time, or null for "not yet" (-1).
  Fields& time(const char* key, std::int64_t& out) {
    if (error_) return *this;
    const auto it = j_.find(key);
    if (it == j_.end()) {
      error_ = where_ + "." + key + ": missing";
    } else if (it->is_null()) {
      out = -1;
    } else if (it->is_number_integer()) {
      out = it->get<std::int64_t>();
    } else {
      wrong(key, "an integer or null");
    }
    return *this;
  }
  // A name one of `parse`'s; anything else is an error that quotes it.
  template <class E, class Parse>
  Fields& name(const char* key, E& out, Parse parse, bool required = true) {
    if (error_) return *this;
    const auto it = j_.find(key);
    if (it == j_.end()) {
      if (required) error_ = where_ + "." + key + ": missing";
    } else if (!it->is_string()) {
      wrong(key, "a string");
    } else if (const auto v = parse(it->template get_ref<const std::string&>())) {
      out = *v;
    } else {
      error_ = where_ + "." + key + ": unknown value '" + it->template get<std::string>() + "'";
    }
    return *this;
  }

  const std::string& where() const { return where_; }
  bool ok() const { return !error_; }
  void fail(std::string message) {
    if (!error_) error_ = std::move(message);
  }
  // The failure of the fields of an object inside this one, where they failed.
  void fail_with(const Fields& inner) {
    if (inner.error_) fail(*inner.error_);
  }
  // The error as a Result's, or `value` when all went well.
  template <class T>
  Result<T> result(T value) const {
    if (error_) return gwang::fail(*error_);
    return value;
  }

 private:
  void wrong(const char* key, const char* expected) { error_ = where_ + "." + key + ": expected " + expected; }
  void read(const nlohmann::json& v, const char* key, std::int64_t& out) {
    v.is_number_integer() ? void(out = v.get<std::int64_t>()) : wrong(key, "an integer");
  }
  void read(const nlohmann::json& v, const char* key, int& out) {
    if (!v.is_number_integer()) return wrong(key, "an integer");
    const std::int64_t n = v.get<std::int64_t>();
    if (n < std::numeric_limits<int>::min() || n > std::numeric_limits<int>::max()) return wrong(key, "a 32-bit integer");
    out = static_cast<int>(n);
  }
  void read(const nlohmann::json& v, const char* key, double& out) {
    v.is_number() ? void(out = v.get<double>()) : wrong(key, "a number");
  }
  void read(const nlohmann::json& v, const char* key, bool& out) {
    v.is_boolean() ? void(out = v.get<bool>()) : wrong(key, "true or false");
  }
  void read(const nlohmann::json& v, const char* key, std::string& out) {
    v.is_string() ? void(out = v.get<std::string>()) : wrong(key, "a string");
  }
  void read(const nlohmann::json& v, const char* key, std::vector<std::string>& out) {
    if (!v.is_array()) return wrong(key, "an array of strings");
    out.clear();
    for (const auto& s : v) {
      if (!s.is_string()) return wrong(key, "an array of strings");
      out.push_back(s.get<std::string>());
    }
  }
  void read(const nlohmann::json& v, const char* key, std::vector<std::int64_t>& out) {
    if (!v.is_array()) return wrong(key, "an array of integers");
    out.clear();
    for (const auto& s : v) {
      if (!s.is_number_integer()) return wrong(key, "an array of integers");
      out.push_back(s.get<std::int64_t>());
    }
  }

  const nlohmann::json& j_;
  std::string where_;
  std::optional<std::string> error_;
};

}  // namespace gwang::api::wire
