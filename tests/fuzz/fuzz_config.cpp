// libFuzzer target: the configuration files of `gwang controller` and `gwang agent` (TOML) on
// arbitrary bytes; the first byte picks which. A refusal names the file with its line (or says the
// file as a whole is wrong); an accepted configuration holds only values the checks allow.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "config/config.h"

namespace {

void check_at(bool ok, int line) {
  if (ok) return;
  std::fprintf(stderr, "fuzz_config.cpp:%d: check failed\n", line);
  std::abort();
}
#define check(ok) check_at((ok), __LINE__)

// No character moved out of the TOML parser's reach (U+F0000 to U+F0FFF: F3 B0 80..83 ..) is left in
// what gwang takes.
bool none_moved(const std::string& s) {
  for (std::size_t at = s.find("\xF3\xB0"); at != std::string::npos; at = s.find("\xF3\xB0", at + 1)) {
    if (at + 2 < s.size() && static_cast<unsigned char>(s[at + 2]) >= 0x80 &&
        static_cast<unsigned char>(s[at + 2]) <= 0x83) {
      return false;
    }
  }
  return true;
}

bool plausible_error(const std::string& m) {
  // "fuzz.toml:LINE: ..." or "fuzz.toml:LINE:COLUMN: ..." or "fuzz.toml: ..."
  if (!m.starts_with("fuzz.toml:")) return false;
  const std::string rest = m.substr(10);
  return rest.starts_with(" ") || (!rest.empty() && rest[0] >= '1' && rest[0] <= '9');
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gwang::config;
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) {
    auto c = parse_agent_config(text, "fuzz.toml");
    if (!c) {
      check(plausible_error(c.error().message) && none_moved(c.error().message));
      return 0;
    }
    check(!c->controllers.empty());
    check(none_moved(c->data_dir) && none_moved(c->node_name) && none_moved(c->address) &&
          none_moved(c->cluster_secret_file));
    for (const std::string& url : c->controllers) check(none_moved(url));
    for (const auto& d : c->devices) {
      for (const std::string& f : d.files) check(none_moved(f));
    }
    for (const std::string& url : c->controllers) check(url.starts_with("http://") && url.size() > 7);
    check(!c->data_dir.empty() && c->data_dir[0] == '/');
    check(!c->cluster_secret_file.empty() || text.find("cluster_secret_file") != std::string::npos);
    check(c->kill_grace.count() >= 1 && c->kill_grace.count() <= 600);
    check(c->sync_wait.count() >= 1 && c->sync_wait.count() <= 30);
    check(c->node_name.size() <= 64);
    for (const auto& d : c->devices) check(d.count >= 1 && d.count <= 1024 && d.memory_bytes >= 0 && !d.kind.empty());
    return 0;
  }
  auto c = parse_controller_config(text, "fuzz.toml");
  if (!c) {
    check(plausible_error(c.error().message) && none_moved(c.error().message));
    return 0;
  }
  check(!c->data_dir.empty() && c->data_dir[0] == '/');
  check(none_moved(c->data_dir) && none_moved(c->listen) && none_moved(c->store) && none_moved(c->web_dir) &&
        none_moved(c->operator_account) && none_moved(c->cluster_secret_file) && none_moved(c->advertise));
  check(c->listen.rfind(':') != std::string::npos);
  check(c->node_timeout.count() >= 2 && c->node_timeout.count() <= 3600);
  check(c->lease.count() >= 2 && c->lease.count() <= 300);
  // A queue order and a backfill mode the core knows, by its own names.
  check(gwang::core::parse_queue_order(gwang::core::to_string(c->queue_order)) == c->queue_order);
  check(gwang::core::parse_backfill(gwang::core::to_string(c->backfill)) == c->backfill);
  check(c->advertise.empty() || c->advertise.starts_with("http://"));
  check(c->requeue_limit >= 0 && c->requeue_limit <= 100);
  check(c->cpu_hour >= 0 && c->cpu_hour <= 1000);
  for (const auto& [model, rate] : c->rates) check(model.find(':') != std::string::npos && rate >= 0 && rate <= 1000);
  return 0;
}
