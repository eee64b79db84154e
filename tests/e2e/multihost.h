// A cluster of several hosts on one machine, for the tests that cross a network: a controller and
// three agents, each in its own network namespace, joined by veth pairs on a bridge (set up and torn
// down by each test). Real `gwang controller` and `gwang agent` processes; the command line runs in
// the controller's namespace. Needs root.
#pragma once

#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "shell.h"

namespace gwang::testing::multihost {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

class MultiHost : public ::testing::Test {
 protected:
  static constexpr int kAgents = 3;

  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u) << "multi-host tests need root (network namespaces)";
    tag_ = std::to_string(::getpid() % 100000);
    dir_ = fs::temp_directory_path() /
           ("gwang_multihost_" + tag_ + "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    fs::permissions(dir_, fs::perms::all);  // jobs (as nobody) write their marks here
    // The network: a bridge in this namespace; one namespace per host with a veth into the bridge.
    net_ = std::make_unique<gwang::testing::Network>("gwb", tag_, "10.77.0", kAgents + 1);
    const std::string failed = net_->up();
    ASSERT_EQ(failed, "");
    // The secret and the configurations.
    write(dir_ / "secret", "multihost-test-secret-0123456789\n");
    fs::permissions(dir_ / "secret", fs::perms::owner_read | fs::perms::owner_write);
    // The mail program writes down what it is asked to send (mails.txt).
    write(dir_ / "mail.sh",
          "#!/bin/sh\nread -r nothing || true\necho \"$*|$SLURM_JOB_ID|$SLURM_JOB_MAIL_TYPE|$nothing\" >>" +
              (dir_ / "mails.txt").string() + "\n");
    fs::permissions(dir_ / "mail.sh", fs::perms::owner_all);
    // Over HTTPS (unless the suite runs over plain HTTP): the controller's certificate names its
    // address; the agents, the command line and the jobs trust it (ca).
    if (tls()) ASSERT_EQ(make_certificate(dir_ / "tls", {ip(0)}), "");
    write(dir_ / "controller.toml",
          "listen = \"" + ip(0) + ":8686\"\ndata_dir = \"" + (dir_ / "ctl").string() + "\"\ncluster_secret_file = \"" +
              (dir_ / "secret").string() + "\"\noperator = \"nobody\"\nnode_timeout = \"6s\"\nkill_grace = \"1s\"\n" +
              "terminal_grace = \"2s\"\n" + "allocation_grace = \"3s\"\n" + "session_start_timeout = \"5s\"\n" +
              "mail_program = \"" + (dir_ / "mail.sh").string() + "\"\n" +
              (tls() ? "[tls]\ncertificate = \"" + ca() + "\"\nkey = \"" + (dir_ / "tls" / "key.pem").string() + "\"\n"
                     : ""));
    for (int h = 1; h <= kAgents; ++h) {
      write(dir_ / ("agent" + std::to_string(h) + ".toml"),
            "controller = \"" + url() + "\"\n" + (tls() ? "ca = \"" + ca() + "\"\n" : "") + "node_name = \"" + node(h) +
                "\"\ndata_dir = \"" + (dir_ / node(h)).string() + "\"\ncluster_secret_file = \"" +
                (dir_ / "secret").string() + "\"\nkill_grace = \"1s\"\nsync_wait = \"1s\"\nnvml = false\n" +
                features(h) +
                "[[devices]]\nkind = \"npu:test\"\ncount = 1\ncpus = \"1\"\n");  // the device is near CPU 1 (its
                                                                                 // topology, declared)
    }
    pids_[0] = spawn(0, "controller", dir_ / "controller.toml");
    // The token is written before the API listens, the URL after.
    for (int i = 0; i < 500 && !fs::exists(dir_ / "ctl" / "url"); ++i) std::this_thread::sleep_for(10ms);
    ASSERT_TRUE(fs::exists(dir_ / "ctl" / "url")) << slurp(dir_ / "h0.log");
    std::ifstream in(dir_ / "ctl" / "token");
    std::getline(in, token_);
    for (int h = 1; h <= kAgents; ++h) pids_[h] = spawn(h, "agent", dir_ / ("agent" + std::to_string(h) + ".toml"));
    wait_for("three nodes up", [&] { return up_nodes() == kAgents; });
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
  // Whether this test's controller serves HTTPS (see tls_on); its URL; the certificate that
  // verifies it.
  virtual bool tls() const { return tls_on(); }
  std::string url() const { return (tls() ? "https://" : "http://") + ip(0) + ":8686"; }
  std::string ca() const { return (dir_ / "tls" / "cert.pem").string(); }
  // The environment the command line is given: where the controller is, the token, the trust.
  std::string client_env() const {
    return "GWANG_URL=" + url() + " GWANG_TOKEN=" + token_ + (tls() ? " GWANG_CA=" + ca() : "");
  }
  static std::string node(int h) { return "host" + std::to_string(h); }
  // The hosts' features (jobs' --constraint): host1 fast and ib, host2 slow and ib, host3 none.
  static std::string features(int h) {
    return h == 1 ? "features = [\"fast\", \"ib\"]\n" : h == 2 ? "features = [\"slow\", \"ib\"]\n" : "";
  }

  void run(const std::string& cmd) {
    const Outcome o = sh(cmd);
    ASSERT_EQ(o.status, 0) << cmd << ": " << o.output;
  }
  static void write(const fs::path& p, const std::string& text) {
    std::ofstream out(p);
    out << text;
  }

  // Starts `gwang ROLE --config FILE` in host h's namespace; output to dir/hH.log.
  pid_t spawn(int h, const std::string& role, const fs::path& config) {
    return gwang::testing::spawn_in(ns(h), GWANG_BINARY, role, config.string(),
                                    (dir_ / ("h" + std::to_string(h) + ".log")).string());
  }

  // The command line, in the controller's namespace.
  Outcome gwang(const std::string& args) {
    return sh("cd " + dir_.string() + " && " + client_env() + " ip netns exec " + ns(0) + " " + GWANG_BINARY + " " +
              args);
  }
  json gwang_json(const std::string& args) {
    const Outcome o = gwang(args.substr(0, args.find(' ')) + " --json" +
                            (args.find(' ') == std::string::npos ? "" : args.substr(args.find(' '))));
    EXPECT_EQ(o.status, 0) << args << ": " << o.output;
    json j = json::parse(o.output, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << o.output;
    return j;
  }
  // Slurm's commands installed in dir_/bin, and the shell's start of a line that runs one of them
  // as a user of the cluster would: in dir_, on the controller's host, with its URL and token.
  std::string slurm_commands() {
    const fs::path bin = dir_ / "bin";
    fs::create_directories(bin);
    run(std::string(GWANG_BINARY) + " slurm install " + bin.string());
    return "cd " + dir_.string() + " && PATH=" + bin.string() + ":/usr/bin:/bin " + client_env() + " ip netns exec " +
           ns(0) + " ";
  }
  std::string submit(const std::string& args) {
    const Outcome o = gwang("submit " + args);
    EXPECT_EQ(o.status, 0) << o.output;
    const std::string prefix = "Submitted job ";
    EXPECT_EQ(o.output.rfind(prefix, 0), 0u) << o.output;
    return o.output.substr(prefix.size(), o.output.find('\n') - prefix.size());
  }
  json job(const std::string& id) { return gwang_json("show " + id); }
  std::map<std::string, std::string> node_states() {
    std::map<std::string, std::string> out;
    json j = gwang_json("nodes");
    for (const json& n : j["nodes"]) out[n["name"]] = n["state"];
    return out;
  }
  int up_nodes() {
    int n = 0;
    for (const auto& [name, state] : node_states()) n += state == "up";
    return n;
  }
  // A shell command line on a new terminal of 24 x 80, `keys` typed into it; its pid, and what the
  // terminal showed until `needle` (or 15 s) in `seen`, its other end in `fd`.
  pid_t typed_on_terminal(const std::string& command, const std::string& keys, const std::string& needle, int& fd,
                          std::string& seen) {
    struct winsize size {};
    size.ws_row = 24;
    size.ws_col = 80;
    const pid_t pid = ::forkpty(&fd, nullptr, nullptr, &size);
    if (pid == 0) {
      ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    if (pid < 0 || ::write(fd, keys.data(), keys.size()) != static_cast<ssize_t>(keys.size())) return pid;
    const auto deadline = std::chrono::steady_clock::now() + 15s;
    while (seen.find(needle) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      char buf[4096];
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      seen.append(buf, static_cast<std::size_t>(n));
    }
    return pid;
  }
  // Kills a command started by typed_on_terminal, without a word to anyone, and closes its terminal.
  static void kill_on_terminal(pid_t pid, int fd) {
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    ::close(fd);
  }
  template <typename F>
  void wait_for(const std::string& what, F done, std::chrono::seconds limit = 30s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return;
      std::this_thread::sleep_for(100ms);
    }
    FAIL() << "timed out waiting for " << what << "\ncontroller:\n" << slurp(dir_ / "h0.log");
  }
  bool ended(const json& j) { return j["state"] != "PENDING" && j["state"] != "RUNNING"; }
  // The job an `sbatch --parsable` call (`o`, for `what`) submitted, once it has ended; null when
  // the call failed.
  json ended_job(const Outcome& o, const std::string& what, std::chrono::seconds limit = 30s) {
    EXPECT_EQ(o.status, 0) << what << ": " << o.output;
    if (o.status != 0) return json();
    const std::string id = o.output.substr(0, o.output.find('\n'));
    json j;
    wait_for(
        "the job of " + what + " to end", [&] { return ended(j = job(id)); }, limit);
    return j;
  }
  int host_of(const std::string& node_name) { return std::stoi(node_name.substr(4)); }

  std::string tag_;
  std::unique_ptr<gwang::testing::Network> net_;
  fs::path dir_;
  std::string token_;
  std::map<int, pid_t> pids_;
};

}  // namespace gwang::testing::multihost
