// gwang controller and gwang agent: the two programs of a cluster of several hosts.
#include <httplib.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include "agent/node.h"
#include "agent/protocol.h"
#include "api/units.h"
#include "cli/commands.h"
#include "cli/serve.h"
#include "config/config.h"
#include "store/journal.h"
#include "store/postgres.h"

namespace gwang::cli {

namespace fs = std::filesystem;
namespace proto = agent::protocol;

namespace {

std::int64_t wall_now() { return static_cast<std::int64_t>(std::time(nullptr)); }

std::string hostname() {
  char name[256] = "localhost";
  ::gethostname(name, sizeof name - 1);
  return name;
}

std::string describe(const agent::HostResources& h) {
  std::string devices;
  for (const auto& d : h.devices) devices += (devices.empty() ? "" : ", ") + d.kind;
  return std::to_string(h.cpus) + " CPUs, " + api::format_memory(h.memory_bytes) +
         ", devices: " + (devices.empty() ? "none" : devices) + " (" + h.nvml_status + ")";
}

// What an agent keeps about a task's output: how much the controller has of each stream.
struct Output {
  std::int64_t job = 0;
  int attempt = 0, rank = 0;
  std::int64_t sent[2] = {0, 0};  // stdout, stderr
  bool ended = false;
};

// The cluster secret a configuration names; nullopt (and what is wrong, on stderr) if unusable.
std::optional<std::string> read_secret(const std::string& config, const std::string& path) {
  auto secret = proto::read_secret(path);
  if (!secret) {
    std::fprintf(stderr, "gwang: %s: cluster_secret_file: %s\n", config.c_str(), secret.error().message.c_str());
    return std::nullopt;
  }
  return *secret;
}

}  // namespace

int run_migrate_store(const MigrateArgs& args) {
  const std::string db = (std::filesystem::path(args.data) / "state.db").string();
  if (!std::filesystem::exists(db)) {
    std::fprintf(stderr, "gwang: %s: no embedded store there (--data is the controller's data_dir)\n", db.c_str());
    return 2;
  }
  auto from = store::open_sqlite_journal(db);
  if (!from) {
    std::fprintf(stderr, "gwang: %s\n", from.error().message.c_str());
    return 1;
  }
  auto to = store::open_postgres_journal(args.to);
  if (!to) {
    std::fprintf(stderr, "gwang: --to: %s\n", to.error().message.c_str());
    return 1;
  }
  auto copied = store::copy_store(**from, **to);
  if (!copied) {
    std::fprintf(stderr, "gwang: %s\n", copied.error().message.c_str());
    return 1;
  }
  std::printf("copied %s into PostgreSQL up to record %lld (%zu record(s) after the last snapshot), read back and "
              "compared; start the controller with store set to that address\n",
              db.c_str(), static_cast<long long>((*to)->last_seq()), *copied);
  return 0;
}

int run_controller(const DaemonArgs& args) {
  block_stop_signals();  // before any thread starts: the clean stop handles SIGINT and SIGTERM
  auto cfg = config::load_controller_config(args.config);
  auto secret = cfg ? read_secret(args.config, cfg->cluster_secret_file) : std::nullopt;
  if (!cfg || !secret) {
    if (!cfg) std::fprintf(stderr, "gwang: %s\n", cfg.error().message.c_str());
    return 2;
  }
  auto account = controller::lookup_account(cfg->operator_account);
  if (!account) {
    std::fprintf(stderr, "gwang: %s: operator: %s\n", args.config.c_str(), account.error().message.c_str());
    return 2;
  }
  auto listen = parse_listen(cfg->listen);
  if (!listen) {
    std::fprintf(stderr, "gwang: %s: listen: %s\n", args.config.c_str(), listen.error().message.c_str());
    return 2;
  }
  if (args.check) {
    std::printf("%s: a controller listening on %s, state in %s, nodes DOWN after %lld s of silence\n",
                args.config.c_str(), cfg->listen.c_str(), cfg->data_dir.c_str(),
                static_cast<long long>(cfg->node_timeout.count()));
    return 0;
  }
  controller::ControllerOptions options;
  options.data_dir = cfg->data_dir;
  options.store = args.store.empty() ? cfg->store : args.store;
  options.node_timeout = cfg->node_timeout;
  options.kill_grace = cfg->kill_grace;
  options.requeue_limit = cfg->requeue_limit;
  options.queue_order = cfg->queue_order == "multifactor" ? core::QueueOrder::Multifactor : core::QueueOrder::Fcfs;
  options.backfill = cfg->backfill == "conservative" ? core::Backfill::Conservative : core::Backfill::Easy;
  options.accounting.require_project = cfg->require_project;
  options.accounting.require_grant = cfg->require_grant;
  options.accounting.charge_every = cfg->charge_every.count();
  options.accounting.rates.per_cpu_hour = cfg->cpu_hour;
  options.accounting.rates.per_accelerator_hour = cfg->rates;
  auto ctl = controller::Controller::open(options, wall_now());
  if (!ctl) {
    std::fprintf(stderr, "gwang: %s\n", ctl.error().message.c_str());
    return 1;
  }
  auto tokens = controller::TokenStore::load((fs::path(cfg->data_dir) / "tokens").string());
  if (!tokens) {
    std::fprintf(stderr, "gwang: %s\n", tokens.error().message.c_str());
    return 1;
  }
  auto token = operator_token(*tokens, cfg->data_dir, account->name);
  if (!token) {
    std::fprintf(stderr, "gwang: %s\n", token.error().message.c_str());
    return 1;
  }
  const auto& [host, port] = *listen;
  return serve(**ctl, *tokens, *secret, host, port, cfg->data_dir, std::chrono::milliseconds(100),
               find_web_dir(cfg->web_dir), [&](const std::string& url) {
    std::printf("gwang controller is up at %s\n", url.c_str());
    std::printf("  state in %s; the operator token (%s) is in %s/token\n", cfg->data_dir.c_str(),
                account->name.c_str(), cfg->data_dir.c_str());
    std::printf("  agents: gwang agent --config agent.toml, with controller = \"http://<this host>:%d\"\n", port);
  });
}

int run_agent(const DaemonArgs& args) {
  auto cfg = config::load_agent_config(args.config);
  auto secret = cfg ? read_secret(args.config, cfg->cluster_secret_file) : std::nullopt;
  if (!cfg || !secret) {
    if (!cfg) std::fprintf(stderr, "gwang: %s\n", cfg.error().message.c_str());
    return 2;
  }
  const std::string node = cfg->node_name.empty() ? hostname() : cfg->node_name;
  auto host = agent::discover_host(cfg->devices, cfg->nvml ? "libnvidia-ml.so.1" : "");
  if (!host) {
    std::fprintf(stderr, "gwang: %s\n", host.error().message.c_str());
    return 2;
  }
  if (args.check) {
    std::printf("%s: node %s (%s), controller %s\n", args.config.c_str(), node.c_str(), describe(*host).c_str(),
                cfg->controller.c_str());
    return 0;
  }
  std::error_code ec;
  const fs::path jobs = fs::path(cfg->data_dir) / "jobs";
  fs::create_directories(jobs, ec);
  if (ec) {
    std::fprintf(stderr, "gwang: %s: cannot create: %s\n", jobs.c_str(), ec.message().c_str());
    return 1;
  }
  fs::permissions(cfg->data_dir, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec, ec);
  fs::permissions(jobs, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec, ec);

  // The agent's identity outlives its restarts: the tasks it runs are kept under data_dir and
  // adopted again. A new identity (data_dir lost) tells the controller that its tasks are gone.
  const fs::path instance_file = fs::path(cfg->data_dir) / "instance";
  std::string instance;
  if (std::ifstream in(instance_file); in) std::getline(in, instance);
  if (instance.size() != 16 || instance.find_first_not_of("0123456789abcdef") != std::string::npos) {
    instance = controller::random_token().substr(0, 16);
    if (!write_private(instance_file.string(), instance)) {
      std::fprintf(stderr, "gwang: cannot write %s\n", instance_file.c_str());
      return 1;
    }
  }
  agent::NodeAgentOptions options;
  options.log_dir = jobs.string();
  options.host = *host;
  options.kill_grace = cfg->kill_grace;
  options.allow_root = cfg->allow_root;
  options.group_suffix = "." + instance;
  options.state_dir = (fs::path(cfg->data_dir) / "state").string();
  agent::NodeAgent node_agent(options);
  std::map<std::string, Output> outputs;  // by task
  for (const std::string& task : node_agent.adopt_recorded()) {
    Output out;
    agent::parse_task_id(task, out.job, out.attempt, out.rank);
    outputs[task] = out;
  }
  if (!outputs.empty()) std::printf("gwang agent: adopted %zu task(s) of its previous run\n", outputs.size());

  std::atomic<bool> running{true};
  stop_on_signal(block_stop_signals(), [&] { running = false; });

  httplib::Client client(cfg->controller);
  // The controller answers a call within its wait; a call that takes longer has met a network
  // problem, and must not keep the agent from noticing that it is cut off (see the fencing below).
  client.set_connection_timeout(2, 0);
  client.set_read_timeout(static_cast<time_t>(cfg->sync_wait.count() + 1), 0);
  client.set_write_timeout(2, 0);
  client.set_keep_alive(true);
  client.set_tcp_nodelay(true);

  std::printf("gwang agent: node %s (%s), controller %s\n", node.c_str(), describe(*host).c_str(), cfg->controller.c_str());
  std::fflush(stdout);

  std::vector<agent::Finished> finished;
  auto last_ok = agent::Clock::now();
  std::chrono::milliseconds node_timeout{60000};
  bool fenced = false, warned = false;
  constexpr std::int64_t kChunk = 1 << 20;
  while (running) {
    const auto mono = agent::Clock::now();
    for (agent::Finished& f : node_agent.poll(mono)) {
      if (auto it = outputs.find(f.task); it != outputs.end()) it->second.ended = true;
      finished.push_back(std::move(f));
    }
    proto::SyncRequest req;
    req.node = node;
    req.instance = instance;
    req.address = cfg->address;
    req.host = *host;
    req.tracking = node_agent.tracking().describe();
    req.running = node_agent.running();
    bool more = false;
    std::set<std::string> complete;  // tasks whose output is all in this request or before
    for (auto& [task, out] : outputs) {
      bool all = true;
      for (int s = 0; s < 2; ++s) {
        const fs::path path = jobs / agent::log_name(out.job, out.attempt, out.rank, s == 1);
        const std::int64_t size = fs::exists(path, ec) ? static_cast<std::int64_t>(fs::file_size(path, ec)) : 0;
        if (size <= out.sent[s]) continue;
        std::ifstream in(path, std::ios::binary);
        in.seekg(out.sent[s]);
        std::string data(static_cast<std::size_t>(std::min(kChunk, size - out.sent[s])), '\0');
        in.read(data.data(), static_cast<std::streamsize>(data.size()));
        data.resize(static_cast<std::size_t>(std::max<std::streamsize>(0, in.gcount())));
        if (out.sent[s] + static_cast<std::int64_t>(data.size()) < size) all = false;
        req.logs.push_back({task, s == 1, out.sent[s], std::move(data)});
      }
      if (all) complete.insert(task);
      else more = true;
    }
    for (const agent::Finished& f : finished) {
      if (!outputs.contains(f.task) || complete.contains(f.task)) req.finished.push_back(f);
    }
    req.wait_ms = (more || !req.finished.empty() || !req.logs.empty() || fenced)
                      ? 0 : static_cast<int>(std::chrono::milliseconds(cfg->sync_wait).count());
    const std::string body = proto::encode(req);
    const std::string date = std::to_string(wall_now());
    const std::string signature = proto::sign_request(*secret, "POST", proto::kSyncPath, date, node, body);
    httplib::Headers headers{{"X-Gwang-Node", node}, {"X-Gwang-Date", date}, {"X-Gwang-Signature", signature}};
    auto res = client.Post(proto::kSyncPath, headers, body, "application/json");
    std::string problem;
    Result<proto::SyncResponse> answer = fail("");
    if (!res) {
      problem = "cannot reach " + cfg->controller + ": " + httplib::to_string(res.error());
    } else if (res->status != 200) {
      problem = cfg->controller + " answered " + std::to_string(res->status) + ": " + res->body;
    } else if (!proto::same_signature(res->get_header_value("X-Gwang-Signature"),
                                      proto::sign_response(*secret, signature, res->body))) {
      problem = cfg->controller + ": the answer's signature is wrong; ignored";
    } else if (answer = proto::decode_response(res->body); !answer) {
      problem = cfg->controller + ": " + answer.error().message;
    }
    if (!problem.empty()) {
      if (!warned) std::fprintf(stderr, "gwang agent: %s\n", problem.c_str());
      warned = true;
      // Without the controller for half its node timeout, this node ends its tasks itself: by the
      // time the controller declares it DOWN and runs the jobs elsewhere, nothing of them runs here.
      if (!fenced && agent::Clock::now() - last_ok > node_timeout / 2) {
        std::fprintf(stderr, "gwang agent: no controller for %lld s: ending every task here\n",
                     static_cast<long long>(std::chrono::duration_cast<std::chrono::seconds>(node_timeout / 2).count()));
        node_agent.terminate_all(agent::TaskEnd::Cancelled, agent::Clock::now(), "ended by its node: the controller was out of reach",
                                 true);
        fenced = true;
      }
      for (int i = 0; i < 10 && running; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        for (agent::Finished& f : node_agent.poll(agent::Clock::now())) {
          if (auto it = outputs.find(f.task); it != outputs.end()) it->second.ended = true;
          finished.push_back(std::move(f));
        }
      }
      continue;
    }
    if (warned) std::fprintf(stderr, "gwang agent: %s reached again\n", cfg->controller.c_str());
    warned = false;
    fenced = false;
    last_ok = agent::Clock::now();
    if (answer->node_timeout_ms > 0) node_timeout = std::chrono::milliseconds(answer->node_timeout_ms);
    for (const auto& [key, offset] : answer->log_offsets) {
      const bool err = key.ends_with(".stderr");
      const std::string task = key.substr(0, key.size() - 7);
      if (auto it = outputs.find(task); it != outputs.end()) it->second.sent[err ? 1 : 0] = offset;
    }
    for (const std::string& t : answer->acked) {
      std::erase_if(finished, [&](const agent::Finished& f) { return f.task == t; });
      node_agent.acknowledge(t);
      if (auto it = outputs.find(t); it != outputs.end()) {
        // The controller has all of it: the node's copy goes.
        for (int s = 0; s < 2; ++s) fs::remove(jobs / agent::log_name(it->second.job, it->second.attempt, it->second.rank, s == 1), ec);
        fs::remove(jobs / std::to_string(it->second.job), ec);  // when empty
        outputs.erase(it);
      }
    }
    for (const agent::Launch& l : answer->launch) {
      if (node_agent.knows(l.task)) continue;
      outputs[l.task] = Output{l.job, l.attempt, l.rank, {0, 0}, false};
      node_agent.launch(l, agent::Clock::now());
    }
    for (const proto::Terminate& t : answer->terminate) node_agent.terminate(t.task, t.why, agent::Clock::now(), t.message);
    // An answer with nothing in it that came before the wait was up (the controller had no room
    // to hold the call): the next call waits out the rest, so that calls stay a heartbeat apart.
    if (req.wait_ms > 0 && answer->launch.empty() && answer->terminate.empty()) {
      const auto due = mono + std::chrono::milliseconds(req.wait_ms);
      while (running && agent::Clock::now() < due && node_agent.running().size() == req.running.size()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        for (agent::Finished& f : node_agent.poll(agent::Clock::now())) {
          if (auto it = outputs.find(f.task); it != outputs.end()) it->second.ended = true;
          finished.push_back(std::move(f));
        }
        if (!finished.empty()) break;
      }
    }
  }
  std::printf("gwang agent stopped\n");
  return 0;
}

}  // namespace gwang::cli
