#!/bin/sh
# tmtool flame and tmtool trend on big inputs: wall time and peak RSS
# (/usr/bin/time).  By hand:
#   bench/bench_flame_trend.sh BUILD_DIR [WORK_DIR]
# BUILD_DIR has src/cli/tmtool and tests/cli/mksnap.  Inputs come from
# mksnap --synthetic (as bench/bench_cli.sh): 3,000,000 traces with 1 and
# 25 frames (20,000 sites), and a series of 100 files of 300,000 traces
# with 25 frames whose sizes grow from file to file.
#   N=3000000 traces per big file; SERIES_N=300000 traces per series file
set -eu
build=$(cd "${1:?usage: bench_flame_trend.sh BUILD_DIR [WORK_DIR]}" && pwd)
work=${2:-/tmp/tmtool-bench-flame}
T=$build/src/cli/tmtool
M=$build/tests/cli/mksnap
N=${N:-3000000}
SERIES_N=${SERIES_N:-300000}
mkdir -p "$work/series"
cd "$work"

for spec in "s1 1 100" "s25 25 100" "s25b 25 110"; do
    set -- $spec
    [ -f "$1.tms" ] || "$M" --synthetic "$1.tms" "$N" "$2" 20000 1 "$3"
done
i=0
while [ $i -lt 100 ]; do
    f=series/p$(printf %03d $i).tms
    [ -f "$f" ] || "$M" --synthetic "$f" "$SERIES_N" 25 20000 1 $((100 + i))
    i=$((i + 1))
done

# label, then the command (its stdout is discarded); prints wall time,
# CPU time (user + sys: steadier than wall time on a loaded machine) and
# peak RSS
measure() {
    label=$1; shift
    /usr/bin/time -f "%e %U %S %M" -o "$work/time.out" "$@" >/dev/null
    set -- $(cat "$work/time.out")
    awk -v n="$label" -v s="$1" -v c="$(echo "$2 $3" | awk '{print $1 + $2}')" \
        -v k="$4" 'BEGIN {
        printf "%-44s %8.2f s %8.2f s %8.1f MiB\n", n, s, c, k / 1024 }'
}

printf "%-44s %10s %10s %12s\n" "" "wall" "CPU" "peak RSS"
measure "floor: load s25 (all traces)" "$M" --load s25.tms
measure "flame html, 3M traces, 1 frame" "$T" flame -q s1.tms -o s1.html
measure "flame collapsed, 3M traces, 1 frame" "$T" flame -q --format collapsed s1.tms
measure "flame html, 3M traces, 25 frames" "$T" flame -q s25.tms -o s25.html
measure "flame collapsed, 3M traces, 25 frames" "$T" flame -q --format collapsed s25.tms
measure "trend by line, 2 x 3M traces" "$T" trend -q s25.tms s25b.tms
measure "trend by traceback, 2 x 3M traces" "$T" trend -q --group-by traceback s25.tms s25b.tms
measure "floor: load 100 files without traces" sh -c "for f in series/*.tms; do '$M' --load \$f skip; done"
measure "trend by line, 100 x 300k traces" sh -c "'$T' trend -q series/*.tms"
measure "trend by traceback, 100 x 300k traces" sh -c "'$T' trend -q --group-by traceback series/*.tms"
measure "trend json -n 0, 100 x 300k traces" sh -c "'$T' trend -q --format json -n 0 series/*.tms"
ls -l s1.html s25.html | awk '{ printf "%s: %.1f MB\n", $NF, $5 / 1e6 }'
