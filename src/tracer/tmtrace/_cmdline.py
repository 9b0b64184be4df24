"""The command line of ``python -m tmtrace``: ``run``, ``--version``, and
``export`` (tmtrace._export, with its own parser).

``run`` splits its arguments the way ``python`` does: the runner's own
options come first; the first argument that is not one of them (the
script) or ``-m MODULE`` ends them, and everything after belongs to the
program, options included (``-m pytest -q``, ``-m json.tool -h``).  A
``--`` may end the runner's options before a script whose name starts
with ``-``; it is not passed on.  argparse alone cannot do this: it would
take the program's options for the runner's.
"""
import argparse
import os
import platform
import sys

from . import _runner

__all__ = []

# What the runner records unless told otherwise (measured in
# docs/tracing-without-code-changes.md, "Defaults"): enough frames to reach
# the caller's code from inside a library, and every trace, so that every
# --group-by of tmtool works on the files.
DEFAULT_NFRAME = 10
DEFAULT_TRACES = True

_EPILOG = """\
Everything after the script (or after -m MODULE) is the program's own:
  python -m tmtrace run -m pytest -q
  python -m tmtrace run --threshold 50MiB -m mypackage.worker --port 8080
The program runs as `python script.py args...` (or `python -m module`)
would: same sys.argv, __main__, sys.path[0], exit status (sys.exit codes;
1 and a traceback on an uncaught exception), signals and KeyboardInterrupt.

Snapshots are written to DIR as tmtrace-<pid>-<counter>.tms: on the
schedule given by --delay and/or --threshold (at most 2 a second), plus a
final one when the program's main code has finished (its globals still
alive).  Every file also holds the peak: `tmtool top --peak FILE` shows
what held memory when it was highest.  Where they went is printed on
stderr at exit.  Read them with tmtool top/diff or tmtrace.Snapshot.load.

Child processes: Python children (subprocess, multiprocessing spawn and
forkserver) are traced with the same settings through the TMTRACE*
environment variables when tmtrace is installed in their site-packages;
fork children (multiprocessing fork, os.fork) are traced by this process's
fork hook.  Every process writes its own files, named by its pid.

Without the runner: TMTRACE=<nframe> python script.py (see tmtrace(1)).
"""


def version():
    import tmtrace
    return "tmtrace %s (%s %s)" % (tmtrace.__version__,
                                   platform.python_implementation(),
                                   platform.python_version())


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a whole number, got '%s'"
                                         % text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1, got %d" % value)
    return value


def unit_size(text):
    """Bytes from a size with a unit ("10MiB", "512k", "64B"): ValueError
    with a hint on a bare number, which silently meant bytes before."""
    import _tmtrace
    bare = text.strip()
    if bare.replace(".", "", 1).isdigit():
        raise ValueError("'%s' has no unit: write %sMiB, %sk or %sB for "
                         "bytes" % (bare, bare, bare, bare))
    value = _tmtrace._size_parse(text)
    if value < 1:
        raise ValueError("must be at least 1 byte")
    return value


def _size(text):
    try:
        return unit_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc))


# The runner's options as data: the parser is built from this table, and
# the argument splitter learns from it which options take a value.
_OPTIONS = [
    (("--nframe",), dict(
        type=_positive_int, default=DEFAULT_NFRAME, metavar="N",
        help="frames stored per traceback (default: %d)" % DEFAULT_NFRAME)),
    (("-o", "--output"), dict(
        default=".", metavar="DIR",
        help="directory for the snapshots (created if missing; default: "
             "current directory)")),
    (("--delay",), dict(
        type=_positive_int, metavar="S",
        help="take a snapshot every S seconds (timer driven by "
             "allocations, 1 s resolution)")),
    (("--threshold",), dict(
        type=_size, metavar="SIZE",
        help="take a snapshot whenever the traced memory moved by more "
             "than SIZE since the last one; SIZE needs a unit (10MiB, "
             "512k, 4096B)")),
    (("--sample",), dict(
        type=_size, metavar="SIZE",
        help="sample blocks by bytes, one per SIZE allocated on average "
             "(e.g. 512KiB): production overhead, estimated figures; "
             "default: trace every block")),
    (("--native",), dict(
        action="store_true", default=False,
        help="also trace what shared libraries and extensions take from "
             "malloc and its family (sqlite3, C++ libraries), at the Python "
             "line that caused it (docs/native.md)")),
    (("--traces",), dict(
        action="store_true", default=DEFAULT_TRACES,
        help="store every trace, needed for tmtool's --group-by "
             "traceback/address and --cumulative (default)")),
    (("--no-traces",), dict(
        action="store_false", dest="traces",
        help="store per-line statistics only: smaller files, shorter "
             "pauses")),
]


def _takes_value(flag):
    for flags, kw in _OPTIONS:
        if flag in flags:
            return "action" not in kw
    return False


def _split(args):
    """(runner options, (kind, target) or None, program arguments)."""
    for i, arg in enumerate(args):
        if i > 0 and _takes_value(args[i - 1]):
            continue  # the value of the option before
        if arg == "--":
            rest = args[i + 1:]
            target = ("script", rest[0]) if rest else None
            return args[:i], target, rest[1:]
        if arg == "-m":
            if i + 1 == len(args):
                return args[:i], ("module", None), []
            return args[:i], ("module", args[i + 1]), args[i + 2:]
        if arg.startswith("-m") and not arg.startswith("--"):
            return args[:i], ("module", arg[2:]), args[i + 1:]
        if arg == "-" or not arg.startswith("-"):
            return args[:i], ("script", arg), args[i + 1:]
    return args, None, []


def _parsers():
    parser = argparse.ArgumentParser(
        prog="python -m tmtrace",
        description="Trace the memory allocations of a Python program "
                    "without changing it.",
        epilog="See tmtrace(1), and `python -m tmtrace run --help`.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-V", "--version", action="version",
                        version=version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    run = sub.add_parser(
        "run", help="run a script or module under tracing",
        description="Run a Python script or module under tracing, writing "
                    "snapshots (.tms files).",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
        usage="python -m tmtrace run [options] (script.py | -m module) "
              "[args...]")
    for flags, kw in _OPTIONS:
        run.add_argument(*flags, **kw)
    run.add_argument("-V", "--version", action="version", version=version())
    # Shown in the help only: _split takes these before argparse runs.
    run.add_argument("-m", dest="module", metavar="MODULE",
                     help="run library module MODULE as a script; the "
                          "arguments after it are the module's")
    run.add_argument("script", nargs="?", metavar="script.py",
                     help="the script; the arguments after it are the "
                          "script's")
    # Listed for --help; its own parser is tmtrace._export's.
    sub.add_parser("export", add_help=False,
                   help="write snapshots as a Parquet table (what `tmtool "
                        "export --format parquet` runs)")
    return parser, run


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


def main(argv=None):
    """Entry point of `python -m tmtrace`; returns the exit status."""
    import runpy
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["export"]:
        from ._export import main as export_main
        return export_main(argv[1:])
    parser, run_parser = _parsers()
    if not argv or argv[0] != "run":
        parser.parse_args(argv)   # --help, --version or a usage error
        return 2
    options, target, prog_args = _split(argv[1:])
    args = run_parser.parse_args(options)
    if target is None:
        run_parser.error("the run command needs a script or -m module")
    kind, name = target
    if kind == "module" and not name:
        run_parser.error("argument -m: expected one argument")
    if kind == "script" and not os.path.exists(name):
        sys.stderr.write("%s: can't open file %r: [Errno 2] No such file "
                         "or directory\n" % (sys.executable, name))
        return 2
    # The runner serves `tmtool watch --pid` unless TMTRACE_LIVE=0.
    live = os.environ.get("TMTRACE_LIVE", "").strip() != "0"
    _hide_runner_frames()   # before tracing starts: nothing shows them
    _runner.start(args.nframe, args.output, args.delay, args.threshold,
                  args.traces, verbose=True, live=live, sample=args.sample,
                  native=args.native)
    try:
        sys.argv = [name] + prog_args
        if kind == "module":
            # run_module sets sys.argv[0] to the module's file, as -m does;
            # sys.path[0] is already the current directory (we run as -m).
            program_globals = runpy.run_module(name, run_name="__main__",
                                               alter_sys=True)
        else:
            sys.path[0] = os.path.dirname(os.path.abspath(name))
            program_globals = runpy.run_path(name, run_name="__main__")
    except (SystemExit, KeyboardInterrupt):
        # The traceback's frames still hold the program's globals.
        _runner.final_snapshot()
        raise
    except BaseException:
        _runner.final_snapshot()
        etype, value, tb = sys.exc_info()
        tb = _program_tb(tb)
        # The hook prints value.__traceback__ on recent versions.
        sys.excepthook(etype, value.with_traceback(tb), tb)
        return 1
    # The main code is done; the copy of its globals runpy returned keeps
    # what they hold alive until this last snapshot is written (at exit,
    # runpy has dropped the program's module and its data with it).
    _runner.final_snapshot()
    del program_globals
    return 0


def _hide_runner_frames():
    # The runner (this package's files) and runpy are the outermost frames
    # of every Python stack of the program: a frame of their code and every
    # older one are left out of tracebacks, so the program's tracebacks end
    # at its own module (or at importlib, for what the runner imports).
    # Their code is what is on the stack right now.  A program that itself
    # calls runpy is cut there too.
    import runpy
    import _tmtrace
    codes = [_runner.start.__code__, runpy.run_path.__code__]
    files = set()
    frame = sys._getframe()
    while frame is not None:
        codes.append(frame.f_code)
        frame = frame.f_back
    unique = []
    for code in codes:
        if code.co_filename not in files and len(files) < 6:
            files.add(code.co_filename)
            unique.append(code)
    _tmtrace._set_root_codes(tuple(unique))
