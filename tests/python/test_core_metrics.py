"""Metric functions: values checked against independent readings."""
import os
import sys

import pytest

import core_alloc
import tmtrace
from core_support import only_file, tracer  # noqa: F401

PEP_PYMALLOC_KEYS = {
    "alignment", "threshold", "nalloc", "arena_size", "total_arenas",
    "max_arenas", "arenas", "allocated_bytes", "available_bytes",
    "pool_size", "free_pools", "pool_headers", "quantization",
    "arena_alignment"}


def _status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise AssertionError(field)


def test_process_memory_matches_proc_status():
    rss, vms = tmtrace.get_process_memory()
    vm_size = _status_kib("VmSize")
    vm_rss = _status_kib("VmRSS")
    assert abs(vms - vm_size) <= 1 << 20
    assert abs(rss - vm_rss) <= 1 << 20
    assert 0 < rss <= vms


@pytest.mark.skipif(not hasattr(tmtrace, "get_pymalloc_stats"),
                    reason="the counter is pymalloc's (0 without it)")
def test_allocated_blocks_counts_new_objects():
    before = tmtrace.get_allocated_blocks()
    keep = [object() for _ in range(10000)]
    assert tmtrace.get_allocated_blocks() - before >= 10000
    del keep


@pytest.mark.skipif(not hasattr(tmtrace, "get_pymalloc_stats"),
                    reason="pymalloc not in use")
def test_pymalloc_stats_are_consistent():
    stats = tmtrace.get_pymalloc_stats()
    assert set(stats) <= PEP_PYMALLOC_KEYS
    assert stats["threshold"] == 512
    assert stats["alignment"] == 16  # 64-bit CPython 3.8+
    if sys.version_info >= (3, 10):
        assert (stats["arena_size"], stats["pool_size"]) == (1 << 20, 1 << 14)
    else:
        assert (stats["arena_size"], stats["pool_size"]) == (1 << 18, 1 << 12)
    assert stats["total_arenas"] >= stats["max_arenas"] >= stats["arenas"] >= 1
    # obmalloc's own identity: every byte of the live arenas is accounted
    # for by exactly one of these lines.
    parts = (stats["allocated_bytes"] + stats["available_bytes"] +
             stats["free_pools"] * stats["pool_size"] + stats["pool_headers"]
             + stats["quantization"] + stats["arena_alignment"])
    assert parts == stats["arenas"] * stats["arena_size"]


@pytest.mark.skipif(not hasattr(tmtrace, "get_pymalloc_stats"),
                    reason="pymalloc not in use")
def test_arena_size_counts_arenas_made_while_tracing(tracer):
    arena = tmtrace.get_pymalloc_stats()["arena_size"]
    tracer.clear_traces()
    assert tracer.get_arena_size() == 0
    before = tmtrace.get_pymalloc_stats()["arenas"]
    keep = []
    made = 0
    while made < 2 and len(keep) < 200:   # free pools are used up first
        keep.append([object() for _ in range(50000)])
        made = tmtrace.get_pymalloc_stats()["arenas"] - before
    assert made >= 2
    assert tracer.get_arena_size() % arena == 0
    assert tracer.get_arena_size() >= made * arena
    tracer.clear_traces()
    assert tracer.get_arena_size() == 0
    del keep


def test_tracemalloc_memory_grows_with_traces_and_is_released(tracer):
    only_file(core_alloc.FILE)
    size0, free0 = tracer.get_tracemalloc_memory()
    assert 0 <= free0 < size0
    keep = [core_alloc.make_bytes(10) for _ in range(100000)]
    size1, free1 = tracer.get_tracemalloc_memory()
    # 100000 traces of at least one 8-byte cell each (tracetab.c), in
    # tables the module owns.
    assert size1 - size0 >= 100000 * 8
    assert free1 < size1
    del keep
    # The trace table shrinks back once the blocks are gone: the leaves
    # halve, and empty ones are swept.
    size2, _ = tracer.get_tracemalloc_memory()
    assert size2 < size1 - 100000 * 6
    tracer.disable()
    size3, _ = tracer.get_tracemalloc_memory()
    assert size3 <= size2


def test_unicode_interned():
    r = tmtrace.get_unicode_interned()
    if sys.version_info < (3, 12):
        assert r is None   # a static dict of unicodeobject.c: unreadable
        return
    size, length = r
    new = sys.intern("tmtrace-%d-unique" % os.getpid())
    size2, length2 = tmtrace.get_unicode_interned()
    assert length2 == length + 1
    assert size2 >= size
    assert new is sys.intern("tmtrace-%d-unique" % os.getpid())
