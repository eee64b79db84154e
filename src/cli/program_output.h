// What a program writes on its standard output (ldd for srun --send-libs, getent for users and
// groups), run from the command line.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace gwang::cli {

// Runs `argv` (argv[0] found in PATH), its standard error discarded; its standard output, or
// nothing when it cannot run or ends other than with status 0.
std::optional<std::string> program_output(const std::vector<std::string>& argv);

}  // namespace gwang::cli
