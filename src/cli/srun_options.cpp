// srun's options and input variables, read into the step it asks for: counts and layout, nodes,
// environment, and what srun itself does with the tasks' output and its signals.
#include <getopt.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "api/base64.h"
#include "api/rlimits.h"
#include "api/utf8.h"
#include "cli/client.h"
#include "cli/commands.h"
#include "slurm/binding.h"
#include "slurm/hostlist.h"
#include "slurm/sbatch.h"
#include "slurm/specs.h"

extern char** environ;
#include "cli/slurm_jobs.h"
#include "cli/slurm_nodes.h"
#include "cli/srun_options.h"

namespace gwang::cli {

using nlohmann::json;

namespace {

constexpr const char* kSrunUsage =
    "Usage: srun [OPTIONS(0)... [executable(0) [args(0)...]]]\n"
    "Inside a job's allocation (a batch script, salloc, or --jobid), srun runs a job step in it;\n"
    "outside one, it makes an allocation of sbatch's options (-N, -n, -c, --mem, -t, -p, --gres, ...)\n"
    "for its step, and lets it go when the step ends.\n"
    "  -n, --ntasks=N             number of tasks (default: SLURM_NTASKS, else one per node)\n"
    "  -N, --nodes=N              number of the job's nodes to use (default: all of them)\n"
    "      --ntasks-per-node=N    at most N tasks on a node\n"
    "  -c, --cpus-per-task=N      CPUs each task needs (default 1)\n"
    "  -m, --distribution=block|cyclic\n"
    "                             task ids in blocks of a node (default) or round-robin\n"
    "  -J, --job-name=NAME        the step's name (default: the program's)\n"
    "  -D, --chdir=DIR            the tasks' directory (default: this one)\n"
    "      --export=ALL|NONE|[ALL,]VAR[=value],...\n"
    "                             the environment the tasks get (default ALL: this one's)\n"
    "  -l, --label                prefix each line of output with its task's id\n"
    "  -u, --unbuffered           relay output as it comes, not line by line\n"
    "  -K, --kill-on-bad-exit[=0|1]\n"
    "                             end the step when a task exits non-zero\n"
    "      --jobid=ID             the job to run the step in (default: SLURM_JOB_ID)\n"
    "      --overlap              share the job's CPUs and memory with its other steps (hold none)\n"
    "      --exact, --exclusive   hold only the tasks' CPUs, not all of the job's on each node\n"
    "      --mem=SIZE             the step's memory on each node (default: all of the job's)\n"
    "      --mem-per-cpu=SIZE     the same per CPU of the step's\n"
    "      --mem-per-gpu=SIZE     the same per GPU of the step's\n"
    "      --gres=gpu[:TYPE][:N]  the step's own GPUs on each node (also --gpus, --gpus-per-node,\n"
    "                             --gpus-per-task; none: none; default: all of the job's)\n"
    "  -E, --preserve-env         the tasks keep the job's SLURM_NTASKS, SLURM_NNODES, ...\n"
    "  -O, --overcommit           more tasks on a node than its CPUs (default: SLURM_OVERCOMMIT)\n"
    "  -i, --input=none           the tasks read nothing (/dev/null), as they do in any case\n"
    "  -o, --output=all|none|ID|PATTERN\n"
    "                             the tasks' output: here (all), nowhere, task ID's only, or files\n"
    "                             named by PATTERN (%j %J %s %t %n %N %u %x %A %a %%)\n"
    "  -e, --error=all|none|ID|PATTERN\n"
    "                             the same for errors (default: with the output where it goes to files)\n"
    "      --open-mode=append|truncate\n"
    "                             whether -o and -e files are appended to (default truncate)\n"
    "  -w, --nodelist=HOSTS|FILE  run on these of the job's nodes (a host list, or a file of names)\n"
    "  -x, --exclude=HOSTS|FILE   not on these\n"
    "  -F, --nodefile=FILE        the names of -w in a file\n"
    "  -r, --relative=N           from the job's node N (0 its first) on\n"
    "  -t, --time=LIMIT           end the step after this long (sbatch's time forms)\n"
    "  -W, --wait=SECONDS         end the step this long after its first task ended\n"
    "      --quit-on-interrupt    Ctrl-C ends the step at once (as it always does here)\n"
    "  -X, --disable-status       the same: no status is shown on Ctrl-C, the step ends\n"
    "  -I, --immediate[=SECONDS]  start at once or fail, not wait for the job's other steps\n"
    "      --multi-prog           the program is a configuration file: a program for each task id\n"
    "      --cpu-bind=[quiet|verbose,]TYPE\n"
    "                             CPU binding: none, rank, cores, threads, sockets, ldoms,\n"
    "                             map_cpu:LIST, mask_cpu:LIST (default: each task its own CPUs)\n"
    "  -Q, --quiet                no warnings\n"
    "  -v, --verbose              say what is done\n";

enum {
  kNtasksPerNode = 256,
  kExport,
  kJobid,
  kOverlap,
  kExact,
  kMem,
  kMemPerCpu,
  kMemPerGpu,
  kGres,
  kGpusPerNode,
  kGpusPerTask,
  kMpi,
  kUsage,
  kCpuBind,
  kOpenMode,
  kMultiProg,
  kQuitOnInterrupt,
  kProlog,
  kEpilog,
  kTaskProlog,
  kTaskEpilog,
  kPropagate,
  kPty,
  kX11,
  kHetGroup,
  kGpuBind,
  kResvPorts,
  kNtasksPerGpu,
  kBcast,
  kBcastExclude,
  kCompress,
  kSendLibs,
  kSlurmdDebug,
  kMemBind,
  kCpuFreq,
  kTestOnly,
  kGpuFreq
};
const option kSrunOptions[] = {{"ntasks", required_argument, nullptr, 'n'},
                               {"nodes", required_argument, nullptr, 'N'},
                               {"ntasks-per-node", required_argument, nullptr, kNtasksPerNode},
                               {"cpus-per-task", required_argument, nullptr, 'c'},
                               {"distribution", required_argument, nullptr, 'm'},
                               {"job-name", required_argument, nullptr, 'J'},
                               {"chdir", required_argument, nullptr, 'D'},
                               {"export", required_argument, nullptr, kExport},
                               {"label", no_argument, nullptr, 'l'},
                               {"unbuffered", no_argument, nullptr, 'u'},
                               {"kill-on-bad-exit", optional_argument, nullptr, 'K'},
                               {"no-kill", optional_argument, nullptr, 'k'},
                               {"jobid", required_argument, nullptr, kJobid},
                               {"overlap", no_argument, nullptr, kOverlap},
                               {"exact", no_argument, nullptr, kExact},
                               {"exclusive", optional_argument, nullptr, kExact},
                               {"mem", required_argument, nullptr, kMem},
                               {"mem-per-cpu", required_argument, nullptr, kMemPerCpu},
                               {"mem-per-gpu", required_argument, nullptr, kMemPerGpu},
                               {"preserve-env", no_argument, nullptr, 'E'},
                               {"gres", required_argument, nullptr, kGres},
                               {"gpus", required_argument, nullptr, 'G'},
                               {"gpus-per-node", required_argument, nullptr, kGpusPerNode},
                               {"gpus-per-task", required_argument, nullptr, kGpusPerTask},
                               {"mpi", required_argument, nullptr, kMpi},
                               {"cpu-bind", required_argument, nullptr, kCpuBind},
                               {"cpu_bind", required_argument, nullptr, kCpuBind},
                               {"nodelist", required_argument, nullptr, 'w'},
                               {"exclude", required_argument, nullptr, 'x'},
                               {"nodefile", required_argument, nullptr, 'F'},
                               {"relative", required_argument, nullptr, 'r'},
                               {"output", required_argument, nullptr, 'o'},
                               {"error", required_argument, nullptr, 'e'},
                               {"open-mode", required_argument, nullptr, kOpenMode},
                               {"time", required_argument, nullptr, 't'},
                               {"wait", required_argument, nullptr, 'W'},
                               {"quit-on-interrupt", no_argument, nullptr, kQuitOnInterrupt},
                               {"disable-status", no_argument, nullptr, 'X'},
                               {"immediate", optional_argument, nullptr, 'I'},
                               {"multi-prog", no_argument, nullptr, kMultiProg},
                               {"quiet", no_argument, nullptr, 'Q'},
                               {"verbose", no_argument, nullptr, 'v'},
                               {"overcommit", no_argument, nullptr, 'O'},
                               {"input", required_argument, nullptr, 'i'},
                               {"help", no_argument, nullptr, 'h'},
                               {"usage", no_argument, nullptr, kUsage},
                               {"version", no_argument, nullptr, 'V'},
                               {"prolog", required_argument, nullptr, kProlog},
                               {"epilog", required_argument, nullptr, kEpilog},
                               {"task-prolog", required_argument, nullptr, kTaskProlog},
                               {"task-epilog", required_argument, nullptr, kTaskEpilog},
                               {"propagate", optional_argument, nullptr, kPropagate},
                               {"pty", no_argument, nullptr, kPty},
                               {"x11", optional_argument, nullptr, kX11},
                               {"het-group", required_argument, nullptr, kHetGroup},
                               {"clusters", required_argument, nullptr, 'M'},
                               {"constraint", required_argument, nullptr, 'C'},
                               {"gpu-bind", required_argument, nullptr, kGpuBind},
                               {"resv-ports", optional_argument, nullptr, kResvPorts},
                               {"ntasks-per-gpu", required_argument, nullptr, kNtasksPerGpu},
                               {"bcast", optional_argument, nullptr, kBcast},
                               {"bcast-exclude", required_argument, nullptr, kBcastExclude},
                               {"compress", optional_argument, nullptr, kCompress},
                               {"send-libs", optional_argument, nullptr, kSendLibs},
                               {"slurmd-debug", required_argument, nullptr, kSlurmdDebug},
                               {"mem-bind", required_argument, nullptr, kMemBind},
                               {"cpu-freq", required_argument, nullptr, kCpuFreq},
                               {"test-only", no_argument, nullptr, kTestOnly},
                               {"gpu-freq", required_argument, nullptr, kGpuFreq}};

// The options that ask for a job allocation, which srun inside one does not make: Slurm's srun
// takes them there and uses none of them (srun(1): "This option applies to job allocations"), and
// so does gwang's, which runs only inside allocations. Some Slurm's srun answers with a line of
// its own (`said`), which gwang's says too. The options that shape binding by sockets, hints or
// devices, set frequencies or sample tasks are taken and not used: gwang binds each task to the
// cores it places it on (--cpu-bind), and has no frequency governors and gathers nothing.
struct InsideAllocation {
  const char* name;
  char letter;
  int arg;
  const char* said;
};
constexpr InsideAllocation kInsideAllocation[] = {
    {"account", 'A', required_argument, nullptr},
    {"acctg-freq", 0, required_argument, nullptr},
    {"bb", 0, required_argument, nullptr},
    {"bbf", 0, required_argument, nullptr},
    {"begin", 'b', required_argument, "srun: error: --begin is ignored because nodes are already allocated."},
    {"cluster-constraint", 0, required_argument, nullptr},
    {"comment", 0, required_argument, nullptr},
    {"contiguous", 0, no_argument, nullptr},
    {"core-spec", 'S', required_argument,
     "srun: error: Ignoring -S since it's not allowed by configuration (AllowSpecResourcesUsage = No)\n"
     "srun: error: Ignoring --core-spec value for a job step within an existing job. Set specialized cores at job "
     "allocation time."},
    {"cores-per-socket", 0, required_argument, nullptr},
    {"cpus-per-gpu", 0, required_argument, nullptr},  // Slurm 22.05's srun (measured) left the step's CPUs as they were
    {"deadline", 0, required_argument, nullptr},
    {"delay-boot", 0, required_argument, nullptr},
    {"dependency", 'd', required_argument, nullptr},
    {"extra-node-info", 'B', required_argument, nullptr},
    {"gid", 0, required_argument, nullptr},
    {"gres-flags", 0, required_argument, nullptr},
    {"hint", 0, required_argument, nullptr},
    {"hold", 'H', no_argument, nullptr},
    {"licenses", 'L', required_argument, nullptr},
    {"mail-type", 0, required_argument, nullptr},
    {"mail-user", 0, required_argument, nullptr},
    {"mcs-label", 0, required_argument, nullptr},
    {"accel-bind", 0, required_argument, nullptr},
    {"mincpus", 0, required_argument, nullptr},
    {"msg-timeout", 0, required_argument, nullptr},
    {"network", 0, required_argument, nullptr},
    {"nice", 0, optional_argument, nullptr},
    {"ntasks-per-core", 0, required_argument, nullptr},
    {"ntasks-per-socket", 0, required_argument, nullptr},
    {"oversubscribe", 's', no_argument, nullptr},
    {"partition", 'p', required_argument, nullptr},
    {"power", 0, required_argument, nullptr},
    {"prefer", 0, required_argument, nullptr},
    {"priority", 0, required_argument, nullptr},
    {"profile", 0, required_argument, nullptr},
    {"qos", 'q', required_argument, nullptr},
    {"reboot", 0, no_argument, nullptr},
    {"reservation", 0, required_argument, nullptr},
    {"signal", 0, required_argument, nullptr},
    {"sockets-per-node", 0, required_argument, nullptr},
    {"spread-job", 0, no_argument, nullptr},
    {"switches", 0, required_argument, nullptr},
    {"thread-spec", 0, required_argument,
     "srun: error: Ignoring --thread-spec since it's not allowed by configuration (AllowSpecResourcesUsage = No)"},
    {"threads", 'T', required_argument, nullptr},
    {"threads-per-core", 0, required_argument, nullptr},
    {"time-min", 0, required_argument, nullptr},
    {"tmp", 0, required_argument, nullptr},
    {"uid", 0, required_argument, nullptr},
    {"use-min-nodes", 0, no_argument, nullptr},
    {"wckey", 0, required_argument, nullptr},
};
constexpr int kInsideAllocationBase = 1000;

// The options gwang's srun refuses by name (docs/slurm-options.md says why). Each is in getopt's
// table, so that a name is never taken for a longer one it begins (--mem for --mem-bind).
struct Refused {
  const char* name;
  char letter;
  int arg;
};
constexpr Refused kRefused[] = {
    {"gpus-per-socket", 0, required_argument},

    {"no-allocate", 'Z', no_argument},
    {"container", 0, required_argument},
};
constexpr int kRefusedBase = 2000;

// getopt_long's table: srun's own options, then those it takes inside an allocation unused.
const std::vector<option>& srun_option_table() {
  static const std::vector<option> table = [] {
    std::vector<option> t(std::begin(kSrunOptions), std::end(kSrunOptions));
    for (std::size_t i = 0; i < std::size(kInsideAllocation); ++i) {
      const InsideAllocation& a = kInsideAllocation[i];
      t.push_back({a.name, a.arg, nullptr, a.letter ? a.letter : kInsideAllocationBase + static_cast<int>(i)});
    }
    for (std::size_t i = 0; i < std::size(kRefused); ++i) {
      t.push_back({kRefused[i].name, kRefused[i].arg, nullptr, kRefusedBase + static_cast<int>(i)});
    }
    t.push_back({nullptr, 0, nullptr, 0});
    return t;
  }();
  return table;
}

// The entry of kInsideAllocation that getopt_long's answer `c` is, if it is one.
const InsideAllocation* inside_allocation(int c) {
  if (c >= kInsideAllocationBase && c < kInsideAllocationBase + static_cast<int>(std::size(kInsideAllocation)))
    return &kInsideAllocation[c - kInsideAllocationBase];
  for (const InsideAllocation& a : kInsideAllocation) {
    if (a.letter && a.letter == c) return &a;
  }
  return nullptr;
}

// The settings the environment gives (srun(1), INPUT ENVIRONMENT VARIABLES): in a batch script,
// the job's own task counts are the step's defaults.
std::map<std::string, Setting> srun_environment_settings() {
  std::map<std::string, Setting> given;
  for (const auto& [key, var] : {std::pair{"ntasks", "SLURM_NTASKS"},
                                 std::pair{"nodes", "SLURM_NNODES"},
                                 std::pair{"ntasks_per_node", "SLURM_NTASKS_PER_NODE"},
                                 std::pair{"cpus_per_task", "SLURM_CPUS_PER_TASK"},
                                 std::pair{"distribution", "SLURM_DISTRIBUTION"},
                                 std::pair{"export", "SLURM_EXPORT_ENV"},
                                 std::pair{"jobid", "SLURM_JOB_ID"},
                                 std::pair{"label", "SLURM_LABELIO"},
                                 std::pair{"kill", "SLURM_KILL_BAD_EXIT"},
                                 std::pair{"no_kill", "SLURM_NO_KILL"},
                                 std::pair{"unbuffered", "SLURM_UNBUFFEREDIO"},
                                 std::pair{"overcommit", "SLURM_OVERCOMMIT"},
                                 std::pair{"cpu_bind", "SLURM_CPU_BIND"},
                                 std::pair{"output", "SLURM_STDOUTMODE"},
                                 std::pair{"error", "SLURM_STDERRMODE"},
                                 std::pair{"open_mode", "SLURM_OPEN_MODE"},
                                 std::pair{"time", "SLURM_TIMELIMIT"},
                                 std::pair{"wait", "SLURM_WAIT"},
                                 std::pair{"mpi", "SLURM_MPI_TYPE"},
                                 std::pair{"exact", "SLURM_EXACT"},
                                 std::pair{"overlap", "SLURM_OVERLAP"},
                                 std::pair{"mem", "SLURM_MEM_PER_NODE"},
                                 std::pair{"mem_per_cpu", "SLURM_MEM_PER_CPU"},
                                 std::pair{"mem_per_gpu", "SLURM_MEM_PER_GPU"},
                                 std::pair{"gpu_bind", "SLURM_GPU_BIND"},
                                 std::pair{"resv_ports", "SLURM_RESV_PORTS"},
                                 std::pair{"bcast", "SLURM_BCAST"},
                                 std::pair{"bcast_exclude", "SLURM_BCAST_EXCLUDE"},
                                 std::pair{"compress", "SLURM_COMPRESS"},
                                 std::pair{"send_libs", "SLURM_SEND_LIBS"},
                                 std::pair{"mem_bind", "SLURM_MEM_BIND"},
                                 std::pair{"cpu_freq", "SLURM_CPU_FREQ_REQ"},
                                 std::pair{"gpu_freq", "SLURM_GPU_FREQ"}}) {
    const char* v = std::getenv(var);
    if (const std::string text = v ? v : ""; !text.empty()) given[key] = {text, var};
  }
  return given;
}

// The options of where and how the step runs that srun answers itself (a terminal, X11, a
// heterogeneous job's part, the cluster, the limits passed on): the exit status when srun ends
// with one, nothing when it goes on. `c` is one of them.
std::optional<int> take_environment_option(int c, const std::string& value, SrunOptions& o) {
  switch (c) {
    case kPty:  // task 0 on a terminal of its own (see the end of parse_srun)
      o.given["pty"] = {"set", "--pty"};
      return std::nullopt;
    case kX11:
      if (!std::getenv("DISPLAY")) {
        std::fprintf(stderr, "srun: error: No DISPLAY variable set, cannot setup x11 forwarding.\n");
        return 255;
      }
      return srun_error("--x11: gwang does not forward X11 to a step's tasks");
    case kHetGroup:  // gwang's jobs are never heterogeneous: no component to start on, as Slurm says
      return srun_error("No directives to start application on any available hetjob components");
    case 'M': {  // the one cluster there is, by its name (or "all")
      const char* mine = std::getenv("SLURM_CLUSTER_NAME");
      for (const std::string& name : split_list(value)) {
        if (name == "all" || (mine && name == mine)) continue;
        std::fprintf(stderr,
                     "srun: error: No cluster '%s' known by database.\nsrun: error: '%s' can't be reached now, or "
                     "it is an invalid entry for --cluster.  Use 'sacctmgr list clusters' to see available "
                     "clusters.\n",
                     name.c_str(), value.c_str());
        return 1;
      }
      return std::nullopt;
    }
    case kPropagate: {
      auto names = slurm::parse_propagate(value);
      if (!names) return srun_error("--propagate=" + value + ": " + names.error().message);
      o.propagate = *names;
      return std::nullopt;
    }  // a step always shares its job's allocation with the job's other steps
  }
  return std::nullopt;
}

// The options that set a value of `given`: its key, and the option's name.
const std::map<int, std::pair<const char*, const char*>> kSettings = {
    {'n', {"ntasks", "--ntasks"}},
    {'N', {"nodes", "--nodes"}},
    {kNtasksPerNode, {"ntasks_per_node", "--ntasks-per-node"}},
    {'c', {"cpus_per_task", "--cpus-per-task"}},
    {'m', {"distribution", "--distribution"}},
    {kExport, {"export", "--export"}},
    {kJobid, {"jobid", "--jobid"}},
    {'w', {"nodelist", "--nodelist"}},
    {'x', {"exclude", "--exclude"}},
    {'F', {"nodefile", "--nodefile"}},
    {'r', {"relative", "--relative"}},
    {'o', {"output", "--output"}},
    {'e', {"error", "--error"}},
    {kOpenMode, {"open_mode", "--open-mode"}},
    {'t', {"time", "--time"}},
    {'W', {"wait", "--wait"}},
    // What the step holds of its job (srun_shares.cpp).
    {kOverlap, {"overlap", "--overlap"}},
    {kExact, {"exact", "--exact"}},
    {kMem, {"mem", "--mem"}},
    {kMemPerCpu, {"mem_per_cpu", "--mem-per-cpu"}},
    {kMemPerGpu, {"mem_per_gpu", "--mem-per-gpu"}},
    {'E', {"preserve_env", "--preserve-env"}},
    {kGres, {"gres", "--gres"}},
    {'G', {"gpus", "--gpus"}},
    {kGpusPerNode, {"gpus_per_node", "--gpus-per-node"}},
    {kGpusPerTask, {"gpus_per_task", "--gpus-per-task"}},
    {'C', {"constraint", "--constraint"}},
    {kGpuBind, {"gpu_bind", "--gpu-bind"}},
    {kResvPorts, {"resv_ports", "--resv-ports"}},
    {kNtasksPerGpu, {"ntasks_per_gpu", "--ntasks-per-gpu"}},
    // The program copied to the nodes (srun_bcast.cpp).
    {kBcast, {"bcast", "--bcast"}},
    {kBcastExclude, {"bcast_exclude", "--bcast-exclude"}},
    {kCompress, {"compress", "--compress"}},
    {kSendLibs, {"send_libs", "--send-libs"}},
    // The agents' lines about the step's tasks, on their standard error.
    {kSlurmdDebug, {"slurmd_debug", "--slurmd-debug"}},
    {kMemBind, {"mem_bind", "--mem-bind"}},
    {kCpuFreq, {"cpu_freq", "--cpu-freq"}},
    {kTestOnly, {"test_only", "--test-only"}},
    {kGpuFreq, {"gpu_freq", "--gpu-freq"}},
};

// Notes an option getopt_long returned (`index`: its entry, where given by its long name) that
// also shapes an allocation: one sbatch has, less those that are the step's alone.
void note_allocation_option(int c, int index, const std::string& value, SrunOptions& o) {
  const std::vector<option>& table = srun_option_table();
  const option* opt = index >= 0 ? &table[static_cast<std::size_t>(index)] : nullptr;
  for (std::size_t i = 0; !opt && table[i].name; ++i) {
    if (table[i].val == c) opt = &table[i];
  }
  if (!opt) return;
  static const std::set<std::string> kSbatch = [] {
    const std::vector<std::string> names = slurm::sbatch_option_names();
    return std::set<std::string>(names.begin(), names.end());
  }();
  static const std::set<std::string> kStepOnly = {"output",   "error",    "input",     "open-mode",    "wait",
                                                  "export",   "chdir",    "propagate", "distribution", "gpu-bind",
                                                  "mem-bind", "cpu-freq", "gpu-freq",  "quiet",        "verbose",
                                                  "help",     "usage",    "version",   "test-only"};
  if (!kSbatch.contains(opt->name) || kStepOnly.contains(opt->name)) return;
  const bool valued = opt->has_arg == required_argument || (opt->has_arg == optional_argument && !value.empty());
  o.allocation_args.push_back("--" + std::string(opt->name) + (valued ? "=" + value : ""));
}

// Takes one option getopt_long returned into `o`; returns the exit status when srun ends with it
// (--help, --version, a mistake), nothing when srun goes on.
std::optional<int> take_srun_option(int c, const std::string& value, Argv& argv, SrunOptions& o) {
  if (auto it = kSettings.find(c); it != kSettings.end()) {
    o.given[it->second.first] = {value, it->second.second};
    return std::nullopt;
  }
  for (std::size_t i = 0; i < std::size(kRefused); ++i) {
    if (c == kRefusedBase + static_cast<int>(i) || (kRefused[i].letter && c == kRefused[i].letter)) {
      std::fprintf(stderr, "srun: error: option '--%s' is not supported by gwang\n", kRefused[i].name);
      return 255;
    }
  }
  if (c == kPty || c == kX11 || c == kHetGroup || c == 'M' || c == kPropagate)
    return take_environment_option(c, value, o);
  if (const InsideAllocation* a = inside_allocation(c)) {
    if (a->said && !o.quiet) std::fprintf(stderr, "%s\n", a->said);
    return std::nullopt;
  }
  switch (c) {
    case 'J':
      o.name = value;
      return std::nullopt;
    case 'D':
      o.chdir = value;
      return std::nullopt;
    case 'l':
      o.given["label"] = {"1", "--label"};
      return std::nullopt;
    case 'u':
      o.given["unbuffered"] = {"1", "--unbuffered"};
      return std::nullopt;
    case 'O':
      o.given["overcommit"] = {"1", "--overcommit"};
      return std::nullopt;
    case 'i':  // a step's tasks read /dev/null: what --input=none asks (MPICH's mpiexec asks it)
      if (value == "none") return o.given["input"] = {value, "--input"}, std::nullopt;
      return srun_error("--input=" + value + ": gwang's srun gives its tasks no standard input (/dev/null); " +
                        "only --input=none");
    case 'K':
      o.given["kill"] = {value.empty() ? "1" : value, "--kill-on-bad-exit"};
      return std::nullopt;
    case 'k':
      o.given["no_kill"] = {value.empty() ? "set" : value, "--no-kill"};
      return std::nullopt;
    case kCpuBind:
      o.given["cpu_bind"] = {value, "--cpu-bind"};
      return std::nullopt;
    case kQuitOnInterrupt:  // a Ctrl-C ends the step at once, as gwang's srun does on any
    case 'X':               // no status is shown on Ctrl-C: the step ends
      return std::nullopt;
    case 'I':  // a step starts at once or is refused, rather than wait for the job's other steps
      if (!value.empty() && !positive(value) && value != "0") {
        return srun_error("--immediate=" + value + ": expected a number of seconds");
      }
      o.given["immediate"] = {value.empty() ? "0" : value, "--immediate"};
      return std::nullopt;
    case kMultiProg:
      o.multi_prog = "1";
      return std::nullopt;
    case kProlog:
      o.prolog = value == "none" ? "" : value;
      return std::nullopt;
    case kEpilog:
      o.epilog = value == "none" ? "" : value;
      return std::nullopt;
    case kTaskProlog:
      o.task_prolog = value;
      return std::nullopt;
    case kTaskEpilog:
      o.task_epilog = value;
      return std::nullopt;
    case kMpi:
      if (value == "list") {  // the types this srun has, as Slurm's lists its plugins
        std::printf(
            "MPI plugin types are...\n\tnone\n\tpmi2\n\tpmix\nspecific pmix plugin versions available: pmix_v4\n");
        return 0;
      }
      o.given["mpi"] = {value, "--mpi"};
      return std::nullopt;
    case 'Q':
      o.quiet = true;
      o.log_level = std::max(0, o.log_level - 1);
      return std::nullopt;
    case 'v':
      o.verbose = true;
      ++o.log_level;
      return std::nullopt;
    case 'h':
    case kUsage:
      std::printf("%s", kSrunUsage);
      return 0;
    case 'V':
      std::printf("gwang srun (options of slurm 22.05)\n");
      return 0;
  }
  // A mistake in srun's options exits 255, as in Slurm.
  return 254 + option_complaint("srun", c, argv);
}

}  // namespace

int srun_error(const std::string& message) {
  std::fprintf(stderr, "srun: error: %s\n", message.c_str());
  return 1;
}

std::optional<int> positive(const std::string& text) {
  if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  const int v = std::stoi(text);
  return v > 0 ? std::optional<int>(v) : std::nullopt;
}

bool flag_on(const SrunOptions& o, const char* key) {
  auto it = o.given.find(key);
  return it != o.given.end() && it->second.text != "0";
}

// Reads srun's environment and command line into `o`; returns the exit status when srun ends
// there (--help, --version, a mistake, no program given), nothing when it goes on.
std::optional<int> parse_srun(Argv& argv, SrunOptions& o) {
  o.given = srun_environment_settings();
  ::optind = 0;
  ::opterr = 0;
  for (;;) {
    int index = -1;
    // "+": the options end at the program's name; its own are its.
    const int c = ::getopt_long(argv.argc(), argv.argv(),
                                "+:n:N:c:m:J:D:i:luOK::QvhVw:x:F:r:o:e:t:W:XI::A:b:S:d:B:HL:sp:q:T:M:G:ZEC:k::",
                                srun_option_table().data(), &index);
    if (c == -1) break;
    if (auto done = take_srun_option(c, ::optarg ? ::optarg : "", argv, o)) return done;
    note_allocation_option(c, index, ::optarg ? ::optarg : "", o);
  }
  o.command.assign(argv.text().begin() + ::optind, argv.text().end());
  if (o.command.empty()) {
    std::fprintf(stderr, "srun: fatal: No command given to execute.\n");
    return 1;
  }
  if (!o.multi_prog.empty()) o.multi_prog = o.command.front();
  if (auto it = o.given.find("mpi"); it != o.given.end()) {
    const std::string& type = it->second.text;
    if (type == "pmi2") {
      o.pmi2 = true;
    } else if (type == "pmix" || type == "pmix_v4") {
      o.pmix = true;
    } else if (type != "none") {
      return srun_error("Invalid MPI type '" + type + "', --mpi=list for acceptable types");
    }
  }
  if (auto it = o.given.find("output"); it != o.given.end()) o.output = it->second.text == "all" ? "" : it->second.text;
  if (auto it = o.given.find("error"); it != o.given.end()) o.error = it->second.text == "all" ? "" : it->second.text;
  if (auto it = o.given.find("open_mode"); it != o.given.end()) {
    const std::string& m = it->second.text;
    if (m == "a" || m == "append")
      o.append = true;
    else if (m == "t" || m == "truncate")
      o.append = false;
    else
      return srun_error("invalid " + it->second.from + " value '" + m + "': expected append or truncate");
  }
  if (auto it = o.given.find("time"); it != o.given.end()) {
    auto t = slurm::parse_time_limit(it->second.text);
    if (!t) return srun_error("invalid " + it->second.from + " value: " + t.error().message);
    o.time_limit = t->unlimited ? 0 : t->minutes * 60;
  }
  if (auto it = o.given.find("no_kill"); it != o.given.end()) {
    const std::string v = slurm::lower(it->second.text);
    if (v != "set" && v != "off" && v != "no" && !v.empty()) {
      std::fprintf(stderr, "srun: error: Invalid --no-kill specification\n");
      return 255;  // Slurm's srun's status for it (measured)
    }
    o.no_kill = v == "set" || v.empty();
  }
  if (o.given.count("pty")) {
    if (o.given.count("output") || o.given.count("error") || o.given.count("input")) {
      std::fprintf(stderr, "srun: error: --error/--input/--output are incompatible with --pty\n");
      return 1;
    }
    // Of this terminal's size, as Slurm's, and only where srun's output is a terminal.
    struct winsize size {};
    if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) != 0) {
      std::fprintf(stderr,
                   "srun: error: ioctl(TIOCGWINSZ): %s\n"
                   "srun: error: Not using a pseudo-terminal, disregarding --pty option\n",
                   std::strerror(errno));
    } else {
      o.pty_rows = size.ws_row > 0 ? size.ws_row : 24;
      o.pty_cols = size.ws_col > 0 ? size.ws_col : 80;
    }
  }
  // Under -k a step's tasks are not taken as ended for -K and -W (srun(1)): neither applies.
  if (o.no_kill) o.given.erase("kill");
  if (auto it = o.given.find("wait"); o.no_kill && it != o.given.end()) o.given.erase(it);
  if (auto it = o.given.find("wait"); it != o.given.end()) {
    if (it->second.text != "0" && !positive(it->second.text)) {
      return srun_error("invalid " + it->second.from + " value '" + it->second.text + "': expected seconds");
    }
    o.wait_seconds = positive(it->second.text).value_or(0);
  }
  return std::nullopt;
}

// Puts the step's task counts, layout, name and directory into `body`, with Slurm's warnings for
// counts that do not fit together; returns 1 after saying why when a value is bad.
std::optional<int> step_layout(const SrunOptions& o, json& body) {
  std::optional<int> ntasks, nodes;
  for (const char* key : {"ntasks", "nodes", "ntasks_per_node", "cpus_per_task"}) {
    auto it = o.given.find(key);
    if (it == o.given.end()) continue;
    // SLURM_NTASKS_PER_NODE may be a list ("2(x2)") where a job's nodes differ: only a plain count
    // is a default for a step.
    auto v = positive(it->second.text);
    if (!v) {
      if (it->second.from.starts_with("SLURM_")) continue;
      return srun_error("invalid " + it->second.from + " value: '" + it->second.text + "' (a positive integer)");
    }
    body[key] = *v;
    if (std::string_view(key) == "ntasks") ntasks = v;
    if (std::string_view(key) == "nodes") nodes = v;
  }
  if (auto it = o.given.find("nodes"); nodes && it->second.from.starts_with("SLURM_")) body["nodes_from_env"] = true;
  if (auto bad = step_tasks_per_gpu(o, body, ntasks, nodes)) return *bad;
  if (ntasks && nodes && *nodes > *ntasks) {
    if (!o.quiet) {
      std::fprintf(stderr, "srun: Warning: can't run %d processes on %d nodes, setting nnodes to %d\n", *ntasks, *nodes,
                   *ntasks);
    }
    body["nodes"] = *ntasks;
    nodes = ntasks;
  }
  // A task count per node that the counts given cannot honour is dropped, as Slurm's srun drops
  // it: with a warning when it came from the job (SLURM_NTASKS_PER_NODE), silently when given
  // here and too small for the tasks.
  if (auto it = o.given.find("ntasks_per_node");
      it != o.given.end() && body.contains("ntasks_per_node") && ntasks && nodes) {
    const int per_node = body["ntasks_per_node"].get<int>();
    const bool inherited = it->second.from.starts_with("SLURM_");
    if (*ntasks > *nodes * per_node || (inherited && *ntasks % *nodes != 0)) {
      if (inherited && !o.quiet) {
        std::fprintf(
            stderr,
            "srun: Warning: can't honor --ntasks-per-node set to %d which doesn't match the requested tasks %d "
            "with the number of requested nodes %d. Ignoring --ntasks-per-node.\n",
            per_node, *ntasks, *nodes);
      }
      body.erase("ntasks_per_node");
    }
  }
  if (auto it = o.given.find("distribution"); it != o.given.end()) {
    const std::string d = it->second.text.substr(0, it->second.text.find(':'));
    if (d != "block" && d != "cyclic") {
      return srun_error("--distribution=" + it->second.text + ": gwang lays tasks out by block or cyclic");
    }
    body["distribution"] = d;
  }
  if (auto it = o.given.find("cpu_bind"); it != o.given.end()) {
    // Checked here; the controller lays the binding out on the job's CPUs and the nodes bind the
    // tasks, as Slurm's TaskPlugin=task/affinity (step_environment tells the controller).
    auto bind = slurm::parse_cpu_bind(it->second.text);
    if (!bind) {
      std::fprintf(
          stderr, "srun: error: %s\nsrun: fatal: Failed to parse --cpu-bind= values.\n",
          (it->second.from == "--cpu-bind" ? bind.error().message : it->second.from + ": " + bind.error().message)
              .c_str());
      return 1;
    }
  }
  for (const auto& [key, field, file] :
       {std::tuple{"nodelist", "nodelist", false}, std::tuple{"nodefile", "nodelist", true},
        std::tuple{"exclude", "exclude", false}}) {
    auto it = o.given.find(key);
    if (it == o.given.end()) continue;
    auto names = node_names(it->second.text, it->second.from, file);
    if (!names) return srun_error(names.error().message);
    body[field] = *names;
  }
  if (auto it = o.given.find("relative"); it != o.given.end()) {
    if (it->second.text != "0" && !positive(it->second.text)) {
      return srun_error("invalid " + it->second.from + " value '" + it->second.text + "': expected a node index");
    }
    body["relative"] = positive(it->second.text).value_or(0);
  }
  if (auto it = o.given.find("kill"); it != o.given.end()) body["kill_on_bad_exit"] = it->second.text != "0";
  if (o.no_kill) body["no_kill"] = true;
  if (auto it = o.given.find("overcommit"); it != o.given.end() && it->second.text != "0") body["overcommit"] = true;
  if (auto bad = step_shares(o, body)) return *bad;
  if (!o.name.empty()) body["name"] = o.name;
  if (o.time_limit > 0) body["time"] = o.time_limit;  // the controller ends the step then
  if (auto bad = step_placement(o, body)) return *bad;
  std::error_code ec;
  const std::filesystem::path cwd = std::filesystem::current_path(ec);
  std::filesystem::path dir = o.chdir.empty() ? cwd : std::filesystem::path(o.chdir);
  if (dir.is_relative()) dir = cwd / dir;
  body["workdir"] = dir.lexically_normal().string();
  return std::nullopt;
}

}  // namespace gwang::cli
