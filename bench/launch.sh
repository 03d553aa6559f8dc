#!/usr/bin/env bash
# Desktop launch benchmark: from process start to the UI being interactive, release build,
# under Xvfb. DESIGN.md's target: under one second. Figures go in BENCHMARKS.md.
#
#   bash bench/launch.sh          RUNS launches (default 9) after one first launch
#
# Environment:
#   RUNS=9                        timed warm launches
#   SKIP_BUILD=1                  measure the binary already built
#   APP=$CARGO_TARGET_DIR/release/streamscope
#   WEBDRIVER=1                   also measure through tauri-driver (smoke.mjs --launch-runs)
#
# Each launch: this script reads the wall clock, starts the app with STREAMSCOPE_TIMING=1
# and waits for the shell's "interactive" line (src-tauri/timing.rs: the UI has mounted, a
# frame has been rendered with it, and the page's main thread answers a script); the
# figure is that line's wall-clock time minus the start, so it includes exec, GTK and
# WebKit start-up, the embedded server, the page load and the UI's own start. The window
# is then closed as a user does (tests/desktop/x11.py close) and the app must exit 0. The
# first launch, with an empty config and WebKit cache, is reported apart from the warm
# ones. Each run's stages are printed, then their medians: start to main(), main() to the
# window created, to the page loaded (load event), and, on the page's clock, navigation
# start to the UI mounted and to the answer; the load average goes beside, since the
# figures move with it on a shared machine.
# The WebDriver figure is an upper bound: it adds WebKitWebDriver's own start.
# Exit status: 0 when every launch reached interactive and quit cleanly, 1 otherwise.
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/streamscope-target}
export PATH="$PATH:${CARGO_HOME:-$HOME/.cargo}/bin"
RUNS=${RUNS:-9}
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

# Waits (without polling) until the log has a line matching $2, or the app ($1) exits, or
# 15 s pass.
wait_for() {
  timeout 15 grep -q -m1 "$2" < <(tail --pid="$1" -n +1 -f "$log") || true
}

# One launch; prints "<interactive> <main> <window> <loaded> <mounted> <answered>": ms from
# the start to the UI interactive, to main(), main() to the window created and to the page
# loaded, and the page's own clock (navigation start to mounted and to answered).
launch() {
  : >"$log"
  local t0 pid
  t0=$((${EPOCHREALTIME/./} / 1000)) # the wall clock in ms, without forking `date`
  STREAMSCOPE_TIMING=1 "$APP" 2>"$log" &
  pid=$!
  wait_for "$pid" 'timing: page clock'
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
  local started main window loaded ready clock
  read -r started main <<<"$(milestone 'server started')"
  read -r window _ <<<"$(milestone 'window created')"
  read -r loaded _ <<<"$(milestone 'page loaded')"
  read -r _ ready <<<"$(milestone interactive)"
  clock=$(sed -nE 's/.*UI mounted ([0-9]*) ms, (frame [0-9]* ms, )?answered ([0-9]*) ms.*/\1 \3/p' "$log")
  echo "$((ready - t0)) $((main - started - t0)) $window $loaded ${clock:-0 0}"
}

# "<ms after main()> <unix ms>" of one of the shell's milestones in the log.
milestone() {
  sed -n "s/.*timing: $1 \([0-9]*\) ms after main(), unix_ms=\([0-9]*\).*/\1 \2/p" "$log"
}

echo "app: $APP"
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
out=$(launch) || exit 1
read -r first _ _ first_loaded _ _ <<<"$out"
echo "first launch (empty config and cache): interactive ${first} ms (page loaded ${first_loaded} ms after main())"
ts_interactive=() ts_main=() ts_window=() ts_loaded=() ts_mounted=() ts_answered=()
for i in $(seq "$RUNS"); do
  out=$(launch) || exit 1
  read -r interactive main window loaded mounted answered <<<"$out"
  echo "run $i: interactive $interactive ms; main() at $main ms; from main(): window created $window ms, page loaded $loaded ms; page clock: UI mounted $mounted ms, answered $answered ms"
  ts_interactive+=("$interactive") ts_main+=("$main") ts_window+=("$window")
  ts_loaded+=("$loaded") ts_mounted+=("$mounted") ts_answered+=("$answered")
done
median() { printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"; }
sorted=$(printf '%s\n' "${ts_interactive[@]}" | sort -n)
echo "launch to interactive UI: median $(median "${ts_interactive[@]}") ms, min $(head -1 <<<"$sorted") ms, max $(tail -1 <<<"$sorted") ms over ${RUNS} warm launches; first launch ${first} ms"
echo "stages (medians): start to main() $(median "${ts_main[@]}") ms; main() to window created $(median "${ts_window[@]}") ms, to page loaded $(median "${ts_loaded[@]}") ms; page clock: navigation start to UI mounted $(median "${ts_mounted[@]}") ms, to answered $(median "${ts_answered[@]}") ms"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

if [[ ${WEBDRIVER:-0} == 1 ]]; then
  node tests/desktop/smoke.mjs --launch-runs "$RUNS" "$APP"
fi
