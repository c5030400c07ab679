#!/usr/bin/env bash
# Measures the bulk-import rate over loopback: starts a release server on a temporary
# data directory, creates a broker key, writes ROWS needs (copies of samples/needs.csv
# with unique external ids) and imports them with CONCURRENCY calls in flight.
#
#   scripts/import-rate.sh [ROWS] [CONCURRENCY...]      e.g. scripts/import-rate.sh 5000 16 64
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS="${1:-5000}"
shift || true
LEVELS=("${@:-16}")

cargo build --release --quiet
BIN="$PWD/target/release/clearinghouse"
WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$BIN" serve --data-dir "$WORK/data" --listen "127.0.0.1:$PORT" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
export CLEARINGHOUSE_SERVER="http://127.0.0.1:$PORT"
for _ in $(seq 100); do
  [[ -s "$WORK/data/bootstrap-admin.key" ]] && "$BIN" party get state-KEN --api-key-file "$WORK/data/bootstrap-admin.key" >/dev/null 2>&1 && break
  sleep 0.1
done
"$BIN" admin key create --name "import benchmark" --role broker --key-file "$WORK/broker.key" \
  --api-key-file "$WORK/data/bootstrap-admin.key" >/dev/null

for C in "${LEVELS[@]}"; do
  FILE="$WORK/needs-$C.csv"
  awk -F, -v rows="$ROWS" -v run="$C" '
    NR == 1 { print; next }
    { line[n++] = $0 }
    END {
      for (i = 0; i < rows; i++) {
        l = line[i % n]; ext = l; sub(/,.*/, "", ext)
        sub(/^[^,]*/, ext "-c" run "-" i, l); print l
      }
    }' samples/needs.csv >"$FILE"
  echo "== $ROWS rows, concurrency $C"
  "$BIN" import needs "$FILE" --concurrency "$C" --api-key-file "$WORK/broker.key" 2>&1 \
    | grep -E '^(sent|needs:)'
done
