// What runs the local node's tasks (`gwang up`): the node agent in this process, or a twin that
// tests drive. The controller is given one, or makes the node agent's.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "agent/node.h"
#include "core/result.h"

namespace gwang::controller {

struct ControllerOptions;

class LocalRunner {
 public:
  virtual ~LocalRunner() = default;  // ends what is left of its tasks
  // Starts a task; a task id seen before is ignored. One that cannot start is reported by poll.
  virtual void launch(const agent::Launch& launch) = 0;
  // Asks a task to end (SIGTERM, then SIGKILL after the grace); unknown or ended tasks: nothing.
  virtual void terminate(const std::string& task, agent::TaskEnd why, const std::string& message) = 0;
  // Sends a task the signal of serial `serial`, once (agent::NodeAgent::signal).
  virtual void signal(const std::string& task, int serial, int number, bool main_only) = 0;
  // The tasks that have ended since the last call; `now` drives kill deadlines.
  virtual std::vector<agent::Finished> poll(agent::Clock::time_point now) = 0;
  // The controller has recorded that the task ended.
  virtual void acknowledge(const std::string& task) = 0;
  // Where the tasks reach the API (their GWANG_URL), and what verifies it if https:// (GWANG_CA).
  virtual void set_controller(const std::string& url, const std::string& ca_file) = 0;
  // How it tracks tasks, in words (nodes' "tracking").
  virtual std::string tracking() const = 0;
  // The tasks a run before this one left (a controller killed), adopted when it was made: those
  // still running go on under this runner; those that ended meanwhile are reported by poll.
  virtual std::vector<std::string> left_over() const = 0;
};

// The node agent in this process, for the local node of `options`: its tasks' output under
// data_dir/jobs, its state under data_dir/local. The tasks a previous run left (a controller
// killed, or crashed) are adopted: recovery keeps those its running jobs still own and ends the
// rest. A clean stop ends every task and forgets them. `instance` tells this run's task groups
// from others'.
Result<std::unique_ptr<LocalRunner>> make_node_agent_runner(const ControllerOptions& options,
                                                            const std::string& instance);

}  // namespace gwang::controller
