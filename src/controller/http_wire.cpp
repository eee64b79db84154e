// The wire form of the controller's records in the API: jobs, steps and nodes as JSON.

#include "api/json_writer.h"
#include "controller/http_impl.h"

namespace gwang::controller {

api::StepView step_view(const JobRecord& j, const StepRecord& st, bool tasks) {
  api::StepView v;
  v.id = st.id;
  v.name = st.name;
  v.state = st.state;
  v.exit_code = st.exit_code;
  v.signal = st.signal;
  v.start_time = st.start;
  v.end_time = st.end;
  v.ntasks = static_cast<int>(st.tasks.size());
  v.cpus_per_task = st.cpus_per_task;
  for (int n : st.nodes()) v.nodes.push_back(j.tasks[static_cast<std::size_t>(n)].node);
  v.command = st.argv;
  v.stopping = st.stopping;
  if (tasks) {
    v.tasks.emplace();
    for (const StepTaskRecord& t : st.tasks) {
      v.tasks->push_back({j.tasks[static_cast<std::size_t>(t.node)].node, t.state, t.exit_code, t.signal});
    }
  }
  return v;
}

void write_step(api::Json& w, const JobRecord& j, const StepRecord& st, bool tasks) {
  api::write_step_view(w, step_view(j, st, tasks));
}

api::JobSummary job_summary(const JobRecord& j, api::Reason reason, const std::int64_t* estimate) {
  api::JobSummary v;
  v.id = j.id;
  v.name = j.request.name;
  v.user = j.user;
  v.state = j.state;
  v.reason_code = reason.code;
  v.reason = reason.text;
  v.submit_time = j.submit;
  v.start_time = j.start;
  v.end_time = j.end;
  v.node = j.nodelist();
  v.project = j.project;
  if (estimate) v.estimated_start = *estimate >= 0 ? *estimate : -1;
  return v;
}

api::JobView job_view(const JobRecord& j, api::Reason reason, const std::int64_t* estimate) {
  api::JobView v;
  static_cast<api::JobSummary&>(v) = job_summary(j, reason, estimate);
  const api::SubmitRequest& r = j.request;
  v.command = r.command;
  v.workdir = r.workdir;
  v.cpus = r.cpus;
  v.mem = r.mem_bytes;
  v.nodes = r.nodes -
            static_cast<int>(std::count_if(j.tasks.begin(), j.tasks.end(), [](const TaskRecord& t) { return t.lost; }));
  v.time_limit = r.time_s;
  v.exit_code = j.exit_code;
  v.attempt = j.attempt;
  v.requeue = r.requeue;
  v.preemptible = j.preemptible;
  for (const TaskRecord& t : j.tasks) v.devices.insert(v.devices.end(), t.devices.begin(), t.devices.end());
  v.gpus = r.gpus.count;
  v.gpu_models = r.gpus.models;
  v.gpu_share = r.gpu_share;
  v.begin = r.begin;
  v.dependency = r.dependency;
  v.batch = j.batch();
  v.allocation = std::string(api::to_string(j.request.allocation));
  v.session = std::string(api::to_string(j.request.session.app));
  v.output = r.output;
  v.error = r.error;
  v.input = r.input;
  v.open_append = r.open_append;
  v.comment = r.comment;
  v.group = r.group;
  v.licenses = r.licenses;
  v.partition = r.partition;
  v.hold = j.hold;
  v.qos = r.qos;
  if (j.in_array()) {
    v.array = r.array;
    v.array_job_id = j.array_job;
    v.array_task_id = j.array_task;
  }
  for (const StepRecord& st : j.steps) v.steps.push_back(step_view(j, st, false));
  if (j.priority) {
    const core::PriorityTerms& p = *j.priority;
    v.priority = api::PriorityView{p.total, p.age, p.fairshare, p.size, p.programme};
  }
  return v;
}

void write_job(api::Json& w, const JobRecord& j, api::Reason reason, const std::int64_t* estimate) {
  api::write_job_view(w, job_view(j, reason, estimate));
}

void reply_job(httplib::Response& res, int status, const JobRecord& j) {
  api::Json w;
  write_job(w, j, {j.reason_code, j.reason});
  res.status = status;
  res.set_content(w.str(), "application/json");
}

api::NodeView node_view(const NodeRecord& n) {
  api::NodeView v;
  v.name = n.name;
  v.state = n.state;
  v.cpus = n.cpus;
  v.cpus_used = n.cpus_used;
  v.memory = n.memory_bytes;
  v.memory_used = n.memory_used;
  for (const auto& d : n.devices) v.devices.push_back({d.kind, d.name, d.uuid, d.index, d.memory_bytes, d.declared});
  v.jobs = n.jobs;
  v.tracking = n.tracking;
  v.address = n.address;
  v.partitions = n.partitions;
  v.local = n.local;
  v.last_seen = n.last_seen;
  v.features = n.features;
  v.tmp = n.tmp_bytes;
  return v;
}

void reply_nodes(httplib::Response& res, const std::vector<NodeRecord>& nodes) {
  api::Json w;
  w.begin_object().key("nodes").begin_array();
  for (const NodeRecord& n : nodes) api::write_node_view(w, node_view(n));
  w.end_array().end_object();
  res.status = 200;
  res.set_content(w.str(), "application/json");
}

void reply_node(httplib::Response& res, const NodeRecord& node) {
  api::Json w;
  api::write_node_view(w, node_view(node));
  res.status = 200;
  res.set_content(w.str(), "application/json");
}

}  // namespace gwang::controller
