// The resource limits a job's tasks take from where they were submitted (sbatch's and srun's
// --propagate), by Slurm's names, and how they travel: SLURM_RLIMIT_<NAME>=<soft limit> in the
// job's environment (no limit as RLIM_INFINITY's number), which the node applies and takes out.
#pragma once

#include <sys/resource.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace gwang::api {

struct Rlimit {
  const char* name;
  int resource;
};

inline constexpr Rlimit kRlimits[] = {{"AS", RLIMIT_AS},         {"CORE", RLIMIT_CORE},       {"CPU", RLIMIT_CPU},
                                      {"DATA", RLIMIT_DATA},     {"FSIZE", RLIMIT_FSIZE},     {"MEMLOCK", RLIMIT_MEMLOCK},
                                      {"NOFILE", RLIMIT_NOFILE}, {"NPROC", RLIMIT_NPROC},     {"RSS", RLIMIT_RSS},
                                      {"STACK", RLIMIT_STACK}};
inline constexpr const char* kRlimitPrefix = "SLURM_RLIMIT_";

// This process's soft limits, by name: what sbatch and srun pass on.
inline std::vector<std::pair<std::string, std::uint64_t>> current_rlimits() {
  std::vector<std::pair<std::string, std::uint64_t>> out;
  for (const Rlimit& r : kRlimits) {
    struct rlimit now {};
    if (::getrlimit(static_cast<__rlimit_resource_t>(r.resource), &now) == 0) out.emplace_back(r.name, now.rlim_cur);
  }
  return out;
}

}  // namespace gwang::api
