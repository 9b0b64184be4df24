/* tms_cross.c -- the libtms side of the cross tests (test_cross.py).
 *
 *   tms_cross dump [--skip] FILE...  load each FILE with libtms and print
 *                                    one JSON line: the decoded content or
 *                                    {"error": "TMS_E_..."}
 *   tms_cross write DIR              build snapshots with the tms builders,
 *                                    save DIR/NAME.tms with libtms and
 *                                    DIR/NAME.json = what was built
 *   tms_cross writer-dups            feed the streaming writer each kind of
 *                                    duplicate; print "KIND refused|written"
 *
 * The JSON is the vectors' shape (format/vectors/README.md), printed by
 * hand so 64-bit integers stay exact; integers beyond +-2^53 are decimal
 * strings and every STRS string is {"hex": ...} (the Python side
 * normalises). */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "fmt_util.h"

#define BIG 9007199254740992ULL /* 2^53 */

static void put_u64(FILE *f, uint64_t v)
{
    fprintf(f, v > BIG ? "\"%" PRIu64 "\"" : "%" PRIu64, v);
}

static void put_i64(FILE *f, int64_t v)
{
    int big = v > (int64_t)BIG || v < -(int64_t)BIG;
    fprintf(f, big ? "\"%" PRId64 "\"" : "%" PRId64, v);
}

/* Bytes >= 0x80 pass through: the content is UTF-8 text. */
static void put_text(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void put_hex(FILE *f, const char *data, size_t len)
{
    fputs("{\"hex\": \"", f);
    for (size_t i = 0; i < len; i++)
        fprintf(f, "%02x", (unsigned char)data[i]);
    fputs("\"}", f);
}

static const char *const FORMATS[] = {"int", "percent", "size"};

static void put_metric(FILE *f, const tms_metric *m)
{
    fputs("{\"name\": ", f);
    put_text(f, m->name);
    fprintf(f, ", \"format\": \"%s\", \"kind\": \"%s\", \"value\": ",
            (unsigned)m->format < 3 ? FORMATS[m->format] : "?",
            m->kind == TMS_VALUE_INT ? "int" : "float");
    if (m->kind == TMS_VALUE_INT) {
        put_i64(f, m->i);
    } else if (isfinite(m->f)) {
        fprintf(f, "%.17g", m->f);
    } else {
        uint64_t bits;
        memcpy(&bits, &m->f, 8);
        fprintf(f, "null, \"bits\": \"%016" PRIx64 "\"", bits);
    }
    fputc('}', f);
}

static void put_snapshot(FILE *f, const tms_snapshot *s)
{
    const tms_header *h = &s->header;
    fprintf(f, "{\"header\": {\"format_major\": %u, \"format_minor\": %u, "
            "\"pid\": ", h->format_major, h->format_minor);
    put_i64(f, h->pid);
    fputs(", \"timestamp_ns\": ", f);
    put_i64(f, h->timestamp_ns);
    fprintf(f, ", \"traceback_limit\": %" PRIu32 ", \"series_id\": \"",
            h->traceback_limit);
    for (int i = 0; i < 16; i++)
        fprintf(f, "%02x", h->series_id[i]);
    fputs("\", \"python_version\": ", f);
    put_text(f, h->python_version);
    fputs(", \"writer_name\": ", f);
    put_text(f, h->writer_name);
    fputs(", \"writer_version\": ", f);
    put_text(f, h->writer_version);
    fputs("}, \"strings\": [", f);
    for (uint32_t i = 0; i < s->nstrings; i++) {
        fputs(i ? ", " : "", f);
        put_hex(f, s->strings[i].data, s->strings[i].len);
    }
    fputs("], \"frames\": [", f);
    for (uint32_t i = 0; i < s->nframes; i++) {
        fputs(i ? ", [" : "[", f);
        if (s->frames[i].filename == TMS_NONE)
            fputs("null, ", f);
        else
            fprintf(f, "%" PRIu32 ", ", s->frames[i].filename);
        if (s->frames[i].lineno == TMS_LINENO_NONE)
            fputs("null]", f);
        else
            fprintf(f, "%" PRId32 "]", s->frames[i].lineno);
    }
    fputs("], \"tracebacks\": [", f);
    for (uint32_t i = 0; i < s->ntracebacks; i++) {
        fputs(i ? ", [" : "[", f);
        for (uint32_t k = 0; k < tms_traceback_len(s, i); k++)
            fprintf(f, k ? ", %" PRIu32 : "%" PRIu32,
                    tms_traceback_frames(s, i)[k]);
        fputc(']', f);
    }
    fputs(s->has_traces ? "], \"traces\": [" : "], \"traces\": null", f);
    for (uint64_t i = 0; s->has_traces && i < s->ntraces; i++) {
        fputs(i ? ", [" : "[", f);
        put_u64(f, s->traces[i].address);
        fputs(", ", f);
        put_u64(f, s->traces[i].size);
        fprintf(f, ", %" PRIu32, s->traces[i].traceback);
        if (s->traces[i].domain)   /* 1.3: a 4th item outside domain 0 */
            fprintf(f, ", %" PRIu32, s->traces[i].domain);
        fputs("]", f);
    }
    fputs(s->has_traces ? "], \"stats\": [" : ", \"stats\": [", f);
    for (uint64_t i = 0; i < s->nstats; i++) {
        fprintf(f, i ? ", [%" PRIu32 ", " : "[%" PRIu32 ", ",
                s->stats[i].frame);
        put_u64(f, s->stats[i].size);
        fputs(", ", f);
        put_u64(f, s->stats[i].count);
        fputc(']', f);
    }
    fputs("], \"metrics\": [", f);
    for (uint32_t i = 0; i < s->nmetrics; i++) {
        fputs(i ? ", " : "", f);
        put_metric(f, &s->metrics[i]);
    }
    fputs("], \"meta\": [", f);
    for (uint32_t i = 0; i < s->nmeta; i++) {
        fputs(i ? ", [" : "[", f);
        put_text(f, s->meta[i].key);
        fputs(", ", f);
        put_text(f, s->meta[i].value);
        fputc(']', f);
    }
    fputc(']', f);
    /* 1.1 keys only when present, in frame order (the Python side sorts) */
    int named = 0;
    for (uint32_t i = 0; i < s->nframes; i++) {
        if (tms_frame_function(s, i) == TMS_NONE)
            continue;
        fprintf(f, "%s[%" PRIu32 ", %" PRIu32 "]",
                named++ ? ", " : ", \"functions\": [", i,
                tms_frame_function(s, i));
    }
    if (named)
        fputc(']', f);
    if (s->has_peak) {
        fputs(", \"peak\": {\"size\": ", f);
        put_u64(f, s->peak.size);
        fputs(", \"recorded_size\": ", f);
        put_u64(f, s->peak.recorded_size);
        fputs(", \"recorded_ns\": ", f);
        put_i64(f, s->peak.recorded_ns);
        fputs(", \"entries\": [", f);
        for (uint64_t i = 0; i < s->npeak; i++) {
            fprintf(f, i ? ", [%" PRIu32 ", " : "[%" PRIu32 ", ",
                    s->peak_entries[i].traceback);
            put_u64(f, s->peak_entries[i].size);
            fputs(", ", f);
            put_u64(f, s->peak_entries[i].count);
            fputc(']', f);
        }
        fputs("]}", f);
    }
    if (h->sample_interval) {
        fputs(", \"sample_interval\": ", f);
        put_u64(f, h->sample_interval);
    }
    fputs("}\n", f);
}

static int dump(int argc, char **argv)
{
    unsigned flags = 0;
    int i = 0;
    if (argc > 0 && strcmp(argv[0], "--skip") == 0) {
        flags = TMS_LOAD_SKIP_TRACES;
        i++;
    }
    for (; i < argc; i++) {
        tms_snapshot *s = NULL;
        tms_error e = {0};
        int rc = tms_snapshot_load(argv[i], flags, &s, &e);
        if (rc == 0) {
            put_snapshot(stdout, s);
        } else {
            printf("{\"error\": \"%s\", \"message\": ", fmt_code_name(rc));
            put_text(stdout, e.msg);
            puts("}");
        }
        tms_snapshot_free(s);
    }
    return 0;
}

/* ------------------------------------------------------------------ write */

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rnd(void) /* splitmix64: deterministic across platforms */
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static tms_snapshot *new_snapshot(int64_t pid)
{
    tms_snapshot *s = tms_snapshot_new();
    if (!s)
        return NULL;
    s->header.format_major = TMS_FORMAT_MAJOR; /* what the writer writes */
    s->header.format_minor = TMS_FORMAT_MINOR;
    s->header.pid = pid;
    s->header.timestamp_ns = 1700000000000000000LL + pid;
    s->header.traceback_limit = 10;
    for (int i = 0; i < 16; i++)
        s->header.series_id[i] = (uint8_t)(0xc0 + i);
    strcpy(s->header.python_version, "3.11.7");
    return s;
}

/* A dictionary of n_files files x 20 lines, with some unknown frames, and
 * n_tbs tracebacks of 0..5 frames. */
static int fill_dicts(tms_snapshot *s, int n_files, int n_tbs)
{
    char name[64];
    uint32_t sid, id, fr[6];
    int rc = 0;
    for (int i = 0; i < n_files && rc == 0; i++) {
        snprintf(name, sizeof name, "pkg/mod_%d.py", i);
        rc = tms_snapshot_intern_string(s, name, strlen(name), &sid);
        for (int ln = 0; ln < 20 && rc == 0; ln++)
            rc = tms_snapshot_intern_frame(s, sid, ln * 7, &id);
    }
    if (rc == 0)
        rc = tms_snapshot_intern_frame(s, TMS_NONE, TMS_LINENO_NONE, &id);
    if (rc == 0 && n_files)
        rc = tms_snapshot_intern_frame(s, 0, TMS_LINENO_NONE, &id);
    for (int t = 0; t < n_tbs && rc == 0; t++) {
        uint32_t len = (uint32_t)(t % 6);
        for (uint32_t k = 0; k < len; k++)
            fr[k] = (uint32_t)((rnd() + (uint64_t)t) % s->nframes);
        rc = tms_snapshot_intern_traceback(s, fr, len, &id);
    }
    return rc;
}

static int add_extras(tms_snapshot *s)
{
    int rc = 0;
    double nan_payload;
    uint64_t bits = 0x7ff8000000000abcULL;
    memcpy(&nan_payload, &bits, 8);
    for (uint32_t f = 0; f < s->nframes && rc == 0; f += 3)
        rc = tms_snapshot_add_stat(s, f, rnd() >> 20, rnd() >> 40);
    if (rc == 0)
        rc = tms_snapshot_add_metric(s, "rss", TMS_FORMAT_SIZE,
                                     TMS_VALUE_INT, 123456789, 0);
    if (rc == 0)
        rc = tms_snapshot_add_metric(s, "frag", TMS_FORMAT_PERCENT,
                                     TMS_VALUE_FLOAT, 0, 0.125);
    if (rc == 0)
        rc = tms_snapshot_add_metric(s, "min", TMS_FORMAT_INT,
                                     TMS_VALUE_INT, INT64_MIN, 0);
    if (rc == 0)
        rc = tms_snapshot_add_metric(s, "nan", TMS_FORMAT_INT,
                                     TMS_VALUE_FLOAT, 0, nan_payload);
    if (rc == 0)
        rc = tms_snapshot_set_meta(s, "argv", "python -m app \"x\"");
    if (rc == 0)
        rc = tms_snapshot_set_meta(s, "h\xc3\xb4te", "");
    return rc;
}

/* 1.1: every third frame gets a function name (shared names, one
 * unnamed-looking "" name), and a peak over every tb_step-th traceback. */
static int add_names_peak(tms_snapshot *s, uint32_t tb_step)
{
    static const char *const names[] = { "main", "Cache.get.<locals>.fill",
                                         "", "<module>", "h\xc3\xb4te" };
    uint32_t id;
    int rc = 0;
    for (uint32_t f = 0; f < s->nframes && rc == 0; f += 3) {
        const char *n = names[rnd() % 5];
        rc = tms_snapshot_intern_string(s, n, strlen(n), &id);
        rc = rc ? rc : tms_snapshot_set_function(s, f, id);
    }
    tms_peak_info p = { 1ULL << 40, (1ULL << 40) - 4096, -17 };
    rc = rc ? rc : tms_snapshot_set_peak(s, &p);
    for (uint32_t t = 0; t < s->ntracebacks && rc == 0; t += tb_step)
        rc = tms_snapshot_add_peak_entry(s, t, rnd() >> 20, rnd() >> 44);
    return rc;
}

/* n traces at unique ascending-ish addresses with gaps of align..16*align;
 * then the two largest addresses if extreme. */
static int add_traces(tms_snapshot *s, uint64_t n, uint64_t align, int extreme)
{
    uint64_t a = 0x7f0000000000ULL;
    int rc = 0;
    s->has_traces = 1; /* even when n == 0: "took traces, has none" */
    for (uint64_t i = 0; i < n && rc == 0; i++) {
        a += align * (1 + rnd() % 16);
        rc = tms_snapshot_add_trace(s, a, rnd() % 5000,
                                    (uint32_t)(rnd() % s->ntracebacks));
    }
    if (rc == 0 && extreme)
        rc = tms_snapshot_add_trace(s, UINT64_MAX, UINT64_MAX, 0);
    if (rc == 0 && extreme)
        rc = tms_snapshot_add_trace(s, 1, 0, 0);
    return rc;
}

/* After the .tms was written (rc 0): DIR/NAME.json = what was built.
 * Frees s either way. */
static int save_json(const char *dir, const char *name, tms_snapshot *s,
                     int rc, const char *msg)
{
    char path[4096];
    FILE *f = NULL;
    if (rc != 0) {
        fprintf(stderr, "tms_cross: %s: %s: %s\n", name, fmt_code_name(rc),
                msg);
    } else {
        snprintf(path, sizeof path, "%s/%s.json", dir, name);
        f = fopen(path, "w");
        if (f)
            put_snapshot(f, s);
    }
    tms_snapshot_free(s);
    return !f || fclose(f) != 0;
}

static int save(const char *dir, const char *name, tms_snapshot *s, int rc)
{
    char path[4096];
    tms_error e = {0};
    if (!s || rc != 0) {
        fprintf(stderr, "tms_cross: building %s failed: %d\n", name, rc);
        tms_snapshot_free(s);
        return 1;
    }
    snprintf(path, sizeof path, "%s/%s.tms", dir, name);
    rc = tms_snapshot_save(s, path, &e);
    return save_json(dir, name, s, rc, e.msg);
}

/* Write s through the streaming API in pieces: each table in two calls
 * (ids continue across sections), traces in batches of 1000 in DESCENDING
 * address order, so the writer must sort within each chunk. */
static int stream_save(const char *dir, const char *name, tms_snapshot *s)
{
    char path[4096];
    tms_writer *w = NULL;
    tms_error e = {0};
    tms_trace *rev = NULL;
    uint32_t hs = s->nstrings / 2, hf = s->nframes / 2;
    int rc = tms_writer_open_buffer(&w, &s->header, &e);
    void *buf = NULL;
    size_t len = 0;
    FILE *f;
    if (rc == 0)
        rc = tms_writer_add_strings(w, s->strings, hs, &e);
    if (rc == 0)
        rc = tms_writer_add_strings(w, s->strings + hs, s->nstrings - hs, &e);
    if (rc == 0)
        rc = tms_writer_add_frames(w, s->frames, hf, &e);
    if (rc == 0)
        rc = tms_writer_add_frames(w, s->frames + hf, s->nframes - hf, &e);
    for (uint32_t half = 0; half < 2 && rc == 0; half++) {
        /* function names in two calls: two FNAM sections */
        uint32_t fr[64], nm[64], k = 0;
        for (uint32_t j = half * hf; j < (half ? s->nframes : hf); j++)
            if (tms_frame_function(s, j) != TMS_NONE && k < 64) {
                fr[k] = j;
                nm[k++] = tms_frame_function(s, j);
            }
        rc = tms_writer_add_functions(w, fr, nm, k, &e);
    }
    if (rc == 0)
        rc = tms_writer_add_tracebacks(w, s->tb_frames, s->tb_start,
                                       s->ntracebacks, &e);
    if (rc == 0 && s->has_peak)
        rc = tms_writer_add_peak(w, &s->peak, s->peak_entries, s->npeak, &e);
    if (rc == 0)
        rc = tms_writer_begin_traces(w, &e);
    rev = malloc(sizeof *rev * 1000);
    for (uint64_t i = 0; rc == 0 && rev && i < s->ntraces; i += 1000) {
        size_t n = s->ntraces - i < 1000 ? (size_t)(s->ntraces - i) : 1000;
        for (size_t k = 0; k < n; k++)
            rev[k] = s->traces[s->ntraces - 1 - i - k];
        rc = tms_writer_add_traces(w, rev, n, &e);
    }
    free(rev);
    if (rc == 0)
        rc = tms_writer_add_stats(w, s->stats, s->nstats, &e);
    if (rc == 0)
        rc = tms_writer_add_metrics(w, s->metrics, s->nmetrics, &e);
    if (rc == 0)
        rc = tms_writer_add_meta(w, s->meta, s->nmeta, &e);
    if (rc == 0)
        rc = tms_writer_finish_buffer(w, &buf, &len, &e);
    else
        tms_writer_abort(w);
    snprintf(path, sizeof path, "%s/%s.tms", dir, name);
    f = rc == 0 ? fopen(path, "wb") : NULL;
    if (f && fwrite(buf, 1, len, f) != len)
        rc = -1;
    if (f && fclose(f) != 0)
        rc = -1;
    free(buf);
    return save_json(dir, name, s, rc == 0 && !f ? TMS_E_IO : rc, e.msg);
}

static int write_all(const char *dir)
{
    int fails = 0, rc;
    uint32_t id;
    tms_snapshot *s;

    s = new_snapshot(1);
    fails += save(dir, "empty", s, 0);

    s = new_snapshot(2);
    rc = s ? fill_dicts(s, 3, 0) : -1;
    rc = rc ? rc : add_extras(s);
    fails += save(dir, "no_traces", s, rc);

    s = new_snapshot(3);
    rc = s ? add_traces(s, 0, 16, 0) : -1;
    fails += save(dir, "traces_empty", s, rc);

    s = new_snapshot(4);
    rc = s ? fill_dicts(s, 5, 40) : -1;
    rc = rc ? rc : add_traces(s, 1000, 1, 1);
    fails += save(dir, "unaligned", s, rc);

    /* Odd strings: empty, embedded NUL, not UTF-8; edge line numbers. */
    s = new_snapshot(6);
    rc = s ? tms_snapshot_intern_string(s, "", 0, &id) : -1;
    rc = rc ? rc : tms_snapshot_intern_string(s, "a\0b", 3, &id);
    rc = rc ? rc : tms_snapshot_intern_string(s, "\xff\xfe", 2, &id);
    rc = rc ? rc : tms_snapshot_intern_frame(s, id, INT32_MAX, &id);
    rc = rc ? rc : tms_snapshot_intern_frame(s, 0, 0, &id);
    rc = rc ? rc : tms_snapshot_intern_traceback(s, NULL, 0, &id);
    rc = rc ? rc : add_traces(s, 10, 8, 0);
    fails += save(dir, "odd_strings", s, rc);

    s = new_snapshot(7);
    rc = s ? fill_dicts(s, 8, 100) : -1;
    rc = rc ? rc : add_traces(s, TMS_TRACE_CHUNK + 999, 16, 0);
    rc = rc ? rc : add_extras(s);
    rc = rc ? rc : add_names_peak(s, 2);
    fails += rc ? save(dir, "stream", s, rc) : stream_save(dir, "stream", s);

    s = new_snapshot(8);
    rc = s ? fill_dicts(s, 4, 60) : -1;
    rc = rc ? rc : add_names_peak(s, 2);
    rc = rc ? rc : add_traces(s, 100, 16, 0);
    fails += save(dir, "names_peak", s, rc);

    /* 1.3: traces in other domains (DOMS), over two chunks, whole and
     * streamed (the streaming writer sorts each chunk itself). */
    s = new_snapshot(12);
    rc = s ? fill_dicts(s, 4, 60) : -1;
    for (uint64_t i = 0; rc == 0 && i < TMS_TRACE_CHUNK + 300; i++)
        rc = tms_snapshot_add_trace_in(
            s, 0x7f0000000000ULL + 16 * i, rnd() % 5000,
            (uint32_t)(rnd() % s->ntracebacks),
            rnd() % 5 ? 0 : rnd() % 3 ? 389047u : TMS_DOMAIN_NATIVE);
    if (s)
        s->has_traces = 1;
    fails += save(dir, "domains", s, rc);
    s = new_snapshot(13);
    rc = s ? fill_dicts(s, 4, 60) : -1;
    for (uint64_t i = 0; rc == 0 && i < 500; i++)
        rc = tms_snapshot_add_trace_in(s, 0x1000 + 64 * i, i,
                                       (uint32_t)(rnd() % s->ntracebacks),
                                       i % 3 ? 0 : (uint32_t)(1 + i));
    fails += rc ? save(dir, "domains_stream", s, rc)
                : stream_save(dir, "domains_stream", s);

    /* 1.2: a sampled snapshot (SMPL), written whole and streamed. */
    s = new_snapshot(10);
    rc = s ? fill_dicts(s, 4, 60) : -1;
    if (s)
        s->header.sample_interval = 524288;
    rc = rc ? rc : add_traces(s, 100, 16, 0);
    rc = rc ? rc : add_names_peak(s, 2);
    fails += save(dir, "sampled", s, rc);
    s = new_snapshot(11);
    rc = s ? fill_dicts(s, 4, 60) : -1;
    if (s)
        s->header.sample_interval = UINT64_MAX;
    rc = rc ? rc : add_traces(s, 100, 16, 0);
    fails += rc ? save(dir, "sampled_stream", s, rc)
                : stream_save(dir, "sampled_stream", s);

    /* A picture of more than TMS_PEAK_CHUNK tracebacks: two PEAK. */
    s = new_snapshot(9);
    rc = s ? fill_dicts(s, 20, 0) : -1;
    for (uint32_t t = 0; rc == 0 && t < TMS_PEAK_CHUNK + 100; t++) {
        uint32_t fr[2] = { t % s->nframes, t / s->nframes };
        rc = tms_snapshot_intern_traceback(s, fr, 2, &id);
    }
    rc = rc ? rc : add_names_peak(s, 1);
    fails += save(dir, "peak_split", s, rc);

    /* More than two chunks of TMS_TRACE_CHUNK, a partial last one. */
    s = new_snapshot(5);
    rc = s ? fill_dicts(s, 30, 500) : -1;
    rc = rc ? rc : add_traces(s, 2 * TMS_TRACE_CHUNK + 4321, 16, 0);
    rc = rc ? rc : add_extras(s);
    fails += save(dir, "big", s, rc);
    return fails;
}

/* ------------------------------------------------------------ writer-dups */

/* Finish w and report whether the writer refused (at add or at finish) or
 * produced a file (W7/W8 say it MUST NOT: the file is invalid). */
static void dup_case(const char *what, tms_writer *w, int rc)
{
    tms_error e = {0};
    void *buf = NULL;
    size_t len = 0;
    if (rc != 0)
        tms_writer_abort(w);
    else
        rc = tms_writer_finish_buffer(w, &buf, &len, &e);
    printf("%s %s\n", what, rc ? "refused" : "written");
    free(buf);
}

/* Feed the streaming writer each kind of duplicate the spec forbids. */
static int writer_dups(void)
{
    tms_header h;
    tms_error e = {0};
    tms_writer *w = NULL;
    tms_string strs[2] = {{"a", 1}, {"a", 1}};
    tms_frame fr[2] = {{TMS_NONE, 1}, {TMS_NONE, 1}};
    uint32_t tbf[2] = {0, 0};
    uint64_t tbs[3] = {0, 1, 2}, empty_tb[2] = {0, 0};
    tms_metric m[2] = {{"m", TMS_FORMAT_INT, TMS_VALUE_INT, 1, 0},
                       {"m", TMS_FORMAT_INT, TMS_VALUE_INT, 2, 0}};
    tms_meta kv[2] = {{"k", "1"}, {"k", "2"}};
    tms_stat st[2] = {{0, 1, 1}, {0, 2, 2}};
    tms_trace tr = {16, 1, 0};
    tms_trace *many = malloc(sizeof *many * TMS_TRACE_CHUNK);
    memset(&h, 0, sizeof h);
    if (!many)
        return 1;
    for (uint32_t i = 0; i < TMS_TRACE_CHUNK; i++)
        many[i] = (tms_trace){32 + 16ull * i, 1, 0};
#define OPEN() tms_writer_open_buffer(&w, &h, &e)
    dup_case("string", w, OPEN() ? -1 : tms_writer_add_strings(w, strs, 2, &e));
    dup_case("frame", w, OPEN() ? -1 : tms_writer_add_frames(w, fr, 2, &e));
    dup_case("traceback", w, OPEN() || tms_writer_add_frames(w, fr, 1, &e)
             ? -1 : tms_writer_add_tracebacks(w, tbf, tbs, 2, &e));
    dup_case("metric", w, OPEN() ? -1 : tms_writer_add_metrics(w, m, 2, &e));
    dup_case("meta", w, OPEN() ? -1 : tms_writer_add_meta(w, kv, 2, &e));
    dup_case("stat", w, OPEN() || tms_writer_add_frames(w, fr, 1, &e)
             ? -1 : tms_writer_add_stats(w, st, 2, &e));
    dup_case("address_in_chunk", w, OPEN() ||
             tms_writer_add_tracebacks(w, NULL, empty_tb, 1, &e) ||
             tms_writer_add_traces(w, &tr, 1, &e)
             ? -1 : tms_writer_add_traces(w, &tr, 1, &e));
    dup_case("address_across_chunks", w, OPEN() ||
             tms_writer_add_tracebacks(w, NULL, empty_tb, 1, &e) ||
             tms_writer_add_traces(w, &tr, 1, &e) ||
             tms_writer_add_traces(w, many, TMS_TRACE_CHUNK, &e)
             ? -1 : tms_writer_add_traces(w, &tr, 1, &e));
#undef OPEN
    free(many);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "writer-dups") == 0)
        return writer_dups();
    if (argc >= 2 && strcmp(argv[1], "dump") == 0)
        return dump(argc - 2, argv + 2);
    if (argc == 3 && strcmp(argv[1], "write") == 0)
        return write_all(argv[2]);
    fprintf(stderr, "usage: tms_cross dump [--skip] FILE... | "
                    "tms_cross write DIR | tms_cross writer-dups\n");
    return 2;
}
