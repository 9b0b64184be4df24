"""Task, TakeSnapshotTask, cancel_tasks, get_tasks (PEP 454).

The scheduled tasks live here, in Python.  The C trigger (tasks.c) only
knows one band of traced size and one deadline, the tightest of all tasks,
which this module recomputes (``_rearm``) whenever the tasks change or run.
The allocator hook compares the traced size against them and, when one is
crossed, queues ``_run_pending`` with Py_AddPendingCall: tasks run as
ordinary Python code at the interpreter's next safe point, never inside an
allocation.
"""
import datetime
import os
import string
import sys
import traceback

import _tmtrace

__all__ = ["Task", "TakeSnapshotTask", "cancel_tasks", "get_tasks"]

_NS = 1_000_000_000

# Scheduled tasks, in scheduling order.  Valid only for the trigger's
# generation in _generation: disable() (C) bumps it, and the list is
# forgotten the next time this module looks.
_scheduled = []
_generation = _tmtrace._tasks_generation()
# True while _run_pending calls tasks: re-arming waits for the end.
_running = False


def _sync_generation():
    global _generation
    gen = _tmtrace._tasks_generation()
    if gen != _generation:
        _generation = gen
        for task in _scheduled:
            task._scheduled = False
        _scheduled.clear()


def _is_enabled():
    from . import _tracing
    return _tracing.is_enabled()


def _traced_size():
    from . import _tracing
    return _tracing.get_traced_memory()[0]


def _now():
    return _tmtrace._tasks_now()


def _rearm():
    """Give the C trigger the tightest band and the earliest deadline."""
    if _running:
        return
    _sync_generation()
    if not _scheduled:
        _tmtrace._tasks_disarm()
        return
    low, high, deadline = 0, None, None
    for task in _scheduled:
        if task._threshold is not None:
            # Strictly more than the threshold: size < ref - t or > ref + t.
            low = max(low, task._ref_size - task._threshold)
            top = task._ref_size + task._threshold
            high = top if high is None else min(high, top)
        if task._delay is not None:
            due = task._timer_start + task._delay * _NS
            deadline = due if deadline is None else min(deadline, due)
    _tmtrace._tasks_arm(low, high, deadline)


def _int_arg(value, what, minimum=1, allow_none=True):
    """value if it is an int >= minimum (or None when allowed); else
    TypeError/ValueError naming *what*."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("%s must be an int%s, not %s"
                        % (what, " or None" if allow_none else "",
                           type(value).__name__))
    if value < minimum:
        raise ValueError("%s must be >= %d, got %d" % (what, minimum, value))
    return value


def _report(message):
    try:
        sys.stderr.write(message)
        sys.stderr.flush()
    except Exception:
        pass


def _validated(name, convert):
    """A property stored as convert(value); convert raises on bad input."""
    attr = "_" + name

    def get(self):
        return getattr(self, attr)

    def set(self, value):
        setattr(self, attr, convert(value))
    return property(get, set)


def _checked(name, ok, expected):
    """A property whose setter raises TypeError unless ok(value)."""
    def convert(value):
        if not ok(value):
            raise TypeError("%s must be %s, not %s"
                            % (name, expected, type(value).__name__))
        return value
    return _validated(name, convert)


class Task:
    """Task calling ``func(*args, **kw)``.  When scheduled, the task is
    called when the traced memory moved by more than its memory threshold
    since the last call, or after its delay in seconds."""

    def __init__(self, func, *args, **kw):
        self.func = func
        self.func_args = args
        self.func_kwargs = kw
        self._delay = None
        self._threshold = None
        self._repeat = None
        self._scheduled = False
        self._ref_size = 0
        self._timer_start = 0

    # -- attributes (type-checked) -------------------------------------
    func = _checked("func", callable, "callable")
    func_args = _checked("func_args", lambda v: isinstance(v, tuple), "a tuple")
    func_kwargs = _checked("func_kwargs",
                           lambda v: v is None or isinstance(v, dict),
                           "a dict or None")

    def __repr__(self):
        # The name, not repr(func): a bound method's repr shows its
        # instance, which may be this task.
        name = getattr(self._func, "__qualname__", type(self._func).__name__)
        return "<%s func=%s delay=%r threshold=%r scheduled=%s>" % (
            type(self).__name__, name, self._delay, self._threshold,
            self.is_scheduled())

    # -- calling ---------------------------------------------------------
    def call(self):
        """Call ``func(*args, **kw)`` and return the result."""
        return self._func(*self._func_args, **(self._func_kwargs or {}))

    # -- schedule --------------------------------------------------------
    def get_delay(self):
        return self._delay

    def set_delay(self, seconds):
        """Call the task every *seconds* (int >= 1); None disables the
        timer.  Resolution: 1 second, driven by allocations."""
        self._delay = _int_arg(seconds, "delay")
        self._reschedule()

    def get_memory_threshold(self):
        return self._threshold

    def set_memory_threshold(self, size):
        """Call the task when the traced memory moved by more than *size*
        bytes (int >= 1) since the last call; None disables it."""
        self._threshold = _int_arg(size, "memory threshold")
        self._reschedule()

    def _reschedule(self):
        if not self.is_scheduled():
            return
        if self._delay is None and self._threshold is None:
            self.cancel()
            return
        self._reset_refs()
        _rearm()

    def _reset_refs(self):
        self._ref_size = _traced_size()
        self._timer_start = _now()

    def is_scheduled(self):
        _sync_generation()
        return self._scheduled

    def schedule(self, repeat=None):
        """Schedule the task *repeat* times (None: until cancelled)."""
        _int_arg(repeat, "repeat")
        if self._delay is None and self._threshold is None:
            raise ValueError("the task has no delay and no memory threshold: "
                             "call set_delay() or set_memory_threshold() first")
        if not _is_enabled():
            raise RuntimeError("tmtrace is not enabled: call tmtrace.enable() "
                               "before scheduling a task")
        _sync_generation()
        self._repeat = repeat
        self._reset_refs()
        if not self._scheduled:
            self._scheduled = True
            _scheduled.append(self)
            _register_atexit()
        _rearm()

    def cancel(self):
        """Cancel the task; nothing happens if it is not scheduled."""
        _sync_generation()
        if not self._scheduled:
            return
        self._scheduled = False
        try:
            _scheduled.remove(self)
        except ValueError:
            pass
        _rearm()

    # -- running (from _run_pending) -------------------------------------
    def _is_due(self, now, size, trigger_size):
        if self._threshold is not None:
            for seen in (size, trigger_size):
                if seen is not None and abs(seen - self._ref_size) > self._threshold:
                    return True
        if self._delay is not None:
            if now >= self._timer_start + self._delay * _NS:
                return True
        return False

    def _call_on_schedule(self):
        return self.call()

    def _scheduled_call(self):
        """One call on the schedule.  Exception: report and cancel;
        anything else (KeyboardInterrupt, SystemExit) belongs to the
        program and propagates."""
        try:
            self._call_on_schedule()
        except Exception:
            self.cancel()
            _report("tmtrace: task %r raised an exception and was cancelled:\n%s"
                    % (self, traceback.format_exc()))
            return
        if not self._scheduled:  # cancelled itself
            return
        if self._repeat is not None:
            self._repeat -= 1
            if self._repeat <= 0:
                self.cancel()
                return
        self._reset_refs()


_atexit_registered = False


def _register_atexit():
    # Tasks must not fire while the interpreter shuts down.
    global _atexit_registered
    if not _atexit_registered:
        import atexit
        atexit.register(cancel_tasks)
        _atexit_registered = True


def _run_pending(trigger_size):
    """Called by the C trigger at a safe point after an allocation made a
    task due (or by a timer deadline).  Runs each due task once."""
    global _running
    if _running:
        return
    _sync_generation()
    try:
        if not _scheduled:
            return
        try:
            enabled = _is_enabled()
            size = _traced_size() if enabled else None
        except Exception:
            enabled, size = False, None
        if not enabled:
            return
        now = _now()
        due = [t for t in _scheduled if t._is_due(now, size, trigger_size)]
        _running = True
        try:
            for task in due:
                if task._scheduled:
                    task._scheduled_call()
        finally:
            _running = False
    finally:
        _rearm()


_tmtrace._tasks_set_runner(_run_pending)


def cancel_tasks():
    """Cancel all scheduled tasks."""
    _sync_generation()
    for task in _scheduled:
        task._scheduled = False
    _scheduled.clear()
    _rearm()


def get_tasks():
    """The list of scheduled tasks (Task instances)."""
    _sync_generation()
    return list(_scheduled)


# --------------------------------------------------------------------------
# TakeSnapshotTask

class _Template(string.Template):
    # $counter, $pid, $timestamp; unknown $names are left as written.
    idpattern = r"[a-z]+"


def _utc_stamp():
    # Sortable and filename-safe: 20261124T142400.123456Z
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y%m%dT%H%M%S.%fZ")


class TakeSnapshotTask(Task):
    """Task taking snapshots and writing them to files named from
    ``filename_template`` ($pid, $timestamp, $counter)."""

    def __init__(self, filename_template="tracemalloc-$counter.tms",
                 traces=False, metrics=True, callback=None):
        Task.__init__(self, self.take_snapshot)
        self.filename_template = filename_template
        self.traces = traces
        self.metrics = metrics
        self.callback = callback
        self.counter = 1
        self._write_failed = False

    filename_template = _checked("filename_template",
                                 lambda v: isinstance(v, str), "str")
    callback = _checked("callback", lambda v: v is None or callable(v),
                        "callable or None")

    def create_filename(self):
        return _Template(self._filename_template).safe_substitute(
            pid=str(os.getpid()), timestamp=_utc_stamp(),
            counter="%04d" % self.counter)

    def take_snapshot(self):
        """Take a snapshot and write it; return (snapshot, filename)."""
        from ._snapshot import Snapshot
        snapshot = Snapshot.create(traces=self.traces, metrics=self.metrics)
        if self._callback is not None:
            self._callback(snapshot)
        filename = self.create_filename()
        snapshot.write(filename)
        self.counter += 1
        return snapshot, filename

    def write_snapshot(self):
        """Write a snapshot to the next file without holding it in memory
        (Snapshot.write_live: the traces stream from the tracer's tables);
        return the filename.  Scheduled calls do this when no callback
        wants the snapshot object."""
        from ._snapshot import Snapshot
        filename = self.create_filename()
        Snapshot.write_live(filename, traces=self.traces,
                            metrics=self.metrics)
        self.counter += 1
        return filename

    def _call_on_schedule(self):
        # On the schedule, a file that cannot be written (missing
        # directory, full disk) must not stop the program, nor flood its
        # stderr: report the first failure, keep the task, try again next
        # time (the disk may have room by then).  A direct call() raises.
        # With nobody to hand the snapshot object to, the file is written
        # streamed: memory does not grow with the number of traces.
        try:
            if self._callback is None and self._func == self.take_snapshot:
                return self.write_snapshot()
            return self.call()
        except OSError as exc:
            if not self._write_failed:
                self._write_failed = True
                _report("tmtrace: cannot write snapshot: %s (the program "
                        "goes on; further failures of this task are not "
                        "reported)\n" % exc)
            return None
