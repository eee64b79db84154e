// sbatch's and srun's --cpu-freq and --gpu-freq, as Slurm 22.05 takes them (with slurm.conf's
// default CpuFreqGovernors, OnDemand, Performance and UserSpace): checked, and written the way
// Slurm tells them to the tasks (SLURM_CPU_FREQ_REQ, SLURMD_TRES_FREQ), which each node's agent
// reads to set its task's CPUs' frequencies.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace gwang::slurm {

// A CPU frequency request. Each of min, max is "" (not asked), a frequency in kHz ("2400000") or
// one of "Low", "Medium", "Highm1", "High". `max` alone (Slurm's single value) is the speed the
// CPUs are set to under the UserSpace governor; min and max a range.
struct CpuFreq {
  std::string min, max;
  std::string governor;  // "", "OnDemand", "Performance", "UserSpace"
  bool single() const { return min.empty() && !max.empty(); }
};

// "p1", "p1-p2", "p1-p2:governor" or "governor". An error is Slurm's first line ("unrecognized
// --cpu-freq argument \"x\"", "governor of x is not allowed in slurm.conf", ...); Slurm's second,
// "Invalid --cpu-freq argument", is the caller's to add.
Result<CpuFreq> parse_cpu_freq(std::string_view text);
// SLURM_CPU_FREQ_REQ's value: "High", "1000000-2000000:Performance", "OnDemand".
std::string cpu_freq_text(const CpuFreq& freq);

// Which frequency (kHz) a word or number means among the CPU's `available` ones (ascending; from
// its scaling_available_frequencies, else its lowest and highest): Low the lowest, High the
// highest, Highm1 the one below it, Medium the middle; a number the highest available at or below
// it (the lowest, if it is below them all).
std::int64_t resolve_frequency(const std::string& word, const std::vector<std::int64_t>& available);

// --gpu-freq: "[gpu=]VALUE[,memory=VALUE][,verbose]", each VALUE low, medium, high, highm1 or a
// frequency in MHz. Errors: Slurm's "Invalid --gpu-freq argument: gpu:x".
struct GpuFreq {
  std::string graphics, memory;  // as given ("high", "1410"); "" not asked
  bool verbose = false;
};
Result<GpuFreq> parse_gpu_freq(std::string_view text);

}  // namespace gwang::slurm
