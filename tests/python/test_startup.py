"""TMTRACE=<nframe>: tracing from interpreter start through the .pth file.

A .pth is only read in a site directory, so the tests put the real file
(src/tracer/tmtrace-startup.pth) in a temporary one and make it a site
directory from sitecustomize (for whole programs and their children) or
with site.addsitedir in -c."""
import glob
import os
import re
import shutil
import subprocess
import sys
import textwrap
import venv

import pytest

import _tmtrace
import tmtrace
from tasks_util import needs_hook, run_python

PTH = os.path.join(os.path.dirname(os.path.dirname(tmtrace.__file__)),
                   "tmtrace-startup.pth")
IN_TREE = [os.path.dirname(_tmtrace.__file__),
           os.path.dirname(os.path.dirname(tmtrace.__file__))]


@pytest.fixture
def site_env(tmp_path):
    """Environment whose Python processes read the .pth at start."""
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    shutil.copy(PTH, str(site_dir))
    boot = tmp_path / "boot"
    boot.mkdir()
    (boot / "sitecustomize.py").write_text(
        "import site\nsite.addsitedir(%r)\n" % str(site_dir))
    path = os.pathsep.join([str(boot)] + IN_TREE)
    return {"PYTHONPATH": path, "SITE_DIR": str(site_dir)}


def files(directory):
    return sorted(glob.glob(os.path.join(str(directory), "tmtrace-*.tms")))


PROGRAM = textwrap.dedent("""\
    import sys
    keep = [bytearray(2 * 1024 * 1024) for _ in range(3)]   # line 2
    print("traced", "tmtrace" in sys.modules and
          sys.modules["tmtrace"].is_enabled())
""")


def test_pth_is_cheap_and_inert_without_the_variable(site_env, tmp_path):
    line = open(PTH).read().strip()
    assert line.startswith("import os;") and "\n" not in line
    script = tmp_path / "p.py"
    script.write_text(PROGRAM)
    run = run_python([str(script)], env=site_env, cwd=str(tmp_path))
    assert run.returncode == 0 and "traced False" in run.stdout
    assert run.stderr == "" and files(tmp_path) == []


@needs_hook
def test_variable_traces_the_program(site_env, tmp_path):
    script = tmp_path / "p.py"
    script.write_text(PROGRAM)
    env = dict(site_env, TMTRACE="5", TMTRACE_OUTPUT=str(tmp_path / "out"),
               TMTRACE_THRESHOLD="1.5MiB", TMTRACE_TRACES="1",
               TMTRACE_VERBOSE="1")
    run = run_python([str(script)], env=env, cwd=str(tmp_path))
    assert run.returncode == 0, run.stderr
    assert "traced True" in run.stdout
    names = files(tmp_path / "out")
    assert len(names) == 4, run.stderr  # 3 blocks over the threshold + final
    assert "4 snapshots of pid" in run.stderr
    snap = tmtrace.Snapshot.load(names[-1])
    assert snap.traceback_limit == 5 and snap.traces
    assert snap.stats[str(script)][2][0] >= 3 * 2 * 1024 * 1024


def test_addsitedir_route(tmp_path):
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    shutil.copy(PTH, str(site_dir))
    code = ("import site; site.addsitedir(%r); import sys; "
            "print(sys.modules['tmtrace'].is_enabled(), "
            "sys.modules['tmtrace'].get_traceback_limit())" % str(site_dir))
    env = {"PYTHONPATH": os.pathsep.join(IN_TREE), "TMTRACE": "7",
           "TMTRACE_OUTPUT": str(tmp_path)}
    run = run_python(["-c", code], env=env)
    assert run.returncode == 0 and run.stdout.split() == ["True", "7"], run.stderr
    assert len(files(tmp_path)) == 1  # the final snapshot


def test_ignored_with_E(tmp_path):
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    shutil.copy(PTH, str(site_dir))
    code = ("import sys; sys.path[:0] = %r; import site; "
            "site.addsitedir(%r); print('tmtrace._runner' in sys.modules)"
            % (IN_TREE, str(site_dir)))
    run = run_python(["-E", "-c", code], env={"TMTRACE": "3",
                                              "TMTRACE_OUTPUT": str(tmp_path)})
    assert run.returncode == 0 and run.stdout.strip() == "False", run.stderr
    assert files(tmp_path) == []


def test_no_op_where_the_package_is_not_importable(tmp_path):
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    shutil.copy(PTH, str(site_dir))
    code = "import site; site.addsitedir(%r); print('ran')" % str(site_dir)
    run = run_python(["-c", code], env={"TMTRACE": "3", "PYTHONPATH": ""})
    assert run.returncode == 0 and run.stdout.strip() == "ran"
    assert run.stderr == ""


@pytest.mark.parametrize("env,warning,traced", [
    ({"TMTRACE": "many"}, "TMTRACE='many'", False),
    ({"TMTRACE": "0"}, "TMTRACE='0'", False),
    ({"TMTRACE": "2", "TMTRACE_DELAY": "soon"}, "TMTRACE_DELAY='soon'", True),
    ({"TMTRACE": "2", "TMTRACE_THRESHOLD": "10QB"}, "TMTRACE_THRESHOLD='10QB'", True),
    ({"TMTRACE": "2", "TMTRACE_THRESHOLD": "4096"}, "write 4096MiB", True),
    ({"TMTRACE": "2", "TMTRACE_VERBOSE": "loud"}, "TMTRACE_VERBOSE='loud'", True),
    ({"TMTRACE": "2", "TMTRACE_TRACES": "yes"}, "TMTRACE_TRACES='yes'", True),
])
def test_bad_values_warn_once_and_run(site_env, tmp_path, env, warning, traced):
    script = tmp_path / "p.py"
    script.write_text(PROGRAM)
    run = run_python([str(script)], env=dict(site_env, TMTRACE_OUTPUT=str(tmp_path), **env),
                     cwd=str(tmp_path))
    assert run.returncode == 0
    assert ("traced %s" % traced) in run.stdout
    assert run.stderr.count(warning) == 1, run.stderr
    assert len(files(tmp_path)) == (1 if traced else 0)


def make_venv(tmp_path):
    """A real venv (no pip: fast) with the .pth in its site-packages and
    the in-tree package on PYTHONPATH."""
    env_dir = tmp_path / "venv"
    venv.create(str(env_dir), with_pip=False, symlinks=True)
    python = str(env_dir / "bin" / "python")
    site_dir = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True).stdout.strip()
    shutil.copy(PTH, site_dir)
    return python


def run_in(python, args, env, cwd):
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("TMTRACE", "PYTHONPATH"))}
    clean.update(env, PYTHONPATH=os.pathsep.join(IN_TREE))
    return subprocess.run([python] + args, capture_output=True, text=True,
                          env=clean, cwd=cwd, timeout=120)


def test_bad_value_warns_once_in_a_venv(tmp_path):
    # A venv's site.py runs every .pth line twice.
    python = make_venv(tmp_path)
    run = run_in(python, ["-c", "import sys; print(sys.modules['tmtrace']"
                                ".is_enabled())"],
                 {"TMTRACE": "2", "TMTRACE_DELAY": "soon",
                  "TMTRACE_OUTPUT": str(tmp_path / "o")}, str(tmp_path))
    assert run.returncode == 0 and run.stdout.strip() == "True", run.stderr
    assert run.stderr.count("TMTRACE_DELAY='soon'") == 1, run.stderr
    assert run.stderr.count("tmtrace:") == 1, run.stderr
    assert len(files(tmp_path / "o")) == 1   # one session, one final snapshot


def test_default_output_is_per_user_not_the_current_directory(tmp_path):
    python = make_venv(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    run = run_in(python, ["-c", "x = bytearray(10**6)"],
                 {"TMTRACE": "1", "HOME": str(home)}, str(work))
    assert run.returncode == 0 and run.stderr == "", run.stderr
    assert files(work) == []
    where = home / ".local" / "state" / "tmtrace"
    assert len(files(where)) == 1
    assert (where.stat().st_mode & 0o777) == 0o700
    state = tmp_path / "state"
    run = run_in(python, ["-c", "pass"],
                 {"TMTRACE": "1", "HOME": str(home),
                  "XDG_STATE_HOME": str(state)}, str(work))
    assert run.returncode == 0, run.stderr
    assert len(files(state / "tmtrace")) == 1 and files(work) == []


FD2_PROGRAM = textwrap.dedent("""    import os, sys
    # The program's data goes where fd 2 was (issue 10, item 5).
    fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(fd, 2)
    os.write(2, b"DATA")
    keep = bytearray(10**6)
""")


def test_variable_mode_is_silent_unless_asked(site_env, tmp_path):
    script = tmp_path / "fd2.py"
    script.write_text(FD2_PROGRAM)
    data = tmp_path / "data.bin"
    env = dict(site_env, TMTRACE="3", TMTRACE_OUTPUT=str(tmp_path / "o"),
               TMTRACE_DELAY="1", TMTRACE_THRESHOLD="512k")
    run = run_python([str(script), str(data)], env=env, cwd=str(tmp_path))
    assert run.returncode == 0
    assert data.read_bytes() == b"DATA"
    assert len(files(tmp_path / "o")) >= 1
    # a traced child's stderr stays empty
    run = run_python(["-c", "import subprocess, sys; subprocess.run("
                      "[sys.executable, '-c', 'x = bytearray(10**6)'])"],
                     env=env, cwd=str(tmp_path))
    assert run.returncode == 0 and run.stderr == "" and run.stdout == ""
    assert len({re.match(r".*tmtrace-(\d+)-", n).group(1)
                for n in files(tmp_path / "o")}) == 3
    # TMTRACE_VERBOSE=1 turns the message on
    run = run_python(["-c", "pass"], env=dict(env, TMTRACE_VERBOSE="1"),
                     cwd=str(tmp_path))
    assert re.fullmatch(r"tmtrace: 1 snapshot of pid \d+ in .*\n", run.stderr), \
        run.stderr


CHILDREN = textwrap.dedent("""\
    import multiprocessing as mp, subprocess, sys
    def work():
        global KEEP; KEEP = bytearray(2 * 1024 * 1024)   # line 3
    if __name__ == "__main__":
        mp.set_start_method("spawn")
        p = mp.Process(target=work); p.start(); p.join()
        subprocess.run([sys.executable, "-c", "x = bytearray(10**6)"], check=True)
""")


def test_spawn_and_subprocess_children_write_their_own_files(site_env, tmp_path):
    script = tmp_path / "kids.py"
    script.write_text(CHILDREN)
    out = tmp_path / "out"
    env = dict(site_env, TMTRACE="1", TMTRACE_OUTPUT=str(out))
    run = run_python([str(script)], env=env, cwd=str(tmp_path))
    assert run.returncode == 0, run.stderr
    by_pid = {}
    for name in files(out):
        by_pid.setdefault(re.match(r".*tmtrace-(\d+)-", name).group(1), []).append(name)
    # parent, spawn child, subprocess (and multiprocessing's helpers, if any)
    assert len(by_pid) >= 3, run.stderr
    sites = set()
    for names in by_pid.values():
        snap = tmtrace.Snapshot.load(names[-1])
        sites.update(snap.stats.get(str(script), {}))
    assert 3 in sites


def test_runner_children_via_the_variable(site_env, tmp_path):
    # The runner exports TMTRACE*, so a subprocess child traces itself.
    script = tmp_path / "sub.py"
    script.write_text("import subprocess, sys\n"
                      "subprocess.run([sys.executable, '-c', 'pass'], check=True)\n")
    run = run_python(["-m", "tmtrace", "run", "-o", str(tmp_path / "o"),
                      str(script)], env=site_env)
    assert run.returncode == 0, run.stderr
    pids = {re.match(r".*tmtrace-(\d+)-", n).group(1) for n in files(tmp_path / "o")}
    assert len(pids) == 2, run.stderr


@pytest.mark.skipif(os.environ.get("TMTRACE_SLOW_TESTS") != "1",
                    reason="set TMTRACE_SLOW_TESTS=1 (pip installs into a venv)")
def test_pip_install_then_variable(tmp_path):
    root = os.environ.get("TMTRACE_SOURCE_ROOT") or os.path.dirname(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env_dir = tmp_path / "venv"
    venv.create(str(env_dir), with_pip=True)
    python = str(env_dir / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "-q", root], check=True,
                   timeout=900)
    script = tmp_path / "p.py"
    script.write_text(PROGRAM)
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("TMTRACE", "PYTHONPATH"))}
    run = subprocess.run([python, str(script)], capture_output=True, text=True,
                         env=dict(clean, TMTRACE="2", TMTRACE_OUTPUT=str(tmp_path)),
                         cwd=str(tmp_path))
    assert run.returncode == 0 and "traced True" in run.stdout, run.stderr
    assert len(files(tmp_path)) == 1
    # man pages and completions land under the venv's share/ (issue 14),
    # where man finds them from the venv's bin/ on PATH
    share = env_dir / "share"
    for page in ("tmtool.1", "tmtrace.1"):
        assert (share / "man" / "man1" / page).is_file(), page
    assert (share / "bash-completion" / "completions" / "tmtool").is_file()
    assert (share / "fish" / "vendor_completions.d" / "tmtool.fish").is_file()
    if shutil.which("man"):
        where = subprocess.run(["man", "-w", "tmtrace"], capture_output=True,
                               text=True, env=dict(clean, PATH=str(env_dir / "bin")
                                                   + os.pathsep + clean["PATH"]))
        assert where.stdout.strip() == str(share / "man" / "man1" / "tmtrace.1"), where


def test_live_endpoint_failure_is_silent_unless_verbose(monkeypatch, capsys):
    # Seen under CPython's test_subprocess: a child whose /tmp/tmtrace-<uid>
    # was not usable printed "no live view of this process" in variable
    # mode, into a stderr the test compared.
    from tmtrace import _runner, _tracing

    def refuse():
        raise OSError("no safe directory for the live endpoint")
    monkeypatch.setattr(_tracing, "start_endpoint", refuse, raising=False)
    monkeypatch.delenv("TMTRACE_LIVE", raising=False)
    _runner._live_start(False)
    assert capsys.readouterr().err == ""
    _runner._live_start(True)
    assert "no live view of this process" in capsys.readouterr().err


def test_variable_mode_serves_live_only_when_asked(site_env, tmp_path):
    # A listening socket and its descriptors in every Python process below
    # TMTRACE are visible to the program (CPython's test_pass_fds lists the
    # child's descriptors and found three more): off unless TMTRACE_LIVE=1.
    code = ("import os, _tmtrace; p = _tmtrace._endpoint_path(); "
            "print(p is not None, len(os.listdir('/proc/self/fd')))")
    env = dict(site_env, TMTRACE="1", TMTRACE_OUTPUT=str(tmp_path),
               XDG_RUNTIME_DIR=str(tmp_path))
    plain = run_python(["-c", code.replace("_tmtrace._endpoint_path()", "None")
                        .replace("import os, _tmtrace", "import os")])
    run = run_python(["-c", code], env=env)
    assert run.returncode == 0 and run.stderr == "", run.stderr
    serving, nfds = run.stdout.split()
    assert serving == "False"
    assert int(nfds) == int(plain.stdout.split()[1])   # no descriptor of ours
    run = run_python(["-c", code], env=dict(env, TMTRACE_LIVE="1"))
    assert run.returncode == 0, run.stderr
    assert run.stdout.split()[0] == "True"
