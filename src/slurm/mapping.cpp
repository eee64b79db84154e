#include "slurm/mapping.h"

#include <charconv>
#include <utility>

namespace gwang::slurm {

std::string process_mapping(const std::vector<int>& task_nodes) {
  std::vector<std::pair<int, int>> runs;  // node, tasks
  for (int n : task_nodes) {
    if (!runs.empty() && runs.back().first == n)
      ++runs.back().second;
    else
      runs.push_back({n, 1});
  }
  std::string out = "(vector";
  for (std::size_t i = 0; i < runs.size();) {
    std::size_t j = i + 1;
    while (j < runs.size() && runs[j].first == runs[j - 1].first + 1 && runs[j].second == runs[i].second) ++j;
    out +=
        ",(" + std::to_string(runs[i].first) + "," + std::to_string(j - i) + "," + std::to_string(runs[i].second) + ")";
    i = j;
  }
  return out + ")";
}

Result<std::vector<int>> parse_process_mapping(std::string_view text, int ntasks) {
  const std::string whole(text);
  auto bad = [&](const std::string& why) { return fail("process mapping '" + whole + "': " + why); };
  constexpr std::string_view head = "(vector";
  if (!text.starts_with(head) || !text.ends_with(")")) return bad("not of the form (vector,(node,nodes,tasks),...)");
  text.remove_prefix(head.size());
  text.remove_suffix(1);
  std::vector<int> out;
  while (!text.empty()) {
    if (!text.starts_with(",(")) return bad("expected ',(' at '" + std::string(text) + "'");
    text.remove_prefix(2);
    const auto close = text.find(')');
    if (close == std::string_view::npos) return bad("a triple is not closed");
    const std::string_view triple = text.substr(0, close);
    text.remove_prefix(close + 1);
    int v[3] = {0, 0, 0};
    const char* at = triple.data();
    const char* end = triple.data() + triple.size();
    for (int k = 0; k < 3; ++k) {
      auto [next, ec] = std::from_chars(at, end, v[k]);
      if (ec != std::errc() || v[k] < 0 || (k > 0 && v[k] == 0))
        return bad("'" + std::string(triple) + "' is not three counts");
      at = next;
      if (k < 2) {
        if (at == end || *at != ',') return bad("'" + std::string(triple) + "' is not three counts");
        ++at;
      }
    }
    if (at != end) return bad("'" + std::string(triple) + "' is not three counts");
    if (static_cast<long long>(out.size()) + static_cast<long long>(v[1]) * v[2] > ntasks) {
      return bad("names more than the step's " + std::to_string(ntasks) + " tasks");
    }
    for (int n = 0; n < v[1]; ++n) out.insert(out.end(), static_cast<std::size_t>(v[2]), v[0] + n);
  }
  if (static_cast<int>(out.size()) != ntasks) {
    return bad("names " + std::to_string(out.size()) + " tasks, not the step's " + std::to_string(ntasks));
  }
  return out;
}

}  // namespace gwang::slurm
