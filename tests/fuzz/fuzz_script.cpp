// libFuzzer target: Slurm's languages on arbitrary bytes. The first byte picks what the rest is:
// a job script (its #SBATCH directives), a host list, an sbatch command line (one argument per
// line), or array, dependency and begin specs. A refusal says where and what; what is accepted
// holds only allowed values, and what gwang writes back (a host list, an array, a dependency)
// reads back the same.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "slurm/hostlist.h"
#include "slurm/sbatch.h"

namespace {

void check_at(bool ok, int line) {
  if (ok) return;
  std::fprintf(stderr, "fuzz_script.cpp:%d: check failed\n", line);
  std::abort();
}
#define check(ok) check_at((ok), __LINE__)

using namespace gwang::slurm;

void check_options(const SbatchOptions& o) {
  if (o.time && !o.time->unlimited) check(o.time->minutes > 0);
  if (o.nodes) check(o.nodes->min >= 1 && o.nodes->min <= o.nodes->max);
  if (o.array) {
    check(!o.array->indices.empty());
    for (std::size_t i = 0; i < o.array->indices.size(); ++i) {
      check(o.array->indices[i] >= 0 && o.array->indices[i] < 1001);
      if (i > 0) check(o.array->indices[i - 1] < o.array->indices[i]);
    }
  }
  if (o.ntasks) check(*o.ntasks >= 1);
  if (o.cpus_per_task) check(*o.cpus_per_task >= 1 && *o.cpus_per_task <= 4096);
  check(!(o.mem_per_node && o.mem_per_cpu));
  if (o.job_name) check(!o.job_name->empty());
}

void host_list(const std::string& text) {
  auto h = HostList::parse(text, 100000);
  if (!h) {
    check(!h.error().message.empty());
    return;
  }
  const std::string once = h->str();
  const std::vector<std::string> names = h->expand();
  check(names.size() == h->size());
  // Printed and read back: the same names. The text may change once, where a prefix ends in a
  // digit ("a4,a1[0]" prints as "a4,a10", which reads back as "a[4,10]"), and then no more.
  auto again = HostList::parse(once, 100000);
  check(again.has_value());
  check(again->expand() == names);
  auto third = HostList::parse(again->str(), 100000);
  check(third.has_value());
  check(third->str() == again->str());
  // The names compressed afresh read back as the same names (not always as the same text: in
  // "a1[2-3]" the prefix ends in a digit, and a12,a13 compress to "a[12-13]").
  auto fresh = HostList::parse(compress_hosts(names), 100000);
  check(fresh.has_value());
  check(fresh->expand() == names);
  HostList sorted = *h;
  sorted.sort();
  check(sorted.size() == h->size());
  HostList twice = sorted;
  twice.sort();
  check(twice.str() == sorted.str());
}

void specs(const std::string& text) {
  if (auto a = parse_array(text)) {
    auto back = parse_array(format_array(*a));
    check(back.has_value());
    check(back->indices == a->indices && back->max_running == a->max_running);
  }
  if (auto d = parse_dependency(text)) {
    auto back = parse_dependency(format_dependency(*d));
    check(back.has_value());
    check(*back == *d);
  }
  if (auto t = parse_time_limit(text); t && !t->unlimited) {
    auto back = parse_time_limit(format_time_limit(*t).substr(0, format_time_limit(*t).size()));
    check(back.has_value());
    check(back->minutes == t->minutes);
  }
  (void)parse_begin(text, utc_clock(1795791600));
  (void)parse_gres(text);
  (void)parse_export(text);
  PatternContext ctx;
  ctx.job_id = 7;
  (void)expand_pattern(text, ctx);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const Reader reader{utc_clock(1795791600), 1001};
  switch (data[0] % 4) {
    case 0: {
      auto o = parse_script(rest, "f.sh", reader);
      if (!o) {
        check(o.error().message.starts_with("f.sh"));
      } else {
        check_options(*o);
      }
      break;
    }
    case 1:
      host_list(rest);
      break;
    case 2: {
      std::vector<std::string> args;
      std::size_t pos = 0;
      while (pos <= rest.size()) {
        const std::size_t nl = std::min(rest.find('\n', pos), rest.size());
        args.push_back(rest.substr(pos, nl - pos));
        pos = nl + 1;
      }
      auto c = parse_command_line(args, reader);
      if (c) {
        check_options(c->options);
        check(c->rest.size() <= args.size());
      }
      break;
    }
    default:
      specs(rest);
      break;
  }
  return 0;
}
