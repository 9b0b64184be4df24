"""The Python reference decoder against the committed vectors and SPEC.md.

Run: python -m pytest tests/format/test_ref.py  (meson test --suite format)
"""

import glob
import json
import os
import random
import struct

import pytest

import make_vectors
import tms_ref as T

HERE = os.path.dirname(os.path.abspath(__file__))
VDIR = os.environ.get("TMS_VECTORS",
                      os.path.join(HERE, "..", "..", "format", "vectors"))
NAMES = sorted(os.path.basename(p)[:-4]
               for p in glob.glob(os.path.join(VDIR, "*.tms")))


def load(name):
    with open(os.path.join(VDIR, name + ".tms"), "rb") as f:
        data = f.read()
    with open(os.path.join(VDIR, name + ".json")) as f:
        return data, json.load(f)


def decode_json(data, skip=False):
    try:
        return T.to_json(T.decode(data, skip_traces=skip))
    except T.TmsError as e:
        return {"error": e.code}


def test_vectors_present():
    assert len(NAMES) >= 40
    assert {n for n, _, _, _ in make_vectors.VECTORS} == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_vector(name):
    data, expected = load(name)
    got = decode_json(data)
    if "error" in expected:
        assert got == {"error": expected["error"]}
    else:
        assert got == expected


@pytest.mark.parametrize("name", NAMES)
def test_vector_skip_traces(name):
    data, expected = load(name)
    got = decode_json(data, skip=True)
    if "error" not in expected:
        assert got == dict(expected, traces=None)
    elif expected.get("skip_traces") == "may_skip":
        assert got == {"error": expected["error"]} or "error" not in got
    else:
        assert got == {"error": expected["error"]}


@pytest.mark.parametrize("name", NAMES)
def test_committed_json_is_the_script_literal(name):
    # The committed JSON is what make_vectors.py says, not stale output.
    lit = {n: e for n, _, _, e in make_vectors.VECTORS}[name]
    assert load(name)[1] == json.loads(json.dumps(lit))


def test_spec_example_bytes():
    # §8, transcribed from SPEC.md by hand.
    hexdump = """
    89 54 4d 53 0d 0a 1a 0a 01 00 00 00 48 45 41 44
    00 00 00 00 3c 00 00 00 3c 00 00 00 ad a9 a4 f4
    d2 04 00 00 00 00 00 00 00 00 00 00 00 00 00 00
    01 00 00 00 00 01 02 03 04 05 06 07 08 09 0a 0b
    0c 0d 0e 0f 00 00 00 00 06 33 2e 31 31 2e 37 06
    6c 69 62 74 6d 73 05 30 2e 31 2e 30 45 4e 44 20
    00 00 00 00 06 00 00 00 06 00 00 00 f3 6b 63 45
    01 48 45 41 44 0c 5c 00 00 00 00 00 00 00 89 54
    4d 53 45 4e 44 0a"""
    ref = bytes.fromhex("".join(hexdump.split()))
    assert len(ref) == 134
    assert load("empty")[0] == ref


def test_varint_and_zigzag_examples():
    # §1.2's examples.
    assert T.varint(0) == b"\x00"
    assert T.varint(128) == b"\x80\x01"
    assert len(T.varint(T.U64)) == 10 and T.varint(T.U64)[-1] == 0x01
    for n, u in [(0, 0), (-1, 1), (1, 2), (-2, 3),
                 (2**63 - 1, 2**64 - 2), (-2**63, 2**64 - 1)]:
        assert T.zigzag(n) == u and T.unzigzag(u) == n
    assert T.zlib.crc32(b"123456789") == 0xCBF43926
    for bad in (b"\x80\x00", b"\xff" * 9 + b"\x02", b"\x80" * 10 + b"\x01",
                b"\x80"):
        with pytest.raises(T.Corrupt):
            T.Payload(bad, b"TEST").varint()


@pytest.mark.parametrize("name", ["traces", "unknown_frames", "metrics",
                                  "newer_minor", "unknown_section"])
def test_every_prefix_is_truncated(name):
    # R2: a file cut at any offset is truncated, wherever it ends.
    data = load(name)[0]
    for n in range(len(data)):
        assert decode_json(data[:n]) == {"error": "TMS_E_TRUNCATED"}, n
        assert decode_json(data[:n], True) == {"error": "TMS_E_TRUNCATED"}


def test_version_message_names_both():
    with pytest.raises(T.Version) as e:
        T.decode(load("newer_major")[0])
    assert "2.0" in str(e.value) and "1.x" in str(e.value)


def random_snapshot(rng):
    """A random valid snapshot in canonical JSON form."""
    def text(maxlen):
        return "".join(rng.choice("ab/._éZ\u65e5")
                       for _ in range(rng.randrange(maxlen)))
    strings = list(dict.fromkeys(text(12) for _ in range(rng.randrange(8))))
    if rng.random() < 0.2:
        strings.append({"hex": "00ff" + "%02x" % rng.randrange(256)})
    # dict, not set: hash(None) varies per run on 3.11, a set's order too.
    frames = list(dict.fromkeys(
        (rng.choice([None] + list(range(len(strings)))),
         rng.choice([None, 0, 1, rng.randrange(2**31)]))
        for _ in range(rng.randrange(10))))
    frames = [list(f) for f in frames]
    tbs = []
    if frames:
        seen = set()
        for _ in range(rng.randrange(8)):
            tb = tuple(rng.randrange(len(frames))
                       for _ in range(rng.randrange(5)))
            if tb not in seen:
                seen.add(tb)
                tbs.append(list(tb))
    traces = None
    if rng.random() < 0.7:
        traces = []
        align = rng.choice([1, 8, 16])
        addrs = sorted({rng.randrange(1, 2**48) * align
                        for _ in range(rng.randrange(50) if tbs else 0)})
        traces = [[a, rng.choice([0, 1, rng.randrange(2**64)]),
                   rng.randrange(len(tbs))] for a in addrs]
        for t in traces:  # 1.3: some traces in another domain (DOMS)
            if rng.random() < 0.2:
                t.append(rng.choice([1, 389047, 2**32 - 1]))
    stats = [[f, rng.randrange(2**40), rng.randrange(2**20)]
             for f in rng.sample(range(len(frames)),
                                 rng.randrange(len(frames) + 1))]
    metrics = []
    for i in range(rng.randrange(5)):
        fmt = rng.choice(T.FORMATS)
        if rng.random() < 0.5:
            metrics.append({"name": "m%d" % i, "format": fmt, "kind": "int",
                            "value": rng.randrange(-2**63, 2**63)})
        else:
            metrics.append({"name": "m%d" % i, "format": fmt,
                            "kind": "float",
                            "value": rng.choice([0.5, -3.25e10, 1e-300])})
    meta = [["k%d" % i, text(20)] for i in range(rng.randrange(4))]
    h = {"format_major": 1, "format_minor": 0,
         "pid": rng.randrange(-2**63, 2**63),
         "timestamp_ns": rng.randrange(2**63),
         "traceback_limit": rng.randrange(2**32),
         "series_id": bytes(rng.randrange(256) for _ in range(16)).hex(),
         "python_version": text(10), "writer_name": "tms_ref",
         "writer_version": text(5)}
    snap = {"header": h, "strings": strings, "frames": frames,
            "tracebacks": tbs, "traces": traces, "stats": stats,
            "metrics": metrics, "meta": meta}
    if rng.random() < 0.5:  # 1.1: function names and a peak
        h["format_minor"] = 1
        if strings:
            snap["functions"] = [
                [f, rng.randrange(len(strings))]
                for f in rng.sample(range(len(frames)),
                                    rng.randrange(len(frames) + 1))]
        if rng.random() < 0.7:
            size = rng.randrange(2**50)
            snap["peak"] = {
                "size": size, "recorded_size": rng.randrange(size + 1),
                "recorded_ns": rng.randrange(-2**63, 2**63),
                "entries": [[t, rng.randrange(2**40), rng.randrange(2**20)]
                            for t in rng.sample(range(len(tbs)),
                                                rng.randrange(len(tbs) + 1))]}
    if rng.random() < 0.3:  # 1.2: a sampled snapshot
        h["format_minor"] = 2
        snap["sample_interval"] = rng.randrange(1, 2**64)
    opts = {"compress": rng.sample([b"STRS", b"FRMS", b"TBKS", b"TRCS",
                                    b"STAT", b"MTRC", b"META", b"FNAM",
                                    b"PEAK", b"SMPL"],
                                   rng.randrange(4)),
            "chunk": rng.choice([1, 7, T.TRACE_CHUNK]),
            "peak_chunk": rng.choice([1, 2, T.PEAK_CHUNK])}
    return T.to_json(snap_ints(snap)), opts


def snap_ints(snap):
    """Canonical form with Python ints (to_json turns big ones to str)."""
    return json.loads(json.dumps(snap))


def sort_traces(j):
    if j.get("traces") is not None:
        j = dict(j, traces=sorted(j["traces"], key=lambda t: int(t[0])))
    return j


def test_random_roundtrip():
    seed = int(os.environ.get("TMS_SEED", "20261124"))
    rng = random.Random(seed)
    for i in range(200):
        snap, opts = random_snapshot(rng)
        data = T.encode(snap, **opts)
        got = T.to_json(T.decode(data))
        assert sort_traces(got) == sort_traces(snap), \
            "seed %d, snapshot %d" % (seed, i)


# SPEC §7: an older reader skips the newer minors' sections as unknown and
# reads everything else unchanged (a 1.1 reader shows a sampled file's
# sizes as stored: the sampled blocks' real sizes, STAT's estimates).
OLDER_READERS = {
    "1.0": ({"minor10": True}, ("fnam_", "peak_", "limit_peak", "smpl_",
                                "doms_"),
            ("functions", "peak", "sample_interval")),
    "1.1": ({"minor11": True}, ("smpl_", "doms_"), ("sample_interval",)),
    "1.2": ({"minor12": True}, ("doms_",), ()),
}


@pytest.mark.parametrize("reader", sorted(OLDER_READERS))
@pytest.mark.parametrize("name", NAMES)
def test_an_older_reader_reads_newer_files(name, reader):
    flags, skipped, newer_keys = OLDER_READERS[reader]
    data, expected = load(name)
    try:
        got = T.to_json(T.decode(data, **flags))
    except T.TmsError as e:
        got = {"error": e.code}
    if "error" in expected:
        if name.startswith(skipped):
            assert "error" not in got, name  # the bad section is skipped
        else:
            assert got == {"error": expected["error"]}
    else:
        expected = {k: v for k, v in expected.items() if k not in newer_keys}
        if expected.get("traces"):  # before 1.3 every trace is in domain 0
            expected["traces"] = [t[:3] for t in expected["traces"]]
        assert got == expected


def test_float_bits_preserved():
    data = load("metrics")[0]
    bits = {m["name"]: m["bits"] for m in T.decode(data)["metrics"]
            if m["kind"] == "float"}
    assert bits["neg_zero"] == 0x8000000000000000
    assert bits["nan_payload"] == 0x7FF8000000000001
    assert struct.pack("<Q", bits["tiny"]) == struct.pack("<d", -1.5e-300)
