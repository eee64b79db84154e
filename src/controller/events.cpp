// The journal's records of jobs and nodes: each event's binary encoding beside its decoding, and
// the first form of the records, JSON, read into the same types.

#include "controller/events.h"

#include "controller/record_codec.h"

namespace gwang::controller::events {

namespace {

// A binary payload starts with this byte; a JSON one with '{'.
constexpr std::string_view kMagic = "\x01";

std::string text(Decoder& d) { return std::string(d.s()); }
int small(Decoder& d) { return static_cast<int>(d.i()); }
bool flag(Decoder& d) { return d.u(1) != 0; }

void put_request(Encoder& e, const api::SubmitRequest& r) {
  encode_request_shape(e, r);
  e.s(r.project);
  e.u(r.preemptible);
  e.i(r.begin);
  e.s(r.dependency);
  e.s(r.array);
  e.s(r.script);
  e.s(r.output);
  e.s(r.error);
  e.s(r.input);
  e.u(r.open_append);
  e.s(r.comment);
  e.s(r.partition);
  e.u(r.hold);
  e.s(r.qos);
}

api::SubmitRequest get_request(Decoder& d) {
  api::SubmitRequest r;
  decode_request_shape(d, r);
  r.project = text(d);
  r.preemptible = flag(d);
  r.begin = d.i();
  r.dependency = text(d);
  r.array = text(d);
  r.script = text(d);
  r.output = text(d);
  r.error = text(d);
  r.input = text(d);
  r.open_append = flag(d);
  r.comment = text(d);
  r.partition = text(d);
  r.hold = flag(d);
  r.qos = text(d);
  return r;
}

// Each event's fields, written and read in the same order.
void put(Encoder& e, const Submitted& v) {
  e.i(v.id);
  e.s(v.user);
  e.s(v.project);
  e.u(v.preemptible);
  put_request(e, v.request);
  e.u(v.array_tasks.size());
  for (std::int64_t t : v.array_tasks) e.i(t);
  // Later fields, at the end: a record without them has none.
  e.s(v.request.mail_type);
  e.s(v.request.mail_user);
  encode_strings(e, v.request.nodelist);
  encode_strings(e, v.request.exclude);
  e.s(v.request.signal);
  e.u(v.request.kill_on_invalid_dep);
  e.s(v.request.constraint);
  e.s(v.request.prefer);
  e.i(v.request.tmp_bytes);
  e.i(v.request.nice);
  e.i(v.request.priority);
  e.i(v.request.sockets_per_node);
  e.i(v.request.cores_per_socket);
  e.i(v.request.threads_per_core);
  e.u(v.request.exclusive);
  e.i(v.request.core_spec);
  e.i(v.request.thread_spec);
  e.i(v.request.deadline);
  e.u(v.request.gpu_binding_disabled);
  e.s(v.request.batch_features);
  e.i(v.request.time_min_s);
  e.s(v.request.group);
  e.u(v.request.contiguous);
  e.i(v.request.cores_per_node);
  e.i(v.request.cpu_threads_per_core);
  e.s(v.request.licenses);
  e.u(v.request.no_kill);
  e.u(static_cast<std::uint64_t>(v.request.allocation));
  encode_session(e, v.request.session);
}
void get(Decoder& d, Submitted& v) {
  v.id = d.i();
  v.user = text(d);
  v.project = text(d);
  v.preemptible = flag(d);
  v.request = get_request(d);
  for (std::size_t n = d.count(); d.ok() && n > 0; --n) v.array_tasks.push_back(d.i());
  if (d.ok() && !d.at_end()) {
    v.request.mail_type = text(d);
    v.request.mail_user = text(d);
  }
  if (d.ok() && !d.at_end()) {
    v.request.nodelist = decode_strings(d);
    v.request.exclude = decode_strings(d);
  }
  if (d.ok() && !d.at_end()) {
    v.request.signal = text(d);
    v.request.kill_on_invalid_dep = flag(d);
  }
  if (d.ok() && !d.at_end()) {
    v.request.constraint = text(d);
    v.request.prefer = text(d);
    v.request.tmp_bytes = d.i();
    v.request.nice = d.i();
    v.request.priority = d.i();
    v.request.sockets_per_node = small(d);
    v.request.cores_per_socket = small(d);
    v.request.threads_per_core = small(d);
    v.request.exclusive = flag(d);
    v.request.core_spec = small(d);
    v.request.thread_spec = small(d);
    v.request.deadline = d.i();
    v.request.gpu_binding_disabled = flag(d);
    v.request.batch_features = text(d);
    v.request.time_min_s = d.i();
  }
  if (d.ok() && !d.at_end()) v.request.group = text(d);
  if (d.ok() && !d.at_end()) v.request.contiguous = flag(d);
  if (d.ok() && !d.at_end()) {
    v.request.cores_per_node = small(d);
    v.request.cpu_threads_per_core = small(d);
  }
  if (d.ok() && !d.at_end()) v.request.licenses = text(d);
  if (d.ok() && !d.at_end()) v.request.no_kill = flag(d);
  if (d.ok() && !d.at_end()) {
    v.request.allocation = static_cast<api::Allocation>(d.u(static_cast<std::uint64_t>(api::Allocation::Unattended)));
  }
  if (d.ok() && !d.at_end()) v.request.session = decode_session(d);
}

void put(Encoder& e, const Started& v) {
  e.i(v.id);
  e.i(v.attempt);
  e.s(v.credential);
  e.u(v.tasks.size());
  for (const TaskRecord& t : v.tasks) encode_task(e, t);
  // Added later, at the end: each task's CPUs; its lowered time limit.
  for (const TaskRecord& t : v.tasks) encode_ints(e, t.cpus);
  e.i(v.time_s);
}
void get(Decoder& d, Started& v) {
  v.id = d.i();
  v.attempt = small(d);
  v.credential = text(d);
  for (std::size_t n = d.count(); d.ok() && n > 0; --n) v.tasks.push_back(decode_task(d));
  if (d.ok() && !d.at_end()) {
    for (TaskRecord& t : v.tasks) t.cpus = decode_ints(d);
  }
  if (d.ok() && !d.at_end()) v.time_s = d.i();
}

void put(Encoder& e, const RankEnded& v) {
  e.i(v.id);
  e.i(v.attempt);
  e.i(v.rank);
  encode_state(e, v.state);
  e.i(v.exit_code);
  e.s(v.reason);
}
void get(Decoder& d, RankEnded& v) {
  v.id = d.i();
  v.attempt = small(d);
  v.rank = small(d);
  v.state = decode_state(d);
  v.exit_code = small(d);
  v.reason = text(d);
}

void put(Encoder& e, const StepStarted& v) {
  e.i(v.id);
  e.i(v.attempt);
  e.i(v.step);
  e.s(v.name);
  encode_strings(e, v.argv);
  e.s(v.workdir);
  encode_pairs(e, v.env);
  e.i(v.cpus_per_task);
  e.u(v.kill_on_bad_exit);
  e.u(v.task_nodes.size());
  for (int n : v.task_nodes) e.i(n);
  // Added later, at the end: each task's CPUs.
  e.u(v.task_cpus.size());
  for (const std::vector<int>& cpus : v.task_cpus) encode_ints(e, cpus);
  e.u(v.overlap);
  encode_ints(e, v.node_cpus);
  e.u(v.node_mem.size());
  for (const std::int64_t m : v.node_mem) e.i(m);
  e.u(v.own_devices);
  e.u(v.node_devices.size());
  for (const auto& d : v.node_devices) encode_strings(e, d);
  e.u(v.task_devices.size());
  for (const auto& d : v.task_devices) encode_strings(e, d);
  e.u(v.preserve_env);
  e.i(v.time_s);
  encode_ints(e, v.resv_ports);
  e.u(v.no_kill);
  e.i(v.pty_rows);
  e.i(v.pty_cols);
}
void get(Decoder& d, StepStarted& v) {
  v.id = d.i();
  v.attempt = small(d);
  v.step = small(d);
  v.name = text(d);
  v.argv = decode_strings(d);
  v.workdir = text(d);
  v.env = decode_pairs(d);
  v.cpus_per_task = small(d);
  v.kill_on_bad_exit = flag(d);
  for (std::size_t n = d.count(); d.ok() && n > 0; --n) v.task_nodes.push_back(small(d));
  if (d.ok() && !d.at_end()) {
    for (std::size_t n = d.count(); d.ok() && n > 0; --n) v.task_cpus.push_back(decode_ints(d));
  }
  if (d.ok() && !d.at_end()) {
    v.overlap = flag(d);
    v.node_cpus = decode_ints(d);
    for (std::size_t n = d.count(); d.ok() && n > 0; --n) v.node_mem.push_back(d.i());
  }
  if (d.ok() && !d.at_end()) {
    v.own_devices = flag(d);
    for (std::size_t n = d.count(); d.ok() && n > 0; --n) v.node_devices.push_back(decode_strings(d));
    for (std::size_t n = d.count(); d.ok() && n > 0; --n) v.task_devices.push_back(decode_strings(d));
  }
  if (d.ok() && !d.at_end()) v.preserve_env = flag(d);
  if (d.ok() && !d.at_end()) v.time_s = d.i();
  if (d.ok() && !d.at_end()) v.resv_ports = decode_ints(d);
  if (d.ok() && !d.at_end()) v.no_kill = flag(d);
  if (d.ok() && !d.at_end()) {
    v.pty_rows = small(d);
    v.pty_cols = small(d);
  }
}

void put(Encoder& e, const StepTaskEnded& v) {
  e.i(v.id);
  e.i(v.attempt);
  e.i(v.step);
  e.i(v.task);
  encode_state(e, v.state);
  e.i(v.exit_code);
  e.i(v.signal);
}
void get(Decoder& d, StepTaskEnded& v) {
  v.id = d.i();
  v.attempt = small(d);
  v.step = small(d);
  v.task = small(d);
  v.state = decode_state(d);
  v.exit_code = small(d);
  v.signal = small(d);
}

void put(Encoder& e, const StepStopping& v) {
  e.i(v.id);
  e.i(v.attempt);
  e.i(v.step);
  e.s(v.why);
  e.u(v.cancel);
}
void get(Decoder& d, StepStopping& v) {
  v.id = d.i();
  v.attempt = small(d);
  v.step = small(d);
  v.why = text(d);
  v.cancel = flag(d);
}

void put(Encoder& e, const Requeued& v) {
  e.i(v.id);
  e.i(v.attempt);
  e.s(v.reason);
}
void get(Decoder& d, Requeued& v) {
  v.id = d.i();
  v.attempt = small(d);
  v.reason = text(d);
}

void put(Encoder& e, const Ended& v) {
  e.i(v.id);
  encode_state(e, v.state);
  e.i(v.exit_code);
  e.s(v.reason);
}
void get(Decoder& d, Ended& v) {
  v.id = d.i();
  v.state = decode_state(d);
  v.exit_code = small(d);
  v.reason = text(d);
}

void put(Encoder& e, const Held& v) {
  e.u(v.ids.size());
  for (std::int64_t id : v.ids) e.i(id);
  e.s(to_string(v.hold));
  e.s(v.by);
}
void get(Decoder& d, Held& v) {
  for (std::size_t n = d.count(); d.ok() && n > 0; --n) v.ids.push_back(d.i());
  const std::string_view hold = d.s();
  const auto h = parse_hold(hold);
  if (d.ok() && !h) d.fail("an unknown hold '" + std::string(hold) + "'");
  v.hold = h.value_or(Hold::None);
  v.by = text(d);
}

void put(Encoder& e, const NodeRegistered& v) {
  e.s(v.node);
  e.s(v.instance);
  e.s(v.address);
  e.i(v.cpus);
  e.i(v.memory_bytes);
  encode_devices(e, v.devices);
  // Added later, at the end.
  encode_strings(e, v.features);
  e.i(v.tmp_bytes);
}
void get(Decoder& d, NodeRegistered& v) {
  v.node = text(d);
  v.instance = text(d);
  v.address = text(d);
  v.cpus = small(d);
  v.memory_bytes = d.i();
  v.devices = decode_devices(d);
  if (d.ok() && !d.at_end()) {
    v.features = decode_strings(d);
    v.tmp_bytes = d.i();
  }
}

void put(Encoder& e, const NodeState& v) {
  e.s(v.node);
  e.s(v.state);
}
void get(Decoder& d, NodeState& v) {
  v.node = text(d);
  v.state = text(d);
}

void put(Encoder& e, const Signalled& v) {
  e.i(v.id);
  encode_signal(e, v.signal);
}
void get(Decoder& d, Signalled& v) {
  v.id = d.i();
  v.signal = decode_signal(d);
}

void put(Encoder& e, const NodeLeft& v) {
  e.i(v.id);
  e.i(v.attempt);
  e.s(v.node);
}
void get(Decoder& d, NodeLeft& v) {
  v.id = d.i();
  v.attempt = small(d);
  v.node = text(d);
}

// The kinds, by the variant's index. A job array's submission has a kind of its own.
constexpr std::string_view kKinds[] = {"job.submitted", "job.started",  "job.rank_ended", "job.step", "job.step_task",
                                       "job.step_stop", "job.requeued", "job.ended",      "job.hold", "node.registered",
                                       "node.state",    "job.signal",   "job.node_left"};
static_assert(std::size(kKinds) == std::variant_size_v<Event>);
constexpr std::string_view kArraySubmitted = "job.array_submitted";

// An empty event of the kind's type, or nullopt.
std::optional<Event> blank(std::string_view kind) {
  if (kind == kArraySubmitted) return Submitted{};
  std::optional<Event> out;
  auto make = [&]<std::size_t... I>(std::index_sequence<I...>) {
    ((kind == kKinds[I] ? (void)(out = Event(std::in_place_index<I>)) : (void)0), ...);
  };
  make(std::make_index_sequence<std::variant_size_v<Event>>{});
  return out;
}

}  // namespace

std::string_view kind_of(const Event& event) {
  if (const auto* s = std::get_if<Submitted>(&event); s && !s->array_tasks.empty()) return kArraySubmitted;
  return kKinds[event.index()];
}

std::string encode(const Event& event) {
  Encoder e;
  std::visit([&](const auto& v) { put(e, v); }, event);
  return e.finish(kMagic);
}

Result<Event> decode(std::string_view kind, std::string_view payload) {
  std::optional<Event> event = blank(kind);
  if (!event) return fail("not a record of a job or a node: " + std::string(kind));
  if (payload.starts_with("{")) return decode_json(kind, payload, std::move(*event));
  Decoder d(payload, kMagic);
  std::visit([&](auto& v) { get(d, v); }, *event);
  if (d.ok() && !d.at_end()) return fail("byte " + std::to_string(d.offset()) + ": data after the record's fields");
  if (!d.ok()) return fail(d.error());
  if (kind == kArraySubmitted && std::get<Submitted>(*event).array_tasks.empty()) {
    return fail("a job array's submission without its tasks");
  }
  return *event;
}

}  // namespace gwang::controller::events
