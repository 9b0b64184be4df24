/* sort.c -- order traces by address for TRCS (SPEC §4.5).
 *
 * LSD radix sort on 11-bit digits, skipping digits that are the same in
 * every key: heap addresses share their high bits and their low alignment
 * bits, so 3M traces usually take 2-3 passes instead of a comparison sort's
 * ~22. */
#include <string.h>

#include "codec.h"

#define DIGIT_BITS 11
#define NDIGITS ((64 + DIGIT_BITS - 1) / DIGIT_BITS)
#define RADIX (1u << DIGIT_BITS)

void tms_sort_traces(tms_trace *t, tms_trace *tmp, size_t n)
{
    size_t i;
    int sorted = 1;
    for (i = 1; i < n && sorted; i++)
        sorted = t[i - 1].address <= t[i].address;
    if (sorted)
        return;
    uint64_t or_all = 0, and_all = UINT64_MAX;
    for (i = 0; i < n; i++) {
        or_all |= t[i].address;
        and_all &= t[i].address;
    }
    uint64_t varying = or_all ^ and_all;   /* bits that differ somewhere */
    tms_trace *src = t, *dst = tmp;
    for (int d = 0; d < NDIGITS; d++) {
        unsigned sh = (unsigned)(d * DIGIT_BITS);
        if (((varying >> sh) & (RADIX - 1)) == 0)
            continue;
        size_t cnt[RADIX] = { 0 };
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
    if (src != t)
        memcpy(t, src, n * sizeof *t);
}
