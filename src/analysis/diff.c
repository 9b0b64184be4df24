/* diff.c -- GroupedStats.compare_to and StatsDiff.sort, and the merge of
 * several groupings (tmtool --merge).
 *
 * Both sides are summed per key value first (key.c), so keys that are
 * equal by value but distinct in one snapshot -- (None, None) and ("", 0)
 * -- become one row, and each key value appears once in a diff.  Then the
 * sort has no ties left past the key, and its order is total.
 *
 * Decisions beyond tma.h:
 *   - "grouped differently" means a different `by`; cumulative and
 *     non-cumulative groupings can be compared and merged (tmtool shows
 *     what was done per snapshot); a merge is cumulative only if every
 *     part was;
 *   - merge totals are the sums of the parts' totals.
 */
#include <stdlib.h>
#include <string.h>

#include "tma_internal.h"

/* Sum n groupings into slot `slot` of a. */
static int collect(tma_acc *a, const tma_groups *g, size_t n, int slot)
{
    for (size_t k = 0; k < n; k++) {
        for (size_t i = 0; i < g[k].n; i++) {
            int rc = tma_acc_add(a, &g[k].items[i].key, slot,
                                 g[k].items[i].size, g[k].items[i].count);
            if (rc < 0)
                return rc;
        }
    }
    return TMS_OK;
}

/* After collecting (rc so far): room for a->n results of elem bytes, or
 * a freed table and the error. */
static int collect_finish(tma_acc *a, int rc, size_t elem, void **items,
                          const char *what, tms_error *err)
{
    *items = NULL;
    if (rc == TMS_OK) {
        *items = malloc((a->n ? a->n : 1) * elem);
        if (*items == NULL)
            rc = TMS_E_NOMEM;
    }
    if (rc == TMS_OK)
        return TMS_OK;
    tma_acc_free(a);
    if (rc == TMS_E_NOMEM)
        return tma_fail(err, rc, "cannot %s: out of memory", what);
    return tma_fail(err, rc, "cannot %s: too many keys", what);
}

static int64_t diff_u64(uint64_t new_v, uint64_t old_v)
{
    /* two's complement wrap is the exact difference for any real sizes */
    return (int64_t)(new_v - old_v);
}

int tma_diff_compute(const tma_groups *old, const tma_groups *new_,
                     tma_diff *out, tms_error *err)
{
    if (out == NULL)
        return tma_fail(err, TMS_E_ARG, "cannot compare: no output");
    memset(out, 0, sizeof *out);
    if (new_ == NULL)
        return tma_fail(err, TMS_E_ARG, "cannot compare: no new grouping");
    if (old != NULL && old->by != new_->by)
        return tma_fail(err, TMS_E_ARG,
                        "cannot compare a grouping by %s to one by %s",
                        tma_group_by_name(new_->by),
                        tma_group_by_name(old->by));
    tma_acc a;
    size_t expect = new_->n + (old ? old->n : 0);
    int rc = tma_acc_init(&a, new_->by, expect);
    if (rc == TMS_OK)
        rc = collect(&a, new_, 1, 1);
    if (rc == TMS_OK && old != NULL)
        rc = collect(&a, old, 1, 0);
    rc = collect_finish(&a, rc, sizeof *out->items, (void **)&out->items,
                        "compare", err);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < a.n; i++) {
        const tma_acc_entry *e = &a.entries[i];
        tma_diff_item *d = &out->items[i];
        d->key = e->key;
        d->size = e->size[1];
        d->count = e->count[1];
        if (old == NULL) {
            d->size_diff = 0;      /* compare_to(None) */
            d->count_diff = 0;
        } else {
            d->size_diff = diff_u64(e->size[1], e->size[0]);
            d->count_diff = diff_u64(e->count[1], e->count[0]);
        }
    }
    out->n = a.n;
    out->by = new_->by;
    tma_acc_free(&a);
    return TMS_OK;
}

static uint64_t mag(int64_t v)
{
    return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
}

static int cmp3(uint64_t a, uint64_t b)
{
    return a < b ? -1 : a > b;
}

/* Python's sorted(key=(abs(sd), size, abs(cd), count, key), reverse=True):
 * the comparison is reversed, so greater tuples come first. */
static int cmp_desc(tma_group_by by, const tma_diff_item *a,
                    const tma_diff_item *b)
{
    int c = cmp3(mag(a->size_diff), mag(b->size_diff));
    if (c == 0)
        c = cmp3(a->size, b->size);
    if (c == 0)
        c = cmp3(mag(a->count_diff), mag(b->count_diff));
    if (c == 0)
        c = cmp3(a->count, b->count);
    if (c == 0)
        c = tma_key_cmp(by, &a->key, &b->key);
    return -c;
}

/* qsort has no context argument in C11 and a global would not be thread
 * safe: one comparator per grouping. */
#define CMP_FOR(name, by)                                                    \
    static int name(const void *a, const void *b)                            \
    {                                                                        \
        return cmp_desc(by, a, b);                                           \
    }
CMP_FOR(cmp_filename, TMA_BY_FILENAME)
CMP_FOR(cmp_line, TMA_BY_LINE)
CMP_FOR(cmp_traceback, TMA_BY_TRACEBACK)
CMP_FOR(cmp_address, TMA_BY_ADDRESS)
CMP_FOR(cmp_function, TMA_BY_FUNCTION)
CMP_FOR(cmp_domain, TMA_BY_DOMAIN)

void tma_diff_sort(tma_diff *d)
{
    static int (*const cmps[])(const void *, const void *) = {
        cmp_filename, cmp_line, cmp_traceback, cmp_address, cmp_function,
        cmp_domain};
    _Static_assert(sizeof cmps / sizeof cmps[0] == TMA_BY_LAST + 1,
                   "one comparator per grouping");
    if (d == NULL || d->n < 2 || (unsigned)d->by > TMA_BY_LAST)
        return;
    qsort(d->items, d->n, sizeof *d->items, cmps[d->by]);
}

void tma_diff_free(tma_diff *d)
{
    if (d == NULL)
        return;
    free(d->items);
    memset(d, 0, sizeof *d);
}

int tma_groups_merge(const tma_groups *parts, size_t nparts, tma_groups *out,
                     tms_error *err)
{
    if (out == NULL)
        return tma_fail(err, TMS_E_ARG, "cannot merge: no output");
    memset(out, 0, sizeof *out);
    if (parts == NULL || nparts == 0)
        return tma_fail(err, TMS_E_ARG, "cannot merge: no groupings");
    size_t expect = 0;
    int cumulative = 1;
    for (size_t i = 0; i < nparts; i++) {
        if (parts[i].by != parts[0].by)
            return tma_fail(err, TMS_E_ARG,
                            "cannot merge a grouping by %s with one by %s",
                            tma_group_by_name(parts[0].by),
                            tma_group_by_name(parts[i].by));
        expect += parts[i].n;
        cumulative &= parts[i].cumulative != 0;
    }
    tma_acc a;
    int rc = tma_acc_init(&a, parts[0].by, expect);
    if (rc == TMS_OK)
        rc = collect(&a, parts, nparts, 0);
    rc = collect_finish(&a, rc, sizeof *out->items, (void **)&out->items,
                        "merge", err);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < a.n; i++) {
        out->items[i].key = a.entries[i].key;
        out->items[i].size = a.entries[i].size[0];
        out->items[i].count = a.entries[i].count[0];
    }
    out->n = a.n;
    out->by = parts[0].by;
    out->cumulative = cumulative;
    for (size_t i = 0; i < nparts; i++) {
        out->total_size += parts[i].total_size;
        out->total_count += parts[i].total_count;
    }
    tma_acc_free(&a);
    return TMS_OK;
}

void tma_diff_sum(const tma_diff *d, size_t from, size_t to,
                  tma_diff_item *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = from; i < to && i < d->n; i++) {
        out->size_diff += d->items[i].size_diff;
        out->size += d->items[i].size;
        out->count_diff += d->items[i].count_diff;
        out->count += d->items[i].count;
    }
}

void tma_groups_total(const tma_groups *cur, const tma_groups *old,
                      tma_diff_item *out)
{
    memset(out, 0, sizeof *out);
    out->size = cur->total_size;
    out->count = cur->total_count;
    if (old != NULL) {
        out->size_diff = diff_u64(out->size, old->total_size);
        out->count_diff = diff_u64(out->count, old->total_count);
    }
}
