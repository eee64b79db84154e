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
  // A command under `parent` with the client's options, whose action once parsed is `run`.
  CLI::App* leaf(CLI::App* parent, const char* name, const char* help, std::function<int()> run);
  // Each adds its command: gwang user, token, admin, grants, events and report.
  void add_user(CLI::App& app);
  void add_token(CLI::App& app);
  void add_admin(CLI::App& app);
  void add_grants(CLI::App& app);
  void add_events(CLI::App& app);
  void add_report(CLI::App& app);
  // Each adds its group of commands under gwang admin.
  void add_institution(CLI::App* admin);
  void add_project(CLI::App* admin);
  void add_programme(CLI::App* admin);
  void add_grant(CLI::App* admin);
  void add_quota(CLI::App* admin);

  std::unique_ptr<Args> args_;
  std::function<int()> action_;
};

}  // namespace gwang::cli
