// A large simulated cluster against a real controller: N nodes register through the agent protocol
// (signed calls, as `gwang agent` makes them) and keep calling as heartbeats, echoing the tasks they
// are given; one job per node fills the cluster; then M jobs are submitted through the API and wait.
// Prints how long registration and submission took and the controller's scheduling pass durations
// while it holds the M pending jobs (GET /api/v1/status).
//
// With --pid, the controller's CPU time and memory are sampled: its CPU while only the heartbeats
// run, and its memory per pending job. With --load-seconds, a sustained open-loop load follows:
// submissions and queries at --load-rate requests per second, each timed from when it was due (so
// that a slow answer delays the clock, not the measurement), with latency percentiles per kind.
// Each simulated node keeps its own connection open between its calls, as `gwang agent` does; with
// --connection-per-call, each call opens a connection and closes it instead.
//
//   cluster_bench --url http://127.0.0.1:8686 --token TOKEN --secret-file SECRET [--nodes 6250]
//                 [--pending 100000] [--threads 8] [--settle 60] [--pid PID] [--beat-seconds 20]
//                 [--load-seconds 0] [--load-rate 400] [--connection-per-call]
#include <httplib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agent/protocol.h"

namespace {

namespace proto = gwang::agent::protocol;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

struct SimNode {
  std::string name;
  gwang::agent::HostResources host;
  std::set<std::string> running;
  std::vector<gwang::agent::Finished> finished;
};

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// A process's CPU time (user + system, seconds) and resident memory (bytes), from /proc.
struct ProcSample {
  double cpu_s = 0;
  long rss = 0;
};
ProcSample sample(int pid) {
  ProcSample out;
  if (pid <= 0) return out;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');
  if (close != std::string::npos) {
    std::istringstream fields(text.substr(close + 2));
    std::string f;
    long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && fields >> f; ++i) {
      if (i == 14) utime = std::stol(f);
      if (i == 15) stime = std::stol(f);
    }
    out.cpu_s = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) out.rss = std::stol(line.substr(6)) * 1024;
  }
  return out;
}

// p50, p99 and max of latencies in milliseconds, as text.
std::string percentiles(std::vector<double> ms) {
  if (ms.empty()) return "none";
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) {
    return ms[std::min(ms.size() - 1, static_cast<std::size_t>(q * static_cast<double>(ms.size())))];
  };
  char out[128];
  std::snprintf(out, sizeof out, "p50 %.1f ms, p99 %.1f ms, max %.1f ms (%zu requests)", at(0.50), at(0.99), ms.back(),
                ms.size());
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"gwang cluster benchmark: simulated nodes through the agent protocol, pending jobs through the API"};
  std::string url, token, secret_file;
  int nodes = 6250, threads = 8, settle = 60;
  long pending = 100000;
  app.add_option("--url", url, "controller URL")->required();
  app.add_option("--token", token, "an operator token")->required();
  app.add_option("--secret-file", secret_file, "the cluster secret")->required();
  app.add_option("--nodes", nodes)->capture_default_str();
  app.add_option("--pending", pending)->capture_default_str();
  app.add_option("--threads", threads)->capture_default_str();
  app.add_option("--settle", settle, "seconds of passes measured with the whole queue")->capture_default_str();
  int pid = 0, beat_seconds = 20, load_seconds = 0, load_rate = 400;
  app.add_option("--pid", pid, "the controller's process id: its CPU and memory are sampled");
  app.add_option("--beat-seconds", beat_seconds, "seconds of heartbeats alone, for the controller's CPU")
      ->capture_default_str();
  app.add_option("--load-seconds", load_seconds, "seconds of sustained submissions and queries (0: none)")
      ->capture_default_str();
  app.add_option("--load-rate", load_rate, "requests per second of that load, half of them submissions")
      ->capture_default_str();
  bool connection_per_call = false;
  app.add_flag("--connection-per-call", connection_per_call,
               "each heartbeat opens a connection and closes it (by default each simulated node keeps one of "
               "its own open between its calls, as `gwang agent` does)");
  CLI11_PARSE(app, argc, argv);
  const bool connection_per_node = !connection_per_call;
  if (connection_per_node) {  // one descriptor per node, beside the others
    rlimit files{};
    ::getrlimit(RLIMIT_NOFILE, &files);
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
  auto secret = proto::read_secret(secret_file);
  if (!secret) {
    std::fprintf(stderr, "cluster_bench: %s\n", secret.error().message.c_str());
    return 2;
  }

  std::vector<SimNode> sim(static_cast<std::size_t>(nodes));
  for (int i = 0; i < nodes; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "sim%05d", i);
    SimNode& n = sim[static_cast<std::size_t>(i)];
    n.name = name;
    n.host.cpus = 64;
    n.host.memory_bytes = 512LL << 30;
    for (int d = 0; d < 8; ++d) {
      n.host.devices.push_back(
          {"gpu:H100", "H100 (simulated)", n.name + "-gpu" + std::to_string(d), d, 80LL << 30, true});
    }
  }
  std::vector<std::mutex> locks(sim.size());

  // One call of a node: its report, then its orders applied as an agent would (launches run at
  // once and forever; ends end at once).
  auto call = [&](httplib::Client& c, std::size_t i) -> bool {
    proto::SyncRequest r;
    {
      std::lock_guard lock(locks[i]);
      r.node = sim[i].name;
      r.instance = "sim-instance";
      r.address = "10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250);
      r.host = sim[i].host;
      r.running.assign(sim[i].running.begin(), sim[i].running.end());
      r.finished = sim[i].finished;
    }
    const std::string body = proto::encode(r, proto::Form::Binary);
    const std::string date = std::to_string(std::time(nullptr));
    const std::string sig = proto::sign_request(*secret, "POST", proto::kSyncPath, date, r.node, body);
    auto res = c.Post(proto::kSyncPath, {{"X-Gwang-Node", r.node}, {"X-Gwang-Date", date}, {"X-Gwang-Signature", sig}},
                      body, proto::content_type(proto::Form::Binary));
    if (!res || res->status != 200) {
      std::fprintf(stderr, "cluster_bench: %s: %s\n", r.node.c_str(),
                   res ? res->body.c_str() : httplib::to_string(res.error()).c_str());
      return false;
    }
    auto orders = proto::decode_response(res->body);
    if (!orders) return false;
    std::lock_guard lock(locks[i]);
    for (const std::string& t : orders->acked) {
      std::erase_if(sim[i].finished, [&](const gwang::agent::Finished& f) { return f.task == t; });
    }
    for (const auto& l : orders->launch) sim[i].running.insert(l.task);
    for (const auto& t : orders->terminate) {
      if (sim[i].running.erase(t.task)) sim[i].finished.push_back({t.task, {t.why, 0, 0}, "", false});
    }
    return true;
  };
  // Users' clients keep their connection; agents' calls do not (`keep_alive` false).
  auto client = [&](bool keep_alive = true) {
    auto c = std::make_unique<httplib::Client>(url);
    c->set_keep_alive(keep_alive);
    c->set_tcp_nodelay(true);
    c->set_read_timeout(60, 0);
    return c;
  };

  // 1. Registration: every node calls once.
  auto t0 = Clock::now();
  {
    std::atomic<std::size_t> next{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&] {
        auto c = client(false);
        for (std::size_t i; (i = next++) < sim.size();) call(*c, i);
      });
    }
    for (auto& th : pool) th.join();
  }
  const double register_s = seconds_since(t0);
  std::printf("nodes: %d registered in %.2f s (%.0f/s)\n", nodes, register_s, nodes / register_s);

  // Heartbeats from now on, in the background: every node calls in turn, round after round.
  std::atomic<bool> beating{true};
  std::atomic<long> beats{0};
  std::vector<std::thread> hearts;
  for (int t = 0; t < std::max(1, threads / 2); ++t) {
    hearts.emplace_back([&, t] {
      auto c = client(false);
      std::map<std::size_t, std::unique_ptr<httplib::Client>> own;  // each node's, unless --connection-per-call
      const int n = std::max(1, threads / 2);
      // A round through its nodes per second at most: each node calls about once a second, as
      // `gwang agent` does with its default sync_wait.
      while (beating) {
        const auto round = Clock::now();
        for (std::size_t i = static_cast<std::size_t>(t); i < sim.size() && beating; i += static_cast<std::size_t>(n)) {
          httplib::Client* via = c.get();
          if (connection_per_node) {
            auto& mine = own[i];
            if (!mine) mine = client();
            via = mine.get();
          }
          call(*via, i);
          ++beats;
        }
        std::this_thread::sleep_until(round + std::chrono::seconds(1));
      }
    });
  }

  // 2. Submissions: one whole-node job per node (they run), then the pending ones.
  std::vector<double> submit_ms;  // the latest submit_all's latencies
  auto submit_all = [&](long count, auto make_body) {
    std::atomic<long> next{0}, failed{0};
    std::vector<std::thread> pool;
    std::vector<std::vector<double>> ms(static_cast<std::size_t>(threads));
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        auto c = client();
        std::mt19937_64 rng(static_cast<std::uint64_t>(t) + 1);
        const httplib::Headers auth{{"Authorization", "Bearer " + token}};
        for (long i; (i = next++) < count;) {
          const auto sent = Clock::now();
          auto res = c->Post("/api/v1/jobs", auth, make_body(rng, i), "application/json");
          ms[static_cast<std::size_t>(t)].push_back(seconds_since(sent) * 1000);
          if (!res || res->status != 201) {
            if (failed++ == 0)
              std::fprintf(stderr, "cluster_bench: submit: %s\n", res ? res->body.c_str() : "no answer");
          }
        }
      });
    }
    for (auto& th : pool) th.join();
    submit_ms.clear();
    for (const auto& v : ms) submit_ms.insert(submit_ms.end(), v.begin(), v.end());
    return failed.load();
  };
  t0 = Clock::now();
  long failed = submit_all(nodes, [](std::mt19937_64&, long) {
    return std::string(R"({"command":["sleep","1d"],"cpus":64,"mem":"500G","gpus":"8","time":"2d"})");
  });
  std::printf("fill: %d whole-node jobs in %.2f s (%ld failed)\n", nodes, seconds_since(t0), failed);

  // The heartbeats alone: the controller's CPU while every node calls about once a second.
  if (pid > 0 && beat_seconds > 0) {
    const long beats0 = beats;
    const ProcSample before = sample(pid);
    t0 = Clock::now();
    std::this_thread::sleep_for(std::chrono::seconds(beat_seconds));
    const ProcSample after = sample(pid);
    const double wall = seconds_since(t0);
    std::printf("heartbeats alone: %.0f calls/s from %d nodes; controller CPU %.1f%% of one core\n",
                static_cast<double>(beats - beats0) / wall, nodes, 100 * (after.cpu_s - before.cpu_s) / wall);
  }
  const ProcSample before_pending = sample(pid);
  t0 = Clock::now();
  failed = submit_all(pending, [](std::mt19937_64& rng, long) {
    static const int gpus[] = {1, 1, 2, 4, 8};
    const int g = gpus[rng() % 5];
    const bool gang = rng() % 5 == 0;  // a fifth are multi-node, whole nodes each
    const int hours = 1 + static_cast<int>(rng() % 24);
    json j{{"command", {"python3", "train.py"}},
           {"cpus", gang ? 64 : 8 * g},
           {"mem", gang ? "500G" : std::to_string(60 * g) + "G"},
           {"gpus", std::to_string(gang ? 8 : g)},
           {"nodes", gang ? 2 + static_cast<int>(rng() % 3) : 1},
           {"time", std::to_string(hours) + "h"}};
    return j.dump();
  });
  const double submit_s = seconds_since(t0);
  std::printf("pending: %ld jobs submitted in %.2f s (%.0f/s, %ld failed)\n", pending, submit_s, pending / submit_s,
              failed);
  std::printf("submission latency (%d threads back to back): %s\n", threads, percentiles(submit_ms).c_str());
  if (pid > 0) {
    const ProcSample after_pending = sample(pid);
    std::printf(
        "controller memory: %.0f MiB with %d running and %ld pending jobs; %.0f bytes per pending job\n",
        static_cast<double>(after_pending.rss) / (1 << 20), nodes, pending,
        static_cast<double>(after_pending.rss - before_pending.rss) / static_cast<double>(std::max(1L, pending)));
  }

  // 3. Passes with the whole queue.
  auto status = [&](int window) {
    auto c = client();
    auto res = c->Get("/api/v1/status?window=" + std::to_string(window), {{"Authorization", "Bearer " + token}});
    return res && res->status == 200 ? json::parse(res->body) : json();
  };
  const long passes0 = status(1).value("passes", json::object()).value("count", 0L);
  std::this_thread::sleep_for(std::chrono::seconds(settle));
  json s = status(1);
  const long passes = s["passes"]["count"].get<long>() - passes0;
  s = status(static_cast<int>(std::clamp(passes, 1L, 1000L)));
  std::printf("status: %s\n", s.dump().c_str());

  // 4. Sustained load, open loop: request k of thread t is due at t0 + (k * threads + t) / rate.
  if (load_seconds > 0 && load_rate > 0) {
    std::vector<std::vector<double>> sub(static_cast<std::size_t>(threads)), list(sub.size()), one(sub.size());
    std::atomic<long> load_failed{0};
    std::vector<std::thread> pool;
    const auto start = Clock::now();
    const long total = static_cast<long>(load_seconds) * load_rate;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        auto c = client();
        const httplib::Headers auth{{"Authorization", "Bearer " + token}};
        std::mt19937_64 rng(static_cast<std::uint64_t>(t) + 100);
        for (long k = 0;; ++k) {
          const long n = k * threads + t;
          if (n >= total) break;
          const auto due = start + std::chrono::microseconds(n * 1000000 / load_rate);
          std::this_thread::sleep_until(due);
          std::vector<double>* into = nullptr;
          int expect = 200;
          auto send = [&]() -> httplib::Result {
            if (n % 2 == 0)
              return c->Post("/api/v1/jobs", auth,
                             R"({"command":["python3","train.py"],"cpus":8,"mem":"60G","gpus":"1","time":"4h"})",
                             "application/json");
            if (n % 4 == 1) return c->Get("/api/v1/jobs?state=PENDING&limit=50", auth);
            return c->Get(
                "/api/v1/jobs/" +
                    std::to_string(1 + static_cast<long>(rng() % static_cast<std::uint64_t>(nodes + pending))),
                auth);
          };
          into = n % 2 == 0   ? &sub[static_cast<std::size_t>(t)]
                 : n % 4 == 1 ? &list[static_cast<std::size_t>(t)]
                              : &one[static_cast<std::size_t>(t)];
          expect = n % 2 == 0 ? 201 : 200;
          auto res = send();
          into->push_back(std::chrono::duration<double, std::milli>(Clock::now() - due).count());
          if (!res || res->status != expect) {
            if (load_failed++ == 0)
              std::fprintf(stderr, "cluster_bench: load: %s\n", res ? res->body.c_str() : "no answer");
          }
        }
      });
    }
    for (auto& th : pool) th.join();
    const double wall = seconds_since(start);
    auto merged = [](const std::vector<std::vector<double>>& v) {
      std::vector<double> out;
      for (const auto& x : v) out.insert(out.end(), x.begin(), x.end());
      return out;
    };
    std::printf("load: %ld requests in %.1f s (%.0f/s offered at %d/s), %ld failed\n", total, wall,
                static_cast<double>(total) / wall, load_rate, load_failed.load());
    std::printf("load submissions: %s\n", percentiles(merged(sub)).c_str());
    std::printf("load queue pages (50 pending jobs): %s\n", percentiles(merged(list)).c_str());
    std::printf("load single jobs: %s\n", percentiles(merged(one)).c_str());
  }
  beating = false;
  for (auto& th : hearts) th.join();
  std::printf("passes with %ld pending on %d nodes: %ld in %d s, p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
              s["jobs"]["pending"].get<long>(), nodes, passes, settle, s["passes"]["p50_ms"].get<double>(),
              s["passes"]["p99_ms"].get<double>(), s["passes"]["max_ms"].get<double>());
  std::printf("heartbeats: %ld calls\n", beats.load());
  return 0;
}
