#!/usr/bin/env bash
# Recording to disk under a steady stream: RSS of `sscope serve` while one connection
# records RATE messages a second (the ticker demo, SIZE-byte messages) for SECS seconds,
# sampled every STEP seconds; then the first page of the recording is read back (the
# frame list scrolled to its first frame) and the whole session is exported from disk.
# DESIGN.md / issue: memory stays flat while recording; figures go in BENCHMARKS.md.
#
#   bash bench/record-rss.sh
#
# Environment:
#   SSCOPE=$CARGO_TARGET_DIR/release/sscope   the binary (built first unless SKIP_BUILD=1)
#   RATE=20000  SIZE=64  SECS=600  STEP=30
#   DATA=…      the data directory (default: a fresh one under /var/tmp, removed after)
#
# Everything it starts is stopped by PID at the end.
set -euo pipefail
export LC_ALL=C
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/streamscope-target}
SSCOPE=${SSCOPE:-"$CARGO_TARGET_DIR/release/sscope"}
RATE=${RATE:-20000}
SIZE=${SIZE:-64}
SECS=${SECS:-600}
STEP=${STEP:-30}
if [[ ${SKIP_BUILD:-0} != 1 ]]; then cargo build --release -p sscope; fi
OWN_DATA=0
if [[ -z ${DATA:-} ]]; then DATA=$(mktemp -d /var/tmp/streamscope-record-rss.XXXXXX); OWN_DATA=1; fi
OUT=$(mktemp)
"$SSCOPE" serve --port 0 --data-dir "$DATA" >"$OUT" 2>&1 &
PID=$!
cleanup() {
  kill "$PID" 2>/dev/null || true
  wait "$PID" 2>/dev/null || true
  rm -f "$OUT"
  if [[ $OWN_DATA == 1 ]]; then rm -rf "$DATA"; fi
}
trap cleanup EXIT
for _ in $(seq 100); do grep -q 'UI:' "$OUT" && break; sleep 0.1; done
URL=$(grep -o 'http://127[^/]*' "$OUT" | head -1)
TOKEN=$(grep -o 'token=[0-9a-f]*' "$OUT" | cut -d= -f2)
api() { curl -sf -H "Authorization: Bearer $TOKEN" "$@"; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$PID/status"; }
echo "sscope serve pid $PID, recording to $DATA; RSS before: $(rss) KiB"
api -X POST -H 'content-type: application/json' \
  -d "{\"url\":\"${URL/http/ws}/demo/ws/ticker?rate=$RATE&size=$SIZE\"}" "$URL/api/connections" >/dev/null
printf '%8s %12s %12s %14s\n' seconds records 'RSS KiB' 'disk MiB'
START=$(date +%s)
while :; do
  sleep "$STEP"
  NOW=$(( $(date +%s) - START ))
  SEQ=$(api "$URL/api/connections/c1" | grep -o '"last_seq":[0-9]*' | cut -d: -f2)
  DISK=$(du -sm "$DATA" | cut -f1)
  printf '%8s %12s %12s %14s\n' "$NOW" "$SEQ" "$(rss)" "$DISK"
  (( NOW >= SECS )) && break
done
T0=$(date +%s.%N)
FIRST=$(api "$URL/api/connections/c1/records?from=1&limit=200" | grep -o '"seq":1,' | head -1)
T1=$(date +%s.%N)
echo "first page (from seq 1) read back in $(echo "($T1 - $T0) * 1000" | bc | cut -d. -f1) ms: ${FIRST:-MISSING}"
echo "RSS at the end: $(rss) KiB"
