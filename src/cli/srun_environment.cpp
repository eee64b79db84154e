// The environment srun gives a step's tasks (--export, and what srun itself tells them: its
// priority, file mode mask, limits, CPU binding and layout asked), and the job the step runs in.
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "api/rlimits.h"
#include "api/utf8.h"
#include "cli/srun_options.h"
#include "slurm/binding.h"
#include "slurm/specs.h"

extern char** environ;

namespace gwang::cli {

using nlohmann::json;

// Puts the tasks' environment into `body`: this one's (--export=ALL), or its SLURM_* variables
// alone (NONE), and the variables named; returns 1 after saying why when --export is bad.
void step_pty(const SrunOptions& o, json& body) {
  if (o.pty_rows <= 0) return;
  body["pty"] = {{"rows", o.pty_rows}, {"cols", o.pty_cols}};
  body["env"]["SLURM_PTY_WIN_ROW"] = std::to_string(o.pty_rows);
  body["env"]["SLURM_PTY_WIN_COL"] = std::to_string(o.pty_cols);
}

std::optional<int> step_environment(const SrunOptions& o, json& body) {
  slurm::ExportSpec exports;
  if (auto it = o.given.find("export"); it != o.given.end()) {
    auto e = slurm::parse_export(it->second.text);
    if (!e) {  // the message names --export; an environment variable's value says which one too
      return srun_error(it->second.from == "--export" ? e.error().message : it->second.from + ": " + e.error().message);
    }
    exports = *e;
  }
  json vars = json::object();
  for (char** e = environ; e && *e; ++e) {
    const std::string_view kv = *e;
    const auto eq = kv.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    const std::string key(kv.substr(0, eq));
    if (!exports.all && !key.starts_with("SLURM_")) continue;
    const std::string value(kv.substr(eq + 1));
    if (!api::valid_utf8(value)) {
      if (!o.quiet) {
        std::fprintf(stderr, "srun: Warning: %s is not valid UTF-8; the tasks do not get it\n", key.c_str());
      }
      continue;
    }
    vars[key] = value;
  }
  for (const auto& [var, value] : exports.vars) {
    if (value) {
      vars[var] = *value;
    } else if (const char* v = std::getenv(var.c_str())) {
      vars[var] = v;
    }
  }
  // What srun itself tells its tasks, as Slurm's does: its scheduling priority, its file mode
  // mask (which the tasks start with), its log level, and the layout it asked for.
  errno = 0;
  const int nice = ::getpriority(PRIO_PROCESS, 0);
  vars["SLURM_PRIO_PROCESS"] = std::to_string(errno == 0 ? nice : 0);
  const mode_t mask = ::umask(0);
  ::umask(mask);
  vars["SLURM_UMASK"] = slurm::umask_text(mask);
  vars["SRUN_DEBUG"] = std::to_string(o.log_level);
  // Its resource limits, which the tasks start with (Slurm's PropagateResourceLimits=ALL).
  for (const auto& [name, value] : api::current_rlimits()) {
    if (o.propagate && std::find(o.propagate->begin(), o.propagate->end(), name) == o.propagate->end()) continue;
    vars[api::kRlimitPrefix + name] = std::to_string(value);
  }
  // The CPU binding asked for, as Slurm's srun tells its tasks (nothing for a bare "quiet").
  if (auto it = o.given.find("cpu_bind"); it != o.given.end()) {
    if (auto bind = slurm::parse_cpu_bind(it->second.text); bind && (bind->verbose || !bind->type.empty())) {
      // Slurm 22.05's own forms, quirks and all: a map's or mask's list (masks without "0x"), or
      // else the whole value as given ("" for none), after the type in SLURM_CPU_BIND.
      const bool listed = !bind->list.empty();
      std::string list = listed ? bind->list : bind->type == "none" ? "" : it->second.text;
      if (listed && bind->type.starts_with("mask_")) {
        for (std::size_t at;
             (at = list.find("0x")) != std::string::npos || (at = list.find("0X")) != std::string::npos;)
          list.erase(at, 2);
      }
      const std::string type = bind->type + (listed ? ":" : "");
      const std::string verbosity = bind->verbose ? "verbose" : "quiet";
      vars["SLURM_CPU_BIND_VERBOSE"] = verbosity;
      vars["SLURM_CPU_BIND_TYPE"] = type;
      vars["SLURM_CPU_BIND_LIST"] = list;
      vars["SLURM_CPU_BIND"] = verbosity + (type.empty() ? "" : "," + type + list);
    }
  }
  // The layout asked for; without one, the controller says which its layout was.
  if (auto d = o.given.find("distribution"); d != o.given.end()) vars["SLURM_DISTRIBUTION"] = d->second.text;
  body["env"] = std::move(vars);
  return std::nullopt;
}

// The id of the job the step runs in ("123" of "123.4"); nothing after saying why there is none.
std::optional<std::string> step_job_id(const SrunOptions& o) {
  auto job = o.given.find("jobid");
  assert(job != o.given.end());  // outside a job, srun makes an allocation instead
  std::string id = job->second.text.substr(0, job->second.text.find('.'));
  if (!positive(id)) {
    srun_error("invalid job id '" + job->second.text + "' (from " + job->second.from + ")");
    return std::nullopt;
  }
  return id;
}

}  // namespace gwang::cli
