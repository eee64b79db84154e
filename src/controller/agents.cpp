// The nodes' agents: an agent's call (agent/protocol.h) registers its node, stores its tasks'
// output, takes their ends, and gets its orders back; nodes drained and listed.

#include <filesystem>
#include <fstream>

#include "api/units.h"
#include "controller/controller.h"

namespace gwang::controller {

namespace fs = std::filesystem;
namespace proto = agent::protocol;

namespace {

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
  Changing changing(*this);
  auto r = sync_with(changing, request, peer, mono, now, true);
  if (!r) return tl::unexpected(r.error());
  return std::move(**r);
}

Result<std::optional<proto::SyncResponse>> Controller::try_sync(const proto::SyncRequest& request,
                                                                const std::string& peer, agent::Clock::time_point mono,
                                                                std::int64_t now) {
  Changing changing(*this, std::try_to_lock);
  if (!changing.lock().owns_lock()) return std::optional<proto::SyncResponse>();
  return sync_with(changing, request, peer, mono, now, false);
}

Result<std::optional<proto::SyncResponse>> Controller::sync_with(Changing& changing, const proto::SyncRequest& request,
                                                                 const std::string& peer, agent::Clock::time_point mono,
                                                                 std::int64_t now, bool may_wait) {
  std::unique_lock<std::mutex>& lock = changing.lock();
  Node* node = find_node(request.node);
  if (node && node->local) return fail("node '" + request.node + "' is the controller's own node");
  const std::string address = request.address.empty() ? peer : request.address;
  if (node) {
    if (const std::string change = resource_change(node->host, request.host); !change.empty()) {
      return fail("node '" + request.node + "' was registered with " + change +
                  "; a node keeps its resources while the controller knows it");
    }
  }
  // For the event loop (try_sync): a call that would wait for a journal commit (a registration,
  // tasks that ended) or write output files goes to a worker, before anything changes.
  // Its features and temporary disk may change when its agent restarts, even as the same instance.
  const bool registering = !node || node->instance != request.instance || node->address != address ||
                           node->host.features != request.host.features ||
                           node->host.tmp_bytes != request.host.tmp_bytes;
  if (!may_wait && (registering || !request.finished.empty() || !request.logs.empty())) {
    return std::optional<proto::SyncResponse>();
  }
  const bool restarted = node && !node->instance.empty() && node->instance != request.instance;
  // The node's CPU topology changes only with its agent's instance: taken when it registers, or
  // once after this controller recovered the node (whose journal holds no topology), not at every
  // heartbeat.
  if (registering) {
    const events::NodeRegistered registered{request.node,          request.instance,          address,
                                            request.host.cpus,     request.host.memory_bytes, request.host.devices,
                                            request.host.features, request.host.tmp_bytes};
    if (auto r = journal(registered, now); !r) return tl::unexpected(r.error());
    (void)apply(registered, now);  // cannot fail
    node = find_node(request.node);
  }
  if (registering || (!node->cpus.known() && !request.host.cpu_ids.empty())) set_topology(*node, request.host);
  node->tracking = request.tracking;
  node->takes_terminals = request.takes_terminals;
  node->takes_services = request.takes_services;
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
      if (JobRecord* job = ref->step >= 0 ? jobs_.edit(ref->job) : nullptr) note_step_news(*job);  // srun may wait
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
  // The signals to send, worked out once: a call with some answers at once.
  std::vector<proto::Signal> signals;
  if (request.takes_signals) signals = signal_orders(listed, request.signalled);
  const bool signals_due = !signals.empty();
  bool waited = false;
  if (o.launch.empty() && o.terminate.empty() && out.acked.empty() && !signals_due && request.wait_ms > 0 &&
      waiting_ < options_.max_waiting_agents) {
    if (!may_wait) return std::optional<proto::SyncResponse>();
    const std::string name = node->name;
    publish();  // what this call changed, before the lock is let go while it waits
    ++waiting_;
    orders_cv_.wait_for(lock, std::chrono::milliseconds(request.wait_ms), [&] {
      Node* n = find_node(name);
      if (!n || n->down) return true;
      proto::SyncResponse probe = orders(*n, listed);
      return !probe.launch.empty() || !probe.terminate.empty() ||
             (request.takes_signals && !signal_orders(listed, request.signalled).empty());
    });
    --waiting_;
    waited = true;
    if (Node* n = find_node(name); n && !n->down) o = orders(*n, listed);
  }
  out.launch = std::move(o.launch);
  out.terminate = std::move(o.terminate);
  // A call that waited may have had signals sent meanwhile: asked again only then.
  if (request.takes_signals) out.signal = waited ? signal_orders(listed, request.signalled) : std::move(signals);
  out.node_timeout_ms = o.node_timeout_ms;
  return out;
}

Result<void> Controller::set_node_state(const std::string& name, const std::string& state, std::int64_t now) {
  std::lock_guard lock(mu_);
  Node* node = find_node(name);
  if (!node) return fail("node '" + name + "' not found");
  if (state != "up" && state != "drained") return fail("node state '" + state + "': expected up or drained");
  const events::NodeState changed{name, state};
  if (auto r = journal(changed, now); !r) return r;
  (void)apply(changed, now);  // cannot fail
  apply_node_state(*node, now);
  return {};
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
    r.features = n->host.features;
    r.tmp_bytes = n->host.tmp_bytes;
    at[n->name] = out.size();
    out.push_back(std::move(r));
  }
  for (std::int64_t id : running_) {
    const JobRecord& job = *jobs_.find(id);
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

}  // namespace gwang::controller
