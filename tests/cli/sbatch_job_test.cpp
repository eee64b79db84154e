// sbatch's options as a gwang job: nodes, tasks, CPUs, memory and GPUs per node; files, time,
// environment; and the options refused with their names.
#include "cli/sbatch_job.h"

#include <gtest/gtest.h>

#include "api/utf8.h"

namespace gwang::cli {
namespace {

const std::string kScript = "#!/bin/bash\nsrun python train.py\n";

SbatchContext context() {
  SbatchContext c;
  c.script = kScript;
  c.script_file = "jobs/train.sh";
  c.args = {"--lr", "0.1"};
  c.cwd = "/home/ana/proj";
  c.host = "login1";
  c.environment = {{"PATH", "/usr/bin"}, {"SLURM_JOB_ID", "77"}, {"HOME", "/home/ana"}, {"LR", "0.3"}};
  return c;
}

// Options as a script gives them.
Result<SbatchJob> job(const std::string& directives, const SbatchContext& c = context()) {
  auto o = slurm::parse_script("#!/bin/bash\n" + directives, "t.sh", slurm::Reader{slurm::utc_clock(1'700'000'000)});
  if (!o) return tl::unexpected(o.error());
  return sbatch_request(*o, c);
}

std::string env_of(const api::SubmitRequest& r, const std::string& key) {
  for (const auto& [k, v] : r.env)
    if (k == key) return v;
  return "<unset>";
}

std::string error_of(const std::string& directives) {
  auto j = job(directives);
  return j ? "<accepted>" : j.error().message;
}

TEST(SbatchRequest, AScriptWithNoOptions) {
  auto j = job("");
  ASSERT_TRUE(j) << j.error().message;
  const api::SubmitRequest& r = j->request;
  EXPECT_EQ(r.script, kScript);
  EXPECT_EQ(r.command, (std::vector<std::string>{"--lr", "0.1"}));
  EXPECT_EQ(r.name, "train.sh");
  EXPECT_EQ(r.workdir, "/home/ana/proj");
  EXPECT_EQ(r.output, "slurm-%j.out");
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.nodes, 1);
  EXPECT_EQ(r.cpus, 1);
  EXPECT_TRUE(j->partition_time) << "without -t, the partition's longest time limit (set by the caller)";
  EXPECT_EQ(env_of(r, "PATH"), "/usr/bin");
  EXPECT_EQ(env_of(r, "SLURM_JOB_ID"), "<unset>") << "another job's variables are not carried over";
  EXPECT_EQ(env_of(r, "SLURM_SUBMIT_DIR"), "/home/ana/proj");
  EXPECT_EQ(env_of(r, "SLURM_SUBMIT_HOST"), "login1");
  EXPECT_EQ(env_of(r, "SLURM_NTASKS"), "<unset>");
  EXPECT_TRUE(j->warnings.empty());
}

TEST(SbatchRequest, NodesTasksAndCpus) {
  auto a = job("#SBATCH -N 2 --ntasks-per-node=4 -c 8\n");
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->request.nodes, 2);
  EXPECT_EQ(a->request.cpus, 32);
  EXPECT_EQ(env_of(a->request, "SLURM_NTASKS"), "8");
  EXPECT_EQ(env_of(a->request, "SLURM_NPROCS"), "8");
  EXPECT_EQ(env_of(a->request, "SLURM_NTASKS_PER_NODE"), "4");
  EXPECT_EQ(env_of(a->request, "SLURM_CPUS_PER_TASK"), "8");

  auto b = job("#SBATCH -n 16 --ntasks-per-node=4\n");  // nodes from the two counts
  ASSERT_TRUE(b);
  EXPECT_EQ(b->request.nodes, 4);
  EXPECT_EQ(b->request.cpus, 4);

  auto c = job("#SBATCH -n 5 -N 2\n");  // spread: at most 3 on a node
  ASSERT_TRUE(c);
  EXPECT_EQ(c->request.cpus, 3);
  EXPECT_EQ(env_of(c->request, "SLURM_NTASKS"), "5");

  auto d = job("#SBATCH -n 1 -N 2\n");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->request.nodes, 1);
  EXPECT_EQ(d->warnings, (std::vector<std::string>{"can't run 1 processes on 2 nodes, setting nnodes to 1"}));

  auto e = job("#SBATCH -N 2-4\n");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->request.nodes, 2);
  EXPECT_EQ(e->warnings.size(), 1u);

  EXPECT_EQ(error_of("#SBATCH --ntasks-per-node=64 -c 128\n"),
            "64 task(s) of 128 CPU(s) on one node: more than 4096 CPUs per node");
}

TEST(SbatchRequest, MemoryIsPerNode) {
  auto a = job("#SBATCH --mem=16G\n");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->request.mem_bytes, 16LL << 30);
  EXPECT_EQ(env_of(a->request, "SLURM_MEM_PER_NODE"), "16384");
  auto b = job("#SBATCH -c 4 --mem-per-cpu=2000\n");  // MiB
  ASSERT_TRUE(b);
  EXPECT_EQ(b->request.mem_bytes, 4 * 2000LL << 20);
  EXPECT_EQ(env_of(b->request, "SLURM_MEM_PER_CPU"), "2000");
  auto later = job("#SBATCH --mem=1G --mem-per-cpu=2G\n");  // the later of the two stands
  ASSERT_TRUE(later);
  EXPECT_EQ(later->request.mem_bytes, 2LL << 30);
  EXPECT_EQ(error_of("#SBATCH --mem=0\n"),
            "--mem=0 (all of a node's memory) is not supported by gwang; give an amount");
}

TEST(SbatchRequest, GpusEveryWay) {
  auto gres = job("#SBATCH --gres=gpu:a100:2\n");
  ASSERT_TRUE(gres) << gres.error().message;
  EXPECT_EQ(gres->request.gpus.count, 2);
  EXPECT_EQ(gres->request.gpus.models, std::vector<std::string>{"a100"});
  EXPECT_EQ(env_of(gres->request, "SLURM_GPUS_ON_NODE"), "2");
  auto per_node = job("#SBATCH -N 2 --gpus-per-node=4\n");
  ASSERT_TRUE(per_node);
  EXPECT_EQ(per_node->request.gpus.count, 4);
  EXPECT_TRUE(per_node->request.gpus.models.empty());
  auto per_task = job("#SBATCH --ntasks-per-node=2 --gpus-per-task=h100:1\n");
  ASSERT_TRUE(per_task);
  EXPECT_EQ(per_task->request.gpus.count, 2);
  EXPECT_EQ(per_task->request.gpus.models, std::vector<std::string>{"h100"});
  auto per_job = job("#SBATCH -N 2 --gpus=8\n");
  ASSERT_TRUE(per_job);
  EXPECT_EQ(per_job->request.gpus.count, 4);
  auto npu = job("#SBATCH --gres=npu:ascend910:8\n");
  ASSERT_TRUE(npu);
  EXPECT_EQ(npu->request.gpus.models, std::vector<std::string>{"npu:ascend910"});

  EXPECT_EQ(error_of("#SBATCH -N 2 --gpus=3\n"),
            "--gpus: 3 GPUs do not split evenly over 2 nodes (gwang gives each node as many); use --gpus-per-node");
  EXPECT_EQ(error_of("#SBATCH --gres=gpu:1 --gpus-per-node=1\n"),
            "ask for GPUs one way: --gres, --gpus-per-node, --gpus-per-task or --gpus");
  EXPECT_EQ(error_of("#SBATCH --gres=gpu:1,npu:x:1\n"), "--gres: one kind of device per job");
  EXPECT_EQ(error_of("#SBATCH --gres=mps:100\n"), "--gres: 'mps' is not a device gwang schedules (gpu or npu)");
  EXPECT_EQ(error_of("#SBATCH --gres=npu:2\n"), "--gres: name the NPU model (npu:MODEL:COUNT)");
}

// Tasks by GPU: the tasks from the GPUs (and their CPUs), or the GPUs from the tasks.
TEST(SbatchRequest, TasksPerGpu) {
  auto by_gpus = job("#SBATCH -N 2 --gpus-per-node=2 --ntasks-per-gpu=3 -c 2\n");
  ASSERT_TRUE(by_gpus) << by_gpus.error().message;
  EXPECT_EQ(by_gpus->request.gpus.count, 2);
  EXPECT_EQ(by_gpus->request.cpus, 12) << "six tasks of two CPUs on each node";
  EXPECT_EQ(env_of(by_gpus->request, "SLURM_NTASKS"), "12");
  EXPECT_EQ(env_of(by_gpus->request, "SLURM_NTASKS_PER_GPU"), "3");
  auto by_tasks = job("#SBATCH -n 5 --ntasks-per-tres=2\n");
  ASSERT_TRUE(by_tasks) << by_tasks.error().message;
  EXPECT_EQ(by_tasks->request.gpus.count, 3) << "five tasks, two to a GPU";
  EXPECT_EQ(error_of("#SBATCH --ntasks-per-gpu=2\n"),
            "--ntasks-per-gpu: give the GPUs (--gpus, --gres, --gpus-per-node) or the tasks (-n)");
  EXPECT_EQ(error_of("#SBATCH --gpus-per-task=1 --ntasks-per-gpu=2\n"),
            "--ntasks-per-gpu is mutually exclusive with --gpus-per-task");
}

// CPUs and memory by GPU, a least CPU count, overcommit, the steps' layout, and the options about
// booting nodes, which nodes here never need.
TEST(SbatchRequest, PerGpuMincpusOvercommitAndLayout) {
  auto g = job("#SBATCH --gpus-per-node=2 --cpus-per-gpu=8 --mem-per-gpu=10G\n");
  ASSERT_TRUE(g) << g.error().message;
  EXPECT_EQ(g->request.cpus, 16);
  EXPECT_EQ(g->request.mem_bytes, 20LL << 30);
  EXPECT_EQ(env_of(g->request, "SLURM_CPUS_PER_GPU"), "8");
  EXPECT_EQ(env_of(g->request, "SLURM_MEM_PER_GPU"), "10240");
  EXPECT_EQ(error_of("#SBATCH --cpus-per-gpu=2\n"), "--cpus-per-gpu: the job asks for no GPUs");
  EXPECT_EQ(error_of("#SBATCH --gpus-per-node=1 -c 2 --cpus-per-gpu=2\n"),
            "--cpus-per-gpu and --cpus-per-task: give one of them");
  auto later = job("#SBATCH --gpus-per-node=1 --mem-per-gpu=4G --mem=1G\n");  // the later stands
  ASSERT_TRUE(later);
  EXPECT_EQ(later->request.mem_bytes, 1LL << 30);
  EXPECT_EQ(env_of(later->request, "SLURM_MEM_PER_GPU"), "<unset>");
  auto least = job("#SBATCH -n 2 --mincpus=6\n");
  ASSERT_TRUE(least);
  EXPECT_EQ(least->request.cpus, 6);
  auto over = job("#SBATCH --ntasks-per-node=8 -c 2 -O\n");
  ASSERT_TRUE(over);
  EXPECT_EQ(over->request.cpus, 2) << "one task's CPUs";
  EXPECT_EQ(env_of(over->request, "SLURM_NTASKS"), "8");
  auto cyclic = job("#SBATCH -m cyclic\n");
  ASSERT_TRUE(cyclic);
  EXPECT_EQ(env_of(cyclic->request, "SLURM_DISTRIBUTION"), "cyclic");
  EXPECT_EQ(error_of("#SBATCH -m plane=4\n"),
            "t.sh:2: --distribution=plane=4: gwang lays tasks out by block or cyclic");
  auto range = job("#SBATCH -N 2-4 --use-min-nodes\n");
  ASSERT_TRUE(range);
  EXPECT_EQ(range->request.nodes, 2);
  EXPECT_TRUE(range->warnings.empty());
  EXPECT_TRUE(job("#SBATCH --wait-all-nodes=1 --reboot --delay-boot=10\n"));
  EXPECT_EQ(error_of("#SBATCH --wait-all-nodes=2\n"), "t.sh:2: --wait-all-nodes: '2' is neither 0 nor 1");
}

// How tasks lie on cores: the nodes they need, the threads of each core used, and what srun is told.
TEST(SbatchRequest, HintsAndTasksPerCoreOrSocket) {
  auto h = job("#SBATCH -n 4 --hint=nomultithread\n");
  ASSERT_TRUE(h) << h.error().message;
  EXPECT_EQ(h->request.cpu_threads_per_core, 1);
  EXPECT_EQ(env_of(h->request, "SLURM_HINT"), "nomultithread");
  EXPECT_EQ(env_of(h->request, "SLURM_THREADS_PER_CORE"), "1");
  auto m = job("#SBATCH --hint=multithread\n");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->request.cpu_threads_per_core, 0);
  EXPECT_EQ(env_of(m->request, "SLURM_NTASKS_PER_CORE"), "65535");
  auto c = job("#SBATCH -n 6 --ntasks-per-core=2 --ntasks-per-socket=4 --hint=compute_bound\n");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->request.cores_per_node, 3);
  EXPECT_EQ(c->request.sockets_per_node, 2);
  EXPECT_EQ(c->request.cpu_threads_per_core, 0) << "the hint is dropped, as Slurm's sbatch drops it";
  EXPECT_EQ(env_of(c->request, "SLURM_HINT"), "<unset>");
  EXPECT_EQ(env_of(c->request, "SLURM_NTASKS_PER_CORE"), "2");
  EXPECT_EQ(env_of(c->request, "SLURM_NTASKS_PER_SOCKET"), "4");
  auto t = job("#SBATCH --threads-per-core=2\n");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->request.threads_per_core, 2);
  EXPECT_EQ(t->request.cpu_threads_per_core, 2);
  EXPECT_EQ(env_of(t->request, "SLURM_THREADS_PER_CORE"), "2");
  EXPECT_EQ(error_of("#SBATCH --hint=bogus\n"), "unrecognized --hint argument \"bogus\", see --hint=help");
}

TEST(SbatchRequest, FilesTimeAndConditions) {
  auto a =
      job("#SBATCH -J sweep -o logs/%x-%A_%a.out -e logs/%x-%A_%a.err -i in.txt --open-mode=append -D run\n"
          "#SBATCH -t 2-00:00:00 -a 0-9%2 -d afterok:12 --begin=now+1hour --no-requeue -A proj --comment=hi\n");
  ASSERT_TRUE(a) << a.error().message;
  const api::SubmitRequest& r = a->request;
  EXPECT_EQ(r.name, "sweep");
  EXPECT_EQ(r.workdir, "/home/ana/proj/run");
  EXPECT_EQ(r.output, "logs/%x-%A_%a.out");
  EXPECT_EQ(r.error, "logs/%x-%A_%a.err");
  EXPECT_EQ(r.input, "in.txt");
  EXPECT_TRUE(r.open_append);
  EXPECT_EQ(r.time_s, 2 * 86400);
  EXPECT_FALSE(a->partition_time);
  EXPECT_EQ(r.array, "0-9%2");
  EXPECT_EQ(r.dependency, "afterok:12");
  EXPECT_EQ(r.begin, 1'700'000'000 + 3600);
  EXPECT_FALSE(r.requeue);
  EXPECT_EQ(r.project, "proj");
  EXPECT_EQ(r.comment, "hi");
  auto arr = job("#SBATCH --array=1-3\n");
  ASSERT_TRUE(arr);
  EXPECT_EQ(arr->request.output, "slurm-%A_%a.out") << "an array's default output";
  auto unlimited = job("#SBATCH -t UNLIMITED\n");
  ASSERT_TRUE(unlimited);
  EXPECT_EQ(unlimited->request.time_s, 365 * 86400);
  EXPECT_EQ(error_of("#SBATCH -t 400-00:00:00\n"), "--time: 400-00:00:00 is longer than gwang's longest, 365-00:00:00");
}

TEST(SbatchRequest, Export) {
  auto none = job("#SBATCH --export=NONE\n");
  ASSERT_TRUE(none);
  EXPECT_EQ(env_of(none->request, "PATH"), "<unset>");
  EXPECT_EQ(env_of(none->request, "SLURM_SUBMIT_DIR"), "/home/ana/proj");
  EXPECT_EQ(env_of(none->request, "SLURM_EXPORT_ENV"), "NONE");
  auto some = job("#SBATCH --export=LR,EPOCHS=3,MISSING\n");
  ASSERT_TRUE(some);
  EXPECT_EQ(env_of(some->request, "LR"), "0.3");
  EXPECT_EQ(env_of(some->request, "EPOCHS"), "3");
  EXPECT_EQ(env_of(some->request, "HOME"), "<unset>");
  EXPECT_EQ(env_of(some->request, "MISSING"), "<unset>");
  EXPECT_EQ(env_of(some->request, "SLURM_EXPORT_ENV"), "LR,EPOCHS=3,MISSING") << "as given, values and all";
  auto all = job("#SBATCH --export=ALL,LR=0.5\n");
  ASSERT_TRUE(all);
  EXPECT_EQ(env_of(all->request, "LR"), "0.5");
  EXPECT_EQ(env_of(all->request, "HOME"), "/home/ana");
  // Without ALL the job starts from its user's login environment, as with --get-user-env.
  EXPECT_EQ(env_of(none->request, "SLURM_GET_USER_ENV"), "1");
  EXPECT_EQ(env_of(some->request, "SLURM_GET_USER_ENV"), "1");
  EXPECT_EQ(env_of(all->request, "SLURM_GET_USER_ENV"), "<unset>");
  auto login = job("#SBATCH --get-user-env=10L\n");
  ASSERT_TRUE(login) << login.error().message;
  EXPECT_EQ(env_of(login->request, "SLURM_GET_USER_ENV"), "1");
  EXPECT_EQ(env_of(login->request, "HOME"), "/home/ana");
  EXPECT_EQ(error_of("#SBATCH --get-user-env=10X\n"),
            "t.sh:2: --get-user-env: '10X': expected [TIMEOUT][L|S], e.g. 10L");

  SbatchContext c = context();
  c.environment.emplace_back("BAD", "\xff");
  auto bad = job("", c);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "environment variable BAD: not valid UTF-8 (leave it out with --export)");
  EXPECT_TRUE(job("#SBATCH --export=NONE\n", c)) << "left out, it is no matter";
}

// The submitter's resource limits go with the job: all of them, or those --propagate names.
TEST(SbatchRequest, Propagate) {
  SbatchContext c = context();
  c.rlimits = {{"NOFILE", 512}, {"STACK", 8388608}};
  auto all = job("", c);
  ASSERT_TRUE(all);
  EXPECT_EQ(env_of(all->request, "SLURM_RLIMIT_NOFILE"), "512");
  EXPECT_EQ(env_of(all->request, "SLURM_RLIMIT_STACK"), "8388608");
  auto stack = job("#SBATCH --propagate=STACK\n", c);
  ASSERT_TRUE(stack);
  EXPECT_EQ(env_of(stack->request, "SLURM_RLIMIT_NOFILE"), "<unset>");
  EXPECT_EQ(env_of(stack->request, "SLURM_RLIMIT_STACK"), "8388608");
  auto none = job("#SBATCH --propagate=NONE\n", c);
  ASSERT_TRUE(none);
  EXPECT_EQ(env_of(none->request, "SLURM_RLIMIT_STACK"), "<unset>");
  EXPECT_EQ(error_of("#SBATCH --propagate=FILES\n"),
            "t.sh:2: --propagate: 'FILES' is not a resource limit (ALL, NONE, AS, CORE, CPU, DATA, FSIZE, MEMLOCK, "
            "NOFILE, NPROC, RSS or STACK)");
}

// What --export-file defined goes with the job, whatever --export says.
TEST(SbatchRequest, ExportFile) {
  SbatchContext c = context();
  c.export_file = {{"SEED", "7"}, {"NOTE", "a b\nc"}};
  auto j = job("#SBATCH --export=NONE\n", c);
  ASSERT_TRUE(j) << j.error().message;
  EXPECT_EQ(env_of(j->request, "SEED"), "7");
  EXPECT_EQ(env_of(j->request, "NOTE"), "a b\nc");
  c.export_file = {{"BAD", "\xff"}};
  auto bad = job("", c);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "--export-file: BAD is not valid UTF-8");
}

// The submitter's scheduling priority and file mode mask go with the job, as Slurm's sbatch sends them.
TEST(SbatchRequest, PriorityAndMask) {
  SbatchContext c = context();
  c.nice = 5;
  c.umask = 027;
  auto j = job("", c);
  ASSERT_TRUE(j);
  EXPECT_EQ(env_of(j->request, "SLURM_PRIO_PROCESS"), "5");
  EXPECT_EQ(env_of(j->request, "SLURM_UMASK"), "0027");
}

TEST(SbatchRequest, NamesAndScripts) {
  SbatchContext c = context();
  c.wrapped = true;
  c.script_file.clear();
  EXPECT_EQ(job("", c)->request.name, "wrap");
  c.wrapped = false;
  EXPECT_EQ(job("", c)->request.name, "sbatch");
  c.script = "#!/bin/sh\necho \xc3\x28\n";
  auto bad = sbatch_request({}, c);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "the script is not valid UTF-8 (byte 15)");
}

TEST(SbatchRequest, PartitionAndHold) {
  auto a = job("#SBATCH -p gpu -H\n");
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->request.partition, "gpu");
  EXPECT_TRUE(a->request.hold);
  EXPECT_EQ(error_of("#SBATCH -p gpu,cpu\n"),
            "--partition: gwang runs a job in one partition ('gpu,cpu' names several)");
}

// A QOS is an allocation programme of the project's grants (the controller checks the name).
TEST(SbatchRequest, QosIsTheProgramme) {
  auto a = job("#SBATCH -q voucher -A p\n");
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->request.qos, "voucher");
  EXPECT_EQ(a->request.project, "p");
}

TEST(ValidUtf8, RefusesWhatIsNot) {
  std::size_t at = 0;
  EXPECT_TRUE(api::valid_utf8("plain \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  for (const char* bad : {"\x80", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80",
                          "\xc3", "\xe2\x82"}) {
    EXPECT_FALSE(api::valid_utf8(std::string("ok") + bad, &at)) << bad;
    EXPECT_EQ(at, 2u);
  }
}

}  // namespace
}  // namespace gwang::cli
