"""Snapshot pause: tmtrace vs CPython's tracemalloc, side by side.

A process holds N live traced blocks (default 3,000,000) allocated from
100 distinct lines; then we time
  tmtrace:     Snapshot.create(traces=True) + write()   (.tms)
  tracemalloc: take_snapshot()              + dump()    (pickle)
and report time, file size and their ratios.  Each tracer runs in its own
child process so neither sees the other's hooks.  Also times reading the
file back and grouping by line, which is what a viewer pays.

Run by hand (never from the test suite):
  PYTHONPATH=build-x/src/tracer:src/tracer python bench/bench_snapshot.py
  [--blocks 3000000] [--frames 1] [--repeat 3] [--dir /tmp]
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time

SITES = 100


KINDS = ["object()", "(i, i)", "str(i)", "[None] * (i % 7)", "b'x' * (i % 90)"]


def make_allocators():
    # One function per allocation site so traces spread over 100 lines
    # of 100 functions, and a mix of object kinds so sizes vary.
    src = "\n".join(
        "def alloc%d(i, out):\n    out.append(%s)\n"
        % (k, KINDS[k % len(KINDS)]) for k in range(SITES))
    namespace = {}
    exec(compile(src, "<bench-sites>", "exec"), namespace)
    return [namespace["alloc%d" % k] for k in range(SITES)]


def hold_blocks(n):
    # Sites in a seeded random order: neighbouring blocks come from
    # unrelated lines, as in a real heap, and no period helps the
    # compressor.  Some objects are two blocks (list items).
    rnd = random.Random(454)
    out = []
    allocators = make_allocators()
    for i in range(n):
        allocators[rnd.randrange(SITES)](rnd.randrange(1000), out)
    return out


def best_of(repeat, fn):
    times = []
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def child_tmtrace(args):
    import tmtrace
    tmtrace.set_traceback_limit(args.frames)
    tmtrace.enable()
    blocks = hold_blocks(args.blocks)
    path = os.path.join(args.dir, "bench.tms")
    res = {"traced": len(blocks)}

    def create():
        return tmtrace.Snapshot.create(traces=True, metrics=False)
    res["create"], snap = best_of(args.repeat, create)
    res["ntraces"] = snap._ntraces()
    res["write"], _ = best_of(args.repeat, lambda: snap.write(path))
    res["create_metrics"], _ = best_of(
        1, lambda: tmtrace.Snapshot.create(traces=True))
    res["size"] = os.path.getsize(path)
    del snap
    tmtrace.disable()
    del blocks
    res["load"], loaded = best_of(args.repeat,
                                  lambda: tmtrace.Snapshot.load(path))
    res["top"], top = best_of(args.repeat, lambda: loaded.top_by("line"))
    res["loaded_traces"] = loaded._ntraces()
    res["top_tb"], _ = best_of(args.repeat,
                               lambda: loaded.top_by("traceback"))
    os.unlink(path)
    return res


def child_tracemalloc(args):
    import pickle
    import tracemalloc
    tracemalloc.start(args.frames)
    blocks = hold_blocks(args.blocks)
    path = os.path.join(args.dir, "bench.pickle")
    res = {"traced": len(blocks)}
    res["create"], snap = best_of(args.repeat, tracemalloc.take_snapshot)
    res["ntraces"] = len(snap.traces)
    res["write"], _ = best_of(args.repeat, lambda: snap.dump(path))
    res["size"] = os.path.getsize(path)
    del snap
    tracemalloc.stop()
    del blocks
    res["load"], loaded = best_of(
        args.repeat, lambda: tracemalloc.Snapshot.load(path))
    res["loaded_traces"] = len(loaded.traces)
    res["top_tb"], _ = best_of(args.repeat,
                               lambda: loaded.statistics("traceback"))
    res["top"], _ = best_of(args.repeat,
                            lambda: loaded.statistics("lineno"))
    del pickle
    os.unlink(path)
    return res


def run_child(which, args):
    cmd = [sys.executable, __file__, "--child", which,
           "--blocks", str(args.blocks), "--frames", str(args.frames),
           "--repeat", str(args.repeat), "--dir", args.dir]
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--blocks", type=int, default=3_000_000)
    p.add_argument("--frames", type=int, default=1)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--dir", default=tempfile.gettempdir())
    p.add_argument("--child", choices=("tmtrace", "tracemalloc"))
    args = p.parse_args()
    if args.child:
        fn = child_tmtrace if args.child == "tmtrace" else child_tracemalloc
        print(json.dumps(fn(args)))
        return
    ours = run_child("tmtrace", args)
    theirs = run_child("tracemalloc", args)
    print("%d live blocks, traceback limit %d, best of %d, python %s"
          % (args.blocks, args.frames, args.repeat, sys.version.split()[0]))
    print("%-34s %12s %12s %8s" % ("", "tmtrace", "tracemalloc", "ratio"))
    print("%-34s %12d %12d" % ("traces in snapshot", ours["ntraces"],
                                theirs["ntraces"]))
    print("%-34s %12d %12d" % ("traces read back", ours["loaded_traces"],
                                theirs["loaded_traces"]))
    rows = [("snapshot (create / take_snapshot)", "create"),
            ("write (write / dump)", "write")]
    for label, key in rows:
        print("%-34s %10.3f s %10.3f s %7.2fx" % (
            label, ours[key], theirs[key], theirs[key] / ours[key]))
    pause_o = ours["create"] + ours["write"]
    pause_t = theirs["create"] + theirs["write"]
    print("%-34s %10.3f s %10.3f s %7.2fx" % (
        "pause: snapshot + write", pause_o, pause_t, pause_t / pause_o))
    print("%-34s %10.2f M %10.2f M %7.2fx" % (
        "file size (MiB)", ours["size"] / 2**20, theirs["size"] / 2**20,
        theirs["size"] / ours["size"]))
    print("%-34s %12.2f %12.2f" % (
        "bytes per trace", ours["size"] / ours["ntraces"],
        theirs["size"] / theirs["ntraces"]))
    print("%-34s %10.3f s %12s" % ("create with metrics=True",
                                    ours["create_metrics"], "-"))
    # top_by("line") reads the per-line stats the file keeps; "traceback"
    # groups every trace, like tracemalloc's statistics() always does.
    for label, key in [("load", "load"),
                       ("group by line (top_by/statistics)", "top"),
                       ("group by traceback (from traces)", "top_tb")]:
        print("%-34s %10.3f s %10.3f s %7.2fx" % (
            label, ours[key], theirs[key], theirs[key] / ours[key]))
    print("ratio = tracemalloc / tmtrace (higher is better for tmtrace)")


if __name__ == "__main__":
    main()
