"""The pytest plugin (tmtrace.pytest_plugin), through pytester: each case
runs a real pytest in a subprocess on test files written here, with
allocations whose sizes and lines are known, and reads its outcome and
output.  Limits, leaks and peaks are checked against those known
allocations; the kept snapshot is read back with Snapshot.load."""
import os
import re
import sys

import pytest

import tmtrace

pytest_plugins = ["pytester"]

MiB = 1 << 20
SRC = os.environ.get("TMTRACE_SOURCE_ROOT",
                     os.path.join(os.path.dirname(__file__), "..", ".."))

TESTS = '''
import pytest
keep = []

def test_small():
    x = [0] * 100

def test_peak_30():
    x = bytearray(30 * 1024 * 1024)
    del x

@pytest.mark.limit_memory("10 MB")
def test_over_limit():
    x = bytearray(20 * 1024 * 1024)

@pytest.mark.limit_memory("10 MB")
def test_under_limit():
    x = bytearray(2 * 1024 * 1024)

@pytest.mark.limit_leaks("100 KB")
def test_leaks():
    keep.append(bytearray(1024 * 1024))

@pytest.mark.limit_leaks("100 KB")
def test_no_leak():
    x = bytearray(1024 * 1024)
'''


def line_of(pytester, text):
    """Line number of text in the test file as written."""
    with open(os.path.join(str(pytester.path), "test_mem.py")) as f:
        for n, line in enumerate(f, 1):
            if text in line:
                return n
    raise AssertionError(text)


def run(pytester, *args, source=TESTS, plugin=True):
    pytester.makepyfile(test_mem=source)
    extra = ["-p", "tmtrace.pytest_plugin"] if plugin else []
    return pytester.runpytest_subprocess(*extra, "-p", "no:cacheprovider",
                                         *args)


def test_limits_and_leaks(pytester):
    r = run(pytester, "--tmtrace")
    r.assert_outcomes(passed=4, failed=2)
    out = r.stdout.str()
    # over the limit: named with the limit, the peak and the line
    m = re.search(r"Test was limited to 10\.0 MiB but its peak traced memory "
                  r"was (\d+\.\d) MiB", out)
    assert m and 20.0 <= float(m.group(1)) < 20.5, out
    assert re.search(r"#1: .*test_mem\.py:%d \(test_over_limit\): size=20\.0 MiB"
                     % line_of(pytester, "bytearray(20 *"), out), out
    # the leak: held after the test, at its line
    assert "Test still held 1024 KiB after it returned and gc.collect() " \
           "(limit 100 KiB)" in out, out
    assert re.search(r"#1: .*test_mem\.py:%d \(test_leaks\): size=1024 KiB"
                     % line_of(pytester, "keep.append"), out), out
    r.stdout.fnmatch_lines(["FAILED test_mem.py::test_over_limit*",
                            "FAILED test_mem.py::test_leaks*"])
    assert "test_under_limit" not in "".join(
        l for l in out.splitlines() if l.startswith("FAILED"))


def test_worst_tests_reported_at_the_end(pytester):
    r = run(pytester, "--tmtrace", "--tmtrace-top", "2", "-k",
            "peak_30 or small or under_limit")
    r.assert_outcomes(passed=3)
    out = r.stdout.str()
    tail = out[out.index("tmtrace: highest peak traced memory per test"):]
    lines = [l for l in tail.splitlines() if re.match(r"test_mem\.py::", l)]
    # two worst, highest first; the tiny test is not listed
    assert [l.split(":")[2] for l in lines] == ["test_peak_30", "test_under_limit"], tail
    # the buffer is freed: what is still held is interpreter noise (a few
    # hundred bytes on some versions), never the 30 MiB
    assert re.match(r"test_mem\.py::test_peak_30: peak 30\.0 MiB, still held "
                    r"after: \d+ B$", lines[0]), lines[0]
    assert re.search(r"#1: .*test_mem\.py:%d \(test_peak_30\): size=30\.0 MiB"
                     % line_of(pytester, "bytearray(30 *"), tail), tail


def test_failing_test_keeps_its_snapshot(pytester):
    source = '''
def test_fails():
    data = [bytes(1000) for _ in range(3000)]
    assert len(data) == 2
'''
    # the snapshot is streamed from the live tables (Snapshot.write_live):
    # a conftest makes any in-memory copy of the traces an error
    pytester.makeconftest('''
import tmtrace
_create = tmtrace.Snapshot.create.__func__
def _no_copy(cls, traces=False, metrics=True):
    if traces:
        raise AssertionError("the traces were copied into a Snapshot")
    return _create(cls, traces=traces, metrics=metrics)
tmtrace.Snapshot.create = classmethod(_no_copy)
''')
    r = run(pytester, "--tmtrace", "--tmtrace-dir", "snaps", source=source)
    r.assert_outcomes(failed=1)
    assert "were copied" not in r.stdout.str()
    path = os.path.join(str(pytester.path), "snaps", "test_mem.py_test_fails.tms")
    assert path in r.stdout.str()
    snap = tmtrace.Snapshot.load(path)
    assert len(snap.traces) >= 3000
    by_line = {k: v for k, v in snap.top_by("line").stats.items()
               if k[0].endswith("test_mem.py")}
    size, count = by_line[(os.path.join(str(pytester.path), "test_mem.py"),
                           line_of(pytester, "bytes(1000)"))]
    assert count >= 3000 and size >= 3000 * 1000


def test_no_effect_when_not_enabled(pytester):
    source = TESTS + '''
def test_not_traced():
    import tmtrace
    assert not tmtrace.is_enabled()
'''
    # loaded (as the entry point loads it) but not asked for: the markers
    # are known (--strict-markers) and do nothing, nothing is traced,
    # printed or written
    r = run(pytester, "--strict-markers", source=source)
    r.assert_outcomes(passed=7)
    assert "tmtrace" not in r.stdout.str()
    assert not os.path.exists(os.path.join(str(pytester.path), ".tmtrace"))


def test_bad_limit_is_the_tests_error(pytester):
    source = '''
import pytest

@pytest.mark.limit_memory("lots")
def test_x():
    pass
'''
    r = run(pytester, "--tmtrace", source=source)
    r.assert_outcomes(errors=1)
    r.stdout.fnmatch_lines(["*limit_memory('lots'): *"])


def test_registered_through_the_pytest11_entry_point(pytester, tmp_path,
                                                    monkeypatch):
    # The entry point pyproject.toml declares, as pip installs it: a
    # dist-info with entry_points.txt on the path, and no -p.
    with open(os.path.join(SRC, "pyproject.toml")) as f:
        text = f.read()
    section = re.search(r"^\[project\.entry-points\.pytest11\]\n(.*?)(?:\n\[|\Z)",
                        text, re.M | re.S)
    assert section, "pyproject.toml declares no pytest11 entry point"
    name, value = [s.strip().strip('"') for s in
                   section.group(1).strip().splitlines()[-1].split("=")]
    assert (name, value) == ("tmtrace", "tmtrace.pytest_plugin")
    dist = tmp_path / "site" / "tmtrace_ep-0.1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: tmtrace-ep\n"
                                   "Version: 0.1.0\n")
    (dist / "entry_points.txt").write_text("[pytest11]\n%s = %s\n" % (name, value))
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(tmp_path / "site"),
                                       os.environ.get("PYTHONPATH", "")]))
    r = run(pytester, "--tmtrace", "-k", "over_limit", plugin=False)
    r.assert_outcomes(failed=1, deselected=5)
    assert "Test was limited to 10.0 MiB" in r.stdout.str()
