"""Shared by test_task*, test_display*, test_runner*, test_startup*."""
import os
import subprocess
import sys

import pytest

import _tmtrace
import tmtrace
from tmtrace import _task


def hook_wired():
    """True once the allocator hook calls tmt_tasks_check (the lead wires
    it into the core); until then real-allocation tests are skipped."""
    was_enabled = tmtrace.is_enabled()
    tmtrace.enable()
    fired = _tmtrace._tasks_state()["fired"]
    task = tmtrace.Task(lambda: None)
    task.set_memory_threshold(1000)
    task.schedule(repeat=1)
    block = bytearray(100_000)
    del block
    task.cancel()
    wired = _tmtrace._tasks_state()["fired"] > fired
    if not was_enabled:
        tmtrace.disable()
    return wired


needs_hook = pytest.mark.skipif(
    "not __import__('tasks_util').hook_wired()",
    reason="allocator hook does not call tmt_tasks_check yet")


@pytest.fixture
def tracing():
    tmtrace.enable()
    yield
    tmtrace.cancel_tasks()
    tmtrace.disable()


@pytest.fixture
def fake_size(monkeypatch):
    """Drive the trigger by hand: _tasks_poke(size) is what the hook does,
    and the Python side reads the same fake size.  Tracing stays off, so
    real allocations never reach the trigger."""
    size = [10_000]
    monkeypatch.setattr(_task, "_traced_size", lambda: size[0])
    monkeypatch.setattr(_task, "_is_enabled", lambda: True)

    def poke(value):
        size[0] = value
        _tmtrace._tasks_poke(value)
        _safe_point()
    poke.size = size
    yield poke
    tmtrace.cancel_tasks()


def _safe_point():
    # A Python call: the interpreter runs pending calls at function entry.
    (lambda: None)()


def run_python(args, env=None, cwd=None, timeout=120, **kw):
    """Run this interpreter with the in-tree PYTHONPATH; returns
    CompletedProcess with text stdout/stderr."""
    full_env = dict(os.environ)
    for name in list(full_env):
        if name.startswith("TMTRACE"):
            del full_env[name]
    full_env.update(env or {})
    return subprocess.run([sys.executable] + list(args), env=full_env,
                          cwd=cwd, timeout=timeout, capture_output=True,
                          text=True, **kw)


def tmtool():
    """Path of the built tmtool, or None."""
    build = os.path.dirname(os.path.dirname(_tmtrace.__file__))
    path = os.path.join(build, "cli", "tmtool")
    return path if os.access(path, os.X_OK) else None
