// The claims of docs/security.md about who may call what: the agent protocol takes only calls signed
// with the cluster secret, recent, for the node they name; the API takes only known tokens; token
// hashes and the operator's token are kept where only the controller's account reads them.
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "agent/protocol.h"
#include "controller/http.h"

namespace gwang::controller {
namespace {

namespace proto = agent::protocol;

class Security : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("gwang_security_test_" + std::to_string(::getpid()) + "_" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    ControllerOptions o;
    o.data_dir = (dir_ / "data").string();
    auto c = Controller::open(o, std::time(nullptr));
    ASSERT_TRUE(c) << c.error().message;
    controller_ = std::move(*c);
    auto t = TokenStore::load((dir_ / "tokens").string());
    ASSERT_TRUE(t);
    tokens_ = std::make_unique<TokenStore>(std::move(*t));
    user_ = *tokens_->issue("nobody", false);
    server_ = std::make_unique<ApiServer>(*controller_, *tokens_, kSecret);
    auto port = server_->bind("127.0.0.1", 0);
    ASSERT_TRUE(port);
    port_ = *port;
    thread_ = std::thread([this] { server_->serve(); });
    // Serving before any test goes on: a stop that came before the server listened would be lost.
    httplib::Client client("127.0.0.1", port_);
    for (int i = 0; i < 500 && !client.Get("/api/v1/status"); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  void TearDown() override {
    server_->stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
    controller_.reset();
    std::filesystem::remove_all(dir_);
  }

  // An agent's call of node `node`, signed with `secret` at `date` over `signed_body`, sending `body`.
  httplib::Result sync(const std::string& secret, const std::string& node, std::int64_t date, const std::string& body,
                       const std::string& signed_body, std::string* signature = nullptr) {
    const std::string d = std::to_string(date);
    const std::string sig = proto::sign_request(secret, "POST", proto::kSyncPath, d, node, signed_body);
    if (signature) *signature = sig;
    httplib::Client client("127.0.0.1", port_);
    return client.Post(proto::kSyncPath, {{"X-Gwang-Node", node}, {"X-Gwang-Date", d}, {"X-Gwang-Signature", sig}},
                       body, "application/json");
  }
  std::string report(const std::string& node) {
    proto::SyncRequest r;
    r.node = node;
    r.instance = "0123456789abcdef";
    r.host.cpus = 4;
    r.host.memory_bytes = 8LL << 30;
    return proto::encode(r);
  }

  static constexpr const char* kSecret = "security-test-cluster-secret-0123456789";
  std::filesystem::path dir_;
  std::unique_ptr<Controller> controller_;
  std::unique_ptr<TokenStore> tokens_;
  std::unique_ptr<ApiServer> server_;
  std::thread thread_;
  int port_ = 0;
  std::string user_;
};

// Only a call signed with the cluster secret, over exactly the body sent, dated within 5 minutes of
// the controller's clock, for the node the body names, registers a node; the answer is signed over
// the call's signature, so an agent can tell it from a forged or replayed one.
TEST_F(Security, AgentCallsMustBeSignedRecentAndForTheirNode) {
  const std::int64_t now = std::time(nullptr);
  const std::string body = report("n1");
  auto wrong_secret = sync("another-secret-of-enough-length-000000", "n1", now, body, body);
  ASSERT_TRUE(wrong_secret);
  EXPECT_EQ(wrong_secret->status, 401);
  EXPECT_NE(wrong_secret->body.find("bad agent signature"), std::string::npos) << wrong_secret->body;

  auto tampered = sync(kSecret, "n1", now, body, report("n2"));
  ASSERT_TRUE(tampered);
  EXPECT_EQ(tampered->status, 401) << "a body other than the one signed";

  auto stale = sync(kSecret, "n1", now - 301, body, body);
  ASSERT_TRUE(stale);
  EXPECT_EQ(stale->status, 401);
  EXPECT_NE(stale->body.find("more than 5 minutes"), std::string::npos) << stale->body;

  auto other_node = sync(kSecret, "n2", now, body, body);
  ASSERT_TRUE(other_node);
  EXPECT_EQ(other_node->status, 400);
  EXPECT_NE(other_node->body.find("differs from the signed X-Gwang-Node header"), std::string::npos);
  EXPECT_TRUE(controller_->nodes().empty()) << "a refused call registered a node";

  std::string signature;
  auto good = sync(kSecret, "n1", now, body, body, &signature);
  ASSERT_TRUE(good);
  ASSERT_EQ(good->status, 200) << good->body;
  EXPECT_TRUE(proto::same_signature(good->get_header_value("X-Gwang-Signature"),
                                    proto::sign_response(kSecret, signature, good->body)));
  EXPECT_FALSE(proto::same_signature(good->get_header_value("X-Gwang-Signature"),
                                     proto::sign_response(kSecret, signature + "0", good->body)))
      << "an answer must not verify against another call";
  ASSERT_EQ(controller_->nodes().size(), 1u);
}

// The API answers nothing without a token it knows; a node's protocol is not reachable with a
// user's token either.
TEST_F(Security, TheApiTakesOnlyKnownTokens) {
  httplib::Client client("127.0.0.1", port_);
  for (const char* path : {"/api/v1/jobs", "/api/v1/nodes", "/api/v1/status", "/metrics", "/api/v1/grants"}) {
    auto none = client.Get(path);
    ASSERT_TRUE(none);
    EXPECT_EQ(none->status, 401) << path;
    auto bad = client.Get(path, {{"Authorization", "Bearer " + std::string(64, 'f')}});
    ASSERT_TRUE(bad);
    EXPECT_EQ(bad->status, 401) << path;
  }
  auto mine = client.Get("/api/v1/jobs", {{"Authorization", "Bearer " + user_}});
  ASSERT_TRUE(mine);
  EXPECT_EQ(mine->status, 200);
  auto as_agent =
      client.Post(proto::kSyncPath, {{"Authorization", "Bearer " + user_}}, report("n1"), "application/json");
  ASSERT_TRUE(as_agent);
  EXPECT_EQ(as_agent->status, 401) << "a user's token is no agent's signature";
}

// Tokens are kept as hashes, in a file only the controller's account can read.
TEST_F(Security, TokensAreStoredAsHashesOnlyTheOwnerReads) {
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "tokens").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 077, 0u) << "group or others may read the token file";
  std::ifstream in(dir_ / "tokens");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.find(user_), std::string::npos) << "a token itself was stored";
  EXPECT_NE(text.find(sha256_hex(user_)), std::string::npos);
}

}  // namespace
}  // namespace gwang::controller
