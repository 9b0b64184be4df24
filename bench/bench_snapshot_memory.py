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


def zstd_alone(path):
    """Seconds zstd alone takes to compress the file's section payloads
    (level 3, the writer's; one call per section, best of 3): the floor
    goal 3 compares the pause with.  None without python-zstandard."""
    try:
        import zstandard
    except ImportError:
        return None
    import struct
    with open(path, "rb") as f:
        data = f.read()
    raw, p = [], 12                     # SPEC §2: preamble, then sections
    while p + 20 <= len(data):
        tag, flags, raw_len, stored_len, _ = struct.unpack_from("<4sIIII",
                                                                data, p)
        body = data[p + 20:p + 20 + stored_len]
        raw.append(zstandard.ZstdDecompressor().decompress(
            body, max_output_size=raw_len) if flags & 1 else body)
        p += 20 + stored_len
        if tag == b"END ":
            break
    best = None
    for _ in range(3):
        c = zstandard.ZstdCompressor(level=3)
        t0 = time.perf_counter()
        for b in raw:
            c.compress(b)
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
    return best, sum(len(b) for b in raw)


def streamed(tmtrace, path, base, keep):
    t0 = time.perf_counter()
    tmtrace.Snapshot.write_live(path, traces=True)
    t1 = time.perf_counter()
    extra = rss("VmHWM:") - base
    del keep
    ntraces = len(tmtrace.Snapshot.load(path).traces)
    z = zstd_alone(path)
    ratio = ("; zstd alone %.3f s on its %.1f MB, pause %.1fx"
             % (z[0], z[1] / 1e6, (t1 - t0) / z[0]) if z else "")
    print("streamed %9d traces: +%7.1f MB (%5.1f B/trace), write (one "
          "pause) %.2f s%s" % (ntraces, extra / 1e6, extra / ntraces,
                               t1 - t0, ratio))


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
