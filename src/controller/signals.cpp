// Signals to running jobs: scancel --signal (to its steps, its batch step, or both), and sbatch
// --signal's before the time limit. Each is journalled (events::Signalled) and kept in the job's
// record in the order sent; agents are told each task's signals with their serials and send each
// once (agent/protocol.h's Signal), the local node's at once.
#include "slurm/signals.h"

#include <algorithm>

#include "controller/controller.h"

namespace gwang::controller {

namespace {

// Whether signal `s` goes to task `ref` of `job`, and to its main process alone.
std::optional<bool> reaches(const JobRecord& job, const SignalRecord& s, const agent::TaskRef& ref) {
  if (s.attempt != job.attempt || ref.attempt != job.attempt) return std::nullopt;
  if (ref.step < 0) {
    if (!job.batch()) {  // a job without a script: its tasks are its one step
      if (s.target == SignalTarget::Steps || s.target == SignalTarget::All) return false;
      return std::nullopt;
    }
    if (ref.rank != 0) return std::nullopt;  // holds the nodes for steps; runs nothing
    if (s.target == SignalTarget::Batch || s.target == SignalTarget::All) return false;
    if (s.target == SignalTarget::Shell) return true;
    return std::nullopt;
  }
  if (s.target != SignalTarget::Steps && s.target != SignalTarget::All) return std::nullopt;
  if (s.step >= 0 && s.step != ref.step) return std::nullopt;
  if (ref.step >= static_cast<int>(job.steps.size())) return std::nullopt;
  // A step started after the signal was sent does not get it.
  if (job.steps[static_cast<std::size_t>(ref.step)].start > s.time) return std::nullopt;
  return false;
}

}  // namespace

Result<JobRecord> Controller::signal_job(std::int64_t id, int step, int number, SignalTarget target,
                                         const std::string& user, bool operator_rights, std::int64_t now) {
  Changing lock(*this);
  const JobRecord* found = jobs_.find(id);
  if (!found || (!operator_rights && found->user != user)) return fail("job " + std::to_string(id) + " not found");
  if (found->state != JobState::Running) {
    return fail("job " + std::to_string(id) + " is " + std::string(to_string(found->state)) +
                ": only a running job's processes can be signalled");
  }
  if (step >= 0 &&
      (step >= static_cast<int>(found->steps.size()) || found->steps[static_cast<std::size_t>(step)].ended())) {
    return fail("step " + std::to_string(id) + "." + std::to_string(step) + " not found or not running");
  }
  if (number < 1 || number > 64) return fail("signal " + std::to_string(number) + ": not a signal of this system");
  SignalRecord s{now, found->attempt, number, target, step, false};
  if (auto sent = send_signal(id, s, now); !sent) return tl::unexpected(sent.error());
  return *jobs_.find(id);
}

Result<void> Controller::send_signal(std::int64_t id, const SignalRecord& s, std::int64_t now) {
  const events::Signalled signalled{id, s};
  if (auto r = journal(signalled, now); !r) return r;
  (void)apply(signalled, now);  // of a job that exists: cannot fail
  const JobRecord& job = *jobs_.find(id);
  const int serial = static_cast<int>(job.signals.size()) - 1;
  Node* local = local_ ? find_node(options_.local_node) : nullptr;
  bool remote = false;
  const auto consider = [&](const std::string& task, const std::string& node) {
    const auto ref = agent::parse_task_id(task);
    if (!ref) return;
    const auto main_only = reaches(job, s, *ref);
    if (!main_only) return;
    if (local && node == local->name) {
      local_->signal(task, serial, s.number, *main_only);
    } else {
      remote = true;
    }
  };
  for (std::size_t r = 0; r < job.tasks.size(); ++r) {
    if (!job.tasks[r].done) consider(agent::task_id(job.id, job.attempt, static_cast<int>(r)), job.tasks[r].node);
  }
  for (const StepRecord& st : job.steps) {
    for (std::size_t t = 0; t < st.tasks.size(); ++t) {
      if (st.tasks[t].done()) continue;
      consider(agent::step_task_id(job.id, job.attempt, st.id, static_cast<int>(t)),
               job.tasks[static_cast<std::size_t>(st.tasks[t].node)].node);
    }
  }
  if (remote) orders_cv_.notify_all();  // remote agents get it with their next answer
  return {};
}

void Controller::signal_before_end(const JobRecord& job, std::int64_t now) {
  auto spec = slurm::parse_signal_spec(job.request.signal, true);
  if (!spec || now < job.start + job.request.time_s - spec->seconds) return;
  if (std::any_of(job.signals.begin(), job.signals.end(),
                  [&](const SignalRecord& s) { return s.timed && s.attempt == job.attempt; })) {
    return;
  }
  const SignalRecord s{now, job.attempt, spec->number, spec->batch_only ? SignalTarget::Shell : SignalTarget::Steps,
                       -1,  true};
  (void)send_signal(job.id, s, now);  // a journal that fails stops the controller elsewhere
}

std::vector<agent::protocol::Signal> Controller::signal_orders(const std::set<std::string>& listed,
                                                               const std::map<std::string, int>& signalled) const {
  std::vector<agent::protocol::Signal> out;
  for (const std::string& task : listed) {
    const auto ref = agent::parse_task_id(task);
    if (!ref) continue;
    const JobRecord* job = jobs_.find(ref->job);
    if (!job || job->signals.empty()) continue;
    const auto had = signalled.find(task);
    const int last = had == signalled.end() ? -1 : had->second;
    for (int serial = last + 1; serial < static_cast<int>(job->signals.size()); ++serial) {
      const SignalRecord& s = job->signals[static_cast<std::size_t>(serial)];
      if (const auto main_only = reaches(*job, s, *ref)) out.push_back({task, serial, s.number, *main_only});
    }
  }
  return out;
}

}  // namespace gwang::controller
