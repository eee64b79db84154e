#include "controller/controller.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

namespace gwang::controller {

using nlohmann::json;
namespace fs = std::filesystem;

Result<Account> lookup_account(const std::string& name) {
  struct passwd pw;
  struct passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || !found) {
    return fail("no account named '" + name + "' on this host");
  }
  Account a{pw.pw_name, pw.pw_uid, pw.pw_gid, {}, pw.pw_dir};
  int n = 64;
  std::vector<gid_t> groups(n);
  if (::getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &n) < 0) {
    groups.resize(n);
    ::getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &n);
  }
  groups.resize(n);
  a.groups = std::move(groups);
  return a;
}

namespace {

constexpr core::Milli kMiB = 1LL << 20;

json request_json(const api::SubmitRequest& r) { return json::parse(api::to_json(r)); }

std::string state_for(agent::TaskEnd end, int exit_code) {
  switch (end) {
    case agent::TaskEnd::Exited: return exit_code == 0 ? kCompleted : kFailed;
    case agent::TaskEnd::Signaled: return kFailed;
    case agent::TaskEnd::TimedOut: return kTimeout;
    case agent::TaskEnd::Cancelled: return kCancelled;
    case agent::TaskEnd::OutOfMemory: return kOutOfMemory;
  }
  return kFailed;
}

}  // namespace

Controller::Controller(ControllerOptions options) : options_(std::move(options)) {}

Controller::~Controller() {
  std::lock_guard lock(mu_);
  tasks_.clear();  // a task's destructor ends what is left of it
}

Result<std::unique_ptr<Controller>> Controller::open(ControllerOptions options, std::int64_t now) {
  std::error_code ec;
  fs::create_directories(fs::path(options.data_dir) / "jobs", ec);
  if (ec) return fail(options.data_dir + ": cannot create: " + ec.message());
  fs::permissions(fs::path(options.data_dir) / "jobs", fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec, ec);
  auto journal = store::open_sqlite_journal((fs::path(options.data_dir) / "state.db").string());
  if (!journal) return tl::unexpected(journal.error());

  auto c = std::unique_ptr<Controller>(new Controller(std::move(options)));
  c->journal_ = std::move(*journal);
  c->committer_ = std::make_unique<store::GroupCommitter>(*c->journal_);
  c->tracking_ = agent::Tracking::detect(c->options_.tracking);
  c->instance_ = std::to_string(::getpid()) + "-" + std::to_string(reinterpret_cast<std::uintptr_t>(c.get()) % 100000);
  // Tasks of a previous run that stopped without ending them (killed, crashed) end now: a job that
  // was running then is over (NODE_FAIL after recovery), and so must be every process of it.
  const fs::path instance_file = fs::path(c->options_.data_dir) / "instance";
  if (std::ifstream in(instance_file); in) {
    std::string previous;
    std::getline(in, previous);
    if (!previous.empty()) c->tracking_.end_groups("." + previous);
  }
  {
    std::ofstream out(instance_file, std::ios::trunc);
    out << c->instance_ << '\n';
    if (!out) return fail(instance_file.string() + ": cannot write");
  }

  core::Cluster cluster;
  core::NodeSpec node{c->options_.node_name, {}, {}};
  node.scalars.set(core::ResourceRegistry::kCpu, c->options_.host.cpus * core::kMilli);
  node.scalars.set(core::ResourceRegistry::kMemory, c->options_.host.memory_bytes / kMiB * core::kMilli);
  for (const agent::Device& d : c->options_.host.devices) node.devices.push_back(cluster.registry().intern(d.kind));
  cluster.add_node(node);
  core::SchedulerOptions sched;
  sched.order = core::QueueOrder::Fcfs;
  sched.backfill = core::Backfill::Easy;
  sched.placement = core::PlacementKind::BestFit;
  sched.backfill_depth = 1000;  // a pass tries at most this many queued jobs, like Slurm's bf_max_job_test
  c->scheduler_ = std::make_unique<core::Scheduler>(std::move(cluster), sched);
  if (auto r = c->recover(now); !r) return tl::unexpected(r.error());
  return c;
}

Result<void> Controller::journal(const std::string& kind, const std::string& payload, std::int64_t now) {
  auto r = committer_->append_and_wait({0, now, kind, payload});
  if (!r) return tl::unexpected(r.error());
  return {};
}

Result<void> Controller::recover(std::int64_t now) {
  auto loaded = journal_->load();
  if (!loaded) return tl::unexpected(loaded.error());
  for (const store::Record& rec : loaded->records) {
    json p;
    try {
      p = json::parse(rec.payload);
    } catch (const json::exception& e) {
      return fail("journal record " + std::to_string(rec.seq) + " (" + rec.kind + "): " + e.what());
    }
    const std::int64_t id = p.value("id", std::int64_t{0});
    if (rec.kind == "job.submitted") {
      auto request = api::parse_submit(p["request"]);
      if (!request) return fail("journal record " + std::to_string(rec.seq) + ": " + request.error().message);
      JobRecord job;
      job.id = id;
      job.user = p["user"].get<std::string>();
      job.request = *request;
      job.submit = rec.time;
      jobs_[id] = std::move(job);
      next_id_ = std::max(next_id_, id + 1);
    } else if (rec.kind == "node.state") {
      if (p["node"].get<std::string>() == options_.node_name) node_state_ = p["state"].get<std::string>();
    } else if (auto it = jobs_.find(id); it == jobs_.end()) {
      return fail("journal record " + std::to_string(rec.seq) + " (" + rec.kind + ") names unknown job " + std::to_string(id));
    } else if (rec.kind == "job.started") {
      it->second.state = kRunning;
      it->second.start = rec.time;
      it->second.node = p["node"].get<std::string>();
      it->second.devices = p["devices"].get<std::vector<std::string>>();
    } else if (rec.kind == "job.ended") {
      it->second.state = p["state"].get<std::string>();
      it->second.exit_code = p["exit_code"].get<int>();
      it->second.reason = p["reason"].get<std::string>();
      it->second.end = rec.time;
    }
  }
  if (node_state_ != "up") {
    scheduler_->set_node_state(core::NodeId{0}, core::NodeState::Drained, now);
  }
  // Pending jobs wait again; running ones ran here and ended with the controller that ran them.
  std::map<std::string, Result<Account>> accounts;  // one look-up per user, not per job
  for (auto& [id, job] : jobs_) {
    if (job.state == kRunning) {
      end(job, kNodeFail, 0, "the controller stopped while the job ran", now);
      continue;
    }
    if (job.state != kPending) continue;
    auto found = accounts.find(job.user);
    if (found == accounts.end()) found = accounts.emplace(job.user, lookup_account(job.user)).first;
    const Result<Account>& account = found->second;
    auto spec = to_spec(job);
    if (!account || !spec) {
      end(job, kFailed, 0, !account ? account.error().message : spec.error().message, now);
      continue;
    }
    accounts_[id] = *account;
    auto status = scheduler_->submit(*spec, now);
    if (!status || *status == core::SubmitStatus::Unsatisfiable) {
      end(job, kFailed, 0, "no node can hold it any more", now);
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
  return spec;
}

Result<JobRecord> Controller::submit(const api::SubmitRequest& request, const Account& owner, std::int64_t now) {
  JobRecord job;
  std::optional<core::JobSpec> spec;
  {
    std::lock_guard lock(mu_);
    job.id = next_id_;
    job.user = owner.name;
    job.request = request;
    job.submit = now;
    if (job.request.workdir.empty()) job.request.workdir = owner.home;
    auto s = to_spec(job);
    if (!s) return tl::unexpected(s.error());
    if (!scheduler_->would_ever_fit(*s)) {
      const auto& node = options_.host;
      return fail("no node can ever hold this job: each of its " + std::to_string(request.nodes) + " task(s) needs " +
                  std::to_string(request.cpus) + " CPUs, " + api::format_memory(request.mem_bytes) + " of memory" +
                  (s->task.accel.count > 0 ? " and " + std::to_string(s->task.accel.count) + " accelerator(s)" : "") +
                  " on a node of its own; the largest node has " + std::to_string(node.cpus) + " CPUs, " +
                  api::format_memory(node.memory_bytes) + " and " + std::to_string(node.devices.size()) +
                  " accelerator(s), and there are " + std::to_string(scheduler_->cluster().size()) + " node(s)");
    }
    spec = std::move(*s);
    ++next_id_;
  }
  // Durable before anything else happens to it; concurrent submissions share one disk flush.
  json p{{"id", job.id}, {"user", job.user}, {"request", request_json(job.request)}};
  if (auto r = journal("job.submitted", p.dump(), now); !r) return tl::unexpected(r.error());

  std::lock_guard lock(mu_);
  auto status = scheduler_->submit(*spec, now);
  if (!status) return tl::unexpected(status.error());  // validated above: a broken invariant otherwise
  accounts_[job.id] = owner;
  jobs_[job.id] = job;
  // A job that can start now starts now, not at the next round of the control loop.
  if (scheduler_->fits_now(spec->id)) {
    for (const core::Decision& d : scheduler_->schedule(now)) start(d, now);
  }
  return with_reason(jobs_[job.id]);
}

Result<JobRecord> Controller::cancel(std::int64_t id, const std::string& user, bool operator_rights, std::int64_t now) {
  std::lock_guard lock(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end() || (!operator_rights && it->second.user != user)) {
    return fail("job " + std::to_string(id) + " not found");
  }
  JobRecord& job = it->second;
  if (job.ended()) return fail("job " + std::to_string(id) + " has already ended (" + job.state + ")");
  if (job.state == kPending) {
    scheduler_->cancel(core::JobId{id}, now);
    end(job, kCancelled, 0, "cancelled by " + user, now);
    pass_due_ = true;  // the jobs behind it may now go
  } else if (auto t = tasks_.find(id); t != tasks_.end()) {
    t->second->terminate(agent::TaskEnd::Cancelled, options_.kill_grace, agent::Clock::now());
    job.reason = "cancelling (asked by " + user + ")";
  }
  return job;
}

std::optional<JobRecord> Controller::job(std::int64_t id) const {
  std::lock_guard lock(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return std::nullopt;
  return with_reason(it->second);
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
  NodeRecord n;
  n.name = options_.node_name;
  n.state = node_state_;
  n.cpus = options_.host.cpus;
  n.memory_bytes = options_.host.memory_bytes;
  n.devices = options_.host.devices;
  n.tracking = tracking_.describe();
  for (const auto& [id, job] : jobs_) {
    if (job.state != kRunning) continue;
    n.jobs.push_back(id);
    n.cpus_used += job.request.cpus;
    n.memory_used += job.request.mem_bytes;
  }
  return {n};
}

Result<void> Controller::set_node_state(const std::string& node, const std::string& state, std::int64_t now) {
  std::lock_guard lock(mu_);
  if (node != options_.node_name) return fail("node '" + node + "' not found");
  if (state != "up" && state != "drained") return fail("node state '" + state + "': expected up or drained");
  if (auto r = journal("node.state", json{{"node", node}, {"state", state}}.dump(), now); !r) return r;
  node_state_ = state;
  scheduler_->set_node_state(core::NodeId{0}, state == "up" ? core::NodeState::Up : core::NodeState::Drained, now);
  pass_due_ = true;
  return {};
}

std::string Controller::log_path(std::int64_t id, bool stderr_stream) const {
  return (fs::path(options_.data_dir) / "jobs" / std::to_string(id) / (stderr_stream ? "stderr" : "stdout")).string();
}

void Controller::end(JobRecord& job, const std::string& state, int exit_code, const std::string& reason,
                     std::int64_t now) {
  json p{{"id", job.id}, {"state", state}, {"exit_code", exit_code}, {"reason", reason}};
  // An end that cannot be journalled is still an end here; recovery would see the job as running
  // and end it as NODE_FAIL, which is the truth as the store knows it.
  (void)journal("job.ended", p.dump(), now);
  job.state = state;
  job.exit_code = exit_code;
  job.reason = reason;
  job.end = now;
  accounts_.erase(job.id);
}

void Controller::start(const core::Decision& d, std::int64_t now) {
  JobRecord& job = jobs_.at(d.job.value);
  const Account& owner = accounts_.at(job.id);
  std::vector<std::string> uuids;
  std::string cuda, declared;
  for (const core::DeviceShare& share : d.placement.front().devices) {
    const agent::Device& dev = options_.host.devices.at(share.index);
    uuids.push_back(dev.uuid);
    std::string& list = dev.declared ? declared : cuda;
    list += (list.empty() ? "" : ",") + (dev.declared ? dev.uuid : std::to_string(dev.index));
  }
  json p{{"id", job.id}, {"node", options_.node_name}, {"devices", uuids}};
  if (auto r = journal("job.started", p.dump(), now); !r) {
    scheduler_->finish(d.job, now, core::JobState::Failed);
    end(job, kFailed, 0, "could not record the start: " + r.error().message, now);
    return;
  }
  job.state = kRunning;
  job.start = now;
  job.node = options_.node_name;
  job.devices = uuids;
  job.reason.clear();

  const fs::path dir = fs::path(options_.data_dir) / "jobs" / std::to_string(job.id);
  std::error_code ec;
  fs::create_directories(dir, ec);
  agent::TaskSpec task;
  // Unique on the host, also across controllers that share it (tests, a second `gwang up`).
  task.name = "job-" + std::to_string(job.id) + "." + instance_;
  task.argv = job.request.command;
  task.workdir = job.request.workdir;
  task.uid = owner.uid;
  task.gid = owner.gid;
  task.groups = owner.groups;
  task.stdout_path = (dir / "stdout").string();
  task.stderr_path = (dir / "stderr").string();
  task.memory_limit_bytes = job.request.mem_bytes;
  task.env = {{"PATH", "/usr/local/bin:/usr/bin:/bin"},
              {"HOME", owner.home},
              {"USER", owner.name},
              {"LOGNAME", owner.name},
              {"GWANG_JOB_ID", std::to_string(job.id)},
              {"GWANG_JOB_NAME", job.request.name},
              {"GWANG_NODELIST", options_.node_name},
              {"MASTER_ADDR", options_.node_name},
              {"MASTER_PORT", std::to_string(20000 + job.id % 20000)},
              {"WORLD_SIZE", "1"},
              {"RANK", "0"},
              {"LOCAL_RANK", "0"}};
  if (!cuda.empty()) task.env.emplace_back("CUDA_VISIBLE_DEVICES", cuda);
  if (!declared.empty()) task.env.emplace_back("GWANG_DEVICES", declared);
  for (const auto& kv : job.request.env) {
    std::erase_if(task.env, [&](const auto& e) { return e.first == kv.first; });
    task.env.push_back(kv);
  }
  auto launched = agent::Task::launch(task, tracking_);
  if (!launched) {
    scheduler_->finish(d.job, now, core::JobState::Failed);
    end(job, kFailed, 127, launched.error().message, now);
    pass_due_ = true;
    return;
  }
  tasks_[job.id] = std::move(*launched);
}

void Controller::step(agent::Clock::time_point mono, std::int64_t now) {
  std::lock_guard lock(mu_);
  for (auto it = tasks_.begin(); it != tasks_.end();) {
    JobRecord& job = jobs_.at(it->first);
    if (now >= job.start + job.request.time_s) {
      it->second->terminate(agent::TaskEnd::TimedOut, options_.kill_grace, mono);
    }
    if (auto status = it->second->poll(mono)) {
      const std::string state = state_for(status->end, status->exit_code);
      std::string reason = std::string(agent::to_string(status->end));
      if (status->signal) reason += " (signal " + std::to_string(status->signal) + ")";
      const core::JobState outcome = state == kCompleted ? core::JobState::Finished
                                     : state == kTimeout ? core::JobState::TimedOut
                                     : state == kCancelled ? core::JobState::Cancelled
                                                           : core::JobState::Failed;
      if (outcome == core::JobState::Cancelled) {
        scheduler_->cancel(core::JobId{job.id}, now);
      } else {
        scheduler_->finish(core::JobId{job.id}, now, outcome);
      }
      end(job, state, status->exit_code, reason, now);
      pass_due_ = true;
      it = tasks_.erase(it);
    } else {
      ++it;
    }
  }
  // A pass can only decide something new after resources were freed or nodes changed; otherwise
  // once a second, for jobs that run past their estimates and move reservations.
  if (pass_due_ || now != last_pass_) {
    pass_due_ = false;
    last_pass_ = now;
    for (const core::Decision& d : scheduler_->schedule(now)) start(d, now);
  }
}

JobRecord Controller::with_reason(JobRecord job) const {
  if (job.state != kPending) return job;
  const core::Job* j = scheduler_->find(core::JobId{job.id});
  if (!j) return job;
  switch (j->reason) {
    case core::PendingReason::Resources: job.reason = "Resources: waiting for resources to free up"; break;
    case core::PendingReason::Reserved:
      job.reason = "Reserved: resources are reserved for it, expected start at " + std::to_string(j->reserved_at);
      break;
    case core::PendingReason::NodesUnavailable: job.reason = "NodesUnavailable: the nodes it fits are drained or down"; break;
    default: job.reason = "Priority: jobs ahead of it go first";
  }
  return job;
}

}  // namespace gwang::controller
