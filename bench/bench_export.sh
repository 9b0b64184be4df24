#!/bin/sh
# tmtool export on 3,000,000 traces: wall and CPU time, peak RSS
# (/usr/bin/time) and output size, for pprof and for Parquet by site and by
# trace, with tracebacks of 1 and of 25 frames (the hard case: 75M frames
# written out per trace).  By hand:
#   bench/bench_export.sh BUILD_DIR [WORK_DIR]
# BUILD_DIR has src/cli/tmtool, tests/cli/mksnap and the built tracer
# (Parquet goes through `python -m tmtrace export`); PY is a Python with
# pyarrow.  The .tms files come from mksnap --synthetic (20,000 sites, as
# bench/bench_cli.sh), so the numbers are reproducible.
set -eu
build=$(cd "${1:?usage: bench_export.sh BUILD_DIR [WORK_DIR]}" && pwd)
work=${2:-/tmp/tmtool-bench}
src=$(cd "$(dirname "$0")/.." && pwd)
T=$build/src/cli/tmtool
M=$build/tests/cli/mksnap
N=${N:-3000000}
export TMTOOL_PYTHON=${PY:-python3}
export PYTHONPATH=$build/src/tracer:$src/src/tracer
mkdir -p "$work"
cd "$work"

for spec in "s1 1 1" "s25 25 1"; do
    set -- $spec
    [ -f "$1.tms" ] || "$M" --synthetic "$1.tms" "$N" "$2" 20000 "$3"
done

printf '%-28s %8s %8s %9s %12s\n' case wall_s cpu_s rss_MB bytes
row() {
    label=$1; out=$2; shift 2
    [ "$out" = - ] || rm -f "$out"
    /usr/bin/time -f "%e %U %S %M" -o time.out "$@" >/dev/null
    read -r wall user sys rss < time.out
    size=$(stat -c %s "$out" 2>/dev/null || echo 0)
    printf '%-28s %8s %8.2f %9d %12s\n' "$label" "$wall" \
        "$(echo "$user + $sys" | bc)" $((rss / 1024)) "$size"
}
for f in s1 s25; do
    row "$f: read .tms (floor)" - "$M" --load "$f.tms"
    row "$f: pprof" out.pb.gz "$T" export -q -o out.pb.gz "$f.tms"
    row "$f: parquet, row per site" site.parquet \
        "$T" export -q -o site.parquet "$f.tms"
    row "$f: parquet, row per trace" trace.parquet \
        "$T" export -q --rows trace -o trace.parquet "$f.tms"
done
