// A controller and its real HTTP API on a free port of this machine, for tests of the API: one
// node "n" with 2 CPUs, 4 GiB and two declared devices (npu:x), an operator token (root) and a
// user's (nobody). The control loop runs only when a test calls round().
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "controller/http.h"

namespace gwang::controller {

class LiveApi : public ::testing::Test {
 protected:
  // Options of the controller before it opens (the queue order, say).
  virtual void configure(ControllerOptions&) {}
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("gwang_api_test_" + std::to_string(::getpid()) + "_" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    std::filesystem::permissions(dir_, std::filesystem::perms::all);
    ControllerOptions o;
    o.data_dir = (dir_ / "data").string();
    o.local_node = "n";
    o.host.cpus = 2;
    o.host.memory_bytes = 4LL << 30;
    o.host.devices = {{"npu:x", "npu:x", "npu:x-0", 0, 0, true}, {"npu:x", "npu:x", "npu:x-1", 1, 0, true}};
    o.kill_grace = std::chrono::milliseconds(200);
    configure(o);
    auto c = Controller::open(o, now_);
    ASSERT_TRUE(c) << c.error().message;
    controller_ = std::move(*c);
    auto t = TokenStore::load((dir_ / "tokens").string());
    ASSERT_TRUE(t);
    tokens_ = std::make_unique<TokenStore>(std::move(*t));
    op_ = *tokens_->issue("root", true);
    user_ = *tokens_->issue("nobody", false);
    server_ = std::make_unique<ApiServer>(*controller_, *tokens_);
    auto port = server_->bind("127.0.0.1", 0);
    ASSERT_TRUE(port);
    port_ = *port;
    thread_ = std::thread([this] { server_->serve(); });
  }
  void TearDown() override {
    server_->stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
    controller_.reset();
    std::filesystem::remove_all(dir_);
  }

  httplib::Result call(const std::string& token, const std::string& method, const std::string& path,
                       const std::string& body = "{}") {
    httplib::Client client("127.0.0.1", port_);
    httplib::Headers h{{"Authorization", "Bearer " + token}};
    return method == "GET" ? client.Get(path, h) : client.Post(path, h, body, "application/json");
  }
  void round() { controller_->round(agent::Clock::now(), now_); }

  std::filesystem::path dir_;
  std::int64_t now_ = static_cast<std::int64_t>(std::time(nullptr));  // the API's submissions use the wall clock
  std::unique_ptr<Controller> controller_;
  std::unique_ptr<TokenStore> tokens_;
  std::unique_ptr<ApiServer> server_;
  std::thread thread_;
  int port_ = 0;
  std::string op_, user_;
};

}  // namespace gwang::controller
