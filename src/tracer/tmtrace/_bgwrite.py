"""BackgroundWrite: a snapshot file being written by a forked child
(``Snapshot.write_live(..., background=True)``; the child is C code,
src/tracer/bgwrite.c, and runs no Python).

The child tells how the write went through a pipe, in one fixed-size
report, so the outcome is known even when the program's own SIGCHLD
handler reaps the child.  The child is reaped by wait(), done() and
poll(), and by the next background write for handles the program dropped:
until it is reaped, the module keeps the handle alive (a dropped handle
must neither kill the write nor leave a zombie for good).
"""
import os
import select
import signal
import time

import _tmtrace

__all__ = ["BackgroundWrite"]

# Handles whose child is not reaped yet: kept alive until it is.
_in_flight = set()


class BackgroundWrite:
    """A snapshot being written by a child process; returned by
    ``Snapshot.write_live(filename, ..., background=True)``.

    The file holds the traced memory of the instant of that call, as a
    foreground ``write_live`` would have written it; it appears under
    ``filename`` complete or not at all.  ``wait()`` returns when it is
    written and raises the write's error (OSError, MemoryError,
    RuntimeError) if it was not."""

    def __init__(self, pid, fd, filename):
        self.pid = pid
        self.filename = filename
        self._fd = fd
        self._report = b""
        self._status = None     # waitpid status; -1: reaped by another
        self._error = None      # the exception wait() raises, once known
        self._foreign = False   # inherited through os.fork(): not ours
        _in_flight.add(self)

    def __repr__(self):
        # What is known without asking: repr must not reap or raise.
        state = "running" if self._status is None or self._fd >= 0 else (
            "written" if self._error is None else "failed")
        return "<BackgroundWrite pid=%d %r %s>" % (self.pid, self.filename,
                                                   state)

    # -- the report pipe --

    def _read(self, timeout):
        """Read what the child sent, waiting at most timeout seconds
        (None: until something comes); True once at end of file."""
        if self._fd < 0:
            return True
        ready, _, _ = select.select([self._fd], [], [], timeout)
        if not ready:
            return False
        data = os.read(self._fd, 4096)
        if data:
            self._report += data
            return False
        os.close(self._fd)
        self._fd = -1
        return True

    def _drain(self):
        """What is in the pipe now, without waiting."""
        while self._fd >= 0 and select.select([self._fd], [], [], 0)[0]:
            data = os.read(self._fd, 4096)
            if not data:
                os.close(self._fd)
                self._fd = -1
            self._report += data

    def _reap(self, block):
        """waitpid the child; True once it has been reaped (by us, or by
        someone else: then the report alone tells)."""
        if self._status is not None:
            return True
        try:
            pid, status = os.waitpid(self.pid, 0 if block else os.WNOHANG)
        except ChildProcessError:
            status, pid = -1, self.pid   # a SIGCHLD handler reaped it
        if pid == 0:
            return False
        self._status = status
        return True

    def _finish(self):
        """The outcome, once the pipe is at end of file and the child is
        reaped."""
        _in_flight.discard(self)
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        try:
            ok = _tmtrace.background_write_result(self._report,
                                                  self.filename)
        except Exception as exc:   # the child's error, as write_live's
            self._error = exc
            return
        if ok is None:
            return
        self._error = RuntimeError("%s: %s" % (self._what(), self._death()))

    def _what(self):
        return "background snapshot writer (pid %d) for %r" % (
            self.pid, self.filename)

    def _death(self):
        status = self._status
        if status == -1:
            return "ended without a report (reaped by another waiter)"
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            try:
                name = signal.Signals(sig).name
            except ValueError:
                name = str(sig)
            return "killed by signal %d (%s); nothing was written" % (
                sig, name)
        return "exited with status %d without a report" % (
            os.WEXITSTATUS(status),)

    def _step(self, timeout):
        """One wait of at most timeout seconds; True once finished."""
        if self._foreign:
            raise RuntimeError("%s: started by the parent process, which "
                               "alone can wait for it" % self._what())
        if self._status is not None and self._fd < 0:
            return True
        # Normally the pipe reaches end of file as the child exits.  A
        # copy of its write end could outlive the child (a process forked
        # meanwhile without exec): so a wait on the pipe also checks, at
        # least every second, whether the child has exited.
        eof = self._read(timeout if timeout is not None and timeout < 1.0
                         else 1.0)
        if eof:
            self._reap(True)   # it is exiting: this returns at once
        elif self._reap(False):
            self._drain()   # what it sent before it exited
        else:
            return False
        self._finish()
        return True

    # -- the API --

    def poll(self):
        """None while the child is writing; once it has ended, 0 if the
        file was written, else 1 (wait() raises the error).  Does not
        block."""
        if self._status is None or self._fd >= 0:
            if not self._step(0):
                return None
        return 0 if self._error is None else 1

    def done(self):
        """Whether the child has ended (written or failed).  Does not
        block."""
        return self.poll() is not None

    def wait(self, timeout=None):
        """Wait until the file is written and return its name.  Raises
        the write's error (as a foreground write_live would: OSError,
        MemoryError, ...) or RuntimeError if the child died without
        writing (killed); TimeoutError if timeout seconds pass first (the
        write goes on)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                if self._step(0):
                    break
                raise TimeoutError("%s: still writing after %g s" % (
                    self._what(), timeout))
            if self._step(left):
                break
        if self._error is not None:
            raise self._error
        return self.filename

    def __del__(self):
        # Only reached once reaped (the module holds running handles), or
        # at interpreter exit.
        if self._fd >= 0 and not self._foreign:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = -1


def _reap_finished():
    """Reap the children of handles the program has dropped (and any other
    that has ended): a new background write calls it."""
    for handle in list(_in_flight):
        try:
            handle.poll()
        except OSError:
            pass


def _forget_in_child():
    # os.fork(): the copies of the handles are not this process's
    # children, and their pipe must not be read here.
    for handle in list(_in_flight):
        handle._foreign = True
        try:
            os.close(handle._fd)
        except OSError:
            pass
        handle._fd = -1
    _in_flight.clear()


def start(filename, traces, metrics, count_metric):
    pid, fd = _tmtrace.write_live_background(filename, traces, metrics,
                                             count_metric)
    return BackgroundWrite(pid, fd, filename)


os.register_at_fork(after_in_child=_forget_in_child)
