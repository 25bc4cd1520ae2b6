#!/usr/bin/env bash
# A clean-up dry run over a module of 1 000 000 records (999 000 completed backups of 50 devices,
# 1 000 abandoned): its wall time and peak memory (RSS, from GNU time), against the local server
# on 127.0.0.1. The records are written into the server's database directly (the API has no bulk
# create).
#
#   benches/cleanup_million.sh              # release build, 1 000 000 records
#   N=200000 benches/cleanup_million.sh
#   N=100000 YES=1 benches/cleanup_million.sh   # also delete them (slow: every delete is sent)
#
# The issue's target: completes, peak RSS < 200 MB.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-1000000}
BIN=${KOOBACKUP_BIN:-target/release/koobackup}
if [[ -z ${KOOBACKUP_BIN:-} ]]; then
  cargo build --release --quiet
fi
command -v sqlite3 >/dev/null || { echo "sqlite3 is not installed" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "GNU time (/usr/bin/time) is not installed" >&2; exit 1; }

# shellcheck source=support/local_server.sh
source benches/support/local_server.sh

# The server makes its tables; the records go in while it is stopped.
start_server
stop_server
NOW_MS=$(($(date +%s) * 1000))
sqlite3 "$WORK/bench.sqlite" <<SQL
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $N - 1)
INSERT INTO records (record_id, user_id, module, device_id, status, properties, version, create_time, end_time)
SELECT 1842862763295184641 + i, '$USER_ID', '100', 'device-' || (i % 50),
       CASE WHEN i % 1000 = 0 THEN 0 ELSE 1 END, '{"paths":["/data"]}', 1,
       $NOW_MS - 172800000 - i * 1000,
       CASE WHEN i % 1000 = 0 THEN NULL ELSE $NOW_MS - 172800000 - i * 1000 + 60000 END
FROM n;
SQL
start_server

export_client_env

PAGES=$((N / 100 + 10))
/usr/bin/time -f '%e s wall, %M KiB peak RSS' -o "$WORK/time" \
  "$BIN" cleanup -m 100 --max-pages "$PAGES" -q >"$WORK/candidates"
echo "cleanup dry run over $N records in one module:"
echo "  $(cat "$WORK/time"); $(wc -l <"$WORK/candidates") candidates"
# With a retention policy the completed backups are weighed device by device (each device's
# listed and held on its own, after a first listing that notes the devices).
status=0
/usr/bin/time -f '%e s wall, %M KiB peak RSS' -o "$WORK/time" \
  "$BIN" cleanup -m 100 --keep-last 3 --max-pages "$PAGES" --max-records "$N" -q \
  >"$WORK/candidates" 2>"$WORK/stderr" || status=$?
echo "the same with --keep-last 3 (exit $status):"
echo "  $(tail -1 "$WORK/time"); $(wc -l <"$WORK/candidates") candidates; $(head -1 "$WORK/stderr")"
# The same as one --json document, written as it is weighed: only the kept backups are held.
status=0
/usr/bin/time -f '%e s wall, %M KiB peak RSS' -o "$WORK/time" \
  "$BIN" cleanup -m 100 --keep-last 3 --max-pages "$PAGES" --max-records "$N" --json \
  >"$WORK/document" 2>"$WORK/stderr" || status=$?
echo "the same as one --json document (exit $status):"
echo "  $(tail -1 "$WORK/time"); $(wc -c <"$WORK/document") bytes"
status=0
/usr/bin/time -f '%e s wall, %M KiB peak RSS' -o "$WORK/time" \
  "$BIN" cleanup -m 100 --keep-last 3 --device device-7 --max-pages "$PAGES" -q \
  >"$WORK/candidates" 2>"$WORK/stderr" || status=$?
echo "the same for one device (--device device-7, exit $status):"
echo "  $(tail -1 "$WORK/time"); $(wc -l <"$WORK/candidates") candidates"
# With YES=1, the retention clean-up for real: every candidate deleted, device by device (each
# part a plan of the history), its ids printed as it goes (-q).
if [[ ${YES:-0} == 1 ]]; then
  status=0
  /usr/bin/time -f '%e s wall, %M KiB peak RSS' -o "$WORK/time" \
    "$BIN" cleanup -m 100 --keep-last 3 --yes --max-pages "$PAGES" --max-records "$N" -q \
    >"$WORK/deleted" 2>"$WORK/stderr" || status=$?
  echo "cleanup --keep-last 3 --yes (exit $status):"
  echo "  $(tail -1 "$WORK/time"); $(wc -l <"$WORK/deleted") deleted; $(head -1 "$WORK/stderr")"
fi
