"""What the runner's defaults cost (run by hand): frames per traceback and
whether every trace is stored, side by side in one run.

Each variant runs `python -m tmtrace run [options] <workload>` in a fresh
process, interleaved (variant A, B, C, A, B, C, ...), best of --repeat:
wall time of the whole run (start-up, tracing, the final snapshot and its
write; no schedule, so every variant writes one file), peak RSS, and the bytes of .tms written.  Workloads:

  alloc  bench/workloads.py's allocation-heavy loop (json, dicts, strings)
  live   builds 1,000,000 small tuples and strings with --threshold 64MiB:
         each scheduled snapshot holds up to two million traces (the
         worst case for --traces)

With --callgrind, each variant runs once under valgrind's callgrind and
the instruction count is reported instead (stable on a loaded machine):

    PYTHONPATH=build/src/tracer:src/tracer python bench/bench_runner_defaults.py \
        --callgrind --alloc-scale 5000 --live-count 200000

    PYTHONPATH=build/src/tracer:src/tracer python bench/bench_runner_defaults.py
"""
import argparse
import glob
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

VARIANTS = [
    ("untraced", None),
    ("1 frame, stats only (old default)", ["--nframe", "1", "--no-traces"]),
    ("10 frames, stats only", ["--nframe", "10", "--no-traces"]),
    ("1 frame, traces", ["--nframe", "1", "--traces"]),
    ("10 frames, traces (new default)", ["--nframe", "10", "--traces"]),
    ("25 frames, traces", ["--nframe", "25", "--traces"]),
]

LIVE = """\
keep = [("item", i, str(i)) for i in range(%d)]
"""

ALLOC = """\
import sys
sys.path.insert(0, %r)
import workloads
workloads.work_alloc(%d)
"""


EXTRA = {"alloc": [], "live": ["--threshold", "64MiB"]}


def instructions(options, script, workdir, threshold):
    """Instructions of one run under callgrind: a count that does not move
    with the machine's load."""
    out = tempfile.mkdtemp(dir=workdir)
    cmd = command(options, script, out)
    if options is not None and "--threshold" in cmd:
        cmd[cmd.index("--threshold") + 1] = threshold
    res = subprocess.run(["valgrind", "--tool=callgrind",
                          "--callgrind-out-file=/dev/null"] + cmd,
                         capture_output=True, text=True)
    for line in res.stderr.splitlines():
        if "Collected :" in line:
            size = sum(os.path.getsize(f)
                       for f in glob.glob(os.path.join(out, "*.tms")))
            return int(line.split(":")[-1]), size
    raise SystemExit("callgrind failed: %s" % res.stderr[-2000:])


def command(options, script, out):
    if options is None:
        return [sys.executable, script]
    workload = os.path.splitext(os.path.basename(script))[0]
    return ([sys.executable, "-m", "tmtrace", "run", "-o", out]
            + EXTRA[workload] + options + [script])


def one(options, script, workdir):
    out = tempfile.mkdtemp(dir=workdir)
    cmd = command(options, script, out)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit("%s failed: %s" % (cmd, proc.stderr))
    files = glob.glob(os.path.join(out, "*.tms"))
    return wall, sum(os.path.getsize(f) for f in files), len(files)


def rss_of(options, script, workdir):
    # Peak RSS of one run: a wrapper process runs it and reports its
    # children's maxrss (getrusage), so this process's own RSS is not in it.
    out = tempfile.mkdtemp(dir=workdir)
    cmd = command(options, script, out)
    probe = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], "
             "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, "
             "check=True); print(resource.getrusage("
             "resource.RUSAGE_CHILDREN).ru_maxrss)")
    res = subprocess.run([sys.executable, "-c", probe] + cmd,
                         capture_output=True, text=True, check=True)
    return int(res.stdout.split()[-1]) * 1024


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--alloc-scale", type=int, default=20000)
    p.add_argument("--live-count", type=int, default=1_000_000)
    p.add_argument("--callgrind", action="store_true",
                   help="count instructions under valgrind instead of timing "
                        "(try --alloc-scale 5000 --live-count 200000; the "
                        "live workload then uses --threshold 8MiB)")
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        scripts = {"alloc": os.path.join(workdir, "alloc.py"),
                   "live": os.path.join(workdir, "live.py")}
        with open(scripts["alloc"], "w") as f:
            f.write(ALLOC % (HERE, a.alloc_scale))
        with open(scripts["live"], "w") as f:
            f.write(LIVE % a.live_count)
        print("python %s" % sys.version.split()[0])
        if a.callgrind:
            for workload in ("alloc", "live"):
                print("\nworkload %s: instructions (callgrind), .tms bytes"
                      % workload)
                base = None
                for name, options in VARIANTS:
                    n, size = instructions(options, scripts[workload],
                                           workdir, "8MiB")
                    base = base or n
                    print("%-36s %14d %6.2f %10d" % (name, n, n / base, size))
            return
        for workload in ("alloc", "live"):
            best = {name: None for name, _ in VARIANTS}
            for _ in range(a.repeat):
                for name, options in VARIANTS:
                    r = one(options, scripts[workload], workdir)
                    if best[name] is None or r[0] < best[name][0]:
                        best[name] = r
            rss = {name: rss_of(options, scripts[workload], workdir)
                   for name, options in VARIANTS}
            base = best["untraced"][0]
            print("\nworkload %s, best of %d (wall time of the whole run)"
                  % (workload, a.repeat))
            print("%-36s %8s %6s %9s %10s %6s" % ("variant", "time s", "x",
                                                  "peak RSS", ".tms bytes",
                                                  "files"))
            for name, _ in VARIANTS:
                wall, size, n = best[name]
                print("%-36s %8.2f %6.2f %7.1fMB %10d %6d" % (
                    name, wall, wall / base, rss[name] / 2 ** 20, size, n))


if __name__ == "__main__":
    main()
