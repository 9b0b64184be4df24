"""Build a CPython tracemalloc.Snapshot pickle with the same traces as
`mksnap --synthetic OUT NTRACES NFRAMES NSITES SEED [SCALE]` (same RNG and
formulas), for bench_cli.sh; or time tracemalloc on such pickles.

  tracemalloc_equiv.py make OUT.pickle NTRACES NFRAMES NSITES SEED [SCALE]
  tracemalloc_equiv.py top FILE.pickle lineno|traceback
  tracemalloc_equiv.py diff OLD.pickle NEW.pickle [lineno|traceback]
"""
import pickle
import sys
import tracemalloc

M64 = (1 << 64) - 1


def make(out, ntraces, nframes, nsites, seed, scale=100):
    nfiles = nsites // 20 + 1
    ntb = nsites * 4
    sites = [("/usr/lib/python3.11/site-packages/pkg%d/sub/module%d.py"
              % (i % nfiles // 10, i % nfiles), 10 + i) for i in range(nsites)]
    tbs = [tuple(sites[(t + k * 7919) % nsites] for k in range(nframes))
           for t in range(ntb)]
    x = (seed * 0x9E3779B97F4A7C15 + 1) & M64
    traces = []
    append = traces.append
    for _ in range(ntraces):
        x ^= x >> 12
        x ^= (x << 25) & M64
        x ^= x >> 27
        r = (x * 2685821657736338717) & M64
        m = r % ntb
        t = m * m // ntb
        size = (16 + (r >> 40) % 512) * scale // 100
        # raw trace: (domain, size, traceback, total_nframe)
        append((0, size, tbs[t], nframes))
    snap = tracemalloc.Snapshot(traces, nframes)
    with open(out, "wb") as f:
        pickle.dump(snap, f, pickle.HIGHEST_PROTOCOL)
    print("total", sum(t[1] for t in traces))


def main():
    cmd = sys.argv[1]
    if cmd == "make":
        make(sys.argv[2], *map(int, sys.argv[3:]))
    elif cmd == "top":
        snap = tracemalloc.Snapshot.load(sys.argv[2])
        stats = snap.statistics(sys.argv[3])
        print(len(stats), stats[0].size, sum(s.size for s in stats))
    elif cmd == "diff":
        old = tracemalloc.Snapshot.load(sys.argv[2])
        new = tracemalloc.Snapshot.load(sys.argv[3])
        d = new.compare_to(old, sys.argv[4] if len(sys.argv) > 4 else "lineno")
        print(len(d), d[0].size_diff)


if __name__ == "__main__":
    main()
