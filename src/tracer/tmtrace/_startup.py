"""Start tracing at interpreter start from the environment.

The .pth file installed with the package imports this module only when
TMTRACE is set.  Variables:

  TMTRACE=<nframe>        enable tracing, <nframe> frames per traceback
  TMTRACE_OUTPUT=<dir>    where snapshots go (default: current directory)
  TMTRACE_DELAY=<s>       a snapshot every <s> seconds
  TMTRACE_THRESHOLD=<size> a snapshot when the traced memory moved by more
                          than <size> (10MiB, 512k, 1048576)
  TMTRACE_TRACES=1        store every trace, not only per-line statistics
  TMTRACE_LIVE=0          do not serve live snapshots (tmtool watch --pid)

A final snapshot is written at exit.  A bad value gives one warning on
stderr; the program then runs untraced (bad TMTRACE) or with the default
for that setting, and never fails because of tmtrace.  Ignored under
``python -E`` / ``-I``.
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


def _size(text):
    try:
        import _tmtrace
        value = _tmtrace._size_parse(text)
        if value >= 1:
            return value
        reason = "must be at least 1 byte"
    except ValueError as exc:
        reason = str(exc)
    _warn("ignoring TMTRACE_THRESHOLD=%r: %s" % (text, reason))
    return None


def settings(environ):
    """The session settings from *environ*, or None not to trace."""
    nframe = _whole("TMTRACE", environ.get("TMTRACE", "").strip())
    if nframe is None:
        _warn("tracing is off for this process")
        return None
    delay = environ.get("TMTRACE_DELAY", "").strip()
    threshold = environ.get("TMTRACE_THRESHOLD", "").strip()
    traces = environ.get("TMTRACE_TRACES", "").strip()
    if traces not in ("", "0", "1"):
        _warn("ignoring TMTRACE_TRACES=%r: expected 0 or 1" % traces)
        traces = ""
    return {
        "nframe": nframe,
        "output": environ.get("TMTRACE_OUTPUT", "").strip() or ".",
        "delay": _whole("TMTRACE_DELAY", delay) if delay else None,
        "threshold": _size(threshold) if threshold else None,
        "traces": traces == "1",
    }


def run():
    """Called from the .pth file when TMTRACE is set."""
    if sys.flags.ignore_environment or not os.environ.get("TMTRACE"):
        return
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
