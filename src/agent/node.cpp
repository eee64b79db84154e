#include "agent/node.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/mempolicy.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cctype>
#include <charconv>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "agent/account.h"
#include "agent/cpufreq.h"
#include "agent/gpufreq.h"
#include "api/rlimits.h"
#include "core/cpus.h"
#include "slurm/membind.h"

namespace gwang::agent {

namespace fs = std::filesystem;

std::string task_id(std::int64_t job, int attempt, int rank) {
  return std::to_string(job) + "." + std::to_string(attempt) + "." + std::to_string(rank);
}

std::string step_task_id(std::int64_t job, int attempt, int step, int rank) {
  return std::to_string(job) + "." + std::to_string(attempt) + ".s" + std::to_string(step) + "." + std::to_string(rank);
}

std::optional<TaskRef> parse_task_id(const std::string& task) {
  TaskRef t;
  const char* p = task.data();
  const char* end = p + task.size();
  auto r = std::from_chars(p, end, t.job);
  if (r.ec != std::errc() || r.ptr == end || *r.ptr != '.') return std::nullopt;
  r = std::from_chars(r.ptr + 1, end, t.attempt);
  if (r.ec != std::errc() || r.ptr == end || *r.ptr != '.') return std::nullopt;
  p = r.ptr + 1;
  if (p != end && *p == 's') {
    r = std::from_chars(p + 1, end, t.step);
    if (r.ec != std::errc() || r.ptr == end || *r.ptr != '.' || t.step < 0) return std::nullopt;
    p = r.ptr + 1;
  }
  r = std::from_chars(p, end, t.rank);
  if (r.ec != std::errc() || r.ptr != end || t.job <= 0 || t.attempt < 0 || t.rank < 0) return std::nullopt;
  return t;
}

std::string log_name(const std::string& task, bool stderr_stream) {
  const std::size_t dot = task.find('.');
  assert(dot != std::string::npos && "log_name of a malformed task id");
  return task.substr(0, dot) + "/" + task.substr(dot + 1) + (stderr_stream ? ".stderr" : ".stdout");
}

std::string script_path(const std::string& log_dir, const std::string& task) {
  return (fs::path(log_dir) / "scripts" / task / "script").string();
}

namespace {

// Writes a batch script where script_path says, in a directory only its user may enter.
Result<void> write_script(const std::string& path, const std::string& text, uid_t uid, gid_t gid) {
  const fs::path dir = fs::path(path).parent_path();
  std::error_code ec;
  fs::create_directories(dir.parent_path(), ec);
  fs::permissions(dir.parent_path(), fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec, ec);
  fs::remove_all(dir, ec);  // what an earlier agent may have left under the same task id
  if (::mkdir(dir.c_str(), 0700) != 0) return fail("cannot create " + dir.string() + ": " + std::strerror(errno));
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0700);
  if (fd < 0) return fail("cannot write the batch script " + path + ": " + std::strerror(errno));
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int e = errno;
      ::close(fd);
      return fail("cannot write the batch script " + path + ": " + std::strerror(e));
    }
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  // Given to the user last: the agent (root) has written everything before the user owns it.
  if ((::chown(path.c_str(), uid, gid) != 0 || ::chown(dir.c_str(), uid, gid) != 0) && errno != EPERM) {
    return fail("cannot give " + dir.string() + " to uid " + std::to_string(uid) + ": " + std::strerror(errno));
  }
  return {};
}

struct Entry {
  std::string task;
  pid_t pid = -1;
  long long started = -1;
  std::string group;
  int signalled = -1;
};

// The state file is a record of changes, appended to: "+ TASK PID START GROUP" when a task
// starts, "s TASK SERIAL" when it is sent a signal, "- TASK" once its end is acknowledged. A line
// cut short by a crash is ignored (the change it carried was not complete); a line without a sign
// is a whole entry (a compacted file: "TASK PID START GROUP [SERIAL]").
std::vector<Entry> read_entries(const std::string& state_dir) {
  std::vector<Entry> out;
  std::ifstream in(state_dir + "/tasks");
  for (std::string line; std::getline(in, line);) {
    if (in.eof()) break;  // no newline: cut short
    std::istringstream fields(line);
    std::string first;
    fields >> first;
    if (first == "-") {
      std::string task;
      if (fields >> task) std::erase_if(out, [&](const Entry& e) { return e.task == task; });
      continue;
    }
    if (first == "s") {
      std::string task;
      int serial = -1;
      if (fields >> task >> serial) {
        for (Entry& e : out) {
          if (e.task == task) e.signalled = std::max(e.signalled, serial);
        }
      }
      continue;
    }
    Entry e;
    long long pid = 0;
    if (first == "+") {
      fields >> e.task;
    } else {
      e.task = first;
    }
    if (!(fields >> pid >> e.started >> e.group)) continue;
    if (!(fields >> e.signalled)) e.signalled = -1;
    e.pid = static_cast<pid_t>(pid);
    std::erase_if(out, [&](const Entry& x) { return x.task == e.task; });
    out.push_back(e);
  }
  return out;
}

}  // namespace

void forget_recorded(const std::string& state_dir) {
  if (state_dir.empty()) return;
  std::error_code ec;
  std::filesystem::remove(state_dir + "/tasks", ec);
  std::filesystem::remove_all(state_dir + "/status", ec);
}

void NodeAgent::save() {
  if (options_.state_dir.empty()) return;
  const std::string path = options_.state_dir + "/tasks";
  {
    std::ofstream out(path + ".new", std::ios::trunc);
    for (const auto& [id, r] : tasks_) {
      out << id << ' ' << r.task->pid() << ' ' << r.started << ' ' << r.group << ' ' << r.signalled << '\n';
    }
    for (const auto& [id, d] : done_) out << id << ' ' << d.pid << ' ' << d.started << ' ' << d.group << '\n';
  }
  std::error_code ec;
  std::filesystem::rename(path + ".new", path, ec);
  if (state_fd_ >= 0) ::close(state_fd_);
  state_fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  appended_ = 0;
}

void NodeAgent::append(const std::string& line) {
  if (options_.state_dir.empty()) return;
  // Rewritten whole once the record has grown well past what it describes.
  if (state_fd_ < 0 || appended_ > 1000 + 4 * (tasks_.size() + done_.size())) return save();
  if (::write(state_fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) return save();
  ++appended_;
}

std::vector<std::string> NodeAgent::adopt_recorded() {
  std::vector<std::string> out;
  if (options_.state_dir.empty()) return out;
  for (const Entry& e : read_entries(options_.state_dir)) {
    auto task = Task::adopt(e.group, e.pid, e.started, options_.state_dir + "/status/" + e.task, tracking_);
    if (!task) {
      failed_to_start_.push_back({e.task, TaskStatus{TaskEnd::Signaled, 0, SIGKILL},
                                  "lost when its agent restarted: " + task.error().message, false});
    } else {
      tasks_[e.task] = Running{std::move(*task), "", false, e.group, e.started, e.signalled};
    }
    seen_.insert(e.task);
    out.push_back(e.task);
  }
  save();
  return out;
}

void NodeAgent::acknowledge(const std::string& task) {
  if (done_.erase(task) == 0) return;
  std::error_code ec;
  fs::remove_all(fs::path(script_path(options_.log_dir, task)).parent_path(), ec);
  if (!options_.state_dir.empty()) std::filesystem::remove(options_.state_dir + "/status/" + task, ec);
  append("- " + task + "\n");
}

NodeAgent::NodeAgent(NodeAgentOptions options) : options_(std::move(options)) {
  tracking_ = Tracking::detect(options_.tracking);
  if (!options_.state_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(options_.state_dir + "/status", ec);
  }
}

NodeAgent::~NodeAgent() {
  tasks_.clear();  // a task's destructor ends what is left of it
  if (state_fd_ >= 0) ::close(state_fd_);
}

namespace {

// Sets `key` in a task's environment, in place of any value it had.
void set_env(TaskSpec& spec, const std::string& key, std::string value) {
  std::erase_if(spec.env, [&](const auto& e) { return e.first == key; });
  spec.env.emplace_back(key, std::move(value));
}

// A batch script that starts from its user's login environment: its user's login shell runs it,
// after its profile and then the job's own variables (which win, as in Slurm: what sbatch sent
// overrides what the login sets) are set. The node's defaults (PATH, HOME, ...) are the profile's
// to change.
void login_environment(const Launch& l, const Account& owner, TaskSpec& spec) {
  std::string shell = owner.shell;
  const std::string base = std::filesystem::path(shell).filename().string();
  if (shell.empty() || base == "nologin" || base == "false" || ::access(shell.c_str(), X_OK) != 0) shell = "/bin/sh";
  auto from_job = [&](const std::string& key) {
    if (key == spec.pid_variable) return false;  // the task's own, set as it starts
    for (const auto& [k, v] : l.env) {
      if (k == key) return true;
    }
    return key.starts_with("SLURM_") || key == "GWANG_URL" || key == "GWANG_CA" || key == "CUDA_VISIBLE_DEVICES" ||
           key == "GWANG_DEVICES";
  };
  std::string keep;
  for (const auto& [k, v] : spec.env) {
    const bool name_ok = !k.empty() && !std::isdigit(static_cast<unsigned char>(k[0])) &&
                         std::all_of(k.begin(), k.end(),
                                     [](char ch) { return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_'; });
    if (!name_ok || !from_job(k)) continue;
    std::string quoted;
    for (char ch : v) quoted += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
    keep += "export " + k + "='" + quoted + "'\n";
  }
  set_env(spec, "SHELL", shell);
  set_env(spec, "MAIL", "/var/mail/" + owner.name);
  set_env(spec, "GWANG_JOB_ENV", keep);
  spec.argv.insert(spec.argv.begin(),
                   {shell, "-l", "-c",
                    // The script runs a level below the login shell, as it would from the environment
                    // Slurm takes from one (a shell's exec gives its level back first).
                    "eval \"$GWANG_JOB_ENV\"; unset GWANG_JOB_ENV; export SHLVL=$((${SHLVL:-0} + 1)); "
                    "exec \"$0\" \"$@\""});
}

// What the node itself tells a task, as Slurm's slurmd does: its owner's ids, its own process id,
// and the file mode mask srun or sbatch asked for (SLURM_UMASK, which a batch script is not shown).
// A batch script that asks for its user's login environment (SLURM_GET_USER_ENV=1: sbatch's
// --export=NONE, --get-user-env) runs under its user's login shell, whose profile sets it.
void add_node_env(const Launch& l, const Account& owner, TaskSpec& spec) {
  auto value = [&](std::string_view key) -> const std::string* {
    for (const auto& [k, v] : spec.env) {
      if (k == key) return &v;
    }
    return nullptr;
  };
  // The resource limits from where the job was submitted: applied, and not shown to the task.
  for (const api::Rlimit& r : api::kRlimits) {
    const std::string key = api::kRlimitPrefix + std::string(r.name);
    const std::string* v = value(key);
    if (!v) continue;
    std::uint64_t n = 0;
    if (std::from_chars(v->data(), v->data() + v->size(), n).ec == std::errc())
      spec.rlimits.emplace_back(r.resource, n);
    std::erase_if(spec.env, [&](const auto& e) { return e.first == key; });
  }
  set_env(spec, "SLURM_JOB_UID", std::to_string(owner.uid));
  set_env(spec, "SLURM_JOB_GID", std::to_string(spec.gid));
  std::erase_if(spec.env, [](const auto& e) { return e.first == "GWANG_JOB_GROUP"; });
  spec.pid_variable = "SLURM_TASK_PID";
  if (const std::string* mask = value("SLURM_UMASK")) {
    if (!mask->empty() && mask->size() <= 4 && mask->find_first_not_of("01234567") == std::string::npos) {
      spec.umask = std::stoi(*mask, nullptr, 8);
    }
    if (!l.script.empty()) std::erase_if(spec.env, [](const auto& e) { return e.first == "SLURM_UMASK"; });
  }
  const std::string* user_env = value("SLURM_GET_USER_ENV");
  if (!l.script.empty() && user_env && *user_env == "1") login_environment(l, owner, spec);
}

// srun --cpu-bind=verbose: the line the task says first, as Slurm's task/affinity says it
// ("cpu-bind=MASK - n1, task  0  0 [4242]: mask 0x1 set").
void cpu_bind_note(const Launch& l, TaskSpec& spec) {
  if (!l.cpu_bind_verbose || l.cpus.empty()) return;
  std::string node = "?", local = "0";
  for (const auto& [k, v] : l.env) {
    if (k == "SLURMD_NODENAME") node = v;
    if (k == "SLURM_LOCALID") local = v;
  }
  const auto width2 = [](std::string s) { return s.size() < 2 ? std::string(2 - s.size(), ' ') + s : s; };
  spec.bind_note_head = std::string(l.cpu_bind_none ? "cpu-bind=NONE - " : "cpu-bind=MASK - ") + node + ", task " +
                        width2(std::to_string(l.rank)) + " " + width2(local) + " [";
  spec.bind_note_tail = l.cpu_bind_none ? "]: mask 0x0\n" : "]: mask " + core::format_cpu_mask(l.cpus) + " set\n";
}

// sbatch --gid: the job's group, by its name on this node, in place of its user's own; why not
// where this node has no such group.
std::optional<std::string> take_job_group(const Launch& l, TaskSpec& spec) {
  for (const auto& [k, v] : l.env) {
    if (k != "GWANG_JOB_GROUP") continue;
    group entry{}, *found = nullptr;
    std::vector<char> buf(16384);
    if (::getgrnam_r(v.c_str(), &entry, buf.data(), buf.size(), &found) != 0 || !found) {
      return "group '" + v + "' is not known on this node";
    }
    spec.gid = found->gr_gid;
  }
  return std::nullopt;
}

// The node's NUMA nodes and the CPUs of each (sysfs); empty where the kernel shows none.
std::map<int, std::vector<int>> numa_nodes() {
  std::map<int, std::vector<int>> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/sys/devices/system/node", ec)) {
    const std::string name = e.path().filename().string();
    if (!name.starts_with("node") || name.size() < 5 || name.size() > 9 ||
        name.find_first_not_of("0123456789", 4) != std::string::npos)
      continue;
    std::ifstream in(e.path() / "cpulist");
    std::string list;
    std::getline(in, list);
    auto cpus = core::parse_cpu_list(list);
    out[std::stoi(name.substr(4))] = cpus ? std::move(*cpus) : std::vector<int>{};
  }
  return out;
}

// srun --mem-bind (its SLURM_MEM_BIND_* variables): a step task's memory policy, its verbose line
// ("mem-bind=LOC - n1, task  0  0 [PID]: mask 0x1 set"), or why it cannot run. The batch shell
// is not bound, as in Slurm.
void bind_memory(const Launch& l, TaskSpec& spec) {
  const slurm::MemBind bind = slurm::mem_bind_of(l.env);
  if (l.step < 0 || bind.type.empty()) return;
  std::string node = "?", local = "0";
  for (const auto& [k, v] : l.env) {
    if (k == "SLURMD_NODENAME") node = v;
    if (k == "SLURM_LOCALID" && !v.empty() && v.size() < 6 && v.find_first_not_of("0123456789") == std::string::npos)
      local = v;
  }
  const slurm::TaskMemory m = slurm::task_memory(bind, std::stoi(local), l.cpus, numa_nodes());
  if (!m.error.empty()) {
    spec.refusal = "gwang-agent-" + node + ": error: " + m.error + "\n";
    return;
  }
  if (m.bind) {
    spec.mem_policy = bind.prefer ? MPOL_PREFERRED : MPOL_BIND;
    spec.mem_nodes = m.nodes;
  }
  if (bind.verbose) {
    const auto width2 = [](std::string s) { return s.size() < 2 ? std::string(2 - s.size(), ' ') + s : s; };
    spec.mem_note_head =
        m.note + " - " + node + ", task " + width2(std::to_string(l.rank)) + " " + width2(local) + " [";
    spec.mem_note_tail = "]: mask " + core::format_cpu_mask(m.nodes) + (m.bind ? " set\n" : "\n");
  }
}

}  // namespace

std::optional<std::string> NodeAgent::link_problem(const char* what) {
  if (options_.controller_url.empty()) return std::string(what) + ", with no controller URL to link it to";
  if (options_.controller_url.find("https://") == std::string::npos) return std::nullopt;
  if (!link_tls_) link_tls_ = net::client_context(options_.controller_ca);
  if (!*link_tls_) return std::string(what) + ": cannot verify the controller: " + link_tls_->error().message;
  return std::nullopt;
}

std::optional<std::string> NodeAgent::choose_service_port(int& port) {
  if (port < 0) return std::nullopt;
  if (auto why = link_problem("a session's service")) return why;
  if (port == 0 && (port = free_local_port()) == 0) return "a session's service: no free port on 127.0.0.1";
  return std::nullopt;
}

void NodeAgent::link(const Launch& l, Task& task, int service_port, Clock::time_point now) {
  if (task.terminal() >= 0) {
    const int linked = ::fcntl(task.terminal(), F_DUPFD_CLOEXEC, 3);
    if (linked >= 0) {
      links_[l.task] =
          std::make_unique<TerminalLink>(options_.controller_url, link_tls(), l.task, l.terminal_secret, linked);
    } else {
      task.terminate(TaskEnd::Cancelled, options_.kill_grace, now);
    }
  }
  if (service_port > 0)
    services_[l.task] =
        std::make_unique<ServiceLink>(options_.controller_url, link_tls(), l.task, l.service_secret, service_port);
}

void NodeAgent::launch(const Launch& l, Clock::time_point now) {
  if (!seen_.insert(l.task).second) return;
  auto refuse = [&](const std::string& why) {
    failed_to_start_.push_back({l.task, TaskStatus{TaskEnd::Exited, 127, 0}, why, false});
  };
  auto owner = lookup_account(l.user);
  if (!owner) return refuse(owner.error().message);
  if (owner->uid == 0 && !options_.allow_root) return refuse("jobs may not run as root on this node");

  std::string cuda, declared;
  for (const std::string& uuid : l.devices) {
    auto it = std::find_if(options_.host.devices.begin(), options_.host.devices.end(),
                           [&](const Device& d) { return d.uuid == uuid; });
    if (it == options_.host.devices.end()) return refuse("this node has no device " + uuid);
    std::string& list = it->declared ? declared : cuda;
    list += (list.empty() ? "" : ",") + (it->declared ? it->uuid : std::to_string(it->index));
  }
  TaskSpec spec;
  // Unique on the host, also across agents and controllers that share it.
  spec.name = "job-" + l.task + options_.group_suffix;
  spec.argv = l.argv;
  // A task of `srun --mpi=pmix` runs under gwang-pmix, the node's PMIx server for its step, which
  // is installed beside the agent's own program. One of `srun --bcast` first fetches its program
  // from srun, by the agent's own program (`bcast-exec`), which then runs the copy.
  const auto has = [&](const char* name) {
    return std::any_of(l.env.begin(), l.env.end(), [&](const auto& kv) { return kv.first == name; });
  };
  std::error_code self_ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", self_ec);
  if (has("GWANG_BCAST_SRUN") && l.script.empty()) {
    if (self_ec) return refuse("srun --bcast: the agent's own program: " + self_ec.message());
    spec.launcher = {self.string(), "bcast-exec", has("GWANG_PMIX_SRUN") ? "2" : "0", "--"};
    spec.find_program = false;
  }
  if (has("GWANG_PMIX_SRUN")) {
    const fs::path launcher = self.parent_path() / "gwang-pmix";
    if (self_ec || ::access(launcher.c_str(), X_OK) != 0) {
      return refuse("srun --mpi=pmix: this node has no " + launcher.string() + " (gwang built without PMIx)");
    }
    spec.launcher.insert(spec.launcher.end(), {launcher.string(), "--"});
  }
  if (!l.script.empty()) {
    const std::string path = script_path(options_.log_dir, l.task);
    if (auto w = write_script(path, l.script, owner->uid, owner->gid); !w) return refuse(w.error().message);
    spec.argv.insert(spec.argv.begin(), path);
  }
  if (spec.argv.empty()) return refuse("no program to run");
  spec.output = l.output;
  spec.output_error = l.error;
  spec.output_append = l.output_append;
  spec.input = l.input;
  if (l.terminal_rows > 0 && l.terminal_cols > 0) {
    if (auto why = link_problem("a terminal")) return refuse(*why);
    spec.terminal_rows = static_cast<unsigned short>(l.terminal_rows);
    spec.terminal_cols = static_cast<unsigned short>(l.terminal_cols);
  }
  int service_port = l.service_port;
  if (auto why = choose_service_port(service_port)) return refuse(*why);
  spec.workdir = l.workdir.empty() ? owner->home : l.workdir;
  spec.uid = owner->uid;
  spec.gid = owner->gid;
  spec.groups = owner->groups;
  if (auto unknown = take_job_group(l, spec)) return refuse(*unknown);
  const fs::path out = fs::path(options_.log_dir) / log_name(l.task, false);
  std::error_code ec;
  fs::create_directories(out.parent_path(), ec);
  spec.stdout_path = out.string();
  spec.stderr_path = (fs::path(options_.log_dir) / log_name(l.task, true)).string();
  spec.memory_limit_bytes = l.memory_limit_bytes;
  spec.cpus = l.cpus;
  cpu_bind_note(l, spec);
  if (!options_.state_dir.empty()) spec.status_path = options_.state_dir + "/status/" + l.task;
  spec.env = {
      {"PATH", "/usr/local/bin:/usr/bin:/bin"}, {"HOME", owner->home}, {"USER", owner->name}, {"LOGNAME", owner->name}};
  for (const auto& kv : l.env) {
    std::erase_if(spec.env, [&](const auto& e) { return e.first == kv.first; });
    spec.env.push_back(kv);
  }
  if (!options_.controller_url.empty()) {
    std::erase_if(spec.env, [](const auto& e) { return e.first == "GWANG_URL" || e.first == "GWANG_CA"; });
    spec.env.emplace_back("GWANG_URL", options_.controller_url);
    if (!options_.controller_ca.empty()) spec.env.emplace_back("GWANG_CA", options_.controller_ca);
  }
  add_node_env(l, *owner, spec);
  std::erase_if(spec.env, [](const auto& e) { return e.first == "GWANG_SESSION_PORT"; });
  if (service_port > 0) spec.env.emplace_back("GWANG_SESSION_PORT", std::to_string(service_port));
  bind_memory(l, spec);
  // srun --slurmd-debug: the agent says what it does with the task on the task's standard error.
  const bool debug = std::erase_if(spec.env, [](const auto& e) { return e.first == "GWANG_SLURMD_DEBUG"; }) > 0;
  // The devices are the node's to say, whatever the job's environment asked for.
  std::erase_if(spec.env,
                [](const auto& e) { return e.first == "CUDA_VISIBLE_DEVICES" || e.first == "GWANG_DEVICES"; });
  if (!cuda.empty()) spec.env.emplace_back("CUDA_VISIBLE_DEVICES", cuda);
  if (!declared.empty()) spec.env.emplace_back("GWANG_DEVICES", declared);
  // The node's other devices stay closed to it, not only unnamed in its environment.
  for (const Device& d : options_.host.devices) {
    const std::string rule = deny_rule(d);
    if (!rule.empty() && std::find(l.devices.begin(), l.devices.end(), d.uuid) == l.devices.end()) {
      spec.denied_devices.push_back(rule);
    }
  }
  // --cpu-freq, --gpu-freq: its CPUs' frequencies and GPUs' clocks, set before it starts.
  auto freq = set_frequencies(l, spec);
  auto task = Task::launch(spec, tracking_);
  if (!task) {
    if (freq) put_back(options_.sysfs, *freq);
    if (!l.script.empty()) fs::remove_all(fs::path(script_path(options_.log_dir, l.task)).parent_path(), ec);
    return refuse(task.error().message);
  }
  link(l, **task, service_port, now);
  const long long started = (*task)->started();
  const pid_t pid = (*task)->pid();
  tasks_[l.task] = Running{std::move(*task), "", false, spec.name, started};
  tasks_[l.task].freq = std::move(freq);
  if (debug) debug_started(tasks_[l.task], l, spec, pid);
  append("+ " + l.task + " " + std::to_string(pid) + " " + std::to_string(started) + " " + spec.name + "\n");
}

namespace {

void append_to(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return;
  (void)!::write(fd, text.data(), text.size());
  ::close(fd);
}

}  // namespace

struct Frequencies {
  CpuFreqSaved cpu;
  GpuFreqSet gpu;
};

std::shared_ptr<const Frequencies> NodeAgent::set_frequencies(const Launch& l, TaskSpec& spec) const {
  auto out = std::make_shared<Frequencies>();
  const auto value = [&](const char* name) -> const std::string* {
    for (const auto& [k, v] : spec.env) {
      if (k == name) return &v;
    }
    return nullptr;
  };
  if (const std::string* v = value("SLURM_CPU_FREQ_REQ")) {
    if (auto freq = slurm::parse_cpu_freq(*v)) out->cpu = apply_cpu_freq(options_.sysfs, spec.cpus, *freq);
  }
  // A step is told SLURMD_TRES_FREQ ("gpu:..."), its batch shell SLURM_GPU_FREQ.
  const std::string* tres = l.step >= 0 ? value("SLURMD_TRES_FREQ") : value("SLURM_GPU_FREQ");
  const std::string gpu = !tres ? "" : l.step >= 0 ? (tres->starts_with("gpu:") ? tres->substr(4) : "") : *tres;
  if (auto freq = slurm::parse_gpu_freq(gpu); freq && !gpu.empty() && !l.devices.empty()) {
    std::string said, failed;
    out->gpu = apply_gpu_freq(options_.nvml_library, l.devices, *freq, said, failed);
    spec.note += (freq->verbose ? said : "") + failed;
  }
  return out->cpu.cpus.empty() && out->gpu.uuids.empty() ? nullptr : out;
}

void NodeAgent::put_back(const std::string& sysfs, const Frequencies& freq) {
  restore_cpu_freq(sysfs, freq.cpu);
  reset_gpu_freq(freq.gpu);
}

void NodeAgent::debug_started(Running& r, const Launch& l, const TaskSpec& spec, pid_t pid) {
  char host[256] = "?";
  ::gethostname(host, sizeof host - 1);
  std::string node = host;
  for (const auto& [k, v] : l.env) {
    if (k == "SLURMD_NODENAME") node = v;
  }
  r.debug_note = "gwang-agent-" + node + ": task " + std::to_string(l.rank) + " (" + std::to_string(pid) + ")";
  r.debug_log = spec.stderr_path;
  char when[32] = "?";
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  if (::localtime_r(&now, &local)) std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &local);
  std::string what = r.debug_note + " started " + when + " as " + spec.argv.front() + " (uid " +
                     std::to_string(spec.uid) + ") in " + spec.workdir + "\n" + r.debug_note + ": CPUs " +
                     (spec.cpus.empty() ? std::string("all") : core::format_cpu_list(spec.cpus)) + ", memory limit " +
                     (spec.memory_limit_bytes > 0 ? std::to_string(spec.memory_limit_bytes >> 20) + " MB" : "none");
  for (const auto& [k, v] : spec.env) {
    if (k == "CUDA_VISIBLE_DEVICES" || k == "GWANG_DEVICES") what += ", " + k + "=" + v;
  }
  append_to(r.debug_log, what + "\n");
}

void NodeAgent::debug_ended(const Running& r, const TaskStatus& status) {
  std::string how;
  switch (status.end) {
    case TaskEnd::Exited:
      how = "exited with exit code " + std::to_string(status.exit_code);
      break;
    case TaskEnd::Signaled:
      how = "exited. Killed by signal " + std::to_string(status.signal);
      break;
    case TaskEnd::TimedOut:
      how = "ended at its time limit";
      break;
    case TaskEnd::Cancelled:
      how = "ended: cancelled";
      break;
    case TaskEnd::OutOfMemory:
      how = "ended at its memory limit";
      break;
  }
  append_to(r.debug_log, r.debug_note + " " + how + ".\n");
}

void NodeAgent::terminate(const std::string& task, TaskEnd why, Clock::time_point now, const std::string& message) {
  auto it = tasks_.find(task);
  if (it == tasks_.end()) return;
  if (it->second.message.empty()) it->second.message = message;
  it->second.task->terminate(why, options_.kill_grace, now);
}

void NodeAgent::signal(const std::string& task, int serial, int number, bool main_only) {
  auto it = tasks_.find(task);
  if (it == tasks_.end() || serial <= it->second.signalled) return;
  it->second.signalled = serial;
  it->second.task->signal(number, main_only);
  append("s " + task + " " + std::to_string(serial) + "\n");
}

std::map<std::string, int> NodeAgent::signalled() const {
  std::map<std::string, int> out;
  for (const auto& [id, r] : tasks_) {
    if (r.signalled >= 0) out[id] = r.signalled;
  }
  return out;
}

void NodeAgent::terminate_all(TaskEnd why, Clock::time_point now, const std::string& message, bool fenced) {
  for (auto& [id, r] : tasks_) {
    if (r.message.empty()) r.message = message;
    r.fenced = r.fenced || fenced;
    r.task->terminate(why, options_.kill_grace, now);
  }
}

std::vector<Finished> NodeAgent::poll(Clock::time_point now) {
  std::vector<Finished> out = std::move(failed_to_start_);
  failed_to_start_.clear();
  std::erase_if(unremoved_, [](const std::unique_ptr<Task>& t) { return t->cleaned(); });
  // A terminal whose link failed (the controller's end went, or never came): the task is ended,
  // as one whose line hung up, rather than left writing to no one. A link that ended with the
  // task's terminal (the task ended) leaves the task's end as it was.
  for (auto it = links_.begin(); it != links_.end();) {
    if (!it->second->done()) {
      ++it;
      continue;
    }
    const std::string why = it->second->failure();
    if (auto t = tasks_.find(it->first); t != tasks_.end() && !why.empty()) {
      if (t->second.message.empty()) t->second.message = why;
      t->second.task->terminate(TaskEnd::Cancelled, options_.kill_grace, now);
    }
    it = links_.erase(it);
  }
  for (auto it = tasks_.begin(); it != tasks_.end();) {
    if (auto status = it->second.task->poll(now)) {
      if (!it->second.debug_note.empty()) debug_ended(it->second, *status);
      if (it->second.freq) put_back(options_.sysfs, *it->second.freq);
      const std::string& failure = it->second.task->failure();
      out.push_back({it->first, *status, failure.empty() ? it->second.message : failure, it->second.fenced});
      done_[it->first] = Done{it->second.task->pid(), it->second.started, it->second.group};
      services_.erase(it->first);  // its service's link closes with it
      if (!it->second.task->cleaned()) unremoved_.push_back(std::move(it->second.task));
      it = tasks_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

std::vector<std::string> NodeAgent::running() const {
  std::vector<std::string> out;
  out.reserve(tasks_.size());
  for (const auto& [id, r] : tasks_) out.push_back(id);
  return out;
}

}  // namespace gwang::agent
