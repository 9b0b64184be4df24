"""Snapshot and Metric (PEP 454): attributes, metrics, files, laziness.

Expected values are written by hand from the spec; tests that need the
tracing core or the .tms writer skip (with the reason) until those
parts are built."""
import datetime
import os
import sys
import types
import tracemalloc

import pytest

import _tmtrace
import tmtrace
from tmtrace._snapshot import Metric, Snapshot

TS = datetime.datetime(2013, 10, 3, 12, 34, 56, 789012)
TB_A = (("/src/a.py", 10), ("/src/main.py", 3))
TB_B = (("/src/b.py", 20),)
TRACES = {
    0x1000: (100, TB_A),
    0x2000: (50, TB_A),
    0x3000: (7, TB_B),
    0x4000: (1, ()),
    0x5000: (3, ((None, None),)),
    0x6000: (11, (("/src/b.py", None), ("/src/a.py", 10))),
}
# By hand from TRACES: most recent frame of each; () counts as (None, None).
STATS = {
    "/src/a.py": {10: (150, 2)},
    "/src/b.py": {20: (7, 1), None: (11, 1)},
    None: {None: (4, 2)},
}


def hand_snapshot(**kw):
    return Snapshot(TS, 4242, dict(TRACES), kw.pop("stats", None), **kw)


def write_or_skip(snapshot, path):
    try:
        snapshot.write(path)
    except RuntimeError as exc:
        if "not implemented" in str(exc):
            pytest.skip("libtms writer not built yet")
        raise


def raises_or_skip(exc_type, fn, *args):
    """fn(*args) must raise exc_type; skips while a libtms stub answers."""
    try:
        fn(*args)
    except exc_type as exc:
        return exc
    except RuntimeError as exc:
        if "not implemented" in str(exc):
            pytest.skip("libtms reader/writer not built yet")
        raise
    pytest.fail("%s%r did not raise %s" % (fn.__name__, args,
                                            exc_type.__name__))


def core_or_skip():
    tracing = pytest.importorskip("tmtrace._tracing")
    try:
        _tmtrace.take_snapshot_data(False)
    except RuntimeError as exc:
        if "not built" in str(exc):
            pytest.skip("tracing core not built yet")
    except Exception:
        pass
    return tracing


@pytest.fixture
def fake_tracing(monkeypatch):
    fake = types.SimpleNamespace(
        is_enabled=lambda: True,
        get_traceback_limit=lambda: 5,
        get_process_memory=lambda: (1000, 2000),
        get_allocated_blocks=lambda: 42,
        get_pymalloc_stats=lambda: None,
        get_traced_memory=lambda: (10, 20),
        get_tracemalloc_memory=lambda: (100, 25),
        get_arena_size=lambda: 4096,
        get_unicode_interned=lambda: (300, 7),
    )
    monkeypatch.setitem(sys.modules, "tmtrace._tracing", fake)
    monkeypatch.setattr(tmtrace, "_tracing", fake, raising=False)
    return fake


# ---- Metric ----------------------------------------------------------------

def test_metric_attributes_eq_repr():
    m = Metric("gc.objects", 12, "int")
    assert (m.name, m.value, m.format) == ("gc.objects", 12, "int")
    assert m == Metric("gc.objects", 12, "int")
    assert m != Metric("gc.objects", 13, "int")
    assert m != Metric("gc.objects", 12, "size")
    assert Metric("f", 0.25, "percent").value == 0.25
    assert "gc.objects" in repr(m) and "12" in repr(m)


@pytest.mark.parametrize("args,exc", [
    (("x", 1, "bytes"), ValueError),
    (("x", "1", "int"), TypeError),
    ((1, 1, "int"), TypeError),
])
def test_metric_rejects(args, exc):
    with pytest.raises(exc):
        Metric(*args)


# ---- a snapshot built by hand ---------------------------------------------

def test_attributes():
    metrics = {"m": Metric("m", 1, "int")}
    s = Snapshot(TS, 4242, dict(TRACES), STATS, metrics)
    assert s.timestamp == TS and s.pid == 4242
    assert s.traces == TRACES and s.stats == STATS
    assert s.metrics is metrics
    assert s.traceback_limit == 2    # the longest traceback given


def test_defaults():
    s = Snapshot(TS, 1)
    assert s.traces is None
    assert s.stats == {}
    assert s.metrics == {}
    assert s.traceback_limit == 1


def test_stats_derived_from_traces():
    assert hand_snapshot().stats == STATS


def test_add_and_get_metric():
    s = Snapshot(TS, 1)
    m = s.add_metric("a.size", 4096, "size")
    assert m == Metric("a.size", 4096, "size")
    assert s.metrics == {"a.size": m}
    assert s.get_metric("a.size") == 4096
    assert s.get_metric("missing") is None
    assert s.get_metric("missing", -1) == -1
    with pytest.raises(ValueError):
        s.add_metric("a.size", 1, "int")
    assert s.get_metric("a.size") == 4096
    with pytest.raises(ValueError):
        s.add_metric("b", 1, "kilobytes")
    assert "b" not in s.metrics


def test_assigning_traces_replaces_data():
    s = hand_snapshot()
    s.traces = {1: (5, TB_B)}
    assert s.stats == {"/src/b.py": {20: (5, 1)}}
    assert s.top_by("address").stats == {1: (5, 1)}


@pytest.mark.parametrize("traces,stats,exc", [
    ({1: (1, "abc")}, None, TypeError),          # traceback not a sequence
    ({1: (1, (("a.py",),))}, None, ValueError),  # frame not a pair
    ({1: (1, ((b"a.py", 1),))}, None, TypeError),
    ({1: (1, (("a.py", "1"),))}, None, TypeError),
    ({1: (1, (("a.py", -5),))}, None, ValueError),
    ({1: (-1, ())}, None, ValueError),
    ({-1: (1, ())}, None, ValueError),
    ({"1": (1, ())}, None, TypeError),
    ({1: 5}, None, TypeError),
    (None, {"a.py": {1: (1,)}}, TypeError),
    (None, {"a.py": [(1, 1)]}, TypeError),
    (None, {"a.py": {1: (1, -1)}}, ValueError),
    ([], None, TypeError),
])
def test_bad_shapes_rejected(traces, stats, exc):
    with pytest.raises(exc):
        Snapshot(TS, 1, traces, stats).top_by("filename")


def test_lists_accepted_like_tuples():
    s = Snapshot(TS, 1, {1: [3, [["a.py", 2]]]})
    assert s.top_by("line").stats == {("a.py", 2): (3, 1)}


# ---- metric helpers (with a stand-in for the core's functions) -------------

def test_gc_metric():
    s = Snapshot(TS, 1)
    s.add_gc_metrics()
    assert s.metrics["gc.objects"].format == "int"
    assert s.get_metric("gc.objects") > 1000


@pytest.mark.parametrize("method,function,expected", [
    ("add_process_memory_metrics", "get_process_memory",
     [("process_memory.rss", 1000, "size"),
      ("process_memory.vms", 2000, "size")]),
    ("add_unicode_metrics", "get_unicode_interned",
     [("unicode_interned.size", 300, "size"),
      ("unicode_interned.len", 7, "int")]),
])
def test_pair_metrics_present_or_absent(fake_tracing, method, function,
                                        expected):
    s = Snapshot(TS, 1)
    getattr(s, method)()
    assert s.metrics == {name: Metric(name, value, format)
                         for name, value, format in expected}
    # the core answers None where the value cannot be read: no metric
    setattr(fake_tracing, function, lambda: None)
    s = Snapshot(TS, 1)
    getattr(s, method)()
    assert s.metrics == {}


def test_pymalloc_metrics_without_stats(fake_tracing):
    s = Snapshot(TS, 1)
    s.add_pymalloc_metrics()
    assert s.metrics == {"pymalloc.blocks": Metric("pymalloc.blocks", 42,
                                                   "int")}


def test_pymalloc_metrics_with_stats(fake_tracing):
    fake_tracing.get_pymalloc_stats = lambda: {
        "arenas": 3, "max_arenas": 5, "arena_size": 1000,
        "allocated_bytes": 2000, "available_bytes": 300, "free_pools": 2,
        "pool_size": 100}
    s = Snapshot(TS, 1)
    s.add_pymalloc_metrics()
    # size = 3 * 1000; free = 300 + 2 * 100; fragmentation = free / size
    assert {n: (m.value, m.format) for n, m in s.metrics.items()} == {
        "pymalloc.blocks": (42, "int"),
        "pymalloc.size": (3000, "size"),
        "pymalloc.max_size": (5000, "size"),
        "pymalloc.allocated": (2000, "size"),
        "pymalloc.free": (500, "size"),
        "pymalloc.fragmentation": (500 / 3000, "percent")}


def test_pymalloc_metrics_partial_stats(fake_tracing):
    fake_tracing.get_pymalloc_stats = lambda: {
        "arenas": 3, "arena_size": 1000, "allocated_bytes": 2000}
    s = Snapshot(TS, 1)
    s.add_pymalloc_metrics()
    # only what the stated keys give; no free, so no fragmentation
    assert {n: m.value for n, m in s.metrics.items()} == {
        "pymalloc.blocks": 42, "pymalloc.size": 3000,
        "pymalloc.allocated": 2000}


def test_tracemalloc_metrics(fake_tracing):
    s = hand_snapshot()
    s.add_tracemalloc_metrics()
    assert {n: (m.value, m.format) for n, m in s.metrics.items()} == {
        "tracemalloc.traced.size": (10, "size"),
        "tracemalloc.traced.max_size": (20, "size"),
        "tracemalloc.traces": (len(TRACES), "int"),
        "tracemalloc.module.size": (100, "size"),
        "tracemalloc.module.free": (25, "size"),
        "tracemalloc.module.fragmentation": (0.25, "percent"),
        "tracemalloc.arena_size": (4096, "size")}
    s = Snapshot(TS, 1, None, STATS)
    s.add_tracemalloc_metrics()
    assert "tracemalloc.traces" not in s.metrics


def test_create_needs_tracing(fake_tracing):
    fake_tracing.is_enabled = lambda: False
    with pytest.raises(RuntimeError):
        Snapshot.create()


# ---- files -------------------------------------------------------------------

def test_round_trip(tmp_path):
    s = Snapshot(TS, 4242, dict(TRACES), STATS)
    s.add_metric("n", -3, "int")
    s.add_metric("p", 0.125, "percent")
    s.add_metric("s", 2**40, "size")
    path = tmp_path / "a.tms"
    write_or_skip(s, path)
    t = Snapshot.load(path)
    assert t.timestamp == TS
    assert t.pid == 4242
    assert t.traceback_limit == 2
    assert t.traces == TRACES
    assert t.stats == STATS
    assert t.metrics == s.metrics
    assert isinstance(t.get_metric("p"), float)
    assert isinstance(t.get_metric("n"), int)
    # str path too, and a second write of a loaded snapshot
    write_or_skip(t, str(tmp_path / "b.tms"))
    u = Snapshot.load(str(tmp_path / "b.tms"))
    assert (u.traces, u.stats, u.metrics) == (TRACES, STATS, s.metrics)


def test_round_trip_odd_names_and_unknowns(tmp_path):
    traces = {1: (8, (("/t/\u00e9\u4e2d.py", 0), ("/t/\udcff.py", 2**31 - 1))),
              2**64 - 1: (0, ((None, 5), ("", None)))}
    s = Snapshot(TS, 1, traces)
    write_or_skip(s, tmp_path / "u.tms")
    assert Snapshot.load(tmp_path / "u.tms").traces == traces


def test_timestamp_keeps_nanoseconds(tmp_path):
    ns = 1380803696123456789
    data = _tmtrace.SnapshotData.from_dicts(ns, 7, {}, {}, 1)
    try:
        data.write(str(tmp_path / "ns.tms"))
    except RuntimeError as exc:
        if "not implemented" in str(exc):
            pytest.skip("libtms writer not built yet")
        raise
    s = Snapshot.load(tmp_path / "ns.tms")
    assert s.timestamp == datetime.datetime.fromtimestamp(
        1380803696).replace(microsecond=123456)
    write_or_skip(s, tmp_path / "ns2.tms")
    again = _tmtrace.SnapshotData.load(str(tmp_path / "ns2.tms"))
    assert again.timestamp_ns == ns
    # a changed timestamp is written to the microsecond
    s.timestamp = TS
    write_or_skip(s, tmp_path / "ns3.tms")
    assert Snapshot.load(tmp_path / "ns3.tms").timestamp == TS


def test_empty_traces_differ_from_none(tmp_path):
    write_or_skip(Snapshot(TS, 1, {}), tmp_path / "e.tms")
    write_or_skip(Snapshot(TS, 1, None, STATS), tmp_path / "n.tms")
    assert Snapshot.load(tmp_path / "e.tms").traces == {}
    n = Snapshot.load(tmp_path / "n.tms")
    assert n.traces is None and n.stats == STATS


def test_load_without_traces(tmp_path):
    write_or_skip(hand_snapshot(), tmp_path / "a.tms")
    s = Snapshot.load(tmp_path / "a.tms", traces=False)
    assert s.traces is None
    assert s.stats == STATS
    assert s.top_by("line").stats == {
        ("/src/a.py", 10): (150, 2), ("/src/b.py", 20): (7, 1),
        ("/src/b.py", None): (11, 1), (None, None): (4, 2)}
    with pytest.raises(ValueError):
        s.top_by("address")


def test_write_is_atomic_and_replaces(tmp_path):
    path = tmp_path / "a.tms"
    write_or_skip(hand_snapshot(), path)
    write_or_skip(Snapshot(TS, 2, {9: (1, TB_B)}), path)
    assert Snapshot.load(path).traces == {9: (1, TB_B)}
    assert sorted(os.listdir(tmp_path)) == ["a.tms"]   # no temp left


def test_missing_file_is_oserror(tmp_path):
    exc = raises_or_skip(OSError, Snapshot.load, tmp_path / "nope.tms")
    assert isinstance(exc, FileNotFoundError)
    assert "nope.tms" in str(exc)


@pytest.mark.parametrize("content", [b"", b"not a snapshot at all" * 10])
def test_corrupt_file_is_valueerror(tmp_path, content):
    path = tmp_path / "bad.tms"
    path.write_bytes(content)
    exc = raises_or_skip(ValueError, Snapshot.load, path)
    assert "bad.tms" in str(exc)


def test_truncated_file_is_valueerror(tmp_path):
    path = tmp_path / "a.tms"
    write_or_skip(hand_snapshot(), path)
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 1):
        path.write_bytes(data[:cut])
        with pytest.raises(ValueError):
            Snapshot.load(path)


def test_write_to_missing_directory_is_oserror(tmp_path):
    raises_or_skip(OSError, hand_snapshot().write,
                   tmp_path / "no" / "such" / "dir.tms")


# ---- a loaded snapshot keeps its tables in C --------------------------------

def test_no_python_objects_until_touched(tmp_path):
    n = 200_000
    tbs = [(("/big/f%d.py" % (i % 50), i % 1000 + 1), ("/big/main.py", 1))
           for i in range(500)]
    traces = {0x10000 + 64 * i: (32 + i % 7, tbs[i % 500]) for i in range(n)}
    path = tmp_path / "big.tms"
    write_or_skip(Snapshot(TS, 1, traces), path)
    del traces
    s = Snapshot.load(path)
    tracemalloc.start()
    try:
        top = s.top_by("line")
        diff = top.compare_to(s.top_by("line", True))
        diff.sort()
        first = diff.differences[:10]
        s.write(tmp_path / "copy.tms")
        _, peak = tracemalloc.get_traced_memory()
        assert len(first) == 10
        # the 500 line keys and a few lists, nothing per trace
        assert peak < 1_000_000, peak
        tracemalloc.reset_peak()
        assert len(s.traces) == n
        _, peak = tracemalloc.get_traced_memory()
        assert peak > 10_000_000      # what the dict costs, for contrast
    finally:
        tracemalloc.stop()


def test_threads_write_while_others_run(tmp_path):
    import threading
    traces = {64 * i: (16 + i % 9, (("/w/f%d.py" % (i % 40), i % 300),))
              for i in range(100_000)}
    write_or_skip(Snapshot(TS, 1, traces), tmp_path / "src.tms")
    s = Snapshot.load(tmp_path / "src.tms")
    data = s._data
    paths = [tmp_path / ("t%d.tms" % k) for k in range(3)]
    threads = [threading.Thread(target=data.write, args=(str(p),))
               for p in paths]
    for t in threads:
        t.start()
    # writes run without the GIL; mutators meanwhile either wait for an
    # idle moment or are refused, never tear a file being written
    while any(t.is_alive() for t in threads):
        try:
            data.add_metric("late", 1, "int")
            data.set_metrics([])
        except RuntimeError as exc:
            assert "being written" in str(exc)
    for t in threads:
        t.join()
    for p in paths:
        assert Snapshot.load(p).traces == traces
    assert data.ntraces == len(traces)


def test_apply_filters_on_loaded_snapshot(tmp_path):
    from tmtrace._filter import Filter
    write_or_skip(hand_snapshot(), tmp_path / "a.tms")
    s = Snapshot.load(tmp_path / "a.tms")
    assert s.traces == TRACES          # a view built before filtering
    s.apply_filters([Filter(True, "/src/b.py")])
    assert s.traces == {k: v for k, v in TRACES.items()
                        if v[1] and v[1][0][0] == "/src/b.py"}
    assert s.stats == {"/src/b.py": {20: (7, 1), None: (11, 1)}}


# ---- Snapshot.create with the real core --------------------------------------

def test_create_live():
    tracing = core_or_skip()
    was = tracing.is_enabled()
    tracing.enable()
    try:
        blob = [bytearray(1000) for _ in range(10)]   # noqa: F841
        s = Snapshot.create(traces=True)
        assert abs((datetime.datetime.now() - s.timestamp).total_seconds()) \
            < 60
        assert s.pid == os.getpid()
        assert s.traceback_limit == tracing.get_traceback_limit()
        assert s.traces and s.stats
        assert s.get_metric("gc.objects") > 0
        assert s.get_metric("tracemalloc.traces") == len(s.traces)
        assert s.get_metric("pymalloc.blocks") > 0
        if tracing.get_unicode_interned() is not None:
            assert "unicode_interned.len" in s.metrics
        plain = Snapshot.create()
        assert plain.traces is None and plain.stats
        assert "tracemalloc.traces" not in plain.metrics
        assert Snapshot.create(metrics=False).metrics == {}
    finally:
        if not was:
            tracing.disable()
