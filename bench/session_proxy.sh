#!/usr/bin/env bash
# Sessions, gwang and Slurm side by side on this machine in one run (as root): the one-node clusters
# of tests/slurm/clusters.sh (Debian's slurm-wlm 22.05, and `gwang up`).
#   1. Time to a notebook: `gwang session start --app jupyter` from its start until Jupyter answers
#      through the proxy, N (5) times; beside it, what a Slurm user does for one (sbatch a
#      `jupyter notebook`, then poll its port until it answers) and `srun --pty true` (an
#      interactive allocation's start, on a terminal of script(1)'s).
#   2. The proxy's cost: wrk against a custom session's service (Python's http.server, one small
#      file), directly on 127.0.0.1 and through the controller's proxy, over one connection (the
#      latency of each request) and over 16 (the throughput).
#
#   bench/session_proxy.sh [BUILD_DIR]
set -u
N=${N:-5}
HERE=$(cd "$(dirname "$0")" && pwd)
set -- "${1:-$HERE/../build}"
command -v wrk >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >&2
command -v jupyter-notebook >/dev/null ||
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends jupyter-notebook python3-ipykernel >&2
. "$HERE/../tests/slurm/clusters.sh"
start_clusters
cd "$BASE/work" || exit 2
chmod 777 "$BASE/work"
slurm_env=(SLURM_CONF="$SLURM_CONF" PATH=/usr/bin:/usr/sbin:/bin)
gwang_env=(GWANG_DATA="$BASE/gwang" PATH="$G:/usr/bin:/usr/sbin:/bin")
url=$(cat "$BASE/gwang/url")
token=$(cat "$BASE/gwang/token")
ms() { echo $((($(date +%s%N) - $1) / 1000000)); }
summary() { # label, then timings in ms on stdin: median, min and max
  sort -n | awk -v label="$1" '{v[NR]=$1} END { printf "| %s | %d | %d | %d |\n", label, v[int((NR+1)/2)], v[1], v[NR] }'
}
answers() { curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$@"; }

echo "host: $(nproc) cores, $(uname -r); N=$N"
echo
echo "| start to a usable notebook (or terminal), ms | median | min | max |"
echo "|---|---|---|---|"
for i in $(seq "$N"); do
  t0=$(date +%s%N)
  out=$(env "${gwang_env[@]}" "$GWANG_BIN" session start --app jupyter --mem 1G --workdir "$BASE/work" 2>/dev/null)
  id=$(echo "$out" | sed -n 's/^session \([0-9]*\) (jupyter) is ready.*/\1/p')
  until [ "$(answers -H "Authorization: Bearer $token" "$url/s/$id/api/status")" = 200 ]; do sleep 0.02; done
  ms "$t0"
  env "${gwang_env[@]}" "$GWANG_BIN" session stop "$id" >/dev/null
  sleep 1
done | summary "gwang: session start --app jupyter, until it answers through the proxy"
for i in $(seq "$N"); do
  port=$((18800 + i))
  t0=$(date +%s%N)
  id=$(env "${slurm_env[@]}" sbatch --parsable -t 10 --mem=1G -D "$BASE/work" \
    --wrap "JUPYTER_TOKEN=x HOME=$BASE/work exec jupyter notebook --allow-root --no-browser --ip=127.0.0.1 --port=$port")
  until [ "$(answers "http://127.0.0.1:$port/api/status?token=x")" = 200 ]; do sleep 0.02; done
  ms "$t0"
  env "${slurm_env[@]}" scancel "$id"
  sleep 1
done | summary "Slurm 22.05: sbatch jupyter notebook, until it answers on its port"
for i in $(seq "$N"); do
  t0=$(date +%s%N)
  env "${slurm_env[@]}" script -qec "srun -t 5 --mem=64M --pty true" /dev/null >/dev/null 2>&1 </dev/null
  ms "$t0"
done | summary "Slurm 22.05: srun --pty true (outside a job), start to exit"
for i in $(seq "$N"); do
  t0=$(date +%s%N)
  env "${gwang_env[@]}" script -qec "srun -t 5 --mem=64M --pty true" /dev/null >/dev/null 2>&1 </dev/null
  ms "$t0"
done | summary "gwang: srun --pty true (outside a job), start to exit"

# The proxy: one service, asked directly and through the controller.
echo "hello from a session" >"$BASE/work/hello.txt"
chmod 644 "$BASE/work/hello.txt"
out=$(env "${gwang_env[@]}" "$GWANG_BIN" session start --app custom:18555 --mem 256M --workdir "$BASE/work" \
  -- python3 -m http.server --bind 127.0.0.1 18555 2>/dev/null)
id=$(echo "$out" | sed -n 's/^session \([0-9]*\) (custom) is ready.*/\1/p')
[ "$(answers -H "Authorization: Bearer $token" "$url/s/$id/hello.txt")" = 200 ] || { echo "the proxy does not answer" >&2; exit 1; }
lat() { # label, url, connections, header...: wrk's p50, p99 and requests a second
  local label=$1 target=$2 c=$3
  shift 3
  wrk -t1 -c"$c" -d10s --latency "$@" "$target" | awk -v label="$label" -v c="$c" '
    /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /Requests\/sec/ {rps=$2}
    END { printf "| %s | %d | %s | %s | %.0f |\n", label, c, p50, p99, rps }'
}
echo
echo "| a small file from the session's service (Python http.server) | connections | p50 | p99 | requests/s |"
echo "|---|---|---|---|---|"
lat "directly, 127.0.0.1:18555" "http://127.0.0.1:18555/hello.txt" 1
lat "through the proxy, /s/$id/" "$url/s/$id/hello.txt" 1 -H "Authorization: Bearer $token"
lat "directly, 127.0.0.1:18555" "http://127.0.0.1:18555/hello.txt" 16
lat "through the proxy, /s/$id/" "$url/s/$id/hello.txt" 16 -H "Authorization: Bearer $token"
env "${gwang_env[@]}" "$GWANG_BIN" session stop "$id" >/dev/null
