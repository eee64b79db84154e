// The agent protocol's bodies: a number where an integer belongs, or one too large for it, is
// refused with an error (it was undefined behaviour; found by fuzz_protocol).
#include "agent/protocol.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace gwang::agent::protocol
