// srun inside a job's allocation: a job step, its tasks spread over the job's nodes, their output
// relayed here line by line, and srun's exit status theirs (srun(1), RETURN VALUE).
#include <getopt.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
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

}  // namespace

int run_srun(const std::vector<std::string>& args) {
  Argv argv("srun", args);
  enum { kNtasksPerNode = 256, kExport, kJobid, kOverlap, kMpi, kUsage };
  static const option kLong[] = {{"ntasks", required_argument, nullptr, 'n'},
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
                                 {"help", no_argument, nullptr, 'h'},
                                 {"usage", no_argument, nullptr, kUsage},
                                 {"version", no_argument, nullptr, 'V'},
                                 {nullptr, 0, nullptr, 0}};
  // Options also come from the environment (srun(1), INPUT ENVIRONMENT VARIABLES): in a batch
  // script, the job's own task counts are the step's defaults.
  auto env = [](const char* name) -> std::string {
    const char* v = std::getenv(name);
    return v ? v : "";
  };
  struct Setting {
    std::string text, from;  // the value, and where it came from ("-n" or the variable)
  };
  std::map<std::string, Setting> given;
  for (const auto& [key, var] :
       {std::pair{"ntasks", "SLURM_NTASKS"}, std::pair{"nodes", "SLURM_NNODES"},
        std::pair{"ntasks_per_node", "SLURM_NTASKS_PER_NODE"}, std::pair{"cpus_per_task", "SLURM_CPUS_PER_TASK"},
        std::pair{"distribution", "SLURM_DISTRIBUTION"}, std::pair{"export", "SLURM_EXPORT_ENV"},
        std::pair{"jobid", "SLURM_JOB_ID"}, std::pair{"label", "SLURM_LABELIO"},
        std::pair{"kill", "SLURM_KILL_BAD_EXIT"}, std::pair{"unbuffered", "SLURM_UNBUFFEREDIO"}}) {
    if (const std::string v = env(var); !v.empty()) given[key] = {v, var};
  }
  std::string name, chdir;
  bool quiet = false, verbose = false;
  ::optind = 0;
  ::opterr = 0;
  for (;;) {
    int index = 0;
    // "+": the options end at the program's name; its own are its.
    const int c = ::getopt_long(argv.argc(), argv.argv(), "+:n:N:c:m:J:D:luK::QvhV", kLong, &index);
    if (c == -1) break;
    const std::string value = ::optarg ? ::optarg : "";
    switch (c) {
      case 'n':
        given["ntasks"] = {value, "--ntasks"};
        break;
      case 'N':
        given["nodes"] = {value, "--nodes"};
        break;
      case kNtasksPerNode:
        given["ntasks_per_node"] = {value, "--ntasks-per-node"};
        break;
      case 'c':
        given["cpus_per_task"] = {value, "--cpus-per-task"};
        break;
      case 'm':
        given["distribution"] = {value, "--distribution"};
        break;
      case 'J':
        name = value;
        break;
      case 'D':
        chdir = value;
        break;
      case kExport:
        given["export"] = {value, "--export"};
        break;
      case 'l':
        given["label"] = {"1", "--label"};
        break;
      case 'u':
        given["unbuffered"] = {"1", "--unbuffered"};
        break;
      case 'K':
        given["kill"] = {value.empty() ? "1" : value, "--kill-on-bad-exit"};
        break;
      case kJobid:
        given["jobid"] = {value, "--jobid"};
        break;
      case kOverlap:
        break;  // a step always shares its job's allocation with the job's other steps
      case kMpi:
        if (value != "none") {
          return srun_error("--mpi=" + value +
                            ": gwang's srun starts no MPI process manager; use --mpi=none and the launcher's own "
                            "(torchrun, mpirun) inside the step");
        }
        break;
      case 'Q':
        quiet = true;
        break;
      case 'v':
        verbose = true;
        break;
      case 'h':
      case kUsage:
        std::printf("%s", kSrunUsage);
        return 0;
      case 'V':
        std::printf("gwang srun (options of slurm 22.05)\n");
        return 0;
      default:  // a mistake in srun's options exits 255, as in Slurm
        return 254 +
               option_complaint(
                   "srun", c, argv,
                   {"--mem",       "--mem-per-cpu", "--gres",     "--gpus",       "--gpus-per-node", "--gpus-per-task",
                    "--output",    "--error",       "--input",    "--exclusive",  "--pty",           "--time",
                    "--partition", "--account",     "--qos",      "--dependency", "--begin",         "--array",
                    "--het-group", "--multi-prog",  "--cpu-bind", "--mem-bind",   "--exact",         "--overcommit"});
    }
  }
  std::vector<std::string> command(argv.text().begin() + ::optind, argv.text().end());
  if (command.empty()) {
    std::fprintf(stderr, "srun: fatal: No command given to execute.\n");
    return 1;
  }

  json body{{"command", command}};
  std::optional<int> ntasks, nodes;
  for (const char* key : {"ntasks", "nodes", "ntasks_per_node", "cpus_per_task"}) {
    auto it = given.find(key);
    if (it == given.end()) continue;
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
    if (!quiet) {
      std::fprintf(stderr, "srun: Warning: can't run %d processes on %d nodes, setting nnodes to %d\n", *ntasks, *nodes,
                   *ntasks);
    }
    body["nodes"] = *ntasks;
    nodes = ntasks;
  }
  // A task count per node that the counts given cannot honour is dropped, as Slurm's srun drops
  // it: with a warning when it came from the job (SLURM_NTASKS_PER_NODE), silently when given
  // here and too small for the tasks.
  if (auto it = given.find("ntasks_per_node");
      it != given.end() && body.contains("ntasks_per_node") && ntasks && nodes) {
    const int per_node = body["ntasks_per_node"].get<int>();
    const bool inherited = it->second.from.starts_with("SLURM_");
    if (*ntasks > *nodes * per_node || (inherited && *ntasks % *nodes != 0)) {
      if (inherited && !quiet) {
        std::fprintf(
            stderr,
            "srun: Warning: can't honor --ntasks-per-node set to %d which doesn't match the requested tasks %d "
            "with the number of requested nodes %d. Ignoring --ntasks-per-node.\n",
            per_node, *ntasks, *nodes);
      }
      body.erase("ntasks_per_node");
    }
  }
  if (auto it = given.find("distribution"); it != given.end()) {
    const std::string d = it->second.text.substr(0, it->second.text.find(':'));
    if (d != "block" && d != "cyclic") {
      return srun_error("--distribution=" + it->second.text + ": gwang lays tasks out by block or cyclic");
    }
    body["distribution"] = d;
  }
  if (auto it = given.find("kill"); it != given.end()) body["kill_on_bad_exit"] = it->second.text != "0";
  if (!name.empty()) body["name"] = name;
  std::error_code ec;
  const std::filesystem::path cwd = std::filesystem::current_path(ec);
  std::filesystem::path dir = chdir.empty() ? cwd : std::filesystem::path(chdir);
  if (dir.is_relative()) dir = cwd / dir;
  body["workdir"] = dir.lexically_normal().string();

  // The tasks' environment: this one's (--export=ALL), or its SLURM_* variables alone (NONE), and
  // the variables named.
  slurm::ExportSpec exports;
  if (auto it = given.find("export"); it != given.end()) {
    auto e = slurm::parse_export(it->second.text);
    if (!e) return srun_error("invalid " + it->second.from + " value: " + e.error().message);
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
      if (!quiet) std::fprintf(stderr, "srun: Warning: %s is not valid UTF-8; the tasks do not get it\n", key.c_str());
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
  body["env"] = std::move(vars);

  auto job = given.find("jobid");
  if (job == given.end()) {
    return srun_error(
        "gwang's srun runs inside a job's allocation, and SLURM_JOB_ID is not set: submit the work with sbatch (or "
        "give --jobid)");
  }
  const std::string id = job->second.text.substr(0, job->second.text.find('.'));
  if (!positive(id)) return srun_error("invalid job id '" + job->second.text + "' (from " + job->second.from + ")");

  ClientArgs client;
  set_error_prefix("srun: error: Unable to create step for job " + id + ": ");
  int rc = 0;
  auto step = request(client, "POST", "/api/v1/jobs/" + id + "/steps", body.dump(), &rc);
  if (!step) return 1;
  const std::int64_t step_id = (*step)["id"].get<std::int64_t>();
  const std::string step_path = "/api/v1/jobs/" + id + "/steps/" + std::to_string(step_id);
  const std::size_t ntask = (*step)["tasks"].size();
  if (verbose) {
    std::fprintf(stderr, "srun: step %s.%lld: %zu task(s) on %s\n", id.c_str(), static_cast<long long>(step_id), ntask,
                 (*step)["nodes"].dump().c_str());
  }

  // Signals end the step (and srun once it has ended), as Slurm's srun forwards them.
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) ::sigaction(sig, &sa, nullptr);
  bool cancelled = false;

  const bool label = given.contains("label") && given["label"].text != "0";
  const bool unbuffered = given.contains("unbuffered") && given["unbuffered"].text != "0";
  const int width = static_cast<int>(std::to_string(ntask > 0 ? ntask - 1 : 0).size());
  std::vector<Stream> streams(ntask * 2);
  auto emit = [&](std::size_t task, int s, std::string data, bool last) {
    std::FILE* to = s == 0 ? stdout : stderr;
    Stream& st = streams[task * 2 + static_cast<std::size_t>(s)];
    st.pending += data;
    std::size_t done = 0;
    if (unbuffered && !label) {
      done = st.pending.size();
      std::fwrite(st.pending.data(), 1, done, to);
    } else {
      for (;;) {
        std::size_t nl = st.pending.find('\n', done);
        if (nl == std::string::npos) {
          if (!last || done == st.pending.size()) break;
          nl = st.pending.size() - 1;  // the last line, without its newline
        }
        if (label) std::fprintf(to, "%*zu: ", width, task);
        std::fwrite(st.pending.data() + done, 1, nl + 1 - done, to);
        if (last && st.pending[nl] != '\n' && label) std::fputc('\n', to);
        done = nl + 1;
      }
    }
    st.pending.erase(0, done);
    std::fflush(to);
  };

  set_error_prefix("srun: error: ");
  json last;
  auto pause = std::chrono::milliseconds(20);
  auto failing_since = std::chrono::steady_clock::time_point{};
  for (;;) {
    if (const int sig = g_signal.exchange(0); sig != 0 && !cancelled) {
      std::fprintf(stderr, "srun: Job step aborted: %s; ending the step's tasks\n", strsignal(sig));
      int code = 0;
      request(client, "POST", step_path + "/cancel", "", &code);
      cancelled = true;
    }
    std::string offsets;
    for (std::size_t t = 0; t < ntask; ++t) {
      offsets +=
          (t ? "," : "") + std::to_string(streams[t * 2].offset) + ":" + std::to_string(streams[t * 2 + 1].offset);
    }
    int code = 0;
    auto answer = request(client, "GET", step_path + "?offsets=" + offsets, "", &code);
    if (!answer) {
      // The controller may be restarting: tried again for a minute.
      const auto now = std::chrono::steady_clock::now();
      if (failing_since == std::chrono::steady_clock::time_point{}) failing_since = now;
      if (now - failing_since > std::chrono::seconds(60)) return srun_error("lost the controller; the step goes on");
      std::this_thread::sleep_for(std::chrono::seconds(1));
      continue;
    }
    failing_since = {};
    bool got = false;
    for (const json& o : (*answer)["output"]) {
      const std::size_t t = o["task"].get<std::size_t>();
      if (t >= ntask) continue;
      for (int s = 0; s < 2; ++s) {
        const char* field = s == 0 ? "stdout" : "stderr";
        auto decoded = api::unbase64(o[field].get<std::string>());
        std::string data = decoded ? std::move(*decoded) : std::string();
        streams[t * 2 + static_cast<std::size_t>(s)].offset = o[std::string(field) + "_offset"].get<std::int64_t>();
        if (!data.empty()) {
          got = true;
          emit(t, s, std::move(data), false);
        }
      }
    }
    last = (*answer)["step"];
    const bool ended = last["state"].get<std::string>() != "RUNNING";
    const bool more = (*answer)["more"].get<bool>();
    if (ended && !got && !more) break;
    if (got || more) {
      pause = std::chrono::milliseconds(20);
      if (more) continue;
    } else {
      pause = std::min<std::chrono::milliseconds>(pause * 3 / 2, std::chrono::milliseconds(250));
    }
    std::this_thread::sleep_for(pause);
  }
  for (std::size_t t = 0; t < ntask; ++t) {
    for (int s = 0; s < 2; ++s) emit(t, s, "", true);
  }

  // How the tasks ended: said per node and kind of end, as Slurm's srun says it; the exit status
  // is the highest exit code, or 128 + the highest signal, or 253 for running out of memory.
  int status = 0;
  std::map<std::pair<std::string, std::string>, std::vector<int>> said;
  int t = 0;
  for (const json& task : last["tasks"]) {
    const std::string state = task["state"].get<std::string>();
    const int exit_code = task["exit_code"].get<int>();
    const int signal = task["signal"].get<int>();
    std::string what;
    if (state == "OUT_OF_MEMORY") {
      what = "Out Of Memory";
      status = std::max(status, 253);
    } else if (signal > 0) {
      what = strsignal(signal);
      status = std::max(status, 128 + signal);
    } else if (exit_code != 0) {
      what = "Exited with exit code " + std::to_string(exit_code);
      status = std::max(status, exit_code);
    } else if (state == "NODE_FAIL") {
      what = "Node failure";
      status = std::max(status, 1);
    }
    if (!what.empty()) said[{task["node"].get<std::string>(), what}].push_back(t);
    ++t;
  }
  for (const auto& [where, ids] : said) {
    std::fprintf(stderr, "srun: error: %s: task%s %s: %s\n", where.first.c_str(), ids.size() > 1 ? "s" : "",
                 id_ranges(ids).c_str(), where.second.c_str());
  }
  // A task killed outright ends the step as killed (CANCELLED), and srun says so, as Slurm's does.
  if (last["state"] == "CANCELLED" && !cancelled) {
    std::fprintf(stderr, "srun: Force Terminated StepId=%s.%lld\n", id.c_str(), static_cast<long long>(step_id));
  }
  if (cancelled && status == 0) status = 128 + SIGTERM;
  return status;
}

}  // namespace gwang::cli
