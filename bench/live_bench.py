"""The live endpoint's costs (docs/live-endpoint.md), run by hand:

  1. serving one snapshot of N live traces (default 1,000,000): wall time
     from connect to last byte, answer size, and how long the program was
     held (the copy under the GIL, metric tmtrace.live.copy_ns), for the
     stats and the traces request;
  2. a traced program's throughput while `tmtool watch --pid` refreshes
     every second in tmux, against the same program unwatched: runs
     interleaved, side by side.

    PYTHONPATH=build/src/tracer:src/tracer TMTOOL=build/src/cli/tmtool \\
        python bench/live_bench.py [--traces 1000000] [--seconds 10] [--pairs 3]

Needs zstandard (tools/requirements-dev.txt) for the reference decoder and
tmux for part 2.
"""
import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import textwrap
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "format"))
import tms_ref  # noqa: E402

HOLDER = textwrap.dedent("""\
    import sys, tmtrace
    tmtrace.enable()
    n = int(sys.argv[1])
    # one trace each; 500 sizes spread the blocks over many pools, so
    # addresses and sizes do not compress to nothing
    keep = [b"x" * (i % 500) for i in range(n)]
    print(tmtrace.start_endpoint(), flush=True)
    sys.stdin.readline()
    """)

WORKER = textwrap.dedent("""\
    import sys, time, tmtrace
    tmtrace.set_traceback_limit(5)
    tmtrace.enable()
    path = tmtrace.start_endpoint()
    live = [dict(a=i) for i in range(200000)]     # a heap worth watching
    print(path, flush=True)
    sys.stdin.readline()
    end = time.perf_counter() + float(sys.argv[1])
    n = 0
    while time.perf_counter() < end:
        for i in range(1000):                     # allocation-heavy work
            live[i * 7 % 200000] = {"k": [i, str(i)]}
        n += 1000
    print(n, flush=True)
    sys.stdin.readline()
    """)


def request(path, what):
    t0 = time.perf_counter()
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.sendall(what + b"\n")
    data = bytearray()
    while True:
        d = s.recv(1 << 20)
        if not d:
            break
        data += d
    s.close()
    wall = time.perf_counter() - t0
    assert data[:4] == b"TMTW" and data[5] == 0, bytes(data[:64])
    snap = tms_ref.decode(bytes(data[16:]), skip_traces=True)
    metrics = {m["name"]: m["value"] for m in snap["metrics"]}
    return wall, len(data) - 16, metrics


def serve_bench(ntraces, repeat):
    p = subprocess.Popen([sys.executable, "-c", HOLDER, str(ntraces)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    path = p.stdout.readline().strip()
    print("## serving one snapshot of %d live traces (%d requests each)"
          % (ntraces, repeat))
    print("| request | wall, median (min..max) | program held (copy under the GIL) | answer (KB) |")
    print("|---|---|---|---|")
    for what in (b"stats", b"traces"):
        walls, copies, size = [], [], 0
        for _ in range(repeat):
            wall, size, m = request(path, what)
            walls.append(wall)
            copies.append(m["tmtrace.live.copy_ns"] / 1e9)
            # past the endpoint's rate limit, so each request copies anew
            time.sleep(max(0.15, 25 * copies[-1]))
        print("| %s | %.3f s (%.3f..%.3f) | %.3f s (%.3f..%.3f) | %.0f |" % (
            what.decode(), statistics.median(walls), min(walls), max(walls),
            statistics.median(copies), min(copies), max(copies), size / 1e3))
    p.stdin.write("\n")
    p.stdin.flush()
    p.wait(60)


def worker_run(seconds, watched, tmtool):
    p = subprocess.Popen([sys.executable, "-c", WORKER, str(seconds)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    path = p.stdout.readline().strip()
    sock = "livebench-%d" % os.getpid()
    if watched:
        subprocess.run(["tmux", "-L", sock, "-f", "/dev/null", "new-session", "-d",
                        "-x", "120", "-y", "40", "%s watch --pid %d -n 1" % (tmtool, p.pid)],
                       check=True)
        time.sleep(1.5)
    p.stdin.write("\n")
    p.stdin.flush()
    n = int(p.stdout.readline())
    held = None
    if watched:
        subprocess.run(["tmux", "-L", sock, "kill-server"], capture_output=True)
        time.sleep(0.2)
        # what one refresh of the view (a stats request) holds this program
        held = request(path, b"stats")[2]["tmtrace.live.copy_ns"] / 1e9
    p.stdin.write("\n")
    p.stdin.flush()
    p.wait(60)
    return n / seconds, held


def throughput_bench(seconds, pairs, tmtool):
    print("\n## throughput of a traced program, watched every second vs unwatched")
    print("(%d s runs, interleaved; operations/s)" % seconds)
    print("| pair | unwatched | watched | ratio | held per refresh |")
    print("|---|---|---|---|---|")
    ratios = []
    for k in range(pairs):
        a, _ = worker_run(seconds, False, tmtool)
        b, held = worker_run(seconds, True, tmtool)
        ratios.append(b / a)
        print("| %d | %.0f | %.0f | %.3f | %.4f s |" % (k + 1, a, b, b / a, held))
    print("| median | | | %.3f | |" % statistics.median(ratios))
    print("load average at the end: %s" % " ".join(open("/proc/loadavg").read().split()[:3]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--traces", type=int, default=1000000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--pairs", type=int, default=3)
    args = ap.parse_args()
    tmtool = os.environ.get("TMTOOL", "tmtool")
    serve_bench(args.traces, args.repeat)
    if args.pairs > 0 and shutil.which("tmux"):
        throughput_bench(args.seconds, args.pairs, tmtool)
    else:
        print("\n(no tmux: throughput part skipped)")


if __name__ == "__main__":
    main()
