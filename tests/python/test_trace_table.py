"""The trace table on a heap that exercises every shape it takes
(tracetab.c): dense chunks whose leaves become direct arrays (16-byte
objects), hashed leaves of every size, blocks too big for a cell (the side
map), leaves that shrink and empty leaves swept after mass frees, and
addresses reused after a free.

Oracles, independent of the table: every object here is one block, so
its trace's size is sys.getsizeof(obj) (CPython's own figure): each
line's live traces must hold its list's objects' sizes and at most a few
more blocks (so no freed block is left); and CPython's tracemalloc, run
at the same time (ours above it and below it), must agree.
"""
import collections
import random
import sys
import tracemalloc

import pytest

import tmtrace

BIG = 3 << 20   # beyond a cell's 21-bit size field


def line_sizes(lines):
    """Ours and tracemalloc's live trace sizes per line of lines."""
    ours = {line: collections.Counter() for line in lines}
    for size, frames in tmtrace.get_traces().values():
        if frames and frames[0][0] == __file__ and frames[0][1] in ours:
            ours[frames[0][1]][size] += 1
    theirs = {line: collections.Counter() for line in lines}
    if tracemalloc.is_tracing():
        for trace in tracemalloc.take_snapshot().traces:
            frame = trace.traceback[0]
            if frame.filename == __file__ and frame.lineno in theirs:
                theirs[frame.lineno][trace.size] += 1
    return ours, theirs


# Besides its objects, a line may hold the list's block and a few blocks
# of the interpreter's (a comprehension's function, a bound method).
EXTRA = 4


# Hooked below CPython's tracemalloc, we also trace what it allocates
# through us (its 16-byte table entries, at the line being traced), so
# there only containment is checked.
BELOW = [False]


def check(lists):
    """lists: {line: list of objects made on that line}."""
    ours, theirs = line_sizes(list(lists))
    for line, objs in lists.items():
        want = collections.Counter(sys.getsizeof(o) for o in objs)
        # every live object traced with its size, no freed one left
        assert not want - ours[line], line
        if not BELOW[0]:
            assert sum(ours[line].values()) - len(objs) <= EXTRA, line
        if tracemalloc.is_tracing():
            assert not want - theirs[line], line
            if not BELOW[0]:
                assert abs(sum(theirs[line].values()) -
                           sum(ours[line].values())) <= 2, line
        for obj in objs[::max(1, len(objs) // 2000)] + objs[-3:]:
            size, frames = tmtrace.get_object_trace(obj)
            assert (size, frames[0]) == (sys.getsizeof(obj), (__file__, line))


def phases():
    rng = random.Random(15)
    first = sys._getframe().f_lineno + 1
    tiny = [object() for _ in range(30000)]                  # 16-byte blocks
    mixed = [bytes(rng.randrange(2, 400)) for _ in range(20000)]
    mid = [bytes(rng.randrange(600, 5000)) for _ in range(300)]
    big = [bytes(BIG) for _ in range(3)]
    lists = dict(zip(range(first, first + 4), (tiny, mixed, mid, big)))
    check(lists)
    # Free 60% in random order: leaves shrink, some chunks empty.
    for objs in lists.values():
        rng.shuffle(objs)
        del objs[:len(objs) * 3 // 5]
    check(lists)
    # Reuse the freed addresses.
    again = [bytes(rng.randrange(2, 200)) for _ in range(15000)]
    lists[sys._getframe().f_lineno - 1] = again
    big2 = [bytes(BIG + 5)]
    lists[sys._getframe().f_lineno - 1] = big2
    big.pop(0)
    check(lists)
    # All but one list gone: empty leaves are swept.
    for line in list(lists)[:4] + list(lists)[5:]:
        lists[line].clear()
    check(lists)
    again.clear()
    check(lists)


@pytest.fixture
def both():
    tmtrace.disable()
    assert not tracemalloc.is_tracing()
    old_limit = tmtrace.get_traceback_limit()
    tmtrace.set_traceback_limit(1)
    yield
    tmtrace.disable()
    tracemalloc.stop()
    tmtrace.set_traceback_limit(old_limit)


def test_table_agrees_with_tracemalloc_ours_above(both):
    tracemalloc.start(1)
    tmtrace.enable()
    phases()


def test_table_agrees_with_tracemalloc_ours_below(both):
    tmtrace.enable()
    tracemalloc.start(1)
    BELOW[0] = True
    try:
        phases()
    finally:
        BELOW[0] = False


def test_table_alone(both):
    tmtrace.enable()
    phases()


def test_big_block_found_by_address(both):
    tmtrace.enable()
    b = bytes(BIG)
    small = bytes(100)
    assert tmtrace.get_object_trace(b)[0] == sys.getsizeof(b)
    assert tmtrace.get_object_trace(small)[0] == sys.getsizeof(small)
    size0 = tmtrace.get_traced_memory()[0]
    del b
    assert tmtrace.get_traced_memory()[0] <= size0 - BIG


def test_alternating_lines_keep_their_tracebacks(both):
    # The per-thread cache holds the last two tracebacks (hooks.c): a
    # loop allocating on two or three lines must still give every block
    # its own line, at 1 frame and at 25.
    for limit in (1, 25):
        tmtrace.set_traceback_limit(limit)
        tmtrace.enable()
        first = sys._getframe().f_lineno + 3
        a, b, c = [], [], []
        for i in range(3000):
            a.append(bytes(i % 50 + 2))
            b.append(bytes(i % 70 + 2))
            if i % 3 == 0:
                c.append(bytes(i % 90 + 2))
        for line, objs in zip((first, first + 1, first + 3), (a, b, c)):
            for obj in objs:
                frames = tmtrace.get_object_trace(obj)[1]
                assert frames[0] == (__file__, line)
        tmtrace.disable()


def test_every_leaf_size_up_and_down(both):
    # Leaf sizes are not all powers of two (4, 8, ..., 256, 384, 512, 768,
    # then a direct 1024): probes wrap by comparison.  A pool of
    # 16-byte blocks (about 1,000 per 16 KiB) climbs every step, then
    # random frees walk it back down; each level is checked, so a wrong
    # wrap in lookup or in the backward-shift deletion shows here (a trace
    # moved before its home cell is walked but never found: its free
    # leaves it behind).
    N = 60000   # about 60 pools, so that many clusters wrap
    tmtrace.enable()
    rng = random.Random(24)
    line = sys._getframe().f_lineno + 1
    objs = [object() for _ in range(N)]
    lists = {line: objs}
    check(lists)
    for keep in (700, 500, 380, 250, 190, 120, 90, 60, 45, 30, 20, 12, 6,
                 3, 1, 0):   # per mille of N
        rng.shuffle(objs)
        del objs[N * keep // 1000:]
        check(lists)
