"""The live endpoint (src/tracer/endpoint.c, docs/live-endpoint.md): what
it serves, who may connect, and that hostile clients neither break it nor
hold up other viewers.  Payloads are decoded by tests/format/tms_ref.py,
the decoder written from SPEC.md alone."""
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import warnings

import pytest

import _tmtrace
import tmtrace

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "format"))
import tms_ref  # noqa: E402

HDR = 16


def recv_all(s, limit=1 << 30):
    data = b""
    while len(data) < limit:
        d = s.recv(1 << 16)
        if not d:
            break
        data += d
    return data


def request(path, line=b"stats\n", timeout=10):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    for attempt in range(100):
        try:
            s.connect(path)
            break
        except BlockingIOError:   # listen queue full: the server is busy
            time.sleep(0.05)
    try:
        s.sendall(line)
        data = recv_all(s)
    finally:
        s.close()
    return parse(data)


def parse(data):
    assert data[:4] == b"TMTW" and data[4] == 1, data[:16]
    status = data[5]
    length = int.from_bytes(data[8:16], "little")
    payload = data[HDR:]
    assert len(payload) == length
    return status, payload


@pytest.fixture
def endpoint():
    was = tmtrace.is_enabled()
    if not was:
        tmtrace.enable()
    path = tmtrace.start_endpoint()
    yield path
    tmtrace.stop_endpoint()
    if not was:
        tmtrace.disable()


def in_thread(fn, *args):
    # The server copies the tables under the GIL: ask from a thread while
    # this one waits with the GIL released, as a real viewer would.
    out = []
    t = threading.Thread(target=lambda: out.append(fn(*args)))
    t.start()
    t.join(30)
    assert not t.is_alive()
    return out[0]


def test_socket_is_private_and_named_by_pid(endpoint):
    st = os.stat(os.path.dirname(endpoint))
    assert stat.S_IMODE(st.st_mode) == 0o700
    assert st.st_uid == os.geteuid()
    assert stat.S_ISSOCK(os.stat(endpoint).st_mode)
    assert stat.S_IMODE(os.stat(endpoint).st_mode) & 0o077 == 0
    assert os.path.basename(endpoint) == "%d.sock" % os.getpid()
    assert tmtrace.start_endpoint() == endpoint   # idempotent
    assert _tmtrace._endpoint_path() == endpoint


KEEP = []


def grow():
    KEEP.append([bytearray(1000) for _ in range(500)])  # grow-line


def test_stats_snapshot_matches_get_stats(endpoint):
    grow()
    status, payload = in_thread(request, endpoint)
    assert status == 0
    snap = tms_ref.decode(payload)
    assert snap["header"]["pid"] == os.getpid()
    assert snap["header"]["writer_name"] == "tmtrace"
    meta = dict(snap["meta"])
    assert sys.executable.split("/")[-1].split(".")[0][:6] in meta["process.cmdline"]
    # The grow() line's total is at least what we hold there (500 x 1000)
    lines = {}
    frames = snap["frames"]
    strings = snap["strings"]
    for st in snap["stats"]:
        fr = frames[st[0]]
        name = strings[fr[0]] if fr[0] is not None else None
        lines[(name, fr[1])] = st[1]
    line = next(i for i, t in enumerate(open(__file__), 1) if "# grow-line" in t
                and "KEEP.append" in t)
    assert lines[(__file__, line)] >= 500 * 1000


def test_traces_on_request_and_metrics(endpoint):
    grow()
    status, payload = in_thread(request, endpoint, b"traces\n")
    assert status == 0
    snap = tms_ref.decode(payload)
    assert snap["traces"] is not None and len(snap["traces"]) >= 500
    metrics = {m["name"]: m["value"] for m in snap["metrics"]}
    assert "tracemalloc.traced.size" in metrics
    assert metrics["tracemalloc.traced.max_size"] >= metrics["tracemalloc.traced.size"]
    assert metrics["tracemalloc.traced.size"] == sum(t[1] for t in snap["traces"])
    assert "process_memory.rss" in metrics


def test_garbage_and_unknown_requests_get_an_answer(endpoint):
    status, payload = in_thread(request, endpoint, b"\x00\xff\x1b[2Jgarbage\n")
    assert status == 1 and b"unknown request" in payload
    # A huge request: the server answers after TM_LIVE_REQ_MAX bytes and
    # closes, which may reset the connection under the rest of it.
    def huge():
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(10)
        s.connect(endpoint)
        try:
            s.sendall(b"x" * 10000000)
            return parse(recv_all(s))
        except (BrokenPipeError, ConnectionResetError):
            return "closed"
        finally:
            s.close()
    got = in_thread(huge)
    assert got == "closed" or (got[0] == 1 and b"too long" in got[1])
    status, payload = in_thread(request, endpoint, b"x" * 200)
    assert status == 1 and b"too long" in payload
    # and the endpoint still serves
    assert in_thread(request, endpoint)[0] == 0


def test_stalled_clients_are_dropped_and_do_not_block_others(endpoint):
    stalled = []
    for _ in range(3):
        s = socket.socket(socket.AF_UNIX)
        s.connect(endpoint)
        stalled.append(s)          # never sends anything
    # a client that asks for traces and never reads them
    slow = socket.socket(socket.AF_UNIX)
    slow.connect(endpoint)
    slow.sendall(b"traces\n")
    t0 = time.monotonic()
    assert in_thread(request, endpoint)[0] == 0
    assert time.monotonic() - t0 < 2.0
    # the silent ones are closed by the server after its 2 s timeout
    for s in stalled:
        s.settimeout(5)
        assert s.recv(16) == b""
        s.close()
    slow.close()


def test_too_many_connections_are_told_busy(endpoint):
    # Nine silent clients: the server holds eight and tells the ninth it
    # accepts that it is busy.  Which one that is depends on when the
    # server gets to them, so every one is read: one answer, and the eight
    # held ones closed after the server's request timeout (2 s).
    clients = []
    for _ in range(9):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(30)
        s.connect(endpoint)
        clients.append(s)
    answers = [recv_all(s) for s in clients]
    for s in clients:
        s.close()
    told = [parse(a) for a in answers if a]
    assert len(told) == 1, answers
    status, payload = told[0]
    assert status == 2 and b"too many" in payload
    # Served again once the server has seen them go (busy meanwhile).
    deadline = time.monotonic() + 30
    while True:
        status = in_thread(request, endpoint)[0]
        if status != 2 or time.monotonic() > deadline:
            break
    assert status == 0


def test_several_viewers_at_once_and_again(endpoint):
    # Viewers come and go, several at once, any number of times.
    results = []

    def viewer():
        for _ in range(15):
            results.append(request(endpoint, b"stats\n")[0])

    threads = [threading.Thread(target=viewer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == [0] * 60


def test_client_closing_early_does_not_hurt(endpoint):
    for _ in range(20):
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(endpoint)
            s.sendall(b"traces\n")
        except OSError:
            pass     # past 8 at once the server answers BUSY and shuts us out
        s.close()
    # Served again once the server has seen them go (BUSY meanwhile).
    deadline = time.monotonic() + 20
    while True:
        status = in_thread(request, endpoint)[0]
        if status != 2 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert status == 0


def grow_line_size(response):
    """The size the copy counts at grow()'s line."""
    snap = tms_ref.decode(response[1])
    line = next(i for i, t in enumerate(open(__file__), 1)
                if "# grow-line" in t and "KEEP.append" in t)
    return sum(st[1] for st in snap["stats"]
               if snap["frames"][st[0]][1] == line and
               snap["frames"][st[0]][0] is not None and
               snap["strings"][snap["frames"][st[0]][0]] == __file__)


def copied_at(response):
    """When the server made the copy it answered with (header time, ns)."""
    status, payload = response
    assert status == 0
    return tms_ref.decode(payload)["header"]["timestamp_ns"]


def test_copies_are_rate_limited(endpoint):
    # Requests closer than the minimum interval (100 ms, more when copies
    # are slow) share one copy; a new copy is made at least that long
    # after the last.  How close two requests come is up to the machine:
    # ask in pairs until two share a copy, and check every pair that does
    # not against the interval, by the copies' own times.
    deadline = time.monotonic() + 30
    while True:
        a = in_thread(request, endpoint)
        b = in_thread(request, endpoint)
        if a == b:
            break
        assert copied_at(b) - copied_at(a) >= 99_000_000
        assert time.monotonic() < deadline, "no two requests shared a copy"
    grow()
    # Once the interval has passed a request gets a new copy, which sees
    # the growth.
    deadline = time.monotonic() + 30
    while True:
        c = in_thread(request, endpoint)
        if copied_at(c) != copied_at(a) or time.monotonic() > deadline:
            break
    assert copied_at(c) - copied_at(a) >= 99_000_000
    assert grow_line_size(c) >= grow_line_size(a) + 500 * 1000


def test_stop_removes_socket_and_restart_works(endpoint):
    tmtrace.stop_endpoint()
    assert not os.path.exists(endpoint)
    tmtrace.stop_endpoint()      # idempotent
    assert _tmtrace._endpoint_path() is None
    assert tmtrace.start_endpoint() == endpoint
    assert in_thread(request, endpoint)[0] == 0


def nobody():
    try:
        return pwd.getpwnam("nobody")
    except KeyError:
        return None


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="needs root and setpriv to act as another user")
def test_another_user_is_refused(endpoint):
    who = nobody()
    assert who is not None
    client = textwrap.dedent("""
        import socket, sys
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(sys.argv[1])
        except OSError as e:
            print("connect-error", e.errno)
            sys.exit(0)
        try:
            s.sendall(b"stats\\n")
        except OSError:
            pass   # refused before the request was read: the answer waits
        data = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
        print("status", data[5] if len(data) > 5 else None, data[16:].decode())
        """)
    drop = ["setpriv", "--reuid=%d" % who.pw_uid, "--regid=%d" % who.pw_gid,
            "--clear-groups"]
    # An interpreter the other user can run (pyenv's may live under /root).
    runnable = [exe for exe in (sys.executable, "/usr/bin/python3")
                if os.path.exists(exe) and subprocess.run(
                    drop + [exe, "-c", "pass"], capture_output=True).returncode == 0]
    assert runnable, "no Python that user %s can run" % who.pw_name
    cmd = drop + [runnable[0], "-c", client, endpoint]
    # 1. The directory (0700) keeps the other user out.
    out = in_thread(lambda: subprocess.run(cmd, capture_output=True, text=True))
    assert out.stdout.startswith("connect-error 13"), out
    # 2. Even when the files are opened up, the peer's uid is checked.
    # In a directory of this test's own: opening the shared one would stop
    # endpoints other tests start meanwhile (they refuse a group/other mode).
    tmtrace.stop_endpoint()
    base = tempfile.mkdtemp(prefix="tmtrace-xdg-", dir="/tmp")
    old = os.environ.get("XDG_RUNTIME_DIR")
    os.environ["XDG_RUNTIME_DIR"] = base
    try:
        path = tmtrace.start_endpoint()
        assert path.startswith(base + "/tmtrace/")
        os.chmod(base, 0o711)
        os.chmod(os.path.dirname(path), 0o711)
        os.chmod(path, 0o666)
        cmd[-1] = path
        out = in_thread(lambda: subprocess.run(cmd, capture_output=True,
                                                 text=True))
        os.chmod(os.path.dirname(path), 0o700)
        tmtrace.stop_endpoint()
    finally:
        if old is None:
            del os.environ["XDG_RUNTIME_DIR"]
        else:
            os.environ["XDG_RUNTIME_DIR"] = old
        shutil.rmtree(base, ignore_errors=True)
    assert out.stdout.startswith("status 3 permission denied"), out
    assert tmtrace.start_endpoint() == endpoint
    assert in_thread(request, endpoint)[0] == 0


def run_child(code, **kw):
    env = dict(os.environ)
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)],
                            stdout=subprocess.PIPE, text=True, env=env, **kw)


def test_socket_removed_at_exit_and_stale_cleaned():
    p = run_child("""
        import tmtrace, sys
        tmtrace.enable()
        print(tmtrace.start_endpoint(), flush=True)
        sys.stdin.readline()
        """, stdin=subprocess.PIPE)
    path = p.stdout.readline().strip()
    assert os.path.exists(path)
    p.stdin.write("\n")
    p.stdin.flush()
    assert p.wait(20) == 0
    assert not os.path.exists(path), "socket left after a normal exit"
    # Killed: the socket stays until the next endpoint starts in that dir.
    p = run_child("""
        import tmtrace, sys
        tmtrace.enable()
        print(tmtrace.start_endpoint(), flush=True)
        sys.stdin.readline()
        """, stdin=subprocess.PIPE)
    path = p.stdout.readline().strip()
    p.send_signal(signal.SIGKILL)
    p.wait(20)
    assert os.path.exists(path)
    q = run_child("""
        import tmtrace
        tmtrace.enable()
        tmtrace.start_endpoint()
        tmtrace.stop_endpoint()
        """)
    assert q.wait(20) == 0
    assert not os.path.exists(path), "stale socket of a dead pid not removed"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_fork_child_does_not_inherit_the_server(endpoint):
    r, w = os.pipe()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # 3.12+ warn when forking a process with threads: our server
        # thread steps aside so the program sees no warning of ours.
        pid = os.fork()
        if pid == 0:
            ok = _tmtrace._endpoint_path() is None
            os.write(w, b"1" if ok else b"0")
            os._exit(0)        # as a multiprocessing worker ends
    assert not [x for x in caught if "multi-threaded" in str(x.message)]
    os.close(w)
    assert os.read(r, 1) == b"1"
    os.close(r)
    os.waitpid(pid, 0)
    assert os.path.exists(endpoint)
    assert in_thread(request, endpoint)[0] == 0


def test_runner_serves_and_opts_out(tmp_path):
    script = tmp_path / "prog.py"
    script.write_text("import os, sys\nprint(os.getpid(), flush=True)\n"
                      "sys.stdin.readline()\n")
    for live, expect in (("", True), ("0", False)):
        env = dict(os.environ, TMTRACE_LIVE=live)
        p = subprocess.Popen([sys.executable, "-m", "tmtrace", "run", "-o",
                              str(tmp_path), str(script)], env=env,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True)
        pid = int(p.stdout.readline())
        found = [d for d in candidate_dirs()
                 if os.path.exists(os.path.join(d, "%d.sock" % pid))]
        p.stdin.write("\n")
        p.stdin.flush()
        assert p.wait(20) == 0
        assert bool(found) == expect


def candidate_dirs():
    out = []
    x = os.environ.get("XDG_RUNTIME_DIR")
    if x and x.startswith("/"):
        out.append(os.path.join(x, "tmtrace"))
    out.append("/tmp/tmtrace-%d" % os.geteuid())
    return out


def test_async_exception_reaches_the_program_while_serving(tmp_path):
    # The serving thread's state carried the program thread's ident, so
    # PyThreadState_SetAsyncExc(main) marked ours and the program looped
    # forever (CPython's test_threading.test_PyThreadState_SetAsyncExc
    # hung under TMTRACE=1).
    code = textwrap.dedent("""\
        import ctypes, threading, tmtrace
        tmtrace.start_endpoint()
        set_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc
        set_exc.argtypes = (ctypes.c_ulong, ctypes.py_object)
        class Stop(Exception):
            pass
        try:
            set_exc(threading.get_ident(), ctypes.py_object(Stop))
            while True:
                pass
        except Stop:
            print("raised")
        tmtrace.stop_endpoint()
    """)
    env = dict(os.environ, XDG_RUNTIME_DIR=str(tmp_path))
    run = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, timeout=30, env=env)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "raised"


def test_stopping_leaves_the_program_its_gilstate():
    # The server's thread state was attached on the server's thread; when
    # the program's thread deleted it, CPython (3.12+) cleared the
    # program's own PyGILState slot: tracemalloc then saw no frames and
    # the next PyGILState_Ensure aborted the process.
    import ctypes
    import tracemalloc
    was = tmtrace.is_enabled()
    if not was:
        tmtrace.enable()
    path = tmtrace.start_endpoint()
    assert in_thread(request, path)[0] == 0   # the server attached its state
    tmtrace.stop_endpoint()
    if not was:
        tmtrace.disable()
    get = ctypes.pythonapi.PyGILState_GetThisThreadState
    get.restype = ctypes.c_void_p
    assert get() is not None
    tracemalloc.start()
    try:
        obj = bytes(5000)
        tb = tracemalloc.get_object_traceback(obj)
        assert tb is not None and tb[0].filename == __file__
    finally:
        tracemalloc.stop()
