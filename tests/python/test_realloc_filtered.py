"""An in-place realloc whose new traceback is filtered out must still drop
the block's old trace (issue 10, item 8).

A 300 kB bytearray is made at line 3 and shrunk to 1 kB in place at
line 5.  CPython's tracemalloc, running at the same time, is the oracle:
it records the resized block at line 5 (1001 bytes), and its filters
apply when a snapshot is filtered, so the same exclude filter applied to
its snapshot says what ours must count.  The arithmetic is checked too:
the 300 kB are gone from get_traced_memory() and from every trace.
"""
import tracemalloc

import pytest

from core_support import tracer  # noqa: F401  (fixture)

FILENAME = "<realloc-case>"
SOURCE = (
    "keep = []\n"
    "pad = None\n"
    "ba = bytearray(300_000)\n"     # line 3: object and 300 kB buffer
    "keep.append(ba)\n"
    "del ba[1000:]\n"               # line 5: the buffer shrinks in place
)
BIG = 300_001  # bytearray keeps a trailing NUL


def by_line(traces):
    """{lineno: (size, count)} of the traces allocated in FILENAME."""
    out = {}
    for size, tb in traces:
        if tb and tb[0][0] == FILENAME:
            s, c = out.get(tb[0][1], (0, 0))
            out[tb[0][1]] = (s + size, c + 1)
    return out


def run_case(tracer, exclude_line5):  # noqa: F811
    # tracemalloc below us: its own bookkeeping does not pass through our
    # hooks (above us, it would be traced at the same lines).
    tracer.disable()
    tracemalloc.start(1)
    tracer.enable()
    if exclude_line5:
        tracer.add_exclude_filter(FILENAME, 5)
    try:
        code = compile(SOURCE, FILENAME, "exec")
        ns = {}
        before = tracer.get_traced_memory()[0]
        exec(code, ns)
        after = tracer.get_traced_memory()[0]
        ours = by_line(tracer.get_traces().values())
        big = [s for s, tb in tracer.get_traces().values()
               if s >= BIG and tb and tb[0][0] == FILENAME]
        snap = tracemalloc.take_snapshot()
    finally:
        tracer.disable()  # the reverse order of starting
        tracemalloc.stop()
    if exclude_line5:
        snap = snap.filter_traces([tracemalloc.Filter(False, FILENAME, 5)])
    theirs = by_line((t.size, [(f.filename, f.lineno) for f in t.traceback])
                     for t in snap.traces)
    return ours, theirs, after - before, big, ns


@pytest.mark.parametrize("exclude_line5", [False, True])
def test_in_place_shrink_drops_old_trace(tracer, exclude_line5):  # noqa: F811
    ours, theirs, growth, big, ns = run_case(tracer, exclude_line5)
    assert len(ns["ba"]) == 1000
    assert big == []
    # The oracle: the same traces per line as CPython's tracemalloc.
    assert ours == theirs
    # The arithmetic: line 3 keeps only the bytearray object; line 5 has
    # the 1001-byte buffer unless it is filtered out.
    assert ours[3] == (type(ns["ba"]).__basicsize__, 1)
    if exclude_line5:
        assert 5 not in ours
    else:
        assert ours[5] == (1001, 1)
    assert growth < 10_000, growth
