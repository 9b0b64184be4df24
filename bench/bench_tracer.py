"""Tracer overhead, side by side in one run (run by hand).

Each variant runs in a fresh interpreter: untraced, CPython's tracemalloc
at 1 and 25 frames, tmtrace at 1 and 25 frames.  Reported: wall time of
the workload and peak RSS of the process, as ratios to untraced (best of
--repeat runs for time, max RSS of the best run).  A last line times
tmtrace's snapshot export of --blocks live blocks.

    PYTHONPATH=build/src/tracer:src/tracer python bench/bench_tracer.py

--baseline DIR adds "tmtrace-base" at 1 and 25 frames: the same tmtrace
imported from DIR (a PYTHONPATH, e.g. a build of an older commit), to
measure one change side by side.  Repeats are interleaved across the
variants, so a noisy machine slows them all alike.  The "grow" workload
(growth by small blocks, then release: every allocation is a new peak)
is the hard case for peak tracking; "churn" (2 M short-lived objects
while 1 M blocks stay live, at the default scale) the hard case for the
trace table.

--sample SIZE adds "tm-sample" at 1 and 25 frames: tmtrace sampling by
bytes (set_sampling) with a mean interval of SIZE bytes (default 524288,
the production setting docs/sampling.md names).  Besides the best wall
time, the CPU time of the workload is reported as the median of the
interleaved rounds with its spread (min-max), as ratios to untraced's
median.
"""
import argparse
import json
import os
import subprocess
import sys
import time

VARIANTS = [("untraced", None, 0), ("tracemalloc", "tracemalloc", 1),
            ("tracemalloc", "tracemalloc", 25), ("tmtrace", "tmtrace", 1),
            ("tmtrace", "tmtrace", 25)]


def work_alloc(scale):
    """Allocation-heavy: json, dicts, strings, lists."""
    keep = []
    for i in range(scale):
        doc = {"id": i, "name": "item-%d" % i, "tags": ["t%d" % (i % 7)] * 5,
               "values": list(range(i % 50)), "nested": {"a": [1.5, 2.5],
                                                          "b": str(i) * 3}}
        text = json.dumps(doc)
        back = json.loads(text)
        words = text.replace('"', " ").split()
        counts = {}
        for w in words:
            counts[w] = counts.get(w, 0) + 1
        if i % 10 == 0:
            keep.append((back, counts))
        if len(keep) > 2000:
            del keep[:1000]
    return len(keep)


def work_stdlib(scale):
    """Realistic: parse, compile and diff stdlib sources, regexes, csv."""
    import ast
    import csv
    import difflib
    import io
    import re
    import textwrap
    sources = []
    for name in ("json/decoder.py", "textwrap.py", "csv.py", "difflib.py",
                 "argparse.py", "dataclasses.py"):
        path = os.path.join(os.path.dirname(os.__file__), name)
        with open(path) as f:
            sources.append(f.read())
    total = 0
    for i in range(scale):
        src = sources[i % len(sources)]
        tree = ast.parse(src)
        total += sum(1 for _ in ast.walk(tree))
        compile(tree, "<bench>", "exec")
        lines = src.splitlines()[:300]
        total += len(list(difflib.unified_diff(lines, lines[::2])))
        total += len(re.findall(r"\bdef (\w+)", src))
        out = io.StringIO()
        w = csv.writer(out)
        for line in lines[:200]:
            w.writerow(textwrap.wrap(line, 20))
        total += len(out.getvalue())
    return total


def work_grow(scale):
    """Growth by small blocks, then release: a new peak at every step."""
    total = 0
    for _ in range(3):
        keep = []
        for i in range(scale):
            keep.append({"id": i, "name": "row-%d" % i, "v": [i] * (i % 5)})
        total += len(keep)
        del keep
    return total


def work_churn(scale):
    """scale blocks stay live while 2 * scale short-lived dicts come and
    go: every allocation and free touches a big trace table."""
    live = [(i, "v") for i in range(scale)]
    total = 0
    for i in range(2 * scale):
        tmp = {"k": i}
        total += len(tmp)
    return total + len(live)


def child(tracer, limit, workload, scale):
    if tracer.startswith("tmtrace@"):
        import tmtrace
        tmtrace.set_sampling(int(tracer[8:]))
        tmtrace.set_traceback_limit(limit)
        tmtrace.enable()
    elif tracer == "tracemalloc":
        import tracemalloc
        tracemalloc.start(limit)
    elif tracer == "tmtrace":
        import tmtrace
        tmtrace.set_traceback_limit(limit)
        tmtrace.enable()
    import resource
    fn = {"alloc": work_alloc, "stdlib": work_stdlib,
          "grow": work_grow, "churn": work_churn}[workload]
    t0 = time.perf_counter()
    c0 = time.process_time()
    fn(scale)
    cpu = time.process_time() - c0
    dt = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"time": dt, "cpu": cpu, "rss": rss}))


def export_child(blocks):
    import tmtrace
    import _tmtrace
    tmtrace.enable()
    keep = [bytes(i % 200) for i in range(blocks)]
    ntraces = len(keep)
    t0 = time.perf_counter()
    data = _tmtrace.take_snapshot_data(True)
    dt = time.perf_counter() - t0
    print(json.dumps({"time": dt, "traces": ntraces, "ok": data is not None}))


def run(args, pythonpath=None):
    env = None
    if pythonpath is not None:
        env = dict(os.environ, PYTHONPATH=pythonpath)
    out = subprocess.run([sys.executable, __file__] + args, env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--alloc-scale", type=int, default=60000)
    p.add_argument("--stdlib-scale", type=int, default=60)
    p.add_argument("--grow-scale", type=int, default=300000)
    p.add_argument("--baseline", metavar="DIR",
                   help="PYTHONPATH of a tmtrace to compare with")
    p.add_argument("--churn-scale", type=int, default=1000000)
    p.add_argument("--sample", type=int, nargs="?", const=524288,
                   metavar="BYTES", help="add tmtrace sampling by bytes")
    p.add_argument("--no-export", action="store_true",
                   help="skip the export timing")
    p.add_argument("--workloads", default="alloc,stdlib,grow,churn")
    p.add_argument("--variants", default=None,
                   help="comma list of tracer names to run (e.g. "
                        "untraced,tmtrace,tmtrace-base,tm-sample)")
    p.add_argument("--blocks", type=int, default=3000000)
    p.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    p.add_argument("--export-child", type=int, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        tracer, limit, workload, scale = a.child
        return child(tracer, int(limit), workload, int(scale))
    if a.export_child:
        return export_child(a.export_child)
    print("python %s" % sys.version.split()[0])
    variants = [v + (None,) for v in VARIANTS]
    if a.baseline:
        variants += [("tmtrace-base", "tmtrace", 1, a.baseline),
                     ("tmtrace-base", "tmtrace", 25, a.baseline)]
    if a.sample:
        variants += [("tm-sample", "tmtrace@%d" % a.sample, 1, None),
                     ("tm-sample", "tmtrace@%d" % a.sample, 25, None)]
    if a.variants:
        keep = a.variants.split(",")
        variants = [v for v in variants if v[0] in keep]
    scales = {"alloc": a.alloc_scale, "stdlib": a.stdlib_scale,
              "grow": a.grow_scale, "churn": a.churn_scale}
    for workload in a.workloads.split(","):
        scale = scales[workload]
        base = None
        print("\nworkload %s (scale %d), best of %d" % (workload, scale,
                                                        a.repeat))
        print("%-12s %6s %9s %7s %10s %7s %9s %7s %13s" % (
            "tracer", "frames", "time s", "x", "peak RSS", "x", "cpu med",
            "x", "x min-max"))
        runs = {i: [] for i in range(len(variants))}
        for _ in range(a.repeat):        # interleaved: noise hits all alike
            for i, (name, tracer, limit, path) in enumerate(variants):
                runs[i].append(run(["--child", str(tracer), str(limit),
                                    workload, str(scale)], path))
        for i, (name, tracer, limit, path) in enumerate(variants):
            best = min(runs[i], key=lambda r: r["time"])
            rss = max(r["rss"] for r in runs[i])
            cpus = sorted(r["cpu"] for r in runs[i])
            med = cpus[len(cpus) // 2] if len(cpus) % 2 else \
                (cpus[len(cpus) // 2 - 1] + cpus[len(cpus) // 2]) / 2
            if base is None:
                base = (best["time"], rss, med)
            print("%-12s %6s %9.3f %7.2f %8.1fMB %7.2f %9.3f %7.2f %6.2f-%-6.2f"
                  % (name, limit or "-", best["time"], best["time"] / base[0],
                     rss / 2 ** 20, rss / base[1], med, med / base[2],
                     cpus[0] / base[2], cpus[-1] / base[2]))
    if a.no_export:
        return
    r = run(["--export-child", str(a.blocks)])
    print("\nexport of %d live blocks to a snapshot (with traces): %.3f s"
          % (r["traces"], r["time"]))


if __name__ == "__main__":
    main()
