// A task's CPU frequencies (sbatch and srun --cpu-freq, told as SLURM_CPU_FREQ_REQ): set on its
// CPUs through the kernel's cpufreq files before it runs, and put back as they were when it ends.
// A node without cpufreq (a virtual machine, a container) sets nothing, as Slurm's does not.
#pragma once

#include <string>
#include <vector>

#include "slurm/cpufreq.h"

namespace gwang::agent {

// What a CPU's cpufreq files held before a task changed them.
struct CpuFreqSaved {
  struct Cpu {
    int id = 0;
    std::string governor, min, max, speed;
  };
  std::vector<Cpu> cpus;
};

// Sets `freq` on `cpus` (empty: every CPU) under `sysfs` ("/sys"); returns what to put back.
CpuFreqSaved apply_cpu_freq(const std::string& sysfs, const std::vector<int>& cpus, const slurm::CpuFreq& freq);
void restore_cpu_freq(const std::string& sysfs, const CpuFreqSaved& saved);

}  // namespace gwang::agent
