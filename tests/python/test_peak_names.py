"""Issue 13: the peak, function names, and the runner's last snapshot.

Oracles: the code objects' own co_qualname (co_name before 3.11), the
independent format decoder (tests/format/tms_ref.py) for what the files
hold, CPython's tracemalloc for reset_peak, and known allocations whose
sizes and lines the tests choose.
"""
import json
import os
import subprocess
import sys
import textwrap
import tracemalloc

import pytest

import tmtrace
from core_support import tracer  # noqa: F401
from tasks_util import run_python, tmtool

ROOT = os.environ.get("TMTRACE_SOURCE_ROOT",
                      os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "format"))
import tms_ref  # noqa: E402

MiB = 1 << 20
THIS = __file__


def qualname(code):
    return code.co_qualname if sys.version_info >= (3, 11) else code.co_name


# ---------------------------------------------------------- function names

class Cache:
    def fill(self, n):
        return [bytearray(100 + i) for i in range(n)]   # a comprehension

    @staticmethod
    def make():
        def inner():
            return bytearray(3000)
        return inner(), inner.__code__


def plain():
    return bytearray(5000), sys._getframe().f_code


def test_function_names_agree_with_co_qualname(tracer, tmp_path):
    keep_plain, plain_code = plain()
    keep_inner, inner_code = Cache.make()
    keep_list = Cache().fill(20)
    # a lambda's body on its own line: a line shared by two functions is
    # named after one of them (SPEC §4.10)
    lam = (lambda:  # noqa: E731
           bytearray(7000))
    keep_lam = lam()
    snap = tmtrace.Snapshot.create(traces=True)
    sites = {
        (THIS, plain_code.co_firstlineno + 1): qualname(plain_code),
        (THIS, inner_code.co_firstlineno + 1): qualname(inner_code),
        (THIS, lam.__code__.co_firstlineno + 1): qualname(lam.__code__),
    }
    # the comprehension's own code object is the allocating frame up to
    # 3.11; 3.12 inlines it into Cache.fill (PEP 709)
    fill_code = Cache.fill.__code__
    comp = [c for c in fill_code.co_consts if hasattr(c, "co_qualname")
            or hasattr(c, "co_name") and c.__class__ is fill_code.__class__]
    fill_line = fill_code.co_firstlineno + 1
    sites[(THIS, fill_line)] = qualname(comp[0] if comp else fill_code)
    functions = snap.functions
    for site, name in sites.items():
        assert functions.get(site) == name, (site, functions.get(site), name)
    # The file holds the same names (read by the independent decoder).
    path = str(tmp_path / "names.tms")
    snap.write(path)
    with open(path, "rb") as f:
        d = tms_ref.decode(f.read())
    strs = d["strings"]
    in_file = {(strs[d["frames"][f][0]], d["frames"][f][1]): strs[n]
               for f, n in d["functions"]}
    for site, name in sites.items():
        assert in_file[site] == name
    # ... and the PEP's shapes are unchanged: (filename, lineno) frames.
    traces = snap.traces
    assert all(len(frame) == 2 for _, tb in traces.values() for frame in tb)
    del keep_plain, keep_inner, keep_list, keep_lam


def test_group_by_function(tracer):
    before = tmtrace.Snapshot.create()
    keep = Cache().fill(50) + [plain()[0] for _ in range(3)]
    snap = tmtrace.Snapshot.create()
    stats = snap.top_by("function").stats
    plain_key = (THIS, "plain")
    assert stats[plain_key][1] >= 3
    assert stats[plain_key][0] >= 3 * 5000
    # one group per (file, function), summing its lines
    by_line = snap.top_by("line").stats
    names = snap.functions
    summed = {}
    for (filename, lineno), (size, count) in by_line.items():
        key = (filename, names.get((filename, lineno)))
        old = summed.get(key, (0, 0))
        summed[key] = (old[0] + size, old[1] + count)
    assert summed == stats
    diff = snap.top_by("function").compare_to(before.top_by("function"))
    assert any(key == (THIS, "plain") and size_diff > 0
               for size_diff, _, _, _, key in diff.differences)
    del keep


# ------------------------------------------------------------------ the peak

def peak_lines(snapshot):
    return snapshot.peak.top_by("line").stats


def test_peak_holds_the_state_at_the_high_water_mark(tracer):
    tmtrace.reset_peak()
    a = bytearray(10 * MiB); line_a = sys._getframe().f_lineno  # noqa: E702
    b = bytearray(20 * MiB); line_b = sys._getframe().f_lineno  # noqa: E702
    del a
    c = bytearray(5 * MiB); line_c = sys._getframe().f_lineno  # noqa: E702
    del b, c
    snap = tmtrace.Snapshot.create()
    peak = snap.peak
    current, high = tmtrace.get_traced_memory()
    assert peak.size == snap.get_metric("tracemalloc.traced.max_size")
    assert peak.size >= 30 * MiB
    assert peak.size - peak.recorded_size <= max(peak.size // 32, 256 << 10)
    lines = peak_lines(snap)
    assert 10 * MiB <= lines[(THIS, line_a)][0] <= 10 * MiB + 4096
    assert 20 * MiB <= lines[(THIS, line_b)][0] <= 20 * MiB + 4096
    assert (THIS, line_c) not in lines          # allocated after the peak
    # the recorded state is one state: its lines sum to recorded_size
    grouped = snap.peak.top_by("line")
    assert sum(s for s, _ in grouped.stats.values()) == peak.recorded_size
    now = snap.top_by("line").stats                  # freed since
    assert now.get((THIS, line_a), (0, 0))[0] < 4096


def test_peak_error_bound_many_small_blocks(tracer):
    # Growth by small steps: the recorded state trails the peak by at most
    # the step of docs/peak.md.
    tmtrace.reset_peak()
    keep = [bytes(1000) for _ in range(20000)]    # ~20 MiB in small blocks
    del keep
    snap = tmtrace.Snapshot.create()
    peak = snap.peak
    assert peak.size >= 20 * 1000 * 20000 // 1000
    step = max(peak.recorded_size // 32, 256 << 10)
    assert 0 <= peak.size - peak.recorded_size <= step + 64 * 100000


def test_reset_peak_as_cpython(tracer):
    tracemalloc.start()
    try:
        big = bytearray(8 * MiB)
        del big
        tracemalloc.reset_peak()
        tmtrace.reset_peak()
        ours, theirs = tmtrace.get_traced_memory(), \
            tracemalloc.get_traced_memory()
        assert ours[1] == ours[0]               # the peak is now
        assert theirs[1] - theirs[0] < 64 << 10
        small = bytearray(2 * MiB)
        del small
        ours, theirs = tmtrace.get_traced_memory(), \
            tracemalloc.get_traced_memory()
        # both peaks saw the 2 MiB block, not the 8 MiB one
        assert abs((ours[1] - ours[0]) - (theirs[1] - theirs[0])) < 64 << 10
        assert 2 * MiB <= ours[1] - ours[0] < 3 * MiB
        snap = tmtrace.Snapshot.create()
        top = peak_lines(snap)
        assert max(size for size, _ in top.values()) < 3 * MiB
    finally:
        tracemalloc.stop()


def test_clear_traces_clears_the_peak(tracer):
    big = bytearray(4 * MiB)
    del big
    tmtrace.clear_traces()
    snap = tmtrace.Snapshot.create()
    assert snap.peak.size < MiB
    assert not tmtrace.Snapshot.create().peak.top_by("line").stats or \
        max(s for s, _ in peak_lines(snap).values()) < MiB


def test_peak_survives_write_and_load(tracer, tmp_path):
    tmp = bytearray(3 * MiB); line = sys._getframe().f_lineno  # noqa: E702
    del tmp
    snap = tmtrace.Snapshot.create()
    path = str(tmp_path / "p.tms")
    snap.write(path)
    loaded = tmtrace.Snapshot.load(path, traces=False)
    assert (loaded.peak.size, loaded.peak.recorded_size) == \
        (snap.peak.size, snap.peak.recorded_size)
    assert peak_lines(loaded)[(THIS, line)] == peak_lines(snap)[(THIS, line)]
    with pytest.raises(ValueError):
        loaded.peak.top_by("address")
    # a file of format 1.0 has no peak
    old = os.path.join(ROOT, "format", "vectors", "stats_only.tms")
    assert tmtrace.Snapshot.load(old).peak is None
    assert tmtrace.Snapshot.load(old).functions == {}


# -------------------------------------------- the runner and tmtool --peak

PEAKY = textwrap.dedent("""\
    import json
    def load():
        temp = bytearray(100 * 1024 * 1024)   # line 3: the temporary
        return len(temp)
    DATA = [bytearray(1024 * 1024) for _ in range(8)]   # line 5: globals
    load()
    small = [str(i) for i in range(1000)]
""")


def tool(*args):
    run = subprocess.run([tmtool(), *args], capture_output=True, text=True,
                         env=dict(os.environ, NO_COLOR="1"))
    return run


@pytest.mark.skipif(tmtool() is None, reason="tmtool not built")
def test_runner_peak_finds_the_freed_temporary(tmp_path):
    script = tmp_path / "peaky.py"
    script.write_text(PEAKY)
    out = tmp_path / "out"
    run = run_python(["-m", "tmtrace", "run", "--nframe", "10", "-o",
                      str(out), str(script)], cwd=str(tmp_path))
    assert run.returncode == 0, run.stderr
    files = sorted(os.listdir(str(out)))
    last = str(out / files[-1])
    # --peak: the temporary, at its line, with its size
    doc = json.loads(tool("top", "--peak", "--format", "json", last).stdout)
    first = doc["reports"][0]["entries"][0]
    assert (os.path.basename(first["filename"]), first["lineno"],
            first["function"]) == ("peaky.py", 3, "load")
    assert 100 * MiB <= first["size"] <= 100 * MiB + 4096
    assert doc["peak"] is True
    assert doc["reports"][0]["peak"]["size"] >= 108 * MiB
    text = tool("top", "--peak", last).stdout
    assert "peaky.py:3 (load): size=100 MiB" in text, text
    # plain top: the temporary is gone, the globals are still there
    # (the last snapshot is taken before the module is torn down)
    plain = tool("top", "--format", "json", "-n", "0", last)
    entries = json.loads(plain.stdout)["reports"][0]["entries"]
    lines = {(os.path.basename(e["filename"] or ""), e["lineno"]): e["size"]
             for e in entries}
    assert ("peaky.py", 3) not in lines
    assert 8 * MiB <= lines[("peaky.py", 5)] <= 8 * MiB + 64 * 1024
    # the runner's frames are not in the tracebacks (nframe 10)
    tb = tool("top", "--group-by", "traceback", "--format", "json", "-n",
              "0", "--peak", last)
    frames = [f["filename"] or "" for e in json.loads(tb.stdout)[
        "reports"][0]["entries"] for f in e["traceback"]]
    assert frames and not [f for f in frames
                           if f.endswith(("runpy.py", "_runner.py",
                                          "__main__.py"))
                           or "<frozen runpy>" in f]
    outer = [f for e in json.loads(tb.stdout)["reports"][0]["entries"]
             if e["traceback"] and e["size"] >= 100 * MiB
             for f in e["traceback"]]
    assert [(os.path.basename(f["filename"]), f["lineno"], f["function"])
            for f in outer] == [("peaky.py", 3, "load"),
                                ("peaky.py", 6, "<module>")]


@pytest.mark.skipif(tmtool() is None, reason="tmtool not built")
def test_tmtool_peak_on_a_10_file(tmp_path):
    old = os.path.join(ROOT, "format", "vectors", "stats_only.tms")
    run = tool("top", "--peak", old)
    assert run.returncode != 0 and run.stdout == ""
    assert "no peak" in run.stderr and run.stderr.count("\n") == 1
    run = tool("top", "--peak", "--group-by", "address", old)
    assert run.returncode == 2 or run.returncode != 0


def test_shared_line_named_by_the_enclosing_function(tracer, tmp_path):
    # Twenty lines each shared by a function and a lambda, both
    # allocating there.  Which trace is exported first follows addresses,
    # so a name picked by export order would be wrong on about half of
    # them; the rule (the shorter qualified name) gives f<i> every time.
    src = "".join("def f%d():\n"
                  "    return [%s]\n" % (i, ", ".join(
                      ["(lambda: bytearray(200))()", "bytearray(200)"][::k]))
                  for i in range(20) for k in [1 - 2 * (i % 2)])
    filename = os.path.join(os.path.dirname(THIS), "shared_line_names.py")
    ns = {}
    exec(compile(src, filename, "exec"), ns)
    keep = [ns["f%d" % i]() for i in range(20)]
    functions = tmtrace.Snapshot.create(traces=True).functions
    names = {line: functions.get((filename, line))
             for line in range(2, 41, 2)}
    assert names == {2 * i + 2: "f%d" % i for i in range(20)}
    # the streamed write names them by the same rule
    path = str(tmp_path / "shared.tms")
    tmtrace.Snapshot.write_live(path, traces=True, metrics=False)
    with open(path, "rb") as f:
        d = tms_ref.decode(f.read())
    strs = d["strings"]
    in_file = {d["frames"][f][1]: strs[n] for f, n in d["functions"]
               if strs[d["frames"][f][0]] == filename
               and d["frames"][f][1] in names}
    assert in_file == names
    del keep
