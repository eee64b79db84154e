// gwang submit, queue, show, cancel, logs, nodes, drain, resume: clients of the HTTP API.
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "api/job_table.h"
#include "api/job_view.h"
#include "api/node_view.h"
#include "api/request.h"
#include "api/units.h"
#include "cli/api_call.h"
#include "cli/client.h"
#include "cli/commands.h"
#include "core/calendar.h"
#include "slurm/specs.h"

namespace gwang::cli {

using nlohmann::json;

namespace {
std::string& error_prefix() {
  static std::string prefix = "gwang: ";
  return prefix;
}
}  // namespace

void set_error_prefix(std::string prefix) { error_prefix() = std::move(prefix); }

ApiAnswer call_api(const ClientArgs& args, const std::string& method, const std::string& path, const std::string& body,
                   bool parse) {
  ApiAnswer out;
  auto endpoint = resolve_endpoint(args.url, args.token);
  if (!endpoint) {
    out.error = endpoint.error().message;
    out.usage = true;
    return out;
  }
  auto r = call(*endpoint, method, path, body);
  if (!r) {
    out.error = r.error().message;
    return out;
  }
  out.status = r->status;
  out.text = std::move(r->body);
  const bool success = out.status >= 200 && out.status < 300;
  if (success && !parse) return out;
  out.body = json::parse(out.text, nullptr, false);
  if (success && out.body.is_discarded()) {
    out.error = "the controller's answer is not JSON: " + out.text;
  } else if (!success) {
    out.error = out.body.is_object() && out.body.contains("error") && out.body["error"].is_string()
                    ? out.body["error"].get<std::string>()
                    : out.text;
  }
  return out;
}

std::optional<json> request(const ClientArgs& args, const std::string& method, const std::string& path,
                            const std::string& body, int* exit_code, bool raw) {
  ApiAnswer a = call_api(args, method, path, body, !raw);
  if (raw && a.status >= 200 && a.status < 300) return json(std::move(a.text));
  if (!a.ok()) {
    std::fprintf(stderr, "%s%s\n", error_prefix().c_str(), a.error.c_str());
    *exit_code = a.usage || a.status == 400 || a.status == 422 ? 2 : 1;
    return std::nullopt;
  }
  return std::move(a.body);
}

namespace {

// A job id as typed; says so on stderr when it is not one.
bool job_id_ok(const std::string& job) {
  if (!job.empty() && job.size() <= 18 && job.find_first_not_of("0123456789") == std::string::npos) return true;
  std::fprintf(stderr, "gwang: '%s' is not a job id\n", job.c_str());
  return false;
}

std::string elapsed(const api::JobView& j) {
  if (j.start_time < 0) return "0:00";
  const std::int64_t end = j.end_time < 0 ? static_cast<std::int64_t>(std::time(nullptr)) : j.end_time;
  return api::format_duration(std::max<std::int64_t>(0, end - j.start_time));
}

// What the controller answered is not what this command reads: says where, returns 1.
int unreadable(const Error& e) {
  std::fprintf(stderr, "gwang: the controller's answer: %s\n", e.message.c_str());
  return 1;
}

// Appends `text` cut to `width` bytes and padded to it on the right (printf's %-W.Ws), or, with
// `cut` false, padded only (%-Ws).
void left(std::string& out, std::string_view text, std::size_t width, bool cut = true) {
  if (cut && text.size() > width) text = text.substr(0, width);
  out.append(text);
  if (text.size() < width) out.append(width - text.size(), ' ');
}
// Appends `text` padded to `width` on the left (printf's %Ws).
void right(std::string& out, std::string_view text, std::size_t width) {
  if (text.size() < width) out.append(width - text.size(), ' ');
  out.append(text);
}

}  // namespace

std::optional<int> submit_request(const SubmitArgs& a, api::SubmitRequest& r) {
  r.name = a.name;
  r.command = a.command;
  if (r.command.size() == 1 && std::filesystem::is_regular_file(r.command[0]) &&
      r.command[0].find('/') == std::string::npos) {
    r.command[0] = "./" + r.command[0];  // a script in the current directory
  }
  std::error_code ec;
  r.workdir = a.workdir.empty() ? std::filesystem::current_path(ec).string() : a.workdir;
  for (const std::string& kv : a.env) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::fprintf(stderr, "gwang: --env '%s': expected NAME=VALUE\n", kv.c_str());
      return 2;
    }
    r.env.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  r.cpus = a.cpus;
  r.nodes = a.nodes;
  r.project = a.project;
  r.preemptible = a.preemptible;
  r.gpu_share = a.gpu_share;
  r.partition = a.partition;
  r.hold = a.hold;
  // Slurm's forms, checked here for a message before any network call.
  auto refused = [](const char* option, const Error& e) {
    std::fprintf(stderr, "gwang: %s: %s\n", option, e.message.c_str());
    return 2;
  };
  if (!a.begin.empty()) {
    auto begin = slurm::parse_begin(a.begin, slurm::local_clock(static_cast<std::int64_t>(std::time(nullptr))));
    if (!begin) return refused("--begin", begin.error());
    r.begin = *begin;
  }
  if (!a.dependency.empty()) {
    auto d = slurm::parse_dependency(a.dependency);
    if (!d) return refused("--dependency", d.error());
    r.dependency = slurm::format_dependency(*d);
  }
  if (!a.array.empty()) {
    auto arr = slurm::parse_array(a.array, api::kMaxArrayIndex + 1);
    if (!arr) return refused("--array", arr.error());
    r.array = slurm::format_array(*arr);
  }
  // The same checks as the server, here for a message before any network call.
  auto mem = api::parse_memory(a.mem);
  auto time = api::parse_duration(a.time);
  for (const Error* e : {mem ? nullptr : &mem.error(), time ? nullptr : &time.error()}) {
    if (e) {
      std::fprintf(stderr, "gwang: %s\n", e->message.c_str());
      return 2;
    }
  }
  r.mem_bytes = *mem;
  r.time_s = *time;
  if (!a.gpus.empty()) {
    auto g = api::parse_gpus(a.gpus);
    if (!g) {
      std::fprintf(stderr, "gwang: %s\n", g.error().message.c_str());
      return 2;
    }
    r.gpus = *g;
  }
  return std::nullopt;
}

int run_submit(const SubmitArgs& a) {
  api::SubmitRequest r;
  if (auto failed = submit_request(a, r)) return *failed;
  int rc = 0;
  auto job = request(a.client, "POST", "/api/v1/jobs", api::to_json(r), &rc);
  if (!job) return rc;
  if (a.client.json) {
    std::printf("%s\n", job->dump().c_str());
  } else {
    std::printf("Submitted %s %lld\n", r.array.empty() ? "job" : "job array",
                static_cast<long long>((*job)["id"].get<std::int64_t>()));
  }
  return 0;
}

int run_queue(const ClientArgs& a, bool all, bool start) {
  int rc = 0;
  if (start && !a.json) {  // squeue --start: the waiting jobs and when they are expected to start
    auto j = request(a, "GET", "/api/v1/jobs?view=summary&start=1", "", &rc);
    if (!j) return rc;
    const auto jobs = api::read_job_summaries((*j)["jobs"]);
    if (!jobs) return unreadable(jobs.error());
    std::printf("   JOBID NAME             USER       START_TIME            REASON\n");
    for (const api::JobSummary& job : *jobs) {
      if (!job.pending()) continue;
      const std::int64_t start = job.estimated_start.value_or(-1);
      const std::string at = start < 0 ? "N/A" : api::format_date(start);
      std::printf("%8lld %-16.16s %-10.10s %-21s %s\n", static_cast<long long>(job.id), job.name.c_str(),
                  job.user.c_str(), at.c_str(), job.reason.c_str());
    }
    return 0;
  }
  if (a.json) {  // the whole records, as they came
    const std::string path =
        std::string("/api/v1/jobs?view=") + (start ? "summary&start=1" : "full") + (all ? "&all=1" : "");
    auto text = request(a, "GET", path, "", &rc, true);
    if (!text) return rc;
    std::printf("%s\n", text->get_ref<const std::string&>().c_str());
    return 0;
  }
  // The table view: rows of numbers and indices into the strings they share.
  auto raw = request(a, "GET", all ? "/api/v1/jobs?all=1&view=table" : "/api/v1/jobs?view=table", "", &rc, true);
  if (!raw) return rc;
  auto table = api::read_job_table(raw->get_ref<const std::string&>());
  if (!table) return unreadable(table.error());
  const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  std::string out;
  out.reserve(112 * (table->rows.size() + 1));
  out += "   JOBID NAME             USER       STATE                TIME NODE       REASON\n";
  char id[24];
  for (const api::JobTable::Row& r : table->rows) {
    const auto n = std::to_chars(id, id + sizeof id, r.id).ptr - id;
    right(out, std::string_view(id, static_cast<std::size_t>(n)), 8);
    out += ' ';
    left(out, table->text(r.name), 16);
    out += ' ';
    left(out, table->text(r.user), 10);
    out += ' ';
    left(out, table->text(r.state), 13, false);
    out += ' ';
    right(out,
          r.start < 0 ? "0:00" : api::format_duration(std::max<std::int64_t>(0, (r.end >= 0 ? r.end : now) - r.start)),
          11);
    out += ' ';
    left(out, r.node, 10);
    out += ' ';
    out += table->text(r.reason);
    out += '\n';
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

int run_show(const ClientArgs& a, const std::string& job) {
  if (!job_id_ok(job)) return 2;
  int rc = 0;
  auto j = request(a, "GET", "/api/v1/jobs/" + job, "", &rc);
  if (!j) return rc;
  if (a.json) {
    std::printf("%s\n", j->dump().c_str());
    return 0;
  }
  const auto read = api::read_job_view(*j);
  if (!read) return unreadable(read.error());
  const api::JobView& v = *read;
  std::string command;
  for (const std::string& arg : v.command) command += (command.empty() ? "" : " ") + arg;
  std::printf("JobId=%lld Name=%s User=%s\n", static_cast<long long>(v.id), v.name.c_str(), v.user.c_str());
  std::printf("   State=%s ExitCode=%d Reason=%s\n", std::string(to_string(v.state)).c_str(), v.exit_code,
              v.reason.c_str());
  std::printf("   RunTime=%s TimeLimit=%s\n", elapsed(v).c_str(), api::format_duration(v.time_limit).c_str());
  std::printf("   NumNodes=%d CPUs/Task=%d Mem/Task=%s Node=%s Devices=%s\n", v.nodes, v.cpus,
              api::format_memory(v.mem).c_str(), v.node.c_str(), api::Json().strings(v.devices).str().c_str());
  std::printf("   Partition=%s Project=%s Preemptible=%s\n", v.partition.empty() ? "(null)" : v.partition.c_str(),
              v.project.c_str(), v.preemptible ? "yes" : "no");
  if (v.begin > 0 || !v.dependency.empty()) {
    std::printf("   BeginTime=%s Dependency=%s\n", v.begin > 0 ? api::format_date(v.begin).c_str() : "None",
                v.dependency.empty() ? "(null)" : v.dependency.c_str());
  }
  if (const auto& p = v.priority) {
    std::printf("   Priority=%lld (age %.0f + fair share %.0f + size %.0f + programme %.0f)\n",
                static_cast<long long>(p->total), p->age, p->fairshare, p->size, p->programme);
  }
  std::printf("   %s=%s\n   WorkDir=%s\n", v.batch ? "BatchScriptArgs" : "Command", command.c_str(), v.workdir.c_str());
  if (!v.output.empty() || !v.error.empty() || !v.input.empty()) {
    const std::string out = v.output.empty() ? "(controller)" : v.output;
    std::printf("   StdOut=%s StdErr=%s StdIn=%s\n", out.c_str(), v.error.empty() ? out.c_str() : v.error.c_str(),
                v.input.empty() ? "/dev/null" : v.input.c_str());
  }
  if (!v.comment.empty()) std::printf("   Comment=%s\n", v.comment.c_str());
  if (!v.session.empty()) {
    std::printf("   Session=%s (its address: gwang session open %lld)\n", v.session.c_str(),
                static_cast<long long>(v.id));
  }
  if (v.pending()) {
    // What would start it sooner; a job may have started meanwhile (then nothing is said).
    int hint_rc = 0;
    auto h = request(a, "GET", "/api/v1/jobs/" + job + "/hints", "", &hint_rc);
    if (h && h->value("waiting", false)) {
      for (const json& x : (*h)["hints"]) {
        std::printf("   StartsSooner=%s (at %s)\n", x["text"].get<std::string>().c_str(),
                    core::format_utc(x["start"].get<std::int64_t>()).c_str());
      }
    }
  }
  return 0;
}

int run_cancel(const ClientArgs& a, const std::string& job, const char* action) {
  if (!job_id_ok(job)) return 2;
  int rc = 0;
  auto j = request(a, "POST", "/api/v1/jobs/" + job + "/" + action, "", &rc);
  if (!j) return rc;
  if (a.json) std::printf("%s\n", j->dump().c_str());
  return 0;
}

int run_logs(const ClientArgs& a, const std::string& job, bool stderr_stream, bool follow, int rank) {
  if (!job_id_ok(job)) return 2;
  auto endpoint = resolve_endpoint(a.url, a.token);
  if (!endpoint) {
    std::fprintf(stderr, "gwang: %s\n", endpoint.error().message.c_str());
    return 2;
  }
  std::string offset = "0";
  while (true) {
    auto r = call(*endpoint, "GET",
                  "/api/v1/jobs/" + job + "/logs?stream=" + (stderr_stream ? "stderr" : "stdout") +
                      "&offset=" + offset + (rank > 0 ? "&rank=" + std::to_string(rank) : ""));
    if (!r) {
      std::fprintf(stderr, "gwang: %s\n", r.error().message.c_str());
      return 1;
    }
    if (r->status != 200) {
      json j = json::parse(r->body, nullptr, false);
      std::fprintf(stderr, "gwang: %s\n",
                   j.is_object() && j.contains("error") ? j["error"].get<std::string>().c_str() : r->body.c_str());
      return 1;
    }
    std::fwrite(r->body.data(), 1, r->body.size(), stdout);
    std::fflush(stdout);
    offset = r->next_offset;
    const bool ended = r->job_state != "PENDING" && r->job_state != "RUNNING";
    if (!follow || (ended && r->body.empty())) return 0;
    if (r->body.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
}

int run_nodes(const ClientArgs& a) {
  int rc = 0;
  auto body = request(a, "GET", "/api/v1/nodes", "", &rc);
  if (!body) return rc;
  if (a.json) {
    std::printf("%s\n", body->dump().c_str());
    return 0;
  }
  const auto nodes = api::read_node_views((*body)["nodes"]);
  if (!nodes) return unreadable(nodes.error());
  std::printf("%-16s %-8s %9s %15s  %s\n", "NODE", "STATE", "CPUS", "MEMORY", "DEVICES");
  for (const api::NodeView& n : *nodes) {
    std::map<std::string, int> kinds;
    for (const api::DeviceView& d : n.devices) ++kinds[d.kind];
    std::string devices;
    for (const auto& [k, c] : kinds) devices += (devices.empty() ? "" : ", ") + std::to_string(c) + "x " + k;
    const std::string cpus = std::to_string(n.cpus_used) + "/" + std::to_string(n.cpus);
    const std::string mem = api::format_memory(n.memory_used) + "/" + api::format_memory(n.memory);
    std::printf("%-16s %-8s %9s %15s  %s\n", n.name.c_str(), n.state.c_str(), cpus.c_str(), mem.c_str(),
                devices.empty() ? "-" : devices.c_str());
  }
  return 0;
}

int run_node_state(const ClientArgs& a, const std::string& node, bool drain) {
  int rc = 0;
  auto body = request(a, "POST", "/api/v1/nodes/" + node + (drain ? "/drain" : "/resume"), "", &rc);
  if (!body) return rc;
  if (a.json) std::printf("%s\n", body->dump().c_str());
  return 0;
}

}  // namespace gwang::cli
