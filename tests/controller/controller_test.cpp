// The controller in one process with its local node: jobs run for real, as their owners, and the
// journal brings the state back after a restart.
#include "controller/controller.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <thread>

#include "../store/pg_server.h"
#include "api/codec.h"
#include "store/journal.h"
#include "store/postgres.h"

namespace gwang::controller {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class ControllerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("gwang_controller_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    fs::permissions(dir_, fs::perms::all);
    auto nobody = lookup_account("nobody");
    ASSERT_TRUE(nobody) << nobody.error().message;
    nobody_ = *nobody;
    nobody_.home = dir_.string();  // nobody's home (/nonexistent) does not exist
  }
  void TearDown() override {
    controller_.reset();
    fs::remove_all(dir_);
  }

  void open(std::int64_t snapshot_every = 100000) {
    ControllerOptions o;
    o.snapshot_every = snapshot_every;
    o.data_dir = (dir_ / "data").string();
    o.store = store_;
    o.local_node = "local";
    o.host.cpus = 4;
    o.host.memory_bytes = 8LL << 30;
    o.host.devices = {{"npu:ascend910", "npu:ascend910", "npu:ascend910-0", 0, 0, true},
                      {"npu:ascend910", "npu:ascend910", "npu:ascend910-1", 1, 0, true}};
    o.kill_grace = 200ms;
    if (tweak_) tweak_(o);
    auto c = Controller::open(o, now_);
    ASSERT_TRUE(c) << c.error().message;
    controller_ = std::move(*c);
  }

  api::SubmitRequest request(std::vector<std::string> command) {
    api::SubmitRequest r;
    r.command = std::move(command);
    r.name = "test";
    r.mem_bytes = 256LL << 20;
    r.time_s = 600;
    return r;
  }

  // Runs the control loop until the job ends, or fails after `limit`.
  JobRecord run_until_ended(std::int64_t id, std::chrono::seconds limit = 20s) {
    const auto deadline = agent::Clock::now() + limit;
    while (agent::Clock::now() < deadline) {
      controller_->round(agent::Clock::now(), now_);
      auto job = controller_->job(id);
      if (job && job->ended()) return *job;
      std::this_thread::sleep_for(5ms);
    }
    ADD_FAILURE() << "job " << id << " did not end";
    return {};
  }

  std::string output(std::int64_t id) {
    std::ifstream in(controller_->log_path(*controller_->job(id), 0, false));
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  void recovers_from_the_journal();  // the bodies of tests run on both stores
  void snapshot_and_tail();
  std::string store_;  // "": SQLite in data_dir
  fs::path dir_;
  Account nobody_;
  std::int64_t now_ = 1'700'000'000;
  std::unique_ptr<Controller> controller_;
  std::function<void(ControllerOptions&)> tweak_;  // changes to the options open() uses
};

// A job runs as its owner, with its devices in the environment, and completes.
TEST_F(ControllerTest, JobRunsAsItsOwnerAndCompletes) {
  open();
  api::SubmitRequest r =
      request({"sh", "-c", "id -un; echo $GWANG_JOB_ID $GWANG_DEVICES $WORLD_SIZE $RANK $MASTER_ADDR $MASTER_PORT"});
  r.gpus = {1, {"npu:ascend910"}};
  auto job = controller_->submit(r, nobody_, now_);
  ASSERT_TRUE(job) << job.error().message;
  EXPECT_EQ(job->state, JobState::Pending) << "the answer does not wait for the start";
  controller_->round(agent::Clock::now(), now_);
  EXPECT_EQ(controller_->job(job->id)->state, JobState::Running);  // an idle node takes it at the next round
  const JobRecord done = run_until_ended(job->id);
  EXPECT_EQ(done.state, JobState::Completed) << done.reason;
  EXPECT_EQ(done.exit_code, 0);
  EXPECT_EQ(done.tasks.at(0).devices, (std::vector<std::string>{"npu:ascend910-0"}));
  EXPECT_EQ(output(job->id), "nobody\n" + std::to_string(job->id) + " npu:ascend910-0 1 0 127.0.0.1 " +
                                 std::to_string(20000 + job->id) + "\n");
}

// Exit codes come back; a failing job is FAILED.
TEST_F(ControllerTest, ExitCodeAndFailure) {
  open();
  auto job = controller_->submit(request({"sh", "-c", "exit 7"}), nobody_, now_);
  ASSERT_TRUE(job);
  const JobRecord done = run_until_ended(job->id);
  EXPECT_EQ(done.state, JobState::Failed);
  EXPECT_EQ(done.exit_code, 7);
}

// Requests no node can ever hold are refused at submission, saying why.
TEST_F(ControllerTest, ImpossibleRequestsAreRefused) {
  open();
  api::SubmitRequest big = request({"true"});
  big.cpus = 64;
  auto r = controller_->submit(big, nobody_, now_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("no node can ever hold this job: each of its 1 task(s) needs 64 CPUs"),
            std::string::npos)
      << r.error().message;
  api::SubmitRequest unknown = request({"true"});
  unknown.gpus = {1, {"H100"}};
  auto u = controller_->submit(unknown, nobody_, now_);
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().message, "no node has accelerator model 'H100'");
  api::SubmitRequest two_nodes = request({"true"});
  two_nodes.nodes = 2;
  auto t = controller_->submit(two_nodes, nobody_, now_);
  ASSERT_FALSE(t);
  // The refusal names the nearest request that could run.
  EXPECT_TRUE(t.error().message.ends_with("; it could run with at most 1 node(s)")) << t.error().message;
  EXPECT_TRUE(controller_->jobs(true).empty());
}

// A waiting job says why; cancelling it ends it at once.
TEST_F(ControllerTest, PendingReasonAndCancel) {
  open();
  ASSERT_TRUE(controller_->set_node_state("local", "drained", now_));
  auto job = controller_->submit(request({"true"}), nobody_, now_);
  ASSERT_TRUE(job);
  controller_->round(agent::Clock::now(), now_);
  auto waiting = controller_->job(job->id);
  EXPECT_EQ(waiting->state, JobState::Pending);
  EXPECT_NE(waiting->reason.find("NodesUnavailable"), std::string::npos) << waiting->reason;
  auto other = controller_->cancel(job->id, "someone-else", false, now_);
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().message, "job " + std::to_string(job->id) + " not found");
  auto cancelled = controller_->cancel(job->id, "nobody", false, now_);
  ASSERT_TRUE(cancelled);
  EXPECT_EQ(cancelled->state, JobState::Cancelled);
  EXPECT_FALSE(controller_->cancel(job->id, "nobody", false, now_));
}

// A running job that is cancelled ends as CANCELLED; one that overruns its limit as TIMEOUT.
TEST_F(ControllerTest, CancelAndTimeLimit) {
  open();
  auto long_job = controller_->submit(request({"sleep", "100"}), nobody_, now_);
  ASSERT_TRUE(long_job);
  controller_->round(agent::Clock::now(), now_);
  ASSERT_EQ(controller_->job(long_job->id)->state, JobState::Running);
  ASSERT_TRUE(controller_->cancel(long_job->id, "nobody", false, now_));
  EXPECT_EQ(run_until_ended(long_job->id).state, JobState::Cancelled);

  api::SubmitRequest limited = request({"sleep", "100"});
  limited.time_s = 60;
  auto timed = controller_->submit(limited, nobody_, now_);
  ASSERT_TRUE(timed);
  controller_->round(agent::Clock::now(), now_);
  ASSERT_EQ(controller_->job(timed->id)->state, JobState::Running);
  now_ += 61;  // the wall clock passes the limit
  EXPECT_EQ(run_until_ended(timed->id).state, JobState::Timeout);
}

// A deadline (sbatch --deadline): a job that waits until it could no longer end by then is
// removed as DEADLINE; one that started in time runs on past it.
TEST_F(ControllerTest, AJobThatCanNoLongerEndByItsDeadlineIsRemoved) {
  open();
  api::SubmitRequest whole = request({"sleep", "100"});
  whole.cpus = controller_->nodes().front().cpus;  // the node's every CPU: the next job waits
  auto first = controller_->submit(whole, nobody_, now_);
  ASSERT_TRUE(first);
  controller_->round(agent::Clock::now(), now_);
  ASSERT_EQ(controller_->job(first->id)->state, JobState::Running);
  api::SubmitRequest tight = whole;
  tight.time_s = 60;
  tight.deadline = now_ + 90;  // it must start within 30 s
  auto waiting = controller_->submit(tight, nobody_, now_);
  ASSERT_TRUE(waiting);
  now_ += 20;
  controller_->round(agent::Clock::now(), now_);
  EXPECT_EQ(controller_->job(waiting->id)->state, JobState::Pending);
  now_ += 20;
  controller_->round(agent::Clock::now(), now_);
  EXPECT_EQ(controller_->job(waiting->id)->state, JobState::Deadline);
  EXPECT_EQ(controller_->job(waiting->id)->reason, "DeadLine: it could no longer end by its deadline");
  // The running one had no deadline; one that started in time is not ended by it.
  ASSERT_TRUE(controller_->cancel(first->id, "nobody", false, now_));
  run_until_ended(first->id);
  api::SubmitRequest in_time = request({"sleep", "100"});
  in_time.time_s = 60;
  in_time.deadline = now_ + 61;
  auto runs = controller_->submit(in_time, nobody_, now_);
  ASSERT_TRUE(runs);
  controller_->round(agent::Clock::now(), now_);
  ASSERT_EQ(controller_->job(runs->id)->state, JobState::Running);
  now_ += 5;
  controller_->round(agent::Clock::now(), now_);
  EXPECT_EQ(controller_->job(runs->id)->state, JobState::Running);
  ASSERT_TRUE(controller_->cancel(runs->id, "nobody", false, now_));
  run_until_ended(runs->id);
}

// --time-min: a job that would run into the head's reservation starts now with its limit lowered
// to end by it, and keeps that limit (across a restart too).
TEST_F(ControllerTest, ALeastTimeLimitStartsAJobBeforeTheReservation) {
  open();
  api::SubmitRequest first = request({"sleep", "1000"});
  first.time_s = 100;  // runs until now + 100
  auto running = controller_->submit(first, nobody_, now_);
  ASSERT_TRUE(running);
  controller_->round(agent::Clock::now(), now_);
  ASSERT_EQ(controller_->job(running->id)->state, JobState::Running);
  api::SubmitRequest whole = request({"true"});
  whole.cpus = 4;  // the head: all four CPUs, at the first job's end
  ASSERT_TRUE(controller_->submit(whole, nobody_, now_));
  api::SubmitRequest flexible = request({"sleep", "1000"});
  flexible.time_s = 3600;
  flexible.time_min_s = 60;
  auto backfilled = controller_->submit(flexible, nobody_, now_);
  ASSERT_TRUE(backfilled);
  now_ += 10;
  controller_->round(agent::Clock::now(), now_);
  ASSERT_EQ(controller_->job(backfilled->id)->state, JobState::Running);
  EXPECT_EQ(controller_->job(backfilled->id)->request.time_s, 90) << "ends by the reservation";
  ASSERT_TRUE(controller_->checkpoint(now_));
  controller_.reset();
  open();
  EXPECT_EQ(controller_->job(backfilled->id)->request.time_s, 90);
}

// Dependencies in Slurm's syntax and begin times hold jobs back until they hold; they survive a
// restart, also when the job depended on ended before it.
TEST_F(ControllerTest, DependenciesAndBeginTimes) {
  open();
  auto first = controller_->submit(request({"sh", "-c", "exit 3"}), nobody_, now_);
  ASSERT_TRUE(first);
  const std::string a = std::to_string(first->id);
  api::SubmitRequest ok = request({"true"});
  ok.dependency = "afterok:" + a;
  auto on_ok = controller_->submit(ok, nobody_, now_);
  api::SubmitRequest not_ok = request({"true"});
  not_ok.dependency = "afternotok:" + a;
  auto on_not_ok = controller_->submit(not_ok, nobody_, now_);
  api::SubmitRequest later = request({"true"});
  later.dependency = "afterany:" + a;
  later.begin = now_ + 100;
  auto on_later = controller_->submit(later, nobody_, now_);
  ASSERT_TRUE(on_ok && on_not_ok && on_later);
  EXPECT_EQ(controller_->job(on_ok->id)->reason, "Dependency: waiting for afterok:" + a);
  EXPECT_EQ(controller_->job(on_later->id)->reason, "BeginTime: not before 2023-11-14T22:15:00Z");

  EXPECT_EQ(run_until_ended(first->id).state, JobState::Failed);
  EXPECT_EQ(run_until_ended(on_not_ok->id).state, JobState::Completed);
  controller_->round(agent::Clock::now(), now_);
  EXPECT_EQ(controller_->job(on_ok->id)->reason,
            "DependencyNeverSatisfied: afterok:" + a + " can no longer hold; it will not run (cancel it)");
  EXPECT_EQ(controller_->job(on_later->id)->state, JobState::Pending);

  // A restart: the job they depend on ended before it, and is remembered with how it ended.
  controller_.reset();
  open();
  controller_->round(agent::Clock::now(), now_);
  EXPECT_EQ(controller_->job(on_ok->id)->request.dependency, "afterok:" + a);
  EXPECT_EQ(controller_->job(on_ok->id)->reason.rfind("DependencyNeverSatisfied: ", 0), 0u);
  EXPECT_EQ(controller_->job(on_later->id)->request.begin, now_ + 100);
  ASSERT_TRUE(controller_->checkpoint(now_));  // and from a snapshot
  controller_.reset();
  open();
  EXPECT_EQ(controller_->job(on_later->id)->request.begin, now_ + 100);
  now_ += 101;
  EXPECT_EQ(run_until_ended(on_later->id).state, JobState::Completed);

  api::SubmitRequest unknown = request({"true"});
  unknown.dependency = "afterok:9999";
  auto refused = controller_->submit(unknown, nobody_, now_);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message, "dependency: job 9999 does not exist");
  EXPECT_TRUE(controller_->cancel(on_ok->id, "nobody", false, now_));
}

// A job array: one job per index with consecutive ids, at most `%N` at once, its index in the
// environment; cancelling the array's id cancels what is left of it; it survives a restart.
TEST_F(ControllerTest, JobArrays) {
  open();
  api::SubmitRequest r = request({"sh", "-c", "echo $SLURM_ARRAY_JOB_ID $SLURM_ARRAY_TASK_ID $GWANG_ARRAY_TASK_ID"});
  r.array = "1-7:2%2";  // 1, 3, 5, 7, two at a time
  auto first = controller_->submit(r, nobody_, now_);
  ASSERT_TRUE(first) << first.error().message;
  const std::int64_t a = first->id;
  EXPECT_EQ(first->array_job, a);
  EXPECT_EQ(first->array_task, 1);
  ASSERT_EQ(controller_->jobs(true).size(), 4u);
  EXPECT_EQ(controller_->job(a + 3)->array_task, 7);
  controller_->round(agent::Clock::now(), now_);
  int running = 0;
  for (const JobRecord& j : controller_->jobs(true)) running += j.state == JobState::Running;
  EXPECT_LE(running, 2);
  EXPECT_EQ(controller_->job(a + 3)->reason, "JobArrayTaskLimit: its array runs as many tasks at once as it allows");
  for (std::int64_t k = 0; k < 4; ++k) EXPECT_EQ(run_until_ended(a + k).state, JobState::Completed);
  EXPECT_EQ(output(a + 2), std::to_string(a) + " 5 5\n");

  // A dependency on the array is on all its tasks.
  api::SubmitRequest after = request({"true"});
  after.dependency = "afterok:" + std::to_string(a);
  auto on_array = controller_->submit(after, nobody_, now_);
  ASSERT_TRUE(on_array);
  EXPECT_EQ(run_until_ended(on_array->id).state, JobState::Completed);

  api::SubmitRequest slow = request({"sleep", "100"});
  slow.array = "0-2";
  auto second = controller_->submit(slow, nobody_, now_);
  ASSERT_TRUE(second);
  controller_.reset();  // the array comes back from the journal, one record
  open();
  ASSERT_EQ(controller_->job(second->id + 2)->array_task, 2);
  ASSERT_TRUE(controller_->checkpoint(now_));  // and from a snapshot
  controller_.reset();
  open();
  EXPECT_EQ(controller_->job(second->id + 2)->array_job, second->id);
  EXPECT_EQ(controller_->job(second->id + 2)->request.array, "0-2");
  ASSERT_TRUE(controller_->cancel(second->id, "nobody", false, now_));
  for (std::int64_t k = 0; k < 3; ++k) EXPECT_EQ(run_until_ended(second->id + k).state, JobState::Cancelled);

  api::SubmitRequest big = request({"true"});
  big.array = "0-1001";
  auto refused = controller_->submit(big, nobody_, now_);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message,
            "array: invalid job array specification '0-1001': index 1001 is above the largest allowed, 1000 "
            "(max_array_size)");
}

// A batch script runs as its owner with its arguments; its output goes to the files its patterns
// name, created by the job's user; what the user may not write ends the job with the reason.
TEST_F(ControllerTest, BatchScriptsAndTheirOutputFiles) {
  open();
  api::SubmitRequest r = request({"first arg", "2"});
  r.command = {"first arg", "2"};
  r.script = "#!/bin/sh\necho \"$1|$2|$SLURM_JOB_NAME|$SLURM_JOB_NODELIST|$(id -un)\"\necho oops >&2\n";
  r.workdir = dir_.string();
  r.output = "out-%j-%x.txt";
  auto one = controller_->submit(r, nobody_, now_);
  ASSERT_TRUE(one) << one.error().message;
  EXPECT_EQ(run_until_ended(one->id).state, JobState::Completed);
  const fs::path file = dir_ / ("out-" + std::to_string(one->id) + "-test.txt");
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "first arg|2|test|local|nobody\noops\n");
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, nobody_.uid);
  EXPECT_EQ(output(one->id), "") << "the output went to the job's file";
  EXPECT_FALSE(fs::exists(dir_ / "data" / "jobs" / "scripts" / agent::task_id(one->id, 0, 0)))
      << "the node keeps a script only while its task runs";

  // Errors apart, in an array: one file per task.
  r.output = "o-%A_%a";
  r.error = "e-%A_%a";
  r.array = "3-4";
  auto two = controller_->submit(r, nobody_, now_);
  ASSERT_TRUE(two);
  for (int k = 0; k < 2; ++k) EXPECT_EQ(run_until_ended(two->id + k).state, JobState::Completed);
  for (const char* index : {"3", "4"}) {
    std::ifstream err(dir_ / ("e-" + std::to_string(two->id) + "_" + index));
    std::string line;
    EXPECT_TRUE(std::getline(err, line));
    EXPECT_EQ(line, "oops");
  }

  // A directory nobody may write to.
  if (::getuid() == 0) {
    fs::create_directories(dir_ / "closed");
    fs::permissions(dir_ / "closed", fs::perms::owner_all | fs::perms::group_read | fs::perms::others_read);
    r.array.clear();
    r.error.clear();
    r.output = "closed/out";
    auto three = controller_->submit(r, nobody_, now_);
    ASSERT_TRUE(three);
    const JobRecord failed = run_until_ended(three->id);
    EXPECT_EQ(failed.state, JobState::Failed);
    EXPECT_NE(failed.reason.find("opening its output file closed/out failed: Permission denied"), std::string::npos)
        << failed.reason;
  }
}

// Partitions: a job runs on its partition's nodes only, the default one when it names none, and
// within the partition's longest time limit; an unknown name is refused with the cluster's.
TEST_F(ControllerTest, Partitions) {
  tweak_ = [](ControllerOptions& o) {
    o.partitions = {{"gpu", "local", true, 3600}, {"cpu", "cpu[1-2]", false, 0}, {"all", "ALL", false, 0}};
  };
  open();
  api::SubmitRequest r = request({"sh", "-c", "echo $SLURM_JOB_PARTITION"});
  auto in_default = controller_->submit(r, nobody_, now_);
  ASSERT_TRUE(in_default) << in_default.error().message;
  EXPECT_EQ(in_default->request.partition, "gpu");
  EXPECT_EQ(run_until_ended(in_default->id).state, JobState::Completed);
  EXPECT_EQ(output(in_default->id), "gpu\n");
  r.partition = "all";
  auto in_all = controller_->submit(r, nobody_, now_);
  ASSERT_TRUE(in_all);
  EXPECT_EQ(run_until_ended(in_all->id).state, JobState::Completed);

  r.partition = "cpu";  // no node of it has registered
  auto nowhere = controller_->submit(r, nobody_, now_);
  ASSERT_FALSE(nowhere);
  EXPECT_EQ(nowhere.error().message.rfind("no node can ever hold this job", 0), 0u) << nowhere.error().message;
  r.partition = "huge";
  auto unknown = controller_->submit(r, nobody_, now_);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message, "invalid partition name 'huge' (this cluster's: gpu, cpu, all)");
  r.partition.clear();
  r.time_s = 7200;
  auto too_long = controller_->submit(r, nobody_, now_);
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().message, "time limit 02:00:00 is above partition gpu's MaxTime of 01:00:00");

  const auto parts = controller_->partitions();
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].nodes, std::vector<std::string>{"local"});
  EXPECT_TRUE(parts[1].nodes.empty());
  EXPECT_EQ(controller_->nodes().at(0).partitions, (std::vector<std::string>{"gpu", "all"}));
}

// Holds: a job submitted held waits until released; an operator's hold of another's job only an
// operator lifts; holds outlive a restart, from the journal and from a snapshot.
TEST_F(ControllerTest, HoldsAndReleases) {
  open();
  api::SubmitRequest r = request({"true"});
  r.hold = true;
  auto held = controller_->submit(r, nobody_, now_);
  ASSERT_TRUE(held);
  controller_->round(agent::Clock::now(), now_);
  EXPECT_EQ(controller_->job(held->id)->state, JobState::Pending);
  EXPECT_EQ(controller_->job(held->id)->reason,
            "JobHeldUser: held by its owner until released (scontrol release, gwang release)");
  auto again = controller_->set_hold(held->id, true, "nobody", false, now_);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().message, "job " + std::to_string(held->id) + " is held already");
  controller_.reset();
  open();  // from the journal
  EXPECT_EQ(controller_->job(held->id)->hold, Hold::User);
  controller_->round(agent::Clock::now(), now_);
  EXPECT_EQ(controller_->job(held->id)->state, JobState::Pending);
  ASSERT_TRUE(controller_->set_hold(held->id, false, "nobody", false, now_));
  EXPECT_EQ(run_until_ended(held->id).state, JobState::Completed);
  auto not_held = controller_->set_hold(held->id, false, "nobody", false, now_);
  ASSERT_FALSE(not_held);
  EXPECT_EQ(not_held.error().message, "job " + std::to_string(held->id) + " is not pending (COMPLETED)");

  // An operator's hold.
  r.hold = false;
  r.begin = now_ + 3600;  // waits for its begin time meanwhile
  auto other = controller_->submit(r, nobody_, now_);
  ASSERT_TRUE(other);
  ASSERT_TRUE(controller_->set_hold(other->id, true, "root", true, now_));
  EXPECT_EQ(controller_->job(other->id)->hold, Hold::Admin);
  EXPECT_EQ(controller_->job(other->id)->reason, "JobHeldAdmin: held by an operator until an operator releases it");
  auto by_owner = controller_->set_hold(other->id, false, "nobody", false, now_);
  ASSERT_FALSE(by_owner);
  EXPECT_EQ(by_owner.error().message,
            "job " + std::to_string(other->id) + " is held by an operator: only an operator may release it");
  ASSERT_TRUE(controller_->checkpoint(now_));
  controller_.reset();
  open();  // from the snapshot
  EXPECT_EQ(controller_->job(other->id)->hold, Hold::Admin);
  ASSERT_TRUE(controller_->set_hold(other->id, false, "root", true, now_));
  EXPECT_EQ(controller_->job(other->id)->reason.rfind("BeginTime", 0), 0u) << controller_->job(other->id)->reason;

  // An array's id holds every pending task.
  r.begin = 0;
  r.hold = false;
  r.array = "0-2";
  r.command = {"sleep", "100"};
  auto arr = controller_->submit(r, nobody_, now_);
  ASSERT_TRUE(arr);
  ASSERT_TRUE(controller_->set_hold(arr->id, true, "nobody", false, now_));
  for (int k = 0; k < 3; ++k) EXPECT_EQ(controller_->job(arr->id + k)->hold, Hold::User);
  controller_->round(agent::Clock::now(), now_);
  for (int k = 0; k < 3; ++k) EXPECT_EQ(controller_->job(arr->id + k)->state, JobState::Pending);
  ASSERT_TRUE(controller_->cancel(arr->id, "nobody", false, now_));
}

// After a restart: ended jobs are remembered, pending ones wait again, and a job that was running
// when the controller stopped is NODE_FAIL; numbering continues.
TEST_F(ControllerTest, RecoversFromTheJournal) { recovers_from_the_journal(); }

// The same on PostgreSQL.
TEST_F(ControllerTest, RecoversFromThePostgresStore) {
  auto& pg = store::testing::PgServer::get();
  ASSERT_TRUE(pg.ok()) << pg.error();
  store_ = pg.fresh_database();
  recovers_from_the_journal();
}

// An embedded store copied into PostgreSQL (what `gwang admin migrate-store` does): the controller
// opened on the copy has every job and the same next id.
TEST_F(ControllerTest, AStoreCopiedIntoPostgresKeepsEveryJob) {
  auto& pg = store::testing::PgServer::get();
  ASSERT_TRUE(pg.ok()) << pg.error();
  open(3);  // a snapshot every 3 records: the copy holds one and the records after it
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    auto j = controller_->submit(request({"true"}), nobody_, now_);
    ASSERT_TRUE(j);
    ids.push_back(j->id);
    run_until_ended(j->id);
  }
  auto waiting = controller_->submit(request({"true"}), nobody_, now_);
  ASSERT_TRUE(waiting);
  const std::size_t jobs = controller_->jobs(true).size();
  controller_.reset();

  auto from = store::open_sqlite_journal((dir_ / "data" / "state.db").string());
  ASSERT_TRUE(from) << from.error().message;
  const std::string to_db = pg.fresh_database();
  {
    auto to = store::open_postgres_journal(to_db);
    ASSERT_TRUE(to) << to.error().message;
    auto copied = store::copy_store(**from, **to);
    ASSERT_TRUE(copied) << copied.error().message;
    EXPECT_EQ((*to)->last_seq(), (*from)->last_seq());
  }
  store_ = to_db;
  open();
  EXPECT_EQ(controller_->jobs(true).size(), jobs);
  for (std::int64_t id : ids) EXPECT_EQ(controller_->job(id)->state, JobState::Completed) << id;
  EXPECT_EQ(controller_->job(waiting->id)->state, JobState::Pending);
  auto next = controller_->submit(request({"true"}), nobody_, now_);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->id, waiting->id + 1);
}

// The store out of reach when the control loop records a start: the start is refused and the
// controller says so through on_store_failure (the programs stop there, to recover from the store);
// a submission meanwhile is refused and leaves nothing behind. The store, back, holds the job as
// waiting: what it holds and what a new controller recovers agree.
TEST_F(ControllerTest, AStoreThatRefusesARecordIsReported) {
  auto& pg = store::testing::PgServer::get();
  ASSERT_TRUE(pg.ok()) << pg.error();
  store_ = pg.fresh_database();
  std::vector<std::string> failures;
  tweak_ = [&](ControllerOptions& o) {
    o.postgres.retry_for = 300ms;
    o.on_store_failure = [&](const Error& e) { failures.push_back(e.message); };
  };
  open();
  auto job = controller_->submit(request({"true"}), nobody_, now_);
  ASSERT_TRUE(job);
  ASSERT_TRUE(pg.stop());
  controller_->round(agent::Clock::now(), now_);
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_NE(failures[0].find("postgres:"), std::string::npos) << failures[0];
  auto refused = controller_->submit(request({"true"}), nobody_, now_);
  ASSERT_FALSE(refused);
  EXPECT_EQ(controller_->jobs(true).size(), 1u) << "the refused submission left a job behind";
  ASSERT_TRUE(pg.start());
  controller_.reset();
  tweak_ = nullptr;
  open();
  auto recovered = controller_->job(job->id);
  ASSERT_TRUE(recovered);
  EXPECT_EQ(recovered->state, JobState::Pending);
  EXPECT_EQ(controller_->jobs(true).size(), 1u);
}

void ControllerTest::recovers_from_the_journal() {
  open();
  auto done = controller_->submit(request({"true"}), nobody_, now_);
  ASSERT_TRUE(done);
  run_until_ended(done->id);
  auto running = controller_->submit(request({"sleep", "100"}), nobody_, now_);
  ASSERT_TRUE(running);
  controller_->round(agent::Clock::now(), now_);
  ASSERT_EQ(controller_->job(running->id)->state, JobState::Running);
  ASSERT_TRUE(controller_->set_node_state("local", "drained", now_));
  auto pending = controller_->submit(request({"true"}), nobody_, now_);
  ASSERT_TRUE(pending);
  controller_.reset();  // the controller stops (its tasks end with it)

  open();
  EXPECT_EQ(controller_->job(done->id)->state, JobState::Completed);
  EXPECT_EQ(controller_->job(running->id)->state, JobState::NodeFail);
  EXPECT_EQ(controller_->job(pending->id)->state, JobState::Pending);
  auto next = controller_->submit(request({"true"}), nobody_, now_);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->id, pending->id + 1);
}

// A snapshot plus the records after it give back exactly the state the records alone give.
TEST_F(ControllerTest, SnapshotAndTailRecoverTheSameState) { snapshot_and_tail(); }

// The same on PostgreSQL.
TEST_F(ControllerTest, SnapshotAndTailRecoverTheSameStateOnPostgres) {
  auto& pg = store::testing::PgServer::get();
  ASSERT_TRUE(pg.ok()) << pg.error();
  store_ = pg.fresh_database();
  snapshot_and_tail();
}

void ControllerTest::snapshot_and_tail() {
  auto describe = [&] {
    controller_->round(agent::Clock::now(), now_);  // pending reasons as a pass sees them
    std::string out;
    for (const JobRecord& j : controller_->jobs(true)) {
      out += std::to_string(j.id) + " " + std::string(to_string(j.state)) + " " + std::to_string(j.exit_code) + " " +
             j.request.name + " " + j.reason + " " + std::to_string(j.submit) + " " + std::to_string(j.end) + " " +
             j.nodelist() + "\n";
    }
    for (const NodeRecord& n : controller_->nodes()) out += n.name + " " + n.state + "\n";
    return out;
  };
  open();
  std::vector<std::int64_t> ids;
  for (const char* code : {"0", "3"}) {
    auto j = controller_->submit(request({"sh", "-c", std::string("exit ") + code}), nobody_, now_);
    ASSERT_TRUE(j);
    run_until_ended(j->id);
  }
  auto cancelled = controller_->submit(request({"sleep", "100"}), nobody_, now_);
  ASSERT_TRUE(controller_->cancel(cancelled->id, "nobody", false, now_));
  run_until_ended(cancelled->id);
  ASSERT_TRUE(controller_->checkpoint(now_));
  // After the snapshot: a drain and a pending job.
  ASSERT_TRUE(controller_->set_node_state("local", "drained", now_));
  ASSERT_TRUE(controller_->submit(request({"true"}), nobody_, now_));
  const std::string before = describe();
  controller_.reset();
  open();
  EXPECT_EQ(describe(), before);
  // A snapshot at every record: the same again.
  controller_.reset();
  open(1);
  controller_->round(agent::Clock::now(), now_);
  EXPECT_EQ(describe(), before);
  controller_.reset();
  open();
  EXPECT_EQ(describe(), before);
  auto next = controller_->submit(request({"true"}), nobody_, now_);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->id, 5);
}

// Every field of a job comes back from a snapshot: the request, the state, the tasks and their
// devices, and how a rank failed.
TEST_F(ControllerTest, ASnapshotKeepsEveryField) {
  // Two CPUs of their own cores; device 0 near CPU 1, device 1 near CPU 0.
  tweak_ = [](ControllerOptions& o) {
    o.host.cpus = 2;
    o.host.cpu_ids = {0, 1};
    o.host.cpu_cores = {0, 1};
    o.host.devices[0].near_cpus = {1};
    o.host.devices[1].near_cpus = {0};
    o.licenses = {{"matlab", 2}};
  };
  open();
  api::SubmitRequest r = request({"sh", "-c", "echo \"$GREETING\"; exit 4"});
  r.name = "fields \u00e9";
  r.workdir = dir_.string();
  r.env = {{"GREETING", "hello"}, {"EMPTY", ""}};
  r.cpus = 2;
  r.gpus = {1, {"npu:ascend910"}};
  r.time_s = 1234;
  r.requeue = false;
  auto ended = controller_->submit(r, nobody_, now_);
  ASSERT_TRUE(ended);
  run_until_ended(ended->id);
  api::SubmitRequest shared = request({"sleep", "100"});
  shared.gpu_share = 0.25;
  shared.signal = "B:10@30";
  auto running = controller_->submit(shared, nobody_, now_);
  ASSERT_TRUE(running);
  for (int i = 0; i < 100 && controller_->job(running->id)->state != JobState::Running; ++i) {
    controller_->round(agent::Clock::now(), now_);
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_EQ(controller_->job(running->id)->state, JobState::Running);
  // A signal sent (SIGCONT: the task goes on as it was).
  ASSERT_TRUE(controller_->signal_job(running->id, -1, SIGCONT, SignalTarget::Steps, "nobody", false, now_));
  ASSERT_EQ(controller_->job(running->id)->signals.size(), 1u);
  api::SubmitRequest later = request({"a", "b"});
  later.script = "#!/bin/bash\necho $1\n";
  later.output = "o-%j";
  later.error = "e-%j";
  later.begin = now_ + 86400;
  later.array = "1-2";
  later.dependency = "afterany:" + std::to_string(ended->id);
  later.nodelist = {"local"};
  later.kill_on_invalid_dep = true;
  later.prefer = "fast";
  later.nice = 5;
  later.priority = 7;
  later.sockets_per_node = 1;
  later.cores_per_socket = 1;
  later.exclusive = true;
  later.thread_spec = 1;
  later.deadline = now_ + 10 * 86400;
  later.gpu_binding_disabled = true;
  later.time_min_s = 60;
  later.group = "daemon";
  later.contiguous = true;
  later.cores_per_node = 1;
  later.cpu_threads_per_core = 1;
  later.licenses = "matlab:1";
  later.allocation = api::Allocation::Unattended;
  auto submitted_later = controller_->submit(later, nobody_, now_);
  ASSERT_TRUE(submitted_later) << submitted_later.error().message;
  api::SubmitRequest session = request({"python3", "-m", "http.server"});
  session.session = {api::SessionApp::Custom, 18080, 600, ""};
  session.begin = now_ + 86400;
  auto submitted_session = controller_->submit(session, nobody_, now_);
  ASSERT_TRUE(submitted_session) << submitted_session.error().message;
  EXPECT_EQ(controller_->job(submitted_session->id)->request.session.secret.size(), 64u) << "the controller's own";
  const std::vector<JobRecord> before = controller_->jobs(true);
  ASSERT_TRUE(controller_->checkpoint(now_));
  controller_.reset();
  open();
  const std::vector<JobRecord> after = controller_->jobs(true);
  ASSERT_EQ(after.size(), before.size());
  for (std::size_t i = 0; i < before.size(); ++i) {
    const JobRecord &a = before[i], &b = after[i];
    SCOPED_TRACE("job " + std::to_string(a.id));
    EXPECT_EQ(b.id, a.id);
    EXPECT_EQ(b.user, a.user);
    EXPECT_EQ(b.request.name, a.request.name);
    EXPECT_EQ(b.request.command, a.request.command);
    EXPECT_EQ(b.request.workdir, a.request.workdir);
    EXPECT_EQ(b.request.env, a.request.env);
    EXPECT_EQ(b.request.cpus, a.request.cpus);
    EXPECT_EQ(b.request.mem_bytes, a.request.mem_bytes);
    EXPECT_EQ(b.request.gpus.count, a.request.gpus.count);
    EXPECT_EQ(b.request.gpus.models, a.request.gpus.models);
    EXPECT_EQ(b.request.gpu_share, a.request.gpu_share);
    EXPECT_EQ(b.request.nodes, a.request.nodes);
    EXPECT_EQ(b.request.time_s, a.request.time_s);
    EXPECT_EQ(b.request.requeue, a.request.requeue);
    EXPECT_EQ(b.request.begin, a.request.begin);
    EXPECT_EQ(b.request.dependency, a.request.dependency);
    EXPECT_EQ(b.request.array, a.request.array);
    EXPECT_EQ(b.request.script, a.request.script);
    EXPECT_EQ(b.request.output, a.request.output);
    EXPECT_EQ(b.request.error, a.request.error);
    EXPECT_EQ(b.request.qos, a.request.qos);
    EXPECT_EQ(b.request.nodelist, a.request.nodelist);
    EXPECT_EQ(b.request.exclude, a.request.exclude);
    EXPECT_EQ(b.request.signal, a.request.signal);
    EXPECT_EQ(b.request.kill_on_invalid_dep, a.request.kill_on_invalid_dep);
    EXPECT_EQ(b.request.constraint, a.request.constraint);
    EXPECT_EQ(b.request.prefer, a.request.prefer);
    EXPECT_EQ(b.request.tmp_bytes, a.request.tmp_bytes);
    EXPECT_EQ(b.request.nice, a.request.nice);
    EXPECT_EQ(b.request.priority, a.request.priority);
    EXPECT_EQ(b.request.sockets_per_node, a.request.sockets_per_node);
    EXPECT_EQ(b.request.cores_per_socket, a.request.cores_per_socket);
    EXPECT_EQ(b.request.exclusive, a.request.exclusive);
    EXPECT_EQ(b.request.thread_spec, a.request.thread_spec);
    EXPECT_EQ(b.request.deadline, a.request.deadline);
    EXPECT_EQ(b.request.gpu_binding_disabled, a.request.gpu_binding_disabled);
    EXPECT_EQ(b.request.batch_features, a.request.batch_features);
    EXPECT_EQ(b.request.time_min_s, a.request.time_min_s);
    EXPECT_EQ(b.request.group, a.request.group);
    EXPECT_EQ(b.request.contiguous, a.request.contiguous);
    EXPECT_EQ(b.request.cores_per_node, a.request.cores_per_node);
    EXPECT_EQ(b.request.cpu_threads_per_core, a.request.cpu_threads_per_core);
    EXPECT_EQ(b.request.licenses, a.request.licenses);
    EXPECT_EQ(b.request.allocation, a.request.allocation);
    EXPECT_EQ(b.request.session, a.request.session);
    EXPECT_EQ(b.signals, a.signals);
    EXPECT_EQ(b.credential, a.credential);
    EXPECT_EQ(b.array_job, a.array_job);
    EXPECT_EQ(b.array_task, a.array_task);
    EXPECT_EQ(b.submit, a.submit);
    EXPECT_EQ(b.start, a.start);
    EXPECT_EQ(b.attempt, a.attempt);
    ASSERT_EQ(b.tasks.size(), a.tasks.size());
    for (std::size_t t = 0; t < a.tasks.size(); ++t) {
      EXPECT_EQ(b.tasks[t].node, a.tasks[t].node);
      EXPECT_EQ(b.tasks[t].devices, a.tasks[t].devices);
      EXPECT_EQ(b.tasks[t].cpus, a.tasks[t].cpus);
      ASSERT_EQ(b.tasks[t].shares.size(), a.tasks[t].shares.size());
      for (std::size_t k = 0; k < a.tasks[t].shares.size(); ++k) {
        EXPECT_EQ(b.tasks[t].shares[k].index, a.tasks[t].shares[k].index);
        EXPECT_EQ(b.tasks[t].shares[k].milli, a.tasks[t].shares[k].milli);
      }
    }
  }
  // The job that ended keeps its end; the running one ran in the process that was closed, so it
  // ends now as its node's jobs do when the local agent is gone.
  EXPECT_EQ(after[0].state, JobState::Failed);
  EXPECT_EQ(after[0].exit_code, 4);
  EXPECT_EQ(after[0].end, before[0].end);
  EXPECT_EQ(after[0].tasks.at(0).devices, (std::vector<std::string>{"npu:ascend910-0"}));
  ASSERT_EQ(before[1].tasks.at(0).shares.size(), 1u);
  EXPECT_EQ(before[1].tasks.at(0).shares[0].milli, 250);
  // The CPUs each held: both of the node's, then the one near the shared device.
  EXPECT_EQ(before[0].tasks.at(0).cpus, (std::vector<int>{0, 1}));
  const int shared_device = before[1].tasks.at(0).shares[0].index;
  EXPECT_EQ(before[1].tasks.at(0).cpus, std::vector<int>{shared_device == 0 ? 1 : 0});
}

// A journal whose records are of the first form (JSON), as written before the records were
// binary, recovers: every kind of record, in a job's whole life.
TEST_F(ControllerTest, AJournalOfTheFirstFormStillRecovers) {
  fs::create_directories(dir_ / "data");
  {
    auto journal = store::open_sqlite_journal((dir_ / "data" / "state.db").string());
    ASSERT_TRUE(journal) << journal.error().message;
    const std::string request = R"({"command":["true"],"cpus":1,"mem":"256M","name":"old","time":"10m",)"
                                R"("workdir":"/tmp"})";
    const std::string array = R"({"command":["true"],"array":"0-1","mem":"256M","time":"10m","workdir":"/tmp"})";
    const std::vector<std::pair<std::string, std::string>> records = {
        {"node.registered", R"({"node":"n1","instance":"7-1","address":"127.0.0.9","cpus":8,"memory":17179869184,)"
                            R"("devices":[{"kind":"gpu:H100","name":"H100","uuid":"GPU-1","index":0,"memory":0,)"
                            R"("declared":true}]})"},
        {"job.submitted", R"({"id":1,"user":"nobody","request":)" + request + "}"},
        {"job.started", R"({"id":1,"attempt":0,"credential":"abc","tasks":[{"node":"n1","devices":["GPU-1"],)"
                        R"("shares":[[0,1000]]}]})"},
        {"job.ended", R"({"id":1,"state":"COMPLETED","exit_code":0,"reason":"exited"})"},
        {"job.array_submitted", R"({"id":2,"user":"nobody","tasks":[0,1],"request":)" + array + "}"},
        {"job.hold", R"({"ids":[2,3],"hold":"admin","by":"root"})"},
        {"job.submitted", R"({"id":4,"user":"nobody","request":)" + request + "}"},
        {"job.started", R"({"id":4,"attempt":0,"tasks":[{"node":"n1","devices":[],"shares":[]}]})"},
        {"job.step", R"({"id":4,"attempt":0,"step":0,"name":"true","argv":["true"],"workdir":"","env":[],)"
                     R"("cpus_per_task":0,"kill_on_bad_exit":false,"tasks":[0]})"},
        {"job.step_task", R"({"id":4,"attempt":0,"step":0,"task":0,"state":"COMPLETED","exit_code":0,"signal":0})"},
        {"job.requeued", R"({"id":4,"attempt":1,"reason":"requeued after NODE_FAIL: n1 went silent"})"},
        {"job.submitted", R"({"id":5,"user":"nobody","request":)" + request + "}"},
        {"job.started", R"({"id":5,"attempt":0,"credential":"def","tasks":[{"node":"n1","devices":[],)"
                        R"("shares":[]}]})"},
        {"job.step", R"({"id":5,"attempt":0,"step":0,"name":"sleep","argv":["sleep","60"],"workdir":"/tmp",)"
                     R"("env":[["A","1"]],"cpus_per_task":1,"kill_on_bad_exit":true,"tasks":[0]})"},
        {"job.step_stop", R"({"id":5,"attempt":0,"step":0,"why":"cancelled by nobody","cancel":true})"},
        {"node.state", R"({"node":"n1","state":"drained"})"},
    };
    std::vector<store::Record> batch;
    for (const auto& [kind, payload] : records)
      batch.push_back({0, 100 + static_cast<std::int64_t>(batch.size()), kind, payload});
    ASSERT_TRUE((*journal)->append(batch));
  }
  open();
  auto done = controller_->job(1);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->state, JobState::Completed);
  EXPECT_EQ(done->start, 102);
  EXPECT_EQ(done->end, 103);
  EXPECT_EQ(done->nodelist(), "n1");
  ASSERT_EQ(done->tasks.size(), 1u);
  EXPECT_EQ(done->tasks[0].devices, (std::vector<std::string>{"GPU-1"}));
  for (std::int64_t id : {2, 3}) {
    auto task = controller_->job(id);
    ASSERT_TRUE(task);
    EXPECT_EQ(task->state, JobState::Pending);
    EXPECT_EQ(task->hold, Hold::Admin);
    EXPECT_EQ(task->array_job, 2);
    EXPECT_EQ(task->array_task, id - 2);
    EXPECT_TRUE(task->reason.starts_with("JobHeldAdmin")) << task->reason;
  }
  auto requeued = controller_->job(4);
  ASSERT_TRUE(requeued);
  EXPECT_EQ(requeued->state, JobState::Pending);
  EXPECT_EQ(requeued->attempt, 1);
  EXPECT_TRUE(requeued->steps.empty());
  EXPECT_NE(requeued->reason.find("requeued after NODE_FAIL: n1 went silent"), std::string::npos) << requeued->reason;
  auto running = controller_->job(5);  // its node's agent has not called yet: it runs there still
  ASSERT_TRUE(running);
  EXPECT_EQ(running->state, JobState::Running);
  ASSERT_EQ(running->steps.size(), 1u);
  EXPECT_EQ(running->steps[0].argv, (std::vector<std::string>{"sleep", "60"}));
  EXPECT_EQ(running->steps[0].env, (std::vector<std::pair<std::string, std::string>>{{"A", "1"}}));
  EXPECT_TRUE(running->steps[0].kill_on_bad_exit);
  EXPECT_TRUE(running->steps[0].cpus_per_task_given);
  EXPECT_EQ(running->steps[0].stopping, "cancelled by nobody");
  EXPECT_TRUE(running->steps[0].cancelled);
  EXPECT_TRUE(controller_->job_credential_user("gwj.5.def"));
  const auto nodes = controller_->nodes();
  const auto n1 = std::find_if(nodes.begin(), nodes.end(), [](const NodeRecord& n) { return n.name == "n1"; });
  ASSERT_NE(n1, nodes.end());
  EXPECT_EQ(n1->address, "127.0.0.9");
  EXPECT_EQ(n1->cpus, 8);
  ASSERT_EQ(n1->devices.size(), 1u);
  EXPECT_EQ(n1->devices[0].kind, "gpu:H100");
  // New records follow in the binary form, and the whole journal recovers again.
  auto next = controller_->submit(request({"true"}), nobody_, now_);
  ASSERT_TRUE(next) << next.error().message;
  EXPECT_EQ(next->id, 6);
  ASSERT_TRUE(controller_->set_hold(2, false, "root", true, now_, true));  // the first task alone
  controller_.reset();
  open();
  EXPECT_EQ(controller_->job(2)->hold, Hold::None);
  EXPECT_EQ(controller_->job(3)->hold, Hold::Admin);
  EXPECT_EQ(controller_->job(6)->state, JobState::Pending);
  EXPECT_EQ(controller_->job(5)->steps.at(0).stopping, "cancelled by nobody");
}

// A store whose snapshot was written in the first format (JSON) is still read.
TEST_F(ControllerTest, TheFirstSnapshotFormatIsStillRead) {
  open();
  ASSERT_TRUE(controller_->submit(request({"true"}), nobody_, now_));
  controller_.reset();
  {
    auto journal = store::open_sqlite_journal((dir_ / "data" / "state.db").string());
    ASSERT_TRUE(journal) << journal.error().message;
    const std::string v1 =
        R"({"version":1,"next_id":8,"drained":["gone"],"nodes":[],"jobs":[)"
        R"({"id":7,"user":"nobody","request":{"command":["echo","hi"],"name":"old","workdir":"/tmp",)"
        R"("cpus":2,"mem":"1G","time":"1h","requeue":false},"state":"COMPLETED","reason":"",)"
        R"("submit":100,"start":101,"end":102,"exit_code":0,"attempt":0,"tasks":[]}]})";
    ASSERT_TRUE((*journal)->snapshot({(*journal)->last_seq(), v1}));
  }
  open();
  auto old = controller_->job(7);
  ASSERT_TRUE(old);
  EXPECT_EQ(old->state, JobState::Completed);
  EXPECT_EQ(old->request.name, "old");
  EXPECT_EQ(old->request.command, (std::vector<std::string>{"echo", "hi"}));
  EXPECT_EQ(old->request.cpus, 2);
  EXPECT_EQ(old->request.mem_bytes, 1LL << 30);
  EXPECT_EQ(old->request.time_s, 3600);
  EXPECT_FALSE(old->request.requeue);
  EXPECT_EQ(old->end, 102);
  auto next = controller_->submit(request({"true"}), nobody_, now_);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->id, 8);
  // The next snapshot is written in the current format and read back the same.
  ASSERT_TRUE(controller_->checkpoint(now_));
  controller_.reset();
  open();
  ASSERT_TRUE(controller_->job(7));
  EXPECT_EQ(controller_->job(7)->request.command, (std::vector<std::string>{"echo", "hi"}));
}

// A store whose snapshot was written in any earlier binary format (2 to 10) is still read: each
// format's fields, laid out as that format laid them (api/codec.h's encoding), come back, and those
// it did not have take their defaults.
TEST_F(ControllerTest, EveryEarlierBinarySnapshotFormatIsStillRead) {
  for (int format = 2; format <= 10; ++format) {
    SCOPED_TRACE("format " + std::to_string(format));
    controller_.reset();
    fs::remove_all(dir_ / "data");
    fs::create_directories(dir_ / "data");
    Encoder e;
    e.u(12);  // the next id
    e.u(1);
    e.s("gone");                                                  // a drained node that is not registered
    e.u(0);                                                       // remote nodes
    if (format >= 10) Accounting(AccountingOptions{}).encode(e);  // the books, before the jobs
    e.u(1);                                                       // jobs
    e.i(11);
    e.s("nobody");
    e.s("old");
    e.u(2);
    e.s("echo");
    e.s("hi");
    e.s("/tmp");
    e.u(1);
    e.s("A");
    e.s("1");
    e.i(2);          // CPUs
    e.i(1LL << 30);  // memory
    e.i(0);          // GPUs
    e.u(0);          // models
    e.f(0);          // share
    e.i(1);          // nodes
    e.i(3600);       // time limit
    e.u(0);          // requeue
    e.s("COMPLETED");
    e.s("exited");
    e.i(100);  // submit, start, end
    e.i(101);
    e.i(102);
    e.i(0);  // exit code, attempt
    e.i(0);
    e.u(0);  // tasks
    e.u(0);  // no failure kept
    if (format >= 3) {
      e.s("");  // project, preemptible
      e.u(0);
    }
    if (format >= 4) {
      e.i(0);  // begin, dependency, array, array job and task
      e.s("");
      e.s("");
      e.i(0);
      e.i(-1);
    }
    if (format >= 5) {
      e.s("#!/bin/sh\necho hi\n");  // script, output, error
      e.s("out-%j.txt");
      e.s("");
    }
    if (format >= 6) {
      e.s("");  // input, append, comment
      e.u(1);
      e.s("kept");
    }
    if (format >= 7) {
      e.s("main");  // partition, held at submission, hold
      e.u(0);
      e.s("");
    }
    if (format >= 8) e.s("");      // credential
    if (format >= 9) e.s("gold");  // programme (QOS)
    if (format >= 8) e.u(0);       // steps
    if (format >= 3 && format < 10) Accounting(AccountingOptions{}).encode(e);
    {
      auto journal = store::open_sqlite_journal((dir_ / "data" / "state.db").string());
      ASSERT_TRUE(journal) << journal.error().message;
      ASSERT_TRUE((*journal)->snapshot({0, e.finish("gwang snapshot " + std::to_string(format) + "\n")}));
    }
    open();
    auto old = controller_->job(11);
    ASSERT_TRUE(old);
    EXPECT_EQ(old->state, JobState::Completed);
    EXPECT_EQ(old->request.command, (std::vector<std::string>{"echo", "hi"}));
    EXPECT_EQ(old->request.env, (std::vector<std::pair<std::string, std::string>>{{"A", "1"}}));
    EXPECT_EQ(old->request.cpus, 2);
    EXPECT_EQ(old->end, 102);
    EXPECT_EQ(old->request.script.empty(), format < 5);
    EXPECT_EQ(old->request.output, format >= 5 ? "out-%j.txt" : "");
    EXPECT_EQ(old->request.open_append, format >= 6);
    EXPECT_EQ(old->request.comment, format >= 6 ? "kept" : "");
    EXPECT_EQ(old->request.partition, format >= 7 ? "main" : "");
    EXPECT_EQ(old->request.qos, format >= 9 ? "gold" : "");
    EXPECT_FALSE(old->in_array());
    auto next = controller_->submit(request({"true"}), nobody_, now_);
    ASSERT_TRUE(next) << next.error().message;
    EXPECT_EQ(next->id, 12);
  }
}

// A damaged snapshot stops the start with where it is damaged; it never crashes the controller.
TEST_F(ControllerTest, ADamagedSnapshotIsAnErrorNamingTheByte) {
  open();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(controller_->submit(request({"echo", std::to_string(i)}), nobody_, now_));
  ASSERT_TRUE(controller_->checkpoint(now_));
  controller_.reset();
  const std::string db = (dir_ / "data" / "state.db").string();
  std::string good;
  std::int64_t seq = 0;
  {
    auto journal = store::open_sqlite_journal(db);
    ASSERT_TRUE(journal);
    auto loaded = (*journal)->load();
    ASSERT_TRUE(loaded && loaded->snapshot);
    good = loaded->snapshot->state;
    seq = loaded->snapshot->seq;
  }
  auto try_open = [&](const std::string& state) -> Result<std::unique_ptr<Controller>> {
    {
      auto journal = store::open_sqlite_journal(db);
      EXPECT_TRUE(journal);
      EXPECT_TRUE((*journal)->snapshot({seq, state}));
    }
    ControllerOptions o;
    o.data_dir = (dir_ / "data").string();
    o.local_node = "local";
    o.host.cpus = 4;
    o.host.memory_bytes = 8LL << 30;
    return Controller::open(o, now_);
  };
  auto cut = try_open(good.substr(0, good.size() - 3));
  ASSERT_FALSE(cut);
  EXPECT_NE(cut.error().message.find("snapshot at record " + std::to_string(seq) + ": byte "), std::string::npos)
      << cut.error().message;
  auto extra = try_open(good + "x");
  ASSERT_FALSE(extra);
  EXPECT_NE(extra.error().message.find("data after the last job"), std::string::npos) << extra.error().message;
  // Every cut, and damaged bytes anywhere: an error or a state, never a crash.
  for (std::size_t n = 0; n < good.size(); n += 3) {
    auto c = try_open(good.substr(0, n));
    EXPECT_FALSE(c) << n;
  }
  std::mt19937 rng(11);
  for (int i = 0; i < 60; ++i) {
    std::string bad = good;
    bad[rng() % bad.size()] = static_cast<char>(rng());
    auto c = try_open(bad);
    if (!c) {  // the snapshot's damage, or a record after it that no longer fits it
      EXPECT_TRUE(c.error().message.starts_with("snapshot at record") ||
                  c.error().message.starts_with("journal record"))
          << c.error().message;
    }
  }
}

}  // namespace
// A node's shape from its topology: sockets from the cores' packages, the least cores of a socket
// and threads of a core; one socket of single-threaded cores where the topology is unknown.
TEST(NodeShape, ComesFromTheTopology) {
  core::CpuTopology t;
  t.cpus = {0, 1, 2, 3, 4, 5, 6, 7};
  // Socket 0: cores 0 and 1, two threads each; socket 1: cores 0 and 1, two threads each.
  t.core = {0, 0, 1, 1, 65536, 65536, 65537, 65537};
  EXPECT_EQ(node_shape(t, 8), (core::NodeShape{2, 2, 2}));
  t.core = {0, 1, 2, 3, 65536, 65537, 65538, 65538};  // socket 1 has three cores, one of two threads
  EXPECT_EQ(node_shape(t, 8), (core::NodeShape{2, 3, 1}));
  EXPECT_EQ(node_shape({}, 16), (core::NodeShape{1, 16, 1}));
}

}  // namespace gwang::controller
