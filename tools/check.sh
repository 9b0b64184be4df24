#!/bin/sh
# make check: every suite, then a one-line total that CI reads.
#   1. the main build's tests (meson test: c, format, python, cli suites)
#   2. the same suites built with ASan+UBSan
#   3. the C unit tests under valgrind
#   4. the tracer's suite on every other CPython 3.9-3.13 that is installed
set -u
VENV=${VENV:-.venv}
BUILD=${BUILD:-build}
MESON="$VENV/bin/meson"
passed=0 failed=0 skipped=0
log() { printf '\n=== check: %s\n' "$*"; }

# Add meson's counts from one run's log to the totals.  Meson appends a
# wrapper's name to the log's base name (check-4-valgrind.json), so the
# log is found by prefix; no log at all counts as a failure.
tally() {  # build-dir log-base
    eval "$("$VENV/bin/python" - "$1/meson-logs" "$2" <<'PY'
import glob, json, os, sys
ok = bad = skip = 0
logs = glob.glob(os.path.join(sys.argv[1], sys.argv[2] + ".json")) + \
       glob.glob(os.path.join(sys.argv[1], sys.argv[2] + "-*.json"))
if not logs:
    bad += 1
for path in logs:
    for line in open(path):
        r = json.loads(line)["result"]
        if r in ("OK", "EXPECTEDFAIL"): ok += 1
        elif r == "SKIP": skip += 1
        else: bad += 1
print(f"passed=$((passed+{ok})) failed=$((failed+{bad})) skipped=$((skipped+{skip}))")
PY
)"
}

# Each run logs under its own name (a --wrapper would otherwise rename the
# log), and a failing meson counts even if its log says otherwise.
run=0
run_suites() {  # build-dir [meson test args...]
    dir=$1; shift
    run=$((run+1))
    rm -f "$dir/meson-logs/check-$run".* "$dir/meson-logs/check-$run"-*
    if "$MESON" test -C "$dir" --print-errorlogs --logbase "check-$run" "$@"; then
        tally "$dir" "check-$run"
    else
        before=$failed
        tally "$dir" "check-$run"
        [ "$failed" -gt "$before" ] || failed=$((failed+1))
    fi
}

log "tests ($BUILD)"
run_suites "$BUILD"

log "ASan+UBSan (build-asan)"
if [ ! -f build-asan/build.ninja ]; then
    "$MESON" setup build-asan -Dpython="$(pwd)/$VENV/bin/python" \
        -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug >/dev/null
fi
"$MESON" compile -C build-asan >/dev/null || { echo "check: asan build failed"; failed=$((failed+1)); }
# The interpreter is not built with ASan: preload the runtime for the
# extension's tests; CPython's own allocations are not leaks of ours.
ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)" \
    run_suites build-asan --suite python
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_suites build-asan --no-suite python

log "valgrind (C unit tests)"
if command -v valgrind >/dev/null 2>&1; then
    run_suites "$BUILD" --suite c --wrapper \
        'valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite'
fi

log "fuzzing (libFuzzer, 2 targets x 30 s, seeded with format/vectors)"
# tests/fuzz/run.sh builds build-fuzz with clang (bootstrap installs it).
fuzz_rc=0
VENV="$VENV" MESON="$MESON" sh tests/fuzz/run.sh 30 || fuzz_rc=$?
case $fuzz_rc in
    0) passed=$((passed+1)) ;;
    77) echo "check: clang missing: fuzzing skipped"; skipped=$((skipped+1)) ;;
    *) failed=$((failed+1)) ;;
esac

log "tracer on other CPython versions"
pyroot=$(pyenv root 2>/dev/null || echo /nonexistent)
for v in 3.9 3.10 3.12 3.13; do
    exe=""
    for cand in "$pyroot"/versions/$v.*/bin/python$v; do
        [ -x "$cand" ] && exe=$cand
    done
    [ -n "$exe" ] || exe=$(command -v "python$v" 2>/dev/null || true)
    if [ -z "$exe" ]; then
        echo "check: python$v not installed: skipped"
        skipped=$((skipped+1))
        continue
    fi
    venv=".venv-py$v"
    [ -x "$venv/bin/python" ] || "$exe" -m venv "$venv"
    "$venv/bin/python" -c 'import pytest, zstandard, numpy' 2>/dev/null ||
        "$venv/bin/python" -m pip install -q --disable-pip-version-check pytest zstandard numpy
    dir="build-py$v"
    [ -f "$dir/build.ninja" ] ||
        "$MESON" setup "$dir" -Dpython="$(pwd)/$venv/bin/python" -Dcli=disabled -Ddocs=false \
            --buildtype=release >/dev/null  # -O3: the warnings a pip build sees
    if "$MESON" compile -C "$dir" >/dev/null; then
        run_suites "$dir" --suite python
    else
        echo "check: build for python$v failed"; failed=$((failed+1))
    fi
done

printf '\ncheck: %d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
[ "$failed" -eq 0 ]
