// Failover and faults, on a cluster of real processes: two `gwang controller`s on one throwaway
// PostgreSQL store, and agents, each host in its own network namespace joined by veth pairs on a
// bridge (this process reaches every host through the bridge). Agents and the command line know
// both controllers. Jobs run as nobody and mark, each run in a file of its own, when they start and
// when they end or are stopped, with their node and devices. After the faults, every job must have
// ended and the invariants hold:
//   - every job the command line acknowledged is there and ended once (a terminal state);
//   - no two runs of one job overlapped, and every run that started ended or was stopped;
//   - no device was ever held by two runs at once;
//   - the ledger balances: each job was charged for each second of its last run once, in records
//     that never overlap, and the grant's use is the sum of every charge.
// Needs root (network namespaces).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "../store/pg_server.h"
#include "shell.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

using gwang::testing::Outcome;
using gwang::testing::sh;
using gwang::testing::slurp;

void write(const fs::path& p, const std::string& text) {
  std::ofstream out(p);
  out << text;
}

// GET http://ip:port/path with a bearer token (https:// where `tls` is given, verified with it);
// the status and body ("" on a connection failure).
std::pair<int, std::string> http_get(const std::string& ip, int port, const std::string& token, const std::string& path,
                                     const gwang::net::TlsContext& tls) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  timeval timeout{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return {0, ""};
  }
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + ip + "\r\nAuthorization: Bearer " + token +
                              "\r\nConnection: close\r\n\r\n";
  std::string reply;
  char buf[65536];
  if (tls) {
    auto client = gwang::net::TlsClient::connect(fd, tls, ip);
    if (client && (*client)->write_all(request.data(), request.size()) > 0) {
      for (long n; (n = (*client)->read(buf, sizeof buf)) > 0;) reply.append(buf, static_cast<std::size_t>(n));
    }
  } else {
    ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) reply.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  const auto head = reply.find("\r\n\r\n");
  if (reply.size() < 12 || head == std::string::npos) return {0, ""};
  return {std::atoi(reply.c_str() + 9), reply.substr(head + 4)};
}

class Cluster : public ::testing::Test {
 protected:
  static constexpr int kControllers = 2;

  struct Options {
    int agents = 3;
    int devices = 2;  // per agent
    std::string lease = "3s";
    std::string node_timeout = "30s";
  };

  // Host h: 0 and 1 the controllers, 2.. the agents.
  void start(const Options& o) {
    o_ = o;
    ASSERT_EQ(::geteuid(), 0u) << "these tests need root (network namespaces)";
    auto& pg = gwang::store::testing::PgServer::get();
    ASSERT_TRUE(pg.ok()) << pg.error();
    store_ = pg.fresh_database();
    tag_ = std::to_string(::getpid() % 100000);
    // A subnet per test: ctest may run two of them at once, each with its own bridge.
    subnet_ = static_cast<int>(
        std::hash<std::string>{}(::testing::UnitTest::GetInstance()->current_test_info()->name()) % 200);
    dir_ = fs::temp_directory_path() /
           ("gwang_cluster_" + tag_ + "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "marks");
    fs::permissions(dir_, fs::perms::all);
    fs::permissions(dir_ / "marks", fs::perms::all);  // jobs (as nobody) write their marks here
    // The network: a bridge with an address of its own (this process's way in), a namespace per host.
    net_ = std::make_unique<gwang::testing::Network>("gwc", tag_, "10.78." + std::to_string(subnet_),
                                                     kControllers + o.agents, 253);
    const std::string failed = net_->up();
    ASSERT_EQ(failed, "");
    write(dir_ / "secret", "cluster-test-secret-0123456789\n");
    fs::permissions(dir_ / "secret", fs::perms::owner_read | fs::perms::owner_write);
    // Over HTTPS (unless the suite runs over plain HTTP): one certificate naming both controllers.
    if (gwang::testing::tls_on()) {
      ASSERT_EQ(gwang::testing::make_certificate(dir_ / "tls", {ip(0), ip(1)}), "");
      auto ctx = gwang::net::client_context(ca());
      ASSERT_TRUE(ctx) << ctx.error().message;
      tls_ = *ctx;
    }
    const std::string tls_table =
        tls_ ? "[tls]\ncertificate = \"" + ca() + "\"\nkey = \"" + (dir_ / "tls" / "key.pem").string() + "\"\n" : "";
    for (int c = 0; c < kControllers; ++c) {
      write(dir_ / (name(c) + ".toml"),
            "listen = \"" + ip(c) + ":8686\"\ndata_dir = \"" + (dir_ / name(c)).string() +
                "\"\ncluster_secret_file = \"" + (dir_ / "secret").string() + "\"\nstore = \"" + store_ +
                "\"\nlease = \"" + o.lease + "\"\noperator = \"nobody\"\nnode_timeout = \"" + o.node_timeout +
                "\"\nkill_grace = \"1s\"\n" + tls_table +
                "[accounting]\ncharge_every = \"10s\"\n[accounting.rates]\n\"npu:test\" = 1.0\n");
    }
    for (int h = kControllers; h < kControllers + o.agents; ++h) {
      write(
          dir_ / (name(h) + ".toml"),
          "controller = [\"" + url(0) + "\", \"" + url(1) + "\"]\n" + (tls_ ? "ca = \"" + ca() + "\"\n" : "") +
              "node_name = \"" + name(h) + "\"\ndata_dir = \"" + (dir_ / name(h)).string() +
              "\"\ncluster_secret_file = \"" + (dir_ / "secret").string() +
              "\"\nkill_grace = \"1s\"\nsync_wait = \"1s\"\nnvml = false\n[[devices]]\nkind = \"npu:test\"\ncount = " +
              std::to_string(o.devices) + "\n");
    }
    // The first controller leads (the lease is free); the second stands by.
    spawn(0);
    wait_for("the first controller to lead", [&] { return fs::exists(dir_ / name(0) / "token"); });
    std::ifstream in(dir_ / name(0) / "token");
    std::getline(in, token_);
    spawn(1);
    wait_for("the second controller to stand by",
             [&] { return slurp(dir_ / (name(1) + ".log")).find("stands by") != std::string::npos; });
    for (int h = kControllers; h < kControllers + o.agents; ++h) spawn(h);
    wait_for("the nodes up", [&] { return up_nodes() == o.agents; });
  }

  void TearDown() override {
    for (auto& [h, pid] : pids_) {
      if (pid > 0) {
        ::kill(pid, SIGTERM);
        ::waitpid(pid, nullptr, 0);
      }
    }
    net_.reset();
    if (!HasFailure()) fs::remove_all(dir_);
  }

  std::string ns(int h) const { return net_->ns(h); }
  std::string veth(int h) const { return net_->veth(h); }
  std::string ip(int h) const { return net_->ip(h); }
  std::string url(int c) const { return (tls_ ? "https://" : "http://") + ip(c) + ":8686"; }
  std::string ca() const { return (dir_ / "tls" / "cert.pem").string(); }
  static std::string name(int h) { return h < kControllers ? "ctl" + std::to_string(h) : "host" + std::to_string(h); }

  void run(const std::string& cmd) {
    const Outcome o = sh(cmd);
    ASSERT_EQ(o.status, 0) << cmd << ": " << o.output;
  }

  // Starts host h's program in its namespace; output to dir/NAME.log.
  void spawn(int h) {
    const std::string role = h < kControllers ? "controller" : "agent";
    const std::string config = (dir_ / (name(h) + ".toml")).string();
    const pid_t pid = gwang::testing::spawn_in(ns(h), GWANG_BINARY, role, config, (dir_ / (name(h) + ".log")).string());
    pids_[h] = pid;
  }
  void kill_host(int h) {
    ::kill(pids_[h], SIGKILL);
    ::waitpid(pids_[h], nullptr, 0);
    pids_[h] = -1;
  }
  // The controller that leads now (-1: none).
  int leader() {
    for (int c = 0; c < kControllers; ++c) {
      if (pids_[c] > 0 && http_get(ip(c), 8686, token_, "/api/v1/status", tls_).first == 200) return c;
    }
    return -1;
  }

  // The command line, knowing both controllers.
  Outcome gwang(const std::string& args) {
    return sh("cd " + dir_.string() + " && GWANG_URL=" + url(0) + "," + url(1) + " GWANG_TOKEN=" + token_ +
              (tls_ ? " GWANG_CA=" + ca() : "") + " " + GWANG_BINARY + " " + args);
  }
  json gwang_json(const std::string& args) {
    const Outcome o = gwang(args);
    EXPECT_EQ(o.status, 0) << args << ": " << o.output;
    json j = json::parse(o.output, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << o.output;
    return j;
  }
  void ok(const std::string& args) {
    const Outcome o = gwang(args);
    ASSERT_EQ(o.status, 0) << args << ": " << o.output;
  }
  int up_nodes() {
    const Outcome o = gwang("nodes --json");
    json j = json::parse(o.output, nullptr, false);
    if (o.status != 0 || j.is_discarded()) return -1;
    int up = 0;
    for (const json& n : j["nodes"]) up += n["state"] == "up";
    return up;
  }
  int running_jobs() {
    const Outcome o = gwang("queue --json");
    json j = json::parse(o.output, nullptr, false);
    if (o.status != 0 || j.is_discarded()) return -1;
    int running = 0;
    for (const json& job : j["jobs"]) running += job["state"] == "RUNNING";
    return running;
  }
  std::string logs() const {
    std::string out;
    for (int h = 0; h < kControllers + o_.agents; ++h) {
      const std::string text = slurp(dir_ / (name(h) + ".log"));
      out += "--- " + name(h) + ":\n" + (text.size() > 3000 ? "..." + text.substr(text.size() - 3000) : text);
    }
    return out;
  }
  template <typename F>
  void wait_for(const std::string& what, F done, std::chrono::seconds limit = 30s) {
    const auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      if (done()) return;
      std::this_thread::sleep_for(100ms);
    }
    FAIL() << "timed out waiting for " << what << "\n" << logs();
  }

  // The books the jobs are charged to: one project with one grant.
  void books() {
    ok("admin institution add gist --type university --sector energy");
    ok("admin project add p --institution gist");
    ok("admin project add-member p nobody");
    ok("admin programme add national --when-exhausted refuse --priority 0");
    ok("admin grant add p --programme national --amount 100000 --start 2020-01-01 --end 2099-01-01");
  }

  // Submits `count` one-device jobs of 0.2 to 0.9 s from `threads` threads, in the background.
  struct Stream {
    std::mutex mu;
    std::vector<std::int64_t> acknowledged;
    std::vector<std::string> refused;
    std::atomic<int> submitted{0};
    std::vector<std::thread> threads;
    void join() {
      for (std::thread& t : threads) t.join();
    }
  };
  void submit_stream(Stream& s, int count, int threads, std::chrono::milliseconds pause) {
    const std::string marks = (dir_ / "marks").string();
    for (int t = 0; t < threads; ++t) {
      s.threads.emplace_back([this, &s, count, threads, t, pause, marks] {
        for (int i = t; i < count; i += threads) {
          const std::string sleep = "0." + std::to_string(2 + (i * 7) % 8);
          const Outcome o = gwang(
              "submit --project p --gpus 1 --cpus 1 --mem 32M --workdir / -- sh -c '"
              "f=" +
              marks +
              "/$GWANG_JOB_ID.$GWANG_RESTART_COUNT; "
              "trap \"echo stop $GWANG_NODELIST $GWANG_DEVICES $(date +%s.%N) >> $f; exit 143\" TERM; "
              "echo start $GWANG_NODELIST $GWANG_DEVICES $(date +%s.%N) >> $f; sleep " +
              sleep +
              " & wait; "
              "echo end $GWANG_NODELIST $GWANG_DEVICES $(date +%s.%N) >> $f'");
          {
            std::lock_guard lock(s.mu);
            if (o.status == 0 && o.output.rfind("Submitted job ", 0) == 0) {
              s.acknowledged.push_back(std::stoll(o.output.substr(14)));
            } else {
              s.refused.push_back(o.output);
            }
          }
          ++s.submitted;
          std::this_thread::sleep_for(pause);
        }
      });
    }
  }

  struct Findings {
    std::map<std::string, int> states;  // jobs by how they ended
    int runs = 0, completed_twice = 0;
    double charged_seconds = 0;
  };

  // Waits for every job to end, then checks the invariants (see the top of the file).
  Findings check_invariants(const std::vector<std::int64_t>& acknowledged, std::chrono::seconds limit) {
    Findings f;
    json all;
    wait_for(
        "every job to end",
        [&] {
          all = gwang_json("queue --all --json");
          for (const json& j : all["jobs"]) {
            if (j["state"] == "PENDING" || j["state"] == "RUNNING") return false;
          }
          return !all["jobs"].empty();
        },
        limit);
    std::map<std::int64_t, json> jobs;
    for (const json& j : all["jobs"]) jobs[j["id"].get<std::int64_t>()] = j;
    for (std::int64_t id : acknowledged) {
      EXPECT_TRUE(jobs.contains(id)) << "acknowledged job " << id << " is lost";
    }

    // The runs, from the marks.
    struct Run {
      std::int64_t job = 0;
      int attempt = 0;
      std::string device;  // "node device"
      double start = 0, end = -1;
      bool completed = false;
    };
    std::vector<Run> runs;
    for (const auto& entry : fs::directory_iterator(dir_ / "marks")) {
      const std::string file = entry.path().filename().string();
      Run r;
      r.job = std::stoll(file.substr(0, file.find('.')));
      r.attempt = std::stoi(file.substr(file.find('.') + 1));
      std::istringstream in(slurp(entry.path()));
      std::string what, node, device;
      double at = 0;
      std::vector<std::string> seen;
      while (in >> what >> node >> device >> at) {
        seen.push_back(what);
        if (what == "start") {
          r.start = at;
          r.device = node + " " + device;
        } else {
          r.end = at;
          r.completed = what == "end";
        }
      }
      EXPECT_TRUE(seen == std::vector<std::string>({"start", "end"}) ||
                  seen == std::vector<std::string>({"start", "stop"}))
          << "job " << r.job << " attempt " << r.attempt << " ran as: " << slurp(entry.path());
      runs.push_back(r);
    }
    f.runs = static_cast<int>(runs.size());
    // Each job: its runs one after the other, its end once.
    std::map<std::int64_t, std::vector<Run>> by_job;
    for (const Run& r : runs) by_job[r.job].push_back(r);
    for (auto& [id, list] : by_job) {
      EXPECT_TRUE(jobs.contains(id)) << "job " << id << " ran but is unknown";
      std::sort(list.begin(), list.end(), [](const Run& a, const Run& b) { return a.attempt < b.attempt; });
      int completed = 0;
      for (std::size_t i = 0; i < list.size(); ++i) {
        completed += list[i].completed;
        if (i > 0) {
          EXPECT_LE(list[i - 1].end, list[i].start)
              << "job " << id << " ran attempts " << list[i - 1].attempt << " and " << list[i].attempt << " at once";
        }
      }
      f.completed_twice += completed > 1;
      if (jobs[id]["state"] == "COMPLETED") {
        EXPECT_TRUE(list.back().completed) << "job " << id << " is COMPLETED, but its last run did not end";
        EXPECT_EQ(list.back().attempt, jobs[id]["attempt"]) << jobs[id].dump();
      }
    }
    for (const auto& [id, j] : jobs) {
      ++f.states[j["state"].get<std::string>()];
      if (j["state"] == "COMPLETED") {
        EXPECT_TRUE(by_job.contains(id)) << "job " << id << " COMPLETED without running";
      }
    }
    // Devices: never two runs at once.
    std::map<std::string, std::vector<Run>> by_device;
    for (const Run& r : runs) by_device[r.device].push_back(r);
    for (auto& [device, list] : by_device) {
      std::sort(list.begin(), list.end(), [](const Run& a, const Run& b) { return a.start < b.start; });
      for (std::size_t i = 1; i < list.size(); ++i) {
        EXPECT_LE(list[i - 1].end, list[i].start)
            << device << " was held by jobs " << list[i - 1].job << "." << list[i - 1].attempt << " and " << list[i].job
            << "." << list[i].attempt << " at once";
      }
    }

    // The ledger, job by job: its last run charged second by second once, no record overlapping another.
    const int lead = leader();
    EXPECT_GE(lead, 0) << "no controller leads";
    double charges = 0;
    for (const auto& [id, j] : jobs) {
      const auto [status, body] =
          http_get(ip(lead), 8686, token_, "/api/v1/jobs/" + std::to_string(id) + "/usage", tls_);
      EXPECT_EQ(status, 200) << body;
      const json usage = json::parse(body, nullptr, false);
      if (status != 200 || usage.is_discarded()) return f;
      std::vector<std::pair<std::int64_t, std::int64_t>> spans;  // [from, to)
      for (const json& r : usage["records"]) {
        spans.emplace_back(r["from"].get<std::int64_t>(), r["time"].get<std::int64_t>());
        EXPECT_NEAR(r["accelerator_hours"].get<double>() * 3600,
                    static_cast<double>(spans.back().second - spans.back().first), 1e-6)
            << "job " << id << ": " << r.dump();
        charges += r["charge"].get<double>();
        f.charged_seconds += r["accelerator_hours"].get<double>() * 3600;
      }
      std::sort(spans.begin(), spans.end());
      for (std::size_t i = 1; i < spans.size(); ++i) {
        EXPECT_LE(spans[i - 1].second, spans[i].first)
            << "job " << id << " was charged twice for a second: " << usage.dump();
      }
      if (j["start_time"].is_null()) {
        EXPECT_TRUE(spans.empty()) << "job " << id << " never started but was charged";
        continue;
      }
      const std::int64_t start = j["start_time"], end = j["end_time"];
      std::int64_t covered = start;
      for (const auto& [from, to] : spans) {
        if (from < start) continue;  // an earlier attempt's
        EXPECT_EQ(from, covered) << "job " << id
                                 << ": a gap or an overlap in the charges of its last run: " << usage.dump();
        covered = to;
      }
      EXPECT_EQ(covered, end) << "job " << id << ": its last run charged up to " << covered << ", not its end " << end
                              << ": " << usage.dump();
    }
    const json grants = gwang_json("grants --json");
    EXPECT_EQ(grants["grants"].size(), 1u);
    EXPECT_NEAR(grants["grants"][0]["used"].get<double>(), charges, 1e-6) << grants.dump();
    return f;
  }

  Options o_;
  int subnet_ = 0;
  std::string store_, token_, tag_;
  std::unique_ptr<gwang::testing::Network> net_;
  fs::path dir_;
  std::map<int, pid_t> pids_;
  gwang::net::TlsContext tls_;  // verifies the controllers where they serve HTTPS
};

// The leader gets SIGKILL in the middle of a stream of submissions: the standby leads within 10 s,
// the command line's submissions go through, and the invariants hold.
TEST_F(Cluster, LeaderKilledUnderLoadStandbyLeadsAndNothingIsLostOrRunTwice) {
  start({});
  // A standby answers with the leader's address: the command line given only the standby follows it.
  const Outcome via_standby = sh("GWANG_URL=" + url(1) + " GWANG_TOKEN=" + token_ + (tls_ ? " GWANG_CA=" + ca() : "") +
                                 " " + GWANG_BINARY + " nodes");
  EXPECT_EQ(via_standby.status, 0) << via_standby.output;
  EXPECT_NE(via_standby.output.find("host2"), std::string::npos) << via_standby.output;
  books();

  constexpr int kJobs = 150;
  Stream stream;
  submit_stream(stream, kJobs, 1, 40ms);
  wait_for("a third of the jobs submitted, and some running",
           [&] { return stream.submitted >= kJobs / 3 && running_jobs() >= 2; });
  const auto killed = Clock::now();
  kill_host(0);
  wait_for(
      "the standby to lead", [&] { return slurp(dir_ / "ctl1.log").find("is up at") != std::string::npos; }, 20s);
  const double takeover = std::chrono::duration<double>(Clock::now() - killed).count();
  EXPECT_LT(takeover, 10.0) << "the standby led " << takeover << " s after the leader died\n" << logs();
  stream.join();
  // One thread submits: at most the one submission in flight when the leader died goes unanswered,
  // and the command line says that it may or may not have been taken (it does not send it twice).
  EXPECT_GE(stream.acknowledged.size(), static_cast<std::size_t>(kJobs - 1));
  for (const std::string& refused : stream.refused) {
    EXPECT_NE(refused.find("may or may not have been carried out"), std::string::npos) << refused;
  }

  const Findings f = check_invariants(stream.acknowledged, 120s);
  int jobs = 0;
  for (const auto& [state, n] : f.states) jobs += n;
  EXPECT_EQ(f.states.at("COMPLETED"), jobs) << "every job completed";
  EXPECT_GE(jobs, static_cast<int>(stream.acknowledged.size()));
  EXPECT_EQ(f.runs, jobs) << "a job ran twice";
  std::printf(
      "takeover %.2f s after SIGKILL; %zu of %d submissions acknowledged; %d runs; %.0f device-seconds "
      "charged\n",
      takeover, stream.acknowledged.size(), kJobs, f.runs, f.charged_seconds);
}

// The fault harness: a stream of 2,000 jobs on four agents while the leader is killed (twice: each
// controller once), an agent is killed and started again, an agent is cut off for a minute and
// healed, and PostgreSQL restarts. Then the invariants.
TEST_F(Cluster, FaultHarness) {
  Options o;
  o.agents = 4;
  o.devices = 4;
  o.lease = "4s";
  o.node_timeout = "20s";
  start(o);
  books();
  constexpr int kJobs = 2000;
  Stream stream;
  const auto began = Clock::now();
  submit_stream(stream, kJobs, 2, 20ms);
  auto at = [&](std::chrono::seconds when, const std::string& what) {
    std::this_thread::sleep_until(began + when);
    std::printf("%5.1f s  %s\n", std::chrono::duration<double>(Clock::now() - began).count(), what.c_str());
    std::fflush(stdout);
  };
  std::vector<std::string> faults;
  at(8s, "the leader (ctl0) gets SIGKILL");
  kill_host(0);
  wait_for(
      "ctl1 to lead", [&] { return leader() == 1; }, 20s);
  spawn(0);  // back, as a standby
  faults.push_back("leader killed (ctl0)");

  at(16s, "agent host2 gets SIGKILL; started again 3 s later");
  kill_host(2);
  std::this_thread::sleep_for(3s);
  spawn(2);
  faults.push_back("agent killed and restarted (host2)");

  at(24s, "agent host3 is cut off (its link down) for 60 s");
  run("ip link set " + veth(3) + " down");
  faults.push_back("agent partitioned for 60 s (host3)");

  at(34s, "PostgreSQL restarts");
  ASSERT_TRUE(gwang::store::testing::PgServer::get().restart());
  faults.push_back("PostgreSQL restarted");

  at(46s, "the leader (ctl1) gets SIGKILL");
  ASSERT_EQ(leader(), 1);
  kill_host(1);
  wait_for(
      "ctl0 to lead", [&] { return leader() == 0; }, 20s);
  spawn(1);
  faults.push_back("leader killed (ctl1)");

  at(84s, "host3's link is up again");
  run("ip link set " + veth(3) + " up");
  faults.push_back("partition healed (host3)");
  wait_for(
      "host3 up again", [&] { return up_nodes() == o.agents; }, 60s);

  stream.join();
  Findings f = check_invariants(stream.acknowledged, 300s);
  const double took = std::chrono::duration<double>(Clock::now() - began).count();
  std::string states;
  for (const auto& [state, n] : f.states) states += " " + state + "=" + std::to_string(n);
  std::printf(
      "%.0f s: %zu of %d submissions acknowledged (%zu refused), %d runs, jobs by end:%s; %d job(s) ran to "
      "their end twice (their node was cut off); %.0f device-seconds charged\n",
      took, stream.acknowledged.size(), kJobs, stream.refused.size(), f.runs, states.c_str(), f.completed_twice,
      f.charged_seconds);
  for (const std::string& fault : faults) std::printf("  fault: %s\n", fault.c_str());
  for (std::size_t i = 0; i < std::min<std::size_t>(stream.refused.size(), 5); ++i) {
    std::printf("  refused: %s", stream.refused[i].c_str());
  }
  EXPECT_GE(stream.acknowledged.size(), static_cast<std::size_t>(kJobs * 95 / 100));
  EXPECT_GT(f.states["COMPLETED"], kJobs * 9 / 10);
}

}  // namespace
