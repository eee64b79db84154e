// Sessions (api/session.h): their admission (the app's script, their time, their secret), their
// service's launch and link, who reaches them, and those that end by themselves: a service that
// never answered, a session its owner left idle.

#include <algorithm>

#include "controller/auth.h"
#include "controller/controller.h"
#include "controller/launch.h"

namespace gwang::controller {

namespace {

std::string minutes(std::chrono::milliseconds d) {
  const auto s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  return s % 60 == 0 ? std::to_string(s / 60) + " min" : std::to_string(s) + " s";
}

}  // namespace

Result<void> Controller::prepare_session(JobRecord& job, const core::Programme* programme) const {
  api::SubmitRequest& r = job.request;
  if (r.session.app == api::SessionApp::None) return {};
  const api::SessionAppPlan& plan = api::plan_app(r.session.app);
  if (!plan.script.empty()) r.script = plan.script;
  const bool own_life = programme && programme->session_max_life > 0;
  const std::int64_t most = own_life ? programme->session_max_life : options_.session_max_life.count();
  if (most > 0 && r.time_s > most) {
    return fail("field 'time': a session lives at most " + api::format_duration(most) +
                (own_life ? " (its programme " + programme->name + "'s session_max_life)"
                          : std::string(" (the controller's session_max_life)")));
  }
  if (r.time_s <= 0) r.time_s = most > 0 ? most : r.time_s;
  if (r.session.idle_timeout_s <= 0) {
    r.session.idle_timeout_s = programme && programme->session_idle_timeout > 0 ? programme->session_idle_timeout
                                                                                : options_.session_idle_timeout.count();
  }
  r.session.secret = random_token();
  return {};
}

agent::Launch Controller::job_launch(const JobRecord& job, int rank) {
  agent::Launch l = make_launch(job, rank, {options_.cluster_name, master_address(job)});
  if (l.service_port >= 0) services_.open(l.task, job.request.session.secret);
  return l;
}

Result<Controller::SessionTarget> Controller::session_target(std::int64_t id, const std::string& user) const {
  std::lock_guard lock(mu_);
  const JobRecord* job = jobs_.find(id);
  // Another's session is not there at all, whoever asks (an operator included): its owner's alone.
  if (!job || job->user != user || job->request.session.app == api::SessionApp::None)
    return fail("session " + std::to_string(id) + " not found");
  const api::SessionAppPlan& plan = api::plan_app(job->request.session.app);
  if (job->ended())
    return fail("session " + std::to_string(id) + " has ended (" + std::string(to_string(job->state)) +
                (job->reason.empty() ? "" : ": " + job->reason) + ")");
  if (job->state != JobState::Running) return fail("session " + std::to_string(id) + " has not started yet");
  SessionTarget t;
  t.task = agent::task_id(id, job->attempt, 0);
  t.app = job->request.session.app;
  t.secret = job->request.session.secret;
  t.keeps_prefix = plan.keeps_prefix;
  t.token_authorization = plan.token_authorization;
  t.serves = plan.serves;
  return t;
}

std::optional<Controller::SessionState> Controller::session_state(const JobRecord& job) const {
  if (job.request.session.app == api::SessionApp::None) return std::nullopt;
  SessionState s;
  s.idle_timeout_s = job.request.session.idle_timeout_s;
  if (job.state != JobState::Running) return s;
  if (!api::plan_app(job.request.session.app).serves) {
    s.ready = true;
    return s;
  }
  const auto st = services_.state(agent::task_id(job.id, job.attempt, 0));
  if (!st) return s;
  s.ready = st->ready;
  s.idle_s = std::chrono::duration_cast<std::chrono::seconds>(Services::Clock::now() - st->used).count();
  return s;
}

void Controller::end_idle_sessions(agent::Clock::time_point mono, std::int64_t now) {
  std::erase_if(session_used_, [&](const auto& e) { return !running_.contains(e.first); });
  for (const std::int64_t id : std::vector<std::int64_t>(running_.begin(), running_.end())) {
    const JobRecord* job = jobs_.find(id);
    if (job->request.session.app == api::SessionApp::None || stopping_.contains(id) || allocation_ends_.contains(id))
      continue;
    const std::chrono::milliseconds idle_timeout(job->request.session.idle_timeout_s * 1000);
    std::string why;
    if (api::plan_app(job->request.session.app).serves) {
      // The link's own clock (steady, as `mono`): when it was opened, when its owner last used it.
      const auto st = services_.state(agent::task_id(id, job->attempt, 0));
      if (!st) continue;
      const auto since_open = Services::Clock::now() - st->opened, idle = Services::Clock::now() - st->used;
      if (!st->ready && since_open > options_.session_start_timeout) {
        why = "its service never answered on its port (" + minutes(options_.session_start_timeout) +
              ", the controller's session_start_timeout)";
      } else if (st->ready && idle > idle_timeout) {
        why = "idle: unused for " + minutes(idle_timeout) + " (its idle timeout)";
      }
    } else {
      // A terminal session is in use while a step (its owner's terminal) runs in it.
      const bool busy =
          std::any_of(job->steps.begin(), job->steps.end(), [](const StepRecord& s) { return !s.ended(); });
      auto [at, fresh] = session_used_.try_emplace(id, mono);
      if (busy) at->second = mono;
      if (!busy && mono - at->second > idle_timeout)
        why = "idle: no terminal open in it for " + minutes(idle_timeout) + " (its idle timeout)";
    }
    if (!why.empty()) stop_tasks(*jobs_.edit(id), agent::TaskEnd::Cancelled, why, now);
  }
}

}  // namespace gwang::controller
