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
               TMTRACE_THRESHOLD="1.5MiB", TMTRACE_TRACES="1")
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
