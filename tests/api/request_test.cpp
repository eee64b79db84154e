// Submission bodies: what is accepted, and the exact error for each kind of bad input.
#include "api/request.h"

#include <gtest/gtest.h>

namespace gwang::api {
namespace {

std::string error_of(const std::string& body) {
  auto r = parse_submit(body);
  EXPECT_FALSE(r) << body;
  return r ? "" : r.error().message;
}

// A full body is read field by field; strings take the command line's forms.
TEST(ParseSubmit, FullBody) {
  auto r = parse_submit(R"({"name":"train","command":["python3","train.py","--lr","0.1"],"workdir":"/data",
    "env":{"SEED":"1"},"cpus":8,"mem":"32G","gpus":"2:H100,A100","nodes":2,"time":"1-00:00"})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->name, "train");
  EXPECT_EQ(r->command.size(), 4u);
  EXPECT_EQ(r->workdir, "/data");
  EXPECT_EQ(r->env.at(0), (std::pair<std::string, std::string>{"SEED", "1"}));
  EXPECT_EQ(r->cpus, 8);
  EXPECT_EQ(r->mem_bytes, 32LL << 30);
  EXPECT_EQ(r->gpus.count, 2);
  EXPECT_EQ(r->gpus.models, (std::vector<std::string>{"H100", "A100"}));
  EXPECT_EQ(r->nodes, 2);
  EXPECT_EQ(r->time_s, 86400);
}

// Only the command is required; the name defaults to the program's base name.
TEST(ParseSubmit, Defaults) {
  auto r = parse_submit(R"({"command":["/usr/bin/env"]})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->name, "env");
  EXPECT_EQ(r->cpus, 1);
  EXPECT_EQ(r->nodes, 1);
  EXPECT_EQ(r->gpus.count, 0);
  EXPECT_EQ(r->time_s, 3600);
}

// Malformed JSON, wrong shapes and unknown fields are refused with the exact reason.
TEST(ParseSubmit, MalformedAndUnknown) {
  // 17 bytes, cut short: the parser stops one past the end.
  EXPECT_EQ(error_of(R"({"command":["x"],)").substr(0, 25), "malformed JSON at byte 18");
  // A program name longer than a name may be: the default name is cut to 200 bytes at a character's
  // start, and the request reads back from its JSON (found by fuzzing: the journal could not be
  // read back).
  std::string prog = "/bin/" + std::string(199, 'x') + "\xc3\xa9tude";
  auto long_name = parse_submit(std::string("{\"command\":[\"") + prog + "\"]}");
  ASSERT_TRUE(long_name) << long_name.error().message;
  EXPECT_EQ(long_name->name, std::string(199, 'x'));
  auto back = parse_submit(to_json(*long_name));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->name, long_name->name);
  EXPECT_EQ(back->command, long_name->command);
  // A number too large for a double is malformed too, named where it starts (found by fuzzing).
  EXPECT_EQ(error_of(R"({"command":["x"],"cpus":1e99999})"),
            "malformed JSON at byte 25: number overflow parsing '1e99999'");
  EXPECT_EQ(error_of("[1,2]"), "expected a JSON object");
  EXPECT_EQ(error_of(R"({"command":["x"],"cpu":2})"), "unknown field 'cpu'");
  EXPECT_EQ(error_of(R"({"cpus":2})"), "field 'command': required");
  EXPECT_EQ(error_of(R"({"command":[]})"), "field 'command': must be a non-empty array of strings");
  EXPECT_EQ(error_of(R"({"command":[1]})"), "field 'command': must be a non-empty array of strings");
  EXPECT_EQ(error_of(R"({"command":["x"],"workdir":"rel/dir"})"), "field 'workdir': must be an absolute path");
  EXPECT_EQ(error_of(R"({"command":["x"],"env":{"A":1}})"), "field 'env.A': must be a string");
  EXPECT_EQ(error_of(R"({"command":["x"],"env":{"A=B":"1"}})"), "field 'env': bad variable name 'A=B'");
}

// Negative or absurd resources, and bad sizes, times and GPU strings.
TEST(ParseSubmit, BadResources) {
  EXPECT_EQ(error_of(R"({"command":["x"],"cpus":-1})"), "field 'cpus': must be an integer from 1 to 4096");
  EXPECT_EQ(error_of(R"({"command":["x"],"cpus":100000})"), "field 'cpus': must be an integer from 1 to 4096");
  EXPECT_EQ(error_of(R"({"command":["x"],"cpus":1.5})"), "field 'cpus': must be an integer from 1 to 4096");
  EXPECT_EQ(error_of(R"({"command":["x"],"nodes":0})"), "field 'nodes': must be an integer from 1 to 10000");
  EXPECT_EQ(error_of(R"({"command":["x"],"mem":"16Q"})"), "field 'mem': memory '16Q': unknown unit 'Q' (K, M, G or T)");
  EXPECT_EQ(error_of(R"({"command":["x"],"mem":-5})"), "field 'mem': bytes must be from 1 to 1 PiB");
  EXPECT_EQ(error_of(R"({"command":["x"],"time":"forever"})"),
            "field 'time': time 'forever': expected minutes, M:S, H:M:S, D-H[:M[:S]] or a number with a unit (90s, "
            "30m, 2h, 1d)");
  EXPECT_EQ(error_of(R"({"command":["x"],"time":0})"), "field 'time': seconds must be from 1 to 365 days");
  EXPECT_EQ(error_of(R"({"command":["x"],"gpus":"-2"})"),
            "field 'gpus': gpus '-2': expected N or N:MODEL[,MODEL...] with N from 1 to 1024");
  EXPECT_EQ(error_of(R"({"command":["x"],"gpu_share":1.5})"),
            "field 'gpu_share': must be a number between 0 and 1 (exclusive)");
  EXPECT_EQ(error_of(R"({"command":["x"],"gpus":"2","gpu_share":0.5})"),
            "field 'gpu_share': a share is of one GPU: gpus must be absent or 1");
}

// What to_json writes, parse_submit reads back the same.
TEST(ParseSubmit, RoundTrip) {
  SubmitRequest r;
  r.name = "n";
  r.command = {"sh", "-c", "echo hi"};
  r.workdir = "/tmp";
  r.env = {{"A", "b"}};
  r.cpus = 3;
  r.mem_bytes = 5LL << 30;
  r.gpus = {1, {"T4"}};
  r.gpu_share = 0.25;
  r.nodes = 1;
  r.time_s = 600;
  auto back = parse_submit(to_json(r));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->command, r.command);
  EXPECT_EQ(back->env, r.env);
  EXPECT_EQ(back->mem_bytes, r.mem_bytes);
  EXPECT_EQ(back->gpus.models, r.gpus.models);
  EXPECT_DOUBLE_EQ(back->gpu_share, 0.25);
  EXPECT_EQ(back->time_s, 600);
}

// A begin time (a date or Unix seconds) and a dependency in Slurm's syntax, written back normalized.
TEST(ParseSubmit, BeginAndDependency) {
  auto r = parse_submit(R"({"command":["true"],"begin":"2026-03-01T08:30","dependency":"afterok:12:13?afterany:14"})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->begin, 1772353800);
  EXPECT_EQ(r->dependency, "afterok:12:13?afterany:14");
  auto bare = parse_submit(R"({"command":["true"],"begin":1772353800,"dependency":"12"})");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->dependency, "afterany:12");
  auto back = parse_submit(to_json(*r));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->begin, r->begin);
  EXPECT_EQ(back->dependency, r->dependency);
  EXPECT_EQ(error_of(R"({"command":["true"],"dependency":"afterok"})"),
            "field 'dependency': invalid dependency 'afterok': afterok needs at least one job id (afterok:JOBID)");
  EXPECT_EQ(error_of(R"({"command":["true"],"dependency":3})"),
            "field 'dependency': must be a string such as \"afterok:12\"");
  EXPECT_EQ(error_of(R"({"command":["true"],"begin":"soon"})").rfind("field 'begin': ", 0), 0u);
  EXPECT_EQ(error_of(R"({"command":["true"],"begin":-1})"),
            "field 'begin': Unix seconds must be from 0 to the year 9999");
}

TEST(ParseSubmit, Array) {
  auto r = parse_submit(R"({"command":["true"],"array":"0-15:4,20%3"})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->array, "0-12:4,20%3");
  EXPECT_EQ(parse_submit(to_json(*r))->array, r->array);
  EXPECT_EQ(error_of(R"({"command":["true"],"array":"5-1"})"),
            "field 'array': invalid job array specification '5-1': range '5-1' ends before it starts");
  EXPECT_EQ(error_of(R"({"command":["true"],"array":[1]})"), "field 'array': must be a string such as \"0-15%4\"");
  // Overlapping parts name each index once.
  EXPECT_EQ(parse_submit(R"({"command":["true"],"array":"1-5,3-7:2,2"})")->array, "1-5,7");
  // A controller's own limit refuses an array beyond it before its indices are spelled out.
  auto huge = parse_submit(R"({"command":["true"],"array":"0-9999999"})", 1001);
  ASSERT_FALSE(huge);
  EXPECT_EQ(huge.error().message,
            "field 'array': invalid job array specification '0-9999999': index 9999999 is above the largest allowed, "
            "1000");
  EXPECT_TRUE(parse_submit(R"({"command":["true"],"array":"0-1000"})", 1001));
}

TEST(ParseSubmit, BatchScriptAndOutputFiles) {
  auto r = parse_submit(R"({"script":"#!/bin/sh\necho hi\n","output":"slurm-%j.out","error":"e-%A_%a"})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->command.empty()) << "a script needs no command";
  EXPECT_EQ(r->name, "sbatch");
  EXPECT_EQ(r->output, "slurm-%j.out");
  auto back = parse_submit(to_json(*r));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->script, r->script);
  EXPECT_EQ(back->error, "e-%A_%a");
  auto args = parse_submit(R"({"script":"#!/bin/sh\n","command":["a",""]})");
  ASSERT_TRUE(args);
  EXPECT_EQ(args->command, (std::vector<std::string>{"a", ""})) << "the script's arguments";
  EXPECT_EQ(error_of(R"({"script":"echo hi"})"), "field 'script': must start with \"#!\" (an interpreter line)");
  EXPECT_EQ(error_of(R"({"script":"#!/bin/sh\u0000"})"), "field 'script': contains a NUL byte");
  EXPECT_EQ(error_of(R"({"script":1})"), "field 'script': must be a string");
  EXPECT_EQ(error_of(R"({"script":"#!/bin/sh","command":"x"})"), "field 'command': must be an array of strings");
  EXPECT_EQ(error_of(R"({"command":[]})"), "field 'command': must be a non-empty array of strings");
  EXPECT_EQ(error_of(R"({"command":["true"],"output":""})"),
            "field 'output': must be a file name pattern (1 to 4096 bytes, no NUL)");
  EXPECT_EQ(error_of(R"({"command":["true"],"error":7})"),
            "field 'error': must be a file name pattern (1 to 4096 bytes, no NUL)");
  const std::string big = R"({"script":"#!)" + std::string(kMaxScriptBytes, 'x') + R"("})";
  EXPECT_EQ(error_of(big), "field 'script': larger than 4 MiB");
}

// An allocation (salloc's, srun's outside a job): its command is optional (what its holder runs),
// its name salloc's, it is never requeued, and it has no script or array.
TEST(ParseSubmit, Allocation) {
  auto r = parse_submit(R"({"allocation":"attended","requeue":true})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->allocation, Allocation::Attended);
  EXPECT_TRUE(r->command.empty());
  EXPECT_EQ(r->name, "interactive");
  EXPECT_FALSE(r->requeue) << "its holder waits for it: not run again elsewhere";
  auto back = parse_submit(to_json(*r));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->allocation, Allocation::Attended);
  auto shell = parse_submit(R"({"allocation":"unattended","command":["bash","-l"]})");
  ASSERT_TRUE(shell) << shell.error().message;
  EXPECT_EQ(parse_submit(to_json(*shell))->allocation, Allocation::Unattended);
  EXPECT_EQ(shell->name, "bash");
  EXPECT_EQ(parse_submit(to_json(*parse_submit(R"({"command":["x"]})")))->allocation, Allocation::None);
  EXPECT_EQ(error_of(R"({"allocation":"yes"})"), "field 'allocation': expected \"attended\" or \"unattended\"");
  EXPECT_EQ(error_of(R"({"allocation":true})"), "field 'allocation': expected \"attended\" or \"unattended\"");
  EXPECT_EQ(error_of(R"({"allocation":"attended","script":"#!/bin/sh\n"})"),
            "field 'allocation': a job with a batch script is not an allocation");
  EXPECT_EQ(error_of(R"({"allocation":"attended","array":"0-3"})"),
            "field 'allocation': a job array is not an allocation");
  EXPECT_EQ(error_of(R"({"allocation":"attended","command":"bash"})"), "field 'command': must be an array of strings");
}

TEST(ParseSubmit, PartitionHoldAndTheRestOfSbatchsFields) {
  auto r = parse_submit(
      R"({"command":["x"],"partition":"gpu","hold":true,"input":"in.txt","open_append":true,"comment":"c","qos":"rnd"})");
  ASSERT_TRUE(r) << r.error().message;
  auto back = parse_submit(to_json(*r));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->partition, "gpu");
  EXPECT_TRUE(back->hold);
  EXPECT_EQ(back->input, "in.txt");
  EXPECT_TRUE(back->open_append);
  EXPECT_EQ(back->comment, "c");
  EXPECT_EQ(back->qos, "rnd");
  EXPECT_EQ(error_of(R"({"command":["x"],"qos":""})"),
            "field 'qos': must be an allocation programme's name (1 to 64 characters)");
  EXPECT_EQ(error_of(R"({"command":["x"],"partition":"a b"})"),
            "field 'partition': must be a partition's name (1 to 64 letters, digits, '.', '_' or '-')");
  EXPECT_EQ(error_of(R"({"command":["x"],"hold":1})"), "field 'hold': must be true or false");
  EXPECT_EQ(error_of(R"({"command":["x"],"open_append":"yes"})"), "field 'open_append': must be true or false");
  EXPECT_EQ(error_of(R"({"command":["x"],"comment":7})"), "field 'comment': must be a string of at most 1,024 bytes");
  // Node features, temporary disk, nice and priority: checked, and kept through the JSON form.
  auto features =
      parse_submit(R"({"command":["x"],"constraint":"ib&[a|b]","prefer":"fast","tmp":"10G","nice":5,"priority":9})");
  ASSERT_TRUE(features) << features.error().message;
  auto kept = parse_submit(to_json(*features));
  ASSERT_TRUE(kept) << kept.error().message;
  EXPECT_EQ(kept->constraint, "ib&[a|b]");
  EXPECT_EQ(kept->prefer, "fast");
  EXPECT_EQ(kept->tmp_bytes, 10LL << 30);
  EXPECT_EQ(kept->nice, 5);
  EXPECT_EQ(kept->priority, 9);
  EXPECT_EQ(error_of(R"({"command":["x"],"constraint":"a&"})"),
            "field 'constraint': Invalid --constraint specification 'a&': it ends where a name is expected (at "
            "character 3)");
  EXPECT_EQ(error_of(R"({"command":["x"],"prefer":7})"), "field 'prefer': must be a string of up to 1,024 bytes");
  EXPECT_EQ(error_of(R"({"command":["x"],"nice":3000000000})"),
            "field 'nice': must be an integer from -2147483645 to 2147483645");
  EXPECT_EQ(error_of(R"({"command":["x"],"priority":-2})"),
            "field 'priority': must be an integer from 0 to 4294967294");
  EXPECT_EQ(error_of(R"({"command":["x"],"tmp":"lots"})").substr(0, 12), "field 'tmp':");
  EXPECT_EQ(error_of(R"({"command":["x"],"begin":200,"deadline":100})"),
            "field 'deadline': Incompatible begin and deadline time specification");
  EXPECT_EQ(parse_submit(R"({"command":["x"],"deadline":"2026-03-01T18:00"})")->deadline, 1772388000);
  // The nodes a job names or excludes: lists of node names, kept through the JSON form.
  auto named = parse_submit(R"({"command":["x"],"nodes":2,"nodelist":["n1","n2"],"exclude":["gpu-07"]})");
  ASSERT_TRUE(named) << named.error().message;
  EXPECT_EQ(named->nodelist, (std::vector<std::string>{"n1", "n2"}));
  auto again = parse_submit(to_json(*named));
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->nodelist, named->nodelist);
  EXPECT_EQ(again->exclude, (std::vector<std::string>{"gpu-07"}));
  EXPECT_EQ(error_of(R"({"command":["x"],"nodelist":"n1"})"),
            "field 'nodelist': must be a list of node names (each 1 to 64 letters, digits, '.', '_' or '-')");
  EXPECT_EQ(error_of(R"({"command":["x"],"exclude":["a b"]})"),
            "field 'exclude': must be a list of node names (each 1 to 64 letters, digits, '.', '_' or '-')");
  EXPECT_TRUE(parse_submit(to_json(*parse_submit(R"({"command":["x"],"contiguous":true})")))->contiguous);
  EXPECT_EQ(error_of(R"({"command":["x"],"contiguous":1})"), "field 'contiguous': must be true or false");
  // The group it runs as (sbatch --gid): a group name, kept through the JSON form.
  EXPECT_EQ(parse_submit(to_json(*parse_submit(R"({"command":["x"],"group":"daemon"})")))->group, "daemon");
  for (const char* bad : {R"("")", R"("-x")", R"("a b")", R"(7)", R"("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")"}) {
    EXPECT_EQ(error_of(std::string(R"({"command":["x"],"group":)") + bad + "}"),
              "field 'group': must be a group name (letters, digits, '.', '_', '-'; up to 32)")
        << bad;
  }
}

// A job step's request (srun): its fields, and a mistake in each named.
TEST(ParseStep, FieldsAndMistakes) {
  auto r = parse_step(R"({"command":["python","t.py"],"ntasks":4,"nodes":2,"ntasks_per_node":2,"cpus_per_task":3,)"
                      R"("distribution":"cyclic","kill_on_bad_exit":true,"name":"n","workdir":"/w","env":{"A":"1"}})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->command, (std::vector<std::string>{"python", "t.py"}));
  EXPECT_EQ(r->ntasks, 4);
  EXPECT_EQ(r->nodes, 2);
  EXPECT_EQ(r->ntasks_per_node, 2);
  EXPECT_EQ(r->cpus_per_task, 3);
  EXPECT_TRUE(r->cyclic);
  EXPECT_TRUE(r->kill_on_bad_exit);
  EXPECT_EQ(r->name, "n");
  EXPECT_EQ(r->workdir, "/w");
  EXPECT_EQ(r->env, (std::vector<std::pair<std::string, std::string>>{{"A", "1"}}));
  auto step_error = [](const std::string& body) {
    auto x = parse_step(body);
    return x ? std::string("accepted") : x.error().message;
  };
  EXPECT_EQ(step_error(R"({})"), "field 'command': must be a non-empty array of strings");
  EXPECT_EQ(step_error(R"({"command":[""]})"), "field 'command': the program name is empty");
  EXPECT_EQ(step_error(R"({"command":["x"],"ntasks":0})"), "field 'ntasks': must be an integer from 1 to 100000");
  EXPECT_EQ(step_error(R"({"command":["x"],"distribution":"plane"})"),
            "field 'distribution': must be \"block\" or \"cyclic\"");
  EXPECT_EQ(step_error(R"({"command":["x"],"workdir":"rel"})"), "field 'workdir': must be an absolute path");
  EXPECT_EQ(step_error(R"({"command":["x"],"ntasks":1,"nodes":2})"), "field 'nodes': more nodes (2) than tasks (1)");
  EXPECT_EQ(step_error(R"({"command":["x"],"frob":1})"), "unknown field 'frob'");
  EXPECT_TRUE(parse_step(R"({"command":["x"],"overcommit":true})")->overcommit);
  EXPECT_FALSE(parse_step(R"({"command":["x"]})")->overcommit);
  EXPECT_EQ(step_error(R"({"command":["x"],"overcommit":1})"), "field 'overcommit': must be true or false");
  EXPECT_EQ(step_error("{").rfind("malformed JSON: ", 0), 0u) << step_error("{");
  // srun --pty: task 0's terminal, of a size.
  auto pty = parse_step(R"({"command":["bash"],"pty":{"rows":40,"cols":132}})");
  ASSERT_TRUE(pty) << pty.error().message;
  EXPECT_EQ(std::pair(pty->pty_rows, pty->pty_cols), std::pair(40, 132));
  EXPECT_EQ(std::pair(r->pty_rows, r->pty_cols), std::pair(0, 0));
  const std::string size_error = R"(field 'pty': must be {"rows": R, "cols": C}, each from 1 to 10,000)";
  for (const char* bad : {R"(true)", R"({"rows":40})", R"({"rows":0,"cols":80})", R"({"rows":40,"cols":80000})",
                          R"({"rows":"40","cols":80})", R"({"rows":40,"cols":80,"x":1})"}) {
    EXPECT_EQ(step_error(std::string(R"({"command":["x"],"pty":)") + bad + "}"), size_error) << bad;
  }
}

}  // namespace
}  // namespace gwang::api
