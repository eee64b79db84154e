// The local node's runner made of the node agent in this process.

#include "controller/runner.h"

#include <filesystem>
#include <fstream>

#include "controller/controller.h"

namespace gwang::controller {

namespace fs = std::filesystem;

namespace {

class NodeAgentRunner final : public LocalRunner {
 public:
  explicit NodeAgentRunner(agent::NodeAgentOptions options) : agent_(std::move(options)) {}
  void launch(const agent::Launch& launch) override { agent_.launch(launch, agent::Clock::now()); }
  void terminate(const std::string& task, agent::TaskEnd why, const std::string& message) override {
    agent_.terminate(task, why, agent::Clock::now(), message);
  }
  std::vector<agent::Finished> poll(agent::Clock::time_point now) override { return agent_.poll(now); }
  void acknowledge(const std::string& task) override { agent_.acknowledge(task); }
  void set_controller_url(const std::string& url) override { agent_.set_controller_url(url); }
  std::string tracking() const override { return agent_.tracking().describe(); }

 private:
  agent::NodeAgent agent_;
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
  const fs::path instance_file = fs::path(options.data_dir) / "instance";
  std::string previous;
  if (std::ifstream in(instance_file); in) std::getline(in, previous);
  agent::end_leftovers(agent::Tracking::detect(a.tracking), previous.empty() ? "" : "." + previous, a.state_dir);
  auto runner = std::make_unique<NodeAgentRunner>(std::move(a));
  std::ofstream out(instance_file, std::ios::trunc);
  out << instance << '\n';
  if (!out) return fail(instance_file.string() + ": cannot write");
  return runner;
}

}  // namespace gwang::controller
