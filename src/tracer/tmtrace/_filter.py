"""Filter (PEP 454): which memory allocations are kept.

The matching rules live in libtma (C), shared with Snapshot.apply_filters,
the tracer's own filters and ``tmtool filter``; the methods here only
forward to them.
"""
import _tmtrace

__all__ = ["Filter"]


def _check_flag(name, value):
    # bool or a plain int used as one (0/1); anything else is a mistake.
    if not isinstance(value, int):
        raise TypeError("Filter.%s must be a bool, not %s"
                        % (name, type(value).__name__))
    return bool(value)


class Filter:
    """Filter(include, pattern, lineno=None, traceback=False).

    *pattern* may hold ``*`` jokers (any substring, also empty); ``.pyc``
    and ``.pyo`` compare as ``.py``.  A *lineno* of None or less than 1
    matches any line.  With *traceback*, every frame of a traceback is
    checked, else only the most recent one.  Attributes are read-only, so
    a Filter can be hashed and shared between threads.
    """

    __slots__ = ("_include", "_pattern", "_lineno", "_traceback")

    def __init__(self, include, pattern, lineno=None, traceback=False):
        if not isinstance(pattern, str):
            raise TypeError("Filter.pattern must be a str, not %s"
                            % type(pattern).__name__)
        if lineno is not None and (not isinstance(lineno, int)
                                   or isinstance(lineno, bool)):
            raise TypeError("Filter.lineno must be an int or None, not %s"
                            % type(lineno).__name__)
        self._include = _check_flag("include", include)
        self._pattern = pattern
        self._lineno = lineno
        self._traceback = _check_flag("traceback", traceback)

    include = property(lambda self: self._include,
                       doc="True: inclusive filter; False: exclusive.")
    pattern = property(lambda self: self._pattern,
                       doc="Filename pattern, '*' jokers allowed.")
    lineno = property(lambda self: self._lineno,
                      doc="Line number; None or < 1 matches any line.")
    traceback = property(lambda self: self._traceback,
                         doc="Check every frame, not only the most recent.")

    def match(self, filename, lineno):
        """True if the filter matches the filename and line number."""
        return _tmtrace.filter_match(self, filename, lineno)

    def match_filename(self, filename):
        """True if the filter matches the filename."""
        return _tmtrace.filter_match_filename(self, filename)

    def match_lineno(self, lineno):
        """True if the filter matches the line number."""
        return _tmtrace.filter_match_lineno(self, lineno)

    def match_traceback(self, traceback):
        """True if the filter matches the traceback, a tuple of
        (filename, lineno) tuples."""
        return _tmtrace.filter_match_traceback(self, traceback)

    def _key(self):
        return (self._include, self._pattern, self._lineno, self._traceback)

    def __eq__(self, other):
        if not isinstance(other, Filter):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return ("Filter(include=%r, pattern=%r, lineno=%r, traceback=%r)"
                % self._key())
