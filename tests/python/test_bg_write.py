"""Issue 15 goal 3: Snapshot.write_live(background=True) -- a forked child
writes the file from its copy-on-write image of the tables at the instant
of the call (src/tracer/bgwrite.c, tmtrace/_bgwrite.py).

Oracle: the whole-snapshot path writes the same instant in the same C call,
just before the fork (write_live_background's `whole`), with nothing
allocated through Python in between; the independent decoder
(tests/format/tms_ref.py) and libtms (Snapshot.load) read both files.
Whatever the program does after the call -- allocate, free, clear the
traces -- must not reach the background file.

No test depends on timing: a child that must still be running when it is
killed stops itself once its file exists (the `stop` test argument), and
every wait has a generous deadline.
"""
import os
import signal
import sys
import threading

import pytest

import _tmtrace
import core_alloc
import tmtrace
from core_support import tracer  # noqa: F401
from test_stream_write import decode, resolved
from tmtrace import _bgwrite

WAIT = 300   # seconds: a deadline, never a pause

# glibc's fork() takes malloc's locks around the fork, so a child may
# allocate whatever other threads were doing; the allocator of GCC 12's
# ASan runtime does not (a fork interceptor came with LLVM 15): there, a
# thread allocating at the fork instant can leave the child's malloc
# locked forever.  The tests with threads allocating across forks are
# glibc's case only.
SANITIZED = "libasan" in os.environ.get("LD_PRELOAD", "")
threads_across_fork = pytest.mark.skipif(
    SANITIZED, reason="ASan's allocator is not fork-safe with threads "
    "allocating (GCC 12 runtime)")


def start(path, traces=True, metrics=(), count="tracemalloc.traces",
          whole=None, stop=False):
    # bytes paths: converting a str would allocate (a traced object alive
    # at the instant of the whole-path oracle but not of the fork).
    pid, fd = _tmtrace.write_live_background(
        os.fsencode(str(path)), traces, list(metrics), count,
        None if whole is None else os.fsencode(str(whole)), stop)
    return _bgwrite.BackgroundWrite(pid, fd, str(path))


def assert_reaped(pid):
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def wait_stopped(pid):
    """Block until the child (started with stop=True) has stopped itself
    with its file open."""
    _, status = os.waitpid(pid, os.WUNTRACED)
    assert os.WIFSTOPPED(status), status


def test_background_file_is_the_instant(tracer, tmp_path):
    tracer.set_traceback_limit(5)
    tracer.clear_traces()
    keep = [core_alloc.make_bytes(40 + i % 300) for i in range(150_000)]
    keep += core_alloc.churn(300, 7)
    doomed = [core_alloc.make_bytes(70_001) for _ in range(20)]
    # bytes objects are not tracked by the collector: the block is id().
    doomed_at = frozenset(id(b) for b in doomed)
    raw = core_alloc.nogil_raw_malloc(999)   # in the pending map
    bg, whole = tmp_path / "bg.tms", tmp_path / "whole.tms"
    before = os.getpid()
    h = start(bg, metrics=[("user.x", 7, "int")], whole=whole)
    # The program goes on: it frees, allocates, clears its traces.
    del doomed
    later = [core_alloc.make_bytes(90_001) for _ in range(20)]
    core_alloc.nogil_raw_free(raw)
    tracer.clear_traces()
    assert h.wait(WAIT) == str(bg)
    assert_reaped(h.pid)
    b, w = resolved(decode(bg)), resolved(decode(whole))
    assert len(b["traces"]) >= 150_000
    assert b["traces"] == w["traces"]
    for key in ("strings", "frames", "tracebacks", "stats", "peak",
                "functions", "sample_interval", "limit", "meta", "metrics"):
        assert b[key] == w[key], key
    assert b["metrics"]["user.x"] == ("int", 7)
    assert b["metrics"]["tracemalloc.traces"] == ("int", len(b["traces"]))
    assert decode(bg)["header"]["pid"] == before
    addrs = {a for a, _, _ in b["traces"]}
    assert doomed_at <= addrs
    assert sys.getsizeof(later[0]) not in {s for _, s, _ in b["traces"]}
    assert [t for t in b["traces"] if t[1] == 999 and t[2] == ()]
    # libtms reads it as the same traces
    got = tmtrace.Snapshot.load(str(bg))._cdata().build_traces()
    assert got == tmtrace.Snapshot.load(str(whole))._cdata().build_traces()
    del keep, later


def test_tracing_disabled_while_writing(tracer, tmp_path):
    """disable() in the program frees its tables; the child's copy is
    whole, and the file is still the instant of the call."""
    keep = [core_alloc.make_bytes(500 + i % 40) for i in range(30_000)]
    bg, whole = tmp_path / "bg.tms", tmp_path / "whole.tms"
    h = start(bg, whole=whole, stop=True)
    wait_stopped(h.pid)
    tracer.disable()
    more = [core_alloc.make_bytes(123) for _ in range(1000)]
    os.kill(h.pid, signal.SIGCONT)
    assert h.wait(WAIT) == str(bg)
    b, w = resolved(decode(bg)), resolved(decode(whole))
    assert len(b["traces"]) >= 30_000
    for key in ("traces", "stats", "peak", "functions", "metrics"):
        assert b[key] == w[key], key
    tracer.enable()   # as the fixture left it
    del keep, more


def peak_named(d):
    strs, frames, tbs = d["strings"], d["frames"], d["tracebacks"]
    peak = dict(d["peak"])
    peak["entries"] = sorted(
        (tuple((strs[frames[f][0]], frames[f][1]) for f in tbs[t]), s, c)
        for t, s, c in peak.pop("entries"))
    return peak


def test_background_stats_only(tracer, tmp_path):
    keep = [core_alloc.make_bytes(3000 + i % 7) for i in range(5000)]
    bg, whole = tmp_path / "bg.tms", tmp_path / "whole.tms"
    h = start(bg, traces=False, count=None, whole=whole)
    assert h.wait(WAIT) == str(bg)
    d = decode(bg)
    assert d["traces"] is None
    d["traces"] = []
    b, w = resolved(d), resolved(decode(whole))
    assert b["stats"] == w["stats"] and b["stats"]
    # Peak entries name tracebacks by id, and the stats-only file interns
    # fewer: compare what they name.
    assert peak_named(d) == peak_named(decode(whole))
    del keep


def test_public_api(tracer, tmp_path):
    keep = [core_alloc.make_bytes(5000) for _ in range(100)]
    path = str(tmp_path / "live.tms")
    h = tracer.Snapshot.write_live(path, traces=True, background=True)
    assert isinstance(h, tmtrace.BackgroundWrite)
    assert h.filename == path and h.pid > 0 and h.pid != os.getpid()
    assert h.wait(timeout=WAIT) == path
    assert h.done() and h.poll() == 0
    assert h.wait() == path            # again: the same outcome
    assert_reaped(h.pid)
    assert os.stat(path).st_mode & 0o777 == 0o600
    d = resolved(decode(path))
    assert d["metrics"]["tracemalloc.traces"] == ("int", len(d["traces"]))
    size = sys.getsizeof(keep[0])
    assert len([t for t in d["traces"] if t[1] == size]) >= 100
    assert os.listdir(tmp_path) == ["live.tms"]
    del keep


def test_tracing_off_is_refused(tmp_path):
    was = tmtrace.is_enabled()
    tmtrace.disable()
    try:
        with pytest.raises(RuntimeError, match="enabled"):
            tmtrace.Snapshot.write_live(str(tmp_path / "x.tms"),
                                        background=True)
        with pytest.raises(RuntimeError, match="enabled"):
            start(tmp_path / "y.tms")
    finally:
        if was:
            tmtrace.enable()
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("case", ["missing", "notdir", "isdir"])
def test_write_error_is_raised_by_wait(tracer, tmp_path, case):
    if case == "missing":
        path, expect = tmp_path / "no" / "such" / "x.tms", FileNotFoundError
    elif case == "notdir":
        (tmp_path / "f").write_bytes(b"")
        path, expect = tmp_path / "f" / "x.tms", NotADirectoryError
    else:
        (tmp_path / "d").mkdir()
        path, expect = tmp_path / "d", OSError
    before = sorted(os.listdir(tmp_path))
    h = tracer.Snapshot.write_live(str(path), traces=True, background=True)
    with pytest.raises(expect) as info:
        h.wait(WAIT)
    assert "cannot write '%s'" % path in str(info.value)
    assert h.poll() == 1 and h.done()
    with pytest.raises(expect):        # again: the same error
        h.wait()
    assert_reaped(h.pid)
    assert sorted(os.listdir(tmp_path)) == before
    if case == "isdir":
        assert os.listdir(path) == []


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM,
                                 signal.SIGINT])
def test_killed_child(tracer, tmp_path, sig):
    """Killed in the middle of its write (its file open): wait() says so,
    nothing is left under the name or beside it, no zombie.  SIGINT and
    SIGTERM kill it although the program catches them (Python's SIGINT
    handler is not the child's)."""
    keep = [core_alloc.make_bytes(100) for _ in range(1000)]
    (tmp_path / "x.tms").write_bytes(b"old")
    # The program catches the signal (as Python catches SIGINT, unless
    # the shell ignored it for a background job).
    caught = [] if sig == signal.SIGKILL else [sig]
    old = [signal.signal(s, lambda *args: None) for s in caught]
    try:
        h = start(tmp_path / "x.tms", stop=True)
    finally:
        for s, handler in zip(caught, old):
            signal.signal(s, handler)
    wait_stopped(h.pid)
    os.kill(h.pid, sig)
    os.kill(h.pid, signal.SIGCONT)
    with pytest.raises(RuntimeError,
                       match="killed by signal %d " % sig) as info:
        h.wait(WAIT)
    assert str(tmp_path / "x.tms") in str(info.value)
    assert_reaped(h.pid)
    assert os.listdir(tmp_path) == ["x.tms"]
    assert (tmp_path / "x.tms").read_bytes() == b"old"
    del keep


def test_reaped_by_someone_else(tracer, tmp_path):
    """A SIGCHLD handler of the program (here: this test) reaps the child
    first: the report on the pipe still tells the outcome."""
    h = start(tmp_path / "x.tms")
    os.waitpid(h.pid, 0)
    assert h.wait(WAIT) == str(tmp_path / "x.tms")
    assert resolved(decode(tmp_path / "x.tms"))["traces"]


def test_timeout_then_wait(tracer, tmp_path):
    h = start(tmp_path / "x.tms", stop=True)
    wait_stopped(h.pid)
    with pytest.raises(TimeoutError):
        h.wait(timeout=0)
    assert h.poll() is None and not h.done()
    os.kill(h.pid, signal.SIGCONT)
    assert h.wait(WAIT) == str(tmp_path / "x.tms")
    assert resolved(decode(tmp_path / "x.tms"))["traces"]


def test_several_in_flight_and_dropped_handles(tracer, tmp_path):
    """Writes at once, their handles dropped: the module keeps each until
    its child is reaped, and the files are whole."""
    keep = [core_alloc.make_bytes(200 + i) for i in range(2000)]
    handles = [start(tmp_path / ("%d.tms" % i), stop=True) for i in range(3)]
    handles.append(tracer.Snapshot.write_live(str(tmp_path / "3.tms"),
                                              traces=True, background=True))
    pids = [h.pid for h in handles]
    for pid in pids[:3]:
        wait_stopped(pid)
    del handles                         # dropped: the module keeps them
    import gc
    gc.collect()
    assert set(pids[:3]) <= {h.pid for h in _bgwrite._in_flight}
    for pid in pids[:3]:
        os.kill(pid, signal.SIGCONT)
    for h in list(_bgwrite._in_flight):
        h.wait(WAIT)
    for pid in pids:
        assert_reaped(pid)
    assert not _bgwrite._in_flight
    for i in range(4):
        d = resolved(decode(tmp_path / ("%d.tms" % i)))
        assert len(d["traces"]) >= 2000
    del keep


def test_os_fork_while_writing(tracer, tmp_path):
    """A process forked meanwhile does not own the write: its copy of the
    handle refuses to wait, and the parent's still works."""
    h = start(tmp_path / "x.tms", stop=True)
    wait_stopped(h.pid)
    child = os.fork()
    if child == 0:
        try:
            h.wait(0)
        except RuntimeError as exc:
            os._exit(0 if "parent process" in str(exc) else 2)
        except BaseException:
            os._exit(3)
        os._exit(4)
    _, status = os.waitpid(child, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    os.kill(h.pid, signal.SIGCONT)
    assert h.wait(WAIT) == str(tmp_path / "x.tms")
    assert resolved(decode(tmp_path / "x.tms"))["traces"]


@threads_across_fork
def test_gilless_threads_churning(tracer, tmp_path):
    """Threads allocating without the GIL (C threads Python never saw,
    through the pending map) while background writes fork: no deadlock,
    and each file is one consistent instant (its traces sum to its
    statistics, no address twice)."""
    sys.path.insert(0, os.environ["TMTRACE_TEST_EXT_DIR"])
    import _tmt_nativetest as ext
    keep = [core_alloc.make_bytes(100 + i % 50) for i in range(20_000)]
    paths = [tmp_path / ("%d.tms" % i) for i in range(6)]
    # While the threads churn, every traced allocation of this thread
    # applies their pending blocks: do little here until they stop.
    ext.raw_churn_start(2)
    try:
        for path in paths:
            h = tracer.Snapshot.write_live(str(path), traces=True,
                                           background=True)
            assert h.wait(WAIT) == str(path)
    finally:
        rounds = ext.raw_churn_stop()
    for path in paths:
        d = decode(path)
        traces = d["traces"]
        assert len({a for a, _, _ in traces}) == len(traces)
        assert sum(s for _, s, _ in traces) == \
            sum(s for _, s, _ in d["stats"])
        assert len(traces) == sum(c for _, _, c in d["stats"])
        assert len(traces) >= 20_000
        got = tmtrace.Snapshot.load(str(path))
        assert len(got.traces) == len(traces)
    assert rounds > 0
    del keep


def test_with_live_endpoint(tracer, tmp_path):
    """The child holds none of the program's descriptors: not the live
    endpoint's listening socket, not a pipe end; the endpoint serves on."""
    sock = tmtrace.start_endpoint()
    r, w = os.pipe()
    try:
        h = start(tmp_path / "x.tms", stop=True)
        wait_stopped(h.pid)
        held = [os.readlink("/proc/%d/fd/%s" % (h.pid, fd))
                for fd in os.listdir("/proc/%d/fd" % h.pid)]
        assert not [x for x in held if x.startswith("socket:")], held
        mine = os.readlink("/proc/self/fd/%d" % w)
        assert mine not in held
        os.kill(h.pid, signal.SIGCONT)
        assert h.wait(WAIT) == str(tmp_path / "x.tms")
        assert resolved(decode(tmp_path / "x.tms"))["traces"]
        assert _tmtrace._endpoint_path() == sock
        import socket as _socket
        s = _socket.socket(_socket.AF_UNIX)
        s.settimeout(WAIT)
        s.connect(sock)
        s.sendall(b"stats\n")
        head = b""
        while len(head) < 16:
            got = s.recv(16 - len(head))
            assert got, head
            head += got
        s.close()
        assert head[:4] == b"TMTW"
    finally:
        os.close(r)
        os.close(w)
        tmtrace.stop_endpoint()


@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="native mode is Linux-only")
@threads_across_fork
def test_native_mode(tmp_path):
    """Native mode patches the GOT of every other loaded library (libzstd,
    which the child's writer calls, among them): in the child those calls
    pass straight through, and native blocks of the instant are in the
    file.  In a fresh interpreter, as test_native.py's scenarios run."""
    import subprocess
    import textwrap
    code = textwrap.dedent("""
        import os, sys, tmtrace
        sys.path.insert(0, os.environ["TMTRACE_TEST_EXT_DIR"])
        import _tmt_nativetest as ext
        tmtrace.set_native(True)
        tmtrace.enable()
        blocks = [ext.alloc("malloc", 77_777, True) for _ in range(5)]
        ext.raw_churn_start(2)
        try:
            hs = [tmtrace.Snapshot.write_live(p, traces=True, background=True)
                  for p in sys.argv[1:]]
            for h in hs:
                h.wait(300)
        finally:
            ext.raw_churn_stop()
        for p in sys.argv[1:]:
            snap = tmtrace.Snapshot.load(p)
            native = [a for a, d in snap.domains.items() if d == 2**32 - 1]
            assert set(blocks) <= set(native), (blocks, len(native))
            assert all(snap.traces[a][0] == 77_777 for a in blocks)
        print("ok")
    """)
    paths = [str(tmp_path / ("%d.tms" % i)) for i in range(3)]
    r = subprocess.run([sys.executable, "-c", code] + paths, text=True,
                       capture_output=True, timeout=WAIT)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr
