/* test_tma_totals.c -- per-traceback totals and tma_group_totals.
 *
 * Two independent oracles: hand sums on a small fixture, and a naive
 * per-trace reference written here (keys straight from each trace's
 * traceback with PEP 454's rules, no per-traceback step, no libtma).
 * tma_group (which sums through tma_group_totals) and tma_group_totals
 * are each held to them, never to each other.  Totals are fed in batches
 * with tracebacks appended between them, as tms_reader_read does, and
 * once through a real file whose traceback sections come after a trace
 * chunk. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tma_fixture.h"

/* --- comparing groupings by value --------------------------------------- */

static tma_group_by sort_by;

/* Ids, for keys of one snapshot: tma_key_cmp says (f, 0) == (f, None),
 * yet they are two frames and two groups. */
static int same_ids(const tma_key *a, const tma_key *b)
{
    return a->filename == b->filename && a->lineno == b->lineno &&
           a->traceback == b->traceback && a->address == b->address;
}

static int ids_cmp(const tma_key *a, const tma_key *b)
{
    if (a->filename != b->filename)
        return a->filename < b->filename ? -1 : 1;
    if (a->lineno != b->lineno)
        return a->lineno < b->lineno ? -1 : 1;
    return a->traceback < b->traceback ? -1 : a->traceback > b->traceback;
}

static int stat_cmp(const void *a, const void *b)
{
    const tma_key *x = &((const tma_stat *)a)->key;
    const tma_key *y = &((const tma_stat *)b)->key;
    int c = tma_key_cmp(sort_by, x, y);
    return c != 0 || x->snap != y->snap ? c : ids_cmp(x, y);
}

static tma_stat *sorted_copy(const tma_stat *items, size_t n, tma_group_by by)
{
    tma_stat *c = malloc((n ? n : 1) * sizeof *c);
    if (c == NULL)
        fx_ok(TMS_E_NOMEM, "copy");
    if (n)
        memcpy(c, items, n * sizeof *c);
    sort_by = by;
    qsort(c, n, sizeof *c, stat_cmp);
    return c;
}

static int items_equal(tma_group_by by, const tma_stat *a, size_t na,
                       const tma_stat *b, size_t nb)
{
    if (na != nb)
        return 0;
    tma_stat *x = sorted_copy(a, na, by), *y = sorted_copy(b, nb, by);
    int same = 1;
    for (size_t i = 0; same && i < na; i++)
        same = tma_key_cmp(by, &x[i].key, &y[i].key) == 0 &&
               (x[i].key.snap != y[i].key.snap ||
                same_ids(&x[i].key, &y[i].key)) &&
               x[i].size == y[i].size && x[i].count == y[i].count;
    free(x);
    free(y);
    return same;
}

/* --- the naive reference: one trace at a time --------------------------- */

typedef struct ref {
    tma_stat *items;
    size_t n, cap;
} ref;

static void ref_add(ref *r, const tma_key *k, uint64_t size)
{
    for (size_t i = 0; i < r->n; i++)
        if (same_ids(&r->items[i].key, k)) {
            r->items[i].size += size;
            r->items[i].count++;
            return;
        }
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 16;
        r->items = realloc(r->items, r->cap * sizeof *r->items);
        if (r->items == NULL)
            fx_ok(TMS_E_NOMEM, "ref");
    }
    r->items[r->n].key = *k;
    r->items[r->n].size = size;
    r->items[r->n].count = 1;
    r->n++;
}

static tma_key frame_key(const tms_snapshot *s, tma_group_by by, uint32_t f)
{
    tma_key k;
    memset(&k, 0, sizeof k);
    k.snap = s;
    k.traceback = TMS_NONE;
    k.filename = f == TMS_NONE ? TMS_NONE : s->frames[f].filename;
    k.lineno = f == TMS_NONE || by == TMA_BY_FILENAME ? TMS_LINENO_NONE
                                                      : s->frames[f].lineno;
    return k;
}

/* The grouping of s's traces by PEP 454's rules, one trace at a time:
 * TRACEBACK by traceback id; FILENAME and LINE by the most recent frame,
 * or, cumulative, by each distinct key of the traceback once; an empty
 * traceback is the unknown frame; cumulative is ignored below a limit of
 * 2.  Totals are the sums over the traces. */
static ref reference(const tms_snapshot *s, tma_group_by by, int cumulative,
                     uint64_t *total_size)
{
    ref r = { 0 };
    *total_size = 0;
    if (s->header.traceback_limit < 2)
        cumulative = 0;
    for (uint64_t i = 0; i < s->ntraces; i++) {
        const tms_trace *t = &s->traces[i];
        *total_size += t->size;
        if (by == TMA_BY_TRACEBACK) {
            tma_key k;
            memset(&k, 0, sizeof k);
            k.snap = s;
            k.filename = TMS_NONE;
            k.lineno = TMS_LINENO_NONE;
            k.traceback = t->traceback;
            ref_add(&r, &k, t->size);
            continue;
        }
        uint32_t n = tms_traceback_len(s, t->traceback);
        const uint32_t *fr = tms_traceback_frames(s, t->traceback);
        if (n == 0) {
            tma_key k = frame_key(s, by, TMS_NONE);
            ref_add(&r, &k, t->size);
        }
        for (uint32_t j = 0; j < (cumulative ? n : (n ? 1u : 0u)); j++) {
            tma_key k = frame_key(s, by, fr[j]);
            int again = 0;
            for (uint32_t m = 0; m < j && !again; m++) {
                tma_key e = frame_key(s, by, fr[m]);
                again = same_ids(&e, &k);
            }
            if (!again)
                ref_add(&r, &k, t->size);
        }
    }
    return r;
}

/* g equals the reference grouping of s's traces, totals included. */
static int matches_reference(const tma_groups *g, const tms_snapshot *s,
                             tma_group_by by, int cumulative)
{
    uint64_t total_size;
    ref r = reference(s, by, cumulative, &total_size);
    int same = items_equal(by, r.items, r.n, g->items, g->n) &&
               g->total_size == total_size && g->total_count == s->ntraces;
    free(r.items);
    return same;
}

/* --- the fixture, by hand ------------------------------------------------ */

/* T1 = [a.py:1, b.py:1]          100 + 50 -> (150, 2)
 * T2 = [a.py:2, a.py:1, a.py:2]  7 (recursion)
 * T3 = []                        3
 * T4 = [b.py:1]                  1000
 * T3 and T4 are interned after the first batch of traces was summed. */
static void test_fixture_by_hand(void)
{
    tms_snapshot *s = fx_new(5);
    uint32_t a1 = fx_frame(s, "a.py", 1), a2 = fx_frame(s, "a.py", 2);
    uint32_t b1 = fx_frame(s, "b.py", 1);
    uint32_t t1f[2] = {a1, b1}, t2f[3] = {a2, a1, a2}, t4f[1] = {b1};
    uint32_t T1 = fx_tb(s, 2, t1f), T2 = fx_tb(s, 3, t2f);
    tma_tb_totals t;
    tms_error err;
    CHECK("init", tma_tb_totals_init(&t, s) == 0 && t.n == 0 && t.tb == NULL);
    tms_trace first[3] = {{0x10, 100, T1}, {0x20, 50, T1}, {0x30, 7, T2}};
    CHECK("first batch", tma_tb_totals_add(&t, first, 3, &err) == 0 &&
                             t.total_size == 157 && t.total_count == 3);
    uint32_t T3 = fx_tb(s, 0, NULL), T4 = fx_tb(s, 1, t4f);
    tms_trace second[2] = {{0x40, 3, T3}, {0x50, 1000, T4}};
    CHECK("batch naming tracebacks defined after the first",
          tma_tb_totals_add(&t, second, 2, &err) == 0 && t.n == 4 &&
              t.tb[T4].size == 1000 && t.tb[T1].count == 2);
    CHECK("empty batch", tma_tb_totals_add(&t, NULL, 0, &err) == 0 &&
                             t.total_count == 5);
    for (int i = 0; i < 3; i++)
        fx_trace(s, first[i].address, first[i].size, first[i].traceback);
    for (int i = 0; i < 2; i++)
        fx_trace(s, second[i].address, second[i].size, second[i].traceback);

    tma_groups g;
    CHECK("by traceback",
          tma_group_totals(s, &t, TMA_BY_TRACEBACK, 1, &g, &err) == 0 &&
              g.n == 4 && g.cumulative == 0 && g.total_size == 1160 &&
              g.total_count == 5);
    tma_groups_free(&g);
    CHECK("cumulative line",
          tma_group_totals(s, &t, TMA_BY_LINE, 1, &g, &err) == 0 &&
              g.n == 4 && g.cumulative == 1 &&
              fx_is(fx_find_line(&g, "a.py", 1), 157, 3) &&
              fx_is(fx_find_line(&g, "a.py", 2), 7, 1) &&
              fx_is(fx_find_line(&g, "b.py", 1), 1150, 3) &&
              fx_is(fx_find_line(&g, NULL, TMS_LINENO_NONE), 3, 1) &&
              g.total_size == 1160 && g.total_count == 5);
    tma_groups_free(&g);
    CHECK("cumulative filename",
          tma_group_totals(s, &t, TMA_BY_FILENAME, 1, &g, &err) == 0 &&
              g.n == 3 && fx_is(fx_find_file(&g, "a.py"), 157, 3) &&
              fx_is(fx_find_file(&g, "b.py"), 1150, 3) &&
              fx_is(fx_find_file(&g, NULL), 3, 1));
    tma_groups_free(&g);
    CHECK("address cannot come from totals",
          tma_group_totals(s, &t, TMA_BY_ADDRESS, 0, &g, &err) == TMS_E_ARG &&
              g.items == NULL && g.n == 0);
    CHECK("no totals where traces are needed",
          tma_group_totals(s, NULL, TMA_BY_TRACEBACK, 0, &g, &err) == TMS_E_ARG);

    /* stats are what non-cumulative line reads, totals or not */
    fx_stat(s, "c.py", 4, 33, 3);
    CHECK("line, not cumulative: stats, no totals needed",
          tma_group_totals(s, NULL, TMA_BY_LINE, 0, &g, &err) == 0 &&
              g.n == 1 && fx_is(fx_find_line(&g, "c.py", 4), 33, 3) &&
              g.total_size == 33 && g.total_count == 3);
    tma_groups_free(&g);
    s->header.traceback_limit = 1;
    CHECK("limit 1: cumulative ignored, stats again",
          tma_group_totals(s, &t, TMA_BY_FILENAME, 1, &g, &err) == 0 &&
              g.cumulative == 0 && g.n == 1 &&
              fx_is(fx_find_file(&g, "c.py"), 33, 3));
    tma_groups_free(&g);
    tma_tb_totals_free(&t);
    tma_tb_totals_free(&t);
    tma_tb_totals_free(NULL);
    tms_snapshot_free(s);
}

static void test_errors(void)
{
    tms_snapshot *s = fx_new(5), *other = fx_new(5);
    uint32_t f = fx_frame(s, "a.py", 1);
    uint32_t T = fx_tb(s, 1, &f);
    tma_tb_totals t;
    tms_error err;
    CHECK("init without snapshot", tma_tb_totals_init(&t, NULL) == TMS_E_ARG);
    tma_tb_totals_init(&t, s);
    tms_trace ok[1] = {{0x10, 8, T}};
    tma_tb_totals_add(&t, ok, 1, &err);
    tms_trace bad[3] = {{0x20, 5, T}, {0x30, 6, T + 1}, {0x40, 7, T}};
    CHECK("undefined traceback id refused",
          tma_tb_totals_add(&t, bad, 3, &err) == TMS_E_CORRUPT &&
              strstr(err.msg, "trace 2 refers to traceback 1 of 1") != NULL);
    CHECK("refused batch leaves the totals",
          t.total_size == 8 && t.total_count == 1 && t.tb[T].size == 8 &&
              t.tb[T].count == 1);
    memset(&t.err, 0, sizeof t.err);
    CHECK("trace_fn returns the status",
          tma_tb_totals_trace_fn(&t, bad, 3) == TMS_E_CORRUPT);
    CHECK("trace_fn leaves the message in t->err",
          t.err.code == TMS_E_CORRUPT && strstr(t.err.msg, "traceback 1") != NULL);
    CHECK("trace_fn adds", tma_tb_totals_trace_fn(&t, ok, 1) == 0 &&
                               t.total_size == 16 && t.tb[T].count == 2);

    tma_groups g;
    fx_trace(s, 0x10, 8, T);
    CHECK("totals of another snapshot refused",
          tma_group_totals(other, &t, TMA_BY_TRACEBACK, 0, &g, &err) ==
              TMS_E_ARG);
    fx_trace(other, 0x10, 8, fx_tb(other, 0, NULL));
    CHECK("totals of another snapshot refused (with traces)",
          tma_group_totals(other, &t, TMA_BY_TRACEBACK, 0, &g, &err) ==
              TMS_E_ARG && g.n == 0);
    tma_tb_totals_free(&t);

    tms_snapshot *stats_only = fx_new(5);
    fx_stat(stats_only, "a.py", 1, 10, 1);
    tma_tb_totals_init(&t, stats_only);
    CHECK("no traces in the snapshot: same error as tma_group",
          tma_group_totals(stats_only, &t, TMA_BY_LINE, 1, &g, &err) ==
              TMS_E_ARG &&
              strstr(err.msg, "cannot group by line cumulatively: snapshot "
                              "has no traces") != NULL);
    tma_tb_totals_free(&t);
    tms_snapshot_free(stats_only);
    tms_snapshot_free(other);
    tms_snapshot_free(s);
}

/* --- random snapshots ---------------------------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t below(uint32_t n)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (uint32_t)((rng * 0x2545f4914f6cdd1dULL) >> 33) % n;
}

static const char *const names[] = {"a.py", "b/c.py", "d.py", NULL};

static uint32_t random_frame(tms_snapshot *s)
{
    int32_t line = below(5) == 0 ? TMS_LINENO_NONE : (int32_t)below(4);
    return fx_frame(s, names[below(4)], line);
}

static void random_traceback(tms_snapshot *s)
{
    uint32_t fr[6], n = below(7);
    for (uint32_t i = 0; i < n; i++)
        fr[i] = i > 0 && below(4) == 0 ? fr[below(i)] : random_frame(s);
    uint32_t id;
    fx_ok(tms_snapshot_intern_traceback(s, fr, n, &id), "traceback");
}

/* Grow the dictionaries and the traces in rounds; totals see each round's
 * traces as one batch, like a trace chunk between dictionary sections. */
static tms_snapshot *random_snapshot(tma_tb_totals *t, uint64_t *addr)
{
    tms_snapshot *s = fx_new(2 + below(4));
    tma_tb_totals_init(t, s);
    uint32_t rounds = 1 + below(6);
    for (uint32_t r = 0; r < rounds; r++) {
        for (uint32_t k = 1 + below(8); k > 0; k--)
            random_traceback(s);
        uint64_t from = s->ntraces;
        for (uint32_t k = below(40); k > 0; k--) {
            /* mostly the newest tracebacks, as a growing file would */
            uint32_t tb = below(2) ? s->ntracebacks - 1 - below(s->ntracebacks < 3 ? s->ntracebacks : 3)
                                   : below(s->ntracebacks);
            fx_trace(s, (*addr += 16), 1 + below(1000), tb);
        }
        fx_ok(tma_tb_totals_add(t, s->traces + from, (size_t)(s->ntraces - from),
                                NULL), "totals");
    }
    s->has_traces = 1;   /* traces taken, maybe none (begin_traces) */
    fx_ok(tma_snapshot_stats_from_traces(s, NULL), "stats");
    return s;
}

static void test_random(void)
{
    int group_ok = 1, totals_ok = 1, addr_refused = 1;
    uint64_t addr = 0x1000;
    for (int iter = 0; iter < 300; iter++) {
        tma_tb_totals t;
        tms_snapshot *s = random_snapshot(&t, &addr);
        if (iter % 5 == 0)
            s->header.traceback_limit = 1;
        for (int by = TMA_BY_FILENAME; by <= TMA_BY_TRACEBACK; by++)
            for (int cum = 0; cum <= 1; cum++) {
                tma_groups a, b;
                tms_error err;
                int ra = tma_group(s, (tma_group_by)by, cum, &a, &err);
                int rb = tma_group_totals(s, &t, (tma_group_by)by, cum, &b, &err);
                group_ok &= ra == 0 &&
                            matches_reference(&a, s, (tma_group_by)by, cum);
                totals_ok &= rb == 0 &&
                             matches_reference(&b, s, (tma_group_by)by, cum);
                tma_groups_free(&a);
                tma_groups_free(&b);
            }
        tma_groups g;
        addr_refused &= tma_group_totals(s, &t, TMA_BY_ADDRESS, 0, &g, NULL) ==
                        TMS_E_ARG;
        tma_tb_totals_free(&t);
        tms_snapshot_free(s);
    }
    CHECK("random: tma_group equals the per-trace reference, every grouping",
          group_ok);
    CHECK("random: tma_group_totals equals the per-trace reference, every "
          "grouping", totals_ok);
    CHECK("random: address refused", addr_refused);
}

/* --- through a file ------------------------------------------------------ */

/* A file written by the streaming writer: one full trace chunk, then a
 * traceback section, then traces naming it.  Read with totals as the
 * trace callback: no trace is stored and the groups equal tma_group on
 * the original. */
static void test_streamed_file(void)
{
    tms_snapshot *orig = fx_new(5);
    uint32_t f[3] = {fx_frame(orig, "a.py", 1), fx_frame(orig, "b.py", 2),
                     fx_frame(orig, NULL, TMS_LINENO_NONE)};
    uint32_t tf1[2] = {f[0], f[1]}, tf2[3] = {f[1], f[0], f[1]};
    fx_tb(orig, 2, tf1);
    fx_tb(orig, 0, NULL);
    uint32_t early = orig->ntracebacks;
    fx_tb(orig, 3, tf2);
    fx_tb(orig, 1, &f[2]);
    uint64_t n1 = TMS_TRACE_CHUNK, n2 = 1000;
    for (uint64_t i = 0; i < n1 + n2; i++)
        fx_trace(orig, 0x1000 + 16 * i, 1 + i % 97,
                 (uint32_t)(i < n1 ? i % early : early + i % 2));
    fx_stat(orig, "a.py", 1, 5, 1);

    tms_error err = { 0 };
    tms_writer *w = NULL;
    void *buf = NULL;
    size_t len = 0;
    int rc = tms_writer_open_buffer(&w, &orig->header, &err);
    uint64_t st[3] = {0, 2, 2};
    rc = rc ? rc : tms_writer_add_strings(w, orig->strings, orig->nstrings, &err);
    rc = rc ? rc : tms_writer_add_frames(w, orig->frames, orig->nframes, &err);
    rc = rc ? rc : tms_writer_add_tracebacks(w, orig->tb_frames, st, early, &err);
    rc = rc ? rc : tms_writer_add_stats(w, orig->stats, orig->nstats, &err);
    rc = rc ? rc : tms_writer_add_traces(w, orig->traces, n1, &err);
    uint64_t st2[3] = {0, 3, 4};
    rc = rc ? rc : tms_writer_add_tracebacks(w, orig->tb_frames + 2, st2, 2, &err);
    rc = rc ? rc : tms_writer_add_traces(w, orig->traces + n1, n2, &err);
    rc = rc ? rc : tms_writer_finish_buffer(w, &buf, &len, &err);
    if (rc < 0)
        tms_writer_abort(w);
    CHECK("write the file", rc == 0);

    tms_reader *r = NULL;
    tms_snapshot *s = tms_snapshot_new();
    tma_tb_totals t;
    tma_tb_totals_init(&t, s);
    rc = rc ? rc : tms_reader_open_buffer(&r, buf, len, "streamed", &err);
    rc = rc ? rc : tms_reader_read(r, s, 0, tma_tb_totals_trace_fn, &t, &err);
    tms_reader_close(r);
    CHECK("read with totals as the callback", rc == 0);
    CHECK("traces not stored, snapshot says it has them",
          s->ntraces == 0 && s->traces == NULL && s->has_traces == 1);
    CHECK("every trace summed", t.total_count == n1 + n2 && t.n == 4);
    /* The reference sees the original's traces; the streamed snapshot's
     * ids are the original's (same dictionaries, same order). */
    int same = 1;
    for (int by = TMA_BY_FILENAME; by <= TMA_BY_TRACEBACK; by++)
        for (int cum = 0; cum <= 1; cum++) {
            tma_groups b;
            uint64_t total_size;
            if (by != TMA_BY_TRACEBACK && !cum)
                continue;   /* from the file's STAT section: below */
            ref want = reference(orig, (tma_group_by)by, cum, &total_size);
            same &= tma_group_totals(s, &t, (tma_group_by)by, cum, &b, &err) == 0 &&
                    items_equal((tma_group_by)by, want.items, want.n, b.items, b.n) &&
                    b.total_size == total_size && b.total_count == n1 + n2;
            free(want.items);
            tma_groups_free(&b);
        }
    CHECK("file streamed into totals groups like the per-trace reference", same);
    /* Non-cumulative lines come from the file's one stat (a.py:1, 5 B). */
    tma_groups lines;
    int from_stats = tma_group_totals(s, &t, TMA_BY_LINE, 0, &lines, &err) == 0 &&
                     lines.n == 1 && lines.items[0].size == 5 &&
                     lines.items[0].count == 1 && lines.total_size == 5 &&
                     lines.total_count == 1;
    tma_groups_free(&lines);
    CHECK("non-cumulative lines of a streamed file come from its stats",
          from_stats);
    tma_tb_totals_free(&t);
    tms_snapshot_free(s);
    free(buf);
    tms_snapshot_free(orig);
}

int main(void)
{
    test_fixture_by_hand();
    test_errors();
    test_random();
    test_streamed_file();
    return check_report("tma_totals");
}
