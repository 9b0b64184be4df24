/* unique.c -- what the streaming writer remembers to keep W7/W8: no
 * duplicate string, frame, traceback, metric name, meta key, STAT frame
 * or trace address, even when the caller feeds them in many batches.
 *
 * Dictionaries are mirrored in tms_snapshot tables (their intern indexes
 * find a duplicate in O(1)); they are small next to the traces.  For
 * addresses the writer keeps each emitted chunk's sorted addresses (8
 * bytes a trace) and its range: a new chunk is merged against only the
 * earlier chunks whose range overlaps it, so sorted input (what
 * tms_snapshot_save gives) costs no comparisons at all. */
#include <stdlib.h>
#include <string.h>

#include "unique.h"

typedef struct chunk_range {
    uint64_t lo, hi, at, n;
} chunk_range;

struct tms_unique {
    tms_snapshot *dict, *metric_names, *meta_keys;
    uint8_t *stat_seen;
    uint64_t cap_seen, nseen;
    uint64_t *addr;
    uint64_t naddr, cap_addr;
    chunk_range *chunk;
    uint64_t nchunk, cap_chunk;
};

tms_unique *tms_unique_new(void)
{
    tms_unique *u = calloc(1, sizeof *u);
    if (u == NULL)
        return NULL;
    u->dict = tms_snapshot_new();
    u->metric_names = tms_snapshot_new();
    u->meta_keys = tms_snapshot_new();
    if (u->dict == NULL || u->metric_names == NULL || u->meta_keys == NULL) {
        tms_unique_free(u);
        return NULL;
    }
    return u;
}

void tms_unique_free(tms_unique *u)
{
    if (u == NULL)
        return;
    tms_snapshot_free(u->dict);
    tms_snapshot_free(u->metric_names);
    tms_snapshot_free(u->meta_keys);
    free(u->stat_seen);
    free(u->addr);
    free(u->chunk);
    free(u);
}

/* Intern into a mirror table: TMS_OK if new, TMS_E_ARG if it was there. */
static int fresh(int rc, uint32_t id, uint32_t before)
{
    return rc < 0 ? rc : id < before ? TMS_E_ARG : TMS_OK;
}

int tms_unique_string(tms_unique *u, const char *data, size_t len)
{
    uint32_t id = 0, n = u->dict->nstrings;
    int rc = tms_snapshot_intern_string(u->dict, data, len, &id);
    return fresh(rc, id, n);
}

int tms_unique_frame(tms_unique *u, uint32_t filename, int32_t lineno)
{
    uint32_t id = 0, n = u->dict->nframes;
    int rc = tms_snapshot_intern_frame(u->dict, filename, lineno, &id);
    return fresh(rc, id, n);
}

int tms_unique_traceback(tms_unique *u, const uint32_t *frames, uint32_t n)
{
    uint32_t id = 0, before = u->dict->ntracebacks;
    int rc = tms_snapshot_intern_traceback(u->dict, frames, n, &id);
    return fresh(rc, id, before);
}

int tms_unique_metric(tms_unique *u, const char *name)
{
    uint32_t id = 0, n = u->metric_names->nstrings;
    int rc = tms_snapshot_intern_string(u->metric_names, name, strlen(name),
                                        &id);
    return fresh(rc, id, n);
}

int tms_unique_meta(tms_unique *u, const char *key)
{
    uint32_t id = 0, n = u->meta_keys->nstrings;
    int rc = tms_snapshot_intern_string(u->meta_keys, key, strlen(key), &id);
    return fresh(rc, id, n);
}

int tms_unique_stat(tms_unique *u, uint32_t frame)
{
    if (frame >= u->nseen) {
        uint64_t need = (uint64_t)frame + 1;
        TMS_FORWARD(tms_grow((void **)&u->stat_seen, &u->cap_seen, need, 1));
        memset(u->stat_seen + u->nseen, 0, need - u->nseen);
        u->nseen = need;
    }
    if (u->stat_seen[frame])
        return TMS_E_ARG;
    u->stat_seen[frame] = 1;
    return TMS_OK;
}

/* 1 if the sorted lists a and b share a value. */
static int intersect(const uint64_t *a, uint64_t na, const uint64_t *b,
                     uint64_t nb)
{
    uint64_t i = 0, j = 0;
    while (i < na && j < nb) {
        if (a[i] == b[j])
            return 1;
        if (a[i] < b[j])
            i++;
        else
            j++;
    }
    return 0;
}

int tms_unique_chunk(tms_unique *u, const tms_trace *t, size_t n)
{
    if (n == 0)
        return TMS_OK;
    TMS_FORWARD(tms_grow((void **)&u->addr, &u->cap_addr, u->naddr + n,
                         sizeof *u->addr));
    TMS_FORWARD(tms_grow((void **)&u->chunk, &u->cap_chunk, u->nchunk + 1,
                         sizeof *u->chunk));
    uint64_t *mine = u->addr + u->naddr;
    for (size_t i = 0; i < n; i++)
        mine[i] = t[i].address;
    chunk_range c = { mine[0], mine[n - 1], u->naddr, n };
    for (uint64_t k = 0; k < u->nchunk; k++) {
        const chunk_range *o = &u->chunk[k];
        if (o->hi >= c.lo && o->lo <= c.hi &&
            intersect(u->addr + o->at, o->n, mine, n))
            return TMS_E_ARG;
    }
    u->chunk[u->nchunk++] = c;
    u->naddr += n;
    return TMS_OK;
}
