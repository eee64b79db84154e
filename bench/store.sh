#!/usr/bin/env bash
# The controller's submission rate on each store, side by side on this machine (as root, after
# scripts/build; PostgreSQL from Debian's postgresql package):
#
#   bench/store.sh [NODES] [PENDING] [LOAD_RATE] [STORES]
#                  # default 500 nodes, 20,000 submissions, 400/s, "sqlite postgres"
#
# For each store (SQLite in the data directory; PostgreSQL in a throwaway cluster on a Unix socket,
# with its default synchronous commit and fsync on), starts a controller, registers NODES simulated
# agents that call about once a second, fills them, measures the controller's CPU with the
# heartbeats alone, submits PENDING jobs through the API from 8 threads (rate, latency, memory per
# pending job), then offers 60 s of sustained load at LOAD_RATE requests/s, half submissions and
# half queries, with latency percentiles (bench/cluster_bench), and prints what it measured.
# `bench/store.sh 6250 100000` is the centre-sized run. SNAPSHOT_EVERY=N (environment) has the
# controller write a snapshot every N journal records (snapshot_every), so that some fall inside the
# sustained load.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
nodes="${1:-500}"
pending="${2:-20000}"
rate="${3:-400}"
stores="${4:-sqlite postgres}"
work="$(mktemp -d)"
pgbin=/usr/lib/postgresql/15/bin
ctl=""
cleanup() {
  [ -n "$ctl" ] && kill "$ctl" 2>/dev/null || true
  wait 2>/dev/null || true
  [ -d "$work/pg" ] && runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
chmod 755 "$work"
head -c 32 /dev/urandom | base64 > "$work/secret"
chmod 600 "$work/secret"

# A throwaway PostgreSQL: fsync stays on, as a production server's would.
mkdir -p "$work/pgsock" "$work/pg" && chown postgres: "$work/pgsock" "$work/pg"
runuser -u postgres -- "$pgbin/initdb" --no-sync -A trust -U postgres -D "$work/pg" >/dev/null
runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/pg" -l "$work/pgsock/log" -w \
  -o "-p 5499 -k $work/pgsock -c listen_addresses=" start >/dev/null
runuser -u postgres -- psql -q -h "$work/pgsock" -p 5499 -U postgres -c "CREATE DATABASE gwang" >/dev/null

run() {  # STORE-NAME STORE-VALUE PORT
  local data="$work/data-$1"
  cat > "$work/$1.toml" <<TOML
listen = "127.0.0.1:$3"
data_dir = "$data"
cluster_secret_file = "$work/secret"
operator = "nobody"
node_timeout = "600s"
store = "$2"
${SNAPSHOT_EVERY:+snapshot_every = $SNAPSHOT_EVERY}
TOML
  "$root/build/gwang" controller --config "$work/$1.toml" > "$work/$1.log" 2>&1 &
  ctl=$!
  for _ in $(seq 100); do [ -s "$data/token" ] && break; sleep 0.1; done
  echo "== store: $1"
  "$root/build/bench/cluster_bench" --url "http://127.0.0.1:$3" --token "$(cat "$data/token")" \
    --secret-file "$work/secret" --nodes "$nodes" --pending "$pending" --settle 5 --pid "$ctl" \
    --load-seconds 60 --load-rate "$rate" | grep -Ev "^status:"
  kill "$ctl"
  wait "$ctl" 2>/dev/null || true
  ctl=""
}
for store in $stores; do
  case $store in
    sqlite) run sqlite "" 18701 ;;
    postgres) run postgres "host=$work/pgsock port=5499 user=postgres dbname=gwang" 18702 ;;
    *) echo "bench/store.sh: unknown store '$store' (sqlite or postgres)" >&2; exit 2 ;;
  esac
done
