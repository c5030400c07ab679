#!/usr/bin/env bash
# Memory with a large store (quality.md P6: RSS <= 2 x cache_capacity + 64 MiB with 1M
# records while serving reads and matching). Builds the release binaries, fills a new
# data directory with `clearinghouse-load bulk` (unless DATA_DIR names a loaded one),
# serves it with `cache_capacity_mib = CACHE_MIB`, then runs reads and candidate queries
# against it one after the other (get, list, find-offers, mixed; DURATION each) while
# sampling the server's VmRSS every 0.5 s from /proc; prints the peak RSS and VmHWM
# against the bound, and the RSS after start (store opened, matching index built).
#
#   scripts/bench-rss.sh                       # 1,000,000 records, 256 MiB cache, 60 s each
#   CACHE_MIB=64 DURATION=30s scripts/bench-rss.sh
#   DATA_DIR=/path/to/loaded/dir scripts/bench-rss.sh
set -euo pipefail
cd "$(dirname "$0")/.."

records=${RECORDS:-1000000}
cache_mib=${CACHE_MIB:-256}
duration=${DURATION:-60s}
workloads=${WORKLOADS:-get list find-offers mixed}
bin=${BIN_DIR:-target/release}
out=target/bench-rss
mkdir -p "$out"
rm -f "$out"/*.json

if [[ -z "${BIN_DIR:-}" ]]; then
  cargo build --release --locked -p clearinghouse -p clearinghouse-load \
    --bin clearinghouse --bin clearinghouse-load >&2
fi

own_dir=0
if [[ -z "${DATA_DIR:-}" ]]; then
  DATA_DIR=$(mktemp -d "${TMPDIR:-/tmp}/clearinghouse-rss.XXXXXX")
  own_dir=1
  echo "== loading $records records into $DATA_DIR" >&2
  "$bin/clearinghouse-load" bulk --records "$records" --data-dir "$DATA_DIR" \
    --progress 30s >"$out/bulk.json"
fi
config=$out/server.toml
printf 'cache_capacity_mib = %s\n[limits]\nrate_per_principal = 1000000\nburst_per_principal = 1000000\n' \
  "$cache_mib" >"$config"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port
key=$DATA_DIR/bootstrap-admin.key
server_pid=""
sampler_pid=""

cleanup() {
  [[ -n "$sampler_pid" ]] && kill "$sampler_pid" 2>/dev/null || true
  if [[ -n "$server_pid" ]]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [[ $own_dir == 1 && "${KEEP_DATA:-0}" != 1 ]]; then
    rm -rf "$DATA_DIR"
  fi
}
trap cleanup EXIT

"$bin/clearinghouse" serve --config "$config" --data-dir "$DATA_DIR" \
  --listen "127.0.0.1:$port" --log-format json >"$out/server.log" 2>&1 &
server_pid=$!
"$bin/clearinghouse-load" ready --server "$url" --api-key-file "$key" --hang-timeout 600s \
  >"$out/ready.json"
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$server_pid/status"; }
start_rss=$(rss_kib)

# One line per sample: seconds since the start of the reads, VmRSS in KiB, the workload.
: >"$out/rss.tsv"
echo start >"$out/phase"
(
  t0=$(date +%s%N)
  while kill -0 "$server_pid" 2>/dev/null; do
    now=$(date +%s%N)
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$server_pid/status" 2>/dev/null || echo 0)
    printf '%s\t%s\t%s\n' "$(((now - t0) / 1000000))" "$rss" "$(cat "$out/phase")" >>"$out/rss.tsv"
    sleep 0.5
  done
) &
sampler_pid=$!

for w in $workloads; do
  echo "== $w for $duration" >&2
  echo "$w" >"$out/phase"
  "$bin/clearinghouse-load" "$w" --server "$url" --api-key-file "$key" \
    --concurrency 16 --connections 4 --duration "$duration" --warmup 0s \
    --pool-needs 1000 --pool-offers 200 --output json >"$out/$w.json"
done
hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$server_pid/status")
end_rss=$(rss_kib)
kill "$sampler_pid" 2>/dev/null || true
wait "$sampler_pid" 2>/dev/null || true
sampler_pid=""

python3 - "$out" "$cache_mib" "$start_rss" "$end_rss" "$hwm" "$DATA_DIR" $workloads <<'PY'
import json, sys, os
out, cache_mib, start_kib, end_kib, hwm_kib, data_dir = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
workloads = sys.argv[7:]
rows = [l.rstrip("\n").split("\t") for l in open(f"{out}/rss.tsv") if l.strip()]
bound = 2 * cache_mib + 64
mib = lambda kib: kib / 1024
peak = max((int(r[1]) for r in rows), default=0)
size = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(data_dir) for f in fs)
print(f"store: {data_dir}, {size / 1e6:,.0f} MB on disk; cache_capacity_mib = {cache_mib}")
print(f"- RSS after start (SERVING, index built): {mib(start_kib):,.0f} MiB")
for w in workloads:
    rs = [int(r[1]) for r in rows if r[2] == w]
    rep = json.load(open(f"{out}/{w}.json"))
    print(f"- during {w}: peak {mib(max(rs, default=0)):,.0f} MiB "
          f"({rep['ops_per_sec']:,.0f} calls/s, {rep['errors']} errors)")
print(f"- peak sampled RSS {mib(peak):,.0f} MiB, VmHWM {mib(hwm_kib):,.0f} MiB, at the end "
      f"{mib(end_kib):,.0f} MiB; bound 2 x {cache_mib} + 64 = {bound} MiB: "
      f"{'met' if mib(hwm_kib) <= bound else 'NOT met'}")
PY
