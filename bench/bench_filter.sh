#!/bin/sh
# tmtool filter on big files (issue 15 goal 3: "tmtool filter streams"):
# wall time and peak RSS (/usr/bin/time) per input, by hand:
#   bench/bench_filter.sh BUILD_DIR [WORK_DIR] [N...]
# Two kinds of input per N: mksnap --synthetic (written by
# tms_snapshot_save: chunks in address order, disjoint) and a file the
# tracer streamed with Snapshot.write_live (N tuples live: 2N traces,
# chunks sorted each on its own, so their ranges overlap and tmtool filter
# proves the addresses unique by reading the file again).  TOOL=/path
# measures another tmtool (an older build) on the same files.
set -eu
build=$(cd "${1:?usage: bench_filter.sh BUILD_DIR [WORK_DIR] [N...]}" && pwd)
work=${2:-/tmp/tmtool-bench-filter}
shift $(( $# >= 2 ? 2 : 1 ))
[ $# -gt 0 ] || set -- 1000000 5000000
T=${TOOL:-$build/src/cli/tmtool}
M=$build/tests/cli/mksnap
src=$(cd "$(dirname "$0")/.." && pwd)/src/tracer
PY=${PY:-python3}
mkdir -p "$work"
for n in "$@"; do
    [ -f "$work/syn$n.tms" ] || "$M" --synthetic "$work/syn$n.tms" "$n" 1 20000 1
    [ -f "$work/live$n.tms" ] || PYTHONPATH="$build/src/tracer:$src" "$PY" -c "
import sys, tmtrace
tmtrace.enable()
keep = [(i, i) for i in range($n)]
tmtrace.Snapshot.write_live(sys.argv[1], traces=True)" "$work/live$n.tms"
done
# wall time includes the fsyncs of the atomic write; CPU is user + sys
printf "%-22s %10s %8s %8s %12s\n" input traces wall CPU "peak RSS"
for n in "$@"; do
    for kind in syn live; do
        f="$work/$kind$n.tms"
        /usr/bin/time -f "%e %U %S %M" -o "$work/time.out" \
            "$T" filter -q --format csv "$f" -o "$work/out.tms" -x '*nothing*' \
            > "$work/sum.csv" 2>/dev/null
        traces=$(tail -1 "$work/sum.csv" | cut -d, -f3)
        set -- $(cat "$work/time.out")
        printf "%-22s %10s %7ss %7.2fs %9.1f MB\n" "$kind$n.tms" "$traces" \
            "$1" "$(echo "$2 + $3" | bc -l)" "$(echo "$4 / 1024" | bc -l)"
    done
done
rm -f "$work/out.tms" "$work/time.out" "$work/sum.csv"
