// Failover: two controllers on one PostgreSQL store, three agents that know both, and a stream of
// jobs submitted through the command line, which knows both too. The leader is killed with SIGKILL
// in the middle of the stream; the standby must lead within 10 s, and afterwards:
//   - every job the command line acknowledged is there and ended exactly once (one run, COMPLETED);
//   - no device was ever given to two jobs at once (each run marks its start and end, with its node
//     and devices, in a file of its own);
//   - the ledger balances: the grant's use is the sum of its charges, and the usage charged is the
//     accelerator-time the jobs ran.
// Real `gwang controller` and `gwang agent` processes on loopback, and a throwaway PostgreSQL.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "../store/pg_server.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct Outcome {
  int status;
  std::string output;
};

Outcome sh(const std::string& cmd) {
  FILE* pipe = ::popen((cmd + " 2>&1").c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  while (std::fgets(buf.data(), buf.size(), pipe)) out += buf.data();
  const int rc = ::pclose(pipe);
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, out};
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write(const fs::path& p, const std::string& text) {
  std::ofstream out(p);
  out << text;
}

class Failover : public ::testing::Test {
 protected:
  static constexpr int kAgents = 3;
  static constexpr int kDevicesPerAgent = 2;

  void SetUp() override {
    auto& pg = gwang::store::testing::PgServer::get();
    ASSERT_TRUE(pg.ok()) << pg.error();
    store_ = pg.fresh_database();
    const int base = 30000 + static_cast<int>(::getpid() % 10000) * 3;
    dir_ = fs::temp_directory_path() / ("gwang_failover_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "marks");
    fs::permissions(dir_, fs::perms::all);
    fs::permissions(dir_ / "marks", fs::perms::all);  // jobs (as nobody) write their marks here
    write(dir_ / "secret", "failover-test-secret-0123456789\n");
    fs::permissions(dir_ / "secret", fs::perms::owner_read | fs::perms::owner_write);
    for (int c = 0; c < 2; ++c) {
      url_[c] = "http://127.0.0.1:" + std::to_string(base + c);
      write(dir_ / ("ctl" + std::to_string(c) + ".toml"),
            "listen = \"127.0.0.1:" + std::to_string(base + c) + "\"\ndata_dir = \"" +
                (dir_ / ("ctl" + std::to_string(c))).string() + "\"\ncluster_secret_file = \"" +
                (dir_ / "secret").string() + "\"\nstore = \"" + store_ +
                "\"\nlease = \"3s\"\noperator = \"nobody\"\nnode_timeout = \"30s\"\nkill_grace = \"1s\"\n"
                "[accounting]\ncharge_every = \"10s\"\n[accounting.rates]\n\"npu:test\" = 1.0\n");
    }
    for (int h = 1; h <= kAgents; ++h) {
      write(dir_ / ("agent" + std::to_string(h) + ".toml"),
            "controller = [\"" + url_[0] + "\", \"" + url_[1] + "\"]\nnode_name = \"host" + std::to_string(h) +
                "\"\ndata_dir = \"" + (dir_ / ("host" + std::to_string(h))).string() + "\"\ncluster_secret_file = \"" +
                (dir_ / "secret").string() +
                "\"\nkill_grace = \"1s\"\nsync_wait = \"1s\"\nnvml = false\n"
                "[[devices]]\nkind = \"npu:test\"\ncount = " +
                std::to_string(kDevicesPerAgent) + "\n");
    }
    // The first controller leads (the lease is free); the second stands by.
    pids_["ctl0"] = spawn("ctl0", "controller", dir_ / "ctl0.toml");
    wait_for("the first controller to lead", [&] { return fs::exists(dir_ / "ctl0" / "token"); });
    std::ifstream in(dir_ / "ctl0" / "token");
    std::getline(in, token_);
    pids_["ctl1"] = spawn("ctl1", "controller", dir_ / "ctl1.toml");
    wait_for("the second controller to stand by",
             [&] { return slurp(dir_ / "ctl1.log").find("stands by") != std::string::npos; });
    for (int h = 1; h <= kAgents; ++h) {
      pids_["host" + std::to_string(h)] =
          spawn("host" + std::to_string(h), "agent", dir_ / ("agent" + std::to_string(h) + ".toml"));
    }
    wait_for("the nodes up", [&] {
      const Outcome o = gwang("nodes --json");
      json j = json::parse(o.output, nullptr, false);
      if (o.status != 0 || j.is_discarded()) return false;
      int up = 0;
      for (const json& n : j["nodes"]) up += n["state"] == "up";
      return up == kAgents;
    });
  }

  void TearDown() override {
    for (auto& [name, pid] : pids_) {
      if (pid > 0) {
        ::kill(pid, SIGTERM);
        ::waitpid(pid, nullptr, 0);
      }
    }
    if (!HasFailure()) fs::remove_all(dir_);
  }

  pid_t spawn(const std::string& name, const std::string& role, const fs::path& config) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      const std::string log = (dir_ / (name + ".log")).string();
      if (!std::freopen(log.c_str(), "a", stdout) || !std::freopen(log.c_str(), "a", stderr)) ::_exit(3);
      ::execl(GWANG_BINARY, GWANG_BINARY, role.c_str(), "--config", config.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    return pid;
  }

  // The command line, with both controllers (or those given).
  Outcome gwang(const std::string& args, const std::string& urls = "") {
    return sh("cd " + dir_.string() + " && GWANG_URL=" + (urls.empty() ? url_[0] + "," + url_[1] : urls) +
              " GWANG_TOKEN=" + token_ + " " + GWANG_BINARY + " " + args);
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
  std::string logs() const {
    std::string out;
    for (const char* name : {"ctl0", "ctl1", "host1", "host2", "host3"}) {
      out += std::string("--- ") + name + ":\n" + slurp(dir_ / (std::string(name) + ".log"));
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

  std::string store_, token_;
  std::string url_[2];
  fs::path dir_;
  std::map<std::string, pid_t> pids_;
};

TEST_F(Failover, LeaderKilledUnderLoadStandbyLeadsAndNothingIsLostOrRunTwice) {
  // A standby answers with the leader's address: the command line given only the standby follows it.
  const Outcome via_standby = gwang("nodes", url_[1]);
  EXPECT_EQ(via_standby.status, 0) << via_standby.output;
  EXPECT_NE(via_standby.output.find("host1"), std::string::npos) << via_standby.output;

  // The books: the jobs are charged to a project's grant.
  ok("admin institution add gist --type university --sector energy");
  ok("admin project add p --institution gist");
  ok("admin project add-member p nobody");
  ok("admin programme add national --when-exhausted refuse --priority 0");
  ok("admin grant add p --programme national --amount 1000 --start 2020-01-01 --end 2099-01-01");

  // The stream: jobs of one device each, 0.2 to 1 s long, each marking its start and end.
  constexpr int kJobs = 150;
  const std::string marks = (dir_ / "marks").string();
  std::mutex mu;
  std::vector<std::int64_t> acknowledged;
  std::vector<std::string> refused;
  std::atomic<int> submitted{0};
  std::thread submitter([&] {
    for (int i = 0; i < kJobs; ++i) {
      const std::string pause = "0." + std::to_string(2 + (i * 7) % 8);
      const Outcome o = gwang(
          "submit --project p --gpus 1 --cpus 1 --mem 32M --workdir / -- sh -c '"
          "echo start $GWANG_NODELIST $GWANG_DEVICES $(date +%s.%N) >> " +
          marks +
          "/$GWANG_JOB_ID; "
          "sleep " +
          pause +
          "; "
          "echo end $GWANG_NODELIST $GWANG_DEVICES $(date +%s.%N) >> " +
          marks + "/$GWANG_JOB_ID'");
      std::lock_guard lock(mu);
      if (o.status == 0 && o.output.rfind("Submitted job ", 0) == 0) {
        acknowledged.push_back(std::stoll(o.output.substr(14)));
      } else {
        refused.push_back(o.output);
      }
      ++submitted;
      std::this_thread::sleep_for(40ms);
    }
  });

  // A third of the way in, with jobs running, the leader dies.
  wait_for("a third of the jobs submitted, and some running", [&] {
    if (submitted < kJobs / 3) return false;
    const Outcome o = gwang("queue --json");
    json j = json::parse(o.output, nullptr, false);
    if (o.status != 0 || j.is_discarded()) return false;
    int running = 0;
    for (const json& job : j["jobs"]) running += job["state"] == "RUNNING";
    return running >= 2;
  });
  const auto killed = Clock::now();
  ::kill(pids_["ctl0"], SIGKILL);
  ::waitpid(pids_["ctl0"], nullptr, 0);
  pids_["ctl0"] = -1;
  wait_for(
      "the standby to lead", [&] { return slurp(dir_ / "ctl1.log").find("is up at") != std::string::npos; }, 20s);
  const double takeover = std::chrono::duration<double>(Clock::now() - killed).count();
  EXPECT_LT(takeover, 10.0) << "the standby led " << takeover << " s after the leader died\n" << logs();
  RecordProperty("takeover_seconds", std::to_string(takeover));
  std::printf("the standby led %.2f s after the leader was killed\n", takeover);

  submitter.join();
  std::printf("%zu submissions acknowledged, %zu refused\n", acknowledged.size(), refused.size());
  for (const std::string& r : refused) std::printf("  refused: %s", r.c_str());
  EXPECT_GE(acknowledged.size(), static_cast<std::size_t>(kJobs * 9 / 10))
      << "most submissions go through the failover (the command line retries while none leads)";

  // Every job ends.
  json all;
  wait_for(
      "every job to end",
      [&] {
        all = gwang_json("queue --all --json");
        for (const json& j : all["jobs"]) {
          if (j["state"] == "PENDING" || j["state"] == "RUNNING") return false;
        }
        return true;
      },
      120s);

  // Every acknowledged job is there, ran once, and completed.
  std::map<std::int64_t, json> by_id;
  for (const json& j : all["jobs"]) by_id[j["id"].get<std::int64_t>()] = j;
  for (std::int64_t id : acknowledged) {
    ASSERT_TRUE(by_id.contains(id)) << "acknowledged job " << id << " is lost\n" << logs();
    const json& j = by_id[id];
    EXPECT_EQ(j["state"], "COMPLETED") << j.dump();
    EXPECT_EQ(j["attempt"], 0) << j.dump();
  }
  // Each run of any job (acknowledged or not: a submission the leader took just before it died
  // may have gone unanswered) started once and ended once; no device held by two at once.
  struct Run {
    double start = 0, end = 0;
    std::int64_t job = 0;
  };
  std::map<std::string, std::vector<Run>> by_device;  // "host1 npu:test-0" -> runs
  int runs = 0;
  for (const auto& [id, j] : by_id) {
    if (j["state"] != "COMPLETED") continue;
    std::istringstream in(slurp(dir_ / "marks" / std::to_string(id)));
    std::string what, node, device;
    double at = 0;
    std::vector<std::tuple<std::string, std::string, std::string, double>> lines;
    while (in >> what >> node >> device >> at) lines.emplace_back(what, node, device, at);
    ASSERT_EQ(lines.size(), 2u) << "job " << id << " ran other than once:\n"
                                << slurp(dir_ / "marks" / std::to_string(id));
    EXPECT_EQ(std::get<0>(lines[0]), "start");
    EXPECT_EQ(std::get<0>(lines[1]), "end");
    by_device[std::get<1>(lines[0]) + " " + std::get<2>(lines[0])].push_back(
        {std::get<3>(lines[0]), std::get<3>(lines[1]), id});
    ++runs;
  }
  EXPECT_EQ(runs, static_cast<int>(by_id.size()));
  EXPECT_EQ(by_device.size(), static_cast<std::size_t>(kAgents * kDevicesPerAgent)) << "every device was used";
  for (auto& [device, list] : by_device) {
    std::sort(list.begin(), list.end(), [](const Run& a, const Run& b) { return a.start < b.start; });
    for (std::size_t i = 1; i < list.size(); ++i) {
      EXPECT_LE(list[i - 1].end, list[i].start)
          << device << " was held by jobs " << list[i - 1].job << " and " << list[i].job << " at once";
    }
  }

  // The ledger balances: the grant's use is what its charges add up to, and the usage charged is
  // the accelerator-time the jobs ran (one device each, at 1 hour per device-hour).
  const json grants = gwang_json("grants --json");
  ASSERT_EQ(grants["grants"].size(), 1u) << grants.dump();
  const json usage = gwang_json("report usage --by project --json");
  double ran_seconds = 0;
  for (const auto& [id, j] : by_id) ran_seconds += j["end_time"].get<double>() - j["start_time"].get<double>();
  EXPECT_NEAR(usage["total"]["accelerator_hours"].get<double>(), ran_seconds / 3600, 1e-9) << usage.dump();
  EXPECT_NEAR(grants["grants"][0]["used"].get<double>(), usage["total"]["charge"].get<double>(), 1e-9) << grants.dump();
  EXPECT_EQ(usage["total"]["jobs"], by_id.size()) << usage.dump();
  EXPECT_GT(ran_seconds, 0.2 * static_cast<double>(by_id.size()));
  std::printf("%zu jobs ran once each on %zu devices, %.0f device-seconds charged\n", by_id.size(), by_device.size(),
              ran_seconds);
}

}  // namespace
