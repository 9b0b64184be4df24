"""pytest plugin: memory of each test, traced by tmtrace.

Registered through the ``pytest11`` entry point, so installing tmtrace
makes it available; it does nothing unless pytest runs with ``--tmtrace``
(markers are accepted either way, so ``--strict-markers`` suites keep
working without it).

With ``--tmtrace`` each test's call phase (the test function, not its
fixtures' setup and teardown) is traced from a clean slate:

  * its peak traced memory is measured, and the tests with the highest
    peaks are listed at the end with the lines holding memory near that
    peak;
  * ``@pytest.mark.limit_memory("24 MB")`` fails a test whose peak traced
    memory went over the limit, naming the top lines near the peak;
  * ``@pytest.mark.limit_leaks("1 MB")`` fails a test that still holds
    more than the limit once it has returned and ``gc.collect()`` ran,
    naming the lines that hold it;
  * the snapshot of a failing test (taken as it failed: the traceback
    keeps its locals alive) is written to ``--tmtrace-dir`` for
    ``tmtool top``/``flame``.

The lines near the peak are the tracer's own picture of the peak (format
1.1: Snapshot.peak, recorded whenever traced memory passes the last
recorded state by a step, docs/peak.md), so the plugin and `tmtool top
--peak` show the same thing; the peak itself is exact.  Sizes are parsed
and printed, grouping, filtering and the top lines rendered by tmtrace's
C library (libtma, DisplayTop); this module only binds them to pytest.
"""
import gc
import io
import os
import re

import pytest

# Lines that are pytest's or ours, not the test's: left out of "held"
# memory and of the lines named (most recent frame only, so the test's
# own lines, called from pytest, stay).
# contextlib: pytest's own context managers around the call.
_NOT_THE_TEST = ("*/_pytest/*", "*/pluggy/*", "*/tmtrace/*", "<frozen *>",
                 "*/contextlib.py")
_FAILURE = pytest.StashKey[str]()
_LIMITS = pytest.StashKey[tuple]()


def pytest_addoption(parser):
    group = parser.getgroup("tmtrace", "memory of each test (tmtrace)")
    group.addoption("--tmtrace", action="store_true", default=False,
                    help="trace each test's memory; enables the limit_memory "
                         "and limit_leaks markers")
    group.addoption("--tmtrace-top", type=int, default=5, metavar="N",
                    help="list the N tests with the highest peak (default 5, "
                         "0: none)")
    group.addoption("--tmtrace-lines", type=int, default=5, metavar="N",
                    help="lines shown per test (default 5)")
    group.addoption("--tmtrace-frames", type=int, default=16, metavar="N",
                    help="frames kept per traceback (default 16)")
    group.addoption("--tmtrace-dir", default=None, metavar="DIR",
                    help="where snapshots of failing tests go (default "
                         "<rootdir>/.tmtrace)")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "limit_memory(limit): with --tmtrace, fail the test if "
        "its peak traced memory exceeds limit (\"24 MB\", bytes)")
    config.addinivalue_line(
        "markers", "limit_leaks(limit): with --tmtrace, fail the test if it "
        "still holds more than limit after it returned and gc.collect()")
    if config.getoption("tmtrace"):
        config.pluginmanager.register(_Plugin(config), "tmtrace-session")


def _size(n):
    import _tmtrace
    return _tmtrace._size_format(int(n), False)


def _limit(marker, name):
    """The marker's limit in bytes (libtma's size parser)."""
    import _tmtrace
    args = marker.args or (marker.kwargs.get("limit"),)
    value = args[0]
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if not isinstance(value, str):
        pytest.fail("%s needs a size such as \"24 MB\" or a number of "
                    "bytes, not %r" % (name, value), pytrace=False)
    try:
        return _tmtrace._size_parse(value)
    except ValueError as e:
        pytest.fail("%s(%r): %s" % (name, value, e), pytrace=False)


def _lines(top_stats, count, title=None):
    """The top lines of a GroupedStats as DisplayTop shows them, indented."""
    import tmtrace
    out = io.StringIO()
    top = tmtrace.DisplayTop()
    top.metrics = False
    top.color = False
    top.display_top_stats(top_stats, count=count, file=out)
    text = out.getvalue().rstrip("\n").split("\n")
    if title is not None:
        text[0] = title
    return "\n".join("    " + line for line in text)


def _without_us(snapshot):
    import tmtrace
    snapshot.apply_filters([tmtrace.Filter(False, p) for p in _NOT_THE_TEST])
    return snapshot


class _Result:
    def __init__(self, nodeid, peak, held, at_peak, recorded):
        self.nodeid = nodeid
        self.peak = peak
        self.held = held
        self.at_peak = at_peak      # GroupedStats of the state at the peak
        self.recorded = recorded    # traced memory in that state


class _Plugin:
    def __init__(self, config):
        self.config = config
        self.results = []
        self.saved = []
        self.we_enabled = False

    # -- session -----------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session):
        import tmtrace
        if not tmtrace.is_enabled():
            tmtrace.set_traceback_limit(max(1, self.config.getoption("tmtrace_frames")))
            tmtrace.enable()
            self.we_enabled = True

    def pytest_sessionfinish(self, session):
        import tmtrace
        if self.we_enabled and tmtrace.is_enabled():
            tmtrace.disable()

    # -- one test ----------------------------------------------------------
    def pytest_runtest_setup(self, item):
        """Parse the markers' limits before the test runs: a bad one is the
        test's error, reported once, with the value."""
        limits = []
        for name in ("limit_memory", "limit_leaks"):
            marker = item.get_closest_marker(name)
            limits.append(_limit(marker, name) if marker else None)
        item.stash[_LIMITS] = tuple(limits)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        import tmtrace
        memory_limit, leaks_limit = item.stash.get(_LIMITS, (None, None))
        gc.collect()
        tmtrace.clear_traces()       # also resets the peak and its picture
        outcome = yield
        # the state at the peak, and the peak itself, before anything else
        # allocates
        peak_info = _without_us(tmtrace.Snapshot.create(traces=False,
                                                        metrics=False)).peak
        peak = tmtrace.get_traced_memory()[1]
        at_peak = peak_info.top_by("line") if peak_info is not None else None
        recorded = peak_info.recorded_size if peak_info is not None else 0
        excinfo = outcome.excinfo
        failed = excinfo is not None and not isinstance(
            excinfo[1], (pytest.skip.Exception, pytest.xfail.Exception))
        if failed:
            self._save(item)
        gc.collect()
        held_snapshot = _without_us(tmtrace.Snapshot.create(traces=False,
                                                            metrics=False))
        held_stats = held_snapshot.top_by("line")
        # the total over blocks, summed in C (libtma's grouping)
        held = held_stats._groups.total_size
        self.results.append(_Result(item.nodeid, peak, held, at_peak, recorded))
        if excinfo is not None:
            return          # failed or skipped already: nothing to add
        nlines = self.config.getoption("tmtrace_lines")
        if memory_limit is not None and peak > memory_limit:
            text = ["Test was limited to %s but its peak traced memory was %s"
                    % (_size(memory_limit), _size(peak))]
            if at_peak is not None:
                text.append(_lines(at_peak, nlines, "Top lines near the peak "
                                   "(%s):" % _size(recorded)))
            item.stash[_FAILURE] = "\n".join(text)
        elif leaks_limit is not None and held > leaks_limit:
            text = ["Test still held %s after it returned and gc.collect() "
                    "(limit %s)" % (_size(held), _size(leaks_limit)),
                    _lines(held_stats, nlines, "Lines holding it:")]
            item.stash[_FAILURE] = "\n".join(text)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        message = item.stash.get(_FAILURE, None)
        if call.when == "call" and message is not None and report.passed:
            report.outcome = "failed"
            report.longrepr = message

    def _save(self, item):
        """The failing test's snapshot, streamed from the live tables into
        the file (Snapshot.write_live): a test that failed with millions of
        blocks live costs no copy of them."""
        import tmtrace
        base = os.path.abspath(self.config.getoption("tmtrace_dir") or os.path.join(
            str(self.config.rootpath), ".tmtrace"))
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid).strip("_")[:200]
        os.makedirs(base, exist_ok=True)
        path = os.path.join(base, name + ".tms")
        tmtrace.Snapshot.write_live(path, traces=True)
        self.saved.append((item.nodeid, path))
        item.add_report_section("call", "tmtrace",
                                "snapshot of the failing test: %s" % path)

    # -- the end -----------------------------------------------------------
    def pytest_terminal_summary(self, terminalreporter):
        tr = terminalreporter
        n = self.config.getoption("tmtrace_top")
        worst = sorted(self.results, key=lambda r: r.peak, reverse=True)[:max(n, 0)]
        if worst:
            tr.write_sep("=", "tmtrace: highest peak traced memory per test")
            nlines = self.config.getoption("tmtrace_lines")
            for r in worst:
                tr.write_line("%s: peak %s, still held after: %s"
                              % (r.nodeid, _size(r.peak), _size(r.held)))
                if r.at_peak is not None and nlines > 0:
                    tr.write_line(_lines(r.at_peak, nlines,
                                         "Top lines near the peak (%s):"
                                         % _size(r.recorded)))
        if self.saved:
            tr.write_sep("-", "tmtrace: snapshots of failing tests")
            for nodeid, path in self.saved:
                tr.write_line("%s: %s" % (nodeid, path))
