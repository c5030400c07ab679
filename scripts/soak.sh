#!/usr/bin/env bash
# Soak (quality.md T7): the release server on a temporary directory under the mixed
# workload of clearinghouse-load (creates, updates, reads, lists, matching queries, full
# match lifecycles, WatchMatches streams) for DURATION, with a hang watchdog, sampling the
# server every 5 s.
#
#   scripts/soak.sh [DURATION]        # default 10m; e.g. 30s, 2h
#   CALLERS=128 CONNECTIONS=8 scripts/soak.sh 10m
#
# Fails (exit 1) when a call has not succeeded for 10 s (the load tool's watchdog), when
# the server dies, or when it does not stop cleanly at the end. Writes
# target/soak/samples.csv (elapsed_s, rss_kib, hwm_kib, open_fds, threads, data_bytes)
# and target/soak/report.json, and prints the growth rates per hour.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib-server.sh

duration=${1:-10m}
callers=${CALLERS:-128}
connections=${CONNECTIONS:-8}
interval=${SAMPLE_EVERY:-5}
out=target/soak
mkdir -p "$out"
csv=$out/samples.csv

build_release >&2
sampler=""
finish() {
  [[ -n "$sampler" ]] && kill "$sampler" 2>/dev/null
  cleanup_server
}
trap finish EXIT
start_server 'cache_capacity_mib = 256'
echo "server $SERVER_URL (pid $SERVER_PID), data in $DATA_DIR" >&2

sample() {
  local start=$SECONDS
  echo "elapsed_s,rss_kib,hwm_kib,open_fds,threads,data_bytes" >"$csv"
  while kill -0 "$SERVER_PID" 2>/dev/null; do
    local status rss hwm threads fds bytes
    status=$(cat "/proc/$SERVER_PID/status" 2>/dev/null) || break
    rss=$(awk '/^VmRSS:/ { print $2 }' <<<"$status")
    hwm=$(awk '/^VmHWM:/ { print $2 }' <<<"$status")
    threads=$(awk '/^Threads:/ { print $2 }' <<<"$status")
    fds=$(find "/proc/$SERVER_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
    bytes=$(du -sb "$DATA_DIR" 2>/dev/null | cut -f1)
    echo "$((SECONDS - start)),$rss,$hwm,$fds,$threads,$bytes" >>"$csv"
    sleep "$interval"
  done
}
sample &
sampler=$!

echo "== mixed workload for $duration: $callers callers over $connections connections" >&2
rc=0
"$BIN_DIR/clearinghouse-load" mixed --server "$SERVER_URL" --api-key-file "$KEY_FILE" \
  --concurrency "$callers" --connections "$connections" --duration "$duration" --warmup 0s \
  --hang-timeout 10s --progress 30s --output json >"$out/report.json" || rc=$?

failed=0
case $rc in
  0) ;;
  2) echo "FAIL: no call succeeded for 10 s (hang)" >&2; failed=1 ;;
  *) echo "FAIL: the load tool exited with $rc" >&2; failed=1 ;;
esac
if ! kill -0 "$SERVER_PID" 2>/dev/null; then
  echo "FAIL: the server died during the soak; log: $SERVER_LOG" >&2
  SERVER_PID=""
  failed=1
fi
kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true
sampler=""
if [[ -n "${SERVER_PID:-}" ]]; then
  if ! stop_server; then
    echo "FAIL: the server did not stop cleanly; log: $SERVER_LOG" >&2
    failed=1
  fi
fi

python3 - "$csv" "$out/report.json" <<'PY'
import csv, json, sys
rows = [{k: float(v) for k, v in r.items() if v} for r in csv.DictReader(open(sys.argv[1]))]
rows = [r for r in rows if "rss_kib" in r and "data_bytes" in r]
try:
    rep = json.load(open(sys.argv[2]))
except (OSError, ValueError):
    rep = None
if rep:
    print(f"ops {rep['ops']:,} ({rep['ops_per_sec']:,.0f}/s), errors {rep['errors']} "
          f"{rep['errors_by_code'] or ''}, p50 {rep['latency']['p50_us'] / 1000:.1f} ms, "
          f"p99 {rep['latency']['p99_us'] / 1000:.1f} ms, max {rep['latency']['max_us'] / 1000:.0f} ms, "
          f"hang {rep['hang']}")
    if rep.get("watch"):
        w = rep["watch"]
        print(f"WatchMatches: {w['streams']} streams, {w['events']:,} events, reopened {w['reopened']}")
if len(rows) < 3:
    sys.exit("too few samples to compute growth")

def slope(xs, ys):
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else 0.0

half = rows[len(rows) // 2:]
t = [r["elapsed_s"] / 3600 for r in rows]
th = [r["elapsed_s"] / 3600 for r in half]
print(f"{len(rows)} samples over {rows[-1]['elapsed_s']:.0f} s")
print("| measure | first | last | max | growth per hour (whole run) | growth per hour (second half) |")
print("| --- | --- | --- | --- | --- | --- |")
for key, unit, scale in [("rss_kib", "MiB", 1 / 1024), ("open_fds", "fds", 1),
                         ("threads", "threads", 1), ("data_bytes", "MiB", 1 / 2**20)]:
    ys = [r[key] * scale for r in rows]
    yh = [r[key] * scale for r in half]
    print(f"| {key} | {ys[0]:,.1f} {unit} | {ys[-1]:,.1f} {unit} | {max(ys):,.1f} {unit} | "
          f"{slope(t, ys):+,.1f} {unit}/h | {slope(th, yh):+,.1f} {unit}/h |")
print(f"peak RSS (VmHWM): {rows[-1]['hwm_kib'] / 1024:,.1f} MiB")
PY

if ((failed)); then
  exit 1
fi
echo "soak passed" >&2
