// srun's --cpu-bind, against the forms srun(1) of Slurm 22.05 gives.
#include "slurm/binding.h"

#include <gtest/gtest.h>

namespace gwang::slurm {
namespace {

TEST(CpuBind, TakesVerbosityAndOneType) {
  auto q = parse_cpu_bind("q");
  ASSERT_TRUE(q) << q.error().message;
  EXPECT_FALSE(q->verbose);
  EXPECT_EQ(q->type, "");
  EXPECT_FALSE(q->binds());
  auto v = parse_cpu_bind("verbose,none");
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->verbose);
  EXPECT_EQ(v->type, "none");
  EXPECT_FALSE(v->binds());
  EXPECT_EQ(parse_cpu_bind("no")->type, "none");
  auto cores = parse_cpu_bind("v,cores");
  ASSERT_TRUE(cores);
  EXPECT_TRUE(cores->binds());
  EXPECT_EQ(cores->type, "cores");
  // A map or mask list runs to the end, commas and all.
  auto map = parse_cpu_bind("verbose,map_cpu:0,2,4*2");
  ASSERT_TRUE(map) << map.error().message;
  EXPECT_EQ(map->type, "map_cpu");
  EXPECT_EQ(map->list, "0,2,4*2");
  auto mask = parse_cpu_bind("mask_cpu:0x3,c");
  ASSERT_TRUE(mask) << mask.error().message;
  EXPECT_EQ(mask->list, "0x3,c");
}

TEST(CpuBind, RefusesWhatSrunRefusesNamingTheWord) {
  auto error = [](const char* text) {
    auto r = parse_cpu_bind(text);
    return r ? std::string("accepted") : r.error().message;
  };
  EXPECT_NE(error("bogus").find("unrecognized --cpu-bind argument \"bogus\""), std::string::npos);
  EXPECT_NE(error("cores,threads").find("two binding types"), std::string::npos);
  EXPECT_NE(error("map_cpu").find("needs a list"), std::string::npos);
  EXPECT_NE(error("map_cpu:0,x").find("'x' is not a CPU number"), std::string::npos);
  EXPECT_NE(error("mask_cpu:0xg").find("'0xg' is not a hexadecimal mask"), std::string::npos);
  EXPECT_NE(error("cores:2").find("takes no list"), std::string::npos);
  EXPECT_NE(error("").find("empty"), std::string::npos);
  EXPECT_NE(error("q,,cores").find("empty word"), std::string::npos);
}

// The CPUs of each element of a map or mask, counts expanded, as the controller binds by them.
TEST(CpuBind, ListsGiveEachElementsCpus) {
  using Ids = std::vector<std::vector<int>>;
  EXPECT_EQ(cpu_bind_elements(*parse_cpu_bind("map_cpu:1,0x3,0*2")), (Ids{{1}, {3}, {0}, {0}}));
  EXPECT_EQ(cpu_bind_elements(*parse_cpu_bind("verbose,mask_cpu:0x3,C,0x100")), (Ids{{0, 1}, {2, 3}, {8}}));
  EXPECT_EQ(cpu_bind_elements(*parse_cpu_bind("cores")), Ids{});
  EXPECT_EQ(cpu_bind_elements(*parse_cpu_bind("map_ldom:0")), Ids{});
}

TEST(GpuBind, ParsesSlurmsTypes) {
  EXPECT_EQ(parse_gpu_bind("closest")->type, "closest");
  EXPECT_EQ(parse_gpu_bind("single:2")->count, 2);
  EXPECT_EQ(parse_gpu_bind("map_gpu:1,0*2")->list, (std::vector<std::uint64_t>{1, 0, 0}));
  EXPECT_EQ(parse_gpu_bind("mask_gpu:0x3,c")->list, (std::vector<std::uint64_t>{3, 12}));
  EXPECT_EQ(parse_gpu_bind("verbose,closest").error().message,
            "--gpu-bind=verbose,closest: verbose is not supported by gwang (its tasks do not say their GPU binding)");
  for (const char* bad :
       {"", "single:0", "single", "per_task:x", "map_gpu:", "map_gpu:a", "mask_gpu:0", "sideways", "none:1"})
    EXPECT_FALSE(parse_gpu_bind(bad).has_value()) << bad;
}

TEST(GpuBind, GivesEachTaskItsPart) {
  using V = std::vector<std::vector<int>>;
  EXPECT_EQ(bind_gpus(*parse_gpu_bind("none"), 2, 2), (V{{0, 1}, {0, 1}}));
  EXPECT_EQ(bind_gpus(*parse_gpu_bind("single:2"), 2, 5), (V{{0}, {0}, {1}, {1}, {0}}));  // wraps
  EXPECT_EQ(bind_gpus(*parse_gpu_bind("per_task:2"), 4, 2), (V{{0, 1}, {2, 3}}));
  EXPECT_EQ(bind_gpus(*parse_gpu_bind("map_gpu:3,1"), 4, 3), (V{{3}, {1}, {3}}));
  EXPECT_EQ(bind_gpus(*parse_gpu_bind("mask_gpu:0x5,0x2"), 4, 2), (V{{0, 2}, {1}}));
  // Closest: GPU 0 near CPUs 0-1, GPU 1 near CPUs 2-3; a task on CPU 3, one on CPU 0, one near none.
  EXPECT_EQ(bind_gpus(*parse_gpu_bind("closest"), 2, 3, {{0, 1}, {2, 3}}, {{3}, {0}, {9}}), (V{{1}, {0}, {0, 1}}));
}

}  // namespace
}  // namespace gwang::slurm
