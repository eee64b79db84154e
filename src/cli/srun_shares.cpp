// What a step holds of its job, from srun's options into the step's request: whether it holds only
// its tasks' CPUs (--exact) or shares (--overlap), waits or not (-I), its memory (--mem,
// --mem-per-cpu, --mem-per-gpu), its own GPUs (--gres, --gpus, --gpus-per-node, --gpus-per-task)
// and whether its tasks keep the job's counts (-E); its tasks by GPU (--ntasks-per-gpu) and their
// GPUs (--gpu-bind), the features of its nodes (-C), its ports (--resv-ports) and its tasks'
// memory (--mem-bind) and CPUs' frequencies (--cpu-freq).

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>

#include "cli/srun_options.h"
#include "slurm/binding.h"
#include "slurm/cpufreq.h"
#include "slurm/features.h"
#include "slurm/membind.h"
#include "slurm/specs.h"

namespace gwang::cli {

namespace {

using nlohmann::json;

// "[type:]N" (--gpus, --gpus-per-node, --gpus-per-task): the type ("" for any) and the count.
std::optional<std::pair<std::string, int>> typed_count(const std::string& text) {
  const auto colon = text.rfind(':');
  const std::string count = colon == std::string::npos ? text : text.substr(colon + 1);
  if (count.empty() || count.size() > 4 || count.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  std::string type = colon == std::string::npos ? "" : text.substr(0, colon);
  if (type.starts_with("gpu:")) type = type.substr(4);  // --gpus=gpu:a100:2
  return std::pair{type, std::stoi(count)};
}

// The step's own GPUs, into the request: --gres=gpu[:type][:N] (or none), --gpus, --gpus-per-node,
// --gpus-per-task, as Slurm's srun takes them. Inside a job srun's input variables do not ask for
// devices (a step without them has all of the job's). The exit status of a mistake, or nothing.
std::optional<int> step_gpus(const SrunOptions& o, nlohmann::json& body) {
  int asked = 0;
  std::string type;
  const auto take = [&](const char* field, const std::string& t, int n) {
    body[field] = n;
    type = t;
    ++asked;
  };
  if (auto it = o.given.find("gres"); it != o.given.end()) {
    const std::string& g = it->second.text;
    if (g == "none") {
      take("gpus_per_node", "", 0);
    } else {
      // One resource, a GPU (or another accelerator family): name[:type][:count].
      const auto first = g.find(':');
      const std::string family = g.substr(0, first);
      std::string rest = first == std::string::npos ? "" : g.substr(first + 1), model;
      int count = 1;
      if (!rest.empty()) {
        const auto last = rest.rfind(':');
        const std::string tail = last == std::string::npos ? rest : rest.substr(last + 1);
        if (!tail.empty() && tail.find_first_not_of("0123456789") == std::string::npos && tail.size() <= 4) {
          count = std::stoi(tail);
          model = last == std::string::npos ? "" : rest.substr(0, last);
        } else {
          model = rest;
        }
      }
      if (family.empty() || g.find(',') != std::string::npos ||
          family.find_first_not_of("abcdefghijklmnopqrstuvwxyz") != std::string::npos) {
        return srun_error("Invalid generic resource (gres) specification: --gres=" + g +
                          " (gwang's steps take one accelerator kind: gpu[:type][:count])");
      }
      take("gpus_per_node", model, count);
    }
  }
  for (const auto& [key, field] : {std::pair{"gpus", "gpus"}, std::pair{"gpus_per_node", "gpus_per_node"},
                                   std::pair{"gpus_per_task", "gpus_per_task"}}) {
    auto it = o.given.find(key);
    if (it == o.given.end()) continue;
    auto tc = typed_count(it->second.text);
    if (!tc)
      return srun_error("Invalid generic resource (gres) specification: " + it->second.from + "=" + it->second.text);
    take(field, tc->first, tc->second);
  }
  if (asked > 1) return srun_error("--gres, --gpus, --gpus-per-node and --gpus-per-task: give one of them");
  if (body.contains("gpus") && body["gpus"] == 0) body.erase("gpus");
  if (body.contains("gpus_per_task") && body["gpus_per_task"] == 0) body.erase("gpus_per_task");
  if (!type.empty()) body["gpu_type"] = type;
  return std::nullopt;
}

}  // namespace

std::optional<int> step_shares(const SrunOptions& o, json& body) {
  for (const char* flag : {"exact", "overlap"}) {
    if (auto it = o.given.find(flag); it != o.given.end() && it->second.text != "0") body[flag] = true;
  }
  // -I: refused at once when the job's other steps hold what it needs; -I=N: srun asks for N seconds.
  if (auto it = o.given.find("immediate"); it != o.given.end() && it->second.text == "0") body["immediate"] = true;
  // Memory: Slurm's sizes (MB by default); 0 is all of the job's, the default. One given on the
  // command line wins over the job's SLURM_MEM_PER_* (sbatch's choice); two given there are refused.
  int typed = 0;
  for (const char* key : {"mem", "mem_per_cpu", "mem_per_gpu"}) {
    auto it = o.given.find(key);
    typed += it != o.given.end() && !it->second.from.starts_with("SLURM_");
  }
  if (typed > 1) return srun_error("--mem, --mem-per-cpu and --mem-per-gpu are mutually exclusive");
  for (const char* key : {"mem", "mem_per_cpu", "mem_per_gpu"}) {
    auto it = o.given.find(key);
    if (it == o.given.end() || (typed > 0 && it->second.from.starts_with("SLURM_"))) continue;
    auto bytes = slurm::parse_slurm_memory(it->second.text);
    if (!bytes) return srun_error(it->second.from + "=" + it->second.text + ": " + bytes.error().message);
    if (*bytes > 0) body[key] = *bytes;
    if (typed == 0) break;  // from the job's variables: the first there (sbatch sets one)
  }
  if (auto it = o.given.find("preserve_env"); it != o.given.end()) body["preserve_env"] = true;
  return step_gpus(o, body);
}

std::optional<int> step_tasks_per_gpu(const SrunOptions& o, json& body, std::optional<int>& ntasks,
                                      std::optional<int> nodes) {
  if (auto it = o.given.find("ntasks_per_gpu"); it != o.given.end()) {
    // As many tasks as the step's GPUs times the count, each bound to one GPU among as many
    // others (--gpu-bind=single:N), unless the tasks are given here.
    const auto per_gpu = positive(it->second.text);
    if (!per_gpu) return srun_error("invalid --ntasks-per-gpu value: '" + it->second.text + "' (a positive integer)");
    auto gpus = o.given.contains("gpus_per_node") ? positive(o.given.at("gpus_per_node").text) : std::nullopt;
    if (!gpus) {
      const char* on_node = std::getenv("SLURM_GPUS_ON_NODE");
      gpus = on_node ? positive(on_node) : std::nullopt;
    }
    if (!gpus) return srun_error("--ntasks-per-gpu: the step has no GPUs (give --gpus-per-node)");
    if (!ntasks || o.given.at("ntasks").from.starts_with("SLURM_")) {
      const int n = nodes.value_or(1);
      ntasks = n * *gpus * *per_gpu;
      body["ntasks"] = *ntasks;
      body["ntasks_per_node"] = *gpus * *per_gpu;
    }
    if (!o.given.contains("gpu_bind")) body["gpu_bind"] = "single:" + std::to_string(*per_gpu);
  }
  return std::nullopt;
}

std::optional<int> step_placement(const SrunOptions& o, json& body) {
  if (auto it = o.given.find("constraint"); it != o.given.end()) {
    auto ways = slurm::parse_constraint(it->second.text);
    if (!ways) return srun_error(ways.error().message);
    body["constraint"] = it->second.text;  // a step's own: the controller refuses counts and brackets
  }
  if (auto it = o.given.find("gpu_bind"); it != o.given.end()) {
    auto bind = slurm::parse_gpu_bind(it->second.text);
    if (!bind) return srun_error(bind.error().message);
    body["gpu_bind"] = it->second.text;
  }
  if (auto it = o.given.find("resv_ports"); it != o.given.end()) {
    // --resv-ports alone: as many ports as its most tasks on a node (0 to the controller).
    const std::string& n = it->second.text;
    if (!n.empty() && n != "0" && !positive(n)) return srun_error("invalid " + it->second.from + " value '" + n + "'");
    if (n != "0") body["resv_ports"] = n.empty() ? 0 : *positive(n);
  }
  return std::nullopt;
}

std::optional<int> step_mem_bind(const SrunOptions& o, json& body) {
  const auto it = o.given.find("mem_bind");
  if (it == o.given.end()) return std::nullopt;
  if (it->second.text == "help") {
    std::fputs(slurm::mem_bind_help().data(), stdout);
    return 255;
  }
  auto bind = slurm::parse_mem_bind(it->second.text);
  if (!bind) {
    std::fprintf(stderr, "srun: error: %s\n", bind.error().message.c_str());
    return 255;
  }
  for (const auto& [name, value] : slurm::mem_bind_env(*bind)) body["env"][name] = value;
  return std::nullopt;
}

std::optional<int> step_cpu_freq(const SrunOptions& o, json& body) {
  const auto it = o.given.find("cpu_freq");
  if (it == o.given.end()) return std::nullopt;
  auto freq = slurm::parse_cpu_freq(it->second.text);
  if (!freq) {
    std::fprintf(stderr, "srun: error: %s\nsrun: error: Invalid --cpu-freq argument\n", freq.error().message.c_str());
    return 255;
  }
  body["env"]["SLURM_CPU_FREQ_REQ"] = slurm::cpu_freq_text(*freq);
  return std::nullopt;
}

std::optional<int> step_gpu_freq(const SrunOptions& o, json& body) {
  const auto it = o.given.find("gpu_freq");
  if (it == o.given.end()) return std::nullopt;
  if (auto freq = slurm::parse_gpu_freq(it->second.text); !freq) {
    std::fprintf(stderr, "srun: error: %s\n", freq.error().message.c_str());
    return 255;
  }
  body["env"]["SLURMD_TRES_FREQ"] = "gpu:" + it->second.text;
  return std::nullopt;
}

}  // namespace gwang::cli
