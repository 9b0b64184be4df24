#!/bin/sh
# tmtool against CPython's tracemalloc on the same 3,000,000 traces, side by
# side in one run: wall time and peak RSS (/usr/bin/time).  By hand:
#   bench/bench_cli.sh BUILD_DIR [WORK_DIR]
# BUILD_DIR has src/cli/tmtool and tests/cli/mksnap.  The .tms files come
# from mksnap --synthetic (libtms builders); the tracemalloc pickles from
# bench/tracemalloc_equiv.py with the same RNG and formulas (the totals are
# checked equal).  PY is the Python whose tracemalloc is measured.
set -eu
build=$(cd "${1:?usage: bench_cli.sh BUILD_DIR [WORK_DIR]}" && pwd)
work=${2:-/tmp/tmtool-bench}
here=$(cd "$(dirname "$0")" && pwd)
T=$build/src/cli/tmtool
M=$build/tests/cli/mksnap
PY=${PY:-python3}
N=${N:-3000000}
mkdir -p "$work"
cd "$work"

for spec in "s1 1 1 100" "s1b 1 2 110" "s25 25 1 100" "s25b 25 2 110"; do
    set -- $spec
    [ -f "$1.tms" ] || "$M" --synthetic "$1.tms" "$N" "$2" 20000 "$3" "$4"
    [ -f "$1.pickle" ] || "$PY" "$here/tracemalloc_equiv.py" make "$1.pickle" "$N" "$2" 20000 "$3" "$4" >/dev/null
done

# one measurement: label, then the command; prints "seconds KB"
measure() {
    /usr/bin/time -f "%e %M" -o "$work/time.out" "$@" >/dev/null
    cat "$work/time.out"
}

row() { # name, tmtool cmd..., --, python cmd...
    name=$1; shift
    a=""; while [ "$1" != "--" ]; do a="$a '$1'"; shift; done; shift
    t=$(eval measure $a); p=$(measure "$@")
    set -- $t $p
    awk -v n="$name" -v ts="$1" -v tk="$2" -v ps="$3" -v pk="$4" 'BEGIN {
        printf "%-26s %8.2f s %8.1f MiB %8.2f s %8.1f MiB %7.1fx %7.1fx\n",
               n, ts, tk/1024, ps, pk/1024, ps/(ts>0?ts:0.005), pk/tk }'
}

floor() {
    name=$1; shift
    set -- $(measure "$@")
    awk -v n="$name" -v ts="$1" -v tk="$2" 'BEGIN {
        printf "%-26s %8.2f s %8.1f MiB\n", n, ts, tk/1024 }'
}

printf "%-26s %21s %21s %16s\n" "" "tmtool" "tracemalloc" "ratio (time, RSS)"
for f in s1 s25; do
    fr=$([ $f = s1 ] && echo 1 || echo 25)
    row "top by line, $fr fr" "$T" top -q "$f.tms" -- "$PY" "$here/tracemalloc_equiv.py" top "$f.pickle" lineno
    row "top by traceback, $fr fr" "$T" top -q --group-by traceback "$f.tms" -- "$PY" "$here/tracemalloc_equiv.py" top "$f.pickle" traceback
    row "diff by line, $fr fr" "$T" diff -q "$f.tms" "${f}b.tms" -- "$PY" "$here/tracemalloc_equiv.py" diff "$f.pickle" "${f}b.pickle"
    row "diff by traceback, $fr fr" "$T" diff -q --group-by traceback "$f.tms" "${f}b.tms" -- "$PY" "$here/tracemalloc_equiv.py" diff "$f.pickle" "${f}b.pickle" traceback
    floor "floor: load all, $fr fr" "$M" --load "$f.tms"
    floor "floor: load no traces, $fr fr" "$M" --load "$f.tms" skip
done
echo "floor = libtms tms_snapshot_load alone (decompress + decode), no analysis:"
echo "the least a top by address or with filters (load all) or by line (no"
echo "traces) can cost; by traceback and cumulative stream the traces into"
echo "per-traceback totals and store none"
