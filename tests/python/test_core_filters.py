"""Tracer filters: decided once per traceback with libtma's rule, applied
to new allocations only, the default filter on the module's own files."""
import os
import sys

import pytest

import core_alloc
import tmtrace
from core_support import here, tracer  # noqa: F401

HELPER = '''
def make(n):
    return bytes(n)


def call(fn, *args):
    return fn(*args)
'''


@pytest.fixture
def helper(tmp_path, monkeypatch):
    path = tmp_path / "tmt_filter_helper.py"
    path.write_text(HELPER)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("tmt_filter_helper", None)
    import tmt_filter_helper
    yield tmt_filter_helper
    sys.modules.pop("tmt_filter_helper", None)


def test_default_filter_excludes_module_files():
    tmtrace.disable()
    filters = tmtrace.get_filters()
    package_dir = os.path.dirname(tmtrace.__file__)
    default = [f for f in filters if not f.include and
               f.pattern.startswith(package_dir)]
    assert len(default) == 1
    assert default[0].lineno is None and default[0].traceback is False


def test_module_allocations_hidden_until_clear_filters(tracer):
    filters = tracer.get_filters()  # built in tmtrace/_tracing.py
    assert tracer.get_object_trace(filters[0]) is None
    tracer.clear_filters()
    assert tracer.get_filters() == []
    filters = [tracer.Filter(True, "*")]
    tracer.add_filter(filters[0])
    got = tracer.get_filters()
    trace = tracer.get_object_trace(got[0])
    assert trace is not None
    assert os.path.dirname(trace[1][0][0]) == os.path.dirname(tmtrace.__file__)


def test_helpers_and_get_filters_round_trip(tracer):
    tracer.clear_filters()
    tracer.add_include_filter("a*.py", 12, True)
    tracer.add_exclude_filter("b.py")
    tracer.add_filter(tracer.Filter(False, "c.py", lineno=0))
    got = [(f.include, f.pattern, f.lineno, f.traceback)
           for f in tracer.get_filters()]
    assert got == [(True, "a*.py", 12, True), (False, "b.py", None, False),
                   (False, "c.py", 0, False)]
    with pytest.raises(TypeError):
        tracer.add_filter("b.py")
    tracer.clear_filters()
    assert tracer.get_filters() == []


def test_include_filter_keeps_only_that_file(tracer, helper):
    tracer.clear_filters()
    tracer.add_include_filter(helper.__file__)
    mine = bytes(1000)
    theirs = helper.make(1000)
    assert tracer.get_object_trace(mine) is None
    assert tracer.get_object_trace(theirs)[0] == sys.getsizeof(theirs)


def test_exclude_filter_with_lineno(tracer):
    tracer.clear_filters()
    first = here()
    tracer.add_exclude_filter(__file__, first[1] + 2)
    a = bytes(1000)
    b = bytes(1000)
    assert tracer.get_object_trace(a) is None
    assert tracer.get_object_trace(b) is not None


def test_pyc_pattern_matches_py_file(tracer, helper):
    tracer.clear_filters()
    tracer.add_exclude_filter(helper.__file__ + "c")  # .pyc compares as .py
    assert tracer.get_object_trace(helper.make(500)) is None
    assert tracer.get_object_trace(bytes(500)) is not None


@pytest.mark.parametrize("limit,flag,kept", [
    (1, True, False),    # limit < 2: the traceback flag is ignored
    (5, False, False),   # only the most recent frame (the helper) is seen
    (5, True, True),     # any frame: this file is the caller
])
def test_traceback_flag(tracer, helper, limit, flag, kept):
    tracer.set_traceback_limit(limit)
    tracer.clear_filters()
    tracer.add_include_filter(__file__, traceback=flag)
    obj = helper.make(2000)
    assert (tracer.get_object_trace(obj) is not None) == kept


def test_exclude_on_any_frame(tracer, helper):
    tracer.set_traceback_limit(10)
    tracer.clear_filters()
    tracer.add_exclude_filter(__file__, traceback=True)
    assert tracer.get_object_trace(helper.make(3000)) is None
    assert tracer.get_object_trace(helper.call(helper.make, 3000)) is None
    tracer.clear_filters()
    assert tracer.get_object_trace(helper.make(3000)) is not None


def test_filters_apply_to_new_allocations_only(tracer):
    tracer.clear_filters()
    before = core_alloc.make_bytes(4000)
    tracer.add_exclude_filter(core_alloc.FILE)
    after = core_alloc.make_bytes(4000)
    # Same traceback as `before`: the cached decision must be redone.
    assert tracer.get_object_trace(before) is not None
    assert tracer.get_object_trace(after) is None
    tracer.clear_filters()
    again = core_alloc.make_bytes(4000)
    assert tracer.get_object_trace(again) is not None


def test_empty_traceback_and_star_patterns(tracer):
    # An empty traceback is one unknown frame: only '*' patterns match it.
    tracer.clear_filters()
    tracer.add_exclude_filter("*")
    p = core_alloc.nogil_raw_malloc(100)
    try:
        assert tracer.get_trace(p) is None
    finally:
        core_alloc.nogil_raw_free(p)
    tracer.clear_filters()
    tracer.add_include_filter("*.py")
    p = core_alloc.nogil_raw_malloc(100)
    try:
        assert tracer.get_trace(p) is None
    finally:
        core_alloc.nogil_raw_free(p)
