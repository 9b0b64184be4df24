"""Memory of the trace table on large live heaps (issue 15 goal 2), by hand:

    PYTHONPATH=build/src/tracer:src/tracer python bench/bench_table_memory.py \
        [--blocks 1000000] [--repeat 3] [--baseline OLD_BUILD_TREE]

Each heap is built in a fresh interpreter, untraced and traced (tmtrace, 1
frame; with --baseline also the tmtrace of another tree, e.g. main built
in a separate directory), interleaved.  Reported per heap and tracer:

  - peak RSS of the child (ru_maxrss) and its ratio to untraced's;
  - bytes per live trace: what the module's own memory
    (get_tracemalloc_memory()) grew by while the heap was built, divided
    by the number of traces it added.

Heaps: "churn" is bench_tracer.py's live part (N tuples and N ints),
"docs" N/10 parsed JSON documents of dicts, lists and strings, "bytes" N
bytes objects of 0..199 bytes.
"""
import argparse
import json
import os
import resource
import subprocess
import sys


def heap_churn(n):
    return [(i, "v") for i in range(n)]


def heap_docs(n):
    keep = []
    for i in range(n // 10):
        doc = {"id": i, "name": "item-%d" % i, "tags": ["t%d" % (i % 7)] * 5,
               "values": list(range(i % 50)), "nested": {"a": [1.5, 2.5],
                                                          "b": str(i) * 3}}
        keep.append(json.loads(json.dumps(doc)))
    return keep


def heap_bytes(n):
    return [bytes(i % 200) for i in range(n)]


HEAPS = {"churn": heap_churn, "docs": heap_docs, "bytes": heap_bytes}


def child(tracer, heap, n):
    mod = None
    if tracer == "tmtrace":
        import tmtrace as mod
        mod.set_traceback_limit(1)
        mod.enable()
    if mod is not None:
        m0 = mod.get_tracemalloc_memory()[0]
        t0 = len(mod.get_traces())
    keep = HEAPS[heap](n)
    out = {"rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}
    if mod is not None:
        m1 = mod.get_tracemalloc_memory()[0]
        t1 = len(mod.get_traces())
        out["per_trace"] = (m1 - m0) / max(1, t1 - t0)
        out["traces"] = t1 - t0
    del keep
    print(json.dumps(out))


def run(tracer, heap, n, pythonpath=None):
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath
    out = subprocess.run([sys.executable, __file__, "--child", tracer, heap,
                          str(n)], env=env, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--blocks", type=int, default=1000000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--heaps", default="churn,docs,bytes")
    p.add_argument("--baseline", metavar="TREE",
                   help="also run the tmtrace built in TREE (TREE/build)")
    p.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        return child(a.child[0], a.child[1], int(a.child[2]))
    variants = [("untraced", "untraced", None), ("tmtrace", "tmtrace", None)]
    if a.baseline:
        base = os.path.abspath(a.baseline)
        variants.append(("tmtrace-base", "tmtrace", "%s:%s" % (
            os.path.join(base, "build/src/tracer"),
            os.path.join(base, "src/tracer"))))
    print("python %s, %d blocks, median of %d interleaved rounds"
          % (sys.version.split()[0], a.blocks, a.repeat))
    print("%-6s %-13s %10s %7s %12s %10s" % ("heap", "tracer", "peak RSS",
                                             "x", "B/trace", "traces"))
    for heap in a.heaps.split(","):
        runs = {v[0]: [] for v in variants}
        for _ in range(a.repeat):
            for name, tracer, path in variants:
                runs[name].append(run(tracer, heap, a.blocks, path))
        base_rss = None
        for name, _, _ in variants:
            rs = sorted(runs[name], key=lambda r: r["rss"])
            med = rs[len(rs) // 2]
            if base_rss is None:
                base_rss = med["rss"]
            print("%-6s %-13s %8.1fMB %7.2f %12s %10s" % (
                heap, name, med["rss"] / 2 ** 20, med["rss"] / base_rss,
                "%.1f" % med["per_trace"] if "per_trace" in med else "-",
                med.get("traces", "-")))


if __name__ == "__main__":
    main()
