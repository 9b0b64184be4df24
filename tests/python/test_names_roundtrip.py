"""Names that are not UTF-8 text round-trip (issue 10, item 7).

SPEC 1.3: a reader accepts any bytes in a string.  The tracer's rule
(src/tracer/names.c, docs/tracer-core.md): bytes that are not UTF-8 come into
Python as os.fsdecode would make them (surrogateescape), and go back out
as the same bytes; a lone surrogate in a live filename is recorded, not
lost.  The oracle for the bytes on disk is tests/format/tms_ref.py, the
independent decoder/encoder written from the SPEC, whose strings are
UTF-8 decoded with surrogateescape (so equal strs mean equal bytes).
"""
import datetime
import os
import sys

import _tmtrace
import tmtrace
from core_support import tracer  # noqa: F401  (fixture)

ROOT = os.environ.get("TMTRACE_SOURCE_ROOT") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "format"))
import tms_ref  # noqa: E402


def esc(b):
    """How the reference decoder spells bytes b."""
    return b.decode("utf-8", "surrogateescape")


HEADER = {
    "format_major": 1, "format_minor": 0, "pid": 42, "timestamp_ns": 0,
    "traceback_limit": 1, "series_id": "000102030405060708090a0b0c0d0e0f",
    "python_version": "3.11.7", "writer_name": esc(b"w\xfe"),
    "writer_version": "0.1.0",
}
# Stored bytes, each a different way of not being UTF-8 text.
NAMES = [b"/t/\xff.py",             # a raw byte (a non-UTF-8 path)
         b"/t/\xed\xa0\x80.py",     # an encoded surrogate (surrogatepass)
         b"/t/\xed\xb3\xbf.py",     # an encoded U+DCFF, which is not \xff
         b"/t/\xc3\xa9\xff\xed\xa0\x80.py",  # valid, raw and encoded mixed
         "/t/\u00e9t\u00e9.py".encode()]


def foreign_file(path):
    snap = {
        "header": HEADER,
        "strings": [esc(n) for n in NAMES],
        "frames": [[i, 10 + i] for i in range(len(NAMES))],
        "tracebacks": [[i] for i in range(len(NAMES))],
        "traces": [[4096 * (i + 1), 100 + i, i] for i in range(len(NAMES))],
        "stats": [[i, 100 + i, 1] for i in range(len(NAMES))],
        "metrics": [{"name": esc(b"rss.\xff"), "format": "size",
                     "kind": "int", "value": 5},
                    {"name": esc(b"cpu.\xed\xa0\x80"), "format": "percent",
                     "kind": "float", "value": 0.5}],
        "meta": [[esc(b"k\xfe"), esc(b"v\xfd")]],
    }
    with open(path, "wb") as f:
        f.write(tms_ref.encode(snap))
    return snap


def reference(path):
    with open(path, "rb") as f:
        return tms_ref.decode(f.read())


def test_load_accepts_non_utf8_names_and_writes_them_back(tmp_path):
    src = foreign_file(tmp_path / "in.tms")
    snap = tmtrace.Snapshot.load(str(tmp_path / "in.tms"))
    # Loading used to raise UnicodeDecodeError on the metric name.
    assert sorted(snap.metrics) == sorted(["rss.\udcff", "cpu.\ud800"])
    assert snap.metrics["rss.\udcff"].value == 5
    names = {tb[0][0] for _, tb in snap.traces.values()}
    assert len(names) == len(NAMES)
    assert "/t/\udcff.py" in names and "/t/\ud800.py" in names
    assert "/t/\u00e9t\u00e9.py" in names
    # Every name goes back out as the bytes it came in as.
    snap.write(str(tmp_path / "out.tms"))
    out = reference(tmp_path / "out.tms")
    assert sorted(out["strings"]) == sorted(src["strings"])
    assert sorted(m["name"] for m in out["metrics"]) == \
        sorted(m["name"] for m in src["metrics"])


def test_header_and_meta_decode_without_error(tmp_path):
    foreign_file(tmp_path / "in.tms")
    data = _tmtrace.SnapshotData.load(str(tmp_path / "in.tms"), False)
    assert data.writer_name == "w\udcfe"
    assert data.meta() == {"k\udcfe": "v\udcfd"}
    data.set_meta("k\udcfe", "v2\udcfd")
    data.write(str(tmp_path / "out.tms"))
    assert reference(tmp_path / "out.tms")["meta"] == [
        [esc(b"k\xfe"), esc(b"v2\xfd")]]


def test_hand_made_snapshot_stores_surrogates_as_fsencode_would(tmp_path):
    # str -> bytes: U+DC80..U+DCFF as the byte (os.fsencode), any other
    # lone surrogate in its 3-byte form; and back to the same str.
    names = ["/t/\udcff.py", "/t/\ud800.py", "/t/\u00e9\udc80.py"]
    traces = {16 * (i + 1): (8, ((n, 3),)) for i, n in enumerate(names)}
    snap = tmtrace.Snapshot(datetime.datetime.now(), 1, traces)
    snap.add_metric("m.\udcff", 1, "int")
    snap.write(str(tmp_path / "s.tms"))
    out = reference(tmp_path / "s.tms")
    assert sorted(out["strings"]) == sorted(
        [esc(b"/t/\xff.py"), esc(b"/t/\xed\xa0\x80.py"),
         esc(b"/t/\xc3\xa9\x80.py")])
    assert [m["name"] for m in out["metrics"]] == [esc(b"m.\xff")]
    back = tmtrace.Snapshot.load(str(tmp_path / "s.tms"))
    assert sorted(tb[0][0] for _, tb in back.traces.values()) == sorted(names)
    assert list(back.metrics) == ["m.\udcff"]


SURROGATE_SRC = "keep = [bytearray(5000) for _ in range(3)]\n"


def test_live_filename_with_lone_surrogate_is_recorded(tracer, tmp_path):  # noqa: F811
    names = [os.fsdecode(b"/tmp/live-\xff.py"), "/tmp/live-\ud800.py"]
    for name in names:
        exec(compile(SURROGATE_SRC, name, "exec"), {})
    # Blocks freed already; keep some alive for the snapshot.
    kept = []
    for name in names:
        ns = {}
        exec(compile(SURROGATE_SRC, name, "exec"), ns)
        kept.append(ns["keep"])
    snap = tmtrace.Snapshot.create(traces=True)
    live = {tb[0][0] for _, tb in snap.traces.values() if tb}
    assert set(names) <= live          # not None, not '???'
    assert set(names) <= set(snap.stats)
    snap.write(str(tmp_path / "live.tms"))
    strings = set(reference(tmp_path / "live.tms")["strings"])
    assert {esc(b"/tmp/live-\xff.py"), esc(b"/tmp/live-\xed\xa0\x80.py")} \
        <= strings
    back = tmtrace.Snapshot.load(str(tmp_path / "live.tms"))
    assert set(names) <= {tb[0][0] for _, tb in back.traces.values() if tb}


def test_filter_pattern_with_lone_surrogate_matches_its_file(tracer):  # noqa: F811
    name = os.fsdecode(b"/tmp/only-\xff.py")
    other = "/tmp/other.py"
    tracer.add_include_filter(os.fsdecode(b"/tmp/only-\xff*"))
    tracer.clear_traces()  # filters apply to new blocks only
    kept = []
    for fn in (name, other):
        ns = {}
        exec(compile(SURROGATE_SRC, fn, "exec"), ns)
        kept.append(ns["keep"])
    files = {tb[0][0] for _, tb in tracer.get_traces().values() if tb}
    assert files == {name}


def test_filename_beyond_the_string_limit_is_cut_not_fatal(tracer, tmp_path):  # noqa: F811
    # SPEC 5: a string holds at most 2^20 bytes.  A longer co_filename is
    # cut there (on a character boundary) instead of failing every
    # snapshot of the process.
    limit = 1 << 20
    name = "/t/" + "\u00e9" * limit          # 2 MiB of UTF-8
    ns = {}
    exec(compile(SURROGATE_SRC, name, "exec"), ns)
    snap = tmtrace.Snapshot.create(traces=True)
    snap.write(str(tmp_path / "long.tms"))
    cut = [s for s in reference(tmp_path / "long.tms")["strings"]
           if s.startswith("/t/\u00e9")]
    assert cut == ["/t/" + "\u00e9" * ((limit - 3) // 2)]
    assert len(cut[0].encode()) <= limit
