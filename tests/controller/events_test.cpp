// The journal's events: every kind reads back as written (binary), the first form of each record
// (JSON, as journals written before hold it) still reads into the same event, and a damaged
// payload is an error, never a crash.
#include "controller/events.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <random>

namespace gwang::controller::events {
namespace {

// Comparable forms of the parts without operator== (the request, the devices' journalled fields).
std::string shown(const api::SubmitRequest& r) { return api::to_json(r); }
std::vector<std::tuple<std::string, std::string, std::string, int, std::int64_t, bool>> shown(
    const std::vector<agent::Device>& devices) {
  std::vector<std::tuple<std::string, std::string, std::string, int, std::int64_t, bool>> out;
  for (const agent::Device& d : devices) out.emplace_back(d.kind, d.name, d.uuid, d.index, d.memory_bytes, d.declared);
  return out;
}

void expect_same(const Event& a, const Event& b) {
  ASSERT_EQ(a.index(), b.index());
  if (const auto* s = std::get_if<Submitted>(&a)) {
    const auto& t = std::get<Submitted>(b);
    EXPECT_EQ(s->id, t.id);
    EXPECT_EQ(s->user, t.user);
    EXPECT_EQ(s->project, t.project);
    EXPECT_EQ(s->preemptible, t.preemptible);
    EXPECT_EQ(shown(s->request), shown(t.request));
    EXPECT_EQ(s->request.session, t.request.session);  // its secret, which its JSON form leaves out
    EXPECT_EQ(s->array_tasks, t.array_tasks);
  } else if (const auto* n = std::get_if<NodeRegistered>(&a)) {
    const auto& m = std::get<NodeRegistered>(b);
    EXPECT_EQ(std::tie(n->node, n->instance, n->address, n->cpus, n->memory_bytes),
              std::tie(m.node, m.instance, m.address, m.cpus, m.memory_bytes));
    EXPECT_EQ(shown(n->devices), shown(m.devices));
  } else {
    std::visit(
        [&](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (!std::is_same_v<T, Submitted> && !std::is_same_v<T, NodeRegistered>) {
            EXPECT_TRUE(x == std::get<T>(b));
          }
        },
        a);
  }
}

Event round_trip(const Event& e) {
  auto back = decode(kind_of(e), encode(e));
  EXPECT_TRUE(back) << back.error().message;
  return back ? *back : Event{};
}

// Generators: UTF-8 strings (as every string the controller journals is), NULs, multi-byte
// characters and the string table's repeats among them.
rc::Gen<std::string> text() {
  const auto pieces = rc::gen::container<std::vector<std::string>>(
      rc::gen::element<std::string>("a", "Z", "0", " ", "\n", std::string(1, '\0'), "é", "한", "𝄞", "gpu:H100"));
  return rc::gen::oneOf(rc::gen::element<std::string>("", "nobody", "COMPLETED"),
                        rc::gen::map(pieces, [](const std::vector<std::string>& p) {
                          std::string out;
                          for (const std::string& x : p) out += x;
                          return out;
                        }));
}
rc::Gen<std::vector<std::string>> texts() { return rc::gen::container<std::vector<std::string>>(text()); }
rc::Gen<std::vector<std::pair<std::string, std::string>>> env() {
  return rc::gen::container<std::vector<std::pair<std::string, std::string>>>(rc::gen::pair(text(), text()));
}

rc::Gen<JobState> state() {
  return rc::gen::elementOf(std::vector<JobState>(std::begin(kJobStates), std::end(kJobStates)));
}

api::SubmitRequest any_request() {
  api::SubmitRequest r;
  r.name = *text();
  r.command = *texts();
  r.workdir = *text();
  r.env = *env();
  r.cpus = *rc::gen::arbitrary<int>();
  r.mem_bytes = *rc::gen::arbitrary<std::int64_t>();
  r.gpus.count = *rc::gen::arbitrary<int>();
  r.gpus.models = *texts();
  r.gpu_share = *rc::gen::element(0.0, 0.25, 0.5, 0.999);
  r.nodes = *rc::gen::arbitrary<int>();
  r.time_s = *rc::gen::arbitrary<std::int64_t>();
  r.requeue = *rc::gen::arbitrary<bool>();
  r.project = *text();
  r.preemptible = *rc::gen::arbitrary<bool>();
  r.begin = *rc::gen::arbitrary<std::int64_t>();
  r.dependency = *text();
  r.array = *text();
  r.script = *text();
  r.output = *text();
  r.error = *text();
  r.input = *text();
  r.open_append = *rc::gen::arbitrary<bool>();
  r.comment = *text();
  r.partition = *text();
  r.hold = *rc::gen::arbitrary<bool>();
  r.qos = *text();
  r.mail_type = *text();
  r.mail_user = *text();
  r.nodelist = *texts();
  r.exclude = *texts();
  r.signal = *text();
  r.kill_on_invalid_dep = *rc::gen::arbitrary<bool>();
  r.constraint = *text();
  r.prefer = *text();
  r.tmp_bytes = *rc::gen::arbitrary<std::int64_t>();
  r.nice = *rc::gen::arbitrary<std::int64_t>();
  r.priority = *rc::gen::arbitrary<std::int64_t>();
  r.sockets_per_node = *rc::gen::inRange(0, 65536);
  r.cores_per_socket = *rc::gen::inRange(0, 65536);
  r.threads_per_core = *rc::gen::inRange(0, 65536);
  r.exclusive = *rc::gen::arbitrary<bool>();
  r.core_spec = *rc::gen::inRange(0, 65536);
  r.thread_spec = *rc::gen::inRange(0, 65536);
  r.deadline = *rc::gen::arbitrary<std::int64_t>();
  r.gpu_binding_disabled = *rc::gen::arbitrary<bool>();
  r.batch_features = *text();
  r.time_min_s = *rc::gen::arbitrary<std::int64_t>();
  r.group = *text();
  r.contiguous = *rc::gen::arbitrary<bool>();
  r.cores_per_node = *rc::gen::inRange(0, 65536);
  r.cpu_threads_per_core = *rc::gen::inRange(0, 65536);
  r.licenses = *text();
  r.no_kill = *rc::gen::arbitrary<bool>();
  r.allocation = *rc::gen::element(api::Allocation::None, api::Allocation::Attended, api::Allocation::Unattended);
  r.session.app = *rc::gen::element(api::SessionApp::None, api::SessionApp::Jupyter, api::SessionApp::Terminal,
                                    api::SessionApp::Custom);
  r.session.port = *rc::gen::inRange(0, 65536);
  r.session.idle_timeout_s = *rc::gen::arbitrary<std::int64_t>();
  r.session.secret = *text();
  return r;
}

TaskRecord any_task() {
  TaskRecord t;
  t.node = *text();
  t.devices = *texts();
  const int shares = *rc::gen::inRange(0, 9);
  for (int i = 0; i < shares; ++i) {
    t.shares.push_back({*rc::gen::arbitrary<std::uint16_t>(), *rc::gen::inRange<core::Milli>(1, 1001)});
  }
  return t;
}

Event any_event() {
  auto id = [] { return *rc::gen::arbitrary<std::int64_t>(); };
  auto small = [] { return *rc::gen::arbitrary<int>(); };
  switch (*rc::gen::inRange<std::size_t>(0, std::variant_size_v<Event>)) {
    case 0:
      return Submitted{
          id(),          *text(),
          *text(),       *rc::gen::arbitrary<bool>(),
          any_request(), *rc::gen::container<std::vector<std::int64_t>>(rc::gen::arbitrary<std::int64_t>())};
    case 1: {
      Started s{id(), small(), *text(), {}, *rc::gen::arbitrary<std::int64_t>()};
      const int n = *rc::gen::inRange(0, 6);
      for (int i = 0; i < n; ++i) s.tasks.push_back(any_task());
      return s;
    }
    case 2:
      return RankEnded{id(), small(), small(), *state(), small(), *text()};
    case 3: {
      StepStarted s{id(),
                    small(),
                    small(),
                    *text(),
                    *texts(),
                    *text(),
                    *env(),
                    small(),
                    *rc::gen::arbitrary<bool>(),
                    *rc::gen::container<std::vector<int>>(rc::gen::arbitrary<int>())};
      s.no_kill = *rc::gen::arbitrary<bool>();
      s.pty_rows = *rc::gen::inRange(0, 10001);
      s.pty_cols = *rc::gen::inRange(0, 10001);
      return s;
    }
    case 4:
      return StepTaskEnded{id(), small(), small(), small(), *state(), small(), small()};
    case 5:
      return StepStopping{id(), small(), small(), *text(), *rc::gen::arbitrary<bool>()};
    case 6:
      return Requeued{id(), small(), *text()};
    case 7:
      return Ended{id(), *state(), small(), *text()};
    case 8:
      return Held{*rc::gen::container<std::vector<std::int64_t>>(rc::gen::arbitrary<std::int64_t>()),
                  *rc::gen::element(Hold::None, Hold::User, Hold::Admin), *text()};
    case 9: {
      NodeRegistered n{*text(), *text(), *text(), small(), *rc::gen::arbitrary<std::int64_t>(), {}};
      const int devices = *rc::gen::inRange(0, 9);
      for (int i = 0; i < devices; ++i) {
        n.devices.push_back(
            {*text(), *text(), *text(), small(), *rc::gen::arbitrary<std::int64_t>(), *rc::gen::arbitrary<bool>()});
      }
      return n;
    }
    case 10:
      return NodeState{*text(), *text()};
    case 12:
      return NodeLeft{id(), small(), *text()};
    default:
      return Signalled{
          id(),
          {*rc::gen::arbitrary<std::int64_t>(), small(), small(),
           *rc::gen::element(SignalTarget::Steps, SignalTarget::Batch, SignalTarget::Shell, SignalTarget::All), small(),
           *rc::gen::arbitrary<bool>()}};
  }
}

// Every kind of event reads back as it was written.
RC_GTEST_PROP(EventsProperty, EveryEventReadsBackAsWritten, ()) {
  const Event e = any_event();
  const std::string payload = encode(e);
  RC_ASSERT(payload.starts_with("\x01"));
  auto back = decode(kind_of(e), payload);
  if (!back) RC_FAIL(back.error().message);
  expect_same(e, *back);
  RC_ASSERT(!::testing::Test::HasFailure());
}

// A payload cut short or with a byte changed is an error or another event of the same kind, and
// never a crash; one with bytes after its fields is an error.
RC_GTEST_PROP(EventsProperty, ADamagedPayloadIsAnErrorOrAnEvent, ()) {
  const Event e = any_event();
  const std::string payload = encode(e);
  const std::string kind(kind_of(e));
  const std::size_t cut = *rc::gen::inRange<std::size_t>(0, payload.size());
  auto shorter = decode(kind, payload.substr(0, cut));
  if (shorter) RC_ASSERT(shorter->index() == e.index());
  std::string changed = payload;
  changed[*rc::gen::inRange<std::size_t>(0, payload.size())] = *rc::gen::arbitrary<char>();
  auto other = decode(kind, changed);
  if (other) RC_ASSERT(other->index() == e.index());
  RC_ASSERT(!decode(kind, payload + "x").has_value());
}

TEST(Events, KindsAreTheJournalsNames) {
  EXPECT_EQ(kind_of(Submitted{}), "job.submitted");
  Submitted array;
  array.array_tasks = {0, 1};
  EXPECT_EQ(kind_of(array), "job.array_submitted");
  EXPECT_EQ(kind_of(Started{}), "job.started");
  EXPECT_EQ(kind_of(RankEnded{}), "job.rank_ended");
  EXPECT_EQ(kind_of(StepStarted{}), "job.step");
  EXPECT_EQ(kind_of(StepTaskEnded{}), "job.step_task");
  EXPECT_EQ(kind_of(StepStopping{}), "job.step_stop");
  EXPECT_EQ(kind_of(Requeued{}), "job.requeued");
  EXPECT_EQ(kind_of(Ended{}), "job.ended");
  EXPECT_EQ(kind_of(Held{}), "job.hold");
  EXPECT_EQ(kind_of(NodeRegistered{}), "node.registered");
  EXPECT_EQ(kind_of(NodeState{}), "node.state");
  EXPECT_EQ(kind_of(Signalled{}), "job.signal");
  EXPECT_EQ(kind_of(NodeLeft{}), "job.node_left");
  EXPECT_TRUE(decode("job.array_submitted", encode(array)));
  EXPECT_FALSE(decode("usage.charged", "{}"));
  auto unknown = decode("job.teleported", "{}");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message, "not a record of a job or a node: job.teleported");
}

// Records of the first form, byte for byte as the controller wrote them before its records were
// binary, read into the events they were.
TEST(Events, TheFirstFormOfEveryRecordStillReads) {
  auto read = [](std::string_view kind, std::string_view json) {
    auto e = decode(kind, json);
    EXPECT_TRUE(e) << kind << ": " << e.error().message;
    return e ? *e : Event{};
  };
  {
    const auto e = std::get<Submitted>(read(
        "job.submitted",
        R"({"id":12,"project":"ml","request":{"command":["python3","train.py"],"cpus":4,"gpus":"2:H100",)"
        R"("mem":"16G","name":"train","nodes":1,"partition":"main","time":"2h","workdir":"/home/ana"},"user":"ana"})"));
    EXPECT_EQ(e.id, 12);
    EXPECT_EQ(e.user, "ana");
    EXPECT_EQ(e.project, "ml");
    EXPECT_FALSE(e.preemptible);
    EXPECT_EQ(e.request.command, (std::vector<std::string>{"python3", "train.py"}));
    EXPECT_EQ(e.request.gpus.count, 2);
    EXPECT_EQ(e.request.mem_bytes, 16LL << 30);
    EXPECT_EQ(e.request.time_s, 7200);
    EXPECT_TRUE(e.array_tasks.empty());
  }
  {
    const auto e = std::get<Submitted>(read(
        "job.array_submitted",
        R"({"id":20,"preemptible":true,"request":{"array":"0-4:2","command":["true"]},"tasks":[0,2,4],"user":"bo"})"));
    EXPECT_EQ(e.array_tasks, (std::vector<std::int64_t>{0, 2, 4}));
    EXPECT_TRUE(e.preemptible);
    EXPECT_EQ(e.request.array, "0-4:2");
  }
  EXPECT_TRUE(std::get<Started>(read("job.started",
                                     R"({"attempt":1,"credential":"c0ffee","id":12,"tasks":[{"devices":["GPU-1"],)"
                                     R"("node":"n1","shares":[[3,1000]]},{"devices":[],"node":"n2","shares":[]}]})")) ==
              (Started{12, 1, "c0ffee", {{"n1", {"GPU-1"}, {{3, 1000}}, false}, {"n2", {}, {}, false}}}));
  // Before credentials, a start had none.
  EXPECT_TRUE(std::get<Started>(read("job.started", R"({"id":3,"tasks":[]})")) == (Started{3, 0, "", {}}));
  EXPECT_TRUE(std::get<RankEnded>(read("job.rank_ended", R"({"attempt":0,"exit_code":3,"id":12,"rank":1,)"
                                                         R"("reason":"rank 1 on n2: exited","state":"FAILED"})")) ==
              (RankEnded{12, 0, 1, JobState::Failed, 3, "rank 1 on n2: exited"}));
  EXPECT_TRUE(
      std::get<StepStarted>(read("job.step", R"({"argv":["hostname"],"attempt":0,"cpus_per_task":0,"env":[["A","1"]],)"
                                             R"("id":12,"kill_on_bad_exit":true,"name":"hostname","step":0,)"
                                             R"("tasks":[0,0,1],"workdir":""})")) ==
      (StepStarted{12, 0, 0, "hostname", {"hostname"}, "", {{"A", "1"}}, 0, true, {0, 0, 1}}));
  EXPECT_TRUE(std::get<StepTaskEnded>(read("job.step_task", R"({"attempt":0,"exit_code":0,"id":12,"signal":15,)"
                                                            R"("state":"CANCELLED","step":0,"task":2})")) ==
              (StepTaskEnded{12, 0, 0, 2, JobState::Cancelled, 0, 15}));
  EXPECT_TRUE(std::get<StepStopping>(
                  read("job.step_stop", R"({"attempt":0,"cancel":true,"id":12,"step":0,"why":"cancelled by ana"})")) ==
              (StepStopping{12, 0, 0, "cancelled by ana", true}));
  EXPECT_TRUE(
      std::get<Requeued>(read("job.requeued", R"({"attempt":1,"id":12,"reason":"requeued after NODE_FAIL"})")) ==
      (Requeued{12, 1, "requeued after NODE_FAIL"}));
  EXPECT_TRUE(std::get<Ended>(read("job.ended", R"({"exit_code":0,"id":12,"reason":"exited","state":"COMPLETED"})")) ==
              (Ended{12, JobState::Completed, 0, "exited"}));
  EXPECT_TRUE(std::get<Held>(read("job.hold", R"({"by":"root","hold":"admin","ids":[20,21]})")) ==
              (Held{{20, 21}, Hold::Admin, "root"}));
  {
    const auto e = std::get<NodeRegistered>(
        read("node.registered", R"({"address":"10.0.0.2","cpus":64,"devices":[{"declared":false,"index":0,)"
                                R"("kind":"gpu:H100","memory":85899345920,"name":"NVIDIA H100","uuid":"GPU-1"}],)"
                                R"("instance":"4242-1","memory":549755813888,"node":"n1"})"));
    EXPECT_EQ(std::tie(e.node, e.instance, e.address, e.cpus, e.memory_bytes),
              std::make_tuple(std::string("n1"), std::string("4242-1"), std::string("10.0.0.2"), 64, 549755813888LL));
    ASSERT_EQ(e.devices.size(), 1u);
    EXPECT_EQ(e.devices[0].uuid, "GPU-1");
    EXPECT_EQ(e.devices[0].memory_bytes, 85899345920LL);
  }
  EXPECT_TRUE(std::get<NodeState>(read("node.state", R"({"node":"n1","state":"drained"})")) ==
              (NodeState{"n1", "drained"}));
}

// A record of the first form that lacks a field, or holds a bad request, says which.
TEST(Events, ADamagedRecordOfTheFirstFormSaysWhat) {
  auto missing = decode("job.ended", R"({"id":3,"state":"COMPLETED","exit_code":0})");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("reason"), std::string::npos) << missing.error().message;
  auto request = decode("job.submitted", R"({"id":3,"user":"ana","request":{"command":["x"],"cpus":"many"}})");
  ASSERT_FALSE(request);
  EXPECT_NE(request.error().message.find("cpus"), std::string::npos) << request.error().message;
  auto state = decode("job.ended", R"({"id":3,"state":"DONE","exit_code":0,"reason":""})");
  ASSERT_FALSE(state);
  EXPECT_EQ(state.error().message, "state: unknown state 'DONE'");
  auto no_tasks = decode("job.array_submitted", R"({"id":3,"user":"ana","request":{"command":["x"]}})");
  ASSERT_FALSE(no_tasks);
}

// A string that is not UTF-8 (a message with a file name of other bytes) is stored with U+FFFD for
// each byte that does not belong, and reads back: the journal stays readable.
TEST(Events, AStringThatIsNotUtf8IsStoredReadable) {
  const Ended e{7, JobState::Failed, 127, "opening /tmp/r\xE9sum\xE9.out failed: \xFF"};
  auto back = decode(kind_of(e), encode(e));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(std::get<Ended>(*back).reason, "opening /tmp/r\uFFFDsum\uFFFD.out failed: \uFFFD");
  const Ended fine{7, JobState::Failed, 127, "résumé 한"};
  EXPECT_TRUE(std::get<Ended>(*decode(kind_of(fine), encode(fine))) == fine);
}

// The binary form is a fraction of the first form's size for a typical start.
TEST(Events, AStartIsSmallerThanItsFirstForm) {
  Started s{123456, 0, "0123456789abcdef0123456789abcdef", {}};
  for (int n = 0; n < 4; ++n)
    s.tasks.push_back({"gpu-node-0" + std::to_string(n), {"GPU-aaaa", "GPU-bbbb"}, {{0, 1000}, {1, 1000}}, false});
  const std::string binary = encode(s);
  const std::string first =
      R"({"credential":"0123456789abcdef0123456789abcdef","id":123456,"attempt":0,"tasks":[)"
      R"({"devices":["GPU-aaaa","GPU-bbbb"],"node":"gpu-node-00","shares":[[0,1000],[1,1000]]},)"
      R"({"devices":["GPU-aaaa","GPU-bbbb"],"node":"gpu-node-01","shares":[[0,1000],[1,1000]]},)"
      R"({"devices":["GPU-aaaa","GPU-bbbb"],"node":"gpu-node-02","shares":[[0,1000],[1,1000]]},)"
      R"({"devices":["GPU-aaaa","GPU-bbbb"],"node":"gpu-node-03","shares":[[0,1000],[1,1000]]}]})";
  expect_same(round_trip(s), s);
  EXPECT_TRUE(std::get<Started>(*decode("job.started", first)) == s);
  EXPECT_LT(binary.size() * 2, first.size()) << binary.size() << " vs " << first.size();
}

}  // namespace
}  // namespace gwang::controller::events
