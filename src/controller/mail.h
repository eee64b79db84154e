// Mail to a job's user at its events, as Slurm's slurmctld sends it through its MailProg: which
// events a job asked for (sbatch --mail-type), the subject Slurm writes, and the program run.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "controller/records.h"

namespace gwang::controller {

// The events a job can be mailed about (Slurm's mail types BEGIN, END, FAIL, REQUEUE, TIME_LIMIT).
// In the order of mail.cpp's table of their mail types and words.
enum class MailEvent { Began, Ended, Failed, Requeued, TimeLimit };

struct Mail {
  std::string to;       // --mail-user, else the job's user
  std::string subject;  // "Slurm Job_id=12 Name=train Ended, Run time 00:01:02, COMPLETED, ExitCode 0"
  std::vector<std::pair<std::string, std::string>> env;  // SLURM_JOB_ID, SLURM_JOB_NAME, ... for the program
  bool operator==(const Mail&) const = default;
};

// The mail about `event` of `job` (as it stands after the event, its times set), if the job asked
// for it. An ended job asks by END or FAIL: FAIL for a job that did not complete and was not
// cancelled, else END (Slurm's rule). `cluster`: the cluster's name. `end` (when not negative):
// when its run ended, where its record does not say it (a requeued job's).
std::optional<Mail> mail_for(const JobRecord& job, MailEvent event, const std::string& cluster, std::int64_t end = -1);

// Runs `program -s SUBJECT TO` with the mail's variables and an empty input, as Slurm runs its
// MailProg, without waiting for it; false when it could not be started.
bool send_mail(const std::string& program, const Mail& mail);

}  // namespace gwang::controller
