// Allocations: jobs that run nothing themselves and hold their nodes for the steps of their
// holder (salloc, srun outside a job): its asking after them, their release, their ends, and
// those whose holder went silent.

#include <algorithm>

#include "controller/controller.h"

namespace gwang::controller {

Result<JobRecord> Controller::attend(std::int64_t id, const std::string& user, bool operator_rights,
                                     agent::Clock::time_point mono) {
  Changing lock(*this);
  const JobRecord* job = jobs_.find(id);
  if (!job || (!operator_rights && job->user != user)) return fail("job " + std::to_string(id) + " not found");
  if (!job->allocation())
    return fail("job " + std::to_string(id) + " is not an allocation: it runs a command of its own");
  if (job->request.allocation == api::Allocation::Attended && !job->ended()) attended_[id] = mono;
  return *job;
}

Result<JobRecord> Controller::release(std::int64_t id, const std::string& user, bool operator_rights, int exit_code,
                                      std::int64_t now) {
  Changing lock(*this);
  const JobRecord* found = jobs_.find(id);
  if (!found || (!operator_rights && found->user != user)) return fail("job " + std::to_string(id) + " not found");
  if (!found->allocation()) {
    return fail("job " + std::to_string(id) + " is not an allocation: it ends when its command does (scancel ends it)");
  }
  if (found->ended()) {
    return fail("job " + std::to_string(id) + " has already ended (" + std::string(to_string(found->state)) + ")");
  }
  JobRecord& job = *jobs_.edit(id);
  if (job.state == JobState::Pending) {
    scheduler_->cancel(core::JobId{id}, now);
    end(job, JobState::Cancelled, 0, "cancelled by " + user + " (its holder gave it up before it started)", now);
    pass_due_ = true;
  } else {
    stop_allocation(job, exit_code == 0 ? JobState::Completed : JobState::Failed, exit_code,
                    "released by " + user + " (exit code " + std::to_string(exit_code) + ")", now);
  }
  return *jobs_.find(id);
}

void Controller::stop_allocation(JobRecord& job, JobState state, int exit_code, const std::string& reason,
                                 std::int64_t now) {
  if (!allocation_ends_.emplace(job.id, Failure{state, exit_code, reason}).second) return;  // ending already
  attended_.erase(job.id);
  const bool live = std::any_of(job.steps.begin(), job.steps.end(), [](const StepRecord& s) { return !s.ended(); });
  if (!live) return end_allocation(job, now);
  // Its steps' tasks are told to end (remote agents with their next answer, through stop_of); it
  // ends, and its nodes are free, once they have.
  const agent::TaskEnd why = state == JobState::Timeout ? agent::TaskEnd::TimedOut : agent::TaskEnd::Cancelled;
  stopping_.emplace(job.id, std::make_pair(why, reason));
  stop_step_tasks(job, why, reason);
  job.reason = "ending (" + reason + ")";
  note_step_news(job);  // its holder, asking after it, hears at once
}

void Controller::allocation_step_ended(JobRecord& job, std::int64_t now) {
  if (!allocation_ends_.contains(job.id)) return;
  if (std::all_of(job.steps.begin(), job.steps.end(), [](const StepRecord& s) { return s.ended(); }))
    end_allocation(job, now);
}

void Controller::end_allocation(JobRecord& job, std::int64_t now) {
  const Failure how = allocation_ends_.at(job.id);
  const JobState state = how.state;
  const core::JobId id{job.id};
  if (state == JobState::Cancelled) {
    scheduler_->cancel(id, now);
  } else {
    scheduler_->finish(id, now,
                       state == JobState::Completed ? core::JobState::Finished
                       : state == JobState::Timeout ? core::JobState::TimedOut
                                                    : core::JobState::Failed);
  }
  for (TaskRecord& t : job.tasks) t.done = true;
  end(job, state, how.exit_code, how.reason, now);
  pass_due_ = true;
}

void Controller::end_unattended_allocations(agent::Clock::time_point mono, std::int64_t now) {
  // Those not asked after yet count from now (a restart is no silence).
  for (const std::int64_t id : new_allocations_) attended_.try_emplace(id, mono);
  new_allocations_.clear();
  const auto grace = options_.allocation_grace;
  for (auto it = attended_.begin(); it != attended_.end();) {
    const JobRecord* seen = jobs_.find(it->first);
    if (!seen || seen->ended()) {
      it = attended_.erase(it);
      continue;
    }
    if (mono - it->second <= grace) {
      ++it;
      continue;
    }
    JobRecord* job = jobs_.edit(it->first);  // a copy made only of the one that ends
    const std::string why = "its holder (salloc or srun) went silent: no word for " +
                            std::to_string(std::chrono::duration_cast<std::chrono::seconds>(grace).count()) + " s";
    it = attended_.erase(it);
    if (job->state == JobState::Pending) {
      scheduler_->cancel(core::JobId{job->id}, now);
      end(*job, JobState::Cancelled, 0, why, now);
      pass_due_ = true;
    } else {
      stop_allocation(*job, JobState::Cancelled, 0, why, now);
    }
  }
}

}  // namespace gwang::controller
