// The agent protocol: how a node's agent and the controller talk.
//
// The agent calls the controller (POST /api/v1/agent/sync); the controller never calls the agent,
// so agents need no open port. Each call reports the node (resources, running tasks, tasks that
// ended, new output) and returns the controller's orders (tasks to start, tasks to end, reports it
// has recorded). Orders are level-triggered: the controller repeats a launch until the agent lists
// the task and an end until the agent stops listing it, so a lost answer loses nothing. The call
// doubles as the heartbeat; it is long-polled (the controller answers at once when it has orders,
// else after `wait_ms`).
//
// Bodies have two forms: JSON, the first, and binary (api/codec.h's varints and string table),
// which costs the controller a fraction of JSON's decoding on each heartbeat. A body is binary when
// it starts with its form's magic; an answer comes in the form of its request. Agents send the
// binary form; a controller reads both, so controllers are upgraded before their agents.
//
// Both directions are signed with the cluster secret: HMAC-SHA256 over the method, path, date,
// node and body of a request, and over the request's signature and the body of the answer, so an
// answer cannot be replayed to another request. Requests more than five minutes from the
// controller's clock are refused.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "agent/devices.h"
#include "agent/node.h"
#include "core/result.h"

namespace gwang::agent::protocol {

inline constexpr const char* kSyncPath = "/api/v1/agent/sync";
inline constexpr std::int64_t kMaxClockSkew = 300;  // seconds

// New bytes of a task's output, from `offset` on.
struct LogChunk {
  std::string task;
  bool stderr_stream = false;
  std::int64_t offset = 0;
  std::string data;
};

struct SyncRequest {
  std::string node;
  std::string instance;  // changes when the agent restarts
  std::string address;   // where the node's tasks can reach each other (MASTER_ADDR); empty: the caller's
  HostResources host;
  std::string tracking;
  std::vector<std::string> running;
  std::vector<Finished> finished;
  std::vector<LogChunk> logs;
  int wait_ms = 0;
  // The serial of the last signal each running task was sent (Signal), for the tasks sent any;
  // `takes_signals`: this agent takes signal orders (it says so by sending the map, even empty).
  std::map<std::string, int> signalled;
  bool takes_signals = false;
  // This agent runs a task on a terminal when its launch has one (and reads the answers that carry
  // them); an agent of an earlier version does not, and is given no step with a terminal.
  bool takes_terminals = false;
  // This agent serves a session's service (Launch::service_port) through a link to the controller
  // (agent/service_link.h); one of an earlier version starts no session.
  bool takes_services = false;
};

// A signal to send to a task once (scancel --signal, sbatch --signal): its serial says which of
// the job's signals it is (an agent sends each serial once, in order, and reports the last).
struct Signal {
  std::string task;
  int serial = 0;
  int number = 0;
  bool main_only = false;  // to the task's main process alone (a batch shell), not all its processes
  bool operator==(const Signal&) const = default;
};

struct Terminate {
  std::string task;
  TaskEnd why = TaskEnd::Cancelled;
  std::string message;
};

struct SyncResponse {
  std::vector<Launch> launch;
  std::vector<Terminate> terminate;
  std::vector<std::string> acked;                   // ended tasks the controller has recorded
  std::map<std::string, std::int64_t> log_offsets;  // "TASK.stdout"/"TASK.stderr": bytes the controller has
  std::int64_t node_timeout_ms = 0;                 // silent longer than this, the node is DOWN
  std::vector<Signal> signal;                       // only to an agent that takes_signals
};

enum class Form { Json, Binary };
// The form a body is in.
Form form_of(std::string_view body);
inline const char* content_type(Form form) {
  return form == Form::Binary ? "application/vnd.gwang.sync" : "application/json";
}

std::string encode(const SyncRequest& r, Form form = Form::Json);
std::string encode(const SyncResponse& r, Form form = Form::Json);
// Either form. Errors name the field that is wrong (JSON) or the byte (binary).
Result<SyncRequest> decode_request(const std::string& body);
Result<SyncResponse> decode_response(const std::string& body);

// Hex HMAC-SHA256 of a request.
std::string sign_request(const std::string& secret, const std::string& method, const std::string& path,
                         const std::string& date, const std::string& node, const std::string& body);
// Hex HMAC-SHA256 of an answer to the request that had `request_signature`.
std::string sign_response(const std::string& secret, const std::string& request_signature, const std::string& body);
// Constant-time comparison of two signatures.
bool same_signature(const std::string& a, const std::string& b);

// The secret in a file (its first line, at least 16 bytes, the file not readable by others).
Result<std::string> read_secret(const std::string& path);

}  // namespace gwang::agent::protocol
