// The records' parts in the binary encoding of api/codec.h, each encoder beside its decoder.

#include "controller/record_codec.h"

#include <string>

namespace gwang::controller {

namespace {

std::string text(Decoder& d) { return std::string(d.s()); }
int small(Decoder& d) { return static_cast<int>(d.i()); }
bool flag(Decoder& d) { return d.u(1) != 0; }

}  // namespace

void encode_request_shape(Encoder& e, const api::SubmitRequest& r) {
  e.s(r.name);
  encode_strings(e, r.command);
  e.s(r.workdir);
  encode_pairs(e, r.env);
  e.i(r.cpus);
  e.i(r.mem_bytes);
  e.i(r.gpus.count);
  encode_strings(e, r.gpus.models);
  e.f(r.gpu_share);
  e.i(r.nodes);
  e.i(r.time_s);
  e.u(r.requeue);
}

void decode_request_shape(Decoder& d, api::SubmitRequest& r) {
  r.name = text(d);
  r.command = decode_strings(d);
  r.workdir = text(d);
  r.env = decode_pairs(d);
  r.cpus = small(d);
  r.mem_bytes = d.i();
  r.gpus.count = small(d);
  r.gpus.models = decode_strings(d);
  r.gpu_share = d.f();
  r.nodes = small(d);
  r.time_s = d.i();
  r.requeue = flag(d);
}

void encode_state(Encoder& e, JobState state) { e.s(to_string(state)); }

JobState decode_state(Decoder& d) {
  const std::string_view name = d.s();
  const auto state = parse_job_state(name);
  if (d.ok() && !state) d.fail("an unknown state '" + std::string(name) + "'");
  return state.value_or(JobState::Failed);
}

void encode_task_state(Encoder& e, JobState state) { e.s(state == JobState::Running ? "" : to_string(state)); }

JobState decode_task_state(Decoder& d) {
  const std::string_view name = d.s();
  if (name.empty()) return JobState::Running;
  const auto state = parse_job_state(name);
  if (d.ok() && !state) d.fail("an unknown state '" + std::string(name) + "'");
  return state.value_or(JobState::Failed);
}

void encode_task(Encoder& e, const TaskRecord& t) {
  e.s(t.node);
  encode_strings(e, t.devices);
  e.u(t.shares.size());
  for (const core::DeviceShare& share : t.shares) {
    e.u(share.index);
    e.i(share.milli);
  }
  e.u(t.done);
}

TaskRecord decode_task(Decoder& d) {
  TaskRecord t;
  t.node = text(d);
  t.devices = decode_strings(d);
  t.shares.resize(d.count());
  for (core::DeviceShare& share : t.shares) {
    share.index = static_cast<std::uint16_t>(d.u(0xFFFF));
    share.milli = static_cast<core::Milli>(d.i());
  }
  t.done = flag(d);
  return t;
}

void encode_signal(Encoder& e, const SignalRecord& s) {
  e.i(s.time);
  e.i(s.attempt);
  e.i(s.number);
  e.u(static_cast<std::uint64_t>(s.target));
  e.i(s.step);
  e.u(s.timed);
}

SignalRecord decode_signal(Decoder& d) {
  SignalRecord s;
  s.time = d.i();
  s.attempt = static_cast<int>(d.i());
  s.number = static_cast<int>(d.i());
  s.target = static_cast<SignalTarget>(d.u(static_cast<std::uint64_t>(SignalTarget::All)));
  s.step = static_cast<int>(d.i());
  s.timed = flag(d);
  return s;
}

void encode_session(Encoder& e, const api::SessionRequest& s) {
  e.u(static_cast<std::uint64_t>(s.app));
  e.i(s.port);
  e.i(s.idle_timeout_s);
  e.s(s.secret);
}

api::SessionRequest decode_session(Decoder& d) {
  api::SessionRequest s;
  s.app = static_cast<api::SessionApp>(d.u(static_cast<std::uint64_t>(api::SessionApp::Custom)));
  s.port = static_cast<int>(d.i());
  s.idle_timeout_s = d.i();
  s.secret = text(d);
  if (d.ok() && (s.port < 0 || s.port > 65535)) d.fail("a session's port out of range");
  return s;
}

void encode_step(Encoder& e, const StepRecord& st) {
  e.i(st.id);
  e.s(st.name);
  encode_strings(e, st.argv);
  e.s(st.workdir);
  encode_pairs(e, st.env);
  e.i(st.cpus_per_task);
  e.u(st.cpus_per_task_given);
  e.u(st.kill_on_bad_exit);
  encode_state(e, st.state);
  e.s(st.failure ? to_string(*st.failure) : "");
  e.u(st.cancelled);
  e.i(st.exit_code);
  e.i(st.signal);
  e.i(st.start);
  e.i(st.end);
  e.s(st.stopping);
  e.u(st.tasks.size());
  for (const StepTaskRecord& t : st.tasks) {
    e.i(t.node);
    encode_task_state(e, t.state);
    e.i(t.exit_code);
    e.i(t.signal);
  }
}

Result<StepRecord> decode_step(Decoder& d, std::size_t job_tasks) {
  StepRecord st;
  st.id = small(d);
  st.name = text(d);
  st.argv = decode_strings(d);
  st.workdir = text(d);
  st.env = decode_pairs(d);
  st.cpus_per_task = small(d);
  st.cpus_per_task_given = flag(d);
  st.kill_on_bad_exit = flag(d);
  st.state = decode_state(d);
  if (st.state == JobState::Pending) d.fail("a step that is PENDING");
  if (const std::string_view failure = d.s(); !failure.empty()) {
    st.failure = parse_job_state(failure);
    if (d.ok() && !st.failure) d.fail("an unknown state '" + std::string(failure) + "'");
  }
  st.cancelled = flag(d);
  st.exit_code = small(d);
  st.signal = small(d);
  st.start = d.i();
  st.end = d.i();
  st.stopping = text(d);
  st.tasks.resize(d.count());
  for (StepTaskRecord& t : st.tasks) {
    t.node = small(d);
    t.state = decode_task_state(d);
    t.exit_code = small(d);
    t.signal = small(d);
    if (d.ok() && (t.node < 0 || static_cast<std::size_t>(t.node) >= job_tasks))
      return fail("step " + std::to_string(st.id) + ": a task on node " + std::to_string(t.node) + " of " +
                  std::to_string(job_tasks));
  }
  return st;
}

void encode_job(Encoder& e, const JobRecord& j, const Failure* failure, int format) {
  const api::SubmitRequest& r = j.request;
  e.i(j.id);
  e.s(j.user);
  encode_request_shape(e, r);
  encode_state(e, j.state);
  e.s(j.reason);
  e.i(j.submit);
  e.i(j.start);
  e.i(j.end);
  e.i(j.exit_code);
  e.i(j.attempt);
  e.u(j.tasks.size());
  for (const TaskRecord& t : j.tasks) encode_task(e, t);
  e.u(failure != nullptr);
  if (failure) {
    encode_state(e, failure->state);
    e.i(failure->exit_code);
    e.s(failure->reason);
  }
  // Format 3 on.
  e.s(j.project);
  e.u(j.preemptible);
  e.i(r.begin);
  e.s(r.dependency);
  e.s(r.array);
  e.i(j.array_job);
  e.i(j.array_task);
  e.s(r.script);
  e.s(r.output);
  e.s(r.error);
  e.s(r.input);
  e.u(r.open_append);
  e.s(r.comment);
  e.s(r.partition);
  e.u(r.hold);
  e.s(to_string(j.hold));
  e.s(j.credential);
  e.s(r.qos);
  e.u(j.steps.size());
  for (const StepRecord& st : j.steps) encode_step(e, st);
  // Format 12 on.
  e.s(r.mail_type);
  e.s(r.mail_user);
  // Format 13 on: the CPUs of its tasks and of its steps' tasks.
  for (const TaskRecord& t : j.tasks) encode_ints(e, t.cpus);
  for (const StepRecord& st : j.steps) {
    for (const StepTaskRecord& t : st.tasks) encode_ints(e, t.cpus);
  }
  // Format 14 on: the nodes it names.
  encode_strings(e, r.nodelist);
  encode_strings(e, r.exclude);
  // Format 15 on: what its steps hold on each node.
  for (const StepRecord& st : j.steps) {
    e.u(st.overlap);
    encode_ints(e, st.node_cpus);
    e.u(st.node_mem.size());
    for (const std::int64_t m : st.node_mem) e.i(m);
  }
  // Format 16 on: its steps' devices.
  for (const StepRecord& st : j.steps) {
    e.u(st.own_devices);
    e.u(st.node_devices.size());
    for (const auto& d : st.node_devices) encode_strings(e, d);
    for (const StepTaskRecord& t : st.tasks) encode_strings(e, t.devices);
  }
  // Format 17 on: whether its steps keep the job's task counts (srun -E).
  for (const StepRecord& st : j.steps) e.u(st.preserve_env);
  // Format 18 on: its signal before the end, and the signals sent to it.
  e.s(r.signal);
  e.u(j.signals.size());
  for (const SignalRecord& s : j.signals) encode_signal(e, s);
  // Format 19 on: whether an unmeetable dependency cancels it.
  e.u(r.kill_on_invalid_dep);
  // Format 20 on: its steps' own time limits.
  for (const StepRecord& st : j.steps) e.i(st.time_s);
  // Format 21 on: what its nodes must have (features, temporary disk), its nice and priority.
  e.s(r.constraint);
  e.s(r.prefer);
  e.i(r.tmp_bytes);
  e.i(r.nice);
  e.i(r.priority);
  e.i(r.sockets_per_node);
  e.i(r.cores_per_socket);
  e.i(r.threads_per_core);
  e.u(r.exclusive);
  e.i(r.core_spec);
  e.i(r.thread_spec);
  e.i(r.deadline);
  for (const StepRecord& st : j.steps) encode_ints(e, st.resv_ports);
  e.u(r.gpu_binding_disabled);
  e.s(r.batch_features);
  e.i(r.time_min_s);
  // Format 22 on: the group it runs as; 23 on: whether its nodes are adjacent; 24 on: its least
  // cores per node and threads per core; 25 on: its licenses, --no-kill, its ranks lost with their
  // nodes and its steps' -k.
  e.s(r.group);
  e.u(r.contiguous);
  e.i(r.cores_per_node);
  e.i(r.cpu_threads_per_core);
  e.s(r.licenses);
  e.u(r.no_kill);
  for (const TaskRecord& t : j.tasks) e.u(t.lost);
  for (const StepRecord& st : j.steps) e.u(st.no_kill);
  // Format 27 on: its steps' terminals; 28 on: whether it is an allocation; 29 on: its session.
  if (format >= 27) {
    for (const StepRecord& st : j.steps) {
      e.i(st.pty_rows);
      e.i(st.pty_cols);
    }
  }
  if (format >= 28) e.u(static_cast<std::uint64_t>(r.allocation));
  if (format >= 29) encode_session(e, r.session);
}

namespace {

// The fields formats 3 to 20 added at the end of a job's record.
Result<void> decode_job_tail(Decoder& d, int format, JobRecord& j) {
  api::SubmitRequest& r = j.request;
  if (format >= 3) {
    j.project = text(d);
    j.preemptible = flag(d);
  }
  if (format >= 4) {
    r.begin = d.i();
    r.dependency = text(d);
    r.array = text(d);
    j.array_job = d.i();
    j.array_task = d.i();
  }
  if (format >= 5) {
    r.script = text(d);
    r.output = text(d);
    r.error = text(d);
  }
  if (format >= 6) {
    r.input = text(d);
    r.open_append = flag(d);
    r.comment = text(d);
  }
  if (format >= 7) {
    r.partition = text(d);
    r.hold = flag(d);
    const std::string_view hold = d.s();
    const auto h = parse_hold(hold);
    if (d.ok() && !h) d.fail("an unknown hold '" + std::string(hold) + "'");
    j.hold = h.value_or(Hold::None);
  }
  if (format < 8) return {};
  j.credential = text(d);
  if (format >= 9) r.qos = text(d);
  for (std::size_t n = d.count(); d.ok() && n > 0; --n) {
    auto st = decode_step(d, j.tasks.size());
    if (!st) return fail("job " + std::to_string(j.id) + " " + st.error().message);
    j.steps.push_back(std::move(*st));
  }
  if (format >= 12) {
    r.mail_type = text(d);
    r.mail_user = text(d);
  }
  if (format >= 13) {
    for (TaskRecord& t : j.tasks) t.cpus = decode_ints(d);
    for (StepRecord& st : j.steps) {
      for (StepTaskRecord& t : st.tasks) t.cpus = decode_ints(d);
    }
  }
  if (format >= 14) {
    r.nodelist = decode_strings(d);
    r.exclude = decode_strings(d);
  }
  if (format >= 15) {
    for (StepRecord& st : j.steps) {
      st.overlap = flag(d);
      st.node_cpus = decode_ints(d);
      for (std::size_t n = d.count(); d.ok() && n > 0; --n) st.node_mem.push_back(d.i());
    }
  }
  if (format >= 16) {
    for (StepRecord& st : j.steps) {
      st.own_devices = flag(d);
      for (std::size_t n = d.count(); d.ok() && n > 0; --n) st.node_devices.push_back(decode_strings(d));
      for (StepTaskRecord& t : st.tasks) t.devices = decode_strings(d);
    }
  }
  if (format >= 17) {
    for (StepRecord& st : j.steps) st.preserve_env = flag(d);
  }
  if (format >= 18) {
    r.signal = text(d);
    for (std::size_t n = d.count(); d.ok() && n > 0; --n) j.signals.push_back(decode_signal(d));
  }
  if (format >= 19) r.kill_on_invalid_dep = flag(d);
  if (format >= 20) {
    for (StepRecord& st : j.steps) st.time_s = d.i();
  }
  if (format >= 21) {
    r.constraint = text(d);
    r.prefer = text(d);
    r.tmp_bytes = d.i();
    r.nice = d.i();
    r.priority = d.i();
    r.sockets_per_node = static_cast<int>(d.i());
    r.cores_per_socket = static_cast<int>(d.i());
    r.threads_per_core = static_cast<int>(d.i());
    r.exclusive = flag(d);
    r.core_spec = static_cast<int>(d.i());
    r.thread_spec = static_cast<int>(d.i());
    r.deadline = d.i();
    for (StepRecord& st : j.steps) st.resv_ports = decode_ints(d);
    r.gpu_binding_disabled = flag(d);
    r.batch_features = text(d);
    r.time_min_s = d.i();
  }
  if (format >= 22) r.group = text(d);
  if (format >= 23) r.contiguous = flag(d);
  if (format >= 24) {
    r.cores_per_node = static_cast<int>(d.i());
    r.cpu_threads_per_core = static_cast<int>(d.i());
  }
  if (format >= 25) {
    r.licenses = text(d);
    r.no_kill = flag(d);
    for (TaskRecord& t : j.tasks) t.lost = flag(d);
    for (StepRecord& st : j.steps) st.no_kill = flag(d);
  }
  if (format >= 27) {
    for (StepRecord& st : j.steps) {
      st.pty_rows = small(d);
      st.pty_cols = small(d);
    }
  }
  if (format >= 28) {
    r.allocation = static_cast<api::Allocation>(d.u(static_cast<std::uint64_t>(api::Allocation::Unattended)));
  }
  if (format >= 29) r.session = decode_session(d);
  return {};
}

}  // namespace

Result<void> decode_job(Decoder& d, int format, JobRecord& j, std::optional<Failure>& failure) {
  api::SubmitRequest& r = j.request;
  j.id = d.i();
  j.user = text(d);
  decode_request_shape(d, r);
  j.state = decode_state(d);
  j.reason = text(d);
  j.submit = d.i();
  j.start = d.i();
  j.end = d.i();
  j.exit_code = small(d);
  j.attempt = small(d);
  for (std::size_t n = d.count(); d.ok() && n > 0; --n) j.tasks.push_back(decode_task(d));
  failure.reset();
  if (flag(d)) {
    Failure f;
    f.state = decode_state(d);
    f.exit_code = small(d);
    f.reason = text(d);
    failure = std::move(f);
  }
  return decode_job_tail(d, format, j);
}

}  // namespace gwang::controller
