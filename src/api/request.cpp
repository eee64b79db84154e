#include "api/request.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <tuple>

#include "api/partition.h"
#include "slurm/binding.h"
#include "slurm/features.h"
#include "slurm/mail.h"
#include "slurm/signals.h"
#include "slurm/specs.h"

namespace gwang::api {

using nlohmann::json;

std::string_view to_string(Allocation a) {
  switch (a) {
    case Allocation::None:
      return "";
    case Allocation::Attended:
      return "attended";
    case Allocation::Unattended:
      return "unattended";
  }
  return "";
}

namespace {

Result<void> field_error(const std::string& field, const std::string& what) {
  return fail("field '" + field + "': " + what);
}

}  // namespace

Result<SubmitRequest> parse_submit(const std::string& body, std::int64_t max_array_size) {
  json j;
  try {
    j = json::parse(body);
  } catch (const json::parse_error& e) {
    return fail("malformed JSON at byte " + std::to_string(e.byte) + ": " +
                std::string(e.what()).substr(std::string(e.what()).find("] ") + 2));
  } catch (const json::exception& e) {  // a number too large for a double: "... parsing '1e999'"
    const std::string what = std::string(e.what()).substr(std::string(e.what()).find("] ") + 2);
    const auto open = what.find('\''), close = what.rfind('\'');
    const auto at = open < close ? body.find(what.substr(open + 1, close - open - 1)) : std::string::npos;
    return fail("malformed JSON at byte " + std::to_string(at == std::string::npos ? body.size() : at + 1) + ": " +
                what);
  }
  return parse_submit(j, max_array_size);
}

namespace {

// An integer field within lo..hi, into `out` (left as it is when absent).
template <typename Int>
Result<void> integer(const json& j, const char* field, std::int64_t lo, std::int64_t hi, Int& out) {
  if (!j.contains(field)) return {};
  const json& v = j[field];
  if (!v.is_number_integer() || v.get<std::int64_t>() < lo || v.get<std::int64_t>() > hi) {
    return field_error(field, "must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
  }
  out = static_cast<Int>(v.get<std::int64_t>());
  return {};
}

// An amount given as a number (within lo..hi) or as text that `parse` reads, into `out`.
Result<void> amount(const json& j, const char* field, std::int64_t lo, std::int64_t hi, const std::string& range,
                    Result<std::int64_t> (*parse)(std::string_view), const std::string& shape, std::int64_t& out) {
  if (!j.contains(field)) return {};
  const json& v = j[field];
  if (v.is_number_integer()) {
    if (v.get<std::int64_t>() < lo || v.get<std::int64_t>() > hi) return field_error(field, range);
    out = v.get<std::int64_t>();
  } else if (v.is_string()) {
    auto parsed = parse(v.get<std::string>());
    if (!parsed) return field_error(field, parsed.error().message);
    out = *parsed;
  } else {
    return field_error(field, shape);
  }
  return {};
}

// The job's name, its batch script and its command.
Result<void> read_program(const json& j, SubmitRequest& r) {
  if (j.contains("name")) {
    if (!j["name"].is_string()) return tl::unexpected(field_error("name", "must be a string").error());
    r.name = j["name"].get<std::string>();
    if (r.name.size() > 200) return tl::unexpected(field_error("name", "longer than 200 characters").error());
  }
  if (j.contains("script")) {
    const json& v = j["script"];
    if (!v.is_string()) return tl::unexpected(field_error("script", "must be a string").error());
    r.script = v.get<std::string>();
    if (r.script.compare(0, 2, "#!") != 0)
      return tl::unexpected(field_error("script", "must start with \"#!\" (an interpreter line)").error());
    if (r.script.size() > kMaxScriptBytes) return tl::unexpected(field_error("script", "larger than 4 MiB").error());
    if (r.script.find('\0') != std::string::npos)
      return tl::unexpected(field_error("script", "contains a NUL byte").error());
  }
  if (j.contains("allocation")) {
    const json& v = j["allocation"];
    const std::string a = v.is_string() ? v.get<std::string>() : "";
    if (a != "attended" && a != "unattended")
      return tl::unexpected(field_error("allocation", "expected \"attended\" or \"unattended\"").error());
    if (!r.script.empty())
      return tl::unexpected(field_error("allocation", "a job with a batch script is not an allocation").error());
    r.allocation = a == "attended" ? Allocation::Attended : Allocation::Unattended;
  }
  if (auto e = read_session(j, r); !e) return e;
  // What an allocation's holder runs may be nothing (salloc --no-shell), as may an app's arguments.
  const bool optional = !r.script.empty() || r.allocation != Allocation::None ||
                        (r.session.app != SessionApp::None && r.session.app != SessionApp::Custom);
  if (!j.contains("command") && !optional) return tl::unexpected(field_error("command", "required").error());
  if (j.contains("command")) {
    const char* shape = optional ? "must be an array of strings" : "must be a non-empty array of strings";
    if (!j["command"].is_array() || (j["command"].empty() && !optional))
      return tl::unexpected(field_error("command", shape).error());
    for (const auto& a : j["command"]) {
      if (!a.is_string()) return tl::unexpected(field_error("command", shape).error());
      r.command.push_back(a.get<std::string>());
    }
    if (!optional && r.command.front().empty())
      return tl::unexpected(field_error("command", "the program name is empty").error());
  }
  return {};
}

// What it asks of its nodes besides resources: features (-C, --prefer, --batch), whole nodes
// (--exclusive) and its CPUs' nearness to its GPUs (--gres-flags).
Result<void> read_placement(const json& j, SubmitRequest& r) {
  for (auto [field, out] : {std::pair{"constraint", &r.constraint}, std::pair{"prefer", &r.prefer}}) {
    if (!j.contains(field)) continue;
    const json& v = j[field];
    auto ways = v.is_string() && v.get<std::string>().size() <= 1024
                    ? slurm::parse_constraint(v.get<std::string>(), std::string("--") + field)
                    : Result<std::vector<slurm::FeatureWay>>(fail("must be a string of up to 1,024 bytes"));
    if (!ways) return tl::unexpected(field_error(field, ways.error().message).error());
    *out = v.get<std::string>();
  }
  if (j.contains("batch_features")) {
    const json& v = j["batch_features"];
    auto clauses = v.is_string() && v.get<std::string>().size() <= 1024
                       ? slurm::parse_feature_list(v.get<std::string>())
                       : Result<slurm::FeatureClauses>(fail("must be a string of up to 1,024 bytes"));
    if (!clauses) return tl::unexpected(field_error("batch_features", clauses.error().message).error());
    r.batch_features = v.get<std::string>();
  }
  if (j.contains("group")) {
    // A group name as the system takes one: letters, digits, '.', '_', '-' (not first), up to 32.
    const json& v = j["group"];
    const std::string g = v.is_string() ? v.get<std::string>() : "";
    const bool ok = !g.empty() && g.size() <= 32 && g.front() != '-' && std::all_of(g.begin(), g.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
    });
    if (!ok) {
      return tl::unexpected(
          field_error("group", "must be a group name (letters, digits, '.', '_', '-'; up to 32)").error());
    }
    r.group = g;
  }
  if (j.contains("no_kill")) {
    if (!j["no_kill"].is_boolean()) return tl::unexpected(field_error("no_kill", "must be true or false").error());
    r.no_kill = j["no_kill"].get<bool>();
  }
  if (j.contains("licenses")) {  // its names and counts are the controller's to check
    const json& v = j["licenses"];
    if (!v.is_string() || v.get<std::string>().size() > 1024)
      return tl::unexpected(field_error("licenses", "must be a string of up to 1,024 bytes").error());
    r.licenses = v.get<std::string>();
  }
  if (auto e = integer(j, "cores_per_node", 0, 65535, r.cores_per_node); !e) return e;
  if (auto e = integer(j, "cpu_threads_per_core", 0, 65535, r.cpu_threads_per_core); !e) return e;
  if (j.contains("contiguous")) {
    if (!j["contiguous"].is_boolean())
      return tl::unexpected(field_error("contiguous", "must be true or false").error());
    r.contiguous = j["contiguous"].get<bool>();
  }
  if (j.contains("gpu_binding_disabled")) {
    if (!j["gpu_binding_disabled"].is_boolean())
      return tl::unexpected(field_error("gpu_binding_disabled", "must be true or false").error());
    r.gpu_binding_disabled = j["gpu_binding_disabled"].get<bool>();
  }
  if (j.contains("exclusive")) {
    if (!j["exclusive"].is_boolean()) return tl::unexpected(field_error("exclusive", "must be true or false").error());
    r.exclusive = j["exclusive"].get<bool>();
  }
  return {};
}

// Its files, partition, hold, comment, working directory and environment.
Result<void> read_files(const json& j, SubmitRequest& r) {
  for (const char* field : {"output", "error", "input"}) {
    if (!j.contains(field)) continue;
    const json& v = j[field];
    if (!v.is_string() || v.get<std::string>().empty() || v.get<std::string>().size() > 4096 ||
        v.get<std::string>().find('\0') != std::string::npos) {
      return tl::unexpected(field_error(field, "must be a file name pattern (1 to 4096 bytes, no NUL)").error());
    }
    const std::string_view f = field;
    (f == "output" ? r.output : f == "error" ? r.error : r.input) = v.get<std::string>();
  }
  if (j.contains("open_append")) {
    if (!j["open_append"].is_boolean())
      return tl::unexpected(field_error("open_append", "must be true or false").error());
    r.open_append = j["open_append"].get<bool>();
  }
  if (j.contains("partition")) {
    const json& v = j["partition"];
    if (!v.is_string() || !partition_name_ok(v.get<std::string>()))
      return tl::unexpected(
          field_error("partition", "must be a partition's name (1 to 64 letters, digits, '.', '_' or '-')").error());
    r.partition = v.get<std::string>();
  }
  if (j.contains("hold")) {
    if (!j["hold"].is_boolean()) return tl::unexpected(field_error("hold", "must be true or false").error());
    r.hold = j["hold"].get<bool>();
  }
  // The nodes it must use, or must not (sbatch's --nodelist and --exclude): node names.
  for (auto [field, out] : {std::pair{"nodelist", &r.nodelist}, std::pair{"exclude", &r.exclude}}) {
    if (!j.contains(field)) continue;
    const json& v = j[field];
    bool ok = v.is_array() && v.size() <= 100000;
    for (std::size_t i = 0; ok && i < v.size(); ++i)
      ok = v[i].is_string() && partition_name_ok(v[i].get<std::string>());
    if (!ok) {
      return tl::unexpected(
          field_error(field, "must be a list of node names (each 1 to 64 letters, digits, '.', '_' or '-')").error());
    }
    *out = v.get<std::vector<std::string>>();
  }
  if (j.contains("mail_type")) {
    const json& v = j["mail_type"];
    auto m =
        v.is_string() ? slurm::parse_mail_type(v.get<std::string>()) : Result<std::string>(fail("must be a string"));
    if (!m) return tl::unexpected(field_error("mail_type", m.error().message).error());
    r.mail_type = *m;
  }
  if (j.contains("kill_on_invalid_dep")) {
    const json& v = j["kill_on_invalid_dep"];
    if (!v.is_boolean()) return tl::unexpected(field_error("kill_on_invalid_dep", "must be true or false").error());
    r.kill_on_invalid_dep = v.get<bool>();
  }
  if (j.contains("signal")) {
    const json& v = j["signal"];
    auto spec = v.is_string() ? slurm::parse_signal_spec(v.get<std::string>(), true)
                              : Result<slurm::SignalSpec>(fail("must be a string"));
    if (!spec) {
      return tl::unexpected(
          field_error("signal", spec.error().message + " (expected [{R|B}:]SIGNAL[@SECONDS], as sbatch's --signal)")
              .error());
    }
    r.signal = slurm::format_signal_spec(*spec);
  }
  if (j.contains("mail_user")) {
    const json& v = j["mail_user"];
    if (!v.is_string() || !slurm::mail_user_ok(v.get<std::string>()))
      return tl::unexpected(
          field_error("mail_user", "must be an address or a user name (1 to 256 bytes, no blanks)").error());
    r.mail_user = v.get<std::string>();
  }
  if (j.contains("comment")) {
    const json& v = j["comment"];
    if (!v.is_string() || v.get<std::string>().size() > 1024)
      return tl::unexpected(field_error("comment", "must be a string of at most 1,024 bytes").error());
    r.comment = v.get<std::string>();
  }
  if (j.contains("workdir")) {
    if (!j["workdir"].is_string() || j["workdir"].get<std::string>().empty() ||
        j["workdir"].get<std::string>().front() != '/') {
      return tl::unexpected(field_error("workdir", "must be an absolute path").error());
    }
    r.workdir = j["workdir"].get<std::string>();
  }
  if (j.contains("env")) {
    if (!j["env"].is_object()) return tl::unexpected(field_error("env", "must be an object of strings").error());
    for (const auto& [k, v] : j["env"].items()) {
      if (!v.is_string()) return tl::unexpected(field_error("env." + k, "must be a string").error());
      if (k.empty() || k.find('=') != std::string::npos) {
        return tl::unexpected(field_error("env", "bad variable name '" + k + "'").error());
      }
      r.env.emplace_back(k, v.get<std::string>());
    }
  }
  return {};
}

// What each task needs (CPUs, memory, GPUs or a share of one), its nodes and its time limit.
Result<void> read_sizes(const json& j, SubmitRequest& r) {
  if (auto e = integer(j, "cpus", 1, 4096, r.cpus); !e) return tl::unexpected(e.error());
  if (auto e = integer(j, "nodes", 1, 10000, r.nodes); !e) return tl::unexpected(e.error());
  if (auto e = amount(j, "mem", 1, 1LL << 50, "bytes must be from 1 to 1 PiB", parse_memory,
                      "must be a size such as \"16G\" or a number of bytes", r.mem_bytes);
      !e) {
    return tl::unexpected(e.error());
  }
  if (auto e = amount(j, "time", 1, 365LL * 86400, "seconds must be from 1 to 365 days", parse_duration,
                      "must be a duration such as \"2h\" or a number of seconds", r.time_s);
      !e) {
    return tl::unexpected(e.error());
  }
  if (auto e = amount(j, "time_min", 0, 365LL * 86400, "seconds must be from 0 to 365 days", parse_duration,
                      "must be a duration such as \"30m\" or a number of seconds", r.time_min_s);
      !e) {
    return tl::unexpected(e.error());
  }
  if (r.time_min_s > r.time_s)
    return tl::unexpected(field_error("time_min", "must not be above the time limit").error());
  if (j.contains("gpus")) {
    const json& v = j["gpus"];
    if (v.is_string()) {
      auto g = parse_gpus(v.get<std::string>());
      if (!g) return tl::unexpected(field_error("gpus", g.error().message).error());
      r.gpus = *g;
    } else if (v.is_number_integer()) {
      auto g = parse_gpus(std::to_string(v.get<std::int64_t>()));
      if (!g) return tl::unexpected(field_error("gpus", g.error().message).error());
      r.gpus = *g;
    } else {
      return tl::unexpected(field_error("gpus", "must be \"N\" or \"N:MODEL[,MODEL...]\"").error());
    }
  }
  if (auto e = amount(j, "tmp", 0, 1LL << 50, "bytes must be from 0 to 1 PiB", parse_memory,
                      "must be a size such as \"16G\" or a number of bytes", r.tmp_bytes);
      !e) {
    return tl::unexpected(e.error());
  }
  if (auto e = integer(j, "nice", -kMaxNice, kMaxNice, r.nice); !e) return e;
  if (auto e = integer(j, "sockets_per_node", 0, 65535, r.sockets_per_node); !e) return e;
  if (auto e = integer(j, "cores_per_socket", 0, 65535, r.cores_per_socket); !e) return e;
  if (auto e = integer(j, "threads_per_core", 0, 65535, r.threads_per_core); !e) return e;
  if (auto e = integer(j, "core_spec", 0, 65535, r.core_spec); !e) return e;
  if (auto e = integer(j, "thread_spec", 0, 65535, r.thread_spec); !e) return e;
  if (r.core_spec > 0 && r.thread_spec > 0)
    return tl::unexpected(field_error("thread_spec", "give core_spec or thread_spec, not both").error());
  if (r.core_spec > 0 || r.thread_spec > 0) r.exclusive = true;  // cores kept on nodes of its own
  if (auto e = integer(j, "priority", 0, kMaxPriority, r.priority); !e) return e;
  if (j.contains("gpu_share")) {
    const json& v = j["gpu_share"];
    if (!v.is_number() || v.get<double>() <= 0 || v.get<double>() >= 1) {
      return tl::unexpected(field_error("gpu_share", "must be a number between 0 and 1 (exclusive)").error());
    }
    if (r.gpus.count > 1) {
      return tl::unexpected(field_error("gpu_share", "a share is of one GPU: gpus must be absent or 1").error());
    }
    r.gpu_share = v.get<double>();
  }
  return {};
}

// Whether it runs again after a node failure, and what it is charged to and how.
Result<void> read_charging(const json& j, SubmitRequest& r) {
  if (j.contains("requeue")) {
    if (!j["requeue"].is_boolean()) return tl::unexpected(field_error("requeue", "must be true or false").error());
    r.requeue = j["requeue"].get<bool>();
  }
  if (j.contains("project")) {
    const json& v = j["project"];
    if (!v.is_string() || v.get<std::string>().empty() || v.get<std::string>().size() > 64) {
      return tl::unexpected(field_error("project", "must be a project name (1 to 64 characters)").error());
    }
    r.project = v.get<std::string>();
  }
  if (j.contains("qos")) {
    const json& v = j["qos"];
    if (!v.is_string() || v.get<std::string>().empty() || v.get<std::string>().size() > 64) {
      return tl::unexpected(field_error("qos", "must be an allocation programme's name (1 to 64 characters)").error());
    }
    r.qos = v.get<std::string>();
  }
  if (j.contains("preemptible")) {
    if (!j["preemptible"].is_boolean())
      return tl::unexpected(field_error("preemptible", "must be true or false").error());
    r.preemptible = j["preemptible"].get<bool>();
  }
  return {};
}

// When it may start: a begin time, dependencies, and the array it is.
Result<void> read_conditions(const json& j, SubmitRequest& r, std::int64_t max_array_size) {
  if (auto e = amount(j, "begin", 0, 253402300799, "Unix seconds must be from 0 to the year 9999", parse_date,
                      "must be a date such as \"2026-03-01T08:30\" or Unix seconds", r.begin);
      !e) {
    return tl::unexpected(e.error());
  }
  if (auto e = amount(j, "deadline", 0, 253402300799, "Unix seconds must be from 0 to the year 9999", parse_date,
                      "must be a date such as \"2026-03-01T08:30\" or Unix seconds", r.deadline);
      !e) {
    return tl::unexpected(e.error());
  }
  if (r.deadline > 0 && r.begin > r.deadline)
    return tl::unexpected(field_error("deadline", "Incompatible begin and deadline time specification").error());
  if (j.contains("dependency")) {
    const json& v = j["dependency"];
    if (!v.is_string())
      return tl::unexpected(field_error("dependency", "must be a string such as \"afterok:12\"").error());
    if (!v.get<std::string>().empty()) {
      auto d = slurm::parse_dependency(v.get<std::string>());
      if (!d) return tl::unexpected(field_error("dependency", d.error().message).error());
      r.dependency = slurm::format_dependency(*d);
    }
  }
  if (j.contains("array")) {
    const json& v = j["array"];
    if (!v.is_string()) return tl::unexpected(field_error("array", "must be a string such as \"0-15%4\"").error());
    if (!v.get<std::string>().empty()) {
      auto a = slurm::parse_array(v.get<std::string>(), max_array_size);
      if (!a) return tl::unexpected(field_error("array", a.error().message).error());
      r.array = slurm::format_array(*a);
    }
  }
  return {};
}

// A request's name when none was given: sbatch's for a script, else the program's base name, cut to
// the 200 bytes a name may have (at a character's start, so that it stays UTF-8): the request must
// read back from the journal as it was accepted.
void default_name(SubmitRequest& r) {
  if (r.name.empty() && r.session.app != SessionApp::None && r.session.app != SessionApp::Custom)
    r.name = to_string(r.session.app);
  if (r.name.empty() && !r.script.empty()) r.name = "sbatch";       // as sbatch names a script read from stdin
  if (r.name.empty() && r.command.empty()) r.name = "interactive";  // an allocation's, as salloc's
  if (r.name.empty()) {
    const std::string& prog = r.command.front();
    r.name = prog.substr(prog.find_last_of('/') + 1);
    if (r.name.size() > 200) {
      std::size_t cut = 200;
      while (cut > 0 && (static_cast<unsigned char>(r.name[cut]) & 0xC0) == 0x80) --cut;
      r.name.resize(cut);
    }
  }
}

}  // namespace

Result<SubmitRequest> parse_submit(const json& value, std::int64_t max_array_size) {
  const json& j = value;  // every j["field"] below comes after j.contains("field")
  if (!j.is_object()) return fail("expected a JSON object");
  SubmitRequest r;
  static const char* kFields[] = {"name",
                                  "command",
                                  "workdir",
                                  "env",
                                  "cpus",
                                  "mem",
                                  "gpus",
                                  "gpu_share",
                                  "nodes",
                                  "time",
                                  "requeue",
                                  "project",
                                  "preemptible",
                                  "begin",
                                  "dependency",
                                  "array",
                                  "script",
                                  "output",
                                  "error",
                                  "input",
                                  "open_append",
                                  "comment",
                                  "partition",
                                  "hold",
                                  "qos",
                                  "mail_type",
                                  "mail_user",
                                  "nodelist",
                                  "exclude",
                                  "signal",
                                  "kill_on_invalid_dep",
                                  "constraint",
                                  "prefer",
                                  "tmp",
                                  "nice",
                                  "priority",
                                  "sockets_per_node",
                                  "cores_per_socket",
                                  "threads_per_core",
                                  "exclusive",
                                  "core_spec",
                                  "thread_spec",
                                  "deadline",
                                  "gpu_binding_disabled",
                                  "batch_features",
                                  "time_min",
                                  "group",
                                  "contiguous",
                                  "cores_per_node",
                                  "cpu_threads_per_core",
                                  "licenses",
                                  "no_kill",
                                  "allocation",
                                  "session"};
  for (const auto& [key, value] : j.items()) {
    if (std::find(std::begin(kFields), std::end(kFields), key) == std::end(kFields)) {
      return fail("unknown field '" + key + "'");
    }
  }
  for (auto read : {read_program, read_files, read_placement, read_sizes, read_charging}) {
    if (auto e = read(j, r); !e) return tl::unexpected(e.error());
  }
  if (auto e = read_conditions(j, r, max_array_size); !e) return tl::unexpected(e.error());
  if (r.allocation != Allocation::None) {
    if (!r.array.empty()) return fail("field 'allocation': a job array is not an allocation");
    r.requeue = false;  // its holder waits for it: it is not run again elsewhere
  }
  if (auto e = check_session(j, r); !e) return tl::unexpected(e.error());
  default_name(r);
  return r;
}

std::string to_json(const SubmitRequest& r) {
  json j;
  j["name"] = r.name;
  j["command"] = r.command;
  if (!r.workdir.empty()) j["workdir"] = r.workdir;
  if (!r.env.empty()) {
    json env = json::object();
    for (const auto& [k, v] : r.env) env[k] = v;
    j["env"] = env;
  }
  j["cpus"] = r.cpus;
  j["mem"] = r.mem_bytes;
  if (r.gpus.count > 0) {
    std::string g = std::to_string(r.gpus.count);
    for (std::size_t i = 0; i < r.gpus.models.size(); ++i) g += (i == 0 ? ":" : ",") + r.gpus.models[i];
    j["gpus"] = g;
  }
  if (r.gpu_share > 0) j["gpu_share"] = r.gpu_share;
  j["nodes"] = r.nodes;
  if (r.time_s > 0) j["time"] = r.time_s;  // a session's 0: the controller's longest
  if (!r.requeue) j["requeue"] = false;
  if (!r.project.empty()) j["project"] = r.project;
  if (r.preemptible) j["preemptible"] = true;
  if (r.begin > 0) j["begin"] = r.begin;
  if (!r.dependency.empty()) j["dependency"] = r.dependency;
  if (!r.array.empty()) j["array"] = r.array;
  if (!r.script.empty() && r.session.app == SessionApp::None) j["script"] = r.script;  // an app's is the controller's
  if (!r.output.empty()) j["output"] = r.output;
  if (!r.error.empty()) j["error"] = r.error;
  if (!r.input.empty()) j["input"] = r.input;
  if (r.open_append) j["open_append"] = true;
  if (!r.comment.empty()) j["comment"] = r.comment;
  if (!r.partition.empty()) j["partition"] = r.partition;
  if (r.hold) j["hold"] = true;
  if (!r.qos.empty()) j["qos"] = r.qos;
  if (!r.mail_type.empty()) j["mail_type"] = r.mail_type;
  if (!r.mail_user.empty()) j["mail_user"] = r.mail_user;
  if (!r.nodelist.empty()) j["nodelist"] = r.nodelist;
  if (!r.exclude.empty()) j["exclude"] = r.exclude;
  if (!r.signal.empty()) j["signal"] = r.signal;
  if (r.kill_on_invalid_dep) j["kill_on_invalid_dep"] = true;
  if (!r.constraint.empty()) j["constraint"] = r.constraint;
  if (!r.prefer.empty()) j["prefer"] = r.prefer;
  if (r.tmp_bytes > 0) j["tmp"] = r.tmp_bytes;
  if (r.nice != 0) j["nice"] = r.nice;
  if (r.priority >= 0) j["priority"] = r.priority;
  if (r.sockets_per_node > 0) j["sockets_per_node"] = r.sockets_per_node;
  if (r.cores_per_socket > 0) j["cores_per_socket"] = r.cores_per_socket;
  if (r.threads_per_core > 0) j["threads_per_core"] = r.threads_per_core;
  if (r.exclusive) j["exclusive"] = true;
  if (r.core_spec > 0) j["core_spec"] = r.core_spec;
  if (r.thread_spec > 0) j["thread_spec"] = r.thread_spec;
  if (r.deadline > 0) j["deadline"] = r.deadline;
  if (r.gpu_binding_disabled) j["gpu_binding_disabled"] = true;
  if (!r.batch_features.empty()) j["batch_features"] = r.batch_features;
  if (r.time_min_s > 0) j["time_min"] = r.time_min_s;
  if (!r.group.empty()) j["group"] = r.group;
  if (r.contiguous) j["contiguous"] = true;
  if (r.cores_per_node > 0) j["cores_per_node"] = r.cores_per_node;
  if (r.cpu_threads_per_core > 0) j["cpu_threads_per_core"] = r.cpu_threads_per_core;
  if (!r.licenses.empty()) j["licenses"] = r.licenses;
  if (r.no_kill) j["no_kill"] = true;
  if (r.session.app != SessionApp::None) {
    j["session"] = session_json(r.session);
    if (r.session.app == SessionApp::Terminal) j.erase("allocation");
  } else if (r.allocation != Allocation::None) {
    j["allocation"] = std::string(to_string(r.allocation));
  }
  return j.dump();
}

namespace {

// What a step holds of its job (StepRequest's exact, overlap, memory and GPUs), from `j`.
Result<void> read_step_shares(const json& j, StepRequest& r) {
  auto bad = [](const std::string& field, const std::string& what) {
    return tl::unexpected(field_error(field, what).error());
  };
  for (auto [field, out] : {std::pair{"exact", &r.exact}, std::pair{"overlap", &r.overlap},
                            std::pair{"immediate", &r.immediate}, std::pair{"preserve_env", &r.preserve_env}}) {
    if (!j.contains(field)) continue;
    if (!j[field].is_boolean()) return bad(field, "must be true or false");
    *out = j[field].get<bool>();
  }
  for (auto [field, out] : {std::pair{"mem", &r.mem_bytes}, std::pair{"mem_per_cpu", &r.mem_per_cpu},
                            std::pair{"mem_per_gpu", &r.mem_per_gpu}}) {
    if (!j.contains(field)) continue;
    const json& v = j[field];
    if (!v.is_number_integer() || v.get<std::int64_t>() < 1 || v.get<std::int64_t>() > (std::int64_t{1} << 50))
      return bad(field, "must be a number of bytes from 1 to 1P");
    *out = v.get<std::int64_t>();
  }
  if ((r.mem_bytes > 0) + (r.mem_per_cpu > 0) + (r.mem_per_gpu > 0) > 1)
    return bad("mem", "give one of mem, mem_per_cpu and mem_per_gpu");
  for (auto [field, out] : {std::pair{"gpus_per_node", &r.gpus_per_node}, std::pair{"gpus_per_task", &r.gpus_per_task},
                            std::pair{"gpus", &r.gpus}}) {
    if (!j.contains(field)) continue;
    const json& v = j[field];
    if (!v.is_number_integer() || v.get<std::int64_t>() < 0 || v.get<std::int64_t>() > 1024)
      return bad(field, "must be an integer from 0 to 1024");
    *out = v.get<int>();
  }
  if ((r.gpus_per_node >= 0) + (r.gpus_per_task > 0) + (r.gpus > 0) > 1)
    return bad("gpus", "give one of gpus, gpus_per_node and gpus_per_task");
  if (j.contains("gpu_type")) {
    const json& v = j["gpu_type"];
    if (!v.is_string() || v.get<std::string>().size() > 64) return bad("gpu_type", "must be a model's name");
    r.gpu_type = v.get<std::string>();
  }
  if (j.contains("time")) {
    const json& v = j["time"];
    if (!v.is_number_integer() || v.get<std::int64_t>() < 1 || v.get<std::int64_t>() > 365LL * 86400)
      return bad("time", "must be a number of seconds from 1 to 365 days");
    r.time_s = v.get<std::int64_t>();
  }
  if (j.contains("constraint")) {
    const json& v = j["constraint"];
    auto ways = v.is_string() && v.get<std::string>().size() <= 1024
                    ? slurm::parse_constraint(v.get<std::string>())
                    : Result<std::vector<slurm::FeatureWay>>(fail("must be a string of up to 1,024 bytes"));
    if (!ways) return bad("constraint", ways.error().message);
    if (ways->size() != 1 || !ways->front().counted.empty())
      return bad("constraint", "counts and brackets are for allocations, not for a step within one");
    r.constraint = v.get<std::string>();
  }
  if (j.contains("gpu_bind")) {
    const json& v = j["gpu_bind"];
    auto bind = v.is_string() && v.get<std::string>().size() <= 4096
                    ? slurm::parse_gpu_bind(v.get<std::string>())
                    : Result<slurm::GpuBind>(fail("must be a string of up to 4,096 bytes"));
    if (!bind) return bad("gpu_bind", bind.error().message);
    r.gpu_bind = v.get<std::string>();
  }
  if (j.contains("resv_ports")) {
    const json& v = j["resv_ports"];
    if (!v.is_number_integer() || v.get<std::int64_t>() < 0 || v.get<std::int64_t>() > 65535)
      return bad("resv_ports", "must be a count of ports from 0 (as many as its most tasks on a node)");
    r.resv_ports = v.get<int>();
  }
  if (j.contains("pty")) {
    const json& v = j["pty"];
    const auto size = [&](const char* key) {
      return v.is_object() && v.contains(key) && v[key].is_number_integer() && v[key].get<std::int64_t>() >= 1 &&
             v[key].get<std::int64_t>() <= 10000;
    };
    if (!size("rows") || !size("cols") || v.size() != 2)
      return bad("pty", "must be {\"rows\": R, \"cols\": C}, each from 1 to 10,000");
    r.pty_rows = v["rows"].get<int>();
    r.pty_cols = v["cols"].get<int>();
  }
  return {};
}

}  // namespace

Result<StepRequest> parse_step(const std::string& body) {
  json j;
  try {
    j = json::parse(body);
  } catch (const json::exception& e) {
    return fail(std::string("malformed JSON: ") + (std::string(e.what()).substr(std::string(e.what()).find("] ") + 2)));
  }
  if (!j.is_object()) return fail("expected a JSON object");
  StepRequest r;
  static const char* kFields[] = {"name",
                                  "command",
                                  "workdir",
                                  "env",
                                  "ntasks",
                                  "nodes",
                                  "ntasks_per_node",
                                  "cpus_per_task",
                                  "distribution",
                                  "kill_on_bad_exit",
                                  "no_kill",
                                  "nodes_from_env",
                                  "overcommit",
                                  "nodelist",
                                  "exclude",
                                  "relative",
                                  "exact",
                                  "overlap",
                                  "immediate",
                                  "mem",
                                  "mem_per_cpu",
                                  "gpus_per_node",
                                  "gpus_per_task",
                                  "gpu_type",
                                  "gpus",
                                  "mem_per_gpu",
                                  "preserve_env",
                                  "time",
                                  "constraint",
                                  "gpu_bind",
                                  "resv_ports",
                                  "pty"};
  for (const auto& [key, value] : j.items()) {
    if (std::find(std::begin(kFields), std::end(kFields), key) == std::end(kFields)) {
      return fail("unknown field '" + key + "'");
    }
  }
  auto bad = [](const std::string& field, const std::string& what) {
    return tl::unexpected(field_error(field, what).error());
  };
  if (!j.contains("command") || !j["command"].is_array() || j["command"].empty())
    return bad("command", "must be a non-empty array of strings");
  for (const json& a : j["command"]) {
    if (!a.is_string() || a.get<std::string>().find('\0') != std::string::npos)
      return bad("command", "must be a non-empty array of strings");
    r.command.push_back(a.get<std::string>());
  }
  if (r.command.front().empty()) return bad("command", "the program name is empty");
  if (j.contains("name")) {
    if (!j["name"].is_string() || j["name"].get<std::string>().size() > 200)
      return bad("name", "must be a string of at most 200 bytes");
    r.name = j["name"].get<std::string>();
  }
  if (j.contains("workdir")) {
    if (!j["workdir"].is_string() || !j["workdir"].get<std::string>().starts_with('/'))
      return bad("workdir", "must be an absolute path");
    r.workdir = j["workdir"].get<std::string>();
  }
  if (j.contains("env")) {
    if (!j["env"].is_object()) return bad("env", "must be an object of strings");
    for (const auto& [k, v] : j["env"].items()) {
      if (!v.is_string()) return bad("env." + k, "must be a string");
      if (k.empty() || k.find('=') != std::string::npos) return bad("env", "bad variable name '" + k + "'");
      r.env.emplace_back(k, v.get<std::string>());
    }
  }
  for (auto [field, out, hi] : {std::tuple{"ntasks", &r.ntasks, 100000}, std::tuple{"nodes", &r.nodes, 10000},
                                std::tuple{"ntasks_per_node", &r.ntasks_per_node, 100000},
                                std::tuple{"cpus_per_task", &r.cpus_per_task, 4096}}) {
    if (!j.contains(field)) continue;
    const json& v = j[field];
    if (!v.is_number_integer() || v.get<std::int64_t>() < 1 || v.get<std::int64_t>() > hi)
      return bad(field, "must be an integer from 1 to " + std::to_string(hi));
    *out = v.get<int>();
  }
  for (auto [field, out] : {std::pair{"nodelist", &r.nodelist}, std::pair{"exclude", &r.exclude}}) {
    if (!j.contains(field)) continue;
    const json& v = j[field];
    if (!v.is_array() || v.size() > 10000) return bad(field, "must be an array of node names");
    for (const json& n : v) {
      if (!n.is_string() || n.get<std::string>().empty() || n.get<std::string>().size() > 64)
        return bad(field, "must be an array of node names");
      out->push_back(n.get<std::string>());
    }
  }
  if (j.contains("relative")) {
    const json& v = j["relative"];
    if (!v.is_number_integer() || v.get<std::int64_t>() < 0 || v.get<std::int64_t>() >= 10000)
      return bad("relative", "must be an integer from 0 to 9999");
    r.relative = v.get<int>();
  }
  if (j.contains("distribution")) {
    const json& v = j["distribution"];
    if (!v.is_string() || (v.get<std::string>() != "block" && v.get<std::string>() != "cyclic"))
      return bad("distribution", "must be \"block\" or \"cyclic\"");
    r.cyclic = v.get<std::string>() == "cyclic";
  }
  for (auto [field, out] :
       {std::pair{"overcommit", &r.overcommit}, std::pair{"no_kill", &r.no_kill},
        std::pair{"kill_on_bad_exit", &r.kill_on_bad_exit}, std::pair{"nodes_from_env", &r.nodes_from_env}}) {
    if (!j.contains(field)) continue;
    if (!j[field].is_boolean()) return bad(field, "must be true or false");
    *out = j[field].get<bool>();
  }
  if (auto shares = read_step_shares(j, r); !shares) return tl::unexpected(shares.error());
  if (r.nodes > 0 && r.ntasks > 0 && r.nodes > r.ntasks)
    return bad("nodes", "more nodes (" + std::to_string(r.nodes) + ") than tasks (" + std::to_string(r.ntasks) + ")");
  return r;
}

}  // namespace gwang::api
