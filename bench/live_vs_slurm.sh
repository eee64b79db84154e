#!/usr/bin/env bash
# gwang and Slurm side by side, on this machine, in one run (as root):
#
#   bench/live_vs_slurm.sh
#
# gwang: `gwang up` with its state in a fresh directory and 64 CPUs offered (as the Slurm node
# claims), driven through the `gwang` command (as a user would, one process per call, like Slurm's
# commands) and through its HTTP API (wrk). Slurm:
# Debian's slurm-wlm on a single host, measured by ../shared/anchors/slurm/run.sh (without
# accounting, as gwang here). Prints `name: value` lines, then the comparison table with ratios.
# Knobs (environment): N_SEQ (2000), N_PEND (10000), N_RESTART (100000), QREPS (5), SLURM (1: run
# Slurm too), OUT (where logs and results go).
set -euo pipefail
cd "$(dirname "$0")/.."
N_SEQ=${N_SEQ:-2000}
N_PEND=${N_PEND:-10000}
N_RESTART=${N_RESTART:-100000}
QREPS=${QREPS:-5}
SLURM=${SLURM:-1}
OUT=${OUT:-/tmp/gwang-vs-slurm}
mkdir -p "$OUT"
: >"$OUT/gwang.txt"

scripts/build >/dev/null
if ! command -v wrk >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi
G=$PWD/build/gwang

out() { printf '%s: %s\n' "$1" "$2" | tee -a "$OUT/gwang.txt"; }
now() { printf '%s' "$EPOCHREALTIME"; }
dt() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", b-a}'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN{ if (s>0) printf "%.1f", n/s; else print "nan"}'; }
pct() { sort -g | awk -v q="$1" '{a[NR]=$1} END{i=int(q*NR+0.5); if (i<1) i=1; if (i>NR) i=NR; printf "%.1f", a[i]}'; }
median() { printf '%s\n' "$@" | pct 0.5; }
count_jobs() { # state filter: "active" (pending or running) or "all"
  local flag=; [ "$1" = all ] && flag=--all
  "$G" queue $flag --json | grep -o '"id":' | wc -l
}

DATA=$(mktemp -d /tmp/gwang-bench.XXXXXX)
export GWANG_DATA=$DATA
UP=
start_up() {
  rm -f "$DATA/url"
  "$G" up --data "$DATA" --listen 127.0.0.1:0 --user nobody --no-nvml --cpus 64 >>"$OUT/up.log" 2>&1 &
  UP=$!
  for _ in $(seq 1000); do [ -s "$DATA/url" ] && return 0; sleep 0.005; done
  echo "gwang up did not start" >&2; exit 1
}
first_answer() { # seconds from now until the API answers a query
  local t0=$1
  until "$G" show 1 >/dev/null 2>&1; do sleep 0.005; done
  dt "$t0" "$(now)"
}
cleanup() { [ -n "$UP" ] && kill "$UP" 2>/dev/null; wait 2>/dev/null; rm -rf "$DATA"; }
trap cleanup EXIT

start_up
out host "$(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"

# The loops below are those of the Slurm anchor (../shared/anchors/slurm/run.sh), command for
# command: each call under `timeout`, no timing inside the loop. What that harness costs by itself
# is measured too (harness_*), with `true` in place of the command.
t0=$(now)
for ((i = 0; i < N_SEQ; i++)); do timeout 30 true; done
t1=$(now)
out harness_loop_ms_per_call "$(awk -v a="$t0" -v b="$t1" -v n="$N_SEQ" 'BEGIN{printf "%.2f", (b-a)*1000/n}')"

# ---- a: sequential submissions of runnable trivial jobs, and end to end
t0=$(now)
for ((i = 0; i < N_SEQ; i++)); do
  timeout 30 "$G" submit --mem 64M --time 10m --workdir / --name e2e -- true >/dev/null
done
t1=$(now)
while [ "$(count_jobs active)" -gt 0 ]; do sleep 0.05; done
t2=$(now)
out seq_submit_runnable_jobs_per_s "$(rate "$N_SEQ" "$(dt "$t0" "$t1")")"
# Latency of one submission (no harness: the command alone, timed by the shell itself).
lat=()
for ((i = 0; i < 500; i++)); do
  s=$EPOCHREALTIME
  "$G" submit --mem 64M --time 10m --workdir / --name lat -- true >/dev/null
  e=$EPOCHREALTIME
  lat+=("$s $e")
done
printf '%s\n' "${lat[@]}" | awk '{printf "%.3f\n", ($2-$1)*1000}' >"$OUT/submit_lat.txt"
out seq_submit_ms_p50 "$(pct 0.5 <"$OUT/submit_lat.txt")"
out seq_submit_ms_p99 "$(pct 0.99 <"$OUT/submit_lat.txt")"
while [ "$(count_jobs active)" -gt 0 ]; do sleep 0.05; done
out "e2e_${N_SEQ}_jobs_s" "$(dt "$t0" "$t2")"
out e2e_jobs_per_s "$(rate "$N_SEQ" "$(dt "$t0" "$t2")")"
out e2e_completed "$("$G" queue --all --json | grep -o '"name":"e2e","user":"[^"]*","state":"COMPLETED"' | wc -l)"

# ---- b: pending load, queries
node=$("$G" nodes --json | grep -o '"name":"[^"]*"' | head -1 | cut -d'"' -f4)
"$G" drain "$node" >/dev/null
t0=$(now)
for ((i = 0; i < N_PEND; i++)); do timeout 30 "$G" submit --mem 64M --time 10m --workdir / --name pend -- true >/dev/null; done
t1=$(now)
out "seq_submit_pending_jobs_per_s_all_${N_PEND}" "$(rate "$N_PEND" "$(dt "$t0" "$t1")")"
out queue_pending_records "$(count_jobs active)"
qtime() { # name cmd...
  local name=$1; shift; local ts=() s e
  for _ in $(seq "$QREPS"); do
    s=$(now); timeout 120 "$@" >/dev/null 2>&1; e=$(now)
    ts+=("$(awk -v a="$s" -v b="$e" 'BEGIN{printf "%.1f", (b-a)*1000}')")
  done
  out "${name}_ms_median" "$(median "${ts[@]}")"
  out "${name}_ms_max" "$(printf '%s\n' "${ts[@]}" | sort -g | tail -1)"
}
qtime harness_floor true  # what qtime itself costs: the same code as the anchor's, with `true`
qtime queue "$G" queue
qtime queue_json "$G" queue --json
qtime show_one_job "$G" show "$((N_SEQ + N_PEND / 2))"
qtime nodes "$G" nodes
qtime submit_one_more_pending "$G" submit --mem 64M --time 10m --workdir / --name pend -- true
out up_rss_mib_with_pending "$(ps -o rss= -p "$UP" | awk '{printf "%.1f", $1/1024}')"

# ---- c: the API under concurrent submissions (wrk, 8 connections)
cat >"$OUT/post.lua" <<EOF
wrk.method = "POST"
wrk.body = '{"command":["true"],"mem":"64M","time":"10m","name":"api"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $(cat "$DATA/token")"
EOF
URL=$(cat "$DATA/url")
wrk -t2 -c8 -d10s --latency -s "$OUT/post.lua" "$URL/api/v1/jobs" >"$OUT/wrk.txt"
out api_submit_8conn_per_s "$(awk '/Requests\/sec/ {print $2}' "$OUT/wrk.txt")"
out api_submit_8conn_p50 "$(awk '$1 == "50%" {print $2}' "$OUT/wrk.txt")"
out api_submit_8conn_p99 "$(awk '$1 == "99%" {print $2}' "$OUT/wrk.txt")"
out api_submit_non_2xx "$(awk '/Non-2xx/ {print $4}' "$OUT/wrk.txt")"

# ---- d: restart with N_RESTART jobs in the store
while [ "$(count_jobs all)" -lt "$N_RESTART" ]; do
  wrk -t2 -c16 -d5s -s "$OUT/post.lua" "$URL/api/v1/jobs" >/dev/null
done
out restart_jobs_before "$(count_jobs all)"
out restart_store_mib "$(du -sm "$DATA" | cut -f1)"
kill -KILL "$UP"; wait "$UP" 2>/dev/null || true
t0=$(now); start_up
out restart_after_sigkill_first_query_s "$(first_answer "$t0")"
out restart_jobs_after_sigkill "$(count_jobs all)"
kill -TERM "$UP"; wait "$UP" 2>/dev/null || true
t0=$(now); start_up
out restart_after_sigterm_first_query_s "$(first_answer "$t0")"
out restart_jobs_after_sigterm "$(count_jobs all)"
out up_rss_mib_after_restart "$(ps -o rss= -p "$UP" | awk '{printf "%.1f", $1/1024}')"
kill -TERM "$UP"; wait "$UP" 2>/dev/null || true
UP=

# ---- Slurm, the same machine, right after
if [ "$SLURM" = 1 ]; then
  ACCT=none REPS=1 N_SEQ="$N_SEQ" N_PEND="$N_PEND" QREPS="$QREPS" bash ../shared/anchors/slurm/run.sh >"$OUT/slurm.txt" 2>"$OUT/slurm.log" || true
  s() { awk -v k="$1" -F': ' '$1 == k {print $2}' "$OUT/slurm.txt"; }
  g() { awk -v k="$1" -F': ' '$1 == k {print $2}' "$OUT/gwang.txt"; }
  ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a > 0 && b > 0) printf "%.1fx", a/b; else print "n/a"}'; }
  echo
  net() { awk -v a="$1" -v f="$2" 'BEGIN{printf "%.1f", a - f}'; }
  F=$(g harness_floor_ms_median)
  echo "| measure | gwang | Slurm | gwang vs Slurm | net of the harness ($F ms a call) |"
  echo "|---|---|---|---|---|"
  echo "| sequential submissions of runnable jobs, jobs/s | $(g seq_submit_runnable_jobs_per_s) | $(s seq_submit_runnable_jobs_per_s_median) | $(ratio "$(g seq_submit_runnable_jobs_per_s)" "$(s seq_submit_runnable_jobs_per_s_median)") | |"
  echo "| sequential submissions of pending jobs, jobs/s | $(g seq_submit_pending_jobs_per_s_all_${N_PEND}) | $(s seq_submit_pending_jobs_per_s_all_${N_PEND}) | $(ratio "$(g seq_submit_pending_jobs_per_s_all_${N_PEND})" "$(s seq_submit_pending_jobs_per_s_all_${N_PEND})") | |"
  echo "| one more submission with ${N_PEND} pending, ms | $(g submit_one_more_pending_ms_median) | $(s sbatch_one_more_pending_ms_median) | $(ratio "$(s sbatch_one_more_pending_ms_median)" "$(g submit_one_more_pending_ms_median)") less | $(ratio "$(net "$(s sbatch_one_more_pending_ms_median)" "$F")" "$(net "$(g submit_one_more_pending_ms_median)" "$F")") less |"
  echo "| ${N_SEQ} trivial jobs end to end, jobs/s | $(g e2e_jobs_per_s) | $(s e2e_jobs_per_s_median) | $(ratio "$(g e2e_jobs_per_s)" "$(s e2e_jobs_per_s_median)") | |"
  echo "| queue with ${N_PEND} pending, ms | $(g queue_ms_median) | $(s squeue_ms_median) | $(ratio "$(s squeue_ms_median)" "$(g queue_ms_median)") less | $(ratio "$(net "$(s squeue_ms_median)" "$F")" "$(net "$(g queue_ms_median)" "$F")") less |"
  echo "| one job's details, ms | $(g show_one_job_ms_median) | $(s scontrol_show_job_ms_median) | $(ratio "$(s scontrol_show_job_ms_median)" "$(g show_one_job_ms_median)") less | $(ratio "$(net "$(s scontrol_show_job_ms_median)" "$F")" "$(net "$(g show_one_job_ms_median)" "$F")") less |"
  echo "| restart (SIGTERM) until the first answer, s | $(g restart_after_sigterm_first_query_s) ($(g restart_jobs_before) jobs) | $(s ctld_restart_after_sigterm_first_query_s) ($(s restart_jobs_before) jobs) | | |"
  echo "| server memory with ${N_PEND} pending, MiB | $(g up_rss_mib_with_pending) | $(s ctld_rss_mib_with_pending) | $(ratio "$(s ctld_rss_mib_with_pending)" "$(g up_rss_mib_with_pending)") less | |"
fi
