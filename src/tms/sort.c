/* sort.c -- order traces by address for TRCS (SPEC §4.5).
 *
 * Small inputs: LSD radix sort on 11-bit digits, skipping digits that are
 * the same in every key (heap addresses share their high bits and their
 * alignment bits).  Large inputs: a sample sort first scatters the traces
 * into ~48K-entry buckets of contiguous address ranges (splitters from a
 * sorted sample, so skewed heaps still split evenly), then radix-sorts
 * each bucket while it sits in cache.  On 3M shuffled traces this is
 * about twice as fast as radix-sorting the whole array, and needs
 * no second full-size array (bench/). */
#include <stdlib.h>
#include <string.h>

#include "codec.h"

#define DIGIT_BITS 11
#define RADIX (1u << DIGIT_BITS)
#define BUCKET_TARGET 49152u
#define SAMPLES_PER_BUCKET 32u

/* Sort t[0..n) with tmp as scratch; the result is in t or in tmp,
 * whichever is returned (an odd number of digit passes ends in tmp:
 * callers that can read it there skip a copy). */
static tms_trace *lsd_sort_to(tms_trace *t, tms_trace *tmp, size_t n)
{
    size_t i;
    uint64_t or_all = 0, and_all = UINT64_MAX;
    for (i = 0; i < n; i++) {
        or_all |= t[i].address;
        and_all &= t[i].address;
    }
    uint64_t varying = or_all ^ and_all;   /* bits that differ somewhere */
    tms_trace *src = t, *dst = tmp;
    size_t cnt[RADIX];
    for (unsigned sh = 0; sh < 64; sh += DIGIT_BITS) {
        if (((varying >> sh) & (RADIX - 1)) == 0)
            continue;
        memset(cnt, 0, RADIX * sizeof *cnt);
        for (i = 0; i < n; i++)
            cnt[(src[i].address >> sh) & (RADIX - 1)]++;
        size_t sum = 0;
        for (unsigned k = 0; k < RADIX; k++) {
            size_t c = cnt[k];
            cnt[k] = sum;
            sum += c;
        }
        for (i = 0; i < n; i++)
            dst[cnt[(src[i].address >> sh) & (RADIX - 1)]++] = src[i];
        tms_trace *x = src;
        src = dst;
        dst = x;
    }
    return src;
}

/* lsd_sort_to, the result in t. */
static void lsd_sort(tms_trace *t, tms_trace *tmp, size_t n)
{
    tms_trace *r = lsd_sort_to(t, tmp, n);
    if (r != t)
        memcpy(t, r, n * sizeof *t);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Sample sort src into dst through nb (a power of two) buckets; only a
 * bucket-sized scratch is needed.  0 if out of memory. */
static int sample_sort(const tms_trace *src, tms_trace *dst, size_t n,
                       size_t nb)
{
    size_t ns = nb * SAMPLES_PER_BUCKET, i, biggest = 0;
    uint64_t *sp = malloc(ns * sizeof *sp);
    uint16_t *bucket = malloc(n * sizeof *bucket);
    size_t *start = calloc(nb + 1, sizeof *start);
    size_t *fill = malloc(nb * sizeof *fill);
    tms_trace *scratch = NULL;
    int ok = 0;
    if (sp == NULL || bucket == NULL || start == NULL || fill == NULL)
        goto out;
    uint64_t x = 0x9E3779B97F4A7C15ULL ^ n;
    for (i = 0; i < ns; i++) {        /* fixed-seed sample: reproducible */
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        sp[i] = src[x % n].address;
    }
    qsort(sp, ns, sizeof *sp, cmp_u64);
    for (i = 1; i < nb; i++)          /* sp[k] = lowest key of bucket k */
        sp[i] = sp[i * SAMPLES_PER_BUCKET];
    for (i = 0; i < n; i++) {
        uint64_t a = src[i].address;
        size_t k = 0;
        for (size_t step = nb / 2; step; step /= 2)
            k += sp[k + step] <= a ? step : 0;
        bucket[i] = (uint16_t)k;
        start[k + 1]++;
    }
    for (i = 0; i < nb; i++) {
        if (start[i + 1] > biggest)
            biggest = start[i + 1];
        start[i + 1] += start[i];
    }
    if ((scratch = malloc(biggest * sizeof *scratch)) == NULL)
        goto out;
    memcpy(fill, start, nb * sizeof *fill);
    for (i = 0; i < n; i++)
        dst[fill[bucket[i]]++] = src[i];
    for (size_t k = 0; k < nb; k++)
        lsd_sort(dst + start[k], scratch, start[k + 1] - start[k]);
    ok = 1;
out:
    free(sp);
    free(bucket);
    free(start);
    free(fill);
    free(scratch);
    return ok;
}

tms_trace *tms_sort_traces(tms_trace *t, tms_trace *tmp, size_t n)
{
    size_t i;
    for (i = 1; i < n && t[i - 1].address <= t[i].address; i++)
        ;
    return i < n ? lsd_sort_to(t, tmp, n) : t;
}

int tms_sort_traces_copy(const tms_trace *src, tms_trace *dst, size_t n)
{
    size_t nb = 1;
    while (nb < 65536 && nb * BUCKET_TARGET < n)
        nb *= 2;
    if (nb >= 4)
        return sample_sort(src, dst, n, nb) ? TMS_OK : TMS_E_NOMEM;
    tms_trace *tmp = malloc(n ? n * sizeof *tmp : 1);
    if (tmp == NULL)
        return TMS_E_NOMEM;
    memcpy(dst, src, n * sizeof *dst);
    lsd_sort(dst, tmp, n);
    free(tmp);
    return TMS_OK;
}
