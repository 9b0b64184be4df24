"""tms_ref -- an independent reference encoder/decoder for .tms 1.3.

Written from format/SPEC.md alone (not from src/tms/), so that where it and
libtms disagree, either the spec is ambiguous or one of them is wrong.
Section numbers in comments point into SPEC.md.

decode(data, skip_traces=False) -> dict in the "canonical" shape below,
or raises one TmsError subclass per error class (§6).
encode(snap, ...) -> bytes, from the same dict shape.

Canonical shape (also the JSON of format/vectors/*.json):
  header:     format_major, format_minor, pid, timestamp_ns, traceback_limit,
              series_id (32 hex digits), python_version, writer_name,
              writer_version
  strings:    [str]                       (UTF-8; surrogateescape if not)
  frames:     [[filename_id | None, lineno | None]]
  tracebacks: [[frame_id, ...]]           most recent first
  traces:     None (no TRCS, or skipped) | [[address, size, traceback_id]]
              a trace in a domain other than 0 (DOMS, 1.3) has a fourth
              item: [address, size, traceback_id, domain]
  stats:      [[frame_id, size, count]]
  metrics:    [{"name", "format": int|percent|size, "kind": int|float,
                "value"}]
  meta:       [[key, value]]              file order
  functions:  [[frame_id, name_id]]       FNAM entries in file order (1.1);
                                          absent when there are none
  peak:       {"size", "recorded_size", "recorded_ns",
               "entries": [[traceback_id, size, count]]}   (1.1);
                                          absent when the file has no PEAK
  sample_interval: int                    SMPL (1.2): mean bytes between
                                          sampled blocks; absent when the
                                          file has no SMPL (exact)

decode(data, minor10=True) reads as a 1.0 reader would: FNAM, PEAK and SMPL
are then unknown sections, skipped; decode(data, minor11=True) as a 1.1
reader would: SMPL is skipped; decode(data, minor12=True) as a 1.2 reader
would: DOMS is skipped and every trace is in domain 0.
"""

import struct
import zlib

import zstandard

MAGIC = b"\x89TMS\r\n\x1a\n"
END_MAGIC = b"\x89TMSEND\n"
MAJOR, MINOR = 1, 3
KNOWN_TAGS_10 = (b"HEAD", b"STRS", b"FRMS", b"TBKS", b"TRCS", b"STAT",
                 b"MTRC", b"META", b"END ")
KNOWN_TAGS_11 = KNOWN_TAGS_10 + (b"FNAM", b"PEAK")
KNOWN_TAGS_12 = KNOWN_TAGS_11 + (b"SMPL",)
KNOWN_TAGS = KNOWN_TAGS_12 + (b"DOMS",)
U32 = (1 << 32) - 1
MAX_SECTION = 1 << 28
MAX_STRING = 1 << 20
MAX_TB_LEN = 65535
TRACE_CHUNK = 65536
PEAK_CHUNK = 65536
MAX_IDS = (1 << 32) - 2
U64 = (1 << 64) - 1
FORMATS = ("int", "percent", "size")
KINDS = ("int", "float")


class TmsError(Exception):
    code = None  # the matching libtms tms_status name


class NotTms(TmsError): code = "TMS_E_NOT_TMS"  # noqa: E701
class Truncated(TmsError): code = "TMS_E_TRUNCATED"  # noqa: E701
class Corrupt(TmsError): code = "TMS_E_CORRUPT"  # noqa: E701
class Checksum(TmsError): code = "TMS_E_CHECKSUM"  # noqa: E701
class Decompress(TmsError): code = "TMS_E_DECOMPRESS"  # noqa: E701
class Version(TmsError): code = "TMS_E_VERSION"  # noqa: E701
class Limit(TmsError): code = "TMS_E_LIMIT"  # noqa: E701


# ---------------------------------------------------------------- encoding

def varint(v):
    if not 0 <= v <= U64:
        raise ValueError("varint out of range: %r" % v)
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def zigzag(n):
    return ((n << 1) ^ (n >> 63)) & U64


def unzigzag(u):
    return (u >> 1) ^ -(u & 1)


def bytes_v(b):
    return varint(len(b)) + b


def _b(s):
    if isinstance(s, dict):  # {"hex": ...}, see json_str()
        return bytes.fromhex(s["hex"])
    return s if isinstance(s, bytes) else s.encode("utf-8", "surrogateescape")


def _s(b):
    return b.decode("utf-8", "surrogateescape")


def frame_header(tag, flags, raw_len, stored):
    head = tag + struct.pack("<III", flags, raw_len, len(stored))
    return head + struct.pack("<I", zlib.crc32(head + stored))


def section(tag, payload, compress=False, level=3):
    """One framed section (§3): 20-byte header + stored bytes."""
    if compress:
        stored = zstandard.ZstdCompressor(level=level,
                                          write_content_size=True
                                          ).compress(payload)
        return frame_header(tag, 1, len(payload), stored) + stored
    return frame_header(tag, 0, len(payload), payload) + payload


def assemble(sections, major=MAJOR, minor=0):
    """File bytes from a list of framed sections (HEAD first, END excluded).

    minor defaults to 0 so that the 1.0 vectors built by hand stay
    byte-identical; 1.1 content passes minor=1.

    Adds the END index over every given section and the footer (§2.3, §4.9).
    """
    out = bytearray(MAGIC + struct.pack("<HH", major, minor))
    index = []
    for sec in sections:
        index.append((sec[:4], len(out)))
        out += sec
    end_off = len(out)
    payload = varint(len(index)) + b"".join(t + varint(o) for t, o in index)
    out += section(b"END ", payload)
    out += struct.pack("<Q", end_off) + END_MAGIC
    return bytes(out)


def head_payload(h, extra=b""):
    return (struct.pack("<qqI", int(h["pid"]), int(h["timestamp_ns"]),
                        h["traceback_limit"])
            + bytes.fromhex(h["series_id"]) + struct.pack("<I", 0)
            + b"".join(bytes([len(_b(h[k]))]) + _b(h[k]) for k in
                       ("python_version", "writer_name", "writer_version"))
            + extra)


def strs_payload(strings):
    return varint(len(strings)) + b"".join(bytes_v(_b(s)) for s in strings)


def frms_payload(frames):
    out = varint(len(frames))
    for fn, ln in frames:
        out += varint(0 if fn is None else fn + 1)
        out += varint(0 if ln is None else ln + 1)
    return out


def tbks_payload(tbs):
    return varint(len(tbs)) + b"".join(
        varint(len(tb)) + b"".join(varint(f) for f in tb) for tb in tbs)


def ctz(v):
    return (v & -v).bit_length() - 1


def trcs_payload(traces):
    """One chunk; traces must be sorted strictly ascending by address."""
    addrs = [t[0] for t in traces]
    acc = 0
    for a in addrs:
        acc |= a
    shift = ctz(acc) if acc else 0
    col, prev = [], 0
    for i, a in enumerate(addrs):
        col.append((a if i == 0 else a - prev) >> shift)
        prev = a
    return (varint(len(traces)) + varint(shift)
            + b"".join(varint(v) for v in col)
            + b"".join(varint(t[1]) for t in traces)
            + b"".join(varint(t[2]) for t in traces))


def doms_payload(traces):
    """DOMS (§4.13) for one sorted chunk, or None when all are domain 0."""
    ent = [(i, t[3]) for i, t in enumerate(traces)
           if len(t) > 3 and t[3] != 0]
    if not ent:
        return None
    col, prev = [], 0
    for i, _ in ent:
        col.append(i - prev)
        prev = i
    return (varint(len(ent)) + b"".join(varint(v) for v in col)
            + b"".join(varint(d) for _, d in ent))


def stat_payload(stats):
    return (varint(len(stats))
            + b"".join(varint(s[0]) for s in stats)
            + b"".join(varint(int(s[1])) for s in stats)
            + b"".join(varint(int(s[2])) for s in stats))


def fnam_payload(functions):
    return (varint(len(functions))
            + b"".join(varint(f) for f, _ in functions)
            + b"".join(varint(n) for _, n in functions))


def peak_payload(peak, entries):
    """One PEAK section (§4.11): the summary, then these entries."""
    return (varint(int(peak["size"])) + varint(int(peak["recorded_size"]))
            + varint(zigzag(int(peak["recorded_ns"]))) + varint(len(entries))
            + b"".join(varint(e[0]) for e in entries)
            + b"".join(varint(int(e[1])) for e in entries)
            + b"".join(varint(int(e[2])) for e in entries))


def metric_value(m):
    if m["kind"] == "int":
        return varint(zigzag(int(m["value"])))
    if m.get("bits") is not None:  # exact bit pattern (NaN payloads)
        bits = m["bits"]
        return struct.pack("<Q", int(bits, 16) if isinstance(bits, str)
                           else bits)
    return struct.pack("<d", m["value"])


def mtrc_payload(metrics):
    return varint(len(metrics)) + b"".join(
        bytes_v(_b(m["name"])) + bytes([FORMATS.index(m["format"]),
                                        KINDS.index(m["kind"])])
        + metric_value(m) for m in metrics)


def meta_payload(meta):
    return varint(len(meta)) + b"".join(
        bytes_v(_b(k)) + bytes_v(_b(v)) for k, v in meta)


def encode(snap, compress=(), chunk=TRACE_CHUNK, minor=None, major=MAJOR,
           extra=(), head_extra=b"", peak_chunk=PEAK_CHUNK):
    """Encode a canonical snapshot dict.

    compress: tags (bytes) to store zstd-compressed.  chunk: traces per TRCS,
    peak_chunk: entries per PEAK.  minor: the header's format_minor unless
    given.  extra: (after_tag, framed_section) pairs inserted after the first
    section with that tag (for unknown sections).
    """
    if minor is None:
        minor = snap["header"].get("format_minor", MINOR)
    c = set(compress)
    secs = [(b"HEAD", head_payload(snap["header"], head_extra))]
    if snap.get("sample_interval"):
        secs.append((b"SMPL", varint(int(snap["sample_interval"]))))
    tables = [(b"STRS", "strings", strs_payload),
              (b"FRMS", "frames", frms_payload),
              (b"FNAM", "functions", fnam_payload),
              (b"TBKS", "tracebacks", tbks_payload),
              (b"PEAK", "peak", None), (b"TRCS", "traces", None),
              (b"STAT", "stats", stat_payload),
              (b"MTRC", "metrics", mtrc_payload),
              (b"META", "meta", meta_payload)]
    for tag, key, fn in tables:
        if tag == b"TRCS" and snap.get("traces") is not None:
            tr = sorted([int(t[0]), int(t[1])] + list(t[2:])
                        for t in snap["traces"])
            for i in range(0, max(len(tr), 1), chunk):
                dm = doms_payload(tr[i:i + chunk])
                if dm is not None:
                    secs.append((b"DOMS", dm))
                secs.append((tag, trcs_payload(tr[i:i + chunk])))
        elif tag == b"PEAK" and snap.get("peak") is not None:
            ents = snap["peak"]["entries"]
            for i in range(0, max(len(ents), 1), peak_chunk):
                secs.append((tag, peak_payload(snap["peak"],
                                               ents[i:i + peak_chunk])))
        elif fn and snap.get(key):
            secs.append((tag, fn(snap[key])))
    framed = []
    for tag, payload in secs:
        framed.append(section(tag, payload, compress=tag in c))
        for after, sec in extra:
            if after == tag:
                framed.append(sec)
    return assemble(framed, major=major, minor=minor)


# ---------------------------------------------------------------- decoding

class Payload:
    """A cursor over one known section's payload; running out is corrupt."""

    def __init__(self, data, tag):
        self.d, self.p, self.tag = data, 0, tag.decode("latin-1")

    def left(self):
        return len(self.d) - self.p

    def take(self, n):
        if n > self.left():
            raise Corrupt("%s: payload ends inside a field" % self.tag)
        b = self.d[self.p:self.p + n]
        self.p += n
        return b

    def u8(self):
        return self.take(1)[0]

    def varint(self):  # §1.2
        v = shift = 0
        for i in range(10):
            if self.p >= len(self.d):
                raise Corrupt("%s: varint runs past the payload" % self.tag)
            b = self.d[self.p]
            self.p += 1
            if i == 9 and b > 1:
                raise Corrupt("%s: varint overflows 64 bits" % self.tag)
            v |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                if i > 0 and b == 0:
                    raise Corrupt("%s: overlong varint" % self.tag)
                return v
        raise Corrupt("%s: varint longer than 10 bytes" % self.tag)

    def count(self, min_entry, limit=None):
        """A count checked against the limit, then against bytes left."""
        n = self.varint()
        if limit is not None and n > limit:
            raise Limit("%s: count %d exceeds %d" % (self.tag, n, limit))
        if n * min_entry > self.left():
            raise Corrupt("%s: count %d exceeds payload" % (self.tag, n))
        return n

    def bytes_v(self, limit=MAX_STRING, no_nul=False):
        n = self.varint()
        if n > limit:
            raise Limit("%s: length %d exceeds %d" % (self.tag, n, limit))
        b = self.take(n)
        if no_nul and b"\0" in b:
            raise Corrupt("%s: NUL byte in a text field" % self.tag)
        return b

    def end(self):
        if self.left():
            raise Corrupt("%s: %d bytes after the last field"
                          % (self.tag, self.left()))


class Source:
    def __init__(self, data):
        self.d, self.p = data, 0

    def left(self):
        return len(self.d) - self.p


def decompress(stored, raw_len):  # §3.2, step 9
    if stored[:4] != b"\x28\xb5\x2f\xfd":
        raise Decompress("not a zstd frame")
    try:
        params = zstandard.get_frame_parameters(stored)
        if params.dict_id:
            raise Decompress("zstd frame uses a dictionary")
        if params.window_size > (1 << 27):
            raise Decompress("zstd window too large")
        dobj = zstandard.ZstdDecompressor().decompressobj()
        out = dobj.decompress(stored)
        if not dobj.eof:
            raise Decompress("zstd frame is incomplete")
        if dobj.unused_data:
            raise Decompress("bytes after the zstd frame")
    except zstandard.ZstdError as e:
        raise Decompress("zstd: %s" % e)
    if len(out) != raw_len:
        raise Decompress("decompressed %d bytes, expected %d"
                         % (len(out), raw_len))
    return out


def decode(data, skip_traces=False, minor10=False, minor11=False,
           minor12=False):
    data = bytes(data)
    # Preamble (§6 order of checks).
    if data[:8] != MAGIC[:len(data[:8])]:
        raise NotTms("bad magic")
    if len(data) < 12:
        raise Truncated("file ends inside the preamble")
    major, minor = struct.unpack_from("<HH", data, 8)
    if major != MAJOR:
        raise Version("written by format %d.%d, this reader supports %d.x"
                      % (major, minor, MAJOR))
    snap = {"header": None, "strings": [], "frames": [], "tracebacks": [],
            "traces": None, "stats": [], "metrics": [], "meta": [],
            "functions": [], "peak": None, "sample_interval": None}
    st = _State()
    known = (KNOWN_TAGS_10 if minor10 else KNOWN_TAGS_11 if minor11
             else KNOWN_TAGS_12 if minor12 else KNOWN_TAGS)
    src = Source(data)
    src.p = 12
    index = []
    while True:
        off = src.p
        if src.left() < 20:  # step 1
            raise Truncated("file ends inside a section header")
        tag, flags, raw_len, stored_len, crc = struct.unpack_from(
            "<4sIIII", data, off)
        first = off == 12
        if first != (tag == b"HEAD"):  # step 2
            raise Corrupt("HEAD must be the first section and only there")
        src.p += 20
        if st.doms is not None and tag != b"TRCS":
            raise Corrupt("DOMS not followed by a TRCS section")  # §4.13
        if tag not in known:  # step 3
            if src.left() < stored_len:
                raise Truncated("file ends inside unknown section %r" % tag)
            src.p += stored_len
            index.append((tag, off))
            continue
        if flags & ~1:  # step 4
            raise Corrupt("reserved flag bits set")
        if raw_len > MAX_SECTION or stored_len > MAX_SECTION:  # step 5
            raise Limit("section larger than 2^28 bytes")
        if not flags & 1 and stored_len != raw_len:  # step 6
            raise Corrupt("raw section with stored_len != raw_len")
        if src.left() < stored_len:  # step 7
            raise Truncated("file ends inside section %r" % tag)
        stored = data[src.p:src.p + stored_len]
        src.p += stored_len
        if tag in (b"TRCS", b"STAT", b"PEAK"):
            st.sizes_seen = True  # SMPL must come before these (§4.12)
        if tag in (b"TRCS", b"DOMS") and skip_traces:
            st.doms = [] if tag == b"DOMS" else None
            index.append((tag, off))
            continue
        if zlib.crc32(data[off:off + 16] + stored) != crc:  # step 8
            raise Checksum("section %r: checksum mismatch" % tag)
        payload = decompress(stored, raw_len) if flags & 1 else stored
        pl = Payload(payload, tag)
        if tag == b"END ":
            _end(pl, index)
            return _footer(data, src, off, snap)
        index.append((tag, off))
        _PARSERS[tag](pl, snap, st)  # step 10
        if tag == b"HEAD":
            snap["header"].update(format_major=major, format_minor=minor)
        else:
            pl.end()


class _State:
    def __init__(self):
        self.strs, self.frms, self.tbks = {}, {}, {}
        self.stat_frames, self.metric_names, self.meta_keys = (set(), set(),
                                                               set())
        self.fnam_frames, self.peak_tbs = set(), set()
        self.sizes_seen = False
        self.doms = None  # a DOMS's [(position, domain)] awaiting its TRCS


def _text(pl):
    n = pl.u8()
    b = pl.take(n)
    if b"\0" in b:
        raise Corrupt("HEAD: NUL in a text field")
    return _s(b)


def _head(pl, snap, st):
    fixed = pl.take(40)
    pid, ts, tbl = struct.unpack_from("<qqI", fixed, 0)
    snap["header"] = {
        "format_major": None, "format_minor": None, "pid": pid,
        "timestamp_ns": ts, "traceback_limit": tbl,
        "series_id": fixed[20:36].hex(),
        "python_version": _text(pl), "writer_name": _text(pl),
        "writer_version": _text(pl)}
    # bytes after writer_version are ignored (§4.1)


def _need(cond, msg):
    if not cond:
        raise Corrupt(msg)


def _strs(pl, snap, st):
    n = pl.count(1)
    for _ in range(n):
        b = pl.bytes_v()
        _need(b not in st.strs, "STRS: duplicate string %r" % b)
        if len(st.strs) >= MAX_IDS:
            raise Limit("too many strings")
        st.strs[b] = len(st.strs)
        snap["strings"].append(_s(b))


def _frms(pl, snap, st):
    n = pl.count(2)
    for _ in range(n):
        fn, ln = pl.varint(), pl.varint()
        _need(fn <= len(st.strs), "FRMS: undefined string id %d" % (fn - 1))
        _need(ln <= 1 << 31, "FRMS: lineno out of range")
        key = (fn, ln)
        _need(key not in st.frms, "FRMS: duplicate frame")
        if len(st.frms) >= MAX_IDS:
            raise Limit("too many frames")
        st.frms[key] = len(st.frms)
        snap["frames"].append([fn - 1 if fn else None, ln - 1 if ln else None])


def _tbks(pl, snap, st):
    n = pl.count(1)
    for _ in range(n):
        ln = pl.varint()
        if ln > MAX_TB_LEN:
            raise Limit("TBKS: traceback of %d frames" % ln)
        _need(ln <= pl.left(), "TBKS: traceback length exceeds payload")
        tb = tuple(pl.varint() for _ in range(ln))
        _need(all(f < len(st.frms) for f in tb), "TBKS: undefined frame id")
        _need(tb not in st.tbks, "TBKS: duplicate traceback")
        if len(st.tbks) >= MAX_IDS:
            raise Limit("too many tracebacks")
        st.tbks[tb] = len(st.tbks)
        snap["tracebacks"].append(list(tb))


def _trcs(pl, snap, st):
    count = pl.varint()
    if count > TRACE_CHUNK:
        raise Limit("TRCS: %d traces in one chunk" % count)
    shift = pl.varint()
    _need(shift <= 63, "TRCS: shift > 63")
    _need(count * 3 <= pl.left(), "TRCS: count exceeds payload")
    addr = [pl.varint() for _ in range(count)]
    size = [pl.varint() for _ in range(count)]
    tb = [pl.varint() for _ in range(count)]
    out = snap["traces"] if snap["traces"] is not None else []
    a = 0
    for i in range(count):
        _need(addr[i] <= U64 >> shift, "TRCS: shifted address overflows")
        _need(i == 0 or addr[i] != 0, "TRCS: addresses not ascending")
        a = (addr[i] << shift) if i == 0 else a + (addr[i] << shift)
        _need(a <= U64, "TRCS: address sum overflows")
        _need(tb[i] < len(st.tbks), "TRCS: undefined traceback id")
        out.append([a, size[i], tb[i]])
    base = len(out) - count
    for pos, dom in st.doms or ():
        _need(pos < count, "DOMS: position beyond its chunk")
        out[base + pos].append(dom)
    st.doms = None
    snap["traces"] = out


def _doms(pl, snap, st):
    n = pl.varint()
    if n > TRACE_CHUNK:
        raise Limit("DOMS: %d entries" % n)
    _need(n > 0, "DOMS: no entry")
    _need(n * 2 <= pl.left(), "DOMS: count exceeds payload")
    col = [pl.varint() for _ in range(n)]
    dom = [pl.varint() for _ in range(n)]
    pos, ent = 0, []
    for i in range(n):
        _need(i == 0 or col[i] != 0, "DOMS: positions not ascending")
        pos += col[i]
        _need(pos < TRACE_CHUNK, "DOMS: position beyond a chunk")
        _need(1 <= dom[i] <= U32, "DOMS: domain not in 1..2^32-1")
        ent.append((pos, dom[i]))
    st.doms = ent


def _stat(pl, snap, st):
    n = pl.count(3)
    fr = [pl.varint() for _ in range(n)]
    sz = [pl.varint() for _ in range(n)]
    ct = [pl.varint() for _ in range(n)]
    for i in range(n):
        _need(fr[i] < len(st.frms), "STAT: undefined frame id")
        _need(fr[i] not in st.stat_frames, "STAT: duplicate frame")
        st.stat_frames.add(fr[i])
        snap["stats"].append([fr[i], sz[i], ct[i]])


def _mtrc(pl, snap, st):
    n = pl.count(4)
    for _ in range(n):
        name = pl.bytes_v(no_nul=True)
        fmt, kind = pl.u8(), pl.u8()
        _need(fmt < 3, "MTRC: unknown format %d" % fmt)
        _need(kind < 2, "MTRC: unknown kind %d" % kind)
        m = {"name": _s(name), "format": FORMATS[fmt], "kind": KINDS[kind]}
        if kind == 0:
            m["value"] = unzigzag(pl.varint())
        else:
            raw = pl.take(8)
            m["value"] = struct.unpack("<d", raw)[0]
            m["bits"] = struct.unpack("<Q", raw)[0]
        _need(name not in st.metric_names, "MTRC: duplicate name")
        st.metric_names.add(name)
        snap["metrics"].append(m)


def _meta(pl, snap, st):
    n = pl.count(2)
    for _ in range(n):
        k = pl.bytes_v(no_nul=True)
        v = pl.bytes_v(no_nul=True)
        _need(k not in st.meta_keys, "META: duplicate key")
        st.meta_keys.add(k)
        snap["meta"].append([_s(k), _s(v)])


def _fnam(pl, snap, st):
    n = pl.count(2)
    fr = [pl.varint() for _ in range(n)]
    nm = [pl.varint() for _ in range(n)]
    for i in range(n):
        _need(fr[i] < len(st.frms), "FNAM: undefined frame id")
        _need(nm[i] < len(st.strs), "FNAM: undefined string id")
        _need(fr[i] not in st.fnam_frames, "FNAM: frame named twice")
        st.fnam_frames.add(fr[i])
        snap["functions"].append([fr[i], nm[i]])


def _peak(pl, snap, st):
    size, rec, ns = pl.varint(), pl.varint(), unzigzag(pl.varint())
    _need(rec <= size, "PEAK: recorded_size > peak_size")
    n = pl.count(3, PEAK_CHUNK)
    tb = [pl.varint() for _ in range(n)]
    sz = [pl.varint() for _ in range(n)]
    ct = [pl.varint() for _ in range(n)]
    pk = snap["peak"]
    if pk is None:
        pk = snap["peak"] = {"size": size, "recorded_size": rec,
                             "recorded_ns": ns, "entries": []}
    _need((pk["size"], pk["recorded_size"], pk["recorded_ns"]) ==
          (size, rec, ns), "PEAK: sections disagree on the summary")
    for i in range(n):
        _need(tb[i] < len(st.tbks), "PEAK: undefined traceback id")
        _need(tb[i] not in st.peak_tbs, "PEAK: duplicate traceback")
        st.peak_tbs.add(tb[i])
        pk["entries"].append([tb[i], sz[i], ct[i]])


def _smpl(pl, snap, st):
    _need(snap["sample_interval"] is None, "SMPL: a second SMPL section")
    _need(not st.sizes_seen, "SMPL: after a TRCS, STAT or PEAK section")
    v = pl.varint()
    _need(v > 0, "SMPL: sampling interval 0")
    snap["sample_interval"] = v


_PARSERS = {b"HEAD": _head, b"STRS": _strs, b"FRMS": _frms, b"TBKS": _tbks,
            b"TRCS": _trcs, b"STAT": _stat, b"MTRC": _mtrc, b"META": _meta,
            b"FNAM": _fnam, b"PEAK": _peak, b"SMPL": _smpl,
            b"DOMS": _doms}


def _end(pl, index):
    n = pl.count(5)
    got = []
    for _ in range(n):
        got.append((pl.take(4), pl.varint()))
    pl.end()
    _need(got == index, "END: index does not match the sections read")


def _footer(data, src, end_off, snap):
    if src.left() < 16:
        raise Truncated("file ends inside the footer")
    off, magic = struct.unpack_from("<Q8s", data, src.p)
    _need(magic == END_MAGIC, "bad footer magic")
    _need(off == end_off, "footer end_offset does not point at END")
    _need(src.left() == 16, "bytes after the footer")
    return snap


# ---------------------------------------------------------------- comparing

BIG = 1 << 53


def json_str(s):
    """A STRS string as JSON: text, or {"hex": ...} when it is not valid
    UTF-8 or holds a NUL (cJSON strings are C strings)."""
    b = _b(s)
    try:
        if b"\0" not in b:
            return b.decode("utf-8")
    except UnicodeDecodeError:
        pass
    return {"hex": b.hex()}


def to_json(snap):
    """The canonical dict in JSON form: integers beyond +-2^53 become
    decimal strings (cJSON holds numbers as doubles), float metrics lose
    their "bits" unless the value is not finite."""
    def n(v):
        return str(v) if v is not None and abs(v) > BIG else v
    if "error" in snap:
        return snap
    h = dict(snap["header"])
    h["pid"], h["timestamp_ns"] = n(h["pid"]), n(h["timestamp_ns"])
    out = {"header": h, "strings": [json_str(s) for s in snap["strings"]],
           "frames": [list(f) for f in snap["frames"]],
           "tracebacks": [list(t) for t in snap["tracebacks"]],
           "traces": None if snap["traces"] is None else
           [[n(t[0]), n(t[1])] + list(t[2:]) for t in snap["traces"]],
           "stats": [[f, n(s), n(c)] for f, s, c in snap["stats"]],
           "metrics": [], "meta": [list(m) for m in snap["meta"]]}
    if snap.get("functions"):
        out["functions"] = [list(f) for f in snap["functions"]]
    if snap.get("sample_interval") is not None:
        out["sample_interval"] = n(snap["sample_interval"])
    pk = snap.get("peak")
    if pk is not None:
        out["peak"] = {"size": n(pk["size"]),
                       "recorded_size": n(pk["recorded_size"]),
                       "recorded_ns": n(pk["recorded_ns"]),
                       "entries": [[t, n(s), n(c)] for t, s, c in
                                   pk["entries"]]}
    for m in snap["metrics"]:
        m = dict(m)
        if m["kind"] == "int":
            m["value"] = n(m["value"])
            m.pop("bits", None)
        else:
            v = m["value"]
            if v != v or v in (float("inf"), float("-inf")):
                m["value"] = None
                m["bits"] = "%016x" % (m["bits"] if "bits" in m else
                                       struct.unpack("<Q",
                                                     struct.pack("<d", v))[0])
            else:
                m.pop("bits", None)
        out["metrics"].append(m)
    return out
