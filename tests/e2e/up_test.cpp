// End to end: a real `gwang up` process and the `gwang` command against it, as a user would.
#include <gtest/gtest.h>
#include <pwd.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "controller/events.h"
#include "up_fixture.h"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A value left-justified in a field of sacct's, as it pads them.
std::string slurm_fit(const std::string& v, std::size_t width) {
  return v.size() >= width ? v : v + std::string(width - v.size(), ' ');
}

// Submit, run as the job's account, read its output and its exit code.
TEST_F(Up, SubmitRunLogsAndExitCode) {
  const std::string ok = submit("-- sh -c 'echo hello; id -un; pwd'");
  EXPECT_NE(wait_ended(ok).find("State=COMPLETED ExitCode=0"), std::string::npos);
  EXPECT_EQ(gwang("logs " + ok).output, "hello\nnobody\n" + (dir_ / "work").string() + "\n");
  const std::string bad = submit("-- sh -c 'echo oops >&2; exit 3'");
  EXPECT_NE(wait_ended(bad).find("State=FAILED ExitCode=3"), std::string::npos);
  EXPECT_EQ(gwang("logs --stderr " + bad).output, "oops\n");
  const Outcome q = gwang("queue --all");
  // One row per job: id, name, owner, state, time, node, and how it ended.
  EXPECT_TRUE(std::regex_search(q.output, std::regex("\n +" + ok + " sh +nobody +COMPLETED +\\S+ +\\S+ +exited\n")))
      << q.output;
  EXPECT_TRUE(std::regex_search(q.output, std::regex("\n +" + bad + " sh +nobody +FAILED +\\S+ +\\S+ +exited\n")))
      << q.output;
  // A job that waits says why.
  char host[256] = "";
  ::gethostname(host, sizeof host - 1);  // gwang up's node is this host
  ASSERT_EQ(gwang(std::string("drain ") + host).status, 0);
  const std::string waiting = submit("-- true");
  std::string out;
  for (int i = 0; i < 200 && out.find("NodesUnavailable") == std::string::npos; ++i) {
    std::this_thread::sleep_for(10ms);
    out = gwang("queue").output;
  }
  EXPECT_TRUE(std::regex_search(
      out, std::regex("\n +" + waiting +
                      " true +nobody +PENDING +0:00 + NodesUnavailable: the nodes it fits are drained or down\n")))
      << out;
  EXPECT_EQ(out.find(" " + ok + " "), std::string::npos) << "ended jobs only with --all";
}

// sbatch, as gwang's word and as a program of that name: the script runs as its user in the
// directory it was submitted from, its output in slurm-JOBID.out, with Slurm's variables.
TEST_F(Up, SbatchRunsAScriptAsSlurmWould) {
  std::ofstream(dir_ / "work" / "job.sh") << "#!/bin/bash\n"
                                             "#SBATCH -J hello --ntasks-per-node=2 -c 1 --time=5\n"
                                             "#SBATCH --export=ALL,GREETING=hi\n"
                                             "echo \"$GREETING $1 $SLURM_JOB_NAME $SLURM_NTASKS $SLURM_CPUS_ON_NODE "
                                             "$(id -un) $(pwd) $SLURM_SUBMIT_DIR\"\n"
                                             "echo to-stderr >&2\n";
  const Outcome submitted = gwang("sbatch job.sh world");
  ASSERT_EQ(submitted.status, 0) << submitted.output;
  const std::string prefix = "Submitted batch job ";
  ASSERT_EQ(submitted.output.rfind(prefix, 0), 0u) << submitted.output;
  const std::string id = submitted.output.substr(prefix.size(), submitted.output.find('\n') - prefix.size());
  EXPECT_NE(wait_ended(id).find("State=COMPLETED ExitCode=0"), std::string::npos);
  const std::string work = (dir_ / "work").string();
  EXPECT_EQ(slurp(dir_ / "work" / ("slurm-" + id + ".out")),
            "hi world hello 2 2 nobody " + work + " " + work + "\nto-stderr\n");

  // Named sbatch, --parsable, --wrap, and --wait with the job's exit code.
  fs::create_symlink(GWANG_BINARY, dir_ / "sbatch");
  const std::string sbatch = (dir_ / "sbatch").string();
  // --uid: root submits for another user, and the job runs as them; not as root: Slurm's refusal.
  const Outcome for_daemon = gwang("sbatch --parsable --uid=daemon -o uid.txt --wrap 'id -un'");
  ASSERT_EQ(for_daemon.status, 0) << for_daemon.output;
  const std::string daemon_job = for_daemon.output.substr(0, for_daemon.output.find('\n'));
  EXPECT_NE(wait_ended(daemon_job).find("State=COMPLETED"), std::string::npos);
  EXPECT_EQ(slurp(dir_ / "work" / "uid.txt"), "daemon\n");
  // -M: this cluster (by its name, or all) takes the job and says so; another is Slurm's refusal.
  const Outcome here = gwang("sbatch -M gwang --parsable --wrap true");
  EXPECT_TRUE(std::regex_match(here.output, std::regex("[0-9]+;gwang\n"))) << here.output;
  const Outcome all = gwang("sbatch --clusters=all --wrap true");
  EXPECT_TRUE(std::regex_match(all.output, std::regex("Submitted batch job [0-9]+ on cluster gwang\n"))) << all.output;
  const Outcome elsewhere = gwang("sbatch -M other --wrap true");
  EXPECT_EQ(elsewhere.status, 1);
  EXPECT_EQ(elsewhere.output,
            "sbatch: error: No cluster 'other' known by database.\n"
            "sbatch: error: 'other' can't be reached now, or it is an invalid entry for --cluster.  Use 'sacctmgr list "
            "clusters' to see available clusters.\n");
  const Outcome not_root =
      gwang_as("setpriv --reuid=nobody --regid=nogroup --clear-groups " + sbatch, "--uid=daemon --wrap true");
  EXPECT_EQ(not_root.output, "sbatch: error: --uid only permitted by root user\n");
  EXPECT_EQ(not_root.status, 1);
  const Outcome wrapped = gwang_as(sbatch, "--parsable --wait -o wrapped.txt --wrap 'echo wrapped; exit 3'");
  EXPECT_EQ(wrapped.status, 3) << wrapped.output;
  EXPECT_TRUE(std::regex_match(wrapped.output, std::regex("[0-9]+\n"))) << wrapped.output;
  EXPECT_EQ(slurp(dir_ / "work" / "wrapped.txt"), "wrapped\n");

  // Held at submission, in the one partition gwang up has, until released.
  const Outcome held = gwang_as(sbatch, "--parsable -H -p main --wrap true");
  ASSERT_EQ(held.status, 0) << held.output;
  const std::string held_id = held.output.substr(0, held.output.find('\n'));
  EXPECT_NE(gwang("show " + held_id).output.find("Reason=JobHeldUser"), std::string::npos);
  ASSERT_EQ(gwang("release " + held_id).status, 0);
  EXPECT_NE(wait_ended(held_id).find("State=COMPLETED"), std::string::npos);
  EXPECT_EQ(gwang_as(sbatch, "-p gpu --wrap true").output,
            "sbatch: error: Batch job submission failed: invalid partition name 'gpu' (this cluster's: main)\n");

  // --test-only: when and where, and nothing submitted.
  const std::string before = gwang("squeue -h -t all -o %i").output;
  const Outcome test = gwang_as(sbatch, "--test-only -c 2 --wrap true");
  EXPECT_EQ(test.status, 0) << test.output;
  char host[256] = "";
  ::gethostname(host, sizeof host - 1);
  EXPECT_TRUE(std::regex_match(test.output, std::regex("sbatch: Job [0-9]+ to start at 20[0-9-]+T[0-9:]+ using 2 "
                                                       "processors on nodes " +
                                                       std::string(host) + " in partition main\n")))
      << test.output;
  EXPECT_EQ(gwang("squeue -h -t all -o %i").output, before);
  EXPECT_EQ(gwang_as(sbatch, "--test-only -c 4000 --wrap true").status, 1);

  // What sbatch would refuse, said as sbatch says it.
  const Outcome unknown = gwang_as(sbatch, "--frobnicate job.sh");
  EXPECT_EQ(unknown.status, 255);
  EXPECT_EQ(unknown.output, "sbatch: unrecognized option '--frobnicate'\nTry \"sbatch --help\" for more information\n");
  std::ofstream(dir_ / "work" / "bad.sh") << "#!/bin/sh\n#SBATCH --time=soon\ntrue\n";
  const Outcome bad = gwang_as(sbatch, "bad.sh");
  EXPECT_EQ(bad.status, 255);
  EXPECT_EQ(bad.output.rfind("sbatch: error: bad.sh:2: ", 0), 0u) << bad.output;
  const Outcome missing = gwang_as(sbatch, "nothere.sh");
  EXPECT_EQ(missing.status, 1);
  EXPECT_EQ(missing.output, "sbatch: error: Unable to open file nothere.sh\n");
  const Outcome refused = gwang("sbatch --gres=gpu:h100:1 job.sh");
  EXPECT_EQ(refused.status, 1);
  EXPECT_EQ(refused.output, "sbatch: error: Batch job submission failed: no node has accelerator model 'h100'\n");
}

// srun inside a batch job: its tasks' output comes back through it, labelled with -l; an
// interrupted srun ends its step and the script goes on; cancelling the job ends the step it
// runs. Outside a job, srun makes an allocation of its own; with options gwang does not carry
// out, it says so.
TEST_F(Up, SrunRunsStepsInsideAJob) {
  const fs::path bin = dir_ / "bin";
  fs::create_directories(bin);
  ASSERT_EQ(gwang("slurm install " + bin.string()).status, 0);
  const std::string srun = (bin / "srun").string(), sbatch = (bin / "sbatch").string();
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  Outcome o = gwang_as("env -u SLURM_JOB_ID " + srun, "--mem=64M hostname");
  EXPECT_EQ(o.status, 0);
  EXPECT_EQ(o.output, std::string(host) + "\n");
  o = gwang_as(srun, "--frobnicate hostname");
  EXPECT_EQ(o.status, 255);
  EXPECT_EQ(o.output, "srun: unrecognized option '--frobnicate'\nTry \"srun --help\" for more information\n");
  o = gwang_as(srun, "--container=/c hostname");
  EXPECT_EQ(o.status, 255);
  EXPECT_NE(o.output.find("--container"), std::string::npos) << o.output;
  o = gwang_as(srun, "-n x hostname");
  EXPECT_EQ(o.output, "srun: error: invalid --ntasks value: 'x' (a positive integer)\n");
  o = gwang_as(srun, "--jobid 999 true");
  EXPECT_EQ(o.output, "srun: error: Unable to create step for job 999: job 999 not found\n");

  // Output of both streams, labelled, into the job's output file; an interrupted step.
  std::ofstream(dir_ / "work" / "steps.sh") << "#!/bin/bash\n"
                                               "#SBATCH -n 2 -t 5\n"
                                               "srun -l sh -c 'echo out $SLURM_PROCID; echo err $SLURM_PROCID >&2'\n"
                                               "srun -n1 sh -c 'sleep 300; echo srun-interrupted-mark'\n"
                                               "echo \"srun exited $?\"\n"
                                               "srun -n1 sh -c 'sleep 300; echo srun-scancelled-mark'\n"
                                               "echo \"srun exited $?\"\n"
                                               "srun -n1 sh -c 'sleep 300; echo srun-cancelled-mark'\n";
  o = gwang_as("env PATH=" + bin.string() + ":/usr/bin:/bin " + sbatch, "--parsable steps.sh");
  ASSERT_EQ(o.status, 0) << o.output;
  const std::string id = o.output.substr(0, o.output.find('\n'));
  auto wait_for_process = [&](const std::string& mark) {
    for (int i = 0; i < 200; ++i) {
      if (gwang_as("", "pgrep -f '" + mark + "'").status == 0) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  };
  ASSERT_TRUE(wait_for_process("echo srun-[i]nterrupted-mark")) << slurp(dir_ / "work" / ("slurm-" + id + ".out"));
  // Interrupted (as a terminal's Ctrl-C would): srun ends its step, and the script goes on.
  ASSERT_EQ(gwang_as("", "pkill -INT -f 'srun -n1 sh -c sleep 300; echo srun-[i]nterrupted-mark'").status, 0);
  // Cancelled by its id, JOB.STEP: the step ends, the script goes on.
  ASSERT_TRUE(wait_for_process("echo srun-[s]cancelled-mark")) << slurp(dir_ / "work" / ("slurm-" + id + ".out"));
  o = gwang("scancel " + id + ".2");
  EXPECT_EQ(o.status, 0) << o.output;
  EXPECT_EQ(gwang("scancel " + id + ".x").output, "scancel: error: Invalid job id " + id + ".x\n");
  ASSERT_TRUE(wait_for_process("echo srun-[c]ancelled-mark")) << slurp(dir_ / "work" / ("slurm-" + id + ".out"));
  o = gwang("scancel " + id + ".2");
  EXPECT_EQ(o.status, 1);
  EXPECT_EQ(o.output, "scancel: error: Kill job error: step " + id + ".2 has already ended (CANCELLED)\n");
  EXPECT_EQ(gwang("scancel " + id).status, 0);
  EXPECT_NE(wait_ended(id).find("State=CANCELLED"), std::string::npos);
  std::this_thread::sleep_for(200ms);
  EXPECT_NE(gwang_as("", "pgrep -f 'echo srun-[c]ancelled-mark'").status, 0) << "the step's task outlived its job";
  const std::string out = slurp(dir_ / "work" / ("slurm-" + id + ".out"));
  for (const char* line : {"0: out 0\n", "1: out 1\n", "0: err 0\n", "1: err 1\n", "srun exited 143\n"})
    EXPECT_NE(out.find(line), std::string::npos) << line << " in:\n" << out;
  const std::size_t first = out.find("srun exited 143\n");
  EXPECT_NE(out.find("srun exited 143\n", first + 1), std::string::npos) << "both ended steps said so:\n" << out;
  const std::string acct = gwang("sacct -j " + id + " -P -n -o JobID,JobName,State,ExitCode").output;
  EXPECT_NE(acct.find(id + ".0|sh|COMPLETED|0:0\n"), std::string::npos) << acct;
  EXPECT_NE(acct.find(id + ".1|sh|CANCELLED|0:15\n"), std::string::npos) << acct;
  EXPECT_NE(acct.find(id + ".2|sh|CANCELLED|0:15\n"), std::string::npos) << acct;
  EXPECT_NE(acct.find(id + ".3|sh|CANCELLED|0:15\n"), std::string::npos) << acct;
  // sacct --json: Slurm 22.05's document, the job with its batch step and srun's steps.
  const Outcome js = gwang("sacct --json -j " + id);
  ASSERT_EQ(js.status, 0) << js.output;
  const nlohmann::json doc = nlohmann::json::parse(js.output, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << js.output;
  EXPECT_EQ(doc["meta"]["plugin"]["type"], "openapi/dbv0.0.38");
  ASSERT_EQ(doc["jobs"].size(), 1u) << js.output;
  const nlohmann::json& job = doc["jobs"][0];
  EXPECT_EQ(job["job_id"].get<std::int64_t>(), std::stoll(id));
  EXPECT_EQ(job["state"]["current"], "CANCELLED");
  EXPECT_EQ(job["exit_code"]["status"], "SIGNALED");
  EXPECT_EQ(job["exit_code"]["signal"]["name"], "TERM");
  EXPECT_EQ(job["required"]["CPUs"], 2);
  ASSERT_EQ(job["steps"].size(), 5u) << js.output;
  EXPECT_EQ(job["steps"][0]["step"]["id"], "batch");
  EXPECT_EQ(job["steps"][1]["step"]["id"], "0");
  EXPECT_EQ(job["steps"][1]["state"], "COMPLETED");
  EXPECT_EQ(job["steps"][1]["tasks"]["count"], 2);
  EXPECT_EQ(job["steps"][1]["exit_code"]["status"], "SUCCESS");
  EXPECT_EQ(job["steps"][2]["state"], "CANCELLED");
  EXPECT_EQ(job["steps"][2]["exit_code"]["signal"]["signal_id"], 15);
}

// squeue's tables and scancel, as Slurm prints and takes them: the default table, -o fields, an
// array's pending tasks on one line, and the ids of array tasks.
TEST_F(Up, SqueueAndScancel) {
  auto sbatch = [&](const std::string& args) {
    const Outcome o = gwang("sbatch --parsable " + args);
    EXPECT_EQ(o.status, 0) << o.output;
    return o.output.substr(0, o.output.find('\n'));
  };
  const std::string run = sbatch("-J runner -t 10 --wrap 'sleep 60'");
  const std::string arr = sbatch("-a 0-3%1 -J sweep -t 1:00:00 --wrap 'sleep 60'");
  const std::string held = sbatch("-H -J later --wrap true");
  // Both the runner and the array's first task run (gwang up's node has the host's CPUs).
  for (int i = 0; i < 200; ++i) {
    if (gwang("squeue -h -t R -o %i").output.find(arr + "_0") != std::string::npos) break;
    std::this_thread::sleep_for(20ms);
  }
  const std::string table = gwang("squeue").output;
  EXPECT_EQ(table.substr(0, table.find('\n') + 1),
            "             JOBID PARTITION     NAME     USER ST       TIME  NODES NODELIST(REASON)\n");
  EXPECT_NE(table.find(std::string(18 - (arr.size() + 8), ' ') + arr +
                       "_[1-3%1]      main    sweep   nobody PD       0:00      1 (JobArrayTaskLimit)\n"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find(std::string(18 - held.size(), ' ') + held +
                       "      main    later   nobody PD       0:00      1 (JobHeldUser)\n"),
            std::string::npos)
      << table;
  EXPECT_TRUE(
      std::regex_search(table, std::regex(" " + run + "      main   runner   nobody  R       0:0[0-9]      1 \\S+\n")))
      << table;
  const Outcome fields = gwang("squeue -h -r -o '%i|%F|%K|%t|%r|%l|%D|%j' -n sweep");
  // Pending first, as Slurm's default order has it.
  EXPECT_EQ(fields.output, arr + "_1|" + arr + "|1|PD|JobArrayTaskLimit|1:00:00|1|sweep\n" +  //
                               arr + "_2|" + arr + "|2|PD|JobArrayTaskLimit|1:00:00|1|sweep\n" + arr + "_3|" + arr +
                               "|3|PD|JobArrayTaskLimit|1:00:00|1|sweep\n" + arr + "_0|" + arr +
                               "|0|R|None|1:00:00|1|sweep\n");
  const Outcome bad_format = gwang("squeue -o '%i %Q'");
  EXPECT_EQ(bad_format.status, 1);
  EXPECT_EQ(bad_format.output, "squeue: error: format '%i %Q': invalid field '%Q'\n");

  // --json: Slurm 22.05's shape and field names; a pending array's tasks in one record.
  for (int i = 0; i < 200 && gwang("squeue -h -o %i -t R -n sweep").output.empty(); ++i)
    std::this_thread::sleep_for(20ms);
  const Outcome listed = gwang("squeue --json");
  ASSERT_EQ(listed.status, 0) << listed.output;
  const nlohmann::json doc = nlohmann::json::parse(listed.output, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << listed.output;
  EXPECT_EQ(doc["meta"]["plugin"]["type"], "openapi/v0.0.38");
  EXPECT_TRUE(doc["errors"].empty());
  std::map<std::string, nlohmann::json> by_key;  // "ID" or "ARRAY_[TASKS]"
  for (const nlohmann::json& j : doc["jobs"]) {
    const std::string tasks = j["array_task_string"];
    by_key[std::to_string(j["job_id"].get<std::int64_t>()) + (tasks.empty() ? "" : "_[" + tasks + "]")] = j;
  }
  ASSERT_TRUE(by_key.contains(run)) << listed.output;
  const nlohmann::json& running = by_key[run];
  EXPECT_EQ(running["name"], "runner");
  EXPECT_EQ(running["job_state"], "RUNNING");
  EXPECT_EQ(running["state_reason"], "None");
  EXPECT_EQ(running["time_limit"], 10);
  EXPECT_EQ(running["user_name"], "nobody");
  EXPECT_EQ(running["partition"], "main");
  EXPECT_TRUE(running["batch_flag"].get<bool>());
  EXPECT_TRUE(running["array_task_id"].is_null());
  ASSERT_TRUE(by_key.contains(arr + "_[1-3%1]")) << listed.output;
  const nlohmann::json& waiting = by_key[arr + "_[1-3%1]"];
  EXPECT_EQ(waiting["job_state"], "PENDING");
  EXPECT_EQ(waiting["state_reason"], "JobArrayTaskLimit");
  EXPECT_EQ(waiting["array_job_id"].get<std::int64_t>(), std::stoll(arr));
  EXPECT_EQ(waiting["array_max_tasks"], 1);
  EXPECT_TRUE(waiting["array_task_id"].is_null());

  // scancel: an array task by its Slurm id, then what a filter names, then what is not there.
  ASSERT_EQ(gwang("scancel " + arr + "_2").status, 0);
  EXPECT_EQ(gwang("squeue -h -r -o %i -n sweep -t PD").output, arr + "_1\n" + arr + "_3\n");
  ASSERT_EQ(gwang("scancel " + arr + "_0").status, 0);  // the first task alone, not the array its id names
  for (int i = 0; i < 200 && gwang("squeue -h -o %i -t R -n sweep").output == arr + "_0\n"; ++i)
    std::this_thread::sleep_for(20ms);
  EXPECT_NE(gwang("squeue -h -r -o %i -n sweep").output.find(arr + "_3\n"), std::string::npos);
  ASSERT_EQ(gwang("scancel -n sweep").status, 0);
  ASSERT_EQ(gwang("scancel -t PD -u nobody").status, 0);
  for (int i = 0; i < 200 && !gwang("squeue -h -o %i -n sweep").output.empty(); ++i) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(gwang("squeue -h -o %i").output, run + "\n");
  const Outcome missing = gwang("scancel 99999 12x");
  EXPECT_EQ(missing.status, 1);
  EXPECT_EQ(missing.output,
            "scancel: error: Kill job error on job id 99999: Invalid job id specified\n"
            "scancel: error: Invalid job id 12x\n");
  ASSERT_EQ(gwang("scancel " + run).status, 0);
}

// The commands installed as links by their names; sacct's accounting of ended jobs (with the batch
// step, exit codes and who cancelled), sinfo's partitions and scontrol's views.
TEST_F(Up, SacctSinfoScontrolUnderTheirNames) {
  const fs::path bin = dir_ / "bin";
  fs::create_directories(bin);
  const Outcome installed = gwang("slurm install " + bin.string());
  ASSERT_EQ(installed.status, 0) << installed.output;
  EXPECT_EQ(gwang("slurm install " + bin.string()).status, 0) << "installing again changes nothing";
  std::ofstream(dir_ / "bin" / "stray") << "x";
  for (const char* name : {"sbatch", "squeue", "scancel", "sacct", "sinfo", "scontrol", "srun", "salloc"})
    EXPECT_TRUE(fs::is_symlink(bin / name)) << name;
  auto run = [&](const std::string& command) {
    return gwang_as((bin / command.substr(0, command.find(' '))).string(), command.substr(command.find(' ') + 1));
  };
  std::string ok = run("sbatch --parsable -J ok --wrap true").output;
  ok = ok.substr(0, ok.find('\n'));
  std::string bad = run("sbatch --parsable -J bad --wrap 'exit 3'").output;
  bad = bad.substr(0, bad.find('\n'));
  std::string cancelled = run("sbatch --parsable -H -J never --wrap true").output;
  cancelled = cancelled.substr(0, cancelled.find('\n'));
  const Outcome scancel = run("scancel " + cancelled);
  ASSERT_EQ(scancel.status, 0) << scancel.output;
  wait_ended(bad);
  wait_ended(ok);
  const Outcome acct = run("sacct -a -X -P -o JobID,JobName,State,ExitCode,AllocCPUS");
  ASSERT_EQ(acct.status, 0) << acct.output;
  const passwd* nobody = ::getpwnam("nobody");  // gwang up's token stands for nobody: the canceller
  ASSERT_NE(nobody, nullptr);
  const std::string uid = std::to_string(nobody->pw_uid);
  EXPECT_NE(acct.output.find("JobID|JobName|State|ExitCode|AllocCPUS\n"), std::string::npos) << acct.output;
  EXPECT_NE(acct.output.find("\n" + ok + "|ok|COMPLETED|0:0|1\n"), std::string::npos) << acct.output;
  EXPECT_NE(acct.output.find("\n" + bad + "|bad|FAILED|3:0|1\n"), std::string::npos) << acct.output;
  EXPECT_NE(acct.output.find("\n" + cancelled + "|never|CANCELLED by " + uid + "|0:0|1\n"), std::string::npos)
      << acct.output;
  const Outcome steps = run("sacct -a -j " + bad + " -o jobid,jobname,state");
  EXPECT_EQ(steps.output,
            "JobID           JobName      State \n"
            "------------ ---------- ---------- \n" +
                slurm_fit(bad, 12) + "        bad     FAILED \n" + slurm_fit(bad + ".batch", 12) +
                "      batch     FAILED \n");
  const Outcome unknown = run("sacct -o JobID,Nope");
  EXPECT_EQ(unknown.status, 1);
  EXPECT_EQ(unknown.output, "sacct: error: Invalid field requested: \"Nope\"\n");

  char host[256] = "";
  ::gethostname(host, sizeof host - 1);
  EXPECT_EQ(run("sinfo -h").output, std::string("main*        up   infinite      1   idle ") + host + "\n");
  EXPECT_EQ(run("scontrol show hostnames n[1-3]").output, "n1\nn2\nn3\n");
  const Outcome job = run("scontrol show job " + bad);
  EXPECT_NE(job.output.find("JobId=" + bad + " JobName=bad\n"), std::string::npos) << job.output;
  EXPECT_NE(job.output.find("   JobState=FAILED Reason=None Dependency=(null)\n"), std::string::npos) << job.output;
  EXPECT_NE(run("scontrol show node").output.find(std::string("NodeName=") + host + "\n"), std::string::npos);
  const Outcome held = run("sbatch --parsable --wrap true -H");
  const std::string held_id = held.output.substr(0, held.output.find('\n'));
  ASSERT_EQ(run("scontrol release " + held_id).status, 0);
  EXPECT_NE(wait_ended(held_id).find("State=COMPLETED"), std::string::npos);
}

// The corpus (tests/slurm/corpus): realistic batch scripts, each checking from inside that it got
// what Slurm would give it (its variables, limits, directory, files, devices), submitted with
// gwang's sbatch as a user would, with their pipelines, holds and failures.
TEST_F(Up, TheCorpusOfBatchScriptsRunsAsUnderSlurm) {
  const fs::path bin = dir_ / "bin", work = dir_ / "work";
  fs::create_directories(bin);
  ASSERT_EQ(gwang("slurm install " + bin.string()).status, 0);
  const std::string corpus = std::string(GWANG_TEST_DIR) + "/../slurm/corpus";
  std::vector<std::string> scripts;
  for (const auto& e : fs::directory_iterator(corpus)) {
    if (!e.is_regular_file()) continue;  // multinode/: the multi-host tests run those
    fs::copy_file(e.path(), work / e.path().filename());
    scripts.push_back(e.path().filename().string());
  }
  std::sort(scripts.begin(), scripts.end());
  ASSERT_GE(scripts.size(), 30u);
  for (const char* d : {"rundir", "sweep"}) {  // made beforehand, as with Slurm (it creates no directory)
    fs::create_directories(work / d);
    fs::permissions(work / d, fs::perms::all);
  }
  std::ofstream(work / "appended.out") << "written before\n";
  fs::permissions(work / "appended.out", fs::perms::all);
  // The jobs call srun, squeue, scontrol and sacct: they get the links with the environment
  // sbatch sends along, and find the controller, and act as their user, with what each job is
  // given (GWANG_URL, and its own credential in GWANG_TOKEN).
  const std::string env = "PATH=" + bin.string() + ":/usr/bin:/bin CORPUS_SECRET=s3cret ";
  auto sbatch = [&](const std::string& args) {
    const Outcome o = gwang_as("env " + env + (bin / "sbatch").string(), "--parsable " + args);
    EXPECT_EQ(o.status, 0) << args << ": " << o.output;
    return o.output.substr(0, o.output.find_first_of(";\n"));
  };
  std::map<std::string, std::string> ids;
  const std::string prepare = sbatch("chain_prepare.sh");
  const std::string train = sbatch("--dependency=afterok:" + prepare + " chain_train.sh");
  sbatch("-d afterok:" + train + " chain_evaluate.sh");
  const std::string fails = sbatch("fails.sh");
  sbatch("--dependency=afternotok:" + fails + " on_failure.sh " + fails);
  sbatch("nightly.sh");
  sbatch("nightly.sh");
  const std::string held = sbatch("held.sh");
  sbatch("train.py --epochs 2");
  for (const std::string& s : scripts) {
    if (s.starts_with("chain_") || s == "fails.sh" || s == "on_failure.sh" || s == "nightly.sh" || s == "held.sh" ||
        s == "train.py")
      continue;
    ids[s] = sbatch(s);
  }
  EXPECT_NE(gwang("squeue -h -j " + held + " -o %r").output.find("JobHeldUser"), std::string::npos);
  ASSERT_EQ(gwang_as("env " + env + (bin / "scontrol").string(), "release " + held).status, 0);
  // Everything ends (the arrays run a few tasks at a time on this node).
  const auto deadline = std::chrono::steady_clock::now() + 180s;
  while (std::chrono::steady_clock::now() < deadline && !gwang("squeue -h -o %i").output.empty())
    std::this_thread::sleep_for(200ms);
  ASSERT_EQ(gwang("squeue -h -o '%i %j %T %r'").output, "") << "jobs still queued or running";
  const Outcome acct = gwang("sacct -a -X -P -n -S 2000-01-01 -o JobID,JobName,State,ExitCode");
  std::size_t jobs = 0;
  for (std::size_t at = 0; at < acct.output.size();) {
    const std::size_t end = acct.output.find('\n', at);
    const std::string line = acct.output.substr(at, end - at);
    at = end + 1;
    ++jobs;
    if (line.find("|fails|") != std::string::npos) {
      EXPECT_NE(line.find("|FAILED|3:0"), std::string::npos) << line;
    } else {
      EXPECT_NE(line.find("|COMPLETED|0:0"), std::string::npos)
          << line << "\n"
          << gwang_as("", "tail -n 3 *.out */*.out rundir/*.out 2>/dev/null").output;
    }
  }
  EXPECT_EQ(jobs,
            scripts.size() + 1 /* nightly twice */ + 9 /* array_limit */ + 4 /* array_step */ + 2 /* array_list */);
  // And each said so, from inside.
  const std::string said = gwang_as("", "grep -rh '^corpus ok: ' . | sort -u").output;
  for (const std::string& s : scripts) {
    if (s.starts_with("array_")) continue;
    const std::string name = s.ends_with(".sh") ? s.substr(0, s.size() - 3) : s;
    EXPECT_NE(said.find("corpus ok: " + name), std::string::npos) << s << "\n" << said;
  }
  for (const char* line : {"corpus ok: array_limit 9", "corpus ok: array_step 20", "corpus ok: array_list 7"})
    EXPECT_NE(said.find(line), std::string::npos) << said;
}

// A job sees only the devices it was given.
TEST_F(Up, DeclaredDevicesAreAssigned) {
  const std::string a = submit("--gpus 1:npu:test -- sh -c 'echo $GWANG_DEVICES; sleep 2'");
  const std::string b = submit("--gpus 1:npu:test -- sh -c 'echo $GWANG_DEVICES'");
  wait_ended(a);
  wait_ended(b);
  const std::string da = gwang("logs " + a).output, db = gwang("logs " + b).output;
  EXPECT_NE(da, db);
  EXPECT_TRUE(da == "npu:test-0\n" || da == "npu:test-1\n") << da;
  EXPECT_TRUE(db == "npu:test-0\n" || db == "npu:test-1\n") << db;
}

// Cancel and time limit end jobs, and a job's children do not outlive it.
TEST_F(Up, CancelTimeLimitAndChildren) {
  const std::string sleeper = submit("-- sh -c 'sleep 300 & echo $! > child; wait'");
  // The file exists as soon as the shell opens it; the pid is there once its line is.
  auto written = [&] { return fs::exists(dir_ / "work" / "child") && slurp(dir_ / "work" / "child").ends_with("\n"); };
  for (int i = 0; i < 200 && !written(); ++i) std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(written());
  const pid_t child = std::stoi(slurp(dir_ / "work" / "child"));
  EXPECT_EQ(gwang("cancel " + sleeper).status, 0);
  EXPECT_NE(wait_ended(sleeper).find("State=CANCELLED"), std::string::npos);
  std::this_thread::sleep_for(100ms);
  std::ifstream stat("/proc/" + std::to_string(child) + "/stat");
  std::string line;
  std::getline(stat, line);
  EXPECT_TRUE(!stat || line.find(") Z ") != std::string::npos) << "child " << child << " survived: " << line;

  const std::string limited = submit("--time 2s -- sleep 300");
  EXPECT_NE(wait_ended(limited, 30s).find("State=TIMEOUT"), std::string::npos);
}

// Bad input and bad tokens get exact errors; another user's job looks absent.
TEST_F(Up, BadInputAndTokens) {
  Outcome r = gwang("submit --mem 16X -- true");
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.output, "gwang: memory '16X': unknown unit 'X' (K, M, G or T)\n");
  r = gwang("submit --time forever -- true");
  EXPECT_EQ(r.status, 2);
  r = gwang("submit --gpus 1:H100 -- true");
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.output, "gwang: no node has accelerator model 'H100'\n");
  r = gwang("queue --token not-a-token");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.output, "gwang: invalid token\n");
  r = gwang("show 12345");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.output, "gwang: job 12345 not found\n");
  r = gwang("show abc");
  EXPECT_EQ(r.status, 2);
}

// gwang queue --start: a waiting job's expected start is when the running one reaches its time
// limit (the planned runtime without an estimate).
// `gwang show` of a waiting job says what would start it sooner: here, one device instead of two
// (one is free now).
TEST_F(Up, ShowSaysWhatWouldStartAWaitingJobSooner) {
  const std::string first = submit("--gpus 1 --time 10m -- sleep 30");
  for (int i = 0; i < 100 && gwang("show " + first).output.find("State=RUNNING") == std::string::npos; ++i) {
    std::this_thread::sleep_for(20ms);
  }
  const std::string second = submit("--gpus 2 --time 5m -- true");
  std::string shown;
  for (int i = 0; i < 100; ++i) {
    shown = gwang("show " + second).output;
    if (shown.find("StartsSooner=") != std::string::npos) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_NE(shown.find("State=PENDING"), std::string::npos) << shown;
  EXPECT_NE(shown.find("StartsSooner=with 1 accelerator per task instead of 2 (at "), std::string::npos) << shown;
  EXPECT_EQ(gwang("cancel " + second).status, 0);
  EXPECT_EQ(gwang("cancel " + first).status, 0);
  wait_ended(first);
}

TEST_F(Up, QueueStartShowsWhenWaitingJobsAreExpectedToStart) {
  const std::string first = submit("--gpus 2 --time 10m -- sleep 30");
  for (int i = 0; i < 100 && gwang("show " + first).output.find("State=RUNNING") == std::string::npos; ++i) {
    std::this_thread::sleep_for(20ms);
  }
  const std::string second = submit("--gpus 2 --time 5m -- true");
  const std::string listed = gwang("queue --start").output;
  EXPECT_EQ(listed.rfind("   JOBID NAME             USER       START_TIME            REASON\n", 0), 0u) << listed;
  const auto line = listed.find("\n" + std::string(8 - second.size(), ' ') + second + " ");
  ASSERT_NE(line, std::string::npos) << listed;
  const std::string row = listed.substr(line + 1, listed.find('\n', line + 1) - line - 1);
  EXPECT_EQ(row.find("N/A"), std::string::npos) << row;
  // Ten minutes after the first started, to the second (UTC).
  const Outcome shown = gwang("show " + first + " --json");
  const auto start = nlohmann::json::parse(shown.output)["start_time"].get<std::int64_t>();
  const std::time_t expected = static_cast<std::time_t>(start + 600);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&expected));
  EXPECT_NE(row.find(text), std::string::npos) << row << " expected " << text;
  EXPECT_EQ(gwang("cancel " + first).status, 0);
  wait_ended(first);
}

// The books from the command line: an institution, a project, a programme and a grant; a job
// burns the grant down, its end warns, the next job is refused; reports and tokens; bad input.
TEST_F(Up, BooksFromTheCommandLine) {
  auto ok = [&](const std::string& args) {
    const Outcome r = gwang(args);
    EXPECT_EQ(r.status, 0) << args << ": " << r.output;
    return r.output;
  };
  ok("admin institution add kaist --type university --sector energy");
  ok("admin project add llm --institution kaist");
  ok("admin project add-member llm nobody");
  ok("admin programme add voucher --when-exhausted refuse --priority 0.5");
  // A programme's sessions' defaults, as durations; a bad one is refused, naming the option.
  ok("admin programme add course --session-max-life 4h --session-idle-timeout 20m");
  const std::string programmes = ok("admin programme list");
  EXPECT_NE(programmes.find("04:00:00"), std::string::npos) << programmes;
  EXPECT_NE(programmes.find("00:20:00"), std::string::npos) << programmes;
  const Outcome soon = gwang("admin programme add quick --session-idle-timeout 5s");
  EXPECT_EQ(soon.status, 2) << soon.output;
  EXPECT_NE(soon.output.find("session_idle_timeout must be 0 (the controller's) or at least 10 seconds"),
            std::string::npos)
      << soon.output;
  const Outcome typo = gwang("admin programme add quick --session-max-life forever");
  EXPECT_EQ(typo.status, 2) << typo.output;
  EXPECT_NE(typo.output.find("gwang: --session-max-life: "), std::string::npos) << typo.output;
  EXPECT_NE(
      ok("admin grant add llm --programme voucher --amount 0.0001 --start 2020-01-01 --end 2040-01-01").find("active"),
      std::string::npos);
  const std::string id = submit("--gpus 1 -- sleep 1");
  EXPECT_NE(wait_ended(id).find("Project=llm"), std::string::npos);
  EXPECT_NE(ok("grants").find("spent"), std::string::npos);
  const std::string events = ok("events");
  EXPECT_NE(events.find("is 80% used"), std::string::npos) << events;
  EXPECT_NE(events.find("is spent"), std::string::npos) << events;
  Outcome r = gwang("submit -- true");
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.output, "gwang: grant 1 (voucher) is spent: new jobs are refused\n");
  ok("admin grant top-up 1 10");
  submit("-- true");
  const std::string csv = ok("report usage --by institution-type --format csv");
  EXPECT_EQ(csv.rfind("INSTITUTION-TYPE,JOBS,ACCEL_HOURS,CPU_HOURS,CHARGE\nuniversity,", 0), 0u) << csv;
  EXPECT_NE(ok("report usage --by model").find("npu:test"), std::string::npos);
  const std::string util = ok("report utilisation --step 1h --format csv");
  EXPECT_EQ(util.rfind("START,MODEL,USED_HOURS,CAPACITY_HOURS,PERCENT\n", 0), 0u) << util;
  EXPECT_NE(util.find(",npu:test,0.00,2.00,"), std::string::npos) << "2 devices for an hour: " << util;
  EXPECT_NE(ok("grants 1").find("topped up by 10"), std::string::npos);
  // Tokens: made for another account, used, revoked.
  const std::string made = ok("token create --user daemon");
  const std::string token = made.substr(made.rfind(':') + 2, 64);
  EXPECT_EQ(gwang("queue --token " + token).status, 0);
  ok("token revoke " + made.substr(6, 12));
  r = gwang("queue --token " + token);
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.output, "gwang: invalid token\n");
  // Bad input: what is wrong, and nothing written.
  r = gwang("admin grant add llm --programme voucher --amount 5 --start 2026-05-01 --end 2026-04-01");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("is not after its start"), std::string::npos) << r.output;
  r = gwang("admin grant add llm --programme voucher --amount -5 --start 2026-05-01 --end 2026-06-01");
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.output, "gwang: amount must be above 0\n");
  r = gwang("admin grant add nope --programme voucher --amount 5 --start 2026-05-01 --end 2026-06-01");
  EXPECT_EQ(r.output, "gwang: no project 'nope'\n");
  r = gwang("submit --project other -- true");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.output, "gwang: field 'project': nobody is not a member of project 'other'\n");
  r = gwang("report usage --by colour");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("parameter 'by'"), std::string::npos) << r.output;
  EXPECT_EQ(ok("grants").find("\n2 "), std::string::npos) << "no second grant was written";
  // All of it after a restart.
  stop();
  start();
  EXPECT_NE(ok("grants 1").find("topped up by 10"), std::string::npos);
  EXPECT_NE(ok("admin project list").find("nobody"), std::string::npos);
}

// After the controller restarts, its jobs are still there and new ones continue the numbering.
TEST_F(Up, RestartKeepsJobs) {
  const std::string first = submit("-- echo before");
  wait_ended(first);
  stop();
  start();
  EXPECT_NE(gwang("show " + first).output.find("State=COMPLETED"), std::string::npos);
  EXPECT_EQ(gwang("logs " + first).output, "before\n");
  EXPECT_EQ(std::stoll(submit("-- true")), std::stoll(first) + 1);
}

// gwang up killed with SIGKILL while a job runs: the job's process goes on, the next run adopts it,
// and the job ends as its process does, its output whole.
TEST_F(Up, AJobRunsOnAcrossASigkill) {
  const std::string id = submit("-- sh -c 'echo started; sleep 3; echo finished'");
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline && gwang("logs " + id).output != "started\n") {
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(gwang("logs " + id).output, "started\n");
  ::kill(server_, SIGKILL);
  int status = 0;
  ::waitpid(server_, &status, 0);
  server_ = -1;
  start();
  EXPECT_NE(gwang("show " + id).output.find("State=RUNNING"), std::string::npos) << gwang("show " + id).output;
  const std::string show = wait_ended(id);
  EXPECT_NE(show.find("State=COMPLETED"), std::string::npos) << show;
  EXPECT_EQ(gwang("logs " + id).output, "started\nfinished\n");
}

// The controller killed with SIGKILL at random moments during a stream of submissions and
// completions: afterwards every acknowledged job exists, and ends exactly once.
TEST_F(Up, SigkillDuringAStreamLosesNothing) {
  std::set<long long> acked;
  std::mt19937 rng(20261126);
  // Five kills at least, and more while fewer than a dozen submissions were acknowledged (a busy
  // machine answers fewer in the same time).
  for (int round = 0; round < 5 || (acked.size() <= 10 && round < 40); ++round) {
    std::atomic<bool> go{true};
    std::thread submitter([&] {
      while (go) {
        const Outcome r = gwang("submit -- sh -c 'sleep 0.05'");
        if (r.status == 0 && r.output.rfind("Submitted job ", 0) == 0) acked.insert(std::stoll(r.output.substr(14)));
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(150 + rng() % 500));
    ::kill(server_, SIGKILL);
    int status = 0;
    ::waitpid(server_, &status, 0);
    server_ = -1;
    go = false;
    submitter.join();
    start();
  }
  ASSERT_GT(acked.size(), 10u);
  // Let what is left run out: two jobs of 50 ms at a time on this node, so the time it takes grows
  // with how many were acknowledged (the test checks what became of them, not how fast).
  const auto drain = std::chrono::steady_clock::now() + 20s + acked.size() * 100ms;
  while (std::chrono::steady_clock::now() < drain &&
         gwang("queue").output.find('\n') != gwang("queue").output.rfind('\n')) {
    std::this_thread::sleep_for(50ms);
  }
  for (long long id : acked) {
    const std::string show = gwang("show " + std::to_string(id)).output;
    EXPECT_TRUE(show.find("State=COMPLETED") != std::string::npos || show.find("State=NODE_FAIL") != std::string::npos)
        << "job " << id << ": " << show;
  }
  // Exactly one end per job in the journal.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2((dir_ / "data" / "state.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT kind, payload FROM journal", -1, &st, nullptr), SQLITE_OK);
  std::map<long long, int> submitted, ended;
  while (sqlite3_step(st) == SQLITE_ROW) {
    const std::string kind = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    if (kind != "job.submitted" && kind != "job.ended") continue;
    const std::string payload(static_cast<const char*>(sqlite3_column_blob(st, 1)), sqlite3_column_bytes(st, 1));
    auto event = gwang::controller::events::decode(kind, payload);
    ASSERT_TRUE(event) << kind << ": " << event.error().message;
    if (const auto* s = std::get_if<gwang::controller::events::Submitted>(&*event)) ++submitted[s->id];
    if (const auto* e = std::get_if<gwang::controller::events::Ended>(&*event)) ++ended[e->id];
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  for (long long id : acked) {
    EXPECT_EQ(submitted[id], 1) << "job " << id;
    EXPECT_EQ(ended[id], 1) << "job " << id;
  }
  for (const auto& [id, n] : ended) EXPECT_EQ(n, 1) << "job " << id << " ended " << n << " times";
}

}  // namespace
