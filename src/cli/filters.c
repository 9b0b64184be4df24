/* filters.c -- the filter options and their application. */
#include "filters.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "exitcodes.h"
#include "input.h"

enum { INCLUDE = 1, TRACEBACK = 2 };

/* A new zeroed filter at the end, or NULL after reporting. */
static tma_filter *add_filter(tm_filters *f, int implicit)
{
    if (f->n == f->cap) {
        /* items, implicit and use->matched grow in step: one cap. */
        uint64_t need = (uint64_t)f->n + 1, ci = f->cap, cm = f->cap;
        tm_filter_use *u = NULL;
        if (tms_grow((void **)&f->items, &ci, need, sizeof *f->items) < 0 ||
            tms_grow((void **)&f->implicit, &cm, need, 1) < 0 ||
            (u = realloc(f->use, sizeof *u + (size_t)cm)) == NULL) {
            tm_error("out of memory");
            return NULL;
        }
        if (f->use == NULL)
            u->applied = 0;
        f->use = u;
        f->cap = (size_t)cm;
    }
    tma_filter *flt = &f->items[f->n];
    memset(flt, 0, sizeof *flt);
    flt->lineno = TMS_LINENO_NONE;
    f->use->matched[f->n] = 0;
    f->implicit[f->n] = (uint8_t)implicit;
    return flt;
}

/* "PATTERN[:LINENO]" into a new filter; o->value says which kind. */
static int opt_filter(void *ctx, const tm_opt *o, const char *arg)
{
    tm_filters *f = ctx;
    tma_filter *flt = add_filter(f, 0);
    if (flt == NULL)
        return -1;
    flt->include = (o->value & INCLUDE) != 0;
    flt->traceback = (o->value & TRACEBACK) != 0;
    flt->pattern = arg;
    flt->pattern_len = strlen(arg);
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

/* What is not "my code": the import machinery, installed packages and the
 * standard library (under .../lib/pythonX.Y/, where venvs and every
 * CPython install put it).  Dropped by their most recent frame, so a
 * block allocated inside json for your code is hidden by line and still
 * counted under your line with --cumulative. */
static const char *const not_mine[] = {
    "<frozen*", "*/site-packages/*", "*/dist-packages/*",
    "*/lib/python3*", "*/lib/pypy*",
};

static int opt_only_mine(void *ctx, const tm_opt *o, const char *arg)
{
    tm_filters *f = ctx;
    (void)o, (void)arg;
    for (size_t i = 0; i < sizeof not_mine / sizeof not_mine[0]; i++) {
        tma_filter *flt = add_filter(f, 1);
        if (flt == NULL)
            return -1;
        flt->pattern = not_mine[i];
        flt->pattern_len = strlen(not_mine[i]);
        f->n++;
    }
    return 0;
}

/* --domain N: 0 Python's allocators, an extension's PyTraceMalloc_Track
 * domain (numpy: 389047), or the names python, numpy, native. */
static int opt_domain(void *ctx, const tm_opt *o, const char *arg)
{
    tm_filters *f = ctx;
    (void)o;
    static const struct { const char *name; uint32_t domain; } names[] = {
        {"python", TMS_DOMAIN_PYTHON}, {"numpy", 389047u},
        {"native", TMS_DOMAIN_NATIVE},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(arg, names[i].name) == 0) {
            f->domain = names[i].domain;
            f->has_domain = 1;
            return 0;
        }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(arg, &end, 10);
    if (arg[0] < '0' || arg[0] > '9' || *end != '\0' || errno != 0 ||
        v > UINT32_MAX) {
        tm_error("bad value '%s' for --domain (expected a number from 0 to "
                 "4294967295, or python, numpy or native)", arg);
        return -1;
    }
    f->domain = (uint32_t)v;
    f->has_domain = 1;
    return 0;
}

const tm_opt tm_filter_opts[] = {
    TM_OPT_CALLBACK('i', "include", "PATTERN[:LINENO]", opt_filter, INCLUDE,
                    "keep only blocks whose most recent frame matches; a "
                    "PATTERN matches the whole file name ('*/cache.py', "
                    "'*' is a joker)"),
    TM_OPT_CALLBACK('x', "exclude", "PATTERN[:LINENO]", opt_filter, 0,
                    "drop blocks whose most recent frame matches"),
    TM_OPT_CALLBACK('I', "include-traceback", "PATTERN[:LINENO]", opt_filter,
                    INCLUDE | TRACEBACK, "keep only blocks with any frame matching"),
    TM_OPT_CALLBACK('X', "exclude-traceback", "PATTERN[:LINENO]", opt_filter,
                    TRACEBACK, "drop blocks with any frame matching"),
    TM_OPT_CALLBACK(0, "only-mine", NULL, opt_only_mine, 0,
                    "drop blocks allocated in <frozen ...>, site-packages "
                    "or the standard library"),
    TM_OPT_CALLBACK(0, "domain", "N", opt_domain, 0,
                    "keep only blocks of allocator domain N: 0 or python "
                    "(Python's allocators), an extension's domain (numpy: "
                    "389047), native"),
    TM_OPT_END,
};

void tm_filters_free(tm_filters *f)
{
    free(f->items);
    free(f->use);
    free(f->implicit);
    memset(f, 0, sizeof *f);
}

int tm_filters_apply(const tm_filters *f, tms_snapshot *s, const char *path)
{
    if (!tm_filters_active(f))
        return TM_EXIT_OK;
    tms_error err = { 0 };
    int rc = 0;
    if (f->has_domain)
        rc = tma_snapshot_keep_domain(s, f->domain, &err);
    if (rc == 0 && f->n > 0)
        rc = tma_snapshot_filters_matched(s, f->items, f->n, f->use->matched,
                                          &err);
    if (rc == 0 && f->n > 0)
        rc = tma_snapshot_apply_filters(s, f->items, f->n, &err);
    if (rc < 0) {
        tm_report_error("filter", path, &err);
        return tm_exit_for_status(rc);
    }
    if (f->use != NULL)
        f->use->applied++;
    return TM_EXIT_OK;
}

static char filter_letter(const tma_filter *flt)
{
    if (flt->traceback)
        return flt->include ? 'I' : 'X';
    return flt->include ? 'i' : 'x';
}

void tm_filters_warn_unmatched(const tm_filters *f)
{
    for (size_t i = 0; f->use != NULL && f->use->applied > 0 && i < f->n; i++) {
        const tma_filter *flt = &f->items[i];
        if (f->use->matched[i] || f->implicit[i])
            continue;
        /* The pattern is the user's own argument: printed as given. */
        int len = flt->pattern_len > 200 ? 200 : (int)flt->pattern_len;
        const char *files = f->use->applied == 1 ? "the file" : "any file";
        /* A pattern that can only match a relative name was most likely
         * written as a short one: patterns match the whole file name. */
        if (flt->pattern[0] != '*' && flt->pattern[0] != '/' &&
            flt->pattern[0] != '<')
            tm_warning("filter -%c '%.*s' matches no block in %s (patterns "
                       "match the whole file name: try '*/%.*s'; "
                       "--filename-parts 0 shows whole names)",
                       filter_letter(flt), len, flt->pattern, files, len,
                       flt->pattern);
        else
            tm_warning("filter -%c '%.*s' matches no block in %s",
                       filter_letter(flt), len, flt->pattern, files);
    }
}

int tm_filters_finish(tm_filters *f, int rc)
{
    if (rc == TM_EXIT_OK || rc == TM_EXIT_BREACHED)
        tm_filters_warn_unmatched(f);
    tm_filters_free(f);
    return rc;
}
