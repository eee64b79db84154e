#include "cli/sbatch_job.h"

#include <algorithm>
#include <filesystem>
#include <optional>

#include "api/rlimits.h"
#include "api/utf8.h"
#include "cli/slurm_nodes.h"
#include "slurm/membind.h"

namespace gwang::cli {

namespace {

constexpr std::int64_t kMaxTimeSeconds = 365LL * 86400;  // the API's longest time limit
constexpr std::int64_t kMiB = 1 << 20;

// The devices of one node, from one of sbatch's ways of asking.
struct NodeDevices {
  std::string option;  // "--gres", for messages
  slurm::DeviceCount device;
};

Result<api::GpuRequest> gpu_request(const NodeDevices& d) {
  const std::string what = d.option + ": ";
  const slurm::DeviceCount& c = d.device;
  if (c.name != "gpu" && c.name != "npu")
    return fail(what + "'" + c.name + "' is not a device gwang schedules (gpu or npu)");
  if (c.count < 1 || c.count > 1024) return fail(what + "from 1 to 1024 " + c.name + "s per node");
  api::GpuRequest g;
  g.count = static_cast<int>(c.count);
  if (c.name == "npu") {
    if (c.type.empty()) return fail(what + "name the NPU model (npu:MODEL:COUNT)");
    g.models.push_back("npu:" + c.type);
  } else if (!c.type.empty()) {
    g.models.push_back(c.type);
  }
  return g;
}

std::string base_name(const std::string& path) { return std::filesystem::path(path).filename().string(); }

// What sbatch's options make of a job's tasks: nodes, tasks per node, CPUs per node, and tasks in
// all when they are known.
struct Shape {
  std::int64_t nodes = 1;
  std::int64_t per_node = 1;
  std::int64_t cpus = 1;
  std::optional<std::int64_t> ntasks;
};

// The script, its name, where it runs, the files it reads and writes, and the comment, into `r`.
Result<void> set_script(const slurm::SbatchOptions& o, const SbatchContext& c, api::SubmitRequest& r) {
  // The script and what it is called.
  r.script = c.script;
  r.command = c.args;
  r.name = o.job_name ? *o.job_name : c.wrapped ? "wrap" : c.script_file.empty() ? "sbatch" : base_name(c.script_file);
  if (r.name.size() > 200) return fail("--job-name: longer than 200 bytes");
  std::size_t bad = 0;
  if (!api::valid_utf8(r.script, &bad)) return fail("the script is not valid UTF-8 (byte " + std::to_string(bad) + ")");
  if (r.script.size() > api::kMaxScriptBytes) return fail("the script is larger than 4 MiB");

  // Where it runs and what it reads and writes.
  if (o.chdir) {
    if (o.chdir->empty()) return fail("--chdir: an empty directory name");
    r.workdir = o.chdir->front() == '/' ? *o.chdir : (std::filesystem::path(c.cwd) / *o.chdir).string();
  } else {
    r.workdir = c.cwd;
  }
  if (r.workdir.empty() || r.workdir.front() != '/') return fail("the working directory is not known");
  const bool array = o.array.has_value();
  r.output = o.output ? *o.output : array ? "slurm-%A_%a.out" : "slurm-%j.out";
  if (o.error) r.error = *o.error;
  if (o.input) r.input = *o.input;
  for (const std::string* f : {&r.output, &r.error, &r.input}) {
    if (f->size() > 4096) return fail("a file name pattern longer than 4096 bytes");
  }
  r.open_append = o.open_mode && *o.open_mode == "append";
  if (o.comment) {
    if (o.comment->size() > 1024) return fail("--comment: longer than 1,024 bytes");
    r.comment = *o.comment;
  }
  if (o.mail_type) r.mail_type = *o.mail_type;
  if (o.signal) r.signal = *o.signal;
  if (o.kill_on_invalid_dep) r.kill_on_invalid_dep = *o.kill_on_invalid_dep;
  if (o.mail_user) r.mail_user = *o.mail_user;
  if (o.constraint) r.constraint = *o.constraint;
  if (o.prefer) r.prefer = *o.prefer;
  if (o.batch_features) r.batch_features = *o.batch_features;
  if (o.tmp) r.tmp_bytes = *o.tmp;
  if (o.nice) r.nice = *o.nice;
  if (o.priority) r.priority = *o.priority;
  if (o.sockets_per_node) r.sockets_per_node = static_cast<int>(*o.sockets_per_node);
  if (o.cores_per_socket) r.cores_per_socket = static_cast<int>(*o.cores_per_socket);
  if (o.threads_per_core) r.threads_per_core = static_cast<int>(*o.threads_per_core);
  if (o.exclusive) r.exclusive = *o.exclusive;
  if (o.contiguous) r.contiguous = *o.contiguous;
  if (o.licenses) r.licenses = *o.licenses;
  if (o.no_kill) r.no_kill = *o.no_kill;
  if (o.gpu_binding_disabled) r.gpu_binding_disabled = *o.gpu_binding_disabled;
  if (o.core_spec && o.thread_spec) return fail("--core-spec and --thread-spec: give one of them");
  if (o.core_spec) r.core_spec = static_cast<int>(*o.core_spec), r.exclusive = true;
  if (o.thread_spec) r.thread_spec = static_cast<int>(*o.thread_spec), r.exclusive = true;
  return {};
}

// The nodes it names (-w or -F, and -x), into out.request (set_shape raises the job's node count
// to the nodes it names, as Slurm raises it).
Result<void> set_nodes(const slurm::SbatchOptions& o, SbatchJob& out) {
  api::SubmitRequest& r = out.request;
  if (o.nodelist || o.nodefile) {
    auto names =
        o.nodefile ? node_names(*o.nodefile, "--nodefile", true) : node_names(*o.nodelist, "--nodelist", false);
    if (!names) return tl::unexpected(names.error());
    r.nodelist = std::move(*names);
    std::sort(r.nodelist.begin(), r.nodelist.end());
    r.nodelist.erase(std::unique(r.nodelist.begin(), r.nodelist.end()), r.nodelist.end());
  }
  if (o.exclude) {
    auto names = node_names(*o.exclude, "--exclude", false);
    if (!names) return tl::unexpected(names.error());
    r.exclude = std::move(*names);
  }
  return {};
}

// The time limit, into out.request; without -t, out.partition_time.
Result<void> set_time(const slurm::SbatchOptions& o, SbatchJob& out) {
  out.partition_time = !o.time.has_value();
  if (o.time) {
    if (o.time->unlimited || o.time->minutes == 0) {
      out.request.time_s = kMaxTimeSeconds;  // a time limit of 0 is none, as UNLIMITED: gwang's longest
    } else if (o.time->minutes > kMaxTimeSeconds / 60) {
      return fail("--time: " + slurm::format_time_limit(*o.time) + " is longer than gwang's longest, 365-00:00:00");
    } else {
      out.request.time_s = o.time->minutes * 60;
    }
  }
  if (o.time_min && !o.time_min->unlimited && o.time_min->minutes > 0) {
    out.request.time_min_s = std::min<std::int64_t>(o.time_min->minutes * 60, kMaxTimeSeconds);
    if (o.time && out.request.time_min_s > out.request.time_s)
      return fail("--time-min: " + slurm::format_time_limit(*o.time_min) + " is longer than --time");
  }
  return {};
}

// Nodes, tasks and CPUs, and memory per node, into out.request (with what sbatch would warn of);
// returns the job's shape.
Result<Shape> set_shape(const slurm::SbatchOptions& o, SbatchJob& out) {
  api::SubmitRequest& r = out.request;
  if (o.nodes && o.nodes->min != o.nodes->max && !o.use_min_nodes.value_or(false)) {
    out.warnings.push_back("a node count range (" + std::to_string(o.nodes->min) + "-" + std::to_string(o.nodes->max) +
                           "): gwang allocates the least, " + std::to_string(o.nodes->min));
  }
  Shape s;
  s.nodes = o.nodes ? o.nodes->min : 1;
  if (!o.nodes && o.ntasks && o.ntasks_per_node) s.nodes = (*o.ntasks + *o.ntasks_per_node - 1) / *o.ntasks_per_node;
  s.nodes = std::max<std::int64_t>(s.nodes, static_cast<std::int64_t>(r.nodelist.size()));
  if (o.ntasks && *o.ntasks < s.nodes) {
    out.warnings.push_back("can't run " + std::to_string(*o.ntasks) + " processes on " + std::to_string(s.nodes) +
                           " nodes, setting nnodes to " + std::to_string(*o.ntasks));
    s.nodes = *o.ntasks;
  }
  if (s.nodes < 1 || s.nodes > 10000) return fail("--nodes: from 1 to 10000 nodes");
  s.per_node = o.ntasks_per_node ? *o.ntasks_per_node : o.ntasks ? (*o.ntasks + s.nodes - 1) / s.nodes : 1;
  if (o.cpus_per_task && o.cpus_per_gpu) return fail("--cpus-per-gpu and --cpus-per-task: give one of them");
  const std::int64_t cpus_per_task = o.cpus_per_task.value_or(1);
  // Overcommitted, a node holds one task's CPUs whatever its tasks.
  s.cpus = (o.overcommit.value_or(false) ? 1 : s.per_node) * cpus_per_task;
  if (o.mincpus) s.cpus = std::max(s.cpus, *o.mincpus);
  if (s.cpus > 4096) {
    return fail(std::to_string(s.per_node) + " task(s) of " + std::to_string(cpus_per_task) +
                " CPU(s) on one node: more than 4096 CPUs per node");
  }
  r.nodes = static_cast<int>(s.nodes);
  r.cpus = static_cast<int>(s.cpus);
  s.ntasks = o.ntasks;
  if (!s.ntasks && o.ntasks_per_node) s.ntasks = s.nodes * *o.ntasks_per_node;

  // Memory, per node.
  if (o.mem_per_node) {
    if (*o.mem_per_node == 0) return fail("--mem=0 (all of a node's memory) is not supported by gwang; give an amount");
    r.mem_bytes = *o.mem_per_node;
  } else if (o.mem_per_cpu) {
    r.mem_bytes = *o.mem_per_cpu * s.cpus;
  }
  if (r.mem_bytes > (1LL << 50)) return fail("--mem: more than 1 PiB per node");
  return s;
}

// The accelerators of each node, into r.gpus, from whichever one of sbatch's ways asks for them.
Result<void> set_devices(const slurm::SbatchOptions& o, const Shape& shape, api::SubmitRequest& r) {
  std::vector<NodeDevices> devices;
  int ways = 0;
  if (o.gres) {
    ++ways;
    for (const slurm::DeviceCount& d : *o.gres) devices.push_back({"--gres", d});
  }
  if (o.gpus_per_node) {
    ++ways;
    for (const slurm::DeviceCount& d : *o.gpus_per_node) devices.push_back({"--gpus-per-node", d});
  }
  if (o.gpus_per_task) {
    ++ways;
    for (slurm::DeviceCount d : *o.gpus_per_task) {
      d.count *= shape.per_node;
      devices.push_back({"--gpus-per-task", d});
    }
  }
  if (o.gpus) {
    ++ways;
    for (slurm::DeviceCount d : *o.gpus) {
      if (d.count % shape.nodes != 0) {
        return fail("--gpus: " + std::to_string(d.count) + " GPUs do not split evenly over " +
                    std::to_string(shape.nodes) + " nodes (gwang gives each node as many); use --gpus-per-node");
      }
      d.count /= shape.nodes;
      devices.push_back({"--gpus", d});
    }
  }
  if (ways > 1) return fail("ask for GPUs one way: --gres, --gpus-per-node, --gpus-per-task or --gpus");
  if (devices.size() > 1) return fail(devices.front().option + ": one kind of device per job");
  if (!devices.empty()) {
    auto g = gpu_request(devices.front());
    if (!g) return tl::unexpected(g.error());
    r.gpus = *g;
  }
  return {};
}

// Tasks by GPUs (--ntasks-per-gpu): as many tasks on each node as its GPUs times the count, or,
// given the tasks and no GPUs, as many GPUs on each node as its tasks need; into `r` and `shape`.
Result<void> set_tasks_per_gpu(const slurm::SbatchOptions& o, Shape& shape, api::SubmitRequest& r) {
  if (!o.ntasks_per_gpu) return {};
  const std::int64_t per_gpu = *o.ntasks_per_gpu;
  if (o.gpus_per_task) return fail("--ntasks-per-gpu is mutually exclusive with --gpus-per-task");
  if (o.ntasks_per_node) return fail("--ntasks-per-gpu is mutually exclusive with --ntasks-per-node");
  if (r.gpus.count > 0 && !o.ntasks) {
    shape.per_node = r.gpus.count * per_gpu;
    shape.ntasks = shape.nodes * shape.per_node;
    shape.cpus =
        std::max(shape.cpus, (o.overcommit.value_or(false) ? 1 : shape.per_node) * o.cpus_per_task.value_or(1));
    if (shape.cpus > 4096) return fail("--ntasks-per-gpu: more than 4096 CPUs per node");
    r.cpus = static_cast<int>(shape.cpus);
  } else if (r.gpus.count == 0) {
    if (!o.ntasks) return fail("--ntasks-per-gpu: give the GPUs (--gpus, --gres, --gpus-per-node) or the tasks (-n)");
    r.gpus.count = static_cast<int>((shape.per_node + per_gpu - 1) / per_gpu);  // of any model, as Slurm
  }
  return {};
}

// CPUs and memory by the GPUs each node has (--cpus-per-gpu, --mem-per-gpu), into `r`.
Result<void> set_per_gpu(const slurm::SbatchOptions& o, api::SubmitRequest& r) {
  if (!o.cpus_per_gpu && !o.mem_per_gpu) return {};
  if (r.gpus.count < 1) {
    return fail(std::string(o.cpus_per_gpu ? "--cpus-per-gpu" : "--mem-per-gpu") + ": the job asks for no GPUs");
  }
  if (o.cpus_per_gpu) {
    const std::int64_t cpus = std::max<std::int64_t>(r.cpus, r.gpus.count * *o.cpus_per_gpu);
    if (cpus > 4096) return fail("--cpus-per-gpu: more than 4096 CPUs per node");
    r.cpus = static_cast<int>(cpus);
  }
  if (o.mem_per_gpu) {
    if (*o.mem_per_gpu > (1LL << 50) / r.gpus.count) return fail("--mem-per-gpu: more than 1 PiB per node");
    r.mem_bytes = *o.mem_per_gpu * r.gpus.count;
  }
  return {};
}

// Who pays and in which queue, and when it may start, into `r`.
Result<void> set_queue(const slurm::SbatchOptions& o, api::SubmitRequest& r) {
  // Who pays, and in which queue.
  if (o.account) r.project = *o.account;
  if (o.partition) {
    if (o.partition->find(',') != std::string::npos)
      return fail("--partition: gwang runs a job in one partition ('" + *o.partition + "' names several)");
    r.partition = *o.partition;
  }
  if (o.qos) r.qos = *o.qos;  // an allocation programme of the project's grants
  if (o.hold) r.hold = *o.hold;
  if (o.requeue) r.requeue = *o.requeue;

  // When.
  if (o.begin) r.begin = *o.begin;
  if (o.deadline) r.deadline = *o.deadline;
  if (o.deadline && o.begin && *o.begin > *o.deadline)
    return fail("Incompatible begin and deadline time specification");
  if (o.dependency) r.dependency = slurm::format_dependency(*o.dependency);
  if (o.array) r.array = slurm::format_array(*o.array);
  return {};
}

// The environment, into r.env: the submitter's (or what --export names), without another job's
// SLURM_* variables, then sbatch's own.
Result<void> set_environment(const slurm::SbatchOptions& o, const SbatchContext& c, const Shape& shape,
                             api::SubmitRequest& r) {
  const slurm::ExportSpec exports = o.export_env.value_or(slurm::ExportSpec{});
  auto set = [&](const std::string& name, const std::string& value) {
    std::erase_if(r.env, [&](const auto& kv) { return kv.first == name; });
    r.env.emplace_back(name, value);
  };
  auto lookup = [&](const std::string& name) -> const std::string* {
    for (const auto& [k, v] : c.environment)
      if (k == name) return &v;
    return nullptr;
  };
  if (exports.all) {
    for (const auto& [k, v] : c.environment) {
      if (k.starts_with("SLURM_") || k.empty()) continue;
      if (!api::valid_utf8(k) || !api::valid_utf8(v)) {
        return fail("environment variable " + (api::valid_utf8(k) ? k : std::string("(name not UTF-8)")) +
                    ": not valid UTF-8 (leave it out with --export)");
      }
      set(k, v);
    }
  }
  for (const auto& [name, value] : exports.vars) {
    const std::string* v = value ? &*value : lookup(name);
    if (!v) continue;
    if (!api::valid_utf8(*v)) return fail("--export: " + name + " is not valid UTF-8");
    set(name, *v);
  }
  for (const auto& [name, value] : c.export_file) {
    if (!api::valid_utf8(value)) return fail("--export-file: " + name + " is not valid UTF-8");
    set(name, value);
  }
  // The submitter's resource limits, those --propagate names (all by default, as Slurm's
  // PropagateResourceLimits=ALL): the job's tasks start with them.
  for (const auto& [name, value] : c.rlimits) {
    if (!o.propagate || std::find(o.propagate->begin(), o.propagate->end(), name) != o.propagate->end()) {
      set(api::kRlimitPrefix + name, std::to_string(value));
    }
  }
  set("SLURM_SUBMIT_DIR", c.cwd);
  set("SLURM_SUBMIT_HOST", c.host);
  set("SLURM_PRIO_PROCESS", std::to_string(c.nice));
  set("SLURM_UMASK", slurm::umask_text(c.umask));  // the script runs with it (and is not shown it)
  // Without ALL, the job starts from its user's login environment on the node, as in Slurm.
  if (o.get_user_env.value_or(false) || (o.export_env && !exports.all)) set("SLURM_GET_USER_ENV", "1");
  if (shape.ntasks) {
    set("SLURM_NTASKS", std::to_string(*shape.ntasks));
    set("SLURM_NPROCS", std::to_string(*shape.ntasks));
  }
  if (o.ntasks_per_node) set("SLURM_NTASKS_PER_NODE", std::to_string(*o.ntasks_per_node));
  if (o.cpus_per_task) set("SLURM_CPUS_PER_TASK", std::to_string(*o.cpus_per_task));
  if (o.mem_per_node) set("SLURM_MEM_PER_NODE", std::to_string((*o.mem_per_node + kMiB - 1) / kMiB));
  if (o.mem_per_cpu) set("SLURM_MEM_PER_CPU", std::to_string((*o.mem_per_cpu + kMiB - 1) / kMiB));
  if (o.mem_per_gpu) set("SLURM_MEM_PER_GPU", std::to_string((*o.mem_per_gpu + kMiB - 1) / kMiB));
  if (o.cpus_per_gpu) set("SLURM_CPUS_PER_GPU", std::to_string(*o.cpus_per_gpu));
  if (o.ntasks_per_gpu) set("SLURM_NTASKS_PER_GPU", std::to_string(*o.ntasks_per_gpu));
  if (o.gpu_bind) set("SLURM_GPU_BIND", *o.gpu_bind);  // its steps' default (srun reads it)
  if (o.mem_bind) {  // likewise: srun binds the steps' tasks (the batch shell is not bound, as in Slurm)
    if (auto bind = slurm::parse_mem_bind(*o.mem_bind); bind && !bind->type.empty()) {
      set("SLURM_MEM_BIND", slurm::mem_bind_text(*bind));
      set("SLURM_MEM_BIND_VERBOSE", bind->verbose ? "verbose" : "quiet");
    }
  }
  // How its steps' tasks lie on cores (srun reads them), as Slurm's sbatch tells them.
  if (o.hint && !o.ntasks_per_core && !o.threads_used) {
    set("SLURM_HINT", *o.hint);
    set(*o.hint == "multithread" ? "SLURM_NTASKS_PER_CORE" : "SLURM_THREADS_PER_CORE",
        *o.hint == "multithread" ? "65535" : "1");
  }
  if (o.ntasks_per_core) set("SLURM_NTASKS_PER_CORE", std::to_string(*o.ntasks_per_core));
  if (o.ntasks_per_socket) set("SLURM_NTASKS_PER_SOCKET", std::to_string(*o.ntasks_per_socket));
  if (o.threads_used) set("SLURM_THREADS_PER_CORE", std::to_string(*o.threads_used));
  if (o.gpu_freq) set("SLURM_GPU_FREQ", *o.gpu_freq);              // the batch shell's GPUs; srun tells its steps
  if (o.cpu_freq) set("SLURM_CPU_FREQ_REQ", *o.cpu_freq);          // the batch shell's CPUs and its steps'
  if (o.distribution) set("SLURM_DISTRIBUTION", *o.distribution);  // the steps' layout, which srun reads
  if (o.overcommit.value_or(false)) set("SLURM_OVERCOMMIT", "1");  // srun's default, too
  if (r.gpus.count > 0) set("SLURM_GPUS_ON_NODE", std::to_string(r.gpus.count));
  if (o.export_env) {
    // As given: "ALL", "NONE", or the names, each with the value it was given ("ALL,A,B=1").
    std::string text = exports.all ? "ALL" : exports.vars.empty() ? "NONE" : "";
    for (const auto& [name, value] : exports.vars)
      text += (text.empty() ? "" : ",") + name + (value ? "=" + *value : "");
    set("SLURM_EXPORT_ENV", text);
  }
  return {};
}

}  // namespace

// How its tasks lie on cores: --ntasks-per-core and --ntasks-per-socket ask nodes with enough
// cores and sockets for its tasks per node; --threads-per-core and the hints that keep to one
// thread of a core (nomultithread, compute_bound, memory_bound) take at most that many threads of
// each core for its CPUs. A hint with --ntasks-per-core or --threads-per-core is dropped, as
// Slurm's sbatch drops it.
Result<void> set_layout(const slurm::SbatchOptions& o, const Shape& shape, api::SubmitRequest& r) {
  const auto at_least = [&](std::int64_t per) { return static_cast<int>((shape.per_node + per - 1) / per); };
  if (o.ntasks_per_core) r.cores_per_node = at_least(*o.ntasks_per_core);
  if (o.ntasks_per_socket) r.sockets_per_node = std::max(r.sockets_per_node, at_least(*o.ntasks_per_socket));
  if (o.threads_used) r.cpu_threads_per_core = static_cast<int>(*o.threads_used);
  if (!o.hint || o.ntasks_per_core || o.threads_used) return {};
  const std::string& h = *o.hint;
  if (h == "nomultithread" || h == "compute_bound" || h == "memory_bound") {
    r.cpu_threads_per_core = 1;
  } else if (h != "multithread") {
    return fail("unrecognized --hint argument \"" + h + "\", see --hint=help");
  }
  return {};
}

Result<SbatchJob> sbatch_request(const slurm::SbatchOptions& o, const SbatchContext& c) {
  SbatchJob out;
  api::SubmitRequest& r = out.request;
  if (auto ok = set_script(o, c, r); !ok) return tl::unexpected(ok.error());
  if (auto ok = set_time(o, out); !ok) return tl::unexpected(ok.error());
  if (auto ok = set_nodes(o, out); !ok) return tl::unexpected(ok.error());
  Result<Shape> shape = set_shape(o, out);
  if (!shape) return tl::unexpected(shape.error());
  if (auto ok = set_devices(o, *shape, r); !ok) return tl::unexpected(ok.error());
  if (auto ok = set_tasks_per_gpu(o, *shape, r); !ok) return tl::unexpected(ok.error());
  if (auto ok = set_layout(o, *shape, r); !ok) return tl::unexpected(ok.error());
  if (auto ok = set_per_gpu(o, r); !ok) return tl::unexpected(ok.error());
  if (auto ok = set_queue(o, r); !ok) return tl::unexpected(ok.error());
  if (auto ok = set_environment(o, c, *shape, r); !ok) return tl::unexpected(ok.error());
  return out;
}

}  // namespace gwang::cli
