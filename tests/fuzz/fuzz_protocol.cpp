// libFuzzer target: the agent protocol's bodies (agent/protocol.h) on arbitrary bytes; the first byte
// picks the agent's call (what the controller decodes) or the controller's answer (what an agent
// decodes). Both are signed, but a controller must survive whatever a holder of the secret, or a bug
// in an older agent, sends. A refusal says what is wrong; an accepted body encodes and decodes again
// to the same.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "agent/protocol.h"

namespace {

void check_at(bool ok, int line) {
  if (ok) return;
  std::fprintf(stderr, "fuzz_protocol.cpp:%d: check failed\n", line);
  std::abort();
}
#define check(ok) check_at((ok), __LINE__)

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gwang::agent::protocol;
  if (size == 0) return 0;
  const std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) {
    auto r = decode_response(body);
    if (!r) {
      check(!r.error().message.empty());
      return 0;
    }
    auto again = decode_response(encode(*r, form_of(body)));
    check(again.has_value());
    check(again->launch.size() == r->launch.size() && again->terminate.size() == r->terminate.size() &&
          again->acked == r->acked && again->log_offsets == r->log_offsets &&
          again->node_timeout_ms == r->node_timeout_ms);
    return 0;
  }
  auto r = decode_request(body);
  if (!r) {
    check(!r.error().message.empty());
    return 0;
  }
  check(!r->node.empty() && r->node.size() <= 64);
  auto again = decode_request(encode(*r, form_of(body)));
  check(again.has_value());
  check(again->node == r->node && again->instance == r->instance && again->running == r->running &&
        again->finished.size() == r->finished.size() && again->logs.size() == r->logs.size() &&
        again->host.devices.size() == r->host.devices.size() && again->wait_ms == r->wait_ms);
  for (std::size_t i = 0; i < r->logs.size(); ++i) {
    check(again->logs[i].data == r->logs[i].data && again->logs[i].offset == r->logs[i].offset);
  }
  return 0;
}
