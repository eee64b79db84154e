// The gwang command end to end: bad arguments and bad input files give exit status 2 and a message
// that says what is wrong and where; good runs print what the README promises.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace {

struct Outcome {
  int status;
  std::string output;  // stdout and stderr together
};

Outcome gwang(const std::string& args) {
  const std::string cmd = std::string(GWANG_BINARY) + " " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  EXPECT_NE(pipe, nullptr);
  std::string out;
  std::array<char, 4096> buf;
  while (std::fgets(buf.data(), buf.size(), pipe)) out += buf.data();
  const int rc = pclose(pipe);
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, out};
}

std::string write_temp(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / ("gwang_cli_test_" + name);
  std::ofstream(path) << text;
  return path.string();
}

const std::string kData = GWANG_DATA_DIR;
const std::string kNodes = kData + "/alibaba-gpu-v2023/csv/openb_node_list_gpu_node.csv";
const std::string kPods = kData + "/alibaba-gpu-v2023/csv/openb_pod_list_default.csv";

// An unknown replay policy is refused with the valid names.
// migrate-store says what is wrong with its arguments.
TEST(Cli, MigrateStoreNamesWhatIsMissing) {
  const Outcome none = gwang("admin migrate-store --data /nonexistent --to postgresql://nowhere/x");
  EXPECT_EQ(none.status, 2);
  EXPECT_NE(none.output.find("/nonexistent/state.db: no embedded store there"), std::string::npos) << none.output;
  const Outcome missing = gwang("admin migrate-store --data /tmp");
  EXPECT_EQ(missing.status, 2);
  EXPECT_NE(missing.output.find("--to is required"), std::string::npos) << missing.output;
}

TEST(Cli, UnknownReplayPolicyListsValidOnes) {
  const Outcome r = gwang("sim replay " + kData + "/swf/lublin_256.swf --policy aggressive");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("unknown policy 'aggressive' (valid: fcfs, sjf, easy, easy-sjbf, sjf-easy, multifactor-easy, "
                          "conservative)"),
            std::string::npos)
      << r.output;
}

// A replay shows how the users that used the most fared, in the table and in JSON.
TEST(Cli, ReplayByUser) {
  const std::string trace = write_temp("by_user.swf",
                                       "; MaxProcs: 4\n"
                                       "1 0 -1 3600 4 -1 -1 4 3600 -1 1 7 3 -1 -1 -1 -1 -1\n"
                                       "2 10 -1 600 2 -1 -1 2 600 -1 1 8 3 -1 -1 -1 -1 -1\n"
                                       "3 20 -1 600 2 -1 -1 2 600 -1 1 8 3 -1 -1 -1 -1 -1\n");
  Outcome r =
      gwang("sim replay " + trace + " --loader none --policy multifactor-easy --by-user 1 --by-group 5 --quiet");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("    USER     JOBS     PROC-HOURS   SHARE     AVG WAIT   AVG BSLD\n"
                          "       7        1            4.0  85.71%          0 s       1.00\n"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("       3        3            4.7 100.00%"), std::string::npos) << r.output;
  r = gwang("sim replay " + trace + " --loader none --by-user 5 --json --quiet");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("\"users\":[{\"id\":7,\"jobs\":1,\"processor_hours\":4,\"share\":0.857142"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("\"groups\""), std::string::npos) << r.output;
}

// A workload in sbatch's terms: its conditions hold in the replay, and its mistakes name the line.
TEST(Cli, ReplayOfAnSbatchWorkload) {
  const std::string workload = write_temp("pipeline.sbatch",
                                          "# SUBMIT RUN EXIT USER sbatch options\n"
                                          "0  600 0 alice -n 4 -t 20 -J prep\n"
                                          "0 3600 0 alice -n 8 -t 2:00:00 -J train -d afterok:1\n"
                                          "10 100 3 bob -t 5 -J flaky\n"
                                          "40  60 0 bob -t 5 -J never -d afterok:3\n"
                                          "50  60 0 carol -t 5 -a 0-3%2 --begin=now+2hours\n");
  Outcome r = gwang("sim replay " + workload + " --format sbatch --procs 8 --log " + workload + ".log --quiet");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(
      r.output.find(", sbatch workload, policy easy, estimate requested, 8 processors\njobs                  7\n"),
      std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("never started         1 (a dependency that can no longer hold)\n"), std::string::npos)
      << r.output;
  std::ifstream log(workload + ".log");
  std::stringstream text;
  text << log.rdbuf();
  EXPECT_NE(text.str().find("600 start 2\n"), std::string::npos) << text.str();
  // The array waits for its begin time, long after the machine is free, two tasks at a time.
  EXPECT_NE(text.str().find("4200 end 2\n7250 start 5\n7250 start 6\n7310 end 5\n7310 start 7\n"), std::string::npos)
      << text.str();
  EXPECT_EQ(text.str().find(" start 4\n"), std::string::npos) << text.str();
  r = gwang("sim replay " + workload + " --format sbatch --quiet");
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.output, "gwang: --format sbatch: give the machine's size with --procs\n");
  const std::string bad = write_temp("bad.sbatch", "0 60 0 u -t 5\n0 60 0 u --gres=gpu:2\n");
  r = gwang("sim replay " + bad + " --format sbatch --procs 8 --quiet");
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.output, "gwang: " + bad + ":2: option --gpus/--gres (the replay has processors only) is not replayed\n");
}

// An unknown loader and an unknown estimate are refused with the valid names.
TEST(Cli, UnknownLoaderAndEstimate) {
  Outcome r = gwang("sim replay " + kData + "/swf/lublin_256.swf --loader pyss");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("predictsim, rlscheduler, none"), std::string::npos) << r.output;
  r = gwang("sim replay " + kData + "/swf/lublin_256.swf --estimate oracle");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("requested, actual"), std::string::npos) << r.output;
}

// An unknown placement policy is refused with the valid names.
TEST(Cli, UnknownPackPolicyListsValidOnes) {
  const Outcome r = gwang("sim pack --nodes " + kNodes + " --pods " + kPods + " --policy fgd,tetris");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("unknown placement policy 'tetris'"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("gpu-clustering"), std::string::npos) << r.output;
}

// Malformed seeds and windows name the bad part.
TEST(Cli, BadSeedsAndWindows) {
  Outcome r = gwang("sim pack --nodes " + kNodes + " --pods " + kPods + " --seeds 42-x");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("--seeds: '42-x'"), std::string::npos) << r.output;
  r = gwang("sim replay " + kData + "/swf/lublin_256.swf --loader rlscheduler --windows 10,abc");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("--windows: 'abc'"), std::string::npos) << r.output;
  r = gwang("sim replay " + kData + "/swf/lublin_256.swf --loader rlscheduler --windows 99999");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("window at 99999"), std::string::npos) << r.output;
}

// A malformed SWF line is reported with file:line and the field.
TEST(Cli, MalformedSwfLineNamesFileLineAndField) {
  const std::string path = write_temp("bad.swf",
                                      "; MaxProcs: 4\n"
                                      "1 0 -1 10 2 -1 -1 2 10 -1 1 1 1 -1 -1 -1 -1 -1\n"
                                      "2 0 -1 ten 2 -1 -1 2 10 -1 1 1 1 -1 -1 -1 -1 -1\n");
  const Outcome r = gwang("sim replay " + path);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("bad.swf:3: field 4 (run time)"), std::string::npos) << r.output;
}

// A trace with no usable job says so instead of printing empty metrics.
TEST(Cli, EmptyTrace) {
  const std::string path = write_temp("empty.swf", "; MaxProcs: 4\n");
  const Outcome r = gwang("sim replay " + path);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("no job to replay"), std::string::npos) << r.output;
}

// A malformed pod line is reported with file:line and the column.
TEST(Cli, MalformedPodLineNamesFileLineAndColumn) {
  const std::string path = write_temp("bad_pods.csv",
                                      "name,cpu_milli,memory_mib,num_gpu,gpu_milli\n"
                                      "p0,1000,1024,1,500\n"
                                      "p1,1000,1024,1,1500\n");
  const Outcome r = gwang("sim pack --nodes " + kNodes + " --pods " + path);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("bad_pods.csv:3: column 'gpu_milli'"), std::string::npos) << r.output;
}

// A missing file is named.
TEST(Cli, MissingFile) {
  const Outcome r = gwang("sim replay /nonexistent/trace.swf");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("/nonexistent/trace.swf"), std::string::npos) << r.output;
}

// Unknown options and missing subcommands are usage errors.
TEST(Cli, UsageErrors) {
  EXPECT_EQ(gwang("").status, 2);
  EXPECT_EQ(gwang("sim replay").status, 2);
  EXPECT_EQ(gwang("sim replay x.swf --frobnicate").status, 2);
  EXPECT_EQ(gwang("--help").status, 0);
  // A number out of its range says so in whole numbers, before any call to a controller.
  const Outcome rank = gwang("logs 1 --rank -1");
  EXPECT_EQ(rank.status, 2);
  EXPECT_EQ(rank.output.substr(0, rank.output.find('\n')), "--rank: expected a whole number, 0 or more (got '-1')");
}

// --json output carries the fields the README promises, and the windows' mean.
// A bad --begin or --dependency is refused before any call to a controller, saying what is wrong.
TEST(Cli, SubmitRefusesBadBeginAndDependency) {
  const Outcome begin = gwang("submit --begin soon true");
  EXPECT_EQ(begin.status, 2);
  EXPECT_NE(begin.output.find("gwang: --begin: invalid begin time 'soon': unknown word 'soon'"), std::string::npos)
      << begin.output;
  const Outcome dep = gwang("submit --dependency afterok true");
  EXPECT_EQ(dep.status, 2);
  EXPECT_NE(dep.output.find("gwang: --dependency: invalid dependency 'afterok': afterok needs at least one job id"),
            std::string::npos)
      << dep.output;
  const Outcome array = gwang("submit --array 5-1 true");
  EXPECT_EQ(array.status, 2);
  EXPECT_NE(
      array.output.find("gwang: --array: invalid job array specification '5-1': range '5-1' ends before it starts"),
      std::string::npos)
      << array.output;
}

TEST(Cli, ReplayJsonFields) {
  const Outcome r = gwang("sim replay " + kData +
                          "/swf/lublin_256.swf --loader rlscheduler --policy fcfs --windows 1981,2756 --json");
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* key : {"\"jobs\":2048", "\"avg_bounded_slowdown\":", "\"windows\":[",
                          "\"max_turnaround_s\":", "\"utilization\":", "\"makespan_s\":", "\"wall_s\":"}) {
    EXPECT_NE(r.output.find(key), std::string::npos) << key << " in " << r.output;
  }
}

// pack --json keys curves by arrived %, and --chart writes an SVG picture.
TEST(Cli, PackJsonAndChart) {
  const std::string svg = (std::filesystem::temp_directory_path() / "gwang_cli_test_chart.svg").string();
  std::filesystem::remove(svg);
  const Outcome r =
      gwang("sim pack --nodes " + kNodes + " --pods " + kPods + " --policy best-fit --seeds 42 --json --chart " + svg);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("\"best-fit\":{\"alloc_pct_mean\":{\"0\":0,"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"130\":"), std::string::npos);
  EXPECT_NE(r.output.find("\"alloc_pct_sd\":"), std::string::npos);
  EXPECT_NE(r.output.find("\"frag_pct_mean\":"), std::string::npos);
  std::ifstream in(svg);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.rfind("<svg", 0), 0u);
  EXPECT_NE(text.find("best-fit"), std::string::npos);
}

}  // namespace

namespace {

// gwang controller and gwang agent: a bad configuration or secret stops them at once with the
// file, line and key; --check says what a good file means.
TEST(Cli, DaemonConfigurationErrors) {
  const std::string secret = write_temp("secret", "0123456789abcdef0123456789\n");
  std::filesystem::permissions(secret, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  const std::string shared = write_temp("shared_secret", "0123456789abcdef0123456789\n");
  std::filesystem::permissions(shared, std::filesystem::perms::owner_read | std::filesystem::perms::group_read);
  const std::string good = write_temp("controller.toml",
                                      "listen = \"127.0.0.1:8686\"\ndata_dir = \"/tmp/gwang-cli-test\"\n"
                                      "cluster_secret_file = \"" +
                                          secret + "\"\n");
  Outcome r = gwang("controller --config " + good + " --check");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(
      r.output,
      good +
          ": a controller listening on 127.0.0.1:8686 (plain HTTP), state in /tmp/gwang-cli-test, nodes DOWN after "
          "60 s of silence\n");

  const std::string typo = write_temp(
      "typo.toml", "listen = \"127.0.0.1:8686\"\ncluster_secret_file = \"" + secret + "\"\nnode_timout = \"30s\"\n");
  r = gwang("controller --config " + typo);
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.output, "gwang: " + typo + ":3: unknown key 'node_timout'\n");

  const std::string readable = write_temp("readable.toml", "cluster_secret_file = \"" + shared + "\"\n");
  r = gwang("controller --config " + readable);
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.output, "gwang: " + readable + ": cluster_secret_file: " + shared +
                          ": the cluster secret must not be readable by group or others (chmod 600)\n");

  const std::string agent =
      write_temp("agent.toml", "controller = \"127.0.0.1:8686\"\ncluster_secret_file = \"" + secret + "\"\n");
  r = gwang("agent --config " + agent);
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.output,
            "gwang: " + agent +
                ":1: 'controller': '127.0.0.1:8686': expected a URL, http://HOST:PORT or https://HOST:PORT\n");
  r = gwang("agent --config /nonexistent/agent.toml");
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.output, "gwang: /nonexistent/agent.toml: cannot read: No such file or directory\n");
}

}  // namespace
