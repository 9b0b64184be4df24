"""The lean hook set installed while sampling (src/tracer/hooks_sampled.c).

While sampling, the hooks on top are a countdown for allocations and a
filter for frees that lets most frees skip the trace table.  What is
recorded must be what the full hooks record:

* a free never leaves the trace of a sampled block behind, also when the
  allocator hands the same address out again at once (its free list), and
  when the RAW domain is called without the GIL;
* switching sampling off at runtime gives the PEP's exact semantics at
  once, both when our hooks are on top (the sets are swapped) and when
  CPython's tracemalloc sits above them (the lean set stays installed and
  must then behave exactly): checked against tracemalloc itself, with the
  oracle test's objects and rules.
"""
import os
import sys
import tracemalloc

import pytest

import tmtrace
from test_oracle import LIMIT, build_objects, check_agreement

EXT_DIR = os.environ.get("TMTRACE_TEST_EXT_DIR")
# Sizes no other block of the process has: traces are counted by size.
BIG = 1_000_003     # kept with p = 1 - exp(-BIG / 4096): always
SMALL = 1_999       # at an interval of 64 bytes: kept but once in 3e13


def traces_of(size):
    return sum(1 for s, _tb in tmtrace.get_traces().values() if s == size)


@pytest.fixture
def sampling():
    tmtrace.disable()
    assert not tracemalloc.is_tracing()
    old_limit = tmtrace.get_traceback_limit()
    yield
    tmtrace.disable()
    tracemalloc.stop()
    tmtrace.set_sampling(0)
    tmtrace.set_traceback_limit(old_limit)


def test_frees_remove_every_sampled_trace(sampling):
    tmtrace.set_sampling(64, 7)
    tmtrace.enable()
    keep = [bytearray(SMALL - 1) for _ in range(20000)]
    assert traces_of(SMALL) == 20000
    del keep[::2]                       # every other one, from the middle
    assert traces_of(SMALL) == 10000
    # The free list hands the freed addresses out again and again: each
    # new block is traced, each free must find it.
    for _ in range(30000):
        t = bytearray(SMALL - 1)
        del t
    assert traces_of(SMALL) == 10000
    del keep
    assert traces_of(SMALL) == 0


def traces_at(line):
    return sum(1 for _s, tb in tmtrace.get_traces().values()
               if tb and tb[0] == (__file__, line))


def test_resizes_move_the_trace(sampling):
    """A resized sampled block's trace moves with it; the old address,
    which the allocator hands out again, holds none."""
    tmtrace.set_sampling(64, 11)
    tmtrace.enable()
    keep = []
    for i in range(3000):
        b = bytearray(SMALL - 1)
        b += bytes(3000 + i % 5)        # co_firstlineno + 8
        keep.append(b)
    del b
    line = test_resizes_move_the_trace.__code__.co_firstlineno + 8
    assert traces_at(line) == 3000
    del keep[1000:]
    assert traces_at(line) == 1000
    del keep
    assert traces_at(line) == 0
    assert traces_of(SMALL) == 0


def sf_hash(addr):
    """The free filter's hash of an address (hookstate.h's tmt_sf_bit)."""
    return ((addr * 0x9E3779B97F4A7C15) & (2**64 - 1)) >> (64 - 16)


def buffer_address(b):
    import ctypes
    c = ctypes.c_char.from_buffer(b)
    addr = ctypes.addressof(c)
    del c                               # the bytearray may resize again
    return addr


def test_recount_during_a_moving_resize(sampling):
    """The filter is recounted from the table now and then, on a new
    trace; when that is the new trace of a moved resize, the old trace has
    left the table already, and the count of its hash holds only the other
    traces there.  The resize must not take the old one off again: the
    bit would say "no trace" while another block of that hash has one,
    whose free would then leave its trace behind (test_resizes_move_the_
    trace's rare 1001 traces for 1000).  Here each resize moves (out of
    pymalloc) a block whose hash a second block has, freed just after;
    the resizes are about half a recount period: without the fix a round
    caught it 10 times in 10 runs by its 13th round (about one in three),
    so 32 rounds miss it about once in 10^6 runs."""
    import ctypes  # noqa: F401  (imported before tracing)
    size = 487                          # kept with p = 1 - exp(-487 / 64)
    tmtrace.set_sampling(64, 13)
    tmtrace.enable()
    for _round in range(32):
        # Blocks in a row have hashes apart (the hash is Fibonacci's):
        # pairs are found between two rows, pymalloc's and malloc's.
        # How many pairs a row gives depends on where the allocator puts
        # blocks (under ASan: about half as many): rows are added until
        # there are enough.
        pairs = []
        for _row in range(8):
            others = {sf_hash(buffer_address(b)): b
                      for b in [bytearray(SMALL - 1) for _ in range(4000)]}
            for a in [bytearray(size - 1) for _ in range(10000)]:
                b = others.pop(sf_hash(buffer_address(a)), None)
                if b is not None:
                    pairs.append((a, b))
            del others, a, b
            if len(pairs) > 200:
                break
        for _ in range(12000):          # a recount now: its period is the
            t = bytearray(size - 1)     # traces there, the pairs' and few
            del t                       # others
        assert len(pairs) > 200
        while pairs:                    # the only new traces: the resizes'
            a, b = pairs.pop()
            a *= 20
            del b
        del a
        assert traces_of(SMALL) == 0


def test_raw_domain_without_the_gil(sampling):
    sys.path.insert(0, EXT_DIR)
    try:
        import _tmt_tracktest as ext
    finally:
        sys.path.remove(EXT_DIR)
    tmtrace.set_sampling(4096, 3)
    tmtrace.enable()
    for alloc_nogil in (False, True):
        for free_nogil in (False, True):
            blocks = [ext.raw_alloc(BIG, alloc_nogil) for _ in range(50)]
            assert traces_of(BIG) == 50, (alloc_nogil, free_nogil)
            for p in blocks:
                ext.raw_free(p, free_nogil)
            assert traces_of(BIG) == 0, (alloc_nogil, free_nogil)


@pytest.mark.parametrize("ours_on_top", [True, False])
def test_exact_again_when_sampling_stops(sampling, ours_on_top):
    """On top, the full set replaces the lean one; below tracemalloc the
    lean set stays installed and must record exactly."""
    tmtrace.set_traceback_limit(LIMIT)
    if ours_on_top:
        tracemalloc.start(LIMIT)
        tmtrace.enable()                # the full set
        tmtrace.set_sampling(4096, 5)   # swapped for the lean one
    else:
        tmtrace.set_sampling(4096, 5)
        tmtrace.enable()                # the lean set
        tracemalloc.start(LIMIT)        # above it
    sampled = build_objects(200)
    tmtrace.set_sampling(0)
    objs = build_objects(400)
    check_agreement(objs)
    del sampled


def test_sampling_again_after_exact(sampling):
    """Exact, then sampled at runtime: frees of blocks traced while exact
    were cleared with the traces; the new sampled ones are found."""
    tmtrace.enable()
    keep = [bytearray(SMALL - 1) for _ in range(1000)]
    assert traces_of(SMALL) == 1000
    tmtrace.set_sampling(64, 9)
    assert traces_of(SMALL) == 0        # a new interval clears the traces
    more = [bytearray(SMALL - 1) for _ in range(1000)]
    assert traces_of(SMALL) == 1000
    del keep
    assert traces_of(SMALL) == 1000
    del more
    assert traces_of(SMALL) == 0
