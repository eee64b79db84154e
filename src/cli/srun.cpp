// srun inside a job's allocation: a job step, its tasks spread over the job's nodes, their output
// relayed here line by line, and srun's exit status theirs (srun(1), RETURN VALUE).
#include <getopt.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "api/base64.h"
#include "api/rlimits.h"
#include "api/utf8.h"
#include "cli/api_call.h"
#include "cli/client.h"
#include "cli/commands.h"
#include "cli/slurm_jobs.h"
#include "slurm/specs.h"

extern char** environ;

namespace gwang::cli {

namespace {

using nlohmann::json;

constexpr const char* kSrunUsage =
    "Usage: srun [OPTIONS(0)... [executable(0) [args(0)...]]]\n"
    "gwang runs srun inside a job's allocation (a batch script, or with --jobid): a job step.\n"
    "  -n, --ntasks=N             number of tasks (default: SLURM_NTASKS, else one per node)\n"
    "  -N, --nodes=N              number of the job's nodes to use (default: all of them)\n"
    "      --ntasks-per-node=N    at most N tasks on a node\n"
    "  -c, --cpus-per-task=N      CPUs each task needs (default 1)\n"
    "  -m, --distribution=block|cyclic\n"
    "                             task ids in blocks of a node (default) or round-robin\n"
    "  -J, --job-name=NAME        the step's name (default: the program's)\n"
    "  -D, --chdir=DIR            the tasks' directory (default: this one)\n"
    "      --export=ALL|NONE|[ALL,]VAR[=value],...\n"
    "                             the environment the tasks get (default ALL: this one's)\n"
    "  -l, --label                prefix each line of output with its task's id\n"
    "  -u, --unbuffered           relay output as it comes, not line by line\n"
    "  -K, --kill-on-bad-exit[=0|1]\n"
    "                             end the step when a task exits non-zero\n"
    "      --jobid=ID             the job to run the step in (default: SLURM_JOB_ID)\n"
    "      --overlap              accepted: steps share their job's allocation\n"
    "  -O, --overcommit           more tasks on a node than its CPUs (default: SLURM_OVERCOMMIT)\n"
    "  -i, --input=none           the tasks read nothing (/dev/null), as they do in any case\n"
    "  -Q, --quiet                no warnings\n"
    "  -v, --verbose              say what is done\n";

int srun_error(const std::string& message) {
  std::fprintf(stderr, "srun: error: %s\n", message.c_str());
  return 1;
}

std::atomic<int> g_signal{0};
extern "C" void on_signal(int sig) { g_signal = sig; }

std::optional<int> positive(const std::string& text) {
  if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  const int v = std::stoi(text);
  return v > 0 ? std::optional<int>(v) : std::nullopt;
}

// Task ids as Slurm lists them: "0-2,5".
std::string id_ranges(const std::vector<int>& ids) {
  std::string out;
  for (std::size_t i = 0; i < ids.size();) {
    std::size_t j = i;
    while (j + 1 < ids.size() && ids[j + 1] == ids[j] + 1) ++j;
    out += (out.empty() ? "" : ",") + std::to_string(ids[i]);
    if (j > i) out += "-" + std::to_string(ids[j]);
    i = j + 1;
  }
  return out;
}

// One task's stream: what has come and not yet been written (an unfinished line).
struct Stream {
  std::int64_t offset = 0;
  std::string pending;
};

// A setting of srun's: the value, and where it came from ("--ntasks" or the variable).
struct Setting {
  std::string text, from;
};

// What srun was asked: its settings by key ("ntasks", "jobid", ...), and the program to run.
struct SrunOptions {
  std::map<std::string, Setting> given;
  std::string name, chdir;
  bool quiet = false, verbose = false;
  int log_level = 3;  // Slurm's: 3 (info), one more for each -v, one less for each -Q (SRUN_DEBUG)
  std::vector<std::string> command;
};

enum { kNtasksPerNode = 256, kExport, kJobid, kOverlap, kMpi, kUsage };
const option kSrunOptions[] = {{"ntasks", required_argument, nullptr, 'n'},
                               {"nodes", required_argument, nullptr, 'N'},
                               {"ntasks-per-node", required_argument, nullptr, kNtasksPerNode},
                               {"cpus-per-task", required_argument, nullptr, 'c'},
                               {"distribution", required_argument, nullptr, 'm'},
                               {"job-name", required_argument, nullptr, 'J'},
                               {"chdir", required_argument, nullptr, 'D'},
                               {"export", required_argument, nullptr, kExport},
                               {"label", no_argument, nullptr, 'l'},
                               {"unbuffered", no_argument, nullptr, 'u'},
                               {"kill-on-bad-exit", optional_argument, nullptr, 'K'},
                               {"jobid", required_argument, nullptr, kJobid},
                               {"overlap", no_argument, nullptr, kOverlap},
                               {"mpi", required_argument, nullptr, kMpi},
                               {"quiet", no_argument, nullptr, 'Q'},
                               {"verbose", no_argument, nullptr, 'v'},
                               {"overcommit", no_argument, nullptr, 'O'},
                               {"input", required_argument, nullptr, 'i'},
                               {"help", no_argument, nullptr, 'h'},
                               {"usage", no_argument, nullptr, kUsage},
                               {"version", no_argument, nullptr, 'V'},
                               {nullptr, 0, nullptr, 0}};

// The settings the environment gives (srun(1), INPUT ENVIRONMENT VARIABLES): in a batch script,
// the job's own task counts are the step's defaults.
std::map<std::string, Setting> srun_environment_settings() {
  std::map<std::string, Setting> given;
  for (const auto& [key, var] :
       {std::pair{"ntasks", "SLURM_NTASKS"}, std::pair{"nodes", "SLURM_NNODES"},
        std::pair{"ntasks_per_node", "SLURM_NTASKS_PER_NODE"}, std::pair{"cpus_per_task", "SLURM_CPUS_PER_TASK"},
        std::pair{"distribution", "SLURM_DISTRIBUTION"}, std::pair{"export", "SLURM_EXPORT_ENV"},
        std::pair{"jobid", "SLURM_JOB_ID"}, std::pair{"label", "SLURM_LABELIO"},
        std::pair{"kill", "SLURM_KILL_BAD_EXIT"}, std::pair{"unbuffered", "SLURM_UNBUFFEREDIO"},
        std::pair{"overcommit", "SLURM_OVERCOMMIT"}}) {
    const char* v = std::getenv(var);
    if (const std::string text = v ? v : ""; !text.empty()) given[key] = {text, var};
  }
  return given;
}

// Takes one option getopt_long returned into `o`; returns the exit status when srun ends with it
// (--help, --version, a mistake), nothing when srun goes on.
std::optional<int> take_srun_option(int c, const std::string& value, Argv& argv, SrunOptions& o) {
  // The options that set a value of `given`: its key, and the option's name.
  static const std::map<int, std::pair<const char*, const char*>> kSettings = {
      {'n', {"ntasks", "--ntasks"}},
      {'N', {"nodes", "--nodes"}},
      {kNtasksPerNode, {"ntasks_per_node", "--ntasks-per-node"}},
      {'c', {"cpus_per_task", "--cpus-per-task"}},
      {'m', {"distribution", "--distribution"}},
      {kExport, {"export", "--export"}},
      {kJobid, {"jobid", "--jobid"}}};
  if (auto it = kSettings.find(c); it != kSettings.end()) {
    o.given[it->second.first] = {value, it->second.second};
    return std::nullopt;
  }
  switch (c) {
    case 'J':
      o.name = value;
      return std::nullopt;
    case 'D':
      o.chdir = value;
      return std::nullopt;
    case 'l':
      o.given["label"] = {"1", "--label"};
      return std::nullopt;
    case 'u':
      o.given["unbuffered"] = {"1", "--unbuffered"};
      return std::nullopt;
    case 'O':
      o.given["overcommit"] = {"1", "--overcommit"};
      return std::nullopt;
    case 'i':  // a step's tasks read /dev/null: what --input=none asks (MPICH's mpiexec asks it)
      if (value == "none") return std::nullopt;
      return srun_error("--input=" + value + ": gwang's srun gives its tasks no standard input (/dev/null); " +
                        "only --input=none");
    case 'K':
      o.given["kill"] = {value.empty() ? "1" : value, "--kill-on-bad-exit"};
      return std::nullopt;
    case kOverlap:
      return std::nullopt;  // a step always shares its job's allocation with the job's other steps
    case kMpi:
      if (value == "none") return std::nullopt;
      if (value == "list") {  // the types this srun has, as Slurm's lists its plugins
        std::printf("MPI plugin types are...\n\tnone\n");
        return 0;
      }
      if (value == "pmix" || value.starts_with("pmix_v") || value == "pmi2" || value == "cray_shasta") {
        return srun_error("--mpi=" + value +
                          ": gwang's srun starts no MPI process manager; use --mpi=none and the launcher's own "
                          "(torchrun, mpirun) inside the step");
      }
      return srun_error("Invalid MPI type '" + value + "', --mpi=list for acceptable types");
    case 'Q':
      o.quiet = true;
      o.log_level = std::max(0, o.log_level - 1);
      return std::nullopt;
    case 'v':
      o.verbose = true;
      ++o.log_level;
      return std::nullopt;
    case 'h':
    case kUsage:
      std::printf("%s", kSrunUsage);
      return 0;
    case 'V':
      std::printf("gwang srun (options of slurm 22.05)\n");
      return 0;
  }
  // A mistake in srun's options exits 255, as in Slurm.
  return 254 + option_complaint(
                   "srun", c, argv,
                   {"--mem",        "--mem-per-cpu", "--gres",       "--gpus",  "--gpus-per-node", "--gpus-per-task",
                    "--output",     "--error",       "--exclusive",  "--pty",   "--time",          "--partition",
                    "--account",    "--qos",         "--dependency", "--begin", "--array",         "--het-group",
                    "--multi-prog", "--cpu-bind",    "--mem-bind",   "--exact"});
}

// Reads srun's environment and command line into `o`; returns the exit status when srun ends
// there (--help, --version, a mistake, no program given), nothing when it goes on.
std::optional<int> parse_srun(Argv& argv, SrunOptions& o) {
  o.given = srun_environment_settings();
  ::optind = 0;
  ::opterr = 0;
  for (;;) {
    int index = 0;
    // "+": the options end at the program's name; its own are its.
    const int c = ::getopt_long(argv.argc(), argv.argv(), "+:n:N:c:m:J:D:i:luOK::QvhV", kSrunOptions, &index);
    if (c == -1) break;
    if (auto done = take_srun_option(c, ::optarg ? ::optarg : "", argv, o)) return done;
  }
  o.command.assign(argv.text().begin() + ::optind, argv.text().end());
  if (o.command.empty()) {
    std::fprintf(stderr, "srun: fatal: No command given to execute.\n");
    return 1;
  }
  return std::nullopt;
}

// Puts the step's task counts, layout, name and directory into `body`, with Slurm's warnings for
// counts that do not fit together; returns 1 after saying why when a value is bad.
std::optional<int> step_layout(const SrunOptions& o, json& body) {
  std::optional<int> ntasks, nodes;
  for (const char* key : {"ntasks", "nodes", "ntasks_per_node", "cpus_per_task"}) {
    auto it = o.given.find(key);
    if (it == o.given.end()) continue;
    // SLURM_NTASKS_PER_NODE may be a list ("2(x2)") where a job's nodes differ: only a plain count
    // is a default for a step.
    auto v = positive(it->second.text);
    if (!v) {
      if (it->second.from.starts_with("SLURM_")) continue;
      return srun_error("invalid " + it->second.from + " value: '" + it->second.text + "' (a positive integer)");
    }
    body[key] = *v;
    if (std::string_view(key) == "ntasks") ntasks = v;
    if (std::string_view(key) == "nodes") nodes = v;
  }
  if (ntasks && nodes && *nodes > *ntasks) {
    if (!o.quiet) {
      std::fprintf(stderr, "srun: Warning: can't run %d processes on %d nodes, setting nnodes to %d\n", *ntasks, *nodes,
                   *ntasks);
    }
    body["nodes"] = *ntasks;
    nodes = ntasks;
  }
  // A task count per node that the counts given cannot honour is dropped, as Slurm's srun drops
  // it: with a warning when it came from the job (SLURM_NTASKS_PER_NODE), silently when given
  // here and too small for the tasks.
  if (auto it = o.given.find("ntasks_per_node");
      it != o.given.end() && body.contains("ntasks_per_node") && ntasks && nodes) {
    const int per_node = body["ntasks_per_node"].get<int>();
    const bool inherited = it->second.from.starts_with("SLURM_");
    if (*ntasks > *nodes * per_node || (inherited && *ntasks % *nodes != 0)) {
      if (inherited && !o.quiet) {
        std::fprintf(
            stderr,
            "srun: Warning: can't honor --ntasks-per-node set to %d which doesn't match the requested tasks %d "
            "with the number of requested nodes %d. Ignoring --ntasks-per-node.\n",
            per_node, *ntasks, *nodes);
      }
      body.erase("ntasks_per_node");
    }
  }
  if (auto it = o.given.find("distribution"); it != o.given.end()) {
    const std::string d = it->second.text.substr(0, it->second.text.find(':'));
    if (d != "block" && d != "cyclic") {
      return srun_error("--distribution=" + it->second.text + ": gwang lays tasks out by block or cyclic");
    }
    body["distribution"] = d;
  }
  if (auto it = o.given.find("kill"); it != o.given.end()) body["kill_on_bad_exit"] = it->second.text != "0";
  if (auto it = o.given.find("overcommit"); it != o.given.end() && it->second.text != "0") body["overcommit"] = true;
  if (!o.name.empty()) body["name"] = o.name;
  std::error_code ec;
  const std::filesystem::path cwd = std::filesystem::current_path(ec);
  std::filesystem::path dir = o.chdir.empty() ? cwd : std::filesystem::path(o.chdir);
  if (dir.is_relative()) dir = cwd / dir;
  body["workdir"] = dir.lexically_normal().string();
  return std::nullopt;
}

// Puts the tasks' environment into `body`: this one's (--export=ALL), or its SLURM_* variables
// alone (NONE), and the variables named; returns 1 after saying why when --export is bad.
std::optional<int> step_environment(const SrunOptions& o, json& body) {
  slurm::ExportSpec exports;
  if (auto it = o.given.find("export"); it != o.given.end()) {
    auto e = slurm::parse_export(it->second.text);
    if (!e) {  // the message names --export; an environment variable's value says which one too
      return srun_error(it->second.from == "--export" ? e.error().message : it->second.from + ": " + e.error().message);
    }
    exports = *e;
  }
  json vars = json::object();
  for (char** e = environ; e && *e; ++e) {
    const std::string_view kv = *e;
    const auto eq = kv.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    const std::string key(kv.substr(0, eq));
    if (!exports.all && !key.starts_with("SLURM_")) continue;
    const std::string value(kv.substr(eq + 1));
    if (!api::valid_utf8(value)) {
      if (!o.quiet) {
        std::fprintf(stderr, "srun: Warning: %s is not valid UTF-8; the tasks do not get it\n", key.c_str());
      }
      continue;
    }
    vars[key] = value;
  }
  for (const auto& [var, value] : exports.vars) {
    if (value) {
      vars[var] = *value;
    } else if (const char* v = std::getenv(var.c_str())) {
      vars[var] = v;
    }
  }
  // What srun itself tells its tasks, as Slurm's does: its scheduling priority, its file mode
  // mask (which the tasks start with), its log level, and the layout it asked for.
  errno = 0;
  const int nice = ::getpriority(PRIO_PROCESS, 0);
  vars["SLURM_PRIO_PROCESS"] = std::to_string(errno == 0 ? nice : 0);
  const mode_t mask = ::umask(0);
  ::umask(mask);
  vars["SLURM_UMASK"] = slurm::umask_text(mask);
  vars["SRUN_DEBUG"] = std::to_string(o.log_level);
  // Its resource limits, which the tasks start with (Slurm's PropagateResourceLimits=ALL).
  for (const auto& [name, value] : api::current_rlimits()) vars[api::kRlimitPrefix + name] = std::to_string(value);
  // The layout asked for; without one, the controller says which its layout was.
  if (auto d = o.given.find("distribution"); d != o.given.end()) vars["SLURM_DISTRIBUTION"] = d->second.text;
  body["env"] = std::move(vars);
  return std::nullopt;
}

// The id of the job the step runs in ("123" of "123.4"); nothing after saying why there is none.
std::optional<std::string> step_job_id(const SrunOptions& o) {
  auto job = o.given.find("jobid");
  if (job == o.given.end()) {
    srun_error(
        "gwang's srun runs inside a job's allocation, and SLURM_JOB_ID is not set: submit the work with sbatch (or "
        "give --jobid)");
    return std::nullopt;
  }
  std::string id = job->second.text.substr(0, job->second.text.find('.'));
  if (!positive(id)) {
    srun_error("invalid job id '" + job->second.text + "' (from " + job->second.from + ")");
    return std::nullopt;
  }
  return id;
}

// The tasks' output, relayed here: each task's stdout and stderr, line by line (or as it comes,
// --unbuffered), each line prefixed with its task's id with --label.
class Relay {
 public:
  Relay(std::size_t ntask, bool label, bool unbuffered)
      : label_(label),
        unbuffered_(unbuffered),
        width_(static_cast<int>(std::to_string(ntask > 0 ? ntask - 1 : 0).size())),
        streams_(ntask * 2) {}

  // How many tasks' output it relays.
  std::size_t tasks() const { return streams_.size() / 2; }
  // Task `task`'s stream `s`: 0 its stdout, 1 its stderr.
  Stream& stream(std::size_t task, int s) { return streams_[task * 2 + static_cast<std::size_t>(s)]; }

  // What the API is asked for next: "OUT:ERR" offsets of each task, comma-separated.
  std::string offsets() const {
    std::string out;
    for (std::size_t t = 0; t < tasks(); ++t) {
      out += (t ? "," : "") + std::to_string(streams_[t * 2].offset) + ":" + std::to_string(streams_[t * 2 + 1].offset);
    }
    return out;
  }

  // Writes what of task `task`'s stream `s` is whole with `data` added; `last`:
  // the stream has ended, and its unfinished line is written too.
  void emit(std::size_t task, int s, std::string data, bool last) {
    std::FILE* to = s == 0 ? stdout : stderr;
    Stream& st = stream(task, s);
    st.pending += data;
    std::size_t done = 0;
    if (unbuffered_ && !label_) {
      done = st.pending.size();
      std::fwrite(st.pending.data(), 1, done, to);
    } else {
      for (;;) {
        std::size_t nl = st.pending.find('\n', done);
        if (nl == std::string::npos) {
          if (!last || done == st.pending.size()) break;
          nl = st.pending.size() - 1;  // the last line, without its newline
        }
        if (label_) std::fprintf(to, "%*zu: ", width_, task);
        std::fwrite(st.pending.data() + done, 1, nl + 1 - done, to);
        if (last && st.pending[nl] != '\n' && label_) std::fputc('\n', to);
        done = nl + 1;
      }
    }
    st.pending.erase(0, done);
    std::fflush(to);
  }

  // Writes every stream's unfinished line: the step has ended.
  void finish() {
    for (std::size_t t = 0; t < tasks(); ++t) {
      for (int s = 0; s < 2; ++s) emit(t, s, "", true);
    }
  }

 private:
  bool label_, unbuffered_;
  int width_;
  std::vector<Stream> streams_;
};

// Relays the output in one answer of the step's API; returns whether there was any.
bool relay_output(const json& answer, Relay& relay) {
  bool got = false;
  for (const json& o : answer["output"]) {
    const std::size_t t = o["task"].get<std::size_t>();
    if (t >= relay.tasks()) continue;
    for (int s = 0; s < 2; ++s) {
      const char* field = s == 0 ? "stdout" : "stderr";
      auto decoded = api::unbase64(o[field].get<std::string>());
      std::string data = decoded ? std::move(*decoded) : std::string();
      relay.stream(t, s).offset = o[std::string(field) + "_offset"].get<std::int64_t>();
      if (!data.empty()) {
        got = true;
        relay.emit(t, s, std::move(data), false);
      }
    }
  }
  return got;
}

// Relays the step's output until it has ended, cancelling it on a signal (and setting
// `cancelled`); returns the step as it ended, or nothing after saying the controller is lost.
std::optional<api::StepView> follow_step(const ClientArgs& client, const std::string& step_path, Relay& relay,
                                         bool& cancelled) {
  set_error_prefix("srun: error: ");
  auto pause = std::chrono::milliseconds(20);
  auto failing_since = std::chrono::steady_clock::time_point{};
  for (;;) {
    if (const int sig = g_signal.exchange(0); sig != 0 && !cancelled) {
      std::fprintf(stderr, "srun: Job step aborted: %s; ending the step's tasks\n", strsignal(sig));
      int code = 0;
      request(client, "POST", step_path + "/cancel", "", &code);
      cancelled = true;
    }
    ApiAnswer polled = call_api(client, "GET", step_path + "?offsets=" + relay.offsets(), "");
    if (!polled.ok() && !polled.transient()) {  // refused: the step or its job is gone, or the token
      srun_error(polled.error);
      return std::nullopt;
    }
    if (!polled.ok()) {
      // The controller may be restarting: tried again for a minute, said once.
      const auto now = std::chrono::steady_clock::now();
      if (failing_since == std::chrono::steady_clock::time_point{}) {
        failing_since = now;
        srun_error(polled.error + "; trying again for up to a minute");
      }
      if (now - failing_since > std::chrono::seconds(60)) {
        srun_error("lost the controller; the step goes on");
        return std::nullopt;
      }
      std::this_thread::sleep_for(std::chrono::seconds(1));
      continue;
    }
    failing_since = {};
    std::optional<json> answer = std::move(polled.body);
    const bool got = relay_output(*answer, relay);
    auto last = api::read_step_view((*answer)["step"]);
    if (!last || !(*answer)["more"].is_boolean()) {
      srun_error("the controller's answer: " +
                 (last ? std::string("more: expected true or false") : last.error().message));
      return std::nullopt;
    }
    const bool more = (*answer)["more"].get<bool>();
    if (last->ended() && !got && !more) return std::move(*last);
    if (got || more) {
      pause = std::chrono::milliseconds(20);
      if (more) continue;
    } else {
      pause = std::min<std::chrono::milliseconds>(pause * 3 / 2, std::chrono::milliseconds(250));
    }
    std::this_thread::sleep_for(pause);
  }
}

// Says how the step's tasks ended, per node and kind of end, as Slurm's srun says it; returns
// srun's exit status: the highest exit code, or 128 + the highest signal, or 253 for running out
// of memory (128 + SIGTERM when srun cancelled a step whose tasks all succeeded).
int step_status(const api::StepView& last, const std::string& id, std::int64_t step_id, bool cancelled) {
  int status = 0;
  std::map<std::pair<std::string, std::string>, std::vector<int>> said;
  int t = 0;
  for (const api::StepTaskView& task : last.tasks.value_or(std::vector<api::StepTaskView>{})) {
    const int exit_code = task.exit_code;
    const int signal = task.signal;
    std::string what;
    if (task.state == api::JobState::OutOfMemory) {
      what = "Out Of Memory";
      status = std::max(status, 253);
    } else if (signal > 0) {
      what = strsignal(signal);
      status = std::max(status, 128 + signal);
    } else if (exit_code != 0) {
      what = "Exited with exit code " + std::to_string(exit_code);
      status = std::max(status, exit_code);
    } else if (task.state == api::JobState::NodeFail) {
      what = "Node failure";
      status = std::max(status, 1);
    }
    if (!what.empty()) said[{task.node, what}].push_back(t);
    ++t;
  }
  for (const auto& [where, ids] : said) {
    std::fprintf(stderr, "srun: error: %s: task%s %s: %s\n", where.first.c_str(), ids.size() > 1 ? "s" : "",
                 id_ranges(ids).c_str(), where.second.c_str());
  }
  // A task killed outright ends the step as killed (CANCELLED), and srun says so, as Slurm's does.
  if (last.state == api::JobState::Cancelled && !cancelled) {
    std::fprintf(stderr, "srun: Force Terminated StepId=%s.%lld\n", id.c_str(), static_cast<long long>(step_id));
  }
  if (cancelled && status == 0) status = 128 + SIGTERM;
  return status;
}

// Whether a flag setting ("label", "unbuffered") is on: given, and not "0".
bool flag_on(const SrunOptions& o, const char* key) {
  auto it = o.given.find(key);
  return it != o.given.end() && it->second.text != "0";
}

}  // namespace

int run_srun(const std::vector<std::string>& args) {
  Argv argv("srun", args);
  SrunOptions o;
  if (auto done = parse_srun(argv, o)) return *done;
  json body{{"command", o.command}};
  if (auto failed = step_layout(o, body)) return *failed;
  if (auto failed = step_environment(o, body)) return *failed;
  const std::optional<std::string> job = step_job_id(o);
  if (!job) return 1;
  const std::string& id = *job;

  ClientArgs client;
  set_error_prefix("srun: error: Unable to create step for job " + id + ": ");
  int rc = 0;
  auto step = request(client, "POST", "/api/v1/jobs/" + id + "/steps", body.dump(), &rc);
  if (!step) return 1;
  const auto started = api::read_step_view(*step);
  if (!started) {
    srun_error("the controller's answer: " + started.error().message);
    return 1;
  }
  const std::int64_t step_id = started->id;
  const std::string step_path = "/api/v1/jobs/" + id + "/steps/" + std::to_string(step_id);
  if (o.verbose) {
    std::fprintf(stderr, "srun: step %s.%lld: %d task(s) on %s\n", id.c_str(), static_cast<long long>(step_id),
                 started->ntasks, api::Json().strings(started->nodes).str().c_str());
  }

  // Signals end the step (and srun once it has ended), as Slurm's srun forwards them.
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) ::sigaction(sig, &sa, nullptr);
  bool cancelled = false;

  Relay relay(static_cast<std::size_t>(started->ntasks), flag_on(o, "label"), flag_on(o, "unbuffered"));
  const std::optional<api::StepView> last = follow_step(client, step_path, relay, cancelled);
  if (!last) return 1;
  relay.finish();
  return step_status(*last, id, step_id, cancelled);
}

}  // namespace gwang::cli
