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

}  // namespace
}  // namespace gwang::agent::protocol
