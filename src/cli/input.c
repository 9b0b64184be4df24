/* input.c -- shared options, loading and ordering of .tms files. */
#include "input.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exitcodes.h"

const tm_opt tm_common_opts[] = {
    { TM_OPT_FORMAT, 0, "format", "FMT", "output format: text (default), json or csv" },
    { TM_OPT_COLOR, 0, "color", "WHEN", "colour text output: auto (default), always or never" },
    { 'q', 'q', "quiet", NULL, "no progress line on stderr" },
    { 'h', 'h', "help", NULL, "show this help and exit" },
    { 0 },
};

const tm_opt tm_filter_opts[] = {
    { TM_OPT_INCLUDE, 'i', "include", "PATTERN[:LINENO]",
      "keep only blocks whose most recent frame matches" },
    { TM_OPT_EXCLUDE, 'x', "exclude", "PATTERN[:LINENO]",
      "drop blocks whose most recent frame matches" },
    { TM_OPT_INCLUDE_TB, 'I', "include-traceback", "PATTERN[:LINENO]",
      "keep only blocks with any frame matching" },
    { TM_OPT_EXCLUDE_TB, 'X', "exclude-traceback", "PATTERN[:LINENO]",
      "drop blocks with any frame matching" },
    { 0 },
};

int tm_common_option(tm_common *c, int id, const char *arg)
{
    switch (id) {
    case TM_OPT_FORMAT:
        return tm_format_parse(arg, &c->format) < 0 ? -1 : 1;
    case TM_OPT_COLOR:
        return tm_color_parse(arg, &c->color) < 0 ? -1 : 1;
    case 'q':
        tm_set_quiet(1);
        return 1;
    case 'h':
        c->help = 1;
        return 1;
    default:
        return 0;
    }
}

int tm_filters_option(tm_filters *f, int id, const char *arg)
{
    if (id != TM_OPT_INCLUDE && id != TM_OPT_EXCLUDE &&
        id != TM_OPT_INCLUDE_TB && id != TM_OPT_EXCLUDE_TB)
        return 0;
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
    flt->include = id == TM_OPT_INCLUDE || id == TM_OPT_INCLUDE_TB;
    flt->traceback = id == TM_OPT_INCLUDE_TB || id == TM_OPT_EXCLUDE_TB;
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
    return 1;
}

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

int tm_exit_for_status(int code)
{
    if (code == TMS_E_VERSION)
        return TM_EXIT_VERSION;
    if (code == TMS_E_ARG)
        return TM_EXIT_USAGE;
    return TM_EXIT_BADFILE;
}

void tm_report_error(const char *verb, const char *path, const tms_error *err)
{
    char quoted[PATH_MAX + 8];
    snprintf(quoted, sizeof quoted, "'%s'", path);
    const char *msg = err->msg[0] ? err->msg : tms_strerror(err->code);
    /* libtms names the file itself ("cannot read 'a.tms': ..."); do not
     * say it twice. */
    if (strstr(msg, quoted) != NULL)
        tm_error("%s", msg);
    else
        tm_error("cannot %s '%s': %s", verb, path, msg);
}

/* Read path into a new snapshot, traces to fn when given; *fn_err is
 * where fn leaves its message.  Reports and returns an exit code. */
static int load_into(const char *path, unsigned flags, tms_snapshot *s,
                     tms_trace_fn fn, void *ctx, const tms_error *fn_err)
{
    tms_error err = { 0 };
    tms_reader *r = NULL;
    tm_progress *p = tm_progress_start("reading", path);
    int rc = tms_reader_open_path(&r, path, &err);
    if (rc == TMS_OK && s == NULL) {
        rc = err.code = TMS_E_NOMEM;
        snprintf(err.msg, sizeof err.msg, "out of memory");
        fn_err = NULL;
    }
    if (rc == TMS_OK)
        rc = tms_reader_read(r, s, flags, fn, ctx, &err);
    tms_reader_close(r);
    tm_progress_done(p);
    if (rc < 0) {
        if (fn_err != NULL && fn_err->code < 0)
            err = *fn_err;
        tm_report_error("read", path, &err);
        return tm_exit_for_status(rc);
    }
    return TM_EXIT_OK;
}

int tm_load(const char *path, unsigned flags, tms_snapshot **out)
{
    *out = tms_snapshot_new();
    int rc = load_into(path, flags, *out, NULL, NULL, NULL);
    if (rc != TM_EXIT_OK) {
        tms_snapshot_free(*out);
        *out = NULL;
    }
    return rc;
}

int tm_load_totals(const char *path, tms_snapshot **out, tma_tb_totals *t)
{
    *out = tms_snapshot_new();
    tma_tb_totals_init(t, *out);
    int rc = load_into(path, 0, *out, tma_tb_totals_trace_fn, t, &t->err);
    if (rc != TM_EXIT_OK) {
        tma_tb_totals_free(t);
        tms_snapshot_free(*out);
        *out = NULL;
    }
    return rc;
}

int tm_load_header(const char *path, tms_header *out)
{
    tms_error err = { 0 };
    tms_reader *r = NULL;
    int rc = tms_reader_open_path(&r, path, &err);
    if (rc < 0) {
        tm_report_error("read", path, &err);
        return tm_exit_for_status(rc);
    }
    *out = *tms_reader_header(r);
    tms_reader_close(r);
    return TM_EXIT_OK;
}

typedef struct series_item {
    char *path;
    int64_t ts;
    size_t pos;
} series_item;

static int series_cmp(const void *a, const void *b)
{
    const series_item *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

int tm_order_series(char **paths, size_t n)
{
    series_item *items = calloc(n ? n : 1, sizeof *items);
    tms_header first, h;
    int rc = TM_EXIT_OK;
    if (items == NULL) {
        tm_error("out of memory");
        return TM_EXIT_BADFILE;
    }
    for (size_t i = 0; i < n; i++) {
        rc = tm_load_header(paths[i], i == 0 ? &first : &h);
        if (rc != TM_EXIT_OK)
            goto out;
        if (i > 0 && memcmp(first.series_id, h.series_id, 16) != 0) {
            tm_error("'%s' is not of the same series as '%s' "
                     "(use --merge for files of one moment)",
                     paths[i], paths[0]);
            rc = TM_EXIT_USAGE;
            goto out;
        }
        items[i].path = paths[i];
        items[i].ts = i == 0 ? first.timestamp_ns : h.timestamp_ns;
        items[i].pos = i;
    }
    qsort(items, n, sizeof *items, series_cmp);
    for (size_t i = 0; i < n; i++)
        paths[i] = items[i].path;
out:
    free(items);
    return rc;
}

void tm_format_time(char *buf, size_t cap, int64_t ns)
{
    time_t t = (time_t)(ns / 1000000000);
    struct tm tmv;
    if (localtime_r(&t, &tmv) == NULL ||
        strftime(buf, cap, "%Y-%m-%d %H:%M:%S", &tmv) == 0)
        snprintf(buf, cap, "@%" PRId64, ns);
}

void tm_format_time_iso(char *buf, size_t cap, int64_t ns)
{
    int64_t secs = ns / 1000000000, frac = ns % 1000000000;
    if (frac < 0) {
        frac += 1000000000;
        secs--;
    }
    time_t t = (time_t)secs;
    struct tm tmv;
    char day[40];
    if (gmtime_r(&t, &tmv) == NULL ||
        strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tmv) == 0)
        snprintf(buf, cap, "@%" PRId64, ns);
    else
        snprintf(buf, cap, "%s.%09" PRId64 "Z", day, frac);
}

void tm_format_series(char *buf, size_t cap, const uint8_t id[16])
{
    size_t k = 0;
    for (int i = 0; i < 16 && k + 3 <= cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%02x", id[i]);
}

int tm_parse_count(const char *opt, const char *text, long min, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < min) {
        tm_error("bad value '%s' for %s (expected a whole number >= %ld)",
                 text, opt, min);
        return -1;
    }
    *out = v;
    return 0;
}
