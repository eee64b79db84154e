#include "controller/controller.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "api/units.h"
#include "controller/auth.h"
#include "controller/codec.h"
#include "core/calendar.h"
#include "slurm/core_dependencies.h"
#include "slurm/hostlist.h"
#include "slurm/specs.h"
#include "store/postgres.h"

namespace gwang::controller {

namespace {

core::JobState core_outcome(const std::string& state) {
  if (state == kCompleted) return core::JobState::Finished;
  if (state == kCancelled) return core::JobState::Cancelled;
  if (state == kTimeout) return core::JobState::TimedOut;
  return core::JobState::Failed;
}

}  // namespace

using nlohmann::json;
namespace fs = std::filesystem;
namespace proto = agent::protocol;

namespace {

constexpr core::Milli kMiB = 1LL << 20;

json request_json(const api::SubmitRequest& r) { return json::parse(api::to_json(r)); }

std::string state_for(agent::TaskEnd end, int exit_code) {
  switch (end) {
    case agent::TaskEnd::Exited:
      return exit_code == 0 ? kCompleted : kFailed;
    case agent::TaskEnd::Signaled:
      return kFailed;
    case agent::TaskEnd::TimedOut:
      return kTimeout;
    case agent::TaskEnd::Cancelled:
      return kCancelled;
    case agent::TaskEnd::OutOfMemory:
      return kOutOfMemory;
  }
  return kFailed;
}

json devices_json(const std::vector<agent::Device>& devices) {
  json out = json::array();
  for (const auto& d : devices) {
    out.push_back({{"kind", d.kind},
                   {"name", d.name},
                   {"uuid", d.uuid},
                   {"index", d.index},
                   {"memory", d.memory_bytes},
                   {"declared", d.declared}});
  }
  return out;
}

std::vector<agent::Device> devices_from(const json& a) {
  std::vector<agent::Device> out;
  for (const json& d : a) {
    out.push_back({d.at("kind").get<std::string>(), d.value("name", ""), d.at("uuid").get<std::string>(),
                   d.at("index").get<int>(), d.value("memory", std::int64_t{0}), d.value("declared", false)});
  }
  return out;
}

// What differs between the resources a node was registered with and what its agent reports now.
std::string resource_change(const agent::HostResources& was, const agent::HostResources& now) {
  if (was.cpus != now.cpus) return std::to_string(was.cpus) + " CPUs, now " + std::to_string(now.cpus);
  if (was.memory_bytes != now.memory_bytes)
    return api::format_memory(was.memory_bytes) + " of memory, now " + api::format_memory(now.memory_bytes);
  if (was.devices.size() != now.devices.size())
    return std::to_string(was.devices.size()) + " devices, now " + std::to_string(now.devices.size());
  for (std::size_t i = 0; i < was.devices.size(); ++i) {
    if (was.devices[i].uuid != now.devices[i].uuid || was.devices[i].kind != now.devices[i].kind)
      return "device " + was.devices[i].uuid + " (" + was.devices[i].kind + "), now " + now.devices[i].uuid + " (" +
             now.devices[i].kind + ")";
  }
  return "";
}

}  // namespace

std::vector<int> StepRecord::nodes() const {
  std::vector<int> out;
  for (const StepTaskRecord& t : tasks) {
    if (std::find(out.begin(), out.end(), t.node) == out.end()) out.push_back(t.node);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string JobRecord::nodelist() const {
  std::string out;
  for (const TaskRecord& t : tasks) out += (out.empty() ? "" : ",") + t.node;
  return out;
}

Controller::Controller(ControllerOptions options) : options_(std::move(options)), books_(options_.accounting) {}

Controller::~Controller() {
  std::lock_guard lock(mu_);
  local_.reset();  // ends what is left of the local tasks
}

Result<std::unique_ptr<Controller>> Controller::open(ControllerOptions options, std::int64_t now) {
  std::error_code ec;
  fs::create_directories(fs::path(options.data_dir) / "jobs", ec);
  if (ec) return fail(options.data_dir + ": cannot create: " + ec.message());
  fs::permissions(fs::path(options.data_dir) / "jobs",
                  fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec, ec);
  auto journal = options.store.empty() ? store::open_sqlite_journal((fs::path(options.data_dir) / "state.db").string())
                                       : store::open_postgres_journal(options.store, options.postgres);
  if (!journal) return tl::unexpected(journal.error());

  auto c = std::unique_ptr<Controller>(new Controller(std::move(options)));
  c->journal_ = std::move(*journal);
  c->committer_ = std::make_unique<store::GroupCommitter>(*c->journal_);
  c->started_ = agent::Clock::now();
  c->instance_ = std::to_string(::getpid()) + "-" + std::to_string(reinterpret_cast<std::uintptr_t>(c.get()) % 100000);

  core::SchedulerOptions sched;
  sched.order = c->options_.queue_order;
  sched.usage_weights = c->options_.accounting.rates.per_accelerator_hour;
  sched.fairshare.algorithm = core::FairShareAlgorithm::FairTree;
  sched.cpu_usage_weight = c->options_.accounting.rates.per_cpu_hour;
  sched.backfill = c->options_.backfill;
  sched.placement = core::PlacementKind::BestFit;
  sched.backfill_depth = 1000;  // a pass tries at most this many queued jobs, like Slurm's bf_max_job_test
  c->scheduler_ = std::make_unique<core::Scheduler>(core::Cluster{}, sched);

  std::vector<api::Partition> partitions = c->options_.partitions;
  if (partitions.empty()) partitions.push_back(api::implicit_partition());
  if (partitions.size() > static_cast<std::size_t>(core::kMaxPools)) return fail("more than 64 partitions");
  for (const api::Partition& p : partitions) {
    PartitionNodes n;
    n.spec = p;
    n.all = p.nodes == "ALL";
    if (!n.all) {
      auto hosts = slurm::HostList::parse(p.nodes);
      if (!hosts) return fail("partition " + p.name + ": nodes: " + hosts.error().message);
      for (std::string& h : hosts->expand()) n.names.insert(std::move(h));
    }
    c->partitions_.push_back(std::move(n));
  }

  if (!c->options_.local_node.empty()) {
    agent::NodeAgentOptions a;
    a.log_dir = (fs::path(c->options_.data_dir) / "jobs").string();
    a.host = c->options_.host;
    a.tracking = c->options_.tracking;
    a.kill_grace = c->options_.kill_grace;
    a.allow_root = c->options_.allow_root;
    a.group_suffix = "." + c->instance_;
    a.state_dir = (fs::path(c->options_.data_dir) / "local").string();
    const std::string state_dir = a.state_dir;
    // Tasks of a previous run that stopped without ending them (killed, crashed) end now: a job that
    // was running then is over (NODE_FAIL after recovery), and so must be every process of it.
    const fs::path instance_file = fs::path(c->options_.data_dir) / "instance";
    std::string previous;
    if (std::ifstream in(instance_file); in) std::getline(in, previous);
    agent::end_leftovers(agent::Tracking::detect(a.tracking), previous.empty() ? "" : "." + previous, state_dir);
    c->local_ = std::make_unique<agent::NodeAgent>(std::move(a));
    std::ofstream out(instance_file, std::ios::trunc);
    out << c->instance_ << '\n';
    if (!out) return fail(instance_file.string() + ": cannot write");
    Node& local = c->add_node(c->options_.local_node, c->options_.host, true);
    local.address = "127.0.0.1";
    local.tracking = c->local_->tracking().describe();
  }
  if (auto r = c->recover(now); !r) return tl::unexpected(r.error());
  return c;
}

Result<void> Controller::journal(const std::string& kind, const std::string& payload, std::int64_t now) {
  auto r = committer_->append_and_wait({0, now, kind, payload});
  if (!r) return tl::unexpected(r.error());
  return {};
}

Controller::Node* Controller::find_node(const std::string& name) {
  auto it = nodes_.find(name);
  return it == nodes_.end() ? nullptr : it->second.get();
}

Controller::Node& Controller::add_node(const std::string& name, const agent::HostResources& host, bool local) {
  core::NodeSpec spec{name, {}, {}, pools_of(name)};
  spec.scalars.set(core::ResourceRegistry::kCpu, host.cpus * core::kMilli);
  spec.scalars.set(core::ResourceRegistry::kMemory, host.memory_bytes / kMiB * core::kMilli);
  for (const agent::Device& d : host.devices) spec.devices.push_back(scheduler_->intern_kind(d.kind));
  auto node = std::make_unique<Node>();
  node->name = name;
  node->id = scheduler_->add_node(spec);
  node->local = local;
  node->host = host;
  node->drained = drained_names_.contains(name);
  Node& n = *node;
  by_id_.push_back(&n);
  nodes_[name] = std::move(node);
  return n;
}

core::PoolSet Controller::pools_of(const std::string& node) const {
  core::PoolSet pools = 0;
  for (std::size_t k = 0; k < partitions_.size(); ++k) {
    if (partitions_[k].all || partitions_[k].names.contains(node)) pools |= core::PoolSet{1} << k;
  }
  return pools;
}

int Controller::pool_of(const std::string& partition) const {
  for (std::size_t k = 0; k < partitions_.size(); ++k) {
    if (partitions_[k].spec.name == partition) return static_cast<int>(k) + 1;
  }
  return 0;
}

std::vector<Controller::PartitionRecord> Controller::partitions() const {
  std::lock_guard lock(mu_);
  std::vector<PartitionRecord> out;
  for (const PartitionNodes& p : partitions_) {
    PartitionRecord r{p.spec, {}};
    for (const Node* n : by_id_) {
      if (p.all || p.names.contains(n->name)) r.nodes.push_back(n->name);
    }
    out.push_back(std::move(r));
  }
  return out;
}

void Controller::apply_node_state(Node& node, std::int64_t now) {
  if (node.down) return;  // set by node_down, which also ends the node's jobs
  const bool takes_work = node.heard && !node.drained;
  scheduler_->set_node_state(node.id, takes_work ? core::NodeState::Up : core::NodeState::Drained, now);
  pass_due_ = true;
}

Result<void> Controller::apply(const store::Record& rec) {
  const std::string where = "journal record " + std::to_string(rec.seq) + " (" + rec.kind + ")";
  json p;
  try {
    p = json::parse(rec.payload);
    if (Accounting::handles(rec.kind)) {
      if (auto r = books_.apply(rec.kind, p, rec.time); !r) return fail(where + ": " + r.error().message);
      return {};
    }
    const std::int64_t id = p.value("id", std::int64_t{0});
    if (rec.kind == "job.submitted") {
      auto request = api::parse_submit(p["request"]);
      if (!request) return fail(where + ": " + request.error().message);
      JobRecord job;
      job.id = id;
      job.user = p["user"].get<std::string>();
      job.project = p.value("project", "");
      job.preemptible = p.value("preemptible", false);
      job.request = *request;
      job.submit = rec.time;
      if (job.request.hold) job.hold = "user";
      jobs_[id] = std::move(job);
      next_id_ = std::max(next_id_, id + 1);
      return {};
    }
    if (rec.kind == "job.array_submitted") {
      auto request = api::parse_submit(p["request"]);
      if (!request) return fail(where + ": " + request.error().message);
      std::int64_t task_id = id;
      for (const json& index : p.at("tasks")) {
        JobRecord job;
        job.id = task_id++;
        job.user = p["user"].get<std::string>();
        job.project = p.value("project", "");
        job.preemptible = p.value("preemptible", false);
        job.request = *request;
        job.submit = rec.time;
        job.array_job = id;
        job.array_task = index.get<std::int64_t>();
        if (job.request.hold) job.hold = "user";
        jobs_[job.id] = std::move(job);
      }
      next_id_ = std::max(next_id_, task_id);
      return {};
    }
    if (rec.kind == "node.registered") {
      const std::string name = p.at("node").get<std::string>();
      Node* node = find_node(name);
      agent::HostResources host;
      host.cpus = p.at("cpus").get<int>();
      host.memory_bytes = p.at("memory").get<std::int64_t>();
      host.devices = devices_from(p.at("devices"));
      if (!node) {
        node = &add_node(name, host, false);
      } else if (!node->local) {
        node->host = host;  // a change is refused while a node is known; kept as journalled
      }
      node->instance = p.value("instance", "");
      node->address = p.value("address", "");
      node->heard = false;  // until its agent calls this controller
      return {};
    }
    if (rec.kind == "job.hold") {
      const std::string hold = p.at("hold").get<std::string>();
      for (const json& each : p.at("ids")) {
        auto it = jobs_.find(each.get<std::int64_t>());
        if (it == jobs_.end()) return fail(where + " names unknown job " + each.dump());
        it->second.hold = hold;
      }
      return {};
    }
    if (rec.kind == "node.state") {
      const std::string name = p.at("node").get<std::string>();
      const bool drained = p.at("state").get<std::string>() != "up";
      drained ? (void)drained_names_.insert(name) : (void)drained_names_.erase(name);
      if (Node* node = find_node(name)) node->drained = drained;
      return {};
    }
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return fail(where + " names unknown job " + std::to_string(id));
    JobRecord& job = it->second;
    if (rec.kind == "job.started") {
      job.state = kRunning;
      job.start = rec.time;
      job.attempt = p.value("attempt", 0);
      job.credential = p.value("credential", "");
      job.tasks.clear();
      for (const json& t : p.at("tasks")) {
        TaskRecord task;
        task.node = t.at("node").get<std::string>();
        task.devices = t.at("devices").get<std::vector<std::string>>();
        for (const json& s : t.at("shares")) {
          task.shares.push_back({s.at(0).get<std::uint16_t>(), s.at(1).get<core::Milli>()});
        }
        job.tasks.push_back(std::move(task));
      }
    } else if (rec.kind == "job.rank_ended") {
      const int rank = p.at("rank").get<int>();
      if (p.at("attempt").get<int>() == job.attempt && rank >= 0 && rank < static_cast<int>(job.tasks.size())) {
        job.tasks[rank].done = true;
        rank_ends_[id][rank] = {p.at("state").get<std::string>(), p.at("exit_code").get<int>(),
                                p.at("reason").get<std::string>()};
      }
    } else if (rec.kind == "job.step") {
      if (p.at("attempt").get<int>() != job.attempt || p.at("step").get<int>() != static_cast<int>(job.steps.size()))
        return fail(where + ": step " + p.at("step").dump() + " is not the job's next");
      StepRecord step;
      step.id = p.at("step").get<int>();
      step.name = p.at("name").get<std::string>();
      step.argv = p.at("argv").get<std::vector<std::string>>();
      step.workdir = p.at("workdir").get<std::string>();
      for (const json& kv : p.at("env"))
        step.env.emplace_back(kv.at(0).get<std::string>(), kv.at(1).get<std::string>());
      const int cpt = p.at("cpus_per_task").get<int>();
      step.cpus_per_task = std::max(1, cpt);
      step.cpus_per_task_given = cpt > 0;
      step.kill_on_bad_exit = p.at("kill_on_bad_exit").get<bool>();
      step.start = rec.time;
      for (const json& n : p.at("tasks")) {
        StepTaskRecord t;
        t.node = n.get<int>();
        if (t.node < 0 || t.node >= static_cast<int>(job.tasks.size()))
          return fail(where + ": a task on node " + n.dump() + " of a job of " + std::to_string(job.tasks.size()));
        step.tasks.push_back(t);
      }
      job.steps.push_back(std::move(step));
    } else if (rec.kind == "job.step_task" || rec.kind == "job.step_stop") {
      const int sid = p.at("step").get<int>();
      if (p.at("attempt").get<int>() == job.attempt && sid >= 0 && sid < static_cast<int>(job.steps.size())) {
        StepRecord& step = job.steps[static_cast<std::size_t>(sid)];
        if (rec.kind == "job.step_stop") {
          step.stopping = p.at("why").get<std::string>();
          step.cancelled = p.at("cancel").get<bool>();
        } else {
          step_task_ended(step, p.at("task").get<int>(), p.at("state").get<std::string>(), p.at("exit_code").get<int>(),
                          p.at("signal").get<int>(), rec.time);
        }
      }
    } else if (rec.kind == "job.requeued") {
      job.state = kPending;
      job.attempt = p.at("attempt").get<int>();
      job.reason = p.at("reason").get<std::string>();
      job.start = -1;
      job.tasks.clear();
      job.steps.clear();
      rank_ends_.erase(id);
    } else if (rec.kind == "job.ended") {
      close_steps(job, rec.time, false);
      books_.forget(id);
      job.state = p.at("state").get<std::string>();
      job.exit_code = p.at("exit_code").get<int>();
      job.reason = p.at("reason").get<std::string>();
      job.end = rec.time;
      rank_ends_.erase(id);
    }
  } catch (const json::exception& e) {
    return fail(where + ": " + e.what());
  }
  return {};
}

// Snapshots are binary (see codec.h): the first version, JSON, is still read.
// The binary snapshot's formats: "gwang snapshot N\n", then its fields. Each format adds fields at
// the end of a job's record, and every earlier one is still read: 3 each job's project and
// preemptibility, and the books (accounting.h); 4 begin time, dependency and array; 5 the batch
// script and output files; 6 input file, open mode and comment; 7 partition and holds; 8 steps;
// 9 the programme (QOS).
constexpr int kSnapshotFormat = 9;
std::string snapshot_magic(int format) { return "gwang snapshot " + std::to_string(format) + "\n"; }

std::string Controller::snapshot_state() const {
  Encoder e;
  e.u(static_cast<std::uint64_t>(next_id_));
  std::set<std::string> drained = drained_names_;  // also of nodes not registered (yet)
  for (const Node* n : by_id_) {
    if (n->drained) drained.insert(n->name);
  }
  e.u(drained.size());
  for (const std::string& name : drained) e.s(name);
  std::vector<const Node*> remote;
  for (const Node* n : by_id_) {
    if (!n->local) remote.push_back(n);  // the local node is this process's, found again at start
  }
  e.u(remote.size());
  for (const Node* n : remote) {
    e.s(n->name);
    e.s(n->instance);
    e.s(n->address);
    e.i(n->host.cpus);
    e.i(n->host.memory_bytes);
    e.u(n->host.devices.size());
    for (const agent::Device& d : n->host.devices) {
      e.s(d.kind);
      e.s(d.name);
      e.s(d.uuid);
      e.i(d.index);
      e.i(d.memory_bytes);
      e.u(d.declared);
    }
  }
  e.u(jobs_.size());
  for (const auto& [id, j] : jobs_) {
    const api::SubmitRequest& r = j.request;
    e.i(id);
    e.s(j.user);
    e.s(r.name);
    e.u(r.command.size());
    for (const std::string& arg : r.command) e.s(arg);
    e.s(r.workdir);
    e.u(r.env.size());
    for (const auto& [k, v] : r.env) {
      e.s(k);
      e.s(v);
    }
    e.i(r.cpus);
    e.i(r.mem_bytes);
    e.i(r.gpus.count);
    e.u(r.gpus.models.size());
    for (const std::string& m : r.gpus.models) e.s(m);
    e.f(r.gpu_share);
    e.i(r.nodes);
    e.i(r.time_s);
    e.u(r.requeue);
    e.s(j.state);
    e.s(j.reason);
    e.i(j.submit);
    e.i(j.start);
    e.i(j.end);
    e.i(j.exit_code);
    e.i(j.attempt);
    e.u(j.tasks.size());
    for (const TaskRecord& t : j.tasks) {
      e.s(t.node);
      e.u(t.devices.size());
      for (const std::string& uuid : t.devices) e.s(uuid);
      e.u(t.shares.size());
      for (const core::DeviceShare& d : t.shares) {
        e.u(d.index);
        e.i(d.milli);
      }
      e.u(t.done);
    }
    const auto f = failures_.find(id);
    e.u(f != failures_.end());
    if (f != failures_.end()) {
      e.s(f->second.state);
      e.i(f->second.exit_code);
      e.s(f->second.reason);
    }
    e.s(j.project);
    e.u(j.preemptible);
    e.i(r.begin);
    e.s(r.dependency);
    e.s(r.array);
    e.i(j.array_job);
    e.i(j.array_task);
    e.s(r.script);
    e.s(r.output);
    e.s(r.error);
    e.s(r.input);
    e.u(r.open_append);
    e.s(r.comment);
    e.s(r.partition);
    e.u(r.hold);
    e.s(j.hold);
    e.s(j.credential);
    e.s(r.qos);
    e.u(j.steps.size());
    for (const StepRecord& st : j.steps) {
      e.i(st.id);
      e.s(st.name);
      e.u(st.argv.size());
      for (const std::string& arg : st.argv) e.s(arg);
      e.s(st.workdir);
      e.u(st.env.size());
      for (const auto& [k, v] : st.env) {
        e.s(k);
        e.s(v);
      }
      e.i(st.cpus_per_task);
      e.u(st.cpus_per_task_given);
      e.u(st.kill_on_bad_exit);
      e.s(st.state);
      e.s(st.failure);
      e.u(st.cancelled);
      e.i(st.exit_code);
      e.i(st.signal);
      e.i(st.start);
      e.i(st.end);
      e.s(st.stopping);
      e.u(st.tasks.size());
      for (const StepTaskRecord& t : st.tasks) {
        e.i(t.node);
        e.s(t.state);
        e.i(t.exit_code);
        e.i(t.signal);
      }
    }
  }
  books_.encode(e);
  return e.finish(snapshot_magic(kSnapshotFormat));
}

Result<void> Controller::restore(const std::string& state) {
  if (state.starts_with("{")) return restore_json(state);
  int format = kSnapshotFormat;
  for (int f = 2; f < kSnapshotFormat; ++f) {
    if (state.starts_with(snapshot_magic(f))) format = f;
  }
  Decoder d(state, snapshot_magic(format));
  auto text = [&] { return std::string(d.s()); };
  auto small = [&] { return static_cast<int>(d.i()); };
  next_id_ = static_cast<std::int64_t>(d.u());
  for (std::size_t n = d.count(); d.ok() && n > 0; --n) {
    const std::string name = text();
    drained_names_.insert(name);
    if (Node* node = find_node(name)) node->drained = true;  // the local node exists already
  }
  for (std::size_t n = d.count(); d.ok() && n > 0; --n) {
    const std::string name = text();
    const std::string instance = text();
    const std::string address = text();
    agent::HostResources host;
    host.cpus = small();
    host.memory_bytes = d.i();
    for (std::size_t k = d.count(); d.ok() && k > 0; --k) {
      agent::Device dev;
      dev.kind = text();
      dev.name = text();
      dev.uuid = text();
      dev.index = small();
      dev.memory_bytes = d.i();
      dev.declared = d.u(1) != 0;
      host.devices.push_back(std::move(dev));
    }
    if (!d.ok()) break;
    Node* node = find_node(name);
    if (!node) node = &add_node(name, host, false);
    node->instance = instance;
    node->address = address;
    node->heard = false;
  }
  for (std::size_t n = d.count(); d.ok() && n > 0; --n) {
    JobRecord j;
    api::SubmitRequest& r = j.request;
    j.id = d.i();
    j.user = text();
    r.name = text();
    r.command.resize(d.count());
    for (std::string& arg : r.command) arg = text();
    r.workdir = text();
    r.env.resize(d.count());
    for (auto& [k, v] : r.env) {
      k = text();
      v = text();
    }
    r.cpus = small();
    r.mem_bytes = d.i();
    r.gpus.count = small();
    r.gpus.models.resize(d.count());
    for (std::string& m : r.gpus.models) m = text();
    r.gpu_share = d.f();
    r.nodes = small();
    r.time_s = d.i();
    r.requeue = d.u(1) != 0;
    j.state = text();
    j.reason = text();
    j.submit = d.i();
    j.start = d.i();
    j.end = d.i();
    j.exit_code = small();
    j.attempt = small();
    j.tasks.resize(d.count());
    for (TaskRecord& t : j.tasks) {
      t.node = text();
      t.devices.resize(d.count());
      for (std::string& uuid : t.devices) uuid = text();
      t.shares.resize(d.count());
      for (core::DeviceShare& share : t.shares) {
        share.index = static_cast<std::uint16_t>(d.u(0xFFFF));
        share.milli = static_cast<core::Milli>(d.i());
      }
      t.done = d.u(1) != 0;
    }
    if (d.u(1) != 0) {
      Failure f;
      f.state = text();
      f.exit_code = small();
      f.reason = text();
      if (d.ok()) rank_ends_[j.id][-1] = std::move(f);
    }
    if (format >= 3) {
      j.project = text();
      j.preemptible = d.u(1) != 0;
    }
    if (format >= 4) {
      r.begin = d.i();
      r.dependency = text();
      r.array = text();
      j.array_job = d.i();
      j.array_task = d.i();
    }
    if (format >= 5) {
      r.script = text();
      r.output = text();
      r.error = text();
    }
    if (format >= 6) {
      r.input = text();
      r.open_append = d.u(1) != 0;
      r.comment = text();
    }
    if (format >= 7) {
      r.partition = text();
      r.hold = d.u(1) != 0;
      j.hold = text();
    }
    if (format >= 8) {
      j.credential = text();
      if (format >= 9) r.qos = text();
      j.steps.resize(d.count());
      for (StepRecord& st : j.steps) {
        st.id = small();
        st.name = text();
        st.argv.resize(d.count());
        for (std::string& arg : st.argv) arg = text();
        st.workdir = text();
        st.env.resize(d.count());
        for (auto& [k, v] : st.env) {
          k = text();
          v = text();
        }
        st.cpus_per_task = small();
        st.cpus_per_task_given = d.u(1) != 0;
        st.kill_on_bad_exit = d.u(1) != 0;
        st.state = text();
        st.failure = text();
        st.cancelled = d.u(1) != 0;
        st.exit_code = small();
        st.signal = small();
        st.start = d.i();
        st.end = d.i();
        st.stopping = text();
        st.tasks.resize(d.count());
        for (StepTaskRecord& t : st.tasks) {
          t.node = small();
          t.state = text();
          t.exit_code = small();
          t.signal = small();
          if (d.ok() && (t.node < 0 || t.node >= static_cast<int>(j.tasks.size())))
            return fail("job " + std::to_string(j.id) + " step " + std::to_string(st.id) + ": a task on node " +
                        std::to_string(t.node) + " of " + std::to_string(j.tasks.size()));
        }
      }
    }
    if (!d.ok()) break;
    const std::int64_t id = j.id;
    jobs_[id] = std::move(j);
  }
  if (format >= 3 && d.ok()) {
    if (auto r = books_.decode(d); !r) return r;
  }
  if (d.ok() && !d.at_end()) return fail("byte " + std::to_string(d.offset()) + ": data after the last job");
  if (!d.ok()) return fail(d.error());
  return {};
}

Result<void> Controller::restore_json(const std::string& state) {
  try {
    const json s = json::parse(state);
    if (s.at("version").get<int>() != 1) return fail("unknown snapshot version " + s.at("version").dump());
    next_id_ = s.at("next_id").get<std::int64_t>();
    for (const json& entry : s.at("drained")) {
      const std::string name = entry.get<std::string>();
      drained_names_.insert(name);
      if (Node* node = find_node(name)) node->drained = true;  // the local node exists already
    }
    for (const json& n : s.at("nodes")) {
      agent::HostResources host;
      host.cpus = n.at("cpus").get<int>();
      host.memory_bytes = n.at("memory").get<std::int64_t>();
      host.devices = devices_from(n.at("devices"));
      const std::string name = n.at("node").get<std::string>();
      Node* node = find_node(name);
      if (!node) node = &add_node(name, host, false);
      node->instance = n.at("instance").get<std::string>();
      node->address = n.at("address").get<std::string>();
      node->heard = false;
    }
    for (const json& o : s.at("jobs")) {
      JobRecord j;
      j.id = o.at("id").get<std::int64_t>();
      auto request = api::parse_submit(o.at("request"));
      if (!request) return fail("job " + std::to_string(j.id) + ": " + request.error().message);
      j.request = *request;
      j.user = o.at("user").get<std::string>();
      j.state = o.at("state").get<std::string>();
      j.reason = o.at("reason").get<std::string>();
      j.submit = o.at("submit").get<std::int64_t>();
      j.start = o.at("start").get<std::int64_t>();
      j.end = o.at("end").get<std::int64_t>();
      j.exit_code = o.at("exit_code").get<int>();
      j.attempt = o.at("attempt").get<int>();
      for (const json& t : o.at("tasks")) {
        TaskRecord task;
        task.node = t.at("node").get<std::string>();
        task.devices = t.at("devices").get<std::vector<std::string>>();
        for (const json& d : t.at("shares"))
          task.shares.push_back({d.at(0).get<std::uint16_t>(), d.at(1).get<core::Milli>()});
        task.done = t.at("done").get<bool>();
        j.tasks.push_back(std::move(task));
      }
      if (o.contains("failure")) {
        const json& f = o["failure"];
        rank_ends_[j.id][-1] = {f.at("state").get<std::string>(), f.at("exit_code").get<int>(),
                                f.at("reason").get<std::string>()};
      }
      jobs_[j.id] = std::move(j);
    }
  } catch (const json::exception& e) {
    return fail(e.what());
  }
  return {};
}

Result<void> Controller::checkpoint(std::int64_t now) {
  std::lock_guard lock(mu_);
  return checkpoint_locked(now);
}

Result<void> Controller::checkpoint_locked(std::int64_t) {
  // Under the lock with no submission half-way, every journalled record is applied in memory, and
  // no other thread uses the journal until the lock is released.
  if (inflight_ > 0 || awaiting_) return {};
  if (auto r = flush(); !r) return r;
  const std::int64_t seq = journal_->last_seq();
  if (seq <= snapshot_seq_) return {};
  if (auto r = journal_->snapshot({seq, snapshot_state()}); !r) return r;
  snapshot_seq_ = seq;
  return {};
}

Result<void> Controller::recover(std::int64_t now) {
  auto loaded = journal_->load();
  if (!loaded) return tl::unexpected(loaded.error());
  if (loaded->snapshot) {
    if (auto r = restore(loaded->snapshot->state); !r) {
      return fail("snapshot at record " + std::to_string(loaded->snapshot->seq) + ": " + r.error().message);
    }
    snapshot_seq_ = loaded->snapshot->seq;
  }
  for (const store::Record& rec : loaded->records) {
    if (auto r = apply(rec); !r) return r;
  }
  for (auto& [name, node] : nodes_) {
    if (!node->local)
      apply_node_state(*node, now);
    else if (node->drained)
      apply_node_state(*node, now);
  }
  sync_quotas();
  // Pending jobs wait again. Running ones go on where their agents still run them; those of the
  // local node ended with the process that ran them.
  std::map<std::string, Result<Account>> accounts;  // one look-up per user, not per job
  std::size_t unfinished = 0;
  for (const auto& [id, job] : jobs_) unfinished += job.ended() ? 0 : 1;
  scheduler_->reserve_jobs(unfinished);
  // Jobs that ended before the restart are not scheduled again; those that waiting jobs depend on
  // are remembered, with how they ended.
  std::set<std::int64_t> targets;
  for (const auto& [id, job] : jobs_) {
    if (job.ended() || job.request.dependency.empty()) continue;
    if (auto d = slurm::parse_dependency(job.request.dependency)) {
      for (const slurm::Dependency& dep : d->all) {
        for (const slurm::Dependency::Target& t : dep.targets) targets.insert(t.job);
      }
    }
  }
  for (std::int64_t t : targets) {
    auto it = jobs_.find(t);
    if (it == jobs_.end()) continue;
    // A job, or every task of the array it is the id of.
    const bool array = it->second.in_array() && it->second.array_job == t;
    for (; it != jobs_.end() && (it->first == t || (array && it->second.array_job == t)); ++it) {
      const JobRecord& ended = it->second;
      if (!ended.ended()) continue;
      core::JobSpec spec;
      spec.id = core::JobId{ended.id};
      spec.user = ended.user;
      spec.name = ended.request.name;
      if (ended.in_array()) {
        spec.array_job = core::JobId{ended.array_job};
        spec.array_task = ended.array_task;
      }
      if (auto r = scheduler_->remember(std::move(spec), core_outcome(ended.state), ended.start, ended.end); !r) {
        return r;
      }
    }
  }
  for (auto& [id, job] : jobs_) {
    if (job.ended()) continue;
    auto found = accounts.find(job.user);
    if (found == accounts.end()) found = accounts.emplace(job.user, lookup_account(job.user)).first;
    const Result<Account>& account = found->second;
    auto spec = to_spec(job);
    if (!account || !spec) {
      end(job, kFailed, 0, !account ? account.error().message : spec.error().message, now);
      continue;
    }
    auto status = scheduler_->submit(*spec, now);
    if (!status || *status == core::SubmitStatus::Unsatisfiable) {
      end(job, job.state == kRunning ? kNodeFail : kFailed, 0,
          !status ? status.error().message : "no node can hold it any more", now);
      continue;
    }
    if (job.state == kPending && !job.hold.empty()) scheduler_->hold(core::JobId{id});
    if (job.state != kRunning) continue;
    std::vector<core::TaskPlacement> placement;
    std::string lost;
    for (const TaskRecord& t : job.tasks) {
      Node* node = find_node(t.node);
      if (!node || node->local) {
        lost = node ? "the controller stopped while the job ran" : "its node " + t.node + " is gone";
        break;
      }
      placement.push_back({node->id, t.shares});
    }
    if (lost.empty()) {
      if (auto r = scheduler_->adopt(core::JobId{id}, placement, job.start); !r) lost = r.error().message;
    }
    if (!lost.empty()) {
      scheduler_->cancel(core::JobId{id}, now);
      end(job, kNodeFail, 0, lost, now);
      continue;
    }
    running_.insert(id);
    if (auto r = rank_ends_.find(id); r != rank_ends_.end()) {
      for (const auto& [rank, f] : r->second) {
        if (f.state != kCompleted && !failures_.contains(id)) failures_[id] = f;
      }
    }
    // The agents say what they still run; a launch they never got is sent again.
    for (std::size_t rank = 0; rank < job.tasks.size(); ++rank) {
      if (job.tasks[rank].done || !job.runs_rank(rank)) continue;
      Node& node = *find_node(job.tasks[rank].node);
      const std::string t = agent::task_id(id, job.attempt, static_cast<int>(rank));
      node.tasks.insert(t);
      node.launches[t] = make_launch(job, static_cast<int>(rank));
    }
    for (const StepRecord& step : job.steps) {
      if (step.ended()) continue;
      for (std::size_t k = 0; k < step.tasks.size(); ++k) {
        if (step.tasks[k].done()) continue;
        Node& node = *find_node(job.tasks[static_cast<std::size_t>(step.tasks[k].node)].node);
        agent::Launch l = make_step_launch(job, step, static_cast<int>(k));
        node.tasks.insert(l.task);
        node.launches[l.task] = std::move(l);
      }
    }
  }
  return {};
}

Result<core::JobSpec> Controller::to_spec(const JobRecord& job) const {
  const api::SubmitRequest& r = job.request;
  core::JobSpec spec;
  spec.id = core::JobId{job.id};
  spec.submit = job.submit;
  spec.tasks = r.nodes;
  spec.spread = r.nodes > 1;
  spec.time_limit = r.time_s;
  spec.user = job.user;
  spec.project = job.project;
  spec.preemptible = job.preemptible;
  spec.institution = books_.tenancy().institution_of(job.project);
  if (!job.project.empty()) {
    // Its programme's priority: the one it runs under (--qos), else its project's first valid grant's.
    const auto valid = books_.grants().valid(job.project, job.submit);
    const std::string programme = !r.qos.empty() ? r.qos : valid.empty() ? "" : valid.front()->programme;
    if (const core::Programme* p = books_.grants().programme(programme)) spec.programme_priority = p->priority;
  }
  spec.task.scalars.set(core::ResourceRegistry::kCpu, r.cpus * core::kMilli);
  spec.task.scalars.set(core::ResourceRegistry::kMemory, (r.mem_bytes + kMiB - 1) / kMiB * core::kMilli);
  if (r.gpu_share > 0) {
    spec.task.accel.count = 1;
    spec.task.accel.per_device = std::clamp<core::Milli>(static_cast<core::Milli>(r.gpu_share * 1000 + 0.5), 1, 999);
  } else {
    spec.task.accel.count = r.gpus.count;
  }
  const auto& registry = scheduler_->cluster().registry();
  for (const std::string& model : r.gpus.models) {
    // A model may be named bare ("H100": a GPU) or with its family ("npu:ascend910").
    const std::string kind = model.find(':') == std::string::npos ? "gpu:" + model : model;
    auto k = registry.find(kind);
    if (!k || !registry.is_accelerator(*k)) return fail("no node has accelerator model '" + model + "'");
    spec.task.accel.models.push_back(*k);
  }
  if (!r.partition.empty()) {
    spec.task.pool = pool_of(r.partition);
    if (spec.task.pool == 0) {
      std::string names;
      for (const PartitionNodes& p : partitions_) names += (names.empty() ? "" : ", ") + p.spec.name;
      return fail("invalid partition name '" + r.partition + "' (this cluster's: " + names + ")");
    }
  }
  spec.name = r.name;
  spec.begin = r.begin;
  if (job.in_array()) {
    spec.array_job = core::JobId{job.array_job};
    spec.array_task = job.array_task;
    auto a = slurm::parse_array(r.array, api::kMaxArrayIndex + 1);
    if (!a) return fail("array: " + a.error().message);
    spec.array_limit = static_cast<int>(a->max_running.value_or(0));
  }
  if (!r.dependency.empty()) {
    auto d = slurm::parse_dependency(r.dependency);
    if (!d) return fail("dependency: " + d.error().message);
    slurm::set_core_dependencies(*d, spec);
  }
  return spec;
}

std::string Controller::nearest_fit(const core::JobSpec& spec) const {
  std::vector<std::string> changes;
  for (int count = spec.task.accel.count - 1; count >= 1; --count) {
    core::JobSpec fewer = spec;
    fewer.task.accel.count = count;
    if (scheduler_->would_ever_fit(fewer)) {
      changes.push_back("at most " + std::to_string(count) + " accelerator(s) per task");
      break;
    }
  }
  if (spec.task.accel.count > 0 && !spec.task.accel.models.empty()) {
    core::JobSpec any = spec;
    any.task.accel.models.clear();
    if (scheduler_->would_ever_fit(any)) changes.push_back("any accelerator model");
  }
  for (int tasks = spec.tasks - 1; tasks >= 1; --tasks) {
    core::JobSpec fewer = spec;
    fewer.tasks = tasks;
    if (scheduler_->would_ever_fit(fewer)) {
      changes.push_back("at most " + std::to_string(tasks) + " node(s)");
      break;
    }
  }
  if (changes.empty()) return "";
  std::string out = "; it could run with ";
  for (std::size_t i = 0; i < changes.size(); ++i) out += (i == 0 ? "" : ", or ") + changes[i];
  return out;
}

Result<Controller::Prepared> Controller::prepare(const api::SubmitRequest& request, const Account& owner,
                                                 std::int64_t now) {
  Prepared out;
  JobRecord& job = out.job;
  std::vector<std::int64_t>& indices = out.indices;
  job.id = next_id_;
  job.user = owner.name;
  job.request = request;
  job.submit = now;
  auto admitted = books_.admit(owner.name, request.project, request.preemptible, now);
  if (!admitted) return tl::unexpected(admitted.error());
  job.project = admitted->project;
  job.preemptible = admitted->preemptible;
  if (!admitted->note.empty()) job.reason = admitted->note;
  if (!request.qos.empty()) {
    // Slurm's QOS is a programme of the project's grants: one it holds, valid now.
    std::string names;
    for (const auto& [name, p] : books_.grants().programmes()) names += (names.empty() ? "" : ", ") + name;
    if (!books_.grants().programme(request.qos)) {
      return fail("qos '" + request.qos + "': no allocation programme of that name (the centre's: " +
                  (names.empty() ? std::string("none") : names) + ")");
    }
    const auto valid = books_.grants().valid(job.project, now);
    if (job.project.empty() ||
        std::none_of(valid.begin(), valid.end(), [&](const core::Grant* g) { return g->programme == request.qos; })) {
      return fail("qos '" + request.qos + "': project " + (job.project.empty() ? "(none)" : job.project) +
                  " holds no valid grant of that programme");
    }
  }
  if (job.request.workdir.empty()) job.request.workdir = owner.home;
  if (job.request.partition.empty()) {
    const auto d =
        std::find_if(partitions_.begin(), partitions_.end(), [](const PartitionNodes& p) { return p.spec.is_default; });
    job.request.partition = (d == partitions_.end() ? partitions_.front() : *d).spec.name;
  }
  if (const int pool = pool_of(job.request.partition); pool > 0) {
    const api::Partition& part = partitions_[static_cast<std::size_t>(pool - 1)].spec;
    if (part.max_time_s > 0 && job.request.time_s > part.max_time_s) {
      return fail("time limit " + slurm::format_time_limit({false, (job.request.time_s + 59) / 60}) +
                  " is above partition " + part.name + "'s MaxTime of " +
                  slurm::format_time_limit({false, part.max_time_s / 60}));
    }
  }
  if (request.hold) job.hold = "user";
  if (!request.array.empty()) {
    auto a = slurm::parse_array(request.array, options_.max_array_size);
    if (!a) return fail("array: " + a.error().message + " (max_array_size)");
    indices = std::move(a->indices);
    job.array_job = job.id;
    job.array_task = indices.front();
  }
  auto s = to_spec(job);
  if (!s) return tl::unexpected(s.error());
  for (const core::JobDependency& d : s->depends) {
    if (d.kind != core::DependencyKind::Singleton && !scheduler_->find(d.job)) {
      return fail("dependency: job " + std::to_string(d.job.value) + " does not exist");
    }
    if (d.kind == core::DependencyKind::AfterCorr) return fail("dependency: aftercorr is for the tasks of job arrays");
  }
  if (!scheduler_->would_ever_fit(*s)) {
    int cpus = 0;
    std::int64_t memory = 0;
    std::size_t devices = 0;
    for (const auto& [name, node] : nodes_) {
      cpus = std::max(cpus, node->host.cpus);
      memory = std::max(memory, node->host.memory_bytes);
      devices = std::max(devices, node->host.devices.size());
    }
    return fail("no node can ever hold this job: each of its " + std::to_string(request.nodes) + " task(s) needs " +
                std::to_string(request.cpus) + " CPUs, " + api::format_memory(request.mem_bytes) + " of memory" +
                (s->task.accel.count > 0 ? " and " + std::to_string(s->task.accel.count) + " accelerator(s)" : "") +
                " on a node of its own; the largest node has " + std::to_string(cpus) + " CPUs, " +
                api::format_memory(memory) + " and " + std::to_string(devices) + " accelerator(s), and there are " +
                std::to_string(scheduler_->cluster().size()) + " node(s)" + nearest_fit(*s));
  }
  out.spec = std::move(*s);
  return out;
}

Result<Controller::TestOnly> Controller::test_only(const api::SubmitRequest& request, const Account& owner,
                                                   std::int64_t now) {
  std::lock_guard lock(mu_);
  auto prepared = prepare(request, owner, now);
  if (!prepared) return tl::unexpected(prepared.error());
  TestOnly out;
  out.id = prepared->job.id;
  ++next_id_;  // as in Slurm, the id a test names is not given again
  out.partition = prepared->job.request.partition;
  out.cpus = request.cpus * request.nodes;
  const auto planned = scheduler_->plan_submission(prepared->spec, now);
  out.start = planned.start;
  for (const core::TaskPlacement& p : planned.placement) out.nodes.push_back(by_id_.at(p.node.value)->name);
  return out;
}

Result<JobRecord> Controller::submit(const api::SubmitRequest& request, const Account& owner, std::int64_t now) {
  JobRecord job;
  std::optional<core::JobSpec> spec;
  std::vector<std::int64_t> indices;  // a job array's
  {
    std::lock_guard lock(mu_);
    auto prepared = prepare(request, owner, now);
    if (!prepared) return tl::unexpected(prepared.error());
    job = std::move(prepared->job);
    indices = std::move(prepared->indices);
    spec = std::move(prepared->spec);
    next_id_ += indices.empty() ? 1 : static_cast<std::int64_t>(indices.size());
    ++inflight_;
  }
  // Durable before anything else happens to it; concurrent submissions share one disk flush. An
  // array is one record, however many tasks it has.
  json p{{"id", job.id}, {"user", job.user}, {"request", request_json(job.request)}};
  if (!job.project.empty()) p["project"] = job.project;
  if (job.preemptible) p["preemptible"] = true;
  if (!indices.empty()) p["tasks"] = indices;
  auto journalled = journal(indices.empty() ? "job.submitted" : "job.array_submitted", p.dump(), now);
  std::lock_guard lock(mu_);
  --inflight_;
  if (!journalled) return tl::unexpected(journalled.error());
  const std::size_t count = indices.empty() ? 1 : indices.size();
  for (std::size_t k = 0; k < count; ++k) {
    JobRecord task = job;
    core::JobSpec task_spec = *spec;
    task.id = job.id + static_cast<std::int64_t>(k);
    task_spec.id = core::JobId{task.id};
    if (!indices.empty()) task.array_task = task_spec.array_task = indices[k];
    auto status = scheduler_->submit(std::move(task_spec), now);
    if (!status) return tl::unexpected(status.error());  // validated above: a broken invariant otherwise
    if (!task.hold.empty()) scheduler_->hold(core::JobId{task.id});
    jobs_[task.id] = std::move(task);
  }
  // A job that can start now starts at the next round of the control loop (milliseconds away),
  // with the other starts of that pass: the answer does not wait for it.
  if (scheduler_->fits_now(spec->id)) pass_due_ = true;
  return with_reason(jobs_[job.id]);
}

Result<JobRecord> Controller::cancel(std::int64_t id, const std::string& user, bool operator_rights, std::int64_t now,
                                     bool task_only) {
  std::lock_guard lock(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end() || (!operator_rights && it->second.user != user)) {
    return fail("job " + std::to_string(id) + " not found");
  }
  if (it->second.in_array() && it->second.array_job == id && !task_only) {
    // The array: every task not ended yet.
    bool any = false;
    for (auto t = it; t != jobs_.end() && t->second.array_job == id; ++t) {
      if (t->second.ended()) continue;
      any = true;
      cancel_one(t->second, user, now);
    }
    if (!any) return fail("job array " + std::to_string(id) + " has already ended");
    return it->second;
  }
  JobRecord& job = it->second;
  if (job.ended()) return fail("job " + std::to_string(id) + " has already ended (" + job.state + ")");
  cancel_one(job, user, now);
  return job;
}

void Controller::cancel_one(JobRecord& job, const std::string& user, std::int64_t now) {
  const std::int64_t id = job.id;
  if (job.state == kPending) {
    scheduler_->cancel(core::JobId{id}, now);
    end(job, kCancelled, 0, "cancelled by " + user, now);
    pass_due_ = true;  // the jobs behind it may now go
  } else {
    stop_tasks(job, agent::TaskEnd::Cancelled, "cancelled by " + user);
    job.reason = "cancelling (asked by " + user + ")";
  }
}

Result<JobRecord> Controller::set_hold(std::int64_t id, bool hold, const std::string& user, bool operator_rights,
                                       std::int64_t now, bool task_only) {
  std::lock_guard lock(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end() || (!operator_rights && it->second.user != user)) {
    return fail("job " + std::to_string(id) + " not found");
  }
  const bool array = it->second.in_array() && it->second.array_job == id && !task_only;
  std::vector<JobRecord*> jobs;
  for (auto t = it; t != jobs_.end() && (t == it || (array && t->second.array_job == id)); ++t) {
    JobRecord& j = t->second;
    if (j.state != kPending || hold != j.hold.empty()) continue;  // not pending, or as asked already
    if (!hold && j.hold == "admin" && !operator_rights) {
      return fail("job " + std::to_string(j.id) + " is held by an operator: only an operator may release it");
    }
    jobs.push_back(&j);
  }
  const std::string what = array ? "job array " + std::to_string(id) : "job " + std::to_string(id);
  if (jobs.empty()) {
    if (!array && it->second.state == kPending) return fail(what + (hold ? " is held already" : " is not held"));
    return fail(what + " is not pending" + (array ? "" : " (" + it->second.state + ")"));
  }
  // An operator's hold of someone else's job is the operator's to lift (Slurm's admin hold).
  const std::string kind = !hold ? "" : operator_rights && it->second.user != user ? "admin" : "user";
  json ids = json::array();
  for (const JobRecord* j : jobs) ids.push_back(j->id);
  if (auto r = journal("job.hold", json{{"ids", ids}, {"hold", kind}, {"by", user}}.dump(), now); !r) {
    return tl::unexpected(r.error());
  }
  for (JobRecord* j : jobs) apply_hold(*j, kind, now);
  return with_reason(it->second);
}

void Controller::apply_hold(JobRecord& job, const std::string& hold, std::int64_t now) {
  job.hold = hold;
  const core::JobId jid{job.id};
  if (!hold.empty()) {
    scheduler_->hold(jid);  // false when its grants hold it already: it stays held, for both reasons
  } else if (!held_.contains(job.id)) {
    scheduler_->release(jid, now);
  }
  pass_due_ = true;
}

std::optional<JobRecord> Controller::job(std::int64_t id) const {
  std::lock_guard lock(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return std::nullopt;
  JobRecord out = with_reason(it->second);
  if (out.state == kPending && options_.queue_order == core::QueueOrder::Multifactor) {
    if (scheduler_->find(core::JobId{id})) {
      out.priority = scheduler_->priority_terms(core::JobId{id}, std::max(last_pass_, out.submit));
    }
  }
  return out;
}

std::vector<JobRecord> Controller::jobs(bool all) const {
  std::lock_guard lock(mu_);
  std::vector<JobRecord> out;
  for (const auto& [id, job] : jobs_) {
    if (all || !job.ended()) out.push_back(with_reason(job));
  }
  return out;
}

std::vector<NodeRecord> Controller::nodes() const {
  std::lock_guard lock(mu_);
  std::vector<NodeRecord> out;
  std::map<std::string, std::size_t> at;
  for (const Node* n : by_id_) {
    NodeRecord r;
    r.name = n->name;
    r.state = n->down ? (n->drained ? "drained+down" : "down") : !n->heard ? "unknown" : n->drained ? "drained" : "up";
    r.cpus = n->host.cpus;
    r.memory_bytes = n->host.memory_bytes;
    r.devices = n->host.devices;
    r.device_used.assign(r.devices.size(), 0);
    r.tracking = n->tracking;
    for (const PartitionNodes& p : partitions_) {
      if (p.all || p.names.contains(n->name)) r.partitions.push_back(p.spec.name);
    }
    r.address = n->address;
    r.local = n->local;
    r.last_seen = n->last_seen_wall;
    at[n->name] = out.size();
    out.push_back(std::move(r));
  }
  for (std::int64_t id : running_) {
    const JobRecord& job = jobs_.at(id);
    for (const TaskRecord& t : job.tasks) {
      if (t.done) continue;
      NodeRecord& r = out[at.at(t.node)];
      if (r.jobs.empty() || r.jobs.back() != id) r.jobs.push_back(id);
      r.cpus_used += job.request.cpus;
      r.memory_used += job.request.mem_bytes;
      for (const core::DeviceShare& d : t.shares) {
        if (d.index < r.device_used.size()) r.device_used[d.index] += static_cast<int>(d.milli);
      }
    }
  }
  return out;
}

Result<void> Controller::set_node_state(const std::string& name, const std::string& state, std::int64_t now) {
  std::lock_guard lock(mu_);
  Node* node = find_node(name);
  if (!node) return fail("node '" + name + "' not found");
  if (state != "up" && state != "drained") return fail("node state '" + state + "': expected up or drained");
  if (auto r = journal("node.state", json{{"node", name}, {"state", state}}.dump(), now); !r) return r;
  node->drained = state == "drained";
  node->drained ? (void)drained_names_.insert(name) : (void)drained_names_.erase(name);
  apply_node_state(*node, now);
  return {};
}

std::string Controller::log_path(const JobRecord& job, int rank, bool stderr_stream) const {
  return (fs::path(options_.data_dir) / "jobs" /
          agent::log_name(agent::task_id(job.id, job.attempt, rank), stderr_stream))
      .string();
}

std::optional<std::string> Controller::job_credential_user(const std::string& token) const {
  if (!token.starts_with("gwj.")) return std::nullopt;
  const std::size_t dot = token.find('.', 4);
  if (dot == std::string::npos) return std::nullopt;
  std::int64_t id = 0;
  const auto [end, ec] = std::from_chars(token.data() + 4, token.data() + dot, id);
  if (ec != std::errc() || end != token.data() + dot) return std::nullopt;
  const std::string presented = token.substr(dot + 1);
  std::lock_guard lock(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end() || it->second.state != kRunning || it->second.credential.empty()) return std::nullopt;
  const std::string& want = it->second.credential;
  if (presented.size() != want.size()) return std::nullopt;
  unsigned char diff = 0;  // compared in constant time
  for (std::size_t i = 0; i < want.size(); ++i) diff |= static_cast<unsigned char>(presented[i] ^ want[i]);
  if (diff != 0) return std::nullopt;
  return it->second.user;
}

void Controller::set_api_url(const std::string& url) {
  std::lock_guard lock(mu_);
  if (local_) local_->set_controller_url(url);
}

std::string Controller::step_log_path(const JobRecord& job, int step, int task, bool stderr_stream) const {
  return (fs::path(options_.data_dir) / "jobs" /
          agent::log_name(agent::step_task_id(job.id, job.attempt, step, task), stderr_stream))
      .string();
}

void Controller::charge(const JobRecord& job, std::int64_t now) {
  if (job.state != kRunning || job.start < 0) return;
  const std::int64_t from = std::max(books_.charged_until(job.id), job.start);
  if (now <= from) return;
  std::vector<TaskUse> use;
  for (std::size_t rank = 0; rank < job.tasks.size(); ++rank) {
    const TaskRecord& t = job.tasks[rank];
    if (t.done) continue;  // charged up to its end when it ended
    std::map<std::string, core::Milli> by_model;
    const Node* node = find_node(t.node);
    for (const core::DeviceShare& share : t.shares) {
      if (node && share.index < node->host.devices.size())
        by_model[node->host.devices[share.index].kind] += share.milli;
    }
    TaskUse u{static_cast<int>(rank), "", 0, job.request.cpus, job.request.mem_bytes};
    if (by_model.empty()) {
      use.push_back(u);
      continue;
    }
    for (const auto& [model, milli] : by_model) {
      u.model = model;
      u.milli = milli;
      use.push_back(u);
      u.cpus = 0;  // a task's CPUs and memory are counted once, with its first model
      u.mem_bytes = 0;
    }
  }
  if (use.empty()) return;
  const json record = books_.usage_record(job.id, job.user, job.project, from, now, use, job.request.qos);
  journal_async("usage.charged", record.dump(), now);
  const std::size_t warnings = books_.warnings().size();
  auto applied = books_.apply("usage.charged", record, now);
  if (books_.warnings().size() != warnings) readmit_due_ = true;  // a grant may be spent
  assert(applied);                                                // made here from valid parts
  (void)applied;
}

void Controller::end(JobRecord& job, const std::string& state, int exit_code, const std::string& reason,
                     std::int64_t now) {
  charge(job, now);
  books_.forget(job.id);
  json p{{"id", job.id}, {"state", state}, {"exit_code", exit_code}, {"reason", reason}};
  // An end that cannot be journalled is still an end here; recovery would see the job as running
  // and end it as NODE_FAIL, which is the truth as the store knows it.
  journal_async("job.ended", p.dump(), now);
  close_steps(job, now, true);
  job.state = state;
  job.exit_code = exit_code;
  job.reason = reason;
  job.end = now;
  running_.erase(job.id);
  failures_.erase(job.id);
  stopping_.erase(job.id);
  preempting_.erase(job.id);
  held_.erase(job.id);
}

Result<void> Controller::flush() {
  Result<void> out;
  for (auto& f : unflushed_) {
    auto r = f.get();
    if (!r && out) out = tl::unexpected(r.error());
  }
  unflushed_.clear();
  if (!out && options_.on_store_failure) options_.on_store_failure(out.error());
  return out;
}

void stop_on_store_failure(const Error& error) {
  std::fprintf(stderr,
               "gwang: the store refused a change this controller has made: %s; stopping, to start again "
               "from what the store holds\n",
               error.message.c_str());
  std::fflush(stderr);
  ::_exit(75);
}

void Controller::journal_async(const std::string& kind, const std::string& payload, std::int64_t now) {
  unflushed_.push_back(committer_->append({0, now, kind, payload}));
}

void Controller::begin(const core::Decision& d, std::int64_t now) {
  JobRecord& job = jobs_.at(d.job.value);
  // Ranks go in the nodes' order, as Slurm orders a job's nodes: rank 0 (a batch job's script,
  // a step's first tasks) on the first of them.
  std::vector<core::TaskPlacement> placement;
  {
    slurm::HostList order;
    for (const core::TaskPlacement& p : d.placement) order.push(by_id_.at(p.node.value)->name);
    order.sort();
    std::vector<bool> taken(d.placement.size(), false);
    for (const std::string& name : order.expand()) {
      for (std::size_t i = 0; i < d.placement.size(); ++i) {
        if (taken[i] || by_id_.at(d.placement[i].node.value)->name != name) continue;
        taken[i] = true;
        placement.push_back(d.placement[i]);
        break;
      }
    }
    assert(placement.size() == d.placement.size());
  }
  std::vector<TaskRecord> tasks;
  json placed = json::array();
  for (const core::TaskPlacement& p : placement) {
    Node& node = *by_id_.at(p.node.value);
    TaskRecord t;
    t.node = node.name;
    t.shares = p.devices;
    json shares = json::array();
    for (const core::DeviceShare& share : p.devices) {
      t.devices.push_back(node.host.devices.at(share.index).uuid);
      shares.push_back({share.index, share.milli});
    }
    placed.push_back({{"node", t.node}, {"devices", t.devices}, {"shares", shares}});
    tasks.push_back(std::move(t));
  }
  job.credential = random_token().substr(0, 32);
  journal_async(
      "job.started",
      json{{"id", job.id}, {"attempt", job.attempt}, {"tasks", placed}, {"credential", job.credential}}.dump(), now);
  ++started_total_;
  wait_seconds_.observe(static_cast<double>(std::max<std::int64_t>(0, now - job.submit)));
  job.state = kRunning;
  job.start = now;
  job.tasks = std::move(tasks);
  if (job.attempt == 0) job.reason.clear();  // a requeued job keeps saying why it runs again
  running_.insert(job.id);
}

void Controller::identity_env(const JobRecord& job, int rank,
                              std::vector<std::pair<std::string, std::string>>& env) const {
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
  // Slurm's, for the scripts and frameworks that read them (sbatch(1), "OUTPUT ENVIRONMENT
  // VARIABLES"). A batch job's task counts come with its request, from sbatch's options.
  for (const char* key : {"SLURM_JOB_ID", "SLURM_JOBID"}) set(key, id);
  set("SLURM_JOB_NAME", job.request.name);
  set("SLURM_JOB_USER", job.user);
  if (!job.project.empty()) set("SLURM_JOB_ACCOUNT", job.project);
  if (!job.request.partition.empty()) set("SLURM_JOB_PARTITION", job.request.partition);
  for (const char* key : {"SLURM_JOB_NODELIST", "SLURM_NODELIST"}) set(key, slurm::compress_hosts(hosts));
  for (const char* key : {"SLURM_JOB_NUM_NODES", "SLURM_NNODES"}) set(key, nodes);
  if (!job.batch()) {
    for (const char* key : {"SLURM_NTASKS", "SLURM_NPROCS"}) set(key, nodes);
  }
  set("SLURM_NODEID", std::to_string(rank));
  set("SLURM_PROCID", std::to_string(rank));
  set("SLURM_LOCALID", "0");
  set("SLURMD_NODENAME", task.node);
  set("SLURM_CPUS_ON_NODE", std::to_string(job.request.cpus));
  set("SLURM_JOB_CPUS_PER_NODE",
      std::to_string(job.request.cpus) + (job.tasks.size() > 1 ? "(x" + nodes + ")" : std::string()));
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

agent::Launch Controller::make_launch(const JobRecord& job, int rank) const {
  const Node& master = *nodes_.at(job.tasks.front().node);
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
  l.memory_limit_bytes = job.request.mem_bytes;
  const std::string nodes = std::to_string(job.tasks.size());
  // What a job may set for itself (a port of its choosing), then what it asked for, then what
  // says who and where it is: the job's identity is the controller's to say.
  l.env = {{"MASTER_ADDR", master.address.empty() ? master.name : master.address},
           {"MASTER_PORT", std::to_string(20000 + job.id % 20000)},
           {"WORLD_SIZE", nodes},
           {"RANK", std::to_string(rank)},
           {"LOCAL_RANK", "0"}};
  for (const auto& kv : job.request.env) l.env.push_back(kv);
  identity_env(job, rank, l.env);
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

void Controller::launch(JobRecord& job, std::int64_t now) {
  bool remote = false;
  for (std::size_t rank = 0; rank < job.tasks.size(); ++rank) {
    if (!job.runs_rank(rank)) continue;
    Node& node = *find_node(job.tasks[rank].node);
    agent::Launch l = make_launch(job, static_cast<int>(rank));
    node.tasks.insert(l.task);
    if (node.local && stopping_.contains(job.id)) {
      // Cancelled (or out of time) between its start being decided and being durable: it never runs.
      agent::Finished f;
      f.task = l.task;
      f.status.end = stopping_.at(job.id).first;
      f.message = stopping_.at(job.id).second + " before it started";
      task_ended(node, f, now);
    } else if (node.local) {
      local_->launch(l, agent::Clock::now());
    } else {
      node.launches[l.task] = std::move(l);
      remote = true;
    }
  }
  if (remote) orders_cv_.notify_all();
}

namespace {

// SLURM_TASKS_PER_NODE's form: counts in node order, repeats folded ("2(x3),1").
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

}  // namespace

agent::Launch Controller::make_step_launch(const JobRecord& job, const StepRecord& step, int task) const {
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
  // The job's devices and memory on the node: every task of the step there gets them (as Slurm
  // gives a step all of the job's generic resources unless asked otherwise).
  l.devices = where.devices;
  l.memory_limit_bytes = job.request.mem_bytes;
  // The asker's environment, then who and where the job is, then the task's place in the step.
  l.env = step.env;
  identity_env(job, me.node, l.env);
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
  for (const char* key : {"SLURM_NTASKS", "SLURM_NPROCS", "SLURM_STEP_NUM_TASKS"}) set(key, ntasks);
  for (const char* key : {"SLURM_NNODES", "SLURM_STEP_NUM_NODES"}) set(key, std::to_string(nodes.size()));
  for (const char* key : {"SLURM_NODELIST", "SLURM_STEP_NODELIST"}) set(key, slurm::compress_hosts(hosts));
  for (const char* key : {"SLURM_TASKS_PER_NODE", "SLURM_STEP_TASKS_PER_NODE"}) set(key, tasks_per_node_text(counts));
  set("SLURM_PROCID", std::to_string(task));
  set("SLURM_LOCALID", std::to_string(local));
  set("SLURM_NODEID", std::to_string(node_index));
  set("SLURM_GTIDS", gtids);
  if (step.cpus_per_task_given) set("SLURM_CPUS_PER_TASK", std::to_string(step.cpus_per_task));
  // torch.distributed's names, for the task's place in the step.
  set("RANK", std::to_string(task));
  set("LOCAL_RANK", std::to_string(local));
  set("WORLD_SIZE", ntasks);
  set("LOCAL_WORLD_SIZE", std::to_string(counts[static_cast<std::size_t>(node_index)]));
  return l;
}

void Controller::launch_step(JobRecord& job, const StepRecord& step) {
  bool remote = false;
  for (std::size_t t = 0; t < step.tasks.size(); ++t) {
    if (step.tasks[t].done()) continue;
    Node* node = find_node(job.tasks[static_cast<std::size_t>(step.tasks[t].node)].node);
    if (!node) continue;  // gone: the job is failing with it
    agent::Launch l = make_step_launch(job, step, static_cast<int>(t));
    node->tasks.insert(l.task);
    if (node->local) {
      local_->launch(l, agent::Clock::now());
    } else {
      node->launches[l.task] = std::move(l);
      remote = true;
    }
  }
  if (remote) orders_cv_.notify_all();
}

Result<StepRecord> Controller::start_step(std::int64_t id, const api::StepRequest& r, const std::string& user,
                                          bool operator_rights, std::int64_t now) {
  std::lock_guard lock(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end() || (!operator_rights && it->second.user != user)) {
    return fail("job " + std::to_string(id) + " not found");
  }
  JobRecord& job = it->second;
  if (job.state != kRunning || stopping_.contains(id)) {
    return fail("job " + std::to_string(id) +
                (job.ended()             ? " has ended (" + job.state + ")"
                 : job.state == kPending ? " is not running yet"
                                         : " is ending"));
  }
  const int have = static_cast<int>(job.tasks.size());
  const int cpt = r.cpus_per_task > 0 ? r.cpus_per_task : 1;
  // Every node of the job unless fewer are asked for, or fewer tasks than nodes.
  int nodes = r.nodes > 0 ? r.nodes : have;
  if (nodes > have) {
    return fail("the step asks for " + std::to_string(nodes) + " nodes; job " + std::to_string(id) + " has " +
                std::to_string(have));
  }
  int ntasks = r.ntasks > 0 ? r.ntasks : r.ntasks_per_node > 0 ? nodes * r.ntasks_per_node : nodes;
  if (r.nodes == 0) nodes = std::min(nodes, ntasks);
  if (ntasks < nodes) {
    return fail("cannot run " + std::to_string(ntasks) + " task(s) on " + std::to_string(nodes) + " nodes");
  }
  // As many tasks on a node as its CPUs hold (and at most ntasks_per_node), counted round-robin
  // over the nodes (Slurm's step layout), then numbered in blocks or round-robin.
  const int per_node = job.request.cpus / cpt;
  const int cap = r.ntasks_per_node > 0 ? std::min(per_node, r.ntasks_per_node) : per_node;
  if (per_node < 1) {
    return fail("more processors requested than permitted: " + std::to_string(cpt) +
                " CPUs per task, and the job has " + std::to_string(job.request.cpus) + " on a node");
  }
  if (static_cast<std::int64_t>(cap) * nodes < ntasks) {
    return fail("more processors requested than permitted: " + std::to_string(ntasks) + " task(s) of " +
                std::to_string(cpt) + " CPU(s) on " + std::to_string(nodes) + " node(s) of " +
                std::to_string(job.request.cpus) + " CPU(s) (at most " + std::to_string(cap) + " task(s) a node)");
  }
  std::vector<int> counts(static_cast<std::size_t>(nodes), 0);
  for (int placed = 0, round = 0; placed < ntasks; ++round) {
    for (int n = 0; n < nodes && placed < ntasks; ++n) {
      if (round < cap) {
        ++counts[static_cast<std::size_t>(n)];
        ++placed;
      }
    }
  }
  StepRecord step;
  step.id = static_cast<int>(job.steps.size());
  step.argv = r.command;
  step.name = r.name.empty() ? fs::path(r.command.front()).filename().string() : r.name;
  step.workdir = r.workdir;
  step.env = r.env;
  step.cpus_per_task = cpt;
  step.cpus_per_task_given = r.cpus_per_task > 0;
  step.kill_on_bad_exit = r.kill_on_bad_exit;
  step.start = now;
  step.tasks.resize(static_cast<std::size_t>(ntasks));
  if (r.cyclic) {
    std::vector<int> left = counts;
    for (int t = 0, n = 0; t < ntasks; n = (n + 1) % nodes) {
      if (left[static_cast<std::size_t>(n)] == 0) continue;
      --left[static_cast<std::size_t>(n)];
      step.tasks[static_cast<std::size_t>(t++)].node = n;
    }
  } else {
    for (int n = 0, t = 0; n < nodes; ++n) {
      for (int k = 0; k < counts[static_cast<std::size_t>(n)]; ++k) step.tasks[static_cast<std::size_t>(t++)].node = n;
    }
  }
  json placed = json::array();
  for (const StepTaskRecord& t : step.tasks) placed.push_back(t.node);
  json env = json::array();
  for (const auto& [k, v] : step.env) env.push_back({k, v});
  json p{{"id", id},
         {"attempt", job.attempt},
         {"step", step.id},
         {"name", step.name},
         {"argv", step.argv},
         {"workdir", step.workdir},
         {"env", env},
         {"cpus_per_task", step.cpus_per_task_given ? cpt : 0},
         {"kill_on_bad_exit", step.kill_on_bad_exit},
         {"tasks", placed}};
  if (auto w = journal("job.step", p.dump(), now); !w) return tl::unexpected(w.error());
  job.steps.push_back(std::move(step));
  launch_step(job, job.steps.back());
  return job.steps.back();
}

Result<StepRecord> Controller::cancel_step(std::int64_t id, int step_id, const std::string& user, bool operator_rights,
                                           std::int64_t now) {
  std::lock_guard lock(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end() || (!operator_rights && it->second.user != user) || step_id < 0 ||
      step_id >= static_cast<int>(it->second.steps.size())) {
    return fail("step " + std::to_string(id) + "." + std::to_string(step_id) + " not found");
  }
  StepRecord& step = it->second.steps[static_cast<std::size_t>(step_id)];
  if (step.ended()) {
    return fail("step " + std::to_string(id) + "." + std::to_string(step_id) + " has already ended (" + step.state +
                ")");
  }
  stop_step(it->second, step, "cancelled by " + user, true, now);
  return step;
}

void Controller::stop_step(JobRecord& job, StepRecord& step, const std::string& why, bool cancel, std::int64_t now) {
  if (!step.stopping.empty()) {
    if (cancel && !step.cancelled) step.cancelled = true;
    return;
  }
  journal_async(
      "job.step_stop",
      json{{"id", job.id}, {"attempt", job.attempt}, {"step", step.id}, {"why", why}, {"cancel", cancel}}.dump(), now);
  step.stopping = why;
  step.cancelled = cancel;
  for (std::size_t t = 0; t < step.tasks.size(); ++t) {
    if (step.tasks[t].done()) continue;
    Node* node = find_node(job.tasks[static_cast<std::size_t>(step.tasks[t].node)].node);
    if (node && node->local) {
      local_->terminate(agent::step_task_id(job.id, job.attempt, step.id, static_cast<int>(t)),
                        agent::TaskEnd::Cancelled, agent::Clock::now(), why);
    }
  }
  orders_cv_.notify_all();
}

void Controller::step_task_ended(StepRecord& step, int task, const std::string& state, int exit_code, int signal,
                                 std::int64_t time) {
  if (task < 0 || task >= static_cast<int>(step.tasks.size())) return;
  StepTaskRecord& t = step.tasks[static_cast<std::size_t>(task)];
  if (t.done()) return;
  t.state = state;
  t.exit_code = exit_code;
  t.signal = signal;
  // A task ended by the step's own stop says nothing of how the step went; one killed outright
  // (SIGKILL) ends it as killed, CANCELLED, as Slurm has it.
  if (state != kCompleted && step.failure.empty() && !(state == kCancelled && !step.stopping.empty()))
    step.failure = state == kFailed && signal == SIGKILL ? kCancelled : state;
  // The step's code is its tasks' highest wait status (as Slurm's): an exit code over a signal.
  if (exit_code * 256 + signal > step.exit_code * 256 + step.signal) {
    step.exit_code = exit_code;
    step.signal = signal;
  }
  if (!std::all_of(step.tasks.begin(), step.tasks.end(), [](const StepTaskRecord& x) { return x.done(); })) return;
  step.state = step.cancelled ? kCancelled : step.failure.empty() ? kCompleted : step.failure;
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
          if (node->local) local_->terminate(task, agent::TaskEnd::Cancelled, agent::Clock::now(), step.stopping);
        }
      }
      step_task_ended(step, static_cast<int>(t), kCancelled, 0, SIGTERM, time);  // what it is sent
    }
    step.state = kCancelled;  // the job's end ended it, whatever its tasks did
  }
  if (nodes) orders_cv_.notify_all();  // remote agents are told to end what they still run of it
}

std::optional<std::pair<agent::TaskEnd, std::string>> Controller::stop_of(const agent::TaskRef& task) const {
  if (auto s = stopping_.find(task.job); s != stopping_.end()) return s->second;
  if (task.step < 0) return std::nullopt;
  auto it = jobs_.find(task.job);
  if (it == jobs_.end() || it->second.attempt != task.attempt || task.step >= static_cast<int>(it->second.steps.size()))
    return std::nullopt;
  const StepRecord& step = it->second.steps[static_cast<std::size_t>(task.step)];
  if (step.stopping.empty()) return std::nullopt;
  return std::make_pair(agent::TaskEnd::Cancelled, step.stopping);
}

void Controller::stop_tasks(JobRecord& job, agent::TaskEnd why, const std::string& message) {
  if (!stopping_.emplace(job.id, std::make_pair(why, message)).second) return;
  for (std::size_t rank = 0; rank < job.tasks.size(); ++rank) {
    if (job.tasks[rank].done) continue;
    Node* node = find_node(job.tasks[rank].node);
    if (node && node->local) {
      local_->terminate(agent::task_id(job.id, job.attempt, static_cast<int>(rank)), why, agent::Clock::now(), message);
    }
  }
  for (const StepRecord& step : job.steps) {
    for (std::size_t t = 0; t < step.tasks.size(); ++t) {
      if (step.tasks[t].done()) continue;
      Node* node = find_node(job.tasks[static_cast<std::size_t>(step.tasks[t].node)].node);
      if (node && node->local) {
        local_->terminate(agent::step_task_id(job.id, job.attempt, step.id, static_cast<int>(t)), why,
                          agent::Clock::now(), message);
      }
    }
  }
  orders_cv_.notify_all();  // remote agents get the order with their next answer
}

void Controller::task_ended(Node& node, const agent::Finished& f, std::int64_t now) {
  node.tasks.erase(f.task);
  node.launches.erase(f.task);
  const auto ref = agent::parse_task_id(f.task);
  if (!ref) return;
  const std::int64_t id = ref->job;
  const int attempt = ref->attempt, rank = ref->rank;
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  JobRecord& job = it->second;
  if (ref->step >= 0) {
    if (job.state != kRunning || job.attempt != attempt || ref->step >= static_cast<int>(job.steps.size())) return;
    StepRecord& step = job.steps[static_cast<std::size_t>(ref->step)];
    if (rank >= static_cast<int>(step.tasks.size()) || step.tasks[static_cast<std::size_t>(rank)].done() ||
        job.tasks[static_cast<std::size_t>(step.tasks[static_cast<std::size_t>(rank)].node)].node != node.name) {
      return;
    }
    const std::string state = f.fenced ? kNodeFail : state_for(f.status.end, f.status.exit_code);
    journal_async("job.step_task",
                  json{{"id", id},
                       {"attempt", attempt},
                       {"step", step.id},
                       {"task", rank},
                       {"state", state},
                       {"exit_code", f.status.exit_code},
                       {"signal", f.status.signal}}
                      .dump(),
                  now);
    step_task_ended(step, rank, state, f.status.exit_code, f.status.signal, now);
    if (step.kill_on_bad_exit && state != kCompleted && !step.ended() && step.stopping.empty()) {
      stop_step(job, step, "task " + std::to_string(rank) + " ended " + state + " (--kill-on-bad-exit)", false, now);
    }
    return;
  }
  if (job.state != kRunning || job.attempt != attempt || rank >= static_cast<int>(job.tasks.size()) ||
      job.tasks[rank].done || job.tasks[rank].node != node.name) {
    return;  // a report about an attempt that is over: the job ended or was requeued meanwhile
  }
  charge(job, now);  // every rank's use up to now, this one's for the last time
  job.tasks[rank].done = true;
  if (job.batch()) {
    for (TaskRecord& t : job.tasks) t.done = true;  // the script's end is the job's
  }
  const std::string state = f.fenced ? kNodeFail : state_for(f.status.end, f.status.exit_code);
  std::string reason = f.message.empty() ? std::string(agent::to_string(f.status.end)) : f.message;
  if (f.status.signal) reason += " (signal " + std::to_string(f.status.signal) + ")";
  if (job.tasks.size() > 1 && !job.batch())
    reason = "rank " + std::to_string(rank) + " on " + node.name + ": " + reason;
  if (state != kCompleted && !failures_.contains(id)) failures_[id] = {state, f.status.exit_code, reason};
  const bool all_done = std::all_of(job.tasks.begin(), job.tasks.end(), [](const TaskRecord& t) { return t.done; });
  if (!all_done) {
    json p{{"id", id},        {"attempt", attempt}, {"rank", rank}, {"state", state}, {"exit_code", f.status.exit_code},
           {"reason", reason}};
    journal_async("job.rank_ended", p.dump(), now);
    // One rank failing fails the job: the others would wait for it forever (a PyTorch group does).
    if (state != kCompleted)
      stop_tasks(job, agent::TaskEnd::Cancelled, "rank " + std::to_string(rank) + " ended " + state);
    return;
  }
  Failure final{kCompleted, 0, reason};
  if (auto fl = failures_.find(id); fl != failures_.end()) final = fl->second;
  pass_due_ = true;
  if (preempting_.contains(id) && final.state != kCompleted && final.state != kNodeFail) {
    // Stopped to make room: it waits again (and starts over; it had the grace period to checkpoint).
    scheduler_->preempted(core::JobId{id}, now);
    requeued(job, "requeued after preemption (it borrowed capacity that was needed back)", now);
    return;
  }
  if (final.state == kNodeFail) {
    scheduler_->finish(core::JobId{id}, now, core::JobState::Failed);
    node_failed(job, final.reason, now);
    return;
  }
  const core::JobState outcome = final.state == kCompleted ? core::JobState::Finished
                                 : final.state == kTimeout ? core::JobState::TimedOut
                                                           : core::JobState::Failed;
  if (final.state == kCancelled) {
    scheduler_->cancel(core::JobId{id}, now);
  } else {
    scheduler_->finish(core::JobId{id}, now, outcome);
  }
  end(job, final.state, final.exit_code, final.reason, now);
}

void Controller::node_failed(JobRecord& job, const std::string& why, std::int64_t now) {
  charge(job, now);  // the core has ended it: its use is charged up to now all the same
  // The ranks still running elsewhere belong to an attempt that is over: they are ended (directly
  // on the local node; remote agents are told when they next list them).
  for (std::size_t rank = 0; rank < job.tasks.size(); ++rank) {
    if (job.tasks[rank].done) continue;
    Node* node = find_node(job.tasks[rank].node);
    if (!node) continue;
    const std::string t = agent::task_id(job.id, job.attempt, static_cast<int>(rank));
    node->tasks.erase(t);
    node->launches.erase(t);
    if (node->local) local_->terminate(t, agent::TaskEnd::Cancelled, agent::Clock::now(), why);
  }
  orders_cv_.notify_all();
  running_.erase(job.id);
  failures_.erase(job.id);
  stopping_.erase(job.id);
  if (job.request.requeue && job.attempt < options_.requeue_limit) {
    scheduler_->requeue(core::JobId{job.id}, now);
    requeued(job, "requeued after NODE_FAIL: " + why, now);
    return;
  }
  end(job, kNodeFail, 0, why, now);
}

void Controller::requeued(JobRecord& job, const std::string& reason, std::int64_t now) {
  journal_async("job.requeued", json{{"id", job.id}, {"attempt", job.attempt + 1}, {"reason", reason}}.dump(), now);
  close_steps(job, now, true);
  ++job.attempt;
  job.state = kPending;
  job.reason = reason;
  job.start = -1;
  job.tasks.clear();
  job.steps.clear();
  running_.erase(job.id);
  failures_.erase(job.id);
  stopping_.erase(job.id);
  preempting_.erase(job.id);
  pass_due_ = true;
}

void Controller::readmit(std::int64_t now) {
  readmit_due_ = false;
  next_readmit_ = now + 60;
  if (books_.grants().all().empty() && held_.empty()) return;
  std::map<std::pair<std::string, std::string>, Result<JobAdmission>> verdicts;  // by (user, project)
  for (auto& [id, job] : jobs_) {
    if (job.state != kPending || job.project.empty()) continue;
    auto v = verdicts.find({job.user, job.project});
    if (v == verdicts.end()) {
      v = verdicts.emplace(std::make_pair(job.user, job.project), books_.admit(job.user, job.project, false, now))
              .first;
    }
    const core::JobId jid{id};
    if (!v->second) {
      held_[id] = "Held: " + v->second.error().message;
      scheduler_->hold(jid);
      continue;
    }
    if (held_.erase(id) > 0 && job.hold.empty()) {
      scheduler_->release(jid, now);
      pass_due_ = true;
    }
    const bool preemptible = job.request.preemptible || v->second->preemptible;
    if (preemptible != job.preemptible && scheduler_->set_preemptible(jid, preemptible)) {
      job.preemptible = preemptible;
      pass_due_ = true;
    }
  }
}

void Controller::sync_quotas() {
  const std::vector<core::Quota>& want = books_.quotas();
  for (const core::Quota& q : scheduler_->quotas()) {
    const bool kept = std::any_of(want.begin(), want.end(), [&](const core::Quota& w) {
      return w.scope == q.scope && w.name == q.name && w.model == q.model;
    });
    if (!kept) (void)scheduler_->remove_quota(q.scope, q.name, q.model);
  }
  for (const core::Quota& q : want) {
    auto r = scheduler_->set_quota(q);
    assert(r);  // the books checked it
    (void)r;
  }
  pass_due_ = true;
}

void Controller::node_down(Node& node, const std::string& why, std::int64_t now) {
  node.down = true;
  node.launches.clear();
  node.tasks.clear();
  const std::vector<core::JobId> failed = scheduler_->set_node_state(node.id, core::NodeState::Down, now);
  for (core::JobId id : failed) node_failed(jobs_.at(id.value), why, now);
  pass_due_ = true;
}

proto::SyncResponse Controller::orders(Node& node, const std::set<std::string>& listed) {
  proto::SyncResponse out;
  out.node_timeout_ms = options_.node_timeout.count();
  for (auto it = node.launches.begin(); it != node.launches.end();) {
    if (listed.contains(it->first)) {
      it = node.launches.erase(it);  // the agent has it
      continue;
    }
    const auto ref = agent::parse_task_id(it->first);
    if (ref && !stop_of(*ref)) out.launch.push_back(it->second);
    ++it;
  }
  for (const std::string& t : listed) {
    if (!node.tasks.contains(t)) {
      out.terminate.push_back({t, agent::TaskEnd::Cancelled, "not this node's to run any more"});
      continue;
    }
    const auto ref = agent::parse_task_id(t);
    if (!ref) continue;
    if (auto stop = stop_of(*ref)) out.terminate.push_back({t, stop->first, stop->second});
  }
  return out;
}

Result<proto::SyncResponse> Controller::sync(const proto::SyncRequest& request, const std::string& peer,
                                             agent::Clock::time_point mono, std::int64_t now) {
  std::unique_lock lock(mu_);
  Node* node = find_node(request.node);
  if (node && node->local) return fail("node '" + request.node + "' is the controller's own node");
  const std::string address = request.address.empty() ? peer : request.address;
  if (node) {
    if (const std::string change = resource_change(node->host, request.host); !change.empty()) {
      return fail("node '" + request.node + "' was registered with " + change +
                  "; a node keeps its resources while the controller knows it");
    }
  }
  const bool restarted = node && !node->instance.empty() && node->instance != request.instance;
  if (!node || node->instance != request.instance || node->address != address) {
    json p{{"node", request.node},
           {"instance", request.instance},
           {"address", address},
           {"cpus", request.host.cpus},
           {"memory", request.host.memory_bytes},
           {"devices", devices_json(request.host.devices)}};
    if (auto r = journal("node.registered", p.dump(), now); !r) return tl::unexpected(r.error());
    if (!node) node = &add_node(request.node, request.host, false);
    node->instance = request.instance;
    node->address = address;
  }
  node->tracking = request.tracking;
  node->last_seen = mono;
  node->last_seen_wall = now;
  if (!node->heard || node->down) {
    node->heard = true;
    node->down = false;
    apply_node_state(*node, now);
  }

  proto::SyncResponse out;
  // Output first, so that a job that has ended has all of it.
  for (const proto::LogChunk& c : request.logs) {
    const auto ref = agent::parse_task_id(c.task);
    if (!ref || !jobs_.contains(ref->job)) continue;
    const fs::path path = fs::path(options_.data_dir) / "jobs" / agent::log_name(c.task, c.stderr_stream);
    std::error_code ec;
    std::int64_t have = fs::exists(path, ec) ? static_cast<std::int64_t>(fs::file_size(path, ec)) : 0;
    if (c.offset <= have && c.offset + static_cast<std::int64_t>(c.data.size()) > have) {
      fs::create_directories(path.parent_path(), ec);
      std::ofstream f(path, std::ios::binary | std::ios::app);
      f.write(c.data.data() + (have - c.offset), static_cast<std::streamsize>(c.offset + c.data.size() - have));
      f.close();
      if (f) have = c.offset + static_cast<std::int64_t>(c.data.size());
    }
    out.log_offsets[c.task + (c.stderr_stream ? ".stderr" : ".stdout")] = have;
  }
  std::set<std::string> reported;
  for (const agent::Finished& f : request.finished) {
    task_ended(*node, f, now);
    reported.insert(f.task);
    out.acked.push_back(f.task);
  }
  // An agent forgets what it was acknowledged: it must be durable here first.
  if (!out.acked.empty()) {
    if (auto r = flush(); !r) return tl::unexpected(r.error());
  }
  const std::set<std::string> listed(request.running.begin(), request.running.end());
  // Tasks that should run there and that the agent does not have: not yet launched (sent again),
  // or lost (the agent restarted, or never will start it: the job is being ended).
  std::vector<std::string> lost;
  for (const std::string& t : node->tasks) {
    if (listed.contains(t) || reported.contains(t)) continue;
    const auto ref = agent::parse_task_id(t);
    if (restarted || !node->launches.contains(t) || (ref && stop_of(*ref))) lost.push_back(t);
  }
  for (const std::string& t : lost) {
    const auto ref = agent::parse_task_id(t);
    const auto stop = ref ? stop_of(*ref) : std::nullopt;
    agent::Finished f;
    f.task = t;
    if (stop && !restarted) {
      f.status.end = stop->first;
      f.message = stop->second + " before it started";
    } else {
      f.fenced = true;
      f.message = restarted ? "the agent on " + node->name + " restarted" : "the agent on " + node->name + " lost it";
    }
    task_ended(*node, f, now);
  }

  proto::SyncResponse o = orders(*node, listed);
  if (o.launch.empty() && o.terminate.empty() && out.acked.empty() && request.wait_ms > 0 &&
      waiting_ < options_.max_waiting_agents) {
    const std::string name = node->name;
    ++waiting_;
    orders_cv_.wait_for(lock, std::chrono::milliseconds(request.wait_ms), [&] {
      Node* n = find_node(name);
      if (!n || n->down) return true;
      proto::SyncResponse probe = orders(*n, listed);
      return !probe.launch.empty() || !probe.terminate.empty();
    });
    --waiting_;
    if (Node* n = find_node(name); n && !n->down) o = orders(*n, listed);
  }
  out.launch = std::move(o.launch);
  out.terminate = std::move(o.terminate);
  out.node_timeout_ms = o.node_timeout_ms;
  return out;
}

void Controller::step(agent::Clock::time_point mono, std::int64_t now) {
  std::vector<std::pair<std::int64_t, int>> begun;  // jobs (and attempts) this round starts
  std::vector<std::future<Result<std::int64_t>>> pending;
  {
    std::lock_guard lock(mu_);
    if (local_) {
      Node* local = find_node(options_.local_node);
      for (const agent::Finished& f : local_->poll(mono)) {
        task_ended(*local, f, now);
        local_->acknowledge(f.task);
      }
    }
    // Time limits and charges move with the wall clock's seconds: the running jobs are looked at
    // once per second, not at every round of the loop.
    for (std::int64_t id : now == scanned_at_ ? std::vector<std::int64_t>{}
                                              : std::vector<std::int64_t>(running_.begin(), running_.end())) {
      JobRecord& job = jobs_.at(id);
      if (now >= job.start + job.request.time_s && !stopping_.contains(id)) {
        stop_tasks(job, agent::TaskEnd::TimedOut, "time limit reached");
      }
      // Grants burn down while jobs run, not only when they end.
      if (now - std::max(books_.charged_until(id), job.start) >= books_.options().charge_every) charge(job, now);
    }
    scanned_at_ = now;
    for (Node* node : by_id_) {
      if (node->local || node->down) continue;
      const auto since = node->heard ? node->last_seen : started_;
      if (mono - since > options_.node_timeout) {
        node_down(*node,
                  "node " + node->name + " went silent (no word from its agent for " +
                      std::to_string(options_.node_timeout.count() / 1000) + " s)",
                  now);
      }
    }
    // Nothing is being written now (no submission half-way, nothing queued): the journal's
    // position is exact, and a snapshot may be due.
    if (inflight_ == 0 && unflushed_.empty() && journal_->last_seq() - snapshot_seq_ >= options_.snapshot_every) {
      (void)checkpoint_locked(now);
    }
    if (readmit_due_ || now >= next_readmit_) readmit(now);
    // A pass can only decide something new after resources were freed or nodes changed; otherwise
    // once a second, for jobs that run past their estimates and move reservations.
    if (pass_due_ || now != last_pass_) {
      pass_due_ = false;
      last_pass_ = now;
      const auto t0 = std::chrono::steady_clock::now();
      const std::vector<core::Decision> decisions = scheduler_->schedule(now);
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      pass_seconds_.observe(ms / 1000.0);
      if (pass_ms_.size() < 1000) {
        pass_ms_.push_back(ms);
      } else {
        pass_ms_[passes_ % 1000] = ms;
      }
      ++passes_;
      for (const core::Decision& d : decisions) {
        if (d.action == core::Action::Preempt) {
          // SIGTERM now, SIGKILL after the grace period; requeued once its tasks have ended.
          JobRecord& victim = jobs_.at(d.job.value);
          ++preempted_total_;
          preempting_.insert(victim.id);
          stop_tasks(victim, agent::TaskEnd::Cancelled, "preempted: its capacity is needed back");
          continue;
        }
        begin(d, now);
        begun.emplace_back(d.job.value, jobs_.at(d.job.value).attempt);
      }
    }
    pending = std::move(unflushed_);
    unflushed_.clear();
    awaiting_ = !pending.empty();
  }
  // What this round recorded (its ends, its starts: one transaction) becomes durable without
  // holding the lock, so that requests go on meanwhile. A task starts only once its start is
  // durable (else a restart could start it a second time).
  Result<void> durable;
  for (auto& f : pending) {
    auto r = f.get();
    if (!r && durable) durable = tl::unexpected(r.error());
  }
  std::lock_guard lock(mu_);
  awaiting_ = false;
  if (!durable && options_.on_store_failure) options_.on_store_failure(durable.error());
  for (const auto& [id, attempt] : begun) {
    JobRecord& job = jobs_.at(id);
    if (job.state != kRunning || job.attempt != attempt) continue;  // ended meanwhile (its node failed)
    if (durable) {
      launch(job, now);
      continue;
    }
    scheduler_->finish(core::JobId{id}, now, core::JobState::Failed);
    end(job, kFailed, 0, "could not record the start: " + durable.error().message, now);
    pass_due_ = true;
  }
}

Result<void> Controller::administer(const std::string& kind, const json& payload, std::int64_t now) {
  std::lock_guard lock(mu_);
  if (!Accounting::handles(kind) || kind == "usage.charged") return fail("not a change of the books: " + kind);
  if (auto ok = books_.check(kind, payload); !ok) return ok;
  if (auto r = journal(kind, payload.dump(), now); !r) return r;
  auto applied = books_.apply(kind, payload, now);
  assert(applied);  // checked above, under the same lock
  if (kind.starts_with("quota.")) sync_quotas();
  readmit_due_ = true;
  return applied;
}

std::vector<std::pair<core::Quota, core::Milli>> Controller::quotas() const {
  std::lock_guard lock(mu_);
  std::vector<std::pair<core::Quota, core::Milli>> out;
  for (const core::Quota& q : scheduler_->quotas())
    out.emplace_back(q, scheduler_->quota_used(q.scope, q.name, q.model));
  return out;
}

void Controller::read_books(const std::function<void(const Accounting&)>& read) const {
  std::lock_guard lock(mu_);
  read(books_);
}

std::map<std::int64_t, std::int64_t> Controller::planned_starts(std::int64_t now, std::size_t limit) const {
  std::lock_guard lock(mu_);
  std::map<std::int64_t, std::int64_t> out;
  for (const auto& [id, at] : scheduler_->planned_starts(now, limit)) out[id.value] = at;
  return out;
}

void Controller::write_metrics(std::string& out) const {
  namespace m = metrics;
  std::lock_guard lock(mu_);
  std::map<std::string, std::int64_t> by_state;
  for (const char* state : {kPending, kRunning, kCompleted, kFailed, kCancelled, kTimeout, kOutOfMemory, kNodeFail}) {
    by_state[state] = 0;
  }
  for (const auto& [id, job] : jobs_) ++by_state[job.state];
  m::family(out, "gwang_jobs", "gauge", "Jobs the controller holds, by state");
  for (const auto& [state, n] : by_state) m::sample(out, "gwang_jobs", m::labels({{"state", state}}), n);
  m::family(out, "gwang_queue_length", "gauge", "Jobs waiting to start (held ones included)");
  m::sample(out, "gwang_queue_length", "", static_cast<double>(scheduler_->pending_count()));
  m::family(out, "gwang_jobs_held", "gauge", "Waiting jobs held because their project's grants do not let them run");
  m::sample(out, "gwang_jobs_held", "", static_cast<double>(held_.size()));
  m::family(out, "gwang_job_wait_seconds", "histogram", "Time from submission to start, observed at each start");
  wait_seconds_.write(out, "gwang_job_wait_seconds");
  m::family(out, "gwang_scheduling_pass_duration_seconds", "histogram", "Duration of the scheduler's passes");
  pass_seconds_.write(out, "gwang_scheduling_pass_duration_seconds");
  m::family(out, "gwang_scheduler_decisions_total", "counter", "Decisions of the scheduler, by action");
  m::sample(out, "gwang_scheduler_decisions_total", m::labels({{"action", "start"}}),
            static_cast<double>(started_total_));
  m::sample(out, "gwang_scheduler_decisions_total", m::labels({{"action", "preempt"}}),
            static_cast<double>(preempted_total_));

  // Nodes, and devices by model and state: free, shared (part of it in use), busy, unavailable (on a
  // node that takes no work).
  std::map<std::string, std::int64_t> nodes{{"up", 0}, {"drained", 0}, {"down", 0}, {"unknown", 0}};
  std::map<std::pair<std::string, int>, core::Milli> used;  // (node, device index) -> milli in use
  for (std::int64_t id : running_) {
    for (const TaskRecord& t : jobs_.at(id).tasks) {
      if (t.done) continue;
      for (const core::DeviceShare& d : t.shares) used[{t.node, d.index}] += d.milli;
    }
  }
  std::map<std::pair<std::string, std::string>, std::int64_t> devices;  // (model, state)
  std::map<std::string, std::pair<double, double>> utilisation;         // model -> (used, total) in devices
  for (const Node* n : by_id_) {
    const bool usable = n->heard && !n->down && !n->drained;
    ++nodes[n->down ? "down" : !n->heard ? "unknown" : n->drained ? "drained" : "up"];
    for (std::size_t i = 0; i < n->host.devices.size(); ++i) {
      const std::string& model = n->host.devices[i].kind;
      auto u = used.find({n->name, static_cast<int>(i)});
      const core::Milli milli = u == used.end() ? 0 : u->second;
      const char* state = device_state(usable, milli);
      for (const char* s : {"free", "shared", "busy", "unavailable"}) devices.try_emplace({model, s}, 0);
      ++devices[{model, state}];
      utilisation[model].first += static_cast<double>(milli) / core::kMilli;
      utilisation[model].second += 1;
    }
  }
  m::family(out, "gwang_nodes", "gauge", "Nodes by state");
  for (const auto& [state, n] : nodes) m::sample(out, "gwang_nodes", m::labels({{"state", state}}), n);
  m::family(out, "gwang_devices", "gauge", "Accelerator devices by model and state");
  for (const auto& [key, n] : devices) {
    m::sample(out, "gwang_devices", m::labels({{"model", key.first}, {"state", key.second}}), n);
  }
  m::family(out, "gwang_accelerator_utilisation_ratio", "gauge",
            "Share of each accelerator model's devices in use now (shares counted by their part)");
  for (const auto& [model, u] : utilisation) {
    m::sample(out, "gwang_accelerator_utilisation_ratio", m::labels({{"model", model}}),
              u.second > 0 ? u.first / u.second : 0);
  }
  m::family(out, "gwang_grant_remaining_hours", "gauge", "Normalised accelerator-hours left in each grant");
  for (const core::Grant& g : books_.grants().all()) {
    const std::string id = std::to_string(g.id.value);
    m::sample(out, "gwang_grant_remaining_hours",
              m::labels({{"grant", id}, {"project", g.project}, {"programme", g.programme}}), g.remaining());
  }
  m::family(out, "gwang_grant_used_hours", "gauge", "Normalised accelerator-hours charged to each grant");
  for (const core::Grant& g : books_.grants().all()) {
    const std::string id = std::to_string(g.id.value);
    m::sample(out, "gwang_grant_used_hours",
              m::labels({{"grant", id}, {"project", g.project}, {"programme", g.programme}}), g.used);
  }
}

Controller::StartHints Controller::start_hints(std::int64_t id, std::int64_t now) const {
  std::lock_guard lock(mu_);
  StartHints out;
  const core::Job* job = scheduler_->find(core::JobId{id});
  if (!job || job->state != core::JobState::Pending) return out;
  out.waiting = true;
  const core::WhatIf what = scheduler_->what_if(core::JobId{id}, now);
  out.start = what.start;
  const core::JobSpec& spec = job->spec;
  auto plural = [](std::int64_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
  };
  for (const core::Hint& h : what.hints) {
    StartHint hint;
    hint.value = h.value;
    hint.start = h.start;
    switch (h.change) {
      case core::Hint::Change::FewerDevices:
        hint.change = "gpus";
        hint.text = "with " + plural(h.value, "accelerator", "accelerators") + " per task instead of " +
                    std::to_string(spec.task.accel.count);
        break;
      case core::Hint::Change::OtherModel:
        hint.change = "model";
        hint.model = scheduler_->cluster().registry().name(h.model);
        hint.text = "on " + hint.model + " instead";
        break;
      case core::Hint::Change::FewerTasks:
        hint.change = "nodes";
        hint.text = "on " + plural(h.value, "node", "nodes") + " instead of " + std::to_string(spec.tasks);
        break;
      case core::Hint::Change::ShorterLimit:
        hint.change = "time_limit";
        hint.text = "with a time limit of at most " + api::format_duration(h.value) +
                    ": it would run before the reserved job starts";
        break;
    }
    out.hints.push_back(std::move(hint));
  }
  return out;
}

std::vector<Controller::FairShareRow> Controller::fair_share(std::int64_t now) const {
  std::lock_guard lock(mu_);
  const core::FairShare& fs = scheduler_->fairshare();
  const std::vector<double> factors = fs.factors(now);
  std::vector<FairShareRow> out;
  out.reserve(fs.size());
  for (std::uint32_t i = 1; i < fs.size(); ++i) {  // 0 is the centre itself
    FairShareRow row;
    for (core::AccountId a{i}; a != core::FairShare::root(); a = fs.parent(a)) row.path.push_back(fs.name(a));
    std::reverse(row.path.begin(), row.path.end());
    row.terms = fs.terms(core::AccountId{i}, now);
    row.factor = i < factors.size() ? factors[i] : row.terms.factor;
    out.push_back(std::move(row));
  }
  return out;
}

Status Controller::status(int window) const {
  std::lock_guard lock(mu_);
  Status s;
  s.jobs = static_cast<std::int64_t>(jobs_.size());
  s.pending = static_cast<std::int64_t>(scheduler_->pending_count());
  s.running = static_cast<std::int64_t>(running_.size());
  s.nodes = static_cast<std::int64_t>(by_id_.size());
  for (const Node* n : by_id_) s.nodes_up += n->heard && !n->down && !n->drained;
  s.passes = passes_;
  if (!pass_ms_.empty()) {
    s.pass_ms_last = pass_ms_[(passes_ - 1) % pass_ms_.size()];
    const std::size_t n = std::clamp<std::size_t>(static_cast<std::size_t>(std::max(window, 1)), 1, pass_ms_.size());
    std::vector<double> sorted;
    for (std::size_t i = 0; i < n; ++i) sorted.push_back(pass_ms_[(passes_ - 1 - i) % pass_ms_.size()]);
    std::sort(sorted.begin(), sorted.end());
    auto at = [&](double q) {
      return sorted[std::min(sorted.size() - 1, static_cast<std::size_t>(q * sorted.size()))];
    };
    s.pass_ms_p50 = at(0.5);
    s.pass_ms_p99 = at(0.99);
    s.pass_ms_max = sorted.back();
  }
  if (inflight_ == 0 && unflushed_.empty() && !awaiting_) s.journal_seq = journal_->last_seq();
  s.snapshot_seq = snapshot_seq_;
  return s;
}

std::string_view Controller::reason_of(const JobRecord& job, std::string& scratch) const {
  if (job.state != kPending) return job.reason;
  const core::Job* j = scheduler_->find(core::JobId{job.id});
  if (!j) return job.reason;
  std::string_view reason;
  switch (j->reason) {
    case core::PendingReason::Resources:
      reason = "Resources: waiting for resources to free up";
      break;
    case core::PendingReason::Reserved:
      scratch = "Reserved: resources are reserved for it, expected start at " + core::format_utc(j->reserved_at);
      reason = scratch;
      break;
    case core::PendingReason::NodesUnavailable:
      reason = "NodesUnavailable: the nodes it fits are drained or down";
      break;
    case core::PendingReason::ReservedForOther: {
      const core::Job* other = scheduler_->find(j->blocker);
      scratch = "ReservedForJob: it fits now, but in room reserved for job " + std::to_string(j->blocker.value);
      if (other && other->reason == core::PendingReason::Reserved && other->reserved_at >= 0) {
        scratch += " (expected to start at " + core::format_utc(other->reserved_at) + ")";
      }
      reason = scratch;
      break;
    }
    case core::PendingReason::GangNodes:
      scratch = "Gang: waiting for room for all its " + std::to_string(j->spec.tasks) + " tasks at once, one per node";
      reason = scratch;
      break;
    case core::PendingReason::QuotaReached:
      reason = "QuotaReached: its project's or institution's accelerators are all in use";
      break;
    case core::PendingReason::Preempting:
      reason = "Preempting: preemptible jobs are stopping to make room for it";
      break;
    case core::PendingReason::Held:
      if (job.hold == "admin") {
        reason = "JobHeldAdmin: held by an operator until an operator releases it";
      } else if (job.hold == "user") {
        reason = "JobHeldUser: held by its owner until released (scontrol release, gwang release)";
      } else if (auto h = held_.find(job.id); h != held_.end()) {
        reason = h->second;
      }
      break;
    case core::PendingReason::BeginTime:
      scratch = "BeginTime: not before " + core::format_utc(j->spec.begin);
      reason = scratch;
      break;
    case core::PendingReason::Dependency:
      scratch = "Dependency: waiting for " + job.request.dependency;
      reason = scratch;
      break;
    case core::PendingReason::DependencyNeverSatisfied:
      scratch =
          "DependencyNeverSatisfied: " + job.request.dependency + " can no longer hold; it will not run (cancel it)";
      reason = scratch;
      break;
    case core::PendingReason::ArrayTaskLimit:
      reason = "JobArrayTaskLimit: its array runs as many tasks at once as it allows";
      break;
    default:
      reason = "Priority: jobs ahead of it go first";
  }
  if (job.attempt == 0) return reason;
  scratch = std::string(reason) + " (" + job.reason + ")";
  return scratch;
}

JobRecord Controller::with_reason(JobRecord job) const {
  std::string scratch;
  job.reason = std::string(reason_of(job, scratch));
  return job;
}

void Controller::for_each_job(bool all, const std::function<void(const JobRecord&, std::string_view)>& visit) const {
  std::lock_guard lock(mu_);
  std::string scratch;
  for (const auto& [id, job] : jobs_) {
    if (all || !job.ended()) visit(job, reason_of(job, scratch));
  }
}

void Controller::scan_jobs(bool all, bool newest_first,
                           const std::function<bool(const JobRecord&, const Reasons&)>& visit) const {
  std::lock_guard lock(mu_);
  std::string scratch;
  const Reasons reasons(*this, scratch);
  auto one = [&](const JobRecord& job) { return !(all || !job.ended()) || visit(job, reasons); };
  if (newest_first) {
    for (auto it = jobs_.rbegin(); it != jobs_.rend(); ++it) {
      if (!one(it->second)) return;
    }
  } else {
    for (const auto& [id, job] : jobs_) {
      if (!one(job)) return;
    }
  }
}

}  // namespace gwang::controller
