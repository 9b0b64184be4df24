/* tracefilter.c -- the filters of tma_snapshot_apply_filters (and the
 * domain filter of tma_snapshot_keep_domain) applied to traces as they
 * stream past, so a filtered copy of a file never holds its traces
 * (`tmtool filter`).
 *
 * The same rules as apply.c and domain.c, decided once per traceback
 * (tracebacks are unique by value) and cached in one byte per traceback;
 * the kept traces are summed per traceback (tma_tb_totals, so a sampled
 * file's sums are estimates) and the stats and peak are settled at the
 * end.  Memory: a few bytes per traceback, nothing per trace.
 *
 * What the whole-snapshot path does, reproduced here:
 *   - with --domain, the stats are recomputed from that domain's traces
 *     and the peak is dropped (domain.c); the unknown frame is interned
 *     if any of those traces has an empty traceback, even when the
 *     filters then drop it (keep_domain recomputes before they run);
 *   - with filters, the stats are recomputed from the kept traces and
 *     the peak's entries are kept by their traceback (apply.c);
 *   - with neither, nothing changes. */
#include <stdlib.h>
#include <string.h>

#include "tma_internal.h"

enum { UNDECIDED = 0xff };

struct tma_trace_filter {
    const tms_snapshot *s;       /* borrowed; its dictionaries grow */
    const tma_filter *filters;   /* borrowed */
    size_t nfilters;
    int has_domain;
    uint32_t domain;
    uint8_t *matched;            /* borrowed, may be NULL */
    uint8_t *keep;               /* per traceback: 0, 1 or UNDECIDED */
    uint64_t nkeep, cap_keep;
    tma_views views;
    tma_tb_totals kept;          /* sums of the kept traces */
    int domain_empty;            /* a trace of the domain had no frames */
    uint64_t traces_in, size_in;     /* raw: what the summary reports */
    uint64_t traces_kept, size_kept;
};

int tma_trace_filter_new(tma_trace_filter **out, const tms_snapshot *s,
                         const tma_filter *filters, size_t nfilters,
                         int has_domain, uint32_t domain, uint8_t *matched,
                         tms_error *err)
{
    if (out == NULL || s == NULL || (nfilters > 0 && filters == NULL))
        return tma_fail(err, TMS_E_ARG, "cannot filter: bad argument");
    tma_trace_filter *f = calloc(1, sizeof *f);
    if (f == NULL)
        return tma_fail(err, TMS_E_NOMEM, "cannot filter: out of memory");
    f->s = s;
    f->filters = filters;
    f->nfilters = nfilters;
    f->has_domain = has_domain;
    f->domain = domain;
    f->matched = matched;
    tma_tb_totals_init(&f->kept, s);
    *out = f;
    return TMS_OK;
}

void tma_trace_filter_free(tma_trace_filter *f)
{
    if (f == NULL)
        return;
    free(f->keep);
    tma_views_free(&f->views);
    tma_tb_totals_free(&f->kept);
    free(f);
}

/* The keep byte of every traceback s defines now. */
static int cover(tma_trace_filter *f, tms_error *err)
{
    uint64_t want = f->s->ntracebacks;
    if (want <= f->nkeep)
        return TMS_OK;
    if (tms_grow((void **)&f->keep, &f->cap_keep, want, 1) < 0)
        return tma_fail(err, TMS_E_NOMEM, "cannot filter: out of memory");
    memset(f->keep + f->nkeep, UNDECIDED, (size_t)(want - f->nkeep));
    f->nkeep = want;
    return TMS_OK;
}

static int decide(tma_trace_filter *f, uint32_t t, tms_error *err)
{
    int k = 1;
    if (f->nfilters > 0)
        k = tma_keep_traceback(f->s, t, f->filters, f->nfilters, &f->views,
                               f->matched);
    if (k < 0)
        return tma_fail(err, k, "cannot filter: out of memory");
    f->keep[t] = (uint8_t)k;
    return k;
}

int tma_trace_filter_apply(tma_trace_filter *f, const tms_trace *in,
                           size_t n, tms_trace *out, size_t *nout,
                           tms_error *err)
{
    if (f == NULL || (n > 0 && (in == NULL || out == NULL)) || nout == NULL)
        return tma_fail(err, TMS_E_ARG, "cannot filter: bad argument");
    int rc = cover(f, err);
    if (rc < 0)
        return rc;
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t t = in[i].traceback;
        if (t >= f->nkeep)
            return tma_fail(err, TMS_E_CORRUPT, "cannot filter: trace %llu "
                            "refers to traceback %u of %llu",
                            (unsigned long long)(f->traces_in + i), t,
                            (unsigned long long)f->nkeep);
        if (f->has_domain && in[i].domain != f->domain)
            continue;
        if (f->has_domain && !f->domain_empty && tms_traceback_len(f->s, t) == 0)
            f->domain_empty = 1;
        int k = f->keep[t];
        if (k == UNDECIDED && (k = decide(f, t, err)) < 0)
            return k;
        if (k)
            out[j++] = in[i];
    }
    rc = tma_tb_totals_add(&f->kept, out, j, err);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++)
        f->size_in += in[i].size;
    for (size_t i = 0; i < j; i++)
        f->size_kept += out[i].size;
    f->traces_in += n;
    f->traces_kept += j;
    *nout = j;
    return TMS_OK;
}

int tma_trace_filter_keeps(const tma_trace_filter *f, const tms_trace *t)
{
    if (f->has_domain && t->domain != f->domain)
        return 0;
    return t->traceback < f->nkeep && f->keep[t->traceback] == 1;
}

void tma_trace_filter_counts(const tma_trace_filter *f, uint64_t *traces_in,
                             uint64_t *size_in, uint64_t *traces_kept,
                             uint64_t *size_kept)
{
    *traces_in = f->traces_in;
    *size_in = f->size_in;
    *traces_kept = f->traces_kept;
    *size_kept = f->size_kept;
}

int tma_trace_filter_finish(tma_trace_filter *f, tms_snapshot *s,
                            tms_error *err)
{
    if (f == NULL || s != f->s)
        return tma_fail(err, TMS_E_ARG, "cannot filter: bad argument");
    if (f->nfilters == 0 && !f->has_domain)
        return TMS_OK;
    int rc = cover(f, err);
    if (rc == TMS_OK)
        rc = tma_tb_totals_add(&f->kept, NULL, 0, err);
    if (rc < 0)
        return rc;
    if (f->has_domain) {
        s->has_peak = 0;
        s->npeak = 0;
        uint32_t unknown;
        if (f->domain_empty &&
            (rc = tms_snapshot_intern_frame(s, TMS_NONE, TMS_LINENO_NONE,
                                            &unknown)) < 0)
            return tma_fail(err, rc, "cannot compute stats: cannot add the "
                            "unknown frame");
    } else if (s->has_peak &&
               (rc = tma_filter_peak(s, f->filters, f->nfilters, f->keep,
                                     f->nkeep, &f->views, err)) < 0) {
        return rc;
    }
    /* every traceback's most recent frame; sums beyond the last kept
     * trace's traceback are zero */
    size_t n = f->kept.n;
    uint32_t *frame = malloc((n ? n : 1) * sizeof *frame);
    if (frame == NULL)
        return tma_fail(err, TMS_E_NOMEM, "cannot compute stats: out of "
                        "memory");
    for (size_t t = 0; t < n; t++)
        frame[t] = tms_traceback_len(s, (uint32_t)t)
                       ? tms_traceback_frames(s, (uint32_t)t)[0] : TMS_NONE;
    rc = tma_snapshot_stats_from_sums(s, frame, f->kept.tb, n, err);
    free(frame);
    return rc;
}
