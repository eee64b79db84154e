#include "mpi/step_layout.h"

#include <charconv>

#include "slurm/hostlist.h"
#include "slurm/mapping.h"

namespace gwang::mpi {

std::vector<int> StepLayout::local_ranks() const {
  std::vector<int> out;
  for (int r = 0; r < ntasks(); ++r) {
    if (task_nodes[static_cast<std::size_t>(r)] == node) out.push_back(r);
  }
  return out;
}

int StepLayout::local_rank_of(int rank) const {
  int place = 0;
  for (int r = 0; r < rank; ++r)
    place += task_nodes[static_cast<std::size_t>(r)] == task_nodes[static_cast<std::size_t>(rank)];
  return place;
}

Result<StepLayout> layout_from_env(const std::function<std::string(const char*)>& get, uid_t uid) {
  StepLayout l;
  auto number = [&](const char* name, std::int64_t& out) -> Result<void> {
    const std::string text = get(name);
    if (text.empty()) return fail(std::string(name) + " is not set: gwang-pmix runs as a task of `srun --mpi=pmix`");
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    if (ec != std::errc() || end != text.data() + text.size() || out < 0) {
      return fail(std::string(name) + "='" + text + "' is not a count");
    }
    return {};
  };
  std::int64_t rank = 0, local = 0, node = 0, ntasks = 0;
  for (auto [name, out] : {std::pair{"SLURM_JOB_ID", &l.job}, std::pair{"SLURM_STEP_ID", &l.step},
                           std::pair{"SLURM_PROCID", &rank}, std::pair{"SLURM_LOCALID", &local},
                           std::pair{"SLURM_NODEID", &node}, std::pair{"SLURM_STEP_NUM_TASKS", &ntasks}}) {
    if (auto ok = number(name, *out); !ok) return tl::unexpected(ok.error());
  }
  l.rank = static_cast<int>(rank);
  l.local = static_cast<int>(local);
  l.node = static_cast<int>(node);
  l.nspace = "slurm.pmix." + std::to_string(l.job) + "." + std::to_string(l.step);
  const std::string mapping = get("SLURM_PMIX_MAPPING_SERV");
  if (mapping.empty())
    return fail("SLURM_PMIX_MAPPING_SERV is not set: gwang-pmix runs as a task of `srun --mpi=pmix`");
  auto layout = slurm::parse_process_mapping(mapping, static_cast<int>(ntasks));
  if (!layout) return fail("SLURM_PMIX_MAPPING_SERV: " + layout.error().message);
  l.task_nodes = std::move(*layout);
  auto hosts = slurm::HostList::parse(get("SLURM_STEP_NODELIST"));
  if (!hosts || hosts->empty()) {
    return fail("SLURM_STEP_NODELIST='" + get("SLURM_STEP_NODELIST") + "'" +
                (hosts ? ": no nodes" : ": " + hosts.error().message));
  }
  l.hosts = hosts->expand();
  for (int n : l.task_nodes) {
    if (n >= static_cast<int>(l.hosts.size())) {
      return fail("SLURM_PMIX_MAPPING_SERV names node " + std::to_string(n) + " of a step on " +
                  std::to_string(l.hosts.size()) + " nodes");
    }
  }
  if (l.rank >= l.ntasks() || l.task_nodes[static_cast<std::size_t>(l.rank)] != l.node ||
      l.local_rank_of(l.rank) != l.local) {
    return fail("SLURM_PROCID, SLURM_NODEID and SLURM_LOCALID (" + std::to_string(l.rank) + ", " +
                std::to_string(l.node) + ", " + std::to_string(l.local) + ") disagree with SLURM_PMIX_MAPPING_SERV");
  }
  l.srun = get("GWANG_PMIX_SRUN");
  if (l.srun.find(':') == std::string::npos) return fail("GWANG_PMIX_SRUN='" + l.srun + "' is not HOST:PORT");
  l.tmpdir = get("TMPDIR");
  if (l.tmpdir.empty() || l.tmpdir.front() != '/') l.tmpdir = "/tmp";
  // Node-specific: nodes may share a file system (and /tmp).
  l.dir = l.tmpdir + "/gwang-pmix." + std::to_string(uid) + "." + std::to_string(l.job) + "." + std::to_string(l.step) +
          "." + l.hosts[static_cast<std::size_t>(l.node)];
  l.distribution = get("SLURM_DISTRIBUTION");
  return l;
}

}  // namespace gwang::mpi
