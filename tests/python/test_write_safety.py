"""Snapshot.write leaves whole files or nothing (issue 10 item 6): no
temporary file after SIGKILL, names of up to NAME_MAX bytes, mode 0600, and
the errno of a refused rename reaches Python as the right OSError."""
import datetime
import errno
import os
import pathlib
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

import pytest

from tmtrace._snapshot import Snapshot


TS = datetime.datetime(2024, 5, 1, 12, 0, 0)


def small_snapshot():
    traces = {0x1000 + 64 * i: (100 + i, (("/srv/app.py", 10 + i % 7),))
              for i in range(50)}
    return Snapshot(TS, 4242, traces=traces)


def test_long_names(tmp_path):
    snap = small_snapshot()
    for n in range(248, 256):
        name = "n" * (n - 4) + ".tms"
        path = tmp_path / name
        snap.write(str(path))
        snap.write(str(path))            # replacing works too
        back = Snapshot.load(str(path))
        assert len(back.traces) == 50
        assert os.listdir(tmp_path) == [name]
        path.unlink()


@pytest.mark.parametrize("mask", [0, 0o022, 0o077])
def test_mode_is_owner_only(tmp_path, mask):
    old = os.umask(mask)
    try:
        path = tmp_path / "s.tms"
        small_snapshot().write(str(path))
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    finally:
        os.umask(old)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")
def test_eperm_is_permission_error():
    # A sticky directory and a target owned by root: the rename over it is
    # refused with EPERM.  The write runs as nobody in a child, so the
    # directory is made where nobody can reach it (pytest's is 0700).
    sticky = pathlib.Path(tempfile.mkdtemp(prefix="tmtrace-sticky-"))
    os.chmod(sticky, 0o1777)
    target = sticky / "root.tms"
    target.write_bytes(b"old")
    code = (
        "import datetime, os, sys\n"
        "from tmtrace._snapshot import Snapshot\n"
        "s = Snapshot(datetime.datetime.now(), 1, traces={})\n"
        "os.setgid(65534); os.setuid(65534)  # after the imports\n"
        "try:\n"
        "    s.write(sys.argv[1])\n"
        "except OSError as e:\n"
        "    print(type(e).__name__, e.errno)\n")
    out = subprocess.run([sys.executable, "-c", code, str(target)],
                         capture_output=True, text=True, timeout=60)
    try:
        assert out.stdout.split() == ["PermissionError", str(errno.EPERM)], out
        assert target.read_bytes() == b"old"
        assert sorted(os.listdir(sticky)) == ["root.tms"]
    finally:
        shutil.rmtree(sticky)


def test_sigkill_leaves_no_temporary(tmp_path):
    code = (
        "import datetime, sys\n"
        "from tmtrace._snapshot import Snapshot\n"
        "tr = {0x1000 + 4096 * i: (i % 977 + 1, (('/srv/app.py', i % 97),))\n"
        "      for i in range(60000)}\n"
        "s = Snapshot(datetime.datetime.now(), 1, traces=tr)\n"
        "print('ready', flush=True)\n"
        "k = 0\n"
        "while True:\n"
        "    s.write('%s/s%d.tms' % (sys.argv[1], k)); k += 1\n")
    kills = debris = whole = 0
    for round_ in range(12):
        p = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)],
                             stdout=subprocess.PIPE, text=True)
        assert p.stdout.readline() == "ready\n"
        time.sleep(0.05 + 0.013 * round_)
        p.send_signal(signal.SIGKILL)
        p.wait()
        p.stdout.close()
        kills += 1
        for name in os.listdir(tmp_path):
            if name.startswith("s") and name.endswith(".tms"):
                Snapshot.load(str(tmp_path / name), traces=False)
                whole += 1
            else:
                debris += 1
            os.unlink(tmp_path / name)
    print("%d kills, %d whole, %d debris" % (kills, whole, debris))
    assert whole > 0
    assert debris == 0
