// gwang attach: a terminal in a running job's allocation, as `srun --jobid=JOB --overlap --pty`
// gives one: a step of one task on the job's first node, sharing what the job holds, on a
// terminal of this one's size, relayed through the controller; the command's exit code is this
// command's.
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <thread>

#include "api/job_view.h"
#include "cli/api_call.h"
#include "cli/commands.h"
#include "cli/srun_terminal.h"

namespace gwang::cli {

namespace {

// Ended by a signal (a hang-up, kill): this terminal as it was, then the signal's end.
extern "C" void on_fatal(int sig) {
  StepTerminal::put_back();
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

}  // namespace

int run_attach(const ClientArgs& a, const std::string& job, std::vector<std::string> command) {
  struct winsize size {};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) != 0 || !::isatty(STDIN_FILENO)) {
    std::fprintf(stderr, "gwang: attach gives a terminal, and this is none (its input or output is not one)\n");
    return 2;
  }
  if (command.empty()) {
    const char* shell = std::getenv("SHELL");
    command = {shell && *shell ? shell : "/bin/sh"};
  }
  nlohmann::json body{
      {"command", command},
      {"name", "attach"},
      {"ntasks", 1},
      {"nodes", 1},
      {"overlap", true},
      {"pty", {{"rows", size.ws_row > 0 ? size.ws_row : 24}, {"cols", size.ws_col > 0 ? size.ws_col : 80}}}};
  for (const char* name : {"TERM", "LANG", "LC_ALL", "COLORTERM"}) {
    if (const char* v = std::getenv(name)) body["env"][name] = v;
  }
  int code = 0;
  const std::string steps = "/api/v1/jobs/" + job + "/steps";
  auto started = request(a, "POST", steps, body.dump(), &code);
  if (!started) return code;
  auto step = api::read_step_view(*started);
  if (!step) {
    std::fprintf(stderr, "gwang: the controller's answer: %s\n", step.error().message.c_str());
    return 1;
  }
  const std::string path = steps + "/" + std::to_string(step->id);
  auto endpoint = resolve_endpoint(a.url, a.token);
  auto terminal = endpoint ? StepTerminal::open(*endpoint, path + "/terminal")
                           : Result<std::unique_ptr<StepTerminal>>(tl::unexpected(endpoint.error()));
  if (!terminal) {
    std::fprintf(stderr, "gwang: %s\n", terminal.error().message.c_str());
    request(a, "POST", path + "/cancel", "", &code);
    return 1;
  }
  for (int sig : {SIGHUP, SIGTERM, SIGQUIT}) ::signal(sig, on_fatal);
  (*terminal)->run();
  terminal->reset();
  // The terminal closes after the task's last output; its end reaches the controller a moment
  // later.
  for (int i = 0; i < 100; ++i) {
    auto now = call_api(a, "GET", path, "");
    if (now.ok() && now.body.contains("step")) {
      auto view = api::read_step_view(now.body["step"]);
      if (view && view->ended()) return view->signal > 0 ? 128 + view->signal : view->exit_code;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::fprintf(stderr, "gwang: step %s.%d has not ended after its terminal closed\n", job.c_str(), step->id);
  return 1;
}

}  // namespace gwang::cli
