#!/usr/bin/env bash
# RPC benchmarks over loopback (quality.md P1, P2): builds the release server and
# clearinghouse-load, starts the server on a temporary directory (a separate process),
# runs the standard set of workloads against it and prints a Markdown table, with the
# same-run fsync probe (1,000 x 4 KiB append + fdatasync in the data directory).
#
#   scripts/bench-rpc.sh                 # 10 s per workload after 2 s warm-up
#   DURATION=30s WARMUP=5s scripts/bench-rpc.sh
#
# Each caller of the load tool uses its own principals, which spreads the per-principal
# rate limit; the server here runs with the limit raised (rate_per_principal) so that a
# single sequential caller measures the server, not the limiter. The raw JSON reports are
# kept in target/bench-rpc/.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib-server.sh

duration=${DURATION:-10s}
warmup=${WARMUP:-2s}
out=target/bench-rpc
mkdir -p "$out"
rm -f "$out"/*.json

build_release >&2
trap cleanup_server EXIT
start_server '[limits]
rate_per_principal = 1000000
burst_per_principal = 1000000'
echo "server $SERVER_URL, data in $DATA_DIR" >&2

# name workload callers connections
runs=(
  "create-1 create 1 1"
  "create-64 create 64 4"
  "get-64 get 64 4"
  "health-64 health 64 4"
  "list-64 list 64 4"
  "find-offers-64 find-offers 64 4"
)
for r in "${runs[@]}"; do
  read -r name workload callers conns <<<"$r"
  echo "== $name" >&2
  target/release/clearinghouse-load "$workload" --server "$SERVER_URL" \
    --api-key-file "$KEY_FILE" --concurrency "$callers" --connections "$conns" \
    --duration "$duration" --warmup "$warmup" --probe-dir "$DATA_DIR" --output json \
    >"$out/$name.json"
done
stop_server

python3 - "$out" "${runs[@]}" <<'PY'
import json, sys
out, runs = sys.argv[1], [r.split() for r in sys.argv[2:]]
rep = {name: json.load(open(f"{out}/{name}.json")) for name, *_ in runs}
ms = lambda us: f"{us / 1000:.2f}"
print("| workload | callers | connections | ops/s | p50 ms | p99 ms | p999 ms | errors | fsync p50 ms (same run) |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for name, workload, callers, conns in runs:
    r = rep[name]
    l, p = r["latency"], r["fsync_probe"] or {}
    print(f"| {workload} | {callers} | {conns} | {r['ops_per_sec']:,.0f} | {ms(l['p50_us'])} | "
          f"{ms(l['p99_us'])} | {ms(l['p999_us'])} | {r['errors']} | {ms(p.get('p50_us', 0))} |")
c1, c64, g, h = rep["create-1"], rep["create-64"], rep["get-64"], rep["health-64"]
probe = c1["fsync_probe"]["p50_us"]
print()
print(f"- sequential CreateNeed p50 = {ms(c1['latency']['p50_us'])} ms = "
      f"{c1['latency']['p50_us'] / probe:.1f} x the fsync probe's p50 ({ms(probe)} ms)")
print(f"- CreateNeed at 64 callers over 4 connections: {c64['ops_per_sec']:,.0f}/s, "
      f"p99 {ms(c64['latency']['p99_us'])} ms")
print(f"- GetNeed / health throughput at 64 callers = {g['ops_per_sec'] / h['ops_per_sec']:.2f}")
PY
