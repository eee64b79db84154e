// An agent as the controller's tests see it, driven through the agent protocol's calls in process:
// what it runs, what it reports, and every order it got.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "controller/controller.h"

namespace gwang::controller {
namespace {

namespace proto = agent::protocol;

[[maybe_unused]] std::string env_of(const agent::Launch& l, const std::string& key) {
  for (const auto& [k, v] : l.env) {
    if (k == key) return v;
  }
  return "<unset>";
}

// An agent as the controller sees it: what it runs and what it reports.
struct FakeAgent {
  std::string name, instance = "i1", address;
  agent::HostResources host;
  std::map<std::string, agent::Launch> running;
  std::vector<agent::Finished> finished;
  std::vector<proto::LogChunk> logs;
  std::vector<agent::Launch> launched;       // every launch order it got
  std::vector<proto::Terminate> terminated;  // every end order it got
  bool takes_terminals = true;               // false: an agent of the version before terminals

  Result<proto::SyncResponse> call(Controller& c, std::int64_t now,
                                   agent::Clock::time_point mono = agent::Clock::now()) {
    proto::SyncRequest r;
    r.node = name;
    r.instance = instance;
    r.address = address;
    r.host = host;
    for (const auto& [t, l] : running) r.running.push_back(t);
    r.finished = finished;
    r.logs = logs;
    r.takes_terminals = takes_terminals;
    auto answer = c.sync(r, "10.0.0.99", mono, now);
    if (!answer) return answer;
    for (const std::string& t : answer->acked) {
      std::erase_if(finished, [&](const agent::Finished& f) { return f.task == t; });
    }
    logs.clear();
    for (const agent::Launch& l : answer->launch) {
      launched.push_back(l);
      running.emplace(l.task, l);
    }
    for (const proto::Terminate& t : answer->terminate) {
      terminated.push_back(t);
      if (running.erase(t.task)) finished.push_back({t.task, {t.why, 0, 0}, t.message, false});
    }
    return answer;
  }
  void exit(const std::string& task, int code) {
    ASSERT_TRUE(running.erase(task)) << name << " does not run " << task;
    finished.push_back({task, {agent::TaskEnd::Exited, code, 0}, "", false});
  }
};

// `count` agents n1, n2, ... at 10.0.0.1, ... of 4 CPUs and 8 GiB each.
inline std::vector<FakeAgent> fake_agents(int count) {
  std::vector<FakeAgent> out;
  for (int i = 1; i <= count; ++i) {
    FakeAgent a;
    a.name = "n" + std::to_string(i);
    a.address = "10.0.0." + std::to_string(i);
    a.host.cpus = 4;
    a.host.memory_bytes = 8LL << 30;
    out.push_back(a);
  }
  return out;
}

// The account jobs run as in these tests (nobody, its home /tmp).
inline Result<Account> test_account() {
  auto nobody = lookup_account("nobody");
  if (nobody) nobody->home = "/tmp";
  return nobody;
}

}  // namespace
}  // namespace gwang::controller
