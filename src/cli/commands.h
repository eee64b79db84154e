// The gwang command's subcommands. main.cpp parses the arguments into these option structs; each
// run_* function validates what parsing cannot, does the work and returns the exit status
// (0 success, 1 failure at run time, 2 bad arguments or input).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gwang::cli {

struct ReplayArgs {
  std::string trace;
  std::string policy = "easy";
  std::string estimate = "requested";
  std::string loader = "predictsim";
  std::string windows;           // "I,J,..." 0-based first job of each window
  std::size_t window_jobs = 1024;
  std::int64_t procs = 0;        // machine size; 0: from the trace header
  std::string log;               // file for the decision log
  bool json = false;
  bool quiet = false;
};
int run_replay(const ReplayArgs& args);

struct PackArgs {
  std::string nodes;
  std::string pods;
  std::string policy = "fgd";    // one name, a comma list, or "all"
  std::string seeds = "42";      // "42", "42-51", "42,45"
  double tune = 1.3;
  std::string curve;             // CSV file of the curves
  std::string chart;             // SVG file of the allocation curves
  bool json = false;
  bool quiet = false;
};
int run_pack(const PackArgs& args);

// Shows progress on stderr when it is a terminal and not silenced.
class Progress {
 public:
  Progress(bool quiet, std::size_t total);
  void step(const std::string& what);
  void done();

 private:
  bool on_;
  std::size_t total_, done_ = 0;
};

// Parses "42", "42-51" or "42,45,50" into a list; an error message names the bad part.
bool parse_int_list(const std::string& text, std::vector<std::int64_t>& out, std::string& error);

}  // namespace gwang::cli
