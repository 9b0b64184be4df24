"""What a new user meets in the first hour (issue 14), end to end on the
built tmtool: every CSV output parsed with Python's csv module, filters
that match nothing, --only-mine, metrics off by default in text,
diff --growth-only, breach listings cut to -n, and the hint of a file
without traces.

Snapshots come from mksnap with the traces of test_cli (env MKSNAP);
expected numbers are computed here from those traces."""
import csv
import io
import json
import os
import shutil
import subprocess
import tempfile
import unittest
from shlex import quote as shlex_quote

from test_cli import (BASE, GROWN, METRICS_A, METRICS_B, diff, group, keep,
                      run, spec, MKSNAP)


def parse_csv(text):
    """Rows of text, by Python's csv module; every row must have the
    header's number of fields."""
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows, "no CSV output"
    return rows


class FrictionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="tmtool-friction-")
        cls.a = cls.make("a.tms", BASE, 1700000000, metrics=METRICS_A)
        cls.b = cls.make("b.tms", GROWN, 1700000060, metrics=METRICS_B)
        cls.c = cls.make("c.tms", GROWN[:5], 1700000120, metrics=METRICS_A[:1])
        cls.nt = cls.make("nt.tms", BASE, 1700000000, with_traces=False)
        # a name with a comma and a quote: CSV must quote it
        cls.odd = cls.make('odd, "name".tms', BASE, 1700000180)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir)

    @classmethod
    def make(cls, name, traces, secs, **kw):
        path = os.path.join(cls.dir, name)
        p = subprocess.run([MKSNAP, path], input=spec(traces, secs * 10**9, **kw),
                           text=True, capture_output=True)
        if p.returncode != 0:
            raise RuntimeError("mksnap failed: " + p.stderr)
        return path

    def csv_rows(self, *args, code=0):
        rc, out, err = run(*args, "--format", "csv")
        self.assertEqual(rc, code, (args, err))
        rows = parse_csv(out)
        width = len(rows[0])
        for i, row in enumerate(rows):
            self.assertEqual(len(row), width, (args, i, row, rows[0]))
        return rows

    # ---- item 4: every CSV output has the header's width on every row ----
    def test_every_csv_output_is_rectangular(self):
        for by in ("line", "filename", "traceback", "address", "domain"):
            self.csv_rows("top", self.a, "--group-by", by, "-n", 2)
            self.csv_rows("top", self.a, "--group-by", by, "--cumulative")
        self.csv_rows("top", self.a, self.b, self.c, "-n", 0)
        self.csv_rows("top", "--merge", self.a, self.b)
        self.csv_rows("top", "--address", "0x1180", self.a, self.b)
        self.csv_rows("top", "--address", "0x2000", self.a, self.b)
        self.csv_rows("top", self.odd, "--group-by", "traceback")
        self.csv_rows("diff", self.a, self.b, self.c, "-n", 3)
        self.csv_rows("diff", self.a, self.b, "--fail-if-growth", "1KiB",
                      "--fail-if-site-growth", "1B", code=1)
        self.csv_rows("metrics", self.a)
        self.csv_rows("trend", self.a, self.b, self.c)
        out = os.path.join(self.dir, "filtered.tms")
        self.csv_rows("filter", self.a, "-o", out, "-x", "*/json/*")

    def test_metrics_csv_of_a_series(self):
        # The header had an empty field after each file name: 24 fields
        # for 16 per row with three files.
        rows = self.csv_rows("metrics", self.a, self.b, self.c)
        self.assertEqual(rows[0], ["name", "format", "first", "last", "change",
                                   "min", "max", self.a, self.b, self.c])
        by_name = {r[0]: r for r in rows[1:]}
        self.assertEqual(by_name["gc.objects"][2:],
                         ["1000", "1000", "0", "1000", "1500", "1000", "1500", "1000"])
        # a metric missing from a file is an empty cell, not a shifted row
        self.assertEqual(by_name["process_memory.rss"][7:],
                         [str(10 << 20), str(16 << 20), ""])
        rows = self.csv_rows("metrics", self.odd, self.a)
        self.assertIn(self.odd, rows[0])

    # ---- item 3: filters that match nothing ----
    def test_filter_matching_nothing_warns_with_a_hint(self):
        rc, out, err = run("top", self.a, "-i", "mod.py")
        self.assertEqual(rc, 0)
        self.assertIn("Total: size=0 B", out)
        self.assertIn("warning: filter -i 'mod.py' matches no block", err)
        self.assertIn("'*/mod.py'", err)
        # the hinted pattern works and warns nothing
        rc, out, err = run("top", self.a, "-i", "*/mod.py")
        self.assertEqual((rc, err), (0, ""))
        # ".pyc" compares as ".py" (PEP 454)
        want = sum(s for _, s, tb in BASE
                   if tb and tb[0][0].endswith(("/mod.py", "/mod.pyc")))
        self.assertIn("Total: size=%d B" % want, out)
        # each of several filters is checked; the exclusive one too
        rc, out, err = run("top", self.a, "-I", "*/main.py", "-x", "nothing.py",
                           "-X", "/nowhere/*")
        self.assertEqual(rc, 0)
        self.assertNotIn("'*/main.py'", err)
        self.assertIn("filter -x 'nothing.py' matches no block", err)
        self.assertIn("filter -X '/nowhere/*' matches no block in the file\n", err)
        # a series: a filter is fine if it matches in any file
        rc, out, err = run("diff", self.a, self.b, "-i", "*/leak.py")
        self.assertEqual((rc, err), (0, ""))
        rc, out, err = run("diff", self.a, self.b, "-i", "*/gone.py")
        self.assertIn("matches no block in any file", err)
        # without traces the statistics are what is matched
        rc, out, err = run("top", self.nt, "-i", "*/big.py")
        self.assertEqual((rc, err), (0, ""))
        # json stays clean on stdout
        rc, out, err = run("top", self.a, "-i", "mod.py", "--format", "json")
        json.loads(out)
        self.assertIn("matches no block", err)
        # every command that filters warns once (export pprof said it twice)
        for cmd in (["top"], ["flame", "-o", os.path.join(self.dir, "f.html")],
                    ["export", "--format", "pprof", "-o",
                     os.path.join(self.dir, "f.pb")],
                    ["filter", "-o", os.path.join(self.dir, "f.tms")]):
            rc, out, err = run(*cmd, self.a, "-i", "mod.py")
            self.assertEqual((cmd, rc, err.count("matches no block")),
                             (cmd, 0, 1))

    def test_only_mine_drops_imports_packages_and_stdlib(self):
        traces = BASE + [
            # (mksnap's spec has no spaces: "<frozen importlib._bootstrap>"
            # is matched by the same "<frozen*" pattern)
            (0x3000, 77, [("<frozen_importlib._bootstrap>", 241)]),
            (0x3040, 99, [("/v/lib/python3.11/site-packages/req/x.py", 5),
                          ("/home/u/proj/main.py", 9)]),
            (0x3080, 55, [("/usr/lib/python3/dist-packages/y.py", 1)]),
        ]
        path = self.make("mine.tms", traces, 1700000300)
        rc, out, err = run("top", path, "--only-mine", "-n", 0, "--format", "json")
        self.assertEqual((rc, err), (0, ""))
        (rep,) = json.loads(out)["reports"]
        mine = [t for t in traces if not t[2] or not (
            t[2][0][0].startswith("<frozen") or "/lib/python3" in t[2][0][0]
            or "/dist-packages/" in t[2][0][0])]
        self.assertEqual(rep["total"]["size"], sum(t[1] for t in mine))
        names = {e["filename"] for e in rep["entries"]}
        self.assertEqual(names, {t[2][0][0] if t[2] else None for t in mine})
        rc, out, _ = run("top", "--help")
        self.assertIn("--only-mine", out)

    # ---- item 5: noise ----
    def test_metrics_are_opt_in_in_text(self):
        rc, out, _ = run("top", self.a)
        self.assertNotIn("gc.objects", out)
        rc, out, _ = run("top", self.a, "--metrics")
        self.assertIn("gc.objects: 1000", out)
        rc, out, _ = run("diff", self.a, self.b, "--metrics")
        self.assertIn("gc.objects: 1500 (+500)", out)
        rc, out, _ = run("diff", self.a, self.b)
        self.assertNotIn("gc.objects", out)
        # JSON is for programs: metrics stay unless --no-metrics
        rc, out, _ = run("top", self.a, "--format", "json")
        self.assertTrue(json.loads(out)["reports"][0]["metrics"])
        rc, out, _ = run("top", self.a, "--format", "json", "--no-metrics")
        self.assertEqual(json.loads(out)["reports"][0]["metrics"], [])

    def test_metrics_of_a_series_have_one_title_line(self):
        rc, out, _ = run("metrics", self.a, self.b, self.c)
        self.assertEqual(rc, 0)
        title, blank = out.splitlines()[:2]
        self.assertEqual(blank, "")
        self.assertTrue(title.startswith(self.a + ", ") and "(3 files)" in title, title)
        self.assertNotIn(" metrics\n", out)

    def test_diff_growth_only(self):
        rc, out, err = run("diff", self.a, self.b, "--growth-only", "-n", 0,
                           "--format", "json")
        self.assertEqual((rc, err), (0, ""))
        (rep,) = json.loads(out)["reports"]
        want = [d for d in diff(group(BASE), group(GROWN), "line") if d[0] > 0]
        got = [(e["size_diff"], e["size"], e["count_diff"], e["count"],
                (e["filename"], e["lineno"])) for e in rep["entries"]]
        self.assertEqual(got, want)
        self.assertEqual(rep["total"]["size"], sum(t[1] for t in GROWN))
        rc, out, _ = run("diff", self.a, self.b, "--growth-only")
        self.assertNotIn("(-", "\n".join(l for l in out.splitlines()
                                         if l.startswith("#")))

    def test_breach_lists_the_top_sites_and_counts_the_rest(self):
        many_old = [(0x100000 + 64 * i, 10, [("/p/f%d.py" % i, 1)]) for i in range(30)]
        many_new = [(0x100000 + 64 * i, 10 + 100 * (30 - i), [("/p/f%d.py" % i, 1)])
                    for i in range(30)]
        old = self.make("m0.tms", many_old, 1700000400)
        new = self.make("m1.tms", many_new, 1700000460)
        rc, out, err = run("diff", old, new, "-n", 3, "--fail-if-growth", "1B")
        self.assertEqual(rc, 1)
        section = out[out.index("threshold breached"):].splitlines()
        sites = [l for l in section[1:] if l.startswith("  /p/")]
        self.assertEqual([l.split(":")[0].strip() for l in sites],
                         ["/p/f0.py", "/p/f1.py", "/p/f2.py"])
        self.assertIn("  27 more sites (-n 0 lists all)", section)
        rc, out, err = run("diff", old, new, "-n", 0, "--fail-if-growth", "1B")
        section = out[out.index("threshold breached"):].splitlines()
        self.assertEqual(len([l for l in section if l.startswith("  /p/")]), 30)
        # JSON keeps every site
        rc, out, _ = run("diff", old, new, "-n", 3, "--fail-if-growth", "1B",
                         "--format", "json")
        (rep,) = json.loads(out)["reports"]
        self.assertEqual(len(rep["breaches"][0]["sites"]), 30)

    # ---- the new options are documented and completed everywhere ----
    def test_every_option_in_the_man_page_and_completions(self):
        import re
        src = os.environ.get("TM_SOURCE_ROOT",
                             os.path.join(os.path.dirname(__file__), "..", ".."))

        def read(*path):
            with open(os.path.join(src, *path)) as f:
                return f.read()
        man, bash = read("man", "tmtool.1"), read("completions", "tmtool.bash")
        fish, zsh = read("completions", "tmtool.fish"), read("completions", "_tmtool")
        for cmd in ("top", "diff", "filter", "metrics"):
            rc, out, _ = run(cmd, "--help")
            self.assertEqual(rc, 0)
            for o in set(re.findall(r"^\s+(?:-\w, )?--([a-z][a-z-]+)", out, re.M)):
                self.assertIn("--" + o, bash, (cmd, o))
                self.assertIn("-l " + o, fish, (cmd, o))
                self.assertIn("--" + o, zsh, (cmd, o))
                self.assertIn(r"\-\-" + o.replace("-", r"\-"), man, (cmd, o))
        rc, out, _ = run("top", "--help")
        self.assertIn("whole file name", out)

    # ---- item 9: help -h, completion scripts from tmtool itself ----
    def test_help_h_lists_the_commands(self):
        for args in (["help", "-h"], ["help", "--help"], ["help", "help"]):
            rc, out, err = run(*args)
            self.assertEqual((rc, err), (0, ""), args)
            self.assertTrue(out.startswith("usage: tmtool "), args)
            self.assertIn("completion", out)

    def test_completion_prints_the_installed_scripts(self):
        src = os.environ.get("TM_SOURCE_ROOT",
                             os.path.join(os.path.dirname(__file__), "..", ".."))
        for shell, name in (("bash", "tmtool.bash"), ("zsh", "_tmtool"),
                            ("fish", "tmtool.fish")):
            rc, out, err = run("completion", shell)
            self.assertEqual((rc, err), (0, ""))
            with open(os.path.join(src, "completions", name)) as f:
                self.assertEqual(out, f.read(), shell)
            # each parses in its own shell (tools/bootstrap.sh installs them)
            p = subprocess.run([shell, "-n"] if shell != "fish" else
                               ["fish", "--no-execute"], input=out,
                               capture_output=True, text=True)
            self.assertEqual((p.returncode, p.stderr), (0, ""), shell)
        rc, out, err = run("completion", "ksh")
        self.assertEqual((rc, out), (2, ""))
        self.assertIn("unknown shell 'ksh'", err)
        # what `source <(tmtool completion bash)` gives a bash session
        script = ('source <("%s" completion bash); COMP_WORDS=(tmtool compl); '
                  'COMP_CWORD=1; _tmtool; printf "%%s\\n" "${COMPREPLY[@]}"; '
                  'COMP_WORDS=(tmtool completion ""); COMP_CWORD=2; _tmtool; '
                  'printf "%%s\\n" "${COMPREPLY[@]}"' % os.environ["TMTOOL"])
        p = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
        self.assertEqual(p.stdout.split(), ["completion", "bash", "zsh", "fish"], p.stderr)

    def test_fish_offers_only_tms_files(self):
        # fish is installed by tools/bootstrap.sh
        fish = shutil.which("fish")
        self.assertIsNotNone(fish, "fish is not installed (tools/bootstrap.sh installs it)")
        d = tempfile.mkdtemp(dir=self.dir)
        os.mkdir(os.path.join(d, "sub"))
        for name in ("a.tms", "b.txt", "c.tms.bak", "sub/d.tms", "sub/e.py"):
            open(os.path.join(d, name), "w").close()
        rc, script, _ = run("completion", "fish")

        def complete(line):
            p = subprocess.run([fish, "--no-config", "-c",
                                "source; complete -C %s" % shlex_quote(line)],
                               input=script, capture_output=True, text=True, cwd=d)
            self.assertEqual(p.stderr, "")
            return sorted(l.split("\t")[0] for l in p.stdout.splitlines())
        self.assertEqual(complete("tmtool top "), ["a.tms", "sub/"])
        self.assertEqual(complete("tmtool diff a.tms sub/"), ["sub/d.tms"])
        self.assertEqual(complete("tmtool completion "), ["bash", "fish", "zsh"])

    # ---- item 6: what to re-run with ----
    def test_no_traces_says_how_to_get_them(self):
        for args in (["--group-by", "traceback"], ["--cumulative"],
                     ["--address", "0x1000"]):
            rc, out, err = run("top", self.nt, *args)
            self.assertEqual(rc, 2, (args, err))
            self.assertIn("no traces", err)
            self.assertIn("python -m tmtrace run --traces", err)
            self.assertEqual(len(err.splitlines()), 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
