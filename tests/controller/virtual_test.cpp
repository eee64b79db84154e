// The controller in virtual time: its journal in memory (or one that fails on command), a runner
// the test drives in place of the node agent, and clocks the test moves. No process starts and no
// test sleeps.
#include <gtest/gtest.h>
#include <unistd.h>

#include <condition_variable>
#include <csignal>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>

#include "controller/controller.h"
#include "store/journal.h"

namespace gwang::controller {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A journal that outlives the controllers that use it, so that recovery reads what they wrote.
class Borrowed final : public store::Journal {
 public:
  explicit Borrowed(store::Journal& inner) : inner_(inner) {}
  Result<std::int64_t> append(std::vector<store::Record>& batch) override { return inner_.append(batch); }
  Result<void> snapshot(const store::Snapshot& s) override { return inner_.snapshot(s); }
  Result<store::Recovered> load() override { return inner_.load(); }
  std::int64_t last_seq() const override { return inner_.last_seq(); }
  Result<void> restore(const store::Recovered& s) override { return inner_.restore(s); }

 private:
  store::Journal& inner_;
};

// A journal whose snapshots wait at a gate until the test opens it: a snapshot being written, for
// as long as the test wants.
class GatedSnapshots final : public store::Journal {
 public:
  explicit GatedSnapshots(store::Journal& inner) : inner_(inner) {}
  Result<std::int64_t> append(std::vector<store::Record>& batch) override { return inner_.append(batch); }
  Result<void> snapshot(const store::Snapshot& s) override {
    std::unique_lock lock(mu_);
    seqs_.push_back(s.seq);
    cv_.notify_all();
    cv_.wait(lock, [this] { return open_; });
    return inner_.snapshot(s);
  }
  Result<store::Recovered> load() override { return inner_.load(); }
  std::int64_t last_seq() const override { return inner_.last_seq(); }
  Result<void> restore(const store::Recovered& s) override { return inner_.restore(s); }

  // Waits until a snapshot is at the gate; the record it covers.
  std::int64_t wait_for_snapshot() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return !seqs_.empty(); });
    return seqs_.front();
  }
  void open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  store::Journal& inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::int64_t> seqs_;
  bool open_ = false;
};

// What the runner was asked, and the ends the test decides; it outlives the runner.
struct RunnerLog {
  std::map<std::string, agent::Launch> running;
  std::vector<agent::Launch> launched;
  std::vector<agent::Finished> finished;  // reported at the next poll
  std::vector<std::pair<std::string, agent::TaskEnd>> terminated;
  std::set<std::string> acknowledged;
  std::vector<std::string> survivors;  // what the next runner adopts (a killed controller's tasks)
  std::vector<agent::protocol::Signal> signalled;

  void exit(const std::string& task, int code) {
    ASSERT_TRUE(running.erase(task)) << task << " is not running";
    finished.push_back({task, {agent::TaskEnd::Exited, code, 0}, "", false});
  }
};

// Runs nothing: a terminated task ends at once, killed by the signal the agent would send first.
class FakeRunner final : public LocalRunner {
 public:
  explicit FakeRunner(RunnerLog& log) : log_(log) {}
  void launch(const agent::Launch& l) override {
    if (!log_.running.emplace(l.task, l).second) return;  // sent again
    log_.launched.push_back(l);
  }
  void terminate(const std::string& task, agent::TaskEnd why, const std::string& message) override {
    log_.terminated.emplace_back(task, why);
    if (log_.running.erase(task)) log_.finished.push_back({task, {why, 0, SIGTERM}, message, false});
  }
  void signal(const std::string& task, int serial, int number, bool main_only) override {
    log_.signalled.push_back({task, serial, number, main_only});
  }
  std::vector<agent::Finished> poll(agent::Clock::time_point) override { return std::exchange(log_.finished, {}); }
  void acknowledge(const std::string& task) override { log_.acknowledged.insert(task); }
  void set_controller(const std::string&, const std::string&) override {}
  std::string tracking() const override { return "none (a test's runner)"; }
  std::vector<std::string> left_over() const override { return log_.survivors; }

 private:
  RunnerLog& log_;
};

class VirtualController : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("gwang_virtual_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    auto nobody = lookup_account("nobody");
    ASSERT_TRUE(nobody) << nobody.error().message;
    nobody_ = *nobody;
    nobody_.home = "/tmp";
  }
  void TearDown() override {
    controller_.reset();
    fs::remove_all(dir_);
  }

  // A controller with one local node of 4 CPUs on `journal` (the memory journal when null).
  void open(std::unique_ptr<store::Journal> journal = nullptr, std::int64_t snapshot_every = 100000) {
    controller_.reset();
    ControllerOptions o;
    o.snapshot_every = snapshot_every;
    o.data_dir = dir_.string();
    o.local_node = "local";
    o.host.cpus = 4;
    o.host.memory_bytes = 8LL << 30;
    o.on_store_failure = [this](const Error& e) { store_failures_.push_back(e.message); };
    o.licenses = licenses_;
    ControllerParts parts;
    parts.journal = journal ? std::move(journal) : std::make_unique<Borrowed>(*memory_);
    parts.runner = std::make_unique<FakeRunner>(log_);
    parts.clock = [this] { return mono_; };
    parts.mail = [this](const Mail& m) { mails_.push_back(m); };
    auto c = Controller::open(o, std::move(parts), now_);
    ASSERT_TRUE(c) << c.error().message;
    controller_ = std::move(*c);
  }
  api::SubmitRequest request(int cpus, std::int64_t time_s = 600) {
    api::SubmitRequest r;
    r.command = {"train.py"};
    r.name = "train";
    r.cpus = cpus;
    r.mem_bytes = 1LL << 30;
    r.time_s = time_s;
    return r;
  }
  std::int64_t submit(const api::SubmitRequest& r) {
    auto j = controller_->submit(r, nobody_, now_);
    EXPECT_TRUE(j) << j.error().message;
    return j ? j->id : -1;
  }
  // One round of the control loop, `seconds` later.
  void round(std::int64_t seconds = 0) {
    now_ += seconds;
    mono_ += std::chrono::seconds(seconds);
    controller_->round(mono_, now_);
  }
  JobRecord job(std::int64_t id) { return *controller_->job(id); }
  static std::string task(std::int64_t id, int attempt = 0) { return agent::task_id(id, attempt, 0); }

  std::unique_ptr<store::Journal> memory_ = store::make_memory_journal();
  RunnerLog log_;
  std::vector<std::string> store_failures_;
  std::vector<Mail> mails_;                    // what the controller mailed
  std::vector<slurm::LicenseCount> licenses_;  // the cluster's licenses
  fs::path dir_;
  Account nobody_;
  std::int64_t now_ = 1'800'000'000;
  agent::Clock::time_point mono_ = agent::Clock::time_point{} + 1000h;
  std::unique_ptr<Controller> controller_;
};

// sbatch --signal: the signal goes once, its seconds before the time limit, to the job's tasks
// (a job without a script: its own); it is journalled, so a new controller does not send it again;
// scancel --signal sends another, after it in serial.
TEST_F(VirtualController, ASignalGoesOnceItsSecondsBeforeTheTimeLimit) {
  open();
  api::SubmitRequest r = request(1, 600);
  r.signal = "10@90";  // SIGUSR1, 90 s before the end
  const std::int64_t id = submit(r);
  round();
  ASSERT_EQ(job(id).state, JobState::Running);
  round(509);  // 91 s left
  EXPECT_TRUE(log_.signalled.empty());
  round(1);  // 90 s left
  ASSERT_EQ(log_.signalled.size(), 1u);
  EXPECT_EQ(log_.signalled[0], (agent::protocol::Signal{task(id), 0, 10, false}));
  round(1);
  round(30);
  EXPECT_EQ(log_.signalled.size(), 1u);  // once
  ASSERT_EQ(job(id).signals.size(), 1u);
  EXPECT_TRUE(job(id).signals[0].timed);
  log_.survivors = {task(id)};
  open();  // a new controller on the same journal, the task adopted
  round(1);
  EXPECT_EQ(log_.signalled.size(), 1u);
  ASSERT_EQ(job(id).signals.size(), 1u);
  auto sent = controller_->signal_job(id, -1, 12, SignalTarget::Steps, "nobody", false, now_);
  ASSERT_TRUE(sent) << sent.error().message;
  ASSERT_EQ(log_.signalled.size(), 2u);
  EXPECT_EQ(log_.signalled[1], (agent::protocol::Signal{task(id), 1, 12, false}));
  // Not another user's to signal; a batch step this job has not; a job that is not running.
  EXPECT_FALSE(controller_->signal_job(id, -1, 12, SignalTarget::Steps, "alice", false, now_));
  EXPECT_TRUE(controller_->signal_job(id, -1, 12, SignalTarget::Shell, "nobody", false, now_));
  EXPECT_EQ(log_.signalled.size(), 2u);
  const std::int64_t waiting = submit(request(4));
  auto refused = controller_->signal_job(waiting, -1, 12, SignalTarget::Steps, "nobody", false, now_);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("only a running job's processes can be signalled"), std::string::npos);
}

// --kill-on-invalid-dep=yes: once its dependency can never be met, the job is cancelled, with
// Slurm's reason; without it, the job waits on, saying why.
TEST_F(VirtualController, AJobWhoseDependencyFailedIsCancelledWhenItAsks) {
  open();
  const std::int64_t first = submit(request(1));
  api::SubmitRequest after = request(1);
  after.dependency = "afterok:" + std::to_string(first);
  after.kill_on_invalid_dep = true;
  const std::int64_t killed = submit(after);
  after.kill_on_invalid_dep = false;
  const std::int64_t waits = submit(after);
  round();
  ASSERT_EQ(job(first).state, JobState::Running);
  log_.exit(task(first), 1);
  round(1);
  round(1);
  EXPECT_EQ(job(killed).state, JobState::Cancelled);
  EXPECT_EQ(job(killed).reason_code, api::ReasonCode::DependencyNeverSatisfied);
  EXPECT_EQ(job(waits).state, JobState::Pending);
  EXPECT_EQ(job(waits).reason_code, api::ReasonCode::DependencyNeverSatisfied);
  // Recorded: a new controller has it ended so.
  open();
  EXPECT_EQ(job(killed).state, JobState::Cancelled);
  EXPECT_EQ(job(killed).reason_code, api::ReasonCode::DependencyNeverSatisfied);
}

// srun -t: a step's own time limit ends the step (its tasks are sent their end) and not the job.
TEST_F(VirtualController, AStepEndsAtItsOwnTimeLimitAndTheJobGoesOn) {
  open();
  const std::int64_t id = submit(request(2, 600));
  round();
  ASSERT_EQ(job(id).state, JobState::Running);
  api::StepRequest s;
  s.command = {"sleep", "100"};
  s.ntasks = 1;
  s.time_s = 30;
  auto step = controller_->start_step(id, s, "nobody", false, now_);
  ASSERT_TRUE(step) << step.error().message;
  round();
  const std::string task0 = agent::step_task_id(id, 0, 0, 0);
  ASSERT_TRUE(log_.running.contains(task0));
  round(29);
  EXPECT_TRUE(job(id).steps.at(0).stopping.empty());
  round(1);
  EXPECT_EQ(job(id).steps.at(0).stopping, api::kStepTimeLimit);
  round();
  EXPECT_EQ(job(id).steps.at(0).state, JobState::Timeout);  // as Slurm's step at its limit
  EXPECT_EQ(job(id).state, JobState::Running);
  // Journalled: a new controller has the step's limit and how it ended.
  log_.survivors = {task(id)};
  open();
  EXPECT_EQ(job(id).steps.at(0).time_s, 30);
  EXPECT_EQ(job(id).steps.at(0).state, JobState::Timeout);
}

// A job starts at the round after its submission, runs on the runner with its environment, and
// completes when its task exits 0; the end is acknowledged to the runner once recorded.
TEST_F(VirtualController, AJobRunsOnTheRunnerAndCompletes) {
  open();
  const std::int64_t id = submit(request(2));
  EXPECT_EQ(job(id).state, JobState::Pending);
  round();
  ASSERT_EQ(log_.launched.size(), 1u);
  const agent::Launch& l = log_.launched[0];
  EXPECT_EQ(l.task, task(id));
  EXPECT_EQ(l.user, "nobody");
  EXPECT_EQ(l.argv, (std::vector<std::string>{"train.py"}));
  EXPECT_NE(std::find(l.env.begin(), l.env.end(), std::make_pair(std::string("SLURM_JOB_ID"), std::to_string(id))),
            l.env.end());
  EXPECT_EQ(job(id).state, JobState::Running);
  EXPECT_EQ(job(id).start, now_);
  log_.exit(task(id), 0);
  round(7);
  const JobRecord done = job(id);
  EXPECT_EQ(done.state, JobState::Completed);
  EXPECT_EQ(done.end, now_);
  EXPECT_TRUE(log_.acknowledged.contains(task(id)));
  EXPECT_TRUE(store_failures_.empty());
}

// A job past its time limit is told to end as timed out, and ends TIMEOUT; the wall clock alone
// moves it, one second per round.
TEST_F(VirtualController, ATimeLimitEndsAJobAsTimeout) {
  open();
  const std::int64_t id = submit(request(1, 60));
  round();
  round(59);
  EXPECT_TRUE(log_.terminated.empty());
  round(1);
  ASSERT_EQ(log_.terminated.size(), 1u);
  EXPECT_EQ(log_.terminated[0], std::make_pair(task(id), agent::TaskEnd::TimedOut));
  round();
  EXPECT_EQ(job(id).state, JobState::Timeout);
  EXPECT_EQ(job(id).end, now_);
}

// Mail at the events a job asks for, as Slurm's slurmctld sends it (to --mail-user, else the job's
// user): its start (BEGIN), its end (END), a failure (FAIL, in END's place), the time limit
// (TIME_LIMIT); none for a job that asked for none, and none again after a restart.
TEST_F(VirtualController, JobsMailTheirUsersAtTheEventsTheyAskFor) {
  open();
  api::SubmitRequest r = request(1, 60);
  r.mail_type = "BEGIN,END";
  r.mail_user = "ada@example.org";
  const std::string ok = std::to_string(submit(r));
  r.mail_type = "END,FAIL";
  r.mail_user.clear();
  const std::string bad = std::to_string(submit(r));
  r.mail_type = "END,TIME_LIMIT";
  const std::string slow = std::to_string(submit(r));
  submit(request(1));  // asks for none
  round(3);            // all four start, 3 seconds after they came
  ASSERT_EQ(mails_.size(), 1u);
  EXPECT_EQ(mails_[0].to, "ada@example.org");
  EXPECT_EQ(mails_[0].subject, "Slurm Job_id=" + ok + " Name=train Began, Queued time 00:00:03");
  const auto var = [](const Mail& m, const std::string& key) {
    for (const auto& [k, v] : m.env)
      if (k == key) return v;
    return std::string("<unset>");
  };
  EXPECT_EQ(var(mails_[0], "SLURM_JOB_ID"), ok);
  EXPECT_EQ(var(mails_[0], "SLURM_JOB_MAIL_TYPE"), "Began");
  EXPECT_EQ(var(mails_[0], "SLURM_JOB_USER"), "nobody");
  log_.exit(task(std::stoll(ok)), 0);
  log_.exit(task(std::stoll(bad)), 2);
  round(5);
  ASSERT_EQ(mails_.size(), 3u);
  EXPECT_EQ(mails_[1].subject, "Slurm Job_id=" + ok + " Name=train Ended, Run time 00:00:05, COMPLETED, ExitCode 0");
  EXPECT_EQ(mails_[2].to, "nobody");
  EXPECT_EQ(mails_[2].subject, "Slurm Job_id=" + bad + " Name=train Failed, Run time 00:00:05, FAILED, ExitCode 2");
  round(55);  // 60 seconds: the third is told to end, and ends TIMEOUT
  round();
  ASSERT_EQ(job(std::stoll(slow)).state, JobState::Timeout);
  ASSERT_EQ(mails_.size(), 5u);
  EXPECT_EQ(mails_[3].subject, "Slurm Job_id=" + slow + " Name=train Reached time limit, Run time 00:01:00");
  EXPECT_EQ(mails_[4].subject, "Slurm Job_id=" + slow + " Name=train Ended, Run time 00:01:00, TIMEOUT, ExitCode 0");
  // What a job asked for is kept: a restart reads it back, and mails nothing again.
  open();
  EXPECT_EQ(mails_.size(), 5u);
  EXPECT_EQ(job(std::stoll(ok)).request.mail_type, "BEGIN,END");
  EXPECT_EQ(job(std::stoll(ok)).request.mail_user, "ada@example.org");
}

// Two jobs fill the node; a third waits with the room reserved for it when the first is due to end
// (its time limit), and starts at the round after one of them ends.
TEST_F(VirtualController, AWaitingJobStartsWhenRoomIsFreed) {
  open();
  const std::int64_t a = submit(request(2)), b = submit(request(2)), c = submit(request(2));
  round();
  EXPECT_EQ(job(a).state, JobState::Running);
  EXPECT_EQ(job(b).state, JobState::Running);
  EXPECT_EQ(job(c).state, JobState::Pending);
  EXPECT_EQ(job(c).reason, "Reserved: resources are reserved for it, expected start at 2027-01-15T08:10:00Z");
  log_.exit(task(b), 3);
  round(5);
  EXPECT_EQ(job(b).state, JobState::Failed);
  EXPECT_EQ(job(b).exit_code, 3);
  round();
  EXPECT_EQ(job(c).state, JobState::Running);
  EXPECT_EQ(log_.launched.back().task, task(c));
}

// Licenses: a job holds its seats while it runs and one that needs them waits, saying so; what a
// job asks for is checked against the cluster's and kept as given; a new controller counts the
// seats its adopted jobs hold.
TEST_F(VirtualController, JobsHoldTheirLicensesWhileTheyRun) {
  licenses_ = {{"matlab", 2}, {"fluent", 1}};
  open();
  api::SubmitRequest r = request(1);
  r.licenses = "matlab:2";
  const std::int64_t a = submit(r);
  r.licenses = ",matlab";
  const std::int64_t b = submit(r);
  const std::int64_t c = submit(request(1));
  round();
  EXPECT_EQ(job(a).state, JobState::Running);
  EXPECT_EQ(job(c).state, JobState::Running);
  EXPECT_EQ(job(b).state, JobState::Pending);
  EXPECT_EQ(job(b).request.licenses, ",matlab");
  EXPECT_EQ(job(b).reason.rfind("Licenses: waiting for licenses to free up (,matlab)", 0), 0u) << job(b).reason;
  auto seats = controller_->licenses();
  ASSERT_EQ(seats.size(), 2u);
  EXPECT_EQ(seats[0].name, "matlab");
  EXPECT_EQ(seats[0].total, 2);
  EXPECT_EQ(seats[0].used, 2);
  EXPECT_EQ(seats[1].used, 0);
  for (const auto& [asked, error] : std::vector<std::pair<std::string, std::string>>{
           {"nope", "Invalid license specification: no license 'nope' (this cluster's: matlab, fluent)"},
           {"matlab:3", "Invalid license specification: 3 of license 'matlab' asked, and the cluster has 2"},
           {"matlab:x", "Invalid license specification: license 'matlab:x': the count must be a whole number"},
           {"matlab:1,matlab:2", "Invalid license specification: 3 of license 'matlab' asked, and the cluster has 2"},
           {"matlab 1", "Invalid license specification: license 'matlab 1' has a blank in it"}}) {
    r.licenses = asked;
    auto refused = controller_->submit(r, nobody_, now_);
    ASSERT_FALSE(refused) << asked;
    EXPECT_EQ(refused.error().message, error);
  }
  log_.exit(task(a), 0);
  round(5);
  round();
  EXPECT_EQ(job(b).state, JobState::Running);
  EXPECT_EQ(controller_->licenses()[0].used, 1);
  log_.survivors = {task(b), task(c)};
  open();
  EXPECT_EQ(job(b).state, JobState::Running);
  EXPECT_EQ(controller_->licenses()[0].used, 1);
  // The license taken out of the configuration: the job that holds a seat of it runs on.
  licenses_ = {{"fluent", 1}};
  open();
  EXPECT_EQ(job(b).state, JobState::Running);
  ASSERT_EQ(controller_->licenses().size(), 1u);
  EXPECT_EQ(controller_->licenses()[0].used, 0);
}

// A controller killed while its local tasks ran: the next one's runner adopted them, so their jobs
// go on and end as their tasks do; a task whose job's end was recorded is ended.
TEST_F(VirtualController, JobsGoOnWhereTheRunnerAdoptedTheirTasks) {
  open();
  const std::int64_t kept = submit(request(1)), cancelled = submit(request(1)), lost = submit(request(1));
  round();
  ASSERT_EQ(job(kept).state, JobState::Running);
  ASSERT_EQ(job(cancelled).state, JobState::Running);
  ASSERT_EQ(job(lost).state, JobState::Running);
  ASSERT_TRUE(controller_->cancel(cancelled, "nobody", false, now_));
  round();  // its end is recorded ...
  ASSERT_EQ(job(cancelled).state, JobState::Cancelled);
  log_.survivors = {task(kept), task(cancelled)};  // ... but its process, as kept's, outlived the controller
  log_.terminated.clear();
  open();
  EXPECT_EQ(job(kept).state, JobState::Running);
  EXPECT_EQ(job(lost).state, JobState::NodeFail) << "its task did not survive";
  EXPECT_EQ(job(lost).reason, "the controller stopped while the job ran");
  ASSERT_EQ(log_.terminated.size(), 1u);
  EXPECT_EQ(log_.terminated[0].first, task(cancelled));
  EXPECT_EQ(job(cancelled).state, JobState::Cancelled);
  log_.running.emplace(task(kept), agent::Launch{});
  log_.exit(task(kept), 0);
  round();
  EXPECT_EQ(job(kept).state, JobState::Completed);
}

// What the controller wrote to its journal recovers on a new controller: every job in its state,
// the running one adopted... and, the local node's process being gone, ended as NODE_FAIL.
TEST_F(VirtualController, ANewControllerRecoversWhatTheJournalHolds) {
  open();
  const std::int64_t done = submit(request(1)), running = submit(request(1));
  auto waiting = request(1);
  waiting.hold = true;
  const std::int64_t held = submit(waiting);
  round();
  log_.exit(task(done), 0);
  round(3);
  ASSERT_TRUE(controller_->checkpoint(now_));  // a snapshot, then records after it
  ASSERT_TRUE(controller_->cancel(held, "nobody", false, now_));
  const std::int64_t later = submit(request(1));
  open();
  EXPECT_EQ(job(done).state, JobState::Completed);
  EXPECT_EQ(job(running).state, JobState::NodeFail);
  EXPECT_EQ(job(running).reason, "the controller stopped while the job ran");
  EXPECT_EQ(job(held).state, JobState::Cancelled);
  EXPECT_EQ(job(later).state, JobState::Pending);
  EXPECT_EQ(submit(request(1)), later + 1);
  // The view's counts by state (a page's total) are those of its jobs, recovered or new.
  Controller::StateCounts walked{}, counted{};
  controller_->scan_jobs(
      true, false,
      [&](const JobRecord& j, const Controller::Reasons&) {
        ++walked[static_cast<std::size_t>(j.state)];
        return true;
      },
      &counted);
  EXPECT_EQ(counted, walked);
  EXPECT_EQ(counted[static_cast<std::size_t>(JobState::Pending)], 2);
  EXPECT_EQ(counted[static_cast<std::size_t>(JobState::Completed)], 1);
}

// The store refuses the records of a pass's starts: the controller reports it (the programs stop
// there), its starts are not launched, and the jobs fail here; the store, which holds none of it,
// recovers them waiting, and they then run once.
TEST_F(VirtualController, AStoreThatFailsMidPassLaunchesNothingAndRecoversTheJobsWaiting) {
  auto faulty = std::make_unique<store::FaultyJournal>(std::make_unique<Borrowed>(*memory_));
  store::FaultyJournal& fault = *faulty;
  open(std::move(faulty));
  const std::int64_t a = submit(request(2)), b = submit(request(2));
  fault.fail_after(0);
  round();
  ASSERT_FALSE(store_failures_.empty());
  EXPECT_TRUE(log_.launched.empty());
  for (std::int64_t id : {a, b}) {
    EXPECT_EQ(job(id).state, JobState::Failed);
    EXPECT_TRUE(job(id).reason.starts_with("could not record the start: ")) << job(id).reason;
  }
  open();  // the store as it is: the submissions, and nothing after them
  EXPECT_EQ(job(a).state, JobState::Pending);
  EXPECT_EQ(job(b).state, JobState::Pending);
  round();
  EXPECT_EQ(log_.launched.size(), 2u);
  log_.exit(task(a), 0);
  log_.exit(task(b), 0);
  round(1);
  EXPECT_EQ(job(a).state, JobState::Completed);
  EXPECT_EQ(job(b).state, JobState::Completed);
  EXPECT_EQ(log_.launched.size(), 2u);
}

// A submission the store refuses is refused to its submitter, and leaves nothing behind.
TEST_F(VirtualController, ASubmissionTheStoreRefusesIsNotAccepted) {
  auto faulty = std::make_unique<store::FaultyJournal>(std::make_unique<Borrowed>(*memory_));
  store::FaultyJournal& fault = *faulty;
  open(std::move(faulty));
  fault.fail_after(0);
  auto refused = controller_->submit(request(1), nobody_, now_);
  ASSERT_FALSE(refused);
  EXPECT_TRUE(controller_->jobs(true).empty());
  fault.reset();
  round();
  EXPECT_TRUE(log_.launched.empty());
  open();
  EXPECT_TRUE(controller_->jobs(true).empty());
}

}  // namespace
}  // namespace gwang::controller

namespace gwang::controller {
namespace {

// The control loop writes its snapshots in the background: while one is being written (held at
// the gate), rounds that record nothing go on and reads answer (what a round records waits for the
// snapshot: the journal has one writer). The snapshot covers what was journalled when it was
// taken, and a new controller recovers from it.
TEST_F(VirtualController, SnapshotsAreWrittenWhileRoundsAndReadsGoOn) {
  auto gated = std::make_unique<GatedSnapshots>(*memory_);
  GatedSnapshots& gate = *gated;
  open(std::move(gated), 2);
  api::SubmitRequest held = request(2);
  held.hold = true;  // waits, so that the rounds record nothing
  const std::int64_t first = submit(held);
  const std::int64_t second = submit(held);
  round();  // two records since the last snapshot: one is taken, and held at the gate
  EXPECT_EQ(gate.wait_for_snapshot(), 2);
  round(1);
  round(1);
  EXPECT_EQ(job(first).state, JobState::Pending);
  EXPECT_EQ(job(first).reason.substr(0, 12), "JobHeldUser:");
  EXPECT_EQ(controller_->jobs(true).size(), 2u);
  EXPECT_TRUE(memory_->load()->snapshot == std::nullopt);  // not written yet
  gate.open();
  ASSERT_TRUE(controller_->checkpoint(now_));  // waits for it (and then has nothing more to cover)
  auto stored = memory_->load();
  ASSERT_TRUE(stored && stored->snapshot);
  EXPECT_EQ(stored->snapshot->seq, 2);
  EXPECT_TRUE(stored->records.empty());
  EXPECT_TRUE(store_failures_.empty());
  open();  // recovered from the snapshot
  EXPECT_EQ(job(first).state, JobState::Pending);
  EXPECT_EQ(job(second).hold, Hold::User);
  EXPECT_EQ(submit(request(1)), second + 1);
}

// A requeued job's mail, made as it waits again (its record no longer says when its run ended):
// the run time up to the requeue, and only where REQUEUE was asked.
TEST(Mail, ARequeuedJobIsToldHowLongItsRunWas) {
  JobRecord job;
  job.id = 42;
  job.user = "nobody";
  job.request.name = "train";
  job.start = 1000;
  job.request.mail_type = "REQUEUE";
  const auto m = mail_for(job, MailEvent::Requeued, "centre", 1065);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->subject, "Slurm Job_id=42 Name=train Requeued, Run time 00:01:05");
  job.request.mail_type = "END";
  EXPECT_FALSE(mail_for(job, MailEvent::Requeued, "centre", 1065));
}

}  // namespace
}  // namespace gwang::controller
