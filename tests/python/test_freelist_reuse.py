"""Objects CPython hands out again from a free list (src/tracer/reftrace.c).

A float, tuple, list or dict freed at one line goes to CPython's free list;
the next one made at another line takes the same memory without an
allocator call.  CPython's tracemalloc moves that block's trace to the new
line (_Py_NewReference).  From 3.13 tmtrace does the same through the
reference tracer API; on 3.9-3.12 there is no hook for it and the block
keeps the first allocation's line (docs/tracer-core.md, "Objects from free
lists").

Each scenario runs in a fresh interpreter (its own free lists and tracer
state).  The oracle is CPython's own tracemalloc: its traceback for each
reused object and its per-line statistics; alone, the known lines of the
source; and the addresses tmtrace reports for the first objects, which
show which new objects live in reused memory.
"""
import json
import os
import subprocess
import sys
import textwrap

import pytest

PY313 = sys.version_info >= (3, 13)

HEAD = """\
import gc, json, sys, threading, tracemalloc, tmtrace, _tmtrace
k = len(sys.argv)  # not a constant: each object is made at run time
def first(kind, n):  # each kind made on one line, the one traced
    return (float(n) * k + .25 if kind == "float" else (n, k) if kind == "tuple" else [n, k] if kind == "list" else {"n": n, "k": k})  # FIRST
def second(kind, n):
    return (float(n) * k + .25 if kind == "float" else (n, k) if kind == "tuple" else [n, k] if kind == "list" else {"n": n, "k": k})  # SECOND
def reuse(kind):
    # Over twice what a free list holds (tuples: 2000 of each size): the
    # first ones come from it, what it holds after the del was allocated
    # here, while tracing.
    olds = [first(kind, i) for i in range(5000)]
    addrs = {tmtrace.get_object_address(o) for o in olds}
    del olds
    news = [second(kind, i) for i in range(60)]
    return news, [o for o in news if tmtrace.get_object_address(o) in addrs]
def ours(o):
    t = tmtrace.get_object_trace(o)
    return None if t is None else t[1][0][1]
def theirs(o):
    tb = tracemalloc.get_object_traceback(o)
    return None if tb is None else tb[0].lineno
def line_stat(line):
    return tmtrace.get_stats().get("<string>", {}).get(line)
def their_stat(line):
    for st in tracemalloc.take_snapshot().statistics("lineno"):
        f = st.traceback[0]
        if f.filename == "<string>" and f.lineno == line:
            return [st.size, st.count]
    return None
def consistent():  # the live sums per traceback (the peak's) follow
    tmtrace.reset_peak()
    snap = tmtrace.Snapshot.create(traces=True)
    pk, tr = snap.peak.top_by("line").stats, snap.top_by("line").stats
    return all(pk.get(("<string>", n)) == tr.get(("<string>", n))
               for n in (%d, %d))
"""
FIRST = next(i for i, t in enumerate(HEAD.splitlines(), 1) if "# FIRST" in t)
SECOND = next(i for i, t in enumerate(HEAD.splitlines(), 1) if "# SECOND" in t)
HEAD = HEAD % (FIRST, SECOND)


def run(code):
    env = dict(os.environ)
    env.pop("TMTRACE", None)
    r = subprocess.run([sys.executable, "-c", HEAD + textwrap.dedent(code)],
                       env=env, text=True, capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


KINDS = ["float", "tuple", "list", "dict"]


@pytest.mark.parametrize("kind", KINDS)
def test_reused_object_matches_cpython_tracemalloc(kind):
    """Both tracers on (CPython's first): for every object made in reused
    memory, tmtrace's line is tracemalloc's; on 3.13 that is the reusing
    line, before it the first allocation's (the documented difference)."""
    r = run("""
    tracemalloc.start()
    tmtrace.enable()
    news, reused = reuse(%r)
    print(json.dumps({"n": len(reused),
                      "pairs": [[ours(o), theirs(o)] for o in reused],
                      "ours": line_stat(%d), "theirs": their_stat(%d),
                      "ok": consistent()}))
    """ % (kind, SECOND, SECOND))
    assert r["n"] >= 10, "the test made no object in reused memory"
    assert all(t == SECOND for _, t in r["pairs"])
    if PY313:
        assert all(o == t for o, t in r["pairs"]), r["pairs"]
        # Per line, both tracers count the same blocks at the same size.
        assert r["ours"] == r["theirs"]
    else:
        # Memory reused from a free list keeps the first allocation's line.
        assert any(o == FIRST for o, _ in r["pairs"]), r["pairs"]
        assert all(o in (FIRST, SECOND) for o, _ in r["pairs"])
    assert r["ok"]


@pytest.mark.parametrize("kind", KINDS)
def test_reused_object_alone_and_switched_off(kind):
    """tmtrace alone: on 3.13 every new object is at the reusing line;
    switched off (or before 3.13) some keep the first line, which shows the
    free list was in play."""
    r = run("""
    tmtrace.enable()
    on = tmtrace.get_reuse_tracking()
    news, reused = reuse(%r)
    got_on = [ours(o) for o in reused]
    del news, reused
    was = tmtrace.set_reuse_tracking(False)
    tmtrace.clear_traces()
    news, reused = reuse(%r)
    got_off = [ours(o) for o in reused]
    print(json.dumps({"on": on, "was": was, "got_on": got_on,
                      "got_off": got_off, "ok": consistent()}))
    """ % (kind, kind))
    assert r["on"] is PY313 and r["was"] is None  # None: the default
    assert len(r["got_on"]) >= 10 and len(r["got_off"]) >= 10
    assert FIRST in r["got_off"]
    assert set(r["got_off"]) <= {FIRST, SECOND}
    if PY313:
        assert set(r["got_on"]) == {SECOND}
    else:
        assert FIRST in r["got_on"]
    assert r["ok"]


def test_off_while_sampling_unless_asked():
    """By default it is off while sampling (its cost there is about that
    of sampling itself); set_reuse_tracking(True) turns it on."""
    r = run("""
    tmtrace.set_sampling(1)  # a block of s bytes: p = 1 - exp(-s), all here
    tmtrace.enable()
    auto = tmtrace.get_reuse_tracking()
    news, reused = reuse("float")
    got_auto = [ours(o) for o in reused]
    del news, reused
    was = tmtrace.set_reuse_tracking(True)
    on = tmtrace.get_reuse_tracking()
    news, reused = reuse("float")
    got_on = [ours(o) for o in reused]
    print(json.dumps({"auto": auto, "was": was, "on": on,
                      "got_auto": got_auto, "got_on": got_on}))
    """)
    assert r["auto"] is False and r["was"] is None and r["on"] is PY313
    assert len(r["got_auto"]) >= 10 and len(r["got_on"]) >= 10
    assert FIRST in r["got_auto"]
    if PY313:
        assert set(r["got_on"]) == {SECOND}
    else:
        assert FIRST in r["got_on"]


@pytest.mark.skipif(not PY313, reason="the reference tracer is 3.13+")
def test_tmtrace_first_then_cpython_then_stop():
    """tmtrace first: CPython's tracemalloc.start() replaces the reference
    tracer (it does not chain).  tmtrace takes it back, chaining to
    CPython's, at its next query; then both see the reusing line.  After
    tracemalloc.stop() (which leaves no tracer) the next query takes it
    again; tmtrace.disable() leaves CPython's state alone."""
    r = run("""
    tmtrace.enable()
    tracemalloc.start()
    back = tmtrace.get_reuse_tracking()   # a query
    news, reused = reuse("float")
    both = [[ours(o), theirs(o)] for o in reused]
    del news, reused
    tracemalloc.stop()
    after_stop = tmtrace.get_reuse_tracking()
    news, reused = reuse("list")
    alone = [ours(o) for o in reused]
    tmtrace.disable()
    tracemalloc.start()
    news, reused = reuse("tuple")
    cpython_after = [theirs(o) for o in reused]
    print(json.dumps({"back": back, "both": both, "after_stop": after_stop,
                      "alone": alone, "cpython_after": cpython_after}))
    """)
    assert r["back"] and r["after_stop"]
    assert len(r["both"]) >= 10
    assert all(p == [SECOND, SECOND] for p in r["both"]), r["both"]
    assert len(r["alone"]) >= 10 and set(r["alone"]) == {SECOND}
    assert len(r["cpython_after"]) >= 10
    assert set(r["cpython_after"]) == {SECOND}


@pytest.mark.skipif(not PY313, reason="the reference tracer is 3.13+")
def test_disable_gives_back_cpythons_tracer():
    """CPython's first: tmtrace chains to it and gives it back on disable();
    CPython's tracer keeps re-attributing after that, and tmtrace traces
    nothing more."""
    r = run("""
    import ctypes
    get = ctypes.pythonapi.PyRefTracer_GetTracer
    get.restype = ctypes.c_void_p
    get.argtypes = [ctypes.c_void_p]
    tracemalloc.start()
    before = get(None)
    tmtrace.enable()
    during = get(None)
    tmtrace.disable()
    after = get(None)
    news, reused = reuse("dict")
    print(json.dumps({"before": before, "during": during, "after": after,
                      "theirs": [theirs(o) for o in reused],
                      "ours": [ours(o) for o in reused]}))
    """)
    assert r["before"] and r["during"] != r["before"]
    assert r["after"] == r["before"]
    assert len(r["theirs"]) >= 10 and set(r["theirs"]) == {SECOND}
    assert set(r["ours"]) == {None}


def test_filtered_out_reusing_line_and_threads():
    """A block reused at a line the filters exclude is no longer traced
    (3.13; before, it keeps its first line); objects reused by other
    threads take those threads' lines, and the totals stay consistent."""
    r = run("""
    tmtrace.enable()
    tmtrace.add_filter(tmtrace.Filter(False, "<string>", %d))
    news, reused = reuse("float")
    filtered = [ours(o) for o in reused]
    del news, reused
    tmtrace.clear_filters()
    out = {}
    def work(i):
        news, reused = reuse("list")
        out[i] = [ours(o) for o in reused]
    ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in ts: t.start()
    for t in ts: t.join()
    print(json.dumps({"filtered": filtered, "threads": list(out.values()),
                      "ok": consistent()}))
    """ % SECOND)
    assert len(r["filtered"]) >= 10
    if PY313:
        assert set(r["filtered"]) == {None}
    else:
        assert FIRST in r["filtered"]
    # The threads share the free lists: which thread gets which block
    # varies, but each object is at the line its thread made it.
    got = [line for lines in r["threads"] for line in lines]
    assert len(r["threads"]) == 4 and len(got) >= 10
    if PY313:
        assert set(got) == {SECOND}
    else:
        assert set(got) <= {FIRST, SECOND}
    assert r["ok"]
