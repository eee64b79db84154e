// --cpu-freq and --gpu-freq as Slurm 22.05 takes them (its words and spellings were read from its
// srun and sbatch side by side, with slurm.conf's default governors).
#include "slurm/cpufreq.h"

#include <gtest/gtest.h>

namespace gwang::slurm {
namespace {

std::string told(const char* text) {
  auto f = parse_cpu_freq(text);
  return f ? cpu_freq_text(*f) : "error: " + f.error().message;
}

TEST(CpuFreq, SlurmsSpellingsAndWords) {
  EXPECT_EQ(told("high"), "High");
  EXPECT_EQ(told("highm1"), "Highm1");
  EXPECT_EQ(told("2400000"), "2400000");
  EXPECT_EQ(told("1000000-2000000"), "1000000-2000000");
  EXPECT_EQ(told("1000000-2000000:performance"), "1000000-2000000:Performance");
  EXPECT_EQ(told("low-high:UserSpace"), "Low-High:UserSpace");
  EXPECT_EQ(told("ondemand"), "OnDemand");
  EXPECT_EQ(told("Conservative"), "error: governor of Conservative is not allowed in slurm.conf");
  EXPECT_EQ(told("powersave"), "error: governor of powersave is not allowed in slurm.conf");
  EXPECT_EQ(told("2000000:ondemand"), "error: gov on cpu-frec (ondemand) illegal without max");
  EXPECT_EQ(told("bogus"), "error: unrecognized --cpu-freq argument \"bogus\"");
  EXPECT_EQ(told("0"), "error: unrecognized --cpu-freq argument \"0\"");
  EXPECT_EQ(told("-5"), "error: unrecognized --cpu-freq argument \"\"");
  EXPECT_TRUE(parse_cpu_freq("high")->single());
  EXPECT_FALSE(parse_cpu_freq("low-high")->single());
}

TEST(CpuFreq, WordsAmongAvailableFrequencies) {
  const std::vector<std::int64_t> f = {1000000, 1500000, 2000000, 2500000};
  EXPECT_EQ(resolve_frequency("Low", f), 1000000);
  EXPECT_EQ(resolve_frequency("High", f), 2500000);
  EXPECT_EQ(resolve_frequency("Highm1", f), 2000000);
  EXPECT_EQ(resolve_frequency("Medium", f), 1500000);
  EXPECT_EQ(resolve_frequency("1900000", f), 1500000);
  EXPECT_EQ(resolve_frequency("500000", f), 1000000);
  EXPECT_EQ(resolve_frequency("High", {}), 0);
}

TEST(GpuFreq, ValuesAndSlurmsRefusal) {
  const GpuFreq g = parse_gpu_freq("low,memory=high,verbose").value();
  EXPECT_EQ(g.graphics, "low");
  EXPECT_EQ(g.memory, "high");
  EXPECT_TRUE(g.verbose);
  EXPECT_EQ(parse_gpu_freq("1410").value().graphics, "1410");
  EXPECT_EQ(parse_gpu_freq("bogus").error().message, "Invalid --gpu-freq argument: gpu:bogus");
  EXPECT_EQ(parse_gpu_freq("memory=x").error().message, "Invalid --gpu-freq argument: gpu:memory=x");
}

}  // namespace
}  // namespace gwang::slurm
