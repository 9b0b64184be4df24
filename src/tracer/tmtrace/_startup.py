"""Start tracing at interpreter start from the environment.

The .pth file installed with the package imports this module only when
TMTRACE is set.  Variables:

  TMTRACE=<nframe>        enable tracing, <nframe> frames per traceback
  TMTRACE_OUTPUT=<dir>    where snapshots go (default: a per-user directory,
                          $XDG_STATE_HOME/tmtrace, else
                          ~/.local/state/tmtrace, created 0700)
  TMTRACE_DELAY=<s>       a snapshot every <s> seconds
  TMTRACE_THRESHOLD=<size> a snapshot when the traced memory moved by more
                          than <size>, with a unit (10MiB, 512k, 4096B)
  TMTRACE_TRACES=0|1      store every trace (1, the default) or only
                          per-line statistics (0)
  TMTRACE_SAMPLE=<size>   sample blocks by bytes, one per <size> allocated
                          on average (512KiB is a production setting; 0 or
                          unset: trace every block); figures are estimates
  TMTRACE_NATIVE=1        also trace native allocations: malloc and its
                          family called by shared libraries and extensions
                          (docs/native.md); off by default
  TMTRACE_VERBOSE=1       say on stderr at exit where the snapshots went
  TMTRACE_LIVE=1          serve live snapshots (tmtool watch --pid); off by
                          default here: a listening socket and three
                          descriptors in every Python process below the
                          variable are visible to it (CPython's
                          test_subprocess.test_pass_fds counts them)

A final snapshot is written at exit.  Nothing is printed unless
TMTRACE_VERBOSE=1 or something is wrong: a bad value gives one warning on
stderr (one per process, although a venv's site runs the .pth line twice);
the program then runs untraced (bad TMTRACE) or with the default for that
setting, and never fails because of tmtrace.  Ignored under ``python -E`` /
``-I``.
"""
import os
import sys


def _warn(message):
    try:
        sys.stderr.write("tmtrace: %s\n" % message)
    except Exception:
        pass


def _whole(name, text):
    try:
        value = int(text)
        if value >= 1:
            return value
    except ValueError:
        pass
    _warn("ignoring %s=%r: expected a whole number >= 1" % (name, text))
    return None


def _size(text, name="TMTRACE_THRESHOLD"):
    from ._cmdline import unit_size
    try:
        return unit_size(text)
    except ValueError as exc:
        _warn("ignoring %s=%r: %s" % (name, text, exc))
    return None


def _flag(name, environ, default):
    text = environ.get(name, "").strip()
    if text in ("0", "1"):
        return text == "1"
    if text:
        _warn("ignoring %s=%r: expected 0 or 1" % (name, text))
    return default


def default_output(environ):
    """Where snapshots go without TMTRACE_OUTPUT: a directory of the user,
    not the current directory of every Python process the variable
    reaches (pip, build tools, test runners)."""
    state = environ.get("XDG_STATE_HOME", "").strip()
    if not os.path.isabs(state):   # the XDG rule: relative paths are invalid
        state = os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(state, "tmtrace")


def settings(environ):
    """The session settings from *environ*, or None not to trace."""
    nframe = _whole("TMTRACE", environ.get("TMTRACE", "").strip())
    if nframe is None:
        _warn("tracing is off for this process")
        return None
    from ._cmdline import DEFAULT_TRACES
    delay = environ.get("TMTRACE_DELAY", "").strip()
    threshold = environ.get("TMTRACE_THRESHOLD", "").strip()
    sample = environ.get("TMTRACE_SAMPLE", "").strip()
    output = environ.get("TMTRACE_OUTPUT", "").strip()
    if not output:
        output = default_output(environ)
        try:
            os.makedirs(output, mode=0o700, exist_ok=True)
        except OSError:
            pass  # the session reports it
    return {
        "nframe": nframe,
        "output": output,
        "delay": _whole("TMTRACE_DELAY", delay) if delay else None,
        "threshold": _size(threshold) if threshold else None,
        "traces": _flag("TMTRACE_TRACES", environ, DEFAULT_TRACES),
        "verbose": _flag("TMTRACE_VERBOSE", environ, False),
        "live": _flag("TMTRACE_LIVE", environ, False),
        "native": _flag("TMTRACE_NATIVE", environ, False),
        "sample": (_size(sample, "TMTRACE_SAMPLE")
                   if sample not in ("", "0") else None),
    }


# A venv's site processes its site-packages twice (once from venv(), once
# as a prefix: CPython's site.py), and the .pth line with it: the second
# call must neither warn again nor start a second session.
_started = False


def run():
    """Called from the .pth file when TMTRACE is set."""
    global _started
    if _started or sys.flags.ignore_environment or not os.environ.get("TMTRACE"):
        return
    _started = True
    try:
        config = settings(os.environ)
        if config is None:
            return
        from . import _runner
        # export=False: the children see the very variables we read.
        _runner.start(export=False, **config)
    except Exception as exc:
        _warn("cannot start tracing: %s: %s (the program runs untraced)"
              % (type(exc).__name__, exc))
