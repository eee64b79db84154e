// libFuzzer target: the body of a job submission (POST /api/v1/jobs), and of a job step (POST
// /api/v1/jobs/{id}/steps), on arbitrary bytes. A refusal says what is wrong in one of the
// documented forms; an accepted request holds only values the checks allow, and a submission written
// back as JSON (to_json, what the journal keeps) reads back the same.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "api/request.h"

namespace {

void check_at(bool ok, int line) {
  if (ok) return;
  std::fprintf(stderr, "fuzz_submit.cpp:%d: check failed\n", line);
  std::abort();
}
#define check(ok) check_at((ok), __LINE__)

bool same(const gwang::api::SubmitRequest& a, const gwang::api::SubmitRequest& b) {
  return a.name == b.name && a.command == b.command && a.workdir == b.workdir && a.env == b.env && a.cpus == b.cpus &&
         a.mem_bytes == b.mem_bytes && a.gpus.count == b.gpus.count && a.gpus.models == b.gpus.models &&
         a.gpu_share == b.gpu_share && a.nodes == b.nodes && a.time_s == b.time_s && a.requeue == b.requeue &&
         a.project == b.project && a.preemptible == b.preemptible && a.begin == b.begin &&
         a.dependency == b.dependency && a.array == b.array && a.script == b.script && a.output == b.output &&
         a.error == b.error && a.input == b.input && a.open_append == b.open_append && a.comment == b.comment &&
         a.partition == b.partition && a.hold == b.hold && a.qos == b.qos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gwang::api;
  const std::string body(reinterpret_cast<const char*>(data), size);
  if (auto step = parse_step(body); !step) {
    const std::string& m = step.error().message;
    check(m.starts_with("field '") || m.starts_with("unknown field '") || m.starts_with("malformed JSON: ") ||
          m == "expected a JSON object");
  } else {
    check(!step->command.empty() && !step->command.front().empty());
    check(step->ntasks >= 0 && step->nodes >= 0 && step->ntasks_per_node >= 0 && step->cpus_per_task >= 0);
    check(step->nodes == 0 || step->ntasks == 0 || step->nodes <= step->ntasks);
    check(step->workdir.empty() || step->workdir.front() == '/');
  }
  auto request = parse_submit(body);
  if (!request) {
    const std::string& m = request.error().message;
    check(m.starts_with("field '") || m.starts_with("unknown field '") || m.starts_with("malformed JSON at byte ") ||
          m == "expected a JSON object");
    return 0;
  }
  const SubmitRequest& r = *request;
  check(!r.command.empty() || !r.script.empty());
  check(r.cpus >= 1 && r.cpus <= 4096);
  check(r.mem_bytes > 0);
  check(r.nodes >= 1);
  check(r.time_s > 0);
  check(r.gpus.count >= 0);
  check(r.gpu_share >= 0 && r.gpu_share < 1);
  check(!(r.gpu_share > 0 && r.gpus.count > 0));
  auto again = parse_submit(to_json(r));
  check(again.has_value());
  check(same(r, *again));
  return 0;
}
