// A stand-in for NVIDIA's NVML library with two GPUs, for testing discovery on hosts without them.
// GWANG_FAKE_NVML_FAIL=init makes nvmlInit fail; =name makes reading a device's name fail. Its
// application clocks are set and reset by appending "set UUID MEMORY GRAPHICS" and "reset UUID"
// lines to the file GWANG_FAKE_NVML_LOG names.
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {
const char* kNames[] = {"NVIDIA H100 80GB HBM3", "NVIDIA A100-SXM4-80GB"};
const char* kUuids[] = {"GPU-11111111-2222-3333-4444-555555555555", "GPU-66666666-7777-8888-9999-000000000000"};
const unsigned long long kMemory[] = {85899345920ull, 85899345920ull};
void log(const char* line, void* dev, unsigned a = 0, unsigned b = 0) {
  const char* path = std::getenv("GWANG_FAKE_NVML_LOG");
  if (!path) return;
  if (FILE* f = std::fopen(path, "a")) {
    std::fprintf(f, "%s %s", line, kUuids[reinterpret_cast<unsigned long>(dev) - 1]);
    if (a) std::fprintf(f, " %u %u", a, b);
    std::fputc('\n', f);
    std::fclose(f);
  }
}
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
int nvmlDeviceGetHandleByUUID(const char* uuid, void** dev) {
  for (unsigned long i = 0; i < 2; ++i) {
    if (std::strcmp(uuid, kUuids[i]) == 0) {
      *dev = reinterpret_cast<void*>(i + 1);
      return 0;
    }
  }
  return 13;  // NVML_ERROR_NOT_FOUND
}
int nvmlDeviceGetSupportedMemoryClocks(void*, unsigned int* n, unsigned int* clocks) {
  const unsigned int mine[] = {2619, 1593};
  if (*n < 2) return 7;  // NVML_ERROR_INSUFFICIENT_SIZE
  *n = 2;
  std::memcpy(clocks, mine, sizeof mine);
  return 0;
}
int nvmlDeviceGetSupportedGraphicsClocks(void*, unsigned int memory, unsigned int* n, unsigned int* clocks) {
  const unsigned int high[] = {1980, 1410, 1005, 210}, low[] = {1005, 210};
  const unsigned int count = memory == 2619 ? 4 : 2;
  if (*n < count) return 7;
  *n = count;
  std::memcpy(clocks, memory == 2619 ? high : low, count * sizeof(unsigned int));
  return 0;
}
int nvmlDeviceSetApplicationsClocks(void* dev, unsigned int memory, unsigned int graphics) {
  log("set", dev, memory, graphics);
  return 0;
}
int nvmlDeviceResetApplicationsClocks(void* dev) {
  log("reset", dev);
  return 0;
}
int nvmlDeviceGetMemoryInfo(void* dev, Memory* m) {
  m->total = kMemory[reinterpret_cast<unsigned long>(dev) - 1];
  m->free = m->total;
  m->used = 0;
  return 0;
}
}
