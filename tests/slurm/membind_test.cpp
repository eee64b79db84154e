// --mem-bind as Slurm 22.05 takes it (the words and variables below were read from Slurm's srun
// and slurmstepd side by side): parsed, told to the tasks, read back, and each task's nodes.
#include "slurm/membind.h"

#include <gtest/gtest.h>

namespace gwang::slurm {
namespace {

using Env = std::vector<std::pair<std::string, std::string>>;

TEST(MemBind, ParsesSlurmsWords) {
  const MemBind a = parse_mem_bind("v,p,map_mem:0,0x2").value();
  EXPECT_TRUE(a.verbose);
  EXPECT_TRUE(a.prefer);
  EXPECT_EQ(a.type, "map_mem");
  EXPECT_EQ(a.list, (std::vector<std::string>{"0", "2"}));
  const MemBind b = parse_mem_bind("quiet,sort,local").value();
  EXPECT_FALSE(b.verbose);
  EXPECT_EQ(b.sort, "sort");
  EXPECT_EQ(b.type, "local");
  EXPECT_EQ(parse_mem_bind("mask_mem:0x1,F0").value().list, (std::vector<std::string>{"1", "F0"}));
  EXPECT_EQ(parse_mem_bind("no").value().type, "none");
  EXPECT_EQ(parse_mem_bind("nosort").value().type, "");
  EXPECT_EQ(parse_mem_bind("bogus").error().message, "unrecognized --mem-bind argument \"bogus\"");
  EXPECT_EQ(parse_mem_bind("map_mem:").error().message, "missing list for \"--mem-bind=map_mem:<list>\"");
  EXPECT_EQ(parse_mem_bind("mask_mem").error().message, "missing list for \"--mem-bind=mask_mem:<list>\"");
  EXPECT_EQ(parse_mem_bind("mask_mem:zz").error().message,
            "Failed to validate number: zz, the offending character is z");
  EXPECT_EQ(parse_mem_bind("map_mem:1,a").error().message,
            "Failed to validate number: a, the offending character is a");
}

TEST(MemBind, TheTasksVariablesAndBack) {
  const MemBind b = parse_mem_bind("v,mask_mem:0x1,0x3").value();
  const Env env = mem_bind_env(b);
  EXPECT_EQ(env, (Env{{"SLURM_MEM_BIND", "verbose,mask_mem:1,3"},
                      {"SLURM_MEM_BIND_LIST", "1,3"},
                      {"SLURM_MEM_BIND_TYPE", "mask_mem:"},
                      {"SLURM_MEM_BIND_VERBOSE", "verbose"}}));
  const MemBind back = mem_bind_of(env);
  EXPECT_EQ(back.type, "mask_mem");
  EXPECT_EQ(back.list, b.list);
  EXPECT_TRUE(back.verbose);
  EXPECT_EQ(mem_bind_env(parse_mem_bind("prefer,sort,local").value()), (Env{{"SLURM_MEM_BIND", "quiet,prefer,local"},
                                                                            {"SLURM_MEM_BIND_LIST", ""},
                                                                            {"SLURM_MEM_BIND_PREFER", "prefer"},
                                                                            {"SLURM_MEM_BIND_SORT", "sort"},
                                                                            {"SLURM_MEM_BIND_TYPE", "local"},
                                                                            {"SLURM_MEM_BIND_VERBOSE", "quiet"}}));
  EXPECT_TRUE(mem_bind_env(parse_mem_bind("nosort").value()).empty());
  // A batch shell's variables (SLURM_MEM_BIND alone) and nonsense bind nothing.
  EXPECT_EQ(mem_bind_of({{"SLURM_MEM_BIND", "verbose,local"}}).type, "");
  EXPECT_EQ(mem_bind_of({{"SLURM_MEM_BIND_TYPE", "map_mem:"}, {"SLURM_MEM_BIND_LIST", "x"}}).type, "");
}

TEST(MemBind, EachTasksNodes) {
  const std::map<int, std::vector<int>> two = {{0, {0, 1}}, {1, {2, 3}}};
  const auto nodes = [&](const char* text, int local, std::vector<int> cpus = {}) {
    return task_memory(parse_mem_bind(text).value(), local, cpus, two);
  };
  EXPECT_EQ(nodes("local", 0, {2}).nodes, (std::vector<int>{1}));
  EXPECT_EQ(nodes("local", 0, {1, 2}).nodes, (std::vector<int>{0, 1}));
  EXPECT_EQ(nodes("local", 0).nodes, (std::vector<int>{0, 1}));
  EXPECT_EQ(nodes("rank", 1).nodes, (std::vector<int>{1}));
  EXPECT_EQ(nodes("map_mem:1,0", 3).nodes, (std::vector<int>{0}));  // the list wraps
  EXPECT_EQ(nodes("mask_mem:0x3", 0).nodes, (std::vector<int>{0, 1}));
  EXPECT_EQ(nodes("v,p,map_mem:1", 0).note, "mem-bind PREFER MAP");
  EXPECT_EQ(nodes("v,local", 0).note, "mem-bind=LOC");
  const TaskMemory none = nodes("none", 0);
  EXPECT_FALSE(none.bind);
  EXPECT_EQ(none.nodes, (std::vector<int>{0, 1}));  // its verbose line's mask: every node
  EXPECT_EQ(none.note, "mem-bind=NONE");
  EXPECT_EQ(nodes("rank", 2).error, "NUMA node 2 does not exist; cannot bind local task 2 to it (--mem-bind=rank)");
  EXPECT_EQ(nodes("mask_mem:0x4", 0).error,
            "NUMA node 2 does not exist; cannot bind local task 0 to it (--mem-bind=mask_mem)");
  EXPECT_FALSE(nodes("mask_mem:0", 0).bind);
  // No NUMA information: one node 0 with every CPU.
  EXPECT_EQ(task_memory(parse_mem_bind("local").value(), 0, {5}, {}).nodes, (std::vector<int>{0}));
}

}  // namespace
}  // namespace gwang::slurm
