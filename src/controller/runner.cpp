// The local node's runner made of the node agent in this process.

#include "controller/runner.h"

#include <filesystem>

#include "controller/controller.h"

namespace gwang::controller {

namespace fs = std::filesystem;

namespace {

class NodeAgentRunner final : public LocalRunner {
 public:
  explicit NodeAgentRunner(agent::NodeAgentOptions options)
      : state_dir_(options.state_dir), agent_(std::make_unique<agent::NodeAgent>(std::move(options))) {
    left_over_ = agent_->adopt_recorded();
  }
  // A clean stop: every task ends with the agent, and the next run has nothing to adopt.
  ~NodeAgentRunner() override {
    agent_.reset();
    agent::forget_recorded(state_dir_);
  }
  void launch(const agent::Launch& launch) override { agent_->launch(launch, agent::Clock::now()); }
  void terminate(const std::string& task, agent::TaskEnd why, const std::string& message) override {
    agent_->terminate(task, why, agent::Clock::now(), message);
  }
  void signal(const std::string& task, int serial, int number, bool main_only) override {
    agent_->signal(task, serial, number, main_only);
  }
  std::vector<agent::Finished> poll(agent::Clock::time_point now) override { return agent_->poll(now); }
  void acknowledge(const std::string& task) override { agent_->acknowledge(task); }
  void set_controller(const std::string& url, const std::string& ca_file) override {
    agent_->set_controller(url, ca_file);
  }
  std::string tracking() const override { return agent_->tracking().describe(); }
  std::vector<std::string> left_over() const override { return left_over_; }

 private:
  std::string state_dir_;
  std::unique_ptr<agent::NodeAgent> agent_;
  std::vector<std::string> left_over_;
};

}  // namespace

Result<std::unique_ptr<LocalRunner>> make_node_agent_runner(const ControllerOptions& options,
                                                            const std::string& instance) {
  agent::NodeAgentOptions a;
  a.log_dir = (fs::path(options.data_dir) / "jobs").string();
  a.host = options.host;
  a.tracking = options.tracking;
  a.kill_grace = options.kill_grace;
  a.allow_root = options.allow_root;
  a.group_suffix = "." + instance;
  a.state_dir = (fs::path(options.data_dir) / "local").string();
  return std::unique_ptr<LocalRunner>(std::make_unique<NodeAgentRunner>(std::move(a)));
}

}  // namespace gwang::controller
