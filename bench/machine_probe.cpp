// What this machine charges for two things the controller's figures depend on: memory touched for
// the first time (a restart fills its tables in fresh memory) and a small write flushed to disk
// (every acknowledged submission waits for one). Usage: machine_probe [DIR] [MB]
//   DIR: where the flushes are measured (default: the current directory); MB: memory (default 200).
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// Writes one byte in each 4 KiB page of `bytes` of fresh memory, then all of it again.
bool touch(std::size_t bytes, bool huge) {
  const auto t0 = std::chrono::steady_clock::now();
  void* m = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) {
    std::perror("machine_probe: mmap");
    return false;
  }
  if (huge) madvise(m, bytes, MADV_HUGEPAGE);
  auto* p = static_cast<volatile char*>(m);
  for (std::size_t i = 0; i < bytes; i += 4096) p[i] = 1;
  const double first = ms_since(t0);
  const auto t1 = std::chrono::steady_clock::now();
  std::memset(m, 2, bytes);
  const double again = ms_since(t1);
  std::printf("fresh memory, %zu MB%s: first touch %.1f ms (%.2f ms a MB), written again %.1f ms\n", bytes >> 20,
              huge ? " (huge pages asked)" : "", first, first / static_cast<double>(bytes >> 20), again);
  munmap(m, bytes);
  return true;
}

// 1,000 writes of 4 KiB, each followed by fdatasync, in a file of `dir`.
bool flushes(const std::string& dir) {
  const std::string path = dir + "/machine_probe.flush";
  const int fd = open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0600);
  if (fd < 0) {
    std::perror(("machine_probe: " + path).c_str());
    return false;
  }
  char block[4096];
  std::memset(block, 1, sizeof block);
  std::vector<double> ms;
  for (int i = 0; i < 1000; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    if (pwrite(fd, block, sizeof block, static_cast<off_t>(i % 64) * 4096) != static_cast<ssize_t>(sizeof block) ||
        fdatasync(fd) != 0) {
      std::perror(("machine_probe: writing " + path).c_str());
      close(fd);
      unlink(path.c_str());
      return false;
    }
    ms.push_back(ms_since(t0));
  }
  close(fd);
  unlink(path.c_str());
  std::sort(ms.begin(), ms.end());
  std::printf("4 KiB written and flushed (fdatasync) in %s, 1,000 times: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
              dir.c_str(), ms[500], ms[990], ms[999]);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : ".";
  long mb = 200;
  if (argc > 2) {
    char* end = nullptr;
    mb = std::strtol(argv[2], &end, 10);
    if (*end != '\0' || mb < 1 || mb > 65536) {
      std::fprintf(stderr, "machine_probe: MB must be a whole number from 1 to 65536, not '%s'\n", argv[2]);
      return 2;
    }
  }
  const auto bytes = static_cast<std::size_t>(mb) << 20;
  return touch(bytes, false) && touch(bytes, true) && flushes(dir) ? 0 : 1;
}
