// End to end against one real `gwang up`: its process, started for each test and stopped after
// with a clean stop, and the `gwang` command (under its own name or Slurm's) run against it.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "shell.h"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct Outcome {
  int status;
  std::string output;
};

class Up : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("gwang_e2e_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "work");
    fs::permissions(dir_, fs::perms::all);
    fs::permissions(dir_ / "work", fs::perms::all);
    start();
  }
  void TearDown() override {
    stop();
    fs::remove_all(dir_);
  }

  void start() {
    fs::remove(dir_ / "data" / "url");
    server_ = ::fork();
    ASSERT_GE(server_, 0);
    if (server_ == 0) {
      const std::string log = (dir_ / "up.log").string();
      if (!std::freopen(log.c_str(), "a", stdout) || !std::freopen(log.c_str(), "a", stderr)) ::_exit(3);
      // Over HTTPS, with its own certificate, unless the suite runs over plain HTTP (GWANG_TEST_TLS=0).
      const std::string data = (dir_ / "data").string();
      std::vector<const char*> argv{GWANG_BINARY, "up",     "--data",    data.c_str(), "--listen", "127.0.0.1:0",
                                    "--user",     "nobody", "--declare", "npu:test=2", "--no-nvml"};
      if (tls_) argv.push_back("--tls");
      argv.push_back(nullptr);
      ::execv(GWANG_BINARY, const_cast<char* const*>(argv.data()));
      ::_exit(127);
    }
    for (int i = 0; i < 500 && !fs::exists(dir_ / "data" / "url"); ++i) std::this_thread::sleep_for(10ms);
    ASSERT_TRUE(fs::exists(dir_ / "data" / "url")) << slurp(dir_ / "up.log");
  }
  void stop() {
    if (server_ <= 0) return;
    ::kill(server_, SIGTERM);
    int status = 0;
    ::waitpid(server_, &status, 0);
    server_ = -1;
    // SIGTERM is a clean stop (a snapshot, then exit 0), not a death by signal.
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status << "\n" << slurp(dir_ / "up.log");
  }

  static std::string slurp(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  Outcome gwang(const std::string& args) { return gwang_as(GWANG_BINARY, args); }
  // The command run under another name (a link to gwang named sbatch).
  Outcome gwang_as(const std::string& program, const std::string& args) {
    const std::string cmd = "cd " + (dir_ / "work").string() + " && GWANG_DATA=" + (dir_ / "data").string() + " " +
                            program + " " + args + " 2>&1";
    FILE* pipe = ::popen(cmd.c_str(), "r");
    std::string out;
    std::array<char, 4096> buf;
    while (std::fgets(buf.data(), buf.size(), pipe)) out += buf.data();
    const int rc = ::pclose(pipe);
    return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, out};
  }

  std::string submit(const std::string& args) {
    const Outcome r = gwang("submit " + args);
    EXPECT_EQ(r.status, 0) << r.output;
    const std::string prefix = "Submitted job ";
    EXPECT_EQ(r.output.rfind(prefix, 0), 0u) << r.output;
    return r.output.substr(prefix.size(), r.output.find('\n') - prefix.size());
  }

  // Waits until `gwang show ID` reports an ended state; returns the show output.
  std::string wait_ended(const std::string& id, std::chrono::seconds limit = 20s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    std::string out;
    while (std::chrono::steady_clock::now() < deadline) {
      out = gwang("show " + id).output;
      if (out.find("State=PENDING") == std::string::npos && out.find("State=RUNNING") == std::string::npos) return out;
      std::this_thread::sleep_for(50ms);
    }
    ADD_FAILURE() << "job " << id << " did not end: " << out;
    return out;
  }

  fs::path dir_;
  pid_t server_ = -1;
  bool tls_ = gwang::testing::tls_on();  // `gwang up --tls`
};

}  // namespace
