// sbatch's options from the command line, the environment and #SBATCH directives.
#include "slurm/sbatch.h"

#include <gtest/gtest.h>

namespace gwang::slurm {
namespace {

Reader reader() { return Reader{utc_clock(1795791600), 1001}; }

Result<CommandLine> cli(std::vector<std::string> args) { return parse_command_line(args, reader()); }
std::string cli_error(std::vector<std::string> args) {
  auto r = cli(std::move(args));
  return r ? "accepted" : r.error().message;
}
Result<SbatchOptions> script(const std::string& text) { return parse_script(text, "job.sh", reader()); }
std::string script_error(const std::string& text) {
  auto r = script(text);
  return r ? "accepted" : r.error().message;
}

TEST(SbatchCommandLine, GetoptFormsOfLongAndShortOptions) {
  auto r = cli({"--job-name=train", "--time", "10", "-N2", "-n", "8", "-c4", "-HQ", "--ntasks-per-n=4",
                "--gres=gpu:a100:2", "-pgpu", "--", "job.sh", "--lr", "0.1"});
  ASSERT_TRUE(r) << r.error().message;
  const SbatchOptions& o = r->options;
  EXPECT_EQ(o.job_name, "train");
  EXPECT_EQ(o.time->minutes, 10);
  EXPECT_EQ(o.nodes->min, 2);
  EXPECT_EQ(o.ntasks, 8);
  EXPECT_EQ(o.cpus_per_task, 4);
  EXPECT_EQ(o.hold, true);
  EXPECT_EQ(o.quiet, true);
  EXPECT_EQ(o.ntasks_per_node, 4);  // a unique prefix of --ntasks-per-node
  EXPECT_EQ(o.gres->front(), (DeviceCount{"gpu", "a100", 2}));
  EXPECT_EQ(o.partition, "gpu");
  EXPECT_EQ(r->rest, (std::vector<std::string>{"job.sh", "--lr", "0.1"}));
}

TEST(SbatchCommandLine, StopsAtTheScriptAndKeepsItsArguments) {
  auto r = cli({"-t", "5", "job.sh", "-t", "7"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->options.time->minutes, 5);
  EXPECT_EQ(r->rest, (std::vector<std::string>{"job.sh", "-t", "7"}));
  auto wrap = cli({"--wrap", "python train.py"});
  ASSERT_TRUE(wrap);
  EXPECT_EQ(wrap->options.wrap, "python train.py");
  EXPECT_TRUE(wrap->rest.empty());
}

TEST(SbatchCommandLine, ErrorsReadAsSbatchs) {
  EXPECT_EQ(cli_error({"--foo"}), "unrecognized option '--foo'");
  EXPECT_EQ(cli_error({"-Z"}), "invalid option -- 'Z'");
  EXPECT_EQ(cli_error({"--hold=1"}), "option '--hold' doesn't allow an argument");
  EXPECT_EQ(cli_error({"--mem-per"}),
            "option '--mem-per' is ambiguous; possibilities: '--mem-per-cpu' '--mem-per-gpu'");
  EXPECT_EQ(cli_error({"--time"}), "option '--time' requires an argument");
  EXPECT_EQ(cli_error({"-t"}), "option requires an argument -- 't'");
  EXPECT_EQ(cli_error({"--mem-bind=frob"}), "unrecognized --mem-bind argument \"frob\"");
  EXPECT_EQ(cli_error({"--bb=x"}), "option '--bb' is not supported by gwang");
  EXPECT_EQ(cli_error({"-C", "a100|"}),
            "Invalid --constraint specification 'a100|': it ends where a name is expected (at character 6)");
  EXPECT_EQ(cli_error({"--nice=x"}), "Invalid nice value, must be between -2147483645 and 2147483645");
  EXPECT_EQ(cli_error({"-B", "2:x"}), "-B 2:x: expected SOCKETS[:CORES[:THREADS]], each a count or *");
  EXPECT_EQ(cli_error({"-B", "2:4:1:1"}), "-B 2:4:1:1: expected SOCKETS[:CORES[:THREADS]], each a count or *");
  EXPECT_EQ(cli_error({"--priority=-1"}), "Invalid --priority specification '-1': expected 0 to 4294967294 or TOP");
  EXPECT_EQ(cli_error({"-t", "2h"}),
            "--time: invalid time limit '2h': expected minutes, minutes:seconds, hours:minutes:seconds, days-hours, "
            "days-hours:minutes, days-hours:minutes:seconds, or UNLIMITED");
  EXPECT_EQ(cli_error({"-n", "0"}), "--ntasks: invalid numeric value \"0\" for --ntasks: expected 1 to 1048576");
  EXPECT_EQ(cli_error({"--array=1-2000"}),
            "--array: invalid job array specification '1-2000': index 2000 is above the largest allowed, 1000");
  EXPECT_EQ(cli_error({"--open-mode=sideways"}), "--open-mode: 'sideways' is neither append nor truncate");
  EXPECT_EQ(cli_error({"--job-name="}), "--job-name needs a value");
}

TEST(SbatchCommandLine, MemoryAndMemoryPerCpuReplaceEachOther) {
  auto r = cli({"--mem=4G", "--mem-per-cpu=2G"});
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->options.mem_per_node);
  EXPECT_EQ(r->options.mem_per_cpu, 2LL << 30);
}

TEST(SbatchScript, DirectivesBeforeTheFirstCommand) {
  auto r = script(
      "#!/bin/bash\n"
      "# a comment\n"
      "\n"
      "#SBATCH --job-name=\"my job\" -t 1:00:00  # one hour\n"
      "#SBATCH -N 2 --ntasks-per-node=4\n"
      "##SBATCH --time=5\n"
      "   # an indented comment\n"
      "#SBATCH --output=logs/%x-%j.out\n"
      "#SBATCH --export=ALL,LR=0.1 --comment='a b'\n"
      "module load cuda\n"
      "#SBATCH --time=99\n");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->job_name, "my job");
  EXPECT_EQ(r->time->minutes, 60);  // the directive after the first command is not read
  EXPECT_EQ(r->nodes->min, 2);
  EXPECT_EQ(r->ntasks_per_node, 4);
  EXPECT_EQ(r->output, "logs/%x-%j.out");
  EXPECT_TRUE(r->export_env->all);
  EXPECT_EQ(r->export_env->vars.at(0).second, "0.1");
  EXPECT_EQ(r->comment, "a b");
}

TEST(SbatchScript, DirectivesMakeOneArgumentList) {
  auto r = script("#!/bin/sh\n#SBATCH --time\n#SBATCH 10\n  #SBATCH -t 2h\n#SBATCH-N3\n");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->time->minutes, 10);  // an indented #SBATCH is a comment
  EXPECT_EQ(r->nodes->min, 3);
}

TEST(SbatchScript, AHashEndsTheDirectiveEvenInsideAWord) {
  auto r = script("#!/bin/sh\n#SBATCH -t 5#0\n#SBATCH -J 'a#b'\ntrue\n");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->time->minutes, 5);
  EXPECT_EQ(r->job_name, "a#b");
}

TEST(SbatchScript, MalformedScriptsAndDirectivesSayWhere) {
  EXPECT_EQ(script_error(""), "job.sh: the batch script is empty");
  EXPECT_EQ(script_error("true\n"),
            "job.sh: this does not look like a batch script: the first line must start with #! followed by the path to "
            "an interpreter, for instance #!/bin/sh");
  EXPECT_EQ(script_error("#!/bin/sh\r\ntrue\r\n"),
            "job.sh: the batch script has DOS line breaks (\\r\\n) instead of UNIX line breaks (\\n)");
  EXPECT_EQ(script_error(std::string("#!/bin/sh\necho \0\n", 18)),
            "job.sh: the batch script holds a NUL character ('\\0')");
  EXPECT_EQ(script_error("#!/bin/sh\n#SBATCH --foo\ntrue\n"), "job.sh:2: unrecognized option '--foo'");
  EXPECT_EQ(script_error("#!/bin/sh\n\n#SBATCH -t 2h\n"),
            "job.sh:3: --time: invalid time limit '2h': expected minutes, minutes:seconds, hours:minutes:seconds, "
            "days-hours, days-hours:minutes, days-hours:minutes:seconds, or UNLIMITED");
  EXPECT_EQ(script_error("#!/bin/sh\n#SBATCH -J \"a b\ntrue\n"), "job.sh:2: unmatched \" in '#SBATCH -J \"a b'");
  EXPECT_EQ(script_error("#!/bin/sh\n#SBATCH extra -t 5\n"),
            "job.sh:2: invalid directive 'extra': expected an option such as --time=10");
  EXPECT_EQ(script_error("#!/bin/sh\n#SBATCH -J a\\ b\n"),  // a backslash escapes nothing
            "job.sh:2: invalid directive 'b': expected an option such as --time=10");
  EXPECT_EQ(script_error("#!/bin/sh\n#SBATCH -N 1\n#SBATCH --time\n"),
            "job.sh:3: option '--time' requires an argument");
  EXPECT_EQ(script_error("#!/bin/sh\n#SBATCH -N1\n#SBATCH hetjob\n#SBATCH -N2\n"),
            "job.sh:3: heterogeneous jobs (#SBATCH hetjob) are not supported by gwang");
  EXPECT_EQ(script_error("#!/bin/sh\n#SBATCH --dependency=afterok:1,afterany:2?afterok:3\n"),
            "job.sh:2: --dependency: invalid dependency 'afterok:1,afterany:2?afterok:3': use either ',' (all must "
            "hold) or '?' (any is enough), not both");
}

TEST(SbatchEnvironment, VariablesAndTheirPrecedence) {
  auto env = parse_environment(
      {{"SBATCH_TIMELIMIT", "30"}, {"SBATCH_PARTITION", "cpu"}, {"SBATCH_REQUEUE", ""}, {"HOME", "/root"}}, reader());
  ASSERT_TRUE(env) << env.error().message;
  EXPECT_EQ(env->time->minutes, 30);
  EXPECT_EQ(env->requeue, true);
  auto bad = parse_environment({{"SBATCH_TIMELIMIT", "soon"}}, reader());
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message.rfind("SBATCH_TIMELIMIT: --time: invalid time limit 'soon'", 0), 0u);

  // The script, then the environment, then the command line.
  auto s = script("#!/bin/sh\n#SBATCH -t 10 -p gpu -J fromscript --mem=8G\n");
  auto c = cli({"-J", "fromcli", "--mem-per-cpu=1G", "job.sh"});
  ASSERT_TRUE(s && c);
  SbatchOptions merged = *s;
  merged.merge(*env);
  merged.merge(c->options);
  EXPECT_EQ(merged.time->minutes, 30);  // the environment over the script
  EXPECT_EQ(merged.partition, "cpu");
  EXPECT_EQ(merged.job_name, "fromcli");  // the command line over both
  EXPECT_FALSE(merged.mem_per_node);      // --mem-per-cpu on the command line replaces the script's --mem
  EXPECT_EQ(merged.mem_per_cpu, 1LL << 30);
}

TEST(SbatchScript, WrapMakesAShellScript) {
  EXPECT_EQ(wrap_script("hostname"), "#!/bin/sh\n# This script was created by sbatch --wrap.\n\nhostname\n");
  auto r = script(wrap_script("hostname"));
  EXPECT_TRUE(r);
}

}  // namespace
}  // namespace gwang::slurm
