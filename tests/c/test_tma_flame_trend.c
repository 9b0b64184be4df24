/* test_tma_flame_trend.c -- libtma's call-path tree (tma_flame_build),
 * keys moved between snapshots (tma_key_copy) and trends (tma_trend_*),
 * against sums made by hand on small fixtures. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tma_fixture.h"

static const char *frame_name(const tms_snapshot *s, uint32_t f)
{
    return f == TMS_NONE ? "?" : s->strings[s->frames[f].filename].data;
}

static tma_tb_totals totals_of(const tms_snapshot *s)
{
    tma_tb_totals t;
    tms_error err = { 0 };
    fx_ok(tma_tb_totals_init(&t, s), "totals init");
    fx_ok(tma_tb_totals_add(&t, s->traces, (size_t)s->ntraces, &err), "totals");
    return t;
}

static void test_flame(void)
{
    tms_snapshot *s = fx_new(5);
    uint32_t main3 = fx_frame(s, "main.py", 3), main4 = fx_frame(s, "main.py", 4);
    uint32_t mod = fx_frame(s, "mod.py", 12), big = fx_frame(s, "big.py", 7);
    /* most recent first */
    uint32_t a[] = { big, main3 }, b[] = { mod, main3 }, c[] = { mod, main4 };
    uint32_t d[] = { main3 };
    uint32_t ta = fx_tb(s, 2, a), tb = fx_tb(s, 2, b), tc = fx_tb(s, 2, c);
    uint32_t td = fx_tb(s, 1, d), te = fx_tb(s, 0, NULL);
    fx_trace(s, 0x10, 5000, ta);
    fx_trace(s, 0x20, 100, tb);
    fx_trace(s, 0x30, 300, tb);
    fx_trace(s, 0x40, 700, tc);
    fx_trace(s, 0x50, 50, td);      /* allocated in main.py:3 itself */
    fx_trace(s, 0x60, 40, te);      /* no frame */
    tma_tb_totals t = totals_of(s);
    tma_flame fl;
    tms_error err = { 0 };
    CHECK("flame builds", tma_flame_build(s, &t, &fl, &err) == 0);
    /* root, main3, big, mod(under 3), main4, mod(under 4), unknown */
    CHECK("one node per distinct path prefix, plus the root", fl.n == 7);
    CHECK("root holds everything", fl.nodes[0].size == 6190 &&
          fl.nodes[0].count == 6 && fl.nodes[0].parent == TMA_FLAME_NO_PARENT);
    CHECK("biggest child of the root first: main.py:3",
          fl.nodes[1].frame == main3 && fl.nodes[1].size == 5450 &&
          fl.nodes[1].count == 4 && fl.nodes[1].self_size == 50 &&
          fl.nodes[1].self_count == 1 && fl.nodes[1].depth == 1);
    CHECK("then its children, biggest first",
          fl.nodes[2].frame == big && fl.nodes[2].parent == 1 &&
          fl.nodes[2].size == 5000 && fl.nodes[3].frame == mod &&
          fl.nodes[3].parent == 1 && fl.nodes[3].size == 400 &&
          fl.nodes[3].count == 2 && fl.nodes[3].depth == 2);
    CHECK("main.py:4 after main.py:3's subtree", fl.nodes[4].frame == main4 &&
          fl.nodes[4].parent == 0 && fl.nodes[4].size == 700 &&
          fl.nodes[5].parent == 4 && fl.nodes[5].frame == mod);
    CHECK("an empty traceback is the unknown frame under the root",
          fl.nodes[6].frame == TMS_NONE && fl.nodes[6].parent == 0 &&
          fl.nodes[6].size == 40 && fl.nodes[6].self_size == 40);
    CHECK("max depth", fl.max_depth == 2);
    uint64_t self = 0;
    for (size_t i = 0; i < fl.n; i++)
        self += fl.nodes[i].self_size;
    CHECK("self sizes add up to the total", self == t.total_size);
    int parents_first = 1;
    for (size_t i = 1; i < fl.n; i++)
        parents_first &= fl.nodes[i].parent < i &&
                         fl.nodes[i].depth == fl.nodes[fl.nodes[i].parent].depth + 1;
    CHECK("depth first: a parent before its children", parents_first);
    tma_flame_free(&fl);
    tma_flame_free(&fl);
    CHECK("free twice is safe", fl.nodes == NULL && fl.n == 0);

    tma_tb_totals other;
    tms_snapshot *s2 = fx_new(5);
    fx_ok(tma_tb_totals_init(&other, s2), "init");
    CHECK("totals of another snapshot are refused",
          tma_flame_build(s, &other, &fl, &err) == TMS_E_ARG && fl.n == 0);
    tma_tb_totals_free(&other);
    tma_tb_totals_free(&t);
    tms_snapshot_free(s2);
    tms_snapshot_free(s);
}

static void test_key_copy(void)
{
    tms_snapshot *s = fx_new(5), *dst = fx_new(5);
    uint32_t name;
    uint32_t f1 = fx_frame(s, "a.py", 1), f2 = fx_frame(s, NULL, TMS_LINENO_NONE);
    fx_ok(tms_snapshot_intern_string(s, "Cls.meth", 8, &name), "fname");
    fx_ok(tms_snapshot_set_function(s, f1, name), "set function");
    fx_frame(dst, "other.py", 9);   /* dst's ids differ from s's */
    uint32_t fr[] = { f1, f2 };
    uint32_t tb = fx_tb(s, 2, fr);
    tma_key k = { .snap = s, .traceback = tb }, out;
    tms_error err = { 0 };
    CHECK("a traceback key copies", tma_key_copy(TMA_BY_TRACEBACK, &k, dst, &out, &err) == 0);
    CHECK("it points into dst and compares equal",
          out.snap == dst && tma_key_cmp(TMA_BY_TRACEBACK, &k, &out) == 0);
    const uint32_t *mine = tms_traceback_frames(dst, out.traceback);
    CHECK("frames and function names come along",
          tms_traceback_len(dst, out.traceback) == 2 &&
          strcmp(frame_name(dst, mine[0]), "a.py") == 0 &&
          dst->frames[mine[1]].filename == TMS_NONE &&
          strcmp(dst->strings[tms_frame_function(dst, mine[0])].data, "Cls.meth") == 0);
    tma_key line = { .snap = s, .filename = s->frames[f1].filename, .lineno = 1,
                     .function = name };
    CHECK("a line key copies", tma_key_copy(TMA_BY_LINE, &line, dst, &out, &err) == 0 &&
          tma_key_cmp(TMA_BY_LINE, &line, &out) == 0 && out.lineno == 1);
    CHECK("with the function it shows, as a string of dst",
          out.function != TMS_NONE && out.function < dst->nstrings &&
          strcmp(dst->strings[out.function].data, "Cls.meth") == 0);
    tma_key fn = { .snap = s, .filename = s->frames[f1].filename, .function = name }, fout;
    CHECK("a function key copies and compares equal",
          tma_key_copy(TMA_BY_FUNCTION, &fn, dst, &fout, &err) == 0 &&
          tma_key_cmp(TMA_BY_FUNCTION, &fn, &fout) == 0);
    tms_snapshot_free(s);
    CHECK("the copy outlives the source", strcmp(dst->strings[out.filename].data, "a.py") == 0);
    tms_snapshot_free(dst);
}

/* One file of a series: site sizes by line. */
static tms_snapshot *series_file(int i, tma_groups *g)
{
    tms_snapshot *s = fx_new(1);
    s->header.timestamp_ns = 1000000000LL * (10 + 10 * i);   /* every 10 s */
    fx_stat(s, "leak.py", 5, 100 + 50 * (uint64_t)i, 1 + (uint64_t)i);
    if (i >= 2)
        fx_stat(s, "cache.py", 9, 100000, 1);          /* one step */
    if (i < 3)
        fx_stat(s, "gone.py", 1, 700, 7);               /* freed at 3 */
    fx_stat(s, "flat.py", 2, 10, 1);
    tms_error err = { 0 };
    fx_ok(tma_group(s, TMA_BY_LINE, 0, g, &err), "group");
    return s;
}

static const tma_trend_row *row_named(const tma_trend *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(fx_key_name(&t->rows[i].key), name) == 0)
            return &t->rows[i];
    return NULL;
}

static void test_trend(void)
{
    tma_trend t;
    tms_error err = { 0 };
    CHECK("one file is not a trend", tma_trend_init(&t, TMA_BY_LINE, 1, &err) == TMS_E_ARG);
    CHECK("address is not a trend", tma_trend_init(&t, TMA_BY_ADDRESS, 3, &err) == TMS_E_ARG);
    CHECK("init", tma_trend_init(&t, TMA_BY_LINE, 5, &err) == 0);
    for (int i = 0; i < 5; i++) {
        tma_groups g;
        tms_snapshot *s = series_file(i, &g);
        CHECK("add", tma_trend_add(&t, &g, s->header.timestamp_ns, &err) == 0);
        tma_groups_free(&g);
        tms_snapshot_free(s);       /* the trend keeps its own keys */
    }
    tma_groups g;
    tms_snapshot *extra = series_file(0, &g);
    CHECK("more files than announced are refused",
          tma_trend_add(&t, &g, 0, &err) == TMS_E_ARG);
    tma_groups_free(&g);
    tms_snapshot_free(extra);
    CHECK("finish", tma_trend_finish(&t, &err) == 0);
    CHECK("four sites", t.n == 4 && t.slope_per_second);
    const tma_trend_row *leak = row_named(&t, "leak.py");
    CHECK("leak: first, last, change, counts",
          leak && leak->first_size == 100 && leak->last_size == 300 &&
          leak->change == 200 && leak->first_count == 1 && leak->last_count == 5);
    CHECK("leak: grew in every interval", leak && leak->grew == 4 &&
          leak->shrank == 0 && leak->intervals == 4 && leak->steadiness == 1.0);
    CHECK("leak: 50 B per 10 s is 5 B/s, a perfect line",
          leak && fabs(leak->slope - 5.0) < 1e-9 && fabs(leak->r2 - 1.0) < 1e-12);
    const tma_trend_row *cache = row_named(&t, "cache.py");
    CHECK("cache: absent, then a step once",
          cache && cache->first_size == 0 && cache->last_size == 100000 &&
          cache->grew == 1 && cache->peak_size == 100000);
    const tma_trend_row *gone = row_named(&t, "gone.py");
    CHECK("gone: shrank to 0 once", gone && gone->change == -700 && gone->shrank == 1);
    const uint64_t *y = tma_trend_sizes(&t, gone);
    CHECK("sizes per file, 0 where absent", y[0] == 700 && y[2] == 700 && y[3] == 0 && y[4] == 0);
    tma_trend_sort(&t);
    CHECK("steady leak above the bigger step, flat, then shrinking",
          strcmp(fx_key_name(&t.rows[0].key), "leak.py") == 0 &&
          strcmp(fx_key_name(&t.rows[1].key), "cache.py") == 0 &&
          strcmp(fx_key_name(&t.rows[2].key), "flat.py") == 0 &&
          strcmp(fx_key_name(&t.rows[3].key), "gone.py") == 0);
    CHECK("sizes follow their row after the sort",
          tma_trend_sizes(&t, &t.rows[3])[0] == 700 &&
          tma_trend_sizes(&t, &t.rows[0])[4] == 300);
    CHECK("file totals", t.file_total[0] == 810 && t.file_total[4] == 100310);
    tma_trend_free(&t);
    tma_trend_free(&t);
}

int main(void)
{
    test_flame();
    test_key_copy();
    test_trend();
    return check_report("tma_flame_trend");
}
