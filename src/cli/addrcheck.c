/* addrcheck.c -- no address twice in a filtered copy (addrcheck.h).
 *
 * The writer's own check keeps every address written and merges each
 * chunk against the earlier chunks it overlaps; on the tracer's streamed
 * files, whose chunks are sorted each on its own and so all overlap, that
 * is 8 bytes a trace and quadratic time.  tmtool filter trusts its input's
 * per-chunk order and proves the rest here. */
#include "addrcheck.h"

#include <stdlib.h>
#include <string.h>

#include "input.h"

#define NBITS (1ull << TM_ADDR_BITS_LOG2)

static uint64_t bit_of(uint64_t address)
{
    return ((address >> 3) * 0x9E3779B97F4A7C15ULL) >> (64 - TM_ADDR_BITS_LOG2);
}

static int test_bit(const uint64_t *set, uint64_t b)
{
    return (int)((set[b >> 6] >> (b & 63)) & 1);
}

int tm_addr_check_init(tm_addr_check *a, int rereadable)
{
    memset(a, 0, sizeof *a);
    a->rereadable = rereadable;
    /* calloc'd: pages are touched only as bits are set */
    a->seen = calloc(NBITS / 64, sizeof *a->seen);
    a->twice = calloc(NBITS / 64, sizeof *a->twice);
    return a->seen && a->twice ? TMS_OK : TMS_E_NOMEM;
}

void tm_addr_check_free(tm_addr_check *a)
{
    free(a->r);
    free(a->seen);
    free(a->twice);
    free(a->all);
    memset(a, 0, sizeof *a);
}

/* Step 1: does [lo, hi] overlap a range seen before? */
static int add_range(tm_addr_check *a, uint64_t lo_addr, uint64_t hi_addr)
{
    uint64_t lo = 0, hi = a->n;
    while (lo < hi) {             /* the first range starting after lo_addr */
        uint64_t mid = lo + (hi - lo) / 2;
        if (a->r[mid].lo > lo_addr)
            hi = mid;
        else
            lo = mid + 1;
    }
    if ((lo > 0 && a->r[lo - 1].hi >= lo_addr) ||
        (lo < a->n && a->r[lo].lo <= hi_addr) || a->n >= TM_ADDR_MAX_RANGES) {
        a->overlap = 1;
        free(a->r);
        a->r = NULL;
        a->n = a->cap = 0;
        return TMS_OK;
    }
    if (tms_grow((void **)&a->r, &a->cap, a->n + 1, sizeof *a->r) < 0)
        return TMS_E_NOMEM;
    memmove(a->r + lo + 1, a->r + lo, (size_t)(a->n - lo) * sizeof *a->r);
    a->r[lo].lo = lo_addr;
    a->r[lo].hi = hi_addr;
    a->n++;
    return TMS_OK;
}

int tm_addr_check_add(tm_addr_check *a, const tms_trace *t, size_t n)
{
    if (n == 0)
        return TMS_OK;
    a->count += n;
    if (!a->overlap && add_range(a, t[0].address, t[n - 1].address) < 0)
        return TMS_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        uint64_t b = bit_of(t[i].address), m = 1ull << (b & 63);
        if (a->seen[b >> 6] & m) {
            a->twice[b >> 6] |= m;
            a->ntwice++;
        }
        a->seen[b >> 6] |= m;
    }
    if (!a->rereadable) {
        if (tms_grow((void **)&a->all, &a->cap_all, a->nall + n,
                     sizeof *a->all) < 0)
            return TMS_E_NOMEM;
        for (size_t i = 0; i < n; i++)
            a->all[a->nall++] = t[i].address;
    }
    return TMS_OK;
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t p = *(const uint64_t *)x, q = *(const uint64_t *)y;
    return p < q ? -1 : p > q;
}

static int sorted_unique(uint64_t *v, uint64_t n, const char *path,
                         tms_error *err)
{
    qsort(v, (size_t)n, sizeof *v, cmp_u64);
    for (uint64_t i = 1; i < n; i++)
        if (v[i] == v[i - 1])
            return tms_fail(err, TMS_E_CORRUPT, "address 0x%llx is in two "
                            "trace chunks of '%s'",
                            (unsigned long long)v[i], path);
    return TMS_OK;
}

/* Step 3: one pass collects the kept addresses of bits hit twice that
 * fall in slice `which` of nslices. */
typedef struct slice {
    const tm_addr_check *a;
    const tma_trace_filter *f;
    uint64_t nslices, which;
    uint64_t *addr;
    uint64_t n, cap;
    uint64_t kept;        /* kept traces seen in this pass */
    tms_error err;
} slice;

static int collect(void *ctx, const tms_trace *t, size_t n)
{
    slice *sl = ctx;
    for (size_t i = 0; i < n; i++) {
        if (!tma_trace_filter_keeps(sl->f, &t[i]))
            continue;
        sl->kept++;
        uint64_t b = bit_of(t[i].address);
        if (!test_bit(sl->a->twice, b) || b % sl->nslices != sl->which)
            continue;
        if (tms_grow((void **)&sl->addr, &sl->cap, sl->n + 1,
                     sizeof *sl->addr) < 0)
            return tms_fail(&sl->err, TMS_E_NOMEM, "cannot check the "
                            "addresses: out of memory");
        sl->addr[sl->n++] = t[i].address;
    }
    return 0;
}

int tm_addr_check_finish(tm_addr_check *a, const char *path,
                         const tma_trace_filter *f, tms_error *err)
{
    if (!a->overlap || a->ntwice == 0)
        return TMS_OK;
    if (!a->rereadable)
        return sorted_unique(a->all, a->nall, path, err);
    slice sl = { 0 };
    sl.a = a;
    sl.f = f;
    /* each address of a bit hit twice shares it with one other, most
     * often: 2 * ntwice bounds the addresses to collect */
    sl.nslices = 2 * a->ntwice / TM_ADDR_SLICE + 1;
    int rc = TMS_OK;
    for (sl.which = 0; sl.which < sl.nslices && rc == TMS_OK; sl.which++) {
        tms_snapshot *s = tms_snapshot_new();
        sl.n = 0;
        sl.kept = 0;
        memset(&sl.err, 0, sizeof sl.err);
        if (s == NULL) {
            rc = tms_fail(err, TMS_E_NOMEM, "out of memory");
        } else if (tm_load_stream(path, s, collect, &sl, &sl.err) != 0) {
            if (sl.err.code < 0) {
                *err = sl.err;
            } else {      /* reported by tm_load_stream: no second message */
                err->code = TMS_E_IO;
                err->msg[0] = '\0';
            }
            rc = err->code;
        } else if (sl.kept != a->count) {
            rc = tms_fail(err, TMS_E_IO, "'%s' changed while it was read",
                          path);
        }
        tms_snapshot_free(s);
        if (rc == TMS_OK)
            rc = sorted_unique(sl.addr, sl.n, path, err);
    }
    free(sl.addr);
    return rc;
}
