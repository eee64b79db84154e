// srun's --bcast, --send-libs, --bcast-exclude and --compress: the program (and libraries) it reads
// here and serves to the step's nodes, and what the step's tasks are told to fetch them.

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <random>

#include "cli/bcast.h"
#include "cli/program_output.h"
#include "cli/srun_options.h"

namespace gwang::cli {

namespace {

// The program srun runs, as Slurm's finds it: a path as given, else in PATH, else here.
std::string find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* p = std::getenv("PATH");
  const std::string path = p ? p : "";
  std::size_t at = 0;
  while (at <= path.size()) {
    const std::size_t colon = std::min(path.find(':', at), path.size());
    const std::string dir = path.substr(at, colon - at);
    at = colon + 1;
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return name;
}

// ldd(1)'s list of the program's shared objects; empty for a static program (ldd then fails).
std::string run_ldd(const std::string& program) { return program_output({"ldd", program}).value_or(""); }

const Setting* setting(const SrunOptions& o, const char* key) {
  const auto it = o.given.find(key);
  return it == o.given.end() ? nullptr : &it->second;
}

}  // namespace

std::optional<int> step_bcast(const SrunOptions& o, const std::string& address, nlohmann::json& body,
                              std::unique_ptr<BcastServer>& server) {
  const Setting* bcast = setting(o, "bcast");
  if (!bcast || o.command.empty()) return std::nullopt;
  bool lz4 = false;
  if (const Setting* c = setting(o, "compress")) {
    lz4 = c->text == "" || c->text == "lz4";
    if (!lz4 && c->text != "none") {  // as Slurm's srun: said, and the file goes as it is
      std::fprintf(stderr, "srun: error: Compression type '%s' unknown, disabling compression support.\n",
                   c->text.c_str());
    }
  }
  bool libraries = false;
  if (const Setting* s = setting(o, "send_libs")) {
    if (s->text != "" && s->text != "yes" && s->text != "no") {
      return srun_error("Invalid " + s->from + " specification: " + s->text + " (yes or no)");
    }
    libraries = s->text != "no";
  }
  const Setting* exclude = setting(o, "bcast_exclude");
  const std::vector<std::string> excluded = parse_bcast_exclude(exclude ? exclude->text : kBcastExcludeDefault);

  const std::string program = find_program(o.command.front());
  std::vector<BcastFile> files;
  auto main = read_bcast_file(program, "", lz4);
  if (!main) {  // in Slurm's words
    std::fprintf(stderr, "srun: fatal: Can not execute %s\n", o.command.front().c_str());
    return 1;
  }
  files.push_back(std::move(*main));
  if (libraries) {
    for (const auto& [name, path] : ldd_libraries(run_ldd(program), excluded)) {
      auto lib = read_bcast_file(path, name, lz4);
      if (!lib) return srun_error("--send-libs: cannot read " + lib.error().message);
      files.push_back(std::move(*lib));
    }
  }
  const std::size_t count = files.size();
  // The key the step's tasks give: no one else on the network gets the files.
  std::random_device random;
  std::string key;
  for (int i = 0; i < 4; ++i) {
    char part[9];
    std::snprintf(part, sizeof part, "%08x", static_cast<unsigned>(random()));
    key += part;
  }
  auto served = BcastServer::listen(std::move(files), key);
  if (!served) return srun_error("--bcast: " + served.error().message);
  server = std::move(*served);
  body["env"]["GWANG_BCAST_SRUN"] = address + ":" + std::to_string(server->port());
  body["env"]["GWANG_BCAST_KEY"] = key;
  body["env"]["GWANG_BCAST_DEST"] = bcast->text;
  body["env"]["GWANG_BCAST_FILES"] = std::to_string(count);
  return std::nullopt;
}

}  // namespace gwang::cli
