#!/bin/sh
# make demo: trace examples/leaky.py, write snapshots, show what exists.
set -eu
BUILD=${BUILD:-build}
echo "demo: the tracer and tmtool are still being built; tmtool says:"
"$BUILD/src/cli/tmtool" --version
