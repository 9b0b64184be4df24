"""Trace, filter and metric functions of PEP 454 (2013-10-03).

The hooks, tables and queries are C (``_tmtrace``); this module gives them
the PEP's names and shapes, builds ``Filter`` instances, and reads the
metrics that are plain files or text.  Which metric exists on which
CPython is listed in docs/metrics.md.
"""
import os
import re
import sys

import _tmtrace

__all__ = [
    "enable", "disable", "is_enabled", "clear_traces",
    "get_traced_memory", "reset_peak", "get_traceback_limit",
    "set_traceback_limit",
    "get_trace", "get_traces", "get_object_address", "get_object_trace",
    "get_stats",
    "add_filter", "add_include_filter", "add_exclude_filter",
    "clear_filters", "get_filters",
    "get_allocated_blocks", "get_arena_size", "get_process_memory",
    "get_tracemalloc_memory", "get_unicode_interned",
    "start_endpoint", "stop_endpoint",
    "set_sampling", "get_sampling", "set_native", "is_native",
    "set_reuse_tracking", "get_reuse_tracking",
]

enable = _tmtrace.enable
is_enabled = _tmtrace.is_enabled
clear_traces = _tmtrace.clear_traces
get_traced_memory = _tmtrace.get_traced_memory
reset_peak = _tmtrace.reset_peak
get_traceback_limit = _tmtrace.get_traceback_limit
set_traceback_limit = _tmtrace.set_traceback_limit
get_trace = _tmtrace.get_trace
get_traces = _tmtrace.get_traces
get_object_address = _tmtrace.get_object_address
get_object_trace = _tmtrace.get_object_trace
get_stats = _tmtrace.get_stats
clear_filters = _tmtrace.clear_filters
get_arena_size = _tmtrace.get_arena_size
get_tracemalloc_memory = _tmtrace.get_tracemalloc_memory
get_unicode_interned = _tmtrace.get_unicode_interned
# Not PEP 454: sampling by bytes for production (docs/sampling.md).  With
# the interval 0 (the default) every block is traced, as the PEP says.
set_sampling = _tmtrace.set_sampling
get_sampling = _tmtrace.get_sampling
# Not PEP 454: also trace native allocations, malloc and its family called
# by shared libraries and extensions (docs/native.md).  Off by default.
set_native = _tmtrace.set_native
is_native = _tmtrace.is_native
# Not PEP 454: an object CPython makes in memory reused from a free list
# is moved to the line that made it, as CPython's tracemalloc does; 3.13+
# only (docs/tracer-core.md, "Objects from free lists").  True, False, or
# None (the default: on while every block is traced, off while sampling).
set_reuse_tracking = _tmtrace._set_reuse_tracking


def get_reuse_tracking():
    """True if objects made now in reused memory get the current
    traceback: tracing, switched on, and CPython 3.13 or later."""
    return _tmtrace._reuse_tracking_active()


# The interpreter's own count of allocated blocks (sys.getallocatedblocks
# reads the same counter as _Py_GetAllocatedBlocks on every version).
get_allocated_blocks = sys.getallocatedblocks


def disable():
    """Stop tracing Python memory allocations and cancel scheduled tasks."""
    _tmtrace.disable()
    tasks = sys.modules.get(__package__ + "._task")
    if tasks is not None and hasattr(tasks, "cancel_tasks"):
        tasks.cancel_tasks()


def _filter_class():
    from ._filter import Filter
    return Filter


def add_filter(filter):
    """Add a Filter on new allocations (traces already taken are kept)."""
    if not isinstance(filter, _filter_class()):
        raise TypeError("filter must be a Filter, not %s"
                        % type(filter).__name__)
    _tmtrace.add_filter(filter)


def add_include_filter(filename, lineno=None, traceback=False):
    """Add an inclusive filter (Filter.include is True)."""
    add_filter(_filter_class()(True, filename, lineno, traceback))


def add_exclude_filter(filename, lineno=None, traceback=False):
    """Add an exclusive filter (Filter.include is False)."""
    add_filter(_filter_class()(False, filename, lineno, traceback))


def get_filters():
    """The filters on Python memory allocations, as Filter instances."""
    Filter = _filter_class()
    return [Filter(*record) for record in _tmtrace._get_filter_records()]


_STATM = "/proc/self/statm"


def get_process_memory():
    """(rss, vms) in bytes, or None if the platform is not supported."""
    try:
        with open(_STATM, "rb") as f:
            fields = f.read().split()
        page = os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None
    return (int(fields[1]) * page, int(fields[0]) * page)


# Lines of _PyObject_DebugMallocStats output -> PEP keys.  Only what the
# text states is reported; nothing is estimated.
_PYMALLOC_LINES = {
    "# arenas allocated total": "total_arenas",
    "# arenas highwater mark": "max_arenas",
    "# arenas allocated current": "arenas",
    "# bytes in allocated blocks": "allocated_bytes",
    "# bytes in available blocks": "available_bytes",
    "# bytes lost to pool headers": "pool_headers",
    "# bytes lost to quantization": "quantization",
    "# bytes lost to arena alignment": "arena_alignment",
    "# times object malloc called": "nalloc",
}


_ARENAS_RE = re.compile(r"^(\d+) arenas \* (\d+) bytes/arena$")
_POOLS_RE = re.compile(r"^(\d+) unused pools \* (\d+) bytes$")
_CLASS_RE = re.compile(r"^(\d+)\s+(\d+)\s+\d+\s+\d+\s+\d+$")


def _number(text):
    return int(text.strip().replace(",", ""))


def _parse_pymalloc(text):
    stats = {}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("Small block threshold ="):
            stats["threshold"] = _number(line.split("=")[1].split(",")[0])
            continue
        m = _CLASS_RE.match(line)
        if m is not None:
            # Size class i holds blocks of (i + 1) * ALIGNMENT bytes.
            stats.setdefault("alignment",
                             int(m.group(2)) // (int(m.group(1)) + 1))
            continue
        if "=" not in line:
            continue
        left, right = (part.strip() for part in line.split("=", 1))
        key = _PYMALLOC_LINES.get(left)
        if key is not None:
            stats.setdefault(key, _number(right))
        elif _ARENAS_RE.match(left):
            stats["arena_size"] = int(_ARENAS_RE.match(left).group(2))
        elif _POOLS_RE.match(left):
            m = _POOLS_RE.match(left)
            stats["free_pools"] = int(m.group(1))
            stats["pool_size"] = int(m.group(2))
    return stats


def get_pymalloc_stats():
    """Statistics on the pymalloc allocator (the PEP's keys that this
    interpreter's statistics state; the others are absent)."""
    text = _tmtrace._pymalloc_stats_text()
    if text is None:
        return None
    return _parse_pymalloc(text.decode("ascii", "replace"))


# The PEP: "not available if Python is compiled without pymalloc".
if _tmtrace._pymalloc_stats_text() is not None:
    __all__.append("get_pymalloc_stats")
else:
    del get_pymalloc_stats


def start_endpoint():
    """Serve live snapshots of this process to ``tmtool watch --pid``,
    ``tmtool top --pid`` and ``tmtool diff --pid`` (same user only), on a
    Unix socket removed at exit.  Returns the socket's path; calling it
    again returns the same path.  OSError if no safe directory is found.
    See docs/live-endpoint.md."""
    return _tmtrace._endpoint_start()


def stop_endpoint():
    """Stop serving live snapshots and remove the socket (no-op if not
    serving)."""
    _tmtrace._endpoint_stop()


def _install_default_filter():
    # The PEP: the module's own allocations are ignored by default.
    pattern = os.path.join(os.path.dirname(os.path.abspath(__file__)), "*")
    _tmtrace._init_default_filter(_filter_class()(False, pattern))


_install_default_filter()
