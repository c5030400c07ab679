#!/usr/bin/env bash
# Where the server's CPU goes under one workload: starts the release server (as
# bench-rpc.sh does), runs `clearinghouse-load WORKLOAD` against it while `perf record`
# samples the server process, and prints the top entries of the flat profile (self time
# by symbol) and by shared object. Needs `perf` (Debian: linux-perf).
#
#   scripts/profile-rpc.sh create          # 64 callers over 4 connections, 10 s
#   CALLERS=1 CONNS=1 scripts/profile-rpc.sh get
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib-server.sh

workload=${1:-create}
callers=${CALLERS:-64}
conns=${CONNS:-4}
duration=${DURATION:-10s}
top=${TOP:-40}
out=target/profile-rpc
mkdir -p "$out"

build_release >&2
trap cleanup_server EXIT
start_server '[limits]
rate_per_principal = 1000000
burst_per_principal = 1000000'
"$BIN_DIR/clearinghouse-load" "$workload" --server "$SERVER_URL" --api-key-file "$KEY_FILE" \
  --concurrency "$callers" --connections "$conns" --duration "$duration" --warmup 2s \
  --output json >"$out/$workload.json" &
load=$!
sleep 3 # setup and warm-up; the profile covers the measured part
perf record -q -F 999 -p "$SERVER_PID" -o "$out/$workload.perf" -- sleep "${duration%s}" >/dev/null 2>&1
wait "$load"
stop_server
python3 - "$out/$workload.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"{r['workload']}: {r['ops_per_sec']:,.0f} ops/s, p99 {r['latency']['p99_us'] / 1000:.2f} ms")
PY
echo "== top symbols (self)"
perf report -i "$out/$workload.perf" --no-children --sort symbol --stdio 2>/dev/null \
  | grep -v '^#' | grep -v '^$' | sed -E 's/[[:space:]]+-[[:space:]]+-[[:space:]]*$//' | head -n "$top"
echo "== by shared object"
perf report -i "$out/$workload.perf" --no-children --sort dso --stdio 2>/dev/null \
  | grep -v '^#' | grep -v '^$' | head -n 12
