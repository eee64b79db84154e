// The control loop's round: the local node's ended tasks, time limits and charges, silent nodes,
// snapshots when due, the books' verdicts, a scheduling pass, and its starts once durable.

#include <chrono>

#include "controller/controller.h"

namespace gwang::controller {

void Controller::round(agent::Clock::time_point mono, std::int64_t now) {
  std::vector<std::pair<std::int64_t, int>> begun;  // jobs (and attempts) this round starts
  std::vector<std::future<Result<std::int64_t>>> pending;
  {
    Changing lock(*this);
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
      const JobRecord* job = jobs_.find(id);
      if (now >= job->start + job->request.time_s && !stopping_.contains(id)) {
        stop_tasks(*jobs_.edit(id), agent::TaskEnd::TimedOut, "time limit reached", now);
        job = jobs_.find(id);
        if (job->ended()) continue;  // an allocation: it ended at once
      } else if (!stopping_.contains(id)) {
        if (!job->request.signal.empty()) signal_before_end(*job, now);  // sbatch --signal
        steps_past_their_limits(id, now);                                // srun -t
        job = jobs_.find(id);
      }
      // Grants burn down while jobs run, not only when they end.
      if (now - std::max(books_.charged_until(id), job->start) >= books_.options().charge_every) charge(*job, now);
    }
    if (scanned_at_ != now) end_idle_sessions(mono, now);
    scanned_at_ = now;
    end_abandoned_terminals(mono, now);
    end_unattended_allocations(mono, now);
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
    // Nothing being written now (no submission half-way, nothing queued), a snapshot may be due:
    // written in the background, the lock let go.
    snapshot_in_background();
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
          JobRecord& victim = *jobs_.edit(d.job.value);
          ++preempted_total_;
          preempting_.insert(victim.id);
          stop_tasks(victim, agent::TaskEnd::Cancelled, "preempted: its capacity is needed back", now);
          continue;
        }
        begin(d, now);
        begun.emplace_back(d.job.value, jobs_.find(d.job.value)->attempt);
      }
      note_all_waiting();  // what the pass said of the jobs that still wait
    }
    end_invalid_dependents(now);
    end_past_deadline(now);
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
  Changing lock(*this);
  awaiting_ = false;
  if (!durable && options_.on_store_failure) options_.on_store_failure(durable.error());
  for (const auto& [id, attempt] : begun) {
    const JobRecord* now_is = jobs_.find(id);
    if (now_is->state != JobState::Running || now_is->attempt != attempt)
      continue;  // ended meanwhile (its node failed)
    JobRecord& job = *jobs_.edit(id);
    if (durable) {
      launch(job, now);
      continue;
    }
    scheduler_->finish(core::JobId{id}, now, core::JobState::Failed);
    end(job, JobState::Failed, 0, "could not record the start: " + durable.error().message, now);
    pass_due_ = true;
  }
}

}  // namespace gwang::controller
