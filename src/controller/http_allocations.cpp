// The API's allocation routes: an allocation's holder (salloc, srun outside a job) asks after it,
// waiting for its start or end, and relinquishes it with its command's exit code.

#include <algorithm>
#include <charconv>
#include <chrono>

#include "controller/http_impl.h"
#include "controller/launch.h"

namespace gwang::controller {

using nlohmann::json;

std::optional<std::pair<std::int64_t, std::uint64_t>> wait_params(const httplib::Request& req, httplib::Response& res) {
  std::int64_t wait_ms = 0;
  std::uint64_t seen = 0;
  for (const char* name : {"wait", "seen"}) {
    if (!req.has_param(name)) continue;
    const std::string text = req.get_param_value(name);
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || (name[0] == 'w' && value > 60000)) {
      error(res, 400,
            std::string("parameter '") + name + "': expected " +
                (name[0] == 'w' ? "milliseconds, 0 to 60000" : "the count a previous answer's news gave"));
      return std::nullopt;
    }
    if (name[0] == 'w')
      wait_ms = static_cast<std::int64_t>(value);
    else
      seen = value;
  }
  return std::make_pair(wait_ms, seen);
}

// GET /api/v1/jobs/{id}/allocation?wait=MS&seen=N: {"job": the job, "news": N, "environment":
// {...} once it runs}. Its owner's (or an operator's) alone; asking is the holder's presence,
// for as long as the call waits. An answer that would say nothing new (its news still `seen`)
// waits up to MS (at most half the controller's allocation_grace) for the job's start or end.
void ApiServer::Impl::show_allocation(const httplib::Request& req, httplib::Response& res) {
  auto who = authenticate(req, res);
  if (!who) return;
  const auto params = wait_params(req, res);
  if (!params) return;
  // A call waits at most half the grace: a holder that dies while its call waits is silent from
  // when the call would have returned, so it loses the allocation within one and a half graces.
  const std::int64_t wait_ms = std::min<std::int64_t>(params->first, controller.options().allocation_grace.count() / 2);
  const std::uint64_t seen = params->second;
  const std::int64_t id = std::stoll(req.matches[1]);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  // The holder is there until this call's end at least.
  const auto attended =
      controller.attend(id, who->user, who->is_operator, agent::Clock::now() + std::chrono::milliseconds(wait_ms));
  if (!attended) {
    return error(res, attended.error().message.ends_with("not found") ? 404 : 409, attended.error().message);
  }
  for (bool may_wait = wait_ms > 0;;) {
    auto job = controller.job(id);
    if (!job) return error(res, 404, "job " + std::to_string(id) + " not found");
    const auto now = std::chrono::steady_clock::now();
    if (!may_wait || job->step_news != seen || job->ended() || now >= deadline) {
      api::Json w;
      w.begin_object().key("job");
      write_job(w, *job, {job->reason_code, job->reason});
      w.field("news", static_cast<std::int64_t>(job->step_news));
      if (job->state == JobState::Running) {
        w.key("environment").begin_object();
        for (const auto& [k, v] : allocation_env(*job, controller.options().cluster_name)) w.field(k, v);
        w.end_object();
      }
      w.end_object();
      res.status = 200;
      res.set_content(w.str(), "application/json");
      return;
    }
    may_wait = controller.wait_step_news(
        id, seen,
        std::min<std::chrono::milliseconds>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now),
                                            std::chrono::milliseconds(1000)));
  }
}

// POST /api/v1/jobs/{id}/relinquish {"exit_code": N}: its holder lets it go, its command having
// ended with N (0 to 255; default 0): COMPLETED for 0, else FAILED. One still waiting is cancelled.
void ApiServer::Impl::relinquish_job(const httplib::Request& req, httplib::Response& res) {
  auto body = req.body.empty() ? std::optional<json>(json::object()) : body_object(req, res);
  if (!body) return;
  for (const auto& [key, value] : body->items()) {
    if (key != "exit_code") return error(res, 400, "unknown field '" + key + "'");
  }
  int exit_code = 0;
  if (body->contains("exit_code")) {
    const json& v = (*body)["exit_code"];
    if (!v.is_number_integer() || v.get<std::int64_t>() < 0 || v.get<std::int64_t>() > 255)
      return error(res, 400, "field 'exit_code': expected a whole number from 0 to 255");
    exit_code = v.get<int>();
  }
  job_action(req, res, "relinquish", [&](const Scope& who, const JobRecord& job, bool) {
    return controller.release(job.id, who.user, true, exit_code, wall_now());
  });
}

}  // namespace gwang::controller
