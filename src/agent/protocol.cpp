#include "agent/protocol.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <sys/stat.h>

#include <fstream>
#include <initializer_list>
#include <limits>
#include <nlohmann/json.hpp>

#include "agent/protocol_binary.h"
#include "api/base64.h"

namespace gwang::agent::protocol {

using nlohmann::json;

namespace {

const char* end_name(TaskEnd e) {
  switch (e) {
    case TaskEnd::Exited:
      return "exited";
    case TaskEnd::Signaled:
      return "signaled";
    case TaskEnd::TimedOut:
      return "timed-out";
    case TaskEnd::Cancelled:
      return "cancelled";
    case TaskEnd::OutOfMemory:
      return "out-of-memory";
  }
  return "exited";
}

bool end_from(const std::string& s, TaskEnd& out) {
  for (TaskEnd e : {TaskEnd::Exited, TaskEnd::Signaled, TaskEnd::TimedOut, TaskEnd::Cancelled, TaskEnd::OutOfMemory}) {
    if (s == end_name(e)) {
      out = e;
      return true;
    }
  }
  return false;
}

json env_json(const std::vector<std::pair<std::string, std::string>>& env) {
  json out = json::array();
  for (const auto& [k, v] : env) out.push_back({k, v});
  return out;
}

// Hex HMAC-SHA256 of the pieces one after another, as of their concatenation. Each thread keeps a
// context keyed with the secret it used last: made again per call, fetching the algorithms cost
// more than the MAC of a heartbeat.
std::string hmac_hex(const std::string& secret, std::initializer_list<std::string_view> pieces) {
  struct Keyed {
    std::string secret;
    EVP_MAC_CTX* ctx = nullptr;
    ~Keyed() { EVP_MAC_CTX_free(ctx); }
  };
  thread_local Keyed keyed;
  static EVP_MAC* const hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  const unsigned char* key = nullptr;  // null: the context's key again
  if (!keyed.ctx || keyed.secret != secret) {
    EVP_MAC_CTX_free(keyed.ctx);
    keyed.ctx = EVP_MAC_CTX_new(hmac);
    keyed.secret = secret;
    key = reinterpret_cast<const unsigned char*>(secret.data());
  }
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0), OSSL_PARAM_construct_end()};
  unsigned char mac[EVP_MAX_MD_SIZE];
  std::size_t len = 0;
  bool ok = keyed.ctx && EVP_MAC_init(keyed.ctx, key, key ? secret.size() : 0, key ? params : nullptr) == 1;
  for (std::string_view p : pieces) {
    ok = ok && EVP_MAC_update(keyed.ctx, reinterpret_cast<const unsigned char*>(p.data()), p.size()) == 1;
  }
  ok = ok && EVP_MAC_final(keyed.ctx, mac, &len, sizeof mac) == 1;
  if (!ok) {  // OpenSSL without HMAC or SHA-256: nothing signed can be checked
    EVP_MAC_CTX_free(keyed.ctx);
    keyed.ctx = nullptr;
    return "";
  }
  static const char* hex = "0123456789abcdef";
  std::string out(2 * len, '0');
  for (std::size_t i = 0; i < len; ++i) {
    out[2 * i] = hex[mac[i] >> 4];
    out[2 * i + 1] = hex[mac[i] & 15];
  }
  return out;
}

// An integer of type T, refused (as json::exception, like nlohmann's own type errors) when the value
// is not an integer or does not fit: nlohmann's get<int>() on a number like 1e300 is undefined
// behaviour (found by fuzz_protocol).
class NotAnInteger : public json::exception {
 public:
  NotAnInteger() : json::exception(302, "expected an integer in range") {}
};
template <typename T>
T integer(const json& v) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<T>::max())) throw NotAnInteger();
    return static_cast<T>(u);
  }
  if (!v.is_number_integer()) throw NotAnInteger();
  const auto i = v.get<std::int64_t>();
  if (i < std::numeric_limits<T>::min() || i > std::numeric_limits<T>::max()) throw NotAnInteger();
  return static_cast<T>(i);
}
template <typename T>
T integer_or(const json& o, const char* key, T fallback) {
  auto it = o.find(key);
  return it == o.end() ? fallback : integer<T>(*it);
}

// Reads a field of the expected type; the error names it.
template <typename T>
Result<T> field(const json& o, const char* name, const std::string& where) {
  auto it = o.find(name);
  if (it == o.end()) return fail(where + "field '" + name + "' is missing");
  try {
    return it->template get<T>();
  } catch (const json::exception&) {
    return fail(where + "field '" + name + "' has the wrong type");
  }
}

Result<void> check_node(const std::string& node) {
  if (node.empty() || node.size() > 64 ||
      node.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != std::string::npos)
    return fail("field 'node': expected 1 to 64 letters, digits, '.', '_' or '-'");
  return {};
}

std::string json_request(const SyncRequest& r) {
  json devices = json::array();
  for (const Device& d : r.host.devices) {
    devices.push_back({{"kind", d.kind},
                       {"name", d.name},
                       {"uuid", d.uuid},
                       {"index", d.index},
                       {"memory", d.memory_bytes},
                       {"declared", d.declared},
                       {"near_cpus", d.near_cpus}});
  }
  json finished = json::array();
  for (const Finished& f : r.finished) {
    finished.push_back({{"task", f.task},
                        {"end", end_name(f.status.end)},
                        {"exit_code", f.status.exit_code},
                        {"signal", f.status.signal},
                        {"message", f.message},
                        {"fenced", f.fenced}});
  }
  json logs = json::array();
  for (const LogChunk& c : r.logs) {
    logs.push_back({{"task", c.task},
                    {"stream", c.stderr_stream ? "stderr" : "stdout"},
                    {"offset", c.offset},
                    {"data", api::base64(c.data)}});
  }
  return json{{"node", r.node},
              {"instance", r.instance},
              {"address", r.address},
              {"cpus", r.host.cpus},
              {"memory", r.host.memory_bytes},
              {"devices", devices},
              {"tracking", r.tracking},
              {"running", r.running},
              {"finished", finished},
              {"logs", logs},
              {"wait_ms", r.wait_ms},
              {"cpu_ids", r.host.cpu_ids},
              {"cpu_cores", r.host.cpu_cores},
              {"signalled", r.signalled},
              {"features", r.host.features},
              {"tmp", r.host.tmp_bytes},
              {"terminals", r.takes_terminals},
              {"services", r.takes_services}}
      .dump();
}

Result<SyncRequest> json_to_request(const std::string& body) {
  json o;
  try {
    o = json::parse(body);
  } catch (const json::exception& e) {
    return fail(std::string("malformed JSON: ") + e.what());
  }
  if (!o.is_object()) return fail("expected a JSON object");
  SyncRequest r;
  auto node = field<std::string>(o, "node", "");
  if (!node) return tl::unexpected(node.error());
  r.node = *node;
  if (auto ok = check_node(r.node); !ok) return tl::unexpected(ok.error());
  try {
    r.instance = o.at("instance").get<std::string>();
    r.address = o.value("address", "");
    r.host.cpus = integer<int>(o.at("cpus"));
    r.host.memory_bytes = integer<std::int64_t>(o.at("memory"));
    for (const json& d : o.at("devices")) {
      r.host.devices.push_back({d.at("kind").get<std::string>(), d.value("name", ""), d.at("uuid").get<std::string>(),
                                integer<int>(d.at("index")), integer_or<std::int64_t>(d, "memory", 0),
                                d.value("declared", false)});
      r.host.devices.back().near_cpus = d.value("near_cpus", std::vector<int>{});
    }
    r.host.cpu_ids = o.value("cpu_ids", std::vector<int>{});
    r.host.cpu_cores = o.value("cpu_cores", std::vector<int>{});
    r.host.features = o.value("features", std::vector<std::string>{});
    r.host.tmp_bytes = integer_or<std::int64_t>(o, "tmp", 0);
    r.tracking = o.value("tracking", "");
    r.running = o.at("running").get<std::vector<std::string>>();
    for (const json& f : o.at("finished")) {
      Finished x;
      x.task = f.at("task").get<std::string>();
      if (!end_from(f.at("end").get<std::string>(), x.status.end)) return fail("field 'finished.end': unknown end");
      x.status.exit_code = integer<int>(f.at("exit_code"));
      x.status.signal = integer_or<int>(f, "signal", 0);
      x.message = f.value("message", "");
      x.fenced = f.value("fenced", false);
      r.finished.push_back(std::move(x));
    }
    for (const json& c : o.at("logs")) {
      LogChunk x;
      x.task = c.at("task").get<std::string>();
      const std::string stream = c.at("stream").get<std::string>();
      if (stream != "stdout" && stream != "stderr") return fail("field 'logs.stream': expected stdout or stderr");
      x.stderr_stream = stream == "stderr";
      x.offset = integer<std::int64_t>(c.at("offset"));
      auto data = api::unbase64(c.at("data").get<std::string>());
      if (!data) return fail("field 'logs.data': " + data.error().message);
      x.data = std::move(*data);
      r.logs.push_back(std::move(x));
    }
    r.wait_ms = integer_or<int>(o, "wait_ms", 0);
    r.takes_signals = o.contains("signalled");
    r.takes_terminals = o.value("terminals", false);
    r.takes_services = o.value("services", false);
    if (r.takes_signals) {
      for (const auto& [task, serial] : o.at("signalled").items()) r.signalled[task] = integer<int>(serial);
    }
  } catch (const json::exception& e) {
    return fail(std::string("malformed sync request: ") + e.what());
  }
  return r;
}

std::string json_response(const SyncResponse& r) {
  json launch = json::array();
  for (const Launch& l : r.launch) {
    json one{{"task", l.task},       {"job", l.job},
             {"attempt", l.attempt}, {"rank", l.rank},
             {"user", l.user},       {"argv", l.argv},
             {"workdir", l.workdir}, {"env", env_json(l.env)},
             {"devices", l.devices}, {"memory_limit", l.memory_limit_bytes}};
    // Only when set, so that an agent of the previous version still reads plain launches.
    if (!l.script.empty()) one["script"] = l.script;
    if (!l.output.empty()) one["output"] = l.output;
    if (!l.error.empty()) one["error"] = l.error;
    if (l.output_append) one["output_append"] = true;
    if (!l.input.empty()) one["input"] = l.input;
    if (l.terminal_rows > 0)
      one["terminal"] = {{"rows", l.terminal_rows}, {"cols", l.terminal_cols}, {"secret", l.terminal_secret}};
    if (l.service_port >= 0) one["service"] = {{"port", l.service_port}, {"secret", l.service_secret}};
    if (l.step >= 0) one["step"] = l.step;
    if (!l.cpus.empty()) one["cpus"] = l.cpus;
    if (l.cpu_bind_verbose) one["cpu_bind_verbose"] = true;
    if (l.cpu_bind_none) one["cpu_bind_none"] = true;
    launch.push_back(std::move(one));
  }
  json terminate = json::array();
  for (const Terminate& t : r.terminate) {
    terminate.push_back({{"task", t.task}, {"why", end_name(t.why)}, {"message", t.message}});
  }
  json out{{"launch", launch},
           {"terminate", terminate},
           {"acked", r.acked},
           {"log_offsets", r.log_offsets},
           {"node_timeout_ms", r.node_timeout_ms}};
  if (!r.signal.empty()) {
    json signal = json::array();
    for (const Signal& s : r.signal) {
      signal.push_back({{"task", s.task}, {"serial", s.serial}, {"number", s.number}, {"main_only", s.main_only}});
    }
    out["signal"] = std::move(signal);
  }
  return out.dump();
}

Result<SyncResponse> json_to_response(const std::string& body) {
  SyncResponse r;
  try {
    const json o = json::parse(body);
    for (const json& l : o.at("launch")) {
      Launch x;
      x.task = l.at("task").get<std::string>();
      x.job = integer<std::int64_t>(l.at("job"));
      x.step = l.contains("step") ? integer<int>(l.at("step")) : -1;
      x.attempt = integer<int>(l.at("attempt"));
      x.rank = integer<int>(l.at("rank"));
      x.user = l.at("user").get<std::string>();
      x.argv = l.at("argv").get<std::vector<std::string>>();
      x.workdir = l.at("workdir").get<std::string>();
      for (const json& kv : l.at("env")) x.env.emplace_back(kv.at(0).get<std::string>(), kv.at(1).get<std::string>());
      x.devices = l.at("devices").get<std::vector<std::string>>();
      x.memory_limit_bytes = integer<std::int64_t>(l.at("memory_limit"));
      x.script = l.value("script", "");
      x.output = l.value("output", "");
      x.error = l.value("error", "");
      x.output_append = l.value("output_append", false);
      x.input = l.value("input", "");
      if (l.contains("terminal")) {
        const json& t = l.at("terminal");
        x.terminal_rows = integer<int>(t.at("rows"));
        x.terminal_cols = integer<int>(t.at("cols"));
        x.terminal_secret = t.at("secret").get<std::string>();
      }
      if (l.contains("service")) {
        const json& t = l.at("service");
        x.service_port = integer<int>(t.at("port"));
        if (x.service_port < 0 || x.service_port > 65535) return fail("field 'launch.service.port': out of range");
        x.service_secret = t.at("secret").get<std::string>();
      }
      x.cpus = l.value("cpus", std::vector<int>{});
      x.cpu_bind_verbose = l.value("cpu_bind_verbose", false);
      x.cpu_bind_none = l.value("cpu_bind_none", false);
      r.launch.push_back(std::move(x));
    }
    for (const json& t : o.at("terminate")) {
      Terminate x;
      x.task = t.at("task").get<std::string>();
      if (!end_from(t.at("why").get<std::string>(), x.why)) return fail("field 'terminate.why': unknown reason");
      x.message = t.value("message", "");
      r.terminate.push_back(std::move(x));
    }
    r.acked = o.at("acked").get<std::vector<std::string>>();
    for (const auto& [key, offset] : o.at("log_offsets").items()) r.log_offsets[key] = integer<std::int64_t>(offset);
    r.node_timeout_ms = integer<std::int64_t>(o.at("node_timeout_ms"));
    if (o.contains("signal")) {
      for (const json& x : o.at("signal")) {
        r.signal.push_back({x.at("task").get<std::string>(), integer<int>(x.at("serial")), integer<int>(x.at("number")),
                            x.value("main_only", false)});
      }
    }
  } catch (const json::exception& e) {
    return fail(std::string("malformed sync answer: ") + e.what());
  }
  return r;
}

}  // namespace

Form form_of(std::string_view body) { return binary::is_binary(body) ? Form::Binary : Form::Json; }

std::string encode(const SyncRequest& r, Form form) {
  return form == Form::Binary ? binary::encode(r) : json_request(r);
}

std::string encode(const SyncResponse& r, Form form) {
  return form == Form::Binary ? binary::encode(r) : json_response(r);
}

Result<SyncRequest> decode_request(const std::string& body) {
  auto r = form_of(body) == Form::Binary ? binary::decode_request(body) : json_to_request(body);
  if (!r) return r;
  if (auto ok = check_node(r->node); !ok) return tl::unexpected(ok.error());
  if (r->host.cpus < 1 || r->host.memory_bytes < 1) return fail("field 'cpus'/'memory': a node needs CPUs and memory");
  if (r->wait_ms < 0 || r->wait_ms > 60000) return fail("field 'wait_ms': expected 0 to 60000");
  if (r->host.tmp_bytes < 0) return fail("field 'tmp': expected a size in bytes");
  if (r->host.features.size() > 64) return fail("field 'features': a node has at most 64 features");
  for (const std::string& f : r->host.features) {
    if (f.empty() || f.size() > 64 ||
        f.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-:") != std::string::npos)
      return fail("field 'features': '" + f + "' is not a feature name");
  }
  if (r->host.cpu_ids.size() != r->host.cpu_cores.size()) {
    return fail("field 'cpu_cores': " + std::to_string(r->host.cpu_cores.size()) + " core(s) for " +
                std::to_string(r->host.cpu_ids.size()) + " CPU id(s)");
  }
  return r;
}

Result<SyncResponse> decode_response(const std::string& body) {
  auto r = form_of(body) == Form::Binary ? binary::decode_response(body) : json_to_response(body);
  if (!r) return r;
  for (const Launch& l : r->launch) {
    const auto ref = parse_task_id(l.task);
    if (!ref) return fail("field 'launch[].task': malformed task id '" + l.task + "'");
    if (l.step != ref->step) return fail("field 'launch[].step': not the step of task " + l.task);
  }
  return r;
}

std::string sign_request(const std::string& secret, const std::string& method, const std::string& path,
                         const std::string& date, const std::string& node, const std::string& body) {
  return hmac_hex(secret, {"gwang-agent-v1\n", method, "\n", path, "\n", date, "\n", node, "\n", body});
}

std::string sign_response(const std::string& secret, const std::string& request_signature, const std::string& body) {
  return hmac_hex(secret, {"gwang-controller-v1\n", request_signature, "\n", body});
}

bool same_signature(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Result<std::string> read_secret(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return fail(path + ": cannot read the cluster secret");
  if (st.st_mode & (S_IRWXG | S_IRWXO))
    return fail(path + ": the cluster secret must not be readable by group or others (chmod 600)");
  std::ifstream in(path);
  std::string secret;
  std::getline(in, secret);
  while (!secret.empty() && (secret.back() == '\r' || secret.back() == ' ')) secret.pop_back();
  if (secret.size() < 16) return fail(path + ": the cluster secret must be at least 16 characters");
  return secret;
}

}  // namespace gwang::agent::protocol
