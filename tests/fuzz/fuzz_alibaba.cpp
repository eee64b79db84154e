// libFuzzer target: both Alibaba CSV parsers on arbitrary bytes. The first byte picks whether the
// input gets a valid header in front (to reach the row checks quickly) or is parsed as it is.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "trace/alibaba.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

constexpr std::string_view kNodeHeader = "sn,cpu_milli,memory_mib,gpu,model\n";
constexpr std::string_view kPodHeader =
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time\n";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gwang::trace;
  if (size == 0) return 0;
  const bool add_header = (data[0] & 1) != 0;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);

  auto nodes = parse_alibaba_nodes(add_header ? std::string(kNodeHeader) + std::string(body) : std::string(body), "n.csv");
  if (nodes) {
    for (const AlibabaNode& n : *nodes) {
      check(!n.name.empty() && n.cpu_milli >= 0 && n.memory_mib >= 0 && n.gpus >= 0 && n.line >= 2);
      check(n.gpus == 0 || !n.model.empty());
    }
  } else {
    check(nodes.error().message.starts_with("n.csv"));
  }

  auto pods = parse_alibaba_pods(add_header ? std::string(kPodHeader) + std::string(body) : std::string(body), "p.csv");
  if (pods) {
    for (const AlibabaPod& p : *pods) {
      check(!p.name.empty() && p.cpu_milli >= 0 && p.memory_mib >= 0 && p.num_gpu >= 0 && p.line >= 2);
      check(p.num_gpu == 0 ? p.gpu_milli == 0 : (p.gpu_milli >= 1 && p.gpu_milli <= 1000));
      check(p.num_gpu <= 1 || p.gpu_milli == 1000);
      for (const std::string& model : p.gpu_spec) check(!model.empty());
      check(p.creation_time >= -1 && p.deletion_time >= -1 && p.scheduled_time >= -1);
    }
  } else {
    check(pods.error().message.starts_with("p.csv"));
  }
  return 0;
}
