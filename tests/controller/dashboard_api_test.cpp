// What the dashboard reads, through the real HTTP API: the cluster map and its fragmentation, the
// job list's filters and pages, a job's usage, a log's tail, fair-share standing by role, and the
// dashboard's own files at /.
#include <gtest/gtest.h>

#include <fstream>
#include <future>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "live_api.h"

namespace gwang::controller {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class DashboardApi : public LiveApi {
 protected:
  void configure(ControllerOptions& o) override { o.queue_order = core::QueueOrder::Multifactor; }
  json get(const std::string& token, const std::string& path, int status = 200) {
    auto r = call(token, "GET", path);
    EXPECT_TRUE(r) << path;
    if (!r) return {};
    EXPECT_EQ(r->status, status) << path << ": " << r->body;
    return json::parse(r->body, nullptr, false);
  }
  // Jobs run in /tmp unless the request says otherwise: the test users' homes (nobody's is
  // /nonexistent) may not exist, and a job that cannot enter its directory fails at once.
  std::int64_t submit(const std::string& token, json request) {
    if (!request.contains("workdir")) request["workdir"] = "/tmp";
    auto r = call(token, "POST", "/api/v1/jobs", request.dump());
    EXPECT_TRUE(r && r->status == 201) << (r ? r->body : "");
    return r ? json::parse(r->body).value("id", std::int64_t{0}) : 0;
  }
  void books() {
    auto ok = [&](const std::string& kind, const json& payload) {
      auto r = controller_->administer(kind, payload, now_);
      ASSERT_TRUE(r) << kind << ": " << r.error().message;
    };
    ok("tenancy.institution", {{"name", "i"}, {"type", "sme"}, {"sector", "other"}});
    ok("tenancy.institution", {{"name", "j"}, {"type", "startup"}, {"sector", "other"}});
    ok("tenancy.project", {{"name", "p"}, {"institution", "i"}});
    ok("tenancy.project", {{"name", "q"}, {"institution", "j"}});
    ok("tenancy.user", {{"name", "nobody"}});
    ok("tenancy.member", {{"user", "nobody"}, {"project", "p"}, {"member", true}});
    ok("tenancy.user", {{"name", "root"}});
    ok("tenancy.member", {{"user", "root"}, {"project", "q"}, {"member", true}});
    ok("grant.programme", {{"name", "v"}, {"when_exhausted", "refuse"}, {"priority", 0}});
    ok("grant.granted",
       {{"project", "p"}, {"programme", "v"}, {"amount", 10.0}, {"start", 0}, {"end", now_ + 86400}, {"who", "op"}});
    ok("grant.granted",
       {{"project", "q"}, {"programme", "v"}, {"amount", 10.0}, {"start", 0}, {"end", now_ + 86400}, {"who", "op"}});
  }
};

// One device of two busy: the map shows which, the job on the node, and the free device stranded
// for jobs of 2, 4 and 8; a drained node's devices are unavailable and strand nothing.
TEST_F(DashboardApi, ClusterMapShowsUseAndFragmentation) {
  json empty = get(user_, "/api/v1/cluster");
  ASSERT_EQ(empty["nodes"].size(), 1u);
  EXPECT_EQ(empty["by_model"][0]["free"], 2);
  EXPECT_EQ(empty["by_model"][0]["stranded"], (json{{"2", 0}, {"4", 2}, {"8", 2}}));

  const std::int64_t id = submit(user_, {{"command", {"sleep", "100"}}, {"gpus", "1"}, {"mem", "64M"}, {"time", 600}});
  round();
  json map = get(user_, "/api/v1/cluster");
  const json& node = map["nodes"][0];
  EXPECT_EQ(node[0], "n");
  EXPECT_EQ(node[1], "up");
  EXPECT_EQ(node[6], json::array({id}));
  ASSERT_EQ(node[7].size(), 2u);
  EXPECT_EQ(node[7][0][1].get<int>() + node[7][1][1].get<int>(), 1000);  // one whole device in use
  EXPECT_EQ(map["models"], json::array({"npu:x"}));
  const json& m = map["by_model"][0];
  EXPECT_EQ(m["busy"], 1);
  EXPECT_EQ(m["free"], 1);
  EXPECT_DOUBLE_EQ(m["in_use"].get<double>(), 1.0);
  EXPECT_EQ(m["stranded"], (json{{"2", 1}, {"4", 1}, {"8", 1}}));

  ASSERT_EQ(call(op_, "POST", "/api/v1/nodes/n/drain")->status, 200);
  map = get(user_, "/api/v1/cluster");
  EXPECT_EQ(map["nodes"][0][1], "drained");
  EXPECT_EQ(map["by_model"][0]["unavailable"], 2);
  EXPECT_EQ(map["by_model"][0]["stranded"], (json{{"2", 0}, {"4", 0}, {"8", 0}}));
  get("not-a-token", "/api/v1/cluster", 401);
}

// Reads take no lock of the controller's: while something holds it (a pass, a snapshot's draft), a
// member of the project reads the queue (who the caller is comes from the view's tenancy), and an
// operator too. (A waiting job's own
// page under the multifactor order reads the core's priority terms, under the lock.)
TEST_F(DashboardApi, ReadsAnswerWhileTheControllerIsBusy) {
  books();
  submit(user_, {{"command", {"sleep", "100"}}, {"project", "p"}, {"mem", "64M"}, {"time", 600}, {"hold", true}});
  std::promise<void> held, release;
  std::thread busy([&] {
    controller_->read_books([&](const Accounting&) {
      held.set_value();
      release.get_future().wait();
    });
  });
  struct Release {  // however the checks below end
    std::promise<void>& p;
    std::thread& t;
    ~Release() {
      p.set_value();
      t.join();
    }
  } guard{release, busy};
  held.get_future().wait();
  EXPECT_EQ(get(user_, "/api/v1/jobs?view=summary")["total"], 1);
  EXPECT_EQ(get(op_, "/api/v1/jobs?view=summary&state=PENDING")["total"], 1);
}

// A waiting job's reason travels as a code beside its words, in every view of it and in the answer
// to a hold; a job that does not wait has the code None.
TEST_F(DashboardApi, ReasonsTravelAsCodes) {
  books();
  const std::int64_t held =
      submit(user_, {{"command", {"sleep", "100"}}, {"project", "p"}, {"mem", "64M"}, {"time", 600}, {"hold", true}});
  const std::int64_t runs =
      submit(user_, {{"command", {"sleep", "100"}}, {"project", "p"}, {"cpus", 2}, {"mem", "64M"}, {"time", 600}});
  const std::int64_t waits =
      submit(user_, {{"command", {"sleep", "100"}}, {"project", "p"}, {"cpus", 2}, {"mem", "64M"}, {"time", 600}});
  round();
  const json one = get(user_, "/api/v1/jobs/" + std::to_string(held));
  EXPECT_EQ(one["reason_code"], "JobHeldUser") << one.dump();
  EXPECT_EQ(one["reason"].get<std::string>().rfind("JobHeldUser: ", 0), 0u) << one.dump();
  std::map<std::int64_t, std::string> codes;
  const json summaries = get(user_, "/api/v1/jobs?view=summary");
  for (const json& j : summaries["jobs"]) codes[j["id"]] = j["reason_code"];
  EXPECT_EQ(codes, (std::map<std::int64_t, std::string>{
                       {held, "JobHeldUser"}, {runs, "None"}, {waits, "Reserved"}}));  // the head holds a reservation
  const json full = get(user_, "/api/v1/jobs?view=full");
  ASSERT_EQ(full["jobs"].size(), 3u);
  for (const json& j : full["jobs"]) EXPECT_EQ(j["reason_code"], codes.at(j["id"]));
  auto r = call(user_, "POST", "/api/v1/jobs/" + std::to_string(waits) + "/hold", "");
  ASSERT_TRUE(r && r->status == 200) << (r ? r->body : "");
  EXPECT_EQ(json::parse(r->body)["reason_code"], "JobHeldUser") << r->body;
}

// Filters by state, project and user; pages newest first with the total; the caller's scope
// applies before the filters; bad parameters are named.
TEST_F(DashboardApi, JobListFiltersAndPages) {
  books();
  std::vector<std::int64_t> mine, theirs;
  for (int i = 0; i < 5; ++i) {
    mine.push_back(submit(user_, {{"command", {"sleep", "100"}}, {"project", "p"}, {"mem", "64M"}, {"time", 600}}));
  }
  theirs.push_back(submit(op_, {{"command", {"sleep", "100"}}, {"project", "q"}, {"mem", "64M"}, {"time", 600}}));
  round();  // two 1-CPU jobs start on the 2-CPU node

  json page = get(op_, "/api/v1/jobs?view=summary&order=desc&limit=2&offset=1");
  EXPECT_EQ(page["total"], 6);
  EXPECT_EQ(page["offset"], 1);
  ASSERT_EQ(page["jobs"].size(), 2u);
  EXPECT_EQ(page["jobs"][0]["id"], mine[4]);  // newest first, after skipping one
  EXPECT_EQ(page["jobs"][1]["id"], mine[3]);

  page = get(op_, "/api/v1/jobs?view=summary&state=RUNNING");
  EXPECT_EQ(page["total"], 2);
  for (const json& j : page["jobs"]) EXPECT_EQ(j["state"], "RUNNING");
  page = get(op_, "/api/v1/jobs?view=summary&project=q");
  ASSERT_EQ(page["total"], 1);
  EXPECT_EQ(page["jobs"][0]["id"], theirs[0]);
  EXPECT_EQ(page["jobs"][0]["project"], "q");
  page = get(op_, "/api/v1/jobs?view=summary&user=nobody&state=PENDING,RUNNING&order=asc&limit=3");
  EXPECT_EQ(page["total"], 5);
  ASSERT_EQ(page["jobs"].size(), 3u);
  EXPECT_EQ(page["jobs"][0]["id"], mine[0]);

  // A member of p sees nothing of q's, whatever the filter asks for.
  EXPECT_EQ(get(user_, "/api/v1/jobs?view=summary&project=q")["total"], 0);
  EXPECT_EQ(get(user_, "/api/v1/jobs?view=summary")["total"], 5);

  // Ended jobs are looked at when an ended state is asked for.
  ASSERT_EQ(call(op_, "POST", "/api/v1/jobs/" + std::to_string(mine[4]) + "/cancel")->status, 200);
  page = get(op_, "/api/v1/jobs?view=summary&state=CANCELLED");
  ASSERT_EQ(page["total"], 1);
  EXPECT_EQ(page["jobs"][0]["id"], mine[4]);
  // The totals of a page of one, counted, not walked: ended jobs with all=1 only.
  EXPECT_EQ(get(op_, "/api/v1/jobs?view=summary&limit=1")["total"], 5);
  page = get(op_, "/api/v1/jobs?view=summary&all=1&limit=1&order=desc");
  EXPECT_EQ(page["total"], 6);
  ASSERT_EQ(page["jobs"].size(), 1u);
  EXPECT_EQ(page["jobs"][0]["id"], theirs[0]);

  // Large JSON answers go out gzipped to clients that accept it.
  httplib::Client raw("127.0.0.1", port_);
  raw.set_decompress(false);
  auto zipped = raw.Get("/api/v1/jobs", {{"Authorization", "Bearer " + op_}, {"Accept-Encoding", "gzip, br"}});
  ASSERT_TRUE(zipped);
  EXPECT_EQ(zipped->get_header_value("Content-Encoding"), "gzip");
  EXPECT_EQ(zipped->body.substr(0, 2), "\x1f\x8b");
  EXPECT_NE(get(op_, "/api/v1/jobs?state=DONE", 400)["error"].get<std::string>().find("parameter 'state'"),
            std::string::npos);
  EXPECT_NE(get(op_, "/api/v1/jobs?limit=0", 400)["error"].get<std::string>().find("parameter 'limit'"),
            std::string::npos);
  EXPECT_NE(get(op_, "/api/v1/jobs?offset=-1", 400)["error"].get<std::string>().find("parameter 'offset'"),
            std::string::npos);
  EXPECT_NE(get(op_, "/api/v1/jobs?order=up", 400)["error"].get<std::string>().find("parameter 'order'"),
            std::string::npos);
}

// A job's usage, record by record and in total, seen by those who see the job; its log's tail
// starts at a whole line and ends at the end.
TEST_F(DashboardApi, JobUsageAndLogTail) {
  books();
  const std::int64_t id =
      submit(user_, {{"command", {"/bin/sh", "-c", "i=1; while [ $i -le 2000 ]; do echo line $i; i=$((i+1)); done"}},
                     {"project", "p"},
                     {"workdir", "/tmp"},
                     {"gpus", "1"},
                     {"mem", "64M"},
                     {"time", 600}});
  round();
  const std::string path = "/api/v1/jobs/" + std::to_string(id);
  for (int i = 0; i < 200 && get(user_, path)["state"] == "RUNNING"; ++i) {
    std::this_thread::sleep_for(20ms);
    now_ += 30;  // the job's time, on the injected clock: it is charged for it
    round();
  }
  ASSERT_EQ(get(user_, path)["state"], "COMPLETED");

  json usage = get(user_, path + "/usage");
  EXPECT_EQ(usage["job"], id);
  ASSERT_FALSE(usage["records"].empty());
  EXPECT_EQ(usage["records"][0]["model"], "npu:x");
  EXPECT_EQ(usage["records"][0]["grant"], 1);
  double charge = 0;
  for (const json& r : usage["records"]) charge += r["charge"].get<double>();
  EXPECT_DOUBLE_EQ(usage["total"]["charge"].get<double>(), charge);
  EXPECT_TRUE(usage["total"]["accelerator_hours"].contains("npu:x"));
  get(op_, path + "/usage");
  auto hidden = call(*tokens_->issue("daemon", false), "GET", path + "/usage");
  EXPECT_EQ(hidden->status, 404);  // not daemon's job, nor of daemon's projects

  auto whole = call(user_, "GET", path + "/logs");
  ASSERT_EQ(whole->status, 200);
  auto tail = call(user_, "GET", path + "/logs?tail=100");
  ASSERT_EQ(tail->status, 200);
  EXPECT_LE(tail->body.size(), 100u);
  EXPECT_EQ(tail->body.rfind("line ", 0), 0u) << tail->body;  // starts at a whole line
  EXPECT_TRUE(tail->body.ends_with("line 2000\n"));
  EXPECT_EQ(whole->body.substr(whole->body.size() - tail->body.size()), tail->body);
  EXPECT_EQ(tail->get_header_value("X-Gwang-Next-Offset"), std::to_string(whole->body.size()));
  EXPECT_EQ(call(user_, "GET", path + "/logs?tail=0")->status, 400);
}

// The same under the FCFS order.
class FcfsApi : public DashboardApi {
 protected:
  void configure(ControllerOptions& o) override { o.queue_order = core::QueueOrder::Fcfs; }
};

// A job that fits now but in room reserved for the head says so, naming the head and when it is
// expected to start.
TEST_F(FcfsApi, ReasonNamesTheJobTheRoomIsReservedFor) {
  const std::int64_t running =
      submit(user_, {{"command", {"sleep", "100"}}, {"gpus", "1"}, {"mem", "64M"}, {"time", 600}});
  round();
  const std::int64_t head =
      submit(user_, {{"command", {"sleep", "100"}}, {"gpus", "2"}, {"mem", "64M"}, {"time", 600}});
  const std::int64_t late =
      submit(user_, {{"command", {"sleep", "100"}}, {"gpus", "1"}, {"mem", "64M"}, {"time", 6000}});
  round();
  EXPECT_EQ(get(user_, "/api/v1/jobs/" + std::to_string(running))["state"], "RUNNING");
  const json head_job = get(user_, "/api/v1/jobs/" + std::to_string(head));
  const std::string head_reason = head_job["reason"];
  EXPECT_EQ(head_job["reason_code"], "Reserved");
  EXPECT_EQ(get(user_, "/api/v1/jobs/" + std::to_string(late))["reason_code"], "ReservedForJob");
  EXPECT_EQ(get(user_, "/api/v1/jobs/" + std::to_string(running))["reason_code"], "None");
  EXPECT_EQ(head_reason.rfind("Reserved: resources are reserved for it, expected start at ", 0), 0u) << head_reason;
  const std::string reason = get(user_, "/api/v1/jobs/" + std::to_string(late))["reason"];
  EXPECT_EQ(reason.rfind("ReservedForJob: it fits now, but in room reserved for job " + std::to_string(head) +
                             " (expected to start at ",
                         0),
            0u)
      << reason;

  // What would start them sooner: the head with 1 device (1 is free now); the late one with a
  // time limit that ends before the head's reservation (the running job's 600 s, less the time
  // since it started). A running job has no hints.
  const json head_hints = get(user_, "/api/v1/jobs/" + std::to_string(head) + "/hints");
  EXPECT_TRUE(head_hints["waiting"]);
  ASSERT_EQ(head_hints["hints"].size(), 1u) << head_hints.dump();
  EXPECT_EQ(head_hints["hints"][0]["change"], "gpus");
  EXPECT_EQ(head_hints["hints"][0]["value"], 1);
  EXPECT_EQ(head_hints["hints"][0]["text"], "with 1 accelerator per task instead of 2");
  EXPECT_LT(head_hints["hints"][0]["start"].get<std::int64_t>(), head_hints["start_as_asked"].get<std::int64_t>());
  const json late_hints = get(user_, "/api/v1/jobs/" + std::to_string(late) + "/hints");
  ASSERT_EQ(late_hints["hints"].size(), 1u) << late_hints.dump();
  EXPECT_EQ(late_hints["hints"][0]["change"], "time_limit");
  EXPECT_GT(late_hints["hints"][0]["value"].get<std::int64_t>(), 500);
  EXPECT_LE(late_hints["hints"][0]["value"].get<std::int64_t>(), 600);
  const json none = get(user_, "/api/v1/jobs/" + std::to_string(running) + "/hints");
  EXPECT_FALSE(none["waiting"]);
  EXPECT_TRUE(none["hints"].empty());
}

// A request no node can ever hold is refused with the nearest one that could run.
TEST_F(FcfsApi, RefusalSaysTheNearestRequestThatFits) {
  auto r = call(user_, "POST", "/api/v1/jobs",
                json{{"command", {"true"}}, {"gpus", "3"}, {"mem", "64M"}, {"time", 60}}.dump());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 422);
  const std::string message = json::parse(r->body)["error"];
  EXPECT_TRUE(message.ends_with("; it could run with at most 2 accelerator(s) per task")) << message;
}

// Under conservative backfilling every waiting job holds a reservation: the job that would fit now
// in the head's room is planned after the head, and its expected start is that reservation.
class ConservativeApi : public DashboardApi {
 protected:
  void configure(ControllerOptions& o) override {
    o.queue_order = core::QueueOrder::Fcfs;
    o.backfill = core::Backfill::Conservative;
  }
};

TEST_F(ConservativeApi, EveryWaitingJobHasAReservation) {
  submit(user_, {{"command", {"sleep", "100"}}, {"gpus", "1"}, {"mem", "64M"}, {"time", 600}});
  round();
  const std::int64_t head =
      submit(user_, {{"command", {"sleep", "100"}}, {"gpus", "2"}, {"mem", "64M"}, {"time", 600}});
  const std::int64_t late =
      submit(user_, {{"command", {"sleep", "100"}}, {"gpus", "1"}, {"mem", "64M"}, {"time", 6000}});
  round();
  const json page = get(user_, "/api/v1/jobs?view=summary&state=PENDING&start=1");
  ASSERT_EQ(page["jobs"].size(), 2u) << page.dump();
  std::map<std::int64_t, std::int64_t> eta;
  for (const json& j : page["jobs"]) {
    EXPECT_EQ(j["reason"].get<std::string>().rfind("Reserved: ", 0), 0u) << j.dump();
    EXPECT_EQ(j["reason_code"], "Reserved") << j.dump();
    eta[j["id"]] = j["estimated_start"];
  }
  EXPECT_EQ(eta.at(late), eta.at(head) + 600);  // after the head's 600 s
}

// Fair-share standing: an operator sees every account; a member sees their institution, their
// project and their own user, and nothing of another institution's.
TEST_F(DashboardApi, FairShareStandingFollowsRoles) {
  books();
  submit(user_, {{"command", {"sleep", "100"}}, {"project", "p"}, {"mem", "64M"}, {"time", 600}});
  submit(op_, {{"command", {"sleep", "100"}}, {"project", "q"}, {"mem", "64M"}, {"time", 600}});
  auto paths = [&](const std::string& token) {
    std::set<std::string> out;
    const json answer = get(token, "/api/v1/fairshare");
    for (const json& a : answer["accounts"]) {
      std::string p;
      for (const json& part : a["path"]) p += (p.empty() ? "" : "/") + part.get<std::string>();
      out.insert(p);
      EXPECT_GT(a["factor"].get<double>(), 0);
    }
    return out;
  };
  EXPECT_EQ(paths(op_), (std::set<std::string>{"i", "i/p", "i/p/nobody", "j", "j/q", "j/q/root"}));
  EXPECT_EQ(paths(user_), (std::set<std::string>{"i", "i/p", "i/p/nobody"}));
}

// Without the dashboard's files, / says so and where to build them; with them, / serves them.
TEST_F(DashboardApi, ServesTheDashboardOrSaysItIsMissing) {
  ApiServer bare(*controller_, *tokens_);
  bare.serve_dashboard((dir_ / "nothing").string());
  auto bare_port = bare.bind("127.0.0.1", 0);
  ASSERT_TRUE(bare_port);
  std::thread bare_thread([&] { bare.serve(); });
  httplib::Client client("127.0.0.1", *bare_port);
  auto missing = client.Get("/");
  bare.stop();
  bare_thread.join();
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 200);
  EXPECT_NE(missing->body.find("The dashboard is not installed"), std::string::npos);

  const auto web = dir_ / "web";
  std::filesystem::create_directories(web / "assets");
  std::ofstream(web / "index.html") << "<!doctype html><title>gwang</title>dashboard";
  std::ofstream(web / "assets" / "app-1234.js") << "console.log(1)";
  ApiServer other(*controller_, *tokens_);
  other.serve_dashboard(web.string());
  auto port = other.bind("127.0.0.1", 0);
  ASSERT_TRUE(port);
  std::thread t([&] { other.serve(); });
  httplib::Client c2("127.0.0.1", *port);
  auto index = c2.Get("/");
  auto asset = c2.Get("/assets/app-1234.js");
  auto api = c2.Get("/api/v1/cluster");
  other.stop();
  t.join();
  ASSERT_TRUE(index && asset && api);
  EXPECT_EQ(index->status, 200);
  EXPECT_NE(index->body.find("dashboard"), std::string::npos);
  EXPECT_EQ(asset->status, 200);
  EXPECT_NE(asset->get_header_value("Cache-Control").find("immutable"), std::string::npos);
  EXPECT_EQ(api->status, 401);  // the API is still the API
}

}  // namespace
// Only an operator submits a job for another user (sbatch --uid as root): the job is that user's.
TEST_F(DashboardApi, OnlyAnOperatorSubmitsForAnotherUser) {
  httplib::Client client("127.0.0.1", port_);
  const std::string job = R"({"command":["true"],"workdir":"/tmp","hold":true})";
  auto refused =
      client.Post("/api/v1/jobs?as_user=root", {{"Authorization", "Bearer " + user_}}, job, "application/json");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 403);
  EXPECT_NE(refused->body.find("only an operator submits for another user"), std::string::npos) << refused->body;
  auto taken =
      client.Post("/api/v1/jobs?as_user=nobody", {{"Authorization", "Bearer " + op_}}, job, "application/json");
  ASSERT_TRUE(taken);
  ASSERT_EQ(taken->status, 201) << taken->body;
  EXPECT_NE(taken->body.find("\"user\":\"nobody\""), std::string::npos) << taken->body;
  auto unknown = client.Post("/api/v1/jobs?as_user=no-such-user-here", {{"Authorization", "Bearer " + op_}}, job,
                             "application/json");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 403) << unknown->body;
}

// A job raised in the queue is an operator's doing: a user's negative nice or priority is refused,
// an operator's taken; a user's positive nice is the user's own to give.
TEST_F(DashboardApi, OnlyAnOperatorRaisesAJobInTheQueue) {
  httplib::Client client("127.0.0.1", port_);
  const auto post = [&](const std::string& token, const std::string& extra) {
    return client.Post("/api/v1/jobs", {{"Authorization", "Bearer " + token}},
                       R"({"command":["true"],"workdir":"/tmp","hold":true,)" + extra + "}", "application/json");
  };
  auto negative = post(user_, R"("nice":-5)");
  ASSERT_TRUE(negative);
  EXPECT_EQ(negative->status, 403);
  EXPECT_NE(negative->body.find("only an operator may set a negative nice"), std::string::npos) << negative->body;
  auto priority = post(user_, R"("priority":100)");
  ASSERT_TRUE(priority);
  EXPECT_EQ(priority->status, 403);
  EXPECT_NE(priority->body.find("only an operator sets a job's priority"), std::string::npos) << priority->body;
  auto nice = post(user_, R"("nice":100)");
  ASSERT_TRUE(nice);
  EXPECT_EQ(nice->status, 201) << nice->body;
  auto fixed = post(op_, R"("priority":100,"nice":-5)");
  ASSERT_TRUE(fixed);
  EXPECT_EQ(fixed->status, 201) << fixed->body;
}

}  // namespace gwang::controller
