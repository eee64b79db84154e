// The commands srun runs for a step's tasks in place of the one given: with --multi-prog, each
// task's own program from a configuration file; with --task-prolog and --task-epilog, the
// command between them.
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/srun_options.h"
#include "slurm/specs.h"

namespace gwang::cli {

using nlohmann::json;

namespace {

// A word of a --multi-prog line as the shell reads it, in single quotes, with %t and %o replaced:
// by their values for one task, or, for "*", by the task's id as the task sees it.
std::string multi_prog_word(const std::string& word, std::optional<int> task, int offset) {
  std::string out = "'";
  for (std::size_t i = 0; i < word.size(); ++i) {
    if (word[i] == '%' && i + 1 < word.size() && (word[i + 1] == 't' || word[i + 1] == 'o')) {
      out += task ? std::to_string(word[i + 1] == 't' ? *task : offset) : "'\"$SLURM_PROCID\"'";
      ++i;
    } else if (word[i] == '\'') {
      out += "'\\''";
    } else {
      out += word[i];
    }
  }
  return out + "'";
}

// The words of a --multi-prog line: separated by blanks, grouped by single or double quotes.
Result<std::vector<std::string>> multi_prog_words(const std::string& line) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (char c : line) {
    if (quote) {
      if (c == quote)
        quote = 0;
      else
        word += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == ' ' || c == '\t') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (quote) return fail(std::string("a quote (") + quote + ") is not closed");
  if (in_word) words.push_back(std::move(word));
  return words;
}

}  // namespace

void step_task_wrapper(const SrunOptions& o, json& body) {
  if (o.task_prolog.empty() && o.task_epilog.empty()) return;
  // $1: the prolog, $2: the epilog ("" for none), then the command.
  static constexpr const char* kWrapper =
      "p=$1 e=$2; shift 2\n"
      "if [ -n \"$p\" ]; then\n"
      "  lines=$(\"$p\")\n"
      "  while IFS= read -r line; do\n"
      "    case $line in\n"
      "      'export '*=*) kv=${line#export }; export \"${kv%%=*}=${kv#*=}\" ;;\n"
      "      'unset '*) unset \"${line#unset }\" ;;\n"
      "      'print '*) printf '%s\\n' \"${line#print }\" ;;\n"
      "    esac\n"
      "  done <<EOF\n"
      "$lines\n"
      "EOF\n"
      "fi\n"
      "[ -z \"$e\" ] && exec \"$@\"\n"
      "\"$@\"; rc=$?\n"
      "\"$e\"\n"
      "exit $rc\n";
  json command = json::array({"/bin/sh", "-c", kWrapper, "task-prolog", o.task_prolog, o.task_epilog});
  for (const json& a : body["command"]) command.push_back(a);
  if (!body.contains("name"))
    body["name"] = std::filesystem::path(body["command"][0].get<std::string>()).filename().string();
  body["command"] = std::move(command);
}

std::optional<int> step_multi_prog(const SrunOptions& o, json& body) {
  if (o.multi_prog.empty()) return std::nullopt;
  const std::string& file = o.multi_prog;
  std::ifstream in(file);
  if (!in) return srun_error("--multi-prog: cannot read " + file + ": " + std::strerror(errno));
  const std::optional<int> ntasks =
      body.contains("ntasks") ? std::optional<int>(body["ntasks"].get<int>()) : std::nullopt;
  std::map<int, std::pair<std::string, int>> arms;  // task id: its command line, and the line's number
  std::string rest;                                 // the "*" line's command, if any
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const std::string where = file + ":" + std::to_string(number) + ": ";
    if (auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    auto words = multi_prog_words(line);
    if (!words) return srun_error(where + words.error().message);
    if (words->empty()) continue;
    if (words->size() < 2) return srun_error(where + "a task id list and a program are needed");
    const std::string ranks = words->front();
    const std::vector<std::string> argv(words->begin() + 1, words->end());
    if (ranks == "*") {
      if (!rest.empty()) return srun_error(where + "a second line for '*'");
      for (const std::string& w : argv) rest += " " + multi_prog_word(w, std::nullopt, 0);
      continue;
    }
    auto ids = slurm::parse_array(ranks, ntasks.value_or(100000));
    if (!ids) return srun_error(where + "task ids '" + ranks + "': " + ids.error().message);
    int offset = 0;
    for (std::int64_t id : ids->indices) {
      const int t = static_cast<int>(id);
      if (auto seen = arms.find(t); seen != arms.end()) {
        return srun_error(where + "task " + std::to_string(t) + " has a program already, on line " +
                          std::to_string(seen->second.second));
      }
      std::string cmd;
      for (const std::string& w : argv) cmd += " " + multi_prog_word(w, t, offset);
      arms[t] = {cmd, number};
      ++offset;
    }
  }
  if (const int count = ntasks.value_or(0); count > 0 && rest.empty()) {
    for (int t = 0; t < count; ++t) {
      if (!arms.contains(t))
        return srun_error("--multi-prog: " + file + " gives no program for task " + std::to_string(t));
    }
  }
  // A shell script that runs each task's own program, by its id.
  std::string script = "case \"$SLURM_PROCID\" in\n";
  for (const auto& [t, arm] : arms) script += std::to_string(t) + ") exec" + arm.first + " ;;\n";
  if (!rest.empty()) script += "*) exec" + rest + " ;;\n";
  script += "esac\necho \"srun: error: " + file + " gives no program for task $SLURM_PROCID\" >&2\nexit 1\n";
  body["command"] = json::array({"/bin/sh", "-c", script, "multi-prog"});
  if (o.name.empty()) body["name"] = std::filesystem::path(file).filename().string();
  return std::nullopt;
}

}  // namespace gwang::cli
