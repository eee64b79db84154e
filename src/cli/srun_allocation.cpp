// srun outside a job: the allocation it makes from its options (those that also shape a job, read
// as sbatch reads them), held while its step runs and relinquished with the step's exit code.

#include <cstdlib>
#include <ctime>

#include "cli/allocation.h"
#include "cli/sbatch_job.h"
#include "cli/srun_options.h"
#include "slurm/sbatch.h"

namespace gwang::cli {

std::unique_ptr<HeldAllocation> srun_allocation(const SrunOptions& o, int* exit_code) {
  *exit_code = 1;
  slurm::Reader reader{slurm::local_clock(static_cast<std::int64_t>(std::time(nullptr))), api::kMaxArrayIndex + 1};
  // srun's input variables for an allocation (srun(1)), under its command line (read after them).
  std::vector<std::string> args;
  for (const auto& [var, option] : {std::pair{"SLURM_ACCOUNT", "--account"}, std::pair{"SLURM_PARTITION", "--partition"},
                                    std::pair{"SLURM_QOS", "--qos"}, std::pair{"SLURM_TIMELIMIT", "--time"}}) {
    if (const char* v = std::getenv(var); v && *v) args.push_back(std::string(option) + "=" + v);
  }
  args.insert(args.end(), o.allocation_args.begin(), o.allocation_args.end());
  auto line = slurm::parse_command_line(args, reader);
  if (!line) return srun_error(line.error().message), nullptr;
  auto context = local_context();
  if (!context) return srun_error(context.error().message), nullptr;
  const slurm::SbatchOptions& options = line->options;
  auto as_user = uid_user(options.uid);
  if (!as_user) return srun_error(as_user.error().message), nullptr;
  auto job = sbatch_request(options, *context);
  if (!job) return srun_error(job.error().message), nullptr;
  api::SubmitRequest& r = job->request;
  r.script.clear();
  r.output.clear();
  r.command = o.command;
  r.name = !o.name.empty() ? o.name : o.command.front().substr(o.command.front().find_last_of('/') + 1);
  r.allocation = api::Allocation::Attended;
  r.requeue = false;
  ClientArgs client;
  if (job->partition_time && !partition_time(client, r)) return nullptr;
  int immediate = -1;
  if (auto it = o.given.find("immediate"); it != o.given.end()) immediate = std::stoi(it->second.text);
  auto held = HeldAllocation::ask(client, r, {"srun", false, immediate, *as_user}, exit_code);
  if (held) held->attend(nullptr);  // the step's end says what srun says
  return held;
}

}  // namespace gwang::cli
