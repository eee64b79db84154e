// The controller's memory per waiting job, counted by malloc rather than read from the process's
// resident size: a controller in this process on a memory journal, one registered node kept busy,
// then N waiting jobs submitted as `cluster_bench` submits them; the heap in use before and after
// (mallinfo2), divided by N. Also the same after a view is published and every job changed once,
// the worst case of copy-on-write (each record copied while the view holds the old one).
//
//   build/bench/job_memory [N]     # default 100,000
#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "controller/controller.h"
#include "store/journal.h"

using namespace gwang;

namespace {

std::size_t heap_in_use() {
  malloc_trim(0);
  return mallinfo2().uordblks;
}

}  // namespace

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::atol(argv[1]) : 100000;
  char dir[] = "/tmp/gwang_job_memory_XXXXXX";
  if (!::mkdtemp(dir)) return 1;
  controller::ControllerOptions o;
  o.data_dir = dir;
  controller::ControllerParts parts;
  parts.journal = store::make_memory_journal();
  auto c = controller::Controller::open(o, std::move(parts), 1'800'000'000);
  if (!c) {
    std::fprintf(stderr, "job_memory: %s\n", c.error().message.c_str());
    return 1;
  }
  controller::Controller& ctl = **c;
  agent::protocol::SyncRequest node;
  node.node = "n1";
  node.instance = "bench";
  node.address = "10.0.0.1";
  node.host.cpus = 64;
  node.host.memory_bytes = 512LL << 30;
  for (int d = 0; d < 8; ++d) node.host.devices.push_back({"gpu:H100", "H100", "GPU-" + std::to_string(d), d, 80LL << 30, false});
  if (auto r = ctl.sync(node, "10.0.0.1", agent::Clock::now(), 1'800'000'000); !r) return 1;
  auto owner = agent::lookup_account("nobody");
  if (!owner) return 1;
  api::SubmitRequest whole;
  whole.command = {"sleep", "1d"};
  whole.cpus = 64;
  whole.mem_bytes = 500LL << 30;
  whole.gpus.count = 8;
  whole.time_s = 2 * 86400;
  if (auto r = ctl.submit(whole, *owner, 1'800'000'000); !r) return 1;
  ctl.round(agent::Clock::now(), 1'800'000'000);  // it runs: the others wait
  api::SubmitRequest one;
  one.command = {"python3", "train.py"};
  one.cpus = 8;
  one.mem_bytes = 60LL << 30;
  one.gpus.count = 1;
  one.time_s = 4 * 3600;
  const std::size_t before = heap_in_use();
  for (long i = 0; i < n; ++i) {
    one.name = "job" + std::to_string(i % 97);
    if (auto r = ctl.submit(one, *owner, 1'800'000'001 + i / 1000); !r) {
      std::fprintf(stderr, "job_memory: %s\n", r.error().message.c_str());
      return 1;
    }
  }
  ctl.round(agent::Clock::now(), 1'800'000'200);  // a pass: every waiting job's reason noted
  const std::size_t after = heap_in_use();
  std::printf("%ld waiting jobs: %.0f bytes each (malloc's count)\n", n,
              static_cast<double>(after - before) / static_cast<double>(n));
  auto held = ctl.view();  // a reader holds this view while every job changes once
  for (long i = 0; i < n; ++i) (void)ctl.set_hold(2 + i, true, "nobody", false, 1'800'000'300);
  const std::size_t shared = heap_in_use();
  std::printf("with a view held while each changed once: %.0f bytes each\n",
              static_cast<double>(shared - before) / static_cast<double>(n));
  held.reset();
  std::printf("after the view was let go: %.0f bytes each\n",
              static_cast<double>(heap_in_use() - before) / static_cast<double>(n));
  c->reset();
  std::filesystem::remove_all(dir);
  return 0;
}
