// Who reaches what, through the real HTTP API: a matrix of role x action x owner. Two institutions,
// three projects, a member who owns a job, a member of the same project who does not, a member of
// another project of the same institution, a member of another institution, an institution admin,
// a user in no project, and an operator. Users are accounts of this machine (jobs are submitted as
// them; none runs: the control loop is not driven).
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "controller/http.h"

namespace gwang::controller {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Answer {
  int status = 0;
  json body;
};

class Isolation : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("gwang_isolation_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    ControllerOptions o;
    o.data_dir = (dir_ / "data").string();
    o.local_node = "n";
    o.host.cpus = 2;
    o.host.memory_bytes = 4LL << 30;
    auto c = Controller::open(o, 1'800'000'000);
    ASSERT_TRUE(c) << c.error().message;
    controller_ = std::move(*c);
    auto t = TokenStore::load((dir_ / "tokens").string());
    ASSERT_TRUE(t);
    tokens_ = std::make_unique<TokenStore>(std::move(*t));
    server_ = std::make_unique<ApiServer>(*controller_, *tokens_);
    auto port = server_->bind("127.0.0.1", 0);
    ASSERT_TRUE(port);
    port_ = *port;
    thread_ = std::thread([this] { server_->serve(); });
    token_["op"] = *tokens_->issue("root", true);
    // Accounts of this machine, by role.
    user_ = {{"op", "root"},    {"admin_a", "daemon"}, {"alice", "bin"}, {"amy", "sys"},
             {"carl", "games"}, {"bob", "man"},        {"loner", "lp"}};
    for (const auto& [role, user] : user_) {
      if (role != "op") token_[role] = *tokens_->issue(user, false);
    }
    build_centre();
  }
  void TearDown() override {
    server_->stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
    controller_.reset();
    fs::remove_all(dir_);
  }

  Answer call(const std::string& role, const std::string& method, const std::string& path, const json& body = {}) {
    httplib::Client client("127.0.0.1", port_);
    httplib::Headers headers{{"Authorization", "Bearer " + (token_.contains(role) ? token_[role] : role)}};
    httplib::Result r = method == "GET"
                            ? client.Get(path, headers)
                            : client.Post(path, headers, body.is_null() ? "{}" : body.dump(), "application/json");
    EXPECT_TRUE(r) << method << " " << path;
    if (!r) return {};
    Answer a{r->status, json::parse(r->body, nullptr, false)};
    return a;
  }
  void ok(const std::string& role, const std::string& method, const std::string& path, const json& body = {}) {
    const Answer a = call(role, method, path, body);
    ASSERT_TRUE(a.status == 200 || a.status == 201)
        << role << " " << method << " " << path << ": " << a.status << " " << a.body.dump();
  }
  std::int64_t submit(const std::string& role, const std::string& project) {
    const Answer a = call(role, "POST", "/api/v1/jobs",
                          {{"command", {"sleep", "100"}}, {"project", project}, {"mem", "64M"}, {"time", 600}});
    EXPECT_EQ(a.status, 201) << a.body.dump();
    return a.body.value("id", std::int64_t{0});
  }

  void build_centre() {
    ok("op", "POST", "/api/v1/institutions", {{"name", "uni-a"}, {"type", "university"}, {"sector", "other"}});
    ok("op", "POST", "/api/v1/institutions", {{"name", "corp-b"}, {"type", "startup"}, {"sector", "mobility"}});
    ok("op", "POST", "/api/v1/institutions/uni-a/admins", {{"user", user_["admin_a"]}});
    ok("admin_a", "POST", "/api/v1/projects", {{"name", "a1"}, {"institution", "uni-a"}});
    ok("admin_a", "POST", "/api/v1/projects", {{"name", "a2"}, {"institution", "uni-a"}});
    ok("op", "POST", "/api/v1/projects", {{"name", "b1"}, {"institution", "corp-b"}});
    ok("admin_a", "POST", "/api/v1/projects/a1/members", {{"user", user_["alice"]}});
    ok("admin_a", "POST", "/api/v1/projects/a1/members", {{"user", user_["amy"]}});
    ok("admin_a", "POST", "/api/v1/projects/a2/members", {{"user", user_["carl"]}});
    ok("op", "POST", "/api/v1/projects/b1/members", {{"user", user_["bob"]}});
    ok("op", "POST", "/api/v1/programmes", {{"name", "voucher"}, {"when_exhausted", "refuse"}, {"priority", 0.5}});
    ok("op", "POST", "/api/v1/grants",
       {{"project", "a1"}, {"programme", "voucher"}, {"amount", 100}, {"start", "2020-01-01"}, {"end", "2040-01-01"}});
    ok("op", "POST", "/api/v1/grants",
       {{"project", "b1"}, {"programme", "voucher"}, {"amount", 100}, {"start", "2020-01-01"}, {"end", "2040-01-01"}});
    ok("op", "POST", "/api/v1/grants",
       {{"project", "a2"}, {"programme", "voucher"}, {"amount", 100}, {"start", "2020-01-01"}, {"end", "2040-01-01"}});
  }

  fs::path dir_;
  std::unique_ptr<Controller> controller_;
  std::unique_ptr<TokenStore> tokens_;
  std::unique_ptr<ApiServer> server_;
  std::thread thread_;
  int port_ = 0;
  std::map<std::string, std::string> token_, user_;
};

struct Case {
  std::string role, method, path;
  json body;
  int status;
};

// Every role x action x owner gets exactly the answer the rules give, in the order listed (later
// cases see what earlier ones changed).
TEST_F(Isolation, RoleActionOwnerMatrix) {
  const std::int64_t ja = submit("alice", "a1");  // alice's job in a1 (uni-a)
  const std::int64_t jc = submit("carl", "a2");   // carl's job in a2 (uni-a)
  const std::int64_t jb = submit("bob", "b1");    // bob's job in b1 (corp-b)
  const std::int64_t jx = submit("alice", "a1");  // another of alice's, for cancels
  auto job = [](std::int64_t id) { return "/api/v1/jobs/" + std::to_string(id); };
  const std::vector<Case> cases = {
      // a job's record: owner, its project's members, its institution's admins, operators
      {"op", "GET", job(ja), {}, 200},
      {"admin_a", "GET", job(ja), {}, 200},
      {"alice", "GET", job(ja), {}, 200},
      {"amy", "GET", job(ja), {}, 200},
      {"carl", "GET", job(ja), {}, 404},
      {"bob", "GET", job(ja), {}, 404},
      {"loner", "GET", job(ja), {}, 404},
      {"admin_a", "GET", job(jb), {}, 404},
      {"alice", "GET", job(jb), {}, 404},
      {"bob", "GET", job(jb), {}, 200},
      {"admin_a", "GET", job(jc), {}, 200},
      {"alice", "GET", job(jc), {}, 404},
      // logs: the same people
      {"op", "GET", job(ja) + "/logs", {}, 200},
      {"admin_a", "GET", job(ja) + "/logs", {}, 200},
      {"amy", "GET", job(ja) + "/logs", {}, 200},
      {"carl", "GET", job(ja) + "/logs", {}, 404},
      {"bob", "GET", job(ja) + "/logs", {}, 404},
      {"loner", "GET", job(jb) + "/logs", {}, 404},
      {"admin_a", "GET", job(jb) + "/logs", {}, 404},
      // submitting: members only, to their own projects
      {"alice", "POST", "/api/v1/jobs", {{"command", {"true"}}, {"project", "b1"}}, 403},
      {"bob", "POST", "/api/v1/jobs", {{"command", {"true"}}, {"project", "a1"}}, 403},
      {"carl", "POST", "/api/v1/jobs", {{"command", {"true"}}, {"project", "a1"}}, 403},
      {"loner", "POST", "/api/v1/jobs", {{"command", {"true"}}, {"project", "a1"}}, 403},
      {"admin_a", "POST", "/api/v1/jobs", {{"command", {"true"}}, {"project", "a1"}}, 403},
      // cancelling: the owner, the institution's admins, operators; a member who sees it gets 403
      {"amy", "POST", job(ja) + "/cancel", {}, 403},
      {"carl", "POST", job(ja) + "/cancel", {}, 404},
      {"bob", "POST", job(ja) + "/cancel", {}, 404},
      {"loner", "POST", job(ja) + "/cancel", {}, 404},
      {"admin_a", "POST", job(jb) + "/cancel", {}, 404},
      {"alice", "POST", job(ja) + "/cancel", {}, 200},
      {"admin_a", "POST", job(jc) + "/cancel", {}, 200},
      {"op", "POST", job(jb) + "/cancel", {}, 200},
      // managing projects and institutions: operators, and admins within their institution
      {"admin_a", "POST", "/api/v1/projects/a1/members", {{"user", "mail"}}, 200},
      {"admin_a", "POST", "/api/v1/projects/b1/members", {{"user", "mail"}}, 403},
      {"alice", "POST", "/api/v1/projects/a1/members", {{"user", "news"}}, 403},
      {"bob", "POST", "/api/v1/projects/a1/members/bin/remove", {}, 403},
      {"admin_a", "POST", "/api/v1/projects", {{"name", "a3"}, {"institution", "uni-a"}}, 201},
      {"admin_a", "POST", "/api/v1/projects", {{"name", "b2"}, {"institution", "corp-b"}}, 403},
      {"admin_a", "POST", "/api/v1/institutions/corp-b/admins", {{"user", "daemon"}}, 403},
      {"admin_a", "POST", "/api/v1/institutions", {{"name", "c"}, {"type", "sme"}}, 403},
      {"bob", "POST", "/api/v1/institutions", {{"name", "c"}, {"type", "sme"}}, 403},
      {"alice", "POST", "/api/v1/users/bin/operator", {{"operator", true}}, 403},
      {"alice", "POST", "/api/v1/users/man/default-project", {{"project", "b1"}}, 403},
      {"alice", "POST", "/api/v1/users/bin/default-project", {{"project", "a1"}}, 200},
      {"op", "POST", "/api/v1/institutions", {{"name", "c"}, {"type", "sme"}}, 201},
      // grants: operators change them; members and admins see their projects' only
      {"alice",
       "POST",
       "/api/v1/grants",
       {{"project", "a1"}, {"programme", "voucher"}, {"amount", 1}, {"start", 0}, {"end", 9}},
       403},
      {"admin_a",
       "POST",
       "/api/v1/grants",
       {{"project", "a1"}, {"programme", "voucher"}, {"amount", 1}, {"start", 0}, {"end", 9}},
       403},
      {"admin_a", "POST", "/api/v1/grants/1/top-up", {{"amount", 5}}, 403},
      {"alice", "POST", "/api/v1/programmes", {{"name", "mine"}}, 403},
      {"alice", "GET", "/api/v1/grants/1", {}, 200},
      {"bob", "GET", "/api/v1/grants/1", {}, 404},
      {"bob", "POST", "/api/v1/grants/1/top-up", {{"amount", 5}}, 404},
      {"admin_a", "GET", "/api/v1/grants/3", {}, 200},
      {"alice", "GET", "/api/v1/grants/3", {}, 404},
      {"op", "POST", "/api/v1/grants/1/top-up", {{"amount", 5}}, 200},
      // quotas: operators set them
      {"admin_a", "POST", "/api/v1/quotas", {{"scope", "project"}, {"name", "a1"}, {"limit", 2}}, 403},
      {"alice", "POST", "/api/v1/quotas/remove", {{"scope", "project"}, {"name", "a1"}}, 403},
      {"op",
       "POST",
       "/api/v1/quotas",
       {{"scope", "project"}, {"name", "a1"}, {"model", "gpu:H100"}, {"limit", 2}},
       200},
      // tokens: one's own; an admin for the members of their projects; operators for anyone
      {"alice", "POST", "/api/v1/tokens", {{"user", "man"}}, 403},
      {"admin_a", "POST", "/api/v1/tokens", {{"user", "bin"}}, 201},
      {"admin_a", "POST", "/api/v1/tokens", {{"user", "man"}}, 403},
      {"bob", "POST", "/api/v1/tokens", {}, 201},
      // nodes: operators drain and resume
      {"alice", "POST", "/api/v1/nodes/n/drain", {}, 403},
      {"admin_a", "POST", "/api/v1/nodes/n/drain", {}, 403},
      {"op", "POST", "/api/v1/nodes/n/drain", {}, 200},
      // no token, or a wrong one
      {"no-such-token", "GET", "/api/v1/jobs", {}, 401},
  };
  int n = 0;
  for (const Case& c : cases) {
    const Answer a = call(c.role, c.method, c.path, c.body);
    EXPECT_EQ(a.status, c.status) << "case " << n << ": " << c.role << " " << c.method << " " << c.path << " "
                                  << c.body.dump() << " -> " << a.body.dump();
    ++n;
  }
  EXPECT_GE(n, 40);
  (void)jx;
}

// The job list holds exactly the jobs each role may see.
TEST_F(Isolation, JobListsAreScoped) {
  const std::int64_t ja = submit("alice", "a1");
  const std::int64_t jc = submit("carl", "a2");
  const std::int64_t jb = submit("bob", "b1");
  const std::map<std::string, std::set<std::int64_t>> expected = {
      {"op", {ja, jb, jc}}, {"admin_a", {ja, jc}}, {"alice", {ja}}, {"amy", {ja}},
      {"carl", {jc}},       {"bob", {jb}},         {"loner", {}}};
  for (const auto& [role, ids] : expected) {
    for (const std::string view : {"full", "summary", "table"}) {
      const Answer a = call(role, "GET", "/api/v1/jobs?view=" + view);
      ASSERT_EQ(a.status, 200);
      std::set<std::int64_t> seen;
      if (view == "table") {
        for (const json& row : a.body["rows"]) seen.insert(row[0].get<std::int64_t>());
      } else {
        for (const json& j : a.body["jobs"]) seen.insert(j["id"].get<std::int64_t>());
      }
      EXPECT_EQ(seen, ids) << role << " view=" << view;
    }
  }
  // Grants, projects and users are scoped the same way.
  auto names = [&](const std::string& role, const std::string& path, const std::string& key, const std::string& field) {
    std::set<std::string> out;
    const Answer a = call(role, "GET", path);
    for (const json& x : a.body[key]) out.insert(x[field].dump());
    return out;
  };
  EXPECT_EQ(names("alice", "/api/v1/grants", "grants", "project"), (std::set<std::string>{"\"a1\""}));
  EXPECT_EQ(names("admin_a", "/api/v1/grants", "grants", "project"), (std::set<std::string>{"\"a1\"", "\"a2\""}));
  EXPECT_EQ(names("bob", "/api/v1/projects", "projects", "name"), (std::set<std::string>{"\"b1\""}));
  EXPECT_EQ(names("loner", "/api/v1/projects", "projects", "name"), (std::set<std::string>{}));
  EXPECT_EQ(names("alice", "/api/v1/users", "users", "name"), (std::set<std::string>{"\"bin\""}));
  EXPECT_EQ(names("admin_a", "/api/v1/institutions", "institutions", "name"), (std::set<std::string>{"\"uni-a\""}));
  EXPECT_EQ(names("op", "/api/v1/institutions", "institutions", "name"),
            (std::set<std::string>{"\"uni-a\"", "\"corp-b\""}));
}

// A revoked token stops working at once; a user revokes only tokens within reach.
TEST_F(Isolation, RevokedTokensStopWorking) {
  const Answer made = call("bob", "POST", "/api/v1/tokens", json::object());
  ASSERT_EQ(made.status, 201);
  const std::string token = made.body["token"], id = made.body["id"];
  EXPECT_EQ(call(token, "GET", "/api/v1/whoami").body["user"], "man");
  EXPECT_EQ(call("alice", "POST", "/api/v1/tokens/" + id + "/revoke").status, 404);
  EXPECT_EQ(call("bob", "GET", "/api/v1/tokens").body["tokens"].size(), 2u);  // the first and this one
  EXPECT_EQ(call("bob", "POST", "/api/v1/tokens/" + id + "/revoke").status, 200);
  EXPECT_EQ(call(token, "GET", "/api/v1/whoami").status, 401);
  EXPECT_EQ(call("bob", "GET", "/api/v1/whoami").status, 200);  // the other token still works
  // The file no longer holds it: a restart does not bring it back.
  auto reloaded = TokenStore::load((dir_ / "tokens").string());
  ASSERT_TRUE(reloaded);
  EXPECT_FALSE(reloaded->check(token));
  EXPECT_TRUE(reloaded->check(token_["bob"]));
}

// Bad changes of the books: each answers with what is wrong, and nothing of it is written.
TEST_F(Isolation, BadChangesSayWhatIsWrongAndWriteNothing) {
  struct Bad {
    std::string path;
    json body;
    int status;
    std::string says;
  };
  const std::vector<Bad> bad = {
      {"/api/v1/grants",
       {{"project", "a1"}, {"programme", "voucher"}, {"amount", 10}, {"start", "2026-05-01"}, {"end", "2026-04-01"}},
       422,
       "is not after its start"},
      {"/api/v1/grants",
       {{"project", "a1"}, {"programme", "voucher"}, {"amount", -5}, {"start", 0}, {"end", 9}},
       422,
       "amount must be above 0"},
      {"/api/v1/grants",
       {{"project", "nope"}, {"programme", "voucher"}, {"amount", 5}, {"start", 0}, {"end", 9}},
       422,
       "no project 'nope'"},
      {"/api/v1/grants",
       {{"project", "a1"}, {"programme", "nope"}, {"amount", 5}, {"start", 0}, {"end", 9}},
       422,
       "no programme 'nope'"},
      {"/api/v1/grants",
       {{"project", "a1"}, {"programme", "voucher"}, {"amount", "5"}, {"start", 0}, {"end", 9}},
       400,
       "field 'amount'"},
      {"/api/v1/grants",
       {{"project", "a1"}, {"programme", "voucher"}, {"amount", 5}, {"start", "2026-02-30"}, {"end", 9}},
       400,
       "field 'start'"},
      {"/api/v1/grants/1/top-up", {{"amount", 0}}, 422, "above 0"},
      {"/api/v1/grants/1/extend", {{"end", "1999-01-01"}}, 422, "is not after the grant's start"},
      {"/api/v1/grants/99/top-up", {{"amount", 1}}, 404, "grant 99 not found"},
      {"/api/v1/institutions", {{"name", "x"}, {"type", "guild"}}, 422, "institution type 'guild'"},
      {"/api/v1/institutions", {{"name", "uni-a"}, {"type", "university"}}, 422, "exists already"},
      {"/api/v1/projects", {{"name", "z"}, {"institution", "nowhere"}}, 422, "no institution 'nowhere'"},
      {"/api/v1/projects/a1/members/games/remove", {}, 422, "not a member"},
      {"/api/v1/users/bin/default-project", {{"project", "b1"}}, 422, "not a member of project 'b1'"},
      {"/api/v1/programmes", {{"name", "p"}, {"when_exhausted", "sometimes"}}, 422, "when_exhausted"},
      {"/api/v1/programmes", {{"name", "p"}, {"priority", 3}}, 422, "priority"},
  };
  const Answer before = call("op", "GET", "/api/v1/grants");
  for (const Bad& b : bad) {
    const Answer a = call("op", "POST", b.path, b.body);
    EXPECT_EQ(a.status, b.status) << b.path << " " << b.body.dump() << " -> " << a.body.dump();
    EXPECT_NE(a.body.value("error", "").find(b.says), std::string::npos) << a.body.dump();
  }
  EXPECT_EQ(call("op", "GET", "/api/v1/grants").body, before.body);
  EXPECT_EQ(call("op", "GET", "/api/v1/programmes").body["programmes"].size(), 1u);
  EXPECT_EQ(call("op", "GET", "/api/v1/institutions").body["institutions"].size(), 2u);
  // A job charged to a project its owner is not in, or to no project where one is needed.
  EXPECT_EQ(call("loner", "POST", "/api/v1/jobs", {{"command", {"true"}}, {"project", "a1"}}).status, 403);
  const Answer unknown = call("alice", "POST", "/api/v1/jobs", {{"command", {"true"}}, {"project", ""}});
  EXPECT_EQ(unknown.status, 400);
  EXPECT_NE(unknown.body.value("error", "").find("field 'project'"), std::string::npos);
}

}  // namespace
}  // namespace gwang::controller
