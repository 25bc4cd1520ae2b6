#!/usr/bin/env bash
# Wall time of `koobackup lock create --json` against curl sending the same request to the same
# server (`koobackup serve` on 127.0.0.1). Target: koobackup within 1.5x of curl.
#
#   benches/cli_vs_curl.sh            # 50 rounds, release build
#   N=200 benches/cli_vs_curl.sh
#
# Each round times one create with each tool (interleaved, so drift affects both alike); the
# lock is released untimed afterwards. The clock is bash's $EPOCHREALTIME, which needs no fork.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-50}
WARMUP=3
BIN=${KOOBACKUP_BIN:-target/release/koobackup}
if [[ -z ${KOOBACKUP_BIN:-} ]]; then
  cargo build --release --quiet
fi
command -v curl >/dev/null || { echo "curl is not installed" >&2; exit 1; }

WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
  [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

USER_ID=bench
TOKEN=bench-token-$RANDOM$RANDOM
umask 077
printf '%s:%s\n' "$USER_ID" "$TOKEN" >"$WORK/users"
"$BIN" serve --listen 127.0.0.1:0 --db "$WORK/bench.sqlite" --users-file "$WORK/users" >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVER_PID=$!
for _ in $(seq 100); do
  grep -q '^listening on ' "$WORK/serve.out" 2>/dev/null && break
  sleep 0.05
done
BASE_URL=$(sed -n 's/^listening on //p' "$WORK/serve.out")
[[ -n $BASE_URL ]] || { echo "the server did not start" >&2; exit 1; }

# koobackup reads everything from the environment; the journal goes to the scratch directory.
export KOOBACKUP_BASE_URL=$BASE_URL KOOBACKUP_USER_ID=$USER_ID KOOBACKUP_TOKEN=$TOKEN
export KOOBACKUP_JOURNAL=$WORK/locks.json XDG_CONFIG_HOME=$WORK/config XDG_DATA_HOME=$WORK/data

LOCK_URL=$BASE_URL/koodrive/ose/v1/backup/lock
# curl reads its headers from a file so the token stays off the command line, as koobackup's does.
write_curl_headers() {
  {
    printf 'Authorization: Bearer %s\n' "$TOKEN"
    printf 'X-User-Id: %s\n' "$USER_ID"
    printf 'X-Date: %s\n' "$(date -u +%Y%m%dT%H%M%SZ)"
    printf 'Content-Type: application/json\n'
  } >"$WORK/headers"
}

micros() { local t=${EPOCHREALTIME/./}; echo "$((10#$t))"; }

lock_id_of() { sed -n 's/.*"lockId":"\([^"]*\)".*/\1/p' <<<"$1"; }

koobackup_round() {
  local t0 t1 out
  t0=$(micros)
  out=$("$BIN" lock create --module 102 --json)
  t1=$(micros)
  "$BIN" lock release --quiet "$(lock_id_of "$out")"
  echo $((t1 - t0))
}

curl_round() {
  local t0 t1 out
  write_curl_headers
  t0=$(micros)
  out=$(curl -sS --fail-with-body -X POST -H @"$WORK/headers" -d '{"moduleCode":"102"}' "$LOCK_URL")
  t1=$(micros)
  curl -sS --fail-with-body -X DELETE -H @"$WORK/headers" -H "x-backup-lock-id: $(lock_id_of "$out")" \
    "$LOCK_URL" >/dev/null
  echo $((t1 - t0))
}

for _ in $(seq $WARMUP); do
  koobackup_round >/dev/null
  curl_round >/dev/null
done
: >"$WORK/koobackup.us"
: >"$WORK/curl.us"
for _ in $(seq "$N"); do
  koobackup_round >>"$WORK/koobackup.us"
  curl_round >>"$WORK/curl.us"
done

summary() { # file -> "median mean" in milliseconds
  sort -n "$1" | awk '{ v[NR] = $1; s += $1 }
    END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
          printf "%.2f %.2f", m / 1000, s / NR / 1000 }'
}
read -r K_MED K_MEAN <<<"$(summary "$WORK/koobackup.us")"
read -r C_MED C_MEAN <<<"$(summary "$WORK/curl.us")"

echo "lock create against $BASE_URL, $N rounds (after $WARMUP warm-up rounds)"
printf '%-28s median %7.2f ms   mean %7.2f ms\n' "koobackup lock create --json" "$K_MED" "$K_MEAN"
printf '%-28s median %7.2f ms   mean %7.2f ms\n' "curl -X POST" "$C_MED" "$C_MEAN"
awk -v k="$K_MED" -v c="$C_MED" 'BEGIN { printf "ratio (median): %.2fx  (target: at most 1.5x)\n", k / c }'
