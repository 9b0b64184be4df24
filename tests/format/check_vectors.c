/* check_vectors.c -- libtms decodes every format/vectors/NAME.tms to
 * exactly NAME.json (hand-written by make_vectors.py), or fails with the
 * error class the JSON names.
 *
 * Each vector is loaded five ways: tms_snapshot_load (path),
 * tms_snapshot_load with TMS_LOAD_SKIP_TRACES (traces then absent),
 * tms_snapshot_load_buffer, and tms_snapshot_load_fd on a pipe (with and
 * without skip-traces: a pipe cannot seek over the trace sections).
 * One CHECK per vector, route and field group; a failure prints what was
 * expected and what libtms gave.
 *
 * Usage: check_vectors VECTORS_DIR */
#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "fmt_util.h"

static char why[1024]; /* detail of the last mismatch, printed on failure */

static bool fail(const char *fmt, const char *a, uint64_t i)
{
    snprintf(why, sizeof why, fmt, a, i);
    return false;
}

/* Integers: JSON numbers up to 2^53, decimal strings beyond (cJSON keeps
 * numbers as doubles). */
static bool j_u64(const cJSON *j, uint64_t *out)
{
    if (cJSON_IsString(j)) {
        *out = strtoull(j->valuestring, NULL, 10);
        return true;
    }
    if (!cJSON_IsNumber(j) || j->valuedouble < 0 ||
        j->valuedouble > 9007199254740992.0)
        return false;
    *out = (uint64_t)j->valuedouble;
    return (double)*out == j->valuedouble;
}

static bool j_i64(const cJSON *j, int64_t *out)
{
    if (cJSON_IsString(j)) {
        *out = strtoll(j->valuestring, NULL, 10);
        return true;
    }
    if (!cJSON_IsNumber(j) || fabs(j->valuedouble) > 9007199254740992.0)
        return false;
    *out = (int64_t)j->valuedouble;
    return (double)*out == j->valuedouble;
}

static bool eq_u64(const cJSON *j, uint64_t got, const char *what)
{
    uint64_t want;
    if (!j_u64(j, &want))
        return fail("%s: expected value not an integer (%" PRIu64 ")",
                    what, got);
    if (want != got) {
        snprintf(why, sizeof why, "%s: expected %" PRIu64 ", got %" PRIu64,
                 what, want, got);
        return false;
    }
    return true;
}

static bool eq_i64(const cJSON *j, int64_t got, const char *what)
{
    int64_t want = 0;
    bool parsed = j_i64(j, &want);
    if (!parsed || want != got) {
        snprintf(why, sizeof why, "%s: expected %" PRId64 "%s, got %" PRId64,
                 what, want, parsed ? "" : " (unparsable)", got);
        return false;
    }
    return true;
}

/* A JSON string, or {"hex": "..."} for bytes that are not text. */
static bool eq_bytes(const cJSON *j, const char *data, size_t len,
                     const char *what)
{
    unsigned char buf[4096];
    size_t n;
    const cJSON *hex = cJSON_GetObjectItemCaseSensitive(j, "hex");
    if (cJSON_IsString(j)) {
        n = strlen(j->valuestring);
        if (n == len && memcmp(j->valuestring, data, n) == 0)
            return true;
        snprintf(why, sizeof why, "%s: expected \"%s\", got \"%.*s\" (%zu "
                 "bytes)", what, j->valuestring, (int)len, data, len);
        return false;
    }
    if (!cJSON_IsString(hex) || strlen(hex->valuestring) / 2 > sizeof buf)
        return fail("%s: bad expected string%.0" PRIu64, what, 0);
    n = strlen(hex->valuestring) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex->valuestring + 2 * i, "%2x", &v);
        buf[i] = (unsigned char)v;
    }
    if (n == len && memcmp(buf, data, n) == 0)
        return true;
    return fail("%s: expected hex %.0" PRIu64 "bytes differ", what, 0);
}

static const cJSON *at(const cJSON *arr, int i)
{
    return cJSON_GetArrayItem(arr, i);
}

static bool eq_len(const cJSON *arr, uint64_t n, const char *what)
{
    if (!cJSON_IsArray(arr))
        return fail("%s: expected not an array%.0" PRIu64, what, 0);
    if ((uint64_t)cJSON_GetArraySize(arr) != n) {
        snprintf(why, sizeof why, "%s: expected %d entries, got %" PRIu64,
                 what, cJSON_GetArraySize(arr), n);
        return false;
    }
    return true;
}

static bool check_header(const cJSON *j, const tms_header *h)
{
    char sid[33];
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "series_id");
    for (int i = 0; i < 16; i++)
        snprintf(sid + 2 * i, 3, "%02x", h->series_id[i]);
    if (!cJSON_IsString(s) || strcmp(s->valuestring, sid) != 0)
        return fail("series_id: got %s%.0" PRIu64, sid, 0);
#define F(name) cJSON_GetObjectItemCaseSensitive(j, name)
    return eq_u64(F("format_major"), h->format_major, "format_major") &&
           eq_u64(F("format_minor"), h->format_minor, "format_minor") &&
           eq_i64(F("pid"), h->pid, "pid") &&
           eq_i64(F("timestamp_ns"), h->timestamp_ns, "timestamp_ns") &&
           eq_u64(F("traceback_limit"), h->traceback_limit,
                  "traceback_limit") &&
           eq_bytes(F("python_version"), h->python_version,
                    strlen(h->python_version), "python_version") &&
           eq_bytes(F("writer_name"), h->writer_name, strlen(h->writer_name),
                    "writer_name") &&
           eq_bytes(F("writer_version"), h->writer_version,
                    strlen(h->writer_version), "writer_version");
#undef F
}

static bool check_strings(const cJSON *j, const tms_snapshot *s)
{
    if (!eq_len(j, s->nstrings, "strings"))
        return false;
    for (uint32_t i = 0; i < s->nstrings; i++)
        if (!eq_bytes(at(j, (int)i), s->strings[i].data, s->strings[i].len,
                      "string"))
            return false;
    return true;
}

/* null <-> TMS_NONE / TMS_LINENO_NONE */
static bool eq_opt(const cJSON *j, int64_t got, int64_t none, const char *w)
{
    if (cJSON_IsNull(j))
        return got == none ? true : fail("%s: expected null, got %" PRIu64,
                                         w, (uint64_t)got);
    if (got == none)
        return fail("%s: expected a value, got none (%" PRIu64 ")", w,
                    (uint64_t)got);
    return eq_i64(j, got, w);
}

static bool check_frames(const cJSON *j, const tms_snapshot *s)
{
    if (!eq_len(j, s->nframes, "frames"))
        return false;
    for (uint32_t i = 0; i < s->nframes; i++) {
        const cJSON *f = at(j, (int)i);
        if (!eq_opt(at(f, 0), s->frames[i].filename, TMS_NONE, "filename") ||
            !eq_opt(at(f, 1), s->frames[i].lineno, TMS_LINENO_NONE,
                    "lineno"))
            return false;
    }
    return true;
}

static bool check_tracebacks(const cJSON *j, const tms_snapshot *s)
{
    if (!eq_len(j, s->ntracebacks, "tracebacks"))
        return false;
    for (uint32_t i = 0; i < s->ntracebacks; i++) {
        const cJSON *tb = at(j, (int)i);
        if (!eq_len(tb, tms_traceback_len(s, i), "traceback length"))
            return false;
        for (uint32_t k = 0; k < tms_traceback_len(s, i); k++)
            if (!eq_u64(at(tb, (int)k), tms_traceback_frames(s, i)[k],
                        "traceback frame"))
                return false;
    }
    return true;
}

static int by_address(const void *a, const void *b)
{
    uint64_t x = ((const tms_trace *)a)->address;
    uint64_t y = ((const tms_trace *)b)->address;
    return (x > y) - (x < y);
}

/* Trace order across chunks carries no meaning (§4.5): compare sorted.
 * The vectors list traces in ascending address order. */
static bool check_traces(const cJSON *j, const tms_snapshot *s, bool skip)
{
    tms_trace *t;
    bool ok = true;
    if (skip || cJSON_IsNull(j))
        return s->has_traces ? fail("%s: expected no traces, has_traces "
                                    "set (%" PRIu64 " traces)", "traces",
                                    s->ntraces)
                             : true;
    if (!s->has_traces)
        return fail("%s: expected traces, has_traces is 0%.0" PRIu64,
                    "traces", 0);
    if (!eq_len(j, s->ntraces, "traces"))
        return false;
    t = malloc(sizeof *t * (s->ntraces + 1));
    if (!t)
        return fail("%s: out of memory%.0" PRIu64, "traces", 0);
    if (s->ntraces) {
        memcpy(t, s->traces, sizeof *t * s->ntraces);
        qsort(t, s->ntraces, sizeof *t, by_address);
    }
    for (uint64_t i = 0; ok && i < s->ntraces; i++) {
        const cJSON *e = at(j, (int)i);
        ok = eq_u64(at(e, 0), t[i].address, "trace address") &&
             eq_u64(at(e, 1), t[i].size, "trace size") &&
             eq_u64(at(e, 2), t[i].traceback, "trace traceback");
        /* 1.3: a fourth item is the domain; absent means domain 0 */
        if (ok && cJSON_GetArraySize(e) > 3)
            ok = eq_u64(at(e, 3), t[i].domain, "trace domain");
        else if (ok && t[i].domain != 0)
            ok = fail("%s: expected domain 0, got %" PRIu64, "trace domain",
                      (uint64_t)t[i].domain);
    }
    free(t);
    return ok;
}

static bool check_stats(const cJSON *j, const tms_snapshot *s)
{
    if (!eq_len(j, s->nstats, "stats"))
        return false;
    for (uint64_t i = 0; i < s->nstats; i++) {
        const cJSON *e = at(j, (int)i);
        if (!eq_u64(at(e, 0), s->stats[i].frame, "stat frame") ||
            !eq_u64(at(e, 1), s->stats[i].size, "stat size") ||
            !eq_u64(at(e, 2), s->stats[i].count, "stat count"))
            return false;
    }
    return true;
}

static const char *const FORMATS[] = {"int", "percent", "size"};

static bool check_metrics(const cJSON *j, const tms_snapshot *s)
{
    if (!eq_len(j, s->nmetrics, "metrics"))
        return false;
    for (uint32_t i = 0; i < s->nmetrics; i++) {
        const tms_metric *m = &s->metrics[i];
        const cJSON *e = at(j, (int)i);
        const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(e, "format");
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(e, "kind");
        const cJSON *val = cJSON_GetObjectItemCaseSensitive(e, "value");
        const cJSON *bits = cJSON_GetObjectItemCaseSensitive(e, "bits");
        if (!eq_bytes(cJSON_GetObjectItemCaseSensitive(e, "name"), m->name,
                      strlen(m->name), "metric name"))
            return false;
        if ((unsigned)m->format > 2 || !cJSON_IsString(fmt) ||
            strcmp(fmt->valuestring, FORMATS[m->format]) != 0)
            return fail("metric %s: format differs (got %" PRIu64 ")",
                        m->name, (uint64_t)m->format);
        if (!cJSON_IsString(kind) ||
            strcmp(kind->valuestring,
                   m->kind == TMS_VALUE_INT ? "int" : "float") != 0)
            return fail("metric %s: kind differs (got %" PRIu64 ")",
                        m->name, (uint64_t)m->kind);
        if (m->kind == TMS_VALUE_INT) {
            if (!eq_i64(val, m->i, m->name))
                return false;
        } else {
            /* Bit-exact: -0.0, NaN payloads (§4.7). */
            uint64_t want, got;
            double wd = cJSON_IsNumber(val) ? val->valuedouble : 0;
            memcpy(&got, &m->f, 8);
            if (cJSON_IsString(bits))
                want = strtoull(bits->valuestring, NULL, 16);
            else
                memcpy(&want, &wd, 8);
            if (want != got)
                return fail("metric %s: float bits differ, got %016" PRIx64,
                            m->name, got);
        }
    }
    return true;
}

static bool check_meta(const cJSON *j, const tms_snapshot *s)
{
    if (!eq_len(j, s->nmeta, "meta"))
        return false;
    for (uint32_t i = 0; i < s->nmeta; i++) {
        const cJSON *e = at(j, (int)i);
        if (!eq_bytes(at(e, 0), s->meta[i].key, strlen(s->meta[i].key),
                      "meta key") ||
            !eq_bytes(at(e, 1), s->meta[i].value, strlen(s->meta[i].value),
                      "meta value"))
            return false;
    }
    return true;
}

/* 1.1: "functions" lists the FNAM entries; frames not in it are unnamed.
 * Absent means no frame is named. */
static bool check_functions(const cJSON *j, const tms_snapshot *s)
{
    uint32_t named = 0;
    for (uint32_t f = 0; f < s->nframes; f++)
        named += tms_frame_function(s, f) != TMS_NONE;
    if (j == NULL)
        return named == 0 ||
               fail("functions: expected none, got %s%" PRIu64, "", named);
    if (!eq_len(j, named, "functions"))
        return false;
    for (int i = 0; i < cJSON_GetArraySize(j); i++) {
        uint64_t f;
        const cJSON *e = at(j, i);
        if (!j_u64(at(e, 0), &f) || f >= s->nframes)
            return fail("functions: bad frame in entry %s%" PRIu64, "",
                        (uint64_t)i);
        if (!eq_u64(at(e, 1), tms_frame_function(s, (uint32_t)f),
                    "function name id"))
            return false;
    }
    return true;
}

/* 1.2: "sample_interval" (SMPL); absent: the file is exact (0). */
static bool check_sample(const cJSON *j, const tms_snapshot *s)
{
    if (j == NULL)
        return s->header.sample_interval == 0 ||
               fail("sample_interval: expected none, got %s%" PRIu64, "",
                    s->header.sample_interval);
    return eq_u64(j, s->header.sample_interval, "sample_interval");
}

/* 1.1: "peak" is the summary plus entries in file order; absent: none. */
static bool check_peak(const cJSON *j, const tms_snapshot *s)
{
    if (j == NULL)
        return !s->has_peak || fail("peak: expected none%s%.0" PRIu64, "", 0);
    if (!s->has_peak)
        return fail("peak: expected one, got none%s%.0" PRIu64, "", 0);
    const cJSON *ents = cJSON_GetObjectItemCaseSensitive(j, "entries");
    if (!eq_u64(cJSON_GetObjectItemCaseSensitive(j, "size"), s->peak.size,
                "peak size") ||
        !eq_u64(cJSON_GetObjectItemCaseSensitive(j, "recorded_size"),
                s->peak.recorded_size, "peak recorded_size") ||
        !eq_i64(cJSON_GetObjectItemCaseSensitive(j, "recorded_ns"),
                s->peak.recorded_ns, "peak recorded_ns") ||
        !eq_len(ents, s->npeak, "peak entries"))
        return false;
    for (uint64_t i = 0; i < s->npeak; i++) {
        const cJSON *e = at(ents, (int)i);
        const tms_peak_entry *p = &s->peak_entries[i];
        if (!eq_u64(at(e, 0), p->traceback, "peak traceback") ||
            !eq_u64(at(e, 1), p->size, "peak size") ||
            !eq_u64(at(e, 2), p->count, "peak count"))
            return false;
    }
    return true;
}

static int code_of(const char *name)
{
    static const int codes[] = {TMS_E_TRUNCATED, TMS_E_NOT_TMS,
                                TMS_E_CORRUPT, TMS_E_CHECKSUM,
                                TMS_E_DECOMPRESS, TMS_E_VERSION, TMS_E_LIMIT};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (strcmp(name, fmt_code_name(codes[i])) == 0)
            return codes[i];
    return 1;
}

static void report(const char *vec, const char *route, const char *group,
                   bool ok)
{
    char name[256];
    snprintf(name, sizeof name, "%s [%s] %s", vec, route, group);
    CHECK(name, ok);
    if (!ok)
        fprintf(stderr, "     %s\n", why);
}

/* Compare one load result against the expected JSON. */
static void compare(const char *vec, const char *route, bool skip,
                    const cJSON *want, int rc, const tms_snapshot *s,
                    const tms_error *e)
{
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(want, "error");
    const cJSON *may = cJSON_GetObjectItemCaseSensitive(want, "skip_traces");
    if (cJSON_IsString(err)) {
        bool may_skip = skip && cJSON_IsString(may) && rc == 0;
        snprintf(why, sizeof why, "expected %s, got %s: %s",
                 err->valuestring, fmt_code_name(rc), rc ? e->msg : "");
        report(vec, route, "error class",
               may_skip || rc == code_of(err->valuestring));
        if (rc == TMS_E_VERSION)
            report(vec, route, "version message names 2.0 and 1.x",
                   strcmp(vec, "newer_major") != 0 ||
                       (strstr(e->msg, "2.0") && strstr(e->msg, "1.x")));
        return;
    }
    snprintf(why, sizeof why, "expected success, got %s: %s",
             fmt_code_name(rc), rc ? e->msg : "");
    report(vec, route, "loads", rc == 0);
    if (rc != 0)
        return;
#define G(k) cJSON_GetObjectItemCaseSensitive(want, k)
    report(vec, route, "header", check_header(G("header"), &s->header));
    report(vec, route, "strings", check_strings(G("strings"), s));
    report(vec, route, "frames", check_frames(G("frames"), s));
    report(vec, route, "tracebacks", check_tracebacks(G("tracebacks"), s));
    report(vec, route, "traces", check_traces(G("traces"), s, skip));
    report(vec, route, "stats", check_stats(G("stats"), s));
    report(vec, route, "metrics", check_metrics(G("metrics"), s));
    report(vec, route, "meta", check_meta(G("meta"), s));
    report(vec, route, "functions", check_functions(G("functions"), s));
    report(vec, route, "peak", check_peak(G("peak"), s));
    report(vec, route, "sample_interval",
           check_sample(G("sample_interval"), s));
#undef G
}

/* Load through a pipe: a child writes the bytes, the reader cannot seek. */
static int load_pipe(const char *buf, size_t len, unsigned flags,
                     tms_snapshot **out, tms_error *e)
{
    int fds[2], rc, status;
    pid_t pid;
    if (pipe(fds) != 0)
        return TMS_E_IO;
    pid = fork();
    if (pid < 0)
        return TMS_E_IO;
    if (pid == 0) {
        close(fds[0]);
        for (size_t off = 0; off < len;) {
            ssize_t n = write(fds[1], buf + off, len - off);
            if (n <= 0)
                _exit(1);
            off += (size_t)n;
        }
        _exit(0);
    }
    close(fds[1]);
    rc = tms_snapshot_load_fd(fds[0], "pipe", flags, out, e);
    close(fds[0]); /* the child may block on a reader that stopped early */
    waitpid(pid, &status, 0);
    return rc;
}

static void check_vector(const char *dir, const char *name)
{
    char path[4096], *json, *data = NULL;
    size_t jlen, dlen = 0;
    cJSON *want;
    static const char *const routes[] = {"path", "path+skip", "buffer",
                                         "pipe", "pipe+skip"};
    snprintf(path, sizeof path, "%s/%s.json", dir, name);
    if (fmt_read_file(path, &json, &jlen) != 0) {
        CHECK("read expected JSON", 0);
        return;
    }
    want = cJSON_Parse(json);
    snprintf(path, sizeof path, "%s/%s.tms", dir, name);
    CHECK(name, want && fmt_read_file(path, &data, &dlen) == 0);
    if (!want || !data) {
        cJSON_Delete(want);
        free(json);
        return;
    }
    for (int r = 0; r < 5; r++) {
        tms_snapshot *s = NULL;
        tms_error e = {0};
        int rc;
        if (r <= 1)
            rc = tms_snapshot_load(path, r ? TMS_LOAD_SKIP_TRACES : 0, &s,
                                   &e);
        else if (r == 2)
            rc = tms_snapshot_load_buffer(data, dlen, name, 0, &s, &e);
        else
            rc = load_pipe(data, dlen, r == 4 ? TMS_LOAD_SKIP_TRACES : 0, &s,
                           &e);
        report(name, routes[r], "rc is 0 or negative", rc <= 0);
        report(name, routes[r], "no snapshot on error", rc == 0 || !s);
        compare(name, routes[r], r == 1 || r == 4, want, rc, s, &e);
        tms_snapshot_free(s);
    }
    cJSON_Delete(want);
    free(json);
    free(data);
}

int main(int argc, char **argv)
{
    DIR *d;
    struct dirent *ent;
    int nvec = 0;
    if (argc != 2) {
        fprintf(stderr, "usage: check_vectors VECTORS_DIR\n");
        return 2;
    }
    d = opendir(argv[1]);
    CHECK("open vectors dir", d != NULL);
    while (d && (ent = readdir(d))) {
        size_t n = strlen(ent->d_name);
        char name[256];
        if (n < 5 || n > 200 || strcmp(ent->d_name + n - 5, ".json") != 0)
            continue;
        snprintf(name, sizeof name, "%.*s", (int)(n - 5), ent->d_name);
        check_vector(argv[1], name);
        nvec++;
    }
    if (d)
        closedir(d);
    CHECK("at least 40 vectors", nvec >= 40);
    return check_report("format vectors (libtms)");
}
