/* size.c -- sizes and thresholds as people type them, and as tracemalloc
 * prints them; filenames shortened for display.
 *
 * Parsing is exact: "1.5G" is computed in integers (128-bit where the
 * compiler has it), never through a double, so a threshold means the same
 * bytes on every platform.  Decisions:
 *   - leading/trailing blanks are ignored, blanks between number and unit
 *     allowed ("2 GiB");
 *   - a fraction is allowed with a unit above B and rounded down to whole
 *     bytes ("0.1k" = 102); fraction digits past the 18th are ignored;
 *     a fractional byte count ("1.5", "1.5B") is rejected;
 *   - no sign, no exponent, no hex; "P" and larger units are rejected.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tma_internal.h"

#if defined(__SIZEOF_INT128__)
__extension__ typedef unsigned __int128 u128;
#  define TMA_HAVE_U128 1
#endif

#define MAX_FRAC_DIGITS 18

/* A decimal number "I[.F]" split into exact parts. */
typedef struct decimal {
    uint64_t ipart;
    uint64_t fnum;    /* F as an integer ... */
    uint64_t fden;    /* ... over 10^digits (1 when there is no fraction) */
    int overflow;
} decimal;

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
           c == '\f';
}

/* Parse digits [ '.' digits ] at *p; advances *p.  0 if no number. */
static int parse_decimal(const char **p, const char *end, decimal *d)
{
    const char *q = *p;
    d->ipart = 0;
    d->fnum = 0;
    d->fden = 1;
    d->overflow = 0;
    if (q == end || !isdigit((unsigned char)*q))
        return 0;
    for (; q < end && isdigit((unsigned char)*q); q++) {
        unsigned digit = (unsigned)(*q - '0');
        if (d->ipart > (UINT64_MAX - digit) / 10)
            d->overflow = 1;
        else
            d->ipart = d->ipart * 10 + digit;
    }
    if (q < end && *q == '.') {
        if (q + 1 == end || !isdigit((unsigned char)q[1]))
            return 0;
        int ndig = 0;
        for (q++; q < end && isdigit((unsigned char)*q); q++) {
            if (ndig++ < MAX_FRAC_DIGITS) {
                d->fnum = d->fnum * 10 + (uint64_t)(*q - '0');
                d->fden *= 10;
            }
        }
    }
    *p = q;
    return 1;
}

typedef struct unit {
    const char *name;
    unsigned shift;
} unit;

static const unit units[] = {
    {"", 0}, {"b", 0},
    {"k", 10}, {"kb", 10}, {"kib", 10},
    {"m", 20}, {"mb", 20}, {"mib", 20},
    {"g", 30}, {"gb", 30}, {"gib", 30},
    {"t", 40}, {"tb", 40}, {"tib", 40},
};

static int find_unit(const char *s, size_t len, unsigned *shift)
{
    if (len > 3)
        return 0;
    char low[4] = {0};
    for (size_t i = 0; i < len; i++)
        low[i] = (char)tolower((unsigned char)s[i]);
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(low, units[i].name) == 0) {
            *shift = units[i].shift;
            return 1;
        }
    }
    return 0;
}

/* Trim blanks: [*b, *e) */
static void trim(const char **b, const char **e)
{
    while (*b < *e && is_blank(**b))
        (*b)++;
    while (*e > *b && is_blank((*e)[-1]))
        (*e)--;
}

static int size_fail(tms_error *err, const char *text, const char *why)
{
    return tma_fail(err, TMS_E_ARG, "invalid size '%.200s': %s", text, why);
}

/* value = (ipart + fnum/fden) << shift, rounded down; 0 on overflow. */
static int scale(const decimal *d, unsigned shift, uint64_t *out)
{
    if (d->overflow)
        return 0;
    if (shift > 0 && d->ipart > (UINT64_MAX >> shift))
        return 0;
    uint64_t whole = d->ipart << shift;
#ifdef TMA_HAVE_U128
    uint64_t frac = (uint64_t)(((u128)d->fnum << shift) / d->fden);
#else
    /* fnum < fden <= 10^18 < 2^60: split the shift to stay in 64 bits */
    uint64_t frac = 0, rem = d->fnum;
    for (unsigned s = 0; s < shift; s++) {
        rem <<= 1;
        frac <<= 1;
        if (rem >= d->fden) {
            rem -= d->fden;
            frac |= 1;
        }
    }
#endif
    if (whole > UINT64_MAX - frac)
        return 0;
    *out = whole + frac;
    return 1;
}

int tma_size_parse(const char *text, uint64_t *out, tms_error *err)
{
    if (text == NULL || out == NULL)
        return tma_fail(err, TMS_E_ARG, "invalid size: no text");
    const char *p = text, *end = text + strlen(text);
    trim(&p, &end);
    if (p == end)
        return size_fail(err, text, "empty");
    if (*p == '-')
        return size_fail(err, text, "negative sizes are not allowed");
    decimal d;
    if (!parse_decimal(&p, end, &d))
        return size_fail(err, text, "expected a number");
    while (p < end && is_blank(*p))
        p++;
    unsigned shift;
    if (!find_unit(p, (size_t)(end - p), &shift)) {
        char msg[64];
        snprintf(msg, sizeof msg, "unknown unit '%.*s'",
                 (int)((end - p) > 40 ? 40 : (end - p)), p);
        return size_fail(err, text, msg);
    }
    if (shift == 0 && d.fnum != 0)
        return size_fail(err, text, "fractional bytes");
    uint64_t v;
    if (!scale(&d, shift, &v))
        return size_fail(err, text, "too large (more than 2^64-1 bytes)");
    *out = v;
    return TMS_OK;
}

int tma_threshold_parse(const char *text, tma_threshold *out, tms_error *err)
{
    if (text == NULL || out == NULL)
        return tma_fail(err, TMS_E_ARG, "invalid threshold: no text");
    const char *p = text, *end = text + strlen(text);
    trim(&p, &end);
    if (p < end && end[-1] == '%') {
        const char *q = end - 1;
        trim(&p, &q);
        if (p == q)
            return tma_fail(err, TMS_E_ARG,
                            "invalid threshold '%.200s': no percentage", text);
        if (*p == '-')
            return tma_fail(err, TMS_E_ARG,
                            "invalid threshold '%.200s': negative percentage",
                            text);
        decimal d;
        if (!parse_decimal(&p, q, &d) || p != q || d.overflow)
            return tma_fail(err, TMS_E_ARG,
                            "invalid threshold '%.200s': expected a "
                            "percentage like 5%% or 2.5%%", text);
        out->is_percent = 1;
        out->bytes = 0;
        out->percent = (double)d.ipart + (double)d.fnum / (double)d.fden;
        return TMS_OK;
    }
    uint64_t bytes;
    int rc = tma_size_parse(text, &bytes, err);
    if (rc < 0)
        return rc;
    out->is_percent = 0;
    out->bytes = bytes;
    out->percent = 0.0;
    return TMS_OK;
}

int tma_threshold_breached(const tma_threshold *t, uint64_t old_size,
                           uint64_t new_size)
{
    if (t == NULL || new_size <= old_size)
        return 0;
    uint64_t growth = new_size - old_size;
    if (!t->is_percent)
        return growth > t->bytes;
    if (old_size == 0)
        return 1;   /* any growth from nothing is infinitely many percent */
    /* A typed percentage has a few decimals: compare in exact integers,
     * growth * 100 * 10^6 > (percent * 10^6) * old, in 128 bits (at most
     * 2^91 and 2^114 here).  long double is no substitute: it is only 64
     * bits wide off x86, and under valgrind. */
    double scaled = t->percent * 1e6;
    if (scaled >= 0.0 && scaled < 1e15 && scaled == floor(scaled)) {
        unsigned __int128 lhs = (unsigned __int128)growth * 100000000u;
        unsigned __int128 rhs = (unsigned __int128)(uint64_t)scaled * old_size;
        return lhs > rhs;
    }
    /* More than 6 decimals: the rounding of a double is far below them. */
    return (double)growth * 100.0 > t->percent * (double)old_size;
}

int tma_size_format(char *buf, size_t cap, int64_t bytes, int with_sign)
{
    static const char *const unit_names[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    /* Lib/tracemalloc.py _format_size: the int becomes a float at the
     * first division; dividing by 1024 is exact in binary, so a double
     * from the start gives the same digits. */
    double size = (double)bytes;
    for (int u = 0; u < 5; u++) {
        if (fabs(size) < 100 && u != 0)
            return snprintf(buf, cap, with_sign ? "%+.1f %s" : "%.1f %s",
                            size, unit_names[u]);
        if (fabs(size) < 10 * 1024 || u == 4)
            return snprintf(buf, cap, with_sign ? "%+.0f %s" : "%.0f %s",
                            size, unit_names[u]);
        size /= 1024;
    }
    return 0; /* not reached: u == 4 always returns */
}

int tma_filename_format(char *buf, size_t cap, const char *filename,
                        int parts)
{
    /* DisplayTop's _format_filename: split on '/', keep the last `parts`
     * components; None and "" are both shown as "???". */
    if (filename == NULL || filename[0] == '\0')
        return snprintf(buf, cap, "???");
    if (parts <= 0)
        return snprintf(buf, cap, "%s", filename);
    size_t len = strlen(filename);
    int seen = 0;
    for (size_t i = len; i-- > 0;) {
        if (filename[i] == '/' && ++seen == parts)
            return snprintf(buf, cap, ".../%s", filename + i + 1);
    }
    return snprintf(buf, cap, "%s", filename);
}
