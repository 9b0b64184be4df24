"""Snapshot.top_by and Snapshot.apply_filters against an independent,
plain-Python reading of the spec written here, and top_by against
CPython's own tracemalloc on live objects."""
import datetime
import os
import random
import sys
import tracemalloc

import pytest

from tmtrace._filter import Filter
from tmtrace._snapshot import Snapshot

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pep454_oracle import group_traces  # noqa: E402

TS = datetime.datetime(2013, 10, 3, 12, 0, 0)


# ---- the oracle: the spec's words, in Python -------------------------------

def oracle_top(traces, group_by, cumulative):
    """{key: (size, count)} of a {address: (size, traceback)} dict, by the
    tests' one reading of the PEP (tests/pep454_oracle.py)."""
    return group_traces(((address, size, traceback)
                         for address, (size, traceback) in traces.items()),
                        group_by, cumulative)


def random_traces(seed, n=3000, files=6, depth=4):
    rnd = random.Random(seed)
    names = ["/r/f%d.py" % i for i in range(files)] + [None]
    frames = [(rnd.choice(names), rnd.choice([None, 0, 1, 2, 3, 40]))
              for _ in range(40)]
    tbs = [tuple(rnd.choice(frames) for _ in range(rnd.randint(0, depth)))
           for _ in range(200)]
    return {rnd.randrange(2**48): (rnd.randrange(1, 5000), rnd.choice(tbs))
            for _ in range(n)}


RECURSIVE = {
    # the same line twice in one traceback counts once when cumulative
    1: (100, (("/x/rec.py", 5), ("/x/rec.py", 5), ("/x/main.py", 1))),
    2: (10, (("/x/rec.py", 6), ("/x/rec.py", 5))),
    3: (1, ()),
    4: (7, ((None, None), ("/x/main.py", 1))),
}


# ---- top_by -------------------------------------------------------------------

@pytest.mark.parametrize("group_by", ["filename", "line", "traceback",
                                      "address"])
@pytest.mark.parametrize("cumulative", [False, True])
def test_top_by_matches_oracle(group_by, cumulative):
    for traces in (RECURSIVE, random_traces(1), random_traces(2, depth=1)):
        s = Snapshot(TS, 1, traces)
        top = s.top_by(group_by, cumulative)
        effective = (cumulative and group_by in ("filename", "line")
                     and s.traceback_limit >= 2)
        assert top.stats == oracle_top(traces, group_by, effective)
        assert top.group_by == group_by
        assert top.cumulative is effective
        assert top.timestamp == TS


def test_recursive_by_hand():
    s = Snapshot(TS, 1, RECURSIVE)
    assert s.top_by("line", True).stats == {
        ("/x/rec.py", 5): (110, 2), ("/x/main.py", 1): (107, 2),
        ("/x/rec.py", 6): (10, 1), (None, None): (8, 2)}
    assert s.top_by("filename", True).stats == {
        "/x/rec.py": (110, 2), "/x/main.py": (107, 2), None: (8, 2)}
    assert s.top_by("filename").stats == {
        "/x/rec.py": (110, 2), None: (8, 2)}


def test_cumulative_ignored_below_two_frames():
    s = Snapshot(TS, 1, RECURSIVE)
    s.traceback_limit = 1
    top = s.top_by("line", cumulative=True)
    assert top.cumulative is False
    assert top.stats == oracle_top(RECURSIVE, "line", False)


def test_cumulative_ignored_for_address():
    top = Snapshot(TS, 1, RECURSIVE).top_by("address", cumulative=True)
    assert top.cumulative is False
    assert top.stats == {1: (100, 1), 2: (10, 1), 3: (1, 1), 4: (7, 1)}


def test_top_by_stats_only():
    stats = {"/a.py": {1: (10, 2), None: (5, 1)}, None: {None: (3, 3)}}
    s = Snapshot(TS, 1, None, stats)
    assert s.top_by("line").stats == {("/a.py", 1): (10, 2),
                                      ("/a.py", None): (5, 1),
                                      (None, None): (3, 3)}
    assert s.top_by("filename").stats == {"/a.py": (15, 3), None: (3, 3)}
    for group_by in ("address", "traceback"):
        with pytest.raises(ValueError):
            s.top_by(group_by)


def test_top_by_bad_group():
    with pytest.raises(ValueError):
        Snapshot(TS, 1, RECURSIVE).top_by("lines")


def test_metrics_carried():
    s = Snapshot(TS, 1, RECURSIVE)
    s.add_metric("m", 3, "int")
    top = s.top_by("line")
    assert top.metrics == s.metrics


# ---- apply_filters --------------------------------------------------------------

def oracle_keep(filters, traceback, limit):
    frames = list(traceback) or [(None, None)]

    def matches(f):
        check = frames if (f.traceback and limit >= 2) else frames[:1]
        return any(f.match(fn, ln) for fn, ln in check)

    if any(matches(f) for f in filters if not f.include):
        return False
    inclusive = [f for f in filters if f.include]
    return not inclusive or any(matches(f) for f in inclusive)


FILTER_SETS = [
    [],
    [Filter(True, "/r/f1.py")],
    [Filter(False, "/r/f1.py")],
    [Filter(True, "/r/f1.py", 2), Filter(True, "/r/f2*")],
    [Filter(True, "/r/f1.py", traceback=True)],
    [Filter(False, "/r/f3.py", traceback=True), Filter(True, "*")],
    [Filter(True, "*", 40), Filter(False, "/r/f0.py", 40)],
]


@pytest.mark.parametrize("filters", FILTER_SETS, ids=repr)
@pytest.mark.parametrize("limit", [1, 4])
def test_apply_filters_matches_oracle(filters, limit):
    traces = random_traces(3)
    s = Snapshot(TS, 1, traces)
    s.traceback_limit = limit
    s.apply_filters(filters)
    kept = {a: t for a, t in traces.items()
            if oracle_keep(filters, t[1], limit)}
    assert s.traces == kept
    assert s.stats == Snapshot(TS, 1, kept).stats
    assert s.top_by("line").stats == oracle_top(kept, "line", False)


def test_apply_filters_stats_only():
    stats = {"/a.py": {1: (10, 2), 2: (5, 1)}, "/b.py": {1: (3, 3)},
             None: {None: (1, 1)}}
    s = Snapshot(TS, 1, None, stats)
    s.apply_filters([Filter(True, "/a.py"), Filter(False, "*", 2)])
    assert s.traces is None
    assert s.stats == {"/a.py": {1: (10, 2)}}


# ---- against CPython's tracemalloc --------------------------------------------

def test_line_sizes_agree_with_cpython_tracemalloc():
    tracing = pytest.importorskip("tmtrace._tracing")
    was = tracing.is_enabled()
    if was:
        tracing.disable()
    # CPython's tracemalloc first: our hooks then wrap it, so its own
    # bookkeeping (raw blocks per trace) is not counted by us.
    tracemalloc.start(1)
    tracing.enable()
    try:
        def allocate():
            return [bytearray(1000 + i) for i in range(200)]  # ALLOC LINE
        blob = allocate()
        ours = Snapshot.create(traces=True, metrics=False)
        theirs = tracemalloc.take_snapshot()
    finally:
        tracing.disable()
        tracemalloc.stop()
        if was:
            tracing.enable()
    line = allocate.__code__.co_firstlineno + 1
    key = (__file__, line)
    mine = ours.top_by("line").stats.get(key)
    cp = [st for st in theirs.statistics("lineno")
          if st.traceback[0].filename == __file__
          and st.traceback[0].lineno == line]
    assert mine is not None and len(cp) == 1
    assert mine == (cp[0].size, cp[0].count)
    # 200 bytearrays: each an object block plus a buffer of 1000+i bytes
    assert mine[1] >= 400
    assert mine[0] >= sum(1000 + i for i in range(200))
    del blob
