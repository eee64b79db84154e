#include "sim/sbatch_workload.h"

#include <charconv>
#include <map>
#include <optional>

#include "slurm/core_dependencies.h"
#include "slurm/sbatch.h"

namespace gwang::sim {

namespace {

constexpr core::Time kUnlimited = 365LL * 86400;  // gwang's longest time limit (Slurm's UNLIMITED)

// A line's words, as a shell splits them: blanks apart, '...' literal, "..." with \" and \\, and a
// backslash outside quotes taking the next character as it is.
Result<std::vector<std::string>> words(std::string_view line) {
  std::vector<std::string> out;
  std::string word;
  bool in_word = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (c == ' ' || c == '\t') {
      if (in_word) out.push_back(std::move(word));
      word.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '\'') {
      const std::size_t close = line.find('\'', i + 1);
      if (close == std::string_view::npos) return fail("a quote (') that is not closed");
      word.append(line.substr(i + 1, close - i - 1));
      i = close;
    } else if (c == '"') {
      std::size_t j = i + 1;
      for (; j < line.size() && line[j] != '"'; ++j) {
        if (line[j] == '\\' && j + 1 < line.size() && (line[j + 1] == '"' || line[j + 1] == '\\')) ++j;
        word += line[j];
      }
      if (j >= line.size()) return fail("a quote (\") that is not closed");
      i = j;
    } else if (c == '\\' && i + 1 < line.size()) {
      word += line[++i];
    } else {
      word += c;
    }
  }
  if (in_word) out.push_back(std::move(word));
  return out;
}

std::optional<std::int64_t> whole(const std::string& text, std::int64_t lo, std::int64_t hi) {
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < lo || v > hi) return std::nullopt;
  return v;
}

// The options that change nothing in a replay of a processor pool are taken; those that would,
// and that it does not model, are refused by name.
std::string unmodelled(const slurm::SbatchOptions& o) {
  if (o.partition) return "--partition (the replay is one pool of processors)";
  if (o.qos) return "--qos";
  if (o.gpus || o.gpus_per_node || o.gpus_per_task || o.gres) return "--gpus/--gres (the replay has processors only)";
  if (o.mem_per_node || o.mem_per_cpu) return "--mem (the replay counts processors only)";
  if (o.hold) return "--hold (nothing releases a job in a replay)";
  if (o.test_only) return "--test-only";
  return "";
}

}  // namespace

Result<std::vector<BatchJob>> read_sbatch_workload(const std::string& text, const std::string& name) {
  std::vector<BatchJob> jobs;
  std::map<std::string, std::int64_t> users, accounts;
  std::map<std::int64_t, std::size_t> index_of;  // job id -> index in `jobs`
  std::int64_t next_id = 1;
  std::size_t at = 0;
  for (int line = 1; at < text.size(); ++line) {
    std::size_t eol = text.find('\n', at);
    if (eol == std::string::npos) eol = text.size();
    std::string_view row(text.data() + at, eol - at);
    at = eol + 1;
    if (!row.empty() && row.back() == '\r') row.remove_suffix(1);
    const std::string where = name + ":" + std::to_string(line) + ": ";
    const std::size_t first = row.find_first_not_of(" \t");
    if (first == std::string_view::npos || row[first] == '#') continue;
    auto w = words(row);
    if (!w) return fail(where + w.error().message);
    if (w->size() < 4) return fail(where + "expected SUBMIT RUN EXIT USER and sbatch's options");
    const auto submit = whole((*w)[0], 0, std::int64_t{1} << 40);
    if (!submit) return fail(where + "SUBMIT: expected seconds from the start, 0 or more: '" + (*w)[0] + "'");
    const auto run = whole((*w)[1], 1, std::int64_t{1} << 40);
    if (!run) return fail(where + "RUN: expected seconds above 0: '" + (*w)[1] + "'");
    const auto exit_code = whole((*w)[2], 0, 255);
    if (!exit_code) return fail(where + "EXIT: expected an exit code from 0 to 255: '" + (*w)[2] + "'");
    const std::string& user = (*w)[3];
    if (!jobs.empty() && *submit < jobs.back().submit)
      return fail(where + "SUBMIT: " + (*w)[0] + " is before the line above's " + std::to_string(jobs.back().submit));

    slurm::Reader reader;
    reader.clock = slurm::utc_clock(*submit);  // --begin=now+1hour: from the job's submission
    reader.max_array_size = 1'000'001;
    auto parsed = slurm::parse_command_line(std::vector<std::string>(w->begin() + 4, w->end()), reader);
    if (!parsed) return fail(where + parsed.error().message);
    if (!parsed->rest.empty()) {
      return fail(where + "unexpected '" + parsed->rest.front() + "' after the options (a replay runs no script)");
    }
    const slurm::SbatchOptions& o = parsed->options;
    if (const std::string no = unmodelled(o); !no.empty()) return fail(where + "option " + no + " is not replayed");

    BatchJob job;
    job.submit = *submit;
    job.run = *run;
    job.fails = *exit_code != 0;
    job.user = users.emplace(user, static_cast<std::int64_t>(users.size())).first->second;
    if (o.account) job.group = accounts.emplace(*o.account, static_cast<std::int64_t>(accounts.size())).first->second;
    const std::int64_t cpus = o.cpus_per_task.value_or(1);
    const std::int64_t nodes = o.nodes ? o.nodes->min : 1;
    const std::int64_t tasks = o.ntasks ? *o.ntasks : o.ntasks_per_node ? nodes * *o.ntasks_per_node : nodes;
    job.procs = tasks * cpus;
    job.requested = !o.time || o.time->unlimited || o.time->minutes == 0 ? kUnlimited : o.time->minutes * 60;
    job.name = o.job_name.value_or("");
    if (o.begin && *o.begin > *submit) job.begin = *o.begin;
    if (o.dependency) {
      core::JobSpec spec;
      slurm::set_core_dependencies(*o.dependency, spec);
      for (core::JobDependency& d : spec.depends) {
        if (d.kind == core::DependencyKind::Singleton) continue;
        auto target = index_of.find(d.job.value);
        if (target == index_of.end()) {
          return fail(where + "--dependency: job " + std::to_string(d.job.value) +
                      " is not a job of the lines above (ids are given from 1, an array one per task)");
        }
        d.job = core::JobId{static_cast<std::int64_t>(target->second)};
      }
      job.depends = std::move(spec.depends);
      job.depends_any = spec.depends_any;
    }
    const std::vector<std::int64_t> indices = o.array ? o.array->indices : std::vector<std::int64_t>{-1};
    const std::size_t array_first = jobs.size();
    for (std::int64_t index : indices) {
      BatchJob task = job;
      task.id = next_id++;
      if (o.array) {
        task.array_first = static_cast<std::int64_t>(array_first);
        task.array_task = index;
        task.array_limit = static_cast<int>(o.array->max_running.value_or(0));
      }
      index_of[task.id] = jobs.size();
      jobs.push_back(std::move(task));
    }
  }
  if (jobs.empty()) return fail(name + ": no job (a line: SUBMIT RUN EXIT USER sbatch-options)");
  return jobs;
}

}  // namespace gwang::sim
