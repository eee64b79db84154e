// gwang's jobs as Slurm's commands see them: which job ids name a job, Slurm's reasons over a
// queue, and the API's answer read strictly.
#include "cli/slurm_jobs.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

namespace gwang::cli {
namespace {

SlurmJob array_task(std::int64_t id, std::int64_t array, std::int64_t index) {
  SlurmJob j;
  j.id = id;
  j.array_job_id = array;
  j.array_task_id = index;
  j.array = "0-9";
  return j;
}

// A job is named by its id; a task of an array also by ARRAY_INDEX and by the array's id.
TEST(SlurmJobs, WhichIdsNameAJob) {
  SlurmJob plain;
  plain.id = 7;
  EXPECT_TRUE(plain.named_by("7"));
  EXPECT_FALSE(plain.named_by("7_0"));
  EXPECT_FALSE(plain.named_by("70"));
  EXPECT_FALSE(plain.named_by("0"));  // not in an array: no array id to match

  const SlurmJob task = array_task(104, 100, 4);
  EXPECT_EQ(task.job_id(), "100_4");
  for (const char* name : {"104", "100_4", "100"}) EXPECT_TRUE(task.named_by(name)) << name;
  for (const char* name : {"10", "100_5", "4", "104_4", ""}) EXPECT_FALSE(task.named_by(name)) << name;
  EXPECT_TRUE(task.named_by_any(std::set<std::string>{"12", "100"}));
  EXPECT_FALSE(task.named_by_any(std::set<std::string>{"12", "13"}));
}

// squeue's reasons: behind the first job of a partition waiting for resources, jobs say Priority;
// a reason gwang has and Slurm has not is shown under Slurm's nearest name; a job that does not
// wait says None.
TEST(SlurmJobs, ReasonsOverAQueue) {
  std::vector<SlurmJob> all(4);
  for (int i = 0; i < 4; ++i) {
    all[i].id = i + 1;
    all[i].state = api::JobState::Pending;
    all[i].partition = "main";
  }
  all[0].reason_code = api::ReasonCode::Reserved;  // gwang's: resources are reserved for it
  all[1].reason_code = api::ReasonCode::Resources;
  all[2].reason_code = api::ReasonCode::QuotaReached;
  all[3].state = api::JobState::Running;
  all[3].reason_code = api::ReasonCode::Resources;  // stale: it runs
  std::vector<SlurmJob*> order;
  for (SlurmJob& j : all) order.push_back(&j);
  slurm_reasons(order, all);
  EXPECT_EQ(reason_code(all[0]), "Resources");
  EXPECT_EQ(reason_code(all[1]), "Priority");
  EXPECT_EQ(reason_code(all[2]), "AssocGrpGRES");
  EXPECT_EQ(reason_code(all[3]), "None");
}

// The commands read the controller's answer through the API's types: a field that is not as the
// API writes it is an error that names it, never a default.
TEST(SlurmJobs, AnAnswerNotAsWrittenIsAnErrorNamingTheField) {
  const nlohmann::json good = nlohmann::json::parse(R"([{"id": 3, "name": "a", "user": "u", "state": "PENDING",
      "reason_code": "Dependency", "reason": "Dependency: waiting for afterok:2", "submit_time": 1,
      "start_time": null, "end_time": null, "node": "", "project": "", "command": ["true"], "workdir": "/",
      "cpus": 1, "mem": 1024, "nodes": 1, "time_limit": 60, "exit_code": 0, "attempt": 0, "requeue": true,
      "preemptible": false, "devices": [], "dependency": "afterok:2"}])");
  auto jobs = slurm_jobs(good);
  ASSERT_TRUE(jobs) << jobs.error().message;
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ(dependency_text((*jobs)[0]), "afterok:2(unfulfilled)");
  nlohmann::json renamed = good;
  renamed[0].erase("submit_time");
  renamed[0]["submitted"] = 1;
  auto r = slurm_jobs(renamed);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "jobs[0].submit_time: missing");
}

}  // namespace
}  // namespace gwang::cli
