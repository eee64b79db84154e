// srun --test-only: when a job of the step's counts would start, were it submitted now, and where,
// as Slurm's srun says it; nothing is submitted or run.
#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/request.h"
#include "cli/api_call.h"
#include "cli/client.h"
#include "cli/slurm_jobs.h"
#include "cli/srun_options.h"
#include "slurm/format.h"
#include "slurm/hostlist.h"

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
  if (!t) return 1;
  if ((*t)["start"].is_null())
    return srun_error("Job violates accounting/QOS policy or no nodes that are up can hold it");
  const std::vector<std::string> nodes = (*t)["nodes"].get<std::vector<std::string>>();
  std::fprintf(stderr, "srun: Job %lld to start at %s using %d processors on nodes %s in partition %s\n",
               static_cast<long long>((*t)["id"].get<std::int64_t>()),
               slurm::format_slurm_date((*t)["start"].get<std::int64_t>()).c_str(), (*t)["cpus"].get<int>(),
               slurm::compress_hosts(nodes).c_str(), (*t)["partition"].get<std::string>().c_str());
  return 0;
}

}  // namespace gwang::cli
