// The wire form of the controller's records in the API: jobs, steps and nodes as JSON.

#include <nlohmann/json.hpp>

#include "api/json_writer.h"
#include "controller/http_impl.h"

namespace gwang::controller {

using nlohmann::json;

// A job step: with `tasks`, each task's node and end too.
void write_step(api::Json& w, const JobRecord& j, const StepRecord& st, bool tasks) {
  w.begin_object().field("id", st.id).field("name", st.name).field("state", to_string(st.state));
  w.field("exit_code", st.exit_code).field("signal", st.signal);
  w.key("start_time");
  st.start >= 0 ? w.value(st.start) : w.null();
  w.key("end_time");
  st.end >= 0 ? w.value(st.end) : w.null();
  w.field("ntasks", static_cast<std::int64_t>(st.tasks.size())).field("cpus_per_task", st.cpus_per_task);
  std::vector<std::string> nodes;
  for (int n : st.nodes()) nodes.push_back(j.tasks[static_cast<std::size_t>(n)].node);
  w.key("nodes").strings(nodes);
  w.key("command").strings(st.argv);
  if (!st.stopping.empty() && !st.ended()) w.field("stopping", st.stopping);
  if (tasks) {
    w.key("tasks").begin_array();
    for (const StepTaskRecord& t : st.tasks) {
      w.begin_object().field("node", j.tasks[static_cast<std::size_t>(t.node)].node);
      w.field("state", to_string(t.state));
      w.field("exit_code", t.exit_code).field("signal", t.signal).end_object();
    }
    w.end_array();
  }
  w.end_object();
}

// Jobs are written straight as text: the job list is the API's largest and most frequent answer.
// `estimate`: the planned start of a waiting job (?start=1), written as estimated_start.
void write_job(api::Json& w, const JobRecord& j, std::string_view reason, const std::int64_t* estimate) {
  const auto& r = j.request;
  w.begin_object();
  w.field("id", j.id).field("name", r.name).field("user", j.user).field("state", to_string(j.state));
  w.field("reason", reason).field("submit_time", j.submit);
  w.key("start_time");
  j.start >= 0 ? w.value(j.start) : w.null();
  w.key("end_time");
  j.end >= 0 ? w.value(j.end) : w.null();
  w.key("command").strings(r.command);
  w.field("workdir", r.workdir).field("cpus", r.cpus).field("mem", r.mem_bytes).field("nodes", r.nodes);
  w.field("time_limit", r.time_s).field("exit_code", j.exit_code).field("node", j.nodelist());
  w.field("attempt", j.attempt).field("requeue", r.requeue);
  w.field("project", j.project).field("preemptible", j.preemptible);
  std::vector<std::string> devices;
  for (const TaskRecord& t : j.tasks) devices.insert(devices.end(), t.devices.begin(), t.devices.end());
  w.key("devices").strings(devices);
  if (r.gpus.count > 0) {
    w.key("gpus").begin_object().field("count", r.gpus.count);
    w.key("models").strings(r.gpus.models);
    w.end_object();
  }
  if (r.gpu_share > 0) w.field("gpu_share", r.gpu_share);
  if (r.begin > 0) w.field("begin", r.begin);
  if (!r.dependency.empty()) w.field("dependency", r.dependency);
  if (j.batch()) w.field("batch", true);  // the script itself is not repeated in listings
  if (!r.output.empty()) w.field("output", r.output);
  if (!r.error.empty()) w.field("error", r.error);
  if (!r.input.empty()) w.field("input", r.input);
  if (r.open_append) w.field("open_append", true);
  if (!r.comment.empty()) w.field("comment", r.comment);
  if (!r.partition.empty()) w.field("partition", r.partition);
  if (j.hold != Hold::None) w.field("hold", to_string(j.hold));
  if (!r.qos.empty()) w.field("qos", r.qos);
  if (j.in_array()) {
    w.field("array", r.array).field("array_job_id", j.array_job).field("array_task_id", j.array_task);
  }
  if (!j.steps.empty()) {
    w.key("steps").begin_array();
    for (const StepRecord& st : j.steps) write_step(w, j, st, false);
    w.end_array();
  }
  if (estimate) {
    w.key("estimated_start");
    *estimate >= 0 ? w.value(*estimate) : w.null();
  }
  if (j.priority) {
    w.key("priority").begin_object().field("total", j.priority->total).field("age", j.priority->age);
    w.field("fairshare", j.priority->fairshare).field("size", j.priority->size);
    w.field("programme", j.priority->programme).end_object();
  }
  w.end_object();
}

void reply_job(httplib::Response& res, int status, const JobRecord& j) {
  api::Json w;
  write_job(w, j, j.reason);
  res.status = status;
  res.set_content(w.str(), "application/json");
}

json node_json(const NodeRecord& n) {
  json devices = json::array();
  for (const auto& d : n.devices) {
    devices.push_back({{"kind", d.kind},
                       {"name", d.name},
                       {"uuid", d.uuid},
                       {"index", d.index},
                       {"memory", d.memory_bytes},
                       {"declared", d.declared}});
  }
  return {{"name", n.name},
          {"state", n.state},
          {"cpus", n.cpus},
          {"cpus_used", n.cpus_used},
          {"memory", n.memory_bytes},
          {"memory_used", n.memory_used},
          {"devices", devices},
          {"jobs", n.jobs},
          {"tracking", n.tracking},
          {"address", n.address},
          {"partitions", n.partitions},
          {"local", n.local},
          {"last_seen", n.last_seen >= 0 ? json(n.last_seen) : json(nullptr)}};
}

}  // namespace gwang::controller
