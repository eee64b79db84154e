#include <unistd.h>

#include <cstdio>

#include "cli/commands.h"

namespace gwang::cli {

Progress::Progress(bool quiet, std::size_t total) : on_(!quiet && isatty(STDERR_FILENO)), total_(total) {}

void Progress::step(const std::string& what) {
  if (!on_) return;
  ++done_;
  std::fprintf(stderr, "\r\033[K[%zu/%zu] %s", done_, total_, what.c_str());
  std::fflush(stderr);
}

void Progress::done() {
  if (on_) std::fprintf(stderr, "\r\033[K");
}

bool parse_int_list(const std::string& text, std::vector<std::int64_t>& out, std::string& error) {
  out.clear();
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t comma = text.find(',', pos);
    const std::string part = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    long long a = 0, b = 0;
    int used = 0;
    if (std::sscanf(part.c_str(), "%lld-%lld%n", &a, &b, &used) == 2 && used == static_cast<int>(part.size())) {
      if (b < a || b - a > 100000) {
        error = "bad range '" + part + "'";
        return false;
      }
      for (long long v = a; v <= b; ++v) out.push_back(v);
    } else if (std::sscanf(part.c_str(), "%lld%n", &a, &used) == 1 && used == static_cast<int>(part.size()) &&
               !part.empty() && part[0] != '-' && part[0] != '+' && part[0] != ' ') {
      out.push_back(a);
    } else {
      error = "'" + part + "' is not a number or a range N-M";
      return false;
    }
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return true;
}

}  // namespace gwang::cli
