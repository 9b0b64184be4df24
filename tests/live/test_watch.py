"""tmtool against a real traced Python process: --pid sources (top, diff,
save), the process list, and the full-screen view driven in tmux
(send-keys, capture-pane).  The program allocates on a schedule in
payload.py (written here), so the growing line is known; its own snapshot,
taken while it is paused, is the oracle for `tmtool top --pid`.

Environment (tests/live/meson.build): TMTOOL, PYTHONPATH for the tracer."""
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest

TMTOOL = os.environ["TMTOOL"]
TMUX = shutil.which("tmux")

PAYLOAD = textwrap.dedent("""\
    KEEP = []


    def grow(n):
        KEEP.append(bytearray(n))  # GROW
    """)
GROW_LINE = 5

PROGRAM = textwrap.dedent("""\
    import os, sys, threading, time
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import payload
    paused = threading.Event()
    idle = threading.Event()
    done = threading.Event()
    def commands():
        for line in sys.stdin:
            cmd = line.split()
            if cmd[0] == "pause":
                # Stop growing, wait until the main thread says it has
                # (it may be inside grow()), then take our own snapshot:
                # nothing runs in payload.py any more, so its lines stay
                # as they are.
                idle.clear()
                paused.set()
                idle.wait()
                import tmtrace
                tmtrace.Snapshot.create(traces=True).write(cmd[1])
                print("paused", flush=True)
            elif cmd[0] == "resume":
                paused.clear()
                print("resumed", flush=True)
            elif cmd[0] == "exit":
                break
        done.set()
    print(os.getpid(), flush=True)
    threading.Thread(target=commands, daemon=True).start()
    # The main thread allocates: the runner's delay task runs there.
    while not done.is_set():
        if paused.is_set():
            idle.set()
        else:
            payload.grow(64 * 1024)
        time.sleep(0.1)
    """)


def run(*args, **kw):
    return subprocess.run([TMTOOL] + list(args), capture_output=True,
                          text=True, timeout=kw.pop("timeout", 60), **kw)


class Program:
    """The traced program: python -m tmtrace run, controlled on stdin."""

    def __init__(self, tmp, *runner_args):
        (tmp / "payload.py").write_text(PAYLOAD)
        (tmp / "prog.py").write_text(PROGRAM)
        self.out = tmp / "snaps"
        self.p = subprocess.Popen(
            [sys.executable, "-m", "tmtrace", "run", "--nframe", "5",
             "-o", str(self.out)]
            + list(runner_args) + [str(tmp / "prog.py")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            cwd=str(tmp))
        self.pid = int(self.p.stdout.readline())
        self.payload = str(tmp / "payload.py")
        deadline = time.time() + 60   # generous: a loaded machine, ASan
        while not any(x["pid"] == self.pid for x in json.loads(
                run("watch", "--format", "json").stdout)["processes"]):
            assert time.time() < deadline, "endpoint never appeared"
            time.sleep(0.1)

    def grown_to(self, size, timeout=60):
        """Wait until the growing line holds size bytes (it grows 64 KiB
        per 0.1 s when the machine lets it)."""
        deadline = time.time() + timeout
        while True:
            r = run("top", "--pid", str(self.pid), "-i", "*payload.py", "-n",
                    "0", "--format", "json")
            if r.returncode == 0:
                got = entries(r.stdout).get((self.payload, GROW_LINE))
                if got and got[0] >= size:
                    return
            assert time.time() < deadline, "never reached %d bytes" % size
            time.sleep(0.1)

    def say(self, line, expect=None):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        if expect:
            assert self.p.stdout.readline().strip() == expect

    def stop(self):
        if self.p.poll() is None:
            try:
                self.say("exit")
            except BrokenPipeError:
                pass
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


@pytest.fixture
def prog(tmp_path):
    p = Program(tmp_path)
    yield p
    p.stop()


def entries(out):
    doc = json.loads(out)
    rep = doc["reports"][0]
    return {(e.get("filename"), e.get("lineno")): (e["size"], e["count"])
            for e in rep["entries"]}


# ---- --pid as a snapshot source ---------------------------------------------

def until_live(args, want, parse, timeout=60):
    """What `tmtool <args>` (a --pid source) says, once it says `want`.

    The endpoint answers from a copy at most max(100 ms, 20 x the last
    copy's duration) old (endpoint.c: viewers take at most 1/20 of the
    program's time), so an answer right after the program paused may be
    the copy an earlier request made.  A paused program's answer must
    become `want` and stay so; a wrong answer never does."""
    deadline = time.time() + timeout
    while True:
        r = run(*args)
        assert r.returncode == 0, r.stderr
        got = parse(r.stdout)
        if got == want or time.time() > deadline:
            return got
        time.sleep(0.1)


def test_top_pid_equals_the_snapshot_the_process_takes_of_itself(prog, tmp_path):
    own = tmp_path / "own.tms"
    prog.grown_to(5 * 64 * 1024)
    prog.say("pause %s" % own, "paused")
    ref = run("top", str(own), "-i", "*payload.py", "-n", "0", "--format", "json")
    assert ref.returncode == 0, ref.stderr
    want = entries(ref.stdout)
    got = until_live(["top", "--pid", str(prog.pid), "-i", "*payload.py", "-n",
                      "0", "--format", "json"], want, entries)
    assert got == want
    size, count = want[(prog.payload, GROW_LINE)]
    assert size >= 5 * 64 * 1024
    # Also by traceback, which needs every trace from the endpoint.
    strip = lambda doc: [(e["size"], e["count"]) for e in
                         json.loads(doc)["reports"][0]["entries"]]
    ref = run("top", str(own), "-i", "*payload.py", "-n", "0",
              "--group-by", "traceback", "--format", "json")
    assert ref.returncode == 0, ref.stderr
    got = until_live(["top", "--pid", str(prog.pid), "-i", "*payload.py", "-n",
                      "0", "--group-by", "traceback", "--format", "json"],
                     strip(ref.stdout), strip)
    assert got == strip(ref.stdout)


def test_diff_against_pid_and_save(prog, tmp_path):
    old = tmp_path / "old.tms"
    r = run("save", "--pid", str(prog.pid), "-o", str(old))
    assert r.returncode == 0, r.stderr
    assert "pid %d: wrote" % prog.pid in r.stdout
    # three blocks more than the saved file holds, when the machine lets
    # the program make them
    saved = entries(run("top", str(old), "-i", "*payload.py", "-n", "0",
                        "--format", "json").stdout)
    prog.grown_to(saved.get((prog.payload, GROW_LINE), (0, 0))[0]
                  + 3 * 64 * 1024)
    # (the traces copy diff asks for may be an earlier one than the
    # stats copy grown_to saw: see until_live)
    def grown(out):
        rep = json.loads(out)["reports"][0]
        grow = [e for e in rep["entries"] if e.get("lineno") == GROW_LINE]
        return bool(grow) and grow[0]["size_diff"] >= 3 * 64 * 1024
    assert until_live(["diff", str(old), "--pid", str(prog.pid), "-i",
                       "*payload.py", "--format", "json"], True, grown)
    # what save wrote is an ordinary snapshot with traces
    t = run("top", str(old), "--group-by", "traceback", "-i", "*payload.py")
    assert t.returncode == 0 and "payload.py" in t.stdout


def test_a_stalled_process_is_one_line_and_exit_3(prog):
    os.kill(prog.pid, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        r = run("top", "--pid", str(prog.pid), "--timeout", "1")
        took = time.monotonic() - t0
    finally:
        os.kill(prog.pid, signal.SIGCONT)
    assert r.returncode == 3
    assert r.stderr == "tmtool: process %d did not answer within 1 s\n" % prog.pid
    assert took < 8       # the timeout, not the default 10 s
    assert run("top", "--pid", str(prog.pid)).returncode == 0


def test_list_shows_this_users_traced_processes(prog):
    r = run("watch")
    assert r.returncode == 0
    line = [l for l in r.stdout.splitlines() if l.split()[:1] == [str(prog.pid)]]
    assert line and "prog.py" in line[0]
    doc = json.loads(run("watch", "--format", "json").stdout)
    me = [p for p in doc["processes"] if p["pid"] == prog.pid]
    assert me and me[0]["traced_size"] > 0 and me[0]["peak_size"] >= me[0]["traced_size"]


def test_failures_have_one_clear_line_and_exit_3(tmp_path):
    r = run("top", "--pid", "999999999")
    assert r.returncode == 3 and r.stderr == "tmtool: no process 999999999\n"
    r = run("watch", "--pid", str(os.getpid()))
    assert r.returncode == 3
    assert "process %d is not traced by tmtrace" % os.getpid() in r.stderr
    assert len(r.stderr.splitlines()) == 1
    r = run("watch", "--pid", "abc")
    assert r.returncode == 2
    r = run("watch", str(tmp_path / "missing"))
    assert r.returncode == 3 and "is not a directory" in r.stderr


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="needs root and setpriv to start another user's process")
def test_another_users_process():
    who = pwd.getpwnam("nobody")
    p = subprocess.Popen(["setpriv", "--reuid=%d" % who.pw_uid,
                          "--regid=%d" % who.pw_gid, "--clear-groups",
                          "sleep", "30"])
    try:
        time.sleep(0.2)
        r = run("watch", "--pid", str(p.pid))
        assert r.returncode == 3
        assert "belongs to another user (uid %d)" % who.pw_uid in r.stderr
    finally:
        p.kill()
        p.wait()


# ---- the view, in tmux -------------------------------------------------------

class Tmux:
    def __init__(self, tmp, cmd, width=110, height=30, env_extra=None):
        self.sock = "tmtest-%d-%d" % (os.getpid(), id(self))
        self.exitfile = tmp / ("exit-%d" % id(self))
        self.sttyfile = tmp / ("stty-%d" % id(self))
        # The pane runs tmtool, then records its exit status and the
        # terminal's settings after it (restored or not).
        script = ("%s; echo $? > %s; stty -a > %s; echo TMTOOL-DONE; sleep 60"
                  % (cmd, self.exitfile, self.sttyfile))
        env = dict(os.environ, TERM="xterm-256color", LANG="C.UTF-8")
        env.pop("NO_COLOR", None)
        env.update(env_extra or {})
        env.pop("LD_PRELOAD", None)   # not into tmux itself (ASan runs)
        inner = os.environ.get("LD_PRELOAD")
        if inner:
            script = "export LD_PRELOAD='%s'; %s" % (inner, script)
        self.env = env
        subprocess.run([TMUX, "-L", self.sock, "-f", "/dev/null", "new-session",
                        "-d", "-x", str(width), "-y", str(height), "bash", "-c",
                        script], env=env, check=True, cwd=str(tmp))

    def keys(self, *keys):
        subprocess.run([TMUX, "-L", self.sock, "send-keys"] + list(keys),
                       check=True, env=self.env)

    def screen(self, escapes=False):
        return subprocess.run([TMUX, "-L", self.sock, "capture-pane", "-p"]
                              + (["-e"] if escapes else []),
                              capture_output=True, text=True, env=self.env).stdout

    def wait(self, pred, what, timeout=60):
        deadline = time.time() + timeout
        while True:
            s = self.screen()
            if pred(s):
                return s
            if time.time() > deadline:
                raise AssertionError("timed out waiting for %s; screen:\n%s"
                                     % (what, s))
            time.sleep(0.1)

    def wait_text(self, text, timeout=60):
        return self.wait(lambda s: text in s, repr(text), timeout)

    def resize(self, w, h):
        subprocess.run([TMUX, "-L", self.sock, "resize-window", "-x", str(w),
                        "-y", str(h)], check=True, env=self.env)

    def exit_status(self, timeout=60):
        self.wait_text("TMTOOL-DONE", timeout)
        return int(self.exitfile.read_text())

    def stty_restored(self):
        s = self.sttyfile.read_text()
        return re.search(r"(?<!-)\becho\b", s) and re.search(r"(?<!-)\bicanon\b", s)

    def tmtool_pid(self):
        """The pane's shell's child: tmtool."""
        shell = subprocess.run([TMUX, "-L", self.sock, "list-panes", "-F",
                                "#{pane_pid}"], capture_output=True, text=True,
                               env=self.env).stdout.split()[0]
        with open("/proc/%s/task/%s/children" % (shell, shell)) as f:
            kids = f.read().split()
        assert len(kids) == 1, kids
        return int(kids[0])

    def close(self):
        subprocess.run([TMUX, "-L", self.sock, "kill-server"], env=self.env,
                       capture_output=True)


@pytest.fixture
def tmux_factory(tmp_path):
    made = []

    def make(cmd, **kw):
        t = Tmux(tmp_path, cmd, **kw)
        made.append(t)
        return t
    yield make
    for t in made:
        t.close()


def ends_with_site(line, name):
    """The row's SITE is name, followed by its function when the file
    names functions ("payload.py:12 (grow)")."""
    return re.search(re.escape(name) + r"( \(.*\))?$", line.rstrip()) is not None


def site_size(screen, name):
    """SIZE column of the row whose site ends with name (in bytes)."""
    units = {"B": 1, "KiB": 1024, "MiB": 1024 ** 2, "GiB": 1024 ** 3}
    for line in screen.splitlines():
        if ends_with_site(line, name):
            m = re.match(r"\s*([\d.]+) (B|KiB|MiB|GiB)", line)
            if m:
                return float(m.group(1)) * units[m.group(2)]
    return None


def refreshes(screen):
    """Refreshes since the view started: cells of the sparkline."""
    for line in screen.splitlines():
        if line.startswith("history "):
            return sum(1 for ch in line if "\u2581" <= ch <= "\u2588")
    return 0


needs_tmux = pytest.mark.skipif(TMUX is None, reason="tmux is installed by "
                                "tools/bootstrap.sh; run it")


@needs_tmux
def test_view_shows_pid_and_the_growing_line_and_keys_work(prog, tmux_factory, tmp_path):
    site = "payload.py:%d" % GROW_LINE
    t = tmux_factory("%s watch --pid %d -n 0.5" % (TMTOOL, prog.pid))
    s = t.wait_text(site)
    assert "pid %d" % prog.pid in s and "-m tmtrace run" in s
    assert "uptime" in s and "traced" in s and "peak" in s and "RSS" in s
    assert "history" in s
    first = site_size(s, site)
    # The growing line grows on screen within two refreshes: counted by
    # the sparkline (one cell per refresh), not by the clock.
    r0 = refreshes(s)
    assert 1 <= r0 <= 2, s
    s = t.wait(lambda x: (site_size(x, site) or 0) > first, "growth", timeout=60)
    assert refreshes(s) - r0 <= 2, s
    # sort, group, cumulative, filter
    t.keys("s")
    t.wait_text("sort by growth")
    t.keys("g")
    s = t.wait_text("group by traceback")
    # the baseline came with every trace: still compared with the start
    assert "baseline restarted" not in s
    row = [l for l in s.splitlines() if "payload.py" in l]
    assert row and re.search(r"\+\d[\d.]* (KiB|MiB)\s+\S*payload", row[0]), s
    t.keys("c")
    t.wait_text("(cumulative)")
    t.keys("g")
    t.wait_text("group by filename")
    t.keys("g")
    t.wait_text("group by line")
    t.keys("/", "payload", "Enter")
    s = t.wait_text("filter payload")
    rows = [l for l in s.splitlines()[5:-1] if l.strip()]
    assert rows and all("payload.py" in l for l in rows)
    # Enter: the selected row's whole traceback
    t.keys("Enter")
    s = t.wait_text("Traceback (most recent call first)")
    assert 'payload.py", line %d' % GROW_LINE in s
    assert 'prog.py", line' in s   # the caller: the whole traceback
    t.keys("x")
    t.wait_text("history")
    # help
    t.keys("?")
    t.wait_text("tmtool watch: keys")
    t.keys("x")
    t.wait_text("SITE")
    # interval, pause
    t.keys("+")
    t.wait_text("refresh every 1 s")
    t.keys("-")
    t.keys("-")
    t.wait_text("refresh every 0.5 s")
    t.keys("Space")
    s = t.wait_text("(paused)")
    frozen = site_size(s, site)
    time.sleep(1.2)
    assert site_size(t.screen(), site) == frozen
    t.keys("Space")
    t.wait(lambda x: (site_size(x, site) or 0) > frozen, "resume", timeout=60)
    # w: the snapshot the view shows, written here
    t.keys("w")
    s = t.wait_text("wrote tmtrace-watch-%d-" % prog.pid)
    name = re.search(r"wrote (tmtrace-watch-\S+\.tms)", s).group(1)
    r = run("top", str(tmp_path / name), "-i", "*payload.py")
    assert r.returncode == 0 and site in r.stdout
    # arrows and pages move the selection without breaking the screen
    for k in ("Down", "Down", "NPage", "PPage", "Up", "End", "Home"):
        t.keys(k)
    t.wait_text("SITE")
    # resize: narrow and short, nothing wraps
    t.resize(44, 12)
    s = t.wait(lambda x: "pid %d" % prog.pid in x and "SITE" in x, "narrow")
    assert all(len(l) <= 44 for l in s.splitlines())
    assert len(s.splitlines()) <= 12
    t.resize(20, 6)
    t.wait_text("terminal too small")
    t.resize(110, 30)
    t.wait_text("history")
    t.keys("q")
    assert t.exit_status() == 0
    assert t.stty_restored()


@needs_tmux
def test_view_reports_a_stall_and_the_process_exit(prog, tmux_factory):
    t = tmux_factory("%s watch --pid %d -n 0.5" % (TMTOOL, prog.pid))
    t.wait_text("payload.py")
    os.kill(prog.pid, signal.SIGSTOP)
    try:
        t.wait_text("did not answer within 3 s", timeout=30)
    finally:
        os.kill(prog.pid, signal.SIGCONT)
    t.wait(lambda s: "did not answer" not in s, "recovery", timeout=60)
    prog.stop()
    s = t.wait_text("exited", timeout=60)
    assert "(q quits)" in s
    t.keys("q")
    assert t.exit_status() == 3
    assert t.stty_restored()
    s = t.screen()
    assert "tmtool: process %d exited" % prog.pid in s


@needs_tmux
@pytest.mark.parametrize("how,status", [("C-c", 0), ("TERM", 128 + 15),
                                        ("SEGV", 128 + 11)])
def test_terminal_restored_on_signals(prog, tmux_factory, how, status):
    t = tmux_factory("%s watch --pid %d" % (TMTOOL, prog.pid))
    t.wait_text("payload.py")
    if how == "C-c":
        t.keys("C-c")
    else:
        os.kill(t.tmtool_pid(), getattr(signal, "SIG" + how))
    assert t.exit_status() == status
    assert t.stty_restored()
    # left the alternate screen: the shell's line is on the normal one
    assert "history" not in t.screen()


@needs_tmux
def test_watch_dir_follows_new_files(tmp_path, tmux_factory):
    p = Program(tmp_path, "--delay", "1")
    try:
        t = tmux_factory("%s watch %s -n 0.5" % (TMTOOL, p.out))
        site = "payload.py:%d" % GROW_LINE
        s = t.wait_text(site, timeout=60)
        assert str(p.out) in s
        n0 = int(re.search(r"\((\d+) files\)", s).group(1))
        t.wait(lambda x: int(re.search(r"\((\d+) files\)", x).group(1)) >= n0 + 2,
               "new files", timeout=60)
        s = t.screen()
        row = [l for l in s.splitlines() if ends_with_site(l, site)][0]
        # +START is positive: the newest against the first
        assert re.search(r"\+\d", row), row
        t.keys("q")
        assert t.exit_status() == 0
    finally:
        p.stop()


@needs_tmux
def test_colour_only_without_no_color(prog, tmux_factory):
    # SGR 30-37/40-47/90-97 or 38;/48; are colours; reverse/bold are not.
    colour = re.compile(r"\x1b\[[0-9;]*(?:(?<![0-9])3[0-7]|(?<![0-9])4[0-7]|38;|48;)[0-9;]*m")
    t = tmux_factory("%s watch --pid %d" % (TMTOOL, prog.pid))
    t.wait_text("payload.py")
    assert colour.search(t.screen(escapes=True))
    t.keys("q")
    t = tmux_factory("%s watch --pid %d" % (TMTOOL, prog.pid),
                     env_extra={"NO_COLOR": "1"})
    t.wait_text("payload.py")
    s = t.screen(escapes=True)
    assert not colour.search(s), s[:400]
    assert "\x1b[7m" in s or "\x1b[1m" in s or "\x1b[1;7m" in s  # still reverse/bold
    t.keys("q")
