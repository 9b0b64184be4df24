"""DisplayTop and DisplayTopTask (PEP 454).

The layout is `tmtool top`'s (src/cli/report.c), and so are the rules
behind it: grouping, comparison and order come from libtma through the
snapshot API (Snapshot.top_by, GroupedStats.compare_to, StatsDiff.sort),
sizes and shortened file names from libtma's formatters.  The same
snapshot therefore gives the same entries and numbers in both.
"""
import datetime
import sys

import _tmtrace

from ._task import Task, _int_arg, _validated

__all__ = ["DisplayTop", "DisplayTopTask"]

_PER = {
    "filename": "filename",
    "line": "filename and line number",
    "traceback": "traceback",
    "address": "address",
}

# Colour roles, as tmtool's.
_TITLE, _NAME, _GROW, _SHRINK, _RANK = ("\033[36m", "\033[1m", "\033[31m",
                                        "\033[32m", "\033[1m")
_OFF = "\033[0m"


def _size(n, sign=False):
    return _tmtrace._size_format(int(n), sign)


def _check_count(count):
    return _int_arg(count, "count (0: all)", 0, False)


def _check_parts(parts):
    return _int_arg(parts, "filename_parts (0: whole name)", 0, False)


def _check_color(color):
    if color not in (None, True, False):
        raise TypeError("color must be True, False or None, not %r" % (color,))
    return color


def _check_group_by(group_by):
    if group_by not in _PER:
        raise ValueError("group_by must be one of %s, not %r"
                         % (", ".join(sorted(_PER)), group_by))
    return group_by


def _totals(stats):
    """(size, count) of a GroupedStats: over traces, not over cumulative
    items, when the grouping knows them (as tmtool's total line)."""
    groups = getattr(stats, "_groups", None)
    if groups is not None:
        return groups.total_size, groups.total_count
    values = stats.stats.values()
    return sum(v[0] for v in values), sum(v[1] for v in values)


def _metric_text(value, fmt, sign=False):
    if fmt == "percent":
        return ("%+.1f%%" if sign else "%.1f%%") % (value * 100.0)
    if fmt == "size":
        return _size(value, sign)
    if isinstance(value, float):
        return ("%+g" if sign else "%g") % value
    return ("%+d" if sign else "%d") % value


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

    # -- rendering -------------------------------------------------------
    def _display(self, top_diff, count, file, old_stats):
        count = _check_count(count)
        if file is None:
            file = sys.stdout
        self._use_color = self._color
        if self._use_color is None:
            isatty = getattr(file, "isatty", None)
            try:
                self._use_color = bool(isatty and isatty())
            except Exception:
                self._use_color = False
        top_diff.sort()
        file.write("".join(self._lines(top_diff, count, old_stats)))
        file.flush()

    def _c(self, role, text):
        return role + text + _OFF if self._use_color else text

    def _key_text(self, group_by, key):
        if group_by == "address":
            return "memory block 0x%x" % key
        if group_by == "filename":
            return _tmtrace._filename_format(key, self._filename_parts)
        if group_by == "traceback":
            key = key[0] if key else (None, None)
        filename, lineno = key
        name = _tmtrace._filename_format(filename, self._filename_parts)
        # StatsDiff keys carry an unknown line as 0 (PEP 454 compare_to).
        return "%s:%s" % (name, lineno or "?")

    def _item_text(self, size_diff, size, count_diff, count, compared,
                   show_count):
        def size_text():
            text = _size(size)
            if compared:
                role = _GROW if size_diff > 0 else _SHRINK if size_diff < 0 else None
                diff = _size(size_diff, True)
                text += " (%s)" % (self._c(role, diff) if role else diff)
            return text
        if not show_count and not self.average:
            return size_text()
        parts = []
        if self.size:
            parts.append("size=" + size_text())
        if show_count and (count or count_diff):
            text = "count=%d" % count
            if compared:
                text += " (%+d)" % count_diff
            parts.append(text)
        if self.average and count > 1:
            parts.append("average=" + _size(size // count))
        return ", ".join(parts)

    def _title(self, stats):
        when = getattr(stats, "timestamp", None)
        if isinstance(when, datetime.datetime):
            return when.strftime("%Y-%m-%d %H:%M:%S")
        return "snapshot"

    def _lines(self, top_diff, count, old_stats):
        new = top_diff.new_stats
        group_by = new.group_by
        compared = old_stats is not None
        items = top_diff.differences
        shown = len(items) if count == 0 else min(count, len(items))
        head = "%s: %s" % (self._c(_NAME, self._title(new)), self._c(
            _TITLE, "%s %d allocations per %s" % (
                "Cumulative top" if new.cumulative else "Top", shown,
                _PER.get(group_by, group_by))))
        if compared:
            head += " (compared to %s)" % self._title(old_stats)
        yield head + "\n"
        show_count = self.count and group_by != "address"
        for rank, (size_diff, size, count_diff, nblocks, key) in enumerate(
                items[:shown], 1):
            text = self._item_text(size_diff, size, count_diff, nblocks,
                                   compared, show_count)
            yield "%s: %s: %s\n" % (self._c(_RANK, "#%d" % rank),
                                    self._key_text(group_by, key), text)
            if group_by == "traceback":
                yield "  Traceback (most recent call first):\n"
                for filename, lineno in key or ((None, None),):
                    yield '    File "%s", line %s\n' % (
                        _tmtrace._filename_format(filename, self._filename_parts),
                        lineno or "?")
        rest = items[shown:]
        if rest:
            sums = [sum(item[i] for item in rest) for i in range(4)]
            yield "%s: %s\n" % (self._c(_TITLE, "%d more" % len(rest)),
                                self._item_text(*sums, compared, show_count))
        size, nblocks = _totals(new)
        size_diff = count_diff = 0
        if compared:
            old_size, old_count = _totals(old_stats)
            size_diff, count_diff = size - old_size, nblocks - old_count
        yield "Total: %s\n" % self._item_text(size_diff, size, count_diff,
                                              nblocks, compared, self.count)
        if self.metrics:
            yield from self._metric_lines(new, old_stats)
        yield "\n"

    def _metric_lines(self, new, old_stats):
        cur = dict(getattr(new, "metrics", None) or {})
        old = dict(getattr(old_stats, "metrics", None) or {}) if old_stats else {}
        names = sorted(set(cur) | set(old))
        if not names:
            return
        yield "\n"
        for name in names:
            metric = cur.get(name)
            value = (_metric_text(metric.value, metric.format)
                     if metric is not None else "-")
            line = "%s: %s" % (name, self._c(_NAME, value))
            before = old.get(name)
            if metric is not None and before is not None:
                line += " (%s)" % _metric_text(metric.value - before.value,
                                               metric.format, True)
            yield line + "\n"


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
