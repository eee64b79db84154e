#!/usr/bin/env bash
# The dashboard with a large cluster loaded, in one command (as root, after scripts/build and with
# Debian's chromium installed):
#
#   bench/dashboard.sh [SHOTS_DIR]
#
# Starts a controller, fills it through bench/cluster_bench (6,250 simulated nodes of 8 GPUs that
# keep calling as agents do, 6,250 running and 100,000 waiting jobs), then measures the dashboard
# in headless Chromium (bench/dashboard.mjs) while the nodes keep calling.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
shots="${1:-}"
work="$(mktemp -d)"
port=18686
head -c 32 /dev/urandom | base64 > "$work/secret"
chmod 600 "$work/secret"
cat > "$work/controller.toml" <<TOML
listen = "127.0.0.1:$port"
data_dir = "$work/data"
cluster_secret_file = "$work/secret"
operator = "nobody"
node_timeout = "600s"
TOML
"$root/build/gwang" controller --config "$work/controller.toml" > "$work/controller.log" 2>&1 &
ctl=$!
bench=""
trap 'kill $ctl $bench 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -s "$work/data/token" ] && break; sleep 0.1; done
token="$(cat "$work/data/token")"
url="http://127.0.0.1:$port"
"$root/build/bench/cluster_bench" --url "$url" --token "$token" --secret-file "$work/secret" \
  --nodes 6250 --pending 100000 --settle 600 > "$work/cluster_bench.log" 2>&1 &
bench=$!
echo "dashboard bench: filling the controller (about two minutes)" >&2
until [ "$(curl -s -H "Authorization: Bearer $token" "$url/api/v1/status" | sed -n 's/.*"jobs":{[^}]*"total":\([0-9]*\).*/\1/p')" -ge 106250 ] 2>/dev/null; do
  kill -0 $bench 2>/dev/null || { cat "$work/cluster_bench.log" >&2; exit 1; }
  sleep 2
done
[ -x "$root/build/node/package/bin/node" ] && PATH="$root/build/node/package/bin:$PATH"
node "$root/bench/dashboard.mjs" --url "$url" --token "$token" ${shots:+--shots "$shots"}
