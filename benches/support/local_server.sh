# Sourced by the bench scripts: a scratch directory, a user and token of its own, and
# `start_server [serve options…]` / `stop_server` for `koobackup serve` on 127.0.0.1 with the
# bench's database (BASE_URL is set once it listens). Expects BIN.

WORK=$(mktemp -d)
SERVER_PID=
stop_server() {
  if [[ -n $SERVER_PID ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
  fi
}
trap 'stop_server; rm -rf "$WORK"' EXIT

USER_ID=bench
TOKEN=bench-token-$RANDOM$RANDOM
umask 077
printf '%s:%s\n' "$USER_ID" "$TOKEN" >"$WORK/users"

start_server() {
  stop_server
  : >"$WORK/serve.out"
  "$BIN" serve --listen 127.0.0.1:0 --db "$WORK/bench.sqlite" --users-file "$WORK/users" \
    "$@" >"$WORK/serve.out" 2>"$WORK/serve.err" &
  SERVER_PID=$!
  for _ in $(seq 200); do
    grep -q '^listening on ' "$WORK/serve.out" 2>/dev/null && break
    sleep 0.05
  done
  BASE_URL=$(sed -n 's/^listening on //p' "$WORK/serve.out")
  [[ -n $BASE_URL ]] || { echo "the server did not start" >&2; cat "$WORK/serve.err" >&2; exit 1; }
}

# koobackup reads everything from the environment; what it writes stays in the scratch directory.
export_client_env() {
  export KOOBACKUP_BASE_URL=$BASE_URL KOOBACKUP_USER_ID=$USER_ID KOOBACKUP_TOKEN=$TOKEN
  export KOOBACKUP_JOURNAL=$WORK/locks.json XDG_CONFIG_HOME=$WORK/config XDG_DATA_HOME=$WORK/data
  export XDG_STATE_HOME=$WORK/state XDG_CACHE_HOME=$WORK/cache
}
