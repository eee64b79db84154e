// The configuration files of `gwang controller` and `gwang agent` (TOML). Every key is checked:
// an unknown key, a wrong type or a bad value is an error naming the file, line and key.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "agent/devices.h"
#include "api/partition.h"
#include "core/queue_policy.h"
#include "core/result.h"
#include "slurm/licenses.h"

namespace gwang::config {

struct ControllerConfig {
  std::string listen = "0.0.0.0:8686";      // HOST:PORT of the API
  std::string data_dir = "/var/lib/gwang";  // the store, job output, the operator's token
  std::string cluster_name = "gwang";       // as jobs are told it (SLURM_CLUSTER_NAME)
  std::string cluster_secret_file;          // required: signs the agent protocol
  std::string operator_account = "root";    // the account of the operator token in data_dir/token
  std::string web_dir;                      // the dashboard's files ("": found beside the program)
  std::string store;                        // "": SQLite in data_dir; else PostgreSQL (postgresql://...)
  // [tls] certificate, key: PEM files (the chain, the server's own first; its key). Where given,
  // the API speaks HTTPS only, and serves a renewed pair without a restart.
  std::string tls_certificate, tls_key;
  // With PostgreSQL, controllers take turns leading (one leads, the others stand by):
  std::string advertise;                      // where clients reach this one ("": http[s]://<host name>:<port>)
  std::chrono::seconds lease{5};              // the leader's lease: a standby leads this soon after it dies
  std::chrono::seconds node_timeout{60};      // a node silent this long is DOWN
  std::chrono::seconds terminal_grace{30};    // a step's terminal without its client this long: cancelled
  std::chrono::seconds allocation_grace{60};  // an allocation whose holder is silent this long: ended
  // Sessions (api/session.h): ended once unused this long (unless one asks for another); their
  // longest time limit (0: none); how long a service has to answer on its port once started.
  std::chrono::seconds session_idle_timeout{3600};
  std::chrono::seconds session_max_life{86400};
  std::chrono::seconds session_start_timeout{300};
  std::chrono::seconds kill_grace{10};  // SIGTERM to SIGKILL (the local node's, if any)
  int requeue_limit = 1;                // requeues of a job after NODE_FAIL
  int max_array_size = 1001;            // job arrays' indices go up to this - 1 (Slurm's MaxArraySize)
  // The ports steps may reserve on their nodes (srun --resv-ports): resv_ports = "LOW-HIGH" (Slurm's
  // MpiParams=ports=).
  int resv_port_low = 12000, resv_port_high = 12999;
  std::string mail_program = "/usr/bin/mail";  // mails users at their jobs' events (Slurm's MailProg); "": none
  int snapshot_every = 100000;                 // journal records between snapshots (a restart replays fewer)
  // Who goes first, and what may pass the queue's head (core/queue_policy.h, by the core's names):
  // fcfs, sjf, priority or multifactor (age, fair share, size, programme); none, easy, easy-sjbf,
  // or conservative (every waiting job keeps a reservation).
  core::QueueOrder queue_order = core::QueueOrder::Fcfs;
  core::Backfill backfill = core::Backfill::Easy;
  std::vector<api::Partition> partitions;  // [[partitions]] name, nodes, default, max_time
  // [licenses] NAME = SEATS: the cluster's licenses, which jobs ask for with -L (Slurm's Licenses=).
  std::vector<slurm::LicenseCount> licenses;
  // [accounting]
  bool require_project = false;            // every job is charged to a project of its owner
  bool require_grant = false;              // a project that never held a grant runs nothing
  std::chrono::seconds charge_every{600};  // running jobs are charged at least this often
  double cpu_hour = 0;                     // normalised hours per CPU-hour of work without accelerators
  std::map<std::string, double> rates;     // [accounting.rates] normalised hours per device-hour, by model
};

struct AgentConfig {
  std::vector<std::string> controllers;           // required: the controllers' URLs, http[s]://HOST:PORT (the
                                                  // key `controller`: one, or a list where several take turns)
  std::string ca_file;                            // `ca`: what https:// controllers are verified with ("": the
                                                  // system's store); tasks are given it as GWANG_CA
  std::string node_name;                          // default: the host name
  std::string address;                            // where tasks reach this node; default: as the controller sees it
  std::string data_dir = "/var/lib/gwang-agent";  // task output until the controller has it
  std::string cluster_secret_file;                // required: the controller's secret
  std::chrono::seconds kill_grace{10};
  std::chrono::seconds sync_wait{1};            // how long a call waits for orders (the heartbeat)
  bool allow_root = false;                      // whether jobs may run as root here
  bool nvml = true;                             // look for NVIDIA GPUs
  std::vector<agent::DeclaredDevices> devices;  // [[devices]] kind, count, memory
  std::vector<std::string> features;            // the node's features (jobs' --constraint)
  std::string tmp_fs = "/tmp";                  // its temporary file system, whose size jobs' --tmp asks of
};

Result<ControllerConfig> load_controller_config(const std::string& path);
Result<AgentConfig> load_agent_config(const std::string& path);
// The same from a file's text; errors name `path`.
Result<ControllerConfig> parse_controller_config(std::string_view text, const std::string& path);
Result<AgentConfig> parse_agent_config(std::string_view text, const std::string& path);

}  // namespace gwang::config
