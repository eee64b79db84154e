// The first form of the journal's records of jobs and nodes, JSON, read into the events' types:
// a journal written before the records were binary still recovers.

#include <nlohmann/json.hpp>

#include "controller/events.h"

namespace gwang::controller::events {

using nlohmann::json;

namespace {

JobState state_of(const json& p) {
  const std::string name = p.at("state").get<std::string>();
  const auto state = parse_job_state(name);
  if (!state) throw std::invalid_argument("state: unknown state '" + name + "'");
  return *state;
}

void read(const json& p, Submitted& v) {
  v.id = p.at("id").get<std::int64_t>();
  v.user = p.at("user").get<std::string>();
  v.project = p.value("project", "");
  v.preemptible = p.value("preemptible", false);
  auto request = api::parse_submit(p.at("request"));
  if (!request) throw std::invalid_argument("request: " + request.error().message);
  v.request = std::move(*request);
  if (p.contains("tasks")) v.array_tasks = p.at("tasks").get<std::vector<std::int64_t>>();
}

void read(const json& p, Started& v) {
  v.id = p.at("id").get<std::int64_t>();
  v.attempt = p.value("attempt", 0);
  v.credential = p.value("credential", "");
  for (const json& t : p.at("tasks")) {
    TaskRecord task;
    task.node = t.at("node").get<std::string>();
    task.devices = t.at("devices").get<std::vector<std::string>>();
    for (const json& s : t.at("shares"))
      task.shares.push_back({s.at(0).get<std::uint16_t>(), s.at(1).get<core::Milli>()});
    v.tasks.push_back(std::move(task));
  }
}

void read(const json& p, RankEnded& v) {
  v.id = p.at("id").get<std::int64_t>();
  v.attempt = p.at("attempt").get<int>();
  v.rank = p.at("rank").get<int>();
  v.state = state_of(p);
  v.exit_code = p.at("exit_code").get<int>();
  v.reason = p.at("reason").get<std::string>();
}

void read(const json& p, StepStarted& v) {
  v.id = p.at("id").get<std::int64_t>();
  v.attempt = p.at("attempt").get<int>();
  v.step = p.at("step").get<int>();
  v.name = p.at("name").get<std::string>();
  v.argv = p.at("argv").get<std::vector<std::string>>();
  v.workdir = p.at("workdir").get<std::string>();
  for (const json& kv : p.at("env")) v.env.emplace_back(kv.at(0).get<std::string>(), kv.at(1).get<std::string>());
  v.cpus_per_task = p.at("cpus_per_task").get<int>();
  v.kill_on_bad_exit = p.at("kill_on_bad_exit").get<bool>();
  v.task_nodes = p.at("tasks").get<std::vector<int>>();
}

void read(const json& p, StepTaskEnded& v) {
  v.id = p.at("id").get<std::int64_t>();
  v.attempt = p.at("attempt").get<int>();
  v.step = p.at("step").get<int>();
  v.task = p.at("task").get<int>();
  v.state = state_of(p);
  v.exit_code = p.at("exit_code").get<int>();
  v.signal = p.at("signal").get<int>();
}

void read(const json& p, StepStopping& v) {
  v.id = p.at("id").get<std::int64_t>();
  v.attempt = p.at("attempt").get<int>();
  v.step = p.at("step").get<int>();
  v.why = p.at("why").get<std::string>();
  v.cancel = p.at("cancel").get<bool>();
}

// Signals came after the records' JSON form: none is in it.
void read(const json&, Signalled&) { throw std::invalid_argument("a signal's record has no JSON form"); }
void read(const json&, NodeLeft&) { throw std::invalid_argument("a node's leaving has no JSON form"); }

void read(const json& p, Requeued& v) {
  v.id = p.at("id").get<std::int64_t>();
  v.attempt = p.at("attempt").get<int>();
  v.reason = p.at("reason").get<std::string>();
}

void read(const json& p, Ended& v) {
  v.id = p.at("id").get<std::int64_t>();
  v.state = state_of(p);
  v.exit_code = p.at("exit_code").get<int>();
  v.reason = p.at("reason").get<std::string>();
}

void read(const json& p, Held& v) {
  v.ids = p.at("ids").get<std::vector<std::int64_t>>();
  const std::string hold = p.at("hold").get<std::string>();
  const auto h = parse_hold(hold);
  if (!h) throw std::invalid_argument("hold: unknown hold '" + hold + "'");
  v.hold = *h;
  v.by = p.value("by", "");
}

void read(const json& p, NodeRegistered& v) {
  v.node = p.at("node").get<std::string>();
  v.instance = p.value("instance", "");
  v.address = p.value("address", "");
  v.cpus = p.at("cpus").get<int>();
  v.memory_bytes = p.at("memory").get<std::int64_t>();
  v.devices = devices_from(p.at("devices"));
}

void read(const json& p, NodeState& v) {
  v.node = p.at("node").get<std::string>();
  v.state = p.at("state").get<std::string>();
}

}  // namespace

std::vector<agent::Device> devices_from(const json& a) {
  std::vector<agent::Device> out;
  for (const json& d : a) {
    out.push_back({d.at("kind").get<std::string>(), d.value("name", ""), d.at("uuid").get<std::string>(),
                   d.at("index").get<int>(), d.value("memory", std::int64_t{0}), d.value("declared", false)});
  }
  return out;
}

Result<Event> decode_json(std::string_view kind, std::string_view payload, Event event) {
  try {
    const json p = json::parse(payload);
    std::visit([&](auto& v) { read(p, v); }, event);
  } catch (const json::exception& e) {
    return fail(e.what());
  } catch (const std::invalid_argument& e) {
    return fail(e.what());
  }
  if (kind == "job.array_submitted" && std::get<Submitted>(event).array_tasks.empty()) {
    return fail("a job array's submission without its tasks");
  }
  return event;
}

}  // namespace gwang::controller::events
