#!/usr/bin/env bash
# How long an interactive user waits, gwang and Slurm side by side on this machine in one run (as
# root): the one-node clusters of tests/slurm/clusters.sh (Debian's slurm-wlm 22.05, and `gwang
# up`), then N (20) times each, on an idle node: `srun -t 5 --mem=64M true` outside a job (an
# allocation asked for, granted, a step run in it, the allocation let go) and `salloc -t 5
# --mem=64M true` (the same with salloc's command run here), each timed from its start to its exit.
#
#   bench/allocation_latency.sh [BUILD_DIR]
set -u
N=${N:-20}
HERE=$(cd "$(dirname "$0")" && pwd)
set -- "${1:-$HERE/../build}"
. "$HERE/../tests/slurm/clusters.sh"
start_clusters
cd "$BASE/work" || exit 2
slurm_env=(SLURM_CONF="$SLURM_CONF" PATH=/usr/bin:/usr/sbin:/bin)
gwang_env=(GWANG_DATA="$BASE/gwang" PATH="$G:/usr/bin:/usr/sbin:/bin")
times() { # label, env..., --, command...: N timings in ms, then their p50, p90 and max
  local label=$1; shift
  local envs=()
  while [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  local out=() t0 t1 i
  for i in $(seq "$N"); do
    t0=$(date +%s%N)
    env "${envs[@]}" "$@" >/dev/null 2>&1 </dev/null || echo "  run $i failed" >&2
    t1=$(date +%s%N)
    out+=($(((t1 - t0) / 1000)))
  done
  printf '%s\n' "${out[@]}" | sort -n | awk -v label="$label" '{v[NR]=$1} END {
    printf "| %s | %.0f | %.0f | %.0f |\n", label, v[int((NR+1)/2)]/1000, v[int(NR*0.9+0.5)]/1000, v[NR]/1000 }'
}
echo "host: $(nproc) cores, $(uname -r); N=$N"
echo "| start to exit, ms | p50 | p90 | max |"
echo "|---|---|---|---|"
times "Slurm 22.05: srun true (outside a job)" "${slurm_env[@]}" -- srun -t 5 --mem=64M true
times "gwang: srun true (outside a job)" "${gwang_env[@]}" -- srun -t 5 --mem=64M true
times "Slurm 22.05: salloc true" "${slurm_env[@]}" -- salloc -t 5 --mem=64M true
times "gwang: salloc true" "${gwang_env[@]}" -- salloc -t 5 --mem=64M true
