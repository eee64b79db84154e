// Grants in the live controller, with the wall clock injected: months of virtual time go by while
// real processes run. Grants burn down while jobs run and at their end, warn at 80 % and 100 %,
// expire, and are topped up and extended; a project without a valid grant is refused or made
// preemptible as its programme says; the ledger adds up to the usage measured; all of it survives
// a restart, from the journal and from a snapshot.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>
#include <thread>

#include "controller/controller.h"
#include "core/scheduler.h"

namespace gwang::controller {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

constexpr std::int64_t kHour = 3600, kDay = 86400;
constexpr std::int64_t kT0 = 1'798'761'600;  // 2027-01-01

class AccountingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("gwang_accounting_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    fs::permissions(dir_, fs::perms::all);
    auto nobody = lookup_account("nobody");
    ASSERT_TRUE(nobody);
    nobody_ = *nobody;
    nobody_.home = dir_.string();
    open();
    admin("tenancy.institution", {{"name", "uni"}, {"type", "university"}, {"sector", "other"}});
    admin("tenancy.project", {{"name", "p"}, {"institution", "uni"}});
    admin("tenancy.user", {{"name", "nobody"}});
    admin("tenancy.member", {{"user", "nobody"}, {"project", "p"}, {"member", true}});
    admin("grant.programme", {{"name", "voucher"}, {"when_exhausted", "refuse"}, {"priority", 0.5}});
    admin("grant.programme", {{"name", "rnd"}, {"when_exhausted", "preemptible"}, {"priority", 0.2}});
  }
  void TearDown() override {
    controller_.reset();
    fs::remove_all(dir_);
  }

  void open(std::int64_t snapshot_every = 100000, core::QueueOrder order = core::QueueOrder::Fcfs) {
    controller_.reset();
    ControllerOptions o;
    o.queue_order = order;
    o.snapshot_every = snapshot_every;
    o.data_dir = (dir_ / "data").string();
    o.local_node = "local";
    o.host.cpus = 4;
    o.host.memory_bytes = 8LL << 30;
    o.host.devices = {{"npu:ascend910", "npu:ascend910", "npu:ascend910-0", 0, 0, true},
                      {"npu:ascend910", "npu:ascend910", "npu:ascend910-1", 1, 0, true}};
    o.kill_grace = 200ms;
    o.accounting.rates.per_accelerator_hour["npu:ascend910"] = 0.5;  // an NPU-hour is half a normalised hour
    o.accounting.rates.per_cpu_hour = 0.01;
    o.accounting.charge_every = kHour;
    auto c = Controller::open(o, now_);
    ASSERT_TRUE(c) << c.error().message;
    controller_ = std::move(*c);
  }

  void admin(const std::string& kind, const json& payload) {
    auto r = controller_->administer(kind, payload, now_);
    ASSERT_TRUE(r) << kind << ": " << r.error().message;
  }

  // A job holding `npus` NPUs (0: CPU only), running until cancelled.
  Result<JobRecord> submit(int npus, bool preemptible = false) {
    api::SubmitRequest r;
    r.command = {"sleep", "1000"};
    r.name = "hold";
    r.mem_bytes = 64LL << 20;
    r.time_s = 365 * kDay;
    r.preemptible = preemptible;
    if (npus > 0) r.gpus = {npus, {"npu:ascend910"}};
    return controller_->submit(r, nobody_, now_);
  }

  void round() { controller_->round(agent::Clock::now(), now_); }

  // Cancels a running job at the current virtual time and waits until it has ended.
  void finish(std::int64_t id) {
    ASSERT_TRUE(controller_->cancel(id, "nobody", true, now_));
    const auto deadline = agent::Clock::now() + 20s;
    while (agent::Clock::now() < deadline && !controller_->job(id)->ended()) {
      round();
      std::this_thread::sleep_for(5ms);
    }
    ASSERT_TRUE(controller_->job(id)->ended());
  }

  struct Books {
    std::vector<core::Grant> grants;
    std::vector<core::Usage> ledger;
    std::vector<GrantWarning> warnings;
  };
  Books books() const {
    Books b;
    controller_->read_books([&](const Accounting& a) {
      b.grants = a.grants().all();
      b.ledger = a.ledger();
      b.warnings = a.warnings();
    });
    return b;
  }

  fs::path dir_;
  Account nobody_;
  std::int64_t now_ = kT0;
  std::unique_ptr<Controller> controller_;
};

// A running job burns its grant down every charge period, not only at its end; the 80 % and 100 %
// marks warn once each; usage past the grant is still recorded, against no grant.
TEST_F(AccountingTest, GrantsBurnDownWhileJobsRunAndWarnOnce) {
  admin("grant.granted", {{"project", "p"},
                          {"programme", "voucher"},
                          {"amount", 20.0},
                          {"start", kT0},
                          {"end", kT0 + 90 * kDay},
                          {"who", "op"}});
  auto job = submit(2);  // 2 NPUs at 0.5: 1.0 per hour
  ASSERT_TRUE(job) << job.error().message;
  EXPECT_EQ(job->project, "p");
  round();
  ASSERT_EQ(controller_->job(job->id)->state, JobState::Running);
  for (int h = 1; h <= 10; ++h) {
    now_ = kT0 + h * kHour;
    round();
  }
  EXPECT_NEAR(books().grants[0].used, 10.0, 1e-9) << "charged while it runs";
  EXPECT_TRUE(books().warnings.empty());
  now_ = kT0 + 17 * kHour;
  round();
  ASSERT_EQ(books().warnings.size(), 1u);
  EXPECT_EQ(books().warnings[0].event.percent, 80);
  now_ = kT0 + 25 * kHour;
  round();
  finish(job->id);
  const Books b = books();
  EXPECT_NEAR(b.grants[0].used, 20.0, 1e-9);
  ASSERT_EQ(b.warnings.size(), 2u);
  EXPECT_EQ(b.warnings[1].event.percent, 100);
  double to_grant = 0, to_none = 0, npu_seconds = 0;
  for (const core::Usage& u : b.ledger) {
    (u.grant ? to_grant : to_none) += u.charge;
    npu_seconds += u.accelerator_seconds;
  }
  EXPECT_NEAR(to_grant, 20.0, 1e-9);
  EXPECT_NEAR(to_none, 5.0, 1e-9) << "the 5 hours past the grant are recorded against no grant";
  EXPECT_NEAR(npu_seconds, 2.0 * 25 * kHour, 1e-6) << "the ledger adds up to the usage measured";
}

// Refuse: a spent grant refuses new jobs until it is topped up; an expired one until extended; one
// that has not started refuses as well.
TEST_F(AccountingTest, ExhaustionUnderARefusingProgramme) {
  admin("grant.granted", {{"project", "p"},
                          {"programme", "voucher"},
                          {"amount", 2.0},
                          {"start", kT0},
                          {"end", kT0 + 30 * kDay},
                          {"who", "op"}});
  auto job = submit(2);
  ASSERT_TRUE(job);
  round();
  now_ += 3 * kHour;
  round();
  finish(job->id);
  auto refused = submit(1);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("grant 1 (voucher) is spent: new jobs are refused"), std::string::npos)
      << refused.error().message;
  admin("grant.topped_up", {{"grant", 1}, {"amount", 10.0}, {"who", "op"}});
  ASSERT_TRUE(submit(0));
  now_ = kT0 + 31 * kDay;
  auto expired = submit(0);
  ASSERT_FALSE(expired);
  EXPECT_NE(expired.error().message.find("has expired"), std::string::npos) << expired.error().message;
  admin("grant.extended", {{"grant", 1}, {"end", kT0 + 60 * kDay}, {"who", "op"}});
  EXPECT_TRUE(submit(0));
  // The audit trail says who did what.
  const Books b = books();
  ASSERT_EQ(b.grants.size(), 1u);
  controller_->read_books([](const Accounting& a) {
    ASSERT_EQ(a.grants().audit().size(), 3u);
    EXPECT_NE(a.grants().audit()[1].what.find("topped up by 10"), std::string::npos);
    EXPECT_NE(a.grants().audit()[2].what.find("end moved"), std::string::npos);
  });
  // A grant that starts later does not let jobs in now.
  admin("tenancy.project", {{"name", "later"}, {"institution", "uni"}});
  admin("tenancy.member", {{"user", "nobody"}, {"project", "later"}, {"member", true}});
  admin("grant.granted", {{"project", "later"},
                          {"programme", "voucher"},
                          {"amount", 5.0},
                          {"start", now_ + 10 * kDay},
                          {"end", now_ + 20 * kDay},
                          {"who", "op"}});
  api::SubmitRequest r;
  r.command = {"true"};
  r.project = "later";
  auto early = controller_->submit(r, nobody_, now_);
  ASSERT_FALSE(early);
  EXPECT_NE(early.error().message.find("has not started"), std::string::npos) << early.error().message;
}

// Preemptible: with the grant spent, new jobs still run, but only as preemptible work.
TEST_F(AccountingTest, ExhaustionUnderAPreemptibleProgramme) {
  admin("grant.granted", {{"project", "p"},
                          {"programme", "rnd"},
                          {"amount", 1.0},
                          {"start", kT0},
                          {"end", kT0 + 30 * kDay},
                          {"who", "op"}});
  auto before = submit(0);
  ASSERT_TRUE(before);
  EXPECT_FALSE(before->preemptible);
  auto job = submit(2);
  ASSERT_TRUE(job);
  round();
  now_ += 2 * kHour;
  round();
  finish(job->id);
  auto after = submit(1);
  ASSERT_TRUE(after) << after.error().message;
  EXPECT_TRUE(after->preemptible);
  EXPECT_EQ(after->project, "p");
}

// Jobs already waiting when their project's grant runs out: held under a refusing programme until a
// top-up lets them in; made preemptible under a preemptible one.
TEST_F(AccountingTest, WaitingJobsFollowTheGrantAsItRunsOut) {
  admin("grant.granted", {{"project", "p"},
                          {"programme", "voucher"},
                          {"amount", 2.0},
                          {"start", kT0},
                          {"end", kT0 + 30 * kDay},
                          {"who", "op"}});
  auto a = submit(2);
  ASSERT_TRUE(a);
  round();
  auto b = submit(2);  // waits for a's NPUs
  ASSERT_TRUE(b);
  now_ += 3 * kHour;
  round();  // a is charged 3.0: the grant is spent
  JobRecord waiting = *controller_->job(b->id);
  EXPECT_EQ(waiting.state, JobState::Pending);
  EXPECT_EQ(waiting.reason, "Held: grant 1 (voucher) is spent: new jobs are refused");
  finish(a->id);
  for (int i = 0; i < 5; ++i) {
    ++now_;
    round();
  }
  EXPECT_EQ(controller_->job(b->id)->state, JobState::Pending) << "held, though the NPUs are free";
  admin("grant.topped_up", {{"grant", 1}, {"amount", 10.0}, {"who", "op"}});
  ++now_;
  round();
  EXPECT_EQ(controller_->job(b->id)->state, JobState::Running);
  finish(b->id);
  // Under a preemptible programme the waiting job is made preemptible instead, and runs as such.
  admin("tenancy.project", {{"name", "r"}, {"institution", "uni"}});
  admin("tenancy.member", {{"user", "nobody"}, {"project", "r"}, {"member", true}});
  admin("grant.granted", {{"project", "r"},
                          {"programme", "rnd"},
                          {"amount", 1.0},
                          {"start", kT0},
                          {"end", kT0 + 30 * kDay},
                          {"who", "op"}});
  api::SubmitRequest req;
  req.command = {"sleep", "1000"};
  req.mem_bytes = 64LL << 20;
  req.time_s = kDay;
  req.project = "r";
  req.gpus = {2, {"npu:ascend910"}};
  auto c = controller_->submit(req, nobody_, now_);
  ASSERT_TRUE(c);
  ++now_;
  round();
  ASSERT_EQ(controller_->job(c->id)->state, JobState::Running);
  auto d = controller_->submit(req, nobody_, now_);
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->preemptible);
  now_ += 2 * kHour;
  round();
  EXPECT_TRUE(controller_->job(d->id)->preemptible) << controller_->job(d->id)->reason;
  finish(c->id);
  ++now_;
  round();
  EXPECT_EQ(controller_->job(d->id)->state, JobState::Running);
  EXPECT_TRUE(controller_->job(d->id)->preemptible);
}

// A project holding two grants is charged to the one that expires first, then to the next.
TEST_F(AccountingTest, TheGrantThatExpiresFirstIsChargedFirst) {
  admin("grant.granted", {{"project", "p"},
                          {"programme", "voucher"},
                          {"amount", 100.0},
                          {"start", kT0},
                          {"end", kT0 + 300 * kDay},
                          {"who", "op"}});
  admin("grant.granted", {{"project", "p"},
                          {"programme", "rnd"},
                          {"amount", 3.0},
                          {"start", kT0},
                          {"end", kT0 + 30 * kDay},
                          {"who", "op"}});
  auto job = submit(2);
  ASSERT_TRUE(job);
  round();
  now_ += 5 * kHour;
  round();
  finish(job->id);
  const Books b = books();
  EXPECT_NEAR(b.grants[1].used, 3.0, 1e-9) << "the earlier-expiring grant first";
  EXPECT_NEAR(b.grants[0].used, 2.0, 1e-9) << "then the other";
  // The charge that straddled them is split, its measures in proportion.
  double charge = 0, seconds = 0;
  for (const core::Usage& u : b.ledger) {
    charge += u.charge;
    seconds += u.accelerator_seconds;
  }
  EXPECT_NEAR(charge, 5.0, 1e-9);
  EXPECT_NEAR(seconds, 2.0 * 5 * kHour, 1e-6);
}

// Slurm's QOS names the programme a job runs under: that programme's grant is charged first (not
// the one that expires first), its priority is the job's, and it survives a restart; a programme
// the project holds no valid grant of, or that does not exist, is refused with why.
TEST_F(AccountingTest, AJobsQosIsTheProgrammeItIsChargedTo) {
  admin("grant.granted", {{"project", "p"},
                          {"programme", "voucher"},
                          {"amount", 100.0},
                          {"start", kT0},
                          {"end", kT0 + 300 * kDay},
                          {"who", "op"}});
  admin("grant.granted", {{"project", "p"},
                          {"programme", "rnd"},
                          {"amount", 30.0},
                          {"start", kT0},
                          {"end", kT0 + 30 * kDay},
                          {"who", "op"}});
  api::SubmitRequest r;
  r.command = {"sleep", "1000"};
  r.mem_bytes = 64LL << 20;
  r.time_s = 365 * kDay;
  r.gpus = {2, {"npu:ascend910"}};
  r.qos = "voucher";
  auto job = controller_->submit(r, nobody_, now_);
  ASSERT_TRUE(job) << job.error().message;
  round();
  now_ += 5 * kHour;
  round();
  finish(job->id);
  for (bool snapshot : {false, true}) {  // the same after a restart, from the journal and a snapshot
    if (snapshot) {
      ASSERT_TRUE(controller_->checkpoint(now_));
    }
    open();
    EXPECT_EQ(controller_->job(job->id)->request.qos, "voucher");
    const Books b = books();
    EXPECT_NEAR(b.grants[0].used, 5.0, 1e-9) << "the programme it named, though the other expires first";
    EXPECT_NEAR(b.grants[1].used, 0.0, 1e-9);
  }

  auto refused = [&](const std::string& qos) {
    api::SubmitRequest q = r;
    q.qos = qos;
    auto x = controller_->submit(q, nobody_, now_);
    return x ? std::string("accepted") : x.error().message;
  };
  EXPECT_EQ(refused("gold"), "qos 'gold': no allocation programme of that name (the centre's: rnd, voucher)");
  admin("grant.programme", {{"name", "startup"}, {"when_exhausted", "refuse"}, {"priority", 0.9}});
  EXPECT_EQ(refused("startup"), "qos 'startup': project p holds no valid grant of that programme");
  now_ += 40 * kDay;  // the rnd grant has expired
  EXPECT_EQ(refused("rnd"), "qos 'rnd': project p holds no valid grant of that programme");
}

// A programme's sessions take its defaults, where it sets them: their longest life (which one asking
// for none gets) and how long they may go unused; a session under another programme (its --qos)
// takes the controller's; a programme's defaults out of bounds are refused, naming the field.
TEST_F(AccountingTest, AProgrammesSessionsTakeItsDefaults) {
  const auto refused = [&](const json& payload) {
    auto r = controller_->administer("grant.programme", payload, now_);
    return r ? std::string("accepted") : r.error().message;
  };
  EXPECT_EQ(refused({{"name", "x"}, {"when_exhausted", "refuse"}, {"priority", 0}, {"session_idle_timeout", 5}}),
            "programme 'x': session_idle_timeout must be 0 (the controller's) or at least 10 seconds");
  EXPECT_EQ(refused({{"name", "x"}, {"when_exhausted", "refuse"}, {"priority", 0}, {"session_max_life", "2h"}}),
            "field 'session_max_life': expected an integer");
  admin("grant.programme", {{"name", "course"},
                            {"when_exhausted", "refuse"},
                            {"priority", 0.1},
                            {"session_idle_timeout", 900},
                            {"session_max_life", 2 * kHour}});
  for (const std::string programme : {"course", "rnd"}) {
    admin("grant.granted", {{"project", "p"},
                            {"programme", programme},
                            {"amount", 100.0},
                            {"start", kT0},
                            {"end", programme == "course" ? kT0 + 30 * kDay : kT0 + 60 * kDay},
                            {"who", "op"}});
  }
  api::SubmitRequest r;
  r.command = {"python3", "-m", "http.server"};
  r.mem_bytes = 64LL << 20;
  r.session = {api::SessionApp::Custom, 18080, 0, ""};
  r.time_s = 0;                                         // none asked, as a session's submission without "time"
  auto course = controller_->submit(r, nobody_, now_);  // charged to the grant that expires first
  ASSERT_TRUE(course) << course.error().message;
  EXPECT_EQ(controller_->job(course->id)->request.time_s, 2 * kHour);
  EXPECT_EQ(controller_->job(course->id)->request.session.idle_timeout_s, 900);
  r.time_s = 3 * kHour;
  auto longer = controller_->submit(r, nobody_, now_);
  ASSERT_FALSE(longer);
  EXPECT_EQ(longer.error().message,
            "field 'time': a session lives at most 02:00:00 (its programme course's session_max_life)");
  r.time_s = 0;
  r.qos = "rnd";
  auto rnd = controller_->submit(r, nobody_, now_);
  ASSERT_TRUE(rnd) << rnd.error().message;
  EXPECT_EQ(controller_->job(rnd->id)->request.time_s, kDay) << "the controller's session_max_life";
  EXPECT_EQ(controller_->job(rnd->id)->request.session.idle_timeout_s, kHour) << "the controller's idle timeout";
  // The programme keeps them across a restart.
  ASSERT_TRUE(controller_->checkpoint(now_));
  open();
  r.qos = "";
  auto again = controller_->submit(r, nobody_, now_);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(controller_->job(again->id)->request.session.idle_timeout_s, 900);
}

// The books come back the same after a restart: from the journal alone, and from a snapshot.
TEST_F(AccountingTest, TheBooksSurviveARestart) {
  admin("grant.granted", {{"project", "p"},
                          {"programme", "voucher"},
                          {"amount", 4.0},
                          {"start", kT0},
                          {"end", kT0 + 30 * kDay},
                          {"who", "op"}});
  auto job = submit(1);
  ASSERT_TRUE(job);
  round();
  now_ += 10 * kHour;
  round();
  finish(job->id);
  admin("grant.topped_up", {{"grant", 1}, {"amount", 1.5}, {"who", "op"}});
  const Books before = books();
  ASSERT_FALSE(before.ledger.empty());
  ASSERT_FALSE(before.warnings.empty());
  auto same = [&](const Books& after) {
    ASSERT_EQ(after.grants.size(), before.grants.size());
    EXPECT_EQ(after.grants[0].used, before.grants[0].used);
    EXPECT_EQ(after.grants[0].amount, before.grants[0].amount);
    ASSERT_EQ(after.ledger.size(), before.ledger.size());
    for (std::size_t i = 0; i < after.ledger.size(); ++i) {
      EXPECT_EQ(after.ledger[i].charge, before.ledger[i].charge);
      EXPECT_EQ(after.ledger[i].time, before.ledger[i].time);
      EXPECT_EQ(after.ledger[i].grant, before.ledger[i].grant);
    }
    EXPECT_EQ(after.warnings.size(), before.warnings.size());
  };
  open();
  same(books());
  ASSERT_TRUE(controller_->checkpoint(now_));
  open();
  same(books());
  auto refused = submit(0);  // 5 of 5.5 used: still room
  EXPECT_TRUE(refused) << refused.error().message;
}

// Quotas cap what a project's non-preemptible jobs hold; a preemptible job borrows the idle device
// and is preempted (SIGTERM, which it catches to checkpoint) when another project needs it, then
// waits again as its next attempt.
TEST_F(AccountingTest, QuotasCapAndPreemptionReclaimsBorrowedDevices) {
  admin("tenancy.project", {{"name", "q"}, {"institution", "uni"}});
  admin("tenancy.member", {{"user", "nobody"}, {"project", "q"}, {"member", true}});
  admin("quota.set", {{"scope", "project"}, {"name", "p"}, {"model", "npu:ascend910"}, {"limit", 1000}});
  auto job = [&](const std::string& project, bool preemptible, std::vector<std::string> command) {
    api::SubmitRequest r;
    r.command = std::move(command);
    r.name = project;
    r.mem_bytes = 64LL << 20;
    r.time_s = kDay;
    r.project = project;
    r.preemptible = preemptible;
    r.gpus = {1, {"npu:ascend910"}};
    auto j = controller_->submit(r, nobody_, now_);
    EXPECT_TRUE(j) << j.error().message;
    return j ? j->id : 0;
  };
  auto until = [&](const std::function<bool()>& done) {
    const auto deadline = agent::Clock::now() + 20s;
    while (agent::Clock::now() < deadline && !done()) {
      ++now_;  // a pass runs at least once a (virtual) second
      round();
      std::this_thread::sleep_for(5ms);
    }
    return done();
  };
  auto state = [&](std::int64_t id) { return controller_->job(id)->state; };
  const std::vector<std::string> hold = {"sleep", "1000"};
  const std::int64_t a = job("p", false, hold);
  ASSERT_TRUE(until([&] { return state(a) == JobState::Running; }));
  const std::int64_t b = job("p", false, hold);
  round();
  EXPECT_EQ(state(b), JobState::Pending);
  EXPECT_EQ(controller_->job(b)->reason.rfind("QuotaReached", 0), 0u) << controller_->job(b)->reason;
  const std::int64_t c =
      job("p", true,
          {"sh", "-c",
           "trap 'echo checkpoint; exit 0' TERM; echo start $GWANG_RESTART_COUNT $GWANG_PREEMPTIBLE; "
           "while :; do sleep 0.05; done"});
  ASSERT_TRUE(until([&] { return state(c) == JobState::Running; })) << "a preemptible job borrows past the quota";
  ASSERT_TRUE(until([&] {
    return fs::exists(dir_ / "data" / "jobs" / agent::log_name(agent::task_id(c, 0, 0), false)) &&
           fs::file_size(dir_ / "data" / "jobs" / agent::log_name(agent::task_id(c, 0, 0), false)) > 0;
  }));
  const std::int64_t d = job("q", false, hold);
  ASSERT_TRUE(until([&] { return state(d) == JobState::Running; })) << controller_->job(d)->reason;
  const JobRecord victim = *controller_->job(c);
  EXPECT_EQ(victim.state, JobState::Pending);
  EXPECT_EQ(victim.attempt, 1);
  EXPECT_NE(victim.reason.find("requeued after preemption"), std::string::npos) << victim.reason;
  std::ifstream log(dir_ / "data" / "jobs" / agent::log_name(agent::task_id(c, 0, 0), false));
  std::stringstream out;
  out << log.rdbuf();
  EXPECT_EQ(out.str(), "start 0 1\ncheckpoint\n") << "it caught SIGTERM and could checkpoint";
  EXPECT_EQ(state(b), JobState::Pending);
  // The quota frees when the project's running job ends: the held-back job goes before the victim.
  finish(a);
  ASSERT_TRUE(until([&] { return state(b) == JobState::Running; }));
  EXPECT_EQ(state(c), JobState::Pending);
  auto quotas = controller_->quotas();
  ASSERT_EQ(quotas.size(), 1u);
  EXPECT_EQ(quotas[0].second, 1000) << "b holds the project's one device";
  // Quotas survive a restart (jobs of the local node end with it; the quota is in the books).
  open();
  ASSERT_EQ(controller_->quotas().size(), 1u);
  EXPECT_EQ(controller_->quotas()[0].first.limit, 1000);
}

// Bad quotas: unknown project, bad model, negative limit, removing none; nothing is written.
TEST_F(AccountingTest, BadQuotasAreRefused) {
  auto bad = [&](const std::string& kind, const json& p, const std::string& says) {
    auto r = controller_->administer(kind, p, now_);
    ASSERT_FALSE(r) << p.dump();
    EXPECT_NE(r.error().message.find(says), std::string::npos) << r.error().message;
  };
  bad("quota.set", {{"scope", "project"}, {"name", "nope"}, {"model", ""}, {"limit", 1000}}, "no project 'nope'");
  bad("quota.set", {{"scope", "team"}, {"name", "p"}, {"model", ""}, {"limit", 1000}}, "team");
  bad("quota.set", {{"scope", "project"}, {"name", "p"}, {"model", "H100"}, {"limit", 1000}}, "field 'model'");
  bad("quota.set", {{"scope", "project"}, {"name", "p"}, {"model", ""}, {"limit", -1}}, "must not be negative");
  bad("quota.removed", {{"scope", "institution"}, {"name", "uni"}, {"model", ""}}, "no quota of institution uni");
  EXPECT_TRUE(controller_->quotas().empty());
}

// Under the multifactor order a waiting job's priority is explained term by term; the project that
// has used the machine ranks below the one that has not (Fair Tree).
TEST_F(AccountingTest, PriorityTermsExplainTheOrder) {
  open(100000, core::QueueOrder::Multifactor);
  admin("tenancy.project", {{"name", "q"}, {"institution", "uni"}});
  admin("tenancy.member", {{"user", "nobody"}, {"project", "q"}, {"member", true}});
  auto submit_to = [&](const std::string& project) {
    api::SubmitRequest r;
    r.command = {"sleep", "1000"};
    r.mem_bytes = 64LL << 20;
    r.time_s = kDay;
    r.project = project;
    r.gpus = {2, {"npu:ascend910"}};
    auto j = controller_->submit(r, nobody_, now_);
    EXPECT_TRUE(j) << j.error().message;
    return j ? j->id : 0;
  };
  const std::int64_t busy = submit_to("p");
  round();
  ASSERT_EQ(controller_->job(busy)->state, JobState::Running);
  const std::int64_t from_p = submit_to("p");
  const std::int64_t from_q = submit_to("q");
  for (int i = 0; i < 4; ++i) {
    now_ += 600;  // p's running job is charged to fair share at each ranking
    round();
  }
  const JobRecord jp = *controller_->job(from_p), jq = *controller_->job(from_q);
  ASSERT_TRUE(jp.priority && jq.priority);
  EXPECT_GT(jq.priority->fairshare, jp.priority->fairshare);
  EXPECT_GT(jq.priority->total, jp.priority->total);
  EXPECT_GT(jp.priority->age, 0) << "both have waited 40 minutes";
  EXPECT_EQ(jp.priority->total,
            std::llround(jp.priority->age + jp.priority->fairshare + jp.priority->size + jp.priority->programme));
  finish(busy);
  ++now_;
  round();
  EXPECT_EQ(controller_->job(from_q)->state, JobState::Running) << "q goes first though it came second";
  EXPECT_EQ(controller_->job(from_p)->state, JobState::Pending);
}

// A user outside every project may still run where the centre does not require one; where it
// does, the job is refused and says why.
TEST_F(AccountingTest, ProjectsAreRequiredWhereTheCentreSaysSo) {
  auto stranger = lookup_account("daemon");
  ASSERT_TRUE(stranger);
  api::SubmitRequest r;
  r.command = {"true"};
  auto free_job = controller_->submit(r, *stranger, now_);
  ASSERT_TRUE(free_job) << free_job.error().message;
  EXPECT_EQ(free_job->project, "");
  auto p_job = controller_->submit(r, nobody_, now_);  // p holds no grant, and none is required
  ASSERT_TRUE(p_job) << p_job.error().message;
  EXPECT_EQ(p_job->project, "p");
  controller_.reset();
  ControllerOptions o;
  o.data_dir = (dir_ / "data").string();
  o.local_node = "local";
  o.host.cpus = 4;
  o.host.memory_bytes = 8LL << 30;
  o.accounting.require_project = true;
  o.accounting.require_grant = true;
  auto c = Controller::open(o, now_);
  ASSERT_TRUE(c);
  controller_ = std::move(*c);
  auto no_project = controller_->submit(r, *stranger, now_);
  ASSERT_FALSE(no_project);
  EXPECT_NE(no_project.error().message.find("user 'daemon' is in no project"), std::string::npos)
      << no_project.error().message;
  auto no_grant = controller_->submit(r, nobody_, now_);
  ASSERT_FALSE(no_grant);
  EXPECT_NE(no_grant.error().message.find("project p holds no grant"), std::string::npos) << no_grant.error().message;
}

}  // namespace
}  // namespace gwang::controller
