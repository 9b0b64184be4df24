"""bench/bench_tracer.py is run by hand; this keeps its driver working at
a tiny scale (a couple of seconds) so a change cannot break it unseen.
Nothing here is timed."""
import importlib.util
import json
import os
import subprocess
import sys

ROOT = os.environ.get("TMTRACE_SOURCE_ROOT") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(ROOT, "bench", "bench_tracer.py")


def bench(tmp_path, *args):
    return subprocess.run([sys.executable, BENCH, *args],
                          capture_output=True, text=True, timeout=300)


def test_tiny_run_reports_every_variant_against_untraced(tmp_path):
    out = tmp_path / "r.json"
    p = bench(tmp_path, "--repeat", "2", "--workloads", "churn:3000,docs:50",
              "--variants", "tmtrace:25,tm-sample,memray", "--sample", "4096",
              "--json", str(out))
    assert p.returncode == 0, p.stderr
    have_memray = importlib.util.find_spec("memray") is not None
    # memray is a bench-only dependency: without it the bench says how to
    # install it and still runs the rest
    assert ("pip install memray" in p.stdout) == (not have_memray)
    report = json.loads(out.read_text())
    assert [(w["name"], w["scale"]) for w in report["workloads"]] == \
        [("churn", 3000), ("docs", 50)]
    # NAME:FRAMES keeps one of a variant's two rows
    want = [("untraced", "-"), ("tmtrace", "25"),
            ("tm-sample", "1"), ("tm-sample", "25")]
    if have_memray:
        want.append(("memray", "all"))
    for w in report["workloads"]:
        rows = w["rows"]
        assert [(r["variant"], r["frames"]) for r in rows] == want
        base = rows[0]
        assert base["cpu_x"] == base["cpu_x_min"] == base["rss_x"] == 1.0
        for r in rows:
            assert len(r["runs"]) == 2
            assert all(x["cpu"] > 0 and x["rss"] > 0 for x in r["runs"])
            assert r["cpu_x_min"] <= r["cpu_x"] <= r["cpu_x_max"]
            # each ratio is against the untraced run of the same round
            ratios = sorted(x["cpu"] / b["cpu"]
                            for x, b in zip(r["runs"], base["runs"]))
            assert (r["cpu_x_min"], r["cpu_x_max"]) == (ratios[0], ratios[-1])
        # the table printed carries the same medians
        assert "%.2f" % rows[1]["cpu_x"] in p.stdout
    assert report["sample"] == 4096


def test_bad_arguments_give_one_message_and_fail(tmp_path):
    p = bench(tmp_path, "--workloads", "nosuch:10", "--repeat", "1")
    assert p.returncode != 0
    assert "unknown workload 'nosuch'" in p.stderr
    p = bench(tmp_path, "--workloads", "churn:many")
    assert p.returncode != 0 and "bad scale" in p.stderr
    p = bench(tmp_path, "--variants", "tmtrace,fastest", "--workloads",
              "churn:10")
    assert p.returncode != 0 and "unknown variant(s) fastest" in p.stderr
