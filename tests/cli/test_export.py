"""tmtool export, checked by the tools that read its output.

The snapshots come from real traced Python processes (several processes,
two snapshots each, tracebacks five deep) and from mksnap (unknown frames,
an empty traceback, a stats-only file).  The oracles are independent
readers: `go tool pprof` decodes the pprof file and DuckDB the Parquet
file; what they say must equal `tmtool top` over the same files.

Environment: TMTOOL, MKSNAP, TMTOOL_PYTHON (the interpreter with the built
tracer on PYTHONPATH, pyarrow and duckdb).  `go` must be on PATH
(tools/bootstrap.sh installs golang-go)."""
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest

TMTOOL = os.environ["TMTOOL"]
MKSNAP = os.environ["MKSNAP"]
PYTHON = os.environ.get("TMTOOL_PYTHON", sys.executable)
GO = shutil.which("go")

# A program with several allocation sites, each reached through a stack of
# its own; argv: scale, first snapshot, second snapshot.
PROGRAM = textwrap.dedent("""\
    import sys
    import tmtrace
    tmtrace.set_traceback_limit(5)
    tmtrace.enable()
    keep = []

    def rows(n):
        keep.extend(bytearray(200 + i % 7) for i in range(n))

    def names(n):
        keep.append([str(i) * 4 for i in range(n)])

    def grow(n):
        rows(n)
        names(n // 2)

    scale = int(sys.argv[1])
    grow(300 * scale)
    tmtrace.Snapshot.create(traces=True).write(sys.argv[2])
    names(1000 * scale)
    rows(100)
    tmtrace.Snapshot.create(traces=True).write(sys.argv[3])
    """)


def run(*args, check=True):
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True)
    if check and p.returncode != 0:
        raise AssertionError("%s failed (%d): %s" % (args, p.returncode, p.stderr))
    return p


def tmtool_top(files, by="line"):
    """{(filename, lineno): (size, count)} from tmtool top --merge."""
    out = run(TMTOOL, "top", "--merge", "--format", "json", "-n", "0",
              "--group-by", by, *files).stdout
    entries = json.loads(out)["reports"][0]["entries"]
    return {(e["filename"], e["lineno"]): (e["size"], e["count"])
            for e in entries}


# "  6392912  86.09% 86.09%  6392912  86.09%  FUNCTION FILE:LINE"
TOP_LINE = re.compile(r"^\s*(\d+)B?\s+\S+%\s+\S+%\s+\d+B?\s+\S+%\s+(.*)$")


def pprof_top(path, index):
    """{(file, line): flat} from go tool pprof -top -lines, exact units."""
    out = run(GO, "tool", "pprof", "-top", "-lines", "-unit=B",
              "-nodefraction=0", "-nodecount=100000", "-sample_index=" + index,
              path).stdout
    rows = {}
    for line in out.splitlines():
        m = TOP_LINE.match(line)
        if m is None:
            continue
        flat, where = int(m.group(1)), m.group(2)
        key = pprof_where(where)
        if flat:
            rows[key] = rows.get(key, 0) + flat
    return rows


def pprof_functions(path):
    """{(file, line): function} of the -top -lines rows."""
    out = run(GO, "tool", "pprof", "-top", "-lines", "-nodefraction=0",
              "-nodecount=100000", path).stdout
    names = {}
    for line in out.splitlines():
        m = TOP_LINE.match(line)
        if m:
            names[pprof_where(m.group(2))] = m.group(2).rpartition(" ")[0]
    return names


def pprof_display(function, filename):
    """How `pprof -top` names a frame that tmtool knows as (function,
    filename): the file when the function is unknown; and pprof drops a
    name that is all angle brackets (it reads it as C++ template
    arguments), so Python's "<module>" shows as the mapping, [python]."""
    name = function if function is not None else (filename or "?")
    return "[python]" if re.match(r"^<[^<>]*>$", name) else name


def pprof_where(where):
    """(file, line) of "FUNCTION FILE:LINE"; pprof leaves out ":0" (line
    unknown) and prints "FUNCTION :LINE" or "FUNCTION" alone when the file
    is unknown."""
    func, sep, fileline = where.rpartition(" ")
    if not sep:
        m = re.match(r"^(.*):(\d+)$", where)
        if m:    # pprof shortens some names to nothing (Python's "<module>")
            return (m.group(1), int(m.group(2)))
        return ("", 0)               # "?": nothing known
    m = re.match(r"^(.*):(\d+)$", fileline)
    if m is None:                    # "util.py util.py": line unknown
        return (fileline, 0)
    return (m.group(1), int(m.group(2)))


def pprof_tags(path):
    """{tag: {value: bytes}} from go tool pprof -tags (units as printed)."""
    out = run(GO, "tool", "pprof", "-tags", path).stdout
    tags, cur = {}, None
    for line in out.splitlines():
        m = re.match(r"^ (\S+): Total", line)
        if m:
            cur = tags.setdefault(m.group(1), set())
            continue
        m = re.match(r"^\s+\S+ \(\s*[\d.]+%\): (.*)$", line)
        if m and cur is not None:
            cur.add(m.group(1))
    return tags


def as_pprof_key(key):
    """tmtool's key in pprof's spelling: unknown line 0, unknown file ''."""
    filename, lineno = key
    return (filename or "", lineno if lineno is not None else 0)


class Fixture:
    """Snapshots made once for every test: 3 traced processes x 2 files,
    plus mksnap files with unknown frames and a stats-only one."""
    dir = None
    traced = []
    pids = set()

    @classmethod
    def make(cls):
        if cls.dir is not None:
            return
        cls.dir = tempfile.mkdtemp(prefix="tmtool-export-")
        prog = os.path.join(cls.dir, "workload.py")
        with open(prog, "w") as f:
            f.write(PROGRAM)
        for k in range(3):
            a = os.path.join(cls.dir, "p%d-a.tms" % k)
            b = os.path.join(cls.dir, "p%d-b.tms" % k)
            run(PYTHON, prog, str(k + 1), a, b)
            cls.traced += [a, b]
        for path in cls.traced:
            hdr = json.loads(run(TMTOOL, "metrics", "--format", "json",
                                 path).stdout)
            cls.pids.add(hdr["snapshots"][0]["pid"])
        spec = textwrap.dedent("""\
            header 4242 1700000000000000000 5 00112233445566778899aabbccddeeff
            trace 4096 100 /srv/app.py:12;/srv/main.py:3
            trace 4160 300 /srv/app.py:12;/srv/main.py:4
            trace 4224 64 ?:7;/srv/main.py:9
            trace 4288 40 -
            trace 4352 700 util.py:?;/srv/main.py:9
            stat /srv/app.py:12 400 2
            stat ?:7 64 1
            stat ?:? 40 1
            stat util.py:? 700 1
            function /srv/app.py:12 handle
            function /srv/main.py:3 main
            meta deploy v42
            meta host web-1
            """)
        cls.odd = os.path.join(cls.dir, "odd.tms")
        subprocess.run([MKSNAP, cls.odd], input=spec, universal_newlines=True,
                       check=True)
        stats = textwrap.dedent("""\
            header 4343 1700000001000000000 1 ffeeddccbbaa99887766554433221100
            stat /srv/app.py:12 5000 5
            stat /srv/other.py:1 77 1
            """)
        # a peak (format 1.1): the state recorded near the high-water mark
        peak = textwrap.dedent("""\
            header 5151 1700000002000000000 5 aabbccddeeff00112233445566778899
            trace 4096 100 /srv/app.py:12;/srv/main.py:3
            stat /srv/app.py:12 100 1
            peak 9000 8000 1700000001500000000
            peakentry /srv/app.py:12;/srv/main.py:3 5000 5
            peakentry /srv/big.py:7;/srv/main.py:4 3000 2
            """)
        cls.peak = os.path.join(cls.dir, "peak.tms")
        subprocess.run([MKSNAP, cls.peak], input=peak, universal_newlines=True,
                       check=True)
        cls.stats_only = os.path.join(cls.dir, "stats.tms")
        subprocess.run([MKSNAP, cls.stats_only], input=stats,
                       universal_newlines=True, check=True)

    @classmethod
    def cleanup(cls):
        if cls.dir is not None:
            shutil.rmtree(cls.dir, ignore_errors=True)


def setUpModule():
    Fixture.make()


def tearDownModule():
    Fixture.cleanup()


class PprofTest(unittest.TestCase):
    def setUp(self):
        self.out = tempfile.mkdtemp(prefix="tmtool-pprof-")

    def tearDown(self):
        shutil.rmtree(self.out, ignore_errors=True)

    def export(self, *args):
        path = os.path.join(self.out, "out.pb.gz")
        run(TMTOOL, "export", "-q", "--format", "pprof", "-o", path, *args)
        return path

    def assert_top_equal(self, files, *extra):
        path = self.export(*extra, *files)
        want = tmtool_top(files)
        space = pprof_top(path, "inuse_space")
        objects = pprof_top(path, "inuse_objects")
        self.assertEqual(space, {as_pprof_key(k): v[0]
                                 for k, v in want.items() if v[0]})
        self.assertEqual(objects, {as_pprof_key(k): v[1]
                                   for k, v in want.items() if v[1]})
        return path

    def test_go_pprof_top_equals_tmtool_top_several_processes(self):
        self.assertTrue(GO, "go is not installed (tools/bootstrap.sh installs golang-go)")
        path = self.assert_top_equal(Fixture.traced)
        tags = pprof_tags(path)
        self.assertEqual(tags["pid"], {str(p) for p in Fixture.pids})
        self.assertEqual(len(tags["host"]), 1)

    def test_go_pprof_top_by_function_equals_tmtool_top_by_function(self):
        # `go tool pprof -top` (function granularity) against
        # `tmtool top --group-by function`, on real traced processes whose
        # frames carry function names (format 1.1)
        files = Fixture.traced
        path = self.export(*files)
        out = run(GO, "tool", "pprof", "-top", "-unit=B", "-nodefraction=0",
                  "-nodecount=100000", path).stdout
        got = {}
        for line in out.splitlines():
            m = TOP_LINE.match(line)
            if m and int(m.group(1)):
                got[m.group(2)] = got.get(m.group(2), 0) + int(m.group(1))
        top = json.loads(run(TMTOOL, "top", "--merge", "--format", "json",
                             "-n", "0", "--group-by", "function",
                             *files).stdout)["reports"][0]["entries"]
        want = {}
        for e in top:
            name = pprof_display(e["function"], e["filename"])
            want[name] = want.get(name, 0) + e["size"]
        self.assertEqual(got, want)
        self.assertTrue(any(n.startswith("rows") for n in got), got)
        self.assertTrue(any(n.startswith("names") for n in got), got)

    def test_merge_sums_and_keeps_only_shared_labels(self):
        path = self.assert_top_equal(Fixture.traced, "--merge")
        tags = pprof_tags(path)
        self.assertNotIn("pid", tags)   # differs between the processes
        self.assertIn("host", tags)     # the same machine wrote them all

    def test_one_file_keeps_time_and_meta_labels(self):
        path = self.assert_top_equal([Fixture.odd])
        tags = pprof_tags(path)
        self.assertEqual(tags["pid"], {"4242"})
        self.assertEqual(tags["deploy"], {"v42"})
        self.assertEqual(tags["host"], {"web-1"})
        # the snapshot's own time (1700000000 s), not the export's
        raw = run(GO, "tool", "pprof", "-raw", path).stdout
        self.assertIn("Time: 2023-11-14 22:13:20 +0000 UTC", raw)

    def test_function_names(self):
        # named frames (format 1.1) show their function; unnamed ones their
        # file, so that -top without -lines still groups by something real
        names = pprof_functions(self.export(Fixture.odd))
        self.assertEqual(names[("/srv/app.py", 12)], "handle")
        self.assertEqual(names[("/srv/main.py", 3)], "main")
        self.assertEqual(names[("util.py", 0)], "util.py")
        self.assertEqual(names[("", 7)], "?")

    def test_peak_sample_types(self):
        # inuse as top says; the peak's recorded state, summed by hand from
        # the spec, under peak_space/peak_objects
        want_space = {("/srv/app.py", 12): 5000, ("/srv/big.py", 7): 3000}
        want_objects = {("/srv/app.py", 12): 5, ("/srv/big.py", 7): 2}
        for files, extra in (([Fixture.peak], ()),
                             ([Fixture.peak, Fixture.odd], ("--merge",)),
                             ([Fixture.peak, Fixture.odd], ())):
            path = self.assert_top_equal(files, *extra)
            self.assertEqual(pprof_top(path, "peak_space"), want_space)
            self.assertEqual(pprof_top(path, "peak_objects"), want_objects)
        # without a peak, no peak sample types
        path = self.export(Fixture.odd)
        p = run(GO, "tool", "pprof", "-top", "-sample_index=peak_space", path,
                check=False)
        self.assertNotEqual(p.returncode, 0)

    def test_stats_only_file_gives_one_line_stacks(self):
        self.assert_top_equal([Fixture.stats_only])
        self.assert_top_equal([Fixture.stats_only, Fixture.odd], "--merge")

    def test_filters_apply_as_in_top(self):
        files = Fixture.traced
        path = self.export("-x", "*workload.py:9", *files)
        want = tmtool_top_filtered(files, ["-x", "*workload.py:9"])
        self.assertEqual(pprof_top(path, "inuse_space"),
                         {as_pprof_key(k): v[0] for k, v in want.items() if v[0]})

    def test_filter_matching_nothing_is_warned(self):
        path = os.path.join(self.out, "w.pb.gz")
        p = run(TMTOOL, "export", "-q", "-o", path, "-i", "*nothing-here.py",
                Fixture.odd)
        self.assertIn("nothing-here.py", p.stderr)
        self.assertIn("warning", p.stderr)

    def test_output_is_gzip_of_a_protobuf(self):
        path = self.export(Fixture.odd)
        with open(path, "rb") as f:
            self.assertEqual(f.read(2), b"\x1f\x8b")
        with open(path, "rb") as f:
            data = gzip.decompress(f.read())
        # field 1 (sample_type), wire type 2: the first message field
        self.assertEqual(data[0], 0x0a)

    def test_stdout(self):
        p = subprocess.run([TMTOOL, "export", "--format", "pprof", "-o", "-",
                            Fixture.odd], stdout=subprocess.PIPE, check=True)
        self.assertEqual(p.stdout[:2], b"\x1f\x8b")


def duck(sql, *params):
    import duckdb
    return duckdb.connect().execute(sql, list(params)).fetchall()


def tmtool_top_tracebacks(files):
    """{((file, line), ...): (size, count)} from top --group-by traceback."""
    out = run(TMTOOL, "top", "--merge", "--format", "json", "-n", "0",
              "--group-by", "traceback", *files).stdout
    return {tuple((f["filename"], f["lineno"]) for f in e["traceback"]):
            (e["size"], e["count"])
            for e in json.loads(out)["reports"][0]["entries"]}


class ParquetTest(unittest.TestCase):
    def setUp(self):
        self.out = tempfile.mkdtemp(prefix="tmtool-parquet-")

    def tearDown(self):
        shutil.rmtree(self.out, ignore_errors=True)

    def export(self, *args, name="out.parquet"):
        path = os.path.join(self.out, name)
        run(TMTOOL, "export", "-q", "--format", "parquet", "-o", path, *args)
        return path

    def per_line(self, path):
        # (sites only at the peak have rows of size 0: top does not list them)
        rows = duck("SELECT traceback[1].file, traceback[1].line, sum(size), "
                    "sum(count) FROM read_parquet(?) GROUP BY ALL "
                    "HAVING sum(count) > 0", path)
        return {(f, l): (int(s), int(c)) for f, l, s, c in rows}

    def test_duckdb_site_totals_equal_tmtool_top_merge(self):
        files = Fixture.traced + [Fixture.odd, Fixture.stats_only]
        path = self.export(*files)
        self.assertEqual(self.per_line(path), tmtool_top(files))

    def test_duckdb_function_names_equal_tmtool(self):
        # real traced processes name their frames (format 1.1): each
        # file's Parquet frames carry the same (function, file, line) as
        # top's rows over that file.  File by file, not merged: a frame is
        # (file, line), so a line two functions share (the generator
        # expression on rows' line) carries one of the names, and which
        # one is the tracer's choice per snapshot (the first trace it
        # writes, in address order); top --merge keeps one name per line
        # across the files where the Parquet rows keep each file's own.
        files = Fixture.traced
        path = self.export(*files)
        rows = set(duck("SELECT DISTINCT file, traceback[1].function, "
                        "traceback[1].file, traceback[1].line "
                        "FROM read_parquet(?)", path))
        want = set()
        for f in files:
            top = json.loads(run(TMTOOL, "top", "--format", "json", "-n", "0",
                                 f).stdout)["reports"][0]["entries"]
            want |= {(f, e.get("function"), e["filename"], e["lineno"])
                     for e in top}
        self.assertEqual(rows, want)
        self.assertTrue(any(fn and fn.startswith("rows")
                            for _, fn, _, _ in rows))

    def test_duckdb_tracebacks_equal_top_by_traceback(self):
        files = Fixture.traced + [Fixture.odd]
        path = self.export(*files)
        rows = duck("SELECT [(f.file, f.line) FOR f IN traceback], sum(size), "
                    "sum(count) FROM read_parquet(?) GROUP BY ALL", path)
        got = {tuple(tuple(fr.values()) if isinstance(fr, dict) else tuple(fr)
                     for fr in tb): (int(s), int(c)) for tb, s, c in rows}
        want = tmtool_top_tracebacks(files)
        # (an empty traceback stays empty in both)
        self.maxDiff = None
        self.assertEqual(got, want)

    def test_peak_columns(self):
        # and a snapshot with statistics only and a peak: its peak state
        # comes as rows of its own (size 0)
        stats_peak = os.path.join(self.out, "stats-peak.tms")
        spec = ("header 6161 1700000003000000000 5 "
                "00000000000000000000000000000001\n"
                "stat /srv/app.py:12 10 1\n"
                "peak 900 800 1700000002500000000\n"
                "peakentry /srv/big.py:7;/srv/main.py:4 800 4\n")
        subprocess.run([MKSNAP, stats_peak], input=spec,
                       universal_newlines=True, check=True)
        files = [Fixture.peak, Fixture.odd, Fixture.stats_only, stats_peak]
        path = self.export(*files)
        self.assertEqual(self.per_line(path), tmtool_top(files))
        rows = duck("SELECT traceback[1].file, traceback[1].line, sum(peak_size), "
                    "sum(peak_count) FROM read_parquet(?) WHERE peak_size > 0 "
                    "GROUP BY ALL", path)
        self.assertEqual({(f, l): (int(s), int(c)) for f, l, s, c in rows},
                         {("/srv/app.py", 12): (5000, 5),
                          ("/srv/big.py", 7): (3800, 6)})
        rows = duck("SELECT pid, any_value(snapshot_peak_size), "
                    "count(*) FILTER (WHERE peak_size IS NULL) "
                    "FROM read_parquet(?) GROUP BY pid", path)
        by_pid = {pid: (peak, nulls) for pid, peak, nulls in rows}
        self.assertEqual(by_pid[5151], (9000, 0))   # every row has a peak value
        self.assertIsNone(by_pid[4242][0])          # no peak: nulls
        self.assertIsNone(by_pid[4343][0])
        self.assertEqual(by_pid[6161], (900, 0))
        os.unlink(stats_peak)

    def test_function_names(self):
        path = self.export(Fixture.odd)
        rows = duck("SELECT DISTINCT f.file, f.line, f.function FROM "
                    "(SELECT unnest(traceback) AS f FROM read_parquet(?))", path)
        names = {(f, l): n for f, l, n in rows}
        self.assertEqual(names[("/srv/app.py", 12)], "handle")
        self.assertEqual(names[("/srv/main.py", 3)], "main")
        self.assertIsNone(names[("/srv/main.py", 9)])

    def test_rows_per_trace(self):
        files = Fixture.traced
        path = self.export("--rows", "trace", *files)
        self.assertEqual(self.per_line(path), tmtool_top(files))
        (n, blocks, distinct_addr), = duck(
            "SELECT count(*), sum(count), count(DISTINCT (snapshot_id, address)) "
            "FROM read_parquet(?)", path)
        self.assertEqual(n, sum(c for _, c in tmtool_top(files).values()))
        self.assertEqual((blocks, distinct_addr), (n, n))

    def test_rows_per_trace_in_small_chunks(self):
        # tables of CHUNK_ROWS rows (a million by default) cut a file's
        # traces; with 7 the cuts fall everywhere, tracebacks included
        files = Fixture.traced[:2] + [Fixture.odd]
        path = os.path.join(self.out, "chunks.parquet")
        run(PYTHON, "-c", "import sys, tmtrace._export as e; e.CHUNK_ROWS = 7; "
            "sys.exit(e.main(sys.argv[1:]))", "--rows", "trace", "-q",
            "-o", path, *files)
        self.assertEqual(self.per_line(path), tmtool_top(files))
        want = tmtool_top_tracebacks(files)
        rows = duck("SELECT [(f.file, f.line) FOR f IN traceback], sum(size), "
                    "sum(count) FROM read_parquet(?) GROUP BY ALL", path)
        got = {tuple(tuple(fr.values()) if isinstance(fr, dict) else tuple(fr)
                     for fr in tb): (int(s), int(c)) for tb, s, c in rows}
        self.assertEqual(got, want)

    def test_snapshot_columns(self):
        files = Fixture.traced + [Fixture.odd]
        path = self.export(*files)
        rows = duck("SELECT DISTINCT file, snapshot_id, series_id, pid, host, "
                    "timestamp_ns, epoch_us(timestamp), domain, meta FROM read_parquet(?)", path)
        self.assertEqual(len(rows), len(files))
        self.assertEqual({r[0] for r in rows}, set(files))
        self.assertEqual({r[3] for r in rows}, Fixture.pids | {4242})
        self.assertEqual({r[7] for r in rows}, {"python"})
        for file, sid, series, pid, host, ts, us, _, meta in rows:
            self.assertEqual(us, ts // 1000)
            hdr = json.loads(run(TMTOOL, "metrics", "--format", "json",
                                 file).stdout)["snapshots"][0]
            self.assertEqual((series, pid, ts),
                             (hdr["series_id"], hdr["pid"], hdr["timestamp_ns"]))
            self.assertEqual(sid, "%s-%d" % (series, ts))
            self.assertEqual(host, dict(meta)["host"] if isinstance(meta, dict)
                             else dict(zip(meta["key"], meta["value"]))["host"])
        (deploy,), = duck("SELECT DISTINCT meta['deploy'] FROM read_parquet(?) "
                          "WHERE pid = 4242", path)
        self.assertIn(deploy, ("v42", ["v42"]))

    def test_directory_gives_one_file_per_snapshot(self):
        files = Fixture.traced
        run(TMTOOL, "export", "-q", "--format", "parquet", "-o", self.out, *files)
        self.assertEqual(sorted(os.listdir(self.out)),
                         sorted(os.path.basename(f)[:-4] + ".parquet"
                                for f in files))
        self.assertEqual(self.per_line(os.path.join(self.out, "*.parquet")),
                         tmtool_top(files))

    def test_filters_apply_as_in_top(self):
        files = Fixture.traced
        path = self.export("-x", "*workload.py:9", *files)
        self.assertEqual(self.per_line(path),
                         tmtool_top_filtered(files, ["-x", "*workload.py:9"]))

    def test_errors(self):
        out = os.path.join(self.out, "x.parquet")
        p = run(TMTOOL, "export", "--rows", "trace", "-o", out,
                Fixture.stats_only, check=False)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("has no traces", p.stderr)
        p = run(TMTOOL, "export", "-o", out, Fixture.odd,
                os.path.join(self.out, "missing.tms"), check=False)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("missing.tms", p.stderr)
        self.assertEqual(os.listdir(self.out), [])
        p = run(TMTOOL, "export", "-o", "/proc/x.parquet", Fixture.odd,
                check=False)
        self.assertEqual(p.returncode, 3, p.stderr)
        # a Python without tmtrace exits 1, which must not read as "breached"
        fake = os.path.join(tempfile.gettempdir(), "tmtool-export-fake-python")
        with open(fake, "w") as f:
            f.write("#!/bin/sh\necho 'No module named tmtrace' >&2\nexit 1\n")
        os.chmod(fake, 0o755)
        try:
            env = dict(os.environ, TMTOOL_PYTHON=fake)
            p = subprocess.run([TMTOOL, "export", "-o", out, Fixture.odd],
                               stderr=subprocess.PIPE, universal_newlines=True,
                               env=env)
        finally:
            os.unlink(fake)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("does it have tmtrace", p.stderr)
        self.assertEqual(os.listdir(self.out), [])
        env = dict(os.environ, TMTOOL_PYTHON="/nonexistent/python3")
        p = subprocess.run([TMTOOL, "export", "-o", out, Fixture.odd],
                           stderr=subprocess.PIPE, universal_newlines=True,
                           env=env)
        self.assertEqual(p.returncode, 3)
        self.assertIn("TMTOOL_PYTHON", p.stderr)


def tmtool_top_filtered(files, filters):
    out = run(TMTOOL, "top", "--merge", "--format", "json", "-n", "0",
              *filters, *files).stdout
    return {(e["filename"], e["lineno"]): (e["size"], e["count"])
            for e in json.loads(out)["reports"][0]["entries"]}


SAMPLED_PROGRAM = textwrap.dedent("""\
    import sys
    import tmtrace
    tmtrace.set_traceback_limit(3)
    tmtrace.enable()
    tmtrace.set_sampling(4096, 7)
    small = [bytes(300 + i % 50) for i in range(20000)]
    big = [bytearray(20000) for i in range(200)]
    tmtrace.Snapshot.write_live(sys.argv[1], traces=True)
    """)


class SampledParquetTest(unittest.TestCase):
    """A sampled file (format 1.2 SMPL) exported to Parquet is an
    estimate: its rows sum to libtma's weighted totals (tmtool top), and
    trace rows say what each recorded block stands for."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="tmtool-sampled-")
        prog = os.path.join(cls.dir, "sampled.py")
        with open(prog, "w") as f:
            f.write(SAMPLED_PROGRAM)
        cls.path = os.path.join(cls.dir, "sampled.tms")
        run(PYTHON, prog, cls.path)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def export(self, *args):
        out = os.path.join(self.dir, "out.parquet")
        run(TMTOOL, "export", "-q", "--format", "parquet", "-o", out, *args)
        return out

    def test_rows_sum_to_libtma_estimates(self):
        top = tmtool_top([self.path])
        for rows in ("site", "trace"):
            path = self.export("--rows", rows, self.path)
            got = ParquetTest.per_line(self, path)
            self.assertEqual(got, top, rows)
            (iv,), = duck("SELECT DISTINCT sample_interval FROM "
                          "read_parquet(?)", path)
            self.assertEqual(iv, 4096)
        # the estimate is not the recorded bytes: a sampled-out block
        # is stood for by the ones recorded
        (est, recorded, n), = duck("SELECT sum(size), sum(block_size), "
                                   "count(*) FROM read_parquet(?)", path)
        self.assertGreater(est, 2 * recorded)
        self.assertLess(n, 20200 // 2)

    def test_trace_rows_carry_their_weight(self):
        import math
        path = self.export("--rows", "trace", self.path)
        rows = duck("SELECT block_size, weight, size, count FROM "
                    "read_parquet(?)", path)
        self.assertTrue(rows)
        for block, weight, size, count in rows:
            # SPEC 4.12: kept with p = 1 - exp(-s/I), standing for 1/p
            w = 1.0 / -math.expm1(-block / 4096.0)
            self.assertAlmostEqual(weight, w, places=9)
            self.assertIn(size, (math.floor(block * w), math.ceil(block * w)))
            self.assertIn(count, (math.floor(w), math.ceil(w)))

    def test_exact_file_has_weight_one(self):
        path = self.export("--rows", "trace", *Fixture.traced[:1])
        (iv, w_min, w_max, same), = duck(
            "SELECT any_value(sample_interval), min(weight), max(weight), "
            "bool_and(block_size = size AND count = 1) FROM read_parquet(?)",
            path)
        self.assertEqual((iv, w_min, w_max, same), (0, 1.0, 1.0, True))
        path = self.export(*Fixture.traced[:1])
        (iv, nulls), = duck("SELECT any_value(sample_interval), "
                            "bool_and(weight IS NULL AND block_size IS NULL) "
                            "FROM read_parquet(?)", path)
        self.assertEqual((iv, nulls), (0, True))

    def test_read_budget_and_no_verify(self):
        out = os.path.join(self.dir, "b.parquet")
        p = run(TMTOOL, "export", "-q", "--format", "parquet", "-o", out,
                "--read-budget", "4KiB", self.path, check=False)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("budget", p.stderr)
        self.assertIn("--read-budget", p.stderr)
        self.assertFalse(os.path.exists(out))
        run(TMTOOL, "export", "-q", "--format", "parquet", "-o", out,
            "--read-budget", "1GiB", "--no-verify", self.path)
        self.assertTrue(os.path.exists(out))
        os.unlink(out)


class ErrorsTest(unittest.TestCase):
    def setUp(self):
        self.out = tempfile.mkdtemp(prefix="tmtool-export-err-")

    def tearDown(self):
        shutil.rmtree(self.out, ignore_errors=True)

    def assert_fails(self, code, *args, message=None):
        p = run(TMTOOL, "export", *args, check=False)
        self.assertEqual(p.returncode, code, p.stderr)
        self.assertEqual(p.stderr.count("\n"), 1, p.stderr)
        self.assertTrue(p.stderr.startswith("tmtool: "), p.stderr)
        if message:
            self.assertIn(message, p.stderr)
        self.assertEqual(os.listdir(self.out), [])

    def test_usage(self):
        out = os.path.join(self.out, "x.pb.gz")
        self.assert_fails(2, Fixture.odd, message="needs -o")
        self.assert_fails(2, "-o", out, message="at least one FILE")
        self.assert_fails(2, "-o", os.path.join(self.out, "x.bin"), Fixture.odd,
                          message="cannot tell the format")
        self.assert_fails(2, "--format", "svg", "-o", out, Fixture.odd,
                          message="unknown export format 'svg'")
        self.assert_fails(2, "--rows", "trace", "-o", out, Fixture.odd,
                          message="--rows is for --format parquet")
        self.assert_fails(2, "--merge", "-o", os.path.join(self.out, "x.parquet"),
                          Fixture.odd, message="--merge is for --format pprof")

    def test_bad_input_writes_nothing(self):
        bad = os.path.join(tempfile.gettempdir(), "tmtool-export-bad.tms")
        with open(Fixture.odd, "rb") as f:
            data = f.read()
        with open(bad, "wb") as f:
            f.write(data[:len(data) // 2])
        try:
            self.assert_fails(3, "-o", os.path.join(self.out, "x.pb.gz"),
                              Fixture.odd, bad, message="tmtool-export-bad.tms")
            self.assert_fails(3, "-o", os.path.join(self.out, "x.pb.gz"),
                              os.path.join(self.out, "missing.tms"))
        finally:
            os.unlink(bad)

    def test_refuses_to_overwrite_its_input(self):
        copy = os.path.join(tempfile.gettempdir(), "tmtool-export-in.pb.gz")
        shutil.copy(Fixture.odd, copy)
        try:
            p = run(TMTOOL, "export", "-o", copy, copy, check=False)
            self.assertEqual(p.returncode, 2)
            self.assertIn("refusing to overwrite", p.stderr)
            with open(copy, "rb") as a, open(Fixture.odd, "rb") as b:
                self.assertEqual(a.read(), b.read())
        finally:
            os.unlink(copy)

    def test_unwritable_directory(self):
        p = run(TMTOOL, "export", "-o", "/proc/tmtool-export/x.pb.gz",
                Fixture.odd, check=False)
        self.assertEqual(p.returncode, 3)
        self.assertIn("'/proc/tmtool-export/x.pb.gz'", p.stderr)
        self.assertIn("No such file or directory", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
