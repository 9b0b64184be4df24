"""Native mode's overhead, beside tmtrace's always-on mode and memray's
default mode, on a numpy, a sqlite3 and a pure-Python workload (by hand).

Variants, each in a fresh interpreter:
  untraced   no tracer
  tmtrace    tmtrace.enable(): the allocator hooks and the always-on
             PyTraceMalloc_Track interposition
  native     tmtrace.set_native(True) first: also malloc and its family
  memray     memray.Tracker(file), memray's default mode: native
             allocations (malloc interposition) with Python stacks, the
             Python allocators not traced one by one

Rounds are interleaved (every variant once per round, in a rotating
order) so the load of a shared machine falls on all alike; reported: the
median CPU time of the workload over the rounds, its spread (min-max),
and the ratio of medians to untraced.  memray is a benchmark-only
dependency: install it in the benchmark's own environment, e.g.

    python -m venv .venv-bench && .venv-bench/bin/pip install memray numpy
    PYTHONPATH=build/src/tracer:src/tracer .venv-bench/bin/python \\
        bench/bench_native.py --rounds 5

(the variants it cannot run -- no memray, no numpy -- are left out).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

VARIANTS = ["untraced", "tmtrace", "native", "memray"]
WORKLOADS = ["numpy", "sqlite", "python"]


def work_numpy(scale):
    """bench_numpy.py's workload: array temporaries, a few kept."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import bench_numpy
    return bench_numpy.workload(scale)


def work_sqlite(scale):
    import sqlite3
    con = sqlite3.connect(":memory:")
    con.execute("create table t(a integer primary key, b text, c real)")
    con.executemany("insert into t(b, c) values (?, ?)",
                    (("row %d " % i * 8, i * 0.5) for i in range(scale)))
    n = 0
    for _ in range(5):
        n += len(con.execute("select b from t where c > ? order by b limit 500",
                             (scale / 4,)).fetchall())
    con.execute("create index tb on t(b)")
    con.close()
    return n


def work_python(scale):
    keep = []
    for i in range(scale):
        d = {"k%d" % j: [j, str(j), (j, j + 1)] for j in range(8)}
        keep.append(d)
        if len(keep) > 2000:
            del keep[:1000]
    return len(keep)


WORK = {"numpy": work_numpy, "sqlite": work_sqlite, "python": work_python}


def child(variant, workload, scale):
    fn = WORK[workload]
    tracker = None
    out = None
    if workload == "numpy":
        import numpy  # noqa: F401  (imported before tracing, in every variant)
    if variant in ("tmtrace", "native"):
        import tmtrace
        if variant == "native":
            tmtrace.set_native(True)
        tmtrace.enable()
    elif variant == "memray":
        import memray
        fd, out = tempfile.mkstemp(suffix=".bin")
        os.close(fd)
        os.unlink(out)
        tracker = memray.Tracker(out)
        tracker.__enter__()
    c0, t0 = time.process_time(), time.perf_counter()
    fn(scale)
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    if tracker is not None:
        tracker.__exit__(None, None, None)
        os.unlink(out)
    print(json.dumps({"cpu": cpu, "wall": wall}))


def available(variant, workload):
    mods = {"memray": "memray", "tmtrace": "tmtrace", "native": "tmtrace"}
    need = [m for m in (mods.get(variant), "numpy" if workload == "numpy"
                        else None) if m]
    for m in need:
        r = subprocess.run([sys.executable, "-c", "import " + m],
                           capture_output=True)
        if r.returncode != 0:
            return False
    return True


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--workloads", default=",".join(WORKLOADS))
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--numpy-scale", type=int, default=6000)
    p.add_argument("--sqlite-scale", type=int, default=60000)
    p.add_argument("--python-scale", type=int, default=60000)
    p.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        child(a.child[0], a.child[1], int(a.child[2]))
        return
    scales = {"numpy": a.numpy_scale, "sqlite": a.sqlite_scale,
              "python": a.python_scale}
    print("# %s, %d rounds; CPU seconds of the workload: median [min-max], "
          "ratio of medians to untraced" % (sys.version.split()[0], a.rounds))
    for wl in a.workloads.split(","):
        vs = [v for v in a.variants.split(",") if available(v, wl)]
        cpu = {v: [] for v in vs}
        for r in range(a.rounds):
            order = vs[r % len(vs):] + vs[:r % len(vs)]
            for v in order:
                out = subprocess.run(
                    [sys.executable, __file__, "--child", v, wl,
                     str(scales[wl])], capture_output=True, text=True)
                if out.returncode != 0:
                    sys.exit("%s/%s failed:\n%s" % (wl, v, out.stderr))
                cpu[v].append(json.loads(out.stdout.splitlines()[-1])["cpu"])
        base = statistics.median(cpu["untraced"]) if "untraced" in cpu else None
        print("\n%s (scale %d)" % (wl, scales[wl]))
        print("| variant | CPU s median | spread | vs untraced |")
        print("|---|---|---|---|")
        for v in vs:
            m = statistics.median(cpu[v])
            print("| %s | %.3f | %.3f-%.3f | %s |" % (
                v, m, min(cpu[v]), max(cpu[v]),
                "%.2fx" % (m / base) if base else "-"))


if __name__ == "__main__":
    main()
