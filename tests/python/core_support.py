"""Shared by the tracer-core tests: a clean tracer per test, and direct
allocator calls through ctypes (with and without the GIL)."""
import contextlib
import ctypes
import gc
import inspect

import pytest

import tmtrace

# PyDLL keeps the GIL during the call; CDLL releases it, which is how a
# GIL-less RAW allocation is made from Python.
API = ctypes.pythonapi
NOGIL = ctypes.CDLL(None)
for _lib in (API, NOGIL):
    for _name in ("PyMem_Malloc", "PyMem_RawMalloc", "PyObject_Malloc"):
        getattr(_lib, _name).restype = ctypes.c_void_p
        getattr(_lib, _name).argtypes = [ctypes.c_size_t]
    for _name in ("PyMem_Calloc", "PyMem_RawCalloc", "PyObject_Calloc"):
        getattr(_lib, _name).restype = ctypes.c_void_p
        getattr(_lib, _name).argtypes = [ctypes.c_size_t, ctypes.c_size_t]
    for _name in ("PyMem_Realloc", "PyMem_RawRealloc", "PyObject_Realloc"):
        getattr(_lib, _name).restype = ctypes.c_void_p
        getattr(_lib, _name).argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    for _name in ("PyMem_Free", "PyMem_RawFree", "PyObject_Free"):
        getattr(_lib, _name).restype = None
        getattr(_lib, _name).argtypes = [ctypes.c_void_p]


def here():
    """(filename, lineno) of the caller's current line."""
    frame = inspect.currentframe().f_back
    return (frame.f_code.co_filename, frame.f_lineno)


def traced_sum():
    return sum(size for size, _ in tmtrace.get_traces().values())


@contextlib.contextmanager
def collector_off():
    """Reads compared with each other see one heap: no collection runs
    between them.  A collection frees garbage and runs the finalizers of
    what is pending (a library's generator, a weakref callback), code in
    other files that allocates and so is traced; when it runs depends on
    how earlier tests' allocations fell, which load changes.  (No
    collection first: it would empty CPython's free lists, and the block
    refilling one would then count as the window's.)"""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def consistent():
    """Traced size equals the sum of the traces, read at one instant."""
    gc.collect()
    with collector_off():
        traces = tmtrace.get_traces()
        size = tmtrace.get_traced_memory()[0]
    return sum(s for s, _ in traces.values()) == size


def only_file(path):
    """Trace only blocks allocated from path (most recent frame)."""
    tmtrace.clear_filters()
    tmtrace.add_include_filter(path)
    # What add_include_filter itself allocated was decided before the
    # filter existed (filters apply to new allocations only).
    tmtrace.clear_traces()


@pytest.fixture
def tracer():
    """tmtrace enabled with limit 1 and the filters as they were; all of
    it restored afterwards."""
    filters = tmtrace.get_filters()
    limit = tmtrace.get_traceback_limit()
    tmtrace.disable()
    tmtrace.set_traceback_limit(1)
    tmtrace.enable()
    yield tmtrace
    tmtrace.disable()
    tmtrace.set_traceback_limit(limit)
    tmtrace.clear_filters()
    for f in filters:
        tmtrace.add_filter(f)
