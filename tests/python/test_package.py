"""The package as installed: every module is installed, every PEP name
is exported, and `import tmtrace as tracemalloc` gives the PEP's API."""
import os
import re

import tmtrace

SRC = os.path.join(os.environ.get("TMTRACE_SOURCE_ROOT",
                                  os.path.join(os.path.dirname(__file__), "..", "..")),
                   "src", "tracer")

# Every function and class of PEP 454 (2013-10-03), by section.
PEP_NAMES = """
cancel_tasks clear_traces disable enable get_stats get_tasks is_enabled
get_traceback_limit get_object_address get_object_trace get_trace get_traces
set_traceback_limit
add_filter add_include_filter add_exclude_filter clear_filters get_filters
get_allocated_blocks get_arena_size get_process_memory get_traced_memory
get_tracemalloc_memory get_unicode_interned
DisplayTop DisplayTopTask Filter GroupedStats Metric Snapshot StatsDiff Task
TakeSnapshotTask
""".split()


def test_every_module_is_installed():
    # meson.build lists what `meson install` / `pip install` copies; a
    # module missing there works in-tree and breaks once installed.
    with open(os.path.join(SRC, "meson.build")) as f:
        listed = set(re.findall(r"'tmtrace/([A-Za-z_0-9]+\.py)'", f.read()))
    on_disk = {n for n in os.listdir(os.path.join(SRC, "tmtrace"))
               if n.endswith(".py")}
    assert on_disk == listed


def test_pep_names_exported():
    missing = [n for n in PEP_NAMES if not hasattr(tmtrace, n)]
    assert missing == []
    assert set(PEP_NAMES) <= set(tmtrace.__all__)


def test_pymalloc_stats_present_only_with_pymalloc():
    # "not available if Python is compiled without pymalloc": absent, not
    # a function returning an invented value.
    if hasattr(tmtrace, "get_pymalloc_stats"):
        stats = tmtrace.get_pymalloc_stats()
        assert stats["arenas"] >= 1 and stats["pool_size"] > 0
