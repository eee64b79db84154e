#include "agent/devices.h"

#include <dlfcn.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

namespace gwang::agent {

namespace {

// The few NVML entry points gwang uses, declared here: no NVIDIA header is installed.
using nvmlReturn_t = int;
using nvmlDevice_t = void*;
struct nvmlMemory_t {
  unsigned long long total, free, used;
};
constexpr nvmlReturn_t NVML_SUCCESS = 0;

struct Nvml {
  void* handle = nullptr;
  nvmlReturn_t (*init)() = nullptr;
  nvmlReturn_t (*shutdown)() = nullptr;
  nvmlReturn_t (*count)(unsigned int*) = nullptr;
  nvmlReturn_t (*by_index)(unsigned int, nvmlDevice_t*) = nullptr;
  nvmlReturn_t (*name)(nvmlDevice_t, char*, unsigned int) = nullptr;
  nvmlReturn_t (*uuid)(nvmlDevice_t, char*, unsigned int) = nullptr;
  nvmlReturn_t (*memory)(nvmlDevice_t, nvmlMemory_t*) = nullptr;
  nvmlReturn_t (*minor_number)(nvmlDevice_t, unsigned int*) = nullptr;  // optional
  // The CPUs near the device, as a bitmask of `size` unsigned longs (optional).
  nvmlReturn_t (*cpu_affinity)(nvmlDevice_t, unsigned int size, unsigned long* mask) = nullptr;
  const char* (*error)(nvmlReturn_t) = nullptr;

  ~Nvml() {
    if (handle) ::dlclose(handle);
  }
  template <class F>
  bool bind(F& f, const char* symbol) {
    f = reinterpret_cast<F>(::dlsym(handle, symbol));
    return f != nullptr;
  }
  std::string why(nvmlReturn_t r) const { return error ? error(r) : "error " + std::to_string(r); }
};

// A small integer in a sysfs file; -1 when it cannot be read.
int read_sysfs_int(const std::string& path) {
  std::ifstream in(path);
  int v = -1;
  if (!(in >> v)) return -1;
  return v;
}

// The CPU ids this process may run on and the physical core of each (package and core id from
// sysfs; a CPU without them is its own core).
void discover_cpus(HostResources& host) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return;
  for (int id = 0; id < CPU_SETSIZE; ++id) {
    if (!CPU_ISSET(id, &set)) continue;
    const std::string dir = "/sys/devices/system/cpu/cpu" + std::to_string(id) + "/topology/";
    const int package = read_sysfs_int(dir + "physical_package_id"), core = read_sysfs_int(dir + "core_id");
    host.cpu_ids.push_back(id);
    host.cpu_cores.push_back(package >= 0 && core >= 0 ? package * 65536 + core : 1 << 30 | id);
  }
}

}  // namespace

void limit_cpus(HostResources& host, int cpus) {
  host.cpus = cpus;
  if (static_cast<int>(host.cpu_ids.size()) < cpus) {
    host.cpu_ids.clear();
    host.cpu_cores.clear();
  } else {
    host.cpu_ids.resize(static_cast<std::size_t>(cpus));
    host.cpu_cores.resize(static_cast<std::size_t>(cpus));
  }
  for (Device& d : host.devices) {
    std::erase_if(d.near_cpus, [&](int id) {
      return std::find(host.cpu_ids.begin(), host.cpu_ids.end(), id) == host.cpu_ids.end();
    });
  }
}

std::string nvidia_model(const std::string& product_name) {
  std::istringstream in(product_name);
  std::vector<std::string> words;
  for (std::string w; in >> w;) {
    if (w == "NVIDIA" || w == "Tesla" || w == "GeForce" || w == "Quadro") continue;
    words.push_back(w);
  }
  if (words.empty()) return "unknown";
  std::string model = words[0];
  if ((model == "RTX" || model == "GTX" || model == "TITAN") && words.size() > 1) model += words[1];
  const auto dash = model.find('-');
  if (dash != std::string::npos && dash > 0) model = model.substr(0, dash);
  return model;
}

Result<void> validate_kind(const std::string& kind) {
  const auto colon = kind.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == kind.size()) {
    return fail("device kind '" + kind + "': expected family:model, e.g. npu:ascend910");
  }
  for (std::size_t i = 0; i < kind.size(); ++i) {
    const char c = kind[i];
    if (i == colon) continue;
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) {
      return fail("device kind '" + kind + "': character '" + std::string(1, c) + "' is not allowed");
    }
  }
  return {};
}

Result<std::vector<Device>> discover_nvidia(const std::string& library, std::string* status) {
  Nvml nvml;
  nvml.handle = ::dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!nvml.handle) {
    if (status) *status = "no NVIDIA driver (" + library + " not loaded)";
    return std::vector<Device>{};
  }
  const bool bound = nvml.bind(nvml.init, "nvmlInit_v2") && nvml.bind(nvml.shutdown, "nvmlShutdown") &&
                     nvml.bind(nvml.count, "nvmlDeviceGetCount_v2") &&
                     nvml.bind(nvml.by_index, "nvmlDeviceGetHandleByIndex_v2") &&
                     nvml.bind(nvml.name, "nvmlDeviceGetName") && nvml.bind(nvml.uuid, "nvmlDeviceGetUUID") &&
                     nvml.bind(nvml.memory, "nvmlDeviceGetMemoryInfo");
  nvml.bind(nvml.error, "nvmlErrorString");
  nvml.bind(nvml.minor_number, "nvmlDeviceGetMinorNumber");
  nvml.bind(nvml.cpu_affinity, "nvmlDeviceGetCpuAffinity");
  if (!bound) return fail(library + ": an NVML entry point is missing: " + ::dlerror());
  if (const nvmlReturn_t r = nvml.init(); r != NVML_SUCCESS) {
    return fail(library + ": nvmlInit failed: " + nvml.why(r));
  }
  std::vector<Device> out;
  unsigned int count = 0;
  nvmlReturn_t r = nvml.count(&count);
  for (unsigned int i = 0; r == NVML_SUCCESS && i < count; ++i) {
    nvmlDevice_t dev = nullptr;
    char name[96] = {}, uuid[96] = {};
    nvmlMemory_t mem{};
    if ((r = nvml.by_index(i, &dev)) != NVML_SUCCESS || (r = nvml.name(dev, name, sizeof name)) != NVML_SUCCESS ||
        (r = nvml.uuid(dev, uuid, sizeof uuid)) != NVML_SUCCESS || (r = nvml.memory(dev, &mem)) != NVML_SUCCESS) {
      break;
    }
    out.push_back(
        {"gpu:" + nvidia_model(name), name, uuid, static_cast<int>(i), static_cast<std::int64_t>(mem.total), false});
    // Its device file, /dev/nvidia<minor>, where this host shows it (a container may not).
    unsigned int number = 0;
    if (nvml.minor_number && nvml.minor_number(dev, &number) == NVML_SUCCESS) {
      (void)set_device_file(out.back(), "/dev/nvidia" + std::to_string(number));
    }
    // The CPUs near it: those of its NUMA node, as the driver reports them.
    constexpr unsigned int kWords = 16;
    unsigned long mask[kWords] = {};
    if (nvml.cpu_affinity && nvml.cpu_affinity(dev, kWords, mask) == NVML_SUCCESS) {
      constexpr int kBits = static_cast<int>(sizeof(unsigned long)) * 8;
      for (int id = 0; id < static_cast<int>(kWords) * kBits; ++id) {
        if (mask[id / kBits] >> (id % kBits) & 1UL) out.back().near_cpus.push_back(id);
      }
    }
  }
  nvml.shutdown();
  if (r != NVML_SUCCESS) return fail(library + ": reading the GPUs failed: " + nvml.why(r));
  if (status) *status = std::to_string(out.size()) + " NVIDIA GPU(s) through " + library;
  return out;
}

Result<void> set_device_file(Device& device, const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return fail(path + ": " + std::strerror(errno));
  if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) return fail(path + ": not a device file");
  device.file = path;
  device.file_type = S_ISCHR(st.st_mode) ? 'c' : 'b';
  device.major = static_cast<int>(major(st.st_rdev));
  device.minor = static_cast<int>(minor(st.st_rdev));
  return {};
}

std::string deny_rule(const Device& device) {
  if (device.major < 0) return "";
  return std::string(1, device.file_type) + " " + std::to_string(device.major) + ":" + std::to_string(device.minor) +
         " rwm";
}

std::int64_t file_system_bytes(const std::string& path) {
  struct statvfs fs {};
  if (::statvfs(path.c_str(), &fs) != 0) return 0;
  return static_cast<std::int64_t>(fs.f_blocks) * static_cast<std::int64_t>(fs.f_frsize);
}

Result<HostResources> discover_host(const std::vector<DeclaredDevices>& declared, const std::string& nvml_library) {
  HostResources host;
  cpu_set_t set;
  CPU_ZERO(&set);
  host.cpus = ::sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set)
                                                            : static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN));
  host.memory_bytes = static_cast<std::int64_t>(::sysconf(_SC_PHYS_PAGES)) * ::sysconf(_SC_PAGESIZE);
  discover_cpus(host);
  if (!nvml_library.empty()) {
    auto gpus = discover_nvidia(nvml_library, &host.nvml_status);
    if (!gpus) return tl::unexpected(gpus.error());
    host.devices = std::move(*gpus);
  } else {
    host.nvml_status = "NVML discovery off";
  }
  std::map<std::string, int> next;
  for (const DeclaredDevices& d : declared) {
    if (auto ok = validate_kind(d.kind); !ok) return tl::unexpected(ok.error());
    if (d.count < 0) return fail("device kind '" + d.kind + "': count must not be negative");
    if (!d.files.empty() && static_cast<int>(d.files.size()) != d.count) {
      return fail("device kind '" + d.kind + "': " + std::to_string(d.files.size()) + " file(s) for " +
                  std::to_string(d.count) + " device(s)");
    }
    for (const int id : d.near_cpus) {
      if (std::find(host.cpu_ids.begin(), host.cpu_ids.end(), id) == host.cpu_ids.end()) {
        return fail("device kind '" + d.kind + "': near CPU " + std::to_string(id) +
                    ", which is not one of this host's that the agent may use");
      }
    }
    for (int i = 0; i < d.count; ++i) {
      const int index = next[d.kind]++;
      host.devices.push_back({d.kind, d.kind, d.kind + "-" + std::to_string(index), index, d.memory_bytes, true});
      host.devices.back().near_cpus = d.near_cpus;
      if (!d.files.empty()) {
        if (auto r = set_device_file(host.devices.back(), d.files[static_cast<std::size_t>(i)]); !r) {
          return fail("device kind '" + d.kind + "': " + r.error().message);
        }
      }
    }
  }
  return host;
}

}  // namespace gwang::agent
