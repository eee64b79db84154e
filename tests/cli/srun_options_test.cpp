// srun's options against docs/slurm-options.md: every option the page marks `no` is refused by
// name, and every option it marks yes or unused is taken.
#include "cli/srun_options.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "../slurm/options_table.h"

namespace gwang::cli {
namespace {

// What parse_srun returns and says on its standard error for `args`, then a program.
std::pair<std::optional<int>, std::string> parse(std::vector<std::string> args) {
  args.push_back("true");
  std::fflush(stderr);
  const int saved = ::dup(STDERR_FILENO);
  std::FILE* capture = std::tmpfile();
  ::dup2(::fileno(capture), STDERR_FILENO);
  Argv argv("srun", args);
  SrunOptions o;
  const std::optional<int> rc = parse_srun(argv, o);
  std::fflush(stderr);
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  std::rewind(capture);
  std::string said;
  for (int c; (c = std::fgetc(capture)) != EOF;) said += static_cast<char>(c);
  std::fclose(capture);
  return {rc, said};
}

TEST(SrunOptions, EachIsRefusedByNameExactlyWhereThePageSaysNo) {
  const auto rows = testing::documented_options(std::string(GWANG_TEST_DIR) + "/../../docs/slurm-options.md", "srun");
  ASSERT_EQ(rows.size(), 122u) << "srun 22.05 has 122 options";
  // Values that the option's own check takes; "1" for the others.
  const std::map<std::string, std::string> values = {{"distribution", "block"},
                                                     {"export", "ALL"},
                                                     {"open-mode", "append"},
                                                     {"clusters", "all"},
                                                     {"output", "none"},
                                                     {"error", "none"},
                                                     {"prolog", "/bin/true"},
                                                     {"epilog", "/bin/true"},
                                                     {"chdir", "/tmp"},
                                                     {"het-group", "0"},
                                                     {"time", "1"},
                                                     {"propagate", "NONE"},
                                                     {"mpi", "pmix"}};
  int refused = 0;
  for (const auto& o : rows) {
    if (o.status == "partly") continue;  // its values differ: docs/slurm.md and compare.sh show them
    auto [rc, said] = parse({"--" + o.name});
    if (said.find("requires an argument") != std::string::npos) {
      auto v = values.find(o.name);
      std::tie(rc, said) = parse({"--" + o.name + "=" + (v == values.end() ? "1" : v->second)});
    }
    const bool by_name = said.find("option '--" + o.name + "' is not supported by gwang") != std::string::npos;
    if (o.status == "no") {
      ++refused;
      EXPECT_TRUE(by_name && rc == 255) << o.name << ": " << said;
    } else {
      EXPECT_FALSE(by_name) << o.name;
      EXPECT_EQ(said.find("unrecognized"), std::string::npos) << o.name << ": " << said;
      EXPECT_NE(rc, std::optional<int>(255)) << o.name << ": " << said;
    }
  }
  EXPECT_EQ(refused, 3) << "the count docs/slurm-options.md gives";
}

// A step's tasks from its GPUs (--ntasks-per-gpu), each bound to one; ports and GPU binding asked
// go into the request as the controller reads them.
TEST(SrunOptions, StepBodiesCarryTasksPerGpuPortsAndGpuBinding) {
  const auto body_of = [](std::vector<std::string> args) {
    args.push_back("true");
    Argv argv("srun", args);
    SrunOptions o;
    nlohmann::json body;
    EXPECT_EQ(parse_srun(argv, o), std::nullopt);
    EXPECT_EQ(step_layout(o, body), std::nullopt);
    return body;
  };
  auto b = body_of({"-N", "2", "--gpus-per-node=2", "--ntasks-per-gpu=3"});
  EXPECT_EQ(b["ntasks"], 12);
  EXPECT_EQ(b["ntasks_per_node"], 6);
  EXPECT_EQ(b["gpu_bind"], "single:3");
  b = body_of({"-n", "2", "--gpus-per-node=2", "--ntasks-per-gpu=3", "--gpu-bind=map_gpu:1,0", "--resv-ports"});
  EXPECT_EQ(b["ntasks"], 2) << "tasks given stand";
  EXPECT_EQ(b["gpu_bind"], "map_gpu:1,0");
  EXPECT_EQ(b["resv_ports"], 0) << "as many as its most tasks on a node";
  EXPECT_EQ(body_of({"--resv-ports=4"})["resv_ports"], 4);
  EXPECT_FALSE(body_of({"--resv-ports=0"}).contains("resv_ports"));
}

}  // namespace
}  // namespace gwang::cli
