// The API's job step routes (srun inside a job): a step is started by the job's owner alone, since
// its tasks run as the owner; seen, with its tasks' output, by whoever sees the job; cancelled by
// whoever may cancel the job.

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>

#include "api/base64.h"
#include "api/json_writer.h"
#include "controller/http_impl.h"

namespace gwang::controller {

void ApiServer::Impl::start_step(const httplib::Request& req, httplib::Response& res) {
  auto who = authenticate(req, res);
  if (!who) return;
  auto job = visible_job(req, res, *who);
  if (!job) return;
  if (job->user != who->user) {
    return error(res, 403,
                 "job " + std::to_string(job->id) + " is " + job->user + "'s: only its owner starts steps in it");
  }
  auto request = api::parse_step(req.body);
  if (!request) return error(res, 400, request.error().message);
  // Where srun runs, as the tasks of a Slurm step are told it: the address it called from.
  if (!req.remote_addr.empty()) {
    for (const char* key : {"SLURM_LAUNCH_NODE_IPADDR", "SLURM_SRUN_COMM_HOST"}) {
      std::erase_if(request->env, [&](const auto& kv) { return kv.first == key; });
      request->env.emplace_back(key, req.remote_addr);
    }
  }
  bool busy = false;
  auto step = controller.start_step(job->id, *request, who->user, false, wall_now(), &busy);
  // A step that waits for the job's other steps: asked again by its srun (Slurm's "step creation
  // temporarily disabled").
  if (!step && busy) return reply(res, 409, nlohmann::json{{"error", step.error().message}, {"busy", true}});
  if (!step) return error(res, 409, step.error().message);
  auto now = controller.job(job->id);
  api::Json w;
  write_step(w, now ? *now : *job, *step, true);
  res.status = 201;
  res.set_content(w.str(), "application/json");
}

// A step, with its tasks and their new output: ?offsets=OUT:ERR,... (bytes already read of each
// task's stdout and stderr, in task order; missing ones are 0). At most 1 MiB of a stream and
// 4 MiB in all per answer; a task's output is all there once the step shows ended. With
// ?wait=MS&seen=N (N: the last answer's "news"), an answer that would bring nothing new waits up
// to MS (at most 60 s) for news of the step: a task's end or its output. The answer then says
// "news", to be given as `seen` next time (absent when the call could not wait: too many do).
void ApiServer::Impl::show_step(const httplib::Request& req, httplib::Response& res) {
  auto who = authenticate(req, res);
  if (!who) return;
  const auto params = wait_params(req, res);
  if (!params) return;
  const auto [wait_ms, seen] = *params;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  bool may_wait = wait_ms > 0;
  for (;;) {
    auto job = visible_job(req, res, *who);
    if (!job) return;
    const std::int64_t id = std::stoll(req.matches[2]);
    if (id >= static_cast<std::int64_t>(job->steps.size()))
      return error(res, 404, "step " + std::to_string(job->id) + "." + std::string(req.matches[2]) + " not found");
    const StepRecord& step = job->steps[static_cast<std::size_t>(id)];
    auto offsets = step_offsets(req, res, step.tasks.size());
    if (!offsets) return;
    auto [text, brings] = step_answer(*job, step, *offsets, may_wait ? std::optional(job->step_news) : std::nullopt);
    const auto now = std::chrono::steady_clock::now();
    if (brings || !may_wait || job->step_news != seen || step.ended() || now >= deadline) {
      res.status = 200;
      res.set_content(text, "application/json");
      return;
    }
    // Nothing new: wait for news (a while at a time: output of the controller's own node comes
    // with none).
    may_wait = controller.wait_step_news(
        job->id, seen,
        std::min<std::chrono::milliseconds>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now),
                                            std::chrono::milliseconds(50)));
  }
}

// The answer of show_step, and whether it brings output.
std::pair<std::string, bool> ApiServer::Impl::step_answer(const JobRecord& job, const StepRecord& step,
                                                          const std::vector<std::array<std::int64_t, 2>>& offsets,
                                                          std::optional<std::uint64_t> news) {
  api::Json w;
  w.begin_object().key("step");
  write_step(w, job, step, true);
  w.key("output").begin_array();
  constexpr std::int64_t kStream = 1 << 20, kAll = 4 << 20;
  std::int64_t budget = kAll;
  bool brings = false;
  for (std::size_t t = 0; t < step.tasks.size() && budget > 0; ++t) {
    std::string data[2];
    for (int s = 0; s < 2; ++s) {
      std::ifstream in(controller.step_log_path(job, step.id, static_cast<int>(t), s == 1), std::ios::binary);
      if (!in) continue;
      in.seekg(offsets[t][static_cast<std::size_t>(s)]);
      data[s].resize(static_cast<std::size_t>(std::min(kStream, budget)));
      in.read(data[s].data(), static_cast<std::streamsize>(data[s].size()));
      data[s].resize(static_cast<std::size_t>(std::max<std::streamsize>(0, in.gcount())));
      budget -= static_cast<std::int64_t>(data[s].size());
    }
    if (data[0].empty() && data[1].empty()) continue;
    brings = true;
    w.begin_object().field("task", static_cast<std::int64_t>(t));
    w.field("stdout", api::base64(data[0])).field("stderr", api::base64(data[1]));
    w.field("stdout_offset", offsets[t][0] + static_cast<std::int64_t>(data[0].size()));
    w.field("stderr_offset", offsets[t][1] + static_cast<std::int64_t>(data[1].size()));
    w.end_object();
  }
  w.end_array();
  w.field("more", budget <= 0);
  if (news) w.field("news", static_cast<std::int64_t>(*news));
  w.end_object();
  return {w.str(), brings || budget <= 0};
}

namespace {

// "OUT:ERR", two byte counts; nullopt when it is not.
std::optional<std::array<std::int64_t, 2>> offset_pair(const std::string& one) {
  const std::size_t colon = one.find(':');
  if (colon == std::string::npos) return std::nullopt;
  try {
    std::size_t used = 0;
    const std::int64_t out = std::stoll(one.substr(0, colon), &used);
    if (used != colon || out < 0) return std::nullopt;
    const std::int64_t err = std::stoll(one.substr(colon + 1), &used);
    if (used != one.size() - colon - 1 || err < 0) return std::nullopt;
    return std::array<std::int64_t, 2>{out, err};
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

std::optional<std::vector<std::array<std::int64_t, 2>>> ApiServer::Impl::step_offsets(const httplib::Request& req,
                                                                                      httplib::Response& res,
                                                                                      std::size_t tasks) {
  std::vector<std::array<std::int64_t, 2>> offsets(tasks, {0, 0});
  if (!req.has_param("offsets")) return offsets;
  const std::string text = req.get_param_value("offsets");
  std::size_t at = 0, task = 0;
  while (at < text.size()) {
    const std::size_t comma = std::min(text.find(',', at), text.size());
    const std::string one = text.substr(at, comma - at);
    const auto pair = offset_pair(one);
    if (!pair || task >= offsets.size()) {
      error(res, 400,
            "parameter 'offsets': expected OUT:ERR byte counts for each of the step's " + std::to_string(tasks) +
                " task(s), separated by commas (at '" + one + "')");
      return std::nullopt;
    }
    offsets[task++] = *pair;
    at = comma + 1;
  }
  return offsets;
}

void ApiServer::Impl::cancel_step(const httplib::Request& req, httplib::Response& res) {
  auto who = authenticate(req, res);
  if (!who) return;
  auto job = visible_job(req, res, *who);
  if (!job) return;
  if (!may_act(res, *who, *job, "cancel")) return;
  auto step = controller.cancel_step(job->id, std::stoi(req.matches[2]), who->user, true, wall_now());
  if (!step) return error(res, 409, step.error().message);
  api::Json w;
  write_step(w, *job, *step, true);
  res.status = 200;
  res.set_content(w.str(), "application/json");
}

}  // namespace gwang::controller
