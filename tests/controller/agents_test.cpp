// The controller with remote agents, driven through the agent protocol's calls in process: nodes
// register by calling, multi-node jobs get their rank environment, silent nodes go DOWN and their
// jobs are requeued once, a restarted controller re-adopts what agents still run, and stale or
// repeated reports change nothing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "controller/controller.h"
#include "fake_agent.h"

namespace gwang::controller {
namespace {

namespace fs = std::filesystem;
namespace proto = agent::protocol;
using namespace std::chrono_literals;

class AgentsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("gwang_agents_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    auto nobody = test_account();
    ASSERT_TRUE(nobody) << nobody.error().message;
    nobody_ = *nobody;
    agents_ = fake_agents(3);
    for (FakeAgent& a : agents_) a.host.devices = {{"npu:x", "x", a.name + "-npu0", 0, 0, true}};
  }
  void TearDown() override {
    controller_.reset();
    fs::remove_all(dir_);
  }

  void open(std::chrono::milliseconds timeout = 60s) {
    controller_.reset();
    ControllerOptions o;
    o.data_dir = dir_.string();
    o.node_timeout = timeout;
    o.snapshot_every = snapshot_every_;
    auto c = Controller::open(o, now_);
    ASSERT_TRUE(c) << c.error().message;
    controller_ = std::move(*c);
  }
  // Every agent calls once.
  void call_all() {
    for (FakeAgent& a : agents_) ASSERT_TRUE(a.call(*controller_, now_)) << a.name;
  }
  void round(std::chrono::seconds ahead = 0s) { controller_->round(agent::Clock::now() + ahead, now_); }

  api::SubmitRequest request(int nodes) {
    api::SubmitRequest r;
    r.command = {"train.py"};
    r.name = "train";
    r.nodes = nodes;
    r.cpus = 4;  // a whole node each
    r.mem_bytes = 1LL << 30;
    r.time_s = 3600;
    return r;
  }
  JobRecord job(std::int64_t id) { return *controller_->job(id); }
  // Submits as the API does, then runs a round of the control loop (which starts what fits).
  Result<JobRecord> submit(const api::SubmitRequest& r) {
    auto j = controller_->submit(r, nobody_, now_);
    if (!j) return j;
    round();
    return job(j->id);
  }
  // A batch job of two nodes, started on a controller whose agents have all called: its id.
  std::int64_t running_batch_job() {
    open();
    call_all();
    api::SubmitRequest r = request(2);
    r.script = "#!/bin/sh\nsrun hostname\n";
    const std::int64_t id = submit(r)->id;
    call_all();
    return id;
  }

  fs::path dir_;
  Account nobody_;
  std::int64_t now_ = 1'700'000'000;
  std::vector<FakeAgent> agents_;
  std::unique_ptr<Controller> controller_;
  std::int64_t snapshot_every_ = 100000;
  bool snapshot_ = false;
  void readopt_after_restart();
};

TEST_F(AgentsTest, NodesRegisterByCallingAndAreListed) {
  open();
  call_all();
  const auto nodes = controller_->nodes();
  ASSERT_EQ(nodes.size(), 3u);
  EXPECT_EQ(nodes[0].name, "n1");
  EXPECT_EQ(nodes[0].state, "up");
  EXPECT_EQ(nodes[0].address, "10.0.0.1");
  EXPECT_EQ(nodes[0].last_seen, now_);
  EXPECT_FALSE(nodes[0].local);
  ASSERT_TRUE(submit(request(1)));
  ASSERT_TRUE(submit(request(3)));  // waits for the first
  round();
  const Status st = controller_->status();
  EXPECT_EQ(st.nodes, 3);
  EXPECT_EQ(st.nodes_up, 3);
  EXPECT_EQ(st.running, 1);
  EXPECT_EQ(st.pending, 1);
  EXPECT_EQ(st.jobs, 2);
  EXPECT_GE(st.passes, 1);
  EXPECT_GE(st.pass_ms_max, st.pass_ms_p50);
  // A node keeps its resources while the controller knows it.
  agents_[1].host.cpus = 8;
  auto r = agents_[1].call(*controller_, now_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "node 'n2' was registered with 4 CPUs, now 8; a node keeps its resources while the controller knows it");
}

// The event loop's call (try_sync) answers a plain heartbeat, and leaves to a worker, having
// changed nothing, whatever would block: a registration or tasks that ended (journal commits), and
// a wait for orders.
TEST_F(AgentsTest, TrySyncAnswersHeartbeatsAndLeavesWhatWouldBlock) {
  open();
  FakeAgent& a = agents_[0];
  proto::SyncRequest r;
  r.node = a.name;
  r.instance = a.instance;
  r.address = a.address;
  r.host = a.host;
  auto unknown = controller_->try_sync(r, "10.0.0.99", agent::Clock::now(), now_);
  ASSERT_TRUE(unknown);
  EXPECT_FALSE(*unknown);
  EXPECT_TRUE(controller_->nodes().empty()) << "a registration waits for its commit: not in the loop";
  ASSERT_TRUE(a.call(*controller_, now_));
  auto beat = controller_->try_sync(r, "10.0.0.99", agent::Clock::now(), now_ + 5);
  ASSERT_TRUE(beat);
  ASSERT_TRUE(*beat) << "a heartbeat with nothing to wait for is answered in the loop";
  EXPECT_EQ(controller_->nodes()[0].last_seen, now_ + 5);
  r.wait_ms = 1000;
  auto waits = controller_->try_sync(r, "10.0.0.99", agent::Clock::now(), now_);
  ASSERT_TRUE(waits);
  EXPECT_FALSE(*waits) << "a wait for orders holds a worker, not the loop";
  r.wait_ms = 0;
  r.finished.push_back({"1.0", {agent::TaskEnd::Exited, 0, 0}, "", false});
  auto ended = controller_->try_sync(r, "10.0.0.99", agent::Clock::now(), now_);
  ASSERT_TRUE(ended);
  EXPECT_FALSE(*ended) << "what ended is journalled before it is acknowledged: not in the loop";
}

TEST_F(AgentsTest, TwoNodeJobGetsItsRankEnvironmentAndCompletes) {
  open();
  call_all();
  auto submitted = submit(request(2));
  ASSERT_TRUE(submitted) << submitted.error().message;
  EXPECT_EQ(submitted->state, JobState::Running);
  const std::int64_t id = submitted->id;
  call_all();
  std::vector<agent::Launch> launches;
  for (const FakeAgent& a : agents_) launches.insert(launches.end(), a.launched.begin(), a.launched.end());
  ASSERT_EQ(launches.size(), 2u);
  const JobRecord running = job(id);
  ASSERT_EQ(running.tasks.size(), 2u);
  const std::string master = running.tasks[0].node;
  for (const agent::Launch& l : launches) {
    EXPECT_EQ(env_of(l, "WORLD_SIZE"), "2");
    EXPECT_EQ(env_of(l, "RANK"), std::to_string(l.rank));
    EXPECT_EQ(env_of(l, "LOCAL_RANK"), "0");
    EXPECT_EQ(env_of(l, "MASTER_ADDR"), "10.0.0." + master.substr(1));
    EXPECT_EQ(env_of(l, "GWANG_NODELIST"), running.nodelist());
    EXPECT_EQ(l.user, "nobody");
    EXPECT_EQ(l.devices, std::vector<std::string>{});
    EXPECT_EQ(l.task, agent::task_id(id, 0, l.rank));
  }
  EXPECT_NE(running.tasks[0].node, running.tasks[1].node);
  // A launch the agent already lists is not sent again.
  call_all();
  std::size_t again = 0;
  for (const FakeAgent& a : agents_) again += a.launched.size();
  EXPECT_EQ(again, 2u);

  // Output arrives with the reports; a chunk sent twice is written once.
  FakeAgent& rank0 = agents_[std::stoi(running.tasks[0].node.substr(1)) - 1];
  FakeAgent& rank1 = agents_[std::stoi(running.tasks[1].node.substr(1)) - 1];
  const std::string t0 = agent::task_id(id, 0, 0);
  rank0.logs = {{t0, false, 0, "hello "}, {t0, false, 0, "hello "}, {t0, false, 6, "world\n"}};
  auto answer = rank0.call(*controller_, now_);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->log_offsets.at(t0 + ".stdout"), 12);
  rank0.exit(t0, 0);
  ASSERT_TRUE(rank0.call(*controller_, now_));
  EXPECT_EQ(job(id).state, JobState::Running) << "rank 1 still runs";
  rank1.exit(agent::task_id(id, 0, 1), 0);
  ASSERT_TRUE(rank1.call(*controller_, now_));
  const JobRecord done = job(id);
  EXPECT_EQ(done.state, JobState::Completed) << done.reason;
  std::ifstream in(controller_->log_path(done, 0, false));
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), "hello world\n");
  // A report repeated after its acknowledgement changes nothing.
  rank1.finished.push_back({agent::task_id(id, 0, 1), {agent::TaskEnd::Exited, 9, 0}, "", false});
  ASSERT_TRUE(rank1.call(*controller_, now_));
  EXPECT_EQ(job(id).state, JobState::Completed);
  EXPECT_EQ(job(id).exit_code, 0);
}

TEST_F(AgentsTest, ARankThatFailsEndsTheOthersAndTheJobFails) {
  open();
  call_all();
  const std::int64_t id = submit(request(2))->id;
  call_all();
  const JobRecord running = job(id);
  FakeAgent& rank0 = agents_[std::stoi(running.tasks[0].node.substr(1)) - 1];
  FakeAgent& rank1 = agents_[std::stoi(running.tasks[1].node.substr(1)) - 1];
  rank1.exit(agent::task_id(id, 0, 1), 3);
  ASSERT_TRUE(rank1.call(*controller_, now_));
  ASSERT_TRUE(rank0.call(*controller_, now_));  // gets the order to end rank 0
  ASSERT_EQ(rank0.terminated.size(), 1u);
  EXPECT_EQ(rank0.terminated[0].task, agent::task_id(id, 0, 0));
  ASSERT_TRUE(rank0.call(*controller_, now_));  // reports it ended
  const JobRecord done = job(id);
  EXPECT_EQ(done.state, JobState::Failed);
  EXPECT_EQ(done.exit_code, 3);
  EXPECT_EQ(done.reason, "rank 1 on " + running.tasks[1].node + ": exited");
}

// A batch job runs its script once, on its first node, with Slurm's variables; its other nodes
// are held for it, and the script's end is the job's.
TEST_F(AgentsTest, ABatchScriptRunsOnceOnTheFirstNode) {
  open();
  call_all();
  api::SubmitRequest r = request(3);
  r.script = "#!/bin/sh\nsrun hostname\n";
  r.command = {"--epochs", "3"};
  r.output = "slurm-%j-%N.out";
  r.project = "";
  const std::int64_t id = submit(r)->id;
  call_all();
  std::vector<agent::Launch> launches;
  for (const FakeAgent& a : agents_) launches.insert(launches.end(), a.launched.begin(), a.launched.end());
  ASSERT_EQ(launches.size(), 1u);
  const agent::Launch& l = launches[0];
  const JobRecord running = job(id);
  EXPECT_EQ(l.rank, 0);
  EXPECT_EQ(l.script, r.script);
  EXPECT_EQ(l.argv, r.command);
  EXPECT_EQ(l.output, "slurm-" + std::to_string(id) + "-" + running.tasks[0].node + ".out");
  EXPECT_EQ(l.error, "");
  EXPECT_FALSE(l.output_append);
  EXPECT_EQ(env_of(l, "SLURM_JOB_ID"), std::to_string(id));
  EXPECT_EQ(env_of(l, "SLURM_JOBID"), std::to_string(id));
  EXPECT_EQ(env_of(l, "SLURM_JOB_NAME"), "train");
  EXPECT_EQ(env_of(l, "SLURM_JOB_USER"), "nobody");
  EXPECT_EQ(env_of(l, "SLURM_JOB_NODELIST"), "n[1-3]");
  EXPECT_EQ(env_of(l, "SLURM_NODELIST"), "n[1-3]");
  EXPECT_EQ(env_of(l, "SLURM_JOB_NUM_NODES"), "3");
  EXPECT_EQ(env_of(l, "SLURM_NODEID"), "0");
  EXPECT_EQ(env_of(l, "SLURM_PROCID"), "0");
  EXPECT_EQ(env_of(l, "SLURM_LOCALID"), "0");
  EXPECT_EQ(env_of(l, "SLURMD_NODENAME"), running.tasks[0].node);
  EXPECT_EQ(env_of(l, "SLURM_JOB_CPUS_PER_NODE"), "4(x3)");
  EXPECT_EQ(env_of(l, "SLURM_NTASKS"), "<unset>") << "a batch job's task count is sbatch's to say";
  // The whole allocation is the job's while the script runs.
  for (const NodeRecord& n : controller_->nodes()) EXPECT_EQ(n.jobs, std::vector<std::int64_t>{id}) << n.name;
  FakeAgent& first = agents_[std::stoi(running.tasks[0].node.substr(1)) - 1];
  first.exit(l.task, 0);
  ASSERT_TRUE(first.call(*controller_, now_));
  const JobRecord done = job(id);
  EXPECT_EQ(done.state, JobState::Completed) << done.reason;
  for (const NodeRecord& n : controller_->nodes()) EXPECT_TRUE(n.jobs.empty()) << n.name;
}

// The job's own variables win over those it brings along (sbatch exports the caller's whole
// environment, which may hold another job's SLURM_JOB_ID); a port of its choosing stays.
TEST_F(AgentsTest, AJobsIdentityVariablesAreTheControllers) {
  open();
  call_all();
  api::SubmitRequest r = request(1);
  r.env = {{"SLURM_JOB_ID", "1"}, {"GWANG_JOB_ID", "1"}, {"MASTER_PORT", "29500"}, {"SLURM_NTASKS", "8"}};
  const std::int64_t id = submit(r)->id;
  call_all();
  std::vector<agent::Launch> launches;
  for (const FakeAgent& a : agents_) launches.insert(launches.end(), a.launched.begin(), a.launched.end());
  ASSERT_EQ(launches.size(), 1u);
  // The agent keeps the last of a name; what it would see:
  auto last = [&](const std::string& key) {
    std::string v = "<unset>";
    for (const auto& [k, value] : launches[0].env)
      if (k == key) v = value;
    return v;
  };
  EXPECT_EQ(last("SLURM_JOB_ID"), std::to_string(id));
  EXPECT_EQ(last("GWANG_JOB_ID"), std::to_string(id));
  EXPECT_EQ(last("MASTER_PORT"), "29500");
  EXPECT_EQ(last("SLURM_NTASKS"), "1") << "a job that is not a batch script is one task per node";
}

// What the agent would see of a name: the last value of it.
std::string last_env(const agent::Launch& l, const std::string& key) {
  std::string v = "<unset>";
  for (const auto& [k, value] : l.env)
    if (k == key) v = value;
  return v;
}

// srun inside a batch job: a step's tasks are laid out over the job's nodes as Slurm lays them
// out, each with its place in the step; the step ends as its tasks did, and the job goes on.
TEST_F(AgentsTest, StepsSpreadTheirTasksOverTheJobsNodes) {
  const std::int64_t id = running_batch_job();
  const JobRecord running = job(id);
  ASSERT_EQ(running.state, JobState::Running);
  FakeAgent& first = agents_[std::stoi(running.tasks[0].node.substr(1)) - 1];
  FakeAgent& second = agents_[std::stoi(running.tasks[1].node.substr(1)) - 1];
  const std::string batch_task = agent::task_id(id, 0, 0);
  ASSERT_TRUE(first.running.contains(batch_task));
  const std::string token = last_env(first.running.at(batch_task), "GWANG_TOKEN");
  EXPECT_EQ(controller_->job_credential_user(token), "nobody") << token;
  EXPECT_EQ(controller_->job_credential_user(token + "0"), std::nullopt);
  EXPECT_EQ(controller_->job_credential_user("gwj." + std::to_string(id) + ".x"), std::nullopt);

  // Six tasks on two nodes of 4 CPUs: three each, numbered in blocks.
  api::StepRequest s;
  s.command = {"python", "train.py"};
  s.ntasks = 6;
  s.env = {{"RANK", "99"}, {"MY_SETTING", "on"}, {"MASTER_ADDR", "chosen"}};
  auto step = controller_->start_step(id, s, "nobody", false, now_);
  ASSERT_TRUE(step) << step.error().message;
  EXPECT_EQ(step->id, 0);
  EXPECT_EQ(step->name, "python");
  ASSERT_EQ(step->tasks.size(), 6u);
  for (int t = 0; t < 6; ++t) EXPECT_EQ(step->tasks[static_cast<std::size_t>(t)].node, t < 3 ? 0 : 1) << t;
  call_all();
  std::map<int, agent::Launch> tasks;  // by task id
  for (const FakeAgent* a : {&first, &second}) {
    for (const auto& [t, l] : a->running) {
      if (l.step == 0) tasks[l.rank] = l;
    }
  }
  ASSERT_EQ(tasks.size(), 6u);
  const std::string nodelist =
      running.tasks[0].node < running.tasks[1].node
          ? "n[" + running.tasks[0].node.substr(1) + "-" + running.tasks[1].node.substr(1) + "]"
          : "";
  for (const auto& [t, l] : tasks) {
    const bool on_first = t < 3;
    EXPECT_EQ(l.task, agent::step_task_id(id, 0, 0, t));
    EXPECT_TRUE((on_first ? first : second).running.contains(l.task)) << l.task;
    EXPECT_EQ(l.argv, s.command);
    EXPECT_EQ(l.user, "nobody");
    EXPECT_EQ(l.devices, running.tasks[on_first ? 0 : 1].devices);
    EXPECT_EQ(last_env(l, "SLURM_STEP_ID"), "0");
    EXPECT_EQ(last_env(l, "SLURM_PROCID"), std::to_string(t));
    EXPECT_EQ(last_env(l, "SLURM_LOCALID"), std::to_string(t % 3));
    EXPECT_EQ(last_env(l, "SLURM_NODEID"), on_first ? "0" : "1");
    EXPECT_EQ(last_env(l, "SLURM_NTASKS"), "6");
    EXPECT_EQ(last_env(l, "SLURM_STEP_NUM_NODES"), "2");
    EXPECT_EQ(last_env(l, "SLURM_TASKS_PER_NODE"), "3(x2)");
    EXPECT_EQ(last_env(l, "SLURM_GTIDS"), on_first ? "0,1,2" : "3,4,5");
    if (!nodelist.empty()) {
      EXPECT_EQ(last_env(l, "SLURM_STEP_NODELIST"), nodelist);
    }
    EXPECT_EQ(last_env(l, "SLURM_JOB_ID"), std::to_string(id));
    EXPECT_EQ(last_env(l, "SLURMD_NODENAME"), running.tasks[on_first ? 0 : 1].node);
    EXPECT_EQ(last_env(l, "SLURM_CPUS_PER_TASK"), "<unset>") << "only when asked for";
    EXPECT_EQ(last_env(l, "RANK"), std::to_string(t)) << "the task's place, not what the asker had";
    EXPECT_EQ(last_env(l, "LOCAL_RANK"), std::to_string(t % 3));
    EXPECT_EQ(last_env(l, "WORLD_SIZE"), "6");
    EXPECT_EQ(last_env(l, "MY_SETTING"), "on");
    EXPECT_EQ(last_env(l, "MASTER_ADDR"), "chosen") << "what the script set stays";
    EXPECT_EQ(last_env(l, "GWANG_TOKEN"), token);
  }

  // Round-robin: 0 and 2 on the first node, 1 on the second (beside the first step, which still
  // runs: --overlap).
  s.overlap = true;
  s.ntasks = 3;
  s.cyclic = true;
  s.cpus_per_task = 2;
  s.name = "eval";
  auto cyclic = controller_->start_step(id, s, "nobody", false, now_);
  ASSERT_TRUE(cyclic) << cyclic.error().message;
  EXPECT_EQ(cyclic->id, 1);
  EXPECT_EQ(cyclic->name, "eval");
  ASSERT_EQ(cyclic->tasks.size(), 3u);
  EXPECT_EQ(cyclic->tasks[0].node, 0);
  EXPECT_EQ(cyclic->tasks[1].node, 1);
  EXPECT_EQ(cyclic->tasks[2].node, 0);

  // What the allocation cannot hold, and who may not.
  auto refused = [&](api::StepRequest q, const std::string& user = "nobody") {
    auto x = controller_->start_step(id, q, user, false, now_);
    return x ? std::string("accepted") : x.error().message;
  };
  api::StepRequest q;
  q.command = {"true"};
  q.ntasks = 9;
  EXPECT_EQ(refused(q),
            "more processors requested than permitted: 9 task(s) of 1 CPU(s) on 2 node(s) of 4 CPU(s) (at most 4 "
            "task(s) a node)");
  q.ntasks = 0;
  q.nodes = 3;
  EXPECT_EQ(refused(q), "the step asks for 3 nodes; job " + std::to_string(id) + " has 2");
  q.nodes = 0;
  q.cpus_per_task = 5;
  EXPECT_EQ(refused(q), "more processors requested than permitted: 5 CPUs per task, and the job has 4 on a node");
  q.cpus_per_task = 0;
  EXPECT_EQ(refused(q, "root"), "job " + std::to_string(id) + " not found");
  q.ntasks_per_node = 1;
  q.ntasks = 3;
  EXPECT_NE(refused(q).find("more processors requested than permitted"), std::string::npos);

  // Step 0: a task fails; the others finish; the step is FAILED with its code, the job runs on.
  for (const auto& [t, l] : tasks) (t < 3 ? first : second).exit(l.task, t == 4 ? 2 : 0);
  ASSERT_TRUE(first.call(*controller_, now_));
  ASSERT_TRUE(second.call(*controller_, now_));
  JobRecord now = job(id);
  EXPECT_EQ(now.state, JobState::Running);
  ASSERT_EQ(now.steps.size(), 2u);
  EXPECT_EQ(now.steps[0].state, JobState::Failed);
  EXPECT_EQ(now.steps[0].exit_code, 2);
  EXPECT_EQ(now.steps[0].tasks[4].state, JobState::Failed);
  EXPECT_EQ(now.steps[0].tasks[3].state, JobState::Completed);
  EXPECT_EQ(now.steps[0].end, now_);
  EXPECT_EQ(now.steps[1].state, JobState::Running);

  // Step 1 is cancelled: its tasks are told to end, and it shows CANCELLED once they have.
  auto cancelled = controller_->cancel_step(id, 1, "nobody", false, now_);
  ASSERT_TRUE(cancelled) << cancelled.error().message;
  call_all();
  call_all();
  now = job(id);
  EXPECT_EQ(now.steps[1].state, JobState::Cancelled);
  EXPECT_EQ(now.state, JobState::Running);
  EXPECT_EQ(controller_->cancel_step(id, 1, "nobody", false, now_).error().message,
            "step " + std::to_string(id) + ".1 has already ended (CANCELLED)");

  // Under --kill-on-bad-exit, a failed task ends the others; the step is FAILED, not CANCELLED.
  api::StepRequest k;
  k.command = {"worker"};
  k.ntasks = 2;
  k.kill_on_bad_exit = true;
  auto killing = controller_->start_step(id, k, "nobody", false, now_);
  ASSERT_TRUE(killing);
  call_all();
  first.exit(agent::step_task_id(id, 0, 2, 0), 1);
  ASSERT_TRUE(first.call(*controller_, now_));
  ASSERT_TRUE(second.call(*controller_, now_));  // told to end task 1
  ASSERT_TRUE(second.call(*controller_, now_));  // reports it ended
  now = job(id);
  EXPECT_EQ(now.steps[2].state, JobState::Failed);
  EXPECT_EQ(now.steps[2].tasks[1].state, JobState::Cancelled);

  // A step still running, and restarts: the steps are kept (from the journal, then from a
  // snapshot), and the running one's tasks go on where the agents run them.
  api::StepRequest last;
  last.command = {"sleep", "100"};
  last.ntasks = 2;
  ASSERT_TRUE(controller_->start_step(id, last, "nobody", false, now_));
  call_all();
  for (bool snapshot : {false, true}) {
    if (snapshot) {
      ASSERT_TRUE(controller_->checkpoint(now_));
    }
    open();
    call_all();
    now = job(id);
    EXPECT_EQ(now.state, JobState::Running) << now.reason;
    ASSERT_EQ(now.steps.size(), 4u);
    EXPECT_EQ(now.steps[0].state, JobState::Failed);
    EXPECT_EQ(now.steps[0].exit_code, 2);
    EXPECT_EQ(now.steps[0].name, "python");
    EXPECT_EQ(now.steps[0].env, s.env);
    EXPECT_EQ(now.steps[1].state, JobState::Cancelled);
    EXPECT_EQ(now.steps[1].cpus_per_task, 2);
    EXPECT_EQ(now.steps[2].state, JobState::Failed);
    EXPECT_TRUE(now.steps[2].kill_on_bad_exit);
    EXPECT_EQ(now.steps[3].state, JobState::Running);
    EXPECT_EQ(controller_->job_credential_user(token), "nobody");
    EXPECT_TRUE(first.running.contains(agent::step_task_id(id, 0, 3, 0)));
  }
  // The script ends while step 3 runs: its tasks are ended, the step CANCELLED, and the job's
  // credential no longer opens anything.
  first.exit(batch_task, 0);
  ASSERT_TRUE(first.call(*controller_, now_));
  now = job(id);
  EXPECT_EQ(now.state, JobState::Completed);
  EXPECT_EQ(now.steps[3].state, JobState::Cancelled);
  call_all();
  for (const FakeAgent* a : {&first, &second}) {
    for (const auto& [t, l] : a->running) ADD_FAILURE() << a->name << " still runs " << t;
  }
  EXPECT_EQ(controller_->job_credential_user(token), std::nullopt);
  EXPECT_EQ(refused(last), "job " + std::to_string(id) + " has ended (COMPLETED)");
  open();
  EXPECT_EQ(job(id).steps[3].state, JobState::Cancelled);
}

TEST_F(AgentsTest, SilentNodeGoesDownAndItsJobIsRequeuedOnceThenNodeFail) {
  open(5s);
  const auto t0 = agent::Clock::now();
  for (FakeAgent& a : agents_) ASSERT_TRUE(a.call(*controller_, now_, t0));
  const std::int64_t id = submit(request(1))->id;
  const std::string first = job(id).tasks.at(0).node;
  FakeAgent& silent = agents_[std::stoi(first.substr(1)) - 1];
  ASSERT_TRUE(silent.call(*controller_, now_, t0));  // it gets the job, then falls silent
  ASSERT_EQ(silent.running.size(), 1u);
  // The others keep calling; `silent` does not.
  for (FakeAgent& a : agents_) {
    if (&a != &silent) {
      ASSERT_TRUE(a.call(*controller_, now_, t0 + 4s));
    }
  }
  controller_->round(t0 + 4s, now_);
  EXPECT_EQ(job(id).state, JobState::Running) << "not silent long enough yet";
  EXPECT_EQ(job(id).attempt, 0);
  controller_->round(t0 + 6s, now_);
  const JobRecord requeued = job(id);
  EXPECT_EQ(requeued.state, JobState::Running) << "requeued and started at once elsewhere: " << requeued.reason;
  EXPECT_EQ(requeued.attempt, 1);
  ASSERT_EQ(requeued.tasks.size(), 1u);
  EXPECT_NE(requeued.tasks[0].node, first);
  for (const NodeRecord& n : controller_->nodes()) EXPECT_EQ(n.state, n.name == first ? "down" : "up") << n.name;

  // The silent agent comes back still running the old attempt: it is told to end it, and its
  // report of that changes nothing.
  ASSERT_TRUE(silent.call(*controller_, now_, t0 + 6s));
  ASSERT_EQ(silent.terminated.size(), 1u);
  EXPECT_EQ(silent.terminated[0].task, agent::task_id(id, 0, 0));
  ASSERT_TRUE(silent.call(*controller_, now_, t0 + 6s));
  EXPECT_EQ(job(id).state, JobState::Running);
  EXPECT_EQ(job(id).attempt, 1);
  for (const NodeRecord& n : controller_->nodes()) EXPECT_EQ(n.state, "up") << n.name;

  // The second node goes silent too: the job has used its one requeue and ends as NODE_FAIL.
  const std::string second = requeued.tasks[0].node;
  for (FakeAgent& a : agents_) {
    if (a.name != second) {
      ASSERT_TRUE(a.call(*controller_, now_, t0 + 10s));
    }
  }
  controller_->round(t0 + 10s, now_);
  const JobRecord ended = job(id);
  EXPECT_EQ(ended.state, JobState::NodeFail);
  EXPECT_EQ(ended.reason, "node " + second + " went silent (no word from its agent for 5 s)");
}

TEST_F(AgentsTest, JobThatDoesNotAllowRequeueEndsAsNodeFail) {
  open(5s);
  call_all();
  api::SubmitRequest r = request(1);
  r.requeue = false;
  const std::int64_t id = submit(r)->id;
  round(6s);  // every node is silent by then
  EXPECT_EQ(job(id).state, JobState::NodeFail);
  EXPECT_EQ(job(id).attempt, 0);
}

void AgentsTest::readopt_after_restart() {
  open(5s);
  call_all();
  const std::int64_t a = submit(request(2))->id;
  const std::int64_t b = submit(request(1))->id;
  const std::int64_t c = submit(request(1))->id;  // waits: 3 nodes, 3 tasks
  EXPECT_EQ(job(c).state, JobState::Pending);
  // The agents of a's ranks get their launches; b's agent never hears of b before the restart.
  const std::string b_node = job(b).tasks[0].node;
  for (FakeAgent& x : agents_) {
    if (x.name != b_node) {
      ASSERT_TRUE(x.call(*controller_, now_));
    }
  }

  if (snapshot_) {
    ASSERT_TRUE(controller_->checkpoint(now_));  // recovery reads the snapshot
  }
  open(5s);  // kill and restart
  EXPECT_EQ(job(a).state, JobState::Running);
  EXPECT_EQ(job(b).state, JobState::Running);
  EXPECT_EQ(job(c).state, JobState::Pending);
  for (const NodeRecord& n : controller_->nodes()) EXPECT_EQ(n.state, "unknown") << n.name;
  // The agents call: a's ranks go on untouched, b's launch is sent now, nothing starts twice.
  call_all();
  std::size_t launches = 0;
  for (const FakeAgent& x : agents_) {
    launches += x.launched.size();
    EXPECT_TRUE(x.terminated.empty()) << x.name;
  }
  EXPECT_EQ(launches, 3u);
  for (const NodeRecord& n : controller_->nodes()) EXPECT_EQ(n.state, "up") << n.name;
  // They end; c runs next.
  for (FakeAgent& x : agents_) {
    for (const auto& [t, l] : std::map<std::string, agent::Launch>(x.running)) x.exit(t, 0);
  }
  call_all();
  EXPECT_EQ(job(a).state, JobState::Completed);
  EXPECT_EQ(job(b).state, JobState::Completed);
  round();
  EXPECT_EQ(job(c).state, JobState::Running);
}

TEST_F(AgentsTest, RestartedControllerReadoptsWhatAgentsStillRun) { readopt_after_restart(); }

TEST_F(AgentsTest, RestartedControllerReadoptsFromASnapshot) {
  snapshot_ = true;
  readopt_after_restart();
}

TEST_F(AgentsTest, RestartedAgentLosesItsTasks) {
  open(5s);
  call_all();
  const std::int64_t id = submit(request(1))->id;
  call_all();
  FakeAgent& x = agents_[std::stoi(job(id).tasks[0].node.substr(1)) - 1];
  x.instance = "i2";
  x.running.clear();  // a restarted agent has ended its predecessor's tasks
  ASSERT_TRUE(x.call(*controller_, now_));
  const JobRecord j = job(id);
  EXPECT_EQ(j.attempt, 1) << "requeued";
  EXPECT_NE(j.reason.find("restarted"), std::string::npos) << j.reason;
}

TEST_F(AgentsTest, CancelReachesTheAgentAndEndsTheJob) {
  open();
  call_all();
  const std::int64_t id = submit(request(1))->id;
  call_all();
  ASSERT_TRUE(controller_->cancel(id, "nobody", false, now_));
  EXPECT_EQ(job(id).state, JobState::Running) << "until the agent says it has ended";
  call_all();  // the order
  call_all();  // the report
  EXPECT_EQ(job(id).state, JobState::Cancelled);
}

// What a step holds of its job, as Slurm 22.05's steps: by default all of the job's CPUs and memory
// on its nodes, so that the next step waits ("busy") until it ends; --exact and --mem hold only
// what they ask, --overlap holds nothing and never waits, -I refuses rather than wait, and more
// memory than the job's is refused outright. The tasks' memory limit is the step's.
TEST_F(AgentsTest, StepsHoldTheirShareOfTheJobAndOthersWait) {
  const std::int64_t id = running_batch_job();  // 2 nodes of 4 CPUs and 1G each
  ASSERT_EQ(job(id).state, JobState::Running);
  auto start = [&](api::StepRequest s, bool* busy = nullptr) {
    s.command = {"true"};
    return controller_->start_step(id, s, "nobody", false, now_, busy);
  };
  auto verdict = [&](const api::StepRequest& s) {
    bool busy = false;
    auto step = start(s, &busy);
    return step ? std::string("started") : (busy ? "busy: " : "refused: ") + step.error().message;
  };
  api::StepRequest whole;
  whole.ntasks = 1;
  auto first = start(whole);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->node_cpus, (std::vector<int>{4, 0}));
  EXPECT_EQ(first->node_mem, (std::vector<std::int64_t>{1LL << 30, 0}));
  EXPECT_EQ(verdict(whole), "busy: Requested nodes are busy");
  api::StepRequest immediate = whole;
  immediate.immediate = true;
  EXPECT_EQ(verdict(immediate), "refused: Requested nodes are busy");
  api::StepRequest overlap = whole;
  overlap.overlap = true;
  EXPECT_EQ(verdict(overlap), "started");
  // On the second node, which the first step does not use, a whole step starts.
  api::StepRequest second = whole;
  second.relative = 1;
  auto other = start(second);
  ASSERT_TRUE(other) << other.error().message;
  api::StepRequest too_much = whole;
  too_much.mem_bytes = 2LL << 30;
  EXPECT_EQ(verdict(too_much), "refused: Memory required by task is not available");
  // A size rounded up to whole MiB (the job's SLURM_MEM_PER_NODE, which srun takes) is the job's.
  api::StepRequest rounded = overlap;
  rounded.mem_bytes = (1LL << 30) + 4096;
  auto within = start(rounded);
  ASSERT_TRUE(within) << within.error().message;
  EXPECT_EQ(within->node_mem, (std::vector<std::int64_t>{1LL << 30, 0}));

  // When the first step ends, exact steps with their own memory run side by side.
  call_all();
  for (FakeAgent& a : agents_) {
    for (const auto& [task, l] : std::map(a.running)) {
      if (l.step >= 0) a.exit(task, 0);
    }
  }
  call_all();
  api::StepRequest exact;
  exact.ntasks = 2;
  exact.nodes = 1;
  exact.exact = true;
  exact.mem_bytes = 256LL << 20;
  for (int k = 0; k < 2; ++k) {
    auto s = start(exact);
    ASSERT_TRUE(s) << k << ": " << s.error().message;
    EXPECT_EQ(s->node_cpus, (std::vector<int>{2, 0}));
  }
  EXPECT_EQ(verdict(exact), "busy: Requested nodes are busy");  // the two hold all four CPUs
  api::StepRequest per_cpu;
  per_cpu.ntasks = 1;
  per_cpu.exact = true;
  per_cpu.relative = 1;
  per_cpu.mem_per_cpu = 100LL << 20;
  auto small = start(per_cpu);
  ASSERT_TRUE(small) << small.error().message;
  EXPECT_EQ(small->node_mem, (std::vector<std::int64_t>{0, 100LL << 20}));
  // Its task's memory limit is the step's.
  call_all();
  bool seen = false;
  for (const FakeAgent& a : agents_) {
    for (const auto& [task, l] : a.running) {
      if (l.step != small->id) continue;
      seen = true;
      EXPECT_EQ(l.memory_limit_bytes, 100LL << 20);
    }
  }
  EXPECT_TRUE(seen);
}

// A step's own GPUs, as Slurm 22.05 gives them (checked on a Slurm with two GPUs a node): asking
// none it has all of the job's and holds them; --gres=gpu:1 steps take the lowest free each and
// the next waits; --overlap shares; --gpus-per-task gives each task its own; none gives none;
// more than the job has, or a type it has not, is refused.
TEST_F(AgentsTest, StepsGetTheirOwnGpusAndWaitForThem) {
  for (FakeAgent& a : agents_) {
    a.host.devices = {{"gpu:A100", "A100", a.name + "-g0", 0, 0, true},
                      {"gpu:A100", "A100", a.name + "-g1", 1, 0, true}};
  }
  open();
  call_all();
  api::SubmitRequest r = request(1);
  r.gpus.count = 2;
  r.script = "#!/bin/sh\nsrun true\n";
  const std::int64_t id = submit(r)->id;
  call_all();
  ASSERT_EQ(job(id).state, JobState::Running);
  const std::string node = job(id).tasks[0].node;
  auto start = [&](api::StepRequest s, bool* busy = nullptr) {
    s.command = {"true"};
    s.exact = true;  // CPUs and memory aside: the devices are what is asked
    s.mem_bytes = 1LL << 20;
    return controller_->start_step(id, s, "nobody", false, now_, busy);
  };
  auto verdict = [&](const api::StepRequest& s) {
    bool busy = false;
    auto step = start(s, &busy);
    return step ? std::string("started") : (busy ? "busy: " : "refused: ") + step.error().message;
  };
  auto end_steps = [&] {
    call_all();
    for (FakeAgent& a : agents_) {
      for (const auto& [task, l] : std::map(a.running)) {
        if (l.step >= 0) a.exit(task, 0);
      }
    }
    call_all();
  };
  auto launch_of = [&](int step, int task) {
    call_all();
    for (const FakeAgent& a : agents_) {
      for (const auto& [t, l] : a.running) {
        if (l.step == step && l.rank == task) return l;
      }
    }
    return agent::Launch{};
  };
  api::StepRequest plain;
  auto all = start(plain);
  ASSERT_TRUE(all) << all.error().message;
  agent::Launch l = launch_of(all->id, 0);
  EXPECT_EQ(l.devices, (std::vector<std::string>{node + "-g0", node + "-g1"}));
  EXPECT_EQ(last_env(l, "SLURM_STEP_GPUS"), "0,1");
  EXPECT_EQ(last_env(l, "SLURM_GPUS_ON_NODE"), "2");
  api::StepRequest one;
  one.gpus_per_node = 1;
  EXPECT_EQ(verdict(one), "busy: Requested nodes are busy") << "the step that asked none holds them all";
  end_steps();

  auto a = start(one), b = start(one);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(launch_of(a->id, 0).devices, std::vector<std::string>{node + "-g0"});
  l = launch_of(b->id, 0);
  EXPECT_EQ(l.devices, std::vector<std::string>{node + "-g1"});
  EXPECT_EQ(last_env(l, "SLURM_STEP_GPUS"), "1");
  EXPECT_EQ(last_env(l, "SLURM_GPUS_ON_NODE"), "1");
  EXPECT_EQ(verdict(one), "busy: Requested nodes are busy");
  api::StepRequest shared = one;
  shared.overlap = true;
  EXPECT_EQ(verdict(shared), "started");
  api::StepRequest none;
  none.gpus_per_node = 0;
  auto bare = start(none);
  ASSERT_TRUE(bare);
  l = launch_of(bare->id, 0);
  EXPECT_TRUE(l.devices.empty());
  EXPECT_EQ(last_env(l, "SLURM_GPUS_ON_NODE"), "<unset>");
  api::StepRequest three;
  three.gpus_per_node = 3;
  EXPECT_EQ(verdict(three), "refused: Invalid generic resource (gres) specification: the step asks for 3 GPU(s) on " +
                                node + ", where the job has 2");
  api::StepRequest typed = one;
  typed.gpu_type = "H100";
  EXPECT_EQ(verdict(typed),
            "refused: Invalid generic resource (gres) specification: the step asks for 1 GPU(s) of "
            "type H100 on " +
                node + ", where the job has 0");
  end_steps();

  api::StepRequest per_task;
  per_task.ntasks = 2;
  per_task.gpus_per_task = 1;
  auto each = start(per_task);
  ASSERT_TRUE(each) << each.error().message;
  for (int t = 0; t < 2; ++t) {
    l = launch_of(each->id, t);
    EXPECT_EQ(l.devices, std::vector<std::string>{node + "-g" + std::to_string(t)});
    EXPECT_EQ(last_env(l, "SLURM_STEP_GPUS"), std::to_string(t));
    EXPECT_EQ(last_env(l, "SLURM_GPUS_ON_NODE"), "2");
  }
  end_steps();

  // --gpu-bind: of all the job's GPUs there, each task its part (two tasks to a GPU; a map).
  api::StepRequest bound;
  bound.ntasks = 4;
  bound.overcommit = true;
  bound.gpu_bind = "single:2";
  auto pairs = start(bound);
  ASSERT_TRUE(pairs) << pairs.error().message;
  for (int t = 0; t < 4; ++t)
    EXPECT_EQ(launch_of(pairs->id, t).devices, std::vector<std::string>{node + "-g" + std::to_string(t / 2)}) << t;
  end_steps();
  bound.gpu_bind = "map_gpu:1,0";
  auto mapped = start(bound);
  ASSERT_TRUE(mapped) << mapped.error().message;
  for (int t = 0; t < 4; ++t)
    EXPECT_EQ(launch_of(mapped->id, t).devices, std::vector<std::string>{node + "-g" + std::to_string(1 - t % 2)}) << t;
  EXPECT_EQ(last_env(launch_of(mapped->id, 0), "SLURM_STEP_GPUS"), "1");
  end_steps();

  // --mem-per-gpu: the step's memory is per GPU of its own; -E: its tasks keep the job's counts.
  api::StepRequest per_gpu = one;
  per_gpu.mem_bytes = 0;
  per_gpu.mem_per_gpu = 100LL << 20;
  per_gpu.preserve_env = true;
  per_gpu.env = {{"SLURM_NTASKS", "4"}, {"SLURM_NPROCS", "4"}, {"SLURM_TASKS_PER_NODE", "2(x2)"}};
  per_gpu.command = {"true"};
  per_gpu.exact = true;
  auto kept = controller_->start_step(id, per_gpu, "nobody", false, now_);
  ASSERT_TRUE(kept) << kept.error().message;
  l = launch_of(kept->id, 0);
  EXPECT_EQ(l.memory_limit_bytes, 100LL << 20);
  EXPECT_EQ(last_env(l, "SLURM_NTASKS"), "4");
  EXPECT_EQ(last_env(l, "SLURM_NPROCS"), "4");
  EXPECT_EQ(last_env(l, "SLURM_TASKS_PER_NODE"), "2(x2)");
  EXPECT_EQ(last_env(l, "SLURM_STEP_NUM_TASKS"), "1");
  EXPECT_EQ(last_env(l, "SLURM_STEP_TASKS_PER_NODE"), "1");
  end_steps();

  // --resv-ports: the lowest ports of the range no running step on the node holds; as many as
  // its most tasks on a node when no count is given; a step waits while others hold the range.
  api::StepRequest ported;
  ported.gpus_per_node = 0;
  ported.overlap = true;
  ported.ntasks = 3;
  ported.overcommit = true;
  ported.resv_ports = 0;
  auto p1 = start(ported);
  ASSERT_TRUE(p1) << p1.error().message;
  EXPECT_EQ(p1->resv_ports, (std::vector<int>{12000, 12001, 12002}));
  EXPECT_EQ(last_env(launch_of(p1->id, 0), "SLURM_STEP_RESV_PORTS"), "12000-12002");
  ported.resv_ports = 2;
  auto p2 = start(ported);
  ASSERT_TRUE(p2) << p2.error().message;
  EXPECT_EQ(p2->resv_ports, (std::vector<int>{12003, 12004}));
  ported.resv_ports = 996;
  EXPECT_EQ(verdict(ported), "busy: Requested TCP ports are busy");
  ported.resv_ports = 1001;
  EXPECT_EQ(verdict(ported), "refused: Requested more TCP ports than the 1000 there are (resv_ports)");
}

// A node's CPU topology comes with its agent's registration, and again once after the controller
// restarts (its journal holds none) while the agent keeps its instance: jobs started after the
// restart are bound, apart from the CPUs the recovered job holds.
TEST_F(AgentsTest, CpuTopologyIsTakenAgainAfterARestart) {
  for (FakeAgent& a : agents_) {
    a.host.cpu_ids = {0, 1, 2, 3};
    a.host.cpu_cores = {0, 1, 2, 3};
  }
  open();
  call_all();
  api::SubmitRequest r = request(1);
  r.cpus = 2;
  const std::int64_t first = submit(r)->id;
  call_all();
  ASSERT_EQ(job(first).state, JobState::Running);
  EXPECT_EQ(job(first).tasks[0].cpus, (std::vector<int>{0, 1}));
  open();  // a restart: the same agents, the same instances
  call_all();
  r.nodelist = {job(first).tasks[0].node};
  const std::int64_t second = submit(r)->id;
  call_all();
  ASSERT_EQ(job(second).state, JobState::Running);
  EXPECT_EQ(job(second).tasks[0].cpus, (std::vector<int>{2, 3}));
}

// srun -w, -x and -r: a step on the job's nodes named, not on those excluded, or from a node on;
// its tasks are told the step's own nodes (SLURM_NODEID counts from the step's first).
TEST_F(AgentsTest, StepsRunOnTheNodesNamedExcludedOrFromARelativeNode) {
  const std::int64_t id = running_batch_job();
  const JobRecord running = job(id);
  ASSERT_EQ(running.state, JobState::Running);
  const std::string first = running.tasks[0].node, second = running.tasks[1].node;
  auto nodes_of = [&](api::StepRequest s) {
    s.overlap = true;  // beside the others, which the fake agents keep running
    auto step = controller_->start_step(id, s, "nobody", false, now_);
    if (!step) return "refused: " + step.error().message;
    std::string out;
    for (const StepTaskRecord& t : step->tasks) out += (out.empty() ? "" : ",") + std::to_string(t.node);
    return out;
  };
  api::StepRequest s;
  s.command = {"true"};
  s.nodelist = {second};
  EXPECT_EQ(nodes_of(s), "1");
  s.ntasks = 3;
  EXPECT_EQ(nodes_of(s), "1,1,1");
  s.nodes = 2;  // the one named, then the job's others
  EXPECT_EQ(nodes_of(s), "0,0,1");
  s = {};
  s.command = {"true"};
  s.exclude = {first};
  EXPECT_EQ(nodes_of(s), "1");
  s.exclude = {};
  s.relative = 1;
  EXPECT_EQ(nodes_of(s), "1");
  // The step's tasks are told its one node.
  call_all();
  const FakeAgent& on_second = agents_[std::stoi(second.substr(1)) - 1];
  bool seen = false;
  for (const auto& [task, l] : on_second.running) {
    if (l.step != 4) continue;
    seen = true;
    EXPECT_EQ(last_env(l, "SLURM_NODEID"), "0");
    EXPECT_EQ(last_env(l, "SLURM_STEP_NODELIST"), second);
    EXPECT_EQ(last_env(l, "SLURMD_NODENAME"), second);
  }
  EXPECT_TRUE(seen);
  // What cannot be.
  s.relative = 2;
  EXPECT_EQ(nodes_of(s), "refused: relative node index 2 is beyond the 2 node(s) of job " + std::to_string(id));
  s.relative = -1;
  s.nodelist = {"elsewhere"};
  EXPECT_EQ(nodes_of(s), "refused: node elsewhere is not one of job " + std::to_string(id) + "'s nodes");
  s.nodelist = {first};
  s.exclude = {first};
  EXPECT_EQ(nodes_of(s), "refused: node " + first + " is both asked for and excluded");
  s.exclude = {second};
  s.nodes = 2;
  EXPECT_EQ(nodes_of(s),
            "refused: the step asks for 2 nodes; job " + std::to_string(id) + " has 1 of those it may use");
}

// srun --pty: the step's first task is launched with its terminal (its size, and the secret its
// relay's node end takes), the others without; only the job's owner reaches it; the step keeps its
// terminal's size through a snapshot, and a restarted controller has no relay for it any more.
// An agent of the version before terminals would not read a launch with one (its orders would
// stall): a step whose first task would run there on a terminal is refused, saying why; one
// without a terminal runs as ever.
TEST_F(AgentsTest, AnAgentOfTheVersionBeforeTerminalsIsGivenNone) {
  for (FakeAgent& a : agents_) a.takes_terminals = false;
  const std::int64_t id = running_batch_job();
  api::StepRequest s;
  s.command = {"bash"};
  s.ntasks = 1;
  s.pty_rows = 30;
  s.pty_cols = 100;
  auto refused = controller_->start_step(id, s, "nobody", false, now_);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message,
            "node n1's agent is of an earlier gwang, which runs no task on a terminal: update it, or run the step "
            "without --pty");
  s.pty_rows = s.pty_cols = 0;
  ASSERT_TRUE(controller_->start_step(id, s, "nobody", false, now_));
  // Updated, it says so at its next call.
  agents_[0].takes_terminals = true;
  call_all();
  s.pty_rows = 30;
  s.pty_cols = 100;
  s.overlap = true;
  EXPECT_TRUE(controller_->start_step(id, s, "nobody", false, now_));
}

TEST_F(AgentsTest, AStepsTerminalGoesWithItsFirstTask) {
  snapshot_every_ = 1;  // every record is followed by a snapshot: recovery reads one
  const std::int64_t id = running_batch_job();
  api::StepRequest s;
  s.command = {"bash"};
  s.ntasks = 2;
  s.pty_rows = 30;
  s.pty_cols = 100;
  auto step = controller_->start_step(id, s, "nobody", false, now_);
  ASSERT_TRUE(step) << step.error().message;
  EXPECT_EQ(std::pair(step->pty_rows, step->pty_cols), std::pair(30, 100));
  call_all();
  std::map<int, agent::Launch> tasks;
  for (const FakeAgent& a : agents_) {
    for (const auto& [t, l] : a.running) {
      if (l.step == 0) tasks[l.rank] = l;
    }
  }
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_EQ(std::pair(tasks[0].terminal_rows, tasks[0].terminal_cols), std::pair(30, 100));
  EXPECT_FALSE(tasks[0].terminal_secret.empty());
  EXPECT_EQ(tasks[1].terminal_rows, 0);
  EXPECT_TRUE(tasks[1].terminal_secret.empty());
  EXPECT_TRUE(controller_->terminals().node_end(tasks[0].task, tasks[0].terminal_secret));
  EXPECT_EQ(controller_->terminal_task(id, 0, "nobody", false), tasks[0].task);
  EXPECT_EQ(controller_->terminal_task(id, 0, "root", true), tasks[0].task);
  EXPECT_EQ(controller_->terminal_task(id, 0, "mallory", false).error().message,
            "step " + std::to_string(id) + ".0 not found");
  api::StepRequest plain;
  plain.command = {"true"};
  plain.overlap = true;
  ASSERT_TRUE(controller_->start_step(id, plain, "nobody", false, now_));
  EXPECT_EQ(controller_->terminal_task(id, 1, "nobody", false).error().message,
            "step " + std::to_string(id) + ".1 has no terminal (srun --pty gives one)");
  // Restarted: the step keeps its terminal's size, but the terminal went with the process (and
  // the agents' links to it): the step is ended, its tasks asked to stop.
  open();
  const StepRecord after = job(id).steps[0];
  EXPECT_EQ(std::pair(after.pty_rows, after.pty_cols), std::pair(30, 100));
  EXPECT_EQ(after.stopping, "its terminal was lost when the controller restarted");
  EXPECT_NE(controller_->terminal_task(id, 0, "nobody", false).error().message.find("has closed"), std::string::npos);
  EXPECT_TRUE(job(id).steps[1].stopping.empty());
}

}  // namespace
}  // namespace gwang::controller
