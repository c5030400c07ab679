# Shared by scripts/bench-rpc.sh and scripts/soak.sh (sourced, not run): start the release
# server on a fresh temporary data directory, wait until it serves, stop it cleanly.
#
# After start_server: SERVER_PID, SERVER_URL, DATA_DIR, KEY_FILE, SERVER_LOG are set.

# Directory of the binaries: target/release, or BIN_DIR (e.g. binaries of another commit
# kept for a before/after comparison; then nothing is built).
BIN_DIR=${BIN_DIR:-}

# Builds the release server and load tool (locked, like CI), unless BIN_DIR is set.
build_release() {
  if [[ -n "$BIN_DIR" ]]; then
    echo "using the binaries in $BIN_DIR (nothing built)" >&2
    return 0
  fi
  BIN_DIR=target/release
  cargo build --release --locked -p clearinghouse -p clearinghouse-load --bin clearinghouse --bin clearinghouse-load
}

# start_server [CONFIG_TOML_TEXT]: starts target/release/clearinghouse on a free loopback
# port with a new data directory under ${TMPDIR:-/tmp}; returns once it accepts
# connections and has written its bootstrap key.
start_server() {
  DATA_DIR=$(mktemp -d "${TMPDIR:-/tmp}/clearinghouse-bench.XXXXXX")
  SERVER_LOG=$DATA_DIR.log
  local config=$DATA_DIR.toml port
  printf '%s\n' "${1:-}" >"$config"
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "${BIN_DIR:-target/release}/clearinghouse" serve --config "$config" --data-dir "$DATA_DIR" \
    --listen "127.0.0.1:$port" --log-format json >"$SERVER_LOG" 2>&1 &
  SERVER_PID=$!
  KEY_FILE=$DATA_DIR/bootstrap-admin.key
  SERVER_URL=http://127.0.0.1:$port
  local tries=0
  until [[ -s "$KEY_FILE" ]] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      echo "the server exited during startup:" >&2
      cat "$SERVER_LOG" >&2
      return 1
    fi
    if ((tries >= 600)); then
      echo "the server did not start within 60 s; log: $SERVER_LOG" >&2
      return 1
    fi
    sleep 0.1
    tries=$((tries + 1))
  done
}

# stop_server: SIGTERM (NOT_SERVING, drain, flush) and wait; prints the exit status.
stop_server() {
  [[ -n "${SERVER_PID:-}" ]] || return 0
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  local rc=0
  wait "$SERVER_PID" || rc=$?
  SERVER_PID=""
  return "$rc"
}

# cleanup_server: stops the server if it still runs and removes its files.
cleanup_server() {
  if [[ -n "${SERVER_PID:-}" ]]; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [[ -n "${DATA_DIR:-}" && "${KEEP_DATA:-0}" != 1 ]]; then
    rm -rf "$DATA_DIR" "$DATA_DIR.toml"
  fi
}
