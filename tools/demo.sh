#!/bin/sh
# make demo: the main job on a bundled example.  Trace examples/leaky.py
# with the runner (snapshots on a schedule and at exit), then read the
# files with tmtool: the top allocation sites of the last snapshot, and
# what grew between the first and the last.
set -eu
VENV=${VENV:-.venv}
BUILD=${BUILD:-build}
OUT=${OUT:-demo-out}
TMTOOL="$BUILD/src/cli/tmtool"
export PYTHONPATH="$BUILD/src/tracer:src/tracer${PYTHONPATH:+:$PYTHONPATH}"

rm -rf "$OUT"
mkdir -p "$OUT"
echo "\$ python -m tmtrace run --delay 1 --output $OUT examples/leaky.py"
"$VENV/bin/python" -m tmtrace run --delay 1 --output "$OUT" examples/leaky.py

first=$(ls "$OUT"/*.tms | head -n 1)
last=$(ls "$OUT"/*.tms | tail -n 1)
echo
echo "\$ tmtool top -n 5 $last"
"$TMTOOL" top -n 5 "$last"
echo
echo "\$ tmtool diff -n 5 --growth-only $first $last"
"$TMTOOL" diff -n 5 --growth-only "$first" "$last"
