"""Hostile .tms files, built byte by byte with the reference encoder
(tests/format/tms_ref.py), for tmtool's hardening tests.

Each builder returns the bytes of a file that is valid per format/SPEC.md's
per-section limits (or corrupt in exactly one stated way) but attacks the
reader: resource bombs (small files describing gigabytes), terminal
injection through names, and corruption in a section a command skips."""
import os
import struct
import sys
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "format"))
import tms_ref as T  # noqa: E402
import zstandard  # noqa: E402

HEADER = dict(pid=4242, timestamp_ns=1_700_000_000_000_000_000,
              traceback_limit=8, series_id="00112233445566778899aabbccddeeff",
              python_version="3.11.7", writer_name="tmtrace",
              writer_version="0.1.0")


def head(h=None, **kw):
    hh = dict(HEADER, **kw) if h is None else h
    return T.section(b"HEAD", T.head_payload(hh))


def compressed(tag, payload, level=19):
    return T.section(tag, payload, compress=True, level=level)


def small_snapshot(strings=("/srv/app/a.py",), metrics=(), meta=(),
                   header=None, traces=True):
    """A little snapshot as a dict for T.encode: one frame per string, one
    trace and one stat per frame."""
    snap = {"header": dict(HEADER, **(header or {})),
            "strings": list(strings),
            "frames": [[i, 10 + i] for i in range(len(strings))],
            "tracebacks": [[i] for i in range(len(strings))],
            "stats": [[i, 100 * (i + 1), 1] for i in range(len(strings))],
            "metrics": list(metrics), "meta": list(meta)}
    if traces:
        snap["traces"] = [[0x1000 + 64 * i, 100 * (i + 1), i]
                          for i in range(len(strings))]
    return snap


def encode(snap, compress=(b"TRCS",)):
    return T.encode(snap, compress=compress)


# ---- resource bombs -------------------------------------------------------

def string_bomb(sections=1, per_section=255):
    """STRS sections of 255 distinct strings of 1 MiB - 8 bytes each: about
    255 MiB per section, zstd to a few KB; 40 of them ask for 10 GiB.  One
    frame (/srv/app/a.py:10) with a trace and a stat follows."""
    body = b"s" * ((1 << 20) - 8)
    secs = [head()]
    n = 0
    for _ in range(sections):
        strs = []
        for _ in range(per_section):
            strs.append(body + b"%08d" % n)
            n += 1
        secs.append(compressed(b"STRS", T.strs_payload(strs), level=3))
    secs += [T.section(b"STRS", T.strs_payload(["/srv/app/a.py"])),
             T.section(b"FRMS", T.frms_payload([[n, 10]])),
             T.section(b"TBKS", T.tbks_payload([[0]])),
             T.section(b"TRCS", T.trcs_payload([[0x1000, 100, 0]])),
             T.section(b"STAT", T.stat_payload([[0, 100, 1]]))]
    return T.assemble(secs)


def metric_name_bomb(n=600):
    """One MTRC section with n metric names of 1 MiB - 8 bytes each."""
    body = "m" * ((1 << 20) - 8)
    metrics = [dict(name=body + "%08d" % i, format="int", kind="int",
                    value=i) for i in range(n)]
    # split so that no section passes 2^28 raw bytes
    secs = [head()]
    for i in range(0, n, 250):
        secs.append(compressed(b"MTRC", T.mtrc_payload(metrics[i:i + 250]),
                               level=3))
    return T.assemble(secs)


def traceback_work_bomb(ntb=64):
    """Two file names of 1 MiB - 8 bytes, two frames, and ntb distinct
    tracebacks of 65,535 frames alternating between them, one trace each:
    a few hundred KB that grouping by traceback hashes as 64 GiB per
    traceback."""
    a = "/" + "p" * ((1 << 20) - 10) + "a"
    b = "/" + "p" * ((1 << 20) - 10) + "b"
    tbs = []
    for k in range(ntb):
        frames = [(j + k) % 2 for j in range(T.MAX_TB_LEN - 1)] + [k % 2]
        frames[k] = 1 - frames[k]   # distinct by value
        tbs.append(frames)
    traces = sorted([0x10000 + 16 * k, 32, k] for k in range(ntb))
    secs = [head(), compressed(b"STRS", T.strs_payload([a, b])),
            T.section(b"FRMS", T.frms_payload([[0, 1], [1, 2]])),
            compressed(b"TBKS", T.tbks_payload(tbs)),
            compressed(b"TRCS", T.trcs_payload(traces)),
            T.section(b"STAT", T.stat_payload([[0, 32 * ntb, ntb]]))]
    return T.assemble(secs)


def zstd_lie_bomb(content=1 << 32, raw_len=T.MAX_SECTION):
    """A STRS section whose header says raw_len bytes (the 2^28 limit) but
    whose zstd frame holds `content` zero bytes and says so in its frame
    header: without the frame-size check a reader decompresses 2^28 bytes
    before it finds out."""
    cctx = zstandard.ZstdCompressor(level=1, write_content_size=True)
    chunk = bytes(1 << 24)
    co = cctx.compressobj(size=content)
    parts = []
    for _ in range(content // len(chunk)):
        parts.append(co.compress(chunk))
    parts.append(co.flush())
    stored = b"".join(parts)
    sec = T.frame_header(b"STRS", 1, raw_len, stored) + stored
    return T.assemble([head(), sec])


def traces_bomb(sections=2000):
    """TRCS sections of 65,536 traces each with address deltas of 1, size 1,
    traceback 0: 196 KiB raw per section, a few hundred bytes stored; 2000
    of them are 131 M traces (3 GiB in memory when kept)."""
    n = T.TRACE_CHUNK
    secs = [head(), T.section(b"STRS", T.strs_payload(["/a.py"])),
            T.section(b"FRMS", T.frms_payload([[0, 1]])),
            T.section(b"TBKS", T.tbks_payload([[0]]))]
    for k in range(sections):
        # addresses ascend across chunks too: the first (absolute) address
        # of each chunk is above the previous chunk's last one
        payload = (T.varint(n) + T.varint(0) + T.varint(1 + k * n) +
                   b"\x01" * (n - 1) + b"\x01" * n + b"\x00" * n)
        secs.append(compressed(b"TRCS", payload, level=3))
    secs.append(T.section(b"STAT", T.stat_payload([[0, sections * n,
                                                    sections * n]])))
    return T.assemble(secs)


# ---- corruption -------------------------------------------------------------

def corrupt_section(data, tag, which=0):
    """Flip one payload byte of the which-th section with this tag, leaving
    its header (and so its CRC field) alone: a checksum error."""
    at = 12
    seen = 0
    while True:
        t = data[at:at + 4]
        stored = struct.unpack_from("<I", data, at + 12)[0]
        if t == tag:
            if seen == which:
                assert stored > 0
                b = bytearray(data)
                b[at + 20 + stored // 2] ^= 0x5A
                return bytes(b)
            seen += 1
        if t == b"END ":
            raise ValueError("no such section")
        at += 20 + stored


def crc_ok(data):
    """True if every section's CRC matches (a sanity check for builders)."""
    at = 12
    while True:
        t = data[at:at + 4]
        stored = struct.unpack_from("<I", data, at + 12)[0]
        crc = struct.unpack_from("<I", data, at + 16)[0]
        if zlib.crc32(data[at:at + 16] + data[at + 20:at + 20 + stored]) != crc:
            return False
        if t == b"END ":
            return True
        at += 20 + stored
