// CPU places: a task's CPUs near its devices, whole cores first; a job's CPUs split among a step's
// tasks; the kernel's CPU list form.

#include "core/cpus.h"

#include <gtest/gtest.h>

namespace gwang::core {
namespace {

// Two sockets of four cores of two threads, numbered as Linux numbers them on most servers: the
// first threads of all cores (0-7), then their siblings (8-15). Socket 0 holds cores 0-3 (CPUs
// 0-3, 8-11); GPUs 0 and 1 hang off socket 0, GPUs 2 and 3 off socket 1.
CpuTopology two_sockets() {
  CpuTopology t;
  for (int id = 0; id < 16; ++id) {
    t.cpus.push_back(id);
    t.core.push_back(id % 8);
  }
  const std::vector<int> socket0{0, 1, 2, 3, 8, 9, 10, 11}, socket1{4, 5, 6, 7, 12, 13, 14, 15};
  t.near = {socket0, socket0, socket1, socket1};
  return t;
}

std::vector<int> all_of(const CpuTopology& t) { return t.cpus; }

TEST(CpuPlaces, ATaskOfAGpuGetsCpusOfItsSocketWholeCoresFirst) {
  const CpuTopology t = two_sockets();
  const std::vector<std::uint16_t> gpu2{2};
  const auto cpus = pick_cpus(t, all_of(t), 4, gpu2);
  ASSERT_TRUE(cpus);
  // Two whole cores of socket 1: cores 4 and 5, each with both threads.
  EXPECT_EQ(*cpus, (std::vector<int>{4, 5, 12, 13}));
}

TEST(CpuPlaces, WithoutDevicesTheLowestWholeCoresGo) {
  const CpuTopology t = two_sockets();
  EXPECT_EQ(*pick_cpus(t, all_of(t), 2), (std::vector<int>{0, 8}));
  EXPECT_EQ(*pick_cpus(t, all_of(t), 3), (std::vector<int>{0, 1, 8}));
}

// --hint=nomultithread, --threads-per-core: at most so many threads of each core; too few cores
// for that is none.
TEST(CpuPlaces, AtMostSoManyThreadsOfEachCore) {
  const CpuTopology t = two_sockets();
  EXPECT_EQ(*pick_cpus(t, all_of(t), 3, {}, 1), (std::vector<int>{0, 1, 2}));
  const std::vector<std::uint16_t> gpu2{2};
  EXPECT_EQ(*pick_cpus(t, all_of(t), 4, gpu2, 1), (std::vector<int>{4, 5, 6, 7}));
  EXPECT_EQ(*pick_cpus(t, all_of(t), 4, {}, 2), (std::vector<int>{0, 1, 8, 9}));
  EXPECT_FALSE(pick_cpus(t, all_of(t), 9, {}, 1));  // eight cores
}

TEST(CpuPlaces, WholeCoresGoBeforeCoresAnotherTaskShares) {
  const CpuTopology t = two_sockets();
  // CPU 0 is held: core 0 has one free thread (8), the others two.
  std::vector<int> free = all_of(t);
  free.erase(free.begin());
  EXPECT_EQ(*pick_cpus(t, free, 2), (std::vector<int>{1, 9}));
}

TEST(CpuPlaces, NearCpusRunOutThenOthersAreTaken) {
  const CpuTopology t = two_sockets();
  const std::vector<std::uint16_t> gpu0{0};
  const auto cpus = pick_cpus(t, all_of(t), 10, gpu0);
  ASSERT_TRUE(cpus);
  // All eight of socket 0, then socket 1's first whole core.
  EXPECT_EQ(*cpus, (std::vector<int>{0, 1, 2, 3, 4, 8, 9, 10, 11, 12}));
}

TEST(CpuPlaces, TooFewFreeIsNone) {
  const CpuTopology t = two_sockets();
  const std::vector<int> free{3, 5};
  EXPECT_FALSE(pick_cpus(t, free, 3));
  // CPUs the topology does not have do not count.
  const std::vector<int> strangers{3, 99, 100};
  EXPECT_FALSE(pick_cpus(t, strangers, 2));
}

TEST(CpuPlaces, ADeclaredNearnessIsFollowedWhateverTheIds) {
  // Two CPUs, each its own core; device 0 near CPU 1, device 1 near CPU 0.
  const CpuTopology t{{0, 1}, {0, 1}, {{1}, {0}}};
  ASSERT_TRUE(validate(t));
  const std::vector<std::uint16_t> d0{0}, d1{1};
  EXPECT_EQ(*pick_cpus(t, t.cpus, 1, d0), std::vector<int>{1});
  EXPECT_EQ(*pick_cpus(t, t.cpus, 1, d1), std::vector<int>{0});
}

TEST(CpuPlaces, ValidateNamesWhatIsWrong) {
  EXPECT_FALSE(validate(CpuTopology{{0, 1}, {0}, {}}));
  EXPECT_FALSE(validate(CpuTopology{{1, 0}, {0, 1}, {}}));
  const auto far = validate(CpuTopology{{0, 1}, {0, 1}, {{7}}});
  ASSERT_FALSE(far);
  EXPECT_NE(far.error().message.find("CPU 7"), std::string::npos);
}

TEST(CpuSplit, AStepsTasksGetDisjointCpusOfTheJob) {
  const CpuTopology t = two_sockets();
  const std::vector<int> held{0, 1, 8, 9};
  const std::vector<int> idle(4, 0);
  const auto tasks = split_cpus(t, held, idle, 2, 2);
  ASSERT_EQ(tasks.size(), 2u);
  // One whole core each.
  EXPECT_EQ(tasks[0], (std::vector<int>{0, 8}));
  EXPECT_EQ(tasks[1], (std::vector<int>{1, 9}));
}

TEST(CpuSplit, CpusOtherStepsUseAreAvoidedWhileOthersAreFree) {
  const CpuTopology t{{0, 1, 2, 3}, {0, 1, 2, 3}, {}};
  const std::vector<int> held{0, 1, 2, 3};
  const std::vector<int> busy{1, 1, 0, 0};  // another step runs on 0 and 1
  const auto tasks = split_cpus(t, held, busy, 1, 2);
  EXPECT_EQ(tasks.at(0), (std::vector<int>{2, 3}));
}

TEST(CpuSplit, MoreTasksThanCpusShareTheLeastBusy) {
  const CpuTopology t{{0, 1}, {0, 1}, {}};
  const std::vector<int> held{0, 1};
  const std::vector<int> idle(2, 0);
  const auto tasks = split_cpus(t, held, idle, 3, 1);
  ASSERT_EQ(tasks.size(), 3u);
  EXPECT_EQ(tasks[0], std::vector<int>{0});
  EXPECT_EQ(tasks[1], std::vector<int>{1});
  EXPECT_EQ(tasks[2], std::vector<int>{0});
}

TEST(CpuSplit, ATaskAskingMoreThanTheJobHasGetsAllOfIt) {
  const CpuTopology t{{0, 1}, {0, 1}, {}};
  const std::vector<int> held{0, 1};
  const std::vector<int> idle(2, 0);
  EXPECT_EQ(split_cpus(t, held, idle, 1, 4).at(0), (std::vector<int>{0, 1}));
}

TEST(CpuList, TheKernelsFormBothWays) {
  const std::vector<int> ids{0, 1, 2, 3, 8, 10, 11};
  EXPECT_EQ(format_cpu_list(ids), "0-3,8,10-11");
  EXPECT_EQ(*parse_cpu_list("0-3,8,10-11"), ids);
  EXPECT_EQ(*parse_cpu_list("11,10,8,3,3"), (std::vector<int>{3, 8, 10, 11}));
  EXPECT_EQ(*parse_cpu_list(""), std::vector<int>{});
  EXPECT_EQ(format_cpu_list(std::vector<int>{}), "");
}

TEST(CpuList, SlurmsMaskForm) {
  EXPECT_EQ(format_cpu_mask(std::vector<int>{0}), "0x1");
  EXPECT_EQ(format_cpu_mask(std::vector<int>{0, 1}), "0x3");
  EXPECT_EQ(format_cpu_mask(std::vector<int>{1, 8}), "0x102");
  EXPECT_EQ(format_cpu_mask(std::vector<int>{63}), "0x8000000000000000");
  EXPECT_EQ(format_cpu_mask(std::vector<int>{}), "0x0");
}

TEST(CpuList, BadElementsAreNamed) {
  const auto backwards = parse_cpu_list("0,3-1");
  ASSERT_FALSE(backwards);
  EXPECT_NE(backwards.error().message.find("'3-1'"), std::string::npos);
  const auto word = parse_cpu_list("0,x");
  ASSERT_FALSE(word);
  EXPECT_NE(word.error().message.find("'x'"), std::string::npos);
  EXPECT_FALSE(parse_cpu_list("1,,2"));
}

}  // namespace
}  // namespace gwang::core
