// Ascending integers written as ranges, "0-3,8,10-11": the kernel's CPU lists, and Slurm's task ids
// and array indices.
#pragma once

#include <span>
#include <string>

namespace gwang::core {

template <class Int>
std::string format_ranges(std::span<const Int> ids) {
  std::string out;
  for (std::size_t i = 0; i < ids.size();) {
    std::size_t j = i;
    while (j + 1 < ids.size() && ids[j + 1] == ids[j] + 1) ++j;
    out += (out.empty() ? "" : ",") + std::to_string(ids[i]);
    if (j > i) out += "-" + std::to_string(ids[j]);
    i = j + 1;
  }
  return out;
}

}  // namespace gwang::core
