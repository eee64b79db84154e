// /metrics through the real HTTP API: every family is there, each changes when it should, and
// promtool (Prometheus's own checker) accepts the whole exposition.
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "controller/http.h"
#include "live_api.h"

namespace gwang::controller {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

class MetricsTest : public LiveApi {
 protected:
  std::string scrape() {
    auto r = call(op_, "GET", "/metrics");
    EXPECT_TRUE(r && r->status == 200);
    return r ? r->body : "";
  }
  // A request is counted once its answer has been written, which the client may see first: the
  // value of an API sample after it has settled (up to 2 s), or what it was then.
  double settled(const std::string& sample, double expected) {
    double v = -1;
    for (int i = 0; i < 100; ++i) {
      v = value(scrape(), sample);
      if (v == expected) break;
      std::this_thread::sleep_for(20ms);
    }
    return v;
  }
  // The value of one sample (name and labels exactly as exposed), or -1 if absent.
  static double value(const std::string& text, const std::string& sample) {
    const auto at = text.find("\n" + sample + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + sample.size() + 2));
  }

};

// Each family changes when it should: jobs and the queue at submission; passes, decisions and waits
// when the control loop runs; devices and utilisation while a job holds an NPU; grants when charged;
// API requests as they are served. Operators only.
TEST_F(MetricsTest, FamiliesChangeWhenTheyShould) {
  const std::string before = scrape();
  for (const char* family :
       {"gwang_jobs", "gwang_queue_length", "gwang_jobs_held", "gwang_job_wait_seconds",
        "gwang_scheduling_pass_duration_seconds", "gwang_scheduler_decisions_total", "gwang_nodes", "gwang_devices",
        "gwang_accelerator_utilisation_ratio", "gwang_grant_remaining_hours", "gwang_grant_used_hours",
        "gwang_api_requests_total", "gwang_api_request_duration_seconds"}) {
    EXPECT_NE(before.find("# TYPE " + std::string(family) + " "), std::string::npos) << family;
  }
  EXPECT_EQ(value(before, "gwang_jobs{state=\"PENDING\"}"), 0);
  EXPECT_EQ(value(before, "gwang_devices{model=\"npu:x\",state=\"free\"}"), 2);
  EXPECT_EQ(value(before, "gwang_nodes{state=\"up\"}"), 1);
  EXPECT_EQ(call(user_, "GET", "/metrics")->status, 403);

  ASSERT_TRUE(
      controller_->administer("tenancy.institution", {{"name", "i"}, {"type", "sme"}, {"sector", "other"}}, now_));
  ASSERT_TRUE(controller_->administer("tenancy.project", {{"name", "p"}, {"institution", "i"}}, now_));
  ASSERT_TRUE(controller_->administer("tenancy.user", {{"name", "nobody"}}, now_));
  ASSERT_TRUE(
      controller_->administer("tenancy.member", {{"user", "nobody"}, {"project", "p"}, {"member", true}}, now_));
  ASSERT_TRUE(
      controller_->administer("grant.programme", {{"name", "v"}, {"when_exhausted", "refuse"}, {"priority", 0}}, now_));
  ASSERT_TRUE(controller_->administer(
      "grant.granted",
      {{"project", "p"}, {"programme", "v"}, {"amount", 10.0}, {"start", 0}, {"end", now_ + 86400}, {"who", "op"}},
      now_));
  auto submitted = call(user_, "POST", "/api/v1/jobs",
                        json{{"command", {"sleep", "100"}}, {"gpus", "1"}, {"mem", "64M"}, {"time", 600}}.dump());
  ASSERT_TRUE(submitted && submitted->status == 201) << (submitted ? submitted->body : "");
  const std::string queued = scrape();
  EXPECT_EQ(value(queued, "gwang_jobs{state=\"PENDING\"}"), 1);
  EXPECT_EQ(value(queued, "gwang_queue_length"), 1);
  EXPECT_EQ(value(queued, "gwang_grant_remaining_hours{grant=\"1\",project=\"p\",programme=\"v\"}"), 10);
  EXPECT_EQ(settled("gwang_api_requests_total{method=\"POST\",route=\"/api/v1/jobs\",code=\"201\"}", 1), 1);
  EXPECT_GE(value(scrape(), "gwang_api_requests_total{method=\"GET\",route=\"/metrics\",code=\"200\"}"), 1);
  EXPECT_EQ(settled("gwang_api_requests_total{method=\"GET\",route=\"/metrics\",code=\"403\"}", 1), 1);

  const double passes = value(queued, "gwang_scheduling_pass_duration_seconds_count");
  now_ += 30;  // waited 30 s
  controller_->round(agent::Clock::now(), now_);
  const std::string running = scrape();
  EXPECT_EQ(value(running, "gwang_jobs{state=\"RUNNING\"}"), 1);
  EXPECT_EQ(value(running, "gwang_scheduling_pass_duration_seconds_count"), passes + 1);
  EXPECT_EQ(value(running, "gwang_scheduler_decisions_total{action=\"start\"}"), 1);
  EXPECT_EQ(value(running, "gwang_job_wait_seconds_count"), 1);
  EXPECT_NEAR(value(running, "gwang_job_wait_seconds_sum"), 30, 2);
  EXPECT_EQ(value(running, "gwang_job_wait_seconds_bucket{le=\"10\"}"), 0);
  EXPECT_EQ(value(running, "gwang_job_wait_seconds_bucket{le=\"60\"}"), 1);
  EXPECT_EQ(value(running, "gwang_devices{model=\"npu:x\",state=\"busy\"}"), 1);
  EXPECT_EQ(value(running, "gwang_accelerator_utilisation_ratio{model=\"npu:x\"}"), 0.5);

  // Two hours later the job is charged (1 NPU, 2 h at 1.0): the grant shows it.
  now_ += 7200;
  controller_->round(agent::Clock::now(), now_);
  const std::string charged = scrape();
  EXPECT_NEAR(value(charged, "gwang_grant_used_hours{grant=\"1\",project=\"p\",programme=\"v\"}"), 2.0, 1e-6);
  auto drained = call(op_, "POST", "/api/v1/nodes/n/drain");
  ASSERT_TRUE(drained && drained->status == 200);
  const std::string after = scrape();
  EXPECT_EQ(value(after, "gwang_nodes{state=\"drained\"}"), 1);
  EXPECT_EQ(value(after, "gwang_devices{model=\"npu:x\",state=\"unavailable\"}"), 2);
  // Unknown routes share one label: no label per path.
  call(op_, "GET", "/api/v1/nothing/here/12");
  EXPECT_EQ(settled("gwang_api_requests_total{method=\"GET\",route=\"other\",code=\"404\"}", 1), 1);
  EXPECT_EQ(value(scrape(), "gwang_api_requests_total{method=\"GET\",route=\"/api/v1/jobs/{id}\",code=\"200\"}"), -1);
  call(user_, "GET", "/api/v1/jobs/1");
  EXPECT_EQ(settled("gwang_api_requests_total{method=\"GET\",route=\"/api/v1/jobs/{id}\",code=\"200\"}", 1), 1);
}

// Prometheus's own checker accepts the exposition (promtool comes with Debian's prometheus, which
// scripts/build installs).
TEST_F(MetricsTest, PromtoolAcceptsTheExposition) {
  call(user_, "POST", "/api/v1/jobs", json{{"command", {"true"}}}.dump());
  controller_->round(agent::Clock::now(), now_);
  const fs::path file = dir_ / "metrics.txt";
  std::ofstream(file) << scrape();
  ASSERT_EQ(std::system("command -v promtool >/dev/null"), 0) << "promtool is missing: scripts/build installs it";
  const std::string cmd =
      "promtool check metrics < " + file.string() + " > " + (dir_ / "promtool.out").string() + " 2>&1";
  const int rc = std::system(cmd.c_str());
  std::ifstream out(dir_ / "promtool.out");
  std::stringstream said;
  said << out.rdbuf();
  EXPECT_EQ(rc, 0) << said.str();
  EXPECT_EQ(said.str(), "") << "promtool's lint findings";
}

// The Grafana dashboard in etc/grafana asks only for families the controller exposes.
TEST_F(MetricsTest, TheGrafanaDashboardUsesOnlyExposedFamilies) {
  std::ifstream in(std::string(GWANG_TEST_DIR) + "/../../etc/grafana/gwang.json");
  ASSERT_TRUE(in.good());
  const json dashboard = json::parse(in);
  const std::string exposed = scrape();
  const std::regex family(R"(gwang_[a-z_]+)");
  std::size_t checked = 0;
  for (const json& panel : dashboard.at("panels")) {
    for (const json& target : panel.at("targets")) {
      const std::string expr = target.at("expr");
      for (std::sregex_iterator it(expr.begin(), expr.end(), family), end; it != end; ++it) {
        std::string name = it->str();
        for (const char* suffix : {"_bucket", "_sum", "_count"}) {
          if (name.ends_with(suffix) && exposed.find("# TYPE " + name.substr(0, name.size() - std::strlen(suffix)) +
                                                     " histogram") != std::string::npos) {
            name = name.substr(0, name.size() - std::strlen(suffix));
          }
        }
        EXPECT_NE(exposed.find("# TYPE " + name + " "), std::string::npos) << panel.at("title") << ": " << name;
        ++checked;
      }
    }
  }
  EXPECT_GE(checked, 10u);
}

}  // namespace
}  // namespace gwang::controller
