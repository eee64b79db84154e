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

}  // namespace
}  // namespace gwang::slurm
