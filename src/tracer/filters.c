/* filters.c -- the tracer's filters and the per-traceback decision.
 *
 * The rule itself is libtma's tma_filters_keep (shared with
 * Snapshot.apply_filters and tmtool); here it is evaluated once per
 * interned traceback and cached until the filters or the limit change. */
#include "core.h"

#include "tmt_alloc.h"

static int filters_need_lines;
static tma_frame_view views[TMT_MAX_LIMIT];

/* The slow half of tmt_tb_keep (core.h): no decision cached for id under
 * the current filters yet. */
int tmt_tb_decide(uint32_t id)
{
    tmt_tables *t = &tmt_S.tables;
    if (id >= t->ntbs)
        return 0; /* the tables could not be rebuilt after a reset (OOM) */
    tmt_tb *tb = &t->tbs[id];
    if (tb->filter_gen == tmt_S.filter_gen)
        return tb->keep;
    int keep = 1;
    if (tmt_S.nfilters > 0) {
        uint32_t n = tb->nframes;
        for (uint32_t k = 0; k < n; k++) {
            tmt_frame *fr = &t->frames[t->tb_frames[tb->start + k]];
            const tmt_code *c = &t->codes[fr->code];
            views[k].filename = c->filename;
            views[k].len = c->flen;
            views[k].lineno = filters_need_lines ? tmt_frame_line(fr)
                                                 : TMS_LINENO_NONE;
            if (views[k].lineno < 0)
                views[k].lineno = TMS_LINENO_NONE;
        }
        int r = tma_filters_keep(tmt_S.filters, tmt_S.nfilters, views, n,
                                 (uint32_t)tmt_S.limit);
        keep = r != 0; /* an error (< 0) keeps: never lose data silently */
    }
    tb->keep = (uint8_t)keep;
    tb->filter_gen = tmt_S.filter_gen;
    return keep;
}

int tmt_filters_append(int include, const char *pattern, size_t plen,
                       int32_t lineno, int traceback)
{
    char *p = tmt_strndup(pattern, plen);
    tma_filter *arr = tmt_malloc((tmt_S.nfilters + 1) * sizeof *arr);
    if (p == NULL || arr == NULL) {
        tmt_free(p);
        tmt_free(arr);
        return -1;
    }
    if (tmt_S.nfilters)
        memcpy(arr, tmt_S.filters, tmt_S.nfilters * sizeof *arr);
    arr[tmt_S.nfilters] = (tma_filter){include, p, plen, lineno, traceback};
    /* Filters are read by GIL holders only (tmt_tb_decide), like us. */
    tma_filter *old = tmt_S.filters;
    tmt_S.filters = arr;
    tmt_S.nfilters++;
    if (lineno >= 1)
        filters_need_lines = 1;
    tmt_S.filter_gen++;
    tmt_free(old);
    return 0;
}

void tmt_filters_clear(void)
{
    tma_filter *old = tmt_S.filters;
    size_t n = tmt_S.nfilters;
    tmt_S.filters = NULL;
    tmt_S.nfilters = 0;
    filters_need_lines = 0;
    tmt_S.filter_gen++;
    for (size_t i = 0; i < n; i++)
        tmt_free((void *)old[i].pattern);
    tmt_free(old);
}
