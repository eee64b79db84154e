// The agent protocol's bodies: a number where an integer belongs, or one too large for it, is
// refused with an error (it was undefined behaviour; found by fuzz_protocol); the binary form
// carries every field the JSON form does, and damaged binary is refused with the byte.
#include "agent/protocol.h"

#include <gtest/gtest.h>

#include <tuple>

namespace gwang::agent::protocol {
namespace {

TEST(Protocol, IntegersMustBeIntegersInRange) {
  SyncResponse answer;
  Launch l;
  l.task = "7.0.0";
  l.job = 7;
  l.user = "nobody";
  l.argv = {"true"};
  answer.launch.push_back(l);
  answer.node_timeout_ms = 60000;
  const std::string good = encode(answer);
  ASSERT_TRUE(decode_response(good));
  std::string huge = good;
  huge.replace(huge.find("\"job\":7"), 7, "\"job\":2.0e115");
  auto refused = decode_response(huge);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("expected an integer in range"), std::string::npos) << refused.error().message;
  std::string fraction = good;
  fraction.replace(fraction.find("\"node_timeout_ms\":60000"), 23, "\"node_timeout_ms\":1.5");
  EXPECT_FALSE(decode_response(fraction));

  SyncRequest call;
  call.node = "n1";
  call.instance = "0123456789abcdef";
  call.host.cpus = 4;
  call.host.memory_bytes = 1 << 30;
  const std::string request = encode(call);
  ASSERT_TRUE(decode_request(request));
  std::string too_many = request;
  too_many.replace(too_many.find("\"cpus\":4"), 8, "\"cpus\":4294967296");
  auto cpus = decode_request(too_many);
  ASSERT_FALSE(cpus);
  EXPECT_NE(cpus.error().message.find("expected an integer in range"), std::string::npos) << cpus.error().message;
}

TEST(Protocol, TaskIdsOfJobsAndOfSteps) {
  EXPECT_EQ(task_id(12, 1, 3), "12.1.3");
  EXPECT_EQ(step_task_id(12, 1, 4, 7), "12.1.s4.7");
  const auto job = parse_task_id("12.1.3");
  ASSERT_TRUE(job);
  EXPECT_EQ(job->job, 12);
  EXPECT_EQ(job->attempt, 1);
  EXPECT_EQ(job->step, -1);
  EXPECT_EQ(job->rank, 3);
  const auto step = parse_task_id("12.1.s4.7");
  ASSERT_TRUE(step);
  EXPECT_EQ(step->job, 12);
  EXPECT_EQ(step->attempt, 1);
  EXPECT_EQ(step->step, 4);
  EXPECT_EQ(step->rank, 7);
  for (const char* bad : {"", "12", "12.1", "12.1.", "12.1.s4", "12.1.s.7", "12.1.s-1.7", "0.0.0", "12.1.3.4",
                          "12.1.x4.7", "12.1.s4.7 ", "a.1.3"}) {
    EXPECT_FALSE(parse_task_id(bad)) << bad;
  }
  EXPECT_EQ(log_name("12.1.3", false), "12/1.3.stdout");
  EXPECT_EQ(log_name("12.1.s4.7", true), "12/1.s4.7.stderr");

  // A launch of a step's task keeps its step; one with a malformed id is refused.
  SyncResponse answer;
  Launch l;
  l.task = step_task_id(7, 0, 2, 1);
  l.job = 7;
  l.rank = 1;
  l.step = 2;
  l.user = "nobody";
  l.argv = {"true"};
  answer.launch.push_back(l);
  const std::string body = encode(answer);
  auto back = decode_response(body);
  ASSERT_TRUE(back);
  ASSERT_EQ(back->launch.size(), 1u);
  EXPECT_EQ(back->launch[0].step, 2);
  EXPECT_EQ(back->launch[0].task, "7.0.s2.1");
  std::string bad = body;
  bad.replace(bad.find("7.0.s2.1"), 8, "7.0.s2.x");
  auto refused = decode_response(bad);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("field 'launch[].task'"), std::string::npos) << refused.error().message;
}

SyncRequest full_request() {
  SyncRequest r;
  r.node = "gpu-017";
  r.instance = "0123456789abcdef";
  r.address = "10.0.0.17";
  r.host.cpus = 64;
  r.host.memory_bytes = 512LL << 30;
  r.host.devices.push_back({"gpu:H100", "NVIDIA H100 80GB HBM3", "GPU-1234", 0, 80LL << 30, false});
  r.host.devices.push_back({"npu:ascend910", "", "npu:ascend910-0", 1, 0, true});
  r.host.devices[0].near_cpus = {0, 1, 32, 33};
  for (int id = 0; id < 64; ++id) {
    r.host.cpu_ids.push_back(id);
    r.host.cpu_cores.push_back(id % 32);
  }
  r.tracking = "cgroup v2";
  r.running = {"7.0.0", "8.1.s2.3"};
  r.finished.push_back({"6.0.1", {TaskEnd::Signaled, -1, 9}, "killed", true});
  r.finished.push_back({"6.0.2", {TaskEnd::OutOfMemory, 137, 0}, "", false});
  r.logs.push_back({"7.0.0", true, 4096, std::string("bytes \xff\x00 of any kind", 22)});
  r.wait_ms = 25000;
  r.signalled = {{"7.0.0", 0}, {"8.1.s2.3", 3}};
  r.takes_signals = true;
  r.takes_terminals = true;
  r.takes_services = true;
  return r;
}

void expect_same(const SyncRequest& a, const SyncRequest& b) {
  EXPECT_EQ(a.node, b.node);
  EXPECT_EQ(a.instance, b.instance);
  EXPECT_EQ(a.address, b.address);
  EXPECT_EQ(a.host.cpus, b.host.cpus);
  EXPECT_EQ(a.host.memory_bytes, b.host.memory_bytes);
  ASSERT_EQ(a.host.devices.size(), b.host.devices.size());
  for (std::size_t i = 0; i < a.host.devices.size(); ++i) {
    const Device &x = a.host.devices[i], &y = b.host.devices[i];
    EXPECT_EQ(std::tie(x.kind, x.name, x.uuid, x.index, x.memory_bytes, x.declared, x.near_cpus),
              std::tie(y.kind, y.name, y.uuid, y.index, y.memory_bytes, y.declared, y.near_cpus));
  }
  EXPECT_EQ(a.host.cpu_ids, b.host.cpu_ids);
  EXPECT_EQ(a.host.cpu_cores, b.host.cpu_cores);
  EXPECT_EQ(a.tracking, b.tracking);
  EXPECT_EQ(a.running, b.running);
  ASSERT_EQ(a.finished.size(), b.finished.size());
  for (std::size_t i = 0; i < a.finished.size(); ++i) {
    const Finished &x = a.finished[i], &y = b.finished[i];
    EXPECT_EQ(std::tie(x.task, x.status.end, x.status.exit_code, x.status.signal, x.message, x.fenced),
              std::tie(y.task, y.status.end, y.status.exit_code, y.status.signal, y.message, y.fenced));
  }
  ASSERT_EQ(a.logs.size(), b.logs.size());
  for (std::size_t i = 0; i < a.logs.size(); ++i) {
    EXPECT_EQ(std::tie(a.logs[i].task, a.logs[i].stderr_stream, a.logs[i].offset, a.logs[i].data),
              std::tie(b.logs[i].task, b.logs[i].stderr_stream, b.logs[i].offset, b.logs[i].data));
  }
  EXPECT_EQ(a.wait_ms, b.wait_ms);
  EXPECT_EQ(a.signalled, b.signalled);
  EXPECT_EQ(a.takes_signals, b.takes_signals);
  EXPECT_EQ(a.takes_terminals, b.takes_terminals);
  EXPECT_EQ(a.takes_services, b.takes_services);
}

SyncResponse full_response() {
  SyncResponse r;
  Launch l;
  l.task = "8.1.s2.3";
  l.job = 8;
  l.attempt = 1;
  l.rank = 3;
  l.step = 2;
  l.user = "alice";
  l.argv = {"python3", "train.py", "--lr=3e-4"};
  l.workdir = "/home/alice/run";
  l.env = {{"SLURM_JOB_ID", "8"}, {"RANK", "3"}};
  l.devices = {"GPU-1234"};
  l.memory_limit_bytes = 64LL << 30;
  l.script = "#!/bin/sh\nsrun hostname\n";
  l.output = "slurm-%j.out";
  l.error = "err.txt";
  l.output_append = true;
  l.input = "in.txt";
  l.cpus = {2, 3, 34};
  l.cpu_bind_verbose = true;
  l.cpu_bind_none = true;
  l.terminal_rows = 40;
  l.terminal_cols = 132;
  l.terminal_secret = "0f1e2d3c";
  l.service_port = 0;
  l.service_secret = "5a6b7c8d";
  r.launch.push_back(l);
  Launch plain;  // one without CPUs beside one with them
  plain.task = "9.0.0";
  plain.job = 9;
  plain.user = "bob";
  plain.argv = {"true"};
  r.launch.push_back(plain);
  r.terminate.push_back({"7.0.0", TaskEnd::TimedOut, "time limit"});
  r.acked = {"6.0.1", "6.0.2"};
  r.log_offsets = {{"7.0.0.stderr", 4118}, {"7.0.0.stdout", 0}};
  r.node_timeout_ms = 60000;
  r.signal.push_back({"7.0.0", 0, 10, true});
  r.signal.push_back({"8.1.s2.3", 4, 12, false});
  return r;
}

void expect_same(const SyncResponse& a, const SyncResponse& b) {
  ASSERT_EQ(a.launch.size(), b.launch.size());
  for (std::size_t i = 0; i < a.launch.size(); ++i) {
    const Launch &x = a.launch[i], &y = b.launch[i];
    EXPECT_EQ(std::tie(x.task, x.job, x.attempt, x.rank, x.step, x.user, x.argv, x.workdir, x.env, x.devices),
              std::tie(y.task, y.job, y.attempt, y.rank, y.step, y.user, y.argv, y.workdir, y.env, y.devices));
    EXPECT_EQ(std::tie(x.memory_limit_bytes, x.script, x.output, x.error, x.output_append, x.input),
              std::tie(y.memory_limit_bytes, y.script, y.output, y.error, y.output_append, y.input));
    EXPECT_EQ(std::tie(x.cpus, x.cpu_bind_verbose, x.cpu_bind_none),
              std::tie(y.cpus, y.cpu_bind_verbose, y.cpu_bind_none));
    EXPECT_EQ(std::tie(x.terminal_rows, x.terminal_cols, x.terminal_secret),
              std::tie(y.terminal_rows, y.terminal_cols, y.terminal_secret));
    EXPECT_EQ(std::tie(x.service_port, x.service_secret), std::tie(y.service_port, y.service_secret));
  }
  ASSERT_EQ(a.terminate.size(), b.terminate.size());
  for (std::size_t i = 0; i < a.terminate.size(); ++i) {
    EXPECT_EQ(std::tie(a.terminate[i].task, a.terminate[i].why, a.terminate[i].message),
              std::tie(b.terminate[i].task, b.terminate[i].why, b.terminate[i].message));
  }
  EXPECT_EQ(a.acked, b.acked);
  EXPECT_EQ(a.log_offsets, b.log_offsets);
  EXPECT_EQ(a.node_timeout_ms, b.node_timeout_ms);
  EXPECT_EQ(a.signal, b.signal);
}

// The signatures are HMAC-SHA256 as any other implementation makes them (the values: `openssl dgst
// -sha256 -hmac`), also when one thread signs with one secret, then another, then the first again.
TEST(Protocol, SignaturesAreHmacSha256) {
  const std::string a = "0123456789abcdef-secret", b = "another-secret-of-16";
  for (int round = 0; round < 2; ++round) {
    EXPECT_EQ(sign_request(a, "POST", kSyncPath, "1700000000", "n1", "{}"),
              "154abe1379c4f0ff64f5c46d2a98edb47267bd88beceb80abe4c44fef8cba633");
    EXPECT_EQ(sign_response(a, "abc", "{}"), "18865fa1d3659d4fb5fddb4525b13395ee632aae8bc455c8df7ed9a01c1905bf");
    EXPECT_EQ(sign_request(b, "POST", kSyncPath, "1700000000", "n1", "{}"),
              "104a58a98ae0686db599763b740514e17d80a3c2e608cef3396723b3bde8defb");
  }
}

TEST(Protocol, BothFormsCarryEveryField) {
  for (Form form : {Form::Json, Form::Binary}) {
    SCOPED_TRACE(form == Form::Json ? "json" : "binary");
    const std::string call = encode(full_request(), form);
    EXPECT_EQ(form_of(call), form);
    auto request = decode_request(call);
    ASSERT_TRUE(request) << request.error().message;
    expect_same(*request, full_request());
    const std::string answer = encode(full_response(), form);
    EXPECT_EQ(form_of(answer), form);
    auto response = decode_response(answer);
    ASSERT_TRUE(response) << response.error().message;
    expect_same(*response, full_response());
  }
  // A node that reports no CPU ids (an agent of the previous version) is answered without the
  // launches' CPUs at the end, as that agent reads answers; likewise without signals (which only
  // an agent that takes them is sent).
  SyncResponse old = full_response();
  old.signal.clear();
  for (Launch& l : old.launch) l.cpus.clear();
  // ... and without terminals, which only a launch with one (srun --pty) needs, nor services
  // (a session's).
  old.launch[0].service_port = -1;
  old.launch[0].service_secret.clear();
  SyncResponse terminals = old;
  EXPECT_TRUE(encode(terminals, Form::Binary).starts_with("\x01gwang-orders-4\n"));
  old.launch[0].terminal_rows = old.launch[0].terminal_cols = 0;
  old.launch[0].terminal_secret.clear();
  EXPECT_TRUE(encode(old, Form::Binary).starts_with("\x01gwang-orders-1\n"));
  SyncResponse signals = old;
  signals.signal = full_response().signal;
  EXPECT_TRUE(encode(signals, Form::Binary).starts_with("\x01gwang-orders-3\n"));
  SyncResponse older = old;
  older.launch[0].cpu_bind_verbose = false;
  older.launch[0].cpu_bind_none = false;
  EXPECT_EQ(encode(old, Form::Binary), encode(older, Form::Binary));
  SyncRequest before = full_request();
  before.host.cpu_ids.clear();
  before.host.cpu_cores.clear();
  for (Device& d : before.host.devices) d.near_cpus.clear();
  auto read = decode_request(encode(before, Form::Binary));
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_TRUE(read->host.cpu_ids.empty());
  // An agent that has sent no signal yet still says it takes them (an empty map), in both forms.
  SyncRequest none = full_request();
  none.signalled.clear();
  for (Form form : {Form::Json, Form::Binary}) {
    auto took = decode_request(encode(none, form));
    ASSERT_TRUE(took) << took.error().message;
    EXPECT_TRUE(took->takes_signals);
  }
  // An agent of the version before services says nothing of them: it serves none; and one before
  // terminals, nothing of those: it takes none.
  std::string before_services = encode(full_request(), Form::Binary);
  ASSERT_TRUE(before_services.starts_with("\x01gwang-sync-6\n"));
  before_services.replace(0, 14, "\x01gwang-sync-5\n");
  before_services.pop_back();  // its last field, whether it serves sessions
  auto v5 = decode_request(before_services);
  ASSERT_TRUE(v5) << v5.error().message;
  EXPECT_FALSE(v5->takes_services);
  EXPECT_TRUE(v5->takes_terminals);
  std::string earlier = before_services;
  earlier.replace(0, 14, "\x01gwang-sync-4\n");
  earlier.pop_back();  // its last field, whether it takes terminals
  auto before_terminals = decode_request(earlier);
  ASSERT_TRUE(before_terminals) << before_terminals.error().message;
  EXPECT_FALSE(before_terminals->takes_terminals);
  EXPECT_EQ(before_terminals->host.tmp_bytes, full_request().host.tmp_bytes);
  // CPU ids without their cores are refused, by name.
  SyncRequest lopsided = full_request();
  lopsided.host.cpu_cores.pop_back();
  auto refused = decode_request(encode(lopsided, Form::Json));
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("field 'cpu_cores'"), std::string::npos) << refused.error().message;
  // The binary form is the smaller, and the faster to read.
  EXPECT_LT(encode(full_request(), Form::Binary).size(), encode(full_request(), Form::Json).size() / 2);
}

TEST(Protocol, DamagedBinaryIsRefusedWithTheByte) {
  const std::string call = encode(full_request(), Form::Binary);
  // Every cut is refused (what is left is a different, shorter body).
  for (std::size_t n = 1; n < call.size(); ++n) {
    auto r = decode_request(call.substr(0, n));
    ASSERT_FALSE(r) << "cut at " << n;
    EXPECT_FALSE(r.error().message.empty());
  }
  auto extra = decode_request(call + "x");
  ASSERT_FALSE(extra);
  EXPECT_NE(extra.error().message.find("byte " + std::to_string(call.size()) + ": bytes after the end"),
            std::string::npos)
      << extra.error().message;
  // The checks of the JSON form hold for the binary one: a bad node name, no CPUs, a bad end.
  SyncRequest bad = full_request();
  bad.node = "no spaces";
  auto named = decode_request(encode(bad, Form::Binary));
  ASSERT_FALSE(named);
  EXPECT_NE(named.error().message.find("field 'node'"), std::string::npos) << named.error().message;
  bad = full_request();
  bad.host.cpus = 0;
  EXPECT_FALSE(decode_request(encode(bad, Form::Binary)));
  SyncResponse wrong = full_response();
  wrong.launch[0].step = 5;  // not the step its task id names
  auto step = decode_response(encode(wrong, Form::Binary));
  ASSERT_FALSE(step);
  EXPECT_NE(step.error().message.find("field 'launch[].step'"), std::string::npos) << step.error().message;
}

}  // namespace
}  // namespace gwang::agent::protocol
