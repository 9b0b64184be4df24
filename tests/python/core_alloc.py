"""Allocations made from this file only, so a test can include just this
file in the filters and compare totals exactly (the test's own
bookkeeping objects are then not traced)."""
from core_support import API, NOGIL

FILE = __file__


# Looked up once, so a call allocates nothing that outlives it.
_FN = {(domain, op): getattr(API, domain + op)
       for domain in ("PyMem_Raw", "PyMem_", "PyObject_")
       for op in ("Malloc", "Calloc", "Realloc", "Free")}
_NOGIL_MALLOC = NOGIL.PyMem_RawMalloc
_NOGIL_FREE = NOGIL.PyMem_RawFree
_NOGIL_REALLOC = NOGIL.PyMem_RawRealloc


def malloc(domain, n):
    return _FN[domain, "Malloc"](n)


def calloc(domain, n, size):
    return _FN[domain, "Calloc"](n, size)


def realloc(domain, p, n):
    return _FN[domain, "Realloc"](p, n)


def free(domain, p):
    _FN[domain, "Free"](p)


def nogil_raw_malloc(n):
    return _NOGIL_MALLOC(n)


def nogil_raw_free(p):
    _NOGIL_FREE(p)


def nogil_raw_realloc(p, n):
    return _NOGIL_REALLOC(p, n)


def make_bytes(n):
    return bytes(n)


def churn(rounds, seed):
    """Allocate, resize and free a mix of objects; return what survives."""
    keep = []
    ba = bytearray(seed % 7)
    for i in range(rounds):
        ba.extend(b"y" * (i % 13 + 1))
        if i % 97 == 0:
            del ba[len(ba) // 2:]
        d = {"k%d" % j: j for j in range(i % 5)}
        lst = [i] * (i % 11)
        s = str(i) * (i % 7 + 1)
        if i % 3 == 0:
            keep.append((d, lst, s))
        if len(keep) > 50:
            del keep[:25]
    keep.append(ba)
    return keep
