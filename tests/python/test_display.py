"""DisplayTop and DisplayTopTask.  Expected text is worked out by hand
from the rules (sizes as CPython's tracemalloc: bytes up to 10 KiB, then
KiB, MiB...; one decimal below 100 of a unit above B; filenames keep their
last filename_parts components behind '.../')."""
import datetime
import io
import os
import subprocess

import pytest

import tmtrace
from tmtrace import DisplayTop, DisplayTopTask, Metric, Snapshot
from tasks_util import fake_size, tmtool, tracing  # noqa: F401

T0 = datetime.datetime(2026, 1, 2, 3, 4, 5)
T1 = datetime.datetime(2026, 1, 2, 3, 4, 6)


def snap(stats, when=T0, metrics=None):
    return Snapshot(when, 1234, stats=stats, metrics=metrics or {})


FIRST = {"/a/b/c/d.py": {10: (3000, 3)}, "x.py": {5: (100, 1)},
         None: {None: (50, 1)}}
SECOND = {"/a/b/c/d.py": {10: (5048, 4)}, "x.py": {5: (100, 1)},
          "new.py": {1: (2048, 2)}}


def lines(display, snapshot, **kw):
    out = io.StringIO()
    display.display_snapshot(snapshot, file=out, **kw)
    return out.getvalue().splitlines()


def test_defaults_and_checks():
    d = DisplayTop()
    assert (d.size, d.count, d.average, d.metrics) == (True, True, True, True)
    assert d.filename_parts == 3 and d.color is None
    assert d.compare_to_previous is True and d.previous_top_stats is None
    with pytest.raises(ValueError):
        d.filename_parts = -1
    with pytest.raises(TypeError):
        d.filename_parts = "3"
    with pytest.raises(TypeError):
        d.color = "yes"
    with pytest.raises(ValueError):
        d.display_snapshot(snap(FIRST), count=-1, file=io.StringIO())


def test_first_top():
    out = lines(DisplayTop(), snap(FIRST))
    assert out[0] == "2026-01-02 03:04:05: Top 3 allocations per filename and line number"
    assert out[1:5] == [
        "#1: .../b/c/d.py:10: size=3000 B, count=3, average=1000 B",
        "#2: x.py:5: size=100 B, count=1",
        "#3: ???:?: size=50 B, count=1",
        "Total: size=3150 B, count=5, average=630 B",
    ]


def test_rest_line_and_filename_parts():
    d = DisplayTop()
    d.filename_parts = 1
    out = lines(d, snap(FIRST), count=1)
    assert out[1] == "#1: .../d.py:10: size=3000 B, count=3, average=1000 B"
    assert out[2] == "2 more: size=150 B, count=2, average=75 B"
    d.filename_parts = 0
    assert lines(d, snap(FIRST), count=1)[1].startswith("#1: /a/b/c/d.py:10:")


def test_second_top_compares_to_previous():
    d = DisplayTop()
    lines(d, snap(FIRST))
    out = lines(d, snap(SECOND, T1))
    assert out[0].endswith("(compared to 2026-01-02 03:04:05)")
    # Sorted by abs(size_diff): +2048 (d.py), +2048 (new.py) tie -> by size.
    assert out[1:6] == [
        "#1: .../b/c/d.py:10: size=5048 B (+2048 B), count=4 (+1), average=1262 B",
        "#2: new.py:1: size=2048 B (+2048 B), count=2 (+2), average=1024 B",
        "#3: ???:?: size=0 B (-50 B), count=0 (-1)",
        "#4: x.py:5: size=100 B (+0 B), count=1 (+0)",
        "Total: size=7196 B (+4046 B), count=7 (+2), average=1028 B",
    ]


def test_compare_to_first():
    d = DisplayTop()
    d.compare_to_previous = False
    first = snap(FIRST)
    lines(d, first)
    lines(d, snap(SECOND, T1))
    third = {"/a/b/c/d.py": {10: (3000, 3)}, "x.py": {5: (100, 1)},
             None: {None: (50, 1)}}
    out = lines(d, snap(third, T1))
    # Same as the first snapshot: every change is zero.
    assert "(+0 B)" in out[1] and "Total: size=3150 B (+0 B), count=5 (+0), average=630 B" == out[4]
    assert d.previous_top_stats.stats == first.top_by("line").stats


def test_columns_can_be_hidden():
    d = DisplayTop()
    d.compare_to_previous = False
    d.previous_top_stats = snap({}).top_by("line")  # nothing before
    d.count = False
    assert lines(d, snap(FIRST))[1] == "#1: .../b/c/d.py:10: size=3000 B (+3000 B), average=1000 B"
    d.average = False
    assert lines(d, snap(FIRST))[1] == "#1: .../b/c/d.py:10: 3000 B (+3000 B)"
    d.count, d.size = True, False
    assert lines(d, snap(FIRST))[1] == "#1: .../b/c/d.py:10: count=3 (+3)"


def test_metrics_with_changes():
    d = DisplayTop()
    m0 = {"rss": Metric("rss", 1048576, "size"), "frag": Metric("frag", 0.25, "percent"),
          "objs": Metric("objs", 10, "int")}
    m1 = {"rss": Metric("rss", 3145728, "size"), "frag": Metric("frag", 0.5, "percent"),
          "objs": Metric("objs", 7, "int")}
    lines(d, snap(FIRST, metrics=m0))
    out = lines(d, snap(FIRST, T1, metrics=m1))
    assert out[-4:] == ["frag: 50.0% (+25.0%)", "objs: 7 (-3)",
                        "rss: 3072 KiB (+2048 KiB)", ""]
    d.metrics = False
    assert not any(line.startswith("rss") for line in lines(d, snap(FIRST, metrics=m1)))


def test_colour_only_on_a_tty_unless_asked():
    d = DisplayTop()
    assert "\033[" not in "".join(lines(d, snap(FIRST)))
    d.color = True
    assert "\033[" in "".join(lines(d, snap(FIRST)))
    d.color = None

    class Tty(io.StringIO):
        def isatty(self):
            return True
    out = Tty()
    d.display_snapshot(snap(FIRST), file=out)
    assert "\033[" in out.getvalue()
    d.color = False
    out = Tty()
    d.display_snapshot(snap(FIRST), file=out)
    assert "\033[" not in out.getvalue()


def test_display_top_stats_and_diff():
    d = DisplayTop()
    new = snap(SECOND, T1).top_by("filename")
    old = snap(FIRST).top_by("filename")
    out = io.StringIO()
    d.display_top_diff(new.compare_to(old), count=1, file=out)
    text = out.getvalue().splitlines()
    assert text[1] == "#1: .../b/c/d.py: size=5048 B (+2048 B), count=4 (+1), average=1262 B"
    assert text[2] == "3 more: size=2148 B (+1998 B), count=3 (+1), average=716 B"
    out = io.StringIO()
    d.display_top_stats(old, file=out)
    assert d.previous_top_stats is old
    assert "#1: .../b/c/d.py: size=3000 B, count=3" in out.getvalue()


def test_display_takes_a_snapshot(tracing):
    keep = bytearray(300_000)
    out = io.StringIO()
    seen = []
    result = DisplayTop().display(count=3, file=out, callback=seen.append)
    assert seen == [result] and isinstance(result, Snapshot)
    assert os.path.basename(__file__) in out.getvalue().splitlines()[1]
    del keep


def test_display_top_task(fake_size, tmp_path):
    tmtrace.enable()
    try:
        out = io.StringIO()
        task = DisplayTopTask(count=2, file=out)
        assert (task.count, task.group_by, task.cumulative) == (2, "line", False)
        assert isinstance(task.display_top, DisplayTop) and task.callback is None
        with pytest.raises(ValueError):
            task.group_by = "module"
        with pytest.raises(ValueError):
            task.count = -2
        task.set_memory_threshold(10)
        task.schedule(repeat=2)
        fake_size(20_000)
        fake_size(30_000)
        text = out.getvalue()
        assert text.count("Top 2 allocations") == 2
        assert "(compared to" in text  # the second compares to the first
    finally:
        tmtrace.cancel_tasks()
        tmtrace.disable()


def tmtool_text(*args):
    run = subprocess.run([tmtool(), *args], capture_output=True, text=True,
                         env=dict(os.environ, NO_COLOR="1"))
    assert run.returncode == 0, run.stderr
    return run.stdout


def untitled(text, *paths):
    # tmtool's titles name the file before the time DisplayTop shows.
    for path in paths:
        text = text.replace(path + ", ", "")
    return text


def out_of(call, *args, **kw):
    out = io.StringIO()
    call(*args, file=out, **kw)
    return out.getvalue()


GROUPINGS = [(by, cumulative) for by in ("filename", "line", "traceback", "address")
             for cumulative in (False, True)]


@pytest.fixture
def two_files(tracing, tmp_path):
    keep = [bytearray(1000 * i) for i in range(1, 40)]
    a = str(tmp_path / "a.tms")
    tmtrace.Snapshot.create(traces=True).write(a)
    keep += [bytearray(777 * i) for i in range(1, 30)]
    del keep[:5]
    b = str(tmp_path / "b.tms")
    tmtrace.Snapshot.create(traces=True).write(b)
    yield a, b
    del keep


@pytest.mark.skipif(tmtool() is None, reason="tmtool not built")
@pytest.mark.parametrize("by,cumulative", GROUPINGS)
def test_top_text_is_tmtool_top(two_files, by, cumulative):
    # Every grouping, cumulative or not: DisplayTop prints what tmtool
    # top prints for the same file, letter for letter but the file name.
    a, _ = two_files
    flags = ["--cumulative"] if cumulative else []
    # DisplayTop shows metrics by default (PEP 454), tmtool with --metrics
    theirs = tmtool_text("top", "-n", "7", "--metrics", "--group-by", by,
                         *flags, a)
    mine = out_of(DisplayTop().display_snapshot, Snapshot.load(a), count=7,
                  group_by=by, cumulative=cumulative)
    assert mine == untitled(theirs, a)


@pytest.mark.skipif(tmtool() is None, reason="tmtool not built")
@pytest.mark.parametrize("by,cumulative", GROUPINGS)
def test_diff_text_is_tmtool_diff(two_files, by, cumulative):
    # The compared form: display_top_diff and a second display_top_stats
    # print tmtool diff's text.
    a, b = two_files
    flags = ["--cumulative"] if cumulative else []
    theirs = untitled(tmtool_text("diff", "-n", "5", "--metrics", "--group-by",
                                  by, *flags, a, b), a, b)
    old = Snapshot.load(a).top_by(by, cumulative)
    new = Snapshot.load(b).top_by(by, cumulative)
    d = DisplayTop()
    assert out_of(d.display_top_diff, new.compare_to(old), count=5) == theirs
    out_of(d.display_top_stats, old)
    assert out_of(d.display_top_stats, new, count=5) == theirs


@pytest.mark.skipif(tmtool() is None, reason="tmtool not built")
def test_hand_made_and_unknown_lines_as_tmtool(tmp_path):
    # Line 0 is 0 and an unknown line '?', a traceback entry has no key on
    # its line: tmtool's rules (DisplayTop printed "?" for 0 and a key).
    traces = {0x10: (100, (("/p/a.py", 0), ("/p/m.py", 3))),
              0x20: (50, (("/p/b.py", None),)), 0x30: (7, ())}
    snap = Snapshot(T0, 1, traces)
    path = str(tmp_path / "h.tms")
    snap.write(path)
    for by in ("line", "traceback"):
        theirs = untitled(tmtool_text("top", "--group-by", by, path), path)
        mine = out_of(DisplayTop().display_snapshot, snap, group_by=by)
        assert mine == theirs
    line = out_of(DisplayTop().display_snapshot, snap).splitlines()
    assert line[1:4] == ["#1: /p/a.py:0: size=100 B, count=1",
                         "#2: /p/b.py:?: size=50 B, count=1",
                         "#3: ???:?: size=7 B, count=1"]
    tb = out_of(DisplayTop().display_snapshot, snap, group_by="traceback")
    assert tb.splitlines()[1:3] == ["#1: size=100 B, count=1",
                                    "  Traceback (most recent call first):"]
