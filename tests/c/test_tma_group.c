/* test_tma_group.c -- Snapshot.top_by, compare_to, StatsDiff.sort and
 * merge.  Expected groups are summed by hand from the fixture below. */
#include <string.h>

#include "check.h"
#include "tma_fixture.h"

/* The fixture (traceback_limit as given):
 *   T1 = [a.py:1, b.py:1]          0x10 100, 0x20 50   -> (150, 2)
 *   T2 = [a.py:2, a.py:1, a.py:2]  0x30 7  (recursion) -> (7, 1)
 *   T3 = []                        0x40 3              -> (3, 1)
 *   T4 = [b.py:1]                  0x50 1000           -> (1000, 1)
 * and hand-made stats that differ from the traces, to see which is used:
 *   a.py:1 (11, 1), b.py:1 (22, 2), b.py:1 again (1, 1), c.py:4 (33, 3) */
static uint32_t T1, T2, T3, T4;

static tms_snapshot *snap_a(uint32_t limit, int with_traces)
{
    tms_snapshot *s = fx_new(limit);
    uint32_t a1 = fx_frame(s, "a.py", 1), a2 = fx_frame(s, "a.py", 2);
    uint32_t b1 = fx_frame(s, "b.py", 1);
    uint32_t t1f[2] = {a1, b1}, t2f[3] = {a2, a1, a2}, t4f[1] = {b1};
    T1 = fx_tb(s, 2, t1f);
    T2 = fx_tb(s, 3, t2f);
    T3 = fx_tb(s, 0, NULL);
    T4 = fx_tb(s, 1, t4f);
    if (with_traces) {
        fx_trace(s, 0x10, 100, T1);
        fx_trace(s, 0x20, 50, T1);
        fx_trace(s, 0x30, 7, T2);
        fx_trace(s, 0x40, 3, T3);
        fx_trace(s, 0x50, 1000, T4);
    }
    fx_stat(s, "a.py", 1, 11, 1);
    fx_stat(s, "b.py", 1, 22, 2);
    fx_stat(s, "b.py", 1, 1, 1);
    fx_stat(s, "c.py", 4, 33, 3);
    return s;
}

static const tma_stat *find_tb(const tma_groups *g, uint32_t tb)
{
    for (size_t i = 0; i < g->n; i++)
        if (g->items[i].key.traceback == tb)
            return &g->items[i];
    return NULL;
}

static const tma_stat *find_addr(const tma_groups *g, uint64_t a)
{
    for (size_t i = 0; i < g->n; i++)
        if (g->items[i].key.address == a)
            return &g->items[i];
    return NULL;
}

static void test_group_names(void)
{
    tma_group_by by;
    CHECK("parse filename", tma_group_by_parse("filename", &by) == 0 && by == TMA_BY_FILENAME);
    CHECK("parse line", tma_group_by_parse("line", &by) == 0 && by == TMA_BY_LINE);
    CHECK("parse traceback", tma_group_by_parse("traceback", &by) == 0 && by == TMA_BY_TRACEBACK);
    CHECK("parse address", tma_group_by_parse("address", &by) == 0 && by == TMA_BY_ADDRESS);
    CHECK("parse rejects lineno", tma_group_by_parse("lineno", &by) == TMS_E_ARG);
    CHECK("parse is case sensitive", tma_group_by_parse("Line", &by) == TMS_E_ARG);
    CHECK("names", strcmp(tma_group_by_name(TMA_BY_LINE), "line") == 0 &&
                       strcmp(tma_group_by_name(TMA_BY_ADDRESS), "address") == 0 &&
                       tma_group_by_name((tma_group_by)9) == NULL);
}

static void test_group_stats_based(void)
{
    tms_snapshot *s = snap_a(5, 1);
    tma_groups g;
    tms_error err;
    CHECK("line, not cumulative", tma_group(s, TMA_BY_LINE, 0, &g, &err) == 0);
    CHECK("line uses stats, duplicates summed",
          g.n == 3 && fx_is(fx_find_line(&g, "a.py", 1), 11, 1) &&
              fx_is(fx_find_line(&g, "b.py", 1), 23, 3) &&
              fx_is(fx_find_line(&g, "c.py", 4), 33, 3));
    CHECK("line totals from stats", g.total_size == 67 && g.total_count == 7);
    CHECK("line flags", g.by == TMA_BY_LINE && g.cumulative == 0);
    tma_groups_free(&g);

    CHECK("filename, not cumulative", tma_group(s, TMA_BY_FILENAME, 0, &g, &err) == 0);
    CHECK("filename from stats", g.n == 3 && fx_is(fx_find_file(&g, "a.py"), 11, 1) &&
                                     fx_is(fx_find_file(&g, "b.py"), 23, 3) &&
                                     fx_is(fx_find_file(&g, "c.py"), 33, 3));
    tma_groups_free(&g);
    tma_groups_free(&g);
    CHECK("free twice is safe", g.items == NULL && g.n == 0);
    tma_groups_free(NULL);
    tms_snapshot_free(s);
}

static void test_group_traces(void)
{
    tms_snapshot *s = snap_a(5, 1);
    tma_groups g;
    tms_error err;

    /* cumulative line: T1 -> a.py:1, b.py:1 (+150, 2); T2 -> a.py:2 once,
     * a.py:1 (+7, 1); T3 -> (None, None) (+3, 1); T4 -> b.py:1 (+1000, 1) */
    CHECK("cumulative line", tma_group(s, TMA_BY_LINE, 1, &g, &err) == 0);
    CHECK("cumulative line items", g.n == 4 && g.cumulative == 1);
    CHECK("a.py:1 = T1 + T2", fx_is(fx_find_line(&g, "a.py", 1), 157, 3));
    CHECK("recursion counted once: a.py:2 = T2",
          fx_is(fx_find_line(&g, "a.py", 2), 7, 1));
    CHECK("b.py:1 = T1 + T4", fx_is(fx_find_line(&g, "b.py", 1), 1150, 3));
    CHECK("empty traceback under (None, None)",
          fx_is(fx_find_line(&g, NULL, TMS_LINENO_NONE), 3, 1));
    CHECK("totals over traces, not items", g.total_size == 1160 && g.total_count == 5);
    tma_groups_free(&g);

    /* cumulative filename: T1 -> a, b; T2 -> a once; T3 -> None; T4 -> b */
    CHECK("cumulative filename", tma_group(s, TMA_BY_FILENAME, 1, &g, &err) == 0);
    CHECK("cumulative filename items",
          g.n == 3 && g.cumulative == 1 && fx_is(fx_find_file(&g, "a.py"), 157, 3) &&
              fx_is(fx_find_file(&g, "b.py"), 1150, 3) &&
              fx_is(fx_find_file(&g, NULL), 3, 1));
    tma_groups_free(&g);

    CHECK("traceback", tma_group(s, TMA_BY_TRACEBACK, 0, &g, &err) == 0);
    CHECK("traceback items", g.n == 4 && fx_is(find_tb(&g, T1), 150, 2) &&
                                 fx_is(find_tb(&g, T2), 7, 1) &&
                                 fx_is(find_tb(&g, T3), 3, 1) &&
                                 fx_is(find_tb(&g, T4), 1000, 1));
    CHECK("traceback totals", g.total_size == 1160 && g.total_count == 5);
    tma_groups_free(&g);

    CHECK("traceback cumulative is ignored",
          tma_group(s, TMA_BY_TRACEBACK, 1, &g, &err) == 0 && g.cumulative == 0 &&
              g.n == 4 && fx_is(find_tb(&g, T2), 7, 1));
    tma_groups_free(&g);

    CHECK("address", tma_group(s, TMA_BY_ADDRESS, 1, &g, &err) == 0);
    CHECK("address: one item per trace, cumulative ignored",
          g.n == 5 && g.cumulative == 0 && fx_is(find_addr(&g, 0x10), 100, 1) &&
              fx_is(find_addr(&g, 0x20), 50, 1) && fx_is(find_addr(&g, 0x50), 1000, 1) &&
              g.total_size == 1160 && g.total_count == 5);
    tma_groups_free(&g);
    tms_snapshot_free(s);

    /* traceback_limit 1: cumulative ignored -> the stats are used */
    s = snap_a(1, 1);
    CHECK("limit 1: cumulative line ignored",
          tma_group(s, TMA_BY_LINE, 1, &g, &err) == 0 && g.cumulative == 0 &&
              g.n == 3 && fx_is(fx_find_line(&g, "b.py", 1), 23, 3));
    tma_groups_free(&g);
    tms_snapshot_free(s);
}

static void test_group_unknown_frame_interned(void)
{
    /* an explicit unknown frame and an empty traceback are one group */
    tms_snapshot *s = fx_new(5);
    uint32_t u = fx_frame(s, NULL, TMS_LINENO_NONE), a = fx_frame(s, "a.py", 3);
    uint32_t f1[2] = {u, a}, f2[3] = {a, u, a};
    uint32_t t1 = fx_tb(s, 2, f1), t2 = fx_tb(s, 0, NULL), t3 = fx_tb(s, 3, f2);
    fx_trace(s, 1, 10, t1);
    fx_trace(s, 2, 20, t2);
    fx_trace(s, 3, 40, t3);
    tma_groups g;
    tms_error err;
    CHECK("cumulative line with an unknown frame",
          tma_group(s, TMA_BY_LINE, 1, &g, &err) == 0 && g.n == 2 &&
              fx_is(fx_find_line(&g, NULL, TMS_LINENO_NONE), 70, 3) &&
              fx_is(fx_find_line(&g, "a.py", 3), 50, 2));
    tma_groups_free(&g);
    CHECK("cumulative filename with an unknown frame",
          tma_group(s, TMA_BY_FILENAME, 1, &g, &err) == 0 && g.n == 2 &&
              fx_is(fx_find_file(&g, NULL), 70, 3) &&
              fx_is(fx_find_file(&g, "a.py"), 50, 2));
    tma_groups_free(&g);
    tms_snapshot_free(s);
}

static void test_group_errors(void)
{
    tms_snapshot *s = snap_a(5, 0);
    tma_groups g;
    tms_error err;
    CHECK("stats only: address needs traces",
          tma_group(s, TMA_BY_ADDRESS, 0, &g, &err) == TMS_E_ARG &&
              strstr(err.msg, "snapshot has no traces") != NULL && g.items == NULL &&
              g.n == 0);
    CHECK("stats only: traceback needs traces",
          tma_group(s, TMA_BY_TRACEBACK, 0, &g, &err) == TMS_E_ARG &&
              strstr(err.msg, "snapshot has no traces") != NULL);
    CHECK("stats only: cumulative needs traces",
          tma_group(s, TMA_BY_LINE, 1, &g, &err) == TMS_E_ARG &&
              strstr(err.msg, "snapshot has no traces") != NULL);
    CHECK("stats only: line works", tma_group(s, TMA_BY_LINE, 0, &g, &err) == 0 && g.n == 3);
    tma_groups_free(&g);
    CHECK("stats only: filename works",
          tma_group(s, TMA_BY_FILENAME, 0, &g, &err) == 0 && g.n == 3);
    tma_groups_free(&g);
    tms_snapshot_free(s);

    s = snap_a(1, 0);
    CHECK("stats only, limit 1: cumulative ignored, so it works",
          tma_group(s, TMA_BY_FILENAME, 1, &g, &err) == 0 && g.cumulative == 0 &&
              fx_is(fx_find_file(&g, "c.py"), 33, 3));
    tma_groups_free(&g);
    CHECK("bad grouping", tma_group(s, (tma_group_by)7, 0, &g, &err) == TMS_E_ARG);
    CHECK("NULL snapshot", tma_group(NULL, TMA_BY_LINE, 0, &g, &err) == TMS_E_ARG);
    tms_snapshot_free(s);

    tms_snapshot *e = fx_new(5);
    CHECK("empty snapshot groups to nothing",
          tma_group(e, TMA_BY_LINE, 0, &g, &err) == 0 && g.n == 0 && g.total_size == 0);
    tma_groups_free(&g);
    tms_snapshot_free(e);
}

/* --- keys, diff, sort, merge ------------------------------------------ */

static tma_key line_key(const tms_snapshot *s, uint32_t name, int32_t lineno)
{
    tma_key k;
    memset(&k, 0, sizeof k);
    k.snap = s;
    k.filename = name;
    k.lineno = lineno;
    return k;
}

static void test_key_cmp(void)
{
    tms_snapshot *s = fx_new(5);
    uint32_t a = fx_str(s, "a"), ab = fx_str(s, "ab"), b = fx_str(s, "b");
    uint32_t z = fx_str(s, "z"), e = fx_str(s, "\xc3\xa9"), empty = fx_str(s, "");
    tma_key ka = line_key(s, a, 1), kab = line_key(s, ab, 1), kb = line_key(s, b, 1);
    tma_key kz = line_key(s, z, 1), ke = line_key(s, e, 1);
    tma_key ka2 = line_key(s, a, 2), knone = line_key(s, TMS_NONE, TMS_LINENO_NONE);
    tma_key kempty0 = line_key(s, empty, 0);
    CHECK("a < ab", tma_key_cmp(TMA_BY_LINE, &ka, &kab) < 0);
    CHECK("ab < b", tma_key_cmp(TMA_BY_LINE, &kab, &kb) < 0);
    CHECK("b > a", tma_key_cmp(TMA_BY_LINE, &kb, &ka) > 0);
    CHECK("U+00E9 > z (code point order)", tma_key_cmp(TMA_BY_LINE, &ke, &kz) > 0);
    CHECK("same name: line decides", tma_key_cmp(TMA_BY_LINE, &ka, &ka2) < 0);
    CHECK("filename grouping ignores line", tma_key_cmp(TMA_BY_FILENAME, &ka, &ka2) == 0);
    CHECK("(None, None) equals ('', 0)", tma_key_cmp(TMA_BY_LINE, &knone, &kempty0) == 0);
    CHECK("None sorts first", tma_key_cmp(TMA_BY_LINE, &knone, &ka) < 0);
    tma_key x1, x2;
    memset(&x1, 0, sizeof x1);
    memset(&x2, 0, sizeof x2);
    x1.address = 5;
    x2.address = 0xffffffffffffffffULL;
    CHECK("addresses as unsigned integers", tma_key_cmp(TMA_BY_ADDRESS, &x1, &x2) < 0);

    uint32_t fa1 = fx_frame(s, "a", 1), fa2 = fx_frame(s, "a", 2), fb = fx_frame(s, "b", 1);
    uint32_t p1[1] = {fa1}, p2[2] = {fa1, fb}, p3[2] = {fa2, fa1}, p4[1] = {fb};
    tma_key t1 = line_key(s, 0, 0), t2 = t1, t3 = t1, t4 = t1, t0 = t1;
    t1.traceback = fx_tb(s, 1, p1);
    t2.traceback = fx_tb(s, 2, p2);
    t3.traceback = fx_tb(s, 2, p3);
    t4.traceback = fx_tb(s, 1, p4);
    t0.traceback = fx_tb(s, 0, NULL);
    CHECK("traceback: empty first", tma_key_cmp(TMA_BY_TRACEBACK, &t0, &t1) < 0);
    CHECK("traceback: prefix first", tma_key_cmp(TMA_BY_TRACEBACK, &t1, &t2) < 0);
    CHECK("traceback: first frame's line decides",
          tma_key_cmp(TMA_BY_TRACEBACK, &t2, &t3) < 0);
    CHECK("traceback: first frame's name decides over length",
          tma_key_cmp(TMA_BY_TRACEBACK, &t3, &t4) < 0);
    CHECK("traceback equals itself", tma_key_cmp(TMA_BY_TRACEBACK, &t3, &t3) == 0);
    tms_snapshot_free(s);
}

/* Two stats-only snapshots built separately: string ids differ. */
static tms_snapshot *snap_old(void)
{
    tms_snapshot *s = fx_new(5);
    fx_str(s, "zzz.py");
    fx_str(s, "b.py");
    fx_stat(s, "b.py", 2, 50, 1);
    fx_stat(s, "gone.py", 3, 30, 3);
    fx_stat(s, "a.py", 1, 100, 2);
    return s;
}

static tms_snapshot *snap_new(void)
{
    tms_snapshot *s = fx_new(5);
    fx_stat(s, "a.py", 1, 160, 3);
    fx_stat(s, "c.py", 5, 20, 1);
    fx_stat(s, "b.py", 2, 50, 1);
    return s;
}

static int item_is(const tma_diff_item *d, int64_t sd, uint64_t size, int64_t cd,
                   uint64_t count, const char *name, int32_t lineno)
{
    return d->size_diff == sd && d->size == size && d->count_diff == cd &&
           d->count == count && fx_same_name(fx_key_name(&d->key), name) &&
           d->key.lineno == lineno;
}

static void test_diff(void)
{
    tms_snapshot *so = snap_old(), *sn = snap_new();
    CHECK("string ids really differ",
          tms_snapshot_find_string(so, "a.py", 4) != tms_snapshot_find_string(sn, "a.py", 4));
    tma_groups go, gn;
    tma_diff d;
    tms_error err;
    CHECK("group old", tma_group(so, TMA_BY_LINE, 0, &go, &err) == 0);
    CHECK("group new", tma_group(sn, TMA_BY_LINE, 0, &gn, &err) == 0);
    CHECK("diff", tma_diff_compute(&go, &gn, &d, &err) == 0 && d.n == 4 &&
                      d.by == TMA_BY_LINE);
    tma_diff_sort(&d);
    /* by abs(size_diff): a.py:1 +60, gone.py:3 -30, c.py:5 +20, b.py:2 0 */
    CHECK("1st: in both, grew", d.n == 4 && item_is(&d.items[0], 60, 160, 1, 3, "a.py", 1));
    CHECK("2nd: only in old", d.n == 4 && item_is(&d.items[1], -30, 0, -3, 0, "gone.py", 3));
    CHECK("3rd: only in new", d.n == 4 && item_is(&d.items[2], 20, 20, 1, 1, "c.py", 5));
    CHECK("4th: unchanged", d.n == 4 && item_is(&d.items[3], 0, 50, 0, 1, "b.py", 2));
    tma_diff_free(&d);
    tma_diff_free(&d);
    tma_diff_free(NULL);

    CHECK("compare_to(None)", tma_diff_compute(NULL, &gn, &d, &err) == 0 && d.n == 3);
    tma_diff_sort(&d);
    CHECK("compare_to(None): zero diffs, by size",
          d.n == 3 && item_is(&d.items[0], 0, 160, 0, 3, "a.py", 1) &&
              item_is(&d.items[1], 0, 50, 0, 1, "b.py", 2) &&
              item_is(&d.items[2], 0, 20, 0, 1, "c.py", 5));
    tma_diff_free(&d);

    tma_groups gf;
    CHECK("group old by filename", tma_group(so, TMA_BY_FILENAME, 0, &gf, &err) == 0);
    CHECK("different groupings refuse",
          tma_diff_compute(&gf, &gn, &d, &err) == TMS_E_ARG && d.items == NULL &&
              strstr(err.msg, "filename") != NULL);
    tma_groups_free(&gf);
    tma_groups_free(&go);
    tma_groups_free(&gn);
    tms_snapshot_free(so);
    tms_snapshot_free(sn);
}

static void test_sort_ties(void)
{
    tms_snapshot *o = fx_new(5), *n = fx_new(5);
    /* only in new, so all (+10, 10, +1, 1): the key decides, descending */
    fx_stat(n, "x.py", 1, 10, 1);
    fx_stat(n, "y.py", 1, 10, 1);
    fx_stat(n, "x.py", 2, 10, 1);
    /* +20 (size 20) beats -20 (size 0) on size */
    fx_stat(n, "grow.py", 1, 20, 1);
    fx_stat(o, "shrink.py", 1, 20, 1);
    /* equal abs(size_diff) and size: abs(count_diff) decides */
    fx_stat(o, "c1.py", 1, 5, 1);
    fx_stat(n, "c1.py", 1, 10, 2);     /* +5, 10, +1, 2 */
    fx_stat(o, "c2.py", 1, 5, 4);
    fx_stat(n, "c2.py", 1, 10, 1);     /* +5, 10, -3, 1 */
    /* then count */
    fx_stat(o, "d1.py", 1, 1, 1);
    fx_stat(n, "d1.py", 1, 2, 2);      /* +1, 2, +1, 2 */
    fx_stat(o, "d2.py", 1, 1, 4);
    fx_stat(n, "d2.py", 1, 2, 5);      /* +1, 2, +1, 5 */
    fx_stat(n, "x.py", 3, 10, 1);
    fx_stat(o, "x.py", 3, 10, 1);      /* 0, 10, 0, 1 */
    tma_groups go, gn;
    tma_diff d;
    tms_error err;
    CHECK("group", tma_group(o, TMA_BY_LINE, 0, &go, &err) == 0 &&
                       tma_group(n, TMA_BY_LINE, 0, &gn, &err) == 0);
    CHECK("diff", tma_diff_compute(&go, &gn, &d, &err) == 0 && d.n == 10);
    tma_diff_sort(&d);
    /* (abs sd, size, abs cd, count, key) descending:
     * grow (20,20,1,1) > shrink (20,0,1,0)
     * > y.py:1, x.py:2, x.py:1 (10,10,1,1), tie broken by key
     * > c2 (5,10,3,1) > c1 (5,10,1,2) > d2 (1,2,1,5) > d1 (1,2,1,2)
     * > x.py:3 (0,10,0,1) */
    const char *names[10] = {"grow.py", "shrink.py", "y.py", "x.py", "x.py",
                             "c2.py", "c1.py", "d2.py", "d1.py", "x.py"};
    int32_t lines[10] = {1, 1, 1, 2, 1, 1, 1, 1, 1, 3};
    int ok = d.n == 10;
    for (size_t i = 0; ok && i < 10; i++)
        ok = fx_same_name(fx_key_name(&d.items[i].key), names[i]) &&
             d.items[i].key.lineno == lines[i];
    CHECK("sort order incl. ties by key and negative diffs", ok);
    CHECK("shrink's diff is negative", d.n == 10 && d.items[1].size_diff == -20 &&
                                           d.items[1].count_diff == -1);
    tma_diff_free(&d);
    tma_groups_free(&go);
    tma_groups_free(&gn);
    tms_snapshot_free(o);
    tms_snapshot_free(n);
}

static void test_diff_by_value(void)
{
    tma_groups g, go;
    tma_diff d;
    tms_error err;
    /* (None, None) and ("", 0) are one key in a diff */
    tms_snapshot *n = fx_new(5);
    fx_stat(n, NULL, TMS_LINENO_NONE, 1, 1);
    fx_stat(n, "", 0, 2, 1);
    CHECK("group", tma_group(n, TMA_BY_LINE, 0, &g, &err) == 0 && g.n == 2);
    CHECK("None and '' collapse", tma_diff_compute(NULL, &g, &d, &err) == 0 &&
                                      d.n == 1 && d.items[0].size == 3 &&
                                      d.items[0].count == 2);
    tma_diff_free(&d);
    tma_groups_free(&g);
    tms_snapshot_free(n);

    /* tracebacks by value across snapshots, addresses as integers */
    tms_snapshot *o = fx_new(5);
    n = fx_new(5);
    fx_str(o, "pad");
    uint32_t of[2] = {fx_frame(o, "b.py", 2), fx_frame(o, "a.py", 1)};
    uint32_t nf[2] = {fx_frame(n, "b.py", 2), fx_frame(n, "a.py", 1)};
    uint32_t other[1] = {fx_frame(n, "a.py", 1)};
    fx_tb(o, 0, NULL);
    uint32_t ot = fx_tb(o, 2, of), nt = fx_tb(n, 2, nf), nt2 = fx_tb(n, 1, other);
    fx_trace(o, 0x100, 10, ot);
    fx_trace(o, 0x200, 5, ot);
    fx_trace(n, 0x100, 12, nt);
    fx_trace(n, 0x300, 1, nt2);
    CHECK("tb ids differ", ot != nt);
    CHECK("group tracebacks", tma_group(o, TMA_BY_TRACEBACK, 0, &go, &err) == 0 &&
                                  tma_group(n, TMA_BY_TRACEBACK, 0, &g, &err) == 0);
    CHECK("diff tracebacks", tma_diff_compute(&go, &g, &d, &err) == 0 && d.n == 2);
    tma_diff_sort(&d);
    /* same traceback: 12 - 15 = -3, count 1 - 2 = -1; new one: +1, +1 */
    CHECK("same traceback matched by value",
          d.n == 2 && d.items[0].size_diff == -3 && d.items[0].size == 12 &&
              d.items[0].count_diff == -1 && d.items[0].count == 1 &&
              d.items[1].size_diff == 1 && d.items[1].key.traceback == nt2);
    tma_diff_free(&d);
    tma_groups_free(&go);
    tma_groups_free(&g);

    CHECK("group addresses", tma_group(o, TMA_BY_ADDRESS, 0, &go, &err) == 0 &&
                                 tma_group(n, TMA_BY_ADDRESS, 0, &g, &err) == 0);
    CHECK("diff addresses", tma_diff_compute(&go, &g, &d, &err) == 0 && d.n == 3);
    tma_diff_sort(&d);
    /* 0x100: +2 (12); 0x200: -5 (0); 0x300: +1 (1) -> 0x200, 0x100, 0x300 */
    CHECK("address diff order",
          d.n == 3 && d.items[0].key.address == 0x200 && d.items[0].size_diff == -5 &&
              d.items[1].key.address == 0x100 && d.items[1].size_diff == 2 &&
              d.items[2].key.address == 0x300 && d.items[2].size_diff == 1);
    tma_diff_free(&d);
    tma_groups_free(&go);
    tma_groups_free(&g);
    tms_snapshot_free(o);
    tms_snapshot_free(n);
}

static void test_merge(void)
{
    tms_snapshot *so = snap_old(), *sn = snap_new();
    tma_groups parts[2], m;
    tms_error err;
    CHECK("group", tma_group(so, TMA_BY_LINE, 0, &parts[0], &err) == 0 &&
                       tma_group(sn, TMA_BY_LINE, 0, &parts[1], &err) == 0);
    CHECK("merge", tma_groups_merge(parts, 2, &m, &err) == 0);
    /* a.py:1 100+160 (2+3); b.py:2 50+50 (1+1); gone 30 (3); c 20 (1) */
    CHECK("merged by value", m.n == 4 && fx_is(fx_find_line(&m, "a.py", 1), 260, 5) &&
                                 fx_is(fx_find_line(&m, "b.py", 2), 100, 2) &&
                                 fx_is(fx_find_line(&m, "gone.py", 3), 30, 3) &&
                                 fx_is(fx_find_line(&m, "c.py", 5), 20, 1));
    CHECK("merged totals", m.total_size == 410 && m.total_count == 11 &&
                               m.by == TMA_BY_LINE && m.cumulative == 0);
    tma_groups_free(&m);
    CHECK("merge of one is a copy", tma_groups_merge(parts, 1, &m, &err) == 0 &&
                                        m.n == 3 &&
                                        fx_is(fx_find_line(&m, "gone.py", 3), 30, 3));
    tma_groups_free(&m);
    CHECK("merge of none", tma_groups_merge(parts, 0, &m, &err) == TMS_E_ARG);
    tma_groups_free(&parts[1]);
    CHECK("group by filename", tma_group(sn, TMA_BY_FILENAME, 0, &parts[1], &err) == 0);
    CHECK("merge refuses mixed groupings",
          tma_groups_merge(parts, 2, &m, &err) == TMS_E_ARG && m.items == NULL);
    tma_groups_free(&parts[0]);
    tma_groups_free(&parts[1]);
    tms_snapshot_free(so);
    tms_snapshot_free(sn);
}

/* Format 1.1: group by (filename, function), and group the peak.
 * Names: a.py:1 and a.py:2 are in "f", b.py:1 in "g"; the peak holds
 *   T1 (500, 5), T2 (70, 7), T3 (9, 1)  (T4 had nothing at the peak). */
static void test_function_and_peak(void)
{
    tms_snapshot *s = snap_a(5, 1);
    uint32_t f = fx_str(s, "f"), gname = fx_str(s, "g");
    fx_ok(tms_snapshot_set_function(s, fx_frame(s, "a.py", 1), f), "name");
    fx_ok(tms_snapshot_set_function(s, fx_frame(s, "a.py", 2), f), "name");
    fx_ok(tms_snapshot_set_function(s, fx_frame(s, "b.py", 1), gname), "name");
    tma_groups g;
    tms_error e;
    CHECK("parse function",
          tma_group_by_parse("function", &(tma_group_by){0}) == 0 &&
          strcmp(tma_group_by_name(TMA_BY_FUNCTION), "function") == 0);
    /* non-cumulative by function uses the stats: a.py:1 (11, 1) in f;
     * b.py:1 (22, 2) + (1, 1) in g; c.py:4 (33, 3) unnamed */
    CHECK("group by function (stats)",
          tma_group(s, TMA_BY_FUNCTION, 0, &g, &e) == 0 && g.n == 3);
    uint64_t fsz = 0, gsz = 0, unnamed = 0;
    for (size_t i = 0; i < g.n; i++) {
        const tma_key *k = &g.items[i].key;
        if (k->function == f)
            fsz += g.items[i].size;
        else if (k->function == gname)
            gsz += g.items[i].size;
        else if (k->function == TMS_NONE)
            unnamed += g.items[i].size;
    }
    CHECK("function groups sum their lines", fsz == 11 && gsz == 23 &&
          unnamed == 33);
    tma_groups_free(&g);
    /* cumulative by function: T1 counts once in f and once in g; T2
     * (recursion a.py:2, a.py:1, a.py:2) once in f */
    CHECK("cumulative by function",
          tma_group(s, TMA_BY_FUNCTION, 1, &g, &e) == 0 && g.cumulative);
    fsz = gsz = 0;
    for (size_t i = 0; i < g.n; i++) {
        if (g.items[i].key.function == f)
            fsz = g.items[i].size;
        if (g.items[i].key.function == gname)
            gsz = g.items[i].size;
    }
    CHECK("cumulative by function: hand sums", fsz == 150 + 7 &&
          gsz == 150 + 1000);
    tma_groups_free(&g);
    CHECK("no peak: refused", tma_group_peak(s, TMA_BY_LINE, 0, &g, &e) ==
          TMS_E_ARG && strstr(e.msg, "no peak") != NULL);
    tms_peak_info p = { 1000, 579, 42 };
    fx_ok(tms_snapshot_set_peak(s, &p), "peak");
    fx_ok(tms_snapshot_add_peak_entry(s, T1, 500, 5), "entry");
    fx_ok(tms_snapshot_add_peak_entry(s, T2, 70, 7), "entry");
    fx_ok(tms_snapshot_add_peak_entry(s, T3, 9, 1), "entry");
    CHECK("peak by line", tma_group_peak(s, TMA_BY_LINE, 0, &g, &e) == 0 &&
          g.n == 3 && g.total_size == 579 && g.total_count == 13 &&
          fx_is(fx_find_line(&g, "a.py", 1), 500, 5) &&
          fx_is(fx_find_line(&g, "a.py", 2), 70, 7) &&
          fx_is(fx_find_line(&g, NULL, TMS_LINENO_NONE), 9, 1) &&
          fx_find_line(&g, "b.py", 1) == NULL);
    tma_groups_free(&g);
    CHECK("peak by file, cumulative",
          tma_group_peak(s, TMA_BY_FILENAME, 1, &g, &e) == 0 &&
          fx_is(fx_find_file(&g, "a.py"), 570, 12) &&
          fx_is(fx_find_file(&g, "b.py"), 500, 5));
    tma_groups_free(&g);
    CHECK("peak by traceback", tma_group_peak(s, TMA_BY_TRACEBACK, 0, &g,
                                              &e) == 0 && g.n == 3);
    tma_groups_free(&g);
    CHECK("peak by address: refused",
          tma_group_peak(s, TMA_BY_ADDRESS, 0, &g, &e) == TMS_E_ARG);
    /* a filter keeps peak entries by traceback, like traces */
    tma_filter only_b = { 1, "b.py", 4, TMS_LINENO_NONE, 0 };
    CHECK("filter the peak",
          tma_snapshot_apply_filters(s, &only_b, 1, &e) == 0 &&
          s->npeak == 0 && s->peak.recorded_size == 579);
    tma_filter not_b = { 0, "b.py", 4, TMS_LINENO_NONE, 1 };
    tms_snapshot_free(s);
    s = snap_a(5, 1);
    fx_ok(tms_snapshot_set_peak(s, &p), "peak");
    fx_ok(tms_snapshot_add_peak_entry(s, T1, 500, 5), "entry");
    fx_ok(tms_snapshot_add_peak_entry(s, T2, 70, 7), "entry");
    CHECK("exclude by traceback drops T1 from the peak",
          tma_snapshot_apply_filters(s, &not_b, 1, &e) == 0 &&
          s->npeak == 1 && s->peak_entries[0].traceback == T2);
    tms_snapshot_free(s);
}

int main(void)
{
    test_group_names();
    test_function_and_peak();
    test_group_stats_based();
    test_group_traces();
    test_group_unknown_frame_interned();
    test_group_errors();
    test_key_cmp();
    test_diff();
    test_sort_ties();
    test_diff_by_value();
    test_merge();
    return check_report("tma_group");
}
