"""Task, cancel_tasks, get_tasks: attributes, scheduling rules, and the
trigger (band/deadline in C, tasks run at a safe point)."""
import gc
import threading
import time

import pytest

import _tmtrace
import tmtrace
from tmtrace import Task, _task
from tasks_util import fake_size, needs_hook, tracing  # noqa: F401


def noop():
    return None


# ---- attributes ----------------------------------------------------------

def test_call_passes_args_and_kwargs_and_returns_result():
    task = Task(lambda *a, **k: (a, k), 1, 2, x=3)
    assert task.func_args == (1, 2)
    assert task.func_kwargs == {"x": 3}
    assert task.call() == ((1, 2), {"x": 3})


def test_attributes_are_writable_and_type_checked():
    task = Task(noop)
    task.func = len
    task.func_args = ("abc",)
    task.func_kwargs = None
    assert task.call() == 3
    with pytest.raises(TypeError):
        task.func = 42
    with pytest.raises(TypeError):
        task.func_args = ["abc"]
    with pytest.raises(TypeError):
        task.func_kwargs = [("a", 1)]
    assert task.func is len and task.func_args == ("abc",)


@pytest.mark.parametrize("setter,getter", [
    ("set_delay", "get_delay"),
    ("set_memory_threshold", "get_memory_threshold"),
])
def test_delay_and_threshold_values(setter, getter):
    task = Task(noop)
    assert getattr(task, getter)() is None
    getattr(task, setter)(5)
    assert getattr(task, getter)() == 5
    getattr(task, setter)(None)
    assert getattr(task, getter)() is None
    for bad, exc in [(0, ValueError), (-3, ValueError), (1.5, TypeError),
                     ("2", TypeError), (True, TypeError)]:
        with pytest.raises(exc):
            getattr(task, setter)(bad)
    assert getattr(task, getter)() is None


def test_schedule_needs_delay_or_threshold(tracing):
    with pytest.raises(ValueError, match="delay"):
        Task(noop).schedule()


def test_schedule_needs_tracing():
    assert not tmtrace.is_enabled()
    task = Task(noop)
    task.set_delay(1)
    with pytest.raises(RuntimeError, match="enable"):
        task.schedule()
    assert not task.is_scheduled()


def test_schedule_rejects_bad_repeat(tracing):
    task = Task(noop)
    task.set_delay(1)
    for bad, exc in [(0, ValueError), (-1, ValueError), (2.0, TypeError)]:
        with pytest.raises(exc):
            task.schedule(bad)
    assert not task.is_scheduled()


def test_get_tasks_cancel_and_cancel_tasks(tracing):
    a, b = Task(noop), Task(noop)
    a.set_delay(10)
    b.set_memory_threshold(10**9)
    a.schedule()
    b.schedule()
    a.schedule()  # twice: still one entry
    assert tmtrace.get_tasks() == [a, b]
    a.cancel()
    a.cancel()  # not scheduled: nothing happens
    assert tmtrace.get_tasks() == [b] and not a.is_scheduled()
    tmtrace.cancel_tasks()
    assert tmtrace.get_tasks() == [] and not b.is_scheduled()
    assert not _tmtrace._tasks_state()["armed"]


def test_disable_cancels_tasks():
    tmtrace.enable()
    task = Task(noop)
    task.set_delay(10)
    task.schedule()
    tmtrace.disable()
    assert tmtrace.get_tasks() == [] and not task.is_scheduled()


def test_c_cancel_all_is_seen_by_python(tracing):
    # What disable() does in C (also in a fork child): a new generation.
    task = Task(noop)
    task.set_delay(10)
    task.schedule()
    _tmtrace._tasks_cancel_all()
    assert not task.is_scheduled() and tmtrace.get_tasks() == []


def test_clearing_both_triggers_cancels(tracing):
    task = Task(noop)
    task.set_delay(10)
    task.schedule()
    task.set_delay(None)
    assert not task.is_scheduled()


# ---- the trigger, driven by hand -------------------------------------------

def test_band_is_the_tightest_threshold(fake_size):
    a, b = Task(noop), Task(noop)
    a.set_memory_threshold(500)
    b.set_memory_threshold(200)
    a.schedule()
    b.schedule()
    state = _tmtrace._tasks_state()
    assert state["armed"]
    assert (state["low"], state["high"]) == (10_000 - 200, 10_000 + 200)


def test_threshold_fires_strictly_above_up_and_down(fake_size):
    calls = []
    task = Task(lambda: calls.append(fake_size.size[0]))
    task.set_memory_threshold(100)
    task.schedule()
    fake_size(10_100)   # moved by exactly the threshold: not more
    assert calls == []
    fake_size(10_101)
    assert calls == [10_101]
    # The reference is now the size at the last call.
    fake_size(10_001)   # -100
    assert calls == [10_101]
    fake_size(10_000)   # -101
    assert calls == [10_101, 10_000]


def test_repeat_counts_calls(fake_size):
    calls = []
    task = Task(calls.append, "x")
    task.set_memory_threshold(10)
    task.schedule(repeat=2)
    for size in (11_000, 12_000, 13_000, 14_000):
        fake_size(size)
    assert calls == ["x", "x"]
    assert not task.is_scheduled() and tmtrace.get_tasks() == []


def test_schedule_twice_resets_repeat(fake_size):
    calls = []
    task = Task(calls.append, 1)
    task.set_memory_threshold(10)
    task.schedule(repeat=1)
    fake_size(11_000)
    assert not task.is_scheduled()
    task.schedule(repeat=3)
    for size in (12_000, 13_000, 14_000, 15_000):
        fake_size(size)
    assert calls == [1] * 4


def test_timer_fires_after_delay_on_an_allocation(fake_size):
    calls = []
    task = Task(calls.append, "t")
    task.set_delay(1)
    task.schedule(repeat=1)
    fake_size(10_000)
    assert calls == []               # well before one second
    time.sleep(1.05)
    assert calls == []               # no allocation: the timer waits
    fake_size(10_000)
    assert calls == ["t"]


def test_raising_task_is_cancelled_and_reported(fake_size, capfd):
    def boom():
        raise ZeroDivisionError("task failed on purpose")
    task = Task(boom)
    task.set_memory_threshold(10)
    task.schedule()
    fake_size(20_000)  # must not raise here
    assert not task.is_scheduled()
    err = capfd.readouterr().err
    assert "cancelled" in err
    assert "Traceback" in err and "ZeroDivisionError: task failed on purpose" in err
    assert "in boom" in err


def test_keyboard_interrupt_in_a_task_reaches_the_program(fake_size):
    def interrupted():
        raise KeyboardInterrupt
    task = Task(interrupted)
    task.set_memory_threshold(10)
    task.schedule()
    with pytest.raises(KeyboardInterrupt):
        fake_size(20_000)


def test_a_task_may_reschedule_or_cancel_others(fake_size):
    calls = []
    other = Task(calls.append, "other")
    other.set_memory_threshold(10**9)
    other.schedule()

    def cancel_other():
        calls.append("first")
        other.cancel()
    first = Task(cancel_other)
    first.set_memory_threshold(10)
    first.schedule(repeat=1)
    fake_size(50_000)
    assert calls == ["first"] and tmtrace.get_tasks() == []


# ---- real allocations ---------------------------------------------------------

@needs_hook
def test_threshold_task_runs_before_the_caller_goes_on(tracing):
    calls = []
    task = Task(lambda: calls.append(tmtrace.get_traced_memory()[0]))
    task.set_memory_threshold(1_000_000)
    task.schedule()

    def seen():
        return len(calls)
    block = bytearray(2_000_000)   # the allocation that makes it due
    assert seen() == 1             # ran before this call's body
    assert calls[0] >= 2_000_000
    del block
    assert seen() == 2             # freed: moved down by more than 1 MB


@needs_hook
def test_timer_with_real_allocations(tracing):
    calls = []
    task = Task(calls.append, 1)
    task.set_delay(1)
    task.schedule(repeat=2)
    end = time.monotonic() + 60    # generous: a loaded machine
    while time.monotonic() < end and len(calls) < 2:
        [object() for _ in range(50)]
        time.sleep(0.01)
    assert calls == [1, 1]


@needs_hook
def test_threads_allocating_trigger_one_run_at_a_time(tracing):
    runs = []
    running = []

    def record():
        running.append(1)
        assert len(running) == 1     # never re-entered
        runs.append(threading.get_ident())
        running.pop()
    task = Task(record)
    task.set_memory_threshold(50_000)
    task.schedule()

    def worker():
        keep = []
        for _ in range(200):
            keep.append(bytearray(10_000))
            if len(keep) > 20:
                keep.clear()
    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    gc.collect()
    (lambda: None)()
    assert runs, "no run although threads moved memory by megabytes"
    # Pending calls run in the main thread.
    assert set(runs) == {threading.main_thread().ident}


def test_tasks_never_run_in_a_subinterpreter():
    # Through 3.11 a pending call goes to the interpreter that queued it:
    # an allocation in a subinterpreter ran our main-interpreter task code
    # there (a fatal importlib error in CPython's test_threading under
    # TMTRACE_THRESHOLD).  The due task runs back in the main interpreter.
    import subprocess
    import sys
    import textwrap
    code = textwrap.dedent("""\
        import _testcapi, tmtrace
        try:
            import _xxsubinterpreters as interps
        except ImportError:
            import _interpreters as interps
        main = interps.get_current()
        seen = []
        tmtrace.enable()
        task = tmtrace.Task(lambda: seen.append(interps.get_current()))
        task.set_memory_threshold(1)
        task.schedule()
        assert _testcapi.run_in_subinterp(
            "import json\\nx = [bytes(100) for _ in range(2000)]") == 0
        keep = [bytes(100) for _ in range(100)]   # back in main: due here
        task.cancel()
        print(len(seen) > 0, all(s == main for s in seen))
    """)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["True", "True"], run.stdout
