// Device discovery: NVML through a stand-in library, declared devices, and the host's CPUs and memory.
#include <gtest/gtest.h>

#include <cstdlib>

#include "agent/devices.h"

namespace gwang::agent {
namespace {

// NVIDIA product names become the scheduler's model names.
TEST(NvidiaModel, ProductNamesToModels) {
  EXPECT_EQ(nvidia_model("NVIDIA H100 80GB HBM3"), "H100");
  EXPECT_EQ(nvidia_model("NVIDIA A100-SXM4-80GB"), "A100");
  EXPECT_EQ(nvidia_model("Tesla V100-SXM2-32GB"), "V100");
  EXPECT_EQ(nvidia_model("Tesla T4"), "T4");
  EXPECT_EQ(nvidia_model("NVIDIA GeForce RTX 4090"), "RTX4090");
  EXPECT_EQ(nvidia_model("NVIDIA L40S"), "L40S");
  EXPECT_EQ(nvidia_model(""), "unknown");
}

// GPUs come from NVML with their model, name, UUID, index and memory.
TEST(DiscoverNvidia, ReadsDevicesThroughNvml) {
  ::unsetenv("GWANG_FAKE_NVML_FAIL");
  std::string status;
  auto gpus = discover_nvidia(FAKE_NVML, &status);
  ASSERT_TRUE(gpus) << gpus.error().message;
  ASSERT_EQ(gpus->size(), 2u);
  EXPECT_EQ((*gpus)[0].kind, "gpu:H100");
  EXPECT_EQ((*gpus)[0].name, "NVIDIA H100 80GB HBM3");
  EXPECT_EQ((*gpus)[0].uuid, "GPU-11111111-2222-3333-4444-555555555555");
  EXPECT_EQ((*gpus)[1].kind, "gpu:A100");
  EXPECT_EQ((*gpus)[1].index, 1);
  EXPECT_EQ((*gpus)[1].memory_bytes, 85899345920);
  EXPECT_FALSE((*gpus)[0].declared);
  EXPECT_NE(status.find("2 NVIDIA GPU(s)"), std::string::npos) << status;
}

// No driver: no NVIDIA GPU, and no error.
TEST(DiscoverNvidia, NoDriverMeansNoGpu) {
  std::string status;
  auto gpus = discover_nvidia("libnvidia-ml-not-here.so.1", &status);
  ASSERT_TRUE(gpus);
  EXPECT_TRUE(gpus->empty());
  EXPECT_NE(status.find("no NVIDIA driver"), std::string::npos) << status;
}

// A driver that loads but fails is an error that says where.
TEST(DiscoverNvidia, FailuresAreErrors) {
  ::setenv("GWANG_FAKE_NVML_FAIL", "init", 1);
  auto init = discover_nvidia(FAKE_NVML);
  ASSERT_FALSE(init);
  EXPECT_NE(init.error().message.find("nvmlInit failed: Driver Not Loaded"), std::string::npos) << init.error().message;
  ::setenv("GWANG_FAKE_NVML_FAIL", "name", 1);
  auto name = discover_nvidia(FAKE_NVML);
  ASSERT_FALSE(name);
  EXPECT_NE(name.error().message.find("reading the GPUs failed"), std::string::npos) << name.error().message;
  ::unsetenv("GWANG_FAKE_NVML_FAIL");
  auto not_nvml = discover_nvidia("libz.so.1");
  ASSERT_FALSE(not_nvml);
  EXPECT_NE(not_nvml.error().message.find("NVML entry point is missing"), std::string::npos);
}

// Declared devices are appended, indexed per kind, and their kinds are checked.
TEST(DiscoverHost, DeclaredDevicesAndHostSize) {
  ::unsetenv("GWANG_FAKE_NVML_FAIL");
  auto host = discover_host({{"npu:ascend910", 2, 32ll << 30}, {"gpu:T4", 1, 16ll << 30}}, FAKE_NVML);
  ASSERT_TRUE(host) << host.error().message;
  EXPECT_GT(host->cpus, 0);
  EXPECT_GT(host->memory_bytes, 0);
  ASSERT_EQ(host->devices.size(), 5u);
  EXPECT_EQ(host->devices[2].kind, "npu:ascend910");
  EXPECT_EQ(host->devices[2].uuid, "npu:ascend910-0");
  EXPECT_EQ(host->devices[3].uuid, "npu:ascend910-1");
  EXPECT_EQ(host->devices[3].index, 1);
  EXPECT_TRUE(host->devices[3].declared);
  EXPECT_EQ(host->devices[4].index, 0);

  auto bad = discover_host({{"ascend910", 1, 0}}, "");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("expected family:model"), std::string::npos);
  auto bad_char = discover_host({{"npu:as cend", 1, 0}}, "");
  ASSERT_FALSE(bad_char);
  EXPECT_NE(bad_char.error().message.find("character ' ' is not allowed"), std::string::npos);
  auto negative = discover_host({{"npu:x", -1, 0}}, "");
  ASSERT_FALSE(negative);
  EXPECT_NE(negative.error().message.find("count must not be negative"), std::string::npos);
  // Declared device files: one per device, each a device file; /dev/null is one (c 1:3).
  auto with_files = discover_host({{"npu:x", 1, 0, {"/dev/null"}}}, "");
  ASSERT_TRUE(with_files) << with_files.error().message;
  EXPECT_EQ(with_files->devices[0].file, "/dev/null");
  EXPECT_EQ(deny_rule(with_files->devices[0]), "c 1:3 rwm");
  auto too_few = discover_host({{"npu:x", 2, 0, {"/dev/null"}}}, "");
  ASSERT_FALSE(too_few);
  EXPECT_EQ(too_few.error().message, "device kind 'npu:x': 1 file(s) for 2 device(s)");
  auto not_device = discover_host({{"npu:x", 1, 0, {"/etc/passwd"}}}, "");
  ASSERT_FALSE(not_device);
  EXPECT_EQ(not_device.error().message, "device kind 'npu:x': /etc/passwd: not a device file");
  auto missing = discover_host({{"npu:x", 1, 0, {"/dev/gwang-none"}}}, "");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "device kind 'npu:x': /dev/gwang-none: No such file or directory");
}

}  // namespace
}  // namespace gwang::agent
