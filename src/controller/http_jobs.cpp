// The API's job routes: submissions (and test submissions), the job list in pages and as the queue
// table, a job, its cancel, hold and release, its output, the partitions jobs are sent to, and the
// cluster's licenses.

#include <algorithm>
#include <deque>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "api/json_writer.h"
#include "controller/http_impl.h"
#include "slurm/signals.h"

namespace gwang::controller {

using nlohmann::json;

void ApiServer::Impl::submit_job(const httplib::Request& req, httplib::Response& res) {
  auto who = authenticate(req, res);
  if (!who) return;
  auto request = api::parse_submit(req.body, controller.max_array_size());
  if (!request) return error(res, 400, request.error().message);
  // ?as_user=NAME: an operator submits for another user (sbatch --uid as root); the job is theirs,
  // in their projects.
  // A job raised in the queue (a negative nice, a priority of its own) is an operator's doing, as in Slurm.
  if (request->nice < 0 && !who->is_operator)
    return error(res, 403, "field 'nice': only an operator may set a negative nice (Access/permission denied)");
  if (!request->group.empty() && !who->is_operator)
    return error(res, 403, "field 'group': only an operator submits a job to run as another group");
  if (request->priority >= 0 && !who->is_operator)
    return error(res, 403, "field 'priority': only an operator sets a job's priority (Access/permission denied)");
  std::string owner = who->user;
  std::set<std::string> projects = who->projects;
  if (req.has_param("as_user")) {
    if (!who->is_operator) return error(res, 403, "parameter 'as_user': only an operator submits for another user");
    owner = req.get_param_value("as_user");
    const core::User* u = controller.tenancy()->user(owner);
    projects = u ? u->projects : std::set<std::string>{};
  }
  if (!request->project.empty() && !projects.contains(request->project)) {
    return error(res, 403, "field 'project': " + owner + " is not a member of project '" + request->project + "'");
  }
  auto account = lookup_account(owner);
  if (!account) return error(res, 403, account.error().message);
  if (req.get_param_value("test_only") == "1") {  // sbatch --test-only: checked and planned, not submitted
    auto t = controller.test_only(*request, *account, wall_now());
    if (!t) return error(res, 422, t.error().message);
    return reply(res, 200,
                 json{{"id", t->id},
                      {"start", t->start >= 0 ? json(t->start) : json(nullptr)},
                      {"nodes", t->nodes},
                      {"partition", t->partition},
                      {"cpus", t->cpus}});
  }
  auto job = controller.submit(*request, *account, wall_now());
  if (!job) return error(res, 422, job.error().message);
  reply_job(res, 201, *job);
}

void ApiServer::Impl::list_jobs(const httplib::Request& req, httplib::Response& res) {
  auto who = authenticate(req, res);
  if (!who) return;
  const bool all = req.get_param_value("all") == "1" || req.get_param_value("all") == "true";
  const std::string view = req.has_param("view") ? req.get_param_value("view") : "full";
  if (view != "full" && view != "summary" && view != "table") {
    return error(res, 400, "parameter 'view': expected full, summary or table");
  }
  if (view == "table") {
    // Rows of [id, name, user, state, reason, start_time, end_time, node], where name, user,
    // state and reason are indices into "strings": a queue repeats them, and the table is what
    // `gwang queue` prints, so it is sent small.
    // Keys are views of the jobs' own strings (stable while the visit holds the lock) or of
    // copies kept in `made`, for reasons made on the fly.
    std::unordered_map<std::string_view, int> index;
    std::vector<std::string_view> strings;
    std::deque<std::string> made;
    auto intern = [&](std::string_view text, bool stable) {
      auto it = index.find(text);
      if (it != index.end()) return it->second;
      if (!stable) text = made.emplace_back(text);
      strings.push_back(text);
      return index.emplace(text, static_cast<int>(strings.size() - 1)).first->second;
    };
    api::Json rows;
    rows.reserve(64 << 10);
    rows.begin_array();
    controller.for_each_job(all, [&](const JobRecord& j, api::Reason shown) {
      const std::string_view reason = shown.text;
      if (!who->sees(j.project, j.user)) return;
      rows.begin_array().value(j.id).value(intern(j.request.name, true)).value(intern(j.user, true));
      rows.value(intern(to_string(j.state), true)).value(intern(reason, false));
      j.start >= 0 ? rows.value(j.start) : rows.null();
      j.end >= 0 ? rows.value(j.end) : rows.null();
      rows.value(j.tasks.empty() ? std::string() : j.nodelist());
      rows.end_array();
    });
    rows.end_array();
    api::Json w;
    w.reserve(rows.str().size() + 4096);
    w.begin_object().key("strings").begin_array();
    for (std::string_view t : strings) w.value(t);
    w.end_array();
    std::string body = w.str() + ",\"rows\":" + rows.str() + "}";
    res.status = 200;
    res.set_content(std::move(body), "application/json");
    return;
  }
  // Filters (state, project, user: comma-separated lists) and a page (offset, limit; order
  // asc by id, or desc: newest first); "total" counts every job that matches.
  auto filter = job_filter(req, res);
  if (!filter) return;
  const bool full = view == "full";
  // ?start=1: the waiting jobs' planned starts (the first 1,000 in queue order; others null).
  const bool starts = req.get_param_value("start") == "1" || req.get_param_value("start") == "true";
  const std::map<std::int64_t, std::int64_t> planned =
      starts ? controller.planned_starts(wall_now(), 1000) : std::map<std::int64_t, std::int64_t>{};
  auto write_one = [&](api::Json& w, const JobRecord& j, api::Reason reason) {
    const auto p = planned.find(j.id);
    const std::int64_t none = -1;
    const std::int64_t* estimate = !starts ? nullptr : p != planned.end() ? &p->second : &none;
    full ? write_job(w, j, reason, estimate) : api::write_job_summary(w, job_summary(j, reason, estimate));
  };
  // One pass, in the page's order: every matching job is counted, the page's are written (and
  // only theirs get their reasons made). Where the view's counts by state give the total (a caller
  // who sees every job, filtering by state alone), the pass stops at the page's end.
  const bool counted = who->is_operator && filter->projects.empty() && filter->users.empty();
  Controller::StateCounts counts{};
  std::int64_t total = 0, rank = 0;
  api::Json w;
  w.reserve(64 << 10);
  w.begin_array();
  controller.scan_jobs(
      all || filter->wants_ended, filter->descending,
      [&](const JobRecord& j, const Controller::Reasons& reason) {
        if (!who->sees(j.project, j.user) || !filter->matches(j)) return true;
        if (rank >= filter->offset && rank < filter->offset + filter->limit) write_one(w, j, reason(j));
        ++rank;
        return !counted || rank < filter->offset + filter->limit;
      },
      &counts);
  if (counted) {
    for (JobState s : kJobStates) {
      const bool listed =
          filter->states.empty() ? all || s == JobState::Pending || s == JobState::Running : filter->states.contains(s);
      if (listed) total += counts[static_cast<std::size_t>(s)];
    }
  } else {
    total = rank;
  }
  w.end_array();
  std::string body =
      "{\"total\":" + std::to_string(total) + ",\"offset\":" + std::to_string(filter->offset) + ",\"jobs\":" + w.str();
  body += "}";
  res.status = 200;
  res.set_content(std::move(body), "application/json");
}

void ApiServer::Impl::show_job(const httplib::Request& req, httplib::Response& res) {
  auto who = authenticate(req, res);
  if (!who) return;
  if (auto job = visible_job(req, res, *who)) reply_job(res, 200, *job);
}

bool ApiServer::Impl::may_act(httplib::Response& res, const Scope& who, const JobRecord& job, const std::string& verb) {
  if (who.cancels(job.project, job.user)) return true;
  error(res, 403,
        "job " + std::to_string(job.id) + " is not yours to " + verb +
            " (its owner, its institution's admins and operators may)");
  return false;
}

// Cancels, holds and releases: the owner, the institution's admins and operators may. A hold by
// someone other than the owner is theirs to release (JobHeldAdmin). ?task_only=1: an array's id
// names its first task alone.
void ApiServer::Impl::job_action(const httplib::Request& req, httplib::Response& res, const std::string& verb,
                                 const JobAction& act) {
  auto who = authenticate(req, res);
  if (!who) return;
  auto job = visible_job(req, res, *who);
  if (!job) return;
  if (!may_act(res, *who, *job, verb)) return;
  auto r = act(*who, *job, req.get_param_value("task_only") == "1");
  if (!r) return error(res, 409, r.error().message);
  reply_job(res, 200, *r);
}

void ApiServer::Impl::cancel_job(const httplib::Request& req, httplib::Response& res) {
  job_action(req, res, "cancel", [this](const Scope& who, const JobRecord& job, bool task_only) {
    return controller.cancel(job.id, who.user, true, wall_now(), task_only);
  });
}

// Sends a signal to a running job's processes (scancel --signal): {"signal": "USR1" or 10,
// "target": "steps" (the default: its steps' tasks, not the batch shell), "batch" (the batch
// shell and what it runs), "shell" (the shell alone) or "all", "step": N (one step only)}.
void ApiServer::Impl::signal_job(const httplib::Request& req, httplib::Response& res) {
  auto body = body_object(req, res);
  if (!body) return;
  for (const auto& [key, value] : body->items()) {
    if (key != "signal" && key != "target" && key != "step") return error(res, 400, "unknown field '" + key + "'");
  }
  const json& sig = (*body)["signal"];
  std::optional<int> number;
  if (sig.is_string()) number = slurm::signal_number(sig.get<std::string>());
  if (sig.is_number_integer() && sig.get<std::int64_t>() >= 1 && sig.get<std::int64_t>() <= 64) number = sig.get<int>();
  if (!number) return error(res, 400, "field 'signal': expected a signal's name (USR1) or number (1 to 64)");
  static const std::pair<const char*, SignalTarget> kTargets[] = {{"steps", SignalTarget::Steps},
                                                                  {"batch", SignalTarget::Batch},
                                                                  {"shell", SignalTarget::Shell},
                                                                  {"all", SignalTarget::All}};
  SignalTarget target = SignalTarget::Steps;
  if (body->contains("target")) {
    const json& t = (*body)["target"];
    const auto it = std::find_if(std::begin(kTargets), std::end(kTargets),
                                 [&](const auto& k) { return t.is_string() && t.get<std::string>() == k.first; });
    if (it == std::end(kTargets)) return error(res, 400, "field 'target': expected steps, batch, shell or all");
    target = it->second;
  }
  int step = -1;
  if (body->contains("step")) {
    const json& st = (*body)["step"];
    if (!st.is_number_integer() || st.get<std::int64_t>() < 0 || st.get<std::int64_t>() > 999999)
      return error(res, 400, "field 'step': expected a step's id");
    step = st.get<int>();
  }
  job_action(req, res, "signal", [&](const Scope& who, const JobRecord& job, bool) {
    return controller.signal_job(job.id, step, *number, target, who.user, true, wall_now());
  });
}

void ApiServer::Impl::hold_job(const httplib::Request& req, httplib::Response& res) {
  job_action(req, res, "hold", [this](const Scope& who, const JobRecord& job, bool task_only) {
    return controller.set_hold(job.id, true, who.user, who.user != job.user || who.is_operator, wall_now(), task_only);
  });
}

void ApiServer::Impl::release_job(const httplib::Request& req, httplib::Response& res) {
  job_action(req, res, "release", [this](const Scope& who, const JobRecord& job, bool task_only) {
    return controller.set_hold(job.id, false, who.user, who.user != job.user || who.is_operator, wall_now(), task_only);
  });
}

void ApiServer::Impl::list_partitions(const httplib::Request& req, httplib::Response& res) {
  auto who = authenticate(req, res);
  if (!who) return;
  json out = json::array();
  for (const Controller::PartitionRecord& p : controller.partitions()) {
    out.push_back({{"name", p.spec.name},
                   {"default", p.spec.is_default},
                   {"max_time", p.spec.max_time_s > 0 ? json(p.spec.max_time_s) : json(nullptr)},
                   {"nodes", p.nodes}});
  }
  reply(res, 200, json{{"partitions", out}});
}

void ApiServer::Impl::list_licenses(const httplib::Request& req, httplib::Response& res) {
  auto who = authenticate(req, res);
  if (!who) return;
  json out = json::array();
  for (const Controller::LicenseRecord& l : controller.licenses()) {
    out.push_back({{"name", l.name},
                   {"total", l.total},
                   {"used", l.used},
                   {"free", std::max<std::int64_t>(0, l.total - l.used)}});
  }
  reply(res, 200, json{{"licenses", out}});
}

void ApiServer::Impl::job_logs(const httplib::Request& req, httplib::Response& res) {
  auto who = authenticate(req, res);
  if (!who) return;
  auto job = visible_job(req, res, *who);
  if (!job) return;
  const std::string stream = req.has_param("stream") ? req.get_param_value("stream") : "stdout";
  if (stream != "stdout" && stream != "stderr") {
    return error(res, 400, "parameter 'stream': expected stdout or stderr");
  }
  auto from = int_param(req, "offset", 0, std::numeric_limits<std::int64_t>::max() / 2, 0, res);
  if (!from) return;
  std::int64_t offset = *from;
  auto rank_param = int_param(req, "rank", 0, std::max(1, job->request.nodes) - 1, 0, res);
  if (!rank_param) return;
  const int rank = static_cast<int>(*rank_param);
  // ?tail=BYTES: the last BYTES of the stream (from a line's start), instead of from `offset`.
  auto tail = int_param(req, "tail", 1, 8 << 20, 0, res);
  if (!tail) return;
  std::ifstream in(controller.log_path(*job, rank, stream == "stderr"), std::ios::binary);
  std::string data;
  if (in && *tail > 0) {
    in.seekg(0, std::ios::end);
    const std::int64_t size = static_cast<std::int64_t>(in.tellg());
    offset = std::max<std::int64_t>(0, size - *tail);
    if (offset > 0) {  // start after the first newline in the window, so no line is cut
      std::string window(static_cast<std::size_t>(size - offset), '\0');
      in.seekg(offset);
      in.read(window.data(), static_cast<std::streamsize>(window.size()));
      const std::size_t nl = window.find('\n');
      if (nl != std::string::npos && nl + 1 < window.size()) offset += static_cast<std::int64_t>(nl + 1);
    }
    in.clear();
  }
  if (in) {
    constexpr std::size_t kChunk = 8u << 20;  // at most this much per answer
    in.seekg(offset);
    data.resize(kChunk);
    in.read(data.data(), static_cast<std::streamsize>(kChunk));
    data.resize(static_cast<std::size_t>(std::max<std::streamsize>(0, in.gcount())));
  }
  res.set_header("X-Gwang-Next-Offset", std::to_string(offset + static_cast<std::int64_t>(data.size())));
  res.set_header("X-Gwang-Job-State", std::string(to_string(job->state)));
  res.status = 200;
  res.set_content(data, "text/plain");
}

}  // namespace gwang::controller
