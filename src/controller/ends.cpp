// Ends: a task reported ended, a job's tasks told to stop, and a job that ended, was requeued or
// lost its node.

#include <algorithm>

#include "controller/controller.h"
#include "slurm/mail.h"

namespace gwang::controller {

void Controller::stop_tasks(JobRecord& job, agent::TaskEnd why, const std::string& message, std::int64_t now) {
  if (job.allocation()) {
    const bool timed_out = why == agent::TaskEnd::TimedOut;
    return stop_allocation(job, timed_out ? JobState::Timeout : JobState::Cancelled, 0, message, now);
  }
  if (!stopping_.emplace(job.id, std::make_pair(why, message)).second) return;
  for (std::size_t rank = 0; rank < job.tasks.size(); ++rank) {
    if (job.tasks[rank].done) continue;
    Node* node = find_node(job.tasks[rank].node);
    if (node && node->local) {
      local_->terminate(agent::task_id(job.id, job.attempt, static_cast<int>(rank)), why, message);
    }
  }
  stop_step_tasks(job, why, message);
}

void Controller::stop_step_tasks(const JobRecord& job, agent::TaskEnd why, const std::string& message) {
  for (const StepRecord& step : job.steps) {
    for (std::size_t t = 0; t < step.tasks.size(); ++t) {
      if (step.tasks[t].done()) continue;
      Node* node = find_node(job.tasks[static_cast<std::size_t>(step.tasks[t].node)].node);
      if (node && node->local) {
        local_->terminate(agent::step_task_id(job.id, job.attempt, step.id, static_cast<int>(t)), why, message);
      }
    }
  }
  orders_cv_.notify_all();  // remote agents get the order with their next answer (stop_of)
}

void Controller::task_ended(Node& node, const agent::Finished& f, std::int64_t now) {
  node.tasks.erase(f.task);
  node.launches.erase(f.task);
  const auto ref = agent::parse_task_id(f.task);
  if (!ref) return;
  const std::int64_t id = ref->job;
  const int attempt = ref->attempt, rank = ref->rank;
  JobRecord* found = jobs_.edit(id);
  if (!found) return;
  JobRecord& job = *found;
  if (ref->step >= 0) {
    if (job.state != JobState::Running || job.attempt != attempt || ref->step >= static_cast<int>(job.steps.size()))
      return;
    StepRecord& step = job.steps[static_cast<std::size_t>(ref->step)];
    if (rank >= static_cast<int>(step.tasks.size()) || step.tasks[static_cast<std::size_t>(rank)].done() ||
        job.tasks[static_cast<std::size_t>(step.tasks[static_cast<std::size_t>(rank)].node)].node != node.name) {
      return;
    }
    const JobState state = f.fenced ? JobState::NodeFail : state_for(f.status.end, f.status.exit_code);
    const events::StepTaskEnded ended{id, attempt, step.id, rank, state, f.status.exit_code, f.status.signal};
    journal_async(ended, now);
    (void)apply(ended, now);  // of the job found above: cannot fail
    terminals_.end(f.task);
    if (job.allocation()) allocation_step_ended(job, now);
    if (job.ended()) return;
    if (step.kill_on_bad_exit && state != JobState::Completed && !step.ended() && step.stopping.empty()) {
      stop_step(job, step,
                "task " + std::to_string(rank) + " ended " + std::string(to_string(state)) + " (--kill-on-bad-exit)",
                false, now);
    }
    return;
  }
  if (job.state != JobState::Running || job.attempt != attempt || rank >= static_cast<int>(job.tasks.size()) ||
      job.tasks[rank].done || job.tasks[rank].node != node.name) {
    return;  // a report about an attempt that is over: the job ended or was requeued meanwhile
  }
  charge(job, now);  // every rank's use up to now, this one's for the last time
  job.tasks[rank].done = true;
  if (job.request.session.app != api::SessionApp::None) services_.end(f.task);  // its service's link closes
  if (job.batch()) {
    for (TaskRecord& t : job.tasks) t.done = true;  // the script's end is the job's
  }
  const JobState state = f.fenced ? JobState::NodeFail : state_for(f.status.end, f.status.exit_code);
  std::string reason = f.message.empty() ? std::string(agent::to_string(f.status.end)) : f.message;
  if (f.status.signal) reason += " (signal " + std::to_string(f.status.signal) + ")";
  if (job.tasks.size() > 1 && !job.batch())
    reason = "rank " + std::to_string(rank) + " on " + node.name + ": " + reason;
  if (state != JobState::Completed && !failures_.contains(id)) failures_[id] = {state, f.status.exit_code, reason};
  const bool all_done = std::all_of(job.tasks.begin(), job.tasks.end(), [](const TaskRecord& t) { return t.done; });
  if (!all_done) {
    journal_async(events::RankEnded{id, attempt, rank, state, f.status.exit_code, reason}, now);
    // One rank failing fails the job: the others would wait for it forever (a PyTorch group does).
    if (state != JobState::Completed)
      stop_tasks(job, agent::TaskEnd::Cancelled,
                 "rank " + std::to_string(rank) + " ended " + std::string(to_string(state)), now);
    return;
  }
  Failure final{JobState::Completed, 0, reason};
  if (auto fl = failures_.find(id); fl != failures_.end()) final = fl->second;
  pass_due_ = true;
  if (preempting_.contains(id) && final.state != JobState::Completed && final.state != JobState::NodeFail) {
    // Stopped to make room: it waits again (and starts over; it had the grace period to checkpoint).
    scheduler_->preempted(core::JobId{id}, now);
    requeued(job, "requeued after preemption (it borrowed capacity that was needed back)", now);
    return;
  }
  if (final.state == JobState::NodeFail) {
    scheduler_->finish(core::JobId{id}, now, core::JobState::Failed);
    node_failed(job, final.reason, now);
    return;
  }
  const core::JobState outcome = final.state == JobState::Completed ? core::JobState::Finished
                                 : final.state == JobState::Timeout ? core::JobState::TimedOut
                                                                    : core::JobState::Failed;
  if (final.state == JobState::Cancelled) {
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
    if (node->local) local_->terminate(t, agent::TaskEnd::Cancelled, why);
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
  end(job, JobState::NodeFail, 0, why, now);
}

void Controller::requeued(JobRecord& job, const std::string& reason, std::int64_t now) {
  free_cpus(job);
  mail(job, MailEvent::Requeued, now);  // its run as it ended, before it waits again
  const events::Requeued requeue{job.id, job.attempt + 1, reason};
  journal_async(requeue, now);
  close_steps(job, now, true);
  (void)apply(requeue, now);  // of a job the caller has: cannot fail
  running_.erase(job.id);
  failures_.erase(job.id);
  stopping_.erase(job.id);
  preempting_.erase(job.id);
  pass_due_ = true;
}

void Controller::end(JobRecord& job, JobState state, int exit_code, const std::string& reason, std::int64_t now) {
  if (job.request.session.app != api::SessionApp::None) services_.end(agent::task_id(job.id, job.attempt, 0));
  free_cpus(job);
  charge(job, now);
  const events::Ended ended{job.id, state, exit_code, reason};
  // An end that cannot be journalled is still an end here; recovery would see the job as running
  // and end it as NODE_FAIL, which is the truth as the store knows it.
  journal_async(ended, now);
  close_steps(job, now, true);
  (void)apply(ended, now);  // of a job the caller has: cannot fail (its charges forgotten)
  // Its mail, as Slurm's: the time limit reached; then FAIL's for a job that failed (else END's).
  if (state == JobState::Timeout) mail(job, MailEvent::TimeLimit);
  const bool failed = state != JobState::Completed && state != JobState::Cancelled;
  mail(job, failed && slurm::mails_at(job.request.mail_type, "FAIL") ? MailEvent::Failed : MailEvent::Ended);
  running_.erase(job.id);
  failures_.erase(job.id);
  stopping_.erase(job.id);
  preempting_.erase(job.id);
  if (held_.erase(job.id) > 0) held_changed_ = true;
  allocation_ends_.erase(job.id);
  if (job.allocation()) note_step_news(job);  // its holder may be waiting to hear of its end
}

void Controller::node_down(Node& node, const std::string& why, std::int64_t now) {
  node.down = true;
  node.launches.clear();
  node.tasks.clear();
  std::vector<core::JobId> shrunk;
  const std::vector<core::JobId> failed = scheduler_->set_node_state(node.id, core::NodeState::Down, now, &shrunk);
  for (core::JobId id : failed) node_failed(*jobs_.edit(id.value), why, now);
  for (core::JobId id : shrunk) {
    JobRecord& job = *jobs_.edit(id.value);
    if (job.batch() && !job.tasks.empty() && job.tasks.front().node == node.name) {
      scheduler_->finish(id, now, core::JobState::Failed);  // its script ran there: it cannot go on
      node_failed(job, why, now);
    } else {
      node_left(job, node, why, now);
    }
  }
  pass_due_ = true;
}

void Controller::node_left(JobRecord& job, Node& node, const std::string& why, std::int64_t now) {
  charge(job, now);  // its use up to now, the node's part with it
  const events::NodeLeft left{job.id, job.attempt, node.name};
  journal_async(left, now);
  (void)apply(left, now);  // of a job the caller has: cannot fail
  node.cpus_held.erase(job.id);
  // Its steps' tasks there ended with the node; a step without srun -k is ended whole, as Slurm's.
  for (StepRecord& step : job.steps) {
    if (step.ended()) continue;
    bool hit = false;
    for (std::size_t t = 0; t < step.tasks.size(); ++t) {
      const StepTaskRecord& task = step.tasks[t];
      if (task.done() || job.tasks[static_cast<std::size_t>(task.node)].node != node.name) continue;
      const events::StepTaskEnded ended{job.id, job.attempt, step.id, static_cast<int>(t), JobState::NodeFail, 0, 0};
      journal_async(ended, now);
      (void)apply(ended, now);
      hit = true;
    }
    if (hit && !step.no_kill && !step.ended() && step.stopping.empty())
      stop_step(job, step, "its node " + node.name + " failed: " + why, false, now);
  }
  // A job whose other ranks had all ended (one without a script) ends with it.
  if (std::all_of(job.tasks.begin(), job.tasks.end(), [](const TaskRecord& t) { return t.done; })) {
    scheduler_->finish(core::JobId{job.id}, now, core::JobState::Failed);
    const auto f = failures_.find(job.id);
    end(job, f != failures_.end() ? f->second.state : JobState::NodeFail,
        f != failures_.end() ? f->second.exit_code : 0,
        f != failures_.end() ? f->second.reason : "its node " + node.name + " failed: " + why, now);
  }
}

void Controller::mail(const JobRecord& job, MailEvent event, std::int64_t end) {
  if (job.request.mail_type.empty() || !mail_) return;
  if (auto m = mail_for(job, event, options_.cluster_name, end)) mail_(*m);
}

}  // namespace gwang::controller
