"""tmtool and allocator domains (format 1.3, issue 12 item 3): grouping by
domain and --domain, checked against sums made here by hand from the spec
the snapshot is built from (mksnap, through libtms)."""

import csv
import io
import json
import os
import shutil
import subprocess
import tempfile
import unittest

TMTOOL = os.environ["TMTOOL"]
MKSNAP = os.environ["MKSNAP"]
NUMPY, NATIVE = 389047, 2**32 - 1

# (address, size, frames, domain)
TRACES = [
    (0x1000, 100, "app.py:10", 0),
    (0x1040, 60, "app.py:11", 0),
    (0x2000, 8_000_000, "app.py:10", NUMPY),
    (0x3000, 4_000, "app.py:12", NUMPY),
    (0x4000, 300, "lib.py:5;app.py:12", 7),
    (0x5000, 70_000, "app.py:12", NATIVE),
    (0x6000, 24, "-", 0),
]


def run(*args):
    p = subprocess.run([TMTOOL] + [str(a) for a in args], capture_output=True,
                       text=True)
    return p.returncode, p.stdout, p.stderr


def by_domain(traces):
    out = {}
    for _, size, _, dom in traces:
        s, c = out.get(dom, (0, 0))
        out[dom] = (s + size, c + 1)
    return out


def by_line(traces):
    out = {}
    for _, size, frames, _ in traces:
        key = frames.split(";")[0] if frames != "-" else None
        s, c = out.get(key, (0, 0))
        out[key] = (s + size, c + 1)
    return out


class DomainTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="tmtool-domains-")
        cls.path = os.path.join(cls.dir, "d.tms")
        spec = ["header 99 1700000000000000000 5 "
                "000102030405060708090a0b0c0d0e0f"]
        spec += ["trace %#x %d %s %d" % t for t in TRACES]
        p = subprocess.run([MKSNAP, cls.path], input="\n".join(spec) + "\n",
                           text=True, capture_output=True)
        assert p.returncode == 0, p.stderr

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir)

    def json_entries(self, *args):
        rc, out, err = run("top", "--format", "json", "-n", 0, *args)
        self.assertEqual(rc, 0, err)
        return json.loads(out)["reports"][0]

    def test_group_by_domain_equals_hand_sums(self):
        rep = self.json_entries("--group-by", "domain", self.path)
        got = {e["domain"]: (e["size"], e["count"]) for e in rep["entries"]}
        self.assertEqual(got, by_domain(TRACES))
        names = {e["domain"]: e["domain_name"] for e in rep["entries"]}
        self.assertEqual(names, {0: "Python", NUMPY: "numpy", 7: None,
                                 NATIVE: "native"})
        # largest first
        self.assertEqual([e["domain"] for e in rep["entries"]],
                         [NUMPY, NATIVE, 7, 0])
        self.assertEqual(rep["total"]["size"], sum(t[1] for t in TRACES))

    def test_text_names_the_domains(self):
        rc, out, err = run("top", "--group-by", "domain", self.path)
        self.assertEqual(rc, 0, err)
        self.assertIn("per allocator domain", out)
        self.assertIn("#1: domain 389047 (numpy): size=7816 KiB, count=2", out)
        self.assertIn("domain 4294967295 (native)", out)
        self.assertIn("domain 7: size=300 B, count=1", out)

    def test_csv_carries_the_domain(self):
        rc, out, err = run("top", "--group-by", "domain", "--format", "csv",
                           self.path)
        self.assertEqual(rc, 0, err)
        rows = list(csv.DictReader(io.StringIO(out)))
        got = {int(r["domain"]): (int(r["size"]), int(r["count"]))
               for r in rows if r["kind"] == "entry"}
        self.assertEqual(got, by_domain(TRACES))
        total = [r for r in rows if r["kind"] == "total"][0]
        self.assertEqual(total["domain"], "")

    def test_domain_filter_by_line(self):
        for arg, dom in (("389047", NUMPY), ("numpy", NUMPY), ("0", 0),
                         ("python", 0), ("native", NATIVE), ("7", 7)):
            kept = [t for t in TRACES if t[3] == dom]
            rep = self.json_entries("--domain", arg, self.path)
            got = {("%s:%s" % (e["filename"], e["lineno"])
                    if e["filename"] is not None else None):
                   (e["size"], e["count"]) for e in rep["entries"]}
            self.assertEqual(got, by_line(kept), arg)

    def test_domain_filter_with_pattern_filters(self):
        kept = [t for t in TRACES if t[3] == NUMPY and "app.py:12" in t[2]]
        rep = self.json_entries("--domain", "numpy", "-i", "*:12", self.path)
        self.assertEqual(rep["total"]["size"], sum(t[1] for t in kept))

    def test_filter_writes_only_that_domain_and_keeps_it(self):
        out = os.path.join(self.dir, "numpy.tms")
        rc, _, err = run("filter", "--domain", "numpy", self.path, "-o", out)
        self.assertEqual(rc, 0, err)
        rep = self.json_entries("--group-by", "domain", out)
        self.assertEqual({e["domain"]: (e["size"], e["count"])
                          for e in rep["entries"]},
                         {NUMPY: by_domain(TRACES)[NUMPY]})

    def test_diff_by_domain(self):
        out = os.path.join(self.dir, "py.tms")
        self.assertEqual(run("filter", "--domain", "0", self.path, "-o",
                             out)[0], 0)
        rc, o, err = run("diff", out, self.path, "--group-by", "domain",
                         "--format", "json")
        self.assertEqual(rc, 0, err)
        ent = {e["domain"]: e["size_diff"]
               for e in json.loads(o)["reports"][0]["entries"]}
        sums = by_domain(TRACES)
        self.assertEqual(ent, {d: (0 if d == 0 else sums[d][0])
                               for d in sums})

    def test_bad_domain_is_a_usage_error(self):
        for bad in ("numpyy", "-1", "4294967296", "", "0x10"):
            rc, out, err = run("top", "--domain", bad, self.path)
            self.assertEqual(rc, 2, (bad, err))
            self.assertEqual(out, "")
            self.assertEqual(len(err.splitlines()), 1, err)
            self.assertIn("--domain", err)

    def test_domain_needs_traces(self):
        stats = os.path.join(self.dir, "stats.tms")
        p = subprocess.run([MKSNAP, stats], text=True, capture_output=True,
                           input="header 1 0 1 " + "00" * 16 +
                           "\nstat a.py:1 10 1\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        for args in (("--domain", "0"), ("--group-by", "domain")):
            rc, out, err = run("top", stats, *args)
            self.assertNotEqual(rc, 0, args)
            self.assertIn("no traces", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
