"""Extra memory of taking and writing a snapshot of N traces (run by hand).

Issue 15 goal 3 asks for a bound whatever N.  A child process holds N
live traced blocks, resets its peak RSS (/proc/self/clear_refs 5), then
takes Snapshot.create(traces=True) and writes it ("whole"), or writes
it with Snapshot.write_live(traces=True) ("streamed": the traces go from
the live tables into the file a chunk at a time, as the task's scheduled
writes and the runner's files do); the report is the peak RSS above the
resident size before the snapshot, in MB and per trace, and the pause.

"background": Snapshot.write_live(traces=True, background=True), a forked
child writes the file; the pause is the time until write_live returns,
beside the time until wait() returns, a foreground write_live of the same
heap right after (its pause), and zstd alone on the file's bytes.

--data: "regular" keeps N tuples (i, i) allocated in a row (neighbouring
addresses, one traceback, constant sizes: the file compresses very well);
"random" keeps N bytes objects of random sizes 16-1024 out of 2N
allocated, every other one freed at random (scattered addresses, varied
sizes).  --untraced-gb G first fills G GB of numpy arrays before tracing
starts: the fork's pause grows with the process's memory, not the traces
(numpy puts big arrays on transparent huge pages where the kernel allows
it; NUMPY_MADVISE_HUGEPAGE=0 gives the 4 KiB pages most heaps have).

    PYTHONPATH=build/src/tracer:src/tracer python bench/bench_snapshot_memory.py \
        [--blocks 1000000,3000000] [--modes whole,streamed,background] \
        [--data regular,random] [--untraced-gb 0]
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


def workload(n, data):
    if data == "regular":
        return [(i, i) for i in range(n)]
    import random
    rng = random.Random(15)
    blocks = [bytes(rng.randrange(16, 1024)) for _ in range(2 * n)]
    rng.shuffle(blocks)   # which half dies: scattered over the heap
    return blocks[:n]


def child(n, path, mode, data="regular", untraced_gb=0.0):
    ballast = None
    if untraced_gb > 0:
        import numpy
        ballast = numpy.ones(int(untraced_gb * 1e9) // 8)   # pages touched
    import tmtrace
    tmtrace.enable()
    keep = workload(n, data)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")   # VmHWM := VmRSS
    base = rss("VmRSS:")
    if mode == "streamed":
        return streamed(tmtrace, path, base, keep)
    if mode == "background":
        return background(tmtrace, path, base, keep, data, ballast)
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


def background(tmtrace, path, base, keep, data, ballast):
    t0 = time.perf_counter()
    h = tmtrace.Snapshot.write_live(path, traces=True, background=True)
    t1 = time.perf_counter()
    h.wait()
    t2 = time.perf_counter()
    extra = rss("VmHWM:") - base
    fg = path + ".fg"
    tmtrace.Snapshot.write_live(fg, traces=True)   # the same heap
    t3 = time.perf_counter()
    os.unlink(fg)
    t6 = time.perf_counter()   # the pause without the (Python) metrics
    h = tmtrace.Snapshot.write_live(fg, traces=True, metrics=False,
                                    background=True)
    t7 = time.perf_counter() - t6
    h.wait()
    os.unlink(fg)
    t4 = time.perf_counter()   # the floor: a bare fork of this process
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    t5 = time.perf_counter()
    os.waitpid(pid, 0)
    del keep
    ntraces = len(tmtrace.Snapshot.load(path).traces)
    z = zstd_alone(path)
    gb = ballast.nbytes / 1e9 if ballast is not None else 0.0
    ratio = ("; zstd alone %.4f s on %.1f MB: pause %.2fx zstd "
             "(foreground %.1fx)" % (z[0], z[1] / 1e6, (t1 - t0) / z[0],
                                     (t3 - t2) / z[0]) if z else "")
    print("background %-7s %9d traces, RSS %.2f GB (%.1f GB untraced): "
          "pause %.4f s (metrics=False %.4f s, os.fork alone %.4f s), "
          "wait() after %.3f s, foreground pause %.3f s, parent +%.1f MB%s"
          % (data, ntraces, rss("VmRSS:") / 1e9, gb, t1 - t0, t7, t5 - t4,
             t2 - t0, t3 - t2, extra / 1e6, ratio))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--blocks", default="1000000,3000000")
    p.add_argument("--modes", default="whole,streamed")
    p.add_argument("--data", default="regular")
    p.add_argument("--untraced-gb", default="0")
    p.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        return child(int(a.child[0]), a.child[1], a.child[2], a.child[3],
                     float(a.child[4]))
    with tempfile.TemporaryDirectory() as d:
        for gb in a.untraced_gb.split(","):
            for n in a.blocks.split(","):
                for data in a.data.split(","):
                    for mode in a.modes.split(","):   # interleaved
                        subprocess.run([sys.executable, __file__, "--child",
                                        n, os.path.join(d, "s.tms"), mode,
                                        data, gb], check=True)


if __name__ == "__main__":
    main()
