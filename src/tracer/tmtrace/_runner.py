"""Tracing a program without changing it: the session behind both
``python -m tmtrace run`` and the TMTRACE environment variable.

A session enables tracing, schedules a TakeSnapshotTask writing
``<output>/tmtrace-<pid>-<counter>.tms`` on a delay and/or a memory
threshold, takes a final snapshot at exit and says on stderr where the
files went.  Child processes: the settings are exported as TMTRACE*
variables, so a Python child that imports site (subprocess, multiprocessing
spawn/forkserver) starts its own session through the .pth hook; a fork
child, where tracing is disabled at fork (PEP 454), starts a fresh session
of its own from an os.register_at_fork handler.  Every process names its
files by its pid.
"""
import argparse
import atexit
import os
import sys
import traceback

__all__ = []

_session = None  # the running Session of this process, or None


class Session:
    def __init__(self, nframe=1, output=".", delay=None, threshold=None,
                 traces=False):
        self.nframe = nframe
        self.output = os.path.abspath(output)
        self.delay = delay
        self.threshold = threshold
        self.traces = traces
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
        env["TMTRACE_THRESHOLD"] = str(self.threshold) if self.threshold else ""
        return env

    def start(self):
        from . import _tracing
        from ._task import TakeSnapshotTask
        self.pid = os.getpid()
        self.files = []
        self.final_done = False
        try:
            os.makedirs(self.output, exist_ok=True)
        except OSError as exc:
            _warn("cannot create output directory '%s': %s" % (self.output, exc))
        _tracing.set_traceback_limit(self.nframe)
        if not _tracing.is_enabled():
            _tracing.enable()
        template = os.path.join(self.output.replace("$", "$$"),
                                "tmtrace-$pid-$counter.tms")
        self.task = TakeSnapshotTask(template, traces=self.traces,
                                     callback=self._written)
        if self.delay:
            self.task.set_delay(self.delay)
        if self.threshold:
            self.task.set_memory_threshold(self.threshold)
        if self.delay or self.threshold:
            self.task.schedule()
        _live_start()

    def _written(self, snapshot):
        # Called by take_snapshot before writing: the file about to be
        # written is the task's next name.
        self.files.append(self.task.create_filename())

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
                self.task.take_snapshot()
        except Exception as exc:
            if self.files:
                self.files.pop()  # announced, never written
            _warn("cannot write the final snapshot: %s" % exc)
        self.announce()

    def announce(self):
        written = [f for f in self.files if os.path.exists(f)]
        if not written:
            _warn("no snapshot written for pid %d" % self.pid)
            return
        names = [os.path.basename(f) for f in written]
        span = names[0] if len(names) == 1 else "%s .. %s" % (names[0], names[-1])
        _warn("%d snapshot%s of pid %d in %s: %s" % (
            len(names), "" if len(names) == 1 else "s", self.pid,
            self.output, span))


def _warn(message):
    try:
        sys.stderr.write("tmtrace: %s\n" % message)
        sys.stderr.flush()
    except Exception:
        pass


def _live_start():
    # Every session serves `tmtool watch --pid`; TMTRACE_LIVE=0 opts out.
    if os.environ.get("TMTRACE_LIVE", "").strip() == "0":
        return
    try:
        from . import _tracing
        _tracing.start_endpoint()
    except OSError as exc:
        _warn("no live view of this process: %s" % exc)


def _at_exit():
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
                           parent.threshold, parent.traces)
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
          export=True):
    """Start tracing this process; return the Session.  A session that
    is already running (TMTRACE set for the runner itself) is replaced."""
    global _session, _hooks_installed
    if _session is not None:
        _session.stop()
    session = Session(nframe, output, delay, threshold, traces)
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


# --------------------------------------------------------------------------
# python -m tmtrace run

_EPILOG = """\
The program runs as `python script.py args...` (or `python -m module`)
would: same sys.argv, __main__, sys.path[0], exit status (sys.exit codes;
1 and a traceback on an uncaught exception), signals and KeyboardInterrupt.

Snapshots are written to DIR as tmtrace-<pid>-<counter>.tms: on the
schedule given by --delay and/or --threshold, plus a final one at exit.
Where they went is printed on stderr.  Read them with tmtool top/diff or
tmtrace.Snapshot.load.

Child processes: Python children (subprocess, multiprocessing spawn and
forkserver) are traced with the same settings through the TMTRACE*
environment variables when tmtrace is installed in their site-packages;
fork children (multiprocessing fork, os.fork) are traced by this process's
fork hook.  Every process writes its own files, named by its pid.

Without the runner: TMTRACE=<nframe> python script.py (see
docs/tracing-without-code-changes.md).
"""


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a whole number, got '%s'"
                                         % text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1, got %d" % value)
    return value


def _size(text):
    import _tmtrace
    try:
        value = _tmtrace._size_parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc))
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1 byte")
    return value


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m tmtrace",
        description="Trace the memory allocations of a Python program "
                    "without changing it.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    run = sub.add_parser(
        "run", help="run a script or module under tracing",
        description="Run a Python script or module under tracing, writing "
                    "snapshots (.tms files).",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
        usage="python -m tmtrace run [options] (script.py | -m module) "
              "[args...]")
    run.add_argument("--nframe", type=_positive_int, default=1, metavar="N",
                     help="frames stored per traceback (default: 1)")
    run.add_argument("--output", "-o", default=".", metavar="DIR",
                     help="directory for the snapshots (created if "
                          "missing; default: current directory)")
    run.add_argument("--delay", type=_positive_int, metavar="S",
                     help="take a snapshot every S seconds (timer driven "
                          "by allocations, 1 s resolution)")
    run.add_argument("--threshold", type=_size, metavar="SIZE",
                     help="take a snapshot whenever the traced memory moved "
                          "by more than SIZE since the last one (e.g. "
                          "10MiB, 512k)")
    run.add_argument("--traces", action="store_true",
                     help="store every trace, not only per-line statistics "
                          "(needed for --group-by traceback/address and "
                          "cumulative tops; bigger files)")
    run.add_argument("-m", dest="module", metavar="MODULE",
                     help="run library module MODULE as a script")
    run.add_argument("target", nargs=argparse.REMAINDER, metavar="script.py",
                     help="the script, then its arguments")
    return parser


def _program_tb(tb):
    # Drop the runner's and runpy's frames, as `python script.py` shows
    # only the program's.
    import runpy
    skip = {os.path.normcase(os.path.abspath(__file__)),
            os.path.normcase(os.path.abspath(runpy.__file__))}
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if not (name.startswith("<frozen runpy")
                or os.path.normcase(os.path.abspath(name)) in skip):
            break
        tb = tb.tb_next
    return tb


def run(argv=None):
    """Entry point of `python -m tmtrace`; returns the exit status."""
    import runpy
    parser = _parser()
    args = parser.parse_args(argv)
    if args.module is None and not args.target:
        parser.error("the run command needs a script or -m module")
    if args.module is not None:
        target, prog_args = args.module, list(args.target)
    else:
        target, prog_args = args.target[0], list(args.target[1:])
        if target.startswith("-"):
            parser.error("unknown option '%s' (options go before the script)"
                         % target)
        if not os.path.exists(target):
            sys.stderr.write("%s: can't open file %r: [Errno 2] No such file "
                             "or directory\n" % (sys.executable, target))
            return 2
    start(args.nframe, args.output, args.delay, args.threshold, args.traces)
    try:
        if args.module is not None:
            # run_module sets sys.argv[0] to the module's file, as -m does;
            # sys.path[0] is already the current directory (we run as -m).
            sys.argv = [target] + prog_args
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            sys.argv = [target] + prog_args
            sys.path[0] = os.path.dirname(os.path.abspath(target))
            runpy.run_path(target, run_name="__main__")
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException:
        etype, value, tb = sys.exc_info()
        tb = _program_tb(tb)
        # The hook prints value.__traceback__ on recent versions.
        sys.excepthook(etype, value.with_traceback(tb), tb)
        return 1
    return 0
