#include "slurm/sbatch.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>

#include "slurm/binding.h"
#include "slurm/cpufreq.h"
#include "slurm/features.h"
#include "slurm/mail.h"
#include "slurm/membind.h"
#include "slurm/signals.h"

namespace gwang::slurm {

namespace {

enum class Arg { None, Required, Optional };

struct OptionDef {
  const char* name;
  char letter;  // 0: none
  Arg arg;
  bool supported;
};

// sbatch 22.05's options, in its man page's order (and --ntasks-per-tres, which it also takes).
constexpr OptionDef kOptions[] = {
    {"account", 'A', Arg::Required, true},
    {"acctg-freq", 0, Arg::Required, true},
    {"array", 'a', Arg::Required, true},
    {"batch", 0, Arg::Required, true},
    {"bb", 0, Arg::Required, false},
    {"bbf", 0, Arg::Required, false},
    {"begin", 'b', Arg::Required, true},
    {"chdir", 'D', Arg::Required, true},
    {"cluster-constraint", 0, Arg::Required, false},
    {"clusters", 'M', Arg::Required, true},
    {"comment", 0, Arg::Required, true},
    {"constraint", 'C', Arg::Required, true},
    {"container", 0, Arg::Required, false},
    {"contiguous", 0, Arg::None, true},
    {"core-spec", 'S', Arg::Required, true},
    {"cores-per-socket", 0, Arg::Required, true},
    {"cpu-freq", 0, Arg::Required, true},
    {"cpus-per-gpu", 0, Arg::Required, true},
    {"cpus-per-task", 'c', Arg::Required, true},
    {"deadline", 0, Arg::Required, true},
    {"delay-boot", 0, Arg::Required, true},
    {"dependency", 'd', Arg::Required, true},
    {"distribution", 'm', Arg::Required, true},
    {"error", 'e', Arg::Required, true},
    {"exclude", 'x', Arg::Required, true},
    {"exclusive", 0, Arg::Optional, true},
    {"export", 0, Arg::Required, true},
    {"export-file", 0, Arg::Required, true},
    {"extra-node-info", 'B', Arg::Required, true},
    {"get-user-env", 0, Arg::Optional, true},
    {"gid", 0, Arg::Required, true},
    {"gpu-bind", 0, Arg::Required, true},
    {"gpu-freq", 0, Arg::Required, true},
    {"gpus", 'G', Arg::Required, true},
    {"gpus-per-node", 0, Arg::Required, true},
    {"gpus-per-socket", 0, Arg::Required, false},
    {"gpus-per-task", 0, Arg::Required, true},
    {"gres", 0, Arg::Required, true},
    {"gres-flags", 0, Arg::Required, true},
    {"help", 'h', Arg::None, true},
    {"hint", 0, Arg::Required, true},
    {"hold", 'H', Arg::None, true},
    {"ignore-pbs", 0, Arg::None, true},
    {"input", 'i', Arg::Required, true},
    {"job-name", 'J', Arg::Required, true},
    {"kill-on-invalid-dep", 0, Arg::Required, true},
    {"licenses", 'L', Arg::Required, true},
    {"mail-type", 0, Arg::Required, true},
    {"mail-user", 0, Arg::Required, true},
    {"mcs-label", 0, Arg::Required, true},
    {"mem", 0, Arg::Required, true},
    {"mem-bind", 0, Arg::Required, true},
    {"mem-per-cpu", 0, Arg::Required, true},
    {"mem-per-gpu", 0, Arg::Required, true},
    {"mincpus", 0, Arg::Required, true},
    {"network", 0, Arg::Required, true},
    {"nice", 0, Arg::Optional, true},
    {"no-kill", 'k', Arg::Optional, true},
    {"no-requeue", 0, Arg::None, true},
    {"nodefile", 'F', Arg::Required, true},
    {"nodelist", 'w', Arg::Required, true},
    {"nodes", 'N', Arg::Required, true},
    {"ntasks", 'n', Arg::Required, true},
    {"ntasks-per-core", 0, Arg::Required, true},
    {"ntasks-per-gpu", 0, Arg::Required, true},
    {"ntasks-per-node", 0, Arg::Required, true},
    {"ntasks-per-socket", 0, Arg::Required, true},
    {"ntasks-per-tres", 0, Arg::Required, true},
    {"open-mode", 0, Arg::Required, true},
    {"output", 'o', Arg::Required, true},
    {"overcommit", 'O', Arg::None, true},
    {"oversubscribe", 's', Arg::None, true},
    {"parsable", 0, Arg::None, true},
    {"partition", 'p', Arg::Required, true},
    {"power", 0, Arg::Required, true},
    {"prefer", 0, Arg::Required, true},
    {"priority", 0, Arg::Required, true},
    {"profile", 0, Arg::Required, true},
    {"propagate", 0, Arg::Optional, true},
    {"qos", 'q', Arg::Required, true},
    {"quiet", 'Q', Arg::None, true},
    {"reboot", 0, Arg::None, true},
    {"requeue", 0, Arg::None, true},
    {"reservation", 0, Arg::Required, false},
    {"signal", 0, Arg::Required, true},
    {"sockets-per-node", 0, Arg::Required, true},
    {"spread-job", 0, Arg::None, true},
    {"switches", 0, Arg::Required, true},
    {"test-only", 0, Arg::None, true},
    {"thread-spec", 0, Arg::Required, true},
    {"threads-per-core", 0, Arg::Required, true},
    {"time", 't', Arg::Required, true},
    {"time-min", 0, Arg::Required, true},
    {"tmp", 0, Arg::Required, true},
    {"uid", 0, Arg::Required, true},
    {"usage", 'u', Arg::None, true},
    {"use-min-nodes", 0, Arg::None, true},
    {"verbose", 'v', Arg::None, true},
    {"version", 'V', Arg::None, true},
    {"wait", 'W', Arg::None, true},
    {"wait-all-nodes", 0, Arg::Required, true},
    {"wckey", 0, Arg::Required, true},
    {"wrap", 0, Arg::Required, true},
};

const OptionDef* by_letter(char c) {
  for (const OptionDef& o : kOptions) {
    if (o.letter == c) return &o;
  }
  return nullptr;
}

// getopt_long's matching: an exact name, else the one name it begins.
Result<const OptionDef*> by_name(std::string_view name) {
  std::vector<const OptionDef*> matches;
  if (name.empty()) return fail("unrecognized option '--'");
  for (const OptionDef& o : kOptions) {
    if (name == o.name) return &o;
    if (std::string_view(o.name).starts_with(name)) matches.push_back(&o);
  }
  if (matches.size() == 1) return matches.front();
  if (matches.empty()) return fail("unrecognized option '--" + std::string(name) + "'");
  std::string list;
  for (const OptionDef* o : matches) list += " '--" + std::string(o->name) + "'";
  return fail("option '--" + std::string(name) + "' is ambiguous; possibilities:" + list);
}

// One option's value into `o`.
Result<void> apply(SbatchOptions& o, const OptionDef& def, const std::optional<std::string>& value,
                   const Reader& reader) {
  const std::string name = def.name;
  if (!def.supported) return fail("option '--" + name + "' is not supported by gwang");
  const std::string v = value.value_or("");
  auto text = [&](std::optional<std::string>& field) -> Result<void> {
    if (v.empty()) return fail("--" + name + " needs a value");
    field = v;
    return {};
  };
  auto with = [&](auto parsed, auto& field) -> Result<void> {
    if (!parsed) return fail("--" + name + ": " + parsed.error().message);
    field = std::move(*parsed);
    return {};
  };
  if (name == "account") return text(o.account);
  if (name == "array") return with(parse_array(v, reader.max_array_size), o.array);
  if (name == "begin") return with(parse_begin(v, reader.clock), o.begin);
  if (name == "deadline") return with(parse_begin(v, reader.clock), o.deadline);  // --begin's forms
  if (name == "chdir") return text(o.chdir);
  if (name == "comment") return text(o.comment);
  if (name == "licenses") return text(o.licenses);  // the controller checks it, as Slurm's
  if (name == "nodelist") return text(o.nodelist);
  if (name == "nodefile") return text(o.nodefile);
  if (name == "exclude") return text(o.exclude);
  if (name == "mail-type") return with(parse_mail_type(v), o.mail_type);
  if (name == "uid") return text(o.uid);
  if (name == "gid") return text(o.gid);            // likewise            // the command checks and resolves it
  if (name == "clusters") return text(o.clusters);  // likewise, against the cluster's name
  if (name == "constraint" || name == "prefer") {
    auto ways = parse_constraint(v, "--" + name);
    if (!ways) return fail(ways.error().message);
    return text(name == "constraint" ? o.constraint : o.prefer);
  }
  if (name == "batch") {
    auto clauses = parse_feature_list(v);
    if (!clauses) return fail(clauses.error().message);
    return text(o.batch_features);
  }
  if (name == "tmp") return with(parse_slurm_memory(v), o.tmp);
  if (name == "gpu-bind") {
    auto bind = parse_gpu_bind(v);
    if (!bind) return fail(bind.error().message);
    return text(o.gpu_bind);
  }
  if (name == "cpu-freq") {  // Slurm's two lines for a bad one
    auto freq = parse_cpu_freq(v);
    if (!freq) return fail(freq.error().message + "\nsbatch: error: Invalid --cpu-freq argument");
    o.cpu_freq = cpu_freq_text(*freq);
    return {};
  }
  if (name == "gpu-freq") {
    if (auto freq = parse_gpu_freq(v); !freq) return fail(freq.error().message);
    return text(o.gpu_freq);
  }
  if (name == "mem-bind") {
    if (v == "help") return fail(std::string(mem_bind_help()));
    auto bind = parse_mem_bind(v);
    if (!bind) return fail(bind.error().message);
    return text(o.mem_bind);
  }
  if (name == "core-spec") return with(parse_count(v, "--core-spec", 65535), o.core_spec);
  if (name == "thread-spec") return with(parse_count(v, "--thread-spec", 65535), o.thread_spec);
  if (name == "gres-flags") {
    if (v == "disable-binding") return o.gpu_binding_disabled = true, Result<void>{};
    if (v == "enforce-binding")
      return fail(
          "--gres-flags=enforce-binding: gwang picks a task's CPUs near its GPUs first, but does not hold a "
          "job back until only those are free");
    return fail("--gres-flags: '" + v + "' is neither disable-binding nor enforce-binding");
  }
  if (name == "spread-job") return o.spread_job = true, Result<void>{};
  if (name == "contiguous") return o.contiguous = true, Result<void>{};
  if (name == "hint") return text(o.hint);  // the command checks it, as Slurm's sbatch (exit status 1)
  if (name == "ntasks-per-core") return with(parse_count(v, "--ntasks-per-core", 65535), o.ntasks_per_core);
  if (name == "ntasks-per-socket") return with(parse_count(v, "--ntasks-per-socket", 65535), o.ntasks_per_socket);
  if (name == "threads-per-core") {  // nodes with as many, and as many of each core's used
    auto r = with(parse_count(v, "--threads-per-core", 65535), o.threads_used);
    if (r) o.threads_per_core = o.threads_used;
    return r;
  }
  if (name == "no-kill") {  // Slurm's words for a value it does not take
    if (!value || lower(v) == "set") return o.no_kill = true, Result<void>{};
    if (lower(v) == "off" || lower(v) == "no") return o.no_kill = false, Result<void>{};
    return fail("Invalid --no-kill specification");
  }
  if (name == "exclusive") {
    // Whole nodes. Sharing a node with one's own jobs only (=user) or with jobs of one's MCS label
    // (=mcs) is not offered: gwang keeps a node whole or shares it.
    if (value && (v == "user" || v == "mcs"))
      return fail("--exclusive=" + v + ": gwang keeps whole nodes for a job (--exclusive), not for a user or a label");
    if (value && v != "exclusive") return fail("--exclusive: '" + v + "' is not one of user, mcs");
    return o.exclusive = true, Result<void>{};
  }
  if (name == "sockets-per-node") return with(parse_count(v, "--sockets-per-node", 65535), o.sockets_per_node);
  if (name == "cores-per-socket") return with(parse_count(v, "--cores-per-socket", 65535), o.cores_per_socket);
  if (name == "extra-node-info") {
    // S[:C[:T]], each a count or * (any).
    std::optional<std::int64_t>* fields[] = {&o.sockets_per_node, &o.cores_per_socket, &o.threads_per_core};
    std::size_t at = 0;
    for (std::optional<std::int64_t>* field : fields) {
      const std::size_t colon = std::min(v.find(':', at), v.size());
      const std::string part = v.substr(at, colon - at);
      if (part != "*") {
        auto n = parse_count(part, "-B", 65535);
        if (!n) return fail("-B " + v + ": expected SOCKETS[:CORES[:THREADS]], each a count or *");
        *field = *n;
      }
      if (colon == v.size()) return {};
      at = colon + 1;
    }
    return fail("-B " + v + ": expected SOCKETS[:CORES[:THREADS]], each a count or *");
  }
  if (name == "nice") {
    // Slurm's range, and its default adjustment when none is given.
    const std::string n = value ? v : "100";
    char* end = nullptr;
    errno = 0;
    const long long adj = std::strtoll(n.c_str(), &end, 10);
    if (n.empty() || *end != '\0' || errno != 0 || adj < -2147483645LL || adj > 2147483645LL)
      return fail("Invalid nice value, must be between -2147483645 and 2147483645");
    o.nice = adj;
    return {};
  }
  if (name == "priority") {
    if (v == "TOP" || v == "top") return o.priority = 4294967294LL, Result<void>{};
    char* end = nullptr;
    errno = 0;
    const long long p = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || errno != 0 || p < 0 || p > 4294967294LL)
      return fail("Invalid --priority specification '" + v + "': expected 0 to 4294967294 or TOP");
    o.priority = p;
    return {};
  }
  if (name == "kill-on-invalid-dep") {
    std::string word = v;
    for (char& ch : word) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (word != "yes" && word != "no") return fail("Invalid --kill-on-invalid-dep specification");
    o.kill_on_invalid_dep = word == "yes";
    return {};
  }
  if (name == "signal") {
    auto spec = parse_signal_spec(v, true);
    if (!spec) return fail(spec.error().message);  // Slurm's words, without the option's name
    o.signal = format_signal_spec(*spec);
    return {};
  }
  if (name == "mail-user") {
    if (!mail_user_ok(v)) return fail("--mail-user: '" + v + "': expected an address or a user name (no blanks)");
    return text(o.mail_user);
  }
  if (name == "cpus-per-task") return with(parse_count(v, "--cpus-per-task", 4096), o.cpus_per_task);
  if (name == "dependency") return with(parse_dependency(v), o.dependency);
  if (name == "error") return text(o.error);
  if (name == "export") return with(parse_export(v), o.export_env);
  if (name == "export-file") {
    if (v.empty()) return fail("--export-file: expected a file name or a file descriptor number");
    return text(o.export_file);
  }
  if (name == "ignore-pbs") return {};  // gwang reads no #PBS directives in any case
  if (name == "propagate") return with(parse_propagate(v), o.propagate);
  if (name == "cpus-per-gpu") return with(parse_count(v, "--cpus-per-gpu", 4096), o.cpus_per_gpu);
  if (name == "mem-per-gpu") {
    auto r = with(parse_slurm_memory(v), o.mem_per_gpu);
    if (r) o.mem_per_node.reset(), o.mem_per_cpu.reset();
    return r;
  }
  if (name == "mincpus") return with(parse_count(v, "--mincpus", 4096), o.mincpus);
  if (name == "overcommit") return o.overcommit = true, Result<void>{};
  if (name == "use-min-nodes") return o.use_min_nodes = true, Result<void>{};
  if (name == "distribution") {
    // The layout of the job's steps (srun's default): block or cyclic, as gwang's srun lays them.
    const std::string first = v.substr(0, v.find_first_of(":,"));
    if (first != "block" && first != "cyclic") {
      return fail("--distribution=" + v + ": gwang lays tasks out by block or cyclic");
    }
    return text(o.distribution);
  }
  // Nodes here are ready when they are allocated: none boots for a job, none is rebooted (which
  // Slurm, where it cannot reboot, also leaves undone without a word).
  if (name == "wait-all-nodes") {
    if (v != "0" && v != "1") return fail("--wait-all-nodes: '" + v + "' is neither 0 nor 1");
    return {};
  }
  if (name == "delay-boot") {
    auto t = parse_time_limit(v);
    return t ? Result<void>{} : fail("--delay-boot: " + t.error().message);
  }
  if (name == "reboot") return {};
  // Taken and not used, as Slurm with gwang's configuration takes them: partitions that never
  // over-subscribe (OverSubscribe=NO), nothing sampled (JobAcctGatherType and AcctGatherProfileType
  // none), no interconnect of the job's own (switch/none), a flat network (topology/none: every
  // job's nodes are under one switch), no power management, no workload keys tracked
  // (TrackWCKey=No), no MCS labels checked (MCSPlugin=mcs/none).
  if (name == "oversubscribe") return {};
  if (name == "acctg-freq" || name == "network" || name == "power" || name == "wckey" || name == "mcs-label") {
    if (v.empty()) return fail("--" + name + " needs a value");
    return {};
  }
  if (name == "profile") {
    for (std::size_t at = 0; at <= v.size();) {
      const std::size_t comma = std::min(v.find(',', at), v.size());
      const std::string p = v.substr(at, comma - at);
      at = comma + 1;
      std::string lower(p);
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lower != "all" && lower != "none" && lower != "energy" && lower != "task" && lower != "lustre" &&
          lower != "network") {
        return fail("--profile: '" + p + "' is not one of all, none, energy, task, lustre, network");
      }
    }
    return {};
  }
  if (name == "switches") {
    const std::string count = v.substr(0, v.find('@'));
    if (count.empty() || count.find_first_not_of("0123456789") != std::string::npos) {
      return fail("--switches: '" + v + "': expected a count of switches[@max-time]");
    }
    if (v.find('@') != std::string::npos) {
      auto t = parse_time_limit(v.substr(v.find('@') + 1));
      if (!t) return fail("--switches: " + t.error().message);
    }
    return {};
  }
  if (name == "gpus") return with(parse_gpu_counts(v), o.gpus);
  if (name == "gpus-per-node") return with(parse_gpu_counts(v), o.gpus_per_node);
  if (name == "gpus-per-task") return with(parse_gpu_counts(v), o.gpus_per_task);
  if (name == "gres") {
    if (v == "help") return fail("--gres=help: gwang's generic resources are gpu[:MODEL] and npu[:FAMILY]");
    return with(parse_gres(v), o.gres);
  }
  if (name == "get-user-env") {
    // [timeout][mode]: seconds, then L (a login shell's environment) or S; gwang's login shell
    // runs in the job itself, where its time limit bounds it.
    const std::size_t digits = v.find_first_not_of("0123456789");
    const std::string mode = digits == std::string::npos ? "" : v.substr(digits);
    if (mode != "" && mode != "L" && mode != "S") {
      return fail("--get-user-env: '" + v + "': expected [TIMEOUT][L|S], e.g. 10L");
    }
    return o.get_user_env = true, Result<void>{};
  }
  if (name == "help") return o.help = true, Result<void>{};
  if (name == "hold") return o.hold = true, Result<void>{};
  if (name == "input") return text(o.input);
  if (name == "job-name") return text(o.job_name);
  if (name == "mem") {
    auto r = with(parse_slurm_memory(v), o.mem_per_node);
    if (r) o.mem_per_cpu.reset(), o.mem_per_gpu.reset();
    return r;
  }
  if (name == "mem-per-cpu") {
    auto r = with(parse_slurm_memory(v), o.mem_per_cpu);
    if (r) o.mem_per_node.reset(), o.mem_per_gpu.reset();
    return r;
  }
  if (name == "no-requeue") return o.requeue = false, Result<void>{};
  if (name == "nodes") return with(parse_node_range(v), o.nodes);
  if (name == "ntasks") return with(parse_count(v, "--ntasks"), o.ntasks);
  if (name == "ntasks-per-gpu" || name == "ntasks-per-tres")
    return with(parse_count(v, "--" + name, 4096), o.ntasks_per_gpu);
  if (name == "ntasks-per-node") return with(parse_count(v, "--ntasks-per-node", 4096), o.ntasks_per_node);
  if (name == "open-mode") {
    if (v != "append" && v != "truncate" && v != "a" && v != "t") {
      return fail("--open-mode: '" + v + "' is neither append nor truncate");
    }
    o.open_mode = v.front() == 'a' ? "append" : "truncate";
    return {};
  }
  if (name == "output") return text(o.output);
  if (name == "parsable") return o.parsable = true, Result<void>{};
  if (name == "partition") return text(o.partition);
  if (name == "qos") return text(o.qos);
  if (name == "quiet") return o.quiet = true, Result<void>{};
  if (name == "requeue") return o.requeue = true, Result<void>{};
  if (name == "test-only") return o.test_only = true, Result<void>{};
  if (name == "time") return with(parse_time_limit(v), o.time);
  if (name == "time-min") return with(parse_time_limit(v), o.time_min);
  if (name == "usage") return o.usage = true, Result<void>{};
  if (name == "verbose") return ++o.verbose, Result<void>{};
  if (name == "version") return o.version = true, Result<void>{};
  if (name == "wait") return o.wait = true, Result<void>{};
  if (name == "wrap") return text(o.wrap);
  return fail("option '--" + name + "' is not supported by gwang");
}

// getopt_long over `args` from `start`; stops at the first argument that is not an option when
// `stop_at_operand` (sbatch's "+"), else refuses it. Returns the index where it stopped.
Result<std::size_t> read_options(const std::vector<std::string>& args, SbatchOptions& into, const Reader& reader,
                                 bool stop_at_operand, std::size_t* failed_at = nullptr) {
  std::size_t i = 0;
  while (i < args.size()) {
    if (failed_at) *failed_at = i;
    const std::string& a = args[i];
    if (a == "--") return i + 1;
    if (a.size() < 2 || a[0] != '-') {
      if (stop_at_operand) return i;
      return fail("invalid directive '" + a + "': expected an option such as --time=10");
    }
    ++i;
    if (a[1] == '-') {
      const std::size_t eq = a.find('=');
      auto def = by_name(std::string_view(a).substr(2, eq == std::string::npos ? std::string::npos : eq - 2));
      if (!def) return tl::unexpected(def.error());
      std::optional<std::string> value;
      if (eq != std::string::npos) {
        if ((*def)->arg == Arg::None)
          return fail("option '--" + std::string((*def)->name) + "' doesn't allow an argument");
        value = a.substr(eq + 1);
      } else if ((*def)->arg == Arg::Required) {
        if (i == args.size()) return fail("option '--" + std::string((*def)->name) + "' requires an argument");
        value = args[i++];
      }
      if (auto r = apply(into, **def, value, reader); !r) return tl::unexpected(r.error());
      continue;
    }
    // Short options, possibly run together: "-HQ", "-N2", "-t 10".
    for (std::size_t k = 1; k < a.size(); ++k) {
      const OptionDef* def = by_letter(a[k]);
      if (!def) return fail(std::string("invalid option -- '") + a[k] + "'");
      std::optional<std::string> value;
      if (def->arg != Arg::None) {
        if (k + 1 < a.size()) {
          value = a.substr(k + 1);
        } else if (def->arg == Arg::Required) {
          if (i == args.size()) return fail(std::string("option requires an argument -- '") + a[k] + "'");
          value = args[i++];
        }
        k = a.size();
      }
      if (auto r = apply(into, *def, value, reader); !r) return tl::unexpected(r.error());
    }
  }
  return i;
}

// sbatch's splitting of a directive line: white space separates, quotes group (and go), and a
// '#' outside quotes ends the line. A backslash is an ordinary character, as in sbatch.
Result<std::vector<std::string>> split_directive(std::string_view line) {
  std::vector<std::string> out;
  std::size_t i = 0;
  for (;;) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    if (i == line.size()) return out;
    std::string arg;
    char quote = 0;
    bool comment = false;
    for (; i < line.size() && (quote || !std::isspace(static_cast<unsigned char>(line[i]))); ++i) {
      const char c = line[i];
      if (quote) {
        if (c == quote) {
          quote = 0;
        } else {
          arg += c;
        }
      } else if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == '#') {
        comment = true;
        break;
      } else {
        arg += c;
      }
    }
    if (quote) return fail(std::string("unmatched ") + quote);
    if (!arg.empty()) out.push_back(std::move(arg));
    if (comment) return out;
  }
}

}  // namespace

void SbatchOptions::merge(const SbatchOptions& over) {
  auto take = [](auto& mine, const auto& theirs) {
    if (theirs) mine = theirs;
  };
  take(account, over.account);
  take(array, over.array);
  take(begin, over.begin);
  take(deadline, over.deadline);
  take(time_min, over.time_min);
  take(chdir, over.chdir);
  take(comment, over.comment);
  take(nodelist, over.nodelist);
  take(nodefile, over.nodefile);
  take(exclude, over.exclude);
  take(mail_type, over.mail_type);
  take(mail_user, over.mail_user);
  take(signal, over.signal);
  take(kill_on_invalid_dep, over.kill_on_invalid_dep);
  take(uid, over.uid);
  take(gid, over.gid);
  take(clusters, over.clusters);
  take(constraint, over.constraint);
  take(prefer, over.prefer);
  take(batch_features, over.batch_features);
  take(tmp, over.tmp);
  take(nice, over.nice);
  take(priority, over.priority);
  take(sockets_per_node, over.sockets_per_node);
  take(cores_per_socket, over.cores_per_socket);
  take(threads_per_core, over.threads_per_core);
  take(exclusive, over.exclusive);
  take(spread_job, over.spread_job);
  take(contiguous, over.contiguous);
  take(licenses, over.licenses);
  take(no_kill, over.no_kill);
  take(hint, over.hint);
  take(ntasks_per_core, over.ntasks_per_core);
  take(ntasks_per_socket, over.ntasks_per_socket);
  take(threads_used, over.threads_used);
  take(gpu_binding_disabled, over.gpu_binding_disabled);
  take(core_spec, over.core_spec);
  take(thread_spec, over.thread_spec);
  take(gpu_bind, over.gpu_bind);
  take(mem_bind, over.mem_bind);
  take(cpu_freq, over.cpu_freq);
  take(gpu_freq, over.gpu_freq);
  take(ntasks_per_gpu, over.ntasks_per_gpu);
  take(cpus_per_task, over.cpus_per_task);
  take(dependency, over.dependency);
  take(error, over.error);
  take(export_env, over.export_env);
  take(get_user_env, over.get_user_env);
  take(export_file, over.export_file);
  take(propagate, over.propagate);
  take(cpus_per_gpu, over.cpus_per_gpu);
  take(mincpus, over.mincpus);
  take(overcommit, over.overcommit);
  take(use_min_nodes, over.use_min_nodes);
  take(distribution, over.distribution);
  take(gpus, over.gpus);
  take(gpus_per_node, over.gpus_per_node);
  take(gpus_per_task, over.gpus_per_task);
  take(gres, over.gres);
  take(hold, over.hold);
  take(input, over.input);
  take(job_name, over.job_name);
  if (over.mem_per_node || over.mem_per_cpu || over.mem_per_gpu) {  // one of them, whichever the later source gave
    mem_per_node = over.mem_per_node;
    mem_per_cpu = over.mem_per_cpu;
    mem_per_gpu = over.mem_per_gpu;
  }
  take(nodes, over.nodes);
  take(ntasks, over.ntasks);
  take(ntasks_per_node, over.ntasks_per_node);
  take(open_mode, over.open_mode);
  take(output, over.output);
  take(partition, over.partition);
  take(qos, over.qos);
  take(requeue, over.requeue);
  take(time, over.time);
  take(wrap, over.wrap);
  take(parsable, over.parsable);
  take(test_only, over.test_only);
  take(quiet, over.quiet);
  take(wait, over.wait);
  take(help, over.help);
  take(usage, over.usage);
  take(version, over.version);
  verbose += over.verbose;
}

Result<CommandLine> parse_command_line(const std::vector<std::string>& args, const Reader& reader) {
  CommandLine out;
  auto stop = read_options(args, out.options, reader, true);
  if (!stop) return tl::unexpected(stop.error());
  out.rest.assign(args.begin() + static_cast<std::ptrdiff_t>(*stop), args.end());
  return out;
}

Result<SbatchOptions> parse_environment(const std::map<std::string, std::string>& env, const Reader& reader) {
  static const std::pair<const char*, const char*> kVars[] = {
      {"SBATCH_ACCOUNT", "account"},
      {"SBATCH_ARRAY_INX", "array"},
      {"SBATCH_ERROR", "error"},
      {"SBATCH_EXPORT", "export"},
      {"SBATCH_GET_USER_ENV", "get-user-env"},
      {"SBATCH_CPUS_PER_GPU", "cpus-per-gpu"},
      {"SBATCH_DELAY_BOOT", "delay-boot"},
      {"SBATCH_DISTRIBUTION", "distribution"},
      {"SBATCH_IGNORE_PBS", "ignore-pbs"},
      {"SBATCH_MEM_PER_GPU", "mem-per-gpu"},
      {"SBATCH_OVERCOMMIT", "overcommit"},
      {"SBATCH_USE_MIN_NODES", "use-min-nodes"},
      {"SBATCH_WAIT_ALL_NODES", "wait-all-nodes"},
      {"SBATCH_GPUS", "gpus"},
      {"SBATCH_GPUS_PER_NODE", "gpus-per-node"},
      {"SBATCH_GPUS_PER_TASK", "gpus-per-task"},
      {"SBATCH_GRES", "gres"},
      {"SBATCH_INPUT", "input"},
      {"SBATCH_JOB_NAME", "job-name"},
      {"SBATCH_MEM_PER_CPU", "mem-per-cpu"},
      {"SBATCH_MEM_PER_NODE", "mem"},
      {"SBATCH_NO_KILL", "no-kill"},
      {"SBATCH_NO_REQUEUE", "no-requeue"},
      {"SBATCH_OPEN_MODE", "open-mode"},
      {"SBATCH_OUTPUT", "output"},
      {"SBATCH_PARTITION", "partition"},
      {"SBATCH_QOS", "qos"},
      {"SBATCH_REQUEUE", "requeue"},
      {"SBATCH_SIGNAL", "signal"},
      {"SBATCH_CLUSTERS", "clusters"},
      {"SBATCH_CONSTRAINT", "constraint"},
      {"SBATCH_NTASKS_PER_GPU", "ntasks-per-gpu"},
      {"SBATCH_TIMELIMIT", "time"},
      {"SBATCH_WAIT", "wait"},
      {"SBATCH_DEBUG", "verbose"},
  };
  SbatchOptions out;
  for (const auto& [var, option] : kVars) {
    auto it = env.find(var);
    if (it == env.end()) continue;
    auto def = by_name(option);
    std::optional<std::string> value;
    if ((*def)->arg != Arg::None) value = it->second;
    if (auto r = apply(out, **def, value, reader); !r) return fail(std::string(var) + ": " + r.error().message);
  }
  return out;
}

Result<SbatchOptions> parse_script(std::string_view script, std::string_view file, const Reader& reader) {
  const std::string name(file);
  if (script.empty()) return fail(name + ": the batch script is empty");
  if (script.find('\0') != std::string_view::npos) {
    return fail(name + ": the batch script holds a NUL character ('\\0')");
  }
  if (script.find("\r\n") != std::string_view::npos) {
    return fail(name + ": the batch script has DOS line breaks (\\r\\n) instead of UNIX line breaks (\\n)");
  }
  if (!script.starts_with("#!")) {
    return fail(name +
                ": this does not look like a batch script: the first line must start with #! followed by the path "
                "to an interpreter, for instance #!/bin/sh");
  }
  // Every directive's words make one argument list, as sbatch reads them ("#SBATCH --time" and
  // "#SBATCH 10" on the next line are --time=10); each word keeps its line for messages.
  std::vector<std::string> words;
  std::vector<int> lines;
  std::size_t pos = 0;
  for (int line_no = 1; pos < script.size(); ++line_no) {
    const std::size_t end = std::min(script.find('\n', pos), script.size());
    const std::string_view line = script.substr(pos, end - pos);
    pos = end + 1;
    if (line.starts_with("#SBATCH")) {
      const std::string where = name + ":" + std::to_string(line_no) + ": ";
      auto args = split_directive(line.substr(7));
      if (!args) return fail(where + args.error().message + " in '" + std::string(line) + "'");
      if (!args->empty() && (args->front() == "hetjob" || args->front() == "packjob")) {
        return fail(where + "heterogeneous jobs (#SBATCH " + args->front() + ") are not supported by gwang");
      }
      for (std::string& a : *args) {
        words.push_back(std::move(a));
        lines.push_back(line_no);
      }
      continue;
    }
    // The first line that is neither blank nor a comment ends the directives.
    const auto first =
        std::find_if(line.begin(), line.end(), [](char c) { return !std::isspace(static_cast<unsigned char>(c)); });
    if (first != line.end() && *first != '#') break;
  }
  SbatchOptions out;
  std::size_t failed_at = 0;
  auto read = read_options(words, out, reader, false, &failed_at);
  if (!read) return fail(name + ":" + std::to_string(lines.at(failed_at)) + ": " + read.error().message);
  return out;
}

std::string wrap_script(std::string_view command) {
  return "#!/bin/sh\n# This script was created by sbatch --wrap.\n\n" + std::string(command) + "\n";
}

std::vector<std::string> sbatch_option_names() {
  std::vector<std::string> out;
  for (const OptionDef& o : kOptions) out.emplace_back(o.name);
  return out;
}

}  // namespace gwang::slurm
