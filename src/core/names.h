// Enumerations and their names: one table per enumeration, looked up both ways. Internal to the
// core's .cpp files.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace gwang::core::names {

template <class E>
using Entry = std::pair<E, std::string_view>;

// The name of `value` in `table` ("?" if it has none).
template <class E, class Table>
std::string_view name_of(E value, const Table& table) {
  for (const auto& [v, text] : table) {
    if (v == value) return text;
  }
  return "?";
}

// The value named `text`, if the table has it.
template <class E, class Table>
std::optional<E> value_of(std::string_view text, const Table& table) {
  for (const auto& [v, name] : table) {
    if (name == text) return v;
  }
  return std::nullopt;
}

// Every name, separated by `separator`, the last two by `last` ("a, b or c").
template <class Table>
std::string list(const Table& table, std::string_view separator, std::string_view last) {
  std::string out;
  const std::size_t n = std::size(table);
  std::size_t i = 0;
  for (const auto& entry : table) {
    if (i > 0) out += i + 1 == n ? last : separator;
    out += entry.second;
    ++i;
  }
  return out;
}

}  // namespace gwang::core::names
