/* apply.c -- Snapshot.apply_filters and the stats a snapshot's traces
 * imply.
 *
 * The keep rule depends only on a trace's traceback, and tracebacks are
 * unique by value, so it is evaluated once per traceback id and cached;
 * millions of traces cost one byte lookup each.  All allocation and
 * interning happens before the snapshot is changed, so on failure the
 * traces and stats are as they were (an interned unknown frame may stay:
 * dictionaries only grow).
 *
 * Decisions beyond tma.h:
 *   - no filters: nothing changes (stats are not recomputed), as
 *     pytracemalloc's apply_filters returns early;
 *   - recomputed stats are ordered by frame id, only frames with at least
 *     one trace get a stat.
 */
#include <stdlib.h>
#include <string.h>

#include "tma_internal.h"

/* Stats from memory summed per traceback: sums[t] belongs under frame[t]
 * (TMS_NONE: an empty traceback, counted under the unknown frame, which
 * is interned when needed).  One stat per frame with memory, in frame-id
 * order, into a new array. */
static int stats_from_sums(tms_snapshot *s, const uint32_t *frame,
                           const tma_tb_total *sums, size_t n,
                           tms_stat **out, uint64_t *nout, tms_error *err)
{
    *out = NULL;
    *nout = 0;
    uint32_t unknown = TMS_NONE;
    for (size_t t = 0; t < n && unknown == TMS_NONE; t++) {
        if (sums[t].count == 0 || frame[t] != TMS_NONE)
            continue;
        int rc = tms_snapshot_intern_frame(s, TMS_NONE, TMS_LINENO_NONE,
                                           &unknown);
        if (rc < 0)
            return tma_fail(err, rc, "cannot compute stats: cannot add the "
                                     "unknown frame");
    }
    tma_tb_total *fr = calloc(s->nframes ? s->nframes : 1, sizeof *fr);
    if (fr == NULL)
        return tma_fail(err, TMS_E_NOMEM, "cannot compute stats: out of memory");
    for (size_t t = 0; t < n; t++) {
        if (sums[t].count == 0)
            continue;
        uint32_t f = frame[t] == TMS_NONE ? unknown : frame[t];
        if (f >= s->nframes) {
            free(fr);
            return tma_fail(err, TMS_E_ARG, "cannot compute stats: frame %u "
                            "of %u", f, s->nframes);
        }
        fr[f].size += sums[t].size;
        fr[f].count += sums[t].count;
    }
    uint64_t k = 0;
    for (uint32_t f = 0; f < s->nframes; f++)
        k += fr[f].count != 0;
    tms_stat *st = malloc((k ? k : 1) * sizeof *st);
    if (st == NULL) {
        free(fr);
        return tma_fail(err, TMS_E_NOMEM, "cannot compute stats: out of memory");
    }
    uint64_t j = 0;
    for (uint32_t f = 0; f < s->nframes; f++) {
        if (fr[f].count == 0)
            continue;
        st[j].frame = f;
        st[j].size = fr[f].size;
        st[j].count = fr[f].count;
        j++;
    }
    free(fr);
    *out = st;
    *nout = k;
    return TMS_OK;
}

/* Build the stats of the traces whose traceback has keep[tb] != 0 (all
 * when keep is NULL) into a new array. */
static int build_stats(tms_snapshot *s, const uint8_t *keep,
                       tms_stat **out, uint64_t *nout, tms_error *err)
{
    size_t n = s->ntracebacks;
    tma_tb_total *tb = calloc(n ? n : 1, sizeof *tb);
    uint32_t *frame = malloc((n ? n : 1) * sizeof *frame);
    int rc = TMS_OK;
    if (tb == NULL || frame == NULL) {
        rc = tma_fail(err, TMS_E_NOMEM, "cannot compute stats: out of memory");
        goto out;
    }
    for (uint64_t i = 0; i < s->ntraces; i++) {
        uint32_t t = s->traces[i].traceback;
        if (t >= s->ntracebacks) {
            rc = tma_fail(err, TMS_E_CORRUPT,
                          "cannot compute stats: trace %llu refers to "
                          "traceback %u of %u", (unsigned long long)i, t,
                          s->ntracebacks);
            goto out;
        }
        if (keep != NULL && !keep[t])
            continue;
        /* a sampled file's STAT holds estimates (SPEC §4.12), the same
         * rule as every libtma sum; exact files add size and 1 */
        uint64_t es, ec;
        tma_sample_estimate(s->header.sample_interval, s->traces[i].size,
                            s->traces[i].address, &es, &ec);
        tb[t].size += es;
        tb[t].count += ec;
    }
    for (uint32_t t = 0; t < s->ntracebacks; t++)
        frame[t] = tms_traceback_len(s, t) ? tms_traceback_frames(s, t)[0]
                                           : TMS_NONE;
    rc = stats_from_sums(s, frame, tb, n, out, nout, err);
out:
    free(tb);
    free(frame);
    return rc;
}

/* The snapshot owns s->stats; replace it whole. */
static void set_stats(tms_snapshot *s, tms_stat *st, uint64_t n)
{
    free(s->stats);
    s->stats = st;
    s->nstats = n;
    s->cap_stats = n ? n : 1;
}

int tma_snapshot_stats_from_sums(tms_snapshot *s, const uint32_t *frame,
                                 const tma_tb_total *sums, size_t n,
                                 tms_error *err)
{
    if (s == NULL || (n > 0 && (frame == NULL || sums == NULL)))
        return tma_fail(err, TMS_E_ARG, "cannot compute stats: no input");
    tms_stat *st;
    uint64_t k;
    int rc = stats_from_sums(s, frame, sums, n, &st, &k, err);
    if (rc < 0)
        return rc;
    set_stats(s, st, k);
    return TMS_OK;
}

int tma_snapshot_stats_from_traces(tms_snapshot *s, tms_error *err)
{
    if (s == NULL)
        return tma_fail(err, TMS_E_ARG, "cannot compute stats: no snapshot");
    if (!s->has_traces)
        return tma_fail(err, TMS_E_ARG,
                        "cannot compute stats: snapshot has no traces "
                        "(" TMA_HINT_TRACES ")");
    tms_stat *st;
    uint64_t n;
    int rc = build_stats(s, NULL, &st, &n, err);
    if (rc < 0)
        return rc;
    set_stats(s, st, n);
    return TMS_OK;
}

void tma_views_free(tma_views *buf)
{
    free(buf->v);
    buf->v = NULL;
    buf->cap = 0;
}

int tma_keep_traceback(const tms_snapshot *s, uint32_t t,
                       const tma_filter *filters, size_t nfilters,
                       tma_views *buf, uint8_t *matched)
{
    uint32_t n = tms_traceback_len(s, t);
    if (n > buf->cap) {
        tma_frame_view *v = realloc(buf->v, (size_t)n * sizeof *v);
        if (v == NULL)
            return TMS_E_NOMEM;
        buf->v = v;
        buf->cap = n;
    }
    const uint32_t *frames = tms_traceback_frames(s, t);
    for (uint32_t i = 0; i < n; i++)
        buf->v[i] = tma_view_frame(s, frames[i]);
    if (matched != NULL)
        tma_filters_mark(filters, nfilters, buf->v, n,
                         s->header.traceback_limit, matched);
    return tma_filters_keep(filters, nfilters, buf->v, n,
                            s->header.traceback_limit);
}

static int apply_traces(tms_snapshot *s, const tma_filter *filters,
                        size_t nfilters, tms_error *err)
{
    /* 0xff: not evaluated yet, else 0 (drop) or 1 (keep) */
    uint8_t *keep = malloc(s->ntracebacks ? s->ntracebacks : 1);
    if (keep == NULL)
        return tma_fail(err, TMS_E_NOMEM, "cannot filter: out of memory");
    memset(keep, 0xff, s->ntracebacks);
    tma_views buf = {NULL, 0};
    for (uint64_t i = 0; i < s->ntraces; i++) {
        uint32_t t = s->traces[i].traceback;
        if (t >= s->ntracebacks) {
            free(keep);
            free(buf.v);
            return tma_fail(err, TMS_E_CORRUPT,
                            "cannot filter: trace %llu refers to traceback "
                            "%u of %u", (unsigned long long)i, t,
                            s->ntracebacks);
        }
        if (keep[t] != 0xff)
            continue;
        int k = tma_keep_traceback(s, t, filters, nfilters, &buf, NULL);
        if (k < 0) {
            free(keep);
            free(buf.v);
            return tma_fail(err, k, "cannot filter: out of memory");
        }
        keep[t] = (uint8_t)k;
    }
    free(buf.v);

    tms_stat *st;
    uint64_t nst;
    int rc = build_stats(s, keep, &st, &nst, err);
    if (rc < 0) {
        free(keep);
        return rc;
    }
    uint64_t j = 0;
    for (uint64_t i = 0; i < s->ntraces; i++)
        if (keep[s->traces[i].traceback])
            s->traces[j++] = s->traces[i];
    s->ntraces = j;
    set_stats(s, st, nst);
    free(keep);
    return TMS_OK;
}

static int apply_stats(tms_snapshot *s, const tma_filter *filters,
                       size_t nfilters, tms_error *err)
{
    for (uint64_t i = 0; i < s->nstats; i++)
        if (s->stats[i].frame >= s->nframes)
            return tma_fail(err, TMS_E_CORRUPT,
                            "cannot filter: stat %llu refers to frame %u of %u",
                            (unsigned long long)i, s->stats[i].frame,
                            s->nframes);
    uint64_t j = 0;
    for (uint64_t i = 0; i < s->nstats; i++) {
        tma_frame_view v = tma_view_frame(s, s->stats[i].frame);
        if (tma_filters_keep(filters, nfilters, &v, 1,
                             s->header.traceback_limit))
            s->stats[j++] = s->stats[i];
    }
    s->nstats = j;
    return TMS_OK;
}

/* The peak's entries (format 1.1) by the same rule as traces: their
 * tracebacks decide.  The summary stays (SPEC §4.11 allows a filtered
 * copy whose entries no longer sum to recorded_size).  Decided for every
 * entry before any is dropped, so OOM leaves the peak as it was. */
int tma_filter_peak(tms_snapshot *s, const tma_filter *filters,
                    size_t nfilters, const uint8_t *known, uint64_t nknown,
                    tma_views *buf, tms_error *err)
{
    uint8_t *keep = malloc(s->npeak ? (size_t)s->npeak : 1);
    if (keep == NULL)
        return tma_fail(err, TMS_E_NOMEM, "cannot filter: out of memory");
    for (uint64_t i = 0; i < s->npeak; i++) {
        uint32_t t = s->peak_entries[i].traceback;
        int k = t >= s->ntracebacks ? TMS_E_CORRUPT
                : t < nknown && known[t] <= 1
                    ? known[t]
                    : tma_keep_traceback(s, t, filters, nfilters, buf, NULL);
        if (k < 0) {
            free(keep);
            return tma_fail(err, k, k == TMS_E_NOMEM
                                        ? "cannot filter: out of memory"
                                        : "cannot filter: a peak entry "
                                          "refers to no traceback");
        }
        keep[i] = (uint8_t)k;
    }
    uint64_t j = 0;
    for (uint64_t i = 0; i < s->npeak; i++)
        if (keep[i])
            s->peak_entries[j++] = s->peak_entries[i];
    s->npeak = j;
    free(keep);
    return TMS_OK;
}

int tma_snapshot_apply_filters(tms_snapshot *s, const tma_filter *filters,
                               size_t nfilters, tms_error *err)
{
    if (s == NULL)
        return tma_fail(err, TMS_E_ARG, "cannot filter: no snapshot");
    if (nfilters == 0)
        return TMS_OK;
    if (filters == NULL)
        return tma_fail(err, TMS_E_ARG, "cannot filter: no filters");
    if (s->has_peak) {
        tma_views buf = {NULL, 0};
        int rc = tma_filter_peak(s, filters, nfilters, NULL, 0, &buf, err);
        tma_views_free(&buf);
        if (rc < 0)
            return rc;
    }
    if (s->has_traces)
        return apply_traces(s, filters, nfilters, err);
    return apply_stats(s, filters, nfilters, err);
}


/* One visit per traceback that has traces: tracebacks are unique by
 * value, so the filters see each once. */
static int matched_traces(const tms_snapshot *s, const tma_filter *filters,
                          size_t nfilters, uint8_t *matched, tms_error *err)
{
    uint8_t *seen = calloc(s->ntracebacks ? s->ntracebacks : 1, 1);
    tma_views buf = {NULL, 0};
    int rc = TMS_OK;
    if (seen == NULL)
        return tma_fail(err, TMS_E_NOMEM, "cannot filter: out of memory");
    for (uint64_t i = 0; i < s->ntraces; i++) {
        uint32_t t = s->traces[i].traceback;
        if (t >= s->ntracebacks) {
            rc = tma_fail(err, TMS_E_CORRUPT, "cannot filter: trace %llu "
                          "refers to traceback %u of %u",
                          (unsigned long long)i, t, s->ntracebacks);
            break;
        }
        if (seen[t])
            continue;
        seen[t] = 1;
        uint32_t n = tms_traceback_len(s, t);
        if (n > buf.cap) {
            tma_frame_view *v = realloc(buf.v, (size_t)n * sizeof *v);
            if (v == NULL) {
                rc = tma_fail(err, TMS_E_NOMEM, "cannot filter: out of memory");
                break;
            }
            buf.v = v;
            buf.cap = n;
        }
        const uint32_t *frames = tms_traceback_frames(s, t);
        for (uint32_t k = 0; k < n; k++)
            buf.v[k] = tma_view_frame(s, frames[k]);
        tma_filters_mark(filters, nfilters, buf.v, n,
                         s->header.traceback_limit, matched);
    }
    free(buf.v);
    free(seen);
    return rc;
}

int tma_snapshot_filters_matched(const tms_snapshot *s,
                                 const tma_filter *filters, size_t nfilters,
                                 uint8_t *matched, tms_error *err)
{
    if (s == NULL || (nfilters > 0 && (filters == NULL || matched == NULL)))
        return tma_fail(err, TMS_E_ARG, "cannot filter: no snapshot");
    if (nfilters == 0)
        return TMS_OK;
    if (s->has_traces)
        return matched_traces(s, filters, nfilters, matched, err);
    for (uint64_t i = 0; i < s->nstats; i++) {
        if (s->stats[i].frame >= s->nframes)
            return tma_fail(err, TMS_E_CORRUPT,
                            "cannot filter: stat %llu refers to frame %u of %u",
                            (unsigned long long)i, s->stats[i].frame,
                            s->nframes);
        tma_frame_view v = tma_view_frame(s, s->stats[i].frame);
        tma_filters_mark(filters, nfilters, &v, 1, s->header.traceback_limit,
                         matched);
    }
    return TMS_OK;
}
