/* trend.c -- growth across a series: which sites grew, and how steadily.
 *
 * Every file of a run is grouped the same way (tma_group or
 * tma_group_totals) and added in time order.  Each site (key value) gets
 * its size in every file (0 where absent), so a site that appears late
 * has grown in the interval where it appeared.  Then, per site:
 *   - first/last size and count, change = last - first, peak size;
 *   - grew / shrank: intervals (consecutive file pairs) in which it grew
 *     or shrank; steadiness = grew / intervals;
 *   - slope: least-squares bytes per second over the files' timestamps
 *     (the file index when timestamps do not increase), with r^2, its fit.
 *
 * Order (tma_trend_sort): the likely leaks first.  A leak grows in most
 * intervals; a cache filled once or a spike grows in one.  So sites whose
 * size grew from first to last come first, the steadiest first, then the
 * biggest change; then the others, biggest change first (shrinking last);
 * ties by key value.  Steadiness before size is the deliberate choice: a
 * site growing 1 KiB in every interval outranks a 100 MiB step, because
 * the step stops and the leak does not.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tma_internal.h"

void tma_trend_free(tma_trend *t)
{
    if (t == NULL)
        return;
    free(t->rows);
    free(t->sizes);
    free(t->counts);
    free(t->file_total);
    free(t->file_time);
    tma_acc_free(t->keys);
    free(t->keys);
    tms_snapshot_free(t->keys_snap);
    memset(t, 0, sizeof *t);
}

int tma_trend_init(tma_trend *t, tma_group_by by, size_t nfiles,
                   tms_error *err)
{
    if (t == NULL)
        return tma_fail(err, TMS_E_ARG, "cannot compute trends: bad argument");
    memset(t, 0, sizeof *t);
    if (nfiles < 2)
        return tma_fail(err, TMS_E_ARG, "a trend needs at least two "
                        "snapshots");
    if (by == TMA_BY_ADDRESS)
        return tma_fail(err, TMS_E_ARG, "a trend groups by filename, line "
                        "or traceback, not address");
    t->by = by;
    t->nfiles_max = nfiles;
    t->file_total = calloc(nfiles, sizeof *t->file_total);
    t->file_time = calloc(nfiles, sizeof *t->file_time);
    t->keys = calloc(1, sizeof *t->keys);
    if (t->keys != NULL && tma_acc_init(t->keys, by, 0) < 0) {
        free(t->keys);
        t->keys = NULL;
    }
    t->keys_snap = tms_snapshot_new();
    if (t->file_total == NULL || t->file_time == NULL || t->keys == NULL ||
        t->keys_snap == NULL) {
        tma_trend_free(t);
        return tma_fail(err, TMS_E_NOMEM, "cannot compute trends: out of "
                        "memory");
    }
    return TMS_OK;
}

/* Room for one more row: the rows and, per row, a size and a count per
 * file.  The three arrays grow in step, so they share t->cap. */
static int grow_rows(tma_trend *t)
{
    size_t nf = t->nfiles_max;
    uint64_t need = (uint64_t)t->cap + 1, cr = t->cap, cs = t->cap,
             cc = t->cap;
    if (nf > SIZE_MAX / sizeof(uint64_t) ||
        tms_grow((void **)&t->rows, &cr, need, sizeof *t->rows) < 0 ||
        tms_grow((void **)&t->sizes, &cs, need, nf * sizeof *t->sizes) < 0 ||
        tms_grow((void **)&t->counts, &cc, need, nf * sizeof *t->counts) < 0)
        return TMS_E_NOMEM;
    t->cap = (size_t)cc;
    return TMS_OK;
}

/* Row of key's value (the index of its entry in t->keys), created with
 * zero in every file if missing; a new key is copied into t->keys_snap. */
static int row_of(tma_trend *t, const tma_key *key, size_t *out,
                  tms_error *err)
{
    size_t n = t->keys->n;
    if (n == t->cap && grow_rows(t) < 0)
        return tma_fail(err, TMS_E_NOMEM, "cannot compute trends: out of memory");
    int rc = tma_acc_index(t->keys, key, out);
    if (rc < 0)
        return tma_fail(err, rc, rc == TMS_E_LIMIT
                        ? "cannot compute trends: too many sites"
                        : "cannot compute trends: out of memory");
    if (*out < n)
        return TMS_OK;
    tma_key mine;
    rc = tma_key_copy(t->by, key, t->keys_snap, &mine, err);
    if (rc < 0)
        return rc;
    t->keys->entries[*out].key = mine;    /* same value: hash unchanged */
    size_t i = t->n++;
    memset(&t->rows[i], 0, sizeof t->rows[i]);
    t->rows[i].key = mine;
    t->rows[i].index = (uint32_t)i;
    memset(&t->sizes[i * t->nfiles_max], 0, t->nfiles_max * sizeof *t->sizes);
    memset(&t->counts[i * t->nfiles_max], 0, t->nfiles_max * sizeof *t->counts);
    return TMS_OK;
}

int tma_trend_add(tma_trend *t, const tma_groups *g, int64_t timestamp_ns,
                  tms_error *err)
{
    if (t == NULL || g == NULL || t->file_total == NULL)
        return tma_fail(err, TMS_E_ARG, "cannot compute trends: bad argument");
    if (g->by != t->by)
        return tma_fail(err, TMS_E_ARG, "cannot compute trends: snapshots "
                        "grouped by %s and %s", tma_group_by_name(t->by),
                        tma_group_by_name(g->by));
    if (t->nfiles == t->nfiles_max)
        return tma_fail(err, TMS_E_ARG, "cannot compute trends: more than "
                        "the %zu snapshots announced", t->nfiles_max);
    size_t f = t->nfiles;
    for (size_t k = 0; k < g->n; k++) {
        size_t i;
        int rc = row_of(t, &g->items[k].key, &i, err);
        if (rc < 0)
            return rc;
        /* a key listed twice in one grouping (cannot happen from
         * tma_group) is summed rather than lost */
        t->sizes[i * t->nfiles_max + f] += g->items[k].size;
        t->counts[i * t->nfiles_max + f] += g->items[k].count;
    }
    t->file_total[f] = g->total_size;
    t->file_time[f] = timestamp_ns;
    t->nfiles++;
    return TMS_OK;
}

/* x of file f: seconds since the first file, or the index when the
 * timestamps do not strictly increase (a slope per file then). */
static double x_of(const tma_trend *t, size_t f, int by_time)
{
    if (!by_time)
        return (double)f;
    return (double)(t->file_time[f] - t->file_time[0]) / 1e9;
}

static void fit(const tma_trend *t, const uint64_t *y, int by_time,
                double *slope, double *r2)
{
    size_t n = t->nfiles;
    double mx = 0, my = 0;
    for (size_t f = 0; f < n; f++) {
        mx += x_of(t, f, by_time);
        my += (double)y[f];
    }
    mx /= (double)n;
    my /= (double)n;
    double sxx = 0, sxy = 0, syy = 0;
    for (size_t f = 0; f < n; f++) {
        double dx = x_of(t, f, by_time) - mx, dy = (double)y[f] - my;
        sxx += dx * dx;
        sxy += dx * dy;
        syy += dy * dy;
    }
    *slope = sxx > 0 ? sxy / sxx : 0.0;
    /* a constant series is fitted exactly by a flat line */
    *r2 = syy > 0 && sxx > 0 ? (sxy * sxy) / (sxx * syy) : 1.0;
}

int tma_trend_finish(tma_trend *t, tms_error *err)
{
    if (t == NULL || t->file_total == NULL)
        return tma_fail(err, TMS_E_ARG, "cannot compute trends: bad argument");
    if (t->nfiles < 2)
        return tma_fail(err, TMS_E_ARG, "a trend needs at least two "
                        "snapshots");
    size_t nf = t->nfiles, stride = t->nfiles_max;
    int by_time = 1;
    for (size_t f = 1; f < nf; f++)
        if (t->file_time[f] <= t->file_time[f - 1])
            by_time = 0;
    t->slope_per_second = by_time;
    for (size_t i = 0; i < t->n; i++) {
        tma_trend_row *r = &t->rows[i];
        const uint64_t *y = &t->sizes[i * stride];
        const uint64_t *c = &t->counts[i * stride];
        r->first_size = y[0];
        r->last_size = y[nf - 1];
        r->first_count = c[0];
        r->last_count = c[nf - 1];
        r->change = (int64_t)(r->last_size - r->first_size);
        r->peak_size = 0;
        r->grew = r->shrank = 0;
        for (size_t f = 0; f < nf; f++) {
            if (y[f] > r->peak_size)
                r->peak_size = y[f];
            if (f > 0 && y[f] > y[f - 1])
                r->grew++;
            if (f > 0 && y[f] < y[f - 1])
                r->shrank++;
        }
        r->intervals = (uint32_t)(nf - 1);
        r->steadiness = (double)r->grew / (double)r->intervals;
        fit(t, y, by_time, &r->slope, &r->r2);
    }
    return TMS_OK;
}

static tma_group_by sort_by;   /* qsort has no context argument in C11 */

static int cmp_rows(const void *pa, const void *pb)
{
    const tma_trend_row *a = pa, *b = pb;
    int ga = a->change > 0, gb = b->change > 0;
    if (ga != gb)
        return ga ? -1 : 1;
    if (ga && a->grew != b->grew)      /* same intervals: grew orders */
        return a->grew > b->grew ? -1 : 1;
    if (a->change != b->change)
        return a->change > b->change ? -1 : 1;
    if (a->last_size != b->last_size)
        return a->last_size > b->last_size ? -1 : 1;
    int k = tma_key_cmp(sort_by, &a->key, &b->key);
    if (k != 0)
        return -k;     /* descending, as tma_diff_sort */
    return a->index < b->index ? -1 : a->index > b->index;
}

void tma_trend_sort(tma_trend *t)
{
    if (t == NULL || t->n < 2)
        return;
    sort_by = t->by;
    qsort(t->rows, t->n, sizeof *t->rows, cmp_rows);
}

const uint64_t *tma_trend_sizes(const tma_trend *t, const tma_trend_row *r)
{
    return &t->sizes[(size_t)r->index * t->nfiles_max];
}
