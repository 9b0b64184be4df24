"""tmtrace: trace Python memory allocations.

Implements the tracemalloc API of PEP 454 as it stood on 2013-10-03, so
``import tmtrace as tracemalloc`` makes the PEP's examples work.  Hot paths
are C (the ``_tmtrace`` extension, libtms for .tms files, libtma for
grouping, comparison and filters); this package holds the classes.

Parts:
  _tracing   trace, filter and metric functions (enable, get_traces, ...)
  _filter    Filter
  _snapshot  Snapshot, GroupedStats, StatsDiff, Metric
  _bgwrite   BackgroundWrite (Snapshot.write_live(..., background=True))
  _task      Task, TakeSnapshotTask, cancel_tasks, get_tasks
  _display   DisplayTop, DisplayTopTask
"""
import importlib as _importlib

__version__ = "0.1.0"

_PARTS = ("_tracing", "_filter", "_snapshot", "_bgwrite", "_task",
          "_display")


def _reexport(part):
    module = _importlib.import_module("." + part, __name__)
    names = getattr(module, "__all__", ())
    for name in names:
        globals()[name] = getattr(module, name)
    return list(names)


__all__ = []
for _part in _PARTS:
    __all__ += _reexport(_part)
del _part
