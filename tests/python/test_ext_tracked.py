"""Blocks extensions report through PyTraceMalloc_Track/Untrack (numpy's
array data) are traced by tmtrace without CPython's tracemalloc, at the
Python line that made them (src/tracer/extblocks.c).

Each scenario runs in a fresh interpreter, so the import order is the one
the test says (numpy or the test extension imported after tracing
starts).  The oracle is CPython's own tracemalloc: its per-line sizes for
the same objects, and numpy's own nbytes.
"""
import json
import os
import subprocess
import sys
import textwrap

import pytest

EXT_DIR = os.environ.get("TMTRACE_TEST_EXT_DIR")
N = 1_000_003  # float64 elements: 8,000,024 bytes of array data
DATA = N * 8


def run(code, *, limit=1):
    env = dict(os.environ)
    env.pop("TMTRACE", None)
    if EXT_DIR:
        env["PYTHONPATH"] = EXT_DIR + os.pathsep + env.get("PYTHONPATH", "")
    prog = "import json, sys, tmtrace\n" + textwrap.dedent(code)
    r = subprocess.run([sys.executable, "-c", prog], env=env, text=True,
                       capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def line_of(code, marker):
    for i, text in enumerate(("import json, sys, tmtrace\n" +
                              textwrap.dedent(code)).splitlines(), 1):
        if marker in text:
            return i
    raise AssertionError(marker)


# ---- numpy ---------------------------------------------------------------

NUMPY = """
tmtrace.enable()
import numpy as np
def at(line):
    return tmtrace.get_stats().get("<string>", {}).get(line, (0, 0))[0]
a = np.zeros(%d)  # MAKE (a C function: limit 1 shows this line)
made = at(%d)
b = a[::2]; c = a.reshape(-1, 1); a += 1.0; a *= 2.0  # VIEWS
views = at(%d)
del b, c
del a  # DEL
left = at(%d)
print(json.dumps({"made": made, "views": views, "left": left,
                  "traced": tmtrace.get_traced_memory()[0]}))
"""


def numpy_code():
    import numpy  # noqa: F401  (tools/requirements-dev.txt)
    probe = NUMPY % (N, 0, 0, 0)
    make, views = line_of(probe, "# MAKE"), line_of(probe, "# VIEWS")
    return NUMPY % (N, make, views, make), make, views


def test_numpy_array_data_at_its_line_and_gone_after_del():
    code, make, views = numpy_code()
    r = run(code)
    # The data and the array object (its header, shape and strides).
    assert DATA <= r["made"] < DATA + 1024
    # Views share the data and in-place operations make none: only the
    # view objects' own headers appear, at their line.
    assert r["views"] < 4096
    assert r["left"] == 0


def test_numpy_sizes_equal_cpython_tracemalloc():
    """Both tracers on (tmtrace first, numpy imported after): the data
    blocks of the arrays made at a line are the same blocks, sizes and
    line in both; CPython's numpy domain holds exactly the array data, and
    our line total is within the array objects' headers of CPython's."""
    import numpy as np  # noqa: F401  (tools/requirements-dev.txt)
    code = """
    tmtrace.enable()
    import tracemalloc
    tracemalloc.start()
    import numpy as np
    def ours(line):
        return tmtrace.get_stats().get("<string>", {}).get(line, (0, 0))[0]
    def theirs(line, domain=None):
        snap = tracemalloc.take_snapshot()
        if domain is not None:
            snap = snap.filter_traces([tracemalloc.DomainFilter(True, domain)])
        return sum(s.size for s in snap.statistics("lineno")
                   if s.traceback[0].filename == "<string>"
                   and s.traceback[0].lineno == line)
    arrays = [np.arange(%d, dtype=np.int32) for _ in range(3)]  # MAKE
    dom = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.DomainFilter(True, np.lib.tracemalloc_domain)])
    traces = tmtrace.get_traces()
    out = {"ours": ours(LINE), "theirs": theirs(LINE),
           "domain": theirs(LINE, np.lib.tracemalloc_domain),
           "nbytes": sum(x.nbytes for x in arrays),
           # the data blocks of these arrays: (size, line), both tracers
           "ours_data": sorted((traces[x.ctypes.data][0],
                                traces[x.ctypes.data][1][0][1]) for x in arrays),
           "theirs_data": sorted((t.size, t.traceback[0].lineno)
                                 for t in dom.traces
                                 if t.traceback[0].filename == "<string>")}
    del arrays
    out["ours_after"] = ours(LINE)
    out["theirs_after"] = theirs(LINE)
    print(json.dumps(out))
    """ % N
    LINE_NO = line_of(code, "# MAKE")
    code = code.replace("LINE", str(LINE_NO))
    r = run(code)
    assert r["domain"] == r["nbytes"] == 3 * N * 4
    assert [tuple(x) for x in r["ours_data"]] == \
        [tuple(x) for x in r["theirs_data"]] == [(N * 4, LINE_NO)] * 3
    assert abs(r["ours"] - r["theirs"]) < 1024
    # The data is gone from both (what is left: small Python objects).
    assert r["ours_after"] < 1024 and r["theirs_after"] < 1024


@pytest.mark.parametrize("order", ["tmtrace-first", "tracemalloc-first"])
def test_numpy_both_tracers_see_the_data_in_either_order(order):
    import numpy  # noqa: F401  (tools/requirements-dev.txt)
    start = ("tmtrace.enable(); tracemalloc.start()" if order == "tmtrace-first"
             else "tracemalloc.start(); tmtrace.enable()")
    code = """
    import tracemalloc
    import numpy as np
    %s
    t0, c0 = tmtrace.get_traced_memory()[0], tracemalloc.get_traced_memory()[0]
    a = np.zeros(%d)
    t1, c1 = tmtrace.get_traced_memory()[0], tracemalloc.get_traced_memory()[0]
    del a
    t2, c2 = tmtrace.get_traced_memory()[0], tracemalloc.get_traced_memory()[0]
    tracemalloc.stop() if "%s" == "tmtrace-first" else None
    tmtrace.disable()
    tracemalloc.stop()
    print(json.dumps([t1 - t0, c1 - c0, t2 - t0, c2 - c0]))
    """ % (start, N, order)
    ours, theirs, ours_left, theirs_left = run(code)
    assert DATA <= ours < DATA + 1024
    assert DATA <= theirs < DATA + 1024
    assert abs(ours_left) < 1024 and abs(theirs_left) < 1024


# ---- the test extension: numpy-independent -------------------------------

needs_ext = pytest.mark.skipif(EXT_DIR is None,
                               reason="run through meson (builds _tmt_tracktest)")


@needs_ext
def test_extension_imported_after_start_is_covered():
    code = """
    import tracemalloc
    tmtrace.enable()
    import _tmt_tracktest as t  # imported after tracing started
    p = t.alloc(4242, 123457)  # ALLOC
    stats = tmtrace.get_stats().get("<string>", {})
    traces = tmtrace.get_traces()
    made = traces.get(p)
    # CPython's tracer is off: the caller still gets its answer (-2).
    answer = t.track(4242, p, 123457)
    t.free(4242, p)
    print(json.dumps({"made": made, "answer": answer,
                      "after": tmtrace.get_traces().get(p),
                      "traced": tmtrace.get_traced_memory()[0]}))
    """
    line = line_of(code, "# ALLOC")
    r = run(code)
    size, tb = r["made"]
    assert size == 123457
    assert [tuple(f) for f in tb] == [("<string>", line)]
    assert r["answer"] == -2
    assert r["after"] is None


@needs_ext
def test_extension_domains_are_separate_and_disable_restores():
    """The same address in two domains is two blocks (as for CPython's
    tracer); after disable() the calls reach CPython alone again."""
    code = """
    import tracemalloc
    import _tmt_tracktest as t  # imported before: found by the first scan
    tmtrace.enable()
    p = t.alloc(7, 1000)
    m0 = tmtrace.get_traced_memory()[0]
    t.track(8, p, 500)
    both = tmtrace.get_traced_memory()[0] - m0
    t.free(7, p)   # untracks domain 7 only
    left8 = tmtrace.get_traced_memory()[0] - m0
    q = t.alloc_nogil(9, 3000)   # tracked without the GIL held
    nogil = tmtrace.get_traces().get(q, [0])[0]
    t.free(9, q)
    tmtrace.disable()
    tracemalloc.start()
    r = t.alloc(7, 2000)
    cpython = tracemalloc.get_traced_memory()[0]
    t.free(7, r)
    tmtrace.enable()
    s = t.alloc(7, 4000)
    again = tmtrace.get_traces().get(s, [0])[0]
    print(json.dumps([both, left8, nogil, cpython >= 2000, again]))
    """
    both, left8, nogil, cpython_saw, again = run(code)
    # (+ the int m0 itself, made after the reading: 32 bytes)
    assert 500 <= both < 600
    assert -500 <= left8 < -400
    assert nogil == 3000
    assert cpython_saw
    assert again == 4000


@needs_ext
def test_extension_blocks_in_snapshot_and_fork():
    code = """
    import os
    import _tmt_tracktest as t
    tmtrace.enable()
    p = t.alloc(11, 65536)  # ALLOC
    snap = tmtrace.Snapshot.create(traces=True, metrics=False)
    size, tb = snap.traces[p]
    line_size = snap.stats["<string>"][LINE][0]
    pid = os.fork()
    if pid == 0:
        # The child is not tracing (the PEP); the patched calls still work.
        q = t.alloc(11, 10)
        t.free(11, q)
        os._exit(0 if not tmtrace.is_enabled() else 3)
    _, status = os.waitpid(pid, 0)
    print(json.dumps([size, [list(f) for f in tb], line_size,
                      os.waitstatus_to_exitcode(status)]))
    """
    line = line_of(code, "# ALLOC")
    code = code.replace("LINE", str(line))
    size, tb, line_size, child = run(code)
    assert size == 65536
    assert tb == [["<string>", line]]
    assert 65536 <= line_size < 65536 + 256  # and the int for p
    assert child == 0
