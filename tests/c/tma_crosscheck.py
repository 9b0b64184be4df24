"""Independent cross-check of libtma (the other half: test_tma_crossgen.c).

For each seed, runs the C generator, which prints two random snapshots'
traces and everything libtma computed from them.  Recomputes the same from
the traces with plain dicts, following PEP 454 and the rules in tma.h, and
compares: groupings (each key, size, count, totals, the cumulative flag
actually applied), merged groupings, diffs in their sorted order
(compare_to with and without an old grouping), and apply_filters (kept
traces in order, recomputed stats).

Usage: tma_crosscheck.py GENERATOR [NSEEDS]
"""
import json
import re
import subprocess
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pep454_oracle import cumulative_applies, group_traces  # noqa: E402


def frame_of(tb):
    """Most recent frame; an empty traceback is the unknown frame."""
    return tuple(tb[0]) if tb else (None, None)


def group(snap, by, cumulative):
    """The grouping, whether cumulative applied, and the totals, by the
    tests' one reading of the PEP (tests/pep454_oracle.py)."""
    limit = snap["limit"]
    stats = group_traces(snap["traces"], by, cumulative, limit)
    total = (sum(t[1] for t in snap["traces"]), len(snap["traces"]))
    return stats, cumulative_applies(by, cumulative, limit), total


def c_key(by, key):
    """A key as printed by the generator, made hashable."""
    if by == "line":
        return tuple(key)
    if by == "traceback":
        return tuple(tuple(f) for f in key)
    return key


def norm(by, key):
    """compare_to's key: None filename -> '', None lineno -> 0."""
    def frame(f):
        return ("" if f[0] is None else f[0], 0 if f[1] is None else f[1])
    if by == "filename":
        return "" if key is None else key
    if by == "line":
        return frame(key)
    if by == "traceback":
        return tuple(frame(f) for f in key)
    return key


def compare_to(by, new, old):
    new = {norm(by, k): v for k, v in new.items()}
    if old is None:
        return [(0, s, 0, c, k) for k, (s, c) in new.items()]
    old = {norm(by, k): v for k, v in old.items()}
    out = []
    for k, (s, c) in new.items():
        ps, pc = old.pop(k, (0, 0))
        out.append((s - ps, s, c - pc, c, k))
    for k, (s, c) in old.items():
        out.append((-s, 0, -c, 0, k))
    return out


def stat_key(d):
    return (abs(d[0]), d[1], abs(d[2]), d[3], d[4])


def glob_regex(pattern):
    if pattern.endswith((".pyc", ".pyo")):
        pattern = pattern[:-1]
    return re.compile(".*".join(re.escape(p) for p in pattern.split("*")),
                      re.DOTALL)


def match_name(regex, name):
    name = name or ""
    if name.endswith((".pyc", ".pyo")):
        name = name[:-1]
    return regex.fullmatch(name) is not None


def filter_match_tb(f, tb, use_tb):
    include, pattern, lineno, traceback = f
    regex = glob_regex(pattern)
    frames = [tuple(x) for x in tb] or [(None, None)]
    if not (use_tb and traceback):
        frames = frames[:1]
    for name, line in frames:
        line_ok = lineno is None or lineno < 1 or (line is not None and line == lineno)
        if line_ok and match_name(regex, name):
            return True
    return False


def keep(filters, tb, limit):
    use_tb = limit >= 2
    if any(filter_match_tb(f, tb, use_tb) for f in filters if not f[0]):
        return False
    inc = [f for f in filters if f[0]]
    return not inc or any(filter_match_tb(f, tb, use_tb) for f in inc)


def check_seed(gen, seed):
    out = subprocess.run([gen, str(seed)], check=True, capture_output=True)
    lines = [json.loads(l) for l in out.stdout.decode("utf-8").splitlines()]
    snaps = {l["name"]: l for l in lines if l["kind"] == "snap"}
    errors = []
    checked = 0
    last_groups, last_cum, last_total = {}, {}, {}
    for rec in lines:
        kind = rec["kind"]
        if kind == "group":
            by, req = rec["by"], bool(rec["cumulative_req"])
            got = {}
            for key, s, c in rec["items"]:
                k = c_key(by, key)
                if k in got:
                    errors.append(f"{by}: key {k!r} listed twice")
                got[k] = (s, c)
            if rec["snap"] == "merged":
                want = {}
                for part in ("old", "new"):
                    for k, (s, c) in last_groups[part].items():
                        ps, pc = want.get(k, (0, 0))
                        want[k] = (ps + s, pc + c)
                want_cum = last_cum["old"] and last_cum["new"]
                want_total = tuple(a + b for a, b in zip(last_total["old"],
                                                         last_total["new"]))
            else:
                want, want_cum, want_total = group(snaps[rec["snap"]], by, req)
                last_groups[rec["snap"]] = want
                last_cum[rec["snap"]] = want_cum
                last_total[rec["snap"]] = want_total
            what = f"seed {seed} {rec['snap']} by {by} cumulative={req}"
            if got != want:
                errors.append(f"{what}: groups differ: "
                              f"{sorted(set(got.items()) ^ set(want.items()), key=repr)[:5]}")
            if bool(rec["cumulative"]) != want_cum:
                errors.append(f"{what}: cumulative flag {rec['cumulative']}")
            if tuple(rec["total"]) != want_total:
                errors.append(f"{what}: total {rec['total']} != {want_total}")
            checked += 1
        elif kind == "diff":
            by = rec["by"]
            old = last_groups["old"] if rec["with_old"] else None
            want = sorted(compare_to(by, last_groups["new"], old),
                          key=stat_key, reverse=True)
            got = [(sd, s, cd, c, norm(by, c_key(by, k)))
                   for sd, s, cd, c, k in rec["items"]]
            if got != want:
                first = next(i for i, (a, b) in enumerate(zip(got + [None] * len(want), want + [None] * len(got))) if a != b)
                errors.append(f"seed {seed} diff by {by} cumulative={rec['cumulative_req']} "
                              f"with_old={rec['with_old']}: first difference at {first}: "
                              f"{got[first] if first < len(got) else None} != "
                              f"{want[first] if first < len(want) else None}")
            checked += 1
        elif kind == "filter":
            snap = snaps["new"]
            filters = [tuple(f) for f in rec["filters"]]
            kept = [t for t in snap["traces"] if keep(filters, t[2], snap["limit"])]
            if rec["kept"] != [t[0] for t in kept]:
                errors.append(f"seed {seed} filters {filters}: kept "
                              f"{len(rec['kept'])} traces, want {len(kept)}")
            want = {}
            for addr, size, tb in kept:
                f = frame_of(tb)
                s, c = want.get(f, (0, 0))
                want[f] = (s + size, c + 1)
            got = {tuple(fr): (s, c) for fr, s, c in rec["stats"]}
            if got != want:
                errors.append(f"seed {seed} filters {filters}: stats differ")
            checked += 1
    return checked, errors


def main():
    gen = sys.argv[1]
    nseeds = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    total, errors = 0, []
    for seed in range(1, nseeds + 1):
        n, errs = check_seed(gen, seed)
        total += n
        errors += errs
    for e in errors[:30]:
        print("FAIL", e)
    print(f"tma_crosscheck: {total} comparisons over {nseeds} seeds, "
          f"{len(errors)} failed")
    return 1 if errors or total == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
