"""python -m tmtrace run: the program runs as under python, and snapshots
end up in files named by pid, in real subprocesses."""
import glob
import os
import re
import signal
import sys
import textwrap

import pytest

import tmtrace
from tasks_util import needs_hook, run_python, tmtool

# Five kept blocks of 5 MiB with a 4 MiB threshold: each block makes one
# snapshot due, then the final one at exit: six files.
LEAKY = textwrap.dedent("""\
    import sys
    keep = []
    def grow():
        keep.append(bytearray(5 * 1024 * 1024))   # line 4: the site
    for _ in range(5):
        grow()
    print("argv", sys.argv)
    print("name", __name__)
    print("path0", sys.path[0])
""")


def write(path, text):
    path.write_text(text)
    return str(path)


def snapshot_files(directory):
    return sorted(glob.glob(os.path.join(str(directory), "tmtrace-*.tms")))


@needs_hook
def test_threshold_schedule_and_final_snapshot(tmp_path):
    script = write(tmp_path / "leaky.py", LEAKY)
    out = tmp_path / "out"
    run = run_python(["-m", "tmtrace", "run", "--threshold", "4MiB",
                      "--output", str(out), script, "a", "--b"],
                     cwd=str(tmp_path))
    assert run.returncode == 0, run.stderr
    assert "argv ['%s', 'a', '--b']" % script in run.stdout
    assert "name __main__" in run.stdout
    assert "path0 %s" % tmp_path in run.stdout
    files = snapshot_files(out)
    pid = re.match(r"tmtrace-(\d+)-", os.path.basename(files[0])).group(1)
    assert [os.path.basename(f) for f in files] == [
        "tmtrace-%s-%04d.tms" % (pid, n) for n in range(1, 7)]
    assert "6 snapshots of pid %s in %s" % (pid, out) in run.stderr
    final = tmtrace.Snapshot.load(files[-1])
    size, count = final.stats[script][4]
    assert size >= 5 * 5 * 1024 * 1024 and count >= 5
    first = tmtrace.Snapshot.load(files[0])
    assert first.stats[script][4][0] >= 5 * 1024 * 1024


@needs_hook
def test_delay_schedule(tmp_path):
    # The program allocates until the timer has written two snapshots
    # (however slow the machine: a fixed run time let a loaded start-up
    # shift how many seconds fell inside it), then ends: the final one.
    script = write(tmp_path / "slow.py", textwrap.dedent("""\
        import glob, os, sys, time
        end = time.monotonic() + 60
        while len(glob.glob(os.path.join(sys.argv[1], "tmtrace-*.tms"))) < 2:
            assert time.monotonic() < end, "no timer snapshots"
            [object() for _ in range(100)]
            time.sleep(0.02)
    """))
    run = run_python(["-m", "tmtrace", "run", "--delay", "1", "--output",
                      str(tmp_path), script, str(tmp_path)])
    assert run.returncode == 0, run.stderr
    snaps = sorted(tmtrace.Snapshot.load(f).timestamp
                   for f in snapshot_files(tmp_path))
    # The timer snapshots and the final one; the timer's are a delay
    # apart (not made at every allocation once due: 20 ms apart).
    assert len(snaps) >= 3, run.stderr
    timer = snaps[:-1]
    assert all((b - a).total_seconds() >= 0.5
               for a, b in zip(timer, timer[1:])), timer


def test_exit_codes_exceptions_and_traceback(tmp_path):
    code = write(tmp_path / "code.py", "import sys\nsys.exit(3)\n")
    assert run_python(["-m", "tmtrace", "run", "-o", str(tmp_path), code]).returncode == 3
    msg = write(tmp_path / "msg.py", "import sys\nsys.exit('bye')\n")
    run = run_python(["-m", "tmtrace", "run", "-o", str(tmp_path), msg])
    assert run.returncode == 1 and "bye" in run.stderr
    boom = write(tmp_path / "boom.py", "def f():\n    1 / 0\nf()\n")
    run = run_python(["-m", "tmtrace", "run", "-o", str(tmp_path / "b"), boom])
    plain = run_python([boom])
    assert run.returncode == plain.returncode == 1
    assert "ZeroDivisionError" in run.stderr
    # The same traceback as plain python: the program's frames only.
    tb = run.stderr[run.stderr.index("Traceback"):run.stderr.index("ZeroDivisionError")]
    assert tb == plain.stderr[:plain.stderr.index("ZeroDivisionError")]
    assert len(snapshot_files(tmp_path / "b")) == 1  # the final one, all the same


def test_keyboard_interrupt_exits_like_python(tmp_path):
    script = write(tmp_path / "ki.py", "raise KeyboardInterrupt\n")
    run = run_python(["-m", "tmtrace", "run", "-o", str(tmp_path), script])
    plain = run_python([script])
    assert run.returncode == plain.returncode
    assert "KeyboardInterrupt" in run.stderr


def test_sigterm_kills_like_python(tmp_path):
    script = write(tmp_path / "term.py",
                   "import os, signal\nos.kill(os.getpid(), signal.SIGTERM)\n")
    run = run_python(["-m", "tmtrace", "run", "-o", str(tmp_path), script])
    assert run.returncode == -signal.SIGTERM


def test_module_mode(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    write(pkg / "__init__.py", "")
    write(pkg / "tool.py", LEAKY)
    run = run_python(["-m", "tmtrace", "run", "-o", str(tmp_path / "o"),
                      "-m", "pkg.tool", "x"], cwd=str(tmp_path))
    assert run.returncode == 0, run.stderr
    assert "argv ['%s', 'x']" % (pkg / "tool.py") in run.stdout
    assert "name __main__" in run.stdout
    assert "path0 %s" % tmp_path in run.stdout
    assert len(snapshot_files(tmp_path / "o")) == 1


def test_help_documents_options():
    run = run_python(["-m", "tmtrace", "run", "--help"])
    assert run.returncode == 0
    for word in ("--nframe", "--output", "--delay", "--threshold", "--traces",
                 "-m MODULE", "script.py", "pid", "TMTRACE"):
        assert word in run.stdout, word


@pytest.mark.parametrize("args", [["--delay", "0"], ["--threshold", "10QB"],
                                  ["--nframe", "x"], []])
def test_bad_usage(tmp_path, args):
    script = write(tmp_path / "s.py", "pass\n")
    run = run_python(["-m", "tmtrace", "run"] + args + ([script] if args else []))
    assert run.returncode == 2 and "usage" in run.stderr
    assert snapshot_files(tmp_path) == []


def test_missing_script(tmp_path):
    run = run_python(["-m", "tmtrace", "run", str(tmp_path / "nope.py")])
    assert run.returncode == 2 and "nope.py" in run.stderr


def test_nframe_and_traces(tmp_path):
    script = write(tmp_path / "deep.py", textwrap.dedent("""\
        def a():
            return bytearray(100000)
        def b():
            return a()
        keep = b()
    """))
    run = run_python(["-m", "tmtrace", "run", "--nframe", "3", "--traces",
                      "-o", str(tmp_path), script])
    assert run.returncode == 0, run.stderr
    snap = tmtrace.Snapshot.load(snapshot_files(tmp_path)[0])
    assert snap.traceback_limit == 3
    tbs = [tb for size, tb in snap.traces.values() if size >= 100000]
    assert [(script, 2), (script, 4), (script, 5)] in [list(tb) for tb in tbs]


FORK_CHILD = textwrap.dedent("""\
    import os, sys, multiprocessing as mp
    def work(n):
        global KEEP; KEEP = bytearray(3 * 1024 * 1024)   # line 3
        return n
    if __name__ == "__main__":
        mp.set_start_method(sys.argv[1])
        procs = [mp.Process(target=work, args=(n,)) for n in range(2)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        pid = os.fork()
        if pid == 0:
            keep = bytearray(1024 * 1024)  # line 14: in the child
            sys.exit(0)
        os.waitpid(pid, 0)
""")


def test_fork_children_write_their_own_files(tmp_path):
    script = write(tmp_path / "forky.py", FORK_CHILD)
    run = run_python(["-m", "tmtrace", "run", "-o", str(tmp_path / "o"),
                      script, "fork"])
    assert run.returncode == 0, run.stderr
    files = snapshot_files(tmp_path / "o")
    pids = {re.match(r".*tmtrace-(\d+)-", f).group(1) for f in files}
    # The parent, two multiprocessing children, one os.fork child.
    assert len(pids) == 4, (files, run.stderr)
    sites = set()
    for f in files:
        snap = tmtrace.Snapshot.load(f)
        sites.update(lineno for lineno in snap.stats.get(script, {}))
    assert {3, 14} <= sites, sites


@pytest.mark.skipif(tmtool() is None, reason="tmtool not built")
@needs_hook
def test_tmtool_reads_the_runner_files(tmp_path):
    script = write(tmp_path / "leaky.py", LEAKY)
    run = run_python(["-m", "tmtrace", "run", "--threshold", "4MiB", "-o",
                      str(tmp_path), script])
    assert run.returncode == 0, run.stderr
    files = snapshot_files(tmp_path)
    import subprocess
    top = subprocess.run([tmtool(), "top", "-n", "1", files[-1]],
                         capture_output=True, text=True)
    assert top.returncode == 0
    assert "leaky.py:4 (grow): size=25.0 MiB" in top.stdout, top.stdout


# --- issue 14: what a new user types -------------------------------------

ARGV = "import sys\nprint('argv', sys.argv[1:])\n"


def test_options_after_the_module_are_the_modules(tmp_path):
    # README: `-m mypackage.worker --port 8080`; `-m pytest -q`.
    pkg = tmp_path / "mypackage"
    pkg.mkdir()
    write(pkg / "__init__.py", "")
    write(pkg / "worker.py", ARGV)
    run = run_python(["-m", "tmtrace", "run", "--threshold", "50MiB", "-o",
                      str(tmp_path / "o"), "-m", "mypackage.worker",
                      "--port", "8080", "-q", "--nframe", "3", "--", "-o"],
                     cwd=str(tmp_path))
    assert run.returncode == 0, run.stderr
    assert ("argv ['--port', '8080', '-q', '--nframe', '3', '--', '-o']"
            in run.stdout), run.stdout
    assert len(snapshot_files(tmp_path / "o")) == 1
    # -mMODULE, as python accepts it
    run = run_python(["-m", "tmtrace", "run", "-o", str(tmp_path / "o"),
                      "-mmypackage.worker", "-x"], cwd=str(tmp_path))
    assert run.returncode == 0 and "argv ['-x']" in run.stdout, run.stderr


def test_help_after_the_module_is_the_modules(tmp_path):
    run = run_python(["-m", "tmtrace", "run", "-o", str(tmp_path), "-m",
                      "json.tool", "-h"])
    plain = run_python(["-m", "json.tool", "-h"])
    assert run.returncode == plain.returncode == 0, run.stderr
    assert run.stdout == plain.stdout
    assert "tmtrace" not in run.stdout


def test_options_after_the_script_are_the_scripts(tmp_path):
    script = write(tmp_path / "a.py", ARGV)
    run = run_python(["-m", "tmtrace", "run", "-o", str(tmp_path / "o"),
                      script, "--output", "x", "-m", "y", "--help"])
    assert run.returncode == 0, run.stderr
    assert "argv ['--output', 'x', '-m', 'y', '--help']" in run.stdout
    # `--` ends the runner's options and is not passed on
    dash = write(tmp_path / "-dash.py", ARGV)
    run = run_python(["-m", "tmtrace", "run", "-o", str(tmp_path / "o"),
                      "--", os.path.basename(dash), "--", "z"],
                     cwd=str(tmp_path))
    assert run.returncode == 0, run.stderr
    assert "argv ['--', 'z']" in run.stdout


def test_version():
    for args in (["--version"], ["-V"], ["run", "--version"]):
        run = run_python(["-m", "tmtrace"] + args)
        assert run.returncode == 0, run.stderr
        assert run.stdout.startswith("tmtrace %s (" % tmtrace.__version__)
        assert sys.version.split()[0] in run.stdout


@pytest.mark.parametrize("bare", ["5", "1048576", "1.5"])
def test_threshold_without_unit_is_refused_with_a_hint(tmp_path, bare):
    script = write(tmp_path / "s.py", "pass\n")
    run = run_python(["-m", "tmtrace", "run", "--threshold", bare, "-o",
                      str(tmp_path), script])
    assert run.returncode == 2
    assert "no unit" in run.stderr and "%sMiB" % bare in run.stderr
    assert snapshot_files(tmp_path) == []


@needs_hook
def test_tiny_threshold_is_rate_limited_with_one_warning(tmp_path):
    # A threshold of 1 byte is due at nearly every allocation: the files
    # written on the schedule are capped (a burst, then RATE a second).
    script = write(tmp_path / "busy.py", textwrap.dedent("""\
        import glob, os, sys, time
        from tmtrace import _runner
        start = time.monotonic()
        keep = []
        # past the burst, however slow the machine writes (60 s at most)
        while time.monotonic() - start < 1.5 or len(glob.glob(os.path.join(
                sys.argv[1], "tmtrace-*.tms"))) <= _runner.BURST:
            assert time.monotonic() - start < 60, "the burst never ended"
            keep.append(bytearray(100))
        print("elapsed", time.monotonic() - start)
    """))
    import time
    start = time.monotonic()
    run = run_python(["-m", "tmtrace", "run", "--threshold", "1B", "-o",
                      str(tmp_path), script, str(tmp_path)])
    wall = time.monotonic() - start
    assert run.returncode == 0, run.stderr
    from tmtrace import _runner
    # the burst, RATE a second over the whole run, the final snapshot
    cap = _runner.BURST + _runner.RATE * wall + 1
    files = snapshot_files(tmp_path)
    assert _runner.BURST < len(files) <= cap, (len(files), cap)
    assert run.stderr.count("writing at most") == 1, run.stderr
    assert re.search(r"rate-limited \d+ time", run.stderr), run.stderr


def test_defaults_answer_traceback_questions(tmp_path):
    # No option: enough frames to reach the caller, and every trace kept,
    # so `tmtool top --group-by traceback` works on the file.
    script = write(tmp_path / "deep.py", textwrap.dedent("""\
        def a():
            return bytearray(100000)
        def b():
            return a()
        keep = b()
    """))
    run = run_python(["-m", "tmtrace", "run", "-o", str(tmp_path), script])
    assert run.returncode == 0, run.stderr
    snap = tmtrace.Snapshot.load(snapshot_files(tmp_path)[0])
    assert snap.traceback_limit == 10
    tbs = [list(tb) for size, tb in snap.traces.values() if size >= 100000]
    assert [(script, 2), (script, 4), (script, 5)] in [tb[:3] for tb in tbs]
    run = run_python(["-m", "tmtrace", "run", "--no-traces", "-o",
                      str(tmp_path / "n"), script])
    assert run.returncode == 0, run.stderr
    nofile = snapshot_files(tmp_path / "n")[0]
    assert not tmtrace.Snapshot.load(nofile).traces
    # Without traces, the error says what to re-run with.
    with pytest.raises(ValueError, match="python -m tmtrace run --traces"):
        tmtrace.Snapshot.load(nofile).top_by("traceback")
    if tmtool() is not None:
        import subprocess
        top = subprocess.run([tmtool(), "top", "--group-by", "traceback",
                              nofile], capture_output=True, text=True)
        assert top.returncode != 0
        assert "has no traces" in top.stderr and "--traces" in top.stderr


def test_rate_limit_bucket_with_a_fake_clock():
    from tmtrace import _runner
    now = [100.0]
    limit = _runner._RateLimit(rate=2.0, burst=5, clock=lambda: now[0])
    assert [limit.wait() for _ in range(5)] == [0.0] * 5   # the burst
    assert limit.wait() == pytest.approx(0.5)              # then 2 a second
    now[0] += 0.5
    assert limit.wait() == 0.0 and limit.wait() == pytest.approx(0.5)
    now[0] += 60                                           # refills to the burst only
    assert [limit.wait() for _ in range(6)].count(0.0) == 5
    assert limit.deferred == 3
