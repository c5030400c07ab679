#!/usr/bin/env bash
# What saving the matching index to its file costs writers: CreateNeed at 64 callers
# against a loaded store, once per `index_save_secs` value given, in the order given
# (alternate them: ratios within one run are the figures to compare). Prints, per run,
# the saves the server logged, CreateNeed/s, p50 and p99.
#
#   DATA_DIR=/path/to/loaded/dir scripts/bench-index-save.sh            # 30 0 30 0, 60 s each
#   DATA_DIR=... SAVE_SECS="5 0" DURATION=40s BIN_DIR=/tmp/bin scripts/bench-index-save.sh
set -euo pipefail
cd "$(dirname "$0")/.."

: "${DATA_DIR:?DATA_DIR must name a loaded data directory (clearinghouse-load bulk)}"
bin=${BIN_DIR:-target/release}
duration=${DURATION:-60s}
out=target/bench-index-save
mkdir -p "$out"
if [[ -z "${BIN_DIR:-}" ]]; then
  cargo build --release --locked -p clearinghouse -p clearinghouse-load \
    --bin clearinghouse --bin clearinghouse-load >&2
fi
key=$DATA_DIR/bootstrap-admin.key
server_pid=""
trap '[[ -n "$server_pid" ]] && kill -TERM "$server_pid" 2>/dev/null; wait 2>/dev/null || true' EXIT

echo "| index_save_secs | saves | CreateNeed/s | p50 ms | p99 ms |"
echo "| --- | --- | --- | --- | --- |"
run=0
for secs in ${SAVE_SECS:-30 0 30 0}; do
  run=$((run + 1))
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  printf 'index_save_secs = %s\n[limits]\nrate_per_principal = 1000000\nburst_per_principal = 1000000\n' \
    "$secs" >"$out/server.toml"
  "$bin/clearinghouse" serve --config "$out/server.toml" --data-dir "$DATA_DIR" \
    --listen "127.0.0.1:$port" --log-format json >"$out/server-$run.log" 2>&1 &
  server_pid=$!
  "$bin/clearinghouse-load" ready --server "http://127.0.0.1:$port" --api-key-file "$key" \
    --hang-timeout 600s >/dev/null
  "$bin/clearinghouse-load" create --server "http://127.0.0.1:$port" --api-key-file "$key" \
    --concurrency 64 --connections 4 --duration "$duration" --warmup 2s --output json \
    >"$out/create-$run.json"
  kill -TERM "$server_pid"
  wait "$server_pid" || true
  server_pid=""
  saves=$(grep -c 'matching index saved' "$out/server-$run.log" || true)
  python3 - "$out/create-$run.json" "$secs" "$saves" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
l = r["latency"]
print(f"| {sys.argv[2]} | {sys.argv[3]} | {r['ops_per_sec']:,.0f} | {l['p50_us'] / 1000:.1f} | {l['p99_us'] / 1000:.1f} |")
PY
done
