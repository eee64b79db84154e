// Tests of gwang_trace on the shared real data sets (GWANG_DATA_DIR). Expected figures come from the
// data's documentation (references.md) or from awk run on the files, never from this code.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <numeric>

#include <gtest/gtest.h>

#include "test_util.h"
#include "trace/alibaba.h"
#include "trace/swf.h"
#include "trace/swf_loader.h"

namespace gwang::trace {
namespace {

using testing::shared;

#define REQUIRE_DATA(path)                                                             \
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "shared data not found: " << (path)

// The predictsim filter keeps exactly 28,481 of the 28,489 KTH-SP2 job lines (references.md section 1).
TEST(RealSwf, KthPredictsimKeeps28481Jobs) {
  const std::string path = shared("swf/KTH-SP2-1996-2.predictsim-log.swf.gz");
  REQUIRE_DATA(path);
  auto trace = read_swf(path);
  ASSERT_TRUE(trace) << trace.error().message;
  EXPECT_EQ(trace->records.size(), 28489u);
  EXPECT_EQ(trace->header.get_int("MaxProcs"), 100);
  auto w = load_swf(*trace, SwfLoader::Predictsim);
  ASSERT_TRUE(w) << w.error().message;
  EXPECT_EQ(w->jobs.size(), 28481u);
  EXPECT_EQ(w->dropped, 8u);
  EXPECT_EQ(w->machine_procs, 100);
  EXPECT_TRUE(std::all_of(w->jobs.begin(), w->jobs.end(), [](const SwfJob& j) {
    return j.procs >= 1 && j.procs <= 100 && j.run >= 1 && j.run <= j.requested_time && j.submit >= 0;
  }));
}

// RLScheduler on Lublin-1: facts checked with awk on the file (10,000 jobs, all with run > 0,
// field 8 and 9 unknown; sum of field 5 = 221,010; sum of field 4 = 48,627,667; 0-based job 1981
// is "1982 1779158 -1 7381 4 ...").
TEST(RealSwf, LublinRlscheduler) {
  const std::string path = shared("swf/lublin_256.swf");
  REQUIRE_DATA(path);
  auto trace = read_swf(path);
  ASSERT_TRUE(trace) << trace.error().message;
  auto w = load_swf(*trace, SwfLoader::Rlscheduler);
  ASSERT_TRUE(w) << w.error().message;
  EXPECT_EQ(w->machine_procs, 256);  // MaxNodes; no MaxProcs line
  ASSERT_EQ(w->jobs.size(), 10000u);
  EXPECT_EQ(w->dropped, 0u);
  const int64_t procs = std::accumulate(w->jobs.begin(), w->jobs.end(), int64_t{0},
                                        [](int64_t s, const SwfJob& j) { return s + j.procs; });
  const int64_t run = std::accumulate(w->jobs.begin(), w->jobs.end(), int64_t{0},
                                      [](int64_t s, const SwfJob& j) { return s + j.run; });
  EXPECT_EQ(procs, 221010);
  EXPECT_EQ(run, 48627667);
  const SwfJob& j = w->jobs[1981];
  EXPECT_EQ(j.id, 1982);
  EXPECT_EQ(j.submit, 1779158);
  EXPECT_EQ(j.run, 7381);
  EXPECT_EQ(j.procs, 4);
  EXPECT_EQ(j.requested_time, 7381);  // field 9 is -1: the run time
  EXPECT_TRUE(std::is_sorted(w->jobs.begin(), w->jobs.end(), [](const SwfJob& a, const SwfJob& b) { return a.id < b.id; }));
}

// Every shared SWF log parses and loads with every loader; the biggest one reads quickly.
TEST(RealSwf, AllLogsParseAndLoad) {
  const std::string dir = shared("swf");
  REQUIRE_DATA(dir);
  int logs = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.ends_with(".SOURCE.txt")) continue;
    ++logs;
    const auto start = std::chrono::steady_clock::now();
    auto trace = read_swf(entry.path().string());
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ASSERT_TRUE(trace) << trace.error().message;
    EXPECT_FALSE(trace->records.empty()) << name;
    std::printf("  %-42s %7zu records, read in %.3f s\n", name.c_str(), trace->records.size(), seconds);
    for (auto loader : {SwfLoader::Predictsim, SwfLoader::Rlscheduler, SwfLoader::None}) {
      auto w = load_swf(*trace, loader);
      ASSERT_TRUE(w) << name << " " << to_string(loader) << ": " << w.error().message;
      // The Lublin model logs have no requested time (field 9 = -1): predictsim drops every job.
      const bool no_estimates = name.starts_with("lublin");
      if (loader == SwfLoader::Predictsim && no_estimates) {
        EXPECT_EQ(w->jobs.size(), 0u) << name;
      } else {
        EXPECT_GT(w->jobs.size(), 0u) << name << " " << to_string(loader);
      }
    }
  }
  EXPECT_GE(logs, 9);
}

// SDSC-BLUE-2000-4.2-cln (~243k lines, the biggest log) reads whole. How fast is printed, not
// asserted: the time is docs/benchmarks.md's (section 1, the whole replay), where the machine is
// idle; here the suite's other tests share it.
TEST(RealSwf, SdscBlueReadsWhole) {
  const std::string path = shared("swf/SDSC-BLUE-2000-4.2-cln.swf.gz");
  REQUIRE_DATA(path);
  const auto start = std::chrono::steady_clock::now();
  auto trace = read_swf(path);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(trace) << trace.error().message;
  std::printf("  SDSC-BLUE-2000-4.2-cln: %zu records in %.3f s\n", trace->records.size(), seconds);
  EXPECT_GT(trace->records.size(), 240000u);
}

// The default pod list: 8,152 pods, 897 of them never scheduled (empty scheduled_time), total GPU
// request 6,086,800 milli and CPU 85,436,012 milli (awk on the file).
TEST(RealAlibaba, DefaultPodList) {
  const std::string path = shared("alibaba-gpu-v2023/csv/openb_pod_list_default.csv");
  REQUIRE_DATA(path);
  auto pods = read_alibaba_pods(path);
  ASSERT_TRUE(pods) << pods.error().message;
  ASSERT_EQ(pods->size(), 8152u);
  int64_t gpu = 0, cpu = 0, unscheduled = 0;
  for (const AlibabaPod& p : *pods) {
    gpu += p.num_gpu * p.gpu_milli;
    cpu += p.cpu_milli;
    if (p.scheduled_time == -1) {
      ++unscheduled;
      EXPECT_EQ(p.phase, "Pending") << p.name;
    }
  }
  EXPECT_EQ(gpu, 6086800);
  EXPECT_EQ(cpu, 85436012);
  EXPECT_EQ(unscheduled, 897);
  EXPECT_EQ(pods->front().name, "openb-pod-0000");
  EXPECT_EQ(pods->back().line, 8153);
}

// The GPU node list: 1,213 nodes, 6,212 GPUs of 7 models, 107,018,000 milli-CPU (references.md, awk).
TEST(RealAlibaba, GpuNodeList) {
  const std::string path = shared("alibaba-gpu-v2023/csv/openb_node_list_gpu_node.csv");
  REQUIRE_DATA(path);
  auto nodes = read_alibaba_nodes(path);
  ASSERT_TRUE(nodes) << nodes.error().message;
  ASSERT_EQ(nodes->size(), 1213u);
  int64_t gpus = 0, cpu = 0;
  std::vector<std::string> models;
  for (const AlibabaNode& n : *nodes) {
    gpus += n.gpus;
    cpu += n.cpu_milli;
    if (std::find(models.begin(), models.end(), n.model) == models.end()) models.push_back(n.model);
  }
  EXPECT_EQ(gpus, 6212);
  EXPECT_EQ(cpu, 107018000);
  EXPECT_EQ(models.size(), 7u);
}

// Every published node and pod list reads without error (the multigpu lists have 5 columns only;
// the gpuspec lists have '|'-separated models, e.g. line 529 of gpuspec33 lists V100M32 twice).
TEST(RealAlibaba, AllListsRead) {
  const std::string dir = shared("alibaba-gpu-v2023/csv");
  REQUIRE_DATA(dir);
  int lists = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    ++lists;
    if (name.starts_with("openb_node_list")) {
      auto nodes = read_alibaba_nodes(entry.path().string());
      ASSERT_TRUE(nodes) << nodes.error().message;
      EXPECT_FALSE(nodes->empty());
    } else {
      auto pods = read_alibaba_pods(entry.path().string());
      ASSERT_TRUE(pods) << pods.error().message;
      EXPECT_FALSE(pods->empty());
      if (name == "openb_pod_list_gpuspec33.csv") {
        const AlibabaPod& p = (*pods)[527];
        EXPECT_EQ(p.line, 529);
        EXPECT_EQ(p.gpu_spec, (std::vector<std::string>{"V100M16", "V100M32", "V100M32"}));
        EXPECT_EQ(p.scheduled_time, -1);
      }
    }
  }
  EXPECT_EQ(lists, 26);
}

}  // namespace
}  // namespace gwang::trace
