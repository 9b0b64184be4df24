"""Issue 15 item 3: a snapshot written with its traces streamed from the
live tables (Snapshot.write_live, the task's scheduled writes, the
runner's files) holds what the whole-snapshot path writes.

Oracle: the independent decoder (tests/format/tms_ref.py) reads both files;
the whole-snapshot path (take_snapshot_data + tms_snapshot_save) writes the
same instant (write_live_snapshot's `whole` argument, while the GIL is still
held), so traces, stats, peak, function names, tracebacks and the sampling
section must agree exactly.  Traces are compared as sets: the streamed file
sorts them per chunk, the whole path globally.
"""
import os
import sys

import _tmtrace
import core_alloc
from core_support import tracer  # noqa: F401

ROOT = os.environ.get("TMTRACE_SOURCE_ROOT",
                      os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "format"))
import tms_ref  # noqa: E402


def decode(path):
    with open(path, "rb") as f:
        return tms_ref.decode(f.read())


def resolved(d):
    """The decoded file with ids replaced by what they name, so files
    that number their dictionaries differently could still be compared."""
    strs, frames, tbs = d["strings"], d["frames"], d["tracebacks"]

    def frame(f):
        fn, line = frames[f]
        return (None if fn is None or fn >= len(strs) else strs[fn], line)

    def tb(t):
        return tuple(frame(f) for f in tbs[t])

    traces = sorted((a, s, tb(t)) for a, s, t in d["traces"])
    return {
        "traces": traces,
        "stats": sorted(((frame(f), s, c) for f, s, c in d["stats"]),
                        key=repr),
        "peak": d["peak"],
        "functions": sorted(((frame(f), strs[n])
                             for f, n in d["functions"]), key=repr),
        "sample_interval": d["sample_interval"],
        "limit": d["header"]["traceback_limit"],
        "meta": sorted(map(tuple, d["meta"])),
        "metrics": {m["name"]: (m["format"], m["value"])
                    for m in d["metrics"]},
        "strings": strs, "frames": frames, "tracebacks": tbs,
    }


def write_pair(tmp_path, metrics=()):
    # bytes paths: converting a str would allocate (a traced bytes object
    # alive during the export) and the test's own state would move.
    stream = os.fsencode(str(tmp_path / "stream.tms"))
    whole = os.fsencode(str(tmp_path / "whole.tms"))
    names = list(metrics)
    _tmtrace.write_live_snapshot(stream, True, names, "tracemalloc.traces",
                                 whole)
    return resolved(decode(stream)), resolved(decode(whole))


def test_streamed_equals_whole_many_chunks(tracer, tmp_path):
    tracer.set_traceback_limit(5)
    tracer.clear_traces()
    # 150,000 blocks: 37 of the tracer's 4,096-trace chunks and 3 of the
    # writer's 65,536-trace TRCS chunks; one block without a traceback.
    keep = [core_alloc.make_bytes(40 + i % 300) for i in range(150_000)]
    keep += core_alloc.churn(300, 7)
    p = core_alloc.nogil_raw_malloc(999)
    try:
        st, wh = write_pair(tmp_path, [("user.x", 7, "int")])
    finally:
        core_alloc.nogil_raw_free(p)
    assert len(st["traces"]) >= 150_000
    assert st["traces"] == wh["traces"]
    # Same dictionaries, same ids: streamed traces name the same entries.
    for key in ("strings", "frames", "tracebacks", "stats", "peak",
                "functions", "sample_interval", "limit", "meta"):
        assert st[key] == wh[key], key
    assert st["peak"] is not None
    assert st["functions"]
    # the block allocated without the GIL: no frame
    assert [t for t in st["traces"] if t[1] == 999 and t[2] == ()]
    assert st["metrics"] == wh["metrics"]
    assert st["metrics"]["user.x"] == ("int", 7)
    assert st["metrics"]["tracemalloc.traces"] == ("int", len(st["traces"]))
    del keep


def test_streamed_sampled(tracer, tmp_path):
    tracer.set_sampling(4096, 5)
    try:
        keep = [core_alloc.make_bytes(1000 + i % 50) for i in range(20_000)]
        st, wh = write_pair(tmp_path)
    finally:
        tracer.set_sampling(0)
    assert st["sample_interval"] == 4096
    assert 0 < len(st["traces"]) < 20_000
    assert st == wh
    del keep


def test_write_live_public_api(tracer, tmp_path):
    keep = [core_alloc.make_bytes(5000) for _ in range(100)]
    path = str(tmp_path / "live.tms")
    tracer.Snapshot.write_live(path, traces=True)
    assert os.stat(path).st_mode & 0o777 == 0o600
    d = resolved(decode(path))
    assert d["metrics"]["tracemalloc.traces"] == ("int", len(d["traces"]))
    assert "gc.objects" in d["metrics"] or "gc.count0" in d["metrics"] or \
        len(d["metrics"]) > 3
    big = [t for t in d["traces"] if t[1] == sys.getsizeof(keep[0]) - 0]
    assert len(big) >= 100
    # Read back by libtms: the same traces.
    snap = tracer.Snapshot.load(path)
    assert sorted((a, s) for a, (s, _) in snap._cdata().build_traces().items()) \
        == sorted((a, s) for a, s, _ in d["traces"])
    del keep


def test_write_live_failure_leaves_nothing(tracer, tmp_path):
    missing = str(tmp_path / "no" / "such" / "dir" / "x.tms")
    try:
        tracer.Snapshot.write_live(missing, traces=True)
    except FileNotFoundError:
        pass
    else:
        raise AssertionError("write into a missing directory succeeded")
    assert os.listdir(tmp_path) == []


def test_scheduled_task_streams(tracer, tmp_path):
    """A scheduled TakeSnapshotTask call with no callback writes through
    write_live (no Snapshot object: it returns the name); with a callback
    it still hands the callback the snapshot."""
    keep = [core_alloc.make_bytes(7000) for _ in range(50)]
    task = tracer.TakeSnapshotTask(str(tmp_path / "s-$counter.tms"),
                                   traces=True)
    name = task._call_on_schedule()
    assert name == str(tmp_path / "s-0001.tms")
    d = resolved(decode(name))
    size = sys.getsizeof(keep[0])
    assert len([t for t in d["traces"] if t[1] == size]) >= 50
    assert d["metrics"]["tracemalloc.traces"] == ("int", len(d["traces"]))
    got = []
    task.callback = got.append
    snap, name2 = task._call_on_schedule()
    assert got == [snap] and name2 == str(tmp_path / "s-0002.tms")
    del keep
