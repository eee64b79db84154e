// The books' commands (gwang user, token, admin, grants, events, report): added to the command
// line on demand, each leaf setting the action to run once the arguments are parsed.
#pragma once

#include <functional>
#include <memory>

namespace CLI {
class App;
}

namespace gwang::cli {

class BookCommands {
 public:
  BookCommands();
  ~BookCommands();
  // Adds the commands whose first word `wanted` accepts ("user", "token", "admin", "grants",
  // "events", "report").
  void add(CLI::App& app, const std::function<bool(const char*)>& wanted);
  // The command parsed, if it was one of these; empty otherwise.
  const std::function<int()>& action() const { return action_; }

 private:
  struct Args;
  std::unique_ptr<Args> args_;
  std::function<int()> action_;
};

}  // namespace gwang::cli
