/* group.c -- Snapshot.top_by: group a snapshot's memory by filename, line,
 * traceback or address.
 *
 * Strings, frames and tracebacks are unique by value within a snapshot,
 * so a key is an id and a group is an array slot: no hashing on the hot
 * path.  Traces are first summed per traceback id (totals.c: one pass over
 * the traces, or over a file as it streams), then each traceback with
 * memory is expanded into its keys (tma_group_totals), so the per-trace
 * work is one add whatever the grouping and tma_group and tmtool's
 * streamed files share every rule.
 *
 * Decisions beyond tma.h:
 *   - the "cumulative is ignored" rules are applied before the "needs
 *     traces" rule, so a cumulative request on a stats-only snapshot with
 *     traceback_limit < 2 succeeds (PEP 454 top_by does the same);
 *   - TRACEBACK keys are the stored tracebacks: an empty traceback is its
 *     own key (Python: ()), it is not turned into ((None, None),);
 *   - total_size/total_count are summed over the source actually grouped:
 *     the traces, or s->stats when those were used;
 *   - a stat listed twice for one frame is summed into one group.
 */
#include <stdlib.h>
#include <string.h>

#include "tma_internal.h"

/* A group's memory: the same pair as a traceback's. */
typedef tma_tb_total slot;

static void groups_clear(tma_groups *g)
{
    memset(g, 0, sizeof *g);
}

void tma_groups_free(tma_groups *g)
{
    if (g == NULL)
        return;
    free(g->items);
    groups_clear(g);
}

/* Key space for LINE / FILENAME / FUNCTION: frame or string ids, plus one
 * slot for the unknown frame / filename when the snapshot lacks it.
 * FUNCTION keys are (filename, function) pairs: each frame maps to the
 * first frame with its pair (canon), whose id is the slot. */
typedef struct keyspace {
    tma_group_by by;
    uint32_t n;        /* slots */
    uint32_t unknown;  /* slot of the unknown frame or filename */
    uint32_t *canon;   /* FUNCTION: frame -> slot; owned */
} keyspace;

static uint64_t pair_hash(uint32_t a, uint32_t b)
{
    uint64_t h = ((uint64_t)a << 32 | b) * 0x9E3779B97F4A7C15ULL;
    return h ^ (h >> 29);
}

/* canon[f] = the first frame with f's (filename, function) pair. */
static int function_canon(const tms_snapshot *s, keyspace *k, tms_error *err)
{
    size_t cap = 16;
    while (cap < 2 * (size_t)s->nframes + 2)
        cap <<= 1;
    uint32_t *tab = malloc(cap * sizeof *tab);   /* frame id + 1; 0 empty */
    k->canon = malloc(((size_t)s->nframes + 1) * sizeof *k->canon);
    if (tab == NULL || k->canon == NULL) {
        free(tab);
        return tma_fail(err, TMS_E_NOMEM, "cannot group: out of memory");
    }
    memset(tab, 0, cap * sizeof *tab);
    k->unknown = s->nframes;
    for (uint32_t f = 0; f < s->nframes; f++) {
        uint32_t fn = s->frames[f].filename, name = tms_frame_function(s, f);
        size_t i = (size_t)pair_hash(fn, name) & (cap - 1);
        for (; tab[i]; i = (i + 1) & (cap - 1)) {
            uint32_t g = tab[i] - 1;
            if (s->frames[g].filename == fn && tms_frame_function(s, g) == name)
                break;
        }
        if (tab[i] == 0)
            tab[i] = f + 1;
        k->canon[f] = tab[i] - 1;
        if (fn == TMS_NONE && name == TMS_NONE && k->unknown == s->nframes)
            k->unknown = k->canon[f];
    }
    free(tab);
    return TMS_OK;
}

static int keyspace_init(const tms_snapshot *s, tma_group_by by, keyspace *k,
                         tms_error *err)
{
    k->by = by;
    k->canon = NULL;
    if (by == TMA_BY_LINE) {
        uint32_t u = tma_find_unknown_frame(s);
        k->n = s->nframes + 1;
        k->unknown = u != TMS_NONE ? u : s->nframes;
    } else if (by == TMA_BY_FUNCTION) {
        k->n = s->nframes + 1;
        return function_canon(s, k, err);
    } else {
        k->n = s->nstrings + 1;
        k->unknown = s->nstrings;
    }
    return TMS_OK;
}

static void keyspace_free(keyspace *k)
{
    free(k->canon);
    k->canon = NULL;
}

static uint32_t slot_of_frame(const tms_snapshot *s, const keyspace *k,
                              uint32_t frame)
{
    if (k->by == TMA_BY_LINE)
        return frame;
    if (k->by == TMA_BY_FUNCTION)
        return k->canon[frame];
    uint32_t name = s->frames[frame].filename;
    return name == TMS_NONE ? k->unknown : name;
}

static tma_key key_of_slot(const tms_snapshot *s, const keyspace *k,
                           uint32_t i)
{
    tma_key key;
    memset(&key, 0, sizeof key);
    key.snap = s;
    key.traceback = TMS_NONE;
    key.function = TMS_NONE;
    if (k->by == TMA_BY_LINE || k->by == TMA_BY_FUNCTION) {
        if (i < s->nframes) {
            key.filename = s->frames[i].filename;
            key.lineno = s->frames[i].lineno;
            key.function = tms_frame_function(s, i);
        } else {
            key.filename = TMS_NONE;
            key.lineno = TMS_LINENO_NONE;
        }
        if (k->by == TMA_BY_FUNCTION)
            key.lineno = TMS_LINENO_NONE;
    } else {
        key.filename = i < s->nstrings ? i : TMS_NONE;
        key.lineno = TMS_LINENO_NONE;
    }
    return key;
}

/* Turn the slots that were touched into items. */
static int emit_slots(const tms_snapshot *s, const keyspace *k,
                      const slot *acc, const uint8_t *seen, tma_groups *out,
                      tms_error *err)
{
    size_t n = 0;
    for (uint32_t i = 0; i < k->n; i++)
        n += seen[i] != 0;
    out->items = malloc((n ? n : 1) * sizeof *out->items);
    if (out->items == NULL)
        return tma_fail(err, TMS_E_NOMEM, "cannot group: out of memory");
    for (uint32_t i = 0, j = 0; i < k->n; i++) {
        if (!seen[i])
            continue;
        out->items[j].key = key_of_slot(s, k, i);
        out->items[j].size = acc[i].size;
        out->items[j].count = acc[i].count;
        j++;
    }
    out->n = n;
    return TMS_OK;
}

static int group_stats(const tms_snapshot *s, tma_group_by by,
                       tma_groups *out, tms_error *err)
{
    keyspace k;
    int rc = keyspace_init(s, by, &k, err);
    if (rc < 0)
        return rc;
    slot *acc = calloc(k.n, sizeof *acc);
    uint8_t *seen = calloc(k.n, 1);
    if (acc == NULL || seen == NULL) {
        rc = tma_fail(err, TMS_E_NOMEM, "cannot group: out of memory");
        goto done;
    }
    for (uint64_t i = 0; i < s->nstats; i++) {
        const tms_stat *st = &s->stats[i];
        if (st->frame >= s->nframes) {
            rc = tma_fail(err, TMS_E_CORRUPT,
                          "cannot group: stat %llu refers to frame %u of %u",
                          (unsigned long long)i, st->frame, s->nframes);
            goto done;
        }
        uint32_t at = slot_of_frame(s, &k, st->frame);
        acc[at].size += st->size;
        acc[at].count += st->count;
        seen[at] = 1;
        out->total_size += st->size;
        out->total_count += st->count;
    }
    rc = emit_slots(s, &k, acc, seen, out, err);
done:
    free(acc);
    free(seen);
    keyspace_free(&k);
    return rc;
}

/* Cumulative LINE / FILENAME / FUNCTION: every distinct key of a
 * traceback gets the traceback's memory once.  stamp[key] = last
 * traceback that counted it.  first_only: only the most recent frame
 * (a non-cumulative grouping from per-traceback totals: the peak). */
static int group_cumulative(const tms_snapshot *s, tma_group_by by,
                            const tma_tb_totals *tt, int first_only,
                            tma_groups *out, tms_error *err)
{
    keyspace k;
    int rc = keyspace_init(s, by, &k, err);
    if (rc < 0)
        return rc;
    slot *acc = calloc(k.n, sizeof *acc);
    uint32_t *stamp = malloc((size_t)k.n * sizeof *stamp);
    uint8_t *seen = calloc(k.n, 1);
    if (acc == NULL || stamp == NULL || seen == NULL) {
        rc = tma_fail(err, TMS_E_NOMEM, "cannot group: out of memory");
        goto done;
    }
    memset(stamp, 0xff, (size_t)k.n * sizeof *stamp);
    const slot *tb = tt->tb;
    for (uint32_t t = 0; t < tt->n; t++) {
        if (tb[t].count == 0)
            continue;
        uint32_t n = tms_traceback_len(s, t);
        const uint32_t *frames = tms_traceback_frames(s, t);
        if (n == 0) {
            acc[k.unknown].size += tb[t].size;
            acc[k.unknown].count += tb[t].count;
            seen[k.unknown] = 1;
            continue;
        }
        for (uint32_t i = 0; i < (first_only ? 1 : n); i++) {
            uint32_t at = slot_of_frame(s, &k, frames[i]);
            if (stamp[at] == t)
                continue;   /* recursion: this key already has the block */
            stamp[at] = t;
            acc[at].size += tb[t].size;
            acc[at].count += tb[t].count;
            seen[at] = 1;
        }
    }
    rc = emit_slots(s, &k, acc, seen, out, err);
done:
    free(acc);
    free(stamp);
    free(seen);
    keyspace_free(&k);
    return rc;
}

static int group_tracebacks(const tms_snapshot *s, const tma_tb_totals *tt,
                            tma_groups *out, tms_error *err)
{
    const slot *tb = tt->tb;
    size_t n = 0;
    for (uint32_t t = 0; t < tt->n; t++)
        n += tb[t].count != 0;
    out->items = malloc((n ? n : 1) * sizeof *out->items);
    if (out->items == NULL)
        return tma_fail(err, TMS_E_NOMEM, "cannot group: out of memory");
    for (uint32_t t = 0, j = 0; t < tt->n; t++) {
        if (tb[t].count == 0)
            continue;
        tma_stat *it = &out->items[j++];
        memset(&it->key, 0, sizeof it->key);
        it->key.snap = s;
        it->key.filename = TMS_NONE;
        it->key.lineno = TMS_LINENO_NONE;
        it->key.function = TMS_NONE;
        it->key.traceback = t;
        it->size = tb[t].size;
        it->count = tb[t].count;
    }
    out->n = n;
    return TMS_OK;
}

static int group_addresses(const tms_snapshot *s, tma_groups *out,
                           tms_error *err)
{
    out->items = malloc((s->ntraces ? s->ntraces : 1) * sizeof *out->items);
    if (out->items == NULL)
        return tma_fail(err, TMS_E_NOMEM, "cannot group: out of memory");
    for (uint64_t i = 0; i < s->ntraces; i++) {
        tma_stat *it = &out->items[i];
        memset(&it->key, 0, sizeof it->key);
        it->key.snap = s;
        it->key.filename = TMS_NONE;
        it->key.lineno = TMS_LINENO_NONE;
        it->key.function = TMS_NONE;
        it->key.traceback = s->traces[i].traceback;
        it->key.address = s->traces[i].address;
        tma_sample_estimate(s->header.sample_interval, s->traces[i].size,
                            s->traces[i].address, &it->size, &it->count);
        out->total_size += it->size;
        out->total_count += it->count;
    }
    out->n = s->ntraces;
    return TMS_OK;
}

/* Sums per domain (format 1.3): few groups, a linear search each. */
static int group_domains(const tms_snapshot *s, tma_groups *out,
                         tms_error *err)
{
    size_t cap = 0;
    out->n = 0;
    for (uint64_t i = 0; i < s->ntraces; i++) {
        const tms_trace *t = &s->traces[i];
        size_t g = 0;
        while (g < out->n && out->items[g].key.domain != t->domain)
            g++;
        if (g == out->n) {
            if (tms_grow((void **)&out->items, &cap, out->n + 1,
                         sizeof *out->items) < 0)
                return tma_fail(err, TMS_E_NOMEM, "cannot group: out of "
                                "memory");
            tma_stat *it = &out->items[out->n++];
            memset(it, 0, sizeof *it);
            it->key.snap = s;
            it->key.filename = TMS_NONE;
            it->key.lineno = TMS_LINENO_NONE;
            it->key.function = TMS_NONE;
            it->key.traceback = TMS_NONE;
            it->key.domain = t->domain;
        }
        uint64_t sz, ct;
        tma_sample_estimate(s->header.sample_interval, t->size, t->address,
                            &sz, &ct);
        out->items[g].size += sz;
        out->items[g].count += ct;
        out->total_size += sz;
        out->total_count += ct;
    }
    if (out->items == NULL &&
        (out->items = malloc(sizeof *out->items)) == NULL)
        return tma_fail(err, TMS_E_NOMEM, "cannot group: out of memory");
    return TMS_OK;
}

/* Validate the request and apply the "cumulative is ignored" rules, which
 * come before "needs traces". */
static int prepare(const tms_snapshot *s, tma_group_by by, int *cumulative,
                   tma_groups *out, tms_error *err)
{
    if (out == NULL)
        return tma_fail(err, TMS_E_ARG, "cannot group: no output");
    groups_clear(out);
    if (s == NULL)
        return tma_fail(err, TMS_E_ARG, "cannot group: no snapshot");
    if ((unsigned)by > TMA_BY_LAST)
        return tma_fail(err, TMS_E_ARG, "cannot group: unknown grouping %d",
                        (int)by);
    out->sample_interval = s->header.sample_interval;
    if (by == TMA_BY_ADDRESS || by == TMA_BY_TRACEBACK ||
        by == TMA_BY_DOMAIN || s->header.traceback_limit < 2)
        *cumulative = 0;
    *cumulative = *cumulative != 0;
    return TMS_OK;
}

static int uses_stats(tma_group_by by, int cumulative)
{
    return !cumulative && (by == TMA_BY_FILENAME || by == TMA_BY_LINE ||
                           by == TMA_BY_FUNCTION);
}

/* The message says what to re-run: a user who meets it has a file taken
 * without traces and needs to know how to get one with them. */
static int no_traces(tma_group_by by, int cumulative, tms_error *err)
{
    return tma_fail(err, TMS_E_ARG,
                    "cannot group by %s%s: snapshot has no traces "
                    "(%s)", tma_group_by_name(by),
                    cumulative ? " cumulatively" : "", TMA_HINT_TRACES);
}

static int finish(tma_groups *out, tma_group_by by, int cumulative, int rc)
{
    if (rc < 0) {
        tma_groups_free(out);
        return rc;
    }
    out->by = by;
    out->cumulative = cumulative;
    return TMS_OK;
}

int tma_group_totals(const tms_snapshot *s, const tma_tb_totals *t,
                     tma_group_by by, int cumulative, tma_groups *out,
                     tms_error *err)
{
    int rc = prepare(s, by, &cumulative, out, err);
    if (rc < 0)
        return rc;
    if (uses_stats(by, cumulative)) {
        rc = group_stats(s, by, out, err);
    } else if (by == TMA_BY_ADDRESS || by == TMA_BY_DOMAIN) {
        rc = tma_fail(err, TMS_E_ARG, "cannot group by %s from "
                      "per-traceback totals: it needs the traces",
                      tma_group_by_name(by));
    } else if (!s->has_traces) {
        rc = no_traces(by, cumulative, err);
    } else if (t == NULL || t->snap != s || t->n > s->ntracebacks) {
        rc = tma_fail(err, TMS_E_ARG, "cannot group by %s: no per-traceback "
                      "totals for this snapshot", tma_group_by_name(by));
    } else {
        out->total_size = t->total_size;
        out->total_count = t->total_count;
        rc = by == TMA_BY_TRACEBACK ? group_tracebacks(s, t, out, err)
                                    : group_cumulative(s, by, t, 0, out, err);
    }
    return finish(out, by, cumulative, rc);
}

int tma_group_peak(const tms_snapshot *s, tma_group_by by, int cumulative,
                   tma_groups *out, tms_error *err)
{
    int rc = prepare(s, by, &cumulative, out, err);
    if (rc < 0)
        return rc;
    if (!s->has_peak)
        return tma_fail(err, TMS_E_ARG, "snapshot has no peak (it needs "
                        "format 1.1, written by a tracer that keeps it)");
    if (by == TMA_BY_ADDRESS || by == TMA_BY_DOMAIN)
        return tma_fail(err, TMS_E_ARG, "cannot group the peak by %s: "
                        "it is kept per traceback", tma_group_by_name(by));
    /* the recorded state per traceback: the one conversion, totals.c */
    tma_tb_totals t;
    rc = tma_tb_totals_peak(&t, s, err);
    if (rc < 0)
        return finish(out, by, cumulative, rc);
    out->total_size = t.total_size;
    out->total_count = t.total_count;
    if (rc == TMS_OK)
        rc = by == TMA_BY_TRACEBACK
                 ? group_tracebacks(s, &t, out, err)
                 : group_cumulative(s, by, &t, !cumulative, out, err);
    tma_tb_totals_free(&t);
    return finish(out, by, cumulative, rc);
}

int tma_group(const tms_snapshot *s, tma_group_by by, int cumulative,
              tma_groups *out, tms_error *err)
{
    int rc = prepare(s, by, &cumulative, out, err);
    if (rc < 0)
        return rc;
    if (by == TMA_BY_ADDRESS || by == TMA_BY_DOMAIN) {
        rc = !s->has_traces ? no_traces(by, cumulative, err)
             : by == TMA_BY_ADDRESS ? group_addresses(s, out, err)
                                    : group_domains(s, out, err);
        return finish(out, by, cumulative, rc);
    }
    if (uses_stats(by, cumulative) || !s->has_traces)
        return tma_group_totals(s, NULL, by, cumulative, out, err);
    /* the same path as a streamed file: sum per traceback, then expand */
    tma_tb_totals t;
    rc = tma_tb_totals_init(&t, s);
    if (rc == TMS_OK)
        rc = tma_tb_totals_add(&t, s->traces, (size_t)s->ntraces, err);
    if (rc == TMS_OK)
        rc = tma_group_totals(s, &t, by, cumulative, out, err);
    else
        groups_clear(out);
    tma_tb_totals_free(&t);
    return rc;
}
