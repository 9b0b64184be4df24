"""DisplayTop and DisplayTopTask (PEP 454).

The text comes from libtma's one renderer (tma_text_report, through
_tmtrace.render_top), the one `tmtool top` and `tmtool diff` print, and so
do grouping, comparison and order (Snapshot.top_by, GroupedStats.compare_to,
StatsDiff.sort).  This module only holds the options, the titles (a
snapshot's time) and where the text goes.
"""
import datetime
import sys

import _tmtrace

from ._task import Task, _int_arg, _validated

__all__ = ["DisplayTop", "DisplayTopTask"]

_GROUP_BY = ("address", "filename", "function", "line", "traceback")


def _check_count(count):
    return _int_arg(count, "count (0: all)", 0, False)


def _check_parts(parts):
    return _int_arg(parts, "filename_parts (0: whole name)", 0, False)


def _check_color(color):
    if color not in (None, True, False):
        raise TypeError("color must be True, False or None, not %r" % (color,))
    return color


def _check_group_by(group_by):
    if group_by not in _GROUP_BY:
        raise ValueError("group_by must be one of %s, not %r"
                         % (", ".join(_GROUP_BY), group_by))
    return group_by


def _title(stats):
    when = getattr(stats, "timestamp", None)
    if isinstance(when, datetime.datetime):
        return when.strftime("%Y-%m-%d %H:%M:%S")
    return "snapshot"


def _metrics(stats):
    metrics = getattr(stats, "metrics", None) or {}
    return [(name, m.value, m.format) for name, m in metrics.items()]


class DisplayTop:
    """Display the top of allocated memory blocks."""

    def __init__(self):
        self.size = True
        self.count = True
        self.average = True
        self.metrics = True
        self.filename_parts = 3
        self.color = None
        self.compare_to_previous = True
        self.previous_top_stats = None

    filename_parts = _validated("filename_parts", _check_parts)
    color = _validated("color", _check_color)

    # -- entry points ----------------------------------------------------
    def display(self, count=10, group_by="line", cumulative=False, file=None,
                callback=None):
        """Take a snapshot, display its top; return the snapshot."""
        from ._snapshot import Snapshot
        snapshot = Snapshot.create(traces=cumulative or group_by in
                                   ("address", "traceback"))
        if callback is not None:
            callback(snapshot)
        self.display_snapshot(snapshot, count, group_by, cumulative, file)
        return snapshot

    def display_snapshot(self, snapshot, count=10, group_by="line",
                         cumulative=False, file=None):
        top_stats = snapshot.top_by(group_by, cumulative)
        self.display_top_stats(top_stats, count, file)

    def display_top_stats(self, top_stats, count=10, file=None):
        """Display top_stats compared with previous_top_stats (if any),
        then remember it as the new previous (or first) top."""
        previous = self.previous_top_stats
        if previous is not None and (previous.group_by != top_stats.group_by
                                     or previous.cumulative != top_stats.cumulative):
            previous = None
        top_diff = top_stats.compare_to(previous)
        self._display(top_diff, count, file, previous)
        if self.compare_to_previous or self.previous_top_stats is None:
            self.previous_top_stats = top_stats

    def display_top_diff(self, top_diff, count=10, file=None):
        """Display a StatsDiff (sorted here, biggest first)."""
        self._display(top_diff, count, file, top_diff.old_stats)

    # -- output ----------------------------------------------------------
    def _display(self, top_diff, count, file, old_stats):
        count = _check_count(count)
        if file is None:
            file = sys.stdout
        color = self._color
        if color is None:
            isatty = getattr(file, "isatty", None)
            try:
                color = bool(isatty and isatty())
            except Exception:
                color = False
        top_diff.sort()
        new = top_diff.new_stats
        compared = old_stats is not None
        file.write(_tmtrace.render_top(
            top_diff._cdiff(), new._cgroups(),
            old_stats._cgroups() if compared else None,
            _title(new), _title(old_stats) if compared else None,
            _metrics(new), _metrics(old_stats) if compared else None,
            count, self._filename_parts, bool(self.size), bool(self.count),
            bool(self.average), bool(self.metrics), color))
        file.flush()


class DisplayTopTask(Task):
    """Task taking temporary snapshots and displaying the top *count*
    allocations grouped by *group_by* into *file*."""

    def __init__(self, count=10, group_by="line", cumulative=False,
                 file=sys.stdout, callback=None):
        Task.__init__(self, self.display)
        self.display_top = DisplayTop()
        self.count = count
        self.group_by = group_by
        self.cumulative = cumulative
        self.file = file
        self.callback = callback

    count = _validated("count", _check_count)
    group_by = _validated("group_by", _check_group_by)

    def display(self):
        """Take a snapshot and display its top with display_top;
        return the snapshot."""
        return self.display_top.display(self._count, self._group_by,
                                        self.cumulative, self.file,
                                        self.callback)
