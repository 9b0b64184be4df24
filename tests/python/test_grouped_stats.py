"""GroupedStats.compare_to and StatsDiff.sort (PEP 454).

Groupings made by Snapshot.top_by and GroupedStats built by hand from
dicts are both compared and sorted by libtma (C); there is no Python
copy of the rule.  Both are checked against expectations written by hand
and against the rule written here from scratch (order_key) on random
data."""
import datetime
import random

import pytest

from tmtrace._snapshot import GroupedStats, Snapshot, StatsDiff

TS = datetime.datetime(2013, 10, 3, 12, 0, 0)
TS2 = datetime.datetime(2013, 10, 3, 12, 0, 5)


def order_key(item):
    # the spec: abs(size_diff), size, abs(count_diff), count, then key
    return (abs(item[0]), item[1], abs(item[2]), item[3], item[4])


def test_attributes_and_defaults():
    stats = {"/a.py": (10, 1)}
    g = GroupedStats(TS, stats, "filename")
    assert (g.timestamp, g.stats, g.group_by, g.cumulative, g.metrics) == \
        (TS, stats, "filename", False, {})
    m = {"x": object()}
    g = GroupedStats(TS, stats, "filename", True, m)
    assert g.cumulative is True and g.metrics is m


def test_compare_to_none():
    g = GroupedStats(TS, {"/a.py": (10, 1), "/b.py": (3, 2)}, "filename")
    d = g.compare_to()
    assert isinstance(d, StatsDiff)
    assert d.old_stats is None and d.new_stats is g
    assert sorted(d.differences) == [(0, 3, 0, 2, "/b.py"),
                                     (0, 10, 0, 1, "/a.py")]


def test_compare_to_old_by_hand():
    old = GroupedStats(TS, {("/a.py", 1): (10, 1), ("/a.py", 2): (4, 4),
                            ("/gone.py", 9): (7, 7)}, "line")
    new = GroupedStats(TS2, {("/a.py", 1): (15, 2), ("/a.py", 2): (4, 4),
                             ("/new.py", 3): (1, 1)}, "line")
    d = new.compare_to(old)
    assert d.old_stats is old and d.new_stats is new
    assert sorted(d.differences) == sorted([
        (5, 15, 1, 2, ("/a.py", 1)),
        (0, 4, 0, 4, ("/a.py", 2)),
        (1, 1, 1, 1, ("/new.py", 3)),
        (-7, 0, -7, 0, ("/gone.py", 9))])
    d.sort()
    assert [x[4] for x in d.differences] == [
        ("/gone.py", 9), ("/a.py", 1), ("/new.py", 3), ("/a.py", 2)]


def test_none_replaced_in_keys():
    g = GroupedStats(TS, {(None, None): (1, 1), ("/a.py", None): (2, 1),
                          (None, 3): (3, 1)}, "line")
    assert sorted(g.compare_to().differences) == [
        (0, 1, 0, 1, ("", 0)), (0, 2, 0, 1, ("/a.py", 0)),
        (0, 3, 0, 1, ("", 3))]
    g = GroupedStats(TS, {None: (1, 1), "/a.py": (2, 2)}, "filename")
    d = g.compare_to()
    d.sort()
    assert d.differences == [(0, 2, 0, 2, "/a.py"), (0, 1, 0, 1, "")]
    # the grouping's own stats keep None
    assert None in g.stats


def test_sort_order_by_hand():
    # every tie-breaker in turn decides one pair
    diffs = [
        (-5, 1, 0, 0, "a"),    # abs(size_diff) 5
        (5, 1, 0, 0, "b"),     # same abs: then size, then ... key "b" > "a"
        (3, 9, 0, 0, "c"),
        (3, 8, -2, 0, "d"),
        (3, 8, 1, 5, "e"),     # abs(count_diff) 2 beats 1
        (3, 8, 1, 4, "f"),
        (3, 8, 1, 4, "g"),
    ]
    d = StatsDiff(list(reversed(diffs)), None, None)
    d.sort()
    assert [x[4] for x in d.differences] == ["b", "a", "c", "d", "e", "g",
                                             "f"]


def test_sort_is_biggest_first_by_rule():
    rnd = random.Random(5)
    diffs = [(rnd.randint(-3, 3), rnd.randint(0, 3), rnd.randint(-2, 2),
              rnd.randint(0, 2), "k%d" % i) for i in range(300)]
    d = StatsDiff(list(diffs), None, None)
    d.sort()
    assert d.differences == sorted(diffs, key=order_key, reverse=True)


def test_different_groupings_refused():
    a = GroupedStats(TS, {}, "line")
    b = GroupedStats(TS, {}, "filename")
    with pytest.raises(ValueError):
        a.compare_to(b)
    s = Snapshot(TS, 1, {1: (1, (("/a.py", 1),))})
    with pytest.raises(ValueError):
        s.top_by("line").compare_to(s.top_by("filename"))


# ---- top_by groupings vs hand-made dicts ------------------------------------------------

def random_traces(seed, n=2000):
    rnd = random.Random(seed)
    names = ["/r/f%d.py" % i for i in range(5)] + [None]
    frames = [(rnd.choice(names), rnd.choice([None, 1, 2, 3]))
              for _ in range(30)]
    tbs = [tuple(rnd.choice(frames) for _ in range(rnd.randint(0, 3)))
           for _ in range(100)]
    return {rnd.randrange(2**40): (rnd.choice([8, 16, 32, 100]),
                                   rnd.choice(tbs))
            for _ in range(n)}


@pytest.mark.parametrize("group_by", ["filename", "line", "traceback",
                                      "address"])
@pytest.mark.parametrize("cumulative", [False, True])
def test_top_by_and_hand_made_agree(group_by, cumulative):
    old_traces = random_traces(10)
    new_traces = dict(list(old_traces.items())[:1200])
    new_traces.update(random_traces(11, 900))
    old = Snapshot(TS, 1, old_traces).top_by(group_by, cumulative)
    new = Snapshot(TS2, 1, new_traces).top_by(group_by, cumulative)
    assert new._groups is not None        # the C route is taken
    c_diff = new.compare_to(old)
    assert c_diff._diff is not None
    c_diff.sort()
    c_list = c_diff.differences

    # the same data as plain dicts: made into libtma groupings too
    h_old = GroupedStats(TS, dict(old.stats), group_by, old.cumulative)
    h_new = GroupedStats(TS2, dict(new.stats), group_by, new.cumulative)
    p_diff = h_new.compare_to(h_old)
    assert h_new._groups is None and p_diff._diff is not None
    p_diff.sort()
    assert c_list == p_diff.differences

    # and both equal the rule applied here from scratch
    expected = sorted(p_diff.differences, key=order_key, reverse=True)
    assert c_list == expected
    assert len({x[4] for x in c_list}) == len(c_list)

    # compare_to(None) too, and sorting after reading the list
    c_none = new.compare_to(None)
    unsorted = list(c_none.differences)
    c_none.sort()
    p_none = h_new.compare_to(None)
    p_none.sort()
    assert c_none.differences == p_none.differences
    assert sorted(unsorted, key=order_key, reverse=True) == \
        c_none.differences


def test_mixed_routes():
    traces = random_traces(12, 300)
    c = Snapshot(TS, 1, traces).top_by("line")
    h = GroupedStats(TS, dict(c.stats), "line")
    d1 = c.compare_to(h)
    d2 = h.compare_to(c)
    d1.sort()
    d2.sort()
    assert d1.differences == d2.differences
    assert all(x[0] == 0 and x[2] == 0 for x in d1.differences)


def test_stats_assignment_switches_to_python():
    g = Snapshot(TS, 1, {1: (5, (("/a.py", 1),))}).top_by("line")
    g.stats = {("/b.py", 2): (7, 1)}
    assert g.compare_to().differences == [(0, 7, 0, 1, ("/b.py", 2))]
