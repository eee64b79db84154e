// Steps with a terminal (srun --pty): their first task's launch carries the terminal, whose relay
// (terminals.h) opens with it; who may reach it; and the steps whose client went away for good.

#include "controller/controller.h"
#include "controller/launch.h"

namespace gwang::controller {

agent::Launch Controller::step_launch(const JobRecord& job, const StepRecord& step, int task) {
  agent::Launch l = make_step_launch(job, step, task, options_.cluster_name);
  if (task == 0 && step.pty_rows > 0 && step.pty_cols > 0) {
    l.terminal_rows = step.pty_rows;
    l.terminal_cols = step.pty_cols;
    l.terminal_secret = terminals_.open(l.task);
  }
  return l;
}

Result<std::string> Controller::terminal_task(std::int64_t id, int step_id, const std::string& user,
                                              bool operator_rights) const {
  std::lock_guard lock(mu_);
  const std::string name = "step " + std::to_string(id) + "." + std::to_string(step_id);
  const JobRecord* job = jobs_.find(id);
  if (!job || (!operator_rights && job->user != user) || step_id < 0 ||
      step_id >= static_cast<int>(job->steps.size())) {
    return fail(name + " not found");
  }
  const StepRecord& step = job->steps[static_cast<std::size_t>(step_id)];
  if (step.pty_rows <= 0) return fail(name + " has no terminal (srun --pty gives one)");
  const std::string task = agent::step_task_id(id, job->attempt, step_id, 0);
  if (step.ended() || step.tasks.empty() || step.tasks.front().done() || !terminals_.has(task))
    return fail(name + "'s terminal has closed: its task has ended");
  return task;
}

void Controller::end_abandoned_terminals(agent::Clock::time_point mono, std::int64_t now) {
  for (const std::string& task : terminals_.abandoned(mono, options_.terminal_grace)) {
    terminals_.end(task);
    const auto ref = agent::parse_task_id(task);
    JobRecord* job = ref ? jobs_.edit(ref->job) : nullptr;
    if (!job || job->attempt != ref->attempt || ref->step >= static_cast<int>(job->steps.size())) continue;
    StepRecord& step = job->steps[static_cast<std::size_t>(ref->step)];
    if (!step.ended()) stop_step(*job, step, "its terminal's client went away", true, now);
  }
}

}  // namespace gwang::controller
