/* tmt_alloc.h -- where the tracer's own memory comes from.
 *
 * Every byte the module keeps (tables, pools, per-thread buffers, filter
 * patterns) comes from libc here, never from PyMem_*: the hooks must not
 * see the module's own memory, and get_tracemalloc_memory() must report
 * it exactly.  A 16-byte header remembers each block's size so frees can
 * be counted without asking the C library. */
#ifndef TMT_ALLOC_H
#define TMT_ALLOC_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Bytes currently held by the module, headers included, are counted in
 * tmt_S.alloc_bytes (core.h). */
#include "core.h"

#define TMT_ALLOC_HDR 16u

static inline void *tmt_malloc(size_t n)
{
    if (n > SIZE_MAX - TMT_ALLOC_HDR)
        return NULL;
    unsigned char *p = malloc(n + TMT_ALLOC_HDR);
    if (p == NULL)
        return NULL;
    memcpy(p, &n, sizeof n);
    __atomic_add_fetch(&tmt_S.alloc_bytes, n + TMT_ALLOC_HDR, __ATOMIC_RELAXED);
    return p + TMT_ALLOC_HDR;
}

static inline void *tmt_calloc(size_t count, size_t size)
{
    if (size != 0 && count > (SIZE_MAX - TMT_ALLOC_HDR) / size)
        return NULL;
    size_t n = count * size;
    unsigned char *p = calloc(1, n + TMT_ALLOC_HDR);
    if (p == NULL)
        return NULL;
    memcpy(p, &n, sizeof n);
    __atomic_add_fetch(&tmt_S.alloc_bytes, n + TMT_ALLOC_HDR, __ATOMIC_RELAXED);
    return p + TMT_ALLOC_HDR;
}

static inline void tmt_free(void *q)
{
    if (q == NULL)
        return;
    unsigned char *p = (unsigned char *)q - TMT_ALLOC_HDR;
    size_t n;
    memcpy(&n, p, sizeof n);
    __atomic_sub_fetch(&tmt_S.alloc_bytes, n + TMT_ALLOC_HDR, __ATOMIC_RELAXED);
    free(p);
}

static inline char *tmt_strndup(const char *s, size_t len)
{
    char *d = tmt_malloc(len + 1);
    if (d != NULL) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

#endif
