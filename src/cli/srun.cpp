// srun inside a job's allocation: a job step, its tasks spread over the job's nodes, their output
// relayed here line by line, and srun's exit status theirs (srun(1), RETURN VALUE).
#include <getopt.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "api/base64.h"
#include "api/request.h"
#include "api/rlimits.h"
#include "api/utf8.h"
#include "cli/allocation.h"
#include "cli/api_call.h"
#include "cli/bcast.h"
#include "cli/client.h"
#include "cli/commands.h"
#include "cli/pmi_server.h"
#include "cli/pmix_relay.h"
#include "cli/slurm_jobs.h"
#include "cli/srun_options.h"
#include "cli/srun_terminal.h"
#include "core/ranges.h"
#include "slurm/binding.h"
#include "slurm/format.h"
#include "slurm/specs.h"

extern char** environ;

namespace gwang::cli {

namespace {

using nlohmann::json;

std::atomic<int> g_signal{0};
extern "C" void on_signal(int sig) { g_signal = sig; }

// One task's stream: what has come and not yet been written (an unfinished line).
struct Stream {
  std::int64_t offset = 0;
  std::string pending;
};

// The tasks' output, relayed here: each task's stdout and stderr, line by line (or as it comes,
// --unbuffered), each line prefixed with its task's id with --label, to where -o and -e say.
class Relay {
 public:
  // `to`: where each task's stdout and stderr go (task * 2 + stream), null for nowhere.
  Relay(std::vector<std::FILE*> to, bool label, bool unbuffered)
      : label_(label),
        unbuffered_(unbuffered),
        width_(static_cast<int>(std::to_string(to.size() > 1 ? to.size() / 2 - 1 : 0).size())),
        streams_(to.size()),
        to_(std::move(to)) {}

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
    std::FILE* to = to_[task * 2 + static_cast<std::size_t>(s)];
    Stream& st = stream(task, s);
    if (!to) return;  // -o none, or another task's only (-o ID)
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
  std::vector<std::FILE*> to_;
};

// The files of -o and -e, each opened once however many tasks write to it.
class OutputFiles {
 public:
  ~OutputFiles() {
    for (auto& [path, f] : open_) std::fclose(f);
  }
  Result<std::FILE*> open(const std::string& path, bool append) {
    if (auto it = open_.find(path); it != open_.end()) return it->second;
    std::FILE* f = std::fopen(path.c_str(), append ? "a" : "w");
    if (!f) return fail("cannot open " + path + ": " + std::strerror(errno));
    open_[path] = f;
    return f;
  }

 private:
  std::map<std::string, std::FILE*> open_;
};

// Where each task's stdout and stderr go, as -o and -e say: srun's own streams (all), nowhere
// (none), one task's only (a task id), or files named by a pattern, relative to the step's
// directory. Errors follow the output into its files unless -e says otherwise.
Result<std::vector<std::FILE*>> destinations(const SrunOptions& o, const api::StepView& step, const std::string& job,
                                             const std::string& workdir, OutputFiles& files) {
  const std::size_t ntasks = static_cast<std::size_t>(step.ntasks);
  std::vector<std::FILE*> to(ntasks * 2);
  const auto env = [](const char* name) {
    const char* v = std::getenv(name);
    return std::string(v ? v : "");
  };
  slurm::PatternContext ctx;
  ctx.job_id = std::stoll(job);
  ctx.array_job_id = positive(env("SLURM_ARRAY_JOB_ID")).value_or(static_cast<int>(ctx.job_id));
  if (auto a = env("SLURM_ARRAY_TASK_ID"); !a.empty() && a.find_first_not_of("0123456789") == std::string::npos)
    ctx.array_task = std::stoll(a);
  ctx.step = std::to_string(step.id);
  ctx.user = env("SLURM_JOB_USER").empty() ? env("USER") : env("SLURM_JOB_USER");
  ctx.job_name = env("SLURM_JOB_NAME");
  const auto is_task = [](const std::string& v) {
    return !v.empty() && v.size() < 10 && v.find_first_not_of("0123456789") == std::string::npos;
  };
  for (int s = 0; s < 2; ++s) {
    const std::string& mode = s == 0 ? o.output
                              : o.error.empty() && !o.output.empty() && o.output != "none" && !is_task(o.output)
                                  ? o.output
                                  : o.error;
    for (std::size_t t = 0; t < ntasks; ++t) {
      std::FILE*& dest = to[t * 2 + static_cast<std::size_t>(s)];
      if (mode.empty()) {
        dest = s == 0 ? stdout : stderr;
      } else if (mode == "none") {
        dest = nullptr;
      } else if (is_task(mode)) {
        dest = std::stoul(mode) == t ? (s == 0 ? stdout : stderr) : nullptr;
      } else {
        const std::string node = step.tasks && t < step.tasks->size() ? (*step.tasks)[t].node : "";
        ctx.node = node;
        ctx.node_index = std::find(step.nodes.begin(), step.nodes.end(), node) - step.nodes.begin();
        ctx.task = static_cast<std::int64_t>(t);
        std::filesystem::path path = slurm::expand_pattern(mode, ctx);
        if (path.is_relative()) path = std::filesystem::path(workdir) / path;
        auto f = files.open(path.string(), o.append);
        if (!f) return tl::unexpected(f.error());
        dest = *f;
      }
    }
  }
  return to;
}

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
std::optional<api::StepView> follow_step(const ClientArgs& client, const SrunOptions& o, const std::string& step_name,
                                         const std::string& step_path,
                                         const std::function<std::optional<int>()>& aborted, Relay& relay,
                                         bool& cancelled) {
  set_error_prefix("srun: error: ");
  auto pause = std::chrono::milliseconds(20);
  auto failing_since = std::chrono::steady_clock::time_point{};
  std::optional<std::chrono::steady_clock::time_point> first_end;  // when a task was first seen ended
  std::optional<std::uint64_t> news;                               // the controller's count of step news
  const auto cancel = [&] {
    int code = 0;
    request(client, "POST", step_path + "/cancel", "", &code);
    cancelled = true;
  };
  for (;;) {
    if (const int sig = g_signal.exchange(0); sig != 0 && !cancelled) {
      std::fprintf(stderr, "srun: Job step aborted: %s; ending the step's tasks\n", strsignal(sig));
      cancel();
    }
    const auto now = std::chrono::steady_clock::now();
    if (aborted && !cancelled) {
      if (const auto code = aborted()) {  // a task called MPI_Abort: the step ends, as in Slurm
        std::fprintf(stderr, "srun: error: a task aborted the step (exit code %d); ending StepId=%s\n", *code,
                     step_name.c_str());
        cancel();
      }
    }
    if (first_end && o.wait_seconds > 0 && !cancelled && now - *first_end >= std::chrono::seconds(o.wait_seconds)) {
      std::fprintf(stderr, "srun: First task exited %ds ago\nsrun: Terminating StepId=%s\n", o.wait_seconds,
                   step_name.c_str());
      cancel();
    }
    // The controller holds the call a while when there is no news of the step (up to 300 ms, so
    // that a signal or srun's own time limit is not kept waiting longer).
    ApiAnswer polled = call_api(client, "GET",
                                step_path + "?offsets=" + relay.offsets() + "&wait=300" +
                                    (news ? "&seen=" + std::to_string(*news) : std::string()),
                                "");
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
    // The controller ends a step at its own time limit (srun -t); each node says so, as Slurm's
    // slurmstepd does.
    if (!cancelled && (last->stopping == api::kStepTimeLimit || last->state == api::JobState::Timeout)) {
      const std::string at = slurm::format_slurm_date(static_cast<std::int64_t>(std::time(nullptr)));
      for (const std::string& node : last->nodes) {
        std::fprintf(stderr, "slurmstepd-%s: error: *** STEP %s ON %s CANCELLED AT %s DUE TO TIME LIMIT ***\n",
                     node.c_str(), step_name.c_str(), node.c_str(), at.c_str());
      }
      cancelled = true;
    }
    const bool waited = (*answer)["news"].is_number_unsigned();
    news = waited ? std::optional((*answer)["news"].get<std::uint64_t>()) : std::nullopt;
    if (!first_end && last->tasks &&
        std::any_of(last->tasks->begin(), last->tasks->end(),
                    [](const api::StepTaskView& t) { return api::ended(t.state); }))
      first_end = std::chrono::steady_clock::now();
    if (last->ended() && !got && !more) return std::move(*last);
    if (got || more) {
      pause = std::chrono::milliseconds(20);
      if (more) continue;
    }
    if (waited) continue;  // the controller waited for news: asked again at once
    if (!got) {
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
                 core::format_ranges<int>(ids).c_str(), where.second.c_str());
  }
  // A task killed outright ends the step as killed (CANCELLED), and srun says so, as Slurm's does;
  // likewise a step ended at its own time limit.
  if ((last.state == api::JobState::Cancelled && !cancelled) || last.state == api::JobState::Timeout) {
    std::fprintf(stderr, "srun: Force Terminated StepId=%s.%lld\n", id.c_str(), static_cast<long long>(step_id));
  }
  if (cancelled && status == 0) status = 128 + SIGTERM;
  return status;
}

// Runs an srun prolog or epilog here, with the step's command as its arguments (srun(1),
// --prolog); returns its wait status.
int run_here(const std::string& program, const std::vector<std::string>& command) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<char*> argv{const_cast<char*>(program.c_str())};
    for (const std::string& a : command) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(program.c_str(), argv.data());
    std::fprintf(stderr, "srun: error: %s: %s\n", program.c_str(), std::strerror(errno));
    ::_exit(127);
  }
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) < 0) return 127 << 8;
  return status;
}

// Creates the step; while the job's other steps hold what it needs, says so once (as Slurm's srun)
// and asks again each second (for at most `patience` seconds where it is not negative). Prints why
// it could not, and returns nothing, on any other answer.
std::optional<json> create_step(const ClientArgs& client, const std::string& id, const std::string& body,
                                int patience) {
  const std::string path = "/api/v1/jobs/" + id + "/steps";
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(patience);
  ApiAnswer a = call_api(client, "POST", path, body);
  bool waited = false;
  while (a.status == 409 && a.body.is_object() && a.body.value("busy", false) &&
         (patience < 0 || std::chrono::steady_clock::now() < until)) {
    if (!waited) {
      std::fprintf(stderr, "srun: Job %s step creation temporarily disabled, retrying (Requested nodes are busy)\n",
                   id.c_str());
      waited = true;
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
    a = call_api(client, "POST", path, body);
  }
  if (!a.ok()) {
    std::fprintf(stderr, "srun: error: Unable to create step for job %s: %s\n", id.c_str(), a.error.c_str());
    return std::nullopt;
  }
  if (waited) std::fprintf(stderr, "srun: Step created for job %s\n", id.c_str());
  return std::move(a.body);
}

// This host's address as the nodes reach it: the one it reaches the controller from.
// srun --prolog: run here before the step; false (said) when it fails.
bool run_prolog(const SrunOptions& o) {
  if (o.prolog.empty()) return true;
  const int status = run_here(o.prolog, o.command);
  if (status == 0) return true;
  std::fprintf(stderr, "srun: error: srun prolog failed rc = %d. Aborting step.\n",
               WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  return false;
}

// srun --pty: the step's terminal, opened and relaying; null (the step cancelled) after saying
// why when it cannot be opened.
std::unique_ptr<StepTerminal> open_terminal(const ClientArgs& client, const std::string& step_path) {
  auto endpoint = resolve_endpoint(client.url, client.token);
  auto opened = endpoint ? StepTerminal::open(*endpoint, step_path + "/terminal")
                         : Result<std::unique_ptr<StepTerminal>>(tl::unexpected(endpoint.error()));
  if (!opened) {
    srun_error(opened.error().message);
    int code = 0;
    request(client, "POST", step_path + "/cancel", "", &code);
    return nullptr;
  }
  (*opened)->start();
  return std::move(*opened);
}

// The job the step runs in: the one named (--jobid, SLURM_JOB_ID), or outside a job an allocation
// made for it (`held`, let go when srun ends); nothing after saying why, `*status` srun's then.
std::optional<std::string> step_job(const SrunOptions& o, std::unique_ptr<HeldAllocation>& held, int* status) {
  *status = 1;
  if (o.given.count("jobid")) return step_job_id(o);
  if (!(held = srun_allocation(o, status))) return std::nullopt;
  return std::to_string(held->id());
}

Result<std::string> address_towards_controller(const ClientArgs& client) {
  auto endpoint = resolve_endpoint(client.url, client.token);
  if (!endpoint) return tl::unexpected(endpoint.error());
  return local_address_towards(controller_urls(endpoint->url).front());
}

}  // namespace

int run_srun(const std::vector<std::string>& args) {
  Argv argv("srun", args);
  SrunOptions o;
  if (auto done = parse_srun(argv, o)) return *done;
  if (o.given.count("test_only")) return srun_test_only(o);
  json body{{"command", o.command}};
  if (auto failed = step_layout(o, body)) return *failed;
  if (auto failed = step_multi_prog(o, body)) return *failed;
  step_task_wrapper(o, body);
  if (auto failed = step_environment(o, body)) return *failed;
  if (auto failed = step_mem_bind(o, body)) return *failed;
  if (auto failed = step_cpu_freq(o, body)) return *failed;
  if (auto failed = step_gpu_freq(o, body)) return *failed;
  std::unique_ptr<HeldAllocation> held;  // outside a job: the allocation made for the step
  int failed = 1;
  const std::optional<std::string> job = step_job(o, held, &failed);
  if (!job) return failed;
  const std::string& id = *job;

  if (!run_prolog(o)) return 1;
  ClientArgs client;
  // --mpi=pmi2: this srun is the step's PMI server; its tasks reach it at PMI_PORT (the
  // controller gives each its PMI_RANK and PMI_SIZE). --mpi=pmix: each node's PMIx server
  // (gwang-pmix, started by the agent) reaches this srun at GWANG_PMIX_SRUN to meet the others.
  // --bcast: the nodes fetch the program from this srun too.
  std::unique_ptr<PmiServer> pmi;
  std::unique_ptr<PmixRelay> pmix;
  std::unique_ptr<BcastServer> bcast;
  const bool bcasts = o.given.count("bcast") > 0;
  const Result<std::string> address =
      o.pmi2 || o.pmix || bcasts ? address_towards_controller(client) : Result<std::string>(std::string());
  if (bcasts) {
    if (!address) return srun_error("--bcast: " + address.error().message);
    if (auto failed = step_bcast(o, *address, body, bcast)) return *failed;
  }
  if (o.pmi2 || o.pmix) {
    const std::string type = o.pmi2 ? "pmi2" : "pmix";
    if (!address) return srun_error("--mpi=" + type + ": " + address.error().message);
    body["env"]["SLURM_MPI_TYPE"] = type;
    if (o.pmi2) {
      auto server = PmiServer::listen("kvs_" + id + "_" + std::to_string(::getpid()));
      if (!server) return srun_error("--mpi=pmi2: " + server.error().message);
      pmi = std::move(*server);
      body["env"]["PMI_PORT"] = *address + ":" + std::to_string(pmi->port());
      body["env"]["PMI_JOBID"] = id;
    } else {
      auto relay = PmixRelay::listen();
      if (!relay) return srun_error("--mpi=pmix: " + relay.error().message);
      pmix = std::move(*relay);
      body["env"]["GWANG_PMIX_SRUN"] = *address + ":" + std::to_string(pmix->port());
      // Where Slurm's srun takes its step's aborts, as this one does.
      body["env"]["SLURM_PMIXP_ABORT_AGENT_PORT"] = std::to_string(pmix->port());
    }
  }
  // --slurmd-debug: each node's agent says what it does with the step's tasks on their standard
  // error (Slurm's slurmstepd, its log lines at any level given: the same, measured).
  if (o.given.count("slurmd_debug")) body["env"]["GWANG_SLURMD_DEBUG"] = "1";
  step_pty(o, body);
  set_error_prefix("srun: error: Unable to create step for job " + id + ": ");
  const auto immediate = o.given.find("immediate");
  auto step = create_step(client, id, body.dump(), immediate == o.given.end() ? -1 : std::stoi(immediate->second.text));
  if (!step) return 1;
  const auto started = api::read_step_view(*step);
  if (!started) {
    srun_error("the controller's answer: " + started.error().message);
    return 1;
  }
  const std::int64_t step_id = started->id;
  if (pmi || pmix) {
    std::vector<int> task_nodes;
    for (const api::StepTaskView& t : started->tasks.value_or(std::vector<api::StepTaskView>{})) {
      task_nodes.push_back(
          static_cast<int>(std::find(started->nodes.begin(), started->nodes.end(), t.node) - started->nodes.begin()));
    }
    if (pmi) pmi->start(task_nodes);
    if (pmix) pmix->start(task_nodes);
  }
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

  OutputFiles files;
  auto to = destinations(o, *started, id, body["workdir"].get<std::string>(), files);
  if (!to) {  // the step has started: it is ended, as Slurm's srun ends one whose files it cannot open
    srun_error(to.error().message);
    int code = 0;
    request(client, "POST", step_path + "/cancel", "", &code);
    return 1;
  }
  Relay relay(std::move(*to), flag_on(o, "label"), flag_on(o, "unbuffered"));
  std::function<std::optional<int>()> aborted;
  if (pmi) aborted = [&pmi] { return pmi->aborted(); };
  if (pmix) aborted = [&pmix] { return pmix->aborted(); };
  // --pty: task 0's terminal, relayed on a thread of its own while the step is followed here.
  std::unique_ptr<StepTerminal> terminal;
  if (o.pty_rows > 0 && !(terminal = open_terminal(client, step_path))) return 1;
  const std::optional<api::StepView> last =
      follow_step(client, o, id + "." + std::to_string(step_id), step_path, aborted, relay, cancelled);
  if (terminal) terminal->finish();
  if (!last) return 1;
  relay.finish();
  const int status = step_status(*last, id, step_id, cancelled);
  if (!o.epilog.empty()) {
    if (const int e = run_here(o.epilog, o.command); e != 0) {
      std::fprintf(stderr, "srun: error: srun epilog failed status=%d\n", WIFEXITED(e) ? WEXITSTATUS(e) : e);
    }
  }
  if (held) held->relinquish(status, false);
  return status;
}

}  // namespace gwang::cli
