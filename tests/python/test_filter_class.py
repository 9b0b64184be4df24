"""Filter (PEP 454): attributes, validation and matching.

Matching is libtma's; the expected answers here come from the spec's
words, and the joker rule is cross-checked against a regular expression
written in this file."""
import itertools
import re

import pytest

from tmtrace._filter import Filter


def test_attributes_and_defaults():
    f = Filter(True, "x.py")
    assert (f.include, f.pattern, f.lineno, f.traceback) == \
        (True, "x.py", None, False)
    f = Filter(False, "*/y.py", 12, True)
    assert (f.include, f.pattern, f.lineno, f.traceback) == \
        (False, "*/y.py", 12, True)
    # keywords as the spec names them
    f = Filter(include=True, pattern="p", lineno=3, traceback=True)
    assert f.lineno == 3 and f.traceback is True


def test_flags_are_bools():
    f = Filter(1, "p", traceback=0)
    assert f.include is True and f.traceback is False


@pytest.mark.parametrize("args", [
    (True, None), (True, b"x.py"), (True, 3),
    (True, "x", "3"), (True, "x", 2.0), (True, "x", True),
    ("yes", "x"), (True, "x", None, "no"), (None, "x"),
])
def test_bad_types_raise(args):
    with pytest.raises(TypeError):
        Filter(*args)


def test_read_only():
    f = Filter(True, "x")
    with pytest.raises(AttributeError):
        f.pattern = "y"
    with pytest.raises(AttributeError):
        f.other = 1


def test_eq_hash_repr():
    a = Filter(True, "x.py", 3)
    assert a == Filter(True, "x.py", 3, False)
    assert a != Filter(False, "x.py", 3)
    assert a != Filter(True, "x.py", 4)
    assert a != Filter(True, "x.py", 3, True)
    assert a != ("x.py", 3)
    assert len({a, Filter(True, "x.py", 3)}) == 1
    assert repr(a) == \
        "Filter(include=True, pattern='x.py', lineno=3, traceback=False)"


@pytest.mark.parametrize("pattern,filename,expected", [
    ("abc.py", "abc.py", True),
    ("abc.py", "abd.py", False),
    ("abc.py", "xabc.py", False),     # whole name, not a substring
    ("*", "anything/at/all.py", True),
    ("*", "", True),
    ("a*c", "ac", True),               # '*' matches the empty string
    ("a*c", "abbbc", True),
    ("a*c", "abcd", False),
    ("*/lib/*.py", "/usr/lib/os.py", True),
    ("*/lib/*.py", "/usr/lib64/os.py", False),
    ("a**b", "ab", True),
    ("*.py", "mod.pyc", True),         # .pyc and .pyo compare as .py
    ("*.py", "mod.pyo", True),
    ("mod.pyc", "mod.py", True),
    ("mod.pyo", "mod.pyc", True),
    ("mod.py", "mod.pyx", False),
    ("mod.pyc", "mod.pyd", False),
])
def test_match_filename(pattern, filename, expected):
    assert Filter(True, pattern).match_filename(filename) is expected
    # include does not change what matches
    assert Filter(False, pattern).match_filename(filename) is expected


def _regex_match(pattern, filename):
    def norm(name):
        return name[:-1] if name.endswith((".pyc", ".pyo")) else name
    rx = ".*".join(re.escape(part) for part in norm(pattern).split("*"))
    return re.fullmatch(rx, norm(filename), re.S) is not None


def test_jokers_agree_with_a_regex():
    pieces = ["", "a", "b", "*", ".py", ".pyc", "/"]
    patterns = {"".join(p) for p in itertools.product(pieces, repeat=3)}
    names = {"".join(p) for p in itertools.product(
        ["", "a", "b", ".py", ".pyo", "/", "ab"], repeat=2)}
    for pattern in sorted(patterns):
        f = Filter(True, pattern)
        for name in sorted(names):
            assert f.match_filename(name) is _regex_match(pattern, name), \
                (pattern, name)


def test_unknown_filename_only_matches_jokers():
    assert Filter(True, "*").match_filename(None) is True
    assert Filter(True, "**").match_filename(None) is True
    assert Filter(True, "x.py").match_filename(None) is False
    assert Filter(True, "*.py").match_filename(None) is False


def test_unicode_filenames():
    assert Filter(True, "*/\u00e9t\u00e9/*").match_filename("/a/\u00e9t\u00e9/b.py")
    assert not Filter(True, "*/\u00e9t\u00e9/*").match_filename("/a/ete/b.py")
    # a lone surrogate (os.fsdecode of undecodable bytes) still matches
    name = "/tmp/\udcff.py"
    assert Filter(True, "/tmp/*.py").match_filename(name)
    assert Filter(True, name).match_filename(name)


@pytest.mark.parametrize("lineno", [None, 0, -1, -100])
def test_lineno_none_or_below_one_matches_any(lineno):
    f = Filter(True, "x.py", lineno)
    for line in (None, 0, 1, 7, 10**6):
        assert f.match_lineno(line) is True


def test_lineno_exact():
    f = Filter(True, "x.py", 7)
    assert f.match_lineno(7) is True
    assert f.match_lineno(8) is False
    assert f.match_lineno(None) is False


def test_match_needs_both():
    f = Filter(True, "*/x.py", 7)
    assert f.match("/a/x.py", 7) is True
    assert f.match("/a/x.py", 8) is False
    assert f.match("/a/y.py", 7) is False
    assert Filter(True, "*/x.py").match("/a/x.pyc", 123) is True
    assert Filter(False, "*/x.py", 7).match("/a/x.py", 7) is True


def test_match_traceback_most_recent_frame_only():
    tb = (("/a/new.py", 1), ("/a/old.py", 2))
    assert Filter(True, "*/new.py").match_traceback(tb) is True
    assert Filter(True, "*/old.py").match_traceback(tb) is False
    assert Filter(True, "*/old.py", 2).match_traceback(tb) is False


def test_match_traceback_all_frames():
    tb = (("/a/new.py", 1), ("/a/old.py", 2))
    assert Filter(True, "*/old.py", traceback=True).match_traceback(tb)
    assert Filter(True, "*/old.py", 2, True).match_traceback(tb)
    assert not Filter(True, "*/old.py", 3, True).match_traceback(tb)
    assert not Filter(True, "*/none.py", traceback=True).match_traceback(tb)
    # a list of frames is accepted like a tuple
    assert Filter(True, "*/old.py", traceback=True).match_traceback(
        [("/a/new.py", 1), ("/a/old.py", 2)]) is True


def test_empty_traceback_is_one_unknown_frame():
    for tb_flag in (False, True):
        assert Filter(True, "*", traceback=tb_flag).match_traceback(()) is True
        assert Filter(True, "*.py", traceback=tb_flag).match_traceback(()) \
            is False
        assert Filter(True, "*", 3, tb_flag).match_traceback(()) is False


def test_traceback_with_unknowns():
    tb = ((None, None), ("/a/x.py", None))
    assert Filter(True, "*").match_traceback(tb) is True
    assert Filter(True, "*/x.py").match_traceback(tb) is False
    assert Filter(True, "*/x.py", traceback=True).match_traceback(tb) is True
    assert Filter(True, "*/x.py", 1, True).match_traceback(tb) is False


@pytest.mark.parametrize("bad", [[("x.py",)], [("x.py", "1")], "abc", [1]])
def test_bad_tracebacks_raise(bad):
    with pytest.raises((TypeError, ValueError)):
        Filter(True, "*").match_traceback(bad)
