"""tmtool flame end to end (env TMTOOL, MKSNAP; CHROMIUM optional path).

Snapshots of known traces are built with mksnap; the expected call-path
sums are computed here from the traces with plain dicts.  The HTML page
is opened in a real headless Chromium: a screenshot is decoded here
(stdlib PNG reader) to see the graph drawn, and a copy of the page with a
test script appended is driven by real DOM events (hover, click, search),
its DOM dumped and read back.  The page must work offline: Chromium runs
with every host unresolvable and the HTML holds no URL.  Stdlib only."""
import json
import os
import re
import shutil
import struct
import subprocess
import tempfile
import unittest
import zlib

TMTOOL = os.environ["TMTOOL"]
MKSNAP = os.environ["MKSNAP"]
SERIES = "00112233445566778899aabbccddeeff"
MiB = 1 << 20
KiB = 1 << 10
HOSTILE = "/p/</script><script>document.title='pwned'</script>&lt\"\u2028.py"

# (address, size, frames most recent first)
TRACES = [
    (0x1000, 5 * MiB, [("/p/pkg/big.py", 7), ("/p/main.py", 3)]),
    (0x2000, 1 * MiB, [("/p/pkg/leak.py", 5), ("/p/pkg/mod.py", 12), ("/p/main.py", 3)]),
    (0x3000, 1 * MiB, [("/p/pkg/leak.py", 5), ("/p/pkg/mod.py", 12), ("/p/main.py", 3)]),
    (0x4000, 1 * MiB, [("/p/pkg/mod.py", 12), ("/p/main.py", 4)]),
    (0x5000, 300 * KiB, [(HOSTILE, 1), ("/p/main.py", 4)]),
    (0x6000, 40, []),
    (0x7000, 8 * KiB, [("/p/pkg/mod.py", None), ("/p/main.py", 4)]),
]


def fmt_size(size):
    """CPython tracemalloc's _format_size (no sign)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 100 and unit != "B":
            return "%.1f %s" % (size, unit)
        if abs(size) < 10 * 1024 or unit == "TiB":
            return "%.0f %s" % (size, unit)
        size /= 1024


def label(fr):
    f, l = fr
    return "%s:%s" % (f, "?" if l is None else l)


def paths(traces):
    """{(label, ...) from the oldest frame: [size, count]} per traceback."""
    out = {}
    for _, size, tb in traces:
        key = tuple(label(f) for f in reversed(tb)) or ("???:?",)
        s = out.setdefault(key, [0, 0])
        s[0] += size
        s[1] += 1
    return out


def subtree_size(traces, prefix):
    return sum(size for p, (size, _) in paths(traces).items()
               if p[:len(prefix)] == prefix)


def make(dirname, name, traces):
    lines = ["header 4242 1700000000000000000 5 " + SERIES]
    for addr, size, tb in traces:
        fr = ";".join(label(f) for f in tb) or "-"
        lines.append("trace %#x %d %s" % (addr, size, fr))
    path = os.path.join(dirname, name)
    subprocess.run([MKSNAP, path], input="\n".join(lines) + "\n", text=True,
                   check=True, capture_output=True)
    return path


def umask():
    m = os.umask(0o22)
    os.umask(m)
    return m


def run(*args):
    p = subprocess.run([TMTOOL] + [str(a) for a in args], capture_output=True,
                       text=True)
    return p.returncode, p.stdout, p.stderr


def read_png(path):
    """(width, height, rows of (r, g, b)) of an 8-bit non-interlaced PNG."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = ihdr
    assert depth == 8 and interlace == 0 and ctype in (2, 6), ihdr
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev, k = [], bytearray(stride), 0
    for _ in range(h):
        ft, line = raw[k], bytearray(raw[k + 1:k + 1 + stride])
        k += 1 + stride
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ft == 1:
                line[i] = (line[i] + a) & 255
            elif ft == 2:
                line[i] = (line[i] + b) & 255
            elif ft == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ft == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pr) & 255
        rows.append([tuple(line[i:i + 3]) for i in range(0, stride, bpp)])
        prev = line
    return w, h, rows


def chromium():
    exe = os.environ.get("CHROMIUM") or shutil.which("chromium") or \
        shutil.which("chromium-browser")
    if exe is None:
        raise AssertionError("chromium is needed by this test: install it "
                             "(tools/bootstrap.sh does)")
    return exe


class FlameTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="tmtool-flame-")
        cls.snap = make(cls.dir, "s.tms", TRACES)
        cls.total = sum(t[1] for t in TRACES)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir)

    # ---- folded stacks ----
    def test_collapsed_parses_and_sums_to_the_totals(self):
        rc, out, err = run("flame", "--format", "collapsed", "--filename-parts",
                           "0", self.snap)
        self.assertEqual(rc, 0, err)
        got = {}
        for line in out.split("\n")[:-1]:    # not splitlines: U+2028 is data
            m = re.fullmatch(r"(.+) (\d+)", line)
            self.assertIsNotNone(m, line)
            stack = tuple(m.group(1).split(";"))
            self.assertNotIn(stack, got, "one line per call path")
            got[stack] = int(m.group(2))
        want = {k: v[0] for k, v in paths(TRACES).items()}
        self.assertEqual(got, want)
        self.assertEqual(sum(got.values()), self.total)

    def test_collapsed_with_a_filter_sums_what_is_kept(self):
        rc, out, _ = run("flame", "--format", "collapsed", "-I", "*mod.py",
                         "--filename-parts", "0", self.snap)
        self.assertEqual(rc, 0)
        kept = [t for t in TRACES if any(f[0].endswith("mod.py") for f in t[2])]
        self.assertEqual(sum(int(l.rsplit(" ", 1)[1]) for l in out.split("\n")[:-1]),
                         sum(t[1] for t in kept))

    def test_collapsed_short_names(self):
        rc, out, _ = run("flame", "--format", "collapsed", self.snap)
        self.assertEqual(rc, 0)
        self.assertIn(".../p/pkg/big.py:7", out.split("\n")[0])

    # ---- the peak (format 1.1) ----
    def test_peak_draws_the_recorded_state_not_the_end(self):
        # at the end: only a small list; at the peak: a 100 MiB temporary
        peak = [(100 * MiB, 1, [("/p/load.py", 9), ("/p/main.py", 3)]),
                (2 * MiB, 40, [("/p/parse.py", 4), ("/p/load.py", 12), ("/p/main.py", 3)]),
                (4096, 2, [])]
        lines = ["header 4242 1700000000000000000 5 " + SERIES,
                 "trace 0x1000 5000 /p/keep.py:1;/p/main.py:5",
                 "peak %d %d 1700000000000000000" % (103 * MiB, 102 * MiB + 4096)]
        for size, count, tb in peak:
            lines.append("peakentry %s %d %d" % (";".join(label(f) for f in tb) or "-",
                                                 size, count))
        path = os.path.join(self.dir, "peak.tms")
        subprocess.run([MKSNAP, path], input="\n".join(lines) + "\n", text=True,
                       check=True)
        rc, out, err = run("flame", "--peak", "--format", "collapsed",
                           "--filename-parts", "0", path)
        self.assertEqual(rc, 0, err)
        got = {tuple(l.rsplit(" ", 1)[0].split(";")): int(l.rsplit(" ", 1)[1])
               for l in out.split("\n")[:-1]}
        want = {tuple(label(f) for f in reversed(tb)) or ("???:?",): size
                for size, _, tb in peak}
        self.assertEqual(got, want)
        rc, out, _ = run("flame", "--format", "collapsed", path)
        self.assertEqual(out, "/p/main.py:5;/p/keep.py:1 5000\n")
        page = os.path.join(self.dir, "peak.html")
        self.assertEqual(run("flame", "--peak", path, "-o", page)[0], 0)
        with open(page, encoding="utf-8") as f:
            text = f.read()
        self.assertIn("<title>Memory at the peak (%s of %s recorded): %s</title>"
                      % (fmt_size(102 * MiB + 4096), fmt_size(103 * MiB), path), text)
        os.unlink(page)
        # no peak in the file: one message, status 2
        rc, _, err = run("flame", "--peak", "--format", "collapsed", self.snap)
        self.assertEqual(rc, 2)
        self.assertIn("no peak", err)
        self.assertEqual(len(err.splitlines()), 1)
        # filters drop peak entries as they drop traces
        rc, out, _ = run("flame", "--peak", "--format", "collapsed", "-X",
                         "*/parse.py", path)
        self.assertEqual(rc, 0)
        self.assertEqual(sum(int(l.rsplit(" ", 1)[1]) for l in out.split("\n")[:-1]),
                         100 * MiB + 4096)
        os.unlink(path)

    # ---- the page as a file ----
    def html(self, *extra):
        out = os.path.join(self.dir, "report.html")
        rc, stdout, err = run("flame", self.snap, "-o", out, *extra)
        self.assertEqual((rc, stdout, err), (0, "", ""))
        with open(out, encoding="utf-8") as f:   # valid UTF-8
            return out, f.read()

    def test_page_is_self_contained_and_escaped(self):
        path, text = self.html()
        for pattern in (r"https?:", r"\bsrc\s*=", r"\bhref\s*=", r"url\(",
                        r"@import", r"//[a-z0-9.-]+\.[a-z]{2,}/"):
            self.assertIsNone(re.search(pattern, text, re.I), pattern)
        # the hostile name is data, never markup
        self.assertNotIn("<script>document.title", text)
        self.assertEqual(text.count("<script"), 2)
        self.assertEqual(text.count("</script>"), 2)
        data = re.search(r'<script type="application/json" id="tmtool-data">'
                         r'(.*?)</script>', text, re.S).group(1)
        doc = json.loads(data)
        self.assertEqual(doc["total_size"], self.total)
        self.assertIn(HOSTILE + ":1", [f[1] for f in doc["frames"]])
        nodes = doc["nodes"]
        self.assertEqual(nodes[2], self.total)     # the root's size
        # no debris beside the output, owner-readable file
        self.assertEqual([n for n in os.listdir(self.dir) if n.startswith(".")], [])
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o644 & ~umask())

    def test_title_is_escaped(self):
        _, text = self.html("--title", "<b>x</b> & y")
        self.assertIn("<title>&lt;b&gt;x&lt;/b&gt; &amp; y</title>", text)

    def test_bad_input_one_message_no_file(self):
        out = os.path.join(self.dir, "nodir", "r.html")
        rc, _, err = run("flame", self.snap, "-o", out)
        self.assertEqual(rc, 3)
        self.assertEqual(len(err.splitlines()), 1, err)
        self.assertFalse(os.path.exists(os.path.dirname(out)))
        bad = os.path.join(self.dir, "bad.tms")
        with open(bad, "wb") as f:
            f.write(b"not a snapshot")
        rc, _, err = run("flame", bad, "-o", os.path.join(self.dir, "r2.html"))
        self.assertEqual(rc, 3)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "r2.html")))
        os.unlink(bad)
        self.assertEqual(run("flame", self.snap, "-o", self.snap)[0], 2)
        self.assertEqual(run("flame", "--format", "json", self.snap)[0], 2)
        self.assertEqual(run("flame", self.snap, self.snap)[0], 2)

    def test_stats_only_snapshot_is_refused(self):
        p = os.path.join(self.dir, "nt.tms")
        subprocess.run([MKSNAP, p], input="header 1 1 5 %s\nstat /a.py:1 10 1\n"
                       % SERIES, text=True, check=True)
        rc, _, err = run("flame", "--format", "collapsed", p)
        os.unlink(p)
        self.assertEqual(rc, 2)
        self.assertIn("no traces", err)

    # ---- in a browser ----
    def browser(self, page, *args):
        prof = tempfile.mkdtemp(prefix="chromium-", dir=self.dir)
        cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu",
               "--no-first-run", "--hide-scrollbars", "--user-data-dir=" + prof,
               "--force-device-scale-factor=1", "--window-size=1000,600",
               # offline: any attempt to reach a host fails
               "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
               ] + list(args) + ["file://" + page]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        shutil.rmtree(prof, ignore_errors=True)
        return p

    def test_browser_draws_hovers_zooms_and_searches(self):
        page, text = self.html()
        total = self.total
        main3 = subtree_size(TRACES, ("/p/main.py:3",))
        main4 = subtree_size(TRACES, ("/p/main.py:4",))
        # drive the page with real DOM events; fractions of the width come
        # from the model here, the page turns them into pixels
        probe = """<script>
(function () {
  var c = document.getElementById("graph"), r = c.getBoundingClientRect();
  var W = c.clientWidth, out = {rect: [r.left, r.top, r.width, r.height]};
  function ev(type, fx, row) {
    c.dispatchEvent(new MouseEvent(type, {clientX: r.left + fx * W,
      clientY: r.top + row * 18 + 9, bubbles: true}));
  }
  function tip() { return document.getElementById("tip").textContent; }
  out.title = document.title;
  out.drawn = document.body.getAttribute("data-drawn");
  ev("mousemove", 0.01, 1); out.hover_main3 = tip();
  ev("mousemove", %(f4)s, 1); out.hover_main4 = tip();
  ev("mousemove", %(fh)s, 2); out.hover_hostile = tip();
  ev("click", 0.01, 1);
  out.crumbs = document.getElementById("crumbs").textContent;
  ev("mousemove", 0.01, 2); out.zoomed_big = tip();
  ev("mousemove", 0.99, 2); out.zoomed_mod = tip();
  var s = document.getElementById("search");
  s.value = "mod.py"; s.dispatchEvent(new Event("input"));
  out.search = document.getElementById("status").textContent;
  document.dispatchEvent(new KeyboardEvent("keydown", {key: "Escape"}));
  out.crumbs_after_escape = document.getElementById("crumbs").textContent;
  var pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>""" % {"f4": repr((main3 + main4 / 2) / total),
                "fh": repr((main3 + 1 * MiB + 150 * KiB) / total)}
        probed = os.path.join(self.dir, "probed.html")
        with open(probed, "w", encoding="utf-8") as f:
            f.write(text.replace("</body>", probe + "\n</body>"))
        p = self.browser(probed, "--dump-dom")
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        m = re.search(r'<pre id="probe">(.*?)</pre>', p.stdout, re.S)
        self.assertIsNotNone(m, p.stdout[-2000:])
        import html as html_mod
        got = json.loads(html_mod.unescape(m.group(1)))
        self.assertNotEqual(got["title"], "pwned")
        self.assertGreaterEqual(int(got["drawn"]), 8)
        self.assertIn("/p/main.py:3", got["hover_main3"])
        self.assertIn("size: %s (%s B" % (fmt_size(main3), format(main3, ",")),
                      got["hover_main3"])
        self.assertIn("%.1f%% of all" % (100 * main3 / total), got["hover_main3"])
        self.assertIn("/p/main.py:4", got["hover_main4"])
        self.assertIn(fmt_size(main4), got["hover_main4"])
        self.assertIn(HOSTILE + ":1", got["hover_hostile"])
        self.assertIn("allocated here: %s" % fmt_size(300 * KiB), got["hover_hostile"])
        self.assertEqual(got["crumbs"], "all \u203a /p/main.py:3")
        big = subtree_size(TRACES, ("/p/main.py:3", "/p/pkg/big.py:7"))
        self.assertIn("/p/pkg/big.py:7", got["zoomed_big"])
        self.assertIn("%.1f%% of the zoomed frame" % (100 * big / main3),
                      got["zoomed_big"])
        self.assertIn("/p/pkg/mod.py:12", got["zoomed_mod"])
        # mod.py:12 under main.py:3 and :4, and mod.py:? under main.py:4
        matched = 2 * MiB + 1 * MiB + 8 * KiB
        self.assertIn("search: 3 matching frames, %s B" % format(matched, ","),
                      got["search"])
        self.assertEqual(got["crumbs_after_escape"], "all")

        shot = os.path.join(os.environ.get("TM_ARTIFACTS", self.dir),
                            "flame-test.png")
        p = self.browser(page, "--screenshot=" + shot)
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        print("flame graph screenshot: %s" % shot)
        w, h, rows = read_png(shot)
        self.assertEqual((w, h), (1000, 600))
        left, top = int(got["rect"][0]), int(got["rect"][1])
        # a box's first pixel row is above its label's glyphs
        y1 = top + 18 + 1          # depth 1: main.py:3 from the left
        warm = [rows[y1][x] for x in range(left + 2, left + 600, 7)]
        self.assertTrue(all(r - b > 60 for r, g, b in warm),
                        "warm flame colours expected, got %r" % warm[:5])
        r_, g_, b_ = rows[top + 1][left + 20]       # the root is grey
        self.assertTrue(abs(r_ - b_) < 8 and 150 < r_ < 230, (r_, g_, b_))
        deep = top + 18 * 4 + 5                     # below the deepest row
        self.assertEqual(rows[deep][left + 20], (255, 255, 255))

    def test_browser_merges_frames_too_thin_to_draw(self):
        # one wide path and 3000 tiny ones: the tiny ones are one grey box
        # whose tooltip adds them up
        traces = [(0x100000, 10 * MiB, [("/p/big.py", 1)])] + [
            (0x200000 + 64 * i, 16, [("/p/tiny%d.py" % i, 1)]) for i in range(3000)]
        snap = make(self.dir, "thin.tms", traces)
        page = os.path.join(self.dir, "thin.html")
        self.assertEqual(run("flame", snap, "-o", page)[0], 0)
        with open(page, encoding="utf-8") as f:
            text = f.read()
        probe = """<script>
(function () {
  var c = document.getElementById("graph"), r = c.getBoundingClientRect();
  c.dispatchEvent(new MouseEvent("mousemove", {clientX: r.right - 1,
    clientY: r.top + 18 + 9, bubbles: true}));
  var pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = document.getElementById("tip").textContent;
  document.body.appendChild(pre);
})();
</script>"""
        with open(page, "w", encoding="utf-8") as f:
            f.write(text.replace("</body>", probe + "\n</body>"))
        p = self.browser(page, "--dump-dom")
        m = re.search(r'<pre id="probe">(.*?)</pre>', p.stdout, re.S)
        self.assertIsNotNone(m, p.stdout[-2000:])
        import html as html_mod
        tip = html_mod.unescape(m.group(1))
        n = re.match(r"(\d+) call paths too small to draw, under all", tip)
        self.assertIsNotNone(n, tip)
        # the ones left out are the smallest, all 16 B each
        self.assertIn("size: %s B" % format(16 * int(n.group(1)), ","), tip)
        self.assertGreater(int(n.group(1)), 1000)


if __name__ == "__main__":
    unittest.main(verbosity=2)
