"""The allocator hook must call nothing that allocates or runs Python
(issue 10, item 1).

It used to encode a new code object's filename with
PyUnicode_AsUTF8AndSize.  For a filename with a lone surrogate that runs
the codec's error machinery, which allocates; with CPython's tracemalloc
hooked above us, holding its table lock while it calls into us, that
allocation waits for the same lock: the traced program hung.  Each case
runs in a child with a timeout, in both start orders, with filenames
that are lone surrogates (what os.fsdecode makes of undecodable bytes),
non-ASCII and very long, allocated from several threads at once.  The
names must also come back exactly: through a .tms file and back into
Python, and as CPython's tracemalloc (the oracle) records them.
"""
import json
import os
import subprocess
import sys
import textwrap

import pytest

CHILD = textwrap.dedent(r'''
    import json, sys, threading, tracemalloc
    import tmtrace
    order, out = sys.argv[1], sys.argv[2]
    if order == "tmtrace-first":
        tmtrace.enable(); tracemalloc.start(25)
    else:
        tracemalloc.start(25); tmtrace.enable()
    names = (["/tmp/\udcff\udc80-%d.py" % i for i in range(40)] +
             ["/tmp/\u00e9t\u00e9/\u4e2d\U0001f600-%d.py" % i for i in range(40)] +
             ["/" + "long/" * 2000 + "%d.py" % i for i in range(5)])
    fns = []
    for i, name in enumerate(names):
        src = ("def f(n):\n"
               "    a = [bytearray(n) for i in range(20)]\n"
               "    b = {str(i): i for i in range(n)}\n"
               "    return a, b\n")
        ns = {}
        exec(compile(src, name, "exec"), ns)
        fns.append(ns["f"])

    def work(keep):
        for r in range(3):
            for f in fns:
                keep.append(f(50 + r))

    keep = []
    threads = [threading.Thread(target=work, args=(keep,)) for _ in range(3)]
    for t in threads:
        t.start()
    work(keep)
    for t in threads:
        t.join()
    ours = tmtrace.Snapshot.create(traces=True)
    theirs = tracemalloc.take_snapshot()
    if order == "tmtrace-first":
        tracemalloc.stop(); tmtrace.disable()
    else:
        tmtrace.disable(); tracemalloc.stop()
    ours.write(out)
    loaded = tmtrace.Snapshot.load(out)
    def seen(filenames):
        return sorted(n for n in set(filenames) if n in names)
    result = {
        "names": sorted(names),
        "ours": seen(tb[0][0] for _, tb in loaded.traces.values() if tb),
        "stats": seen(loaded.stats),
        "theirs": seen(f.filename for t in theirs.traces for f in t.traceback),
    }
    sys.stdout.write(json.dumps(result, ensure_ascii=True))
''')


@pytest.mark.parametrize("order", ["tmtrace-first", "tracemalloc-first"])
def test_no_deadlock_and_names_round_trip(tmp_path, order):
    env = dict(os.environ, PYTHONUTF8="0")
    env.pop("TMTRACE", None)
    try:
        proc = subprocess.run(
            [sys.executable, "-c", CHILD, order, str(tmp_path / "s.tms")],
            env=env, capture_output=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("traced program hung (%s)" % order)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    r = json.loads(proc.stdout)
    assert len(r["names"]) == 85
    assert r["theirs"] == r["names"]
    assert r["ours"] == r["names"]
    assert r["stats"] == r["names"]
