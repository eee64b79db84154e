// What a node is asked to run for a job's rank or a step's task: the command, its devices and
// limits, and the task's environment (GWANG_*, SLURM_*, torch.distributed's), as pure functions of
// the job's record.

#include "controller/launch.h"

#include <algorithm>
#include <charconv>

#include "api/request.h"
#include "core/cpus.h"
#include "slurm/binding.h"
#include "slurm/hostlist.h"
#include "slurm/mapping.h"
#include "slurm/specs.h"

namespace gwang::controller {

namespace {

// The value `env` gives `key` (the last one), or nothing.
const std::string* find_env(const Env& env, std::string_view key) {
  const std::string* found = nullptr;
  for (const auto& [k, v] : env) {
    if (k == key) found = &v;
  }
  return found;
}

// A positive count the request's environment gives `key` (as sbatch sets it), or `otherwise`.
int env_count(const Env& env, std::string_view key, int otherwise) {
  const std::string* v = find_env(env, key);
  int n = 0;
  if (!v || std::from_chars(v->data(), v->data() + v->size(), n).ec != std::errc() || n < 1) return otherwise;
  return n;
}

// A batch job's tasks on each of its nodes, from the counts sbatch gave (SLURM_NTASKS,
// SLURM_CPUS_PER_TASK, SLURM_OVERCOMMIT), laid out as its default step would be; without a task
// count, as many tasks as its CPUs on a node hold, as Slurm counts them.
std::vector<int> batch_tasks_per_node(const JobRecord& job) {
  const int nodes = static_cast<int>(job.tasks.size());
  const Env& env = job.request.env;
  const int per_node = std::max(1, job.request.cpus / env_count(env, "SLURM_CPUS_PER_TASK", 1));
  const int ntasks = std::max(env_count(env, "SLURM_NTASKS", nodes * per_node), nodes);
  const bool overcommit = env_count(env, "SLURM_OVERCOMMIT", 0) == 1;
  return tasks_on_nodes(ntasks, nodes, overcommit ? ntasks : per_node);
}

// One count on each of `nodes` nodes, in SLURM_TASKS_PER_NODE's form ("8(x2)").
std::string same_on_nodes(int count, std::size_t nodes) { return tasks_per_node_text(std::vector<int>(nodes, count)); }

// A bound step task's binding as Slurm's task/affinity tells it: where srun asked for no list
// (the default, cores, threads, sockets, ldoms), the masks of the step's tasks on the node, in
// their local order, in place of what srun said; and whether the task says its binding.
void add_binding_env(const StepRecord& step, int node, agent::Launch& l) {
  const slurm::CpuBind bind = slurm::cpu_bind_of(step.env);
  if (l.cpus.empty()) return;
  l.cpu_bind_verbose = bind.verbose;
  if (bind.type == "none") {
    l.cpu_bind_none = true;
    return;
  }
  if (bind.type == "rank" || !bind.list.empty()) return;  // srun's own words stand
  // One mask where the node's tasks share their CPUs (more tasks than CPUs), as Slurm's.
  std::string masks;
  std::vector<int> seen;
  bool shared = false;
  for (const StepTaskRecord& t : step.tasks) {
    if (t.node != node) continue;
    const std::vector<int>& cpus = t.cpus.empty() ? l.cpus : t.cpus;
    for (const int id : cpus) shared = shared || std::find(seen.begin(), seen.end(), id) != seen.end();
    seen.insert(seen.end(), cpus.begin(), cpus.end());
    masks += (masks.empty() ? "" : ",") + core::format_cpu_mask(cpus);
  }
  if (shared) masks = core::format_cpu_mask(l.cpus);
  const std::string verbosity = bind.verbose ? "verbose" : "quiet";
  std::erase_if(l.env, [](const auto& kv) { return kv.first.starts_with("SLURM_CPU_BIND"); });
  l.env.emplace_back("SLURM_CPU_BIND_VERBOSE", verbosity);
  l.env.emplace_back("SLURM_CPU_BIND_TYPE", "mask_cpu:");
  l.env.emplace_back("SLURM_CPU_BIND_LIST", masks);
  l.env.emplace_back("SLURM_CPU_BIND", verbosity + ",mask_cpu:" + masks);
}

// A step task's GPUs as Slurm tells them: SLURM_STEP_GPUS, its own (their indices on the node);
// SLURM_GPUS_ON_NODE, its step's there; neither where it has none.
void add_device_env(const StepRecord& step, const TaskRecord& where, const StepTaskRecord& me, agent::Launch& l) {
  std::erase_if(l.env, [](const auto& kv) { return kv.first == "SLURM_GPUS_ON_NODE"; });
  if (l.devices.empty()) return;
  std::string indices;
  for (const std::string& uuid : l.devices) {
    const auto at =
        static_cast<std::size_t>(std::find(where.devices.begin(), where.devices.end(), uuid) - where.devices.begin());
    if (at < where.shares.size()) indices += (indices.empty() ? "" : ",") + std::to_string(where.shares[at].index);
  }
  const auto n = static_cast<std::size_t>(me.node);
  const std::size_t on_node =
      step.own_devices && n < step.node_devices.size() ? step.node_devices[n].size() : where.devices.size();
  l.env.emplace_back("SLURM_STEP_GPUS", indices);
  l.env.emplace_back("SLURM_GPUS_ON_NODE", std::to_string(on_node));
}

}  // namespace

std::vector<int> tasks_on_nodes(int ntasks, int nodes, int cap) {
  std::vector<int> counts(static_cast<std::size_t>(nodes), 0);
  for (int placed = 0, round = 0; placed < ntasks && round < cap; ++round) {
    for (int n = 0; n < nodes && placed < ntasks; ++n) {
      ++counts[static_cast<std::size_t>(n)];
      ++placed;
    }
  }
  return counts;
}

void add_identity_env(const JobRecord& job, int rank, const std::string& cluster, Env& env) {
  const TaskRecord& task = job.tasks[static_cast<std::size_t>(rank)];
  const std::string nodes = std::to_string(job.tasks.size());
  std::vector<std::string> hosts;
  for (const TaskRecord& t : job.tasks) hosts.push_back(t.node);
  const std::string id = std::to_string(job.id);
  auto set = [&](std::string key, std::string value) { env.emplace_back(std::move(key), std::move(value)); };
  set("GWANG_JOB_ID", id);
  if (!job.credential.empty()) set("GWANG_TOKEN", "gwj." + id + "." + job.credential);
  set("GWANG_JOB_NAME", job.request.name);
  set("GWANG_NODELIST", job.nodelist());
  set("GWANG_RESTART_COUNT", std::to_string(job.attempt));
  set("GWANG_PREEMPTIBLE", job.preemptible ? "1" : "0");
  // sbatch --gid: the group its tasks run as, which the agent looks up on the node (and takes out).
  if (!job.request.group.empty()) set("GWANG_JOB_GROUP", job.request.group);
  // Slurm's, for the scripts and frameworks that read them (sbatch(1), "OUTPUT ENVIRONMENT
  // VARIABLES"). A batch job's task counts come with its request, from sbatch's options.
  for (const char* key : {"SLURM_JOB_ID", "SLURM_JOBID"}) set(key, id);
  set("SLURM_JOB_NAME", job.request.name);
  set("SLURM_JOB_USER", job.user);
  if (!job.project.empty()) set("SLURM_JOB_ACCOUNT", job.project);
  if (!job.request.partition.empty()) set("SLURM_JOB_PARTITION", job.request.partition);
  for (const char* key : {"SLURM_JOB_NODELIST", "SLURM_NODELIST"}) set(key, slurm::compress_hosts(hosts));
  for (const char* key : {"SLURM_JOB_NUM_NODES", "SLURM_NNODES"}) set(key, nodes);
  if (!job.batch() && !job.allocation()) {
    for (const char* key : {"SLURM_NTASKS", "SLURM_NPROCS"}) set(key, nodes);
  }
  set("SLURM_NODEID", std::to_string(rank));
  set("SLURM_PROCID", std::to_string(rank));
  set("SLURM_LOCALID", "0");
  set("SLURMD_NODENAME", task.node);
  set("SLURM_CLUSTER_NAME", cluster);
  // The node's place in the network topology: a flat one, each node its own.
  set("SLURM_TOPOLOGY_ADDR", task.node);
  set("SLURM_TOPOLOGY_ADDR_PATTERN", "node");
  set("SLURM_NODE_ALIASES", "(null)");  // no node here has an address only the job is told
  set("SLURM_CPUS_ON_NODE", std::to_string(job.request.cpus));
  set("SLURM_JOB_CPUS_PER_NODE", same_on_nodes(job.request.cpus, job.tasks.size()));
  // The memory of each node, unless sbatch gave it per CPU or GPU (MiB, rounded up as sbatch rounds).
  if (!find_env(job.request.env, "SLURM_MEM_PER_CPU") && !find_env(job.request.env, "SLURM_MEM_PER_GPU")) {
    set("SLURM_MEM_PER_NODE", std::to_string((job.request.mem_bytes + kMiB - 1) / kMiB));
  }
  if (!job.request.qos.empty()) set("SLURM_JOB_QOS", job.request.qos);
  if (!task.shares.empty()) {
    std::string indices;
    for (const core::DeviceShare& d : task.shares) indices += (indices.empty() ? "" : ",") + std::to_string(d.index);
    set("SLURM_JOB_GPUS", indices);
    set("SLURM_GPUS_ON_NODE", std::to_string(task.shares.size()));
  }
  if (job.attempt > 0) set("SLURM_RESTART_COUNT", std::to_string(job.attempt));
  if (job.in_array()) {
    for (const char* prefix : {"GWANG", "SLURM"}) {
      set(std::string(prefix) + "_ARRAY_JOB_ID", std::to_string(job.array_job));
      set(std::string(prefix) + "_ARRAY_TASK_ID", std::to_string(job.array_task));
    }
    if (auto a = slurm::parse_array(job.request.array, api::kMaxArrayIndex + 1); a && !a->indices.empty()) {
      const auto& ix = a->indices;
      set("SLURM_ARRAY_TASK_COUNT", std::to_string(ix.size()));
      set("SLURM_ARRAY_TASK_MIN", std::to_string(ix.front()));
      set("SLURM_ARRAY_TASK_MAX", std::to_string(ix.back()));
      const std::int64_t step = ix.size() > 1 ? ix[1] - ix[0] : 1;
      bool even = true;
      for (std::size_t i = 1; i < ix.size() && even; ++i) even = ix[i] - ix[i - 1] == step;
      if (even) set("SLURM_ARRAY_TASK_STEP", std::to_string(step));
    }
  }
}

Env allocation_env(const JobRecord& job, const std::string& cluster) {
  Env env;
  add_identity_env(job, 0, cluster, env);
  // Of the job as a whole: nothing of one node's, of a task's, or of a credential.
  static constexpr std::string_view kNotHeld[] = {
      "GWANG_TOKEN",        "SLURM_JOB_USER",  "SLURM_NODEID",        "SLURM_PROCID",
      "SLURM_LOCALID",      "SLURMD_NODENAME", "SLURM_TOPOLOGY_ADDR", "SLURM_TOPOLOGY_ADDR_PATTERN",
      "SLURM_CPUS_ON_NODE", "SLURM_JOB_GPUS",  "SLURM_GPUS_ON_NODE"};
  std::erase_if(env, [](const auto& kv) {
    return std::find(std::begin(kNotHeld), std::end(kNotHeld), kv.first) != std::end(kNotHeld);
  });
  // Its task counts, where its holder gave them (salloc -n), and their layout, as salloc says them;
  // and what its holder's options tell the steps run in it (srun reads them), as Slurm's salloc.
  if (const std::string* n = find_env(job.request.env, "SLURM_NTASKS")) {
    for (const char* key : {"SLURM_NTASKS", "SLURM_NPROCS"}) env.emplace_back(key, *n);
  }
  static constexpr std::string_view kForSteps[] = {
      "SLURM_CPUS_PER_TASK",   "SLURM_NTASKS_PER_NODE",   "SLURM_MEM_PER_CPU",      "SLURM_MEM_PER_GPU",
      "SLURM_CPUS_PER_GPU",    "SLURM_NTASKS_PER_GPU",    "SLURM_DISTRIBUTION",     "SLURM_GPU_BIND",
      "SLURM_MEM_BIND",        "SLURM_MEM_BIND_VERBOSE",  "SLURM_OVERCOMMIT",       "SLURM_HINT",
      "SLURM_NTASKS_PER_CORE", "SLURM_NTASKS_PER_SOCKET", "SLURM_THREADS_PER_CORE", "SLURM_GPU_FREQ",
      "SLURM_CPU_FREQ_REQ"};
  for (const std::string_view key : kForSteps) {
    if (const std::string* v = find_env(job.request.env, key)) env.emplace_back(std::string(key), *v);
  }
  env.emplace_back("SLURM_TASKS_PER_NODE", tasks_per_node_text(batch_tasks_per_node(job)));
  return env;
}

namespace {

// A session's service runs as its first rank: where it listens, and the secret the proxy shows it.
void add_session(const JobRecord& job, int rank, agent::Launch& l) {
  const api::SessionRequest& s = job.request.session;
  if (rank != 0 || s.app == api::SessionApp::None || !api::plan_app(s.app).serves) return;
  l.service_port = s.port;  // 0: the agent chooses, and says it as GWANG_SESSION_PORT
  l.service_secret = s.secret;
  l.env.emplace_back("GWANG_SESSION_APP", std::string(api::to_string(s.app)));
  l.env.emplace_back("GWANG_SESSION_PATH", "/s/" + std::to_string(job.id) + "/");
  l.env.emplace_back("GWANG_SESSION_SECRET", s.secret);
  if (s.port > 0) l.env.emplace_back("GWANG_SESSION_PORT", std::to_string(s.port));
}

}  // namespace

agent::Launch make_launch(const JobRecord& job, int rank, const LaunchSite& site) {
  const TaskRecord& task = job.tasks[static_cast<std::size_t>(rank)];
  agent::Launch l;
  l.task = agent::task_id(job.id, job.attempt, rank);
  l.job = job.id;
  l.attempt = job.attempt;
  l.rank = rank;
  l.user = job.user;
  l.argv = job.request.command;
  l.script = job.request.script;
  l.workdir = job.request.workdir;
  l.devices = task.devices;
  l.cpus = task.cpus;
  l.memory_limit_bytes = job.request.mem_bytes;
  const std::string nodes = std::to_string(job.tasks.size());
  // What a job may set for itself (a port of its choosing), then what it asked for, then what
  // says who and where it is: the job's identity is the controller's to say.
  l.env = {{"MASTER_ADDR", site.master_address},
           {"MASTER_PORT", std::to_string(20000 + job.id % 20000)},
           {"WORLD_SIZE", nodes},
           {"RANK", std::to_string(rank)},
           {"LOCAL_RANK", "0"}};
  for (const auto& kv : job.request.env) l.env.push_back(kv);
  // A temporary directory, where the job names none.
  if (!find_env(job.request.env, "TMPDIR")) l.env.emplace_back("TMPDIR", "/tmp");
  add_identity_env(job, rank, site.cluster, l.env);
  add_session(job, rank, l);
  if (job.batch()) {
    // The script's own: what sbatch's batch step is told (it is task 0 of the job's first node).
    l.env.emplace_back("ENVIRONMENT", "BATCH");
    l.env.emplace_back("HOSTNAME", task.node);
    l.env.emplace_back("SLURM_GTIDS", "0");
    l.env.emplace_back("SLURM_TASKS_PER_NODE", tasks_per_node_text(batch_tasks_per_node(job)));
  } else {
    l.env.emplace_back("SLURM_TASKS_PER_NODE", same_on_nodes(1, job.tasks.size()));
  }
  if (!job.request.output.empty() || !job.request.error.empty() || !job.request.input.empty()) {
    slurm::PatternContext p;
    p.job_id = job.id;
    p.array_job_id = job.in_array() ? job.array_job : job.id;
    if (job.in_array()) p.array_task = job.array_task;
    p.node = task.node.substr(0, task.node.find('.'));
    p.node_index = rank;
    p.task = rank;
    p.user = job.user;
    p.job_name = job.request.name;
    if (!job.request.output.empty()) l.output = slurm::expand_pattern(job.request.output, p);
    if (!job.request.error.empty()) l.error = slurm::expand_pattern(job.request.error, p);
    if (!job.request.input.empty()) l.input = slurm::expand_pattern(job.request.input, p);
    // A requeued job's output follows its first run's.
    l.output_append = job.request.open_append || job.attempt > 0;
  }
  return l;
}

std::string tasks_per_node_text(const std::vector<int>& counts) {
  std::string out;
  for (std::size_t i = 0; i < counts.size();) {
    std::size_t j = i;
    while (j < counts.size() && counts[j] == counts[i]) ++j;
    out += (out.empty() ? "" : ",") + std::to_string(counts[i]);
    if (j - i > 1) out += "(x" + std::to_string(j - i) + ")";
    i = j;
  }
  return out;
}

agent::Launch make_step_launch(const JobRecord& job, const StepRecord& step, int task, const std::string& cluster) {
  const StepTaskRecord& me = step.tasks[static_cast<std::size_t>(task)];
  const TaskRecord& where = job.tasks[static_cast<std::size_t>(me.node)];
  agent::Launch l;
  l.task = agent::step_task_id(job.id, job.attempt, step.id, task);
  l.job = job.id;
  l.attempt = job.attempt;
  l.rank = task;
  l.step = step.id;
  l.user = job.user;
  l.argv = step.argv;
  l.workdir = step.workdir.empty() ? job.request.workdir : step.workdir;
  // The step's own devices (srun --gres, --gpus...), else all of the job's on the node.
  l.devices = step.own_devices ? me.devices : where.devices;
  // Its own CPUs of the job's there (all of them when the step is not bound).
  l.cpus = me.cpus.empty() ? where.cpus : me.cpus;
  // The step's memory on the node (srun --mem), else the job's.
  const auto n = static_cast<std::size_t>(me.node);
  l.memory_limit_bytes = n < step.node_mem.size() && step.node_mem[n] > 0 ? step.node_mem[n] : job.request.mem_bytes;
  // The asker's environment, then who and where the job is, then the task's place in the step.
  l.env = step.env;
  add_identity_env(job, me.node, cluster, l.env);
  const std::vector<int> nodes = step.nodes();
  std::vector<int> counts;
  std::vector<std::string> hosts;
  int local = 0, node_index = 0;
  std::string gtids;
  for (std::size_t n = 0; n < nodes.size(); ++n) {
    int count = 0;
    for (std::size_t t = 0; t < step.tasks.size(); ++t) {
      if (step.tasks[t].node != nodes[n]) continue;
      if (nodes[n] == me.node) {
        if (static_cast<int>(t) < task) ++local;
        gtids += (gtids.empty() ? "" : ",") + std::to_string(t);
        node_index = static_cast<int>(n);
      }
      ++count;
    }
    counts.push_back(count);
    hosts.push_back(job.tasks[static_cast<std::size_t>(nodes[n])].node);
  }
  auto set = [&](std::string key, std::string value) { l.env.emplace_back(std::move(key), std::move(value)); };
  const std::string ntasks = std::to_string(step.tasks.size());
  const std::string step_id = std::to_string(step.id);
  set("GWANG_STEP_ID", step_id);
  for (const char* key : {"SLURM_STEP_ID", "SLURM_STEPID"}) set(key, step_id);
  // srun -E: SLURM_NTASKS, SLURM_NPROCS, SLURM_NNODES and SLURM_TASKS_PER_NODE stay as the asker's
  // environment has them (the job's), as Slurm's --preserve-env keeps them.
  const auto step_only = [&](const char* key) {
    return !step.preserve_env || std::string_view(key).starts_with("SLURM_STEP_") ||
           key == std::string_view("SLURM_NODELIST");
  };
  for (const char* key : {"SLURM_NTASKS", "SLURM_NPROCS", "SLURM_STEP_NUM_TASKS"}) {
    if (step_only(key)) set(key, ntasks);
  }
  for (const char* key : {"SLURM_NNODES", "SLURM_STEP_NUM_NODES"}) {
    if (step_only(key)) set(key, std::to_string(nodes.size()));
  }
  for (const char* key : {"SLURM_NODELIST", "SLURM_STEP_NODELIST"}) set(key, slurm::compress_hosts(hosts));
  for (const char* key : {"SLURM_TASKS_PER_NODE", "SLURM_STEP_TASKS_PER_NODE"}) {
    if (step_only(key)) set(key, tasks_per_node_text(counts));
  }
  set("SLURM_PROCID", std::to_string(task));
  set("SLURM_LOCALID", std::to_string(local));
  set("SLURM_NODEID", std::to_string(node_index));
  set("SLURM_GTIDS", gtids);
  // A step whose srun serves PMI (srun --mpi=pmi2): each task's rank and the step's size, as
  // Slurm's slurmstepd tells them to an MPI task.
  if (find_env(step.env, "PMI_PORT")) {
    set("PMI_RANK", std::to_string(task));
    set("PMI_SIZE", ntasks);
  }
  // A step whose nodes' PMIx servers serve its tasks (srun --mpi=pmix): where each rank runs, as
  // Slurm's mpi/pmix tells it; gwang-pmix reads its layout from it.
  if (find_env(step.env, "GWANG_PMIX_SRUN")) {
    std::vector<int> task_nodes;
    for (const StepTaskRecord& t : step.tasks) {
      task_nodes.push_back(static_cast<int>(std::find(nodes.begin(), nodes.end(), t.node) - nodes.begin()));
    }
    set("SLURM_PMIX_MAPPING_SERV", slurm::process_mapping(task_nodes));
  }
  if (step.cpus_per_task_given) set("SLURM_CPUS_PER_TASK", std::to_string(step.cpus_per_task));
  if (!step.resv_ports.empty()) set("SLURM_STEP_RESV_PORTS", core::format_cpu_list(step.resv_ports));
  add_binding_env(step, me.node, l);
  add_device_env(step, where, me, l);
  // srun's default layout, as Slurm's names it: cyclic where no node has two of the step's tasks.
  if (!find_env(step.env, "SLURM_DISTRIBUTION"))
    set("SLURM_DISTRIBUTION", step.tasks.size() > nodes.size() ? "block" : "cyclic");
  // The job's CPUs by node, as its one component of a heterogeneous job would say them.
  set("SLURM_JOB_CPUS_PER_NODE_PACK_GROUP_0", same_on_nodes(job.request.cpus, job.tasks.size()));
  // torch.distributed's names, for the task's place in the step.
  set("RANK", std::to_string(task));
  set("LOCAL_RANK", std::to_string(local));
  set("WORLD_SIZE", ntasks);
  set("LOCAL_WORLD_SIZE", std::to_string(counts[static_cast<std::size_t>(node_index)]));
  return l;
}

}  // namespace gwang::controller
