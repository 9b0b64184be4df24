"""Generate format/vectors/: NAME.tms + NAME.json + README.md.

The .tms files come from the reference ENCODER in tms_ref.py (an independent
route from libtms).  Each NAME.json is the hand-written literal below: the
content a reader must decode, or {"error": "<tms_status name>"}.  JSON
conventions (also in format/vectors/README.md): integers beyond +-2^53 are
decimal strings; a string that is not valid UTF-8 or holds a NUL is
{"hex": "..."}; a non-finite float metric is {"value": null, "bits": hex}.

Usage: python make_vectors.py [OUTDIR]   (default: format/vectors)
"""

import json
import os
import struct
import sys

import zstandard

import tms_ref as T

VECTORS = []  # (name, doc, data, expected)


def vec(name, doc, data, expected):
    VECTORS.append((name, doc, data, expected))


def err(code, in_trcs=False):
    """An error vector.  in_trcs: the error is inside a TRCS payload, which
    a reader MAY skip unchecked with skip-traces (§3.3, R10), so loading
    with skip-traces may fail the same way or succeed."""
    if in_trcs:
        return {"error": code, "skip_traces": "may_skip"}
    return {"error": code}


def snap(header, strings=(), frames=(), tracebacks=(), traces=None,
         stats=(), metrics=(), meta=(), functions=(), peak=None):
    """A snapshot literal with empty tables by default.  The 1.1 keys
    (functions, peak) appear only when the snapshot has them."""
    out = {"header": header, "strings": list(strings),
           "frames": list(frames), "tracebacks": list(tracebacks),
           "traces": traces, "stats": list(stats),
           "metrics": list(metrics), "meta": list(meta)}
    if functions:
        out["functions"] = [list(f) for f in functions]
    if peak is not None:
        out["peak"] = peak
    return out


# The §8 example header.
H = {"format_major": 1, "format_minor": 0, "pid": 1234, "timestamp_ns": 0,
     "traceback_limit": 1, "series_id": "000102030405060708090a0b0c0d0e0f",
     "python_version": "3.11.7", "writer_name": "libtms",
     "writer_version": "0.1.0"}
H2 = {"format_major": 1, "format_minor": 0, "pid": 4242,
      "timestamp_ns": "1700000000123456789", "traceback_limit": 25,
      "series_id": "a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5",
      "python_version": "3.12.1", "writer_name": "tmtrace",
      "writer_version": "0.1.0"}
H_NEG = dict(H2, pid=-1, timestamp_ns=-5)


def framed(tag, payload, compress=False):
    return T.section(tag, payload, compress)


def head(h=H, extra=b""):
    return framed(b"HEAD", T.head_payload(h, extra))


# ------------------------------------------------------------- valid files

EMPTY = snap(H)
vec("empty", "The §8 example: HEAD + END only, no traces (134 bytes).",
    T.encode(EMPTY), EMPTY)

STATS = snap(H2, strings=["app.py", "lib/util.py"],
             frames=[[0, 10], [1, 3], [0, 42]],
             stats=[[0, 4096, 12], [1, 100, 1], [2, 0, 0]])
vec("stats_only", "Strings, frames and STAT; no TRCS, so no traces "
    "(traces null).  timestamp > 2^53.", T.encode(STATS), STATS)

TRACES = snap(
    H, strings=["main.py", "worker.py", "<frozen importlib._bootstrap>"],
    frames=[[0, 1], [0, 20], [1, 7], [2, 241]],
    tracebacks=[[1, 0], [2, 1, 0], [3]],
    traces=[[0x7f3a00001000, 64, 0], [0x7f3a00001040, 64, 0],
            [0x7f3a00001080, 1048576, 1], [0x7f3a00200000, 32, 0],
            [0x7f3a00200010, 16, 2], [0x7f3a00200020, 24, 1],
            ["18446744073709551600", "18446744073709551615", 2]],
    stats=[[0, 128, 2], [3, 16, 1]])
vec("traces", "7 traces in 3 TRCS chunks (3+3+1; shifts 6, 4, 4), "
    "tracebacks shared by several traces, STRS and TRCS zstd-compressed, "
    "address 2^64-16 and size 2^64-1.",
    T.encode(TRACES, compress={b"STRS", b"TRCS"}, chunk=3), TRACES)

TRACES_EMPTY = snap(H, traces=[])
vec("traces_empty", "One TRCS of count 0: the snapshot HAS traces, "
    "none of them (traces [], not null).", T.encode(TRACES_EMPTY),
    TRACES_EMPTY)

UNKNOWN = snap(
    H_NEG, strings=["x.py"],
    frames=[[None, None], [None, 5], [0, None], [0, 0], [0, 2147483647]],
    tracebacks=[[], [0], [1, 2, 3, 4]],
    traces=[[0x1000, 10, 0], [0x2000, 20, 1], [0x3000, 30, 2]],
    stats=[[0, 10, 1], [1, 20, 1]])
vec("unknown_frames", "Frames with unknown filename and/or lineno (None), "
    "lineno 0 and 2^31-1, an empty traceback used by a trace, "
    "negative pid and timestamp.", T.encode(UNKNOWN), UNKNOWN)

METRICS = snap(H, metrics=[
    {"name": "rss", "format": "size", "kind": "int", "value": 52428800},
    {"name": "fragmentation", "format": "percent", "kind": "float",
     "value": 0.25},
    {"name": "objects", "format": "int", "kind": "int", "value": -7},
    {"name": "int64_min", "format": "int", "kind": "int",
     "value": "-9223372036854775808"},
    {"name": "int64_max", "format": "size", "kind": "int",
     "value": "9223372036854775807"},
    {"name": "tiny", "format": "int", "kind": "float", "value": -1.5e-300},
    {"name": "neg_zero", "format": "percent", "kind": "float", "value": -0.0},
    {"name": "size_float", "format": "size", "kind": "float",
     "value": 1536.5},
    {"name": "nan_payload", "format": "percent", "kind": "float",
     "value": None, "bits": "7ff8000000000001"},
    {"name": "neg_inf", "format": "int", "kind": "float", "value": None,
     "bits": "fff0000000000000"}])
vec("metrics", "Metrics of each format (int, percent, size) and kind "
    "(int, float): INT64_MIN/MAX, -0.0, a NaN payload and -inf kept "
    "bit-exact; MTRC compressed.", T.encode(METRICS, compress={b"MTRC"}),
    METRICS)

META = snap(H, meta=[["user", "alice"], ["cmd", "python -m app --port 80"],
                     ["empty", ""], ["ünïcode", "日本語"]])
vec("meta", "User metadata: empty value, non-ASCII UTF-8 keys/values.",
    T.encode(META), META)

BINARY = snap(H, strings=["", {"hex": "00"}, {"hex": "ff fe 61".replace(
    " ", "")}, {"hex": "61006200"}, "é"], frames=[[1, 1], [2, 2]])
vec("strings_binary", "STRS strings are opaque bytes: empty, a lone NUL, "
    "invalid UTF-8, embedded NULs (a reader MUST NOT reject them).",
    T.encode(BINARY), BINARY)

SMALL = snap(H, strings=["a.py"], frames=[[0, 1]], stats=[[0, 8, 1]])
XTRA = T.frame_header(b"XTRA", 0xFFFFFFFF, 7, b"garbage")[:16] + \
    struct.pack("<I", 0xDEADBEEF) + b"garbage"
ZZZZ = framed(b"zzzz", b"")
vec("unknown_section", "Unknown sections a 1.0 reader must skip without "
    "checking flags, raw_len or CRC: XTRA (all flags set, bad CRC) after "
    "STRS, an empty zzzz after STAT; both listed in END.",
    T.encode(SMALL, extra=[(b"STRS", XTRA), (b"STAT", ZZZZ)]), SMALL)

HEAD_FLAGS = bytearray(T.head_payload(H))
HEAD_FLAGS[36:40] = struct.pack("<I", 0x80000001)
vec("head_flags", "HEAD flags non-zero: readers MUST ignore them.",
    T.assemble([framed(b"HEAD", bytes(HEAD_FLAGS))]), snap(H))

MINOR = snap(dict(H, format_minor=7), strings=["new.py"],
             frames=[[0, 9]], stats=[[0, 1, 1]])
NEW1 = framed(b"NEW1", b"\x01\x02\x03 content of a future section", True)
vec("newer_minor", "Format 1.7: HEAD with 12 appended bytes and a "
    "compressed unknown NEW1 section; a 1.x reader MUST read it.",
    T.encode(MINOR, minor=7, head_extra=b"\x01\x02\x03future field",
             extra=[(b"HEAD", NEW1)]), MINOR)

# ------------------------------------------------ 1.1: function names, peak

H11 = dict(H2, format_minor=1)
NAMED = snap(
    H11, strings=["app.py", "load", "Cache.get.<locals>.fill", "<module>"],
    frames=[[0, 3], [0, 17], [0, 30], [None, None]],
    functions=[[0, 3], [2, 1], [1, 2]],
    tracebacks=[[1, 0], [2, 0], [3]],
    traces=[[0x5000, 100, 0], [0x6000, 50, 2]],
    peak={"size": "104857750", "recorded_size": 104857650,
          "recorded_ns": "1700000000000000001",
          "entries": [[1, 104857600, 1], [0, 50, 1]]})
NAMED["peak"]["size"] = 104857750  # < 2^53: a JSON number
NAMED["peak"]["recorded_ns"] = "1700000000000000001"
vec("names_peak", "Format 1.1: FNAM names 3 of 4 frames (frame 3 has no "
    "name; names need not follow frame order), PEAK with a traceback "
    "(1) that no live trace uses and recorded_ns > 2^53; FNAM and PEAK "
    "compressed.", T.encode(NAMED, compress={b"FNAM", b"PEAK"}), NAMED)
PEAK_SPLIT = snap(H11, frames=[[None, 1], [None, 2], [None, 3]],
                  tracebacks=[[0], [1], [2]],
                  peak={"size": 900, "recorded_size": 880,
                        "recorded_ns": -3,
                        "entries": [[2, 800, 8], [0, 80, 2], [1, 0, 0]]})
vec("peak_split", "One picture in 3 PEAK sections (one entry each), all "
    "repeating the summary; negative recorded_ns; no traces.",
    T.encode(PEAK_SPLIT, peak_chunk=1), PEAK_SPLIT)
PEAK_EMPTY = snap(H11, peak={"size": 4096, "recorded_size": 0,
                             "recorded_ns": 0, "entries": []})
vec("peak_no_state", "A peak without a recorded state: one PEAK of n = 0.",
    T.encode(PEAK_EMPTY), PEAK_EMPTY)
def asm11(secs):
    return T.assemble(secs, minor=1)


F_SECS = [head(H11), framed(b"STRS", T.strs_payload(["f.py", "f"])),
          framed(b"FRMS", T.frms_payload([[0, 1], [0, 2]]))]
T_SECS = F_SECS + [framed(b"TBKS", T.tbks_payload([[0], [1]]))]
PK = {"size": 10, "recorded_size": 10, "recorded_ns": 0}
vec("fnam_dangling_frame", "FNAM names frame 2, 2 defined: corrupt.",
    asm11(F_SECS + [framed(b"FNAM", T.fnam_payload([[2, 1]]))]),
    err("TMS_E_CORRUPT"))
vec("fnam_dangling_string", "FNAM names frame 0 with string 2, 2 "
    "defined: corrupt.",
    asm11(F_SECS + [framed(b"FNAM", T.fnam_payload([[0, 2]]))]),
    err("TMS_E_CORRUPT"))
vec("fnam_forward_ref", "FNAM before the FRMS that defines its frame: "
    "corrupt (defined before use).",
    asm11(F_SECS[:2] + [framed(b"FNAM", T.fnam_payload([[0, 1]])),
                             F_SECS[2]]), err("TMS_E_CORRUPT"))
vec("fnam_dup_frame", "Frame 1 named in two FNAM sections: corrupt.",
    asm11(F_SECS + [framed(b"FNAM", T.fnam_payload([[1, 1]])),
                         framed(b"FNAM", T.fnam_payload([[1, 0]]))]),
    err("TMS_E_CORRUPT"))
vec("fnam_short", "FNAM says 2 entries, holds 1: corrupt.",
    asm11(F_SECS + [framed(b"FNAM", b"\x02\x00\x01")]),
    err("TMS_E_CORRUPT"))
vec("peak_dangling_tb", "A PEAK entry for traceback 2, 2 defined: corrupt.",
    asm11(T_SECS + [framed(b"PEAK", T.peak_payload(PK, [[2, 1, 1]]))]),
    err("TMS_E_CORRUPT"))
vec("peak_dup_tb", "Traceback 0 in two PEAK sections: corrupt.",
    asm11(T_SECS + [framed(b"PEAK", T.peak_payload(PK, [[0, 1, 1]])),
                         framed(b"PEAK", T.peak_payload(PK, [[0, 2, 1]]))]),
    err("TMS_E_CORRUPT"))
vec("peak_summary_differs", "Two PEAK sections whose peak_size differ: "
    "corrupt.", asm11(T_SECS + [
        framed(b"PEAK", T.peak_payload(PK, [[0, 1, 1]])),
        framed(b"PEAK", T.peak_payload(dict(PK, size=11), [[1, 1, 1]]))]),
    err("TMS_E_CORRUPT"))
vec("peak_recorded_above", "recorded_size 11 > peak_size 10: corrupt.",
    asm11(T_SECS + [framed(b"PEAK", T.peak_payload(
        dict(PK, recorded_size=11), []))]), err("TMS_E_CORRUPT"))
vec("peak_trailing", "A PEAK payload with one byte after its last column: "
    "corrupt.", asm11(T_SECS + [framed(b"PEAK", T.peak_payload(
        PK, [[0, 1, 1]]) + b"\x00")]), err("TMS_E_CORRUPT"))
vec("limit_peak_count", "A PEAK claiming 65537 entries: limit (before the "
    "bytes-left check).", asm11(T_SECS + [framed(
        b"PEAK", b"\x0a\x0a\x00" + T.varint(65537) + b"\x00")]),
    err("TMS_E_LIMIT"))

# ------------------------------------------------- 1.2: sampled snapshots

H12 = dict(H2, format_minor=2)
SAMPLED = snap(H12, strings=["app.py"], frames=[[0, 7]], tracebacks=[[0]],
               traces=[[0x7000, 64, 0], [0x9000, 1048576, 0]],
               stats=[[0, 1737017, 8194]])
SAMPLED["sample_interval"] = 524288
vec("sampled", "Format 1.2: SMPL right after HEAD says the traces were "
    "sampled every 512 KiB on average; the STAT entry holds the writer's "
    "estimates by the §4.12 rule (64 B weighs 8192.50001: 524320 B and "
    "8192.5 blocks; 1 MiB weighs 1.15652: 1212696.6 B and 1.16 blocks).",
    T.encode(SAMPLED), SAMPLED)
SAMPLED_HUGE = snap(H12)
SAMPLED_HUGE["sample_interval"] = str(2**64 - 1)
vec("sampled_max", "SMPL with the largest varint (2^64-1) and no traces.",
    T.encode(dict(SAMPLED_HUGE, sample_interval=2**64 - 1)), SAMPLED_HUGE)


def asm12(secs):
    return T.assemble(secs, minor=2)


SMPL = framed(b"SMPL", T.varint(524288))
vec("smpl_zero", "SMPL with interval 0: corrupt.",
    asm12([head(H12), framed(b"SMPL", b"\x00")]), err("TMS_E_CORRUPT"))
vec("smpl_twice", "Two SMPL sections: corrupt.",
    asm12([head(H12), SMPL, SMPL]), err("TMS_E_CORRUPT"))
vec("smpl_after_trcs", "SMPL after a TRCS: corrupt (it must precede every "
    "section holding sizes), also when the TRCS is skipped.",
    asm12(T_SECS[:1] + T_SECS[1:] + [framed(b"TRCS", T.trcs_payload(
        [[16, 1, 0]])), SMPL]), err("TMS_E_CORRUPT"))
vec("smpl_after_stat", "SMPL after a STAT: corrupt.",
    asm12(T_SECS + [framed(b"STAT", T.stat_payload([[0, 1, 1]])), SMPL]),
    err("TMS_E_CORRUPT"))
vec("smpl_trailing", "SMPL with a byte after its varint: corrupt.",
    asm12([head(H12), framed(b"SMPL", T.varint(4096) + b"\x00")]),
    err("TMS_E_CORRUPT"))
vec("smpl_empty", "SMPL with an empty payload: corrupt.",
    asm12([head(H12), framed(b"SMPL", b"")]), err("TMS_E_CORRUPT"))

# ---------------------------------------------------- 1.3: trace domains

H13 = dict(H2, format_minor=3)
NATIVE = 2**32 - 1
DOMAINS = snap(H13, strings=["np.py"], frames=[[0, 3]], tracebacks=[[0]],
               traces=[[0x1000, 64, 0], [0x2000, 8000000, 0, 389047],
                       [0x3000, 32, 0], [0x4000, 4096, 0, NATIVE],
                       [0x5000, 16, 0, 7]])
vec("domains", "Format 1.3: 5 traces in 2 TRCS chunks (3+2), each chunk "
    "preceded by a DOMS: chunk 1's trace 1 in numpy's domain 389047; chunk "
    "2's traces 0 and 1 in the reserved native domain 2^32-1 and domain 7 "
    "(DOMS compressed).  Traces without a 4th item are in domain 0.",
    T.encode(DOMAINS, chunk=3, compress=[b"DOMS"]), DOMAINS)
DOM_PY = snap(H13, strings=["a.py"], frames=[[0, 1]], tracebacks=[[0]],
              traces=[[0x10, 8, 0], [0x20, 8, 0]])
vec("domains_none", "Format 1.3 with every trace in domain 0: no DOMS.",
    T.encode(DOM_PY), DOM_PY)


def asm13(secs):
    return T.assemble(secs, minor=3)


def doms(pos_deltas, domains, n=None):
    n = len(pos_deltas) if n is None else n
    return framed(b"DOMS", T.varint(n)
                  + b"".join(T.varint(v) for v in pos_deltas)
                  + b"".join(T.varint(d) for d in domains))


TR3 = framed(b"TRCS", T.trcs_payload([[16, 1, 0], [32, 1, 0], [48, 1, 1]]))
vec("doms_zero_domain", "A DOMS entry with domain 0 (implicit, never "
    "listed): corrupt.", asm13(T_SECS + [doms([1], [0]), TR3]),
    err("TMS_E_CORRUPT", in_trcs=True))
vec("doms_domain_2_32", "A DOMS entry with domain 2^32 (domains are 32 "
    "bits): corrupt.", asm13(T_SECS + [doms([1], [2**32]), TR3]),
    err("TMS_E_CORRUPT", in_trcs=True))
vec("doms_beyond_chunk", "A DOMS naming position 3 of a 3-trace chunk: "
    "corrupt.", asm13(T_SECS + [doms([3], [5]), TR3]),
    err("TMS_E_CORRUPT", in_trcs=True))
vec("doms_not_ascending", "DOMS positions 1 then 1 (delta 0): corrupt.",
    asm13(T_SECS + [doms([1, 0], [5, 6]), TR3]),
    err("TMS_E_CORRUPT", in_trcs=True))
vec("doms_empty", "A DOMS with no entry (a writer omits it): corrupt.",
    asm13(T_SECS + [doms([], []), TR3]), err("TMS_E_CORRUPT", in_trcs=True))
vec("doms_trailing", "A DOMS with a byte after its columns: corrupt.",
    asm13(T_SECS + [framed(b"DOMS", b"\x01\x01\x05\x00"), TR3]),
    err("TMS_E_CORRUPT", in_trcs=True))
vec("doms_limit", "A DOMS claiming 65537 entries: limit.",
    asm13(T_SECS + [framed(b"DOMS", T.varint(65537) + b"\x00\x01"), TR3]),
    err("TMS_E_LIMIT", in_trcs=True))
vec("doms_not_before_trcs", "A DOMS followed by a STAT, not a TRCS: "
    "corrupt (also when traces are skipped).",
    asm13(T_SECS + [doms([1], [5]), framed(b"STAT", T.stat_payload(
        [[0, 1, 1]])), TR3]), err("TMS_E_CORRUPT"))
vec("doms_twice", "Two DOMS before one TRCS: corrupt.",
    asm13(T_SECS + [doms([1], [5]), doms([2], [6]), TR3]),
    err("TMS_E_CORRUPT"))
vec("doms_last", "A DOMS right before END: corrupt.",
    asm13(T_SECS + [TR3, doms([1], [5])]), err("TMS_E_CORRUPT"))

# --------------------------------------------------------- version errors

vec("newer_major", "Format 2.0, otherwise a valid file: version "
    "(message names 2.0 and 1.x).", T.encode(SMALL, major=2),
    err("TMS_E_VERSION"))
vec("major_zero", "Format 0.9: any major other than 1 is version.",
    T.encode(SMALL, major=0, minor=9), err("TMS_E_VERSION"))

# ------------------------------------------------------- truncated files

FULL = T.encode(TRACES, chunk=3)
TRCS_AT = FULL.index(b"TRCS")
vec("truncated", "The raw 'traces' file cut 5 bytes into the first TRCS "
    "payload: truncated, also with skip-traces (§3.3 steps 1-7).",
    FULL[:TRCS_AT + 25], err("TMS_E_TRUNCATED"))
vec("truncated_header", "Cut inside a section frame header.",
    FULL[:TRCS_AT + 10], err("TMS_E_TRUNCATED"))
vec("truncated_footer", "Cut 5 bytes before the end (inside the footer).",
    FULL[:-5], err("TMS_E_TRUNCATED"))
vec("truncated_preamble", "5 bytes, a prefix of the magic: truncated.",
    T.MAGIC[:5], err("TMS_E_TRUNCATED"))
vec("truncated_version", "10 bytes: the magic and half the version.",
    FULL[:10], err("TMS_E_TRUNCATED"))
vec("empty_file", "0 bytes: a (vacuous) prefix of the magic: truncated.",
    b"", err("TMS_E_TRUNCATED"))

# ---------------------------------------------------------------- not-tms

vec("bad_magic", "A zip header: not-tms.",
    b"PK\x03\x04" + bytes(40), err("TMS_E_NOT_TMS"))
vec("bad_magic_short", "4 bytes differing from the magic: not-tms.",
    b"\x89TMX", err("TMS_E_NOT_TMS"))
vec("bad_magic_crlf", "The magic after a text-mode CRLF->LF conversion.",
    FULL.replace(b"\r\n", b"\n", 1), err("TMS_E_NOT_TMS"))

# --------------------------------------------------------------- checksum

RAW_STATS = T.encode(STATS)
STRS_AT = RAW_STATS.index(b"STRS")
flip = bytearray(RAW_STATS)
flip[STRS_AT + 22] ^= 0x20  # a letter inside "app.py"
vec("bad_crc", "One payload byte of STRS flipped: checksum.",
    bytes(flip), err("TMS_E_CHECKSUM"))
flip = bytearray(RAW_STATS)
flip[STRS_AT + 16] ^= 0x01
vec("bad_crc_field", "The CRC field of STRS itself damaged: checksum.",
    bytes(flip), err("TMS_E_CHECKSUM"))
flip = bytearray(RAW_STATS)
flip[STRS_AT + 8] ^= 0x01  # raw_len 0x16 -> 0x17, same for stored_len
flip[STRS_AT + 12] ^= 0x01
vec("bad_crc_lengths", "raw_len and stored_len of STRS both +1 (the "
    "section now swallows a byte of the next header): the CRC covers the "
    "lengths, so checksum.", bytes(flip), err("TMS_E_CHECKSUM"))
DUP_BAD_CRC = T.assemble([head(), framed(b"STRS", T.strs_payload(
    ["a", "a"]))])
flip = bytearray(DUP_BAD_CRC)
flip[DUP_BAD_CRC.index(b"STRS") + 16] ^= 0xFF
vec("checksum_before_parse", "A duplicate string AND a bad CRC in STRS: "
    "checksum (step 8 before step 10).", bytes(flip), err("TMS_E_CHECKSUM"))

# ------------------------------------------------------------- decompress

BOGUS = b"\x28\xb5\x2f\xfd" + b"\xff" * 12
vec("bad_zstd", "STRS with flag 1 whose stored bytes are not a valid zstd "
    "frame (right CRC): decompress.", T.assemble([
        head(), T.frame_header(b"STRS", 1, 10, BOGUS) + BOGUS]),
    err("TMS_E_DECOMPRESS"))
Z = T.section(b"STRS", T.strs_payload(["hello"]), compress=True)
Z_STORED = Z[20:] + b"\x00"
vec("zstd_trailing", "A compressed STRS with one byte after the zstd "
    "frame: decompress.", T.assemble([
        head(), T.frame_header(b"STRS", 1, 7, Z_STORED) + Z_STORED]),
    err("TMS_E_DECOMPRESS"))
vec("zstd_wrong_raw_len", "A compressed STRS whose raw_len is one more "
    "than its content: decompress.", T.assemble([
        head(), T.frame_header(b"STRS", 1, 8, Z[20:]) + Z[20:]]),
    err("TMS_E_DECOMPRESS"))

# ------------------------------------------------------------------ limit

vec("limit_string", "A string length of 2^21 in a short payload: limit "
    "(the limit check comes before the bytes-left check, §5).",
    T.assemble([head(), framed(b"STRS", b"\x01" + T.varint(1 << 21) + b"x")]),
    err("TMS_E_LIMIT"))
vec("limit_trcs_count", "A TRCS chunk claiming 65537 traces: limit.",
    T.assemble([head(), framed(b"TRCS", T.varint(65537) + b"\x00")]),
    err("TMS_E_LIMIT", True))
vec("limit_tb_len", "A traceback of 65536 frames: limit.",
    T.assemble([head(), framed(b"STRS", T.strs_payload(["f"])),
                framed(b"FRMS", T.frms_payload([[0, 1]])),
                framed(b"TBKS", b"\x01" + T.varint(65536) + b"\x00")]),
    err("TMS_E_LIMIT"))
BIG = T.frame_header(b"STRS", 0, (1 << 28) + 1, b"")[:12] + \
    struct.pack("<II", (1 << 28) + 1, 0)
vec("limit_section", "A STRS header with raw_len = stored_len = 2^28+1 "
    "and nothing after: limit (§3.3 step 5 before step 7).",
    T.MAGIC + b"\x01\x00\x00\x00" + head() + BIG, err("TMS_E_LIMIT"))

# ---------------------------------------------------------------- corrupt

vec("dup_string", "STRS holds \"a\" twice: corrupt.",
    T.assemble([head(), framed(b"STRS", T.strs_payload(["a", "a"]))]),
    err("TMS_E_CORRUPT"))
vec("dup_string_across", "\"a\" in two STRS sections: corrupt.",
    T.assemble([head(), framed(b"STRS", T.strs_payload(["a"])),
                framed(b"STRS", T.strs_payload(["b", "a"]))]),
    err("TMS_E_CORRUPT"))
vec("dup_frame", "FRMS holds (0, 7) twice: corrupt.",
    T.assemble([head(), framed(b"STRS", T.strs_payload(["a"])),
                framed(b"FRMS", T.frms_payload([[0, 7], [0, 7]]))]),
    err("TMS_E_CORRUPT"))
vec("dup_traceback", "TBKS holds [0] twice: corrupt.",
    T.assemble([head(), framed(b"FRMS", T.frms_payload([[None, 1]])),
                framed(b"TBKS", T.tbks_payload([[0], [0]]))]),
    err("TMS_E_CORRUPT"))
vec("dup_metric", "Two metrics named \"m\": corrupt.", T.assemble([
    head(), framed(b"MTRC", T.mtrc_payload([
        {"name": "m", "format": "int", "kind": "int", "value": 1},
        {"name": "m", "format": "int", "kind": "int", "value": 2}]))]),
    err("TMS_E_CORRUPT"))
vec("dup_meta_key", "Two META sections with the key \"k\": corrupt.",
    T.assemble([head(), framed(b"META", T.meta_payload([["k", "1"]])),
                framed(b"META", T.meta_payload([["k", "2"]]))]),
    err("TMS_E_CORRUPT"))
vec("dup_stat_frame", "Frame 0 in two STAT entries: corrupt.",
    T.assemble([head(), framed(b"FRMS", T.frms_payload([[None, 1]])),
                framed(b"STAT", T.stat_payload([[0, 1, 1], [0, 2, 2]]))]),
    err("TMS_E_CORRUPT"))
vec("dangling_frame", "TBKS refers to frame 5, 2 defined: corrupt.",
    T.assemble([head(), framed(b"FRMS", T.frms_payload([[None, 1],
                                                        [None, 2]])),
                framed(b"TBKS", T.tbks_payload([[1, 5]]))]),
    err("TMS_E_CORRUPT"))
vec("forward_ref", "FRMS refers to string 0 defined by a LATER STRS: "
    "corrupt (defined before use).",
    T.assemble([head(), framed(b"FRMS", T.frms_payload([[0, 1]])),
                framed(b"STRS", T.strs_payload(["a"]))]),
    err("TMS_E_CORRUPT"))
vec("dangling_traceback", "A trace refers to traceback 1, 1 defined.",
    T.assemble([head(), framed(b"TBKS", T.tbks_payload([[]])),
                framed(b"TRCS", T.trcs_payload([[16, 1, 1]]))]),
    err("TMS_E_CORRUPT", True))
vec("overlong_varint", "STRS count 1 written 0x81 0x00: corrupt.",
    T.assemble([head(), framed(b"STRS", b"\x81\x00\x01a")]),
    err("TMS_E_CORRUPT"))
vec("varint_overflow", "A size varint whose 10th byte is 0x02: corrupt.",
    T.assemble([head(), framed(b"TBKS", T.tbks_payload([[]])),
                framed(b"TRCS", b"\x01\x00\x10" + b"\xff" * 9 + b"\x02"
                       + b"\x00")]),
    err("TMS_E_CORRUPT", True))
vec("trailing_payload", "A STRS payload with one byte after its last "
    "string: corrupt.",
    T.assemble([head(), framed(b"STRS", T.strs_payload(["a"]) + b"\x00")]),
    err("TMS_E_CORRUPT"))
vec("short_payload", "STRS says 2 strings, holds 1: corrupt.",
    T.assemble([head(), framed(b"STRS", b"\x02\x01a")]),
    err("TMS_E_CORRUPT"))
vec("short_head", "A HEAD payload of 39 bytes: corrupt.",
    T.assemble([framed(b"HEAD", T.head_payload(H)[:39])]),
    err("TMS_E_CORRUPT"))
vec("trailing_file", "A valid file with one byte after the footer.",
    T.encode(SMALL) + b"\x00", err("TMS_E_CORRUPT"))
GOOD = T.encode(SMALL)
vec("bad_end_magic", "Footer end_magic damaged: corrupt.",
    GOOD[:-1] + b"\x0b", err("TMS_E_CORRUPT"))
vec("bad_end_offset", "Footer end_offset off by one: corrupt.",
    GOOD[:-16] + struct.pack("<Q", struct.unpack("<Q", GOOD[-16:-8])[0]
                             - 1) + GOOD[-8:], err("TMS_E_CORRUPT"))
OK_SECS = [head(), framed(b"STRS", T.strs_payload(["a"]))]
BAD_END = b"".join(OK_SECS)
vec("bad_end_index", "END lists HEAD only, STRS missing: corrupt.",
    T.MAGIC + b"\x01\x00\x00\x00" + BAD_END
    + framed(b"END ", b"\x01HEAD\x0c")
    + struct.pack("<Q", 12 + len(BAD_END)) + T.END_MAGIC,
    err("TMS_E_CORRUPT"))
vec("head_not_first", "STRS before HEAD: corrupt.",
    T.assemble([framed(b"STRS", T.strs_payload(["a"])), head()]),
    err("TMS_E_CORRUPT"))
vec("head_twice", "A second HEAD: corrupt.",
    T.assemble([head(), head()]), err("TMS_E_CORRUPT"))
vec("reserved_flags", "STRS with frame flag bit 1 set: corrupt.",
    T.assemble([head(), T.frame_header(b"STRS", 2, 3, b"\x01\x01a")
                + b"\x01\x01a"]), err("TMS_E_CORRUPT"))
vec("raw_len_mismatch", "A raw STRS with raw_len 4 != stored_len 3.",
    T.assemble([head(), T.frame_header(b"STRS", 0, 4, b"\x01\x01a")
                + b"\x01\x01a"]), err("TMS_E_CORRUPT"))
vec("traces_unsorted", "A TRCS delta of 0 (addresses not strictly "
    "ascending): corrupt.", T.assemble([
        head(), framed(b"TBKS", T.tbks_payload([[]])),
        framed(b"TRCS", b"\x02\x00\x10\x00\x01\x01\x00\x00")]),
    err("TMS_E_CORRUPT", True))
vec("traces_overflow", "TRCS address sum exceeds 2^64-1: corrupt.",
    T.assemble([head(), framed(b"TBKS", T.tbks_payload([[]])),
                framed(b"TRCS", b"\x02\x00" + T.varint(T.U64) + b"\x01"
                       + b"\x01\x01\x00\x00")]),
    err("TMS_E_CORRUPT", True))
vec("traces_shift_overflow", "addr[0] << shift does not fit 64 bits.",
    T.assemble([head(), framed(b"TBKS", T.tbks_payload([[]])),
                framed(b"TRCS", b"\x01\x04" + T.varint(1 << 60)
                       + b"\x01\x00")]),
    err("TMS_E_CORRUPT", True))
vec("bad_shift", "TRCS shift 64: corrupt.",
    T.assemble([head(), framed(b"TBKS", T.tbks_payload([[]])),
                framed(b"TRCS", b"\x01\x40\x01\x01\x00")]),
    err("TMS_E_CORRUPT", True))
vec("lineno_range", "lineno_plus_1 = 2^31+1: corrupt.",
    T.assemble([head(), framed(b"FRMS", b"\x01\x00"
                               + T.varint((1 << 31) + 1))]),
    err("TMS_E_CORRUPT"))
vec("metric_format", "A metric format 3: corrupt.",
    T.assemble([head(), framed(b"MTRC", b"\x01\x01m\x03\x00\x02")]),
    err("TMS_E_CORRUPT"))
vec("metric_kind", "A metric kind 2: corrupt.",
    T.assemble([head(), framed(b"MTRC", b"\x01\x01m\x00\x02\x02")]),
    err("TMS_E_CORRUPT"))
vec("nul_meta_key", "A META key with a NUL byte: corrupt.",
    T.assemble([head(), framed(b"META", T.meta_payload([["a\0b", "v"]]))]),
    err("TMS_E_CORRUPT"))
vec("nul_head_text", "HEAD python_version with a NUL byte: corrupt.",
    T.assemble([head(dict(H, python_version="3.1\0"))]),
    err("TMS_E_CORRUPT"))


# ------------------------------------------- zstd details, skip-traces edges

PL2 = T.strs_payload(["hello", "world"])
TWO = snap(H, strings=["hello", "world"])


def zsec(tag, payload, stored):
    return T.frame_header(tag, 1, len(payload), stored) + stored


ZNC = zstandard.ZstdCompressor(write_content_size=False).compress(PL2)
vec("zstd_no_content_size", "A zstd frame without its content size "
    "(SHOULD carry it, not MUST): readers must accept it.",
    T.assemble([head(), zsec(b"STRS", PL2, ZNC)]), TWO)
WIN = bytearray(ZNC)
WIN[5] = (27 - 10) << 3  # window descriptor: window log 27
vec("zstd_window_27", "A zstd frame declaring window log 27 (the "
    "maximum allowed): readers must accept it.",
    T.assemble([head(), zsec(b"STRS", PL2, bytes(WIN))]), TWO)
WIN[5] = (28 - 10) << 3
vec("zstd_window_28", "A zstd frame declaring window log 28: decompress.",
    T.assemble([head(), zsec(b"STRS", PL2, bytes(WIN))]),
    err("TMS_E_DECOMPRESS"))
SKIPPABLE = b"\x50\x2a\x4d\x18" + struct.pack("<I", 3) + b"abc"
vec("zstd_skippable", "A skippable zstd frame before the real one: "
    "decompress (exactly one frame, not skippable).",
    T.assemble([head(), zsec(b"STRS", PL2, SKIPPABLE + ZNC)]),
    err("TMS_E_DECOMPRESS"))
vec("zstd_two_frames", "The payload split over two zstd frames: "
    "decompress.", T.assemble([head(), zsec(b"STRS", PL2, b"".join(
        zstandard.ZstdCompressor().compress(p) for p in (PL2[:3], PL2[3:])))]),
    err("TMS_E_DECOMPRESS"))
END_PL = T.varint(1) + b"HEAD" + T.varint(12)
END_Z = zstandard.ZstdCompressor().compress(END_PL)
vec("compressed_end", "The END index stored compressed (any section may "
    "be).", T.MAGIC + b"\x01\x00\x00\x00" + head()
    + zsec(b"END ", END_PL, END_Z) + struct.pack("<Q", 12 + len(head()))
    + T.END_MAGIC, snap(H))
vec("head_trailing", "A 1.0 file whose HEAD has bytes after "
    "writer_version: ignored whatever the minor (§4.1).",
    T.assemble([head(extra=b"xyz")]), snap(H))
vec("trcs_count0_shift5", "A TRCS of count 0 with shift 5 (writers SHOULD "
    "write 0; readers accept): traces [].",
    T.assemble([head(), framed(b"TRCS", b"\x00\x05")]), snap(H, traces=[]))
vec("magic_only", "Exactly the 8 magic bytes: truncated.", T.MAGIC,
    err("TMS_E_TRUNCATED"))
vec("preamble_major2_only", "12 bytes: magic and version 2.0, nothing "
    "else: version (checked before truncation, §6).",
    T.MAGIC + b"\x02\x00\x00\x00", err("TMS_E_VERSION"))
vec("unknown_truncated", "An unknown section whose stored_len runs past "
    "the end: truncated (§3.3 step 3).", T.MAGIC + b"\x01\x00\x00\x00"
    + head() + b"XXXX" + struct.pack("<IIII", 0, 0, 0xFFFFFFFF, 0) + b"abc",
    err("TMS_E_TRUNCATED"))
TRCS_PL = b"\x01\x00\x10\x01\x00"
vec("trcs_reserved_flags", "A TRCS with reserved flag bit 2: corrupt, "
    "also with skip-traces (steps 1-7 still apply).",
    T.assemble([head(), framed(b"TBKS", b"\x01\x00"),
                T.frame_header(b"TRCS", 4, 5, TRCS_PL) + TRCS_PL]),
    err("TMS_E_CORRUPT"))
vec("trcs_raw_len_mismatch", "A raw TRCS with raw_len 6 != stored_len 5: "
    "corrupt, also with skip-traces.",
    T.assemble([head(), framed(b"TBKS", b"\x01\x00"),
                T.frame_header(b"TRCS", 0, 6, TRCS_PL) + TRCS_PL]),
    err("TMS_E_CORRUPT"))
vec("limit_metric_name", "A metric name length of 2^21: limit.",
    T.assemble([head(), framed(b"MTRC", b"\x01" + T.varint(1 << 21)
                               + b"a")]), err("TMS_E_LIMIT"))
vec("limit_meta_value", "A META value length of 2^20+1: limit.",
    T.assemble([head(), framed(b"META", b"\x01\x01k"
                               + T.varint((1 << 20) + 1) + b"a")]),
    err("TMS_E_LIMIT"))
vec("string_max_short", "A string length of exactly 2^20 (allowed) in a "
    "short payload: corrupt, not limit.",
    T.assemble([head(), framed(b"STRS", b"\x01" + T.varint(1 << 20)
                               + b"a")]), err("TMS_E_CORRUPT"))


def write(outdir):
    os.makedirs(outdir, exist_ok=True)
    names = set()
    readme = [
        "# .tms conformance vectors",
        "",
        "Generated by `tests/format/make_vectors.py` with the reference "
        "encoder",
        "`tests/format/tms_ref.py` (written from `format/SPEC.md` alone, "
        "independent of",
        "libtms).  Each `NAME.tms` has a hand-written `NAME.json` beside it: "
        "the content",
        "a reader must decode, or `{\"error\": \"TMS_E_...\"}` (the libtms "
        "code of the",
        "error class, SPEC §6).  Regenerate: `python3 tests/format/"
        "make_vectors.py`.",
        "",
        "JSON: `header`, `strings`, `frames` ([filename id|null, "
        "lineno|null]),",
        "`tracebacks` (frame ids, most recent first), `traces` (null: the "
        "file has no",
        "TRCS, or traces were skipped; else [address, size, traceback id] in "
        "file order),",
        "`stats` ([frame id, size, count]), `metrics`, `meta` ([key, value]"
        " in file order);",
        "since 1.1 `functions` ([frame id, name string id], FNAM order) and "
        "`peak` ({size,",
        "recorded_size, recorded_ns, entries: [[traceback id, size, count]]"
        "}), each absent",
        "when the file has none; since 1.3 a trace outside domain 0 has a "
        "fourth item,",
        "its domain (DOMS): [address, size, traceback id, domain].",
        "Integers beyond +-2^53 are decimal strings; a string that is not "
        "valid UTF-8",
        "or holds a NUL is `{\"hex\": ...}`; a non-finite float metric is "
        "`value: null`",
        "plus `bits` (hex of the IEEE 754 binary64).  Loading with skip-"
        "traces must",
        "give the same result with `traces: null`; errors are unchanged "
        "except that",
        "`\"skip_traces\": \"may_skip\"` marks an error inside a TRCS "
        "payload, which a reader",
        "MAY skip unchecked (SPEC §3.3, R10), so loading may then succeed.",
        "",
        "| vector | expected | what it checks |",
        "|---|---|---|",
    ]
    for name, doc, data, expected in VECTORS:
        assert name not in names, name
        names.add(name)
        with open(os.path.join(outdir, name + ".tms"), "wb") as f:
            f.write(data)
        with open(os.path.join(outdir, name + ".json"), "w") as f:
            json.dump(expected, f, indent=1, ensure_ascii=False)
            f.write("\n")
        what = expected.get("error", "decodes")
        readme.append("| `%s` | %s | %s |" % (name, what, doc))
    with open(os.path.join(outdir, "README.md"), "w") as f:
        f.write("\n".join(readme) + "\n")


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    write(sys.argv[1] if len(sys.argv) > 1 else
          os.path.join(here, "..", "..", "format", "vectors"))
