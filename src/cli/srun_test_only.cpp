// srun --test-only: when a job of the step's counts would start, were it submitted now, and where,
// as Slurm's srun says it; nothing is submitted or run.
#include <nlohmann/json.hpp>
#include <string>

#include "api/request.h"
#include "cli/api_call.h"
#include "cli/client.h"
#include "cli/slurm_jobs.h"
#include "cli/srun_options.h"

namespace gwang::cli {

int srun_test_only(const SrunOptions& o) {
  const auto count = [&](const char* key) -> std::optional<int> {
    const auto it = o.given.find(key);
    // A range (-N 1-2) is tested at its least, as the job would be allocated.
    return it == o.given.end() ? std::nullopt : positive(it->second.text.substr(0, it->second.text.find('-')));
  };
  api::SubmitRequest r;
  r.command = o.command;
  r.name = o.name.empty() ? o.command.front() : o.name;
  const std::optional<int> ntasks = count("ntasks"), per_node = count("ntasks_per_node");
  r.nodes = count("nodes").value_or(per_node && ntasks ? (*ntasks + *per_node - 1) / *per_node : 1);
  const int tasks_per_node = per_node.value_or(ntasks ? (*ntasks + r.nodes - 1) / r.nodes : 1);
  r.cpus = tasks_per_node * count("cpus_per_task").value_or(1);
  r.time_s = o.time_limit > 0 ? o.time_limit : kUnlimited;
  ClientArgs client;
  set_error_prefix("srun: error: Unable to allocate resources: ");
  int rc = 0;
  auto t = request(client, "POST", "/api/v1/jobs?test_only=1", api::to_json(r), &rc);
  return t ? say_test_only("srun", *t) : 1;
}

}  // namespace gwang::cli
