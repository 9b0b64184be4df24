#!/bin/sh
# A short libFuzzer pass over both targets, seeded with format/vectors:
#   sh tests/fuzz/run.sh [SECONDS_PER_TARGET]      (default 30)
# The first run configures build-fuzz (clang, -Dfuzz=true, ASan+UBSan) and
# builds only the two fuzz targets.  Exits non-zero on any crash, leak,
# timeout or excess memory; the input that did it is kept in
# build-fuzz/fuzz-artifacts/ (replay: build-fuzz/tests/fuzz/<target> FILE).
# New inputs go to a scratch corpus, never into the source tree.  For a
# longer run by hand: sh tests/fuzz/run.sh 3600
set -eu
cd "$(dirname "$0")/../.."
secs=${1:-30}
VENV=${VENV:-.venv}
MESON=${MESON:-$VENV/bin/meson}
[ -x "$MESON" ] || MESON=meson
if ! command -v clang >/dev/null 2>&1; then
    echo "fuzz: clang not found (tools/bootstrap.sh installs it)"
    exit 77
fi
case $VENV in
    /*) python=$VENV/bin/python ;;
    *) python=$(pwd)/$VENV/bin/python ;;
esac
if [ ! -f build-fuzz/build.ninja ]; then
    CC=clang "$MESON" setup build-fuzz -Dfuzz=true \
        -Db_sanitize=address,undefined -Db_lundef=false \
        -Dbuildtype=debugoptimized -Dtracer=disabled -Ddocs=false \
        -Dpython="$python" >/dev/null
fi
"$MESON" compile -C build-fuzz tests/fuzz/fuzz_tms_load \
    tests/fuzz/fuzz_cli_read >/dev/null
mkdir -p build-fuzz/fuzz-artifacts
status=0
for target in fuzz_tms_load fuzz_cli_read; do
    corpus=$(mktemp -d)
    log=build-fuzz/fuzz-artifacts/$target.log
    if ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
       UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
       "build-fuzz/tests/fuzz/$target" -max_total_time="$secs" \
           -max_len=65536 -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 \
           -artifact_prefix=build-fuzz/fuzz-artifacts/ \
           "$corpus" format/vectors >"$log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        echo "fuzz: $target: $runs executions in ${secs} s, no failure"
    else
        echo "fuzz: $target FAILED (see $log):"
        grep -E "ERROR|SUMMARY|Test unit written" "$log" | head -5
        status=1
    fi
    rm -rf "$corpus"
done
exit $status
