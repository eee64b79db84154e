#!/usr/bin/env bash
# What HTTPS costs, side by side in one run on this machine: two `gwang up`, one plain and one with
# --tls (its own certificate, ECDSA P-256), the same build.
#   1. A command's call: `gwang queue` N (200) times against each, wall time of the whole command
#      (connection, TLS handshake and certificate check, the request, the answer), median and p99.
#   2. Requests on kept connections (as agents and the dashboard make them): wrk against
#      GET /api/v1/status for 5 s, over one connection (latency per request) and over 16
#      (throughput).
#
#   bench/tls.sh [BUILD_DIR]
set -u
N=${N:-200}
HERE=$(cd "$(dirname "$0")" && pwd)
B=$(cd "${1:-$HERE/../build}" && pwd)
command -v wrk >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >&2
BASE=$(mktemp -d /tmp/gwang-tls-bench.XXXXXX)
chmod 755 "$BASE"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$BASE"
}
trap cleanup EXIT
for kind in plain tls; do
  flag=()
  [ "$kind" = tls ] && flag=(--tls)
  "$B/gwang" up --data "$BASE/$kind" --listen 127.0.0.1:0 --user nobody --no-nvml "${flag[@]}" >"$BASE/$kind.log" 2>&1 &
  pids+=($!)
done
for kind in plain tls; do
  for _ in $(seq 500); do [ -s "$BASE/$kind/url" ] && break; sleep 0.01; done
done

echo "host: $(nproc) cores, $(uname -r), $(openssl version 2>/dev/null | cut -d' ' -f1-2); N=$N"
echo
echo "| gwang queue, whole command, ms | median | p99 |"
echo "|---|---|---|"
declare -A median
for kind in plain tls; do
  for _ in $(seq "$N"); do
    t0=$(date +%s%N)
    GWANG_DATA="$BASE/$kind" "$B/gwang" queue >/dev/null || echo "gwang queue failed ($kind)" >&2
    echo $((($(date +%s%N) - t0) / 1000))
  done | sort -n | awk -v label="$kind" '{v[NR]=$1} END {
    printf "| %s | %.2f | %.2f |\n", label, v[int((NR+1)/2)]/1000, v[int(NR*0.99)]/1000 }' | tee "$BASE/$kind.queue"
done
p=$(awk -F'|' '{print $3}' "$BASE/plain.queue")
t=$(awk -F'|' '{print $3}' "$BASE/tls.queue")
awk -v p="$p" -v t="$t" 'BEGIN { printf "\nTLS / plain, median: %.2fx\n", t/p }'

echo
echo "| GET /api/v1/status, kept connections | connections | requests/s | latency p50 | latency p99 |"
echo "|---|---|---|---|---|"
for kind in plain tls; do
  url=$(cat "$BASE/$kind/url")
  token=$(cat "$BASE/$kind/token")
  for c in 1 16; do
    wrk -t1 -c"$c" -d5s --latency -H "Authorization: Bearer $token" "$url/api/v1/status" 2>&1 |
      awk -v label="$kind" -v c="$c" '
        /Requests\/sec/ { rps = $2 }
        $1 == "50%" { p50 = $2 }
        $1 == "99%" { p99 = $2 }
        END { printf "| %s | %d | %d | %s | %s |\n", label, c, rps, p50, p99 }'
  done
done
