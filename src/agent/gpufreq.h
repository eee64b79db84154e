// A task's GPU clocks (sbatch and srun --gpu-freq, told as SLURMD_TRES_FREQ and SLURM_GPU_FREQ):
// set as its GPUs' application clocks through NVML before it runs, and reset when it ends.
#pragma once

#include <string>
#include <vector>

#include "core/result.h"
#include "slurm/cpufreq.h"

namespace gwang::agent {

// The GPUs whose clocks a task set, to reset when it ends.
struct GpuFreqSet {
  std::string library;
  std::vector<std::string> uuids;
};

// Sets `freq` on the GPUs `uuids` (those NVML does not know, declared devices, are left alone)
// through the NVML library `library`: the memory clock (default the highest) and the graphics
// clock among those the memory clock allows (default the highest), each as --cpu-freq's words pick
// among the supported ones. `said` gets a line for each GPU set ("gpu-freq: GPU-...: memory 1593
// MHz, graphics 1410 MHz"), `failed` one for each that could not be (the task runs all the same,
// as Slurm's does).
GpuFreqSet apply_gpu_freq(const std::string& library, const std::vector<std::string>& uuids, const slurm::GpuFreq& freq,
                          std::string& said, std::string& failed);
void reset_gpu_freq(const GpuFreqSet& set);

}  // namespace gwang::agent
