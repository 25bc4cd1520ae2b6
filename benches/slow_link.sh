#!/usr/bin/env bash
# Bulk deletes over a slow link: `koobackup record delete ID… --yes` of 1 000 records against
# `koobackup serve --latency-ms 100`, beside a curl `xargs -P 8` loop sending the same deletes in
# the same run; then 1 000 more under `--error-rate 0.1 --rate-limit 200`, checking that every
# record went and none was deleted twice (from the server's request log).
#
#   benches/slow_link.sh                 # release build, 1 000 records a run, 100 ms
#   N=300 LATENCY_MS=50 benches/slow_link.sh
#
# Prints deletes per second for each; the issue's target is >= 120/s for koobackup.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-1000}
LATENCY_MS=${LATENCY_MS:-100}
BIN=${KOOBACKUP_BIN:-target/release/koobackup}
if [[ -z ${KOOBACKUP_BIN:-} ]]; then
  cargo build --release --quiet
fi
command -v curl >/dev/null || { echo "curl is not installed" >&2; exit 1; }

# shellcheck source=support/local_server.sh
source benches/support/local_server.sh


micros() { local t=${EPOCHREALTIME/./}; echo "$((10#$t))"; }
rate() { awk -v n="$1" -v us="$2" 'BEGIN { printf "%.1f deletes/s (%.2f s)", n / (us / 1e6), us / 1e6 }'; }

# Three sets of N records, made at full speed before the link is slowed.
start_server
export_client_env
LOCK=$("$BIN" lock create -m 102 -q)
for set in a b c; do
  for _ in $(seq "$N"); do
    "$BIN" record create -m 102 --device bench-device --lock "$LOCK" -q
  done >"$WORK/$set.ids"
done
"$BIN" lock release "$LOCK" >/dev/null

# 1. koobackup and curl over the slow link, in the same run.
start_server --latency-ms "$LATENCY_MS"
export_client_env
LOCK=$("$BIN" lock create -m 102 -q)
start=$(micros)
xargs "$BIN" record delete --lock "$LOCK" --yes -q <"$WORK/a.ids" >/dev/null
koobackup_us=$(($(micros) - start))

{
  printf 'header = "Authorization: Bearer %s"\n' "$TOKEN"
  printf 'header = "X-User-Id: %s"\n' "$USER_ID"
  printf 'header = "X-Date: %s"\n' "$(date -u +%Y%m%dT%H%M%SZ)"
  printf 'header = "X-Backup-Lock-Id: %s"\n' "$LOCK"
} >"$WORK/curlrc"
start=$(micros)
sed "s|^|$BASE_URL/koodrive/ose/v1/backup/record/|" "$WORK/b.ids" |
  xargs -P 8 -n 1 curl -sS -o /dev/null -K "$WORK/curlrc" -X DELETE
curl_us=$(($(micros) - start))
"$BIN" lock release "$LOCK" >/dev/null

echo "record delete of $N records at ${LATENCY_MS} ms latency:"
echo "  koobackup:          $(rate "$N" "$koobackup_us")"
echo "  curl xargs -P 8:    $(rate "$N" "$curl_us")"

# 2. Under faults: every record goes, none twice.
start_server --latency-ms "$LATENCY_MS" --error-rate 0.1 --rate-limit 200 --log-file "$WORK/serve.log"
export_client_env
LOCK=$("$BIN" lock create -m 102 -q)
start=$(micros)
xargs "$BIN" record delete --lock "$LOCK" --yes -q <"$WORK/c.ids" >/dev/null
faults_us=$(($(micros) - start))
"$BIN" lock release "$LOCK" >/dev/null
left=$("$BIN" record list -m 102 --jsonl | grep -c '"recordId"' || true)
grep -o 'method=DELETE path="[^"]*/record/[0-9]*" status=200' "$WORK/serve.log" >"$WORK/deletes" || true
answered=$(wc -l <"$WORK/deletes")
twice=$(sort "$WORK/deletes" | uniq -d | wc -l)
echo "record delete of $N records at ${LATENCY_MS} ms, error rate 0.1, rate limit 200/s:"
echo "  koobackup:          $(rate "$N" "$faults_us"); records left: $left;" \
  "deletes answered 200: $answered; deleted twice: $twice"
