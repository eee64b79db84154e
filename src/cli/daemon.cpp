// gwang controller and gwang agent: the two programs of a cluster of several hosts.
#include <httplib.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "agent/node.h"
#include "agent/protocol.h"
#include "api/units.h"
#include "api/urls.h"
#include "cli/commands.h"
#include "cli/serve.h"
#include "config/config.h"
#include "controller/auth.h"
#include "controller/http_server.h"
#include "store/journal.h"
#include "store/postgres.h"

namespace gwang::cli {

namespace fs = std::filesystem;
namespace proto = agent::protocol;

namespace {

std::int64_t wall_now() { return static_cast<std::int64_t>(std::time(nullptr)); }

std::string join(const std::vector<std::string>& list) {
  std::string out;
  for (const std::string& s : list) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string hostname() {
  char name[256] = "localhost";
  ::gethostname(name, sizeof name - 1);
  return name;
}

std::string describe(const agent::HostResources& h) {
  std::string devices;
  for (const auto& d : h.devices) devices += (devices.empty() ? "" : ", ") + d.kind;
  std::string features;
  for (const auto& f : h.features) features += (features.empty() ? "" : ",") + f;
  return std::to_string(h.cpus) + " CPUs, " + api::format_memory(h.memory_bytes) +
         ", devices: " + (devices.empty() ? "none" : devices) + " (" + h.nvml_status + ")" +
         (features.empty() ? "" : ", features: " + features) + ", " + api::format_memory(h.tmp_bytes) + " of TmpFS";
}

// What an agent keeps about a task's output: how much the controller has of each stream.
struct Output {
  std::int64_t job = 0;
  std::int64_t sent[2] = {0, 0};  // stdout, stderr
  bool ended = false;
};

// The cluster secret a configuration names; nullopt (and what is wrong, on stderr) if unusable.
std::optional<std::string> read_secret(const std::string& config, const std::string& path) {
  auto secret = proto::read_secret(path);
  if (!secret) {
    std::fprintf(stderr, "gwang: %s: cluster_secret_file: %s\n", config.c_str(), secret.error().message.c_str());
    return std::nullopt;
  }
  return *secret;
}

bool store_is_postgres(const std::string& store) { return !store.empty(); }

// What a controller that stands by answers every request with: 503, saying so, and naming the
// leader when one holds the lease; agents and the command line go on to it.
class StandbyServer {
 public:
  Result<int> bind(const std::string& host, int port, const std::shared_ptr<net::ServerCredentials>& tls) {
    if (tls) transport_.use_tls(tls);
    auto bound = transport_.bind(host, port);
    if (bound) thread_ = std::thread([this] { transport_.run(); });
    return bound;
  }
  void set_leader(const std::string& address) {
    std::lock_guard lock(mu_);
    leader_ = address;
  }
  void stop() {
    transport_.stop();
    if (thread_.joinable()) thread_.join();
  }
  ~StandbyServer() { stop(); }

 private:
  void answer(httplib::Response& res) {
    std::lock_guard lock(mu_);
    nlohmann::json body = {{"error", leader_.empty() ? "this controller stands by, and no controller leads now: "
                                                       "one will within the lease's time"
                                                     : "this controller stands by; the leader is at " + leader_},
                           {"standby", true}};
    if (!leader_.empty()) {
      body["leader"] = leader_;
      res.set_header("X-Gwang-Leader", leader_);
    }
    res.set_header("X-Gwang-Standby", "1");
    res.set_header("Retry-After", "1");
    res.status = 503;
    res.set_content(body.dump(), "application/json");
  }

  std::mutex mu_;
  std::string leader_;
  controller::HttpTransport transport_{[this](httplib::Request&, httplib::Response& res, bool) {
                                         answer(res);
                                         return true;
                                       },
                                       controller::TransportOptions{.io_threads = 1, .workers = 2}};
  std::thread thread_;
};

// Several controllers of one PostgreSQL store take turns: each stands by until the leader's lease
// is free, takes it, then leads (`lead`) while a thread renews the lease. A controller that loses the
// lease, or cannot renew it before it could expire, stops at once (exit code 75) so that it can never
// act beside the new leader; its service manager starts it again, as a standby.
int take_turns(controller::ControllerOptions& options, const std::string& host, int port, std::string advertise,
               std::chrono::seconds ttl, const std::shared_ptr<net::ServerCredentials>& tls,
               const std::function<int(store::Lease&)>& lead) {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  StandbyServer standby;
  auto bound = standby.bind(host, port, tls);
  if (!bound) {
    std::fprintf(stderr, "gwang: %s\n", bound.error().message.c_str());
    return 1;
  }
  if (advertise.empty()) {
    advertise = (tls ? "https://" : "http://") + (host.empty() || host == "0.0.0.0" ? hostname() : host) + ":" +
                std::to_string(*bound);
  }
  const std::string holder = hostname() + ":" + std::to_string(*bound) + "/" + controller::random_token().substr(0, 8);
  auto lease = store::Lease::open(options.store, holder, advertise, ttl);
  if (!lease) {
    std::fprintf(stderr, "gwang: %s\n", lease.error().message.c_str());
    return 1;
  }
  std::printf("gwang controller %s stands by at %s until it can lead\n", holder.c_str(), advertise.c_str());
  std::fflush(stdout);
  // Stands by: tries for the lease five times per lease time, and stops on SIGINT or SIGTERM.
  const auto poll = std::chrono::duration_cast<std::chrono::milliseconds>(ttl) / 5;
  std::int64_t epoch = 0;
  auto taken_at = std::chrono::steady_clock::now();
  std::string seen, problem;
  while (epoch == 0) {
    taken_at = std::chrono::steady_clock::now();
    auto won = (*lease)->acquire();
    if (won && *won) {
      epoch = **won;
      break;
    }
    std::string now_problem, leader;
    if (!won) {
      now_problem = won.error().message;
    } else if (auto state = (*lease)->state(); state && state->live) {
      leader = state->address;
    }
    if (now_problem != problem && !now_problem.empty()) std::fprintf(stderr, "gwang: %s\n", now_problem.c_str());
    problem = now_problem;
    if (leader != seen && !leader.empty()) std::printf("gwang controller: %s leads\n", leader.c_str());
    seen = leader;
    standby.set_leader(leader);
    std::fflush(stdout);
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(poll).count();
    const timespec wait{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
    if (::sigtimedwait(&stop_signals, nullptr, &wait) > 0) {
      std::printf("gwang stopped (standing by)\n");
      return 0;
    }
  }
  standby.stop();
  std::printf("gwang controller %s leads the store in epoch %lld\n", holder.c_str(), static_cast<long long>(epoch));
  std::fflush(stdout);
  options.postgres.fence_epoch = epoch;
  options.postgres.on_fenced = [](std::int64_t newer) {
    std::fprintf(stderr, "gwang: another controller leads the store in epoch %lld: this one stops\n",
                 static_cast<long long>(newer));
    std::fflush(stderr);
    ::_exit(75);
  };

  // Renews the lease four times per lease time. The lease could expire ttl after the last renewal
  // that went through was sent; this controller stops well before that (at three quarters).
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  std::thread renewer([&, last_ok = taken_at]() mutable {
    std::unique_lock lock(mu);
    std::string problem;
    while (!cv.wait_for(lock, ttl / 4, [&] { return stopping; })) {
      const auto sent = std::chrono::steady_clock::now();
      auto r = (*lease)->renew();
      if (r) {
        last_ok = sent;
        if (!problem.empty()) std::fprintf(stderr, "gwang: the lease is renewed again\n");
        problem.clear();
        continue;
      }
      if ((*lease)->epoch() == 0) {  // lost: another leads
        std::fprintf(stderr, "gwang: %s: this controller stops\n", r.error().message.c_str());
        std::fflush(stderr);
        ::_exit(75);
      }
      if (problem.empty()) std::fprintf(stderr, "gwang: %s\n", r.error().message.c_str());
      problem = r.error().message;
      if (std::chrono::steady_clock::now() - last_ok > ttl * 3 / 4) {
        std::fprintf(stderr,
                     "gwang: could not renew the lease for %lld ms: this controller stops before it "
                     "could expire\n",
                     static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                std::chrono::steady_clock::now() - last_ok)
                                                .count()));
        std::fflush(stderr);
        ::_exit(75);
      }
    }
  });
  const int rc = lead(**lease);
  {
    std::lock_guard lock(mu);
    stopping = true;
  }
  cv.notify_all();
  renewer.join();
  (*lease)->release();  // a standby leads at once
  return rc;
}

// SIGCHLD alone: a task's keeper ended.
sigset_t child_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  return set;
}

// Makes `jobs` (the tasks' output, under data_dir), both open to the tasks' users for traversal;
// false (and why, on stderr) if it cannot be created.
bool make_jobs_dir(const std::string& data_dir, const fs::path& jobs) {
  std::error_code ec;
  fs::create_directories(jobs, ec);
  if (ec) {
    std::fprintf(stderr, "gwang: %s: cannot create: %s\n", jobs.c_str(), ec.message().c_str());
    return false;
  }
  fs::permissions(data_dir, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec, ec);
  fs::permissions(jobs, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec, ec);
  return true;
}

// The agent's identity, kept in data_dir/instance; a new one, written there, when that holds none.
// nullopt (and why, on stderr) if the new one cannot be written.
std::optional<std::string> agent_instance(const std::string& data_dir) {
  const fs::path instance_file = fs::path(data_dir) / "instance";
  std::string instance;
  if (std::ifstream in(instance_file); in) std::getline(in, instance);
  if (instance.size() != 16 || instance.find_first_not_of("0123456789abcdef") != std::string::npos) {
    instance = controller::random_token().substr(0, 16);
    if (!write_private(instance_file.string(), instance)) {
      std::fprintf(stderr, "gwang: cannot write %s\n", instance_file.c_str());
      return std::nullopt;
    }
  }
  return instance;
}

// The node agent's options for a configuration: output under `jobs`, state under data_dir/state,
// task groups named after the instance, and every controller's URL for the tasks.
agent::NodeAgentOptions node_agent_options(const config::AgentConfig& cfg, const agent::HostResources& host,
                                           const fs::path& jobs, const std::string& instance) {
  agent::NodeAgentOptions options;
  options.log_dir = jobs.string();
  options.host = host;
  options.kill_grace = cfg.kill_grace;
  options.allow_root = cfg.allow_root;
  options.group_suffix = "." + instance;
  options.state_dir = (fs::path(cfg.data_dir) / "state").string();
  for (const std::string& url : cfg.controllers)
    options.controller_url += (options.controller_url.empty() ? "" : ",") + url;
  options.controller_ca = cfg.ca_file;
  return options;
}

// Adopts the tasks the agent's previous run left; returns them by task, none of their output sent.
std::map<std::string, Output> adopt_tasks(agent::NodeAgent& node_agent) {
  std::map<std::string, Output> outputs;
  for (const std::string& task : node_agent.adopt_recorded()) {
    const auto ref = agent::parse_task_id(task);
    if (!ref) continue;  // the agent's own state file: never malformed
    Output out;
    out.job = ref->job;
    outputs[task] = out;
  }
  return outputs;
}

// An agent's calls to the controller, one after another until stopped: each reports the tasks
// that ended and their output, and brings back the tasks to launch and to end.
class SyncLoop {
 public:
  SyncLoop(const config::AgentConfig& cfg, const std::string& secret, const std::string& node,
           const std::string& instance, const agent::HostResources& host, const fs::path& jobs,
           agent::NodeAgent& node_agent, std::map<std::string, Output> outputs, const std::atomic<bool>& running);
  // Calls until `running` turns false.
  void run();

 private:
  static constexpr std::int64_t kChunk = 1 << 20;  // the most of a stream one call sends
  const config::AgentConfig& cfg_;
  const std::string& secret_;
  const std::string& node_;
  const std::string& instance_;
  const agent::HostResources& host_;
  const fs::path& jobs_;
  agent::NodeAgent& node_agent_;
  std::map<std::string, Output> outputs_;  // by task
  const std::atomic<bool>& running_;
  // One client per controller; calls go to the one that led last. One that cannot be reached, or
  // that stands by, sends the agent on to the next (or straight to the leader it names).
  std::vector<std::unique_ptr<httplib::Client>> clients_;
  std::atomic<std::size_t> current_{0};  // the controller called
  // A task that ends while a call waits for orders cuts the call short (the controller's answer is
  // sent again on the next call, and what this one reported is reported again): its end reaches the
  // controller at once, and its devices go to the next job, instead of after the rest of the wait.
  std::atomic<bool> waiting_call_{false}, cut_short_{false};
  std::vector<agent::Finished> finished_;
  agent::Clock::time_point last_ok_;
  std::chrono::milliseconds node_timeout_{60000};
  bool fenced_ = false, warned_ = false;
  std::string reached_;  // the controller that answered last

  // Cuts a waiting call short when a task's keeper ends, until stopped (a thread of its own).
  void watch();
  // One call: the request, the answer, and what the answer says.
  void call();
  // Takes the tasks that ended from the node agent.
  void collect(agent::Clock::time_point now);
  // The next call's request: the tasks that ended, the output not sent yet, and how long to wait.
  proto::SyncRequest request();
  // Adds the output the controller lacks, up to kChunk a stream, to `req`; returns the tasks whose
  // output is all sent with it or before, and sets `more` when some is left for later calls.
  std::set<std::string> add_output(proto::SyncRequest& req, bool& more);
  // What is wrong with the answer of `url` ("" if nothing), decoded into `answer` when nothing is;
  // sets `standby` when that controller stands by.
  std::string problem_of(const httplib::Result& res, const std::string& url, const std::string& signature,
                         Result<proto::SyncResponse>& answer, bool& standby) const;
  // After a call that went wrong: warns once, turns to another controller, ends every task here
  // once the controllers have been out of reach for half the node timeout, and pauses a little.
  void on_problem(const std::string& problem, bool standby, const httplib::Result& res, const std::string& url);
  // Does what an answer says: output and ends the controller has, tasks to launch and to end.
  void apply(const proto::SyncResponse& answer);
  // After an empty answer that came before `req`'s wait was up: waits out the rest of it.
  void wait_out(const proto::SyncRequest& req, agent::Clock::time_point sent);
};

SyncLoop::SyncLoop(const config::AgentConfig& cfg, const std::string& secret, const std::string& node,
                   const std::string& instance, const agent::HostResources& host, const fs::path& jobs,
                   agent::NodeAgent& node_agent, std::map<std::string, Output> outputs,
                   const std::atomic<bool>& running)
    : cfg_(cfg),
      secret_(secret),
      node_(node),
      instance_(instance),
      host_(host),
      jobs_(jobs),
      node_agent_(node_agent),
      outputs_(std::move(outputs)),
      running_(running) {
  for (const std::string& url : cfg_.controllers) {
    auto& client = clients_.emplace_back(std::make_unique<httplib::Client>(url));
    // The controller answers a call within its wait; a call that takes longer has met a network
    // problem, and must not keep the agent from noticing that it is cut off (see the fencing below).
    client->set_connection_timeout(2, 0);
    client->set_read_timeout(static_cast<time_t>(cfg_.sync_wait.count() + 1), 0);
    client->set_write_timeout(2, 0);
    // One connection kept between calls: the controller's server waits on idle connections in an
    // event loop, and a kept connection spares both sides a TCP set-up per heartbeat.
    client->set_keep_alive(true);
    client->set_tcp_nodelay(true);
    // An https:// controller must show a certificate that `ca` (else the system's store) trusts,
    // for the name or address in its URL.
    if (!cfg_.ca_file.empty()) client->set_ca_cert_path(cfg_.ca_file.c_str());
    client->enable_server_certificate_verification(true);
  }
}

void SyncLoop::run() {
  std::thread watcher([this] { watch(); });
  std::printf("gwang agent: node %s (%s), controller %s\n", node_.c_str(), describe(host_).c_str(),
              join(cfg_.controllers).c_str());
  std::fflush(stdout);
  last_ok_ = agent::Clock::now();
  reached_ = cfg_.controllers.front();
  while (running_) call();
  watcher.join();
}

void SyncLoop::watch() {
  const sigset_t child_signal = child_signals();
  const timespec tick{0, 200 * 1000 * 1000};
  while (running_) {
    if (::sigtimedwait(&child_signal, nullptr, &tick) != SIGCHLD || !waiting_call_) continue;
    cut_short_ = true;
    clients_[current_]->stop();
  }
}

void SyncLoop::call() {
  const auto mono = agent::Clock::now();
  collect(mono);
  const proto::SyncRequest req = request();
  const std::string body = proto::encode(req, proto::Form::Binary);
  const std::string date = std::to_string(wall_now());
  const std::string signature = proto::sign_request(secret_, "POST", proto::kSyncPath, date, node_, body);
  httplib::Headers headers{{"X-Gwang-Node", node_}, {"X-Gwang-Date", date}, {"X-Gwang-Signature", signature}};
  const std::string& url = cfg_.controllers[current_];
  cut_short_ = false;
  waiting_call_ = req.wait_ms > 0;
  auto res = clients_[current_]->Post(proto::kSyncPath, headers, body, proto::content_type(proto::Form::Binary));
  waiting_call_ = false;
  if (!res && cut_short_) return;
  bool standby = false;
  Result<proto::SyncResponse> answer = fail("");
  const std::string problem = problem_of(res, url, signature, answer, standby);
  if (!problem.empty()) return on_problem(problem, standby, res, url);
  if (warned_ || url != reached_) std::fprintf(stderr, "gwang agent: following the controller at %s\n", url.c_str());
  reached_ = url;
  warned_ = false;
  fenced_ = false;
  last_ok_ = agent::Clock::now();
  apply(*answer);
  // An answer with nothing in it that came before the wait was up (the controller had no room
  // to hold the call): the next call waits out the rest, so that calls stay a heartbeat apart.
  if (req.wait_ms > 0 && answer->launch.empty() && answer->terminate.empty()) wait_out(req, mono);
}

void SyncLoop::collect(agent::Clock::time_point now) {
  for (agent::Finished& f : node_agent_.poll(now)) {
    if (auto it = outputs_.find(f.task); it != outputs_.end()) it->second.ended = true;
    finished_.push_back(std::move(f));
  }
}

proto::SyncRequest SyncLoop::request() {
  proto::SyncRequest req;
  req.node = node_;
  req.instance = instance_;
  req.address = cfg_.address;
  req.host = host_;
  req.tracking = node_agent_.tracking().describe();
  req.running = node_agent_.running();
  req.signalled = node_agent_.signalled();
  req.takes_signals = true;
  req.takes_terminals = true;
  req.takes_services = true;
  bool more = false;
  const std::set<std::string> complete = add_output(req, more);
  for (const agent::Finished& f : finished_) {
    if (!outputs_.contains(f.task) || complete.contains(f.task)) req.finished.push_back(f);
  }
  req.wait_ms = (more || !req.finished.empty() || !req.logs.empty() || fenced_)
                    ? 0
                    : static_cast<int>(std::chrono::milliseconds(cfg_.sync_wait).count());
  return req;
}

std::set<std::string> SyncLoop::add_output(proto::SyncRequest& req, bool& more) {
  std::error_code ec;
  std::set<std::string> complete;
  for (auto& [task, out] : outputs_) {
    bool all = true;
    for (int s = 0; s < 2; ++s) {
      const fs::path path = jobs_ / agent::log_name(task, s == 1);
      const std::int64_t size = fs::exists(path, ec) ? static_cast<std::int64_t>(fs::file_size(path, ec)) : 0;
      if (size <= out.sent[s]) continue;
      std::ifstream in(path, std::ios::binary);
      in.seekg(out.sent[s]);
      std::string data(static_cast<std::size_t>(std::min(kChunk, size - out.sent[s])), '\0');
      in.read(data.data(), static_cast<std::streamsize>(data.size()));
      data.resize(static_cast<std::size_t>(std::max<std::streamsize>(0, in.gcount())));
      if (out.sent[s] + static_cast<std::int64_t>(data.size()) < size) all = false;
      req.logs.push_back({task, s == 1, out.sent[s], std::move(data)});
    }
    if (all)
      complete.insert(task);
    else
      more = true;
  }
  return complete;
}

// Why a call got no answer, in words (the HTTP library names its errors by their enumerators).
std::string call_failure(httplib::Error e, const std::string& ca_file) {
  switch (e) {
    case httplib::Error::Connection:
      return "cannot connect";
    case httplib::Error::Read:
      return "no answer (the connection closed or timed out)";
    case httplib::Error::Write:
      return "the call could not be sent";
    case httplib::Error::SSLConnection:
      return "the TLS handshake failed (is it an https:// controller?)";
    case httplib::Error::SSLServerVerification:
      return "SSL server verification failed: its certificate is not one " +
             (ca_file.empty() ? std::string("the system's store") : ca_file) +
             " trusts, or does not name the host of its URL";
    default:
      return httplib::to_string(e);
  }
}

std::string SyncLoop::problem_of(const httplib::Result& res, const std::string& url, const std::string& signature,
                                 Result<proto::SyncResponse>& answer, bool& standby) const {
  if (!res) return "cannot reach " + url + ": " + call_failure(res.error(), cfg_.ca_file);
  if (res->status == 503 && res->has_header("X-Gwang-Standby")) {
    standby = true;
    return url + " stands by";
  }
  if (res->status != 200) return url + " answered " + std::to_string(res->status) + ": " + res->body;
  if (!proto::same_signature(res->get_header_value("X-Gwang-Signature"),
                             proto::sign_response(secret_, signature, res->body))) {
    return url + ": the answer's signature is wrong; ignored";
  }
  if (answer = proto::decode_response(res->body); !answer) return url + ": " + answer.error().message;
  return "";
}

void SyncLoop::on_problem(const std::string& problem, bool standby, const httplib::Result& res,
                          const std::string& url) {
  if (!warned_ && !standby) std::fprintf(stderr, "gwang agent: %s\n", problem.c_str());
  warned_ = warned_ || !standby;
  // On to the leader the standby names, if this agent knows it, else the next controller.
  const std::string leader = standby ? res->get_header_value("X-Gwang-Leader") : "";
  const auto named = std::find(cfg_.controllers.begin(), cfg_.controllers.end(), leader);
  current_ = named != cfg_.controllers.end() ? static_cast<std::size_t>(named - cfg_.controllers.begin())
                                             : (current_ + 1) % clients_.size();
  if (standby && named != cfg_.controllers.end() && leader != url) return;
  // Without the controller for half its node timeout, this node ends its tasks itself: by the
  // time the controller declares it DOWN and runs the jobs elsewhere, nothing of them runs here.
  if (!fenced_ && agent::Clock::now() - last_ok_ > node_timeout_ / 2) {
    std::fprintf(stderr, "gwang agent: no controller for %lld s: ending every task here\n",
                 static_cast<long long>(std::chrono::duration_cast<std::chrono::seconds>(node_timeout_ / 2).count()));
    node_agent_.terminate_all(agent::TaskEnd::Cancelled, agent::Clock::now(),
                              "ended by its node: the controller was out of reach", true);
    fenced_ = true;
  }
  for (int i = 0; i < 10 && running_; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    collect(agent::Clock::now());
  }
}

void SyncLoop::apply(const proto::SyncResponse& answer) {
  std::error_code ec;
  if (answer.node_timeout_ms > 0) node_timeout_ = std::chrono::milliseconds(answer.node_timeout_ms);
  for (const auto& [key, offset] : answer.log_offsets) {
    const bool err = key.ends_with(".stderr");
    const std::string task = key.substr(0, key.size() - 7);
    if (auto it = outputs_.find(task); it != outputs_.end()) it->second.sent[err ? 1 : 0] = offset;
  }
  for (const std::string& t : answer.acked) {
    std::erase_if(finished_, [&](const agent::Finished& f) { return f.task == t; });
    node_agent_.acknowledge(t);
    if (auto it = outputs_.find(t); it != outputs_.end()) {
      // The controller has all of it: the node's copy goes.
      for (int s = 0; s < 2; ++s) fs::remove(jobs_ / agent::log_name(t, s == 1), ec);
      fs::remove(jobs_ / std::to_string(it->second.job), ec);  // when empty
      outputs_.erase(it);
    }
  }
  for (const agent::Launch& l : answer.launch) {
    if (node_agent_.knows(l.task)) continue;
    outputs_[l.task] = Output{l.job, {0, 0}, false};
    node_agent_.launch(l, agent::Clock::now());
  }
  for (const proto::Terminate& t : answer.terminate)
    node_agent_.terminate(t.task, t.why, agent::Clock::now(), t.message);
  for (const proto::Signal& s : answer.signal) node_agent_.signal(s.task, s.serial, s.number, s.main_only);
}

void SyncLoop::wait_out(const proto::SyncRequest& req, agent::Clock::time_point sent) {
  const auto due = sent + std::chrono::milliseconds(req.wait_ms);
  while (running_ && agent::Clock::now() < due && node_agent_.running().size() == req.running.size()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    collect(agent::Clock::now());
    if (!finished_.empty()) break;
  }
}

}  // namespace

int run_migrate_store(const MigrateArgs& args) {
  const std::string db = (std::filesystem::path(args.data) / "state.db").string();
  if (!std::filesystem::exists(db)) {
    std::fprintf(stderr, "gwang: %s: no embedded store there (--data is the controller's data_dir)\n", db.c_str());
    return 2;
  }
  auto from = store::open_sqlite_journal(db);
  if (!from) {
    std::fprintf(stderr, "gwang: %s\n", from.error().message.c_str());
    return 1;
  }
  auto to = store::open_postgres_journal(args.to);
  if (!to) {
    std::fprintf(stderr, "gwang: --to: %s\n", to.error().message.c_str());
    return 1;
  }
  auto copied = store::copy_store(**from, **to);
  if (!copied) {
    std::fprintf(stderr, "gwang: %s\n", copied.error().message.c_str());
    return 1;
  }
  std::printf(
      "copied %s into PostgreSQL up to record %lld (%zu record(s) after the last snapshot), read back and "
      "compared; start the controller with store set to that address\n",
      db.c_str(), static_cast<long long>((*to)->last_seq()), *copied);
  return 0;
}

int run_controller(const DaemonArgs& args) {
  block_stop_signals();  // before any thread starts: the clean stop handles SIGINT and SIGTERM
  auto cfg = config::load_controller_config(args.config);
  auto secret = cfg ? read_secret(args.config, cfg->cluster_secret_file) : std::nullopt;
  if (!cfg || !secret) {
    if (!cfg) std::fprintf(stderr, "gwang: %s\n", cfg.error().message.c_str());
    return 2;
  }
  auto account = controller::lookup_account(cfg->operator_account);
  if (!account) {
    std::fprintf(stderr, "gwang: %s: operator: %s\n", args.config.c_str(), account.error().message.c_str());
    return 2;
  }
  auto listen = parse_listen(cfg->listen);
  if (!listen) {
    std::fprintf(stderr, "gwang: %s: listen: %s\n", args.config.c_str(), listen.error().message.c_str());
    return 2;
  }
  std::shared_ptr<net::ServerCredentials> tls;
  if (!cfg->tls_certificate.empty()) {
    auto loaded = net::ServerCredentials::load(cfg->tls_certificate, cfg->tls_key);
    if (!loaded) {
      std::fprintf(stderr, "gwang: %s: tls: %s\n", args.config.c_str(), loaded.error().message.c_str());
      return 2;
    }
    tls = *loaded;
  }
  if (args.check) {
    std::printf("%s: a controller listening on %s (%s), state in %s, nodes DOWN after %lld s of silence\n",
                args.config.c_str(), cfg->listen.c_str(), tls ? "HTTPS" : "plain HTTP", cfg->data_dir.c_str(),
                static_cast<long long>(cfg->node_timeout.count()));
    for (const api::Partition& p : cfg->partitions) {
      std::printf(
          "  partition %s: nodes %s%s%s\n", p.name.c_str(), p.nodes.c_str(), p.is_default ? ", the default" : "",
          p.max_time_s > 0 ? (", time limits up to " + std::to_string(p.max_time_s / 60) + " min").c_str() : "");
    }
    return 0;
  }
  controller::ControllerOptions options;
  options.data_dir = cfg->data_dir;
  options.store = args.store.empty() ? cfg->store : args.store;
  options.node_timeout = cfg->node_timeout;
  options.terminal_grace = cfg->terminal_grace;
  options.allocation_grace = cfg->allocation_grace;
  options.session_idle_timeout = cfg->session_idle_timeout;
  options.session_max_life = cfg->session_max_life;
  options.session_start_timeout = cfg->session_start_timeout;
  options.kill_grace = cfg->kill_grace;
  options.requeue_limit = cfg->requeue_limit;
  options.max_array_size = cfg->max_array_size;
  options.resv_port_low = cfg->resv_port_low;
  options.resv_port_high = cfg->resv_port_high;
  options.mail_program = cfg->mail_program;
  options.cluster_name = cfg->cluster_name;
  options.snapshot_every = cfg->snapshot_every;
  options.partitions = cfg->partitions;
  options.licenses = cfg->licenses;
  options.on_store_failure = controller::stop_on_store_failure;
  options.queue_order = cfg->queue_order;
  options.backfill = cfg->backfill;
  options.accounting.require_project = cfg->require_project;
  options.accounting.require_grant = cfg->require_grant;
  options.accounting.charge_every = cfg->charge_every.count();
  options.accounting.rates.per_cpu_hour = cfg->cpu_hour;
  options.accounting.rates.per_accelerator_hour = cfg->rates;
  const auto& [host, port] = *listen;

  // Leads: recovers the state from the store, then serves until stopped.
  auto lead = [&](controller::TokenStore& tokens) {
    auto ctl = controller::Controller::open(options, wall_now());
    if (!ctl) {
      std::fprintf(stderr, "gwang: %s\n", ctl.error().message.c_str());
      return 1;
    }
    auto token = operator_token(tokens, cfg->data_dir, account->name);
    if (!token) {
      std::fprintf(stderr, "gwang: %s\n", token.error().message.c_str());
      return 1;
    }
    return serve(**ctl, tokens, *secret, host, port, cfg->data_dir, std::chrono::milliseconds(100),
                 find_web_dir(cfg->web_dir), tls, [&](const std::string& url) {
                   std::printf("gwang controller is up at %s\n", url.c_str());
                   std::printf("  state in %s; the operator token (%s) is in %s/token\n", cfg->data_dir.c_str(),
                               account->name.c_str(), cfg->data_dir.c_str());
                   std::printf("  agents: gwang agent --config agent.toml, with controller = \"%s://<this host>:%d\"\n",
                               tls ? "https" : "http", port);
                 });
  };
  if (!store_is_postgres(options.store)) {
    auto tokens = controller::TokenStore::load((fs::path(cfg->data_dir) / "tokens").string());
    if (!tokens) {
      std::fprintf(stderr, "gwang: %s\n", tokens.error().message.c_str());
      return 1;
    }
    return lead(*tokens);
  }
  return take_turns(options, host, port, cfg->advertise, cfg->lease, tls, [&](store::Lease&) {
    auto table = store::TokenTable::open(options.store);
    Result<controller::TokenStore> tokens = fail("");
    if (table)
      tokens = controller::TokenStore::load(std::shared_ptr<store::TokenTable>(std::move(*table)));
    else
      tokens = tl::unexpected(table.error());
    if (!tokens) {
      std::fprintf(stderr, "gwang: %s\n", tokens.error().message.c_str());
      return 1;
    }
    return lead(*tokens);
  });
}

int run_agent(const DaemonArgs& args) {
  // SIGCHLD (a task's keeper ended) is taken by a thread of its own (SyncLoop); every thread leaves it.
  const sigset_t child_signal = child_signals();
  pthread_sigmask(SIG_BLOCK, &child_signal, nullptr);
  auto cfg = config::load_agent_config(args.config);
  auto secret = cfg ? read_secret(args.config, cfg->cluster_secret_file) : std::nullopt;
  if (!cfg || !secret) {
    if (!cfg) std::fprintf(stderr, "gwang: %s\n", cfg.error().message.c_str());
    return 2;
  }
  const std::string node = cfg->node_name.empty() ? hostname() : cfg->node_name;
  auto host = agent::discover_host(cfg->devices, cfg->nvml ? "libnvidia-ml.so.1" : "");
  if (!host) {
    std::fprintf(stderr, "gwang: %s\n", host.error().message.c_str());
    return 2;
  }
  host->features = cfg->features;
  host->tmp_bytes = agent::file_system_bytes(cfg->tmp_fs);
  // The trust an https:// controller is verified with must load before the agent calls it.
  const bool tls = std::any_of(cfg->controllers.begin(), cfg->controllers.end(), api::uses_tls);
  if (auto trust = tls ? net::client_context(cfg->ca_file) : Result<net::TlsContext>(nullptr); !trust) {
    std::fprintf(stderr, "gwang: %s: ca: %s\n", args.config.c_str(), trust.error().message.c_str());
    return 2;
  }
  if (args.check) {
    std::printf("%s: node %s (%s), controller %s\n", args.config.c_str(), node.c_str(), describe(*host).c_str(),
                join(cfg->controllers).c_str());
    return 0;
  }
  const fs::path jobs = fs::path(cfg->data_dir) / "jobs";
  if (!make_jobs_dir(cfg->data_dir, jobs)) return 1;

  // The agent's identity outlives its restarts: the tasks it runs are kept under data_dir and
  // adopted again. A new identity (data_dir lost) tells the controller that its tasks are gone.
  const std::optional<std::string> instance = agent_instance(cfg->data_dir);
  if (!instance) return 1;
  agent::NodeAgent node_agent(node_agent_options(*cfg, *host, jobs, *instance));
  std::map<std::string, Output> outputs = adopt_tasks(node_agent);
  if (!outputs.empty()) std::printf("gwang agent: adopted %zu task(s) of its previous run\n", outputs.size());

  std::atomic<bool> running{true};
  stop_on_signal(block_stop_signals(), [&] { running = false; });
  SyncLoop loop(*cfg, *secret, node, *instance, *host, jobs, node_agent, std::move(outputs), running);
  loop.run();
  std::printf("gwang agent stopped\n");
  return 0;
}

}  // namespace gwang::cli
