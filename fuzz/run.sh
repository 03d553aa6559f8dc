#!/usr/bin/env bash
# Runs every fuzz target (or the ones named) for SECONDS each, default 60.
# Exits non-zero if any target crashes (a seed that still crashes counts), 0 otherwise.
#
#   fuzz/run.sh                 # every target, 60 s each
#   fuzz/run.sh 300             # every target, 5 minutes each
#   fuzz/run.sh 120 sse_parse   # one target
#
# Environment:
#   CARGO_TARGET_DIR   build directory (default /var/tmp/streamscope-fuzz-target)
#   FUZZ_SANITIZER     none (default; works on stable Rust) or address/leak/...
#                      (needs -Zsanitizer: this script then sets RUSTC_BOOTSTRAP=1)
#   FUZZ_ARGS          extra libFuzzer flags, e.g. "-max_len=8192"
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here" || exit 2

seconds="${1:-60}"
shift || true
case "$seconds" in
    '' | *[!0-9]*)
        echo "usage: $0 [SECONDS] [TARGET...]" >&2
        exit 2
        ;;
esac
if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    targets=()
    for f in fuzz_targets/*.rs; do
        t="$(basename "$f" .rs)"
        targets+=("$t")
    done
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/streamscope-fuzz-target}"
sanitizer="${FUZZ_SANITIZER:-none}"
if [ "$sanitizer" != none ]; then
    # cargo fuzz passes -Zsanitizer=..., a nightly-only flag; let stable accept it.
    export RUSTC_BOOTSTRAP=1
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz is not installed; installing it (takes a few minutes)..." >&2
    CARGO_TARGET_DIR=/var/tmp/cargo-fuzz-install cargo install cargo-fuzz --locked || exit 2
fi

echo "== building ${targets[*]} (sanitizer: $sanitizer, target dir: $CARGO_TARGET_DIR)"
for t in "${targets[@]}"; do
    if ! cargo fuzz build -s "$sanitizer" "$t"; then
        echo "build of $t failed" >&2
        exit 2
    fi
done

logs="$(mktemp -d "${TMPDIR:-/tmp}/streamscope-fuzz.XXXXXX")"
failed=()
summary=()
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    seeds=()
    [ -d "seeds/$t" ] && seeds=("seeds/$t")
    log="$logs/$t.log"
    echo "== fuzzing $t for ${seconds}s (log: $log)"
    # The first corpus directory receives new inputs (git-ignored); seeds are only read.
    # shellcheck disable=SC2086
    cargo fuzz run -s "$sanitizer" "$t" "corpus/$t" "${seeds[@]}" -- \
        -max_total_time="$seconds" -print_final_stats=1 ${FUZZ_ARGS:-} >"$log" 2>&1
    rc=$?
    execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
    if [ "$rc" -eq 0 ]; then
        summary+=("$t: ok, ${execs:-?} executions in ${seconds}s")
    else
        failed+=("$t")
        artifact="$(grep -o "Test unit written to .*" "$log" | tail -n 1 | sed 's/Test unit written to //')"
        summary+=("$t: FAILED (exit $rc), ${execs:-?} executions; input: ${artifact:-see log}")
        # The panic message and the assertion, without the stack trace.
        grep -A 6 "panicked at" "$log" | sed "s/^/    $t | /" | head -n 12
    fi
done

echo
echo "== summary (logs in $logs)"
printf '  %s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "crashed: ${failed[*]} (reproduce: cargo fuzz run -s $sanitizer TARGET ARTIFACT; see README.md)"
    exit 1
fi
