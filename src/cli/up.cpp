// gwang up: the controller and this machine's agent in one process, state under one directory.
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <thread>

#include "api/units.h"
#include "cli/client.h"
#include "cli/commands.h"
#include "controller/http.h"

namespace gwang::cli {

namespace fs = std::filesystem;

namespace {

bool write_private(const fs::path& path, const std::string& text) {
  const mode_t old = ::umask(077);
  std::ofstream out(path, std::ios::trunc);
  out << text << '\n';
  out.close();
  ::umask(old);
  return static_cast<bool>(out);
}

}  // namespace

int run_up(const UpArgs& args) {
  const std::string data = args.data.empty() ? default_data_dir() : args.data;
  const auto colon = args.listen.rfind(':');
  int port = -1;
  if (colon != std::string::npos) {
    try {
      port = std::stoi(args.listen.substr(colon + 1));
    } catch (...) {
    }
  }
  if (colon == std::string::npos || port < 0 || port > 65535) {
    std::fprintf(stderr, "gwang: --listen '%s': expected HOST:PORT\n", args.listen.c_str());
    return 2;
  }
  const std::string host = args.listen.substr(0, colon);

  // The account the local token's jobs run as.
  std::string user = args.user;
  if (user.empty()) {
    struct passwd* pw = ::getpwuid(::getuid());
    user = pw ? pw->pw_name : "";
  }
  auto account = controller::lookup_account(user);
  if (!account) {
    std::fprintf(stderr, "gwang: --user: %s\n", account.error().message.c_str());
    return 2;
  }
  if (account->uid == 0 && !args.allow_root) {
    std::fprintf(stderr, "gwang: jobs would run as root: give --user ACCOUNT (e.g. --user nobody) or --allow-root\n");
    return 2;
  }
  if (account->uid != ::getuid() && ::getuid() != 0) {
    std::fprintf(stderr, "gwang: only root can run jobs as another account (%s)\n", user.c_str());
    return 2;
  }

  std::vector<agent::DeclaredDevices> declared;
  for (const std::string& d : args.declare) {
    const auto eq = d.find('=');
    int count = 0;
    try {
      count = eq == std::string::npos ? 0 : std::stoi(d.substr(eq + 1));
    } catch (...) {
      count = 0;
    }
    if (eq == std::string::npos || count < 1) {
      std::fprintf(stderr, "gwang: --declare '%s': expected KIND=COUNT, e.g. npu:ascend910=8\n", d.c_str());
      return 2;
    }
    declared.push_back({d.substr(0, eq), count, 0});
  }
  auto hostres = agent::discover_host(declared, args.no_nvml ? "" : "libnvidia-ml.so.1");
  if (!hostres) {
    std::fprintf(stderr, "gwang: %s\n", hostres.error().message.c_str());
    return 2;
  }

  char hostname[256] = "localhost";
  ::gethostname(hostname, sizeof hostname - 1);
  controller::ControllerOptions options;
  options.data_dir = data;
  options.local_node = hostname;
  options.allow_root = args.allow_root;
  options.host = *hostres;
  const auto now = [] { return static_cast<std::int64_t>(std::time(nullptr)); };
  auto ctl = controller::Controller::open(options, now());
  if (!ctl) {
    std::fprintf(stderr, "gwang: %s\n", ctl.error().message.c_str());
    return 1;
  }
  auto tokens = controller::TokenStore::load((fs::path(data) / "tokens").string());
  if (!tokens) {
    std::fprintf(stderr, "gwang: %s\n", tokens.error().message.c_str());
    return 1;
  }
  const fs::path token_file = fs::path(data) / "token";
  std::string token;
  if (std::ifstream in(token_file); in) std::getline(in, token);
  auto who = tokens->check(token);
  if (!who || who->user != account->name) {
    auto issued = tokens->issue(account->name, true);
    if (!issued || !write_private(token_file, *issued)) {
      std::fprintf(stderr, "gwang: cannot write %s\n", token_file.c_str());
      return 1;
    }
    token = *issued;
  }

  // Signals: SIGINT and SIGTERM stop the server; every thread leaves them to the waiting one.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  controller::ApiServer server(**ctl, *tokens);
  auto bound = server.bind(host, port);
  if (!bound) {
    std::fprintf(stderr, "gwang: %s\n", bound.error().message.c_str());
    return 1;
  }
  const std::string url = "http://" + host + ":" + std::to_string(*bound);
  write_private(fs::path(data) / "url", url);

  std::atomic<bool> running{true};
  std::thread loop([&] {
    while (running) {
      (*ctl)->step(agent::Clock::now(), now());
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    running = false;
    server.stop();
  });
  waiter.detach();

  const auto& h = *hostres;
  std::string devices;
  for (const auto& d : h.devices) devices += (devices.empty() ? "" : ", ") + d.kind;
  std::printf("gwang is up at %s\n", url.c_str());
  std::printf("  node %s: %d CPUs, %s, devices: %s (%s)\n", hostname, h.cpus, api::format_memory(h.memory_bytes).c_str(),
              devices.empty() ? "none" : devices.c_str(), h.nvml_status.c_str());
  std::printf("  state in %s; the operator token is in %s (jobs run as %s)\n", data.c_str(), token_file.c_str(),
              account->name.c_str());
  std::printf("  in another terminal: gwang submit -- echo hello; gwang queue; gwang logs JOBID\n");
  if (args.demo) {
    api::SubmitRequest demo;
    demo.name = "hello";
    demo.command = {"sh", "-c", "echo \"hello from gwang job $GWANG_JOB_ID on $GWANG_NODELIST\""};
    demo.workdir = "/";
    demo.mem_bytes = 64LL << 20;
    demo.time_s = 60;
    auto job = (*ctl)->submit(demo, *account, now());
    if (job) std::printf("  submitted demo job %lld: gwang logs %lld\n", static_cast<long long>(job->id), static_cast<long long>(job->id));
  }
  std::fflush(stdout);
  server.serve();
  running = false;
  loop.join();
  std::printf("gwang stopped\n");
  return 0;
}

}  // namespace gwang::cli
