"""Snapshot, GroupedStats, StatsDiff and Metric (PEP 454, 2013-10-03).

A snapshot taken with Snapshot.create() or read with Snapshot.load() keeps
its tables in C (``_tmtrace.SnapshotData``): writing, grouping, comparing,
sorting and filtering run in libtms/libtma and build no Python object per
trace.  The ``traces`` and ``stats`` dicts are built the first time they
are read.  They are views: change a snapshot's data by assigning a new
dict to the attribute (the snapshot then holds that dict) or with
apply_filters(), not by editing the dict in place.

A Snapshot, GroupedStats or StatsDiff built by hand from dicts or lists
holds them, and goes through C for each operation that needs one of the
rules (top_by, write, apply_filters, compare_to, sort, DisplayTop): this
package binds, it does not re-implement.
"""
import datetime
import gc

import _tmtrace

__all__ = ["Metric", "Snapshot", "GroupedStats", "StatsDiff", "Peak"]

_FORMATS = ("int", "percent", "size")
# PEP 454's groupings, plus 'function': (filename, qualified name) keys,
# and 'domain': the allocator domain of each trace (int keys)
_GROUP_BY = ("filename", "line", "address", "traceback", "function",
             "domain")
_UNSET = object()


# ---- timestamps: datetime (the spec) <-> ns since the epoch (the file) --

def _to_ns(timestamp):
    if not isinstance(timestamp, datetime.datetime):
        raise TypeError("timestamp must be a datetime.datetime, not %s"
                        % type(timestamp).__name__)
    # Whole seconds through timestamp() are exact in a float; the
    # microseconds are added as an int so nothing is rounded.
    whole = int(timestamp.replace(microsecond=0).timestamp())
    return whole * 10**9 + timestamp.microsecond * 1000


def _from_ns(ns):
    sec, rest = divmod(ns, 10**9)
    return datetime.datetime.fromtimestamp(sec).replace(
        microsecond=rest // 1000)


# ---- Metric --------------------------------------------------------------

class Metric:
    """Metric(name, value, format): a value read when a snapshot was made.

    format: 'int' (a number), 'percent' (1.0 means 100%) or 'size'
    (bytes).
    """

    __slots__ = ("name", "value", "format")

    def __init__(self, name, value, format):
        if not isinstance(name, str):
            raise TypeError("metric name must be a str")
        if not isinstance(value, (int, float)):
            raise TypeError("metric value must be an int or a float, not %s"
                            % type(value).__name__)
        if format not in _FORMATS:
            raise ValueError("metric format must be 'int', 'percent' or "
                             "'size', not %r" % (format,))
        self.name = name
        self.value = value
        self.format = format

    def __eq__(self, other):
        if not isinstance(other, Metric):
            return NotImplemented
        return (self.name, self.value, self.format) == \
            (other.name, other.value, other.format)

    __hash__ = None

    def __repr__(self):
        return "<Metric name=%r value=%r format=%r>" % (
            self.name, self.value, self.format)


# ---- StatsDiff -------------------------------------------------------------

class StatsDiff:
    """Differences between two GroupedStats: ``differences`` is a list of
    (size_diff, size, count_diff, count, key) tuples.

    The list lives in libtma (``_tmtrace.Diff``) until it is read; a list
    set by hand is sorted and displayed by libtma too."""

    def __init__(self, differences, old_stats, new_stats):
        self._differences = differences
        self._diff = None      # _tmtrace.Diff while C holds the list
        self.old_stats = old_stats
        self.new_stats = new_stats

    @classmethod
    def _from_diff(cls, diff, old_stats, new_stats):
        self = cls(None, old_stats, new_stats)
        self._diff = diff
        return self

    @property
    def differences(self):
        if self._differences is None:
            self._differences = self._diff.to_list()
        return self._differences

    @differences.setter
    def differences(self, value):
        self._differences = value
        self._diff = None

    def _cdiff(self):
        """The libtma Diff holding this list, in its order."""
        if self._differences is None:
            return self._diff
        return _tmtrace.diff_from_list(
            self._differences, getattr(self.new_stats, "group_by", None))

    def sort(self):
        """Biggest first: by abs(size_diff), size, abs(count_diff), count,
        then key (libtma's order, tmtool's too)."""
        diff = self._cdiff()
        diff.sort()
        if self._differences is not None:
            # The same list object, in libtma's order.
            self._differences[:] = diff.to_list(False)
            self._diff = None

    def __repr__(self):
        return "<StatsDiff %d differences group_by=%r>" % (
            len(self._diff) if self._differences is None
            else len(self._differences),
            getattr(self.new_stats, "group_by", None))


# ---- GroupedStats ------------------------------------------------------------

class GroupedStats:
    """Top of allocated memory blocks grouped by *group_by*: ``stats`` is
    {key: (size, count)}, the key type set by Snapshot.top_by."""

    def __init__(self, timestamp, stats, group_by, cumulative=False,
                 metrics=None):
        self.timestamp = timestamp
        self._stats = stats
        self._groups = None    # _tmtrace.Groups when made by top_by
        self.group_by = group_by
        self.cumulative = cumulative
        self.metrics = {} if metrics is None else metrics

    @classmethod
    def _from_groups(cls, timestamp, groups, metrics):
        self = cls(timestamp, None, groups.group_by, groups.cumulative,
                   metrics)
        self._groups = groups
        return self

    @property
    def stats(self):
        if self._stats is None and self._groups is not None:
            self._stats = self._groups.to_dict()
        return self._stats

    @stats.setter
    def stats(self, value):
        self._stats = value
        self._groups = None

    def _cgroups(self):
        """The libtma Groups: top_by's, or one made from the stats dict
        (made again each time: the dict may have been edited)."""
        if self._groups is not None:
            return self._groups
        return _tmtrace.groups_from_dict(self._stats, self.group_by,
                                         bool(self.cumulative))

    def compare_to(self, old_stats=None):
        """Compare to an older GroupedStats; return an unsorted StatsDiff."""
        if old_stats is not None and old_stats.group_by != self.group_by:
            raise ValueError("cannot compare stats grouped by %r to stats "
                             "grouped by %r"
                             % (self.group_by, old_stats.group_by))
        old = None if old_stats is None else old_stats._cgroups()
        return StatsDiff._from_diff(self._cgroups().compare(old), old_stats,
                                    self)

    def __repr__(self):
        return "<GroupedStats group_by=%r cumulative=%r %d keys>" % (
            self.group_by, self.cumulative,
            len(self._groups) if self._stats is None else len(self._stats))


# ---- Peak ------------------------------------------------------------------------

class Peak:
    """Traced memory at its high-water mark, as a snapshot carries it.

    ``size`` is the peak (get_traced_memory()[1] when the snapshot was
    taken); ``recorded_size`` the traced memory of the state recorded near
    it, at ``timestamp``.  The tracer records a new state whenever memory
    passes the last one by a step (docs/peak.md), so
    ``size - recorded_size`` is below that step.  ``top_by`` groups the
    recorded state like Snapshot.top_by groups the traces ('address'
    excepted: the peak is kept per traceback).
    """

    def __init__(self, data, timestamp, metrics):
        self._data = data
        self.size, self.recorded_size, ns = data.peak
        self.timestamp = _from_ns(ns)
        self._snapshot_timestamp = timestamp
        self._metrics = metrics

    def top_by(self, group_by, cumulative=False):
        if group_by not in _GROUP_BY or group_by in ("address", "domain"):
            raise ValueError("the peak is grouped by 'filename', 'line', "
                             "'traceback' or 'function', not %r"
                             % (group_by,))
        groups = self._data.top_by(group_by, bool(cumulative), True)
        return GroupedStats._from_groups(self._snapshot_timestamp, groups,
                                         dict(self._metrics))

    def __repr__(self):
        return "<Peak size=%d recorded_size=%d timestamp=%s>" % (
            self.size, self.recorded_size, self.timestamp)


# ---- Snapshot ------------------------------------------------------------------

def _infer_limit(traces):
    # A hand-built snapshot's limit is the longest traceback it holds.
    if not traces:
        return 1
    return max(1, max(len(trace[1]) for trace in traces.values()))


class Snapshot:
    """Snapshot of traces and statistics on memory blocks allocated by
    Python."""

    def __init__(self, timestamp, pid, traces=None, stats=None,
                 metrics=None):
        self.timestamp = timestamp
        self.pid = pid
        self._data = None         # SnapshotData when C holds the truth
        self._ts_ns = None        # the file's ns, while timestamp unchanged
        self._traces = traces
        self._stats = stats
        self._stats_derived = stats is None
        self.metrics = {} if metrics is None else metrics
        self.traceback_limit = _infer_limit(traces)

    @classmethod
    def _from_data(cls, data):
        self = cls.__new__(cls)
        self._data = data
        self._ts_ns = data.timestamp_ns
        self.timestamp = _from_ns(self._ts_ns)
        self.pid = data.pid
        self.traceback_limit = data.traceback_limit
        self._traces = _UNSET
        self._stats = _UNSET
        self._domains = _UNSET
        self._stats_derived = False
        self.metrics = {name: Metric(name, value, format)
                        for name, value, format in data.metrics()}
        return self

    # -- the data, in C or in dicts --

    def _timestamp_ns(self):
        if self._ts_ns is not None and _from_ns(self._ts_ns) == self.timestamp:
            return self._ts_ns
        return _to_ns(self.timestamp)

    def _cdata(self):
        """The SnapshotData for a C operation, its header synced with the
        attributes; built afresh from the dicts of a hand-made snapshot."""
        if self._data is None:
            stats = None if self._stats_derived else self._stats
            return _tmtrace.SnapshotData.from_dicts(
                self._timestamp_ns(), self.pid, self._traces, stats,
                self.traceback_limit)
        data = self._data
        data.timestamp_ns = self._timestamp_ns()
        data.pid = self.pid
        data.traceback_limit = self.traceback_limit
        return data

    def _has_traces(self):
        if self._data is not None and self._traces is _UNSET:
            return self._data.has_traces
        return self._traces is not None

    def _ntraces(self):
        if self._data is not None and self._traces is _UNSET:
            return self._data.ntraces
        return len(self._traces)

    @property
    def traces(self):
        """{address: (size, traceback)} or None; built when first read."""
        if self._traces is _UNSET:
            self._traces = self._data.build_traces()
        return self._traces

    @traces.setter
    def traces(self, value):
        self._to_dicts()
        self._traces = value
        if self._stats_derived:
            self._stats = None

    @property
    def stats(self):
        """{filename: {lineno: (size, count)}}; built when first read."""
        if self._stats is _UNSET:
            self._stats = self._data.build_stats()
        elif self._stats is None:
            # Hand-built without stats: derived from the traces by libtma.
            self._stats = self._cdata().build_stats()
        return self._stats

    @stats.setter
    def stats(self, value):
        self._to_dicts()
        self._stats = value
        self._stats_derived = value is None

    def _to_dicts(self):
        # The dicts become the truth: build both before letting C go.
        if self._data is not None:
            self.traces, self.stats   # noqa: B018 (materialize)
            self._data = None
            self._ts_ns = None

    # -- metrics --

    def add_metric(self, name, value, format):
        """Add a Metric to ``metrics`` and return it; ValueError if the
        name is already present."""
        if name in self.metrics:
            raise ValueError("metric %r already exists" % (name,))
        metric = Metric(name, value, format)
        self.metrics[name] = metric
        return metric

    def get_metric(self, name, default=None):
        """Value of the metric called *name*, or *default*."""
        metric = self.metrics.get(name)
        return default if metric is None else metric.value

    def add_gc_metrics(self):
        self.add_metric("gc.objects", len(gc.get_objects()), "int")

    def add_process_memory_metrics(self):
        from . import _tracing
        memory = _tracing.get_process_memory()
        if memory is None:
            return
        rss, vms = memory
        self.add_metric("process_memory.rss", rss, "size")
        self.add_metric("process_memory.vms", vms, "size")

    def add_pymalloc_metrics(self):
        from . import _tracing
        self.add_metric("pymalloc.blocks", _tracing.get_allocated_blocks(),
                        "int")
        get_stats = getattr(_tracing, "get_pymalloc_stats", None)
        stats = (get_stats() if get_stats is not None else None) or {}

        def product(*keys):
            # None unless every input was stated: absent, never invented
            values = [stats.get(key) for key in keys]
            if any(value is None for value in values):
                return None
            result = 1
            for value in values:
                result *= value
            return result

        size = product("arenas", "arena_size")
        unused = product("free_pools", "pool_size")
        available = stats.get("available_bytes")
        free = None if unused is None or available is None \
            else available + unused
        for name, value in (("pymalloc.size", size),
                            ("pymalloc.max_size",
                             product("max_arenas", "arena_size")),
                            ("pymalloc.allocated",
                             stats.get("allocated_bytes")),
                            ("pymalloc.free", free)):
            if value is not None:
                self.add_metric(name, value, "size")
        if size and free is not None:
            self.add_metric("pymalloc.fragmentation", free / size, "percent")

    def add_tracemalloc_metrics(self):
        from . import _tracing
        size, max_size = _tracing.get_traced_memory()
        self.add_metric("tracemalloc.traced.size", size, "size")
        self.add_metric("tracemalloc.traced.max_size", max_size, "size")
        if self._has_traces():
            self.add_metric("tracemalloc.traces", self._ntraces(), "int")
        size, free = _tracing.get_tracemalloc_memory()
        self.add_metric("tracemalloc.module.size", size, "size")
        self.add_metric("tracemalloc.module.free", free, "size")
        if size:
            self.add_metric("tracemalloc.module.fragmentation", free / size,
                            "percent")
        self.add_metric("tracemalloc.arena_size", _tracing.get_arena_size(),
                        "size")

    def add_unicode_metrics(self):
        from . import _tracing
        interned = _tracing.get_unicode_interned()
        if interned is None:
            return   # not readable on this interpreter: absent
        size, length = interned
        self.add_metric("unicode_interned.size", size, "size")
        self.add_metric("unicode_interned.len", length, "int")

    # -- the spec's operations --

    @classmethod
    def create(cls, traces=False, metrics=True):
        """Take a snapshot of the traced memory (tracing must be enabled)."""
        from . import _tracing
        if not _tracing.is_enabled():
            raise RuntimeError("the tmtrace module must be enabled to take "
                               "a snapshot")
        limit = _tracing.get_traceback_limit()
        data = _tmtrace.take_snapshot_data(bool(traces))
        data.traceback_limit = limit
        self = cls._from_data(data)
        if metrics:
            self._add_all_metrics()
        return self

    @classmethod
    def write_live(cls, filename, traces=False, metrics=True,
                   background=False):
        """What ``create(traces, metrics).write(filename)`` writes, without
        the snapshot: the traces go from the tracer's tables straight into
        the file, a small chunk at a time, so the memory this takes does
        not grow with the number of traces.  The program pauses for the
        whole write (the tables stay one instant).  Returns None.

        With background=True the program pauses only for a fork(): a
        child process writes the file from its copy-on-write image of the
        tables at the instant of the call, while the program goes on, and
        a BackgroundWrite handle is returned (``wait()`` returns when the
        file is complete and raises the write's error).  The file is what
        a foreground write_live at that instant would have written.  Extra
        memory: the child's few MB, plus the pages the program writes to
        while the child runs (the kernel copies them).  The pause grows
        with the process's memory (page tables), not with the traces."""
        from . import _tracing
        if not _tracing.is_enabled():
            raise RuntimeError("the tmtrace module must be enabled to take "
                               "a snapshot")
        if background:
            from . import _bgwrite
            _bgwrite._reap_finished()   # children of dropped handles
        sink = cls.__new__(cls)   # holds the metrics only: no data
        sink._data = None
        sink._traces = None
        sink.metrics = {}
        if metrics:
            sink._add_all_metrics()
        args = (filename, bool(traces),
                [(name, m.value, m.format) for name, m in sink.metrics.items()],
                "tracemalloc.traces" if metrics and traces else None)
        if background:
            return _bgwrite.start(*args)
        _tmtrace.write_live_snapshot(*args)

    def _add_all_metrics(self):
        self.add_gc_metrics()
        self.add_process_memory_metrics()
        self.add_pymalloc_metrics()
        self.add_tracemalloc_metrics()
        self.add_unicode_metrics()

    @classmethod
    def load(cls, filename, traces=True):
        """Read a .tms file; with traces=False, traces are not read."""
        return cls._from_data(_tmtrace.SnapshotData.load(filename, traces))

    def write(self, filename):
        """Write the snapshot into a .tms file, atomically: the file appears
        whole under its name or not at all, and a process killed meanwhile
        leaves nothing behind.  The file is mode 0600 (owner only), as it
        holds heap addresses and program paths; chmod it to share."""
        data = self._cdata()
        data.set_metrics([(name, metric.value, metric.format)
                          for name, metric in self.metrics.items()])
        data.write(filename)

    def apply_filters(self, filters):
        """Keep only the traces and stats the filters (Filter instances)
        keep: inclusive filters select, exclusive ones drop."""
        data = self._cdata()
        data.apply_filters(list(filters))
        # C holds the filtered tables now; dicts are rebuilt when read.
        self._data = data
        self._ts_ns = data.timestamp_ns
        self._traces = _UNSET
        self._stats = _UNSET
        self._domains = _UNSET
        self._stats_derived = False

    @property
    def domains(self):
        """{address: domain} of the traces outside domain 0, None without
        traces (format 1.3).

        Every trace is in ``traces`` in PEP 454's shape, whatever its
        allocator domain; this says which ones an extension reported
        through PyTraceMalloc_Track (numpy's array data: 389047), or,
        domain 2**32-1, were native allocations.  An address missing here is
        in domain 0, Python's allocators.  A snapshot built by hand, or whose
        ``traces`` was assigned, has all its traces in domain 0.

        Built when first read, like ``traces``: looking up each trace's
        domain in a loop over ``traces`` costs one dict lookup each."""
        if self._data is None:
            return None if self._traces is None else {}
        if self._domains is _UNSET:
            self._domains = self._data.build_domains()
        return self._domains

    def keep_domain(self, domain):
        """Keep only the traces of one allocator domain (0: Python's
        allocators), recompute the stats, drop the peak (it is kept per
        traceback, without domains).  Needs traces."""
        data = self._cdata()
        data.keep_domain(domain)
        self._data = data
        self._ts_ns = data.timestamp_ns
        self._traces = _UNSET
        self._stats = _UNSET
        self._domains = _UNSET
        self._stats_derived = False

    def top_by(self, group_by, cumulative=False):
        """Group by 'filename', 'line', 'address' (or 'traceback', or
        'function': (filename, qualified name) keys, or 'domain': the
        allocator domain, int keys, needs traces); cumulative is ignored
        for 'address', 'domain' and when traceback_limit < 2."""
        if group_by not in _GROUP_BY:
            raise ValueError("group_by must be one of %s, not %r"
                             % (", ".join(map(repr, _GROUP_BY)), group_by))
        groups = self._cdata().top_by(group_by, bool(cumulative))
        return GroupedStats._from_groups(self.timestamp, groups,
                                         dict(self.metrics))

    @property
    def functions(self):
        """{(filename, lineno): qualified function name} (co_qualname from
        Python 3.11, co_name before) of the frames the snapshot names;
        empty for a snapshot built by hand or read from a format 1.0
        file."""
        if self._data is None:
            return {}
        return self._data.functions()

    @property
    def peak(self):
        """The Peak of traced memory this snapshot carries, or None (a
        snapshot built by hand, or a file written before format 1.1)."""
        if self._data is None or self._data.peak is None:
            return None
        return Peak(self._data, self.timestamp, dict(self.metrics))

    def __repr__(self):
        return "<Snapshot pid=%r timestamp=%s traces=%s>" % (
            self.pid, self.timestamp,
            self._ntraces() if self._has_traces() else None)
