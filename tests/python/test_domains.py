"""Allocator domains in snapshots (format 1.3, issue 12 item 3): each trace
keeps the domain its allocator reported (0: Python's allocators; numpy's
array data: numpy's PyTraceMalloc_Track domain 389047; the test
extension's: the domain it was given), through Snapshot.domains, the
file, top_by('domain') and keep_domain().

Oracles: numpy's own nbytes and data pointer, the domain numbers the test
extension was told to use, and sums made here from Snapshot.traces."""
import numpy  # noqa: F401  (a test dependency: tools/requirements-dev.txt)

from test_ext_tracked import line_of, needs_ext, run

NUMPY_DOMAIN = 389047
N = 1_000_003

NUMPY = """
import tempfile, os
tmtrace.enable()
import numpy as np
a = np.zeros(%d)  # ARRAY (a C function: limit 1 shows this line)
objs = [bytes(200 + i) for i in range(300)]  # PYTHON
snap = tmtrace.Snapshot.create(traces=True, metrics=False)
doms = snap.domains
traces = snap.traces
hand = {}
for addr, (size, tb) in traces.items():
    d = doms.get(addr, 0)
    s, c = hand.get(d, (0, 0))
    hand[d] = (s + size, c + 1)
grouped = snap.top_by("domain").stats
path = os.path.join(tempfile.mkdtemp(), "d.tms")
snap.write(path)
loaded = tmtrace.Snapshot.load(path)
same = loaded.domains == doms
live = path + ".live"
tmtrace.Snapshot.write_live(live, traces=True, metrics=False)
live_doms = tmtrace.Snapshot.load(live).domains
only = tmtrace.Snapshot.load(path)
only.keep_domain(%d)
kept = only.traces
py_lines = [tb[0][1] for addr, (size, tb) in traces.items()
            if addr not in doms and size >= 200]
print(json.dumps({
    "a": a.ctypes.data, "nbytes": a.nbytes,
    "a_domain": doms.get(a.ctypes.data),
    "a_trace": [traces[a.ctypes.data][0], traces[a.ctypes.data][1][0][1]],
    "hand": sorted([d, s, c] for d, (s, c) in hand.items()),
    "grouped": sorted([d, s, c] for d, (s, c) in grouped.items()),
    "same": same, "live_a": live_doms.get(a.ctypes.data),
    "live_numpy": sum(1 for d in live_doms.values() if d == %d),
    "kept": sorted(kept), "kept_doms": sorted(
        set(only.domains.values())),
    "only_stats": sum(s for f in only.stats.values() for s, c in f.values()),
    "kept_sum": sum(s for s, tb in kept.values()),
    "py_lines": py_lines,
    "dom_lines": [traces[addr][1][0][1] for addr in doms]}))
"""


def test_numpy_data_under_its_domain_python_blocks_under_0():
    code = NUMPY % (N, NUMPY_DOMAIN, NUMPY_DOMAIN)
    r = run(code)
    array_line, py_line = line_of(code, "# ARRAY"), line_of(code, "# PYTHON")
    # the array's data: numpy's domain, its size, the line that made it
    assert r["a_domain"] == NUMPY_DOMAIN
    assert r["a_trace"] == [r["nbytes"], array_line]
    assert r["nbytes"] == N * 8
    # the 300 bytes objects (>= 200 B each) are Python's, domain 0
    # (and the list holding them, in domain 0 too); none in another domain
    assert r["py_lines"].count(py_line) >= 300
    assert py_line not in r["dom_lines"]
    assert array_line in r["dom_lines"]
    # top_by('domain') equals the sums made here from traces + domains
    assert r["grouped"] == r["hand"]
    by = {d: (s, c) for d, s, c in r["hand"]}
    assert set(by) == {0, NUMPY_DOMAIN}
    assert by[NUMPY_DOMAIN][0] >= N * 8
    # the file keeps the domains; keep_domain keeps numpy's traces only
    assert r["same"]
    # the streamed write (Snapshot.write_live) keeps them too
    assert r["live_a"] == NUMPY_DOMAIN
    assert r["live_numpy"] >= by[NUMPY_DOMAIN][1]
    assert r["a"] in r["kept"]
    assert r["kept_doms"] == [NUMPY_DOMAIN]
    assert len(r["kept"]) == by[NUMPY_DOMAIN][1]
    assert r["only_stats"] == r["kept_sum"] == by[NUMPY_DOMAIN][0]


@needs_ext
def test_extension_domains_in_snapshot():
    code = """
    import _tmt_tracktest as t
    tmtrace.enable()
    p = t.alloc(11, 65536)  # ALLOC11
    q = t.alloc(4294967294, 4096)
    x = bytearray(5000)
    snap = tmtrace.Snapshot.create(traces=True, metrics=False)
    doms = snap.domains
    g = snap.top_by("domain").stats
    print(json.dumps([doms.get(p), doms.get(q), id(x) in doms,
                      g[11], g[4294967294], g[0][0] >= 5000,
                      snap.traces[p][1][0][1]]))
    t.free(11, p); t.free(4294967294, q)
    """
    dp, dq, x_listed, g11, gq, g0, line = run(code)
    assert (dp, dq, x_listed) == (11, 4294967294, False)
    assert g11 == [65536, 1] and gq == [4096, 1] and g0
    assert line == line_of(code, "# ALLOC11")


def test_hand_built_snapshot_is_all_domain_0():
    import datetime
    import tmtrace
    now = datetime.datetime(2026, 1, 1)
    s = tmtrace.Snapshot(now, 1, traces={16: (10, (("a.py", 1),))})
    assert s.domains == {}
    assert s.top_by("domain").stats == {0: (10, 1)}
    assert tmtrace.Snapshot(now, 1, stats={}).domains is None


@needs_ext
def test_domains_built_once_per_snapshot_state():
    """Snapshot.domains is built once, not on each read (a loop over the
    traces that reads it must not rebuild it per trace), and built again
    when keep_domain() or apply_filters() change what C holds."""
    code = """
    import _tmt_tracktest as t
    tmtrace.enable()
    p = t.alloc(11, 65536)
    snap = tmtrace.Snapshot.create(traces=True, metrics=False)
    first = snap.domains
    same = [snap.domains is first for _addr in snap.traces]
    snap.keep_domain(0)
    kept = snap.domains
    f = tmtrace.Snapshot.create(traces=True, metrics=False)
    before = f.domains
    f.apply_filters([tmtrace.Filter(False, "<string>")])
    print(json.dumps([len(same) > 1 and all(same), first.get(p),
                      kept is first, p in kept, kept is snap.domains,
                      p in before, p in f.domains]))
    t.free(11, p)
    """
    all_same, dp, kept_is_first, p_kept, kept_again, p_before, p_after = \
        run(code)
    assert all_same and dp == 11
    assert (kept_is_first, p_kept, kept_again) == (False, False, True)
    assert (p_before, p_after) == (True, False)
