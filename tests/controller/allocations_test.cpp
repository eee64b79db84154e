// Allocations (salloc's, srun's outside a job), driven in process with agents that call: they run
// nothing of their own and hold their nodes for their holder's steps; they end when released
// (COMPLETED or FAILED by the exit code), cancelled, out of time, or when their holder has been
// silent longer than the grace: their steps' tasks told to end, and their nodes free once those
// have; and a restart keeps them.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "controller/controller.h"
#include "controller/launch.h"
#include "fake_agent.h"

namespace gwang::controller {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class AllocationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("gwang_allocations_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    auto nobody = test_account();
    ASSERT_TRUE(nobody) << nobody.error().message;
    nobody_ = *nobody;
    agents_ = fake_agents(2);
    open();
    call_all();
  }
  void TearDown() override {
    controller_.reset();
    fs::remove_all(dir_);
  }
  void open() {
    controller_.reset();
    ControllerOptions o;
    o.data_dir = dir_.string();
    o.allocation_grace = 5s;
    o.node_timeout = 3600s;  // the rounds below run minutes ahead; no node goes silent
    o.snapshot_every = snapshot_every_;
    auto c = Controller::open(o, now_);
    ASSERT_TRUE(c) << c.error().message;
    controller_ = std::move(*c);
  }
  void call_all() {
    for (FakeAgent& a : agents_) ASSERT_TRUE(a.call(*controller_, now_)) << a.name;
  }
  void round(agent::Clock::time_point mono) { controller_->round(mono, now_); }
  // An allocation of `nodes` whole nodes, submitted and started: its id.
  std::int64_t allocation(int nodes, api::Allocation kind = api::Allocation::Attended) {
    api::SubmitRequest r;
    r.command = {"bash"};
    r.name = "interactive";
    r.nodes = nodes;
    r.cpus = 4;
    r.mem_bytes = 1LL << 30;
    r.allocation = kind;
    r.requeue = false;
    r.env = {{"SLURM_NTASKS", "8"}};
    auto j = controller_->submit(r, nobody_, now_);
    EXPECT_TRUE(j) << j.error().message;
    round(t0_);
    call_all();
    return j ? j->id : 0;
  }
  JobRecord job(std::int64_t id) { return *controller_->job(id); }
  std::size_t running_tasks() const {
    std::size_t n = 0;
    for (const FakeAgent& a : agents_) n += a.running.size();
    return n;
  }
  // A step of one task a node in job `id`, running on the agents.
  void step_in(std::int64_t id) {
    api::StepRequest s;
    s.command = {"sleep", "100"};
    auto step = controller_->start_step(id, s, "nobody", false, now_);
    ASSERT_TRUE(step) << step.error().message;
    call_all();
  }

  fs::path dir_;
  Account nobody_;
  std::int64_t now_ = 1'700'000'000;
  agent::Clock::time_point t0_ = agent::Clock::now();
  std::vector<FakeAgent> agents_;
  std::unique_ptr<Controller> controller_;
  std::int64_t snapshot_every_ = 100000;
};

TEST_F(AllocationsTest, RunsNothingAndHoldsItsNodesForItsSteps) {
  const std::int64_t id = allocation(2);
  JobRecord j = job(id);
  EXPECT_EQ(j.state, JobState::Running);
  EXPECT_EQ(j.tasks.size(), 2u);
  EXPECT_EQ(running_tasks(), 0u);  // nothing of its own runs
  // Its nodes are held: a job of a whole node waits.
  api::SubmitRequest other;
  other.command = {"true"};
  other.cpus = 4;
  auto waiting = controller_->submit(other, nobody_, now_);
  ASSERT_TRUE(waiting);
  round(t0_);
  EXPECT_EQ(job(waiting->id).state, JobState::Pending);
  // Its holder's steps run on its nodes.
  step_in(id);
  EXPECT_EQ(running_tasks(), 2u);
  // Its holder asks after it and sees what its command is given.
  auto seen = controller_->attend(id, "nobody", false, t0_);
  ASSERT_TRUE(seen) << seen.error().message;
  const Env env = allocation_env(*seen, "compare");
  const auto value = [&](const std::string& key) {
    for (const auto& [k, v] : env)
      if (k == key) return v;
    return std::string("<unset>");
  };
  EXPECT_EQ(value("SLURM_JOB_ID"), std::to_string(id));
  EXPECT_EQ(value("SLURM_JOB_NODELIST"), "n[1-2]");
  EXPECT_EQ(value("SLURM_JOB_NUM_NODES"), "2");
  EXPECT_EQ(value("SLURM_NTASKS"), "8");
  EXPECT_EQ(value("SLURM_TASKS_PER_NODE"), "4(x2)");
  EXPECT_EQ(value("SLURM_JOB_CPUS_PER_NODE"), "4(x2)");
  EXPECT_EQ(value("SLURM_CLUSTER_NAME"), "compare");
  for (const char* per_task : {"SLURM_NODEID", "SLURM_PROCID", "SLURMD_NODENAME", "GWANG_TOKEN", "SLURM_JOB_USER"})
    EXPECT_EQ(value(per_task), "<unset>") << per_task;
  // Released with its command's exit code 0: its steps' tasks are told to end, and once they have,
  // it is COMPLETED and the job that waited starts (not before: its nodes are still in use).
  auto released = controller_->release(id, "nobody", false, 0, now_ + 60);
  ASSERT_TRUE(released) << released.error().message;
  EXPECT_EQ(released->state, JobState::Running);
  EXPECT_EQ(released->reason, "ending (released by nobody (exit code 0))");
  round(t0_);
  EXPECT_EQ(job(waiting->id).state, JobState::Pending);
  call_all();  // the agents end the step's tasks ...
  EXPECT_EQ(running_tasks(), 0u);
  call_all();  // ... and say so
  EXPECT_EQ(job(id).state, JobState::Completed);
  EXPECT_EQ(job(id).exit_code, 0);
  EXPECT_EQ(job(id).steps[0].state, JobState::Cancelled);
  round(t0_);
  EXPECT_EQ(job(waiting->id).state, JobState::Running);
  // Released again, it has ended already.
  EXPECT_NE(controller_->release(id, "nobody", false, 0, now_).error().message.find("has already ended (COMPLETED)"),
            std::string::npos);
}

TEST_F(AllocationsTest, ReleaseSaysHowItsCommandEnded) {
  const std::int64_t id = allocation(1);
  EXPECT_EQ(controller_->release(id, "mallory", false, 3, now_).error().message,
            "job " + std::to_string(id) + " not found");
  auto released = controller_->release(id, "nobody", false, 3, now_);
  ASSERT_TRUE(released);
  EXPECT_EQ(released->state, JobState::Failed);
  EXPECT_EQ(released->exit_code, 3);
  // A job that runs a command of its own is not released: it ends when the command does.
  api::SubmitRequest plain;
  plain.command = {"sleep", "100"};
  auto j = controller_->submit(plain, nobody_, now_);
  ASSERT_TRUE(j);
  EXPECT_NE(controller_->release(j->id, "nobody", false, 0, now_).error().message.find("is not an allocation"),
            std::string::npos);
  EXPECT_NE(controller_->attend(j->id, "nobody", false, t0_).error().message.find("is not an allocation"),
            std::string::npos);
}

TEST_F(AllocationsTest, OneReleasedWhileWaitingIsCancelled) {
  const std::int64_t first = allocation(2);
  const std::int64_t second = allocation(1);  // the nodes are the first's
  EXPECT_EQ(job(second).state, JobState::Pending);
  auto released = controller_->release(second, "nobody", false, 0, now_);
  ASSERT_TRUE(released);
  EXPECT_EQ(released->state, JobState::Cancelled);
  EXPECT_EQ(released->start, -1);
  EXPECT_EQ(job(first).state, JobState::Running);
}

TEST_F(AllocationsTest, CancelAndTheTimeLimitEndItOnceItsStepsHaveEnded) {
  const std::int64_t id = allocation(1);
  step_in(id);
  auto cancelled = controller_->cancel(id, "nobody", false, now_);
  ASSERT_TRUE(cancelled);
  EXPECT_EQ(cancelled->state, JobState::Running);  // its step's task is ending
  // Released meanwhile by its holder: the first end asked for stands.
  ASSERT_TRUE(controller_->release(id, "nobody", false, 0, now_));
  call_all();
  call_all();
  EXPECT_EQ(running_tasks(), 0u);
  EXPECT_EQ(job(id).state, JobState::Cancelled);
  EXPECT_EQ(job(id).reason, "cancelled by nobody");

  const std::int64_t timed = allocation(1);  // without a step: it ends at once
  now_ += 3601;                              // past its hour
  round(t0_);
  EXPECT_EQ(job(timed).state, JobState::Timeout);
  EXPECT_EQ(job(timed).reason, "time limit reached");
}

TEST_F(AllocationsTest, AHolderSilentLongerThanTheGraceEndsIt) {
  const std::int64_t attended = allocation(1);
  const std::int64_t unattended = allocation(1, api::Allocation::Unattended);  // salloc --no-shell
  ASSERT_TRUE(controller_->attend(attended, "nobody", false, t0_ + 3s));
  round(t0_ + 7s);  // 4 s of silence
  EXPECT_EQ(job(attended).state, JobState::Running);
  round(t0_ + 9s);  // 6 s
  EXPECT_EQ(job(attended).state, JobState::Cancelled);
  EXPECT_EQ(job(attended).reason, "its holder (salloc or srun) went silent: no word for 5 s");
  EXPECT_EQ(job(unattended).state, JobState::Running);
  // One waiting for its start is ended the same way.
  ASSERT_TRUE(controller_->cancel(unattended, "nobody", false, now_));
  const std::int64_t busy = allocation(2);
  const std::int64_t waits = allocation(1);
  round(t0_ + 20s);  // neither was asked after since it was first seen
  EXPECT_EQ(job(busy).state, JobState::Cancelled);
  EXPECT_EQ(job(waits).state, JobState::Cancelled);
  EXPECT_EQ(job(waits).start, -1);
}

TEST_F(AllocationsTest, ARestartKeepsItAndCountsSilenceFromThen) {
  for (const std::int64_t every : {100000, 1}) {  // from the journal's records, then from a snapshot
    snapshot_every_ = every;
    open();
    call_all();
    const std::int64_t id = allocation(1);
    open();  // a restart
    call_all();
    JobRecord j = job(id);
    EXPECT_EQ(j.state, JobState::Running);
    EXPECT_EQ(j.request.allocation, api::Allocation::Attended);
    EXPECT_EQ(running_tasks(), 0u);
    const auto restarted = agent::Clock::now() + 100s;
    round(restarted);  // long after its last word before the restart: no silence counted yet
    EXPECT_EQ(job(id).state, JobState::Running);
    round(restarted + 6s);
    EXPECT_EQ(job(id).state, JobState::Cancelled);
  }
}

}  // namespace
}  // namespace gwang::controller
