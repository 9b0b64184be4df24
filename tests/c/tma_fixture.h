/* tma_fixture.h -- build small snapshots by hand for the libtma tests.
 * A failed builder call aborts the test program: a fixture that is not
 * what the test thinks it is would make every check meaningless. */
#ifndef TMA_FIXTURE_H
#define TMA_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tma.h"

static inline void fx_ok(int rc, const char *what)
{
    if (rc < 0) {
        fprintf(stderr, "fixture: %s failed: %d\n", what, rc);
        exit(99);
    }
}

static inline tms_snapshot *fx_new(uint32_t traceback_limit)
{
    tms_snapshot *s = tms_snapshot_new();
    if (s == NULL)
        fx_ok(TMS_E_NOMEM, "tms_snapshot_new");
    s->header.traceback_limit = traceback_limit;
    return s;
}

static inline uint32_t fx_str(tms_snapshot *s, const char *text)
{
    uint32_t id;
    if (text == NULL)
        return TMS_NONE;
    fx_ok(tms_snapshot_intern_string(s, text, strlen(text), &id), "string");
    return id;
}

/* filename NULL: unknown; lineno TMS_LINENO_NONE: unknown */
static inline uint32_t fx_frame(tms_snapshot *s, const char *filename,
                                int32_t lineno)
{
    uint32_t id;
    fx_ok(tms_snapshot_intern_frame(s, fx_str(s, filename), lineno, &id),
          "frame");
    return id;
}

static inline uint32_t fx_tb(tms_snapshot *s, uint32_t n,
                             const uint32_t *frames)
{
    uint32_t id;
    fx_ok(tms_snapshot_intern_traceback(s, frames, n, &id), "traceback");
    return id;
}

static inline void fx_trace(tms_snapshot *s, uint64_t address, uint64_t size,
                            uint32_t tb)
{
    fx_ok(tms_snapshot_add_trace(s, address, size, tb), "trace");
}

static inline void fx_stat(tms_snapshot *s, const char *filename,
                           int32_t lineno, uint64_t size, uint64_t count)
{
    fx_ok(tms_snapshot_add_stat(s, fx_frame(s, filename, lineno), size, count),
          "stat");
}

/* The filename of a LINE/FILENAME key, NULL when unknown. */
static inline const char *fx_key_name(const tma_key *k)
{
    if (k->filename == TMS_NONE)
        return NULL;
    return k->snap->strings[k->filename].data;
}

static inline int fx_same_name(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

/* Find a group item by LINE key value (NULL name = unknown). */
static inline const tma_stat *fx_find_line(const tma_groups *g,
                                           const char *name, int32_t lineno)
{
    for (size_t i = 0; i < g->n; i++)
        if (fx_same_name(fx_key_name(&g->items[i].key), name) &&
            g->items[i].key.lineno == lineno)
            return &g->items[i];
    return NULL;
}

static inline const tma_stat *fx_find_file(const tma_groups *g,
                                           const char *name)
{
    for (size_t i = 0; i < g->n; i++)
        if (fx_same_name(fx_key_name(&g->items[i].key), name))
            return &g->items[i];
    return NULL;
}

static inline int fx_is(const tma_stat *st, uint64_t size, uint64_t count)
{
    return st != NULL && st->size == size && st->count == count;
}

#endif
