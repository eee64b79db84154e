// gwang's jobs as Slurm's commands show them: states, reasons, ids of array tasks, exit codes.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace gwang::cli {

// gwang's longest time limit, 365 days: what sbatch's UNLIMITED asks for, and shows as UNLIMITED.
inline constexpr std::int64_t kUnlimited = 365LL * 86400;

// One job as the API's full view gives it, with what Slurm's commands print of it.
// A step of a job (srun inside it).
struct SlurmStep {
  int id = 0;
  std::string name, state;
  int exit_code = 0, signal = 0, ntasks = 0, cpus_per_task = 1;
  std::int64_t start = -1, end = -1;
  std::vector<std::string> nodes;
};

struct SlurmJob {
  std::int64_t id = 0;
  std::int64_t array_job = 0;  // 0: not in an array
  std::int64_t array_task = -1;
  std::string array;  // the array's spec ("0-15%4"), for its limit
  std::string name, user, state, reason, partition, project, workdir, dependency, comment, nodelist;
  std::vector<std::string> command;
  std::int64_t submit = 0, start = -1, end = -1, begin = 0, estimated_start = -1;
  std::int64_t time_limit = 0;  // seconds
  int nodes = 1, cpus = 1, exit_code = 0, attempt = 0;
  std::int64_t mem = 0;  // bytes per node
  std::string hold;
  std::string qos;  // the allocation programme it runs under, when named
  bool batch = false;
  std::vector<SlurmStep> steps;
  std::string slurm_reason;  // set by slurm_reasons(); empty: reason_code(*this)

  bool pending() const { return state == "PENDING"; }
  // An array's limit of tasks at once (its "%N"), 0 when it has none or is not an array.
  std::int64_t array_limit() const;
  bool ended() const { return state != "PENDING" && state != "RUNNING"; }
  // "123", or "100_4" for a task of an array.
  std::string job_id() const;
};

SlurmJob slurm_job(const nlohmann::json& j);

// The "meta" of a document of Slurm 22.05's --json output: its format (`type`, "openapi/v0.0.38"
// for squeue, "openapi/dbv0.0.38" for sacct) and the release whose fields it carries.
nlohmann::json slurm_json_meta(const std::string& type, const std::string& name);

// Slurm's compact state codes: PD, R, CD, F, CA, TO, OOM, NF.
std::string state_code(const std::string& state);
// The reason code squeue shows for a pending job ("Priority", "Resources", "Dependency",
// "JobHeldUser", ...), from gwang's reason; "None" for a job that is not pending.
std::string reason_code(const SlurmJob& job);
// The nodes, compressed as Slurm writes them ("gpu[01-04]").
std::string compressed_nodes(const SlurmJob& job);
// Slurm's rank of a state, for squeue's default order (PENDING first).
int state_rank(const std::string& state);
// A time limit as squeue writes it ("1:00:00", "UNLIMITED").
std::string time_limit_text(std::int64_t seconds);
// What a pending job still waits for, as squeue's %E writes it: each dependency
// "(unfulfilled)", or "(failed)" when it can no longer hold; "(null)" when none.
std::string dependency_text(const SlurmJob& job);

// Slurm's reasons over a whole queue (`jobs` in squeue's order): the first job of a partition
// that waits for resources says Resources, those behind it Priority; a task that waits for its
// array's limit while the array runs fewer tasks than the limit allows says what the array's
// first queued task says.
void slurm_reasons(std::vector<SlurmJob*>& jobs, const std::vector<SlurmJob>& all);

// --- what the commands share in reading their arguments

// A command's arguments as getopt_long takes them: its name, then the arguments.
class Argv {
 public:
  Argv(const char* program, const std::vector<std::string>& args);
  int argc() const { return static_cast<int>(text_.size()); }
  char** argv() { return pointers_.data(); }
  const std::vector<std::string>& text() const { return text_; }

 private:
  std::vector<std::string> text_;
  std::vector<char*> pointers_;
};

// What getopt_long has just refused (c is ':' for a missing argument, else '?'), said as the Slurm
// command says it: "squeue: unrecognized option '--frob'" and a pointer to --help. Options of the
// command that gwang does not carry out, `unsupported`, are refused by name. Returns 1, the exit status.
int option_complaint(const char* program, int c, Argv& args, std::initializer_list<const char*> unsupported = {});

std::vector<std::string> split_list(const std::string& text);  // "a,b,,c": a, b, c
std::string upper(std::string text);
std::string uid_of(const std::string& user);  // the account's uid, or Slurm's NO_VAL (4294967294)

}  // namespace gwang::cli
