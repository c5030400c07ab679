#!/usr/bin/env bash
# Restart after kill -9 with a large store (quality.md P7: SERVING within 5 s with 1M
# records, matching index rebuilt). Builds the release binaries, fills a new data
# directory with `clearinghouse-load bulk` (unless DATA_DIR names a loaded one), then:
#   1. starts `clearinghouse serve` on it and times the start to SERVING;
#   2. runs a write load (CreateNeed, 16 callers) against it and kills the server with
#      SIGKILL in the middle of it;
#   3. starts the server again and times it to SERVING (`clearinghouse-load ready`: health
#      checks every 10 ms, then FindOffersForNeed for a circulated need, which answers
#      from the rebuilt matching index);
# and prints the figures with the server's own log lines of the restart (storage open,
# index built, serving) as a breakdown.
#
#   scripts/bench-restart.sh                          # 1,000,000 records, removed after
#   RECORDS=100000 scripts/bench-restart.sh
#   DATA_DIR=/path/to/loaded/dir scripts/bench-restart.sh   # keep and reuse a loaded store
#   KEEP_DATA=1 scripts/bench-restart.sh              # keep the loaded directory
#   COLD=1 scripts/bench-restart.sh                   # drop the page cache before the restart
#                                                     # (root; a machine restart, not a crash)
#   NO_INDEX_SAVE=1 BIN_DIR=... scripts/bench-restart.sh  # a build without the index file
set -euo pipefail
cd "$(dirname "$0")/.."

records=${RECORDS:-1000000}
write_seconds=${WRITE_SECONDS:-5}
bin=${BIN_DIR:-target/release}
out=target/bench-restart
mkdir -p "$out"

if [[ -z "${BIN_DIR:-}" ]]; then
  cargo build --release --locked -p clearinghouse -p clearinghouse-load \
    --bin clearinghouse --bin clearinghouse-load >&2
fi

own_dir=0
if [[ -z "${DATA_DIR:-}" ]]; then
  DATA_DIR=$(mktemp -d "${TMPDIR:-/tmp}/clearinghouse-restart.XXXXXX")
  own_dir=1
  echo "== loading $records records into $DATA_DIR" >&2
  "$bin/clearinghouse-load" bulk --records "$records" --data-dir "$DATA_DIR" \
    --progress 30s >"$out/bulk.json"
fi
config=$out/server.toml
printf '[limits]\nrate_per_principal = 1000000\nburst_per_principal = 1000000\n' >"$config"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port
key=$DATA_DIR/bootstrap-admin.key
server_pid=""
load_pid=""

cleanup() {
  [[ -n "$load_pid" ]] && kill "$load_pid" 2>/dev/null || true
  if [[ -n "$server_pid" ]]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [[ $own_dir == 1 && "${KEEP_DATA:-0}" != 1 ]]; then
    rm -rf "$DATA_DIR"
  fi
}
trap cleanup EXIT

# start LOG: starts the server on the data directory; sets server_pid.
start() {
  "$bin/clearinghouse" serve --config "$config" --data-dir "$DATA_DIR" \
    --listen "127.0.0.1:$port" --log-format json >"$1" 2>&1 &
  server_pid=$!
}

# ready NAME: waits for SERVING and one FindOffersForNeed; writes NAME.json; prints the
# milliseconds from the call of start (passed as $2, ns) to SERVING.
ready() {
  "$bin/clearinghouse-load" ready --server "$url" --api-key-file "$key" \
    --hang-timeout 600s >"$out/$1.json"
  local now
  now=$(date +%s%N)
  echo $(((now - $2) / 1000000))
}

echo "== first start" >&2
t0=$(date +%s%N)
start "$out/first.log"
first_ms=$(ready first "$t0")

# The server saves its matching index to data_dir/matching-index at once after a start
# that rebuilt it (then every index_save_secs, default 30 s, with new writes); the kill
# comes once the index is in the file (saved, or the start loaded it from there), as on a
# server that has been running, and the writes after it are replayed at restart.
# NO_INDEX_SAVE=1 skips the wait, for a build that keeps no index file.
if [[ "${NO_INDEX_SAVE:-0}" != 1 ]]; then
  echo "== waiting for the matching index to be in its file" >&2
  for _ in $(seq 1200); do
    grep -qE 'matching index saved|matching index loaded from its file' "$out/first.log" && break
    sleep 0.5
  done
fi

echo "== write load, then kill -9 after ${write_seconds} s of it" >&2
"$bin/clearinghouse-load" create --server "$url" --api-key-file "$key" \
  --concurrency 16 --connections 4 --duration 600s --warmup 0s --hang-timeout 600s \
  --progress 1s --output json >"$out/writes.json" 2>"$out/writes.err" &
load_pid=$!
# The load tool creates its principals first; the writes start after that.
sleep "$write_seconds"
size_before=$(python3 - "$DATA_DIR" <<'PY'
import os, sys
print(sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(sys.argv[1]) for f in fs))
PY
)
kill -KILL "$server_pid"
wait "$server_pid" 2>/dev/null || true
server_pid=""
kill "$load_pid" 2>/dev/null || true
wait "$load_pid" 2>/dev/null || true
load_pid=""

if [[ "${COLD:-0}" == 1 ]]; then
  sync
  echo 3 >/proc/sys/vm/drop_caches
fi

echo "== restart after kill -9" >&2
t0=$(date +%s%N)
start "$out/restart.log"
restart_ms=$(ready restart "$t0")
kill -TERM "$server_pid"
wait "$server_pid" || true
server_pid=""

python3 - "$out" "$first_ms" "$restart_ms" "$size_before" "$DATA_DIR" <<'PY'
import json, sys, datetime
out, first_ms, restart_ms, size_before, data_dir = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
first = json.load(open(f"{out}/first.json"))
restart = json.load(open(f"{out}/restart.json"))

def steps(log):
    """(seconds since the first line, message) of the start's log lines."""
    rows = []
    for line in open(log):
        try:
            r = json.loads(line)
        except ValueError:
            continue
        ts = r.get("timestamp")
        fields = r.get("fields", {})
        msg = fields.get("message") or r.get("message") or ""
        extra = {k: v for k, v in fields.items()
                 if k in ("elapsed_ms", "read_ms", "replay_ms", "replayed", "position", "reason")}
        if extra:
            msg += " (" + ", ".join(f"{k} {v}" for k, v in extra.items()) + ")"
        if not ts:
            continue
        t = datetime.datetime.fromisoformat(ts.replace("Z", "+00:00"))
        rows.append((t, msg))
        if msg.startswith("serving") or "health" in msg.lower() and "serving" in msg.lower():
            break
    if not rows:
        return []
    t0 = rows[0][0]
    return [((t - t0).total_seconds(), m) for t, m in rows]

print(f"data directory: {data_dir} ({size_before / 1e6:,.0f} MB at the kill)")
progress = [l.strip() for l in open(f"{out}/writes.err") if l.strip()]
print(f"- write load at the kill (its last progress line): {progress[-1] if progress else 'none'}")
print(f"- first start to SERVING: {first_ms:,} ms (tool: {first['serving_after_ms']:,.0f} ms, "
      f"{first['attempts']} checks)")
print(f"- restart after kill -9 to SERVING: **{restart_ms:,} ms** (tool: "
      f"{restart['serving_after_ms']:,.0f} ms); then FindOffersForNeed({restart['need_id']}) "
      f"returned {restart['candidates']} candidates in {restart['find_offers_ms']:.1f} ms")
saves = [l for l in open(f"{out}/first.log") if "matching index saved" in l or "loaded from its file" in l]
print(f"- the first start's matching index file: {saves[0].strip() if saves else 'none'}")
print("- the restart's log (seconds after its first line):")
for t, m in steps(f"{out}/restart.log"):
    print(f"  - {t:7.3f} s  {m}")
PY
