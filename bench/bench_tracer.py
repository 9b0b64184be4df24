"""Tracer overhead, side by side in one run (run by hand, never in CI).

Every run is a fresh interpreter. Variants: untraced; CPython's
tracemalloc at 1 and 25 frames; tmtrace at 1 and 25 frames; tmtrace
sampling by bytes ("tm-sample", set_sampling, mean interval --sample,
default 512 KiB) at 1 and 25 frames; and memray tracing pymalloc's
allocations too (Tracker(trace_python_allocators=True), what
`memray run --trace-python-allocators` does; full Python stacks; its file
goes to a temporary directory removed afterwards) when memray is
installed. memray is a bench-only dependency: without it the bench says
how to install it and goes on. tracemalloc at 25 frames costs 20-50x, so
on the big workloads `--variants tracemalloc:1,tmtrace,tm-sample,memray`
(NAME or NAME:FRAMES) saves most of the run.

    PYTHONPATH=build/src/tracer:src/tracer python bench/bench_tracer.py

Reported per workload and variant, as ratios to untraced: the CPU time of
the workload (tracer start-up and shutdown excluded, the same for every
variant), as the median over the rounds with the spread (min-max), and the
peak RSS of the process (median over the rounds). The rounds are
interleaved, each in a rotated order, and each ratio is taken against the
untraced run of the same round, so a machine whose load changes slows a
round's runs alike. --json FILE also writes every run.

Workloads (bench/workloads.py; --workloads NAME[:SCALE],...): raytrace,
deepcopy and pickle after pyperformance's benchmarks of those names (many
small short-lived objects, the best case for a tracer); alloc (json, dicts,
strings, at most 2,000 documents live); docs (the same, every document kept
live: 60,000 make a heap of 1.75 M blocks); stdlib (ast, difflib, re, csv);
grow (every allocation a new peak); churn (SCALE tuples stay live, 2 *
SCALE blocks, while 2 * SCALE dicts come and go: the worst case for a
trace table; run at 1 M and 5 M by default).

--callgrind counts instructions instead (valgrind's callgrind, one run per
variant, minus a run at scale 0 for the interpreter's start-up): slow, so
give small scales; the counts do not move with the machine's load.

--baseline DIR adds "tmtrace-base" and "tm-sample-base" at 1 and 25
frames: the tmtrace imported from DIR (a PYTHONPATH, e.g. a build of an
older commit).
"""
import argparse
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import workloads

DEFAULT_SCALES = {"raytrace": 200, "deepcopy": 2000, "pickle": 400,
                  "alloc": 60000, "docs": 60000, "stdlib": 60, "grow": 300000,
                  "churn": 1000000}
DEFAULT_WORKLOADS = ("raytrace,deepcopy,pickle,alloc,docs,stdlib,"
                     "churn:1000000,churn:5000000")
MEMRAY_HINT = ("memray is not installed for %s, so its rows are left out. "
               "To add them, in a venv of the bench's own: python -m venv "
               ".venv-bench && .venv-bench/bin/pip install memray, then run "
               "the bench with .venv-bench/bin/python")


def start_tracer(tracer, limit):
    """Start the tracer a child measures; returns what stops it."""
    if tracer == "tracemalloc":
        import tracemalloc
        tracemalloc.start(limit)
    elif tracer.startswith("tmtrace"):
        import tmtrace
        if tracer.startswith("tmtrace@"):
            tmtrace.set_sampling(int(tracer[8:]))
        tmtrace.set_traceback_limit(limit)
        tmtrace.enable()
    elif tracer == "memray":
        import memray
        tmp = tempfile.mkdtemp(prefix="bench-memray-")
        tracker = memray.Tracker(os.path.join(tmp, "out.bin"),
                                 trace_python_allocators=True)
        tracker.__enter__()

        def stop():
            try:
                tracker.__exit__(None, None, None)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        return stop
    return None


def child(tracer, limit, workload, scale):
    fn = workloads.WORKLOADS[workload]
    stop = start_tracer(tracer, limit)
    try:
        t0 = time.perf_counter()
        c0 = time.process_time()
        fn(scale)
        cpu = time.process_time() - c0
        dt = time.perf_counter() - t0
    finally:
        if stop:
            stop()
    import resource
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


def child_env(pythonpath):
    return None if pythonpath is None else dict(os.environ,
                                                PYTHONPATH=pythonpath)


def run(args, pythonpath=None, prefix=()):
    out = subprocess.run(list(prefix) + [sys.executable, __file__] + args,
                         env=child_env(pythonpath), capture_output=True,
                         text=True)
    if out.returncode != 0:
        sys.exit("bench_tracer: a child failed (%s):\n%s"
                 % (" ".join(args), out.stderr[-2000:]))
    return json.loads(out.stdout.strip().splitlines()[-1])


def callgrind_ir(args, pythonpath):
    """Instructions a child executes, from callgrind's totals."""
    with tempfile.TemporaryDirectory(prefix="bench-cg-") as tmp:
        path = os.path.join(tmp, "cg.out")
        run(args, pythonpath, ["valgrind", "--tool=callgrind", "-q",
                               "--callgrind-out-file=" + path])
        with open(path) as f:
            m = re.search(r"^(?:summary|totals): (\d+)", f.read(), re.M)
    if not m:
        sys.exit("bench_tracer: no instruction total in callgrind's output")
    return int(m.group(1))


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def parse_workloads(spec, scales):
    out = []
    for item in spec.split(","):
        name, _, scale = item.partition(":")
        if name not in workloads.WORKLOADS:
            sys.exit("bench_tracer: unknown workload %r (known: %s)"
                     % (name, ", ".join(workloads.WORKLOADS)))
        try:
            out.append((name, int(scale) if scale else scales[name]))
        except ValueError:
            sys.exit("bench_tracer: bad scale in %r" % item)
    return out


def choose_variants(a):
    variants = [("untraced", "none", 0, None),
                ("tracemalloc", "tracemalloc", 1, None),
                ("tracemalloc", "tracemalloc", 25, None),
                ("tmtrace", "tmtrace", 1, None),
                ("tmtrace", "tmtrace", 25, None),
                ("tm-sample", "tmtrace@%d" % a.sample, 1, None),
                ("tm-sample", "tmtrace@%d" % a.sample, 25, None),
                ("memray", "memray", 0, None)]
    if a.baseline:
        variants += [("tmtrace-base", "tmtrace", 1, a.baseline),
                     ("tmtrace-base", "tmtrace", 25, a.baseline),
                     ("tm-sample-base", "tmtrace@%d" % a.sample, 1,
                      a.baseline),
                     ("tm-sample-base", "tmtrace@%d" % a.sample, 25,
                      a.baseline)]
    if a.variants:              # NAME or NAME:FRAMES
        keep = [k.partition(":")[::2] for k in a.variants.split(",")]
        unknown = {k for k, _ in keep} - {v[0] for v in variants}
        if unknown:
            sys.exit("bench_tracer: unknown variant(s) %s"
                     % ", ".join(sorted(unknown)))
        variants = [v for v in variants if v[0] == "untraced" or any(
            k == v[0] and f in ("", str(v[2])) for k, f in keep)]
    if any(v[0] == "memray" for v in variants) and \
            importlib.util.find_spec("memray") is None:
        print(MEMRAY_HINT % sys.executable)
        variants = [v for v in variants if v[0] != "memray"]
    return variants


def frames_label(v):
    return "all" if v[1] == "memray" else (str(v[2]) if v[2] else "-")


def measure(variants, name, scale, rounds):
    runs = [[] for _ in variants]
    for r in range(rounds):     # interleaved, each round in a rotated order
        order = list(range(len(variants)))
        order = order[r % len(order):] + order[:r % len(order)]
        for i in order:
            v = variants[i]
            runs[i].append(run(["--child", v[1], str(v[2]), name,
                                str(scale)], v[3]))
    rows = []
    for i, v in enumerate(variants):
        cpu_x = [runs[i][r]["cpu"] / runs[0][r]["cpu"] for r in range(rounds)]
        rss_x = [runs[i][r]["rss"] / runs[0][r]["rss"] for r in range(rounds)]
        rows.append({"variant": v[0], "frames": frames_label(v),
                     "runs": runs[i],
                     "cpu": median([x["cpu"] for x in runs[i]]),
                     "cpu_x": median(cpu_x), "cpu_x_min": min(cpu_x),
                     "cpu_x_max": max(cpu_x),
                     "rss": median([x["rss"] for x in runs[i]]),
                     "rss_x": median(rss_x)})
    return rows


def print_rows(rows):
    print("%-12s %6s %8s %7s %13s %9s %6s" % (
        "variant", "frames", "cpu s", "cpu x", "min-max", "peak RSS", "x"))
    for r in rows:
        print("%-12s %6s %8.3f %7.2f %6.2f-%-6.2f %7.1fMB %6.2f" % (
            r["variant"], r["frames"], r["cpu"], r["cpu_x"], r["cpu_x_min"],
            r["cpu_x_max"], r["rss"] / 2 ** 20, r["rss_x"]))


def measure_callgrind(variants, name, scale):
    rows = []
    for v in variants:
        args = ["--child", v[1], str(v[2]), name]
        ir = callgrind_ir(args + [str(scale)], v[3]) - \
            callgrind_ir(args + ["0"], v[3])
        rows.append({"variant": v[0], "frames": frames_label(v), "ir": ir,
                     "ir_x": ir / rows[0]["ir"] if rows else 1.0})
        print("%-12s %6s %14d %7.2f" % (v[0], rows[-1]["frames"], ir,
                                         rows[-1]["ir_x"]), flush=True)
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3, metavar="ROUNDS",
                   help="interleaved rounds (default 3)")
    p.add_argument("--workloads", default=DEFAULT_WORKLOADS,
                   help="NAME[:SCALE],... (default %(default)s; names: "
                        + ", ".join(workloads.WORKLOADS) + ")")
    for name, scale in DEFAULT_SCALES.items():
        p.add_argument("--%s-scale" % name, type=int, default=scale,
                       help="scale of %s when none is given (default "
                            "%%(default)s)" % name)
    p.add_argument("--sample", type=int, nargs="?", const=524288,
                   default=524288, metavar="BYTES",
                   help="tm-sample's mean interval (default %(default)s)")
    p.add_argument("--variants", default=None,
                   help="comma list of variants to run besides untraced: "
                        "tracemalloc, tmtrace, tm-sample, memray, "
                        "tmtrace-base, tm-sample-base, each NAME or "
                        "NAME:FRAMES (1 or 25)")
    p.add_argument("--baseline", metavar="DIR",
                   help="PYTHONPATH of a tmtrace to compare with")
    p.add_argument("--callgrind", action="store_true",
                   help="count instructions under callgrind instead")
    p.add_argument("--json", metavar="FILE", help="also write every figure")
    p.add_argument("--export", action="store_true",
                   help="also time a snapshot export of --blocks blocks")
    p.add_argument("--no-export", action="store_true",
                   help=argparse.SUPPRESS)      # the default now
    p.add_argument("--blocks", type=int, default=3000000)
    p.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    p.add_argument("--export-child", type=int, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        tracer, limit, workload, scale = a.child
        return child(tracer, int(limit), workload, int(scale))
    if a.export_child:
        return export_child(a.export_child)
    if a.repeat < 1 or a.sample < 1:
        p.error("--repeat and --sample need a positive number")
    scales = {n: getattr(a, "%s_scale" % n) for n in DEFAULT_SCALES}
    todo = parse_workloads(a.workloads, scales)
    variants = choose_variants(a)
    load = os.getloadavg()
    print("python %s, load average %.1f %.1f %.1f, %s" % (
        sys.version.split()[0], *load,
        "instructions (callgrind)" if a.callgrind else
        "%d interleaved rounds" % a.repeat))
    report = {"python": sys.version.split()[0], "argv": sys.argv[1:],
              "loadavg": load, "sample": a.sample, "workloads": []}
    for name, scale in todo:
        print("\nworkload %s (scale %d)" % (name, scale), flush=True)
        if a.callgrind:
            rows = measure_callgrind(variants, name, scale)
        else:
            rows = measure(variants, name, scale, a.repeat)
            print_rows(rows)
        report["workloads"].append({"name": name, "scale": scale,
                                    "rows": rows})
        sys.stdout.flush()
    if a.export:
        r = run(["--export-child", str(a.blocks)])
        report["export"] = r
        print("\nexport of %d live blocks to a snapshot (with traces): %.3f s"
              % (r["traces"], r["time"]))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(report, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
