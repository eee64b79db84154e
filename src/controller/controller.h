// The controller: the scheduler core's live driver. It keeps the jobs and the nodes, journals every
// change before acknowledging it, drives the core with the wall clock, and has the nodes' agents
// run what the core decides: its own node's agent in this process (`gwang up`), remote agents over
// the agent protocol (agent/protocol.h). Thread-safe: the HTTP handlers and the control loop call
// it concurrently. Changes take the controller's lock; reads of jobs take none: they read the view
// the last change published (copy-on-write, cow_table.h), so that a pass, a snapshot or a
// heartbeat never keeps a queue page waiting.
#pragma once

#include <sys/types.h>

#include <array>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "agent/account.h"
#include "agent/devices.h"
#include "agent/node.h"
#include "agent/protocol.h"
#include "api/partition.h"
#include "api/request.h"
#include "controller/accounting.h"
#include "controller/cow_table.h"
#include "controller/events.h"
#include "controller/mail.h"
#include "controller/metrics.h"
#include "controller/records.h"
#include "controller/runner.h"
#include "controller/services.h"
#include "controller/terminals.h"
#include "core/cpus.h"
#include "core/scheduler.h"
#include "slurm/binding.h"
#include "slurm/licenses.h"
#include "store/committer.h"
#include "store/journal.h"
#include "store/postgres.h"

namespace gwang::controller {

using agent::Account;
using agent::lookup_account;

struct ControllerOptions {
  std::string data_dir;
  std::string cluster_name = "gwang";  // the cluster's name, as its jobs are told it (SLURM_CLUSTER_NAME)
  // Where the journal and snapshots live: "" for SQLite in data_dir/state.db; a PostgreSQL
  // connection string or URI (postgresql://...) for a database server. Job output stays in data_dir.
  std::string store;
  // With PostgreSQL: the fencing of a controller that leads among several (store/postgres.h).
  store::PostgresOptions postgres;
  // The node this process runs itself (`gwang up`); empty: none, every node is a remote agent.
  std::string local_node;
  agent::HostResources host;  // the local node's resources
  bool allow_root = false;    // whether the local node may run jobs as root
  std::chrono::milliseconds kill_grace{10000};
  agent::TrackingOptions tracking;
  // A remote node whose agent has not called for this long is DOWN; its jobs end as NODE_FAIL.
  std::chrono::milliseconds node_timeout{60000};
  // A step's terminal (srun --pty) whose client went away and did not come back for this long:
  // the step is cancelled, as Slurm's is when its srun dies.
  std::chrono::milliseconds terminal_grace{30000};
  // An attended allocation (salloc's, srun's outside a job) whose holder has not asked after it for
  // this long: it ends, CANCELLED (Slurm's InactiveLimit).
  std::chrono::milliseconds allocation_grace{60000};
  // Sessions (api/session.h): how long one its owner leaves unused lives on (unless it asks for
  // another idle timeout), the longest time limit one may have (0: none; one without a time limit
  // gets this), and how long its service has to answer on its port once it has started.
  std::chrono::seconds session_idle_timeout{3600};
  std::chrono::seconds session_max_life{86400};
  std::chrono::milliseconds session_start_timeout{300000};
  int requeue_limit = 1;  // how many times a job that allows it is requeued after NODE_FAIL
  // A snapshot of the whole state is stored once this many records follow the last one (and at a
  // clean stop), so that recovery reads one snapshot and a short tail of records.
  std::int64_t snapshot_every = 100000;
  // Job arrays: indices from 0 to max_array_size - 1 (Slurm's MaxArraySize).
  std::int64_t max_array_size = 1001;
  // The ports a step may reserve on its nodes (srun --resv-ports; Slurm's MpiParams=ports=...).
  int resv_port_low = 12000, resv_port_high = 12999;
  // The program that mails a job's user at its events (Slurm's MailProg; controller/mail.h);
  // "": none is sent.
  std::string mail_program = "/usr/bin/mail";
  // The node pools jobs ask for by name (Slurm's partitions), at most 64. None: one partition,
  // api::implicit_partition(), of every node.
  std::vector<api::Partition> partitions;
  // The cluster's licenses (Slurm's Licenses=): seats jobs ask for with -L, held while they run.
  std::vector<slurm::LicenseCount> licenses;
  // At most this many agent calls wait for orders at once; the others are answered at once (each
  // waiting call holds one of the HTTP server's threads).
  int max_waiting_agents = 32;
  // At most this many srun's calls wait for news of their steps at once (show_step's wait).
  int max_waiting_steps = 16;
  // Tenancy, grants and charging (accounting.h).
  AccountingOptions accounting;
  // The queue order: first come first served, or multifactor (age, fair share over institution ->
  // project -> user with usage weighted by the accounting rates, job size, programme priority).
  core::QueueOrder queue_order = core::QueueOrder::Fcfs;
  // EASY (the head keeps a reservation; preemption makes room for it), or conservative (every
  // waiting job among the first 1,000 keeps one; nothing is preempted). Conservative's pass cost
  // grows with the planned future: for partitions of tens of nodes (docs/simulator.md).
  core::Backfill backfill = core::Backfill::Easy;
  // The store refused a record of a change already made in memory (a start, an end, a charge): the
  // state in memory is ahead of the store's. Called with the error, under the controller's lock.
  // The programs stop (stop_on_store_failure) so that a restart, or a standby, recovers a state
  // that agrees with the store. Unset, the controller goes on (the starts refused fail their jobs).
  std::function<void(const Error&)> on_store_failure;
};

// What the controller is given from outside rather than making it: its journal, what runs the
// local node's tasks, and its monotonic clock. Tests give it twins: a memory or fault-injecting
// journal (store/journal.h), a runner they drive, a clock they move.
struct ControllerParts {
  std::unique_ptr<store::Journal> journal;          // null: SQLite in data_dir, or PostgreSQL (options.store)
  std::unique_ptr<LocalRunner> runner;              // null, with a local node: the node agent in this process
  std::function<void(const Mail&)> mail;            // null: options.mail_program is run (send_mail)
  std::function<agent::Clock::time_point()> clock;  // null: agent::Clock::now (node timeouts count from it)
};

// What `gwang controller` and `gwang up` do when the store refuses a record: say so, and exit at
// once with code 75 (EX_TEMPFAIL), with nothing more written.
void stop_on_store_failure(const Error& error);

// A node's CPUs by sockets, cores per socket and threads per core (the least of its sockets' and
// cores'), from its topology; `cpus` single-threaded cores on one socket when that is unknown.
core::NodeShape node_shape(const core::CpuTopology& topology, int cpus);

class Controller {
 public:
  // Opens (or creates) the state in data_dir and recovers it: pending jobs wait again; jobs that
  // ran on the local node ended with the process that ran them (NODE_FAIL); jobs on remote nodes
  // are running still, until their agents say otherwise or stay silent past the node timeout.
  static Result<std::unique_ptr<Controller>> open(ControllerOptions options, std::int64_t now);
  // The same with the parts given (those left null are made as above).
  static Result<std::unique_ptr<Controller>> open(ControllerOptions options, ControllerParts parts, std::int64_t now);
  ~Controller();

  // Journals and queues a job; returns it. Errors: a request no node can ever satisfy (with why), a
  // dependency on a job that does not exist, an array index past max_array_size. A request with an
  // array is one job per index, with consecutive ids, journalled as one record; the array's id is
  // its first task's, and that task is returned.
  Result<JobRecord> submit(const api::SubmitRequest& request, const Account& owner, std::int64_t now);
  // sbatch --test-only: checks the request as submit does, and says when and where it would start,
  // planned behind the waiting jobs (Scheduler::plan_submission), without submitting it.
  struct TestOnly {
    std::int64_t id = 0;      // the id it would have got (not given again, as in Slurm)
    std::int64_t start = -1;  // Unix seconds; -1: no node that is up can hold it
    std::vector<std::string> nodes;
    std::string partition;
    int cpus = 0;  // in all
  };
  Result<TestOnly> test_only(const api::SubmitRequest& request, const Account& owner, std::int64_t now);
  // Ends a pending job at once, or asks a running one to end (it shows CANCELLED when it has). The id
  // of a job array is every task of it not ended yet. Errors: no such job of this user ("not
  // found"); already ended.
  // With `task_only`, an array's id is its first task alone (Slurm's ID_INDEX).
  Result<JobRecord> cancel(std::int64_t id, const std::string& user, bool operator_rights, std::int64_t now,
                           bool task_only = false);
  // Holds a pending job (`hold`), or releases it: held, it stays pending and out of the queue
  // until released. A user holds and releases their own jobs; an operator's hold of another's
  // job only an operator releases. The id of a job array is every pending task of it. Errors:
  // not found, not pending, not held, held by an operator.
  Result<JobRecord> set_hold(std::int64_t id, bool hold, const std::string& user, bool operator_rights,
                             std::int64_t now, bool task_only = false);
  // Starts a job step (srun inside the job): its tasks laid out over the job's first nodes as Slurm
  // lays them out (block or cyclic), each node holding as many as the job's CPUs there allow.
  // It holds its share of the job's CPUs and memory on its nodes (api::StepRequest) while it runs.
  // Errors: not found (not the user's), the job not running, a layout the allocation cannot hold,
  // more memory than the job's; `*busy` set when the job's running steps hold what it needs now
  // (it may be asked again: Slurm's "Requested nodes are busy").
  Result<StepRecord> start_step(std::int64_t job, const api::StepRequest& request, const std::string& user,
                                bool operator_rights, std::int64_t now, bool* busy = nullptr);
  // Asks a running step's tasks to end; it shows CANCELLED when they have. Errors: not found, ended.
  Result<StepRecord> cancel_step(std::int64_t job, int step, const std::string& user, bool operator_rights,
                                 std::int64_t now);
  // Allocations (controller/allocations.cpp). Its holder asks after an allocation: the job as
  // `user` (its owner, or an operator) may see it, its holder noted as there at `mono`. Errors:
  // not found, not an allocation.
  Result<JobRecord> attend(std::int64_t id, const std::string& user, bool operator_rights,
                           agent::Clock::time_point mono);
  // Its holder lets it go, its command having ended with `exit_code`: it ends COMPLETED (0) or
  // FAILED, its steps' tasks told to end; one still waiting is cancelled. Errors: not found, not
  // an allocation, already ended.
  Result<JobRecord> release(std::int64_t id, const std::string& user, bool operator_rights, int exit_code,
                            std::int64_t now);
  // The terminals of steps' tasks (srun --pty), which the API's WebSockets connect.
  Terminals& terminals() { return terminals_; }
  // Sessions (controller/sessions.cpp): their services' links, which the proxy uses; what the proxy
  // needs of a running session of `user`'s (errors: not found, also another's; ended, with its
  // state and reason; not started); and what a view shows of one (none: not a session).
  Services& services() { return services_; }
  struct SessionTarget {
    std::string task, secret;
    api::SessionApp app = api::SessionApp::None;
    bool keeps_prefix = false, token_authorization = false, serves = true;
  };
  Result<SessionTarget> session_target(std::int64_t id, const std::string& user) const;
  struct SessionState {
    bool ready = false;       // its service answers (a terminal session: once running)
    std::int64_t idle_s = 0;  // since its owner last used it
    std::int64_t idle_timeout_s = 0;
  };
  std::optional<SessionState> session_state(const JobRecord& job) const;
  // The task whose terminal a running step has (its first), for `user` (its owner, or an
  // operator). Errors: not found, ended, without a terminal.
  Result<std::string> terminal_task(std::int64_t job, int step, const std::string& user, bool operator_rights) const;
  // Sends signal `number` to a running job's processes, as scancel --signal does: to its steps'
  // tasks (`step` >= 0: that step's only), its batch step, or both (`target`). Journalled; the
  // agents send it once. Errors: not found (not the user's), not running, no such running step.
  Result<JobRecord> signal_job(std::int64_t id, int step, int number, SignalTarget target, const std::string& user,
                               bool operator_rights, std::int64_t now);
  // The partitions, as configured (or the implicit one), with the nodes now in each.
  struct PartitionRecord {
    api::Partition spec;
    std::vector<std::string> nodes;
  };
  std::vector<PartitionRecord> partitions() const;
  // The cluster's licenses, with the seats running jobs hold of each.
  struct LicenseRecord {
    std::string name;
    std::int64_t total = 0, used = 0;
  };
  std::vector<LicenseRecord> licenses() const;
  // What reads see: the jobs, and why each waiting one waits, as the last change left them.
  using StateCounts = std::array<std::int64_t, std::size(kJobStates)>;  // jobs by JobState
  struct View {
    CowTable<JobRecord>::Frozen jobs;
    CowValues<Waiting>::Frozen waiting;
    StateCounts by_state{};  // of `jobs`
    // Waiting jobs their projects' grants hold, and why (few).
    std::shared_ptr<const std::map<std::int64_t, std::string>> held =
        std::make_shared<const std::map<std::int64_t, std::string>>();
    // Institutions, projects and users (copied when they change: rarely, and small).
    std::shared_ptr<const core::Tenancy> tenancy = std::make_shared<const core::Tenancy>();
    api::Reason reason(const JobRecord& job, std::string& scratch) const;
  };
  std::shared_ptr<const View> view() const;
  std::optional<JobRecord> job(std::int64_t id) const;
  // Jobs that have not ended, plus with `all` the ended ones, by id.
  std::vector<JobRecord> jobs(bool all) const;
  // The same without copies: `visit` gets each job and the reason to show, from one view.
  // What the visitor is given is valid during its call only.
  void for_each_job(bool all, const std::function<void(const JobRecord&, api::Reason reason)>& visit) const;
  // The reason a job shows, made when asked (scan_jobs); valid during the visit that got it.
  class Reasons {
   public:
    api::Reason operator()(const JobRecord& job) const { return view_.reason(job, scratch_); }

   private:
    friend class Controller;
    Reasons(const View& view, std::string& scratch) : view_(view), scratch_(scratch) {}
    const View& view_;
    std::string& scratch_;
  };
  // The same, oldest or newest first, the reason made only for the jobs that ask for it; `visit`
  // returns false to stop. For pages of a long queue: the jobs not on the page cost a filter only.
  // `counts`, where given, gets the jobs by state of the same view (a page's total without a walk).
  void scan_jobs(bool all, bool newest_first, const std::function<bool(const JobRecord&, const Reasons&)>& visit,
                 StateCounts* counts = nullptr) const;
  std::vector<NodeRecord> nodes() const;
  // The user a job's credential ("gwj.JOB.SECRET", its tasks' GWANG_TOKEN) stands for, while the
  // job runs; nullopt for any other token.
  std::optional<std::string> job_credential_user(const std::string& token) const;
  // Where the API is served, as the local node's tasks reach it (their GWANG_URL), and the
  // certificate that verifies it where it is https:// ("": the system's store).
  void set_api_url(const std::string& url, const std::string& ca_file = "");
  Result<void> set_node_state(const std::string& node, const std::string& state, std::int64_t now);
  // The file of a rank's output stream (of the job's latest attempt).
  std::string log_path(const JobRecord& job, int rank, bool stderr_stream) const;
  // The file of a step task's output stream.
  std::string step_log_path(const JobRecord& job, int step, int task, bool stderr_stream) const;

  // For whoever follows a step (srun): waits, up to `most`, until job `id`'s step_news has passed
  // `seen` in what reads see (job()). False, at once, when max_waiting_steps calls wait already.
  bool wait_step_news(std::int64_t id, std::uint64_t seen, std::chrono::milliseconds most);

  // An agent's call (agent/protocol.h): records its report, then answers with its orders, waiting
  // up to the request's wait_ms for some. Errors: the node cannot be accepted (with why).
  // `mono` is when it called (node timeouts), `now` the wall clock.
  Result<agent::protocol::SyncResponse> sync(const agent::protocol::SyncRequest& request, const std::string& peer,
                                             agent::Clock::time_point mono, std::int64_t now);
  // The same for a caller that must not block (the API's event loop): nullopt where sync would
  // wait, having changed nothing, for the controller's lock, a journal commit (a registration,
  // tasks that ended) or output files; or, having recorded the report (which sync, called next,
  // finds recorded: an agent's report may come twice), for orders.
  Result<std::optional<agent::protocol::SyncResponse>> try_sync(const agent::protocol::SyncRequest& request,
                                                                const std::string& peer, agent::Clock::time_point mono,
                                                                std::int64_t now);

  // The books (tenancy, grants, ledger): a change is checked, journalled, then applied, all or
  // nothing. Errors: what the check found (a field, an unknown name), or the journal's failure.
  Result<void> administer(const std::string& kind, const nlohmann::json& payload, std::int64_t now);
  // Reads the books under the controller's lock (`read` must not call the controller).
  void read_books(const std::function<void(const Accounting&)>& read) const;
  // Job arrays' indices are below this (options.max_array_size; fixed for the controller's life).
  std::int64_t max_array_size() const { return options_.max_array_size; }
  // The settings the controller was started with, fixed for its life (what `scontrol show config`
  // reports).
  const ControllerOptions& options() const { return options_; }
  // The tenancy as the latest view holds it, without the lock (who a caller is, at each request).
  std::shared_ptr<const core::Tenancy> tenancy() const { return view()->tenancy; }
  // The quotas in force, each with what the running jobs that count hold of it (milli-devices).
  std::vector<std::pair<core::Quota, core::Milli>> quotas() const;

  // When the first `limit` waiting jobs are expected to start, planned at `now` (core's
  // planned_starts): job id -> Unix seconds, -1 where no start can be planned.
  std::map<std::int64_t, std::int64_t> planned_starts(std::int64_t now, std::size_t limit) const;

  // The controller's metrics in the Prometheus text format (docs/metrics.md): jobs, the queue,
  // waits, passes and decisions, nodes and devices by state, utilisation per model, grants.
  void write_metrics(std::string& out) const;

  // What would let a waiting job start sooner (core's what_if), each change said in words: when it
  // could start as asked, ignoring the jobs queued before it (-1: never on the nodes up now), and
  // the nearest changes with the start each would give. Nothing for a job that is not waiting.
  struct StartHint {
    std::string change;  // "gpus", "model", "nodes" or "time_limit"
    std::int64_t value = 0;
    std::string model;  // for "model"
    std::int64_t start = -1;
    std::string text;  // "with 1 GPU per task instead of 4"
  };
  struct StartHints {
    bool waiting = false;
    std::int64_t start = -1;
    std::vector<StartHint> hints;
  };
  StartHints start_hints(std::int64_t id, std::int64_t now) const;

  // Every fair-share account (institution, project, user) at `now`, parents before children:
  // its path from the centre down, its terms and its factor under the configured algorithm.
  struct FairShareRow {
    std::vector<std::string> path;
    core::FairShareTerms terms;
    double factor = 1;
  };
  std::vector<FairShareRow> fair_share(std::int64_t now) const;

  // Pass figures over the last `window` passes (at most 1,000).
  Status status(int window = 1000) const;

  // Stores a snapshot of the state now (the records it covers are dropped). Cheap to call often:
  // nothing happens when no record follows the last snapshot or a submission is half-way.
  Result<void> checkpoint(std::int64_t now);

  // One round of the control loop: collects the local node's ended tasks, enforces time limits,
  // marks silent nodes DOWN, runs a scheduling pass and starts what it decided. `mono` drives kill
  // deadlines and node timeouts; `now` is the wall clock.
  void round(agent::Clock::time_point mono, std::int64_t now);

 private:
  struct Node {
    std::string name;
    core::NodeId id;
    bool local = false;
    agent::HostResources host;
    std::string address, tracking, instance;
    bool drained = false;  // by an operator (journalled)
    bool heard = true;     // its agent has called since this controller started
    bool down = false;     // silent past the node timeout
    // Its agent runs a task on a terminal (as it last said; an agent of an earlier version does not).
    bool takes_terminals = false;
    bool takes_services = false;  // ... and serves sessions
    agent::Clock::time_point last_seen{};
    std::int64_t last_seen_wall = -1;
    std::set<std::string> tasks;                         // task ids that should run there now
    std::map<std::string, agent::Launch> launches;       // sent (again) until the agent lists them
    core::CpuTopology cpus;                              // as its agent last reported it; unknown: tasks are not bound
    std::map<std::int64_t, std::vector<int>> cpus_held;  // by running job: the CPU ids its tasks there hold
  };

  explicit Controller(ControllerOptions options);
  core::SchedulerOptions scheduler_options() const;  // the core's, from the options
  Result<void> set_partitions();                     // from the options: the nodes of each
  Result<void> recover(std::int64_t now);
  // Applies one journal record to the state in memory, during recovery: the books' records to the
  // books, the others as events (`event`: its payload, decoded on whichever thread did that).
  Result<void> apply(const store::Record& rec, std::optional<Result<events::Event>> event);
  // An event applied to the records in memory (not to the core, the nodes or the books' charges),
  // the same for a change made live, once journalled, and in recovery (apply.cpp). Errors: it
  // names a job that does not exist, or a step that is not the job's next.
  Result<void> apply(events::Event&& event, std::int64_t time);
  Result<void> apply(events::Submitted&& e, std::int64_t time);  // its request moved into the record
  Result<void> apply(const events::Started& e, std::int64_t time);
  Result<void> apply(const events::RankEnded& e, std::int64_t time);
  Result<void> apply(const events::StepStarted& e, std::int64_t time);
  Result<void> apply(const events::StepTaskEnded& e, std::int64_t time);
  Result<void> apply(const events::StepStopping& e, std::int64_t time);
  Result<void> apply(const events::Requeued& e, std::int64_t time);
  Result<void> apply(const events::NodeLeft& e, std::int64_t time);
  Result<void> apply(const events::Ended& e, std::int64_t time);
  Result<void> apply(const events::Held& e, std::int64_t time);
  Result<void> apply(const events::NodeRegistered& e, std::int64_t time);
  Result<void> apply(const events::NodeState& e, std::int64_t time);
  Result<void> apply(const events::Signalled& e, std::int64_t time);
  // signals.cpp: journals a signal to job `id` and sends it to the local node's tasks it reaches;
  // the others get it in their agents' orders (signal_orders).
  Result<void> send_signal(std::int64_t id, const SignalRecord& s, std::int64_t now);
  // sbatch --signal's: sent once its time before the job's time limit has come.
  void signal_before_end(const JobRecord& job, std::int64_t now);
  // The signals an agent is to send to the tasks it lists, past the serials it last reported.
  std::vector<agent::protocol::Signal> signal_orders(const std::set<std::string>& listed,
                                                     const std::map<std::string, int>& signalled) const;
  // The step of a job's `attempt`; nullptr when that attempt is over or has no such step.
  static StepRecord* step_of(JobRecord& job, int attempt, int step);
  // Recovery: the ended jobs that waiting jobs depend on, told to the core with how they ended.
  Result<void> remember_targets();
  // Recovery: a running job the core takes back where its agents still run it (their launches
  // sent again where they never got them), or ended as NODE_FAIL where it cannot be. On the local
  // node, where its ranks are among the tasks the runner adopted (`left_over`, which loses those
  // the job claims).
  void adopt(JobRecord& job, std::int64_t now, std::set<std::string>& left_over);
  Result<void> restore(const std::string& snapshot);       // either format
  Result<void> restore_json(const std::string& snapshot);  // the first format, JSON
  // A snapshot in the making (api/codec.h's encoding): all but the jobs encoded under the lock,
  // the jobs as a view shares them, encoded off it (snapshot.cpp).
  // What a snapshot says of a remote node (its agent's registration).
  struct NodeImage {
    std::string name, instance, address;
    agent::HostResources host;
  };
  struct SnapshotDraft {
    std::int64_t seq = 0;  // the last record it covers
    Encoder e;
    CowTable<JobRecord>::Frozen jobs;
    std::map<std::int64_t, Failure> failures;
    std::shared_ptr<const std::vector<NodeImage>> nodes;  // the remote nodes
  };
  // The remote nodes as a snapshot writes them, made again only after a registration changed them
  // (a centre's thousands of nodes cost tens of milliseconds to copy or encode, under the lock).
  mutable std::shared_ptr<const std::vector<NodeImage>> node_images_;
  SnapshotDraft draft_snapshot() const;
  static std::string finish_snapshot(SnapshotDraft& draft);
  // Under the lock: a draft when a snapshot may be taken now (and, unless `forced`, is due: enough
  // records since the last), else nullopt (with `failed` set when the journal failed).
  std::optional<SnapshotDraft> snapshot_due(bool forced, Result<void>& failed);
  // Off the lock: encodes the jobs and stores the snapshot through the committer.
  Result<void> write_snapshot(SnapshotDraft draft);
  void snapshot_written(std::int64_t seq, const Result<void>& written);  // under the lock
  // Under the lock, from the control loop: notes a snapshot written, and starts one when due.
  void snapshot_in_background();
  // Journals a record and waits until it is durable.
  Result<void> journal(const std::string& kind, const std::string& payload, std::int64_t now);
  Result<void> journal(const events::Event& event, std::int64_t now);
  Result<core::JobSpec> to_spec(const JobRecord& job) const;
  // A request checked and made into a job (not yet submitted), under the lock.
  struct Prepared {
    JobRecord job;
    core::JobSpec spec;
    std::vector<std::int64_t> indices;  // a job array's
  };
  Result<Prepared> prepare(const api::SubmitRequest& request, const Account& owner, std::int64_t now);
  void cancel_one(JobRecord& job, const std::string& user, std::int64_t now);  // under the lock
  // For a job no node can ever hold: the nearest requests that one could ("; it could run with at
  // most 2 accelerator(s) per task"), or "".
  std::string nearest_fit(const core::JobSpec& spec) const;
  Node* find_node(const std::string& name);
  Node& add_node(const std::string& name, const agent::HostResources& host, bool local);
  // The node's features, temporary disk and CPUs' shape, as its host says, told to the scheduler.
  void set_features(const Node& node);
  // A remote node as its agent registered it (live, in recovery, from a snapshot), added where it
  // is new: the one place a node's identity changes, so the snapshot's node images are made again.
  Node& registered(const std::string& name, const agent::HostResources& host, const std::string& instance,
                   const std::string& address);
  // CPU places (cpus.cpp). A node's CPU topology, from what its agent reports (not journalled: it
  // comes with every call); an invalid one is dropped (the node's tasks are then not bound).
  void set_topology(Node& node, const agent::HostResources& host);
  // A starting task's CPUs on its node, near its devices, among those no running job holds; held
  // for the job at once. Empty: the node's topology is unknown or has too few free.
  std::vector<int> place_cpus(Node& node, std::int64_t job, const core::TaskPlacement& where, int count,
                              int threads_per_core = 0);
  void hold_cpus(const JobRecord& job);  // what its tasks' records say (recovery)
  void free_cpus(const JobRecord& job);  // it ended or waits again
  // The CPUs of each task of a new step (by task), from its job's on each node, as srun's
  // --cpu-bind asks (slurm/binding.h): apart from each other and from the running steps' where the
  // job has enough, by default an equal part of the job's CPUs on the node, for cores, threads and
  // sockets --cpus-per-task of them; by rank, map or mask as listed; all of
  // the job's there for none, ldoms and boards. None at all where the job's CPUs are not known.
  // `exact`: the step has only its tasks' CPUs (srun --exact), not all of the job's.
  std::vector<std::vector<int>> step_cpus(const JobRecord& job, const std::vector<int>& task_nodes, int per_task,
                                          bool exact, const slurm::CpuBind& bind) const;
  // The nodes a request names (--nodelist, --exclude) as the core's filter. Errors: a node that
  // does not exist, one both named and excluded, a node count other than the named nodes'.
  Result<std::shared_ptr<const core::NodeFilter>> node_filter(const api::SubmitRequest& r) const;
  // What a request asks of its nodes' features (--constraint, --prefer) and temporary disk (--tmp),
  // into the spec. Errors: a constraint naming a feature no node has, or counting more nodes than
  // the job's.
  Result<void> set_features(const api::SubmitRequest& r, core::JobSpec& spec) const;
  // Its licenses (-L), each known to the cluster and no more than it has; for a `running` job
  // (recovered), those still known, no more than the cluster has now.
  Result<void> set_licenses(const api::SubmitRequest& r, core::JobSpec& spec, bool running) const;
  // The CPUs a job of whole nodes has on `node`: all of them, less the cores or threads it keeps
  // for the system (--core-spec: whole cores of the node's threads each; --thread-spec).
  static int whole_node_cpus(const Node& node, const api::SubmitRequest& r);
  // The ports a step of `job` on `task_nodes` reserves (srun --resv-ports; count 0: its most tasks
  // on a node): the lowest of the range that no running step on any of its nodes holds.
  Result<std::vector<int>> reserve_ports(const JobRecord& job, int count, const std::vector<int>& task_nodes) const;
  core::PoolSet pools_of(const std::string& node) const;      // the partitions a node is in
  int pool_of(const std::string& partition) const;            // 1..64, or 0 when there is none of that name
  void hold_in_core(const JobRecord& job, std::int64_t now);  // holds or releases it there, as its record says
  void apply_node_state(Node& node, std::int64_t now);
  // A start the pass decided: recorded (queued to the journal), launched once durable.
  void begin(const core::Decision& d, std::int64_t now);
  void launch(JobRecord& job, std::int64_t now);
  // Where a job's first node is reached (its tasks' MASTER_ADDR).
  std::string master_address(const JobRecord& job) const;
  // Sends a step's launches (or starts them here, on the local node).
  void launch_step(JobRecord& job, const StepRecord& step);
  // The launch of a step's task, with its terminal's (opened here) if it has one.
  agent::Launch step_launch(const JobRecord& job, const StepRecord& step, int task);
  // A session's app's script, time limit, idle timeout and secret, at its submission.
  Result<void> prepare_session(JobRecord& job, const core::Programme* programme) const;
  // The launch of a job's rank, its session's service link opened where it has one.
  agent::Launch job_launch(const JobRecord& job, int rank);
  // Ends the sessions whose service never answered, or which their owner left idle too long.
  void end_idle_sessions(agent::Clock::time_point mono, std::int64_t now);
  // Cancels the steps whose terminal's client has been gone for longer than the grace.
  void end_abandoned_terminals(agent::Clock::time_point mono, std::int64_t now);
  // A step's task ended (or never started); `time` is when. The same live and in recovery.
  void note_step_news(JobRecord& job);  // a step's task ended, or its output came: wait_step_news wakes once published
  static void step_task_ended(StepRecord& step, int task, JobState state, int exit_code, int signal, std::int64_t time);
  // A job has ended or runs again: its steps' tasks still running are ended, their steps CANCELLED
  // (steps are of one attempt). `nodes`: also order the nodes to end them.
  void close_steps(JobRecord& job, std::int64_t time, bool nodes);
  // Why a task is being ended, if it is (its job's stop or its step's); nullopt if not.
  std::optional<std::pair<agent::TaskEnd, std::string>> stop_of(const agent::TaskRef& task) const;
  // Ends a step's tasks (a cancel, or a failed task under kill-on-bad-exit); journalled.
  void stop_step(JobRecord& job, StepRecord& step, const std::string& why, bool cancel, std::int64_t now);
  // A --no-kill job's node went down and left it (the core gave back its room there): its ranks
  // there are lost, its steps' tasks there end (a step without -k ends whole), and the job goes on.
  void node_left(JobRecord& job, Node& node, const std::string& why, std::int64_t now);
  // Ends the running steps of job `id` that have reached their own time limits (srun -t).
  void steps_past_their_limits(std::int64_t id, std::int64_t now);
  // Queues a record without waiting; flush() waits until everything queued is durable.
  void journal_async(const std::string& kind, const std::string& payload, std::int64_t now);
  void journal_async(const events::Event& event, std::int64_t now);
  Result<void> flush();
  // A task (rank) ended on `node`. Ignored when it is not the job's current attempt (a stale report).
  void task_ended(Node& node, const agent::Finished& f, std::int64_t now);
  // Ends the tasks of the job still running (the agents report them ended).
  // An allocation, whose ranks run nothing, ends at once (controller/allocations.cpp).
  void stop_tasks(JobRecord& job, agent::TaskEnd why, const std::string& message, std::int64_t now);
  // Its steps' tasks still running are told to end: the local node's now, remote agents with their
  // next answer (stop_of says why, from stopping_).
  void stop_step_tasks(const JobRecord& job, agent::TaskEnd why, const std::string& message);
  // A running allocation is ending in `state`: at once where no step of it runs, else once its
  // steps' tasks, told to end, have (allocation_step_ended). The first end asked for stands.
  void stop_allocation(JobRecord& job, JobState state, int exit_code, const std::string& reason, std::int64_t now);
  void allocation_step_ended(JobRecord& job, std::int64_t now);  // a task of one of its steps ended
  void end_allocation(JobRecord& job, std::int64_t now);         // as allocation_ends_ says
  // Ends the attended allocations whose holders have been silent for longer than the grace.
  void end_unattended_allocations(agent::Clock::time_point mono, std::int64_t now);
  // The core has ended a running job because its node failed: requeue it, or end it as NODE_FAIL.
  void node_failed(JobRecord& job, const std::string& why, std::int64_t now);
  // The job waits again, as attempt + 1, saying why (journalled); the core has requeued it.
  void requeued(JobRecord& job, const std::string& reason, std::int64_t now);
  // Gives the core the quotas of the books (after a change, and at recovery).
  void sync_quotas();
  // Admits the waiting jobs again, as their projects' grants stand at `now`: a job whose project
  // may no longer run it is held (its reason says why) until a grant lets it in again; one that
  // may run only as preemptible work becomes preemptible, and goes back when a grant allows.
  void readmit(std::int64_t now);
  void end(JobRecord& job, JobState state, int exit_code, const std::string& reason, std::int64_t now);
  // Mails the job's user about `event` where the job asked for it (controller/mail.h).
  void mail(const JobRecord& job, MailEvent event, std::int64_t end = -1);
  // Charges a running job's use since it was last charged, up to `now` (a usage record, queued).
  void charge(const JobRecord& job, std::int64_t now);
  void node_down(Node& node, const std::string& why, std::int64_t now);
  // The job with the reason it waits, as the scheduler sees it now (pending jobs); under the lock.
  JobRecord with_reason(JobRecord job);
  // Why a job waits (or how it ended), from its Waiting (nullptr: none noted) and its grants' hold
  // (nullptr: none): a fixed text, the record's own, or one made in `scratch`.
  static api::Reason reason_of(const Waiting* waiting, const std::string* held, const JobRecord& job,
                               std::string& scratch);
  // Why a waiting job waits, as the core says now, into waits_ (where it changed).
  void note_waiting(const JobRecord& job);
  void note_waiting(const JobRecord& job, const core::Job* in_core);
  // The same for every waiting job (after a pass).
  void note_all_waiting();
  // Cancels the waiting jobs noted as never to run that asked to be (--kill-on-invalid-dep=yes),
  // as Slurm does: CANCELLED, DependencyNeverSatisfied.
  void end_invalid_dependents(std::int64_t now);
  // Deadlines (sbatch --deadline): a job is watched from its submission; once now passes its
  // deadline less its time limit, a job still waiting ends DEADLINE.
  void watch_deadline(const JobRecord& job);
  void end_past_deadline(std::int64_t now);
  // Makes what changed since the last view the view reads see; under the lock, at the end of a
  // change (Changing) or before the lock is let go in the middle of one.
  void publish();
  // The controller's lock, taken by a change: what it changed is published when it ends.
  class Changing {
   public:
    explicit Changing(Controller& c) : c_(c), lock_(c.mu_) {}
    Changing(Controller& c, std::try_to_lock_t) : c_(c), lock_(c.mu_, std::try_to_lock) {}  // see lock()
    ~Changing() {
      if (lock_.owns_lock()) c_.publish();
    }
    Changing(const Changing&) = delete;
    Changing& operator=(const Changing&) = delete;
    std::unique_lock<std::mutex>& lock() { return lock_; }

   private:
    Controller& c_;
    std::unique_lock<std::mutex> lock_;
  };
  agent::protocol::SyncResponse orders(Node& node, const std::set<std::string>& listed);
  // sync and try_sync: `changing` holds the lock; nullopt where it would block and `may_wait` is false.
  Result<std::optional<agent::protocol::SyncResponse>> sync_with(Changing& changing,
                                                                 const agent::protocol::SyncRequest& request,
                                                                 const std::string& peer, agent::Clock::time_point mono,
                                                                 std::int64_t now, bool may_wait);

  ControllerOptions options_;
  std::function<void(const Mail&)> mail_;  // how mail is sent (ControllerParts::mail)
  mutable std::mutex mu_;
  std::condition_variable orders_cv_;  // new orders for remote agents
  std::unique_ptr<store::Journal> journal_;
  std::unique_ptr<store::GroupCommitter> committer_;  // every write to the journal goes through it
  std::unique_ptr<core::Scheduler> scheduler_;
  std::unique_ptr<LocalRunner> local_;  // runs the local node's tasks, if there is a local node
  Terminals terminals_;
  Services services_;
  std::map<std::int64_t, agent::Clock::time_point> session_used_;  // terminal sessions: last seen in use
  Accounting books_;
  CowTable<JobRecord> jobs_;
  CowValues<Waiting> waits_;  // of waiting jobs (others' entries are left as they were)
  // Jobs by state, kept at each publish from the records changed since the one before.
  StateCounts by_state_{};
  std::vector<std::uint8_t> counted_as_;  // by job id: the state it is counted in (kUncounted: none)
  static constexpr std::uint8_t kUncounted = 0xff;
  void count_state(std::int64_t id, const JobRecord* job);
  bool held_changed_ = true;                          // held_ (below) changed since the last view
  std::uint64_t viewed_tenancy_ = ~std::uint64_t{0};  // books_.tenancy_changes() at the last view's copy
  mutable std::mutex view_mu_;                        // guards view_ alone, held only to copy or swap the pointer
  std::shared_ptr<const View> view_ = std::make_shared<View>();
  std::map<std::string, std::unique_ptr<Node>> nodes_;
  std::vector<Node*> by_id_;  // nodes by core::NodeId
  // Ranks that ended, of jobs with some ranks still running: (first failure) state, exit code, reason.
  std::map<std::int64_t, Failure> failures_;
  // Running jobs being ended (cancel, time limit, a failed rank): how and why.
  std::map<std::int64_t, std::pair<agent::TaskEnd, std::string>> stopping_;
  std::set<std::int64_t> running_;  // ids of running jobs
  // Attended allocations not ended, by id: when their holder last asked after them; and those
  // submitted or recovered since the last round, which count from then.
  std::map<std::int64_t, agent::Clock::time_point> attended_;
  std::vector<std::int64_t> new_allocations_;
  std::map<std::int64_t, Failure> allocation_ends_;  // running allocations being ended: how
  std::set<std::int64_t> preempting_;                // running jobs the core asked to stop to make room
  std::map<std::int64_t, std::string> held_;         // waiting jobs held by their project's grants, and why
  // The partitions (options_.partitions, or the implicit one) and the nodes of each: a set of
  // names, or every node.
  struct PartitionNodes {
    api::Partition spec;
    bool all = false;
    std::set<std::string> names;
  };
  std::vector<PartitionNodes> partitions_;
  bool readmit_due_ = true;                                   // the books changed: admit the waiting jobs again
  std::int64_t next_readmit_ = 0;                             // and at least once a minute (grants start and expire)
  std::set<std::string> drained_names_;                       // nodes drained before they registered (recovery)
  std::map<std::int64_t, std::map<int, Failure>> rank_ends_;  // recovery only: ranks ended before a restart
  std::int64_t next_id_ = 1;
  std::int64_t passes_ = 0;
  std::vector<double> pass_ms_;  // the last 1,000 passes' durations, a ring
  metrics::Histogram pass_seconds_{metrics::short_seconds()};
  metrics::Histogram wait_seconds_{metrics::long_seconds()};  // submission (or requeue) to start
  std::uint64_t started_total_ = 0, preempted_total_ = 0;     // decisions
  std::vector<std::future<Result<std::int64_t>>> unflushed_;  // journal_async's records, until flushed
  bool awaiting_ = false;                                     // the control loop waits for the journal outside the lock
  int waiting_ = 0;                            // agents' calls waiting for orders (each holds a server thread)
  bool step_news_due_ = false;                 // a job's step_news grew since the last publish()
  std::set<std::int64_t> invalid_dependents_;  // noted by note_waiting, for end_invalid_dependents
  std::set<std::pair<std::int64_t, std::int64_t>> deadlines_;  // (latest start, job id): watch_deadline
  int step_waiters_ = 0;                                       // calls in wait_step_news
  std::condition_variable step_news_cv_;
  int inflight_ = 0;                        // submissions journalled (or being journalled) but not applied yet
  std::int64_t snapshot_seq_ = 0;           // the record the last snapshot covers
  bool snapshotting_ = false;               // a snapshot is being written (the journal is the committer's)
  std::future<Result<void>> snapshot_job_;  // the control loop's snapshot, written in the background
  std::int64_t snapshot_job_seq_ = 0;
  std::string instance_;  // tells this controller's local task groups from others' on the host
  agent::Clock::time_point started_;
  bool pass_due_ = true;          // resources were freed or nodes changed since the last pass
  std::int64_t last_pass_ = -1;   // wall-clock second of the last pass
  std::int64_t scanned_at_ = -1;  // wall-clock second the running jobs were last looked at
};

}  // namespace gwang::controller
