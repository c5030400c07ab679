#!/usr/bin/env bash
# Captures how `need list` and `match candidates` look on a 120x40 terminal: starts a
# release server on a temporary directory, loads the samples like the README walkthrough,
# runs both commands inside a detached tmux session and saves the panes under
# target/tables/ (need-list.txt, candidates.txt). Needs tmux.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v tmux >/dev/null || { echo "tmux is required" >&2; exit 1; }

cargo build --release --quiet
CH="$PWD/target/release/clearinghouse"
OUT="$PWD/target/tables"
WORK="$(mktemp -d)"
SESSION="clearinghouse-capture-$$"
SERVER_PID=""
cleanup() {
  tmux kill-session -t "$SESSION" 2>/dev/null || true
  if [[ -n "$SERVER_PID" ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$OUT"

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$CH" serve --data-dir "$WORK/data" --listen "127.0.0.1:$PORT" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
export CLEARINGHOUSE_SERVER="http://127.0.0.1:$PORT"
ADMIN="--api-key-file $WORK/data/bootstrap-admin.key"
for _ in $(seq 100); do
  [[ -s "$WORK/data/bootstrap-admin.key" ]] && "$CH" party get state-KEN $ADMIN >/dev/null 2>&1 && break
  sleep 0.1
done

# The demo data: the samples, circulated where consent allows.
"$CH" admin key create $ADMIN --name "1540 Committee expert" --role broker --key-file "$WORK/broker.key" >/dev/null 2>&1
"$CH" admin rates set $ADMIN --base USD EUR=1.08 GBP=1.27 JPY=0.0067 CAD=0.73 AUD=0.66 NOK=0.094 SEK=0.096 >/dev/null
BROKER="--api-key-file $WORK/broker.key"
"$CH" import offers samples/offers.csv --activate $BROKER >/dev/null 2>&1
"$CH" import needs samples/needs.csv --submit $BROKER >/dev/null 2>&1
for id in $("$CH" need list --status submitted --all -o csv $BROKER | tail -n +2 | cut -d, -f1); do
  "$CH" need authenticate "$id" $BROKER >/dev/null && "$CH" need circulate "$id" $BROKER >/dev/null 2>&1 || true
done
NEED=$("$CH" need list --party state-KEN -o csv $BROKER | grep ',KEN-2026-01,' | cut -d, -f1)

# One command per pane capture; `tmux wait-for` says when it has printed.
tmux new-session -d -s "$SESSION" -x 120 -y 40 "bash --norc --noprofile"
capture() {
  local name="$1" cmd="$2"
  tmux send-keys -t "$SESSION" "clear; export CLEARINGHOUSE_SERVER=$CLEARINGHOUSE_SERVER; $cmd; tmux wait-for -S $SESSION-done" Enter
  tmux wait-for "$SESSION-done"
  tmux capture-pane -p -t "$SESSION" -S - \
    | grep -v -E 'tmux wait-for|^bash-[0-9.]+[#$] *$' \
    | awk '{ l[NR] = $0 } END { n = NR; while (n > 0 && l[n] ~ /^[[:space:]]*$/) n--; for (i = 1; i <= n; i++) print l[i] }' \
    >"$OUT/$name.txt"
  tmux clear-history -t "$SESSION"
  echo "saved $OUT/$name.txt"
}
capture need-list "$CH need list --status circulated --limit 12 $BROKER"
capture candidates "$CH match candidates $NEED --limit 3 $BROKER"
