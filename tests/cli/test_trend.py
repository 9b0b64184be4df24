"""tmtool trend end to end (env TMTOOL, MKSNAP).

A series of snapshots is built with mksnap from a model written here: a
site leaking a little in every interval, a one-off spike (a cache filled
once, far bigger), a site that comes and goes, a shrinking and a flat
one.  Every expected number (first/last size, change, intervals grown,
least-squares slope and r^2) is computed here from the model, and the
ranking must put the steady leak above the spike.  Stdlib only."""
import csv
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

TMTOOL = os.environ["TMTOOL"]
MKSNAP = os.environ["MKSNAP"]
SERIES = "00112233445566778899aabbccddeeff"
OTHER = "ffeeddccbbaa99887766554433221100"
T0 = 1700000000 * 10**9
STEP = 60 * 10**9          # a snapshot a minute
N = 8
MiB = 1 << 20


def sizes_at(i):
    """{(file, line): size} in snapshot i."""
    s = {
        ("/app/leak.py", 5): 4096 + 1500 * i,            # steady leak
        ("/app/cache.py", 9): 50 * MiB if i >= 3 else 0,  # one-off spike
        ("/app/flap.py", 2): 9000 if i % 2 else 1000,     # comes and goes
        ("/app/shrink.py", 1): 70000 - 1000 * i,
        ("/app/flat.py", 1): 300,
    }
    return {k: v for k, v in s.items() if v > 0}


def make(dirname, i, series=SERIES, ts=None):
    lines = ["header 1 %d 5 %s" % (T0 + i * STEP if ts is None else ts, series)]
    addr = 0x1000
    for (f, l), size in sizes_at(i).items():
        lines.append("trace %#x %d %s:%d;/app/main.py:1" % (addr, size, f, l))
        lines.append("stat %s:%d %d 1" % (f, l, size))
        addr += 0x100
    if ("/app/leak.py", 5) in sizes_at(i):
        lines.append("function /app/leak.py:5 Store.grow")
    path = os.path.join(dirname, "s%02d.tms" % i)
    subprocess.run([MKSNAP, path], input="\n".join(lines) + "\n", text=True,
                   check=True, capture_output=True)
    return path


def fit(xs, ys):
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    syy = sum((y - my) ** 2 for y in ys)
    slope = sxy / sxx
    r2 = sxy * sxy / (sxx * syy) if syy else 1.0
    return slope, r2


def model():
    rows = {}
    keys = set()
    for i in range(N):
        keys |= set(sizes_at(i))
    xs = [i * STEP / 1e9 for i in range(N)]
    for k in keys:
        ys = [sizes_at(i).get(k, 0) for i in range(N)]
        grew = sum(1 for a, b in zip(ys, ys[1:]) if b > a)
        shrank = sum(1 for a, b in zip(ys, ys[1:]) if b < a)
        slope, r2 = fit(xs, ys)
        rows[k] = dict(first=ys[0], last=ys[-1], change=ys[-1] - ys[0],
                       grew=grew, shrank=shrank, slope=slope, r2=r2, sizes=ys,
                       peak=max(ys))
    return rows


def run(*args):
    p = subprocess.run([TMTOOL] + [str(a) for a in args], capture_output=True,
                       text=True)
    return p.returncode, p.stdout, p.stderr


class TrendTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="tmtool-trend-")
        # written out of order: trend sorts by time
        cls.files = [make(cls.dir, i) for i in reversed(range(N))]
        cls.model = model()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir)

    def json(self, *args):
        rc, out, err = run("trend", "--format", "json", "-n", "0", *args)
        self.assertIn(rc, (0, 1), err)
        return rc, json.loads(out)

    def test_every_number_matches_the_model(self):
        for by in ("line", "traceback"):
            _, doc = self.json("--group-by", by, *self.files)
            self.assertEqual(doc["command"], "trend")
            self.assertEqual([f["file"] for f in doc["files"]], sorted(self.files))
            self.assertEqual(len(doc["sites"]), len(self.model))
            for e in doc["sites"]:
                k = ((e["filename"], e["lineno"]) if by == "line" else
                     (e["traceback"][0]["filename"], e["traceback"][0]["lineno"]))
                m = self.model[k]
                self.assertEqual((e["first_size"], e["last_size"], e["change"],
                                  e["grew"], e["shrank"], e["peak_size"], e["sizes"]),
                                 (m["first"], m["last"], m["change"], m["grew"],
                                  m["shrank"], m["peak"], m["sizes"]), k)
                self.assertEqual(e["intervals"], N - 1)
                self.assertAlmostEqual(e["steadiness"], m["grew"] / (N - 1))
                self.assertAlmostEqual(e["slope"], m["slope"], places=6)
                self.assertAlmostEqual(e["r2"], m["r2"], places=6)
                self.assertEqual(e["slope_unit"], "bytes/s")
            totals = [sum(sizes_at(i).values()) for i in range(N)]
            self.assertEqual(doc["total"], {"first_size": totals[0],
                                            "last_size": totals[-1],
                                            "change": totals[-1] - totals[0]})

    def test_steady_leak_ranks_above_the_one_off_spike(self):
        _, doc = self.json(*self.files)
        order = [(e["filename"], e["lineno"]) for e in doc["sites"]]
        self.assertEqual(order[0], ("/app/leak.py", 5))
        self.assertLess(order.index(("/app/leak.py", 5)),
                        order.index(("/app/cache.py", 9)))
        # the spike's change is bigger: it is ranked by steadiness, not size
        self.assertGreater(self.model[("/app/cache.py", 9)]["change"],
                           50 * self.model[("/app/leak.py", 5)]["change"])
        # shrinking sites come last
        self.assertEqual(order[-1], ("/app/shrink.py", 1))
        self.assertTrue(doc["sites"][0]["steady"])
        self.assertFalse(doc["sites"][order.index(("/app/cache.py", 9))]["steady"])

    def test_text_and_csv(self):
        rc, out, err = run("trend", *self.files)
        self.assertEqual((rc, err), (0, ""))
        lines = out.splitlines()
        self.assertTrue(lines[0].startswith("Trend of %d snapshots by line" % N))
        self.assertTrue(lines[1].startswith("#1: /app/leak.py:5 (Store.grow): +%s" %
                                            "10.3 KiB"), lines[1])
        self.assertIn("grew in 7/7 intervals", lines[1])
        self.assertIn("steady", lines[1])
        rc, out, _ = run("trend", "--format", "csv", "-n", "0", *self.files)
        self.assertEqual(rc, 0)
        rows = list(csv.DictReader(io.StringIO(out)))
        self.assertEqual(len(rows), len(self.model))
        for r in rows:
            m = self.model[(r["filename"], int(r["lineno"]))]
            self.assertEqual((int(r["first_size"]), int(r["last_size"]),
                              int(r["change"]), int(r["grew"])),
                             (m["first"], m["last"], m["change"], m["grew"]))
            self.assertAlmostEqual(float(r["slope"]), m["slope"],
                                   delta=abs(m["slope"]) * 1e-5 + 1e-9)
            self.assertEqual(r["traceback"], "")
        rc, out, _ = run("trend", "--format", "csv", "-n", "0", "--group-by",
                         "traceback", *self.files)
        rows = list(csv.DictReader(io.StringIO(out)))
        tbs = {r["traceback"] for r in rows}
        self.assertIn("/app/leak.py:5;/app/main.py:1", tbs)
        self.assertEqual(len(tbs), len(self.model))

    def test_by_function(self):
        # (file, function) keys: the leak's function, the other sites have
        # none and are one key per file
        _, doc = self.json("--group-by", "function", *self.files)
        self.assertEqual(doc["group_by"], "function")
        first = doc["sites"][0]
        self.assertEqual(first["key"], "/app/leak.py (Store.grow)")
        self.assertEqual((first["first_size"], first["last_size"]), (4096, 4096 + 1500 * (N - 1)))
        self.assertEqual(len(doc["sites"]), len(self.model))

    def test_ci_gate(self):
        # the leak grew 10.3 KiB over the run, the spike 50 MiB (not steady)
        rc, out, err = run("trend", "--fail-if-site-growth", "10KiB", *self.files)
        self.assertEqual(rc, 1)
        self.assertIn("1 site grew steadily", err)
        self.assertIn("/app/leak.py:5", err)
        self.assertNotIn("cache.py", err)
        self.assertEqual(run("trend", "--fail-if-site-growth", "11KiB",
                             *self.files)[0], 0)
        # --steady 100% keeps the leak (grew in 7/7)
        self.assertEqual(run("trend", "--steady", "100%", "--fail-if-site-growth",
                             "1KiB", *self.files)[0], 1)
        # the total grew by the spike
        rc, doc = self.json("--fail-if-growth", "40MiB", *self.files)
        self.assertEqual(rc, 1)
        self.assertTrue(doc["breached"])
        rc, doc = self.json("--fail-if-growth", "60MiB", *self.files)
        self.assertEqual(rc, 0)
        self.assertFalse(doc["breached"])

    def test_bad_input(self):
        rc, _, err = run("trend", self.files[0])
        self.assertEqual(rc, 2)
        self.assertEqual(len(err.splitlines()), 1)
        self.assertEqual(run("trend", "--steady", "2MiB", *self.files)[0], 2)
        self.assertEqual(run("trend", "--group-by", "address", *self.files)[0], 2)
        other = make(self.dir, 99, series=OTHER)
        rc, _, err = run("trend", other, *self.files)
        self.assertEqual(rc, 2, err)
        self.assertEqual(run("trend", "--no-order", other, *self.files[:2])[0], 0)
        os.unlink(other)
        bad = os.path.join(self.dir, "bad.tms")
        with open(bad, "wb") as f:
            f.write(b"\x89TMS nope")
        rc, _, err = run("trend", bad, *self.files)
        os.unlink(bad)
        self.assertEqual(rc, 3)
        self.assertEqual(len(err.splitlines()), 1, err)

    def test_equal_timestamps_give_a_slope_per_file(self):
        d = tempfile.mkdtemp(dir=self.dir)
        files = [make(d, i, ts=T0) for i in range(3)]
        _, doc = self.json("--no-order", *files)
        leak = [e for e in doc["sites"] if e["filename"] == "/app/leak.py"][0]
        self.assertEqual(leak["slope_unit"], "bytes/file")
        self.assertAlmostEqual(leak["slope"], 1500.0)



class DocsTest(unittest.TestCase):
    """Every option flame and trend take (read from their --help, which is
    generated from the option tables) is in the man page and in the bash,
    zsh and fish completions; bash completes the commands' names."""
    SRC = os.environ.get("TM_SOURCE_ROOT",
                         os.path.join(os.path.dirname(__file__), "..", ".."))

    def read(self, *path):
        with open(os.path.join(self.SRC, *path)) as f:
            return f.read()

    def test_options_documented_and_completed(self):
        man = self.read("man", "tmtool.1")
        bash = self.read("completions", "tmtool.bash")
        fish = self.read("completions", "tmtool.fish")
        zsh = self.read("completions", "_tmtool")
        for cmd in ("flame", "trend"):
            rc, out, _ = run(cmd, "--help")
            self.assertEqual(rc, 0)
            opts = set(re.findall(r"^\s+(?:-\w, )?--([a-z][a-z-]+)", out, re.M))
            self.assertIn("help", opts)
            self.assertIn(".SS %s\n" % cmd, man)
            for o in opts:
                self.assertIn("--" + o, bash, (cmd, o))
                self.assertIn("'--%s" % o, zsh.replace("{-", "'").replace(",--", "'--"),
                              (cmd, o))
                self.assertIn("-l " + o, fish, (cmd, o))
                self.assertIn(r"\-\-" + o.replace("-", r"\-"), man, (cmd, o))

    def test_bash_completes_the_commands(self):
        comp = os.path.join(self.SRC, "completions", "tmtool.bash")
        script = ('source "%s"; COMP_WORDS=(tmtool %s); COMP_CWORD=%d; _tmtool; '
                  'printf "%%s\\n" "${COMPREPLY[@]}"')
        def complete(words):
            p = subprocess.run(["bash", "-c", script % (comp, " ".join(
                "'%s'" % w for w in words), len(words))], capture_output=True,
                text=True)
            return set(p.stdout.split())
        self.assertEqual(complete(["fl"]), {"flame"})
        self.assertEqual(complete(["tr"]), {"trend"})
        self.assertEqual(complete(["flame", "--format", ""]), {"html", "collapsed"})
        self.assertIn("--steady", complete(["trend", "--st"]))


if __name__ == "__main__":
    unittest.main(verbosity=2)
