"""What a scheduled TakeSnapshotTask costs the traced program.

Run by hand, with the in-tree build on PYTHONPATH:

    PYTHONPATH=build/src/tracer:src/tracer python bench/bench_tasks.py

For 100,000 and 1,000,000 live traces (distinct small blocks from a few
lines), and traces=False/True: the pause the program sees per snapshot.
A threshold task fires on the next allocation; the pause is measured
from just before that allocation to just after it returns into the
program (so it includes the safe-point hop and the file write).  The
same pause is printed beside a direct take_snapshot() for comparison,
and the file size.
"""
import argparse
import os
import statistics
import sys
import tempfile
import time

import tmtrace


def live_traces(n):
    # Distinct blocks from three sites; bytes objects of 16..47 bytes.
    out = []
    for i in range(n):
        if i % 3 == 0:
            out.append(b"a" * (i % 32))
        elif i % 3 == 1:
            out.append(b"b" * (i % 16))
        else:
            out.append(b"c" * (i % 8))
    return out


def scheduled_pauses(directory, traces, rounds):
    task = tmtrace.TakeSnapshotTask(os.path.join(directory, "s-$counter.tms"),
                                    traces=traces, metrics=True)
    task.set_memory_threshold(1 << 20)
    task.schedule()
    pauses = []
    keep = []
    for _ in range(rounds):
        before = task.counter
        t0 = time.perf_counter()
        keep.append(bytearray(2 << 20))   # makes the task due
        (lambda: None)()                  # a safe point: the task runs here
        t1 = time.perf_counter()
        if task.counter != before + 1:
            raise SystemExit("the task did not run on the allocation: is "
                             "the hook wired to tmt_tasks_check?")
        pauses.append(t1 - t0)
        keep.pop()
        (lambda: None)()                  # the free makes it due again
    task.cancel()
    return pauses


def direct_pauses(directory, traces, rounds):
    task = tmtrace.TakeSnapshotTask(os.path.join(directory, "d-$counter.tms"),
                                    traces=traces, metrics=True)
    pauses = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        _, name = task.take_snapshot()
        pauses.append(time.perf_counter() - t0)
    return pauses, os.path.getsize(name)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print("python %s, %d rounds, median (min) ms per snapshot"
          % (sys.version.split()[0], args.rounds))
    print("%10s %7s %18s %18s %10s" % ("traces", "traces=", "scheduled pause",
                                        "direct call", "file"))
    for n in map(int, args.sizes.split(",")):
        tmtrace.enable()
        data = live_traces(n)
        for traces in (False, True):
            with tempfile.TemporaryDirectory() as directory:
                sched = scheduled_pauses(directory, traces, args.rounds)
                direct, size = direct_pauses(directory, traces, args.rounds)
            print("%10d %7s %11.1f (%4.1f) %11.1f (%4.1f) %7.0f KiB" % (
                n, traces, 1e3 * statistics.median(sched), 1e3 * min(sched),
                1e3 * statistics.median(direct), 1e3 * min(direct), size / 1024))
        del data
        tmtrace.disable()


if __name__ == "__main__":
    main()
