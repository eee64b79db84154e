// libFuzzer target: the books' changes (controller/accounting.h), the checks behind the API's
// tenancy, programme, grant, quota and usage bodies, on arbitrary sequences. Each line of the input
// is one change: its first byte picks the kind, the rest is the JSON payload. The controller's
// contract: a change that passes check() is applied by apply() without error (the API journals it
// in between, so a change that then failed would be in the journal and not in memory), and one that
// fails check() says what is wrong.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "controller/accounting.h"

namespace {

void check_at(bool ok, int line) {
  if (ok) return;
  std::fprintf(stderr, "fuzz_books.cpp:%d: check failed\n", line);
  std::abort();
}
#define require(ok) check_at((ok), __LINE__)

constexpr const char* kKinds[] = {"tenancy.institution",     "tenancy.project", "tenancy.member",
                                  "tenancy.admin",           "tenancy.user",    "tenancy.operator",
                                  "tenancy.default_project", "grant.programme", "grant.granted",
                                  "grant.topped_up",         "grant.extended",  "quota.set",
                                  "quota.removed",           "usage.charged"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  gwang::controller::AccountingOptions options;
  options.rates.per_accelerator_hour["gpu:H100"] = 1.0;
  options.rates.per_cpu_hour = 0.01;
  gwang::controller::Accounting books(options);
  const std::string input(reinterpret_cast<const char*>(data), size);
  std::int64_t time = 1767225600;  // 2026-01-01
  for (std::size_t at = 0; at < input.size();) {
    std::size_t end = input.find('\n', at);
    if (end == std::string::npos) end = input.size();
    const std::string line = input.substr(at, end - at);
    at = end + 1;
    if (line.empty()) continue;
    const std::string kind = kKinds[static_cast<unsigned char>(line[0]) % std::size(kKinds)];
    const nlohmann::json payload = nlohmann::json::parse(line.substr(1), nullptr, false);
    if (payload.is_discarded()) continue;
    time += 3600;
    auto ok = books.check(kind, payload);
    if (!ok) {
      require(!ok.error().message.empty());
      continue;
    }
    auto applied = books.apply(kind, payload, time);
    if (!applied)
      std::fprintf(stderr, "%s %s: %s\n", kind.c_str(), payload.dump().c_str(), applied.error().message.c_str());
    require(applied.has_value());
  }
  return 0;
}
