// docs/slurm-options.md read back: each option of a command's table and what the page says gwang
// does with it (yes, unused, partly, no), for the tests that hold the programs to the page.
#pragma once

#include <fstream>
#include <regex>
#include <string>
#include <vector>

namespace gwang::testing {

struct DocumentedOption {
  std::string name;    // "mail-type"
  char letter = 0;     // 'w' of "-w, --nodelist"; 0: none
  std::string status;  // yes, unused, partly, no
};

// The rows of the table under "## <section>" (sbatch, srun) of docs/slurm-options.md.
inline std::vector<DocumentedOption> documented_options(const std::string& path, const std::string& section) {
  std::ifstream in(path);
  std::vector<DocumentedOption> out;
  const std::regex row(R"(^\| `(?:-([A-Za-z]), )?--([a-z0-9-]+)` \| (yes|unused|partly|no) \|)");
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("## ")) inside = line.substr(3).starts_with(section);
    std::smatch m;
    if (inside && std::regex_search(line, m, row)) {
      out.push_back({m[2], m[1].length() ? m[1].str()[0] : '\0', m[3]});
    }
  }
  return out;
}

}  // namespace gwang::testing
