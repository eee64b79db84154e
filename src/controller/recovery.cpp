// Recovery: the journal's records applied, in order, to the state in memory (after the snapshot),
// then every job that has not ended handed back to the core: waiting again, or adopted where its
// agents still run it.

#include <future>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "controller/controller.h"
#include "controller/launch.h"
#include "slurm/specs.h"

namespace gwang::controller {

using nlohmann::json;

namespace {

// The events of the journal's records (none for the books' records), decoded.
std::vector<std::optional<Result<events::Event>>> decode_events(const std::vector<store::Record>& records) {
  std::vector<std::optional<Result<events::Event>>> out(records.size());
  for (std::size_t k = 0; k < records.size(); ++k) {
    if (!Accounting::handles(records[k].kind)) out[k] = events::decode(records[k].kind, records[k].payload);
  }
  return out;
}

}  // namespace

Result<void> Controller::apply(const store::Record& rec, std::optional<Result<events::Event>> event) {
  const auto where = [&] { return "journal record " + std::to_string(rec.seq) + " (" + rec.kind + "): "; };
  if (!event) {
    try {
      if (auto r = books_.apply(rec.kind, json::parse(rec.payload), rec.time); !r)
        return fail(where() + r.error().message);
    } catch (const json::exception& e) {
      return fail(where() + e.what());
    }
    return {};
  }
  if (!*event) return fail(where() + event->error().message);
  if (auto r = apply(std::move(**event), rec.time); !r) return fail(where() + r.error().message);
  return {};
}

Result<void> Controller::remember_targets() {
  // Jobs that ended before the restart are not scheduled again; those that waiting jobs depend on
  // are remembered, with how they ended.
  std::set<std::int64_t> targets;
  jobs_.scan(false, [&](std::int64_t, const JobRecord& job) {
    if (job.ended() || job.request.dependency.empty()) return true;
    if (auto d = slurm::parse_dependency(job.request.dependency)) {
      for (const slurm::Dependency& dep : d->all) {
        for (const slurm::Dependency::Target& t : dep.targets) targets.insert(t.job);
      }
    }
    return true;
  });
  for (std::int64_t t : targets) {
    const JobRecord* first = jobs_.find(t);
    if (!first) continue;
    // A job, or every task of the array it is the id of (consecutive ids).
    const bool array = first->in_array() && first->array_job == t;
    for (std::int64_t k = t;; ++k) {
      const JobRecord* at = jobs_.find(k);
      if (!at || (k != t && !(array && at->array_job == t))) break;
      const JobRecord& ended = *at;
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
  return {};
}

void Controller::adopt(JobRecord& job, std::int64_t now, std::set<std::string>& left_over) {
  const std::int64_t id = job.id;
  std::vector<core::TaskPlacement> placement;
  std::string lost;
  for (std::size_t rank = 0; rank < job.tasks.size(); ++rank) {
    const TaskRecord& t = job.tasks[rank];
    if (t.lost) continue;  // its node left the job (--no-kill)
    Node* node = find_node(t.node);
    // The local node's ranks went on only where the runner adopted them (this process was
    // killed); a clean stop ended them.
    const bool gone = node && node->local && !t.done && job.runs_rank(rank) &&
                      !left_over.contains(agent::task_id(id, job.attempt, static_cast<int>(rank)));
    if (!node || gone) {
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
    end(job, JobState::NodeFail, 0, lost, now);
    return;
  }
  running_.insert(id);
  hold_cpus(job);
  if (auto r = rank_ends_.find(id); r != rank_ends_.end()) {
    for (const auto& [rank, f] : r->second) {
      if (f.state != JobState::Completed && !failures_.contains(id)) failures_[id] = f;
    }
  }
  // The agents say what they still run; a launch they never got is sent again. The local node's
  // runner goes on with what it adopted, and starts a step's task it never got.
  for (std::size_t rank = 0; rank < job.tasks.size(); ++rank) {
    if (job.tasks[rank].done || !job.runs_rank(rank)) continue;
    Node& node = *find_node(job.tasks[rank].node);
    const std::string t = agent::task_id(id, job.attempt, static_cast<int>(rank));
    agent::Launch l = job_launch(job, static_cast<int>(rank));  // a session's link is taken again
    if (node.local) {
      left_over.erase(t);
      continue;
    }
    node.tasks.insert(t);
    node.launches[t] = std::move(l);
  }
  for (const StepRecord& step : job.steps) {
    if (step.ended()) continue;
    for (std::size_t k = 0; k < step.tasks.size(); ++k) {
      if (step.tasks[k].done()) continue;
      Node& node = *find_node(job.tasks[static_cast<std::size_t>(step.tasks[k].node)].node);
      // A step's terminal went with the controller's process (and the agent's link to it): the
      // step is ended below, and its launch, sent again, has none.
      agent::Launch l = step.pty_rows > 0 ? make_step_launch(job, step, static_cast<int>(k), options_.cluster_name)
                                          : step_launch(job, step, static_cast<int>(k));
      if (node.local) {
        if (!left_over.erase(l.task)) local_->launch(l);
        continue;
      }
      node.tasks.insert(l.task);
      node.launches[l.task] = std::move(l);
    }
  }
  for (StepRecord& step : job.steps) {
    if (step.pty_rows > 0 && !step.ended())
      stop_step(job, step, "its terminal was lost when the controller restarted", true, now);
  }
}

Result<void> Controller::recover(std::int64_t now) {
  auto loaded = journal_->load();
  if (!loaded) return tl::unexpected(loaded.error());
  // The records after the snapshot are decoded on another thread while it is restored.
  auto decoding = std::async(std::launch::async, [&] { return decode_events(loaded->records); });
  if (loaded->snapshot) {
    if (auto r = restore(loaded->snapshot->state); !r) {
      return fail("snapshot at record " + std::to_string(loaded->snapshot->seq) + ": " + r.error().message);
    }
    snapshot_seq_ = loaded->snapshot->seq;
  }
  std::vector<std::optional<Result<events::Event>>> decoded = decoding.get();
  for (std::size_t k = 0; k < loaded->records.size(); ++k) {
    if (auto r = apply(loaded->records[k], std::move(decoded[k])); !r) return r;
  }
  for (auto& [name, node] : nodes_) node->heard = node->local;  // until its agent calls this controller
  for (auto& [name, node] : nodes_) {
    if (!node->local)
      apply_node_state(*node, now);
    else if (node->drained)
      apply_node_state(*node, now);
  }
  sync_quotas();
  // Pending jobs wait again. Running ones go on where their agents still run them, the local
  // node's where the runner adopted their tasks (this process was killed, they were not).
  std::set<std::string> left_over;
  if (local_) {
    for (std::string& t : local_->left_over()) left_over.insert(std::move(t));
  }
  std::map<std::string, Result<Account>> accounts;  // one look-up per user, not per job
  std::size_t unfinished = 0;
  jobs_.scan(false, [&](std::int64_t, const JobRecord& job) {
    unfinished += job.ended() ? 0 : 1;
    return true;
  });
  scheduler_->reserve_jobs(unfinished);
  if (auto r = remember_targets(); !r) return r;
  // No view shares a record yet: nothing is copied.
  jobs_.edit_each([&](std::int64_t id, JobRecord& job) {
    if (job.ended()) return;
    auto found = accounts.find(job.user);
    if (found == accounts.end()) found = accounts.emplace(job.user, lookup_account(job.user)).first;
    const Result<Account>& account = found->second;
    auto spec = to_spec(job);
    if (!account || !spec) {
      end(job, JobState::Failed, 0, !account ? account.error().message : spec.error().message, now);
      return;
    }
    auto status = scheduler_->submit(std::move(*spec), now);
    if (!status || *status == core::SubmitStatus::Unsatisfiable) {
      end(job, job.state == JobState::Running ? JobState::NodeFail : JobState::Failed, 0,
          !status ? status.error().message : "no node can hold it any more", now);
      return;
    }
    if (job.state == JobState::Pending && job.hold != Hold::None) scheduler_->hold(core::JobId{id});
    if (job.state == JobState::Pending) watch_deadline(job);
    if (job.request.allocation == api::Allocation::Attended) new_allocations_.push_back(id);
    if (job.state != JobState::Running) return;
    adopt(job, now, left_over);
  });
  // What the runner adopted that no running job owns (its end was recorded, the process went on).
  for (const std::string& t : left_over) {
    local_->terminate(t, agent::TaskEnd::Cancelled, "its job had ended when the controller restarted");
  }
  return {};
}

}  // namespace gwang::controller
