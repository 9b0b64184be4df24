/* pipeline.c -- load, filter, group, compare: the glue before rendering. */
#include "pipeline.h"

#include <string.h>

#include "exitcodes.h"

/* Whether a grouping can be made from per-traceback totals while the
 * file streams, instead of from stored traces: it needs traces but not
 * their addresses or domains, and no filter has to drop traces first
 * (filters work on s->traces). */
static int streams(const tm_display *d, const tm_filters *f)
{
    return !tm_filters_active(f) && d->by != TMA_BY_ADDRESS && d->by != TMA_BY_DOMAIN &&
           !d->peak &&
           !(tm_display_load_flags(d, f) & TMS_LOAD_SKIP_TRACES);
}

int tm_group_snapshot(const tm_display *d, const tms_snapshot *s,
                      const tma_tb_totals *t, const char *path,
                      tma_groups *out)
{
    tms_error err = { 0 };
    int rc = d->peak ? tma_group_peak(s, d->by, d->cumulative, out, &err)
             : t != NULL ? tma_group_totals(s, t, d->by, d->cumulative, out, &err)
                         : tma_group(s, d->by, d->cumulative, out, &err);
    if (rc < 0) {
        tm_report_error("group", path, &err);
        return tm_exit_for_status(rc);
    }
    return TM_EXIT_OK;
}

int tm_load_grouped(const tm_display *d, const tm_filters *f,
                    const char *path, tms_snapshot **snap, tma_groups *groups)
{
    tma_tb_totals t = { 0 };
    int stream = streams(d, f);
    int rc = stream ? tm_load_totals(path, snap, &t)
                    : tm_load(path, tm_display_load_flags(d, f), snap);
    if (rc == TM_EXIT_OK)
        rc = tm_filters_apply(f, *snap, path);
    if (rc == TM_EXIT_OK)
        rc = tm_group_snapshot(d, *snap, stream ? &t : NULL, path, groups);
    tma_tb_totals_free(&t);
    if (rc != TM_EXIT_OK) {
        tms_snapshot_free(*snap);
        *snap = NULL;
    }
    return rc;
}

int tm_report_build(tm_report *r)
{
    tms_error err = { 0 };
    int rc = tma_diff_compute(r->old.groups, r->cur.groups, &r->diff, &err);
    if (rc < 0) {
        tm_report_error("compare", r->cur.name, &err);
        return tm_exit_for_status(rc);
    }
    tma_diff_sort(&r->diff);
    return TM_EXIT_OK;
}

void tm_report_free(tm_report *r)
{
    tma_diff_free(&r->diff);
}

void tm_report_keep_growth(tm_report *r)
{
    size_t j = 0;
    for (size_t i = 0; i < r->diff.n; i++)
        if (r->diff.items[i].size_diff > 0)
            r->diff.items[j++] = r->diff.items[i];
    r->diff.n = j;
}

size_t tm_report_shown(const tm_report *r, const tm_display *d)
{
    size_t n = r->diff.n;
    return d->count > 0 && (size_t)d->count < n ? (size_t)d->count : n;
}
