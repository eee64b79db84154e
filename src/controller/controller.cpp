// The controller's wiring: it opens its journal, scheduler, partitions and local agent, recovers,
// and keeps the journal's queue and the small look-ups the other rooms share (nodes, partitions,
// log files). The rooms: recovery.cpp, snapshot.cpp, admission.cpp, charging.cpp, starts.cpp
// (with launch.h), steps.cpp, ends.cpp, agents.cpp, round.cpp, views.cpp.

#include "controller/controller.h"

#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <filesystem>

#include "slurm/hostlist.h"
#include "store/postgres.h"

namespace gwang::controller {

namespace fs = std::filesystem;

Controller::Controller(ControllerOptions options) : options_(std::move(options)), books_(options_.accounting) {}

Controller::~Controller() {
  if (snapshot_job_.valid()) snapshot_job_.wait();  // it uses the committer
  std::lock_guard lock(mu_);
  local_.reset();  // ends what is left of the local tasks
}

Result<std::unique_ptr<Controller>> Controller::open(ControllerOptions options, std::int64_t now) {
  return open(std::move(options), ControllerParts{}, now);
}

Result<std::unique_ptr<Controller>> Controller::open(ControllerOptions options, ControllerParts parts,
                                                     std::int64_t now) {
  std::error_code ec;
  fs::create_directories(fs::path(options.data_dir) / "jobs", ec);
  if (ec) return fail(options.data_dir + ": cannot create: " + ec.message());
  fs::permissions(fs::path(options.data_dir) / "jobs",
                  fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec, ec);
  if (!parts.journal) {
    auto journal = options.store.empty()
                       ? store::open_sqlite_journal((fs::path(options.data_dir) / "state.db").string())
                       : store::open_postgres_journal(options.store, options.postgres);
    if (!journal) return tl::unexpected(journal.error());
    parts.journal = std::move(*journal);
  }

  auto c = std::unique_ptr<Controller>(new Controller(std::move(options)));
  c->journal_ = std::move(parts.journal);
  if (parts.mail) {
    c->mail_ = std::move(parts.mail);
  } else if (!c->options_.mail_program.empty()) {
    c->mail_ = [program = c->options_.mail_program](const Mail& m) {
      if (!send_mail(program, m))
        std::fprintf(stderr, "gwang: the mail to %s was not sent: %s cannot be run\n", m.to.c_str(), program.c_str());
    };
  }
  c->committer_ = std::make_unique<store::GroupCommitter>(*c->journal_);
  c->started_ = parts.clock ? parts.clock() : agent::Clock::now();
  c->instance_ = std::to_string(::getpid()) + "-" + std::to_string(reinterpret_cast<std::uintptr_t>(c.get()) % 100000);
  c->scheduler_ = std::make_unique<core::Scheduler>(core::Cluster{}, c->scheduler_options());
  if (auto r = c->set_partitions(); !r) return tl::unexpected(r.error());
  for (const slurm::LicenseCount& l : c->options_.licenses) {
    if (c->scheduler_->cluster().find_license(l.name)) return fail("license '" + l.name + "' is named twice");
    if (c->scheduler_->cluster().license_count() >= 1024) return fail("more than 1,024 licenses");
    c->scheduler_->add_license(l.name, l.count);
  }
  if (!c->options_.local_node.empty()) {
    if (!parts.runner) {
      auto runner = make_node_agent_runner(c->options_, c->instance_);
      if (!runner) return tl::unexpected(runner.error());
      parts.runner = std::move(*runner);
    }
    c->local_ = std::move(parts.runner);
    Node& local = c->add_node(c->options_.local_node, c->options_.host, true);
    local.address = "127.0.0.1";
    local.tracking = c->local_->tracking();
  }
  if (auto r = c->recover(now); !r) return tl::unexpected(r.error());
  {
    std::lock_guard lock(c->mu_);
    c->publish();  // every recovered job was put, so every waiting one's Waiting is noted here
  }
  return c;
}

core::SchedulerOptions Controller::scheduler_options() const {
  core::SchedulerOptions sched;
  sched.order = options_.queue_order;
  sched.usage_weights = options_.accounting.rates.per_accelerator_hour;
  sched.fairshare.algorithm = core::FairShareAlgorithm::FairTree;
  sched.cpu_usage_weight = options_.accounting.rates.per_cpu_hour;
  sched.backfill = options_.backfill;
  sched.placement = core::PlacementKind::BestFit;
  sched.backfill_depth = 1000;  // a pass tries at most this many queued jobs, like Slurm's bf_max_job_test
  return sched;
}

Result<void> Controller::set_partitions() {
  std::vector<api::Partition> partitions = options_.partitions;
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
    partitions_.push_back(std::move(n));
  }
  return {};
}

Result<void> Controller::journal(const std::string& kind, const std::string& payload, std::int64_t now) {
  auto r = committer_->append_and_wait({0, now, kind, payload});
  if (!r) return tl::unexpected(r.error());
  return {};
}

Result<void> Controller::journal(const events::Event& event, std::int64_t now) {
  return journal(std::string(events::kind_of(event)), events::encode(event), now);
}

void Controller::journal_async(const std::string& kind, const std::string& payload, std::int64_t now) {
  unflushed_.push_back(committer_->append({0, now, kind, payload}));
}

void Controller::journal_async(const events::Event& event, std::int64_t now) {
  journal_async(std::string(events::kind_of(event)), events::encode(event), now);
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
  set_topology(*node, host);
  set_features(*node);
  node->drained = drained_names_.contains(name);
  Node& n = *node;
  by_id_.push_back(&n);
  nodes_[name] = std::move(node);
  return n;
}

void Controller::set_features(const Node& node) {
  core::FeatureSet set = 0;
  for (const std::string& name : node.host.features) {
    // Past the core's 64 features, a node's further ones are not seen by placement (the agent's
    // call says so).
    if (auto bit = scheduler_->intern_feature(name)) set |= core::FeatureSet{1} << *bit;
  }
  scheduler_->set_node_traits(node.id, set, node.host.tmp_bytes / kMiB, node_shape(node.cpus, node.host.cpus));
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

std::vector<Controller::LicenseRecord> Controller::licenses() const {
  std::lock_guard lock(mu_);
  const core::Cluster& cluster = scheduler_->cluster();
  std::vector<LicenseRecord> out;
  for (std::uint16_t id = 0; id < cluster.license_count(); ++id) {
    const std::int64_t total = cluster.license_total(id);
    out.push_back({cluster.license_name(id), total, total - cluster.free().licenses[id]});
  }
  return out;
}

void Controller::apply_node_state(Node& node, std::int64_t now) {
  if (node.down) return;  // set by node_down, which also ends the node's jobs
  const bool takes_work = node.heard && !node.drained;
  scheduler_->set_node_state(node.id, takes_work ? core::NodeState::Up : core::NodeState::Drained, now);
  pass_due_ = true;
}

void Controller::set_api_url(const std::string& url, const std::string& ca_file) {
  std::lock_guard lock(mu_);
  if (local_) local_->set_controller(url, ca_file);
}

std::string Controller::log_path(const JobRecord& job, int rank, bool stderr_stream) const {
  return (fs::path(options_.data_dir) / "jobs" /
          agent::log_name(agent::task_id(job.id, job.attempt, rank), stderr_stream))
      .string();
}

std::string Controller::step_log_path(const JobRecord& job, int step, int task, bool stderr_stream) const {
  return (fs::path(options_.data_dir) / "jobs" /
          agent::log_name(agent::step_task_id(job.id, job.attempt, step, task), stderr_stream))
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
  const auto v = view();
  const JobRecord* job = v->jobs.find(id);
  if (!job || job->state != JobState::Running || job->credential.empty()) return std::nullopt;
  const std::string& want = job->credential;
  if (presented.size() != want.size()) return std::nullopt;
  unsigned char diff = 0;  // compared in constant time
  for (std::size_t i = 0; i < want.size(); ++i) diff |= static_cast<unsigned char>(presented[i] ^ want[i]);
  if (diff != 0) return std::nullopt;
  return job->user;
}

}  // namespace gwang::controller
