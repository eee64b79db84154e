// gwang up: the controller and this machine's agent in one process, state under one directory.
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
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
#include "cli/serve.h"
#include "slurm/features.h"
#include "slurm/licenses.h"

namespace gwang::cli {

namespace fs = std::filesystem;

namespace {

// `gwang up --tls`'s credentials, for the host's name, localhost, its loopback addresses and the
// address it listens on (local_credentials).
Result<std::shared_ptr<net::ServerCredentials>> up_credentials(const std::string& data, const std::string& hostname,
                                                               const std::string& listen_host) {
  std::vector<std::string> names;
  for (const std::string& n :
       {hostname, std::string("localhost"), std::string("127.0.0.1"), std::string("::1"), listen_host}) {
    if (n != "0.0.0.0" && n != "::" && !n.empty() && std::find(names.begin(), names.end(), n) == names.end())
      names.push_back(n);
  }
  return local_credentials(data, names);
}

// --declare KIND=COUNT, each.
Result<std::vector<agent::DeclaredDevices>> declared_devices(const std::vector<std::string>& flags) {
  std::vector<agent::DeclaredDevices> declared;
  for (const std::string& d : flags) {
    const auto eq = d.find('=');
    int count = 0;
    try {
      count = eq == std::string::npos ? 0 : std::stoi(d.substr(eq + 1));
    } catch (...) {
      count = 0;
    }
    if (eq == std::string::npos || count < 1) {
      return fail("--declare '" + d + "': expected KIND=COUNT, e.g. npu:ascend910=8");
    }
    declared.push_back({d.substr(0, eq), count, 0});
  }
  return declared;
}

}  // namespace

int run_up(const UpArgs& args) {
  // Before any thread starts (the journal's writer starts with the controller): SIGINT and SIGTERM
  // are left to the thread that stops the server cleanly.
  block_stop_signals();
  const std::string data = args.data.empty() ? default_data_dir() : args.data;
  auto listen = parse_listen(args.listen);
  if (!listen) {
    std::fprintf(stderr, "gwang: --listen %s\n", listen.error().message.c_str());
    return 2;
  }
  const auto& [host, port] = *listen;

  // The account the local token's jobs run as.
  // Root's jobs run as an unprivileged account unless root asks otherwise.
  std::string user = args.user;
  if (user.empty() && ::getuid() == 0 && !args.allow_root) user = "nobody";
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
    std::fprintf(stderr, "gwang: jobs would run as root: give --user ACCOUNT, or --allow-root\n");
    return 2;
  }
  if (account->uid != ::getuid() && ::getuid() != 0) {
    std::fprintf(stderr, "gwang: only root can run jobs as another account (%s)\n", user.c_str());
    return 2;
  }

  auto declared = declared_devices(args.declare);
  if (!declared) {
    std::fprintf(stderr, "gwang: %s\n", declared.error().message.c_str());
    return 2;
  }
  auto hostres = agent::discover_host(*declared, args.no_nvml ? "" : "libnvidia-ml.so.1");
  if (!hostres) {
    std::fprintf(stderr, "gwang: %s\n", hostres.error().message.c_str());
    return 2;
  }

  if (args.cpus > 0) agent::limit_cpus(*hostres, args.cpus);
  hostres->features = *slurm::parse_node_features(args.features);  // checked by the command line
  hostres->tmp_bytes = agent::file_system_bytes("/tmp");
  char hostname[256] = "localhost";
  ::gethostname(hostname, sizeof hostname - 1);
  controller::ControllerOptions options;
  options.data_dir = data;
  options.cluster_name = args.cluster_name;
  options.licenses = *slurm::parse_licenses(args.licenses);  // checked by the command line
  options.local_node = hostname;
  options.on_store_failure = controller::stop_on_store_failure;
  options.allow_root = args.allow_root;
  options.host = *hostres;
  options.queue_order = *core::parse_queue_order(args.queue_order);  // checked by the command line
  options.backfill = *core::parse_backfill(args.backfill);
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
  auto token = operator_token(*tokens, data, account->name);
  if (!token) {
    std::fprintf(stderr, "gwang: %s\n", token.error().message.c_str());
    return 1;
  }
  // HTTPS: a certificate for every name this machine is reached by here.
  std::shared_ptr<net::ServerCredentials> tls;
  const std::string ca_file = (fs::path(data) / "ca.pem").string();
  if (args.tls) {
    auto made = up_credentials(data, hostname, host);
    if (!made) {
      std::fprintf(stderr, "gwang: --tls: %s\n", made.error().message.c_str());
      return 1;
    }
    tls = *made;
  }
  // The local node's tasks are polled by the control loop: every 10 ms, so that a short job's slot
  // is free again at once.
  return serve(**ctl, *tokens, "", host, port, data, std::chrono::milliseconds(10), find_web_dir(args.web), tls,
               [&](const std::string& url) {
                 const auto& h = *hostres;
                 std::string devices;
                 for (const auto& d : h.devices) devices += (devices.empty() ? "" : ", ") + d.kind;
                 (*ctl)->set_api_url(url, tls ? ca_file : "");
                 std::printf("gwang is up at %s\n", url.c_str());
                 std::printf("  node %s: %d CPUs, %s, devices: %s (%s)\n", hostname, h.cpus,
                             api::format_memory(h.memory_bytes).c_str(), devices.empty() ? "none" : devices.c_str(),
                             h.nvml_status.c_str());
                 std::printf("  state in %s; the operator token is in %s (jobs run as %s)\n", data.c_str(),
                             token_file.c_str(), account->name.c_str());
                 if (tls)
                   std::printf("  its certificate is %s: trusted here; elsewhere set GWANG_CA\n", ca_file.c_str());
                 std::printf("  in another terminal: gwang submit -- echo hello; gwang queue; gwang logs JOBID\n");
                 if (args.demo) {
                   api::SubmitRequest demo;
                   demo.name = "hello";
                   demo.command = {"sh", "-c", "echo \"hello from gwang job $GWANG_JOB_ID on $GWANG_NODELIST\""};
                   demo.workdir = "/";
                   demo.mem_bytes = 64LL << 20;
                   demo.time_s = 60;
                   auto job = (*ctl)->submit(demo, *account, now());
                   if (job)
                     std::printf("  submitted demo job %lld: gwang logs %lld\n", static_cast<long long>(job->id),
                                 static_cast<long long>(job->id));
                 }
               });
}

}  // namespace gwang::cli
