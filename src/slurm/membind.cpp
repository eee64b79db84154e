#include "slurm/membind.h"

#include <algorithm>
#include <cctype>

namespace gwang::slurm {

namespace {

std::string join(const std::vector<std::string>& list) {
  std::string out;
  for (const std::string& e : list) out += (out.empty() ? "" : ",") + e;
  return out;
}

// A list's elements: node numbers (decimal, or hexadecimal with 0x) or masks (hexadecimal, 0x
// optional, kept without it); Slurm's words for the first character that is neither.
Result<std::vector<std::string>> parse_list(std::string_view list, bool mask) {
  std::vector<std::string> out;
  for (std::size_t at = 0; at <= list.size();) {
    const std::size_t comma = std::min(list.find(',', at), list.size());
    std::string_view e = list.substr(at, comma - at);
    at = comma + 1;
    const std::string given(e);
    const bool hex = e.starts_with("0x") || e.starts_with("0X");
    if (hex) e.remove_prefix(2);
    const auto bad = std::find_if(e.begin(), e.end(), [&](char c) {
      return mask || hex ? !std::isxdigit(static_cast<unsigned char>(c)) : !std::isdigit(static_cast<unsigned char>(c));
    });
    if (e.empty() || bad != e.end()) {
      return fail("Failed to validate number: " + given + ", the offending character is " +
                  (bad != e.end() ? std::string(1, *bad) : std::string()));
    }
    out.push_back(mask || !hex ? std::string(e) : std::to_string(std::stoul(std::string(e), nullptr, 16)));
  }
  return out;
}

}  // namespace

Result<MemBind> parse_mem_bind(std::string_view text) {
  MemBind out;
  for (std::size_t at = 0; at <= text.size();) {
    const std::size_t comma = std::min(text.find(',', at), text.size());
    const std::string_view w = text.substr(at, comma - at);
    if (w.starts_with("map_mem") || w.starts_with("mask_mem")) {
      const bool mask = w.starts_with("mask_mem");
      const std::string_view rest = text.substr(at + (mask ? 8 : 7));
      if (rest.size() < 2 || (rest[0] != ':' && rest[0] != '=')) {
        return fail(std::string("missing list for \"--mem-bind=") + (mask ? "mask_mem" : "map_mem") + ":<list>\"");
      }
      auto list = parse_list(rest.substr(1), mask);
      if (!list) return tl::unexpected(list.error());
      out.type = mask ? "mask_mem" : "map_mem";
      out.list = std::move(*list);
      return out;  // the list takes the rest, commas and all
    }
    at = comma + 1;
    if (w == "q" || w == "quiet") {
      out.verbose = false;
    } else if (w == "v" || w == "verbose") {
      out.verbose = true;
    } else if (w == "p" || w == "prefer") {
      out.prefer = true;
    } else if (w == "sort" || w == "nosort") {
      out.sort = std::string(w);
    } else if (w == "no" || w == "none") {
      out.type = "none";
    } else if (w == "local" || w == "rank") {
      out.type = std::string(w);
    } else {
      return fail("unrecognized --mem-bind argument \"" + std::string(w) + "\"");
    }
  }
  return out;
}

std::string_view mem_bind_help() {
  return "Memory bind options:\n"
         "    --mem-bind=         Bind memory to locality domains (ldom)\n"
         "        nosort          avoid sorting pages at startup\n"
         "        sort            sort pages at startup\n"
         "        q[uiet]         quietly bind before task runs (default)\n"
         "        v[erbose]       verbosely report binding before task runs\n"
         "        no[ne]          don't bind tasks to memory (default)\n"
         "        rank            bind by task rank\n"
         "        local           bind to memory local to processor\n"
         "        map_mem:<list>  specify a memory binding for each task\n"
         "                        where <list> is <cpuid1>,<cpuid2>,...<cpuidN>\n"
         "        mask_mem:<list> specify a memory binding mask for each tasks\n"
         "                        where <list> is <mask1>,<mask2>,...<maskN>\n"
         "        help            show this help message\n";
}

std::string mem_bind_text(const MemBind& bind) {
  std::string out = bind.verbose ? "verbose" : "quiet";
  if (bind.prefer) out += ",prefer";
  out += "," + bind.type;
  if (!bind.list.empty()) out += ":" + join(bind.list);
  return out;
}

std::vector<std::pair<std::string, std::string>> mem_bind_env(const MemBind& bind) {
  if (bind.type.empty()) return {};
  std::vector<std::pair<std::string, std::string>> out = {{"SLURM_MEM_BIND", mem_bind_text(bind)},
                                                          {"SLURM_MEM_BIND_LIST", join(bind.list)}};
  if (bind.prefer) out.emplace_back("SLURM_MEM_BIND_PREFER", "prefer");
  if (!bind.sort.empty()) out.emplace_back("SLURM_MEM_BIND_SORT", bind.sort);
  const bool listed = bind.type == "map_mem" || bind.type == "mask_mem";
  out.emplace_back("SLURM_MEM_BIND_TYPE", bind.type + (listed ? ":" : ""));
  out.emplace_back("SLURM_MEM_BIND_VERBOSE", bind.verbose ? "verbose" : "quiet");
  return out;
}

MemBind mem_bind_of(const std::vector<std::pair<std::string, std::string>>& env) {
  MemBind out;
  std::string list;
  for (const auto& [key, value] : env) {
    if (key == "SLURM_MEM_BIND_TYPE") out.type = value.substr(0, value.find(':'));
    if (key == "SLURM_MEM_BIND_LIST") list = value;
    if (key == "SLURM_MEM_BIND_PREFER") out.prefer = value == "prefer";
    if (key == "SLURM_MEM_BIND_SORT") out.sort = value;
    if (key == "SLURM_MEM_BIND_VERBOSE") out.verbose = value == "verbose";
  }
  if (out.type == "map_mem" || out.type == "mask_mem") {
    auto parsed = parse_list(list, out.type == "mask_mem");
    if (parsed && !parsed->empty()) {
      out.list = std::move(*parsed);
    } else {
      out.type.clear();  // not a list srun made: nothing is bound
    }
  } else if (out.type != "none" && out.type != "local" && out.type != "rank") {
    out.type.clear();
  }
  return out;
}

TaskMemory task_memory(const MemBind& bind, int local, const std::vector<int>& cpus,
                       const std::map<int, std::vector<int>>& numa_given) {
  TaskMemory out;
  if (bind.type.empty()) return out;
  std::map<int, std::vector<int>> numa = numa_given;
  if (numa.empty()) numa[0] = {};  // no NUMA information: one node, holding every CPU
  const std::string label = bind.type == "local"      ? "LOC"
                            : bind.type == "rank"     ? "RANK"
                            : bind.type == "map_mem"  ? "MAP"
                            : bind.type == "mask_mem" ? "MASK"
                                                      : "NONE";
  out.note = bind.prefer && bind.type != "none" ? "mem-bind PREFER " + label : "mem-bind=" + label;
  const auto missing = [&](int node) {
    out.error = "NUMA node " + std::to_string(node) + " does not exist; cannot bind local task " +
                std::to_string(local) + " to it (--mem-bind=" + bind.type + ")";
    return out;
  };
  const auto element = [&] { return bind.list[static_cast<std::size_t>(local) % bind.list.size()]; };
  if (bind.type == "none") {
    for (const auto& [node, held] : numa) out.nodes.push_back(node);
    return out;
  }
  out.bind = true;
  if (bind.type == "local") {
    for (const auto& entry : numa) {
      const std::vector<int>& held = entry.second;
      const bool near = cpus.empty() || held.empty() || std::any_of(cpus.begin(), cpus.end(), [&held](int c) {
                          return std::find(held.begin(), held.end(), c) != held.end();
                        });
      if (near) out.nodes.push_back(entry.first);
    }
  } else if (bind.type == "rank" || bind.type == "map_mem") {
    const int node = bind.type == "rank" ? local : static_cast<int>(std::min(std::stoul(element()), 1ul << 20));
    if (!numa.contains(node)) return missing(node);
    out.nodes = {node};
  } else {  // mask_mem: hexadecimal digits, the last the lowest nodes
    const std::string mask = element();
    for (std::size_t i = 0; i < mask.size() && i < 256; ++i) {
      const char c = mask[mask.size() - 1 - i];
      const int digit = std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : std::tolower(c) - 'a' + 10;
      for (int bit = 0; bit < 4; ++bit) {
        if (!(digit & (1 << bit))) continue;
        const int node = static_cast<int>(i) * 4 + bit;
        if (!numa.contains(node)) return missing(node);
        out.nodes.push_back(node);
      }
    }
  }
  out.bind = !out.nodes.empty();  // a mask of no node binds nothing
  return out;
}

}  // namespace gwang::slurm
