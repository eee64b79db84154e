// sbatch, as Slurm 22.05's man page describes it, on gwang's API.
#include "slurm/sbatch.h"

#include <grp.h>
#include <pwd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <thread>

#include "api/request.h"
#include "api/rlimits.h"
#include "cli/accounts.h"
#include "cli/api_call.h"
#include "cli/commands.h"
#include "cli/sbatch_job.h"
#include "cli/slurm_jobs.h"
#include "slurm/format.h"
#include "slurm/hostlist.h"

extern char** environ;

namespace gwang::cli {

namespace {

// What --export-file names: a file, or an open descriptor (a number from 3), of NAME=value
// definitions each ended by a NUL byte (so that values may hold any other character).
Result<std::vector<std::pair<std::string, std::string>>> read_export_file(const std::string& source) {
  std::string text;
  const bool descriptor = source.find_first_not_of("0123456789") == std::string::npos && source.size() < 10;
  if (descriptor) {
    const int fd = std::stoi(source);
    if (fd < 3) return fail("--export-file=" + source + ": a descriptor must be 3 or above (not the standard ones)");
    char buf[65536];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) != 0;) {
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail("--export-file=" + source + ": " + std::strerror(errno));
      text.append(buf, static_cast<std::size_t>(n));
    }
  } else {
    std::ifstream in(source, std::ios::binary);
    if (!in) return fail("--export-file=" + source + ": cannot be read");
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t start = 0, entry = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\0', start);
    if (end == std::string::npos) end = text.size();
    const std::string_view def(text.data() + start, end - start);
    ++entry;
    const std::size_t eq = def.find('=');
    if (eq == 0 || eq == std::string_view::npos) {
      return fail("--export-file=" + source + ": definition " + std::to_string(entry) + " is not NAME=value");
    }
    out.emplace_back(std::string(def.substr(0, eq)), std::string(def.substr(eq + 1)));
    start = end + 1;
  }
  return out;
}

int sbatch_error(const std::string& message) {
  std::fprintf(stderr, "sbatch: error: %s\n", message.c_str());
  return 1;
}

// A mistake in the options, said as sbatch says it: getopt's own mistakes ("unrecognized option",
// "option ... is ambiguous") with a pointer to --help, the others as errors; sbatch exits 255.
int option_error(const std::string& message) {
  const bool getopt =
      message.starts_with("unrecognized option") || message.starts_with("invalid option") ||
      (message.starts_with("option '") && message.find("not supported by gwang") == std::string::npos) ||
      message.starts_with("option requires");
  if (getopt) {
    std::fprintf(stderr, "sbatch: %s\nTry \"sbatch --help\" for more information\n", message.c_str());
  } else {
    std::fprintf(stderr, "sbatch: error: %s\n", message.c_str());
  }
  // Slurm's sbatch ends with 1 for a bad --hint (measured), 255 for its other options' mistakes.
  return message.starts_with("unrecognized --hint argument") ? 1 : 255;
}

void sbatch_usage(std::FILE* to) {
  std::fprintf(to,
               "Usage: sbatch [OPTIONS...] [script [args...]]\n"
               "\n"
               "gwang runs sbatch's options, in #SBATCH lines, SBATCH_* variables and on the command line:\n");
  std::string line = " ";
  for (const std::string& name : slurm::sbatch_option_names()) {
    if (line.size() + name.size() + 3 > 78) {
      std::fprintf(to, "%s\n", line.c_str());
      line = " ";
    }
    line += " --" + name;
  }
  std::fprintf(to,
               "%s\n"
               "Those gwang does not carry out are refused by name. See docs/slurm.md.\n",
               line.c_str());
}

// Waits for the job (every task of an array) to end; its exit code, as sbatch --wait returns.
int wait_for(const ClientArgs& client, std::int64_t first, std::size_t tasks) {
  int worst = 0;
  for (std::size_t k = 0; k < tasks; ++k) {
    const std::string path = "/api/v1/jobs/" + std::to_string(first + static_cast<std::int64_t>(k));
    for (;;) {
      int rc = 0;
      auto job = request(client, "GET", path, "", &rc);
      if (!job) return 1;
      const auto view = api::read_job_view(*job);
      if (!view) return sbatch_error("the controller's answer: " + view.error().message);
      if (view->ended()) {
        const int code = view->exit_code;
        worst = std::max(worst, view->state == api::JobState::Completed ? code : std::max(code, 1));
        break;
      }
      std::this_thread::sleep_for(std::chrono::seconds(2));
    }
  }
  return worst;
}

// The cluster a -M list names (comma-separated; "all" names every one), or Slurm's refusal.
Result<std::string> cluster_named(const ClientArgs& client, const std::string& clusters) {
  int rc = 0;
  auto config = request(client, "GET", "/api/v1/config", "", &rc);
  if (!config) return fail("the controller's configuration could not be read");
  const std::string name = config->value("cluster_name", "gwang");
  const auto lower = [](std::string text) {
    for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
  };
  bool found = false;
  for (std::size_t at = 0; at <= clusters.size();) {
    const std::size_t comma = std::min(clusters.find(',', at), clusters.size());
    const std::string one = clusters.substr(at, comma - at);
    at = comma + 1;
    if (lower(one) == lower(name) || lower(one) == "all") {
      found = true;
    } else {  // as Slurm's sbatch says each name its database does not know
      std::fprintf(stderr, "sbatch: error: No cluster '%s' known by database.\n", one.c_str());
    }
  }
  if (found) return name;
  return fail("'" + clusters +
              "' can't be reached now, or it is an invalid entry for --cluster.  Use 'sacctmgr list clusters' to see "
              "available clusters.");
}

// --spread-job: as many nodes as its tasks, its node range and its partition's nodes allow, the
// tasks spread evenly over them, into `options`; false (after saying why) where the partitions
// cannot be read.
bool spread_nodes(slurm::SbatchOptions& options) {
  ClientArgs client;
  int rc = 0;
  auto parts = request(client, "GET", "/api/v1/partitions", "", &rc);
  if (!parts) return false;
  std::int64_t nodes = 0;
  for (const auto& p : (*parts)["partitions"]) {
    const bool mine = options.partition ? p.value("name", "") == *options.partition : p.value("default", false);
    if (mine && p["nodes"].is_array()) nodes = static_cast<std::int64_t>(p["nodes"].size());
  }
  if (options.nodes) nodes = std::min(nodes, options.nodes->max);
  if (options.ntasks) nodes = std::min(nodes, *options.ntasks);
  nodes = std::max<std::int64_t>({nodes, options.nodes ? options.nodes->min : 1, 1});
  options.nodes = slurm::NodeRange{nodes, nodes};
  options.ntasks_per_node.reset();
  return true;
}

std::vector<std::pair<std::string, std::string>> environment() {
  std::vector<std::pair<std::string, std::string>> out;
  for (char** e = environ; e && *e; ++e) {
    const std::string_view kv = *e;
    const auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    out.emplace_back(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return out;
}

}  // namespace

Result<SbatchContext> local_context() {
  SbatchContext c;
  c.environment = environment();
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  c.host = host;
  errno = 0;
  const int nice = ::getpriority(PRIO_PROCESS, 0);
  c.nice = errno == 0 ? nice : 0;
  const mode_t mask = ::umask(0);
  ::umask(mask);
  c.umask = mask;
  c.rlimits = api::current_rlimits();
  std::error_code ec;
  c.cwd = std::filesystem::current_path(ec).string();
  if (ec) return fail("the current directory is not known: " + ec.message());
  return c;
}

// The user --uid names (a name or a number), for root alone, as Slurm's sbatch takes it; "" when
// not given.
Result<std::string> uid_user(const std::optional<std::string>& uid) {
  if (!uid) return std::string();
  if (::getuid() != 0) return fail("--uid only permitted by root user");
  const auto u = find_user(*uid);
  if (!u) return fail("Invalid --uid specification");
  return u->name;
}

// The group --gid names (a name or a number), for root alone, as Slurm's sbatch takes it; "" when
// not given.
Result<std::string> gid_group(const std::optional<std::string>& gid) {
  if (!gid) return std::string();
  if (::getuid() != 0) return fail("--gid only permitted by root user");
  const auto g = find_group(*gid);
  if (!g) return fail("Invalid --gid specification");
  return g->name;
}

// A job without -t: its partition's MaxTime (none is UNLIMITED, gwang's longest) into `r`; false
// (after saying why) where the partitions cannot be read.
bool partition_time(const ClientArgs& client, api::SubmitRequest& r) {
  int rc = 0;
  auto parts = request(client, "GET", "/api/v1/partitions", "", &rc);
  if (!parts) return false;
  r.time_s = kUnlimited;
  for (const auto& p : (*parts)["partitions"]) {
    const bool mine = r.partition.empty() ? p.value("default", false) : p.value("name", "") == r.partition;
    if (mine && p["max_time"].is_number()) r.time_s = p["max_time"].get<std::int64_t>();
  }
  return true;
}

int run_sbatch(const std::vector<std::string>& args) {
  auto context = local_context();
  if (!context) return sbatch_error(context.error().message);
  const auto& env = context->environment;
  slurm::Reader reader{slurm::local_clock(static_cast<std::int64_t>(std::time(nullptr))), api::kMaxArrayIndex + 1};
  auto command_line = slurm::parse_command_line(args, reader);
  if (!command_line) return option_error(command_line.error().message);
  const slurm::SbatchOptions& given = command_line->options;
  if (given.help || given.usage) {
    sbatch_usage(stdout);
    return 0;
  }
  if (given.version) {
    std::printf("gwang sbatch (options of slurm 22.05)\n");
    return 0;
  }
  std::map<std::string, std::string> env_map(env.begin(), env.end());
  auto from_env = slurm::parse_environment(env_map, reader);
  if (!from_env) return option_error(from_env.error().message);

  SbatchContext c = *context;
  std::vector<std::string> rest = command_line->rest;
  const bool wrap = given.wrap.has_value() || (from_env->wrap.has_value());
  if (wrap) {
    if (!rest.empty()) return sbatch_error("script arguments not permitted with --wrap option");
    c.script = slurm::wrap_script(given.wrap ? *given.wrap : *from_env->wrap);
    c.wrapped = true;
  } else if (rest.empty()) {
    c.script.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    c.script_file = rest.front();
    std::ifstream in(c.script_file, std::ios::binary);
    if (!in) return sbatch_error("Unable to open file " + c.script_file);
    std::stringstream text;
    text << in.rdbuf();
    c.script = text.str();
    c.args.assign(rest.begin() + 1, rest.end());
  }
  auto from_script = slurm::parse_script(c.script, c.script_file.empty() ? "(stdin)" : c.script_file, reader);
  if (!from_script) return option_error(from_script.error().message);
  slurm::SbatchOptions options = *from_script;
  options.merge(*from_env);
  options.merge(given);

  if (options.export_file) {
    auto vars = read_export_file(*options.export_file);
    if (!vars) return sbatch_error(vars.error().message);
    c.export_file = std::move(*vars);
  }
  // --uid, --gid: root submits for another user, or to run as another group (the controller
  // takes either from an operator only).
  auto as_user = uid_user(options.uid);
  auto as_group = gid_group(options.gid);
  if (!as_user || !as_group) return sbatch_error((!as_user ? as_user : as_group).error().message);
  if (options.spread_job.value_or(false) && !spread_nodes(options)) return 1;
  auto job = sbatch_request(options, c);
  if (!job) return option_error(job.error().message);
  job->request.group = *as_group;
  const bool quiet = options.quiet.value_or(false);
  if (!quiet) {
    for (const std::string& w : job->warnings) std::fprintf(stderr, "sbatch: warning: %s\n", w.c_str());
  }

  ClientArgs client;
  set_error_prefix("sbatch: error: Batch job submission failed: ");
  int rc = 0;
  if (job->partition_time) {
    // No -t: the partition's MaxTime, as Slurm gives a job without one (gwang's partitions have no
    // separate default); none is UNLIMITED, gwang's longest.
    if (!partition_time(client, job->request)) return 1;
  }
  if (options.test_only.value_or(false)) {
    auto t = request(client, "POST", "/api/v1/jobs?test_only=1" + (as_user->empty() ? "" : "&as_user=" + *as_user),
                     api::to_json(job->request), &rc);
    return t ? say_test_only("sbatch", *t) : 1;
  }
  // -M: gwang is one cluster; a list that names it (or "all") sends the job to it, as Slurm's.
  const auto cluster = options.clusters ? cluster_named(client, *options.clusters) : Result<std::string>("");
  if (!cluster) return sbatch_error(cluster.error().message);
  auto answer = request(client, "POST", "/api/v1/jobs" + (as_user->empty() ? "" : "?as_user=" + *as_user),
                        api::to_json(job->request), &rc);
  if (!answer) return 1;
  const std::int64_t id = (*answer)["id"].get<std::int64_t>();
  if (options.parsable.value_or(false)) {
    std::printf("%lld%s\n", static_cast<long long>(id), cluster->empty() ? "" : (";" + *cluster).c_str());
  } else if (!quiet) {
    std::printf("Submitted batch job %lld%s\n", static_cast<long long>(id),
                cluster->empty() ? "" : (" on cluster " + *cluster).c_str());
  }
  std::fflush(stdout);
  if (options.wait.value_or(false)) {
    return wait_for(client, id, options.array ? options.array->indices.size() : 1);
  }
  return 0;
}

}  // namespace gwang::cli
