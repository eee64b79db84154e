// gwang run: a command run at once on an allocation of the resources asked for, its output (or,
// with -t, a terminal) here, as `srun --pty` outside a job gives one: the allocation waited for,
// the command run in it as a step, and the allocation let go with the command's exit code.

#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "api/request.h"
#include "cli/allocation.h"
#include "cli/commands.h"

extern char** environ;

namespace gwang::cli {

int run_interactive(const SubmitArgs& a, bool tty) {
  if (!a.array.empty() || a.hold) {
    std::fprintf(stderr, "gwang: run: %s\n",
                 a.hold ? "--hold: a command run now waits for no release (gwang submit --hold)"
                        : "--array: a command run now is one job (gwang submit --array)");
    return 2;
  }
  api::SubmitRequest r;
  if (auto failed = submit_request(a, r)) return *failed;
  r.allocation = api::Allocation::Attended;
  r.requeue = false;
  int status = 1;
  auto held = HeldAllocation::ask(a.client, r, {"gwang", false, -1, ""}, &status);
  if (!held) return status;
  held->attend(nullptr);  // asked after while the step runs; the step's end says what srun says
  // The step: the command on each of the job's nodes (one task a node), the first on a terminal
  // of this one's with -t; srun's words where it cannot be.
  std::vector<std::string> srun = {"--jobid=" + std::to_string(held->id())};
  if (!a.client.url.empty()) ::setenv("GWANG_URL", a.client.url.c_str(), 1);
  if (!a.client.token.empty()) ::setenv("GWANG_TOKEN", a.client.token.c_str(), 1);
  // srun's own variables are the job's it runs in, not those of whatever this runs within.
  std::vector<std::string> inherited;
  for (char** e = environ; e && *e; ++e) {
    const std::string kv = *e;
    if (kv.starts_with("SLURM_")) inherited.push_back(kv.substr(0, kv.find('=')));
  }
  for (const std::string& name : inherited) ::unsetenv(name.c_str());
  if (tty) srun.emplace_back("--pty");
  if (!a.workdir.empty()) srun.push_back("--chdir=" + a.workdir);
  srun.emplace_back("--");
  srun.insert(srun.end(), r.command.begin(), r.command.end());
  status = run_srun(srun);
  held->relinquish(status, false);
  return status;
}

}  // namespace gwang::cli
