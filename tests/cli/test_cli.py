"""tmtool end to end, on the built binary (env TMTOOL).

Snapshots of known contents are built with mksnap (env MKSNAP) from specs
written here; every expected number is computed here with plain dicts
from the same traces, never taken from tmtool's output.  Stdlib only."""
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pep454_oracle import group_traces  # noqa: E402

TMTOOL = os.environ["TMTOOL"]
MKSNAP = os.environ["MKSNAP"]
SRC = os.environ.get("TM_SOURCE_ROOT",
                     os.path.join(os.path.dirname(__file__), "..", ".."))
SERIES = "00112233445566778899aabbccddeeff"
OTHER_SERIES = "ffeeddccbbaa99887766554433221100"

# Traces: (address, size, [(filename, lineno), ...] most recent first).
# None is an unknown filename / line.
BASE = [
    (0x1000, 100, [("/home/u/proj/pkg/mod.py", 12), ("/home/u/proj/main.py", 3)]),
    (0x1040, 300, [("/home/u/proj/pkg/mod.py", 12), ("/home/u/proj/main.py", 4)]),
    (0x1080, 5000, [("/home/u/proj/pkg/big.py", 7), ("/home/u/proj/main.py", 3)]),
    (0x10c0, 40, []),
    (0x1100, 64, [("/home/u/proj/pkg/mod.pyc", 20), ("/home/u/proj/pkg/mod.py", 12),
                  ("/home/u/proj/main.py", 3)]),
    (0x1140, 64, [("/home/u/proj/pkg/mod.pyc", 20), ("/home/u/proj/main.py", 9)]),
    (0x1180, 1 << 20, [("/usr/lib/python3.11/json/decoder.py", 353),
                       ("/home/u/proj/main.py", 9)]),
    (0x11c0, 700, [("util.py", None), ("/home/u/proj/main.py", 9)]),
]
GROWN = [t for t in BASE if t[0] != 0x1000] + [
    (0x2000, 3 << 20, [("/home/u/proj/pkg/leak.py", 5), ("/home/u/proj/main.py", 9)]),
    (0x2040, 2 << 20, [("/home/u/proj/pkg/leak.py", 5), ("/home/u/proj/main.py", 9)]),
    (0x2080, 10, [("/home/u/proj/pkg/mod.py", 12), ("/home/u/proj/main.py", 3)]),
]
METRICS_A = [("gc.objects", "int", "i", 1000), ("process_memory.rss", "size", "i", 10 << 20),
             ("pymalloc.fragmentation", "percent", "f", 0.25)]
METRICS_B = [("gc.objects", "int", "i", 1500), ("process_memory.rss", "size", "i", 16 << 20),
             ("pymalloc.fragmentation", "percent", "f", 0.125)]


# ---- the independent model ------------------------------------------------

def frame_key(fr):
    return fr if fr else (None, None)


def group(traces, by="line", cumulative=False, limit=5):
    """{key: [size, count]} with PEP 454 top_by's rules (the tests' one
    oracle, tests/pep454_oracle.py)."""
    return {k: list(v) for k, v in
            group_traces(traces, by, cumulative, limit).items()}


def sort_key_value(by, key):
    if by == "line":
        return (key[0] or "", key[1] or 0)
    if by == "filename":
        return key or ""
    if by == "traceback":
        return tuple((f[0] or "", f[1] or 0) for f in key)
    return key


def diff(old, new, by):
    rows = []
    if old is None:     # compare_to(None): every difference is 0
        rows = [(0, size, 0, count, k) for k, (size, count) in new.items()]
        old = {}
        new = {}
    old = dict(old)
    for k, (size, count) in new.items():
        o = old.pop(k, [0, 0])
        rows.append((size - o[0], size, count - o[1], count, k))
    for k, (size, count) in old.items():
        rows.append((-size, 0, -count, 0, k))
    rows.sort(key=lambda r: (abs(r[0]), r[1], abs(r[2]), r[3],
                             sort_key_value(by, r[4])), reverse=True)
    return rows


def fmt_size(size, sign=False):
    """CPython tracemalloc's _format_size."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 100 and unit != "B":
            return ("%+.1f %s" if sign else "%.1f %s") % (size, unit)
        if abs(size) < 10 * 1024 or unit == "TiB":
            return ("%+.0f %s" if sign else "%.0f %s") % (size, unit)
        size /= 1024


def fnmatch_py(pattern, filename):
    def norm(s):
        return s[:-1] if s.endswith((".pyc", ".pyo")) else s
    rx = ".*".join(re.escape(p) for p in norm(pattern).split("*"))
    return re.fullmatch(rx, norm(filename or ""), re.S) is not None


def keep(filters, tb, limit=5):
    frames = [tuple(f) for f in tb] or [(None, None)]

    def match(f):
        inc, pat, lineno, every = f
        cands = frames if (every and limit >= 2) else frames[:1]
        return any(fnmatch_py(pat, fn) and (lineno is None or lineno < 1 or ln == lineno)
                   for fn, ln in cands)
    if any(match(f) for f in filters if not f[0]):
        return False
    incs = [f for f in filters if f[0]]
    return not incs or any(match(f) for f in incs)


# ---- helpers ---------------------------------------------------------------

def spec(traces, ts, series=SERIES, metrics=(), with_traces=True, limit=5):
    lines = ["header 4242 %d %d %s" % (ts, limit, series)]
    if with_traces:
        for addr, size, tb in traces:
            fr = ";".join("%s:%s" % (f or "?", "?" if l is None else l)
                          for f, l in tb) or "-"
            lines.append("trace %#x %d %s" % (addr, size, fr))
    for (f, l), (size, count) in group(traces).items():
        lines.append("stat %s:%s %d %d" % (f or "?", "?" if l is None else l, size, count))
    for m in metrics:
        lines.append("metric %s %s %s %s" % m)
    return "\n".join(lines) + "\n"


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def run(*args, env=None, stdin=None):
    p = subprocess.run([TMTOOL] + [str(a) for a in args], capture_output=True,
                       text=True, env=env, input=stdin)
    return p.returncode, p.stdout, p.stderr


def jrun(*args):
    rc, out, err = run(*args, "--format", "json")
    assert rc in (0, 1), (rc, err)
    doc = json.loads(out)
    assert doc["schema_version"] == 1
    return rc, doc


def key_of(by, e):
    if by == "line":
        return (e["filename"], e["lineno"])
    if by == "filename":
        return e["filename"]
    if by == "traceback":
        return tuple((f["filename"], f["lineno"]) for f in e["traceback"])
    return int(e["address"], 16)


class CliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="tmtool-test-")
        cls.a = cls.make("a.tms", BASE, 1700000000 * 10**9, metrics=METRICS_A)
        cls.b = cls.make("b.tms", GROWN, 1700000060 * 10**9, metrics=METRICS_B)
        cls.c = cls.make("c.tms", GROWN[:5], 1700000120 * 10**9)
        cls.nt = cls.make("nt.tms", BASE, 1700000000 * 10**9, with_traces=False)
        cls.other = cls.make("other.tms", BASE[:3], 1700000030 * 10**9,
                             series=OTHER_SERIES)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir)

    @classmethod
    def make(cls, name, traces, ts, **kw):
        path = os.path.join(cls.dir, name)
        p = subprocess.run([MKSNAP, path], input=spec(traces, ts, **kw), text=True,
                           capture_output=True)
        if p.returncode != 0:
            raise RuntimeError("mksnap failed: " + p.stderr)
        return path

    def bad(self, path, data):
        full = os.path.join(self.dir, path)
        with open(full, "wb") as f:
            f.write(data)
        return full

    def assert_one_error_line(self, err, *words):
        lines = err.splitlines()
        self.assertEqual(len(lines), 1, err)
        self.assertTrue(lines[0].startswith("tmtool: "), err)
        self.assertFalse(lines[0].endswith("."), err)
        self.assertEqual(lines[0][8], lines[0][8].lower(), err)
        for w in words:
            self.assertIn(w, lines[0])

    # ---- top ----
    def check_top(self, by, cumulative=False, count=10, path=None, traces=BASE):
        args = ["top", path or self.a, "--group-by", by, "-n", count]
        if cumulative:
            args.append("--cumulative")
        rc, doc = jrun(*args)
        self.assertEqual(rc, 0)
        (rep,) = doc["reports"]
        want = diff(None, group(traces, by, cumulative), by)
        got = [(e["size_diff"], e["size"], e["count_diff"], e["count"], key_of(by, e))
               for e in rep["entries"]]
        self.assertEqual(got, want[:count])
        rest = want[count:]
        self.assertEqual(rep["rest"]["entries"], len(rest))
        self.assertEqual(rep["rest"]["size"], sum(r[1] for r in rest))
        self.assertEqual(rep["total"]["size"], sum(t[1] for t in traces))
        self.assertEqual(rep["total"]["count"], len(traces))
        return rep

    def test_top_by_line(self):
        self.check_top("line")
        self.check_top("line", count=3)

    def test_top_by_filename_traceback_address(self):
        self.check_top("filename")
        self.check_top("traceback", count=4)
        self.check_top("address", count=5)

    def test_top_cumulative(self):
        self.check_top("line", cumulative=True)
        self.check_top("filename", cumulative=True)

    def test_top_stats_only_file(self):
        self.check_top("line", path=self.nt)
        rc, out, err = run("top", self.nt, "--group-by", "traceback")
        self.assertEqual(rc, 2)
        self.assert_one_error_line(err, "nt.tms")

    def test_top_text_matches_model(self):
        rc, out, err = run("top", self.a, "-n", 3, "--no-metrics")
        self.assertEqual((rc, err), (0, ""))
        lines = out.splitlines()
        self.assertIn("Top 3 allocations per filename and line number", lines[0])
        want = diff(None, group(BASE), "line")
        (_, size, _, count, (fn, ln)) = want[0]
        self.assertEqual(lines[1], "#1: .../%s:%s: size=%s, count=%d" % (
            "/".join(fn.split("/")[-3:]), ln, fmt_size(size), count))
        rest = want[3:]
        self.assertTrue(lines[4].startswith("%d more: size=%s, count=%d" % (
            len(rest), fmt_size(sum(r[1] for r in rest)), sum(r[3] for r in rest))), lines[4])
        total = sum(t[1] for t in BASE)
        self.assertEqual(lines[5], "Total: size=%s, count=%d, average=%s" % (
            fmt_size(total), len(BASE), fmt_size(total // len(BASE))))
        # hidden columns and filename parts
        rc, out, _ = run("top", self.a, "-n", 1, "--no-count", "--no-average",
                         "--filename-parts", 1, "--no-metrics")
        self.assertEqual(out.splitlines()[1], "#1: .../decoder.py:353: %s" % fmt_size(1 << 20))

    def test_top_metrics(self):
        rc, out, _ = run("top", self.a, "--metrics")
        self.assertIn("gc.objects: 1000", out)
        self.assertIn("process_memory.rss: %s" % fmt_size(10 << 20), out)
        self.assertIn("pymalloc.fragmentation: 25.0%", out)
        rc, out, _ = run("top", self.a, "--no-metrics")
        self.assertNotIn("gc.objects", out)

    def test_top_series_each_against_previous(self):
        # given out of order: tmtool puts them in time order
        rc, doc = jrun("top", self.c, self.a, self.b, "--count", 0)
        self.assertEqual(rc, 0)
        files = [os.path.basename(r["file"]) for r in doc["reports"]]
        self.assertEqual(files, ["a.tms", "b.tms", "c.tms"])
        self.assertIsNone(doc["reports"][0]["previous"])
        for rep, old, new in ((doc["reports"][1], BASE, GROWN),
                              (doc["reports"][2], GROWN, GROWN[:5])):
            want = diff(group(old), group(new), "line")
            got = [(e["size_diff"], e["size"], e["count_diff"], e["count"],
                    key_of("line", e)) for e in rep["entries"]]
            self.assertEqual(got, want)

    def test_top_other_series_needs_merge(self):
        rc, out, err = run("top", self.a, self.other)
        self.assertEqual(rc, 2)
        self.assert_one_error_line(err, "--merge")
        rc, doc = jrun("top", "--merge", self.a, self.other, "-n", 0)
        want = group(BASE)
        for k, v in group(BASE[:3]).items():
            want.setdefault(k, [0, 0])
            want[k] = [want[k][0] + v[0], want[k][1] + v[1]]
        got = {key_of("line", e): [e["size"], e["count"]]
               for e in doc["reports"][0]["entries"]}
        self.assertEqual(got, want)

    def test_top_address(self):
        rc, out, err = run("top", "--address", "0x1100", self.a, self.b)
        self.assertEqual((rc, err), (0, ""))
        self.assertIn("memory block 0x1100: size=64 B", out)
        self.assertIn('File ".../proj/pkg/mod.pyc", line 20', out)
        rc, doc = jrun("top", "--address", "0x1000", self.a, self.b)
        blocks = doc["blocks"]
        self.assertEqual([b["found"] for b in blocks], [True, False])
        self.assertEqual(blocks[0]["size"], 100)
        self.assertEqual(blocks[0]["traceback"][1],
                         {"filename": "/home/u/proj/main.py", "lineno": 3,
                          "function": None})
        rc, out, err = run("top", "--address", "0xdead", self.a)
        self.assertEqual((rc, out), (2, ""))
        self.assert_one_error_line(err, "0xdead", "a.tms")

    def test_top_address_csv_unknown_line(self):
        # 0x11c0's most recent frame has no line: the shared CSV form
        # ("util.py:", as in top's traceback column), never "util.py:-1".
        rc, out, err = run("top", "--address", "0x11c0", "--format", "csv", self.a)
        self.assertEqual((rc, err), (0, ""))
        header, row = out.splitlines()
        self.assertEqual(header, "file,address,found,size,traceback")
        self.assertEqual(row.split(",")[1:],
                         ["0x11c0", "1", "700", "util.py:;/home/u/proj/main.py:9"])
        rc, tb_out, _ = run("top", "--group-by", "traceback", "-n", 0,
                            "--format", "csv", self.a)
        self.assertIn("util.py:;/home/u/proj/main.py:9", tb_out)

    def test_long_paths_are_not_cut(self):
        # A file name past any fixed buffer (4 KiB here) is shown whole in
        # every format and in messages.
        deep = "/" + "/".join("d%03d" % i for i in range(900)) + "/leaf.py"
        path = self.make("long.tms", [(0x5000, 77, [(deep, 8)])], 1700000000 * 10**9)
        rc, out, _ = run("top", "--filename-parts", 0, path)
        self.assertIn("#1: %s:8: size=77 B" % deep, out)
        rc, out, _ = run("top", "--group-by", "traceback", "--filename-parts", 0, path)
        self.assertIn('File "%s", line 8' % deep, out)
        rc, doc = jrun("top", "--filename-parts", 0, path)
        self.assertEqual(doc["reports"][0]["entries"][0]["key"], deep + ":8")
        rc, out, _ = run("top", "--filename-parts", 0, "--format", "csv", path)
        self.assertIn(deep + ":8", out)
        rc, out, _ = run("top", path)
        self.assertIn(".../d898/d899/leaf.py:8", out)
        missing = os.path.join(self.dir, "x" * 3000 + ".tms")
        rc, out, err = run("top", missing)
        self.assertEqual(rc, 3)
        self.assert_one_error_line(err, "x" * 3000 + ".tms'")

    def test_top_filters(self):
        cases = [
            [(True, "*/pkg/*", None, False)],
            [(False, "*mod.py", None, False)],            # .pyc counts as .py
            [(False, "*main.py", 9, True)],
            [(True, "*main.py", 3, True), (False, "*big.py", None, False)],
            [(True, "*mod.py", 12, False)],
        ]
        for filters in cases:
            args = []
            for inc, pat, ln, every in filters:
                args += ["-" + ("I" if every else "i") if inc else "-" + ("X" if every else "x"),
                         pat + ("" if ln is None else ":%d" % ln)]
            kept = [t for t in BASE if keep(filters, t[2])]
            rc, doc = jrun("top", self.a, "-n", 0, *args)
            got = {key_of("line", e): [e["size"], e["count"]]
                   for e in doc["reports"][0]["entries"]}
            self.assertEqual(got, {k: v for k, v in group(kept).items()}, filters)

    # ---- diff ----
    def test_diff(self):
        rc, doc = jrun("diff", self.a, self.b, "-n", 0)
        self.assertEqual(rc, 0)
        (rep,) = doc["reports"]
        want = diff(group(BASE), group(GROWN), "line")
        got = [(e["size_diff"], e["size"], e["count_diff"], e["count"], key_of("line", e))
               for e in rep["entries"]]
        self.assertEqual(got, want)
        self.assertEqual(rep["total"]["size_diff"],
                         sum(t[1] for t in GROWN) - sum(t[1] for t in BASE))

    def test_diff_first_and_previous(self):
        for flag, olds in (([], [BASE, GROWN]), (["--first"], [BASE, BASE])):
            rc, doc = jrun("diff", self.a, self.b, self.c, "-n", 0, *flag)
            self.assertEqual(len(doc["reports"]), 2)
            for rep, old, new in zip(doc["reports"], olds, [GROWN, GROWN[:5]]):
                self.assertEqual(
                    [(e["size_diff"], e["size"]) for e in rep["entries"]],
                    [r[:2] for r in diff(group(old), group(new), "line")])

    def test_diff_thresholds(self):
        growth = sum(t[1] for t in GROWN) - sum(t[1] for t in BASE)  # ~5 MiB
        rc, out, err = run("diff", self.a, self.b, "--fail-if-growth", "1MiB")
        self.assertEqual(rc, 1)
        self.assert_one_error_line(err, "--fail-if-growth", "1MiB")
        self.assertIn("threshold breached", out)
        self.assertIn(".../proj/pkg/leak.py:5", out)
        self.assertEqual(run("diff", self.a, self.b, "--fail-if-growth", "6MiB")[0], 0)
        pct = 100.0 * growth / sum(t[1] for t in BASE)
        self.assertEqual(run("diff", self.a, self.b, "--fail-if-growth", "%d%%" % (pct - 1))[0], 1)
        self.assertEqual(run("diff", self.a, self.b, "--fail-if-growth", "%d%%" % (pct + 1))[0], 0)
        # per site: leak.py grew 5 MiB, nothing else grew more than 10 B
        rc, doc = jrun("diff", self.a, self.b, "--fail-if-site-growth", "4M")
        self.assertEqual(rc, 1)
        self.assertTrue(doc["breached"])
        (br,) = doc["reports"][0]["breaches"]
        self.assertEqual([s["filename"] for s in br["sites"]], ["/home/u/proj/pkg/leak.py"])
        rc, doc = jrun("diff", self.a, self.b, "--fail-if-site-growth", "5k")
        self.assertEqual(rc, 1)
        self.assertEqual({s["filename"] for s in doc["reports"][0]["breaches"][0]["sites"]},
                         {"/home/u/proj/pkg/leak.py"})
        rc, doc = jrun("diff", self.a, self.b, "--fail-if-site-growth", "6MiB")
        self.assertEqual(rc, 0)
        self.assertFalse(doc["breached"])

    # ---- filter ----
    def test_filter(self):
        out = os.path.join(self.dir, "f.tms")
        rc, so, err = run("filter", self.a, "-o", out, "-x", "*json*")
        self.assertEqual((rc, err), (0, ""))
        kept = [t for t in BASE if keep([(False, "*json*", None, False)], t[2])]
        rc, doc = jrun("top", out, "--group-by", "address", "-n", 0)
        self.assertEqual(sorted(int(e["address"], 16) for e in doc["reports"][0]["entries"]),
                         sorted(t[0] for t in kept))
        rc, so, err = run("filter", self.a, "-o", out, "--drop-traces", "-i", "*/pkg/*")
        self.assertEqual(rc, 0)
        kept = [t for t in BASE if keep([(True, "*/pkg/*", None, False)], t[2])]
        self.check_top("line", path=out, traces=kept)
        rc, _, err = run("top", out, "--group-by", "traceback")
        self.assertEqual(rc, 2)

    def test_filter_keeps_function_names_and_the_peak(self):
        # format 1.1 sections survive filter (its own list of sections
        # once dropped them); the peak is filtered like the traces
        src = os.path.join(self.dir, "named.tms")
        out = os.path.join(self.dir, "named-f.tms")
        p = subprocess.run([MKSNAP, src], text=True, capture_output=True,
                           input="header 7 1700000000000000000 5 %s\n"
                                 "trace 4096 100 /srv/app.py:12;/srv/main.py:3\n"
                                 "trace 4160 50 /srv/lib.py:5\n"
                                 "stat /srv/app.py:12 100 1\n"
                                 "stat /srv/lib.py:5 50 1\n"
                                 "function /srv/app.py:12 handle\n"
                                 "peak 9000 8000 1700000000000000000\n"
                                 "peakentry /srv/app.py:12;/srv/main.py:3 5000 5\n"
                                 "peakentry /srv/lib.py:5 3000 2\n" % SERIES)
        self.assertEqual(p.returncode, 0, p.stderr)
        for extra in ([], ["--drop-traces"]):
            rc, so, err = run("filter", src, "-o", out, "-x", "*/lib.py", *extra)
            self.assertEqual((rc, err), (0, ""))
            rc, so, err = run("top", out)
            self.assertEqual(rc, 0, err)
            self.assertIn("/srv/app.py:12 (handle): size=100 B", so)
            self.assertNotIn("lib.py", so)
            rc, doc = jrun("top", out, "--peak")
            self.assertEqual(rc, 0)
            self.assertEqual([(e["filename"], e["size"])
                              for e in doc["reports"][0]["entries"]],
                             [("/srv/app.py", 5000)])

    def test_filter_refuses_same_file(self):
        link = os.path.join(self.dir, "alias.tms")
        if not os.path.exists(link):
            os.link(self.a, link)
        before = read_bytes(self.a)
        for out in (self.a, link):
            rc, so, err = run("filter", self.a, "-o", out, "-x", "*")
            self.assertEqual(rc, 2)
            self.assert_one_error_line(err, "a.tms")
        self.assertEqual(read_bytes(self.a), before)

    # ---- metrics ----
    def test_metrics(self):
        rc, doc = jrun("metrics", self.b, self.a)
        self.assertEqual([os.path.basename(s["file"]) for s in doc["snapshots"]],
                         ["a.tms", "b.tms"])
        m = {x["name"]: x for x in doc["metrics"]}
        self.assertEqual(m["gc.objects"]["values"], [1000, 1500])
        self.assertEqual(m["gc.objects"]["change"], 500)
        self.assertEqual(m["pymalloc.fragmentation"]["min"], 0.125)
        self.assertEqual(m["pymalloc.fragmentation"]["max"], 0.25)
        rc, out, err = run("metrics", self.a, self.b)
        row = [l for l in out.splitlines() if l.startswith("process_memory.rss")][0]
        self.assertEqual(row.split()[1:], ["10.0", "MiB", "16.0", "MiB", "+6144", "KiB",
                                           "10.0", "MiB", "16.0", "MiB"])
        self.assertEqual(fmt_size(6 << 20, True), "+6144 KiB")
        rc, out, err = run("metrics", self.a, "--format", "csv")
        self.assertIn("gc.objects,int,1000,1000,0,1000,1000,1000", out)

    # ---- formats, help, errors ----
    def test_csv(self):
        rc, out, err = run("top", self.a, "--format", "csv", "-n", 2)
        rows = out.splitlines()
        self.assertTrue(rows[0].startswith("file,previous,kind,rank,key,"))
        self.assertEqual([r.split(",")[2] for r in rows[1:]], ["entry", "entry", "rest", "total"])
        # function (format 1.1) and domain (1.3, filled when grouping by
        # domain) are the last columns; here both are empty
        self.assertTrue(rows[0].endswith(",average,function,domain"), rows[0])
        self.assertTrue(rows[1].endswith(",%d,0,1,0,%d,," % (1 << 20, 1 << 20)), rows[1])

    def test_color(self):
        env = dict(os.environ)
        out = run("top", self.a, self.b, "--color", "always", env=env)[1]
        self.assertIn("\033[", out)
        env["NO_COLOR"] = "1"
        self.assertNotIn("\033[", run("top", self.a, "--color", "auto", env=env)[1])
        self.assertNotIn("\033[", run("top", self.a)[1])   # not a TTY

    def test_help_and_version(self):
        rc, out, _ = run("--version")
        self.assertEqual(rc, 0)
        self.assertTrue(out.startswith("tmtool "))
        for cmd in ("top", "diff", "filter", "metrics"):
            rc, out, _ = run(cmd, "--help")
            self.assertEqual(rc, 0)
            self.assertIn("usage: tmtool %s" % cmd, out)
            self.assertIn("Exit status:", out)
            self.assertEqual(run("help", cmd)[1], out)
        rc, out, _ = run("top", "-h")
        for opt in ("--group-by", "--cumulative", "--count", "--address", "--merge",
                    "--no-size", "--no-count", "--no-average", "--filename-parts",
                    "--no-metrics", "--include", "--exclude-traceback", "--format", "--color"):
            self.assertIn(opt, out)
        rc, out, err = run()
        self.assertEqual(rc, 2)

    def test_bad_inputs(self):
        good = read_bytes(self.a)
        corrupt = bytearray(good)
        corrupt[len(good) // 2] ^= 0xFF
        newer = bytearray(good)
        newer[8:10] = struct.pack("<H", 2)
        cases = [
            ("missing", os.path.join(self.dir, "missing.tms"), 3),
            ("not-tms", self.bad("text.tms", b"hello, this is not a snapshot\n" * 4), 3),
            ("empty", self.bad("empty.tms", b""), 3),
            ("truncated", self.bad("trunc.tms", good[: len(good) // 2]), 3),
            ("truncated-preamble", self.bad("trunc2.tms", good[:10]), 3),
            ("corrupt", self.bad("corrupt.tms", bytes(corrupt)), 3),
            ("newer-major", self.bad("newer.tms", bytes(newer)), 4),
        ]
        for name, path, code in cases:
            for cmd in (["top"], ["diff", self.a], ["metrics"], ["filter", "-o", path + ".out"]):
                rc, out, err = run(*cmd, path)
                self.assertEqual(rc, code, (name, cmd, err))
                self.assert_one_error_line(err, "'%s'" % path)
                self.assertEqual(out, "", name)
        usage = [
            ("top", "--bogus", self.a), ("top", "-Z", self.a), ("top",),
            ("top", "--group-by", "lines", self.a), ("top", "-n", "x", self.a),
            ("top", "--format", "yaml", self.a), ("top", "--color", "sometimes", self.a),
            ("diff", self.a), ("diff", self.a, self.b, "--fail-if-growth", "10 parsecs"),
            ("diff", self.a, self.b, "--fail-if-site-growth", "-5%"),
            ("diff", self.a, self.b, "--fail-if-growth"),
            ("filter", self.a), ("top", "--address", "zz", self.a), ("frobnicate",),
        ]
        for args in usage:
            rc, out, err = run(*args)
            self.assertEqual(rc, 2, (args, err))
            self.assert_one_error_line(err)

    def test_pipe_closed_early(self):
        # enough output to fill the pipe: 4000 distinct lines
        many = [(0x100000 + 64 * i, 10 + i, [("/x/y/z/file%d.py" % (i % 50), i)])
                for i in range(4000)]
        path = self.make("many.tms", many, 1700000000 * 10**9)
        for fmt in ("text", "json", "csv"):
            p = subprocess.run("'%s' top -n 0 --format %s '%s' | head -1"
                               % (TMTOOL, fmt, path), shell=True,
                               capture_output=True, text=True)
            self.assertEqual(p.stderr, "", fmt)
            self.assertEqual(len(p.stdout.splitlines()), 1)

    def test_format_vectors(self):
        vec = os.path.join(SRC, "format", "vectors")
        files = sorted(f for f in os.listdir(vec) if f.endswith(".tms")) if os.path.isdir(vec) else []
        for f in files:
            rc, out, err = run("top", os.path.join(vec, f))
            # valid vectors work, invalid ones fail cleanly with one line
            self.assertIn(rc, (0, 2, 3, 4), f)
            if rc != 0:
                self.assert_one_error_line(err)
            self.assertNotIn("AddressSanitizer", err)

    def test_bash_completion(self):
        if shutil.which("bash") is None:
            self.skipTest("no bash")
        comp = os.path.join(SRC, "completions", "tmtool.bash")

        def complete(words, cword):
            script = ('source "%s"; COMP_WORDS=(%s); COMP_CWORD=%d; '
                      'COMP_LINE="${COMP_WORDS[*]}"; _tmtool; '
                      'printf "%%s\\n" "${COMPREPLY[@]}"' % (
                          comp, " ".join("'%s'" % w for w in words), cword))
            p = subprocess.run(["bash", "-c", script], capture_output=True,
                               text=True, cwd=self.dir)
            self.assertEqual(p.stderr, "")
            return set(p.stdout.split())
        self.assertEqual(complete(["tmtool", ""], 1) >= {"top", "diff", "filter", "metrics", "help"}, True)
        self.assertEqual(complete(["tmtool", "d"], 1), {"diff"})
        self.assertIn("--group-by", complete(["tmtool", "top", "--gr"], 2))
        self.assertIn("--fail-if-growth", complete(["tmtool", "diff", "--fail"], 2))
        self.assertEqual(complete(["tmtool", "top", "--group-by", ""], 3),
                         {"filename", "line", "function", "traceback", "address",
                          "domain"})
        self.assertEqual(complete(["tmtool", "top", "--domain", ""], 3),
                         {"python", "numpy", "native"})
        self.assertIn("--peak", complete(["tmtool", "top", "--pe"], 2))
        self.assertEqual(complete(["tmtool", "top", "--format", ""], 3), {"text", "json", "csv"})
        self.assertIn("a.tms", complete(["tmtool", "top", ""], 2))


if __name__ == "__main__":
    unittest.main(verbosity=2)
