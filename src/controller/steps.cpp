// Job steps (srun inside a job): a step laid out over the job's nodes as Slurm lays it out,
// journalled and started; steps cancelled, their tasks' ends, and steps closed with their job.

#include <algorithm>
#include <cassert>
#include <csignal>
#include <filesystem>

#include "controller/controller.h"
#include "controller/launch.h"
#include "slurm/binding.h"
#include "slurm/features.h"

namespace gwang::controller {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kPortsBusy = "Requested TCP ports are busy";

// The job's nodes (indices) a step may run on, in the job's order, with those named first: from
// index `relative` on, less those excluded, and every node named (which must be the job's).
// `names`: the job's nodes' names.
Result<std::pair<std::vector<int>, int>> step_candidates(const api::StepRequest& r, std::int64_t job,
                                                         const std::vector<std::string>& names) {
  const int have = static_cast<int>(names.size());
  if (r.relative >= have) {
    return fail("relative node index " + std::to_string(r.relative) + " is beyond the " + std::to_string(have) +
                " node(s) of job " + std::to_string(job));
  }
  const auto named = [](const std::vector<std::string>& list, const std::string& n) {
    return std::find(list.begin(), list.end(), n) != list.end();
  };
  for (const std::string& n : r.nodelist) {
    if (!named(names, n)) return fail("node " + n + " is not one of job " + std::to_string(job) + "'s nodes");
    if (named(r.exclude, n)) return fail("node " + n + " is both asked for and excluded");
  }
  std::vector<int> first, rest;
  for (int i = std::max(0, r.relative); i < have; ++i) {
    const std::string& n = names[static_cast<std::size_t>(i)];
    if (named(r.nodelist, n))
      first.push_back(i);
    else if (!named(r.exclude, n))
      rest.push_back(i);
  }
  if (first.size() < r.nodelist.size()) {
    return fail("the nodes asked for are not all at or after relative node index " + std::to_string(r.relative));
  }
  const int required = static_cast<int>(first.size());
  first.insert(first.end(), rest.begin(), rest.end());
  return std::pair{std::move(first), required};
}

// Which of the job's nodes (indices) each task of a step runs on: as many tasks on a node as its
// CPUs hold (and at most ntasks_per_node), counted round-robin over the nodes (Slurm's step
// layout), then numbered in blocks or round-robin. `names`: the job's nodes; `cpus`: its CPUs on each.
Result<std::vector<int>> lay_out_step(const api::StepRequest& r, std::int64_t job,
                                      const std::vector<std::string>& names, int cpus) {
  const int cpt = r.cpus_per_task > 0 ? r.cpus_per_task : 1;
  auto candidates = step_candidates(r, job, names);
  if (!candidates) return tl::unexpected(candidates.error());
  auto& [usable, required] = *candidates;
  const int have = static_cast<int>(usable.size());
  // Every usable node unless fewer are asked for, or fewer tasks than nodes; at least those named.
  int nodes = r.nodes > 0 ? r.nodes : required > 0 ? required : have;
  if (nodes > have) {
    return fail("the step asks for " + std::to_string(nodes) + " nodes; job " + std::to_string(job) + " has " +
                std::to_string(have) + (have < static_cast<int>(names.size()) ? " of those it may use" : ""));
  }
  if (nodes < required) {
    return fail("the step asks for " + std::to_string(nodes) + " node(s) and names " + std::to_string(required));
  }
  const int ntasks = r.ntasks > 0 ? r.ntasks : r.ntasks_per_node > 0 ? nodes * r.ntasks_per_node : nodes;
  if (r.nodes == 0) nodes = std::max(required, std::min(nodes, ntasks));
  if (ntasks < nodes) {
    return fail("cannot run " + std::to_string(ntasks) + " task(s) on " + std::to_string(nodes) + " nodes");
  }
  // Overcommitted, a node takes as many tasks as asked whatever its CPUs.
  const int per_node = r.overcommit ? ntasks : cpus / cpt;
  const int cap = r.ntasks_per_node > 0 ? std::min(per_node, r.ntasks_per_node) : per_node;
  if (per_node < 1) {
    return fail("more processors requested than permitted: " + std::to_string(cpt) +
                " CPUs per task, and the job has " + std::to_string(cpus) + " on a node");
  }
  if (static_cast<std::int64_t>(cap) * nodes < ntasks) {
    return fail("more processors requested than permitted: " + std::to_string(ntasks) + " task(s) of " +
                std::to_string(cpt) + " CPU(s) on " + std::to_string(nodes) + " node(s) of " + std::to_string(cpus) +
                " CPU(s) (at most " + std::to_string(cap) + " task(s) a node)");
  }
  // The step's nodes, in the job's order.
  std::vector<int> chosen(usable.begin(), usable.begin() + nodes);
  std::sort(chosen.begin(), chosen.end());
  const std::vector<int> counts = tasks_on_nodes(ntasks, nodes, cap);
  std::vector<int> out(static_cast<std::size_t>(ntasks), 0);
  if (r.cyclic) {
    std::vector<int> left = counts;
    for (int t = 0, n = 0; t < ntasks; n = (n + 1) % nodes) {
      if (left[static_cast<std::size_t>(n)] == 0) continue;
      --left[static_cast<std::size_t>(n)];
      out[static_cast<std::size_t>(t++)] = chosen[static_cast<std::size_t>(n)];
    }
  } else {
    for (int n = 0, t = 0; n < nodes; ++n) {
      for (int k = 0; k < counts[static_cast<std::size_t>(n)]; ++k)
        out[static_cast<std::size_t>(t++)] = chosen[static_cast<std::size_t>(n)];
    }
  }
  return out;
}

// Whether a step has only its tasks' CPUs: srun --exact (or --exclusive), or -c given, as Slurm
// 22.05 takes it.
bool exact(const api::StepRequest& r) { return r.exact || r.cpus_per_task > 0; }

// What a step holds on each of its job's nodes (by index): CPUs and memory.
struct StepHolds {
  std::vector<int> cpus;
  std::vector<std::int64_t> mem;
};

// How many of a step's tasks each of its job's nodes runs (by index), and on how many nodes.
struct StepSpread {
  std::vector<int> tasks;
  int nodes = 0;
};
StepSpread spread_of(const JobRecord& job, const std::vector<int>& task_nodes) {
  StepSpread s{std::vector<int>(job.tasks.size(), 0), 0};
  for (const int n : task_nodes) s.nodes += s.tasks[static_cast<std::size_t>(n)]++ == 0;
  return s;
}

// The GPUs a step asks for on a node where `tasks` of its tasks run (srun --gpus-per-task, --gpus
// over its nodes, --gpus-per-node or --gres); -1 where it asks none (it has all of the job's).
int gpus_asked(const api::StepRequest& r, int tasks, int nodes) {
  if (r.gpus_per_task > 0) return r.gpus_per_task * tasks;
  if (r.gpus > 0) return r.gpus / std::max(1, nodes);
  return r.gpus_per_node;
}

// A step's holds: on each node with tasks of it, its tasks' CPUs (exact) or all of the job's, and
// the memory asked (per node, per CPU or per GPU) or all of the job's. Error: more memory than the
// job's.
Result<StepHolds> step_holds(const JobRecord& job, const api::StepRequest& r, const std::vector<int>& task_nodes) {
  StepHolds h{std::vector<int>(job.tasks.size(), 0), std::vector<std::int64_t>(job.tasks.size(), 0)};
  const auto [tasks, nodes] = spread_of(job, task_nodes);
  const int cpt = r.cpus_per_task > 0 ? r.cpus_per_task : 1;
  for (std::size_t n = 0; n < job.tasks.size(); ++n) {
    if (tasks[n] == 0) continue;
    h.cpus[n] = exact(r) ? std::min(job.request.cpus, tasks[n] * cpt) : job.request.cpus;
    // The step's GPUs there (step_devices gives which).
    const int asked = gpus_asked(r, tasks[n], nodes);
    const std::int64_t gpus = asked >= 0 ? asked : static_cast<std::int64_t>(job.tasks[n].devices.size());
    h.mem[n] = r.mem_per_cpu > 0   ? r.mem_per_cpu * h.cpus[n]
               : r.mem_per_gpu > 0 ? r.mem_per_gpu * gpus
               : r.mem_bytes > 0   ? r.mem_bytes
                                   : job.request.mem_bytes;
    // A size in whole MiB (srun's, or the job's own SLURM_MEM_PER_NODE, rounded up) within one MiB
    // of the job's is the job's.
    if (h.mem[n] > job.request.mem_bytes && h.mem[n] - job.request.mem_bytes < kMiB) h.mem[n] = job.request.mem_bytes;
    if (h.mem[n] > job.request.mem_bytes) return fail("Memory required by task is not available");
  }
  return h;
}

// Whether the job's running steps (those that do not overlap) hold too much for `need` now.
bool busy_on(const JobRecord& job, const StepHolds& need) {
  for (std::size_t n = 0; n < job.tasks.size(); ++n) {
    if (need.cpus[n] == 0) continue;
    int cpus = 0;
    std::int64_t mem = 0;
    for (const StepRecord& step : job.steps) {
      if (step.ended() || step.overlap) continue;
      if (n < step.node_cpus.size()) cpus += step.node_cpus[n];
      if (n < step.node_mem.size()) mem += step.node_mem[n];
    }
    if (cpus + need.cpus[n] > job.request.cpus || mem + need.mem[n] > job.request.mem_bytes) return true;
  }
  return false;
}

// A step's devices: on each of the job's nodes (by index), and each task's.
struct StepDevices {
  bool own = false;  // asked for (--gres, --gpus...); else all of the job's
  std::vector<std::vector<std::string>> node, task;
};

// The devices a step gets, as Slurm 22.05 gives GPUs to steps: those it asks for (the lowest free
// of the type asked), each task its own with --gpus-per-task; or, asking none, all of the job's.
// A step that does not overlap waits (`busy`) while the job's running steps hold them; those that
// ask none hold all. `kind_of(n, d)`: the kind of the job's node n's device of index d.
// Errors: more than the job has there, or of a type it has not.
template <class KindOf>
Result<StepDevices> step_devices(const JobRecord& job, const api::StepRequest& r, const std::vector<int>& task_nodes,
                                 KindOf kind_of, bool& busy) {
  StepDevices out;
  out.own = r.gpus_per_node >= 0 || r.gpus_per_task > 0 || r.gpus > 0;
  out.node.resize(job.tasks.size());
  out.task.resize(task_nodes.size());
  const auto [tasks, nodes] = spread_of(job, task_nodes);
  if (r.gpus > 0 && r.gpus % nodes != 0) {
    return fail("Invalid generic resource (gres) specification: " + std::to_string(r.gpus) +
                " GPU(s) do not divide evenly over the step's " + std::to_string(nodes) + " node(s)");
  }
  for (std::size_t n = 0; n < job.tasks.size(); ++n) {
    if (tasks[n] == 0) continue;
    const TaskRecord& t = job.tasks[n];
    // What the job's running steps hold there.
    std::vector<std::string> held;
    for (const StepRecord& step : job.steps) {
      if (step.ended() || step.overlap) continue;
      const bool here = std::any_of(step.tasks.begin(), step.tasks.end(),
                                    [&](const StepTaskRecord& x) { return x.node == static_cast<int>(n); });
      if (!here) continue;
      if (!step.own_devices)
        held.insert(held.end(), t.devices.begin(), t.devices.end());
      else if (n < step.node_devices.size())
        held.insert(held.end(), step.node_devices[n].begin(), step.node_devices[n].end());
    }
    const auto is_held = [&](const std::string& uuid) {
      return std::find(held.begin(), held.end(), uuid) != held.end();
    };
    if (!out.own) {
      if (!r.overlap && std::any_of(t.devices.begin(), t.devices.end(), is_held)) busy = true;
      out.node[n] = t.devices;
      continue;
    }
    const int want = gpus_asked(r, tasks[n], nodes);
    std::vector<std::string> fitting, free;
    for (std::size_t d = 0; d < t.devices.size() && d < t.shares.size(); ++d) {
      const std::string kind = kind_of(n, t.shares[d].index);
      if (!r.gpu_type.empty() && kind != r.gpu_type && !kind.ends_with(":" + r.gpu_type)) continue;
      fitting.push_back(t.devices[d]);
      if (r.overlap || !is_held(t.devices[d])) free.push_back(t.devices[d]);
    }
    if (want > static_cast<int>(fitting.size())) {
      return fail("Invalid generic resource (gres) specification: the step asks for " + std::to_string(want) +
                  " GPU(s)" + (r.gpu_type.empty() ? "" : " of type " + r.gpu_type) + " on " + t.node +
                  ", where the job has " + std::to_string(fitting.size()));
    }
    if (want > static_cast<int>(free.size())) {
      busy = true;
      continue;
    }
    out.node[n].assign(free.begin(), free.begin() + want);
  }
  if (busy) return out;
  // Each task's: its own share with --gpus-per-task, else all of its step's on its node.
  std::vector<int> next(job.tasks.size(), 0);
  for (std::size_t k = 0; k < task_nodes.size(); ++k) {
    const auto n = static_cast<std::size_t>(task_nodes[k]);
    if (!out.own) continue;
    if (r.gpus_per_task > 0) {
      const auto from = out.node[n].begin() + next[n] * r.gpus_per_task;
      out.task[k].assign(from, from + r.gpus_per_task);
      ++next[n];
    } else {
      out.task[k] = out.node[n];
    }
  }
  return out;
}

// srun --gpu-bind: each task's part of its step's GPUs on its node. `near_of(n, uuid)`: the CPUs
// near a device of the job's node n.
template <class NearOf>
void bind_step_gpus(const JobRecord& job, const api::StepRequest& r, const std::vector<int>& task_nodes,
                    const std::vector<std::vector<int>>& task_cpus, StepDevices& devices, NearOf near_of) {
  const auto bind = slurm::parse_gpu_bind(r.gpu_bind);  // checked with the request
  if (!bind || bind->type == "none") return;
  if (!devices.own) {
    // The job's GPUs, now each task's own part of them: held as the step's.
    devices.own = true;
    for (std::size_t n = 0; n < job.tasks.size(); ++n) devices.node[n] = job.tasks[n].devices;
    devices.task.assign(task_nodes.size(), {});
  }
  for (std::size_t n = 0; n < job.tasks.size(); ++n) {
    const std::vector<std::string>& gpus = devices.node[n];
    std::vector<std::size_t> mine;  // the step's tasks on node n, by local id
    for (std::size_t k = 0; k < task_nodes.size(); ++k) {
      if (task_nodes[k] == static_cast<int>(n)) mine.push_back(k);
    }
    if (mine.empty() || gpus.empty()) continue;
    std::vector<std::vector<int>> near(gpus.size()), cpus;
    for (std::size_t g = 0; g < gpus.size(); ++g) near[g] = near_of(n, gpus[g]);
    for (std::size_t k : mine) cpus.push_back(k < task_cpus.size() ? task_cpus[k] : std::vector<int>{});
    const auto chosen =
        slurm::bind_gpus(*bind, static_cast<int>(gpus.size()), static_cast<int>(mine.size()), near, cpus);
    for (std::size_t local = 0; local < mine.size(); ++local) {
      std::vector<std::string>& task = devices.task[mine[local]];
      task.clear();
      for (const int g : chosen[local]) task.push_back(gpus[static_cast<std::size_t>(g)]);
    }
  }
}

}  // namespace

Result<std::vector<int>> Controller::reserve_ports(const JobRecord& job, int count,
                                                   const std::vector<int>& task_nodes) const {
  std::map<int, int> per_node;  // job node index -> the step's tasks there
  for (const int n : task_nodes) ++per_node[n];
  if (count == 0) {
    for (const auto& [n, tasks] : per_node) count = std::max(count, tasks);
  }
  if (count == 0) return std::vector<int>{};
  // The ports held on the step's nodes by the running steps of any job.
  std::set<std::string> names;
  for (const auto& [n, tasks] : per_node) names.insert(job.tasks[static_cast<std::size_t>(n)].node);
  std::set<int> held;
  for (const std::int64_t id : running_) {
    const JobRecord* other = jobs_.find(id);
    for (const StepRecord& st : other->steps) {
      if (st.ended() || st.resv_ports.empty()) continue;
      const bool shares = std::any_of(st.tasks.begin(), st.tasks.end(), [&](const StepTaskRecord& t) {
        return names.contains(other->tasks[static_cast<std::size_t>(t.node)].node);
      });
      if (shares) held.insert(st.resv_ports.begin(), st.resv_ports.end());
    }
  }
  std::vector<int> out;
  for (int p = options_.resv_port_low; p <= options_.resv_port_high && static_cast<int>(out.size()) < count; ++p) {
    if (!held.contains(p)) out.push_back(p);
  }
  if (static_cast<int>(out.size()) < count) {
    if (count > options_.resv_port_high - options_.resv_port_low + 1)
      return fail("Requested more TCP ports than the " +
                  std::to_string(options_.resv_port_high - options_.resv_port_low + 1) + " there are (resv_ports)");
    return fail(std::string(kPortsBusy));
  }
  return out;
}

Result<StepRecord> Controller::start_step(std::int64_t id, const api::StepRequest& r, const std::string& user,
                                          bool operator_rights, std::int64_t now, bool* busy) {
  Changing lock(*this);
  const JobRecord* found = jobs_.find(id);
  if (!found || (!operator_rights && found->user != user)) {
    return fail("job " + std::to_string(id) + " not found");
  }
  const JobRecord& job = *found;
  if (job.state != JobState::Running || stopping_.contains(id)) {
    return fail("job " + std::to_string(id) +
                (job.ended()                      ? " has ended (" + std::string(to_string(job.state)) + ")"
                 : job.state == JobState::Pending ? " is not running yet"
                                                  : " is ending"));
  }
  std::vector<std::string> names;
  for (const TaskRecord& t : job.tasks) names.push_back(t.node);
  api::StepRequest within = r;
  int left = 0;
  for (const TaskRecord& t : job.tasks) {
    if (t.lost) within.exclude.push_back(t.node);  // its node failed and left the job (--no-kill)
    left += t.lost ? 0 : 1;
  }
  if (r.nodes_from_env && within.nodes > left) within.nodes = left;
  if (!r.constraint.empty()) {
    // srun -C: the job's nodes without the features are left out, as if excluded.
    const auto ways = slurm::parse_constraint(r.constraint);  // checked with the request: one way
    int meeting = 0;
    for (const std::string& n : names) {
      const auto it = nodes_.find(n);
      const std::vector<std::string> none;
      const std::vector<std::string>& have = it == nodes_.end() ? none : it->second->host.features;
      ways&& slurm::meets(ways->front().all, have) ? (void)++meeting : within.exclude.push_back(n);
    }
    if (meeting == 0) return fail("Requested node configuration is not available: no node of the job has the features");
  }
  auto layout = lay_out_step(within, id, names, job.request.cpus);
  if (!layout) return tl::unexpected(layout.error());
  auto holds = step_holds(job, r, *layout);
  if (!holds) return tl::unexpected(holds.error());
  bool taken = !r.overlap && busy_on(job, *holds);
  const auto kind_of = [&](std::size_t n, std::size_t d) -> std::string {
    const auto it = nodes_.find(job.tasks[n].node);
    return it != nodes_.end() && d < it->second->host.devices.size() ? it->second->host.devices[d].kind : "";
  };
  auto devices = step_devices(job, r, *layout, kind_of, taken);
  if (!devices) return tl::unexpected(devices.error());
  if (taken) {
    if (busy) *busy = !r.immediate;
    return fail("Requested nodes are busy");
  }
  if (r.pty_rows > 0 && !layout->empty()) {
    const Node* first = find_node(job.tasks[static_cast<std::size_t>(layout->front())].node);
    if (first && !first->local && !first->heard) {
      return fail("node " + first->name + "'s agent has not called since the controller started: try again in a " +
                  "moment");
    }
    if (first && !first->local && !first->takes_terminals) {
      return fail("node " + first->name + "'s agent is of an earlier gwang, which runs no task on a terminal: " +
                  "update it, or run the step without --pty");
    }
  }
  events::StepStarted started;
  started.id = id;
  started.attempt = job.attempt;
  started.step = static_cast<int>(job.steps.size());
  started.name = r.name.empty() ? fs::path(r.command.front()).filename().string() : r.name;
  started.argv = r.command;
  started.workdir = r.workdir;
  started.env = r.env;
  started.cpus_per_task = r.cpus_per_task > 0 ? r.cpus_per_task : 0;
  started.kill_on_bad_exit = r.kill_on_bad_exit;
  started.no_kill = r.no_kill;
  started.pty_rows = r.pty_rows;
  started.pty_cols = r.pty_cols;
  started.task_nodes = std::move(*layout);
  started.task_cpus = step_cpus(job, started.task_nodes, r.cpus_per_task > 0 ? r.cpus_per_task : 1, exact(r),
                                slurm::cpu_bind_of(r.env));
  started.overlap = r.overlap;
  started.node_cpus = std::move(holds->cpus);
  started.node_mem = std::move(holds->mem);
  if (!r.gpu_bind.empty()) {
    bind_step_gpus(job, r, started.task_nodes, started.task_cpus, *devices,
                   [&](std::size_t n, const std::string& uuid) -> std::vector<int> {
                     const auto it = nodes_.find(job.tasks[n].node);
                     if (it == nodes_.end()) return {};
                     for (const agent::Device& d : it->second->host.devices)
                       if (d.uuid == uuid) return d.near_cpus;
                     return {};
                   });
  }
  started.own_devices = devices->own;
  started.preserve_env = r.preserve_env;
  started.time_s = r.time_s;
  if (r.resv_ports >= 0) {
    auto ports = reserve_ports(job, r.resv_ports, started.task_nodes);
    if (!ports) {
      // It waits for another step's ports, as for its CPUs; more than there are, it cannot.
      if (busy && ports.error().message == kPortsBusy) *busy = !r.immediate;
      return tl::unexpected(ports.error());
    }
    started.resv_ports = std::move(*ports);
  }
  if (devices->own) {
    started.node_devices = std::move(devices->node);
    started.task_devices = std::move(devices->task);
  }
  if (auto w = journal(started, now); !w) return tl::unexpected(w.error());
  auto applied = apply(started, now);
  assert(applied);  // the job's next step, laid out on its nodes
  (void)applied;
  JobRecord& running = *jobs_.edit(id);  // as the step's start left it
  launch_step(running, running.steps.back());
  return running.steps.back();
}

Result<StepRecord> Controller::cancel_step(std::int64_t id, int step_id, const std::string& user, bool operator_rights,
                                           std::int64_t now) {
  Changing lock(*this);
  const JobRecord* found = jobs_.find(id);
  if (!found || (!operator_rights && found->user != user) || step_id < 0 ||
      step_id >= static_cast<int>(found->steps.size())) {
    return fail("step " + std::to_string(id) + "." + std::to_string(step_id) + " not found");
  }
  if (found->steps[static_cast<std::size_t>(step_id)].ended()) {
    const StepRecord& ended = found->steps[static_cast<std::size_t>(step_id)];
    return fail("step " + std::to_string(id) + "." + std::to_string(step_id) + " has already ended (" +
                std::string(to_string(ended.state)) + ")");
  }
  JobRecord& job = *jobs_.edit(id);
  StepRecord& step = job.steps[static_cast<std::size_t>(step_id)];
  stop_step(job, step, "cancelled by " + user, true, now);
  return step;
}

void Controller::steps_past_their_limits(std::int64_t id, std::int64_t now) {
  std::vector<std::size_t> due;
  for (const StepRecord& st : jobs_.find(id)->steps) {
    if (st.time_s > 0 && !st.ended() && st.stopping.empty() && now >= st.start + st.time_s) {
      due.push_back(static_cast<std::size_t>(st.id));
    }
  }
  if (due.empty()) return;
  JobRecord& job = *jobs_.edit(id);
  for (const std::size_t s : due) stop_step(job, job.steps[s], std::string(api::kStepTimeLimit), true, now);
}

void Controller::stop_step(JobRecord& job, StepRecord& step, const std::string& why, bool cancel, std::int64_t now) {
  if (!step.stopping.empty()) {
    if (cancel && !step.cancelled) step.cancelled = true;
    return;
  }
  const events::StepStopping stopping{job.id, job.attempt, step.id, why, cancel};
  journal_async(stopping, now);
  (void)apply(stopping, now);  // of a step of the job's attempt: cannot fail
  for (std::size_t t = 0; t < step.tasks.size(); ++t) {
    if (step.tasks[t].done()) continue;
    Node* node = find_node(job.tasks[static_cast<std::size_t>(step.tasks[t].node)].node);
    if (node && node->local) {
      local_->terminate(agent::step_task_id(job.id, job.attempt, step.id, static_cast<int>(t)),
                        agent::TaskEnd::Cancelled, why);
    }
  }
  orders_cv_.notify_all();
}

void Controller::step_task_ended(StepRecord& step, int task, JobState state, int exit_code, int signal,
                                 std::int64_t time) {
  if (task < 0 || task >= static_cast<int>(step.tasks.size())) return;
  StepTaskRecord& t = step.tasks[static_cast<std::size_t>(task)];
  if (t.done()) return;
  t.state = state;
  t.exit_code = exit_code;
  t.signal = signal;
  // A task ended by the step's own stop says nothing of how the step went; one killed outright
  // (SIGKILL) ends it as killed, CANCELLED, as Slurm has it.
  if (state != JobState::Completed && !step.failure && !(state == JobState::Cancelled && !step.stopping.empty()))
    step.failure = state == JobState::Failed && signal == SIGKILL ? JobState::Cancelled : state;
  // The step's code is its tasks' highest wait status (as Slurm's): an exit code over a signal.
  if (exit_code * 256 + signal > step.exit_code * 256 + step.signal) {
    step.exit_code = exit_code;
    step.signal = signal;
  }
  if (!std::all_of(step.tasks.begin(), step.tasks.end(), [](const StepTaskRecord& x) { return x.done(); })) return;
  // Ended at its own time limit: TIMEOUT, as Slurm's step.
  step.state = step.cancelled ? (step.stopping == api::kStepTimeLimit ? JobState::Timeout : JobState::Cancelled)
                              : step.failure.value_or(JobState::Completed);
  step.end = time;
}

void Controller::close_steps(JobRecord& job, std::int64_t time, bool nodes) {
  for (StepRecord& step : job.steps) {
    if (step.ended()) continue;
    if (step.stopping.empty()) step.stopping = "the job ended";
    for (std::size_t t = 0; t < step.tasks.size(); ++t) {
      if (step.tasks[t].done()) continue;
      if (nodes) {
        const std::string task = agent::step_task_id(job.id, job.attempt, step.id, static_cast<int>(t));
        if (Node* node = find_node(job.tasks[static_cast<std::size_t>(step.tasks[t].node)].node)) {
          node->tasks.erase(task);
          node->launches.erase(task);
          if (node->local) local_->terminate(task, agent::TaskEnd::Cancelled, step.stopping);
        }
      }
      step_task_ended(step, static_cast<int>(t), JobState::Cancelled, 0, SIGTERM, time);  // what it is sent
      note_step_news(job);
    }
    step.state = JobState::Cancelled;  // the job's end ended it, whatever its tasks did
  }
  if (nodes) orders_cv_.notify_all();  // remote agents are told to end what they still run of it
}

std::optional<std::pair<agent::TaskEnd, std::string>> Controller::stop_of(const agent::TaskRef& task) const {
  if (auto s = stopping_.find(task.job); s != stopping_.end()) return s->second;
  if (task.step < 0) return std::nullopt;
  const JobRecord* job = jobs_.find(task.job);
  if (!job || job->attempt != task.attempt || task.step >= static_cast<int>(job->steps.size())) return std::nullopt;
  const StepRecord& step = job->steps[static_cast<std::size_t>(task.step)];
  if (step.stopping.empty()) return std::nullopt;
  return std::make_pair(agent::TaskEnd::Cancelled, step.stopping);
}

void Controller::note_step_news(JobRecord& job) {
  ++job.step_news;
  step_news_due_ = true;
}

bool Controller::wait_step_news(std::int64_t id, std::uint64_t seen, std::chrono::milliseconds most) {
  const auto news = [&] {
    const JobRecord* job = view()->jobs.find(id);
    return !job || job->step_news != seen;
  };
  std::unique_lock lock(mu_);
  if (news()) return true;
  if (step_waiters_ >= options_.max_waiting_steps) return false;
  ++step_waiters_;
  step_news_cv_.wait_for(lock, most, news);
  --step_waiters_;
  return true;
}

}  // namespace gwang::controller
