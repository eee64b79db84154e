#include "controller/mail.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <thread>

#include "slurm/format.h"
#include "slurm/mail.h"

extern char** environ;

namespace gwang::controller {

namespace {

// Each event: the mail type that asks for it (--mail-type) and what the subject says of it.
struct EventWords {
  const char* type;
  const char* words;
};
EventWords words_of(MailEvent event) {
  static constexpr EventWords kWords[] = {{"BEGIN", "Began"},
                                          {"END", "Ended"},
                                          {"FAIL", "Failed"},
                                          {"REQUEUE", "Requeued"},
                                          {"TIME_LIMIT", "Reached time limit"}};
  return kWords[static_cast<int>(event)];
}

}  // namespace

std::optional<Mail> mail_for(const JobRecord& job, MailEvent event, const std::string& cluster, std::int64_t end) {
  if (!slurm::mails_at(job.request.mail_type, words_of(event).type)) return std::nullopt;
  Mail m;
  m.to = job.request.mail_user.empty() ? job.user : job.request.mail_user;
  // Slurm's subject: the job (an array's task by its array), what happened, and its times.
  std::string who = "Slurm Job_id=" + std::to_string(job.id);
  if (job.in_array()) {
    who = "Slurm Array Task Job_id=" + std::to_string(job.array_job) + "_" + std::to_string(job.array_task) + " (" +
          std::to_string(job.id) + ")";
  }
  m.subject = who + " Name=" + job.request.name + " " + words_of(event).words;
  if (event == MailEvent::Began && job.start >= 0) {
    m.subject += ", Queued time " + slurm::format_clock(std::max<std::int64_t>(0, job.start - job.submit));
  } else if (event != MailEvent::Began && job.start >= 0) {
    const std::int64_t until = end >= 0 ? end : job.end >= 0 ? job.end : job.start;
    m.subject += ", Run time " + slurm::format_clock(std::max<std::int64_t>(0, until - job.start));
  }
  if (event == MailEvent::Ended || event == MailEvent::Failed) {
    m.subject += ", " + std::string(to_string(job.state)) + ", ExitCode " + std::to_string(job.exit_code);
  }
  m.env = {{"SLURM_CLUSTER_NAME", cluster},
           {"SLURM_JOB_ID", std::to_string(job.id)},
           {"SLURM_JOB_NAME", job.request.name},
           {"SLURM_JOB_USER", job.user},
           {"SLURM_JOB_MAIL_TYPE", words_of(event).words},
           {"SLURM_JOB_STATE", std::string(to_string(job.state))}};
  return m;
}

bool send_mail(const std::string& program, const Mail& mail) {
  std::vector<std::string> env_text;
  for (char** e = environ; e && *e; ++e) {
    const std::string kv = *e;
    if (kv.starts_with("PATH=") || kv.starts_with("HOME=") || kv.starts_with("LANG=")) env_text.push_back(kv);
  }
  for (const auto& [k, v] : mail.env) env_text.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (std::string& kv : env_text) envp.push_back(kv.data());
  envp.push_back(nullptr);
  std::string arg0 = "mail", s = "-s", subject = mail.subject, to = mail.to;
  char* argv[] = {arg0.data(), s.data(), subject.data(), to.data(), nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, program.c_str(), &actions, nullptr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return false;
  std::thread([pid] { ::waitpid(pid, nullptr, 0); }).detach();  // reaped when it is done
  return true;
}

}  // namespace gwang::controller
