"""Threads allocating at once give exact totals; fork disables the child
without deadlock and gives it its own series."""
import os
import sys
import threading

import pytest

import _tmtrace
import core_alloc
import tmtrace
from core_support import collector_off, consistent, only_file, tracer  # noqa: F401


def _run_threads(n, target, *args):
    threads = [threading.Thread(target=target, args=(i,) + args)
               for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_threads_exact_totals(tracer):
    tracer.set_traceback_limit(5)
    only_file(core_alloc.FILE)
    kept = {}

    def work(i):
        kept[i] = core_alloc.churn(4000, i)

    _run_threads(8, work)
    assert consistent()
    # The survivors are traced with their exact sizes.
    for keep in kept.values():
        for d, lst, s in keep[:-1]:
            assert tracer.get_object_trace(s) == (
                sys.getsizeof(s), tracer.get_object_trace(s)[1])
    kept.clear()
    assert consistent()


def test_gil_free_raw_threads_exact(tracer):
    tracer.clear_filters()  # an include filter would drop empty tracebacks
    results = {}

    def work(i):
        blocks = []
        for k in range(3000):
            blocks.append(core_alloc.nogil_raw_malloc(16 + (k * 7 + i) % 500))
            if k % 3 == 0:
                core_alloc.nogil_raw_free(blocks.pop(0))
        results[i] = blocks

    _run_threads(8, work)
    traces = tracer.get_traces()
    for i, blocks in results.items():
        for k, p in enumerate(blocks):
            # Sizes are known from the loop: block k of thread i.
            assert traces[p][1] == []            # no GIL, no frames
        sizes = sorted(traces[p][0] for p in blocks)
        expected = sorted(16 + (k * 7 + i) % 500 for k in range(3000))
        assert set(sizes) <= set(expected)
    assert consistent()
    for blocks in results.values():
        for p in blocks:
            core_alloc.nogil_raw_free(p)
    assert consistent()


def test_blocks_cross_between_gil_and_no_gil(tracer):
    # Blocks made with the GIL and freed or resized without it, and the
    # reverse: what GIL-less calls record is applied before the next
    # query, in order.  This file's own objects are not traced.
    tracer.clear_filters()
    tracer.add_exclude_filter(__file__)
    tracer.clear_traces()
    a = core_alloc.malloc("PyMem_Raw", 1111)          # with the GIL
    b = core_alloc.nogil_raw_malloc(2222)             # without
    assert tracer.get_trace(a)[0] == 1111
    assert tracer.get_trace(b) == (2222, ())
    core_alloc.nogil_raw_free(a)
    assert tracer.get_trace(a) is None
    core_alloc.free("PyMem_Raw", b)
    assert tracer.get_trace(b) is None
    c = core_alloc.malloc("PyMem_Raw", 3333)
    d = core_alloc.nogil_raw_realloc(c, 400000)       # moves
    assert tracer.get_trace(d) == (400000, ())
    if d != c:
        assert tracer.get_trace(c) is None
    e = core_alloc.realloc("PyMem_Raw", d, 500000)
    assert tracer.get_trace(e)[0] == 500000
    f = core_alloc.nogil_raw_realloc(e, 16)
    assert tracer.get_trace(f) == (16, ())
    # Many GIL-less malloc/free pairs never seen by a GIL holder cancel
    # (read with the collector off: everything but this file is traced).
    with collector_off():
        before = tracer.get_traced_memory()[0]
        for _ in range(1000):
            core_alloc.nogil_raw_free(core_alloc.nogil_raw_malloc(64))
        core_alloc.nogil_raw_free(f)
        after = tracer.get_traced_memory()[0]
    assert after == before - 16
    assert consistent()


def _child(check):
    """Run check() in a forked child; its exit code tells the parent."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = 0 if check() else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_fork_child_is_disabled(tracer):
    keep = bytes(5000)
    parent_series = _tmtrace.get_series_id()

    def check():
        if tracer.is_enabled() or tracer.get_traces() != {}:
            return False
        if tracer.get_object_trace(keep) is not None:
            return False
        if _tmtrace.get_series_id() == parent_series:
            return False
        size, free = tracer.get_tracemalloc_memory()
        # Released: the child may start again from scratch.
        tracer.enable()
        x = bytes(7000)
        ok = tracer.get_object_trace(x)[0] == sys.getsizeof(x)
        tracer.disable()
        return ok and size < 1 << 20

    assert _child(check) == 0
    assert tracer.is_enabled()
    assert tracer.get_object_trace(keep)[0] == sys.getsizeof(keep)
    assert _tmtrace.get_series_id() == parent_series


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@pytest.mark.filterwarnings("ignore:This process.*is multi-threaded")
def test_fork_while_threads_allocate_no_deadlock(tracer):
    stop = threading.Event()

    def busy(i):
        while not stop.is_set():
            core_alloc.churn(200, i)
            p = core_alloc.nogil_raw_malloc(64)
            core_alloc.nogil_raw_free(p)

    threads = [threading.Thread(target=busy, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    try:
        for _ in range(20):
            def check():
                y = [str(i) for i in range(1000)]
                return not tracer.is_enabled() and len(y) == 1000
            assert _child(check) == 0
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert consistent()


def _subinterpreters():
    for name in ("_interpreters", "_xxsubinterpreters"):
        try:
            return __import__(name)
        except ImportError:
            pass
    return None


@pytest.mark.skipif(_subinterpreters() is None, reason="no subinterpreters")
def test_subinterpreters_allocate_while_tracing(tracer):
    # Their blocks go to the tables (one GIL) or through the pending map
    # (3.12+: possibly their own GIL); either way totals stay exact.
    si = _subinterpreters()
    tracer.set_traceback_limit(5)
    keep = bytes(1234)
    code = "x = [str(i) * 10 for i in range(20000)]\nimport json\n" \
           "y = json.dumps(x)\n"
    for _ in range(3):
        iid = si.create()
        getattr(si, "run_string", getattr(si, "exec", None))(iid, code)
        si.destroy(iid)
    assert consistent()
    assert tracer.get_object_trace(keep)[0] == sys.getsizeof(keep)


@pytest.mark.parametrize("after_subinterpreter", [False, True])
def test_clear_and_queries_while_gil_less_threads_churn(tracer,
                                                        after_subinterpreter):
    # Resets and queries race with GIL-less malloc/realloc/free: no crash,
    # no trace left behind for freed blocks, exact totals at the end.
    # After a subinterpreter has existed, CPython <= 3.11's PyGILState_Check
    # says "yes" to every thread: GIL ownership must not depend on it.
    if after_subinterpreter:
        si = _subinterpreters()
        if si is None:
            pytest.skip("no subinterpreters")
        si.destroy(si.create())
    tracer.clear_filters()
    stop = threading.Event()
    live = {}

    def churn(i):
        blocks = []
        k = 0
        while not stop.is_set():
            k += 1
            p = core_alloc.nogil_raw_malloc(32 + k % 300)
            p = core_alloc.nogil_raw_realloc(p, 64 + k % 700)
            blocks.append(p)
            if len(blocks) > 50:
                core_alloc.nogil_raw_free(blocks.pop(0))
        live[i] = blocks

    threads = [threading.Thread(target=churn, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    try:
        for n in range(3000 if after_subinterpreter else 200):
            if n % 10 == 0:
                tracer.clear_traces()
            tracer.get_traced_memory()
            if n % 25 == 0:
                tracer.get_traces()
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert consistent()
    for blocks in live.values():
        for p in blocks:
            core_alloc.nogil_raw_free(p)
    freed = [p for blocks in live.values() for p in blocks]
    traces = tracer.get_traces()
    assert all(p not in traces or traces[p][1] != [] for p in freed)
    assert consistent()
