"""Extra memory of taking and writing a snapshot of N traces (run by hand).

Issue 15 goal 3 asks for a bound whatever N.  A child process holds N
live traced blocks, resets its peak RSS (/proc/self/clear_refs 5), then
takes Snapshot.create(traces=True) and writes it ("whole"), or writes
it with Snapshot.write_live(traces=True) ("streamed": the traces go from
the live tables into the file a chunk at a time, as the task's scheduled
writes and the runner's files do); the report is the peak RSS above the
resident size before the snapshot, in MB and per trace, and the pause.

    PYTHONPATH=build/src/tracer:src/tracer python bench/bench_snapshot_memory.py \
        [--blocks 1000000,3000000] [--modes whole,streamed]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time


def rss(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    return 0


def child(n, path, mode):
    import tmtrace
    tmtrace.enable()
    keep = [(i, i) for i in range(n)]
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")   # VmHWM := VmRSS
    base = rss("VmRSS:")
    if mode == "streamed":
        return streamed(tmtrace, path, base, keep)
    t0 = time.perf_counter()
    snap = tmtrace.Snapshot.create(traces=True)
    t1 = time.perf_counter()
    snap.write(path)
    t2 = time.perf_counter()
    extra = rss("VmHWM:") - base
    ntraces = len(snap.traces)   # after the measurement: it builds a dict
    del keep
    print("whole    %9d traces: +%7.1f MB (%5.1f B/trace), create %.2f s, "
          "write %.2f s" % (ntraces, extra / 1e6, extra / ntraces, t1 - t0,
                            t2 - t1))


def streamed(tmtrace, path, base, keep):
    t0 = time.perf_counter()
    tmtrace.Snapshot.write_live(path, traces=True)
    t1 = time.perf_counter()
    extra = rss("VmHWM:") - base
    del keep
    ntraces = len(tmtrace.Snapshot.load(path).traces)
    print("streamed %9d traces: +%7.1f MB (%5.1f B/trace), write (one "
          "pause) %.2f s" % (ntraces, extra / 1e6, extra / ntraces, t1 - t0))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--blocks", default="1000000,3000000")
    p.add_argument("--modes", default="whole,streamed")
    p.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        return child(int(a.child[0]), a.child[1], a.child[2])
    with tempfile.TemporaryDirectory() as d:
        for n in a.blocks.split(","):
            for mode in a.modes.split(","):   # interleaved, side by side
                subprocess.run([sys.executable, __file__, "--child", n,
                                os.path.join(d, "s.tms"), mode], check=True)


if __name__ == "__main__":
    main()
