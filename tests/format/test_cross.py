"""Cross tests: libtms and the Python reference read each other's files.

TMS_CROSS is the tms_cross program (libtms side), set by meson.
Run: meson test --suite format
"""

import glob
import json
import os
import random
import struct
import subprocess

import pytest

import test_ref
import tms_ref as T

CROSS = os.environ.get("TMS_CROSS")
pytestmark = pytest.mark.skipif(not CROSS, reason="TMS_CROSS not set")
SEED = int(os.environ.get("TMS_SEED", "424242"))


def c_dump(paths, skip=False):
    """libtms's decoding of each file, as canonical JSON."""
    args = [CROSS, "dump"] + (["--skip"] if skip else []) + list(paths)
    out = subprocess.run(args, check=True, capture_output=True).stdout
    lines = out.decode("utf-8", "surrogateescape").splitlines()
    assert len(lines) == len(paths)
    return [json.loads(line) for line in lines]


def ref_json(data, skip=False):
    try:
        return T.to_json(T.decode(data, skip_traces=skip))
    except T.TmsError as e:
        return {"error": e.code}


def norm(j):
    """Comparable form: STRS strings as hex, traces sorted (order across
    chunks carries no meaning), no error message."""
    if "error" in j:
        return {"error": j["error"]}
    j = dict(j)
    j["strings"] = [s["hex"] if isinstance(s, dict) else
                    s.encode("utf-8", "surrogateescape").hex()
                    for s in j["strings"]]
    if "functions" in j:  # FNAM order is the writer's; libtms keeps frames'
        j["functions"] = sorted(j["functions"])
    return test_ref.sort_traces(j)


def sections(data):
    """(tag, flags, payload-or-None) of each section, by walking frames."""
    out, p = [], 12
    while True:
        tag, flags, raw, stored = struct.unpack_from("<4sIII", data, p)
        body = data[p + 20:p + 20 + stored]
        if flags & 1:
            body = T.decompress(body, raw)
        out.append((tag, flags, body))
        p += 20 + stored
        if tag == b"END ":
            return out


@pytest.fixture(scope="module")
def c_written(tmp_path_factory):
    d = tmp_path_factory.mktemp("c_written")
    subprocess.run([CROSS, "write", str(d)], check=True)
    names = sorted(os.path.basename(p)[:-4] for p in glob.glob(str(d / "*.tms")))
    assert names == ["big", "domains", "domains_stream", "empty",
                     "names_peak", "no_traces",
                     "odd_strings", "peak_split", "sampled", "sampled_stream",
                     "stream", "traces_empty", "unaligned"]
    return d, names


def test_c_writes_ref_reads(c_written):
    d, names = c_written
    for name in names:
        data = (d / (name + ".tms")).read_bytes()
        built = json.loads((d / (name + ".json")).read_text())
        assert norm(ref_json(data)) == norm(built), name
        assert norm(ref_json(data, True)) == norm(dict(built, traces=None))


def test_c_writer_names_and_peak(c_written):
    """1.1 content written by libtms: FNAM after the FRMS it names (two
    FNAM when streamed in two calls), PEAK split at 65536 entries with the
    summary repeated."""
    d, _ = c_written
    tags = [t for t, _, _ in sections((d / "stream.tms").read_bytes())]
    assert tags.count(b"FNAM") == 2
    assert tags.index(b"FRMS") < tags.index(b"FNAM") < tags.index(b"TBKS")
    peaks = [body for tag, _, body in sections(
        (d / "peak_split.tms").read_bytes()) if tag == b"PEAK"]
    assert len(peaks) == 2
    heads = []
    for body in peaks:
        pl = T.Payload(body, b"PEAK")
        heads.append((pl.varint(), pl.varint(), pl.varint()))
        assert pl.varint() <= T.PEAK_CHUNK
    assert heads[0] == heads[1] == (1 << 40, (1 << 40) - 4096, T.zigzag(-17))
    snap = T.decode((d / "peak_split.tms").read_bytes())
    assert len(snap["peak"]["entries"]) == len(snap["tracebacks"]) > 65536


def test_c_writer_chunks_and_shift(c_written):
    d, _ = c_written
    data = (d / "big.tms").read_bytes()
    trcs = [body for tag, _, body in sections(data) if tag == b"TRCS"]
    assert len(trcs) == 3  # 2 * 65536 + 4321 traces
    for body in trcs:
        pl = T.Payload(body, b"TRCS")
        count, shift = pl.varint(), pl.varint()
        assert count <= T.TRACE_CHUNK
        # §4.5 SHOULD: shift = ctz(OR of the chunk's addresses).
        assert shift == 4, "big.tms: TRCS shift %d, 16-aligned" % shift
    data = (d / "unaligned.tms").read_bytes()
    for tag, _, body in sections(data):
        if tag == b"TRCS":
            assert T.Payload(body, tag).varint() >= 1


def test_c_writer_conformance(c_written):
    """§9 writer rules the decoder does not already enforce."""
    d, names = c_written
    for name in names:
        data = (d / (name + ".tms")).read_bytes()
        assert data[8:12] == b"\x01\x00\x03\x00", name  # W1: 1.3
        # SMPL right after HEAD when sampled (§4.12), else none
        sampled = name.startswith("sampled")
        tags = [t for t, _, _ in sections(data)]
        assert (tags[1] == b"SMPL") == sampled, name
        assert tags.count(b"SMPL") == sampled, name
        # W12: a DOMS right before each chunk with domains (§4.13), only then
        assert (b"DOMS" in tags) == name.startswith("domains"), name
        for i, t in enumerate(tags):
            assert t != b"DOMS" or tags[i + 1] == b"TRCS", name
        p = 12
        prev_last = -1
        while True:
            tag, flags, raw, stored = struct.unpack_from("<4sIII", data, p)
            body = data[p + 20:p + 20 + stored]
            assert flags in (0, 1), (name, tag)  # W4
            if flags & 1:
                assert stored < raw, (name, tag, "SHOULD store raw")
                params = T.zstandard.get_frame_parameters(body)
                assert params.content_size == raw, (name, tag)  # SHOULD
                body = T.decompress(body, raw)
            if tag == b"HEAD":
                assert body[36:40] == bytes(4), name  # W4: HEAD flags 0
            if tag == b"TRCS":
                pl = T.Payload(body, tag)
                count, shift = pl.varint(), pl.varint()
                addrs, a = [], 0
                for _ in range(count):
                    a += pl.varint() << shift
                    addrs.append(a)
                acc = 0
                for a in addrs:
                    acc |= a
                # SHOULD: shift = ctz(OR), 0 for an empty chunk.
                assert shift == (T.ctz(acc) if acc else 0), (name, shift)
                # SHOULD: chunks in ascending address order; a streaming
                # writer fed descending batches cannot (bounded memory).
                if addrs and name != "stream":
                    assert addrs[0] > prev_last, (name, "chunk order")
                    prev_last = addrs[-1]
            p += 20 + stored
            if tag == b"END ":
                break
        assert p + 16 == len(data), name


def test_c_writes_traces_empty_as_one_trcs(c_written):
    d, _ = c_written
    data = (d / "traces_empty.tms").read_bytes()
    tags = [tag for tag, _, _ in sections(data)]
    assert tags.count(b"TRCS") == 1  # W8: exactly one TRCS, count 0
    assert T.decode(data)["traces"] == []
    assert b"TRCS" not in [t for t, _, _ in sections(
        (d / "no_traces.tms").read_bytes())]


def test_ref_writes_c_reads(tmp_path):
    rng = random.Random(SEED)
    paths, snaps = [], []
    for i in range(200):
        snap, opts = test_ref.random_snapshot(rng)
        p = tmp_path / ("r%03d.tms" % i)
        p.write_bytes(T.encode(snap, **opts))
        paths.append(str(p))
        snaps.append(snap)
    for skip in (False, True):
        got = c_dump(paths, skip)
        for i, (g, want) in enumerate(zip(got, snaps)):
            if skip:
                want = dict(want, traces=None)
            assert norm(g) == norm(want), \
                "seed %d snapshot %d (TMS_SEED=%d to replay)" % (SEED, i, SEED)


def test_vectors_same_class(tmp_path):
    """Both implementations agree on every committed vector."""
    paths = sorted(glob.glob(os.path.join(test_ref.VDIR, "*.tms")))
    got = c_dump(paths)
    bad = []
    for p, g in zip(paths, got):
        with open(p, "rb") as f:
            r = norm(ref_json(f.read()))
        if norm(g) != r:
            bad.append((os.path.basename(p), r.get("error", "ok"),
                        g.get("error", "ok"), g.get("message")))
    assert not bad


def test_mutations_same_class(tmp_path):
    """Every prefix and random byte damage of the valid vectors: libtms
    and the reference report the same error class (or the same content)."""
    rng = random.Random(SEED)
    cases = []
    for name in ("traces", "unknown_frames", "metrics", "newer_minor",
                 "unknown_section", "meta", "strings_binary", "empty"):
        data, _ = test_ref.load(name)
        for n in range(0, len(data), 3):
            cases.append(("%s[:%d]" % (name, n), data[:n]))
        for _ in range(60):
            b = bytearray(data)
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
            cases.append(("%s^%d" % (name, i), bytes(b)))
        for _ in range(20):  # damage then fix the CRC: reaches the parser
            b = bytearray(data)
            secs, p = [], 12
            while p + 20 <= len(b):
                stored = struct.unpack_from("<I", b, p + 12)[0]
                secs.append((p, stored))
                p += 20 + stored
            p, stored = rng.choice(secs[:-1] or secs)
            if stored:
                i = p + 20 + rng.randrange(stored)
                b[i] = rng.randrange(256)
                crc = T.zlib.crc32(bytes(b[p:p + 16] + b[p + 20:p + 20 + stored]))
                b[p + 16:p + 20] = struct.pack("<I", crc)
                cases.append(("%s@%d=fixcrc" % (name, i), bytes(b)))
    paths = []
    for k, (_, data) in enumerate(cases):
        p = tmp_path / ("m%05d.tms" % k)
        p.write_bytes(data)
        paths.append(str(p))
    got = c_dump(paths)
    bad = []
    for (label, data), g in zip(cases, got):
        r = norm(ref_json(data))
        if norm(g) != r:
            bad.append("%s: ref %s, libtms %s (%s)" % (
                label, r.get("error", "ok"), g.get("error", "ok"),
                g.get("message", "")))
    assert not bad, "seed %d:\n" % SEED + "\n".join(bad)


DUP_KINDS = ["string", "frame", "traceback", "metric", "meta", "stat",
             "address_in_chunk", "address_across_chunks"]


@pytest.mark.parametrize("kind", DUP_KINDS)
def test_writer_refuses_duplicates(kind):
    """W7/W8: a writer MUST NOT write a duplicate string, frame, traceback,
    metric name, meta key, STAT frame, or trace address (even across
    chunks).  The streaming writer must refuse rather than emit a file
    the spec (and libtms's own reader) rejects as corrupt."""
    out = subprocess.run([CROSS, "writer-dups"], check=True,
                         capture_output=True, text=True).stdout
    got = dict(line.split() for line in out.splitlines())
    assert set(got) == set(DUP_KINDS)
    assert got[kind] == "refused"
