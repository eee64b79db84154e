// Following a step through the API as srun does: an answer that would bring nothing new waits for
// news of the step (?wait=MS&seen=N), and says the news to give next time.
#include <gtest/gtest.h>

#include <future>
#include <nlohmann/json.hpp>

#include "live_api.h"

namespace gwang::controller {
namespace {

using nlohmann::json;

class StepFollow : public LiveApi {
 protected:
  json get(const std::string& path, int status = 200) {
    auto r = call(op_, "GET", path);
    EXPECT_TRUE(r) << path;
    if (!r) return {};
    EXPECT_EQ(r->status, status) << path << ": " << r->body;
    return json::parse(r->body, nullptr, false);
  }
  // A running job of one task (nobody's), with a step of one task that runs `command`.
  std::string start_step(const std::string& command) {
    auto r = call(user_, "POST", "/api/v1/jobs", json{{"command", {"sleep", "30"}}, {"workdir", "/tmp"}}.dump());
    EXPECT_TRUE(r && r->status == 201) << (r ? r->body : "");
    const std::string job = std::to_string(json::parse(r->body)["id"].get<std::int64_t>());
    round();
    auto s = call(user_, "POST", "/api/v1/jobs/" + job + "/steps",
                  json{{"command", {"sh", "-c", command}}, {"ntasks", 1}, {"workdir", "/tmp"}}.dump());
    EXPECT_TRUE(s && s->status == 201) << (s ? s->body : "");
    return "/api/v1/jobs/" + job + "/steps/0";
  }
};

TEST_F(StepFollow, WaitAndSeenAreCheckedAsNumbers) {
  const std::string step = start_step("sleep 30");
  for (const auto& [bad, name] : std::vector<std::pair<std::string, std::string>>{{"?wait=x", "wait"},
                                                                                  {"?wait=60001", "wait"},
                                                                                  {"?wait=-1", "wait"},
                                                                                  {"?seen=1.5", "seen"},
                                                                                  {"?wait=10&seen=no", "seen"}}) {
    const json e = get(step + bad, 400);
    EXPECT_NE(e.dump().find("parameter '" + name + "'"), std::string::npos) << bad << ": " << e.dump();
  }
  // Without wait, no news is said (as before); with it, the news to give next time.
  EXPECT_FALSE(get(step).contains("news"));
  const json first = get(step + "?wait=50");
  ASSERT_TRUE(first.contains("news")) << first.dump();
  // Nothing happened: after the wait, the same news and the step still running.
  const auto seen = first["news"].get<std::uint64_t>();
  const json again = get(step + "?wait=100&seen=" + std::to_string(seen));
  EXPECT_EQ(again["news"].get<std::uint64_t>(), seen);
  EXPECT_EQ(again["step"]["state"], "RUNNING");
}

TEST_F(StepFollow, AWaitingCallAnswersWithTheStepsEnd) {
  const std::string step = start_step("exit 3");
  const json first = get(step + "?wait=1");
  const std::string seen = std::to_string(first["news"].get<std::uint64_t>());
  // srun's call waits (up to a minute) while the control loop takes the task's end.
  auto waiting = std::async(std::launch::async, [&] { return get(step + "?wait=60000&seen=" + seen); });
  json answer;
  for (int i = 0; i < 600; ++i) {
    round();
    if (waiting.wait_for(std::chrono::milliseconds(50)) == std::future_status::ready) {
      answer = waiting.get();
      break;
    }
  }
  ASSERT_FALSE(answer.is_null()) << "the waiting call did not answer the step's end";
  EXPECT_NE(answer["news"].get<std::uint64_t>(), std::stoull(seen)) << answer.dump();
  EXPECT_EQ(answer["step"]["tasks"][0]["exit_code"].get<int>(), 3) << answer.dump();
}

}  // namespace
}  // namespace gwang::controller
