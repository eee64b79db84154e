// libFuzzer target: the SWF reader and every loader on arbitrary bytes. Besides the sanitizers'
// checks, it asserts the loaders' promises on whatever they accept.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "trace/swf.h"
#include "trace/swf_loader.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gwang::trace;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto trace = parse_swf(text, "fuzz.swf");
  if (!trace) {
    check(trace.error().message.starts_with("fuzz.swf:"));
    return 0;
  }
  for (auto loader : {SwfLoader::Predictsim, SwfLoader::Rlscheduler, SwfLoader::None}) {
    auto workload = load_swf(*trace, loader);
    if (!workload) {
      check(workload.error().message.starts_with("fuzz.swf"));
      continue;
    }
    check(workload->jobs.size() + workload->dropped == trace->records.size());
    check(workload->machine_procs > 0);
    for (const SwfJob& job : workload->jobs) {
      check(job.line >= 1);
      if (loader == SwfLoader::Predictsim) {
        check(job.procs >= 1 && job.run >= 1 && job.run <= job.requested_time && job.submit >= 0);
      } else if (loader == SwfLoader::None) {
        check(job.procs >= 1 && job.run >= 1 && job.requested_time >= 1);
      } else {
        check(job.run >= 1);
      }
    }
  }
  return 0;
}
