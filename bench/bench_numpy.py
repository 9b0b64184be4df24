"""A numpy workload, traced and not, side by side in one run (by hand).

Each variant runs in a fresh interpreter: untraced, CPython's tracemalloc
(1 frame), tmtrace (1 frame).  The workload makes and drops many arrays
of a few sizes (every one reported through PyTraceMalloc_Track and
Untrack), so it is the worst case of the extension-block wrappers.
Reported: best-of --repeat wall and CPU time, as ratios to untraced, and
what each tracer reports traced right after `np.ones(25_000_000)`
(200 MB of array data).

    PYTHONPATH=build/src/tracer:src/tracer python bench/bench_numpy.py
"""
import argparse
import json
import subprocess
import sys
import time

VARIANTS = ["untraced", "tracemalloc", "tmtrace"]


def workload(scale):
    import numpy as np
    keep = []
    for i in range(scale):
        a = np.arange(i % 5000 + 10, dtype=np.float64)
        b = a * 2.0 + 1.0          # two temporaries
        c = np.concatenate([a, b])
        c.sort()
        if i % 50 == 0:
            keep.append(c[::3].copy())
        if len(keep) > 200:
            del keep[:100]
    return len(keep)


def child(variant, scale):
    import numpy as np
    if variant == "tracemalloc":
        import tracemalloc
        tracemalloc.start(1)
        traced = tracemalloc.get_traced_memory
    elif variant == "tmtrace":
        import tmtrace
        tmtrace.enable()
        traced = tmtrace.get_traced_memory
    else:
        traced = None
    t0, c0 = time.perf_counter(), time.process_time()
    workload(scale)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    big = None
    if traced is not None:
        m0 = traced()[0]
        a = np.ones(25_000_000)
        big = traced()[0] - m0
        del a
    print(json.dumps({"wall": wall, "cpu": cpu, "big": big}))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--scale", type=int, default=20000)
    p.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
        return
    best = {}
    for _ in range(args.repeat):  # interleaved: load shifts hit all alike
        for v in VARIANTS:
            out = subprocess.run([sys.executable, __file__, "--child", v,
                                  str(args.scale)], check=True, text=True,
                                 capture_output=True).stdout
            r = json.loads(out)
            if v not in best or r["cpu"] < best[v]["cpu"]:
                best[v] = r
    base = best["untraced"]
    print("%-12s %9s %9s %7s %7s %14s" % ("variant", "wall s", "cpu s", "wall x",
                                          "cpu x", "np.ones(25e6)"))
    for v in VARIANTS:
        r = best[v]
        big = "-" if r["big"] is None else "%.1f MB" % (r["big"] / 1e6)
        print("%-12s %9.3f %9.3f %7.2f %7.2f %14s" % (
            v, r["wall"], r["cpu"], r["wall"] / base["wall"],
            r["cpu"] / base["cpu"], big))


if __name__ == "__main__":
    main()
