// Jobs and steps as the API writes and reads them.

#include "api/job_view.h"

#include "api/wire_read.h"

namespace gwang::api {

using nlohmann::json;

namespace {

void time_field(Json& w, const char* key, std::int64_t t) {
  w.key(key);
  t >= 0 ? w.value(t) : w.null();
}

// A job's object up to its times: the fields a summary and a whole job open with, in that order.
void begin_job(Json& w, const JobSummary& j) {
  w.begin_object();
  w.field("id", j.id).field("name", j.name).field("user", j.user).field("state", to_string(j.state));
  w.field("reason_code", to_string(j.reason_code));
  w.field("reason", j.reason).field("submit_time", j.submit_time);
  time_field(w, "start_time", j.start_time);
  time_field(w, "end_time", j.end_time);
}

}  // namespace

void write_step_view(Json& w, const StepView& st) {
  w.begin_object().field("id", st.id).field("name", st.name).field("state", to_string(st.state));
  w.field("exit_code", st.exit_code).field("signal", st.signal);
  time_field(w, "start_time", st.start_time);
  time_field(w, "end_time", st.end_time);
  w.field("ntasks", st.ntasks).field("cpus_per_task", st.cpus_per_task);
  w.key("nodes").strings(st.nodes);
  w.key("command").strings(st.command);
  if (!st.stopping.empty() && !st.ended()) w.field("stopping", st.stopping);
  if (st.tasks) {
    w.key("tasks").begin_array();
    for (const StepTaskView& t : *st.tasks) {
      w.begin_object().field("node", t.node).field("state", to_string(t.state));
      w.field("exit_code", t.exit_code).field("signal", t.signal).end_object();
    }
    w.end_array();
  }
  w.end_object();
}

void write_job_summary(Json& w, const JobSummary& j) {
  begin_job(w, j);
  w.field("node", j.node).field("project", j.project);
  if (j.estimated_start) time_field(w, "estimated_start", *j.estimated_start);
  w.end_object();
}

void write_job_view(Json& w, const JobView& j) {
  begin_job(w, j);
  w.key("command").strings(j.command);
  w.field("workdir", j.workdir).field("cpus", j.cpus).field("mem", j.mem).field("nodes", j.nodes);
  w.field("time_limit", j.time_limit).field("exit_code", j.exit_code).field("node", j.node);
  w.field("attempt", j.attempt).field("requeue", j.requeue);
  w.field("project", j.project).field("preemptible", j.preemptible);
  w.key("devices").strings(j.devices);
  if (j.gpus > 0) {
    w.key("gpus").begin_object().field("count", j.gpus);
    w.key("models").strings(j.gpu_models);
    w.end_object();
  }
  if (j.gpu_share > 0) w.field("gpu_share", j.gpu_share);
  if (j.begin > 0) w.field("begin", j.begin);
  if (!j.dependency.empty()) w.field("dependency", j.dependency);
  if (j.batch) w.field("batch", true);  // the script itself is not repeated in listings
  if (!j.allocation.empty()) w.field("allocation", j.allocation);
  if (!j.session.empty()) w.field("session", j.session);
  if (!j.output.empty()) w.field("output", j.output);
  if (!j.error.empty()) w.field("error", j.error);
  if (!j.input.empty()) w.field("input", j.input);
  if (j.open_append) w.field("open_append", true);
  if (!j.comment.empty()) w.field("comment", j.comment);
  if (!j.group.empty()) w.field("group", j.group);
  if (!j.licenses.empty()) w.field("licenses", j.licenses);
  if (!j.partition.empty()) w.field("partition", j.partition);
  if (j.hold != Hold::None) w.field("hold", to_string(j.hold));
  if (!j.qos.empty()) w.field("qos", j.qos);
  if (j.in_array()) {
    w.field("array", j.array).field("array_job_id", j.array_job_id).field("array_task_id", j.array_task_id);
  }
  if (!j.steps.empty()) {
    w.key("steps").begin_array();
    for (const StepView& st : j.steps) write_step_view(w, st);
    w.end_array();
  }
  if (j.estimated_start) time_field(w, "estimated_start", *j.estimated_start);
  if (j.priority) {
    w.key("priority").begin_object().field("total", j.priority->total).field("age", j.priority->age);
    w.field("fairshare", j.priority->fairshare).field("size", j.priority->size);
    w.field("programme", j.priority->programme).end_object();
  }
  w.end_object();
}

Result<StepView> read_step_view(const json& j, const std::string& where) {
  StepView s;
  wire::Fields f(j, where);
  f.need("id", s.id).need("name", s.name).name("state", s.state, parse_job_state);
  f.need("exit_code", s.exit_code).need("signal", s.signal);
  f.time("start_time", s.start_time).time("end_time", s.end_time);
  f.need("ntasks", s.ntasks).need("cpus_per_task", s.cpus_per_task);
  f.need("nodes", s.nodes).need("command", s.command).may("stopping", s.stopping);
  if (f.ok() && j.contains("tasks")) {
    const json& tasks = j["tasks"];
    if (!tasks.is_array()) {
      f.fail(where + ".tasks: expected an array");
    } else {
      s.tasks.emplace();
      for (std::size_t i = 0; i < tasks.size() && f.ok(); ++i) {
        StepTaskView t;
        wire::Fields tf(tasks[i], where + ".tasks[" + std::to_string(i) + "]");
        tf.need("node", t.node).name("state", t.state, parse_job_state);
        tf.need("exit_code", t.exit_code).need("signal", t.signal);
        if (tf.ok()) s.tasks->push_back(std::move(t));
        f.fail_with(tf);
      }
    }
  }
  return f.result(std::move(s));
}

namespace {

void read_summary(wire::Fields& f, const json& j, JobSummary& v) {
  f.need("id", v.id).need("name", v.name).need("user", v.user).name("state", v.state, parse_job_state);
  f.name("reason_code", v.reason_code, parse_reason_code).need("reason", v.reason);
  f.need("submit_time", v.submit_time).time("start_time", v.start_time).time("end_time", v.end_time);
  f.need("node", v.node).need("project", v.project);
  if (f.ok() && j.contains("estimated_start")) f.time("estimated_start", v.estimated_start.emplace());
}

template <class T, class Read>
Result<std::vector<T>> read_list(const json& list, const std::string& where, Read read) {
  if (!list.is_array()) return fail(where + ": expected an array");
  std::vector<T> out;
  out.reserve(list.size());
  for (std::size_t i = 0; i < list.size(); ++i) {
    auto v = read(list[i], where + "[" + std::to_string(i) + "]");
    if (!v) return tl::unexpected(v.error());
    out.push_back(std::move(*v));
  }
  return out;
}

}  // namespace

Result<JobSummary> read_job_summary(const json& j, const std::string& where) {
  JobSummary v;
  wire::Fields f(j, where);
  read_summary(f, j, v);
  return f.result(std::move(v));
}

Result<JobView> read_job_view(const json& j, const std::string& where) {
  JobView v;
  wire::Fields f(j, where);
  read_summary(f, j, v);
  f.need("command", v.command).need("workdir", v.workdir).need("cpus", v.cpus).need("mem", v.mem);
  f.need("nodes", v.nodes).need("time_limit", v.time_limit).need("exit_code", v.exit_code);
  f.need("attempt", v.attempt).need("requeue", v.requeue);
  f.need("preemptible", v.preemptible).need("devices", v.devices);
  if (f.ok() && j.contains("gpus")) {
    wire::Fields g(j["gpus"], where + ".gpus");
    g.need("count", v.gpus).need("models", v.gpu_models);
    f.fail_with(g);
  }
  f.may("gpu_share", v.gpu_share).may("begin", v.begin).may("dependency", v.dependency).may("batch", v.batch);
  f.may("allocation", v.allocation).may("session", v.session);
  f.may("output", v.output).may("error", v.error).may("input", v.input).may("open_append", v.open_append);
  f.may("comment", v.comment)
      .may("group", v.group)
      .may("licenses", v.licenses)
      .may("partition", v.partition)
      .name("hold", v.hold, parse_hold, false);
  f.may("qos", v.qos).may("array", v.array).may("array_job_id", v.array_job_id);
  f.may("array_task_id", v.array_task_id);
  if (f.ok() && j.contains("priority")) {
    PriorityView p;
    wire::Fields pf(j["priority"], where + ".priority");
    pf.need("total", p.total).need("age", p.age).need("fairshare", p.fairshare).need("size", p.size);
    pf.need("programme", p.programme);
    if (pf.ok()) v.priority = p;
    f.fail_with(pf);
  }
  if (f.ok() && j.contains("steps")) {
    const json& steps = j["steps"];
    if (!steps.is_array()) f.fail(where + ".steps: expected an array");
    for (std::size_t i = 0; f.ok() && i < steps.size(); ++i) {
      auto st = read_step_view(steps[i], where + ".steps[" + std::to_string(i) + "]");
      if (st) {
        v.steps.push_back(std::move(*st));
      } else {
        f.fail(st.error().message);
      }
    }
  }
  return f.result(std::move(v));
}

Result<std::vector<JobSummary>> read_job_summaries(const json& list, const std::string& where) {
  return read_list<JobSummary>(list, where,
                               [](const json& j, const std::string& at) { return read_job_summary(j, at); });
}

Result<std::vector<JobView>> read_job_views(const json& list, const std::string& where) {
  return read_list<JobView>(list, where, [](const json& j, const std::string& at) { return read_job_view(j, at); });
}

}  // namespace gwang::api
