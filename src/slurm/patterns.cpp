// sbatch's file name patterns (-o, -e, -i): %j, %A, %a, %J, %s, %x, %u, %N, %n, %t and %%, each
// with a width (%4a), expanded for one task of a job.

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "slurm/specs.h"

namespace gwang::slurm {

std::string expand_pattern(std::string_view pattern, const PatternContext& ctx) {
  if (pattern.find('\\') != std::string_view::npos) {
    std::string out;
    for (char c : pattern) {
      if (c != '\\') out += c;
    }
    return out;
  }
  std::string out;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '%' || i + 1 == pattern.size()) {
      out += pattern[i];
      continue;
    }
    std::size_t j = i + 1;
    int width = 0;
    while (j < pattern.size() && (pattern[j] >= '0' && pattern[j] <= '9') && width < 100)
      width = width * 10 + (pattern[j++] - '0');
    if (j == pattern.size()) {
      out.append(pattern.substr(i));
      break;
    }
    auto padded = [&](std::int64_t n) {
      std::string s = std::to_string(n);
      if (static_cast<int>(s.size()) < std::min(width, 10)) s.insert(0, std::min(width, 10) - s.size(), '0');
      return s;
    };
    switch (pattern[j]) {
      case '%':
        out += '%';
        break;
      case 'A':
        out += padded(ctx.array_job_id);
        break;
      case 'a':
        out += ctx.array_task ? padded(*ctx.array_task) : padded(4294967294LL);
        break;
      case 'J':
        out += padded(ctx.job_id) + "." + ctx.step;
        break;
      case 'j':
        out += padded(ctx.job_id);
        break;
      case 'N':
        out += ctx.node;
        break;
      case 'n':
        out += padded(ctx.node_index);
        break;
      case 's':
        out += ctx.step;
        break;
      case 't':
        out += padded(ctx.task);
        break;
      case 'u':
        out += ctx.user;
        break;
      case 'x':
        out += ctx.job_name;
        break;
      default:
        out.append(pattern.substr(i, j - i + 1));
        break;  // not a replacement: kept as written
    }
    i = j;
  }
  return out;
}

}  // namespace gwang::slurm
