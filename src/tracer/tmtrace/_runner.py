"""Tracing a program without changing it: the session behind both
``python -m tmtrace run`` (see _cmdline) and the TMTRACE environment
variable (see _startup).

A session enables tracing, schedules a TakeSnapshotTask writing
``<output>/tmtrace-<pid>-<counter>.tms`` on a delay and/or a memory
threshold, and takes a final snapshot at exit (under ``python -m tmtrace
run``, as soon as the program's main code is done: _cmdline).  It says where the files
went only when asked (``verbose``: the runner asks; the variable mode is
silent unless TMTRACE_VERBOSE=1), because a traced program's stderr is
its own: test suites compare it, and a program that moved its descriptors
would find our line inside its data.

Child processes: the settings are exported as TMTRACE* variables, so a
Python child that imports site (subprocess, multiprocessing spawn/
forkserver) starts its own session through the .pth hook; a fork child,
where tracing is disabled at fork (PEP 454), starts a fresh session of its
own from an os.register_at_fork handler.  Every process names its files by
its pid.
"""
import atexit
import os
import sys
import time

import _tmtrace

from ._task import TakeSnapshotTask

__all__ = []

_session = None  # the running Session of this process, or None


# Scheduled snapshots written at most RATE a second, after a burst of
# BURST: a threshold far below what the program allocates (the issue that
# asked for this saw 164,370 files in 15 s) would otherwise spend the
# program's time and the user's disk on files nobody reads.
RATE = 2.0
BURST = 5


class _RateLimit:
    """Token bucket: wait() is 0 when a snapshot may be written now (and
    takes the token), else the seconds until one may."""

    def __init__(self, rate=RATE, burst=BURST, clock=time.monotonic):
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.tokens = float(burst)
        self.last = clock()
        self.deferred = 0

    def wait(self):
        now = self.clock()
        self.tokens = min(self.burst,
                          self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        self.deferred += 1
        return (1.0 - self.tokens) / self.rate


def _describe(size):
    return _tmtrace._size_format(size)


class Session:
    def __init__(self, nframe=1, output=".", delay=None, threshold=None,
                 traces=False, verbose=False, live=False, sample=None,
                 native=False):
        self.nframe = nframe
        self.sample = sample
        self.native = bool(native)
        self.output = os.path.abspath(output)
        self.delay = delay
        self.threshold = threshold
        self.traces = traces
        self.verbose = verbose
        self.live = live
        self.limit = _RateLimit()
        self.task = None
        self.pid = None
        self.files = []
        self.final_done = False

    # Exported so that Python children started from this process trace
    # themselves with the same settings (see tmtrace._startup).
    def environ(self):
        env = {"TMTRACE": str(self.nframe), "TMTRACE_OUTPUT": self.output,
               "TMTRACE_TRACES": "1" if self.traces else "0"}
        env["TMTRACE_DELAY"] = str(self.delay) if self.delay else ""
        # "B": a bare number is refused (it used to mean bytes by surprise).
        env["TMTRACE_THRESHOLD"] = ("%dB" % self.threshold
                                    if self.threshold else "")
        env["TMTRACE_SAMPLE"] = "%dB" % self.sample if self.sample else ""
        env["TMTRACE_NATIVE"] = "1" if self.native else ""
        return env

    def start(self):
        from . import _tracing
        self.pid = os.getpid()
        self.files = []
        self.final_done = False
        try:
            os.makedirs(self.output, exist_ok=True)
        except OSError as exc:
            _warn("cannot create output directory '%s': %s" % (self.output, exc))
        _tracing.set_traceback_limit(self.nframe)
        _tracing.set_sampling(self.sample or 0)
        _tracing.set_native(self.native)
        if not _tracing.is_enabled():
            _tracing.enable()
        template = os.path.join(self.output.replace("$", "$$"),
                                "tmtrace-$pid-$counter.tms")
        self.task = _SessionTask(self, template, traces=self.traces)
        if self.delay:
            self.task.set_delay(self.delay)
        if self.threshold:
            self.task.set_memory_threshold(self.threshold)
        if self.delay or self.threshold:
            self.task.schedule()
        if self.live:
            _live_start(self.verbose)

    def stop(self):
        if self.task is not None:
            self.task.cancel()

    def final_snapshot(self):
        """At exit: one last snapshot, then say where the files went."""
        if self.final_done or self.pid != os.getpid() or self.task is None:
            return
        self.final_done = True
        self.task.cancel()
        try:
            from . import _tracing
            if _tracing.is_enabled():
                self.task.write_snapshot()
        except Exception as exc:
            if self.files:
                self.files.pop()  # announced, never written
            _warn("cannot write the final snapshot: %s" % exc)
        self.announce()

    def rate_limit(self):
        """Called on the schedule when a snapshot is due: 0 to write it,
        else the seconds to wait (with one warning, the first time)."""
        wait = self.limit.wait()
        if wait and self.limit.deferred == 1:
            what = ("threshold %s" % _describe(self.threshold)
                    if self.threshold else "the schedule")
            _warn("snapshots are due more often than %g a second with %s: "
                  "writing at most %g a second (raise the threshold)"
                  % (RATE, what, RATE))
        return wait

    def announce(self):
        if not self.verbose:
            return
        written = [f for f in self.files if os.path.exists(f)]
        if not written:
            _warn("no snapshot written for pid %d" % self.pid)
            return
        names = [os.path.basename(f) for f in written]
        span = names[0] if len(names) == 1 else "%s .. %s" % (names[0], names[-1])
        n = self.limit.deferred
        skipped = ("; rate-limited %d time%s" % (n, "" if n == 1 else "s")
                   if n else "")
        _warn("%d snapshot%s of pid %d in %s: %s%s" % (
            len(names), "" if len(names) == 1 else "s", self.pid,
            self.output, span, skipped))


class _SessionTask(TakeSnapshotTask):
    """The session's TakeSnapshotTask: scheduled calls pass through the
    session's rate limit; the final snapshot (a direct call) does not.

    A deferred snapshot pauses the schedule rather than skipping calls one
    by one: with a threshold far below the program's allocation rate the
    task is due at nearly every allocation, and running Python for each
    (to skip it) would slow the program many times over.  While paused the
    task has no threshold and a timer due when the limit lets the next
    snapshot through; then the user's schedule comes back."""

    def __init__(self, session, *args, **kw):
        TakeSnapshotTask.__init__(self, *args, **kw)
        self._session = session
        self._paused = None   # (threshold, delay) to restore, while paused
        self._resume_ns = 0

    def _call_on_schedule(self):
        wait = self._session.rate_limit()
        if wait:
            if self._paused is None:
                self._paused = (self._threshold, self._delay)
            self._threshold = None
            self._delay = 1   # the timer's unit; _reset_refs places it
            self._resume_ns = _tmtrace._tasks_now() + int(wait * 1e9)
            return None
        if self._paused is not None:
            self._threshold, self._delay = self._paused
            self._paused = None
        return TakeSnapshotTask._call_on_schedule(self)

    def write_snapshot(self):
        # Streamed (no snapshot object: memory bounded whatever the number
        # of traces); the name is announced before the write, and the
        # final snapshot's error path takes it back.
        self._session.files.append(self.create_filename())
        return TakeSnapshotTask.write_snapshot(self)

    def _reset_refs(self):
        TakeSnapshotTask._reset_refs(self)
        if self._paused is not None:
            # Due when now >= _timer_start + 1 s, that is at _resume_ns.
            self._timer_start = self._resume_ns - 1_000_000_000


def _warn(message):
    try:
        sys.stderr.write("tmtrace: %s\n" % message)
        sys.stderr.flush()
    except Exception:
        pass


def _live_start(verbose):
    # Serve `tmtool watch --pid` (the runner's sessions unless
    # TMTRACE_LIVE=0; variable mode only with TMTRACE_LIVE=1: see
    # tmtrace._startup).  A failure is said only when verbose: in variable
    # mode every Python process below TMTRACE would print it, into its own
    # stderr (issue 10, item 5).
    try:
        from . import _tracing
        _tracing.start_endpoint()
    except OSError as exc:
        if verbose:
            _warn("no live view of this process: %s" % exc)


def _at_exit():
    final_snapshot()


def final_snapshot():
    """The running session's last snapshot, now (once: exit does not take
    another)."""
    if _session is not None:
        _session.final_snapshot()


def _after_fork_child():
    # The fork child's tracing was disabled at fork (PEP 454): give it a
    # session of its own, with its own files.
    global _session
    parent = _session
    if parent is None:
        return
    try:
        from ._task import cancel_tasks
        cancel_tasks()
        _session = Session(parent.nframe, parent.output, parent.delay,
                           parent.threshold, parent.traces, parent.verbose,
                           parent.live)
        _session.start()
    except Exception as exc:
        _session = None
        _warn("cannot trace fork child %d: %s" % (os.getpid(), exc))
        return
    # A multiprocessing child ends with os._exit, past atexit: its
    # bootstrap runs the after-fork hooks, and there we register the final
    # snapshot as a multiprocessing finalizer (run by util._exit_function).
    mpu = sys.modules.get("multiprocessing.util")
    if mpu is not None:
        mpu.register_after_fork(_session, _register_mp_final)


def _register_mp_final(session):
    import multiprocessing.util as mpu
    mpu.Finalize(None, session.final_snapshot, exitpriority=-100)


_hooks_installed = False


def start(nframe=1, output=".", delay=None, threshold=None, traces=False,
          export=True, verbose=False, live=False, sample=None, native=False):
    """Start tracing this process; return the Session.  A session that
    is already running (TMTRACE set for the runner itself) is replaced.
    verbose: say on stderr at exit where the snapshots went; live: serve
    snapshots to `tmtool watch --pid` (docs/live-endpoint.md); sample:
    trace blocks sampled by bytes, one per `sample` bytes on average
    (docs/sampling.md), None to trace every block; native: also trace
    native allocations (docs/native.md)."""
    global _session, _hooks_installed
    if _session is not None:
        _session.stop()
    session = Session(nframe, output, delay, threshold, traces, verbose, live,
                      sample, native)
    session.start()
    _session = session
    if not _hooks_installed:
        _hooks_installed = True
        atexit.register(_at_exit)
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=_after_fork_child)
    if export:
        os.environ.update(session.environ())
    return session
