#!/usr/bin/env bash
# Keystroke echo through srun --pty, gwang and Slurm side by side, on this machine, in one run (as
# root): the one-node clusters of tests/slurm/clusters.sh (Debian's slurm-wlm 22.05, and `gwang
# up`), a job holding each node, then bench/pty_echo.py typing N keys (400) into `srun --jobid=JOB
# --overlap --pty cat` on each, and into `gwang attach JOB -- cat`. gwang's terminals go through its
# controller (WebSockets); Slurm's srun talks to its slurmstepd directly.
#
#   bench/terminal_latency.sh [BUILD_DIR]
set -u
N=${N:-400}
HERE=$(cd "$(dirname "$0")" && pwd)
set -- "${1:-$HERE/../build}"
. "$HERE/../tests/slurm/clusters.sh"
start_clusters
cd "$BASE/work" || exit 2
hold() { # env...: a running job's id on that side
  local id
  id=$(env "$@" sbatch --parsable -t 10 --mem=64M -o /dev/null --wrap 'sleep 600') || return 1
  for _ in $(seq 200); do [ "$(env "$@" squeue -h -j "$id" -o %T)" = RUNNING ] && break; sleep 0.1; done
  echo "$id"
}
slurm_env=(SLURM_CONF="$SLURM_CONF" PATH=/usr/bin:/usr/sbin:/bin)
gwang_env=(GWANG_DATA="$BASE/gwang" PATH="$G:/usr/bin:/usr/sbin:/bin")
sid=$(hold "${slurm_env[@]}") gid=$(hold "${gwang_env[@]}")
echo "host: $(nproc) cores, $(uname -r)"
echo "== Slurm 22.05: srun --pty (job $sid)"
env "${slurm_env[@]}" python3 "$HERE/pty_echo.py" "$N" srun --jobid="$sid" --overlap --pty cat
echo "== gwang: srun --pty (job $gid)"
env "${gwang_env[@]}" python3 "$HERE/pty_echo.py" "$N" srun --jobid="$gid" --overlap --pty cat
echo "== gwang: gwang attach (job $gid)"
env "${gwang_env[@]}" python3 "$HERE/pty_echo.py" "$N" "$GWANG_BIN" attach "$gid" -- cat
env "${slurm_env[@]}" scancel "$sid"
env "${gwang_env[@]}" scancel "$gid"
