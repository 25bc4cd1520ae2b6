#!/usr/bin/env bash
# The Devices view's sizes over a slow link (issue 25): DEVICES devices x 3 modules x RECORDS
# records (one backup file each; every COMPLETED_EVERY-th completed, default 3 as in the other
# benches' fleet, the others still `new`) against `koobackup serve
# --latency-ms LATENCY_MS`, loaded through the app's own code path (`benches/devices_sizes.rs`:
# App::update, the runtime's size reading and the size cache; no terminal). Measures
#   - the record-listing floor: the devices and every record listed, no size asked for;
#   - the first start (an empty size cache): until every figure is filled in;
#   - the second start (the cache the first one wrote): the same;
# and counts the file-list requests each start sent, from the server's request log.
#
#   benches/devices_sizes.sh                           # 50 x 3 x 200 at 50 ms (the issue's setup)
#   DEVICES=5 RECORDS=20 LATENCY_MS=20 benches/devices_sizes.sh
#   COMPLETED_EVERY=1 benches/devices_sizes.sh          # every record completed
#   CARGO="flock /tmp/cargo.lock cargo" benches/devices_sizes.sh   # builds under a lock
#
# Targets (issue 25): first start <= 391/4 s; second start <= 1.2 x the floor, 0 file lists.
# A `new` record's files can still change, so its size is never cached: a second start lists
# the files of every `new` record again (two thirds of the default fleet), and of no other.
set -euo pipefail
cd "$(dirname "$0")/.."

DEVICES=${DEVICES:-50}
RECORDS=${RECORDS:-200}
LATENCY_MS=${LATENCY_MS:-50}
COMPLETED_EVERY=${COMPLETED_EVERY:-3}
BIN=${KOOBACKUP_BIN:-${CARGO_TARGET_DIR:-target}/release/koobackup}
CARGO=${CARGO:-cargo}
if [[ -z ${KOOBACKUP_BIN:-} ]]; then
  $CARGO build --release --quiet
fi
# The harness, as `cargo bench` builds it (optimised).
HARNESS=$($CARGO bench --quiet --bench devices_sizes --no-run --message-format=json 2>/dev/null |
  sed -n 's/.*"executable":"\([^"]*devices_sizes[^"]*\)".*/\1/p' | tail -1)
[[ -x $HARNESS ]] || { echo "could not build benches/devices_sizes.rs" >&2; exit 1; }

# shellcheck source=support/local_server.sh
source benches/support/local_server.sh

# The fleet goes into the database the server made, before the link is slowed.
start_server
"$HARNESS" fill "$WORK/bench.sqlite" "$USER_ID" "$DEVICES" "$RECORDS" "$COMPLETED_EVERY"
start_server --latency-ms "$LATENCY_MS" --log-file "$WORK/serve.log"
export_client_env

file_lists() { grep -c 'path="[^"]*/record/[0-9]*/files"' "$WORK/serve.log" || true; }
value() { sed -n "s/^$1=//p"; }

records=$((DEVICES * 3 * RECORDS))
new=$((DEVICES * 3 * (RECORDS - (RECORDS + COMPLETED_EVERY - 1) / COMPLETED_EVERY)))
echo "Devices view, $DEVICES devices x 3 modules x $RECORDS records ($new of $records new)," \
  "${LATENCY_MS} ms latency:"
floor=$("$HARNESS" floor "$DEVICES" | value listed_s)
echo "  record-listing floor:     ${floor} s"

before=$(file_lists)
out=$("$HARNESS" load "$DEVICES")
first=$(value every_figure_s <<<"$out")
first_lists=$(($(file_lists) - before))
echo "  first start, every size:  ${first} s  (records listed at $(value listed_s <<<"$out") s;" \
  "file-list requests: $first_lists)"

before=$(file_lists)
out=$("$HARNESS" load "$DEVICES")
second=$(value every_figure_s <<<"$out")
second_lists=$(($(file_lists) - before))
echo "  second start, every size: ${second} s  (records listed at $(value listed_s <<<"$out") s;" \
  "file-list requests: $second_lists)"
awk -v f="$first" -v s="$second" -v floor="$floor" 'BEGIN {
  printf "  second start / floor:     %.2f (target <= 1.2); first start %.1f s (target <= %.1f s)\n", s / floor, f, 391 / 4
}'
