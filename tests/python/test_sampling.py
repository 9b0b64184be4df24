"""Sampling by bytes (set_sampling, --sample, TMTRACE_SAMPLE; SPEC §4.12).

The oracle is CPython's tracemalloc: it traces the same workload exactly,
so each site's exact bytes and blocks are known, and so is the variance of
the estimate (each block of s bytes is kept with p = 1 - exp(-s/I),
independently, and weighted by 1/p: Var = sum of s^2 (1-p)/p for sizes,
sum of (1-p)/p for counts).  Every estimate must be within 6 standard
deviations (plus rounding) of the exact figure: a false failure has odds
below 1 in 10^8 per site, and the seed is fixed besides."""
import json
import math
import os
import subprocess
import textwrap
import tracemalloc

import pytest

import _tmtrace
import tmtrace
from tasks_util import run_python, tmtool

INTERVAL = 4096
SEED = 20261130
WORKLOAD_FILE = "<sampling-workload>"
# Three sites of known, different block sizes; about 52 MB in all, so
# each site holds thousands of intervals (relative sigma near 1-2%).
WORKLOAD = textwrap.dedent("""\
    keep = []
    def run():
        for i in range(20000):
            keep.append(bytearray(1000))        # line 4: 56 + 1001 B
        for i in range(100):
            keep.append(bytearray(100000))      # line 6: 56 + 100001 B
        for i in range(40000):
            keep.append(b"x" * 200 + bytes(i % 7))  # line 8: ~240 B
    run()
""")
SITES = (4, 6, 8)


def run_workload():
    code = compile(WORKLOAD, WORKLOAD_FILE, "exec")
    ns = {}
    exec(code, ns)
    return ns


def exact_sites():
    """Per site: the block sizes, as CPython's tracemalloc saw them."""
    tracemalloc.start(1)
    try:
        ns = run_workload()
        snap = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    sizes = {line: [] for line in SITES}
    for tr in snap.traces:
        fr = tr.traceback[0]
        if fr.filename == WORKLOAD_FILE and fr.lineno in sizes:
            sizes[fr.lineno].append(tr.size)
    del ns
    return sizes


def bound(sizes, interval, counts=False):
    """6 sigma of the estimate of a site.  Each kept block's weight is
    rounded down or up at random (unbiased, variance at most 1/4): that
    adds at most p/4 per block."""
    var = 0.0
    for s in sizes:
        p = -math.expm1(-s / interval)
        var += (1.0 if counts else s * s) * (1 - p) / p + p / 4
    return 6 * math.sqrt(var) + 1


def per_line(groups):
    """{lineno: [size, count]} of the workload's lines, from a
    top_by('traceback') grouping (limit 1: one frame per traceback)."""
    out = {}
    for tb, (size, count) in groups.stats.items():
        fr = tb[0]
        if fr[0] == WORKLOAD_FILE:
            acc = out.setdefault(fr[1], [0, 0])
            acc[0] += size
            acc[1] += count
    return out


@pytest.fixture
def sampled():
    was = tmtrace.get_traceback_limit()
    tmtrace.set_traceback_limit(1)
    tmtrace.set_sampling(INTERVAL, SEED)
    tmtrace.enable()
    yield
    tmtrace.disable()
    tmtrace.set_sampling(0)
    tmtrace.set_traceback_limit(was)


def test_sampling_is_off_by_default():
    # the PEP's exact semantics unless asked: every block is traced
    assert tmtrace.get_sampling() == 0


def test_per_site_estimates_within_6_sigma(sampled, tmp_path):
    exact = exact_sites()
    tmtrace.disable()
    tmtrace.enable()      # clean tables; sampling stays on
    ns = run_workload()
    snap = tmtrace.Snapshot.create(traces=True)
    tmtrace.disable()
    traced = [t for t in snap.traces.values()
              if t[1] and t[1][0][0] == WORKLOAD_FILE]
    blocks = sum(len(v) for v in exact.values())
    # sampling really samples: ~52 MB / 4 KiB ~ 13,000 traces of 120,200
    assert 0 < len(traced) < blocks // 4
    # STAT (the tracer's weighted sums) and libtma's weighting of the
    # traces are one rule: they agree to the byte.
    from_traces = per_line(snap.top_by("traceback"))
    stats = snap.stats[WORKLOAD_FILE]
    for line in SITES:
        assert list(stats[line]) == from_traces[line], line
    for line in SITES:
        sizes = exact[line]
        est_size, est_count = stats[line]
        assert abs(est_size - sum(sizes)) <= bound(sizes, INTERVAL), \
            (line, est_size, sum(sizes), bound(sizes, INTERVAL))
        assert abs(est_count - len(sizes)) <= bound(sizes, INTERVAL, True), \
            (line, est_count, len(sizes))
    # The file says it is sampled, and tmtool reads the same estimates.
    path = str(tmp_path / "sampled.tms")
    snap.write(path)
    del ns
    tool = tmtool()
    if tool is None:
        pytest.skip("tmtool not built")
    out = subprocess.run([tool, "top", "--format", "json", "--count", "0",
                          path], capture_output=True, text=True, check=True)
    report = json.loads(out.stdout)["reports"][0]
    assert report["sample_interval"] == INTERVAL
    got = {e["lineno"]: (e["size"], e["count"]) for e in report["entries"]
           if e["filename"] == WORKLOAD_FILE}
    for line in SITES:
        assert got[line] == tuple(stats[line])
    text = subprocess.run([tool, "top", path], capture_output=True,
                          text=True, check=True).stdout
    assert "Estimated: sizes and counts from sampled blocks (every " \
        "4096 B on average)" in text


def test_exact_file_says_so(tmp_path):
    tmtrace.enable()
    try:
        keep = bytearray(10000)
        snap = tmtrace.Snapshot.create(traces=True)
    finally:
        tmtrace.disable()
    del keep
    path = str(tmp_path / "exact.tms")
    snap.write(path)
    tool = tmtool()
    if tool is None:
        pytest.skip("tmtool not built")
    out = subprocess.run([tool, "top", "--format", "json", path],
                         capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["reports"][0]["sample_interval"] == 0
    text = subprocess.run([tool, "top", path], capture_output=True,
                          text=True, check=True).stdout
    assert "Estimated" not in text


def test_changing_the_interval_clears_the_traces():
    tmtrace.enable()
    try:
        keep = bytearray(1 << 20)
        assert tmtrace.get_traced_memory()[0] >= 1 << 20
        tmtrace.set_sampling(1 << 16, 1)
        # traces of two intervals cannot be weighted by one rule
        assert tmtrace.get_traced_memory()[0] < 1 << 20
        assert tmtrace.get_sampling() == 1 << 16
        with pytest.raises(ValueError):
            tmtrace.set_sampling(1 << 51)
        with pytest.raises(OverflowError):
            tmtrace.set_sampling(-1)
    finally:
        tmtrace.disable()
        tmtrace.set_sampling(0)
    del keep


PROGRAM = textwrap.dedent("""\
    keep = [None] * 30000
    for i in range(30000):
        keep[i] = bytearray(1000)     # line 3: 30,000 x (56 + 1001) B
""")
SITE_BYTES = 30000 * (1001 + 56)


def site_estimate(tool, path, script):
    out = subprocess.run([tool, "top", "--format", "json", "--count", "0",
                          path], capture_output=True, text=True, check=True)
    report = json.loads(out.stdout)["reports"][0]
    size = sum(e["size"] for e in report["entries"]
               if e["filename"] == script and e["lineno"] == 3)
    return report["sample_interval"], size


def traced_site(tmp_path, out, args, env=None):
    """Run PROGRAM (args: the command before the script, or None for the
    TMTRACE variable); the (interval, estimated bytes) of its site."""
    tool = tmtool()
    if tool is None:
        pytest.skip("tmtool not built")
    script = tmp_path / "prog.py"
    script.write_text(PROGRAM)
    if args is None:       # the variable mode, started as the .pth does
        args = ["-c", "import tmtrace._startup as s; s.run(); "
                "exec(compile(open(%r).read(), %r, 'exec'))"
                % (str(script), str(script))]
    else:
        args = args + [str(script)]
    run = run_python(args, cwd=str(tmp_path), env=env)
    assert run.returncode == 0, run.stderr
    files = sorted(os.listdir(str(out)))
    return run, site_estimate(tool, str(out / files[-1]), str(script))


def test_runner_flag_end_to_end(tmp_path):
    out = tmp_path / "out"
    _, (interval, size) = traced_site(
        tmp_path, out, ["-m", "tmtrace", "run", "--sample", "4KiB", "-o",
                        str(out)])
    assert interval == 4096
    # sigma ~ sqrt(31.7e6 * 4096) = 0.36 MB: 6 sigma is 7%; allow 10%
    assert abs(size - SITE_BYTES) < 0.10 * SITE_BYTES, size


def test_variable_end_to_end(tmp_path):
    out = tmp_path / "out"
    run, (interval, size) = traced_site(
        tmp_path, out, None, {"TMTRACE": "1", "TMTRACE_SAMPLE": "4KiB",
                              "TMTRACE_OUTPUT": str(out)})
    assert run.stderr == ""
    assert interval == 4096
    assert abs(size - SITE_BYTES) < 0.10 * SITE_BYTES, size
    # a bad value: one warning, then every block is traced
    out = tmp_path / "out2"
    run, (interval, size) = traced_site(
        tmp_path, out, None, {"TMTRACE": "1", "TMTRACE_SAMPLE": "12",
                              "TMTRACE_OUTPUT": str(out)})
    assert "ignoring TMTRACE_SAMPLE='12'" in run.stderr
    assert interval == 0 and size == SITE_BYTES
