#include "agent/tracker.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "agent/decimal.h"

namespace gwang::agent {

namespace {

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

bool make_dir(const std::string& path) { return ::mkdir(path.c_str(), 0755) == 0 || errno == EEXIST; }

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Writes `text` to the file at `path`, keeping the errno of a failed write: async-signal-safe (no
// allocation), so that a forked child may call it too.
bool write_file(const std::string& path, const std::string& text) noexcept {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const int e = errno;
  ::close(fd);
  errno = e;
  return ok;
}

// The processes of session `sid` (from /proc: the fields after the command's closing parenthesis
// are state, ppid, pgrp, session), other than this one.
std::vector<pid_t> session_members(pid_t sid) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "stat");
    std::string stat;
    if (!std::getline(in, stat)) continue;  // gone meanwhile
    const auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(stat.substr(close + 1));
    std::string state;
    long ppid = 0, pgrp = 0, session = 0;
    if (!(fields >> state >> ppid >> pgrp >> session) || session != sid) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(name));
    if (pid != ::getpid()) out.push_back(pid);
  }
  return out;
}

std::vector<pid_t> read_pids(const std::string& procs) {
  std::vector<pid_t> pids;
  std::istringstream in(read_file(procs));
  for (long pid; in >> pid;) pids.push_back(static_cast<pid_t>(pid));
  return pids;
}

// This process's cgroup path in the hierarchy whose line in /proc/self/cgroup matches `controller`
// ("" for the v2 line "0::/path").
std::string own_cgroup(const std::string& controller) {
  std::istringstream in(read_file("/proc/self/cgroup"));
  for (std::string line; std::getline(in, line);) {
    const auto a = line.find(':');
    const auto b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, b - a - 1);
    bool match = controller.empty() ? controllers.empty() : false;
    std::istringstream list(controllers);
    for (std::string c; !controller.empty() && std::getline(list, c, ',');) match = match || c == controller;
    if (match) return line.substr(b + 1);
  }
  return "";
}

// A root is usable when a group can be made and removed under it; `file` tells whether such a
// group has that control file.
bool usable_root(const std::string& root, const char* file = "cgroup.procs", bool* has_file = nullptr) {
  if (root.empty() || !make_dir(root)) return false;
  const std::string probe = root + "/probe-" + std::to_string(::getpid());
  if (!make_dir(probe)) return false;
  const bool ok = exists(probe + "/cgroup.procs");
  if (has_file) *has_file = exists(probe + "/" + file);
  ::rmdir(probe.c_str());
  return ok;
}

long read_counter(const std::string& path, const std::string& key) {
  std::istringstream in(read_file(path));
  for (std::string k; in >> k;) {
    long v = 0;
    if (!(in >> v)) break;
    if (k == key) return v;
  }
  return 0;
}

// Writes the decimal pid of the calling process to `fd`: async-signal-safe.
bool write_own_pid(int fd) noexcept {
  char buf[20];
  const int n = format_decimal(::getpid(), buf);
  return ::write(fd, buf, static_cast<size_t>(n)) == n;
}

class GroupTracker final : public ProcessTracker {
 public:
  GroupTracker(std::string v2_dir, std::string v1_dir, std::string devices_dir, long long memory_limit_bytes,
               bool v2_memory, const std::vector<std::string>& denied, bool v2_cpuset, const std::vector<int>& cpus)
      : v2_dir_(std::move(v2_dir)), v1_dir_(std::move(v1_dir)), devices_dir_(std::move(devices_dir)) {
    // Everything the child needs is prepared here: after the fork, only system calls.
    const std::string limit = memory_limit_bytes > 0 ? std::to_string(memory_limit_bytes) : "";
    if (!v2_dir_.empty()) {
      steps_.push_back({v2_dir_, v2_memory && !limit.empty() ? v2_dir_ + "/memory.max" : "", "", false});
      if (v2_cpuset && !cpus.empty()) {
        steps_.back().cpuset = v2_dir_ + "/cpuset.cpus";
        for (const int id : cpus) cpus_ += (cpus_.empty() ? "" : ",") + std::to_string(id);
      }
    }
    if (!v1_dir_.empty()) {
      steps_.push_back({v1_dir_, limit.empty() ? "" : v1_dir_ + "/memory.limit_in_bytes",
                        limit.empty() ? "" : v1_dir_ + "/memory.memsw.limit_in_bytes", true});
    }
    // The devices group only where there is something to deny (and for an existing group, to end it).
    if (!devices_dir_.empty() && !denied.empty()) {
      Step step{devices_dir_, "", "", false, ""};
      step.deny = denied;
      step.deny_file = devices_dir_ + "/devices.deny";
      steps_.push_back(step);
    }
    for (Step& step : steps_) step.procs = step.dir + "/cgroup.procs";
    limit_ = limit;
  }

  JoinFailure join_from_child() noexcept override {
    for (const Step& step : steps_) {
      if (::mkdir(step.dir.c_str(), 0755) != 0 && errno != EEXIST) return kCreateFailed;
      if (!step.limit.empty()) {
        // v1 must take the limit; v2's memory.max is set where the controller is enabled.
        if (!write_file(step.limit, limit_) && step.limit_required) return kLimitFailed;
        // Without swap accounting set too, a task could spill past its limit into swap (the file
        // exists only where swap accounting is on).
        if (!step.swap_limit.empty()) (void)write_file(step.swap_limit, limit_);
      }
      for (const std::string& rule : step.deny) {
        if (!write_file(step.deny_file, rule)) return kDevicesFailed;
      }
      if (!step.cpuset.empty() && !write_file(step.cpuset, cpus_)) return kCpusFailed;
      const int fd = ::open(step.procs.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0) return kMoveFailed;
      const bool moved = write_own_pid(fd);
      const int e = errno;
      ::close(fd);
      errno = e;
      if (!moved) return kMoveFailed;
    }
    return kJoined;
  }

  void started(pid_t leader) override { leader_ = leader; }

  int signal_all(int sig) override {
    const std::string& dir = !v2_dir_.empty() ? v2_dir_ : v1_dir_;
    if (dir.empty()) {
      // Process group only: the leader's group, and the processes of the session it leads that
      // left the group (a shell's jobs, on a terminal, each have a group of their own).
      if (leader_ <= 0) return 0;
      int n = ::killpg(leader_, sig) == 0 ? 1 : 0;
      for (const pid_t pid : session_members(leader_)) {
        if (::getpgid(pid) != leader_) n += ::kill(pid, sig) == 0 ? 1 : 0;
      }
      return n;
    }
    const std::vector<pid_t> pids = read_pids(dir + "/cgroup.procs");
    if (pids.empty()) return 0;
    if (sig == SIGKILL && !v2_dir_.empty() && write_file(v2_dir_ + "/cgroup.kill", "1")) {
      return static_cast<int>(pids.size());
    }
    int n = 0;
    for (pid_t pid : pids) n += ::kill(pid, sig) == 0 ? 1 : 0;
    // Also the leader's group, for processes that a host without tracking would miss, when the
    // task is being ended; any other signal (a user's SIGUSR1) reaches each process once.
    if (leader_ > 0 && (sig == SIGTERM || sig == SIGKILL)) ::killpg(leader_, sig);
    return n;
  }

  bool empty() override {
    const std::string& dir = !v2_dir_.empty() ? v2_dir_ : v1_dir_;
    if (!dir.empty()) return read_pids(dir + "/cgroup.procs").empty();
    if (leader_ <= 0) return true;
    if (::kill(-leader_, 0) == 0 || errno != ESRCH) return false;
    return session_members(leader_).empty();  // the group has gone: what is left of its session
  }

  long oom_kills() override {
    if (!v1_dir_.empty()) return read_counter(v1_dir_ + "/memory.oom_control", "oom_kill");
    if (!v2_dir_.empty() && exists(v2_dir_ + "/memory.events")) {
      return read_counter(v2_dir_ + "/memory.events", "oom_kill");
    }
    return 0;
  }

  bool remove() override {
    bool done = true;
    for (std::string* dir : {&v2_dir_, &v1_dir_, &devices_dir_}) {
      if (dir->empty()) continue;
      if (::rmdir(dir->c_str()) == 0 || errno == ENOENT) {
        dir->clear();
      } else if (errno == EBUSY) {
        done = false;  // not empty yet in the kernel's eyes: later
      } else {
        dir->clear();  // cannot be removed at all (permissions): nothing to wait for
      }
    }
    return done;
  }

 private:
  struct Step {
    std::string dir, limit, swap_limit;
    bool limit_required = false;
    std::string procs;
    std::vector<std::string> deny;  // devices.deny rules, written one by one
    std::string deny_file;
    std::string cpuset;  // cpuset.cpus, where the task's CPUs are written
  };

  std::string v2_dir_, v1_dir_, devices_dir_;
  std::vector<Step> steps_;
  std::string limit_;
  std::string cpus_;  // the task's CPUs, "0,1,8"
  pid_t leader_ = -1;
};

}  // namespace

Tracking Tracking::detect(const TrackingOptions& options) {
  Tracking t;
  if (!options.allow_cgroups) return t;
  std::string v2 = options.cgroup_v2_root;
  if (v2.empty()) {
    const std::string base = exists("/sys/fs/cgroup/cgroup.controllers") ? "/sys/fs/cgroup" : "/sys/fs/cgroup/unified";
    if (exists(base + "/cgroup.procs")) v2 = base + own_cgroup("") + "/gwang";
  }
  if (usable_root(v2, "memory.max", &t.v2_memory_)) {
    t.v2_root_ = v2;
    (void)usable_root(v2, "cpuset.cpus", &t.v2_cpuset_);
  }
  std::string v1 = options.cgroup_v1_memory_root;
  if (v1.empty() && exists("/sys/fs/cgroup/memory/memory.limit_in_bytes")) {
    v1 = "/sys/fs/cgroup/memory" + own_cgroup("memory") + "/gwang";
  }
  if (usable_root(v1) && exists(v1 + "/memory.limit_in_bytes")) t.v1_memory_root_ = v1;
  std::string devices = options.cgroup_v1_devices_root;
  if (devices.empty() && exists("/sys/fs/cgroup/devices/devices.deny")) {
    devices = "/sys/fs/cgroup/devices" + own_cgroup("devices") + "/gwang";
  }
  if (usable_root(devices) && exists(devices + "/devices.deny")) t.v1_devices_root_ = devices;
  return t;
}

std::unique_ptr<ProcessTracker> Tracking::create(const std::string& name, long long memory_limit_bytes,
                                                 const std::vector<std::string>& denied_devices,
                                                 const std::vector<int>& cpus) const {
  return std::make_unique<GroupTracker>(v2_root_.empty() ? "" : v2_root_ + "/" + name,
                                        v1_memory_root_.empty() ? "" : v1_memory_root_ + "/" + name,
                                        v1_devices_root_.empty() ? "" : v1_devices_root_ + "/" + name,
                                        memory_limit_bytes, v2_memory_, denied_devices, v2_cpuset_, cpus);
}

int Tracking::end_groups(const std::string& suffix) const {
  int groups = 0;
  std::vector<std::string> names;
  for (const std::string* root : {&v2_root_, &v1_memory_root_, &v1_devices_root_}) {
    if (root->empty()) continue;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(*root, ec)) {
      const std::string name = entry.path().filename().string();
      if (entry.is_directory() && name.size() > suffix.size() &&
          name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0 &&
          std::find(names.begin(), names.end(), name) == names.end()) {
        names.push_back(name);
      }
    }
  }
  for (const std::string& name : names) {
    auto tracker = create(name, 0);
    ++groups;
    for (int i = 0; i < 200 && !tracker->empty(); ++i) {
      tracker->signal_all(SIGKILL);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    tracker->remove_waiting();
  }
  return groups;
}

bool ProcessTracker::remove_waiting() {
  for (int i = 0; i < 100; ++i) {
    if (remove()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

std::string Tracking::describe() const {
  std::string out;
  if (!v2_root_.empty()) {
    out += "cgroup v2 (" + v2_root_ + (v2_memory_ ? ", memory limits" : "") + (v2_cpuset_ ? ", cpusets" : "") + ")";
  }
  if (!v1_memory_root_.empty())
    out += std::string(out.empty() ? "" : " + ") + "cgroup v1 memory (" + v1_memory_root_ + ")";
  if (!v1_devices_root_.empty())
    out += std::string(out.empty() ? "" : " + ") + "cgroup v1 devices (" + v1_devices_root_ + ")";
  if (out.empty()) out = "process groups (no cgroup: children that leave the task's session escape)";
  return out;
}

}  // namespace gwang::agent
