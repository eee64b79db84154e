#!/usr/bin/env bash
# gwang's Slurm commands side by side with Slurm itself (Debian's slurm-wlm, 22.05) on this machine.
#
# Starts a one-node Slurm cluster (munged, MariaDB, slurmdbd, slurmctld, slurmd) under
# $BASE/slurm and a `gwang up` under $BASE/gwang, both with one node of this host's name, 2 CPUs
# and a default partition named main. It submits the same jobs to both in the same order (job
# ids agree), runs the same commands against each, and compares what they print. It stops only
# the processes it started.
#
# Usage (as root; installs slurm-wlm, slurmdbd and mariadb-server from Debian if missing):
#   tests/slurm/compare.sh [BUILD_DIR]        (default: build)
# Prints one line per comparison, "same" or "DIFFERENT" with both outputs, and a count; exits 1
# when any differs. Ports 26817-26824 must be free.
# The clusters: tests/slurm/clusters.sh.
. "$(dirname "$0")/clusters.sh"
start_clusters
# ------------------------------------------------------------------ the comparisons
cd "$BASE/work" || exit 2
same=0 different=0
# Where each side's commands go: the one-node clusters, unless both2 says otherwise.
SLURM_ENV="SLURM_CONF=$SLURM_CONF" GWANG_ENV="GWANG_DATA=$BASE/gwang"
both() { # label, command (a Slurm command line): runs it with Slurm's programs and with gwang's
  local label=$1 cmd=$2 theirs ours
  # Slurm's steps may wait a moment for the previous step's end to reach its controller, and say
  # so ("step creation temporarily disabled, retrying"): a matter of its timing, left out.
  # (Cases that show steps waiting on purpose print their job's id as ID, which this keeps.)
  local transient='^srun: Job [0-9]+ step creation temporarily disabled, retrying|^srun: Step created for job [0-9]+$'
  theirs=$(env $SLURM_ENV PATH=/usr/bin:/usr/sbin:/bin bash -c "$cmd" 2>&1 | grep -v -E "$transient")
  ours=$(env $GWANG_ENV PATH=$G:/usr/bin:/usr/sbin:/bin bash -c "$cmd" 2>&1 | grep -v -E "$transient")
  if [ "$theirs" == "$ours" ]; then
    same=$((same + 1))
    printf 'same       %s\n' "$label"
  else
    different=$((different + 1))
    printf 'DIFFERENT  %s: %s\n--- slurm\n%s\n--- gwang\n%s\n---\n' "$label" "$cmd" "$theirs" "$ours"
  fi
}

# Host lists (scontrol needs no controller for these).
# (A name with three bracketed ranges, which Slurm expands in an order of its own, gwang refuses.)
for list in 'gpu[01-04,07]' 'a9,a10,a11' 'a09,a10' 'a009,a10' 'n1,n3,n2,m[5-6]' 'rack1-n[1-3],rack2-n[1-2]' \
    'x[1-3]y[1-2]' 'rack[1-2]-n[01-03]' 'a[1-2][3-4]' 'x[1,3]y[2,4],z[1-2]'; do
  both "hostnames $list" "scontrol show hostnames '$list'"
  both "hostlist $list" "scontrol show hostlist '$list'"
  both "hostlist of names $list" "scontrol show hostlist '$(scontrol show hostnames "$list" | paste -sd,)'"
  both "hostlistsorted $list" "scontrol show hostlistsorted '$(scontrol show hostnames "$list" | paste -sd,)'"
done

# sbatch --test-only on an idle node: it would start now (the seconds masked), here, in main.
both "sbatch --test-only" "sbatch --test-only -c 2 -t 10 --wrap true 2>&1 | sed -E 's/T[0-9:]+ using/T(now) using/'"

# Options sbatch refuses before it calls the controller.
both "sbatch unknown option" "sbatch --frobnicate --wrap true; echo rc=\$?"
both "sbatch missing script" "sbatch nothere.sh; echo rc=\$?"

# Accounting of jobs that ended: completed, failed, cancelled while pending. First, so that the
# ids agree (an array takes one id in Slurm, one per task in gwang).
acct_jobs() {
  sbatch --parsable -J ok --wrap true
  sbatch --parsable -J bad --wrap 'exit 3'
  sbatch --parsable -J never -H --wrap true
}
both "sbatch --parsable (ids)" "acct_jobs() { $(declare -f acct_jobs | sed 1,2d | sed '$d'); }; acct_jobs"
# (--test-only took id 1 in both, as Slurm does.)
scancel 4 2>/dev/null; GWANG_DATA=$BASE/gwang "$G/scancel" 4 2>/dev/null
wait_for 60 sh -c 'test "$(squeue -h | wc -l)" = 0' || note "Slurm's jobs did not all end"
wait_for 60 sh -c "test \"\$(GWANG_DATA=$BASE/gwang $G/squeue -h | wc -l)\" = 0" || note "gwang's jobs did not all end"
sleep 2  # slurmdbd takes the ends in
both "sacct -X --parsable2" "sacct -X -P -j 2,3,4 -o JobID,JobName,Partition,State,ExitCode,NNodes,AllocCPUS"
both "sacct with steps" "sacct -P -j 2,3 -o JobID,JobName,State,ExitCode"
both "sacct default table" "sacct -j 2,3,4 -o JobID,JobName,Partition,State,ExitCode"
both "sacct unknown field" "sacct -o JobID,Nope; echo rc=\$?"
# sacct --json: the fields gwang fills, job by job and step by step. Not the account and QOS (the
# user's defaults in Slurm, the project and programme in gwang), and not exit_code: Slurm 22.05.8
# writes SUCCESS with return code 0 there even for the job that failed 3:0 (gwang: FAILED, 3).
cat >"$BASE/sacct_json.py" <<'PY'
import json, sys
doc = json.load(sys.stdin)
print(doc["meta"]["plugin"]["type"], doc["errors"])
for j in doc["jobs"]:
    print(j["job_id"], j["name"], j["state"], j["nodes"], j["allocation_nodes"], j["required"], j["partition"],
          j["user"], j["group"], j["working_directory"], j["time"]["limit"], j["array"]["job_id"], j["array"]["task_id"],
          j["comment"]["job"], j["time"]["end"] >= j["time"]["start"] >= j["time"]["submission"] > 0)
    for s in j["steps"]:
        print("  ", s["step"]["id"], s["step"]["name"], s["state"], s["nodes"]["range"], s["nodes"]["count"], s["tasks"])
PY
both "sacct --json" "sacct --json -j 2,3,4 | python3 $BASE/sacct_json.py"

# A queue: a job that fills the node, one waiting for resources, a held job, one waiting on a
# dependency, and (last) an array with a limit.
queue_jobs() {
  sbatch --parsable -J fill -c 2 -t 30 --wrap 'sleep 120'
  sbatch --parsable -J waiter -c 1 -t 10 --wrap true
  sbatch --parsable -J later -H --wrap true
  sbatch --parsable -J after -d afterok:5 -t 2-00:00:00 --wrap true
  sbatch --parsable -J sweep -a 1-4%2 -t 1:00:00 --wrap 'sleep 1'
}
both "sbatch --parsable (a queue)" "queue_jobs() { $(declare -f queue_jobs | sed 1,2d | sed '$d'); }; queue_jobs"
sleep "${SETTLE:-35}"  # Slurm's backfilling pass (every 30 s) sets the reasons of the jobs it tries
both "squeue" "squeue | sed -E 's/ +[0-9]+:[0-9]{2}( +[0-9]+ [^ ]+)\$/ TIME\\1/'"
both "squeue -o pending" "squeue -h -t PD -o '%.18i %.9P %.8j %.8u %.2t %.6D %R'"
both "squeue -r fields" "squeue -h -r -t PD -o '%i|%F|%K|%j|%t|%T|%r|%l|%D|%C|%P|%E'"
both "squeue -l pending" "squeue -h -l -t PD | sed -E 's/ +[0-9:]+( +[^ ]+ +[0-9]+ +\\()/ TIME\\1/'"
both "squeue --start columns" "squeue --start -h -o '%.18i %.9P %.8j %.2t %.6D %R'"
both "squeue -O" "squeue -h -t PD -O 'JobArrayID:12,Name:8,StateCompact:.4,ReasonList'"
both "squeue running" "squeue -h -t R -o '%i|%j|%t|%D|%C|%P|%N|%r|%l'"
# squeue --json: the fields gwang fills, job by job (an array's running tasks by array and index:
# their own ids differ). Not the account: Slurm shows the user's default account, gwang the
# project charged, none here.
cat >"$BASE/squeue_json.py" <<'PY'
import json, sys
keys = ["name", "job_state", "state_reason", "partition", "user_name", "user_id", "node_count", "cpus",
        "time_limit", "array_task_string", "array_max_tasks", "batch_flag", "command", "restart_cnt", "exit_code"]
doc = json.load(sys.stdin)
print(doc["meta"]["plugin"]["type"], doc["errors"])
for j in sorted(doc["jobs"], key=lambda j: (j["array_job_id"] or j["job_id"], j["array_task_id"] or -1)):
    who = "%s_%s" % (j["array_job_id"], j["array_task_id"]) if j["array_task_id"] is not None else str(j["job_id"])
    print(who, " ".join("%s=%s" % (k, json.dumps(j[k])) for k in keys))
PY
both "squeue --json" "squeue --json | python3 $BASE/squeue_json.py"
both "squeue -j an array" "squeue -h -r -j 9 -o '%i %K %t'"
both "squeue -u -n filters" "squeue -h -u root -n sweep,later -o '%i %j'"
both "sinfo" "sinfo"
both "sinfo -o" "sinfo -h -o '%P|%R|%a|%l|%D|%t|%T|%N|%c'"
both "scancel an array task" "scancel 9_3; squeue -h -r -j 9 -o '%i %t'"
both "squeue unknown option" "squeue --frob; echo rc=\$?"

# srun inside batch jobs, on the emptied node (the job ids differ from here on: the array took
# one in Slurm and four in gwang): what the tasks get, what srun relays and says, and the steps
# as sacct lists them.
scancel --user=root 2>/dev/null; GWANG_DATA=$BASE/gwang "$G/scancel" --user=root 2>/dev/null
wait_for 120 sh -c 'test "$(squeue -h | wc -l)" = 0' || note "Slurm's queue did not empty"
wait_for 60 sh -c "test \"\$(GWANG_DATA=$BASE/gwang $G/squeue -h | wc -l)\" = 0" || note "gwang's queue did not empty"
cat >steps.sh <<'EOF_STEPS'
#!/bin/bash
#SBATCH -n 2 -t 5 -o steps.out
srun bash -c 'echo $SLURM_PROCID $SLURM_LOCALID $SLURM_NODEID $SLURM_NTASKS $SLURM_STEP_NUM_TASKS $SLURM_STEP_NUM_NODES $SLURM_TASKS_PER_NODE $SLURM_STEP_TASKS_PER_NODE $SLURM_STEP_ID $SLURM_GTIDS' | sort
srun -l bash -c 'echo out $SLURM_PROCID' | sort
srun -l bash -c 'echo err $SLURM_PROCID >&2' 2>&1 | sort
srun -n1 -c2 printenv SLURM_CPUS_PER_TASK
srun bash -c 'exit $((SLURM_PROCID * 3))'; echo "rc=$?"
srun -n1 bash -c 'kill -9 $$'; echo "rc=$?"
srun -n3 true 2>/dev/null; echo "rc=$?"
srun -n1 -J named true; echo "rc=$?"
EOF_STEPS
steps() { id=$(sbatch --parsable --wait steps.sh); sed "s/=$id\./=ID./" steps.out; sleep 3; sacct -j "$id" -P -n -o JobID,JobName,State,ExitCode,NNodes | sed "s/^$id/ID/"; }
both "srun in a batch job" "$(declare -f steps); steps"
both "srun outside a job" "env -u SLURM_JOB_ID srun --frob true; echo rc=\$?"
# What a step holds: all of the job's CPUs and memory by default, so the next one waits (and says
# so); --exact with its own memory, or --overlap, side by side; -I refuses; too much memory.
cat >holds.sh <<'EOF_HOLDS'
#!/bin/bash
#SBATCH -n 2 -t 5 -o holds.out
show() { echo "$1 $(grep Cpus_allowed_list /proc/self/status | cut -f2)"; }
export -f show
srun -n1 bash -c 'show a; sleep 3' &
sleep 1
srun -n1 bash -c 'show b'
wait
srun -n1 bash -c 'sleep 3' &
sleep 1
srun -n1 -I true; echo "rc=$?"
srun -n1 --overlap bash -c 'show overlap'
wait
for k in 1 2; do srun -n1 --exact --mem=100 bash -c 'show exact; sleep 2' & done | sort
wait
srun -n1 --mem=100000 true; echo "rc=$?"
EOF_HOLDS
holds() { id=$(sbatch --parsable --wait holds.sh); sed "s/\\b$id\\b/ID/g" holds.out; }
both "steps that hold and wait" "$(declare -f holds); holds"
# srun's own output files, a program for each task, a step's time and wait limits, CPU binding.
cat >srun_io.sh <<'EOF_IO'
#!/bin/bash
#SBATCH -n 2 -t 5 -o srun_io.out
srun -o 'io-%j-%t.out' -e 'io-%s.err' bash -c 'echo out $SLURM_PROCID; echo err $SLURM_PROCID >&2'
cat io-$SLURM_JOB_ID-0.out io-$SLURM_JOB_ID-1.out; sort io-0.err
srun -o 'both-%t.txt' bash -c 'echo out $SLURM_PROCID; echo err $SLURM_PROCID >&2'; sort both-0.txt both-1.txt
srun -o 1 bash -c 'echo only $SLURM_PROCID'
srun -o none bash -c 'echo never $SLURM_PROCID'; echo "rc=$?"
srun -l --open-mode=append -o both-0.txt -n 1 echo appended; cat both-0.txt | sort
printf '0 echo first %%t\n1 echo second %%t %%o\n' >mp.conf
srun --multi-prog mp.conf | sort
printf '# comment\n* echo any %%t\n' >mp2.conf
srun --multi-prog mp2.conf | sort
srun -n2 -W 2 bash -c '[ $SLURM_PROCID = 0 ] || sleep 30' 2>&1 | grep -c Terminating
for b in q verbose,none v cores q,threads map_cpu:0,1 v,mask_cpu:0x3; do
  # Slurm's line for verbose comes on the task's standard error (its pid made PID), the variables on
  # its standard output: the two sorted together, as the streams' interleaving is the moment's.
  echo "== --cpu-bind=$b"
  srun -n1 --cpu-bind=$b bash -c 'env | grep ^SLURM_CPU_BIND' 2>&1 | sed 's/\[[0-9]*\]/[PID]/' | sort
done
srun -n1 --cpu-bind=frob true 2>&1 | tail -n 1; echo "rc=${PIPESTATUS[0]}"
# --mem-bind: the tasks' variables, each one's memory policy (numa_maps: "bind:0", "prefer:0",
# "default") and the verbose lines; then Slurm's words for a bad one, and its help.
for b in local none map_mem:0 mask_mem:0x1 verbose,local p,map_mem:0 prefer,local sort,local nosort \
    q,none v,mask_mem:0x1,0x1 verbose,none v,rank; do
  echo "== --mem-bind=$b"
  srun -n 1 --mem-bind=$b bash -c 'env | grep ^SLURM_MEM_BIND | sort | paste -sd" "; head -1 /proc/self/numa_maps | cut -d" " -f2' 2>&1 | sed 's/\[[0-9]*\]/[PID]/' | sort
done
for b in bogus map_mem: mask_mem:zz help; do srun --mem-bind=$b true; echo "rc=$?"; done
srun -n1 --quit-on-interrupt -X -I true; echo "rc=$?"
EOF_IO
srun_io() { id=$(sbatch --parsable --wait srun_io.sh); sed "s/\\b$id\\b/ID/g" srun_io.out; }
both "srun output, multi-prog, limits" "$(declare -f srun_io); srun_io"
# sbatch --mem-bind: the batch shell's variables (it is not bound), and its step's binding.
cat >mbs.sh <<'MBS'
#!/bin/bash
#SBATCH --mem-bind=verbose,local -o mbs.out
env | grep ^SLURM_MEM_BIND | sort; head -1 /proc/self/numa_maps | cut -d" " -f2
srun bash -c 'env | grep ^SLURM_MEM_BIND | sort; head -1 /proc/self/numa_maps | cut -d" " -f2' 2>&1 | sed 's/\[[0-9]*\]/[PID]/' | sort
MBS
both "sbatch --mem-bind" "sbatch --wait mbs.sh >/dev/null; cat mbs.out"
# --cpu-freq: the tasks' SLURM_CPU_FREQ_REQ in Slurm's spelling, for each form; Slurm's words for
# a bad value and for a governor slurm.conf's default CpuFreqGovernors leaves out; sbatch's.
cat >cf.sh <<'CF'
#!/bin/bash
#SBATCH -o cf.out
for f in high low medium highm1 2400000 1000000-2000000 1000000-2000000:performance performance ondemand \
    Conservative userspace powersave schedutil 2000000:ondemand low-high:UserSpace bogus 0 -5; do
  echo "== $f"
  srun --cpu-freq=$f bash -c 'env | grep -i freq | sort'; echo "rc=$?"
done
CF
both "srun --cpu-freq" "sbatch --wait cf.sh >/dev/null; cat cf.out"
both "sbatch --cpu-freq" "sbatch --wait --cpu-freq=high -o cf2.out --wrap 'env | grep -i freq; srun env | grep -i freq' >/dev/null; cat cf2.out; sbatch --cpu-freq=bogus --wrap true; echo rc=\$?; sbatch --cpu-freq=powersave --wrap true >/dev/null; echo rc=\$?"
# --gpu-freq: the batch shell's SLURM_GPU_FREQ, its steps' SLURMD_TRES_FREQ, and a bad value.
both "--gpu-freq" "sbatch --wait --gpu-freq=high -o gf.out --wrap 'env | grep -i freq; srun env | grep -i freq | sort; srun --gpu-freq=low,memory=high,verbose env | grep -i freq | sort' >/dev/null; cat gf.out; sbatch --gpu-freq=bogus --wrap true; echo rc=\$?"
# --hint, --threads-per-core, --ntasks-per-core: what the batch shell and its step are told, and
# the step's CPUs (on these one-thread cores, the same); a hint --ntasks-per-core drops; a bad hint.
cat >hint.sh <<'HINT'
#!/bin/bash
for o in --hint=nomultithread --hint=multithread --hint=compute_bound --hint=memory_bound --threads-per-core=1 \
    --ntasks-per-core=1 "--hint=nomultithread --ntasks-per-core=1" --hint=bogus "-n 2 --ntasks-per-core=1"; do
  echo "== $o"
  sbatch --wait -o hint.out $o --wrap 'env | grep -E "HINT|PER_CORE|PER_SOCKET|THREADS|CPUS_ON|JOB_CPUS|NTASKS" | sort; srun bash -c "grep Cpus_allowed_list /proc/self/status; env | grep -E \"HINT|PER_CORE|PER_SOCKET|THREADS|CPU_BIND=\" | sort" | sort' 2>&1 | sed 's/job [0-9]*/job ID/'
  echo "rc=${PIPESTATUS[0]}"
  cat hint.out 2>/dev/null; rm -f hint.out
done
HINT
both "sbatch --hint, --threads-per-core, --ntasks-per-core" "bash hint.sh"
# Licenses (both clusters have fluent:1 and matlab:2): scontrol's view of them, what a job asks
# for as it gave it, Slurm's forms taken and refused (gwang says why after Slurm's words), and a
# job that waits for the seats another holds while a job asking for others runs.
lic() {
  scontrol show lic; scontrol show licenses matlab; scontrol show li nope
  first=$(sbatch --parsable -H -L matlab:2,fluent --wrap true); sbatch -H -L matlab -L fluent --wrap true >/dev/null
  squeue -o '%W %r' | sort; scontrol show job "$first" | grep -o 'Licenses=[^ ]*'
  for l in nope matlab:3 matlab:0 matlab:x ,matlab matlab, matlab=1 matlab:1,matlab:1 matlab:1,matlab:2 matlab@db:1; do
    echo "== $l"; sbatch -H -L "$l" --wrap true 2>&1 | sed -E -e 's/specification: .*/specification/' -e 's/job [0-9]+/job ID/'
    echo "rc=${PIPESTATUS[0]}"
  done
  squeue -o '%W %r' | sort; scancel -u root
}
both "sbatch -L, scontrol show licenses" "$(declare -f lic); lic"
lic_wait() {
  a=$(sbatch --parsable -L matlab:2 --wrap 'sleep 60')
  for _ in $(seq 50); do [ "$(squeue -h -j "$a" -o %t)" = R ] && break; sleep 0.2; done
  b=$(sbatch --parsable -L matlab --wrap true); c=$(sbatch --parsable -L fluent -o lw.out --wrap 'echo ran')
  for _ in $(seq 50); do
    [ -s lw.out ] && [ -z "$(squeue -h -j "$c" -o %t 2>/dev/null)" ] && [ "$(squeue -h -j "$b" -o %r)" = Licenses ] && break
    sleep 0.2
  done
  squeue -o '%W %t %r' | sort; scontrol show lic; cat lw.out
  scancel "$a"
  for _ in $(seq 100); do [ -z "$(squeue -h -j "$b" -o %t 2>/dev/null)" ] && break; sleep 0.2; done
  squeue -h | wc -l; scontrol show lic matlab
}
both "a job waiting for licenses" "$(declare -f lic_wait); lic_wait"
# -k, --no-kill: its values taken and refused (a node's failure itself is MultiHost's test), in
# sbatch, its variable and srun (where -K and -W then do nothing).
both "sbatch and srun -k" "sbatch --no-kill=bogus --wrap true; echo rc=\$?; sbatch -k --wait -o nk.out --wrap 'srun -k echo ran; srun --no-kill=off echo ran; srun -k -K -W 1 echo ran; srun --no-kill=bogus true; echo rc=\$?; SLURM_NO_KILL=bogus srun true; echo rc=\$?' >/dev/null; cat nk.out; SBATCH_NO_KILL=set sbatch --wait -o nk2.out --wrap 'echo ran' >/dev/null; cat nk2.out"
# srun inside an allocation: the options that ask for an allocation, taken and not used (some
# with a line of Slurm's); srun's own prolog and epilog; the tasks' prolog and epilog; --propagate.
printf '#!/bin/sh\necho "export FOO=bar baz"\necho "print hello from $SLURM_PROCID"\necho "unset HOME"\necho "other"\n' >tp.sh
printf '#!/bin/sh\necho epilog $SLURM_PROCID >&2\n' >te.sh
printf '#!/bin/sh\necho "srun prolog: $*"; exit ${RC:-0}\n' >sp.sh
chmod +x tp.sh te.sh sp.sh
cat >srun_alloc.sh <<'EOF_ALLOC'
#!/bin/bash
#SBATCH -n 2 -t 5 -o srun_alloc.out
for a in --partition=main --partition=nope -Aroot -qnormal --begin=now+1hour -dafterok:1 -H --mail-type=END \
    --mail-user=a@b --nice=10 --priority=5 --reservation=x --wckey=x --comment=hi -Lfoo --deadline=now+1hour \
    --time-min=1 --contiguous --reboot --delay-boot=5 --use-min-nodes --spread-job --switches=1 --power=level \
    --mcs-label=x --cluster-constraint=x --prefer=x --tmp=10 --mincpus=1 -S1 --thread-spec=1 -s --signal=USR1@10 \
    --uid=0 --gid=0 --bb=x --sockets-per-node=1 --cores-per-socket=1 --threads-per-core=1 -B1 \
    --ntasks-per-core=1 --ntasks-per-socket=1 --hint=nomultithread --gpu-bind=closest --gpu-freq=high \
    --cpu-freq=high --mem-bind=none --accel-bind=g --acctg-freq=10 --profile=none --network=x --msg-timeout=10 \
    -T2 --gres-flags=enforce-binding --pty --clusters=$SLURM_CLUSTER_NAME; do
  echo "== $a"; srun -n1 $a bash -c 'echo ran' 2>&1
done
for a in --x11 --het-group=0 --clusters=nope; do echo "== $a"; srun -n1 $a true 2>&1; echo "rc=$?"; done
echo "== task prolog and epilog"
srun --task-prolog=$PWD/tp.sh --task-epilog=$PWD/te.sh bash -c 'echo "task $SLURM_PROCID FOO=$FOO HOME=${HOME-unset}"' 2>&1 | sort
echo "== prolog and epilog"
srun --prolog=$PWD/sp.sh --epilog=$PWD/sp.sh -n1 echo step ran; echo "rc=$?"
RC=4 srun --epilog=$PWD/sp.sh -n1 echo step ran 2>&1; echo "rc=$?"
RC=3 srun --prolog=$PWD/sp.sh -n1 echo step ran 2>&1 | head -n 2
echo "== propagate"
ulimit -S -n 555; srun -n1 --propagate=NONE bash -c 'ulimit -S -n'; srun -n1 --propagate=NOFILE bash -c 'ulimit -S -n'
EOF_ALLOC
srun_alloc() { id=$(sbatch --parsable --wait srun_alloc.sh); sed -E "s/\\b$id\\b/ID/g" srun_alloc.out; }
both "srun's allocation options, prologs, epilogs" "$(declare -f srun_alloc); srun_alloc"
# sbatch's options that Slurm with gwang's configuration takes and does not use.
both "sbatch's options unused here" "sbatch --wait -o un.out -s --acctg-freq=task=10 --profile=none --network=x --switches=1 --power=level --wckey=w --mcs-label=m --wrap 'echo ran' >/dev/null; cat un.out"
both "scontrol show config (what tools read)" "scontrol show config | grep -E '^(SchedulerTimeSlice|AcctGatherNodeFreq|MpiDefault|SelectType|TaskPlugin|TrackWCKey|MCSPlugin|BcastExclude|BcastParameters|Licenses) '"
both "srun --mpi of no type" "srun --mpi=frob true 2>&1 | tail -n 1; echo rc=\${PIPESTATUS[0]}"
# The submitter's resource limits, which the script starts with.
both "sbatch propagates limits" "ulimit -S -n 777; ulimit -S -c 0; sbatch --wait -o ul.out --wrap 'ulimit -S -n; ulimit -S -c; env | grep -c ^SLURM_RLIMIT_' >/dev/null; cat ul.out"
# Variables from a file of NUL-ended definitions.
both "sbatch --export-file" "printf 'A=1\\0B=x  y\\0' >ef; sbatch --wait -o ef.out --export-file=ef --wrap 'echo \$A \"\$B\"' >/dev/null; cat ef.out"
# --kill-on-invalid-dep: a job whose dependency failed is cancelled (yes) or waits on (no).
invalid_dep() {
  a=$(sbatch --parsable --wrap 'exit 1')
  b=$(sbatch --parsable -d "afterok:$a" --kill-on-invalid-dep=yes --wrap true)
  c=$(sbatch --parsable -d "afterok:$a" --kill-on-invalid-dep=no --wrap true)
  for i in $(seq 120); do
    [ -z "$(squeue -h -j "$b" -o %i 2>/dev/null)" ] && [ "$(squeue -h -j "$c" -o %r)" = DependencyNeverSatisfied ] && break
    sleep 0.5
  done
  # (Slurm's own Reason for it varies between runs, None or Dependency: left out.)
  sacct -n -P -X -j "$b" -o State,ExitCode
  squeue -h -j "$c" -o '%t %r'
  scancel "$c"
  sbatch --kill-on-invalid-dep=maybe --wrap true; echo "rc=$?"
}
both "sbatch --kill-on-invalid-dep" "$(declare -f invalid_dep); invalid_dep"
# srun -t: the step alone is ended at its own time limit (Slurm's controller checks now and then;
# the job goes on), and how srun and sacct tell it.
step_limit() {
  id=$(sbatch --parsable -o sl.out --wrap 'srun -t 0:02 sleep 100; echo "srun rc=$?"; srun true; echo "next rc=$?"')
  for i in $(seq 240); do [ -z "$(squeue -h -j "$id" -o %i)" ] && break; sleep 0.5; done
  sed -E -e 's/AT [0-9T:-]+/AT TIME/' -e "s/\\b$id\\b/ID/g" sl.out
  sacct -n -P -j "$id" -o JobID,State,ExitCode | sed "s/^$id/ID/"
}
both "srun -t: a step's own time limit" "$(declare -f step_limit); step_limit"
# -M: the one cluster by its name (or all) takes a job and says so; another is refused.
both "sbatch -M" "n=\$(scontrol show config | sed -n 's/^ClusterName *= //p'); sbatch -M \$n --wrap true | sed 's/job [0-9]*/job ID/'; sbatch --parsable --clusters=all --wrap true | sed 's/^[0-9]*/ID/'; sbatch -M elsewhere --wrap true; echo rc=\$?"

# The environments, variable by variable: a batch script's and each task's of a step in it, whole,
# with what differs from run to run masked (job and process ids, the job's directory, this run's
# PATH of gwang's commands) and the variables docs/slurm.md lists as differing on purpose left out.
sed -n '/^### Variables that differ from Slurm/,/^##* [^V]/p' "$ROOT/docs/slurm.md" | sed -n 's/^| \([^|]*\)|.*/\1/p' |
  grep -o '`[A-Za-z0-9_*]*`' | tr -d '`' | sed -e 's/\*/[^=]*/' -e 's/^/^/' -e 's/$/=/' >"$BASE/env_exclude"
[ -s "$BASE/env_exclude" ] || die "docs/slurm.md lists no variables that differ (its table moved?)"
cat >"$BASE/envs.sh" <<'ENVS'
#!/bin/bash
# envs.sh EXCLUDE GBIN SBATCH-ARGS...: the environments of a batch job's script and of its step's
# tasks, each under "== NAME", masked and without the variables EXCLUDE's patterns match.
exclude=$1 gbin=$2; shift 2
d=$(mktemp -d "$PWD/envs.XXXXXX") && cd "$d" || exit 2
cat >dump.sh <<'DUMP'
#!/bin/bash
env >"env.${SLURM_ARRAY_TASK_ID:-job}.batch"
# Without ALL the script has its login PATH, where this host's srun is Slurm's: no step then.
case ${SLURM_EXPORT_ENV:-ALL} in ALL*) srun bash -c 'env >"env.${SLURM_ARRAY_TASK_ID:-job}.step.$SLURM_PROCID"' ;; esac
DUMP
sbatch --wait -o /dev/null "$@" dump.sh >/dev/null || echo "sbatch $*: exit status $?"
for f in $(ls env.* | sort); do
  echo "== ${f#env.}"
  grep -v -E -f "$exclude" "$f" | sed -E -e "s#^PATH=$gbin:#PATH=#" -e "s#$d#DIR#g" \
    -e 's/^(SLURM_JOB_ID|SLURM_JOBID|SLURM_ARRAY_JOB_ID)=[0-9]+$/\1=ID/' -e 's/^SLURM_TASK_PID=[0-9]+$/SLURM_TASK_PID=PID/' | sort
done
rm -rf "$d"
ENVS
envs() { both "environment: sbatch $1" "bash $BASE/envs.sh $BASE/env_exclude $G $1"; }
envs "-n 2 -t 5"
envs "-c 2 --mem=300 -t 5"
envs "-a 1-2 --mem-per-cpu=100 -t 5"
envs "--mincpus=2 -m cyclic -t 5"
envs "-n 2 -O -t 5"
envs "--export=NONE -t 5"
envs "--export=FOO=1,HOME -t 5"
umask 0027  # the job and its steps start with the submitter's
envs "-J named --get-user-env -t 5"
# srun --test-only, inside a job and outside: when and where a job of its counts would start (it
# takes job ids, so it comes after the cases that name jobs by id; and by now gwang's ids run
# ahead of Slurm's, an array taking one per task, so they are masked).
both "srun --test-only" "sbatch --wait -o tz.out --wrap 'srun --test-only hostname 2>&1 | sed -E \"s/Job [0-9]+ to start at [0-9-]+T[0-9:]+ using/Job ID to start at (now) using/\"; srun --test-only -n 2 -t 5 hostname 2>&1 | sed -E \"s/Job [0-9]+ to start at [0-9-]+T[0-9:]+ using/Job ID to start at (now) using/\"' >/dev/null; cat tz.out; srun --test-only -c 2 hostname 2>&1 | sed -E 's/Job [0-9]+ to start at [0-9-]+T[0-9:]+ using/Job ID to start at (now) using/'; echo rc=\$?"
umask 0022

start_two_node_clusters
both2() {  # on the two-node clusters (the settings not exported: the jobs would get them)
  local s=$SLURM_ENV g=$GWANG_ENV
  SLURM_ENV="SLURM_CONF=$S2/etc/slurm.conf" GWANG_ENV="$GCTL"
  both "$@"
  SLURM_ENV=$s GWANG_ENV=$g
}
cat >two.sh <<'TWO'
#!/bin/bash
#SBATCH -N 2 --ntasks-per-node=2 -t 5 -o two.out
for args in "" "-n 3" "-m cyclic" "-n 3 -m cyclic" "-n 2 --ntasks-per-node=1" "-N 1 -n 1" "-N 1 -n 2" "-n 1" \
    "-N 2 -n 3 --ntasks-per-node=1" "-w n2" "-w n2 -n 2" "-N 1 -n 1 -x n1" "-N 1 -r 1 -n 1" "-w n2 -N 2 -n 3" \
    "-N 1 -n 1 -E" "-N 2 -n 2 --preserve-env"; do
  echo "== srun $args"
  srun $args bash -c 'echo $SLURM_PROCID $SLURM_NODEID $SLURM_LOCALID $SLURMD_NODENAME $SLURM_STEP_NODELIST $SLURM_STEP_NUM_NODES $SLURM_TASKS_PER_NODE $SLURM_GTIDS $SLURM_NTASKS' 2>&1 | sort
  # A step's end reaches Slurm's controller a moment after srun returns: until then its CPUs
  # look busy, and the next step may go to the other node. Each starts once the last is let go.
  sleep 0.5
done
for args in "-c 2" "-N 1 -n 3" "-N 2 -n 6" "-c 3 -n 1"; do  # refused (in words of gwang's own)
  echo "== srun $args"; srun $args true 2>&1 | grep -v 'Unable to create step'; echo "rc=${PIPESTATUS[0]}"
done
for args in "-x n1" "-r 1" "-w n3"; do  # refused (with SLURM_NNODES=2 from the job), in other words
  echo "== srun $args"; srun $args true >/dev/null 2>&1; echo "rc=$?"
done
srun -l bash -c 'echo $SLURM_PROCID $SLURMD_NODENAME' | sort
srun bash -c 'exit $SLURM_NODEID'; echo "rc=$?"
TWO
both2 "srun on two nodes" "sbatch --wait two.sh >/dev/null; cat two.out"
# MPI programs started by each MPI's own mpirun inside a two-node batch job, which starts its
# daemons on the other node through srun (Open MPI's orted, MPICH's hydra_pmi_proxy): each rank
# says where it runs and what the all-reduce of the ranks' numbers gave. (MPICH's mpiexec passes
# its own environment, SLURMD_NODENAME included, to every rank: its ranks all name the first node.)
cat >allreduce.c <<'MPI'
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char** argv) {
  int rank, size, sum = 0, mine;
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  mine = rank + 1;
  MPI_Allreduce(&mine, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  printf("rank %d of %d on %s: sum %d\n", rank, size, getenv("SLURMD_NODENAME"), sum);
  MPI_Finalize();
  return sum == size * (size + 1) / 2 ? 0 : 1;
}
MPI
mpicc.openmpi -o allreduce.openmpi allreduce.c && mpicc.mpich -o allreduce.mpich allreduce.c || die "mpicc failed"
for mpi in openmpi mpich; do
  opts=; [ $mpi = openmpi ] && opts="--allow-run-as-root --mca btl self,tcp --mca oob_tcp_if_include lo --mca btl_tcp_if_include lo"
  printf '#!/bin/bash\n#SBATCH -N 2 --ntasks-per-node=2 -t 5 -o %s.out\nmpirun.%s %s -n 4 ./allreduce.%s | sort\necho "rc=${PIPESTATUS[0]}"\n' \
    "$mpi" "$mpi" "$opts" "$mpi" >"$mpi.sh"
  both2 "mpirun of $mpi inside sbatch -N 2" "sbatch --wait $mpi.sh >/dev/null; cat $mpi.out"
done
# MPICH's ranks started by srun itself as their process manager (--mpi=pmi2): Slurm's pmi2 plugin
# and gwang's srun each serve them.
printf '#!/bin/bash\n#SBATCH -N 2 --ntasks-per-node=2 -t 5 -o pmi2.out\nsrun --mpi=pmi2 ./allreduce.mpich | sort\necho "rc=${PIPESTATUS[0]}"\n' >pmi2.sh
both2 "srun --mpi=pmi2 of MPICH on two nodes" "sbatch --wait pmi2.sh >/dev/null; cat pmi2.out"
# Open MPI's ranks started by srun itself (--mpi=pmix): Slurm's mpi/pmix serves them from a PMIx
# server in each node's slurmstepd, gwang from gwang-pmix on each node; then the names of the PMIx
# variables a task gets (their values are each server's own) and the layout they tell.
cat >pmix.sh <<'PMIX'
#!/bin/bash
#SBATCH -N 2 --ntasks-per-node=2 -t 5 -o pmix.out
OMPI_MCA_btl=self,tcp OMPI_MCA_btl_tcp_if_include=lo srun --mpi=pmix ./allreduce.openmpi | sort
echo "rc=${PIPESTATUS[0]}"
srun --mpi=pmix -n 1 env | grep -o -E '^(PMIX|SLURM_PMIX|SLURM_MPI)[A-Z0-9_]*' | sort
srun --mpi=pmix -n 3 -l printenv SLURM_PMIX_MAPPING_SERV SLURM_MPI_TYPE | sort
srun --mpi=pmix -n 4 -m cyclic -l printenv SLURM_PMIX_MAPPING_SERV | sort
PMIX
both2 "srun --mpi=pmix of Open MPI on two nodes" "sbatch --wait pmix.sh >/dev/null; cat pmix.out"
# srun --bcast: the program copied to each node before it runs there (by default as
# slurm_bcast_JOB.STEP_NODE in the working directory), and with --send-libs the libraries it needs
# that are not under BcastExclude's directories, beside it in DEST_libs (put first in
# LD_LIBRARY_PATH); then the refusals of a bad --compress and a relative --bcast-exclude. (The
# two nodes share this host's file system: Slurm's second node then fails to make a DEST_libs
# the first has made, so the libraries go to per-node names.)
mkdir -p lib && printf 'int gw(void) { return 7; }\n' >lib/gw.c && cc -shared -fPIC -o lib/libgw.so lib/gw.c &&
  printf '#include <stdio.h>\n#include <stdlib.h>\nint gw(void);\nint main(void) { printf("%%s %%d\\n", getenv("LD_LIBRARY_PATH"), gw()); return 0; }\n' >uses.c &&
  cc -o uses uses.c -Llib -lgw || die "cc failed"
printf '#!/bin/sh\necho "$0 $SLURMD_NODENAME"\n' >showme.sh && chmod 755 showme.sh
cat >bcast.sh <<'BCAST'
#!/bin/bash
#SBATCH -N 2 --ntasks-per-node=1 -t 2 -o bcast.out
mask() { sed "s|$PWD|WORK|g; s|_$SLURM_JOB_ID\.|_ID.|g" | sort; }
srun --bcast ./showme.sh | mask
mkdir -p bc bc2 && srun --bcast="$PWD/bc/" --compress ./showme.sh | mask
srun --bcast="$PWD/bc/mine" --compress=lz4 showme.sh 2>&1 | mask
LD_LIBRARY_PATH=$PWD/lib srun --bcast="$PWD/bc/" --send-libs ./uses | mask
LD_LIBRARY_PATH=$PWD/lib srun --bcast="$PWD/bc2/" --send-libs --bcast-exclude="$PWD/lib" ./uses | mask
ls bc bc/*_libs bc2 | mask
srun --bcast --compress=zstd true 2>&1 | mask; echo "rc=${PIPESTATUS[0]}"
srun --bcast --bcast-exclude=lib true 2>&1 | mask; echo "rc=${PIPESTATUS[0]}"
srun --bcast ./nosuch 2>&1 | mask; echo "rc=${PIPESTATUS[0]}"
rm -rf bc bc2 slurm_bcast_*
BCAST
both2 "srun --bcast on two nodes" "sbatch --wait bcast.sh >/dev/null; cat bcast.out"
envs2() { both2 "environment on two nodes: sbatch $1" "bash $BASE/envs.sh $BASE/env_exclude $G $1"; }
envs2 "-N 2 --ntasks-per-node=2 -t 5"
envs2 "-N 2 -t 5"

# srun --pty in a running job, outside one, and salloc's shell, each typed into a terminal: its
# size and a resize, Ctrl-C, exit 3.
both "srun --pty typed into a terminal" "bash $ROOT/tests/slurm/pty_transcript.sh inside"
both "srun --pty outside a job, typed into a terminal" "bash $ROOT/tests/slurm/pty_transcript.sh outside"
both "salloc typed into a terminal" "bash $ROOT/tests/slurm/pty_transcript.sh salloc"

# salloc and srun outside a job, without a terminal: the allocation's variables, its command's
# exit code as salloc's, a step from its shell, a scancel from inside, mistakes, --no-shell, a
# wait given up (-I), and how sacct shows them. Job ids are N; Slurm's "has been revoked." after
# its own relinquish (a race of its controller's word with its exit) is dropped, as it is after
# salloc -I's error, which Slurm's says before it, after it, or not at all (the same race).
ids='s/\([Aa]llocation\|[Jj]ob\) [0-9][0-9]*/\1 N/g; s/[0-9][0-9]*\.*$/N/'
late='/Relinquishing/{n;/has been revoked\.$/d}'
export ids late
both "salloc's variables" 'salloc -t 5 --mem=64M -n 2 env </dev/null 2>/dev/null | grep "^SLURM_" | grep -v "^SLURM_CONF=\|^SLURM_JOB_ACCOUNT=\|^SLURM_JOB_QOS=\|^SLURM_SUBMIT_HOST=\|^SLURM_JOBID=\|^SLURM_JOB_ID=\|^SLURM_CLUSTER_NAME=\|NODELIST=\|^SLURM_SUBMIT_DIR=" | sort'
both "salloc's command's exit code" 'salloc -t 5 --mem=64M sh -c "exit 3" 2>&1 | sed -e "$ids" -e "$late"; echo "rc=${PIPESTATUS[0]}"'
both "salloc's shell from its input, a step in it" 'echo "echo in-shell \$SLURM_JOB_NUM_NODES; srun -n1 echo step-ok; exit 4" | salloc -t 5 --mem=64M 2>&1 | sed -e "$ids" -e "$late"; echo "rc=${PIPESTATUS[1]}"'
both "srun outside a job: an allocation of its own" 'srun -t 5 --mem=64M -n2 echo hi; echo rc=$?; srun -t 5 --mem=64M sh -c "exit 5"; echo rc=$?'
both "salloc's allocation cancelled under it" 'salloc -t 5 --mem=64M sh -c "sleep 1; scancel \$SLURM_JOB_ID; sleep 2; echo still" 2>&1 | sed -e "$ids"; echo "rc=${PIPESTATUS[0]}"'
both "salloc's mistakes" 'salloc -t 5 --bogus true; echo rc=$?; salloc -t 5 --mem=64M nosuchcmd 2>&1 | sed -e "$ids" -e "$late"'
both "salloc --no-shell, and -I given up" 'salloc -t 5 --exclusive --no-shell 2>&1 | sed -e "$ids"; squeue -h -o "%j %T"; salloc -t 5 --mem=64M -I2 true 2>&1 | sed -e "s/[0-9][0-9]*/N/g" -e "/has been revoked\.$/d"; echo "rc=${PIPESTATUS[0]}"; scancel -n no-shell; sleep 1'
both "salloc's variables for its steps" 'salloc -t 5 -c 1 --mem-per-cpu=32M -m cyclic --ntasks-per-node=1 -O env </dev/null 2>/dev/null | grep "^SLURM_" | grep -v "^SLURM_CONF=\|^SLURM_JOB_ACCOUNT=\|^SLURM_JOB_QOS=\|^SLURM_SUBMIT_HOST=\|^SLURM_JOBID=\|^SLURM_JOB_ID=\|^SLURM_CLUSTER_NAME=\|NODELIST=\|^SLURM_SUBMIT_DIR=" | sort'
both "srun -I given up, and salloc -D" 'salloc -t 5 --exclusive --no-shell 2>&1 | sed -e "$ids"; srun -I2 -t 5 --mem=64M true 2>&1 | sed -e "s/[0-9][0-9]*/N/g"; echo "rc=${PIPESTATUS[0]}"; scancel -n no-shell; sleep 1; cd /tmp && salloc -t 5 --mem=64M -D /var pwd 2>&1 | sed -e "$ids" -e "$late"'
both "sacct of allocations" 'sleep 1; sacct -X -n -o jobname%12,state,exitcode | tail -9'
both "srun outside a job: its input variables" 'SLURM_TIMELIMIT=3 SLURM_PARTITION=main srun --mem=64M sh -c "squeue -h -j \$SLURM_JOB_ID -o \"%l %P\""'

printf '%d same, %d different\n' "$same" "$different"

# The corpus under Slurm itself: the scripts check from the inside what they got, and must pass
# there as they do under gwang (the NPU scripts aside: this Slurm has no NPUs).
scancel --user=root 2>/dev/null
wait_for 120 sh -c 'test "$(squeue -h | wc -l)" = 0' || note "Slurm's queue did not empty"
C=$BASE/corpus
mkdir -p "$C/rundir" "$C/sweep"
cp "$ROOT"/tests/slurm/corpus/*.sh "$ROOT"/tests/slurm/corpus/train.py "$C/"
rm -f "$C"/train_npu.sh "$C"/train_two_npus.sh
echo "written before" >"$C/appended.out"
corpus_ok=0 corpus_all=0
(
  cd "$C" || exit 2
  export CORPUS_SECRET=s3cret
  p=$(sbatch --parsable chain_prepare.sh); t=$(sbatch --parsable -d "afterok:$p" chain_train.sh)
  sbatch --parsable -d "afterok:$t" chain_evaluate.sh >/dev/null
  f=$(sbatch --parsable fails.sh); sbatch --parsable -d "afternotok:$f" on_failure.sh "$f" >/dev/null
  sbatch --parsable nightly.sh >/dev/null; sbatch --parsable nightly.sh >/dev/null
  h=$(sbatch --parsable held.sh); sbatch --parsable train.py --epochs 2 >/dev/null
  for s in *.sh; do
    case $s in chain_*|fails.sh|on_failure.sh|nightly.sh|held.sh) continue ;; esac
    sbatch --parsable "$s" >/dev/null
  done
  scontrol release "$h"
)
# The multi-node scripts, on the two-node Slurm. Its nodes' names do not resolve on this one host:
# the rendezvous is given its address, as gwang gives it to every job.
M=$C/multinode
mkdir -p "$M"
cp "$ROOT"/tests/slurm/corpus/multinode/* "$M/"
(cd "$M" && for s in *.sh; do SLURM_CONF=$S2/etc/slurm.conf MASTER_ADDR=127.0.0.1 sbatch --parsable "$s" >/dev/null; done)
wait_for 300 sh -c 'test "$(squeue -h | wc -l)" = 0' || note "Slurm's corpus jobs did not all end"
wait_for 120 sh -c "test \"\$(SLURM_CONF=$S2/etc/slurm.conf squeue -h | wc -l)\" = 0" || note "the multi-node jobs did not all end"
for s in "$C"/*.sh "$C"/train.py "$M"/*.sh; do
  name=$(basename "$s"); name=${name%.sh}
  corpus_all=$((corpus_all + 1))
  if grep -rqh "^corpus ok: $name" "$C"; then corpus_ok=$((corpus_ok + 1)); else printf 'slurm corpus: %s did not say ok\n' "$name"; fi
done
printf 'slurm corpus: %d of %d scripts ok\n' "$corpus_ok" "$corpus_all"
[ "$different" = 0 ] && [ "$corpus_ok" = "$corpus_all" ]
