#!/usr/bin/env bash
# Desktop launch benchmark: from process start to the UI being interactive, release build,
# under Xvfb. DESIGN.md's target: under one second. Figures go in BENCHMARKS.md.
#
#   bash bench/launch.sh          RUNS launches (default 7) after one first launch
#
# Environment:
#   RUNS=7                        timed warm launches
#   SKIP_BUILD=1                  measure the binary already built
#   APP=$CARGO_TARGET_DIR/release/streamscope
#   WEBDRIVER=1                   also measure through tauri-driver (smoke.mjs --launch-runs)
#
# Each launch: this script reads the wall clock, starts the app with STREAMSCOPE_TIMING=1
# and waits for the shell's "interactive" line (src-tauri/timing.rs: the UI has mounted
# and the page's main thread answers a script); the figure is that line's wall-clock time
# minus the start, so it includes exec, GTK and WebKit start-up, the embedded server, the
# page load and the UI's own start. The window is then closed as a user does
# (tests/desktop/x11.py close) and the app must exit 0. The first launch, with an
# empty config and WebKit cache, is reported apart from the warm ones.
# The WebDriver figure is an upper bound: it adds WebKitWebDriver's own start.
# Exit status: 0 when every launch reached interactive and quit cleanly, 1 otherwise.
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/streamscope-target}
export PATH="$PATH:${CARGO_HOME:-$HOME/.cargo}/bin"
RUNS=${RUNS:-7}
APP=${APP:-"$CARGO_TARGET_DIR/release/streamscope"}

if [[ -z ${STREAMSCOPE_BENCH_DISPLAY:-} ]]; then
  if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    cargo build --release --bin streamscope
  fi
  [[ -f ui/dist/index.html ]] || { echo "launch: build the UI first (make ui)" >&2; exit 1; }
  exec timeout 600 xvfb-run -a -s "-screen 0 1600x1000x24" \
    env STREAMSCOPE_BENCH_DISPLAY=1 bash "${BASH_SOURCE[0]}" "$@"
fi

home=$(mktemp -d /tmp/streamscope-launch.XXXXXX)
log=$home/app.log
trap 'rm -rf "$home"' EXIT
export XDG_CONFIG_HOME=$home/config XDG_DATA_HOME=$home/data XDG_CACHE_HOME=$home/cache

# One launch; prints "<ms to interactive> <ms to page loaded>".
launch() {
  : >"$log"
  local t0 pid
  t0=$(date +%s%3N)
  STREAMSCOPE_TIMING=1 "$APP" 2>"$log" &
  pid=$!
  for _ in $(seq 300); do
    grep -q 'timing: interactive' "$log" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  if ! grep -q 'timing: interactive' "$log"; then
    echo "launch: the UI did not become interactive within 15 s" >&2
    cat "$log" >&2
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    return 1
  fi
  python3 tests/desktop/x11.py close "$pid" Streamscope
  local rc=0
  timeout 10 tail --pid="$pid" -f /dev/null || { kill -9 "$pid"; rc=1; }
  wait "$pid" || rc=$?
  if [[ $rc != 0 ]]; then
    echo "launch: the app did not quit cleanly (status $rc)" >&2
    return 1
  fi
  local ready loaded
  ready=$(sed -n 's/.*timing: interactive .*unix_ms=\([0-9]*\).*/\1/p' "$log")
  loaded=$(sed -n 's/.*timing: page loaded .*unix_ms=\([0-9]*\).*/\1/p' "$log")
  echo "$((ready - t0)) $((loaded - t0))"
}

echo "app: $APP"
out=$(launch) || exit 1
read -r first first_loaded <<<"$out"
echo "first launch (empty config and cache): interactive ${first} ms (page loaded ${first_loaded} ms)"
times=()
loads=()
for i in $(seq "$RUNS"); do
  out=$(launch) || exit 1
  read -r ms loaded <<<"$out"
  echo "run $i: interactive ${ms} ms (page loaded ${loaded} ms)"
  times+=("$ms")
  loads+=("$loaded")
done
median() { printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"; }
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
echo "launch to interactive UI: median $(median "${times[@]}") ms, min $(echo "$sorted" | head -1) ms, max $(echo "$sorted" | tail -1) ms over ${RUNS} warm launches (page loaded: median $(median "${loads[@]}") ms); first launch ${first} ms"

if [[ ${WEBDRIVER:-0} == 1 ]]; then
  node tests/desktop/smoke.mjs --launch-runs "$RUNS" "$APP"
fi
