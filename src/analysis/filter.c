/* filter.c -- PEP 454 Filter matching and the combined keep rule.
 *
 * Matching is POSIX-style: case-sensitive, '/' only; '*' is the only
 * joker ('?' and '[' are literal).  Glob matching backtracks only to the
 * most recent '*', which is enough for a pattern whose only joker is '*'
 * and bounds the work to O(len(pattern) * len(filename)) -- no exponential
 * blow-up on "*a*a*a*a*b".
 */
#include <string.h>

#include "tma_internal.h"

/* ".pyc" / ".pyo" compare as ".py": drop the last byte. */
static size_t py_len(const char *s, size_t n)
{
    if (n >= 4 && memcmp(s + n - 4, ".py", 3) == 0 &&
        (s[n - 1] == 'c' || s[n - 1] == 'o'))
        return n - 1;
    return n;
}

int tma_match_filename(const char *pattern, size_t plen, const char *filename,
                       size_t flen)
{
    if (pattern == NULL)
        plen = 0;
    if (filename == NULL) {
        filename = "";
        flen = 0;
    }
    plen = py_len(pattern, plen);
    flen = py_len(filename, flen);

    size_t pi = 0, fi = 0;
    size_t star = SIZE_MAX, mark = 0;
    while (fi < flen) {
        if (pi < plen && pattern[pi] == '*') {
            star = pi++;
            mark = fi;
        } else if (pi < plen && pattern[pi] == filename[fi]) {
            pi++;
            fi++;
        } else if (star != SIZE_MAX) {
            /* let the last '*' swallow one more byte and retry */
            pi = star + 1;
            fi = ++mark;
        } else {
            return 0;
        }
    }
    while (pi < plen && pattern[pi] == '*')
        pi++;
    return pi == plen;
}

int tma_filter_match_lineno(const tma_filter *f, int32_t lineno)
{
    if (f->lineno < 1)
        return 1;
    /* an unknown line only matches a filter that accepts any line */
    if (lineno == TMS_LINENO_NONE)
        return 0;
    return lineno == f->lineno;
}

int tma_filter_match(const tma_filter *f, const char *filename, size_t flen,
                     int32_t lineno)
{
    return tma_filter_match_lineno(f, lineno) &&
           tma_match_filename(f->pattern, f->pattern_len, filename, flen);
}

static int match_frame(const tma_filter *f, const tma_frame_view *v)
{
    return tma_filter_match(f, v->filename, v->len, v->lineno);
}

static const tma_frame_view unknown_frame = {NULL, 0, TMS_LINENO_NONE};

static int match_traceback(const tma_filter *f, int all_frames,
                           const tma_frame_view *frames, size_t n)
{
    if (n == 0 || frames == NULL)
        return match_frame(f, &unknown_frame);
    if (!all_frames)
        return match_frame(f, &frames[0]);
    for (size_t i = 0; i < n; i++)
        if (match_frame(f, &frames[i]))
            return 1;
    return 0;
}

int tma_filter_match_traceback(const tma_filter *f,
                               const tma_frame_view *frames, size_t n)
{
    return match_traceback(f, f->traceback, frames, n);
}

void tma_filters_mark(const tma_filter *filters, size_t nfilters,
                      const tma_frame_view *frames, size_t nframes,
                      uint32_t traceback_limit, uint8_t *matched)
{
    int use_tb = traceback_limit >= 2;
    for (size_t i = 0; i < nfilters; i++)
        if (!matched[i] && match_traceback(&filters[i],
                                           use_tb && filters[i].traceback,
                                           frames, nframes))
            matched[i] = 1;
}

int tma_filters_keep(const tma_filter *filters, size_t nfilters,
                     const tma_frame_view *frames, size_t nframes,
                     uint32_t traceback_limit)
{
    int use_tb = traceback_limit >= 2;
    int have_include = 0, included = 0;
    for (size_t i = 0; i < nfilters; i++) {
        const tma_filter *f = &filters[i];
        if (f->include) {
            have_include = 1;
            /* one inclusive match is enough: skip the others' work */
            if (!included &&
                match_traceback(f, use_tb && f->traceback, frames, nframes))
                included = 1;
        } else if (match_traceback(f, use_tb && f->traceback, frames,
                                   nframes)) {
            return 0;
        }
    }
    return !have_include || included;
}

tma_frame_view tma_view_frame(const tms_snapshot *s, uint32_t id)
{
    tma_frame_view v = {NULL, 0, TMS_LINENO_NONE};
    if (id >= s->nframes)
        return v;
    uint32_t name = s->frames[id].filename;
    if (name != TMS_NONE && name < s->nstrings) {
        v.filename = s->strings[name].data;
        v.len = s->strings[name].len;
    }
    v.lineno = s->frames[id].lineno;
    return v;
}

uint32_t tma_find_unknown_frame(const tms_snapshot *s)
{
    for (uint32_t i = 0; i < s->nframes; i++)
        if (s->frames[i].filename == TMS_NONE &&
            s->frames[i].lineno == TMS_LINENO_NONE)
            return i;
    return TMS_NONE;
}
