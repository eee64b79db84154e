// A large simulated cluster against a real controller: N nodes register through the agent protocol
// (signed calls, as `gwang agent` makes them) and keep calling as heartbeats, echoing the tasks they
// are given; one job per node fills the cluster; then M jobs are submitted through the API and wait.
// Prints how long registration and submission took and the controller's scheduling pass durations
// while it holds the M pending jobs (GET /api/v1/status).
//
//   cluster_bench --url http://127.0.0.1:8686 --token TOKEN --secret-file SECRET [--nodes 6250]
//                 [--pending 100000] [--threads 8] [--settle 60]
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

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
  CLI11_PARSE(app, argc, argv);
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
      n.host.devices.push_back({"gpu:H100", "H100 (simulated)", n.name + "-gpu" + std::to_string(d), d, 80LL << 30, true});
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
    const std::string body = proto::encode(r);
    const std::string date = std::to_string(std::time(nullptr));
    const std::string sig = proto::sign_request(*secret, "POST", proto::kSyncPath, date, r.node, body);
    auto res = c.Post(proto::kSyncPath, {{"X-Gwang-Node", r.node}, {"X-Gwang-Date", date}, {"X-Gwang-Signature", sig}}, body,
                      "application/json");
    if (!res || res->status != 200) {
      std::fprintf(stderr, "cluster_bench: %s: %s\n", r.node.c_str(), res ? res->body.c_str() : httplib::to_string(res.error()).c_str());
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
  auto client = [&] {
    auto c = std::make_unique<httplib::Client>(url);
    c->set_keep_alive(true);
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
        auto c = client();
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
      auto c = client();
      const int n = std::max(1, threads / 2);
      while (beating) {
        for (std::size_t i = static_cast<std::size_t>(t); i < sim.size() && beating; i += static_cast<std::size_t>(n)) {
          call(*c, i);
          ++beats;
        }
      }
    });
  }

  // 2. Submissions: one whole-node job per node (they run), then the pending ones.
  auto submit_all = [&](long count, auto make_body) {
    std::atomic<long> next{0}, failed{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        auto c = client();
        std::mt19937_64 rng(static_cast<std::uint64_t>(t) + 1);
        const httplib::Headers auth{{"Authorization", "Bearer " + token}};
        for (long i; (i = next++) < count;) {
          auto res = c->Post("/api/v1/jobs", auth, make_body(rng, i), "application/json");
          if (!res || res->status != 201) {
            if (failed++ == 0) std::fprintf(stderr, "cluster_bench: submit: %s\n", res ? res->body.c_str() : "no answer");
          }
        }
      });
    }
    for (auto& th : pool) th.join();
    return failed.load();
  };
  t0 = Clock::now();
  long failed = submit_all(nodes, [](std::mt19937_64&, long) {
    return std::string(R"({"command":["sleep","1d"],"cpus":64,"mem":"500G","gpus":"8","time":"2d"})");
  });
  std::printf("fill: %d whole-node jobs in %.2f s (%ld failed)\n", nodes, seconds_since(t0), failed);
  t0 = Clock::now();
  failed = submit_all(pending, [](std::mt19937_64& rng, long) {
    static const int gpus[] = {1, 1, 2, 4, 8};
    const int g = gpus[rng() % 5];
    const bool gang = rng() % 5 == 0;  // a fifth are multi-node, whole nodes each
    const int hours = 1 + static_cast<int>(rng() % 24);
    json j{{"command", {"python3", "train.py"}}, {"cpus", gang ? 64 : 8 * g}, {"mem", gang ? "500G" : std::to_string(60 * g) + "G"},
           {"gpus", std::to_string(gang ? 8 : g)}, {"nodes", gang ? 2 + static_cast<int>(rng() % 3) : 1},
           {"time", std::to_string(hours) + "h"}};
    return j.dump();
  });
  const double submit_s = seconds_since(t0);
  std::printf("pending: %ld jobs submitted in %.2f s (%.0f/s, %ld failed)\n", pending, submit_s, pending / submit_s, failed);

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
  beating = false;
  for (auto& th : hearts) th.join();
  std::printf("status: %s\n", s.dump().c_str());
  std::printf("passes with %ld pending on %d nodes: %ld in %d s, p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
              s["jobs"]["pending"].get<long>(), nodes, passes, settle, s["passes"]["p50_ms"].get<double>(),
              s["passes"]["p99_ms"].get<double>(), s["passes"]["max_ms"].get<double>());
  std::printf("heartbeats: %ld calls\n", beats.load());
  return 0;
}
