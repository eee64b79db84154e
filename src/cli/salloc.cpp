// salloc, as Slurm 22.05's man page describes it, on gwang's API: an allocation, its command run
// here (by default the user's shell) with the job's SLURM_* variables, in the foreground of this
// terminal, and the allocation relinquished with the command's exit code when it ends. srun
// inside it runs steps on the allocation's nodes.
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "cli/allocation.h"
#include "cli/commands.h"
#include "cli/sbatch_job.h"
#include "slurm/sbatch.h"
#include "slurm/signals.h"

extern char** environ;

namespace gwang::cli {

namespace {

// salloc's own options, which sbatch's reader does not know: --no-shell, --bell, --no-bell,
// -K/--kill-command[=SIGNAL], -I/--immediate[=SECONDS]; and the program and its arguments.
struct SallocOwn {
  bool no_shell = false;
  std::optional<std::string> kill_command;  // "" given without a signal
  std::optional<std::string> immediate;     // "" given without seconds
  std::vector<std::string> options;         // the rest of the options, for sbatch's reader
  std::vector<std::string> command;
};

bool own_option(const std::string& a, SallocOwn& own) {
  if (a == "--no-shell") return own.no_shell = true;
  if (a == "--bell" || a == "--no-bell") return true;  // a terminal bell: nothing to ring here
  for (const auto& [long_name, letter, out] :
       {std::tuple{"--kill-command", "-K", &own.kill_command}, std::tuple{"--immediate", "-I", &own.immediate}}) {
    const std::string l = long_name;
    if (a == l || a == letter) return *out = "", true;
    if (a.starts_with(l + "=")) return *out = a.substr(l.size() + 1), true;
    if (a.starts_with(letter) && a.size() > 2) return *out = a.substr(2), true;
  }
  return false;
}

// The arguments split into salloc's own options, the others, and the command: sbatch's reader
// says where the options end; salloc's own are taken out of the options before that.
Result<SallocOwn> split_arguments(const std::vector<std::string>& args, const slurm::Reader& reader,
                                  slurm::SbatchOptions& given) {
  SallocOwn own, kept;
  std::vector<std::size_t> from;  // of each argument kept, its place among `args`
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (own_option(args[i], kept)) continue;
    own.options.push_back(args[i]);
    from.push_back(i);
  }
  auto line = slurm::parse_command_line(own.options, reader);
  if (!line) return tl::unexpected(line.error());
  const std::size_t first = line->rest.empty() ? args.size() : from[own.options.size() - line->rest.size()];
  // Those of salloc's own that came before the command are salloc's; the command is the rest.
  SallocOwn out;
  std::vector<std::string> options(args.begin(), args.begin() + static_cast<std::ptrdiff_t>(first));
  for (const std::string& a : options) {
    if (!own_option(a, out)) out.options.push_back(a);
  }
  out.command.assign(args.begin() + static_cast<std::ptrdiff_t>(first), args.end());
  if (!out.command.empty() && out.command.front() == "--") out.command.erase(out.command.begin());
  auto again = slurm::parse_command_line(out.options, reader);
  if (!again) return tl::unexpected(again.error());
  given = again->options;
  return out;
}

// SALLOC_* read as sbatch reads SBATCH_* (salloc(1), INPUT ENVIRONMENT VARIABLES).
std::map<std::string, std::string> salloc_variables(const std::vector<std::pair<std::string, std::string>>& env) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : env) {
    if (k.starts_with("SALLOC_")) out["SBATCH_" + k.substr(7)] = v;
  }
  return out;
}

// sbatch's options that salloc does not have: refused as salloc refuses an unknown option.
std::optional<std::string> not_salloc(const slurm::SbatchOptions& o) {
  const std::pair<bool, const char*> kNot[] = {
      {o.wrap.has_value(), "--wrap"},          {o.output.has_value(), "--output"},
      {o.error.has_value(), "--error"},        {o.input.has_value(), "--input"},
      {o.array.has_value(), "--array"},        {o.parsable.has_value(), "--parsable"},
      {o.wait.has_value(), "--wait"},          {o.open_mode.has_value(), "--open-mode"},
      {o.export_env.has_value(), "--export"},  {o.export_file.has_value(), "--export-file"},
      {o.requeue.has_value(), "--requeue"},    {o.batch_features.has_value(), "--batch"},
      {o.test_only.has_value(), "--test-only"}};
  for (const auto& [given, name] : kNot) {
    if (given) return std::string(name);
  }
  return std::nullopt;
}

int salloc_error(const std::string& message) {
  std::fprintf(stderr, "salloc: error: %s\n", message.c_str());
  return 1;
}

// The command salloc runs where none is given: the user's login shell, as Slurm's.
std::vector<std::string> default_command() {
  const passwd* pw = ::getpwuid(::getuid());
  return {pw && pw->pw_shell && *pw->pw_shell ? pw->pw_shell : "/bin/sh"};
}

volatile sig_atomic_t g_hangup = 0;
void on_hangup(int) { g_hangup = 1; }

// The command salloc runs, and what the allocation's end may do to it (another thread).
class Command {
 public:
  // `argv[0]` found on PATH as execvp would (a name with a '/' as it is); "" where it is not.
  static std::string resolve(const std::string& name) {
    if (name.find('/') != std::string::npos) return name;
    const char* path = std::getenv("PATH");
    std::string dirs = path ? path : "/usr/bin:/bin";
    for (std::size_t from = 0; from <= dirs.size();) {
      const std::size_t colon = std::min(dirs.find(':', from), dirs.size());
      std::string dir = dirs.substr(from, colon - from);
      const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
      from = colon + 1;
    }
    return "";
  }

  // Runs it with the allocation's variables, in `dir` where given, in a process group of its own,
  // in the terminal's foreground where salloc has it (`interactive`); its wait status. Everything
  // the child needs is made before the fork: a thread asks after the allocation meanwhile, and
  // after a fork only async-signal-safe calls are safe.
  int run(const std::vector<std::string>& command, const HeldAllocation::Env& env, const std::string& dir,
          bool interactive) {
    const std::string path = resolve(command.front());
    if (path.empty()) {
      std::fprintf(stderr, "salloc: error: _fork_command: Unable to find command \"%s\"\n", command.front().c_str());
      return 1 << 8;
    }
    std::vector<std::string> vars;
    for (char** e = environ; e && *e; ++e) {
      const std::string kv = *e;
      const std::string name = kv.substr(0, kv.find('='));
      if (std::none_of(env.begin(), env.end(), [&](const auto& p) { return p.first == name; })) vars.push_back(kv);
    }
    for (const auto& [k, v] : env) vars.push_back(k + "=" + v);
    std::vector<char*> argv, envp;
    for (const std::string& a : command) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (std::string& v : vars) envp.push_back(v.data());
    envp.push_back(nullptr);
    const std::string failed = "salloc: error: _fork_command: Unable to exec command \"" + path + "\"\n";
    const std::string no_dir = "salloc: error: chdir(" + dir + ") failed\n";
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    std::unique_lock lock(mu_);
    const pid_t pid = ::fork();
    if (pid < 0) return salloc_error(std::string("fork failed: ") + std::strerror(errno)), 1 << 8;
    if (pid == 0) {
      ::setpgid(0, 0);
      // The terminal's foreground is its own before it reads it (SIGTTOU is still ignored here).
      if (interactive) ::tcsetpgrp(STDIN_FILENO, ::getpid());
      for (int sig : {SIGINT, SIGQUIT, SIGTTIN, SIGTTOU, SIGHUP, SIGTERM, SIGTSTP}) ::sigaction(sig, &dfl, nullptr);
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      const bool moved = dir.empty() || ::chdir(dir.c_str()) == 0;
      if (moved) ::execve(path.c_str(), argv.data(), envp.data());
      const std::string& why = moved ? failed : no_dir;
      [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, why.data(), why.size());
      ::_exit(1);
    }
    ::setpgid(pid, pid);
    child_ = pid;
    lock.unlock();
    if (interactive) ::tcsetpgrp(STDIN_FILENO, pid);
    int status = 0;
    siginfo_t info{};
    for (;;) {
      // Waited for without being reaped, so that the pid stays its own until it is marked gone.
      const int r = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT);
      if (r == 0) break;
      if (errno != EINTR) break;
      if (g_hangup) {
        ::killpg(pid, SIGHUP);  // salloc's hang-up is its command's
        g_hangup = 0;
      }
    }
    {
      std::lock_guard gone(mu_);
      child_ = -1;
    }
    ::waitpid(pid, &status, 0);
    if (interactive) ::tcsetpgrp(STDIN_FILENO, ::getpgrp());
    return status;
  }

  // The allocation has ended under it (another thread): as Slurm's salloc, a foreground job the
  // shell started gets SIGHUP, and with -K the command gets `signal`; nothing once it has ended.
  void revoked(int signal, bool interactive) {
    std::lock_guard lock(mu_);
    if (child_ <= 0) return;
    if (interactive) {
      const pid_t fg = ::tcgetpgrp(STDIN_FILENO);
      if (fg > 0 && fg != child_ && fg != ::getpgrp()) ::killpg(fg, SIGHUP);
    }
    if (signal > 0) {
      ::killpg(child_, SIGCONT);
      ::killpg(child_, signal);
    }
  }

 private:
  std::mutex mu_;
  pid_t child_ = -1;
};

}  // namespace

int run_salloc(const std::vector<std::string>& args) {
  auto context = local_context();
  if (!context) return salloc_error(context.error().message);
  slurm::Reader reader{slurm::local_clock(static_cast<std::int64_t>(std::time(nullptr))), api::kMaxArrayIndex + 1};
  slurm::SbatchOptions given;
  auto split = split_arguments(args, reader, given);
  if (!split) {
    std::fprintf(stderr, "salloc: %s\nTry \"salloc --help\" for more information\n", split.error().message.c_str());
    return 255;
  }
  if (given.help || given.usage) {
    std::printf(
        "Usage: salloc [OPTIONS(0)...] [ : [OPTIONS(N)...]] [command(0) [args(0)...]]\n"
        "gwang's salloc takes sbatch's options for the allocation (see sbatch --help), and\n"
        "      --no-shell         allocate and exit, running nothing (the job stays until scancel)\n"
        "  -K, --kill-command[=signal]\n"
        "                         signal the command when the allocation ends (default SIGTERM)\n"
        "  -I, --immediate[=secs] give up unless allocated within secs\n");
    return 0;
  }
  if (given.version) {
    std::printf("gwang salloc (options of slurm 22.05)\n");
    return 0;
  }
  if (auto name = not_salloc(given)) {
    std::fprintf(stderr, "salloc: unrecognized option '%s'\nTry \"salloc --help\" for more information\n",
                 name->c_str());
    return 255;
  }
  auto from_env = slurm::parse_environment(salloc_variables(context->environment), reader);
  if (!from_env) return salloc_error(from_env.error().message);
  slurm::SbatchOptions options = *from_env;
  options.merge(given);
  // salloc's own variables (salloc(1)), under its command line.
  for (const auto& [name, out] :
       {std::pair{"SALLOC_KILL_CMD", &split->kill_command}, std::pair{"SALLOC_IMMEDIATE", &split->immediate}}) {
    for (const auto& [k, v] : context->environment) {
      if (k == name && !*out) *out = v;
    }
  }
  std::string kill_signal;  // -K: the signal the command gets when the allocation is revoked
  if (split->kill_command) {
    const std::string& s = *split->kill_command;
    kill_signal = s.empty() ? "TERM" : s;
    if (!slurm::signal_number(kill_signal)) return salloc_error("Invalid signal name: " + s);
  }
  int immediate = -1;
  if (split->immediate) {
    const std::string& s = *split->immediate;
    if (!s.empty() && s.find_first_not_of("0123456789") != std::string::npos)
      return salloc_error("--immediate=" + s + ": expected seconds");
    immediate = s.empty() ? 0 : std::stoi(s.substr(0, 9));
  }
  std::vector<std::string> command = split->command.empty() && !split->no_shell ? default_command() : split->command;

  // Job control, as Slurm's salloc: where its input is a terminal whose foreground it is, the
  // command gets the terminal's foreground while it runs.
  termios saved{};
  const bool tty = ::tcgetattr(STDIN_FILENO, &saved) == 0;
  if (tty && ::tcgetpgrp(STDIN_FILENO) < 0 && !split->no_shell)
    return salloc_error("no controlling terminal: please set --no-shell");
  const bool interactive = tty && !split->no_shell && ::getpgrp() == ::tcgetpgrp(STDIN_FILENO);

  auto as_user = uid_user(options.uid);
  auto as_group = gid_group(options.gid);
  if (!as_user || !as_group) return salloc_error((!as_user ? as_user : as_group).error().message);
  auto job = sbatch_request(options, *context);
  if (!job) return salloc_error(job.error().message);
  api::SubmitRequest& r = job->request;
  r.group = *as_group;
  r.script.clear();
  r.output.clear();
  r.command = command;
  r.name = options.job_name ? *options.job_name : split->no_shell ? "no-shell" : "interactive";
  r.allocation = split->no_shell ? api::Allocation::Unattended : api::Allocation::Attended;
  r.requeue = false;
  if (!options.quiet.value_or(false)) {
    for (const std::string& w : job->warnings) std::fprintf(stderr, "salloc: warning: %s\n", w.c_str());
  }
  ClientArgs client;
  if (job->partition_time && !partition_time(client, r)) return 1;

  int status = 1;
  auto held = HeldAllocation::ask(client, r, {"salloc", true, immediate, *as_user}, &status);
  if (!held) return status;
  if (split->no_shell) return held->keep(), 0;
  // While the command runs: job-control signals ignored; a hang-up is the command's.
  for (int sig : {SIGTSTP, SIGTTIN, SIGTTOU, SIGINT, SIGQUIT, SIGTERM}) ::signal(sig, SIG_IGN);
  struct sigaction sa {};
  sa.sa_handler = on_hangup;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGHUP, &sa, nullptr);
  HeldAllocation::Env env = held->environment();
  env.emplace_back("SLURM_SUBMIT_DIR", context->cwd);
  env.emplace_back("SLURM_SUBMIT_HOST", context->host);
  Command running;
  const std::int64_t id = held->id();
  const int kill_number = kill_signal.empty() ? 0 : *slurm::signal_number(kill_signal);
  held->attend([&](const api::JobView& ended) {
    if (ended.state == api::JobState::Timeout) {
      std::fprintf(stderr, "salloc: Job %lld has exceeded its time limit and its allocation has been revoked.\n",
                   static_cast<long long>(id));
    } else {
      std::fprintf(stderr, "salloc: Job allocation %lld has been revoked.\n", static_cast<long long>(id));
    }
    running.revoked(kill_number, interactive);
  });
  const int wait_status = running.run(command, env, options.chdir.value_or(""), interactive);
  if (interactive) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
  held->relinquish(relinquish_code(wait_status), true);
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) {
    const int sig = WTERMSIG(wait_status);
    return sig == SIGHUP || sig == SIGINT || sig == SIGQUIT || sig == SIGKILL ? 0 : 1;
  }
  return 1;
}

}  // namespace gwang::cli
