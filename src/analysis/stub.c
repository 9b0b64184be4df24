/* stub.c -- placeholder: replaced by one file per rule. */
#include <stdio.h>

#include "tma.h"

static int fail(tms_error *err, const char *what)
{
    if (err) {
        err->code = TMS_E_STATE;
        snprintf(err->msg, sizeof err->msg, "%s: not implemented yet", what);
    }
    return TMS_E_STATE;
}

int tma_size_parse(const char *text, uint64_t *out, tms_error *err)
{
    (void)text;
    (void)out;
    (void)err;
    return fail(err, "tma_size_parse");
}

int tma_threshold_parse(const char *text, tma_threshold *out, tms_error *err)
{
    (void)text;
    (void)out;
    (void)err;
    return fail(err, "tma_threshold_parse");
}

int tma_threshold_breached(const tma_threshold *t, uint64_t old_size, uint64_t new_size)
{
    (void)t;
    (void)old_size;
    (void)new_size;
    return TMS_E_STATE;
}

int tma_size_format(char *buf, size_t cap, int64_t bytes, int with_sign)
{
    (void)buf;
    (void)cap;
    (void)bytes;
    (void)with_sign;
    return TMS_E_STATE;
}

int tma_filename_format(char *buf, size_t cap, const char *filename, int parts)
{
    (void)buf;
    (void)cap;
    (void)filename;
    (void)parts;
    return TMS_E_STATE;
}

int tma_match_filename(const char *pattern, size_t plen, const char *filename, size_t flen)
{
    (void)pattern;
    (void)plen;
    (void)filename;
    (void)flen;
    return TMS_E_STATE;
}

int tma_filter_match_lineno(const tma_filter *f, int32_t lineno)
{
    (void)f;
    (void)lineno;
    return TMS_E_STATE;
}

int tma_filter_match(const tma_filter *f, const char *filename, size_t flen, int32_t lineno)
{
    (void)f;
    (void)filename;
    (void)flen;
    (void)lineno;
    return TMS_E_STATE;
}

int tma_filter_match_traceback(const tma_filter *f, const tma_frame_view *frames, size_t n)
{
    (void)f;
    (void)frames;
    (void)n;
    return TMS_E_STATE;
}

int tma_filters_keep(const tma_filter *filters, size_t nfilters, const tma_frame_view *frames, size_t nframes, uint32_t traceback_limit)
{
    (void)filters;
    (void)nfilters;
    (void)frames;
    (void)nframes;
    (void)traceback_limit;
    return TMS_E_STATE;
}

int tma_snapshot_apply_filters(tms_snapshot *s, const tma_filter *filters, size_t nfilters, tms_error *err)
{
    (void)s;
    (void)filters;
    (void)nfilters;
    (void)err;
    return fail(err, "tma_snapshot_apply_filters");
}

int tma_snapshot_stats_from_traces(tms_snapshot *s, tms_error *err)
{
    (void)s;
    (void)err;
    return fail(err, "tma_snapshot_stats_from_traces");
}

int tma_group_by_parse(const char *name, tma_group_by *out)
{
    (void)name;
    (void)out;
    return TMS_E_STATE;
}

const char * tma_group_by_name(tma_group_by by)
{
    (void)by;
    return NULL;
}

int tma_group(const tms_snapshot *s, tma_group_by by, int cumulative, tma_groups *out, tms_error *err)
{
    (void)s;
    (void)by;
    (void)cumulative;
    (void)out;
    (void)err;
    return fail(err, "tma_group");
}

int tma_groups_merge(const tma_groups *parts, size_t nparts, tma_groups *out, tms_error *err)
{
    (void)parts;
    (void)nparts;
    (void)out;
    (void)err;
    return fail(err, "tma_groups_merge");
}

void tma_groups_free(tma_groups *g)
{
    (void)g;
}

int tma_key_cmp(tma_group_by by, const tma_key *a, const tma_key *b)
{
    (void)by;
    (void)a;
    (void)b;
    return TMS_E_STATE;
}

int tma_diff_compute(const tma_groups *old, const tma_groups *new_, tma_diff *out, tms_error *err)
{
    (void)old;
    (void)new_;
    (void)out;
    (void)err;
    return fail(err, "tma_diff_compute");
}

void tma_diff_sort(tma_diff *d)
{
    (void)d;
}

void tma_diff_free(tma_diff *d)
{
    (void)d;
}
