/* input.c -- loading and ordering of .tms files, and the exit code for a
 * library status. */
#include "input.h"
#include "live.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "exitcodes.h"

static uint64_t read_budget_;     /* 0: libtms's default */
static int verify_skipped_ = 1;

void tm_set_read_budget(uint64_t budget)
{
    read_budget_ = budget;
}

void tm_set_verify_skipped(int verify)
{
    verify_skipped_ = verify;
}

uint64_t tm_read_budget(void)
{
    return read_budget_;
}

int tm_verify_skipped(void)
{
    return verify_skipped_;
}

int tm_exit_for_status(int code)
{
    if (code == TMS_E_VERSION)
        return TM_EXIT_VERSION;
    if (code == TMS_E_ARG)
        return TM_EXIT_USAGE;
    return TM_EXIT_BADFILE;
}

/* Whether msg contains 'path', quotes included (no copy: paths have no
 * length limit here). */
static int names_quoted(const char *msg, const char *path)
{
    size_t n = strlen(path);
    for (const char *q = strchr(msg, '\''); q != NULL; q = strchr(q + 1, '\''))
        if (strncmp(q + 1, path, n) == 0 && q[1 + n] == '\'')
            return 1;
    return 0;
}

void tm_report_error(const char *verb, const char *path, const tms_error *err)
{
    const char *msg = err->msg[0] ? err->msg : tms_strerror(err->code);
    const char *hint = err->code == TMS_E_BUDGET
                           ? "; raise the budget with --read-budget SIZE" : "";
    /* libtms names the file itself, escaped ("cannot read 'a.tms': ...");
     * do not say it twice. */
    char *shown = tm_escaped(path);
    if (names_quoted(msg, shown ? shown : path))
        tm_error("%s%s", msg, hint);
    else
        tm_error("cannot %s '%s': %s%s", verb, path, msg, hint);
    free(shown);
}

/* A file, or a running process registered by --pid (live.h). */
static int open_source(tms_reader **r, const char *path, tms_error *err)
{
    const void *buf;
    size_t len;
    if (tm_live_lookup(path, &buf, &len))
        return tms_reader_open_buffer(r, buf, len, path, err);
    return tms_reader_open_path(r, path, err);
}

/* Read path into a new snapshot, traces to fn when given; *fn_err is
 * where fn leaves its message.  Reports and returns an exit code; with
 * fn_reports, a failure of fn is left to the caller to report. */
static int load_into(const char *path, unsigned flags, tms_snapshot *s,
                     tms_trace_fn fn, void *ctx, const tms_error *fn_err,
                     int fn_reports)
{
    tms_error err = { 0 };
    tms_reader *r = NULL;
    tm_progress *p = tm_progress_start("reading", path);
    int rc = open_source(&r, path, &err);
    if (rc == TMS_OK && s == NULL) {
        rc = err.code = TMS_E_NOMEM;
        snprintf(err.msg, sizeof err.msg, "out of memory");
        fn_err = NULL;
    }
    if (rc == TMS_OK)
        rc = tms_reader_set_budget(r, read_budget_);
    if (rc == TMS_OK)
        rc = tms_reader_read(r, s, flags | (verify_skipped_ ? 0
                                            : TMS_LOAD_NO_VERIFY_SKIPPED),
                             fn, ctx, &err);
    tms_reader_close(r);
    tm_progress_done(p);
    if (rc < 0) {
        if (fn_err != NULL && fn_err->code < 0) {
            if (fn_reports)
                return tm_exit_for_status(fn_err->code);
            err = *fn_err;
        }
        tm_report_error("read", path, &err);
        return tm_exit_for_status(rc);
    }
    return TM_EXIT_OK;
}

int tm_load(const char *path, unsigned flags, tms_snapshot **out)
{
    *out = tms_snapshot_new();
    int rc = load_into(path, flags, *out, NULL, NULL, NULL, 0);
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
    int rc = load_into(path, 0, *out, tma_tb_totals_trace_fn, t, &t->err, 0);
    if (rc != TM_EXIT_OK) {
        tma_tb_totals_free(t);
        tms_snapshot_free(*out);
        *out = NULL;
    }
    return rc;
}

int tm_load_stream(const char *path, tms_snapshot *into, tms_trace_fn fn,
                   void *ctx, const tms_error *fn_err)
{
    return load_into(path, 0, into, fn, ctx, fn_err, 1);
}

int tm_rereadable(const char *path)
{
    const void *buf;
    size_t len;
    struct stat st;
    return tm_live_lookup(path, &buf, &len) ||
           (stat(path, &st) == 0 && S_ISREG(st.st_mode));
}

int tm_load_header(const char *path, tms_header *out)
{
    tms_error err = { 0 };
    tms_reader *r = NULL;
    int rc = open_source(&r, path, &err);
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
