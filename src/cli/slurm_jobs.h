// gwang's jobs as Slurm's commands show them: states, reasons, ids of array tasks, exit codes.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "api/job_view.h"
#include "core/result.h"

namespace gwang::cli {

// gwang's longest time limit, 365 days: what sbatch's UNLIMITED asks for, and shows as UNLIMITED.
inline constexpr std::int64_t kUnlimited = 365LL * 86400;
// Ended jobs stay in squeue's listing this long (Slurm's MinJobAge).
inline constexpr std::int64_t kMinJobAge = 300;

// One job as the API's full view gives it (api::JobView), with what Slurm's commands print of it.
struct SlurmJob : api::JobView {
  std::string slurm_reason;  // set by slurm_reasons(); empty: reason_code(*this)

  // Its planned start where the list gave one, else -1.
  std::int64_t planned_start() const { return estimated_start.value_or(-1); }

  // An array's limit of tasks at once (its "%N"), 0 when it has none or is not an array.
  std::int64_t array_limit() const;
  // "123", or "100_4" for a task of an array.
  std::string job_id() const;
  // Whether `text`, as Slurm's commands take a job id, names this job: its id, its id as a task
  // of its array ("100_4"), or its array's id (which names every task of the array).
  bool named_by(std::string_view text) const;
  // The same for any of `ids`.
  template <class Ids>
  bool named_by_any(const Ids& ids) const {
    for (const auto& text : ids) {
      if (named_by(text)) return true;
    }
    return false;
  }
};

// The jobs of a job list (view=full), or an error naming the field that is not as it should be.
Result<std::vector<SlurmJob>> slurm_jobs(const nlohmann::json& list);

// The "meta" of a document of Slurm 22.05's --json output: its format (`type`, "openapi/v0.0.38"
// for squeue, "openapi/dbv0.0.38" for sacct) and the release whose fields it carries.
nlohmann::json slurm_json_meta(const std::string& type, const std::string& name);

// Slurm's compact state codes: PD, R, CD, F, CA, TO, OOM, NF; of a state named as Slurm names
// it, the name itself where it has no code gwang knows.
std::string state_code(api::JobState state);
std::string state_code(std::string_view slurm_state);
std::string state_name(api::JobState state);  // "PENDING", ... as a string, for sets of names
// The reason code squeue shows for a pending job ("Priority", "Resources", "Dependency",
// "JobHeldUser", ...), from gwang's reason; "None" for a job that is not pending.
std::string reason_code(const SlurmJob& job);
// The nodes, compressed as Slurm writes them ("gpu[01-04]").
std::string compressed_nodes(const SlurmJob& job);
// Slurm's rank of a state, for squeue's default order (PENDING first).
int state_rank(api::JobState state);
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
// sbatch's and srun's --test-only: the controller's answer (POST /api/v1/jobs?test_only=1) said
// as Slurm's `PROGRAM: Job 12 to start at ... using 2 processors on nodes n1 in partition main`,
// or that no node can hold it; the exit status.
int say_test_only(const char* program, const nlohmann::json& answer);
std::string uid_of(const std::string& user);  // the account's uid, or Slurm's NO_VAL (4294967294)

}  // namespace gwang::cli
