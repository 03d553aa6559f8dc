#!/usr/bin/env bash
# The desktop app at rest: CPU of the shell and of each WebKit child process while the
# window shows the UI with no connection open, under Xvfb. DESIGN.md: idle costs nothing
# measurable. Prints cores used per process (utime+stime from /proc/PID/stat over the
# measured span); figures go in BENCHMARKS.md.
#
#   bash bench/idle.sh
#
# Environment:
#   APP=$CARGO_TARGET_DIR/debug/streamscope   the desktop binary (PROFILE=release: release)
#   SKIP_BUILD=1      measure the binary already built (default: cargo build first)
#   SETTLE=10         seconds after the web process started before measuring (start-up
#                     work is not rest; on a loaded machine it lasts longer: raise it)
#   SECS=30           seconds measured
#   THREADS=1         also print each process's busiest threads (what to look at when a
#                     figure is not zero: tokio workers, WebKit's compositor, JS timers…)
#
# The app gets a fresh config, data and cache home, so it starts as a new user's does
# (two panes, none connected). Everything it started is stopped by PID at the end: the
# window is closed as a user does (tests/desktop/x11.py), then whatever is left of the
# app's process tree is killed.
# Exit status: 0 when the app ran through the measurement, 1 otherwise.
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/streamscope-target}
PROFILE=${PROFILE:-debug}
APP=${APP:-"$CARGO_TARGET_DIR/$PROFILE/streamscope"}
SETTLE=${SETTLE:-10}
SECS=${SECS:-30}

if [[ -z ${STREAMSCOPE_BENCH_DISPLAY:-} ]]; then
  if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    [[ -f ui/dist/index.html ]] || { echo "idle: build the UI first (make ui)" >&2; exit 1; }
    if [[ $PROFILE == release ]]; then cargo build --release --bin streamscope; else cargo build --bin streamscope; fi
  fi
  exec timeout $((SETTLE + SECS + 60)) xvfb-run -a -s "-screen 0 1600x1000x24" \
    env STREAMSCOPE_BENCH_DISPLAY=1 bash "${BASH_SOURCE[0]}" "$@"
fi

home=$(mktemp -d /tmp/streamscope-idle.XXXXXX)
export XDG_CONFIG_HOME=$home/config XDG_DATA_HOME=$home/data XDG_CACHE_HOME=$home/cache
# No session bus under Xvfb: GTK keeps its settings in memory.
export GSETTINGS_BACKEND=memory
pid=

# Every pid below $1, from /proc (WebKit's web and network processes, bwrap, …).
descendants() {
  local -A kids=()
  local f stat ppid
  for f in /proc/[0-9]*/stat; do
    { stat=$(<"$f"); } 2>/dev/null || continue # ended meanwhile
    stat=${stat##*) }
    read -r _ ppid _ <<<"$stat"
    f=${f#/proc/}
    kids[$ppid]+="${f%/stat} "
  done
  local queue=("$1") p c
  while ((${#queue[@]})); do
    p=${queue[0]}
    queue=("${queue[@]:1}")
    for c in ${kids[$p]:-}; do
      echo "$c"
      queue+=("$c")
    done
  done
}

# utime+stime of a process or thread, in clock ticks ("" when it is gone).
ticks() {
  local stat
  { stat=$(<"$1/stat"); } 2>/dev/null || return 0
  stat=${stat##*) }
  # After the comm: state is field 3, utime field 14 and stime 15 (proc(5)).
  local -a f
  read -r -a f <<<"$stat"
  echo $((f[11] + f[12]))
}

stop() {
  [[ -n $pid ]] || return 0
  local rest
  rest=$(descendants "$pid")
  python3 tests/desktop/x11.py close "$pid" Streamscope >/dev/null 2>&1 || true
  timeout 10 tail --pid="$pid" -f /dev/null 2>/dev/null || kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for p in $rest; do kill -9 "$p" 2>/dev/null || true; done
  pid=
}
trap 'stop; rm -rf "$home"' EXIT

[[ -x $APP ]] || { echo "idle: $APP is not built" >&2; exit 1; }
echo "app: $APP"
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
"$APP" 2>"$home/app.log" &
pid=$!
# The page lives in WebKit's web process, which starts once the window loads the UI.
for _ in $(seq 300); do
  for p in $(descendants "$pid"); do
    [[ $(<"/proc/$p/comm") == WebKitWebProces* ]] 2>/dev/null && break 2
  done
  sleep 0.1
done
sleep "$SETTLE"
kill -0 "$pid" 2>/dev/null || { echo "idle: the app exited during start-up" >&2; cat "$home/app.log" >&2; exit 1; }

procs=("$pid" $(descendants "$pid"))
hz=$(getconf CLK_TCK)
declare -A before=() tbefore=()
for p in "${procs[@]}"; do
  before[$p]=$(ticks "/proc/$p")
  if [[ ${THREADS:-0} == 1 ]]; then
    for t in /proc/"$p"/task/*; do tbefore[$t]=$(ticks "$t"); done
  fi
done
t0=${EPOCHREALTIME/./}
sleep "$SECS"
t1=${EPOCHREALTIME/./}
kill -0 "$pid" 2>/dev/null || { echo "idle: the app exited while measured" >&2; exit 1; }
span_us=$((t1 - t0))

# cores = ticks / hz / seconds, printed with three decimals.
cores() { printf '%d.%03d' $(($1 * 1000000000 / hz / span_us / 1000)) $(($1 * 1000000000 / hz / span_us % 1000)); }

echo "measured $((span_us / 1000)) ms, $SETTLE s after launch; cores used (utime+stime):"
total=0
for p in "${procs[@]}"; do
  now=$(ticks "/proc/$p")
  [[ -n $now && -n ${before[$p]} ]] || continue
  used=$((now - before[$p]))
  total=$((total + used))
  name=$(<"/proc/$p/comm")
  printf '  %-22s pid %-7s %s cores (%d ticks)\n' "$name" "$p" "$(cores "$used")" "$used"
  if [[ ${THREADS:-0} == 1 ]]; then
    for t in /proc/"$p"/task/*; do
      tn=$(ticks "$t")
      [[ -n $tn && -n ${tbefore[$t]:-} ]] || continue
      d=$((tn - tbefore[$t]))
      if ((d > 0)); then printf '      %6d ticks  %s\n' "$d" "$(<"$t/comm")"; fi
    done | sort -rn | head -8 || true
  fi
done
echo "  all together: $(cores "$total") cores"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
