"""Tests to try `pytest --tmtrace` on (the README shows the output):

    pytest --tmtrace examples/test_memory.py

One test stays under its limit, one goes over it, one keeps memory after
it returns (a module-level cache: the leak check finds it), and one
allocates a lot for a moment and frees it (a high peak, nothing held).
"""
import pytest

_cache = []


def parse(n):
    return [{"id": i, "name": "item %d" % i} for i in range(n)]


@pytest.mark.limit_memory("4 MB")
def test_parse_small():
    assert len(parse(1000)) == 1000


@pytest.mark.limit_memory("4 MB")
def test_parse_big():
    assert len(parse(50000)) == 50000


@pytest.mark.limit_leaks("256 KB")
def test_cache_grows():
    _cache.append(parse(5000))
    assert _cache


def test_temporary_buffer():
    buf = bytearray(20 * 1024 * 1024)
    assert len(buf) == 20 * 1024 * 1024
