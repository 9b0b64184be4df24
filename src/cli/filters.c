/* filters.c -- the filter options and their application. */
#include "filters.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "exitcodes.h"
#include "input.h"

enum { INCLUDE = 1, TRACEBACK = 2 };

/* "PATTERN[:LINENO]" into a new filter; o->value says which kind. */
static int opt_filter(void *ctx, const tm_opt *o, const char *arg)
{
    tm_filters *f = ctx;
    if (f->n == f->cap) {
        size_t ncap = f->cap ? 2 * f->cap : 8;
        tma_filter *p = realloc(f->items, ncap * sizeof *p);
        if (p == NULL) {
            tm_error("out of memory");
            return -1;
        }
        f->items = p;
        f->cap = ncap;
    }
    tma_filter *flt = &f->items[f->n];
    memset(flt, 0, sizeof *flt);
    flt->include = (o->value & INCLUDE) != 0;
    flt->traceback = (o->value & TRACEBACK) != 0;
    flt->pattern = arg;
    flt->pattern_len = strlen(arg);
    flt->lineno = TMS_LINENO_NONE;
    /* "PATTERN:LINENO": only a colon followed by digits up to the end is a
     * line number, so "C:*" or "<stdin>" stay patterns. */
    const char *colon = strrchr(arg, ':');
    if (colon != NULL && colon[1] != '\0' &&
        strspn(colon + 1, "0123456789") == strlen(colon + 1)) {
        errno = 0;
        long v = strtol(colon + 1, NULL, 10);
        if (errno != 0 || v > INT32_MAX) {
            tm_error("bad line number in filter '%s'", arg);
            return -1;
        }
        flt->lineno = (int32_t)v;
        flt->pattern_len = (size_t)(colon - arg);
    }
    if (flt->pattern_len == 0) {
        tm_error("empty pattern in filter '%s'", arg);
        return -1;
    }
    f->n++;
    return 0;
}

const tm_opt tm_filter_opts[] = {
    TM_OPT_CALLBACK('i', "include", "PATTERN[:LINENO]", opt_filter, INCLUDE,
                    "keep only blocks whose most recent frame matches"),
    TM_OPT_CALLBACK('x', "exclude", "PATTERN[:LINENO]", opt_filter, 0,
                    "drop blocks whose most recent frame matches"),
    TM_OPT_CALLBACK('I', "include-traceback", "PATTERN[:LINENO]", opt_filter,
                    INCLUDE | TRACEBACK, "keep only blocks with any frame matching"),
    TM_OPT_CALLBACK('X', "exclude-traceback", "PATTERN[:LINENO]", opt_filter,
                    TRACEBACK, "drop blocks with any frame matching"),
    TM_OPT_END,
};

void tm_filters_free(tm_filters *f)
{
    free(f->items);
    f->items = NULL;
    f->n = f->cap = 0;
}

int tm_filters_apply(const tm_filters *f, tms_snapshot *s, const char *path)
{
    if (f->n == 0)
        return TM_EXIT_OK;
    tms_error err = { 0 };
    int rc = tma_snapshot_apply_filters(s, f->items, f->n, &err);
    if (rc < 0) {
        tm_report_error("filter", path, &err);
        return tm_exit_for_status(rc);
    }
    return TM_EXIT_OK;
}
