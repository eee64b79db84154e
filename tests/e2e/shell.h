// What the end-to-end tests of several processes share: a shell command's outcome, a network of
// hosts in namespaces, a program started in one, a file's text.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "net/tls.h"

namespace gwang::testing {

struct Outcome {
  int status;
  std::string output;  // stdout and stderr together
};

// Runs `cmd` with /bin/sh; its exit status (-1 when it did not exit) and output.
inline Outcome sh(const std::string& cmd) {
  FILE* pipe = ::popen((cmd + " 2>&1").c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  while (std::fgets(buf.data(), buf.size(), pipe)) out += buf.data();
  const int rc = ::pclose(pipe);
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, out};
}

// Hosts for a test, each in its own network namespace with an eth0 on one bridge:
// host h is namespace ns(h) with address ip(h) in subnet `prefix`.0/24. With `bridge_host`, the
// bridge itself has address ip(bridge_host) and this process reaches every host through it.
// Names carry `tag` (this process's id, say) so that tests running at once do not meet.
class Network {
 public:
  Network(std::string name, std::string tag, std::string prefix, int hosts, int bridge_host = -1)
      : name_(std::move(name)),
        tag_(std::move(tag)),
        prefix_(std::move(prefix)),
        hosts_(hosts),
        bridge_host_(bridge_host) {}
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;
  ~Network() { down(); }

  // Makes the bridge and the hosts; the first command that fails and its output, or "".
  std::string up() {
    clear_stale();
    std::vector<std::string> cmds{"ip link add " + bridge() + " type bridge"};
    if (bridge_host_ >= 0) cmds.push_back("ip addr add " + ip(bridge_host_) + "/24 dev " + bridge());
    cmds.push_back("ip link set " + bridge() + " up");
    for (int h = 0; h < hosts_; ++h) {
      cmds.push_back("ip netns add " + ns(h));
      cmds.push_back("ip link add " + veth(h) + " type veth peer name eth0 netns " + ns(h));
      cmds.push_back("ip link set " + veth(h) + " master " + bridge() + " up");
      cmds.push_back("ip -n " + ns(h) + " addr add " + ip(h) + "/24 dev eth0");
      cmds.push_back("ip -n " + ns(h) + " link set eth0 up");
      cmds.push_back("ip -n " + ns(h) + " link set lo up");
    }
    made_ = true;
    for (const std::string& cmd : cmds) {
      const Outcome o = sh(cmd);
      if (o.status != 0) return cmd + ": " + o.output;
    }
    return "";
  }
  void down() {
    if (!made_) return;
    made_ = false;
    for (int h = 0; h < hosts_; ++h) {
      sh("ip netns del " + ns(h));
      sh("ip link del " + veth(h));
    }
    sh("ip link del " + bridge());
  }

  // Removes what runs of the same network left when they were killed before they could (a bridge
  // named NAME<pid> whose process is gone): its hosts' namespaces, the processes still running in
  // them, and the bridge. Those share this network's addresses and would answer in its place.
  void clear_stale() const {
    sh("for br in $(ip -o link show type bridge | awk -F': ' '{print $2}' | grep -E '^" + name_ +
       "[0-9]+$'); do [ -d /proc/${br#" + name_ + "} ] && continue; " +
       "for n in $(ip netns list | awk '{print $1}' | grep \"^gwang-$br-h\"); do "
       "ip netns pids $n | xargs -r kill -9; ip netns del $n; done; ip link del $br; done");
  }

  std::string bridge() const { return name_ + tag_; }
  std::string ns(int h) const { return "gwang-" + name_ + tag_ + "-h" + std::to_string(h); }
  // The host's end of the link, on the bridge: set it down to cut the host off.
  std::string veth(int h) const { return name_ + tag_ + "h" + std::to_string(h); }
  std::string ip(int h) const { return prefix_ + "." + std::to_string(h + 1); }

 private:
  std::string name_, tag_, prefix_;
  int hosts_;
  int bridge_host_;
  bool made_ = false;
};

// Starts `binary ROLE --config CONFIG` in network namespace `ns`, its output appended to `log`.
inline pid_t spawn_in(const std::string& ns, const std::string& binary, const std::string& role,
                      const std::string& config, const std::string& log) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (!std::freopen(log.c_str(), "a", stdout) || !std::freopen(log.c_str(), "a", stderr)) ::_exit(3);
    ::execlp("ip", "ip", "netns", "exec", ns.c_str(), binary.c_str(), role.c_str(), "--config", config.c_str(),
             static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Whether the end-to-end tests speak HTTPS to their controllers: they do, unless GWANG_TEST_TLS=0
// runs the whole suite over plain HTTP (`GWANG_TEST_TLS=0 ctest -L e2e`; docs/security.md).
inline bool tls_on() {
  const char* v = std::getenv("GWANG_TEST_TLS");
  return !v || std::string(v) != "0";
}

// A controller's certificate for `names` (host names, addresses), made for a test: dir/cert.pem
// (which its clients trust, as ca) and dir/key.pem (its owner's alone). "" or why not.
inline std::string make_certificate(const std::filesystem::path& dir, const std::vector<std::string>& names) {
  auto pair = gwang::net::make_self_signed(names, 2, static_cast<std::int64_t>(std::time(nullptr)));
  if (!pair) return pair.error().message;
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "cert.pem") << pair->certificate_pem;
  std::ofstream(dir / "key.pem") << pair->key_pem;
  std::filesystem::permissions(dir / "key.pem", std::filesystem::perms::owner_read);
  return "";
}

}  // namespace gwang::testing
