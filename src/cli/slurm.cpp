// Slurm's commands as gwang runs them: their names in one table, and the links named after them.
#include <cstdio>
#include <filesystem>

#include "cli/commands.h"

namespace gwang::cli {

const SlurmCommand kSlurmCommands[8] = {{"sbatch", run_sbatch}, {"squeue", run_squeue}, {"scancel", run_scancel},
                                        {"sacct", run_sacct},   {"sinfo", run_sinfo},   {"scontrol", run_scontrol},
                                        {"srun", run_srun},     {"salloc", run_salloc}};

int run_slurm_install(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) {
    std::fprintf(stderr, "gwang: cannot tell where this program is: %s\n", ec.message().c_str());
    return 1;
  }
  if (!fs::is_directory(dir, ec)) {
    std::fprintf(stderr, "gwang: slurm install: %s is not a directory\n", dir.c_str());
    return 2;
  }
  int status = 0;
  for (const SlurmCommand& command : kSlurmCommands) {
    const fs::path link = fs::path(dir) / command.name;
    if (fs::is_symlink(link, ec)) {
      if (fs::read_symlink(link, ec) == self) continue;  // installed already
    }
    if (fs::exists(fs::symlink_status(link, ec))) {
      std::fprintf(stderr, "gwang: slurm install: %s exists and is not a link to %s; left as it is\n", link.c_str(),
                   self.c_str());
      status = 1;
      continue;
    }
    fs::create_symlink(self, link, ec);
    if (ec) {
      std::fprintf(stderr, "gwang: slurm install: %s: %s\n", link.c_str(), ec.message().c_str());
      status = 1;
      continue;
    }
    std::printf("%s -> %s\n", link.c_str(), self.c_str());
  }
  return status;
}

}  // namespace gwang::cli
