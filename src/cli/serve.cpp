#include "cli/serve.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <thread>

#include "controller/http.h"

namespace gwang::cli {

namespace fs = std::filesystem;

sigset_t block_stop_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  return signals;
}

void stop_on_signal(sigset_t signals, std::function<void()> stop) {
  std::thread([signals, stop = std::move(stop)] {
    int sig = 0;
    sigwait(&signals, &sig);
    stop();
  }).detach();
}

namespace {

// Written aside and renamed: whoever waits for the file (the command, a script) never reads it
// half-written. `mask`: the umask it is created under.
bool write_whole(const std::string& path, const std::string& text, mode_t mask) {
  const std::string aside = path + ".new";
  const mode_t old = ::umask(mask);
  std::ofstream out(aside, std::ios::trunc);
  out << text;
  out.close();
  ::umask(old);
  std::error_code ec;
  if (out) fs::rename(aside, path, ec);
  return out && !ec;
}

}  // namespace

bool write_private(const std::string& path, const std::string& text) { return write_whole(path, text + "\n", 077); }

Result<std::pair<std::string, int>> parse_listen(const std::string& listen) {
  const auto colon = listen.rfind(':');
  int port = -1;
  if (colon != std::string::npos && colon + 1 < listen.size() && listen.size() - colon <= 6 &&
      listen.find_first_not_of("0123456789", colon + 1) == std::string::npos) {
    port = std::stoi(listen.substr(colon + 1));
  }
  if (port < 0 || port > 65535) return fail("'" + listen + "': expected HOST:PORT");
  return std::make_pair(listen.substr(0, colon), port);
}

std::string find_web_dir(const std::string& configured) {
  if (!configured.empty()) return configured;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  std::vector<fs::path> candidates;
  if (!ec) {
    candidates.push_back(exe.parent_path() / "web");
    candidates.push_back(exe.parent_path() / ".." / "share" / "gwang" / "web");
  }
  candidates.emplace_back("/usr/share/gwang/web");
  for (const fs::path& dir : candidates) {
    if (fs::is_regular_file(dir / "index.html", ec)) return fs::weakly_canonical(dir, ec).string();
  }
  return "";
}

Result<std::shared_ptr<net::ServerCredentials>> local_credentials(const std::string& data,
                                                                  const std::vector<std::string>& names) {
  const std::string certificate = (fs::path(data) / "ca.pem").string();
  const std::string key = (fs::path(data) / "tls-key.pem").string();
  const auto now = static_cast<std::int64_t>(std::time(nullptr));
  bool usable = false;
  if (auto facts = net::read_certificate(certificate); facts && facts->not_after > now + 30 * 86400) {
    usable = std::all_of(names.begin(), names.end(), [&](const std::string& n) {
      return std::find(facts->names.begin(), facts->names.end(), n) != facts->names.end();
    });
  }
  if (!usable) {
    auto made = net::make_self_signed(names, 365, now);
    if (!made) return tl::unexpected(made.error());
    // The key first: a certificate beside an older key would not load.
    if (!write_whole(key, made->key_pem, 077)) return fail("cannot write " + key);
    // Readable by all: jobs, run as their owners, verify the controller with it (GWANG_CA).
    if (!write_whole(certificate, made->certificate_pem, 022)) return fail("cannot write " + certificate);
  }
  return net::ServerCredentials::load(certificate, key);
}

Result<std::string> operator_token(controller::TokenStore& tokens, const std::string& data,
                                   const std::string& account) {
  const fs::path token_file = fs::path(data) / "token";
  std::string token;
  if (std::ifstream in(token_file); in) std::getline(in, token);
  auto who = tokens.check(token);
  if (who && who->user == account && who->is_operator) return token;
  auto issued = tokens.issue(account, true);
  if (!issued || !write_private(token_file.string(), *issued)) return fail("cannot write " + token_file.string());
  return *issued;
}

int serve(controller::Controller& ctl, controller::TokenStore& tokens, const std::string& secret,
          const std::string& host, int port, const std::string& data, std::chrono::milliseconds period,
          const std::string& web, const std::shared_ptr<net::ServerCredentials>& tls,
          const std::function<void(const std::string&)>& up) {
  // Signals: SIGINT and SIGTERM stop the server; every thread leaves them to the waiting one.
  const sigset_t stop_signals = block_stop_signals();
  // Every agent keeps a connection open: the usual soft limit of 1,024 open files would refuse a
  // centre's nodes. The hard limit is the administrator's.
  if (rlimit files{}; ::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }

  controller::ApiServer server(ctl, tokens, secret);
  server.serve_dashboard(web);
  if (tls) server.use_tls(tls);
  auto bound = server.bind(host, port);
  if (!bound) {
    std::fprintf(stderr, "gwang: %s\n", bound.error().message.c_str());
    return 1;
  }
  const std::string url = (tls ? "https://" : "http://") + (host == "0.0.0.0" ? std::string("127.0.0.1") : host) + ":" +
                          std::to_string(*bound);
  write_private((fs::path(data) / "url").string(), url);

  std::atomic<bool> running{true};
  std::thread loop([&] {
    while (running) {
      ctl.round(agent::Clock::now(), static_cast<std::int64_t>(std::time(nullptr)));
      std::this_thread::sleep_for(period);
    }
  });
  stop_on_signal(stop_signals, [&] {
    running = false;
    server.stop();
  });
  up(url);
  std::fflush(stdout);
  server.serve();
  running = false;
  loop.join();
  // A clean stop leaves a snapshot: the next start reads it instead of the whole journal.
  if (auto r = ctl.checkpoint(static_cast<std::int64_t>(std::time(nullptr))); !r) {
    std::fprintf(stderr, "gwang: could not store a snapshot: %s\n", r.error().message.c_str());
  }
  std::printf("gwang stopped\n");
  return 0;
}

}  // namespace gwang::cli
