// Durations, memory sizes and GPU requests as people type them, and the exact errors for bad ones.
#include <gtest/gtest.h>

#include "api/units.h"

namespace gwang::api {
namespace {

// Slurm's time forms and unit forms give the same seconds.
TEST(ParseDuration, SlurmAndUnitForms) {
  EXPECT_EQ(*parse_duration("90"), 90 * 60);          // minutes
  EXPECT_EQ(*parse_duration("5:30"), 5 * 60 + 30);    // M:S
  EXPECT_EQ(*parse_duration("2:00:00"), 7200);        // H:M:S
  EXPECT_EQ(*parse_duration("1-12"), 36 * 3600);      // D-H
  EXPECT_EQ(*parse_duration("1-00:30"), 86400 + 1800);
  EXPECT_EQ(*parse_duration("2-01:02:03"), 2 * 86400 + 3723);
  EXPECT_EQ(*parse_duration("45s"), 45);
  EXPECT_EQ(*parse_duration("30m"), 1800);
  EXPECT_EQ(*parse_duration("2h"), 7200);
  EXPECT_EQ(*parse_duration("1d"), 86400);
  EXPECT_EQ(*parse_duration("1h30m"), 5400);
}

// Bad durations say what is accepted.
TEST(ParseDuration, Errors) {
  for (const char* bad : {"", "2x", "h", "1:2:3:4", "-5", "1.5h", "abc", "2h-"}) {
    auto r = parse_duration(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().message, "time '" + std::string(bad) +
                                     "': expected minutes, M:S, H:M:S, D-H[:M[:S]] or a number with a unit (90s, "
                                     "30m, 2h, 1d)")
        << bad;
  }
  EXPECT_EQ(parse_duration("0").error().message, "time '0': must be positive");
  EXPECT_EQ(parse_duration("400d").error().message, "time '400d': more than 365 days");
}

// Durations print as Slurm prints them.
TEST(FormatDuration, SlurmStyle) {
  EXPECT_EQ(format_duration(3723), "01:02:03");
  EXPECT_EQ(format_duration(2 * 86400 + 3723), "2-01:02:03");
}

// Memory sizes with binary units; a bare number is MiB.
TEST(ParseMemory, UnitsAndDefault) {
  EXPECT_EQ(*parse_memory("16G"), 16LL << 30);
  EXPECT_EQ(*parse_memory("512M"), 512LL << 20);
  EXPECT_EQ(*parse_memory("512"), 512LL << 20);
  EXPECT_EQ(*parse_memory("1.5G"), 3LL << 29);
  EXPECT_EQ(*parse_memory("2TiB"), 2LL << 40);
  EXPECT_EQ(*parse_memory("64kb"), 64LL << 10);
}

// Bad memory sizes name the problem.
TEST(ParseMemory, Errors) {
  EXPECT_EQ(parse_memory("lots").error().message,
            "memory 'lots': expected a number with an optional unit K, M, G or T (16G, 512M)");
  EXPECT_EQ(parse_memory("16X").error().message, "memory '16X': unknown unit 'X' (K, M, G or T)");
  EXPECT_EQ(parse_memory("0").error().message, "memory '0': must be positive");
  EXPECT_EQ(parse_memory("2000T").error().message, "memory '2000T': more than 1 PiB");
  EXPECT_FALSE(parse_memory("-1G"));
}

// Memory prints compactly.
TEST(FormatMemory, Compact) {
  EXPECT_EQ(format_memory(16LL << 30), "16G");
  EXPECT_EQ(format_memory(3LL << 29), "1.5G");
  EXPECT_EQ(format_memory(512LL << 20), "512M");
}

// GPU requests: a count, optionally the allowed models.
TEST(ParseGpus, CountAndModels) {
  auto any = parse_gpus("2");
  ASSERT_TRUE(any);
  EXPECT_EQ(any->count, 2);
  EXPECT_TRUE(any->models.empty());
  auto some = parse_gpus("4:H100,A100");
  ASSERT_TRUE(some);
  EXPECT_EQ(some->count, 4);
  EXPECT_EQ(some->models, (std::vector<std::string>{"H100", "A100"}));
}

// Bad GPU requests name the problem.
TEST(ParseGpus, Errors) {
  EXPECT_EQ(parse_gpus("0").error().message, "gpus '0': expected N or N:MODEL[,MODEL...] with N from 1 to 1024");
  EXPECT_EQ(parse_gpus("two").error().message, "gpus 'two': expected N or N:MODEL[,MODEL...] with N from 1 to 1024");
  EXPECT_EQ(parse_gpus("2:").error().message, "gpus '2:': an empty model name");
  EXPECT_EQ(parse_gpus("2:H100,,A100").error().message, "gpus '2:H100,,A100': an empty model name");
  EXPECT_EQ(parse_gpus("1:H 100").error().message, "gpus '1:H 100': character ' ' in a model name");
}

}  // namespace
}  // namespace gwang::api
