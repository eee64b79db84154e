#include "agent/gpufreq.h"

#include <dlfcn.h>

#include <algorithm>

#include "slurm/specs.h"

namespace gwang::agent {

namespace {

using nvmlReturn_t = int;
using nvmlDevice_t = void*;
constexpr nvmlReturn_t kSuccess = 0;

// NVML's clock entry points, declared here: no NVIDIA header is installed.
struct Clocks {
  void* handle = nullptr;
  nvmlReturn_t (*init)() = nullptr;
  nvmlReturn_t (*shutdown)() = nullptr;
  nvmlReturn_t (*by_uuid)(const char*, nvmlDevice_t*) = nullptr;
  nvmlReturn_t (*memory_clocks)(nvmlDevice_t, unsigned int*, unsigned int*) = nullptr;
  nvmlReturn_t (*graphics_clocks)(nvmlDevice_t, unsigned int, unsigned int*, unsigned int*) = nullptr;
  nvmlReturn_t (*set)(nvmlDevice_t, unsigned int, unsigned int) = nullptr;
  nvmlReturn_t (*reset)(nvmlDevice_t) = nullptr;

  ~Clocks() {
    if (handle) {
      if (shutdown) shutdown();
      ::dlclose(handle);
    }
  }
  template <class F>
  bool bind(F& f, const char* symbol) {
    f = reinterpret_cast<F>(::dlsym(handle, symbol));
    return f != nullptr;
  }
  Result<void> open(const std::string& library) {
    handle = ::dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) return fail(library + " not loaded");
    if (!bind(init, "nvmlInit_v2") || !bind(shutdown, "nvmlShutdown") || !bind(by_uuid, "nvmlDeviceGetHandleByUUID") ||
        !bind(memory_clocks, "nvmlDeviceGetSupportedMemoryClocks") ||
        !bind(graphics_clocks, "nvmlDeviceGetSupportedGraphicsClocks") ||
        !bind(set, "nvmlDeviceSetApplicationsClocks") || !bind(reset, "nvmlDeviceResetApplicationsClocks")) {
      return fail(library + ": an NVML clock entry point is missing");
    }
    if (init() != kSuccess) {
      shutdown = nullptr;
      return fail(library + ": nvmlInit failed");
    }
    return {};
  }
};

// The clock a --gpu-freq value names among `supported` (MHz): a word as --cpu-freq's, a number the
// highest at or below it; "" the highest.
unsigned int pick(const std::string& value, std::vector<std::int64_t> supported) {
  std::sort(supported.begin(), supported.end());
  if (supported.empty()) return 0;
  std::string word = value.empty() ? "High" : value;
  if (const std::string l = slurm::lower(word); l == "low" || l == "medium" || l == "high" || l == "highm1") {
    word = l == "highm1" ? "Highm1" : std::string(1, static_cast<char>(l[0] - 'a' + 'A')) + l.substr(1);
  }
  return static_cast<unsigned int>(slurm::resolve_frequency(word, supported));
}

}  // namespace

GpuFreqSet apply_gpu_freq(const std::string& library, const std::vector<std::string>& uuids, const slurm::GpuFreq& freq,
                          std::string& said, std::string& failed) {
  GpuFreqSet out{library, {}};
  if (uuids.empty()) return out;
  Clocks nvml;
  if (auto o = nvml.open(library); !o) {
    failed += "gpu-freq: " + o.error().message + "\n";
    return out;
  }
  for (const std::string& uuid : uuids) {
    nvmlDevice_t dev = nullptr;
    if (nvml.by_uuid(uuid.c_str(), &dev) != kSuccess) continue;  // not an NVIDIA GPU (a declared device)
    unsigned int n = 64, clocks[64] = {};
    unsigned int memory = 0, graphics = 0;
    if (nvml.memory_clocks(dev, &n, clocks) == kSuccess) {
      memory = pick(freq.memory, std::vector<std::int64_t>(clocks, clocks + std::min(n, 64u)));
      unsigned int m = 256, graphics_clocks[256] = {};
      if (nvml.graphics_clocks(dev, memory, &m, graphics_clocks) == kSuccess) {
        graphics = pick(freq.graphics, std::vector<std::int64_t>(graphics_clocks, graphics_clocks + std::min(m, 256u)));
      }
    }
    if (memory == 0 || graphics == 0 || nvml.set(dev, memory, graphics) != kSuccess) {
      failed += "gpu-freq: " + uuid + ": its application clocks could not be set\n";
      continue;
    }
    out.uuids.push_back(uuid);
    said += "gpu-freq: " + uuid + ": memory " + std::to_string(memory) + " MHz, graphics " + std::to_string(graphics) +
            " MHz\n";
  }
  return out;
}

void reset_gpu_freq(const GpuFreqSet& set) {
  if (set.uuids.empty()) return;
  Clocks nvml;
  if (!nvml.open(set.library)) return;
  for (const std::string& uuid : set.uuids) {
    nvmlDevice_t dev = nullptr;
    if (nvml.by_uuid(uuid.c_str(), &dev) == kSuccess) nvml.reset(dev);
  }
}

}  // namespace gwang::agent
