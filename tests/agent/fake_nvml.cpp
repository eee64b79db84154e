// A stand-in for NVIDIA's NVML library with two GPUs, for testing discovery on hosts without them.
// GWANG_FAKE_NVML_FAIL=init makes nvmlInit fail; =name makes reading a device's name fail.
#include <cstdlib>
#include <cstring>

namespace {
const char* kNames[] = {"NVIDIA H100 80GB HBM3", "NVIDIA A100-SXM4-80GB"};
const char* kUuids[] = {"GPU-11111111-2222-3333-4444-555555555555", "GPU-66666666-7777-8888-9999-000000000000"};
const unsigned long long kMemory[] = {85899345920ull, 85899345920ull};
bool fails(const char* what) {
  const char* v = std::getenv("GWANG_FAKE_NVML_FAIL");
  return v && std::strcmp(v, what) == 0;
}
struct Memory {
  unsigned long long total, free, used;
};
}  // namespace

extern "C" {
int nvmlInit_v2() { return fails("init") ? 9 : 0; }
int nvmlShutdown() { return 0; }
const char* nvmlErrorString(int r) { return r == 9 ? "Driver Not Loaded" : "Unknown Error"; }
int nvmlDeviceGetCount_v2(unsigned int* n) {
  *n = 2;
  return 0;
}
int nvmlDeviceGetHandleByIndex_v2(unsigned int i, void** dev) {
  if (i >= 2) return 2;
  *dev = reinterpret_cast<void*>(static_cast<unsigned long>(i) + 1);
  return 0;
}
int nvmlDeviceGetName(void* dev, char* out, unsigned int len) {
  if (fails("name")) return 999;
  std::strncpy(out, kNames[reinterpret_cast<unsigned long>(dev) - 1], len - 1);
  return 0;
}
int nvmlDeviceGetUUID(void* dev, char* out, unsigned int len) {
  std::strncpy(out, kUuids[reinterpret_cast<unsigned long>(dev) - 1], len - 1);
  return 0;
}
int nvmlDeviceGetMemoryInfo(void* dev, Memory* m) {
  m->total = kMemory[reinterpret_cast<unsigned long>(dev) - 1];
  m->free = m->total;
  m->used = 0;
  return 0;
}
}
