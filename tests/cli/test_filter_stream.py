"""tmtool filter on files it has to stream: several trace chunks whose
address ranges overlap (as the tracer's streamed writes leave them),
dictionaries defined between chunks, domains, a peak, function names, and
a sampled file.  The input is built byte by byte with the reference
encoder (tests/format/tms_ref.py) and the output is read back with its
decoder; what the output must hold is computed here with CPython's own
tracemalloc.Filter and DomainFilter (Snapshot.filter_traces) on the
decoded input, and the stats are summed here by hand."""
import json
import os
import random
import subprocess
import sys
import tempfile
import tracemalloc
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "format"))
import tms_ref as T  # noqa: E402

TMTOOL = os.environ["TMTOOL"]
NUMPY = 389047
HEADER = dict(pid=77, timestamp_ns=1_700_000_000_000_000_000,
              traceback_limit=5, series_id="00112233445566778899aabbccddeeff",
              python_version="3.11.7", writer_name="tmtrace",
              writer_version="0.1.0")
FILES = ["app/main.py", "app/cache.py", "lib/json/decoder.py", "lib/util.py"]
NAMES = ["main", "get", "decode", "helper"]
NCHUNKS, PER_CHUNK = 3, 25_000


def build(sample_interval=0, repeat=None):
    """The input file's bytes and its trace list.  repeat=(i, j): trace j
    gets trace i's address (they land in different chunks)."""
    rnd = random.Random(15)
    strings = FILES + NAMES
    frames = [[f, line] for f in range(4) for line in (10, 11, 12)]
    late_frames = [[3, 40], [0, 50]]        # defined after the first chunk
    tbs = [[]]                               # 0: the empty traceback
    while len(tbs) < 31:                     # unique by value (§4.4)
        tb = rnd.sample(range(len(frames)), rnd.randint(1, 4))
        if tb not in tbs:
            tbs.append(tb)
    late_tbs = [[12, 0], [13], [13, 5, 2]]   # use the late frames
    n = NCHUNKS * PER_CHUNK
    traces = []
    for i in range(n):
        chunk = i % NCHUNKS
        ntb = len(tbs) + (len(late_tbs) if chunk else 0)
        tb = rnd.randrange(ntb)
        dom = NUMPY if rnd.random() < 0.05 else 0
        traces.append([0x100000 + 48 * i, rnd.randint(1, 5000), tb, dom])
    if repeat is not None:
        # trace i (most recent frame in app/main.py) and trace j (in
        # lib/json/decoder.py), both in domain 0, share an address
        i, j = repeat
        by_file = {frames[tb[0]][0]: k for k, tb in enumerate(tbs) if tb}
        traces[i][2:] = [by_file[0], 0]
        traces[j][2:] = [by_file[2], 0]
        traces[j][0] = traces[i][0]
    secs = [(b"HEAD", T.head_payload(HEADER))]
    if sample_interval:
        secs.append((b"SMPL", T.varint(sample_interval)))
    secs += [(b"STRS", T.strs_payload(strings)),
             (b"FRMS", T.frms_payload(frames)),
             (b"TBKS", T.tbks_payload(tbs)),
             (b"PEAK", T.peak_payload(
                 {"size": 900_000, "recorded_size": 800_000,
                  "recorded_ns": 5},
                 [[t, 1000 * t + 1, t + 1] for t in range(0, 31, 3)]))]
    for chunk in range(NCHUNKS):
        if chunk == 1:
            secs += [(b"FRMS", T.frms_payload(late_frames)),
                     (b"TBKS", T.tbks_payload(late_tbs))]
        part = sorted(traces[chunk::NCHUNKS])
        dm = T.doms_payload(part)
        if dm is not None:
            secs.append((b"DOMS", dm))
        secs.append((b"TRCS", T.trcs_payload(part)))
    secs += [(b"STAT", T.stat_payload([[0, 5, 1]])),
             (b"FNAM", T.fnam_payload([[f, 4 + f // 3]
                                       for f in range(0, 12, 2)])),
             (b"MTRC", T.mtrc_payload([{"name": "rss", "format": "size",
                                        "kind": "int", "value": 123}])),
             (b"META", T.meta_payload([["host", "ci"]]))]
    framed = [T.section(tag, p, compress=tag == b"TRCS") for tag, p in secs]
    return T.assemble(framed, minor=3), traces


def oracle_filters(spec):
    """tmtool's options and CPython's filters for the same rule."""
    args, flt = [], []
    for kind, pattern, *line in spec:
        if kind == "domain":
            args += ["--domain", str(pattern)]
            flt.append(tracemalloc.DomainFilter(True, pattern))
            continue
        args += [kind, pattern + (":%d" % line[0] if line else "")]
        flt.append(tracemalloc.Filter(kind in ("-i", "-I"), pattern,
                                      line[0] if line else None,
                                      all_frames=kind in ("-I", "-X")))
    return args, flt


def raw_frames(snap, tb):
    """A traceback as _tracemalloc gives it: most recent first; an empty
    one is one unknown frame, which tmtrace matches as file name ''."""
    frames = tuple((snap["strings"][snap["frames"][f][0]],
                    snap["frames"][f][1]) for f in snap["tracebacks"][tb])
    return frames or (("", 0),)


def expected(inp, flt):
    """What the filtered file must hold, from the decoded input."""
    raws = [(t[3] if len(t) > 3 else 0, t[1], raw_frames(inp, t[2]), 1)
            for t in inp["traces"]]
    snap = tracemalloc.Snapshot(raws, inp["header"]["traceback_limit"])
    kept_raw = set(id(r) for r in snap.filter_traces(flt).traces._traces)
    kept = [t for t, r in zip(inp["traces"], raws) if id(r) in kept_raw]
    # tmtrace's rule: the domain filter keeps a domain first, and its
    # stats are computed then (interning the unknown frame if needed)
    has_domain = any(isinstance(f, tracemalloc.DomainFilter) for f in flt)
    stage1 = ([t for t in inp["traces"]
               if (t[3] if len(t) > 3 else 0) == next(
                   f.domain for f in flt
                   if isinstance(f, tracemalloc.DomainFilter))]
              if has_domain else kept)
    frames = list(inp["frames"])
    if any(not inp["tracebacks"][t[2]] for t in stage1) and \
            [None, None] not in frames:
        frames.append([None, None])
    unknown = frames.index([None, None]) if [None, None] in frames else None
    return kept, frames, unknown, has_domain


def stats_bounds(kept, inp, unknown, interval):
    """Per most recent frame: (size lo, size hi, count lo, count hi); each
    sampled block stands for w = 1/(1 - exp(-size/I)) blocks, rounded down
    or up (SPEC §4.12)."""
    import math
    out = {}
    for t in kept:
        tb = inp["tracebacks"][t[2]]
        f = tb[0] if tb else unknown
        w = 1.0 if not interval else 1.0 / -math.expm1(-t[1] / interval)
        b = out.setdefault(f, [0, 0, 0, 0])
        b[0] += math.floor(t[1] * w)
        b[1] += math.ceil(t[1] * w)
        b[2] += math.floor(w)
        b[3] += math.ceil(w)
    return out


class FilterStreamTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()

    def tearDown(self):
        for name in os.listdir(self.dir):
            os.unlink(os.path.join(self.dir, name))
        os.rmdir(self.dir)

    def write_input(self, data, name="in.tms"):
        path = os.path.join(self.dir, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def run_filter(self, src, args, out="out.tms", stdin=None):
        out = os.path.join(self.dir, out)
        p = subprocess.run([TMTOOL, "filter", "--format", "json", src, "-o",
                            out] + args, capture_output=True, input=stdin)
        return p.returncode, p.stdout.decode(), p.stderr.decode(), out

    def check(self, spec, sample_interval=0, drop=False):
        data, _ = build(sample_interval)
        inp = T.decode(data)
        src = self.write_input(data)
        args, flt = oracle_filters(spec)
        if drop:
            args.append("--drop-traces")
        rc, so, err, out = self.run_filter(src, args)
        self.assertEqual(rc, 0, err)
        with open(out, "rb") as f:
            got = T.decode(f.read())
        kept, frames, unknown, has_domain = expected(inp, flt)
        self.assertGreater(len(kept), 1000)
        self.assertLess(len(kept), len(inp["traces"]))
        # the summary counts blocks as recorded
        doc = json.loads(so)
        self.assertEqual(doc["traces_before"], len(inp["traces"]))
        self.assertEqual(doc["traces_after"], len(kept))
        self.assertEqual(doc["size_before"], sum(t[1] for t in inp["traces"]))
        self.assertEqual(doc["size_after"], sum(t[1] for t in kept))
        self.assertEqual(doc["traces_written"], not drop)
        # everything but the traces, stats and peak is copied
        for k in ("pid", "timestamp_ns", "traceback_limit", "series_id",
                  "python_version"):
            self.assertEqual(got["header"][k], inp["header"][k], k)
        self.assertEqual(got["header"]["writer_name"], "tmtool")
        for k in ("strings", "tracebacks", "metrics", "meta",
                  "sample_interval"):
            self.assertEqual(got[k], inp[k], k)
        self.assertEqual(got["frames"], frames)
        self.assertEqual(sorted(got["functions"]), sorted(inp["functions"]))
        # the kept traces, domains included (order across chunks carries
        # no meaning, SPEC §4.5)
        if drop:
            self.assertIsNone(got["traces"])
        else:
            self.assertEqual(sorted(got["traces"]),
                             sorted(t if len(t) > 3 and t[3] else t[:3]
                                    for t in kept))
        # stats: one per most recent frame of the kept traces
        bounds = stats_bounds(kept, inp, unknown, sample_interval)
        self.assertEqual(sorted(s[0] for s in got["stats"]), sorted(bounds))
        for f, size, count in got["stats"]:
            lo, hi, clo, chi = bounds[f]
            self.assertTrue(lo <= size <= hi, (f, lo, size, hi))
            self.assertTrue(clo <= count <= chi, (f, clo, count, chi))
        if not sample_interval:
            self.assertEqual(sum(s[1] for s in got["stats"]),
                             sum(t[1] for t in kept))
        # the peak: its entries kept by their traceback, as traces are;
        # dropped with --domain (it has no domains)
        if has_domain:
            self.assertIsNone(got["peak"])
        else:
            keep_tb = [e for e in inp["peak"]["entries"]
                       if tracemalloc.Snapshot(
                           [(0, 1, raw_frames(inp, e[0]), 1)],
                           5).filter_traces(flt).traces._traces]
            self.assertEqual(got["peak"]["entries"], keep_tb)
            self.assertEqual(got["peak"]["size"], inp["peak"]["size"])
        return got

    def test_exclude_a_library(self):
        self.check([("-x", "*/json/*")])

    def test_include_and_exclude_a_line(self):
        self.check([("-i", "app/*"), ("-x", "app/cache.py", 12)])

    def test_any_frame(self):
        self.check([("-I", "lib/util.py")])

    def test_domain(self):
        self.check([("domain", NUMPY)])

    def test_domain_and_pattern(self):
        self.check([("domain", 0), ("-x", "*/json/*")])

    def test_sampled_file_keeps_estimates(self):
        got = self.check([("-x", "*/json/*")], sample_interval=4096)
        self.assertEqual(got["sample_interval"], 4096)

    def test_drop_traces(self):
        self.check([("-i", "app/*"), ("-x", "app/cache.py", 12)], drop=True)

    def test_repeated_address_is_refused(self):
        # trace 7 (chunk 1) takes trace 3's address (chunk 0); both are
        # kept, so the copy would hold one address twice (SPEC §4.5): the
        # file is refused whole, read from a file or from a pipe
        data, traces = build(repeat=(3, 7))
        src = self.write_input(data)
        for stdin in (None, data):
            rc, so, err, out = self.run_filter(
                src if stdin is None else "/dev/stdin", ["-x", "nothing*"],
                stdin=stdin)
            self.assertEqual(rc, 3, err)       # a bad file
            self.assertEqual(len(err.strip().splitlines()), 1, err)
            if stdin is None:
                self.assertIn("0x%x" % traces[3][0], err)
            self.assertFalse(os.path.exists(out))
            self.assertEqual(os.listdir(self.dir), ["in.tms"])

    def test_repeated_address_in_a_dropped_trace(self):
        # the copy holds trace 3 only: nothing repeats in it
        data, traces = build(repeat=(3, 7))
        src = self.write_input(data)
        rc, so, err, out = self.run_filter(src, ["-x", "lib/json/*"])
        self.assertEqual(rc, 0, err)
        with open(out, "rb") as f:
            got = T.decode(f.read())
        self.assertEqual([t[0] for t in got["traces"]].count(traces[3][0]), 1)


if __name__ == "__main__":
    unittest.main()
