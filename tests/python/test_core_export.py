"""tmt_core_export (through _tmtrace.take_snapshot_data): the snapshot's
traces and stats are the live tables' (compared with get_traces and
get_stats, built by a separate path), and its header carries the limit
and the process's series id."""
import _tmtrace
import core_alloc
from core_support import collector_off, only_file, tracer  # noqa: F401


def test_export_matches_queries(tracer):
    tracer.set_traceback_limit(5)
    # Everything but this file's own bookkeeping (the calls below) is
    # traced, blocks without frames included.
    tracer.clear_filters()
    tracer.add_exclude_filter(__file__)
    tracer.clear_traces()
    keep = [core_alloc.make_bytes(100 + i) for i in range(300)]
    keep += core_alloc.churn(500, 3)
    p = core_alloc.nogil_raw_malloc(999)   # empty traceback, unknown frame
    # The three reads see one heap (everything but this file is traced,
    # a finalizer run by a collection between them too).  The snapshot
    # comes first: its call makes an argument tuple here, and from 3.13 a
    # tuple reusing a traced block from the free list takes this line,
    # filtered out, and its trace goes; the queries take no arguments.
    try:
        with collector_off():
            data = _tmtrace.take_snapshot_data(True)
            traces = tracer.get_traces()
            stats = tracer.get_stats()
    finally:
        core_alloc.nogil_raw_free(p)
    assert data.traceback_limit == 5
    assert data.ntraces == len(traces)
    # SnapshotData keeps tracebacks as tuples; get_traces gives lists.
    assert data.build_traces() == {a: (s, tuple(tb))
                                   for a, (s, tb) in traces.items()}
    assert data.build_stats() == stats
    assert stats[None][None] == (999, 1)
    del keep


def test_export_without_traces_keeps_stats(tracer):
    only_file(core_alloc.FILE)
    keep = [core_alloc.make_bytes(1000) for _ in range(10)]
    data = _tmtrace.take_snapshot_data(False)
    assert not data.has_traces
    stats = data.build_stats()
    (lines,) = stats.values()
    assert sum(c for _, c in lines.values()) == 10
    assert sum(s for s, _ in lines.values()) == 10 * (1000 + 33)
    del keep


def test_series_id_is_stable_and_random(tracer):
    a = _tmtrace.get_series_id()
    assert len(a) == 16 and a == _tmtrace.get_series_id()
    assert a != bytes(16)
