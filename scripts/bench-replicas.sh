#!/usr/bin/env bash
# Replicas over one PostgreSQL on this machine (BENCHMARKS.md, "Replicas"): builds the
# release server and load tools, starts a PostgreSQL server in a temporary directory
# (initdb; fsync and synchronous_commit on; unix socket), then measures
#   1. one replica: CreateNeed and GetNeed at 64 callers;
#   2. two replicas: the same 64 callers split 32 + 32 over both (two load processes at
#      once), and the cross-replica index delay (crates/load/src/bin/replica-delay.rs:
#      from A's acknowledgement of the call that makes a need rankable until B ranks it);
#   3. a PostgreSQL restart (pg_ctl restart -m fast), then a 5 s outage (stop, start), in
#      the middle of a create load on both replicas: calls by status code, and how each
#      replica's health moved.
# Prints a Markdown summary; raw JSON reports are kept in target/bench-replicas/.
#
#   scripts/bench-replicas.sh                 # 10 s per workload after 2 s warm-up
#   DURATION=30s SAMPLES=500 scripts/bench-replicas.sh
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${DURATION:-10s}
warmup=${WARMUP:-2s}
samples=${SAMPLES:-200}
out=target/bench-replicas
mkdir -p "$out"
rm -f "$out"/*.json

cargo build --release --locked -p clearinghouse -p clearinghouse-load --bins >&2

bindir=${PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)}
root=$(mktemp -d "${TMPDIR:-/tmp}/clearinghouse-pg.XXXXXX")
as_pg=()
if [[ $(id -u) == 0 ]]; then
  chown postgres: "$root"
  as_pg=(runuser -u postgres --)
fi
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  "${as_pg[@]}" "$bindir/pg_ctl" -D "$root/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$root"
}
trap cleanup EXIT
"${as_pg[@]}" "$bindir/initdb" -D "$root/data" -U postgres -A trust -E UTF8 --locale=C \
  --no-instructions >/dev/null
pg_opts="-k $root -p 5432 -c listen_addresses='' -c fsync=on -c synchronous_commit=on -c max_connections=200 -c shared_buffers=128MB"
pg() { "${as_pg[@]}" "$bindir/pg_ctl" -D "$root/data" -l "$root/log" -w -o "$pg_opts" "$@" >/dev/null; }
pg start
host=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$root")
url="postgres://postgres@$host:5432/postgres?sslmode=disable"

# start_replica NAME SCHEMA: a release server on a free port; sets ADDR_<NAME>.
start_replica() {
  local name=$1 schema=$2 dir port
  dir=$root/replica-$schema-$name
  mkdir -p "$dir"
  [[ -f $root/admin.key ]] && cp "$root/admin.key" "$dir/bootstrap-admin.key"
  printf '[limits]\nrate_per_principal = 1000000\nburst_per_principal = 1000000\n[storage]\npool_size = 32\nmin_idle_connections = 8\n' >"$dir.toml"
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  CLEARINGHOUSE_DATABASE_URL=$url CLEARINGHOUSE_DATABASE_SCHEMA=$schema \
    target/release/clearinghouse serve --config "$dir.toml" --data-dir "$dir" \
    --listen "127.0.0.1:$port" --log-format json >"$dir.log" 2>&1 &
  pids+=($!)
  local tries=0
  until [[ -s "$dir/bootstrap-admin.key" ]] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    ((tries++ < 600)) || { cat "$dir.log" >&2; return 1; }
    sleep 0.1
  done
  [[ -f $root/admin.key ]] || cp "$dir/bootstrap-admin.key" "$root/admin.key"
  printf -v "ADDR_$name" 'http://127.0.0.1:%s' "$port"
}

stop_replicas() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
  cp "$root"/replica-*.log "$out"/
  rm -f "$root/admin.key"
}

# load NAME WORKLOAD SERVER CALLERS CONNECTIONS [extra args]
load() {
  local name=$1 workload=$2 server=$3 callers=$4 conns=$5
  shift 5
  target/release/clearinghouse-load "$workload" --server "$server" \
    --api-key-file "$root/admin.key" --concurrency "$callers" --connections "$conns" \
    --duration "$duration" --warmup "$warmup" --output json "$@" >"$out/$name.json"
}

echo "== one replica" >&2
start_replica A one
load one-create create "$ADDR_A" 64 4
load one-get get "$ADDR_A" 64 4
stop_replicas

echo "== two replicas" >&2
start_replica A two
start_replica B two
load two-create-a create "$ADDR_A" 32 2 & la=$!
load two-create-b create "$ADDR_B" 32 2 & lb=$!
wait "$la" "$lb"
load two-get-a get "$ADDR_A" 32 2 & la=$!
load two-get-b get "$ADDR_B" 32 2 & lb=$!
wait "$la" "$lb"
target/release/replica-delay --a "$ADDR_A" --b "$ADDR_B" --api-key-file "$root/admin.key" \
  --samples "$samples" >"$out/delay.json"

echo "== PostgreSQL restart under load" >&2
load restart-a create "$ADDR_A" 32 2 --hang-timeout 60s & la=$!
load restart-b create "$ADDR_B" 32 2 --hang-timeout 60s & lb=$!
# Setup (principals) and the warm-up take under 6 s here; the restart lands inside the
# measured window, which lasts $duration after them.
sleep 8
restart_started=$(date +%s.%N)
pg restart -m fast
restart_done=$(date +%s.%N)
wait "$la" "$lb"
echo "$restart_started $restart_done" >"$out/restart-times.txt"

echo "== PostgreSQL down for 5 s under load" >&2
# Measured for 20 s, so that calls caught by the outage (waiting up to acquire_timeout_ms
# for a connection) end inside the window, and the recovery too.
duration=20s load outage-a create "$ADDR_A" 32 2 --hang-timeout 60s & la=$!
duration=20s load outage-b create "$ADDR_B" 32 2 --hang-timeout 60s & lb=$!
sleep 8
"${as_pg[@]}" "$bindir/pg_ctl" -D "$root/data" -m fast -w stop >/dev/null
date +%s.%N >"$out/outage-times.txt"
sleep 5
pg start
date +%s.%N >>"$out/outage-times.txt"
wait "$la" "$lb"
stop_replicas
# How each replica's health moved (log lines of server/availability.rs).
for f in "$root"/replica-two-*.log; do
  printf '%s %s %s\n' "$(basename "$f" .log)" \
    "$(grep -c 'database unreachable; health set to NOT_SERVING' "$f" || true)" \
    "$(grep -c 'database reachable again; health set to SERVING' "$f" || true)"
done >"$out/health-moves.txt"

python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
r = lambda n: json.load(open(f"{out}/{n}.json"))
ms = lambda us: f"{us / 1000:.2f}"
print("| replicas | workload | callers | ops/s | p50 ms | p99 ms | errors |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for label, names in [("1", ["one-create"]), ("1", ["one-get"]),
                     ("2", ["two-create-a", "two-create-b"]), ("2", ["two-get-a", "two-get-b"])]:
    reps = [r(n) for n in names]
    ops = sum(x["ops_per_sec"] for x in reps)
    p50 = max(x["latency"]["p50_us"] for x in reps)
    p99 = max(x["latency"]["p99_us"] for x in reps)
    callers = sum(x["concurrency"] for x in reps)
    print(f"| {label} | {reps[0]['workload']} | {callers} | {ops:,.0f} | {ms(p50)} | {ms(p99)} | "
          f"{sum(x['errors'] for x in reps)} |")
d = r("delay")["delay_ms"]
print()
print(f"- cross-replica index delay over {r('delay')['samples']} needs: p50 {d['p50']:.2f} ms, "
      f"p90 {d['p90']:.2f} ms, p99 {d['p99']:.2f} ms, max {d['max']:.2f} ms")
started, done = map(float, open(f"{out}/restart-times.txt").read().split())
codes = {}
ok = 0
for n in ["restart-a", "restart-b"]:
    x = r(n)
    ok += x["ops"]
    for c, k in x["errors_by_code"].items():
        codes[c] = codes.get(c, 0) + k
print(f"- PostgreSQL restart (pg_ctl restart -m fast, {done - started:.2f} s) under 64 callers "
      f"creating on both replicas: {ok:,} calls succeeded, failed by code: {codes or 'none'}")
for line in open(f"{out}/health-moves.txt"):
    name, down, up = line.split()
    print(f"  - {name}: health went NOT_SERVING {down} time(s) and SERVING again {up} time(s); "
          f"the process kept running")
ok, codes = 0, {}
for n in ["outage-a", "outage-b"]:
    x = r(n)
    ok += x["ops"]
    for c, k in x["errors_by_code"].items():
        codes[c] = codes.get(c, 0) + k
print(f"- PostgreSQL stopped (pg_ctl stop -m fast) for 5 s, then started, under the same load "
      f"(20 s measured): {ok:,} calls succeeded, failed by code: {codes or 'none'} (the health "
      f"moves above count both events)")
PY
