/* test_tma_filter.c -- PEP 454 Filter: glob matching, line numbers,
 * tracebacks, the combined keep rule, Snapshot.apply_filters and the
 * stats recomputed from traces.  Every expectation is worked out by hand
 * in the comment beside it. */
#include <string.h>

#include "check.h"
#include "tma_fixture.h"

static int m(const char *pattern, const char *filename)
{
    return tma_match_filename(pattern, strlen(pattern), filename,
                              filename ? strlen(filename) : 0);
}

static void test_glob(void)
{
    CHECK("literal equal", m("a/b.py", "a/b.py") == 1);
    CHECK("literal differs", m("a/b.py", "a/c.py") == 0);
    CHECK("prefix is not a match", m("a/b", "a/b.py") == 0);
    CHECK("case sensitive", m("A.py", "a.py") == 0);
    CHECK("* matches all", m("*", "x/y.py") == 1);
    CHECK("* matches empty", m("a*b", "ab") == 1);
    CHECK("* in the middle", m("a*c", "abxc") == 1);
    CHECK("* in the middle, trailing junk", m("a*c", "abxcd") == 0);
    CHECK("leading *", m("*/y.py", "/x/y.py") == 1);
    CHECK("several *", m("*lib*/*.py", "/usr/lib64/python/x.py") == 1);
    CHECK("* must backtrack", m("*ab", "aab") == 1);
    CHECK("backtrack past a false start", m("*abc*d", "ababcxd") == 1);
    CHECK("? is literal", m("a?c", "abc") == 0 && m("a?c", "a?c") == 1);
    CHECK("[ is literal", m("[ab].py", "a.py") == 0 && m("[ab].py", "[ab].py") == 1);
    CHECK("empty pattern matches empty name", m("", "") == 1);
    CHECK("empty pattern vs name", m("", "a") == 0);
    CHECK("unknown name is '' : * matches", m("*", NULL) == 1);
    CHECK("unknown name: ** matches", m("**", NULL) == 1);
    CHECK("unknown name: empty pattern matches", m("", NULL) == 1);
    CHECK("unknown name: a* does not", m("a*", NULL) == 0);
    CHECK("unknown name: literal does not", m("???", NULL) == 0);
    CHECK(".pyc name vs .py pattern", m("x.py", "x.pyc") == 1);
    CHECK(".pyo name vs .py pattern", m("x.py", "x.pyo") == 1);
    CHECK(".pyc pattern vs .py name", m("x.pyc", "x.py") == 1);
    CHECK(".pyo pattern vs .pyc name", m("x.pyo", "x.pyc") == 1);
    CHECK("*.py vs .pyc", m("*.py", "/a/x.pyc") == 1);
    CHECK("*.pyc vs .py", m("*.pyc", "/a/x.py") == 1);
    CHECK(".pyc only at the end", m("*.py", "x.pycx") == 0);
    CHECK(".pyd is not .py", m("x.py", "x.pyd") == 0);
    CHECK(".PYC is not normalised", m("x.py", "x.PYC") == 0);
    CHECK("pyc without dot is not normalised", m("xpy", "xpyc") == 0);
    CHECK("length counts: embedded NUL is a byte",
          tma_match_filename("a*", 2, "a\0b", 3) == 1 &&
              tma_match_filename("a", 1, "a\0b", 3) == 0);

    /* "*a*a*...*b" against 200000 'a's: exponential backtracking would
     * never finish; the linear-backtrack matcher does ~10 x 200000 steps. */
    static char big[200002];
    memset(big, 'a', 200000);
    big[200000] = '\0';
    const char *patho = "*a*a*a*a*a*a*a*a*a*a*b";
    CHECK("pathological pattern, no match",
          tma_match_filename(patho, strlen(patho), big, 200000) == 0);
    big[200000] = 'b';
    CHECK("pathological pattern, match at the end",
          tma_match_filename(patho, strlen(patho), big, 200001) == 1);
}

static tma_filter flt(int include, const char *pattern, int32_t lineno,
                      int traceback)
{
    tma_filter f;
    f.include = include;
    f.pattern = pattern;
    f.pattern_len = strlen(pattern);
    f.lineno = lineno;
    f.traceback = traceback;
    return f;
}

static tma_frame_view fv(const char *name, int32_t lineno)
{
    tma_frame_view v;
    v.filename = name;
    v.len = name ? strlen(name) : 0;
    v.lineno = lineno;
    return v;
}

static void test_lineno(void)
{
    tma_filter any0 = flt(1, "*", 0, 0), anyn = flt(1, "*", TMS_LINENO_NONE, 0);
    tma_filter any_neg = flt(1, "*", -7, 0), l5 = flt(1, "*", 5, 0);
    CHECK("lineno 0 matches any line", tma_filter_match_lineno(&any0, 42) == 1);
    CHECK("lineno 0 matches unknown",
          tma_filter_match_lineno(&any0, TMS_LINENO_NONE) == 1);
    CHECK("lineno None matches any", tma_filter_match_lineno(&anyn, 1) == 1 &&
                                         tma_filter_match_lineno(&anyn, TMS_LINENO_NONE) == 1);
    CHECK("negative lineno matches any", tma_filter_match_lineno(&any_neg, 3) == 1);
    CHECK("lineno 5 matches 5", tma_filter_match_lineno(&l5, 5) == 1);
    CHECK("lineno 5 not 6", tma_filter_match_lineno(&l5, 6) == 0);
    CHECK("lineno 5 not unknown", tma_filter_match_lineno(&l5, TMS_LINENO_NONE) == 0);
    CHECK("lineno 5 not 0", tma_filter_match_lineno(&l5, 0) == 0);

    tma_filter a5 = flt(1, "a.py", 5, 0);
    CHECK("match needs name and line", tma_filter_match(&a5, "a.py", 4, 5) == 1);
    CHECK("match: wrong line", tma_filter_match(&a5, "a.py", 4, 4) == 0);
    CHECK("match: wrong name", tma_filter_match(&a5, "b.py", 4, 5) == 0);
    tma_filter excl = flt(0, "a.py", 0, 0);
    CHECK("match ignores include/exclude", tma_filter_match(&excl, "a.py", 4, 1) == 1);
}

static void test_traceback_match(void)
{
    tma_frame_view tb[2] = {fv("b.py", 1), fv("a.py", 2)};
    tma_filter a_tb = flt(1, "a.py", 0, 1), a_top = flt(1, "a.py", 0, 0);
    tma_filter b_top = flt(1, "b.py", 0, 0), a2_tb = flt(1, "a.py", 2, 1);
    tma_filter a3_tb = flt(1, "a.py", 3, 1);
    CHECK("traceback flag: an older frame matches",
          tma_filter_match_traceback(&a_tb, tb, 2) == 1);
    CHECK("no flag: only the most recent frame",
          tma_filter_match_traceback(&a_top, tb, 2) == 0 &&
              tma_filter_match_traceback(&b_top, tb, 2) == 1);
    CHECK("traceback flag with line", tma_filter_match_traceback(&a2_tb, tb, 2) == 1);
    CHECK("traceback flag, line matches no frame",
          tma_filter_match_traceback(&a3_tb, tb, 2) == 0);
    tma_filter star = flt(1, "*", 0, 0), star_l = flt(1, "*", 3, 0);
    CHECK("empty traceback is one unknown frame: * matches",
          tma_filter_match_traceback(&star, NULL, 0) == 1);
    CHECK("empty traceback: a.py does not",
          tma_filter_match_traceback(&a_tb, NULL, 0) == 0);
    CHECK("empty traceback: unknown line does not match lineno 3",
          tma_filter_match_traceback(&star_l, NULL, 0) == 0);
    tma_frame_view unk = fv(NULL, TMS_LINENO_NONE);
    CHECK("explicit unknown frame like the empty traceback",
          tma_filter_match_traceback(&star, &unk, 1) == 1 &&
              tma_filter_match_traceback(&a_top, &unk, 1) == 0);
}

static void test_keep(void)
{
    tma_frame_view tb_b_a[2] = {fv("b.py", 1), fv("a.py", 2)};
    tma_frame_view tb_c[1] = {fv("c.py", 1)};
    tma_frame_view tb_a[1] = {fv("a.py", 1)};

    CHECK("no filters keep everything", tma_filters_keep(NULL, 0, tb_c, 1, 5) == 1);

    tma_filter or2[2] = {flt(1, "a.py", 0, 0), flt(1, "b.py", 0, 0)};
    CHECK("inclusive OR: second filter matches",
          tma_filters_keep(or2, 2, tb_b_a, 2, 5) == 1);
    CHECK("inclusive OR: neither matches", tma_filters_keep(or2, 2, tb_c, 1, 5) == 0);

    tma_filter exw[2] = {flt(1, "*", 0, 0), flt(0, "a.py", 0, 0)};
    CHECK("exclusive wins over inclusive", tma_filters_keep(exw, 2, tb_a, 1, 5) == 0);
    CHECK("exclusive not matching, inclusive matching",
          tma_filters_keep(exw, 2, tb_c, 1, 5) == 1);
    tma_filter exw2[2] = {flt(0, "a.py", 0, 0), flt(1, "*", 0, 0)};
    CHECK("exclusive wins whatever the order", tma_filters_keep(exw2, 2, tb_a, 1, 5) == 0);

    tma_filter only_ex[1] = {flt(0, "a.py", 0, 0)};
    CHECK("only exclusive filters: others kept", tma_filters_keep(only_ex, 1, tb_c, 1, 5) == 1);

    tma_filter inc_tb[1] = {flt(1, "a.py", 0, 1)};
    CHECK("include with traceback flag, limit 2: older frame counts",
          tma_filters_keep(inc_tb, 1, tb_b_a, 2, 2) == 1);
    CHECK("include with traceback flag, limit 1: flag ignored",
          tma_filters_keep(inc_tb, 1, tb_b_a, 2, 1) == 0);
    CHECK("include with traceback flag, limit 0: flag ignored",
          tma_filters_keep(inc_tb, 1, tb_b_a, 2, 0) == 0);
    tma_filter ex_tb[1] = {flt(0, "a.py", 0, 1)};
    CHECK("exclude with traceback flag, limit 5: dropped",
          tma_filters_keep(ex_tb, 1, tb_b_a, 2, 5) == 0);
    CHECK("exclude with traceback flag, limit 1: kept",
          tma_filters_keep(ex_tb, 1, tb_b_a, 2, 1) == 1);

    tma_filter inc_star[1] = {flt(1, "*", 0, 0)};
    tma_filter inc_a[1] = {flt(1, "a.py", 0, 0)};
    tma_filter ex_star[1] = {flt(0, "*", 0, 0)};
    CHECK("empty traceback kept by include *", tma_filters_keep(inc_star, 1, NULL, 0, 5) == 1);
    CHECK("empty traceback dropped by include a.py", tma_filters_keep(inc_a, 1, NULL, 0, 5) == 0);
    CHECK("empty traceback dropped by exclude *", tma_filters_keep(ex_star, 1, NULL, 0, 5) == 0);
}

/* The snapshot of the grouping tests:
 *   T1 = [a.py:1, b.py:1]   0x10 100, 0x20 50
 *   T2 = [a.py:2, a.py:1]   0x30 7
 *   T3 = []                 0x40 3
 *   T4 = [b.py:1]           0x50 1000 */
static tms_snapshot *snap_a(uint32_t limit)
{
    tms_snapshot *s = fx_new(limit);
    uint32_t a1 = fx_frame(s, "a.py", 1), a2 = fx_frame(s, "a.py", 2);
    uint32_t b1 = fx_frame(s, "b.py", 1);
    uint32_t t1f[2] = {a1, b1}, t2f[2] = {a2, a1}, t4f[1] = {b1};
    uint32_t t1 = fx_tb(s, 2, t1f), t2 = fx_tb(s, 2, t2f);
    uint32_t t3 = fx_tb(s, 0, NULL), t4 = fx_tb(s, 1, t4f);
    fx_trace(s, 0x10, 100, t1);
    fx_trace(s, 0x20, 50, t1);
    fx_trace(s, 0x30, 7, t2);
    fx_trace(s, 0x40, 3, t3);
    fx_trace(s, 0x50, 1000, t4);
    return s;
}

static const tms_stat *stat_of(const tms_snapshot *s, const char *name,
                               int32_t lineno)
{
    for (uint64_t i = 0; i < s->nstats; i++) {
        const tms_frame *f = &s->frames[s->stats[i].frame];
        const char *fn = f->filename == TMS_NONE ? NULL
                                                 : s->strings[f->filename].data;
        if (fx_same_name(fn, name) && f->lineno == lineno)
            return &s->stats[i];
    }
    return NULL;
}

static int stat_is(const tms_snapshot *s, const char *name, int32_t lineno,
                   uint64_t size, uint64_t count)
{
    const tms_stat *st = stat_of(s, name, lineno);
    return st != NULL && st->size == size && st->count == count;
}

static int has_addresses(const tms_snapshot *s, size_t n, const uint64_t *want)
{
    if (s->ntraces != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s->traces[i].address != want[i])
            return 0;
    return 1;
}

static void test_stats_from_traces(void)
{
    tms_snapshot *s = snap_a(5);
    uint32_t nframes = s->nframes;
    tms_error err;
    CHECK("stats from traces", tma_snapshot_stats_from_traces(s, &err) == 0);
    /* most recent frames: T1 -> a.py:1 (150, 2), T2 -> a.py:2 (7, 1),
     * T3 -> unknown (3, 1), T4 -> b.py:1 (1000, 1) */
    CHECK("four stats", s->nstats == 4);
    CHECK("a.py:1", stat_is(s, "a.py", 1, 150, 2));
    CHECK("a.py:2", stat_is(s, "a.py", 2, 7, 1));
    CHECK("b.py:1", stat_is(s, "b.py", 1, 1000, 1));
    CHECK("empty traceback under the unknown frame",
          stat_is(s, NULL, TMS_LINENO_NONE, 3, 1));
    CHECK("unknown frame was interned", s->nframes == nframes + 1);
    CHECK("again: same stats, no new frame",
          tma_snapshot_stats_from_traces(s, &err) == 0 && s->nstats == 4 &&
              s->nframes == nframes + 1 && stat_is(s, NULL, TMS_LINENO_NONE, 3, 1));
    tms_snapshot_free(s);

    tms_snapshot *no = fx_new(5);
    fx_stat(no, "a.py", 1, 10, 1);
    CHECK("no traces: error",
          tma_snapshot_stats_from_traces(no, &err) == TMS_E_ARG &&
              strstr(err.msg, "no traces") != NULL && no->nstats == 1);
    tms_snapshot_free(no);
}

static void test_apply_traces(void)
{
    tms_error err;
    /* exclude b.py (most recent frame only): T4 dropped; T1 starts with
     * a.py; the empty T3 is '' which b.py does not match. */
    tms_snapshot *s = snap_a(5);
    tma_filter ex_b[1] = {flt(0, "b.py", 0, 0)};
    CHECK("apply exclude b.py", tma_snapshot_apply_filters(s, ex_b, 1, &err) == 0);
    uint64_t want1[4] = {0x10, 0x20, 0x30, 0x40};
    CHECK("T4's trace dropped, order kept", has_addresses(s, 4, want1));
    CHECK("stats recomputed: 3 left", s->nstats == 3 &&
                                          stat_is(s, "a.py", 1, 150, 2) &&
                                          stat_is(s, "a.py", 2, 7, 1) &&
                                          stat_is(s, NULL, TMS_LINENO_NONE, 3, 1) &&
                                          stat_of(s, "b.py", 1) == NULL);
    tms_snapshot_free(s);

    /* exclude b.py anywhere in the traceback: T1 and T4 dropped */
    s = snap_a(5);
    tma_filter ex_b_tb[1] = {flt(0, "b.py", 0, 1)};
    CHECK("apply exclude b.py traceback",
          tma_snapshot_apply_filters(s, ex_b_tb, 1, &err) == 0);
    uint64_t want2[2] = {0x30, 0x40};
    CHECK("T1 and T4 dropped", has_addresses(s, 2, want2));
    CHECK("stats follow", s->nstats == 2 && stat_is(s, "a.py", 2, 7, 1) &&
                              stat_is(s, NULL, TMS_LINENO_NONE, 3, 1));
    tms_snapshot_free(s);

    /* same filter with traceback_limit 1: flag ignored, only T4 dropped */
    s = snap_a(1);
    CHECK("apply with limit 1", tma_snapshot_apply_filters(s, ex_b_tb, 1, &err) == 0);
    CHECK("limit 1: only T4 dropped", has_addresses(s, 4, want1));
    tms_snapshot_free(s);

    /* include a.py:1 or b.py (most recent): T1 (a.py:1), T4 (b.py:1) */
    s = snap_a(5);
    tma_filter inc[2] = {flt(1, "a.py", 1, 0), flt(1, "b.py", 0, 0)};
    CHECK("apply two includes", tma_snapshot_apply_filters(s, inc, 2, &err) == 0);
    uint64_t want3[3] = {0x10, 0x20, 0x50};
    CHECK("inclusive OR on traces", has_addresses(s, 3, want3));
    CHECK("stats of kept traces", s->nstats == 2 && stat_is(s, "a.py", 1, 150, 2) &&
                                      stat_is(s, "b.py", 1, 1000, 1));
    CHECK("dictionaries kept", s->nframes >= 3 && s->ntracebacks == 4);
    tms_snapshot_free(s);

    /* exclude * drops everything, snapshot still has (no) traces */
    s = snap_a(5);
    tma_filter all[1] = {flt(0, "*", 0, 0)};
    CHECK("exclude everything", tma_snapshot_apply_filters(s, all, 1, &err) == 0 &&
                                    s->ntraces == 0 && s->nstats == 0 &&
                                    s->has_traces == 1);
    tms_snapshot_free(s);

    /* no filters: nothing changes, not even hand-made stats */
    s = snap_a(5);
    fx_stat(s, "z.py", 9, 1, 1);
    CHECK("no filters is a no-op", tma_snapshot_apply_filters(s, NULL, 0, &err) == 0 &&
                                       s->ntraces == 5 && s->nstats == 1);
    tms_snapshot_free(s);
    CHECK("NULL snapshot", tma_snapshot_apply_filters(NULL, all, 1, &err) == TMS_E_ARG);
}

static void test_apply_stats_only(void)
{
    tms_error err;
    tms_snapshot *s = fx_new(5);
    fx_stat(s, "a.py", 1, 10, 1);
    fx_stat(s, "a.py", 2, 20, 2);
    fx_stat(s, "b.py", 1, 30, 3);
    fx_stat(s, NULL, TMS_LINENO_NONE, 40, 4);
    tma_filter inc[1] = {flt(1, "a.py", 2, 0)};
    CHECK("stats only: include a.py:2", tma_snapshot_apply_filters(s, inc, 1, &err) == 0);
    CHECK("only a.py:2 left", s->nstats == 1 && stat_is(s, "a.py", 2, 20, 2));
    CHECK("still no traces", s->has_traces == 0 && s->ntraces == 0);
    tms_snapshot_free(s);

    s = fx_new(5);
    fx_stat(s, "a.py", 1, 10, 1);
    fx_stat(s, "b.py", 1, 30, 3);
    fx_stat(s, NULL, TMS_LINENO_NONE, 40, 4);
    tma_filter ex[2] = {flt(0, "a*", 0, 1), flt(1, "*", 0, 0)};
    CHECK("stats only: exclude a*, include *",
          tma_snapshot_apply_filters(s, ex, 2, &err) == 0);
    CHECK("b.py and unknown left, in order", s->nstats == 2 &&
                                                 stat_is(s, "b.py", 1, 30, 3) &&
                                                 stat_is(s, NULL, TMS_LINENO_NONE, 40, 4) &&
                                                 s->stats[0].size == 30);
    tma_filter l1[1] = {flt(1, "*", 1, 0)};
    CHECK("stats only: unknown line fails a lineno filter",
          tma_snapshot_apply_filters(s, l1, 1, &err) == 0 && s->nstats == 1 &&
              stat_is(s, "b.py", 1, 30, 3));
    tms_snapshot_free(s);
}

/* Which filters match a block: the warning tmtool gives for a filter that
 * matches nothing rests on this. */
static void test_filters_matched(void)
{
    tms_error err;
    tms_snapshot *s = snap_a(5);
    /* a.py:2 is only ever an older frame (T2's first is a2, T1's is a1),
     * b.py is T4's first frame and T1's second; c.py is nowhere. */
    tma_filter f[6] = {
        flt(1, "b.py", 0, 0),      /* T4's most recent frame */
        flt(1, "c.py", 0, 0),      /* nothing */
        flt(0, "a.py", 1, 0),      /* exclusive: T1's most recent frame */
        flt(1, "*", 0, 0),         /* the empty T3 is '' which * matches */
        flt(1, "a.py", 2, 0),      /* T2's most recent frame */
        flt(1, "b.py", 0, 1),      /* any frame */
    };
    uint8_t m[6] = {0, 0, 0, 0, 0, 0};
    CHECK("filters matched: ok", tma_snapshot_filters_matched(s, f, 6, m, &err) == 0);
    CHECK("b.py, a.py:1, *, a.py:2, any b.py match; c.py does not",
          m[0] && !m[1] && m[2] && m[3] && m[4] && m[5]);
    CHECK("snapshot untouched", s->ntraces == 5);
    tms_snapshot_free(s);

    /* limit 1: the traceback flag is ignored, as by tma_filters_keep */
    tma_filter older[1] = {flt(1, "a.py", 1, 1)};  /* a1 is T2's older frame */
    tms_snapshot *only_t2 = fx_new(1);
    uint32_t a2 = fx_frame(only_t2, "a.py", 2), a1 = fx_frame(only_t2, "a.py", 1);
    uint32_t t2f[2] = {a2, a1};
    fx_trace(only_t2, 0x30, 7, fx_tb(only_t2, 2, t2f));
    uint8_t m1 = 0;
    CHECK("limit 1: only the most recent frame is looked at",
          tma_snapshot_filters_matched(only_t2, older, 1, &m1, &err) == 0 && m1 == 0);
    tms_snapshot_free(only_t2);

    /* without traces the stats are matched, one frame each */
    s = fx_new(5);
    fx_stat(s, "a.py", 1, 10, 1);
    tma_filter g[2] = {flt(1, "a.py", 1, 0), flt(1, "a.py", 2, 0)};
    uint8_t m2[2] = {0, 1};   /* a 1 already there stays */
    CHECK("stats only",
          tma_snapshot_filters_matched(s, g, 2, m2, &err) == 0 && m2[0] == 1 && m2[1] == 1);
    uint8_t m3[2] = {0, 0};
    CHECK("stats only: a.py:2 not there",
          tma_snapshot_filters_matched(s, g, 2, m3, &err) == 0 && m3[0] == 1 && m3[1] == 0);
    tms_snapshot_free(s);
}

int main(void)
{
    test_glob();
    test_lineno();
    test_traceback_match();
    test_keep();
    test_stats_from_traces();
    test_apply_traces();
    test_apply_stats_only();
    test_filters_matched();
    return check_report("tma_filter");
}
