/* test_tms_roundtrip.c -- libtms encodes and decodes snapshots exactly:
 * buffer, path, fd and pipe; SKIP_TRACES; the streaming writer across
 * several chunks and dictionary batches; the SPEC §8 example byte for
 * byte; and a seeded property test over random snapshots. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "tms_testutil.h"

static char tmpdir[] = "/tmp/tms_rt_XXXXXX";

static tms_snapshot *through_buffer(const tms_snapshot *s, unsigned flags)
{
    void *buf = NULL;
    size_t len = 0;
    tms_snapshot *out = NULL;
    tms_error err = { 0 };
    if (tms_snapshot_save_buffer(s, &buf, &len, &err) != 0) {
        fprintf(stderr, "save_buffer: %s\n", err.msg);
        return NULL;
    }
    if (tms_snapshot_load_buffer(buf, len, "mem", flags, &out, &err) != 0)
        fprintf(stderr, "load_buffer: %s\n", err.msg);
    free(buf);
    return out;
}

static void test_empty(void)
{
    tms_snapshot *s = tms_snapshot_new();
    tms_snapshot *t = through_buffer(s, 0);
    CHECK("empty snapshot round-trips", t && tu_same(s, t));
    CHECK("empty snapshot has no traces", t && !t->has_traces);
    tms_snapshot_free(t);
    s->has_traces = 1;   /* traces taken, none present */
    t = through_buffer(s, 0);
    CHECK("traces-taken-but-none round-trips as has_traces",
          t && t->has_traces && t->ntraces == 0);
    tms_snapshot_free(t);
    tms_snapshot_free(s);
}

/* SPEC §8, computed there with Python's struct and zlib; a 1.3 writer
 * writes minor 3 at offset 10 (SPEC §8 says so). */
static void test_spec_example(void)
{
    static const uint8_t expect[134] = {
        0x89,0x54,0x4d,0x53,0x0d,0x0a,0x1a,0x0a,0x01,0x00,0x03,0x00,0x48,0x45,0x41,0x44,
        0x00,0x00,0x00,0x00,0x3c,0x00,0x00,0x00,0x3c,0x00,0x00,0x00,0xad,0xa9,0xa4,0xf4,
        0xd2,0x04,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,
        0x01,0x00,0x00,0x00,0x00,0x01,0x02,0x03,0x04,0x05,0x06,0x07,0x08,0x09,0x0a,0x0b,
        0x0c,0x0d,0x0e,0x0f,0x00,0x00,0x00,0x00,0x06,0x33,0x2e,0x31,0x31,0x2e,0x37,0x06,
        0x6c,0x69,0x62,0x74,0x6d,0x73,0x05,0x30,0x2e,0x31,0x2e,0x30,0x45,0x4e,0x44,0x20,
        0x00,0x00,0x00,0x00,0x06,0x00,0x00,0x00,0x06,0x00,0x00,0x00,0xf3,0x6b,0x63,0x45,
        0x01,0x48,0x45,0x41,0x44,0x0c,0x5c,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x89,0x54,
        0x4d,0x53,0x45,0x4e,0x44,0x0a };
    tms_snapshot *s = tms_snapshot_new();
    void *buf = NULL;
    size_t len = 0;
    s->header.pid = 1234;
    s->header.traceback_limit = 1;
    for (int i = 0; i < 16; i++)
        s->header.series_id[i] = (uint8_t)i;
    strcpy(s->header.python_version, "3.11.7");
    strcpy(s->header.writer_name, "libtms");
    strcpy(s->header.writer_version, "0.1.0");
    CHECK("encode SPEC example", tms_snapshot_save_buffer(s, &buf, &len, NULL) == 0);
    CHECK("SPEC example is byte-identical",
          len == sizeof expect && memcmp(buf, expect, len) == 0);
    free(buf);
    tms_snapshot_free(s);
}

/* 1.1: function names and the peak survive save and load, and the
 * writer refuses what the SPEC forbids. */
static void test_names_peak(void)
{
    tms_snapshot *s = tms_snapshot_new();
    uint32_t file, fn, f0, f1, tb0, tb1, fr[2];
    tms_peak_info p = { 104857750, 104857650, 1700000000000000001LL };
    int rc = tms_snapshot_intern_string(s, "app.py", 6, &file);
    rc = rc ? rc : tms_snapshot_intern_string(s, "Cache.get", 9, &fn);
    rc = rc ? rc : tms_snapshot_intern_frame(s, file, 3, &f0);
    rc = rc ? rc : tms_snapshot_intern_frame(s, file, 9, &f1);
    rc = rc ? rc : tms_snapshot_set_function(s, f1, fn);
    fr[0] = f1;
    fr[1] = f0;
    rc = rc ? rc : tms_snapshot_intern_traceback(s, fr, 2, &tb0);
    rc = rc ? rc : tms_snapshot_intern_traceback(s, fr + 1, 1, &tb1);
    CHECK("add_peak_entry before set_peak is refused",
          tms_snapshot_add_peak_entry(s, tb0, 1, 1) == TMS_E_ARG);
    tms_peak_info bad = { 10, 11, 0 };
    CHECK("recorded_size above the peak is refused",
          tms_snapshot_set_peak(s, &bad) == TMS_E_ARG && !s->has_peak);
    rc = rc ? rc : tms_snapshot_set_peak(s, &p);
    rc = rc ? rc : tms_snapshot_add_peak_entry(s, tb0, 104857600, 1);
    rc = rc ? rc : tms_snapshot_add_peak_entry(s, tb1, 50, 1);
    CHECK("build a 1.1 snapshot", rc == 0);
    CHECK("a frame without a name reads TMS_NONE",
          tms_frame_function(s, f0) == TMS_NONE);
    tms_snapshot *t = through_buffer(s, TMS_LOAD_SKIP_TRACES);
    CHECK("names and peak round-trip",
          t && t->header.format_minor == 3 && t->nframes == 2 &&
          tms_frame_function(t, f1) == fn && tms_frame_function(t, f0) == TMS_NONE &&
          strcmp(t->strings[fn].data, "Cache.get") == 0 && t->has_peak &&
          t->peak.size == p.size && t->peak.recorded_size == p.recorded_size &&
          t->peak.recorded_ns == p.recorded_ns && t->npeak == 2 &&
          t->peak_entries[0].traceback == tb0 &&
          t->peak_entries[0].size == 104857600 &&
          t->peak_entries[1].traceback == tb1 && t->peak_entries[1].count == 1);
    tms_snapshot_free(t);
    tms_snapshot_free(s);

    /* The streaming writer's own checks. */
    tms_writer *w = NULL;
    tms_error e;
    tms_header h = { 0 };
    tms_string str[2] = { { "a.py", 4 }, { "f", 1 } };
    tms_frame frm[1] = { { 0, 1 } };
    uint64_t start[2] = { 0, 1 };
    uint32_t tbf[1] = { 0 }, frames[2] = { 0, 0 }, names[2] = { 1, 1 };
    tms_peak_entry dup[2] = { { 0, 1, 1 }, { 0, 2, 2 } };
    void *buf = NULL;
    size_t len;
    rc = tms_writer_open_buffer(&w, &h, &e);
    rc = rc ? rc : tms_writer_add_strings(w, str, 2, &e);
    rc = rc ? rc : tms_writer_add_frames(w, frm, 1, &e);
    CHECK("writer: name of an undefined frame is refused, writer usable",
          rc == 0 && tms_writer_add_functions(w, (uint32_t[]){ 1 }, names, 1,
                                              &e) == TMS_E_ARG);
    CHECK("writer: a frame named twice is refused",
          tms_writer_add_functions(w, frames, names, 2, &e) == TMS_E_ARG);
    CHECK("writer: dead after the duplicate",
          tms_writer_add_tracebacks(w, tbf, start, 1, &e) == TMS_E_STATE);
    tms_writer_abort(w);
    rc = tms_writer_open_buffer(&w, &h, &e);
    rc = rc ? rc : tms_writer_add_strings(w, str, 2, &e);
    rc = rc ? rc : tms_writer_add_frames(w, frm, 1, &e);
    rc = rc ? rc : tms_writer_add_tracebacks(w, tbf, start, 1, &e);
    CHECK("writer: recorded_size > size is refused",
          rc == 0 && tms_writer_add_peak(w, &bad, NULL, 0, &e) == TMS_E_ARG);
    CHECK("writer: a traceback twice in the peak is refused",
          tms_writer_add_peak(w, &p, dup, 2, &e) == TMS_E_ARG);
    tms_writer_abort(w);
    rc = tms_writer_open_buffer(&w, &h, &e);
    rc = rc ? rc : tms_writer_add_peak(w, &p, NULL, 0, &e);
    CHECK("writer: a second peak is refused",
          rc == 0 && tms_writer_add_peak(w, &p, NULL, 0, &e) == TMS_E_STATE);
    CHECK("writer: a peak with no entries finishes",
          tms_writer_finish_buffer(w, &buf, &len, &e) == 0);
    t = NULL;
    CHECK("a peak with no entries loads as has_peak, npeak 0",
          tms_snapshot_load_buffer(buf, len, "b", 0, &t, &e) == 0 &&
          t->has_peak && t->npeak == 0 && t->peak.size == p.size);
    tms_snapshot_free(t);
    free(buf);
}

static void test_sample_buffer(void)
{
    tms_snapshot *s = tu_sample();
    tms_snapshot *t = through_buffer(s, 0);
    CHECK("sample round-trips through a buffer", t && tu_same(s, t));
    CHECK("unknown frame stays unknown", t && t->frames[2].filename == TMS_NONE &&
          t->frames[2].lineno == TMS_LINENO_NONE);
    CHECK("empty traceback stays empty", t && tms_traceback_len(t, 2) == 0);
    CHECK("float percent exact", t && t->metrics[2].kind == TMS_VALUE_FLOAT &&
          t->metrics[2].format == TMS_FORMAT_PERCENT && t->metrics[2].f == 0.375);
    tms_snapshot_free(t);
    t = through_buffer(s, TMS_LOAD_SKIP_TRACES);
    CHECK("SKIP_TRACES loads everything but traces",
          t && !t->has_traces && t->ntraces == 0 && t->nstats == 2 &&
          t->ntracebacks == 3 && t->nmetrics == 4);
    tms_snapshot_free(t);
    /* stats only: no traces taken */
    tms_snapshot *u = tms_snapshot_new();
    uint32_t str, fr;
    tms_snapshot_intern_string(u, "x.py", 4, &str);
    tms_snapshot_intern_frame(u, str, 7, &fr);
    tms_snapshot_add_stat(u, fr, 100, 3);
    t = through_buffer(u, 0);
    CHECK("stats-only snapshot round-trips", t && tu_same(u, t) && !t->has_traces);
    tms_snapshot_free(t);
    tms_snapshot_free(u);
    tms_snapshot_free(s);
}

static void test_path_and_fd(void)
{
    char path[256];
    tms_snapshot *s = tu_sample(), *t = NULL;
    tms_error err = { 0 };
    struct stat st;
    snprintf(path, sizeof path, "%s/a.tms", tmpdir);
    CHECK("save to path", tms_snapshot_save(s, path, &err) == 0);
    CHECK("saved file is 0600 (it holds addresses and paths)",
          stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK("load from path", tms_snapshot_load(path, 0, &t, &err) == 0 &&
          tu_same(s, t));
    tms_snapshot_free(t);
    t = NULL;
    int fd = open(path, O_RDONLY);
    CHECK("load from fd", tms_snapshot_load_fd(fd, path, 0, &t, &err) == 0 &&
          tu_same(s, t));
    close(fd);
    tms_snapshot_free(t);
    t = NULL;
    fd = open(path, O_RDONLY);
    CHECK("load from fd skipping traces (seek)",
          tms_snapshot_load_fd(fd, path, TMS_LOAD_SKIP_TRACES, &t, &err) == 0 &&
          t->nstats == 2 && !t->has_traces);
    close(fd);
    tms_snapshot_free(t);
    t = NULL;
    /* the fd writer */
    char p2[256];
    snprintf(p2, sizeof p2, "%s/b.tms", tmpdir);
    fd = open(p2, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    tms_writer *w = NULL;
    int ok = tms_writer_open_fd(&w, fd, p2, &s->header, &err) == 0 &&
             tms_writer_add_strings(w, s->strings, s->nstrings, &err) == 0 &&
             tms_writer_add_frames(w, s->frames, s->nframes, &err) == 0 &&
             tms_writer_add_tracebacks(w, s->tb_frames, s->tb_start,
                                       s->ntracebacks, &err) == 0 &&
             tms_writer_add_traces(w, s->traces, (size_t)s->ntraces, &err) == 0 &&
             tms_writer_add_stats(w, s->stats, (size_t)s->nstats, &err) == 0 &&
             tms_writer_add_metrics(w, s->metrics, s->nmetrics, &err) == 0 &&
             tms_writer_add_meta(w, s->meta, s->nmeta, &err) == 0 &&
             tms_writer_close(w, &err) == 0;
    close(fd);
    CHECK("fd writer", ok);
    CHECK("fd writer output loads equal", tms_snapshot_load(p2, 0, &t, &err) == 0 &&
          tu_same(s, t));
    tms_snapshot_free(t);
    tms_snapshot_free(s);
}

/* Feed a buffer through a pipe from a child process. */
static int load_via_pipe(const void *buf, size_t len, unsigned flags,
                         tms_snapshot **out, tms_error *err)
{
    int p[2];
    if (pipe(p) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        const char *b = buf;
        while (len) {
            ssize_t k = write(p[1], b, len);
            if (k <= 0)
                _exit(1);
            b += k;
            len -= (size_t)k;
        }
        _exit(0);
    }
    close(p[1]);
    int rc = tms_snapshot_load_fd(p[0], "<pipe>", flags, out, err);
    close(p[0]);
    waitpid(pid, NULL, 0);
    return rc;
}

/* The streaming writer: dictionaries in several batches, > 1 chunk. */
static void test_streaming_pipe(void)
{
    tms_header h = { 0 };
    tms_writer *w = NULL;
    tms_error err = { 0 };
    tms_snapshot *ref = tms_snapshot_new();
    const uint64_t ntr = 3 * TMS_TRACE_CHUNK + 123;
    int ok = tms_writer_open_buffer(&w, &h, &err) == 0;
    ref->header = h;
    for (int batch = 0; batch < 5 && ok; batch++) {
        tms_string str[10];
        char names[10][16];
        tms_frame fr[10];
        uint32_t frames[20];
        uint64_t start[11];
        for (int i = 0; i < 10; i++) {
            uint32_t id;
            str[i].len = (uint32_t)snprintf(names[i], 16, "m%d_%d.py", batch, i);
            str[i].data = names[i];
            tms_snapshot_intern_string(ref, names[i], str[i].len, &id);
            fr[i].filename = id;
            fr[i].lineno = i;
            tms_snapshot_intern_frame(ref, id, i, &id);
        }
        start[0] = 0;
        for (int i = 0; i < 10; i++) {
            uint32_t id;
            frames[2 * i] = (uint32_t)(batch * 10 + i);
            frames[2 * i + 1] = (uint32_t)(batch * 10 + (i + 1) % 10);
            start[i + 1] = (uint64_t)(2 * i + 2);
            tms_snapshot_intern_traceback(ref, frames + 2 * i, 2, &id);
        }
        ok = tms_writer_add_strings(w, str, 10, &err) == 0 &&
             tms_writer_add_frames(w, fr, 10, &err) == 0 &&
             tms_writer_add_tracebacks(w, frames, start, 10, &err) == 0;
    }
    tms_trace batch[1000];
    uint64_t seed = 12345;
    for (uint64_t i = 0; i < ntr && ok; i += 1000) {
        size_t n = ntr - i < 1000 ? (size_t)(ntr - i) : 1000;
        for (size_t k = 0; k < n; k++) {
            /* descending addresses: the writer must sort each chunk */
            batch[k].address = (ntr - i - k) * 48;
            batch[k].size = tu_rand(&seed) % 500;
            batch[k].traceback = (uint32_t)(tu_rand(&seed) % 50);
            batch[k].domain = TMS_DOMAIN_PYTHON;
            tms_snapshot_add_trace(ref, batch[k].address, batch[k].size,
                                   batch[k].traceback);
        }
        ok = tms_writer_add_traces(w, batch, n, &err) == 0;
    }
    void *buf = NULL;
    size_t len = 0;
    ok = ok && tms_writer_finish_buffer(w, &buf, &len, &err) == 0;
    CHECK("streaming writer with 4 chunks and 5 dictionary batches", ok);
    tms_snapshot *t = NULL;
    CHECK("load streamed file", tms_snapshot_load_buffer(buf, len, "s", 0, &t,
                                                        &err) == 0);
    CHECK("streamed file equals the reference", t && tu_same(ref, t));
    tms_snapshot_free(t);
    t = NULL;
    CHECK("load from a pipe", load_via_pipe(buf, len, 0, &t, &err) == 0 &&
          tu_same(ref, t));
    tms_snapshot_free(t);
    t = NULL;
    CHECK("load from a pipe skipping traces",
          load_via_pipe(buf, len, TMS_LOAD_SKIP_TRACES, &t, &err) == 0 &&
          t->ntracebacks == 50 && t->ntraces == 0);
    tms_snapshot_free(t);
    free(buf);
    tms_snapshot_free(ref);
}

static int count_cb(void *ctx, const tms_trace *t, size_t n)
{
    uint64_t *c = ctx;
    (void)t;
    c[0] += n;
    c[1]++;
    return c[1] == 2 ? 77 : 0;   /* stop at the second batch */
}

static void test_callback(void)
{
    tms_snapshot *s = tms_snapshot_new(), *into = tms_snapshot_new();
    uint32_t tb;
    tms_snapshot_intern_traceback(s, NULL, 0, &tb);
    for (uint64_t i = 0; i < TMS_TRACE_CHUNK + 10; i++)
        tms_snapshot_add_trace(s, 16 * (i + 1), 1, tb);
    void *buf;
    size_t len;
    tms_reader *r = NULL;
    uint64_t c[2] = { 0, 0 };
    tms_snapshot_save_buffer(s, &buf, &len, NULL);
    CHECK("open reader", tms_reader_open_buffer(&r, buf, len, "cb", NULL) == 0);
    CHECK("callback's non-zero stops the read and is returned",
          tms_reader_read(r, into, 0, count_cb, c, NULL) == 77 &&
          c[0] == TMS_TRACE_CHUNK + 10 && c[1] == 2);
    CHECK("callback mode leaves into->traces empty", into->ntraces == 0);
    tms_reader_close(r);
    free(buf);
    tms_snapshot_free(into);
    tms_snapshot_free(s);
}

/* 1.3 DOMS (SPEC §4.13): domains survive a save/load, whole and streamed
 * by chunk, and a snapshot all in domain 0 has no DOMS section. */
static int dom_cb(void *ctx, const tms_trace *t, size_t n)
{
    uint64_t *c = ctx;   /* [0] traces, [1] sum of domains, [2] non-zero */
    for (size_t i = 0; i < n; i++) {
        c[0]++;
        c[1] += t[i].domain;
        c[2] += t[i].domain != 0;
    }
    return 0;
}

static int has_tag(const void *buf, size_t len, const char *tag)
{
    const unsigned char *b = buf;
    for (size_t i = 0; i + 4 <= len; i++)
        if (memcmp(b + i, tag, 4) == 0)
            return 1;
    return 0;
}

static void test_domains(void)
{
    tms_snapshot *s = tms_snapshot_new(), *into = tms_snapshot_new();
    uint32_t tb;
    uint64_t want = 0, nz = 0;
    tms_snapshot_intern_traceback(s, NULL, 0, &tb);
    /* two chunks; every 7th trace in numpy's domain, every 1000th native */
    for (uint64_t i = 0; i < TMS_TRACE_CHUNK + 100; i++) {
        uint32_t d = i % 1000 == 999 ? TMS_DOMAIN_NATIVE
                     : i % 7 == 3 ? 389047u : TMS_DOMAIN_PYTHON;
        tms_snapshot_add_trace_in(s, 16 * (i + 1), i, tb, d);
        want += d;
        nz += d != 0;
    }
    tms_snapshot *t = through_buffer(s, 0);
    CHECK("domains round-trip", t && tu_same(s, t));
    tms_snapshot_free(t);
    void *buf;
    size_t len;
    tms_reader *r = NULL;
    uint64_t c[3] = { 0, 0, 0 };
    CHECK("save", tms_snapshot_save_buffer(s, &buf, &len, NULL) == 0);
    CHECK("open reader", tms_reader_open_buffer(&r, buf, len, "dom", NULL) == 0);
    CHECK("streamed traces carry their domain",
          tms_reader_read(r, into, 0, dom_cb, c, NULL) == 0 &&
          c[0] == TMS_TRACE_CHUNK + 100 && c[1] == want && c[2] == nz);
    tms_reader_close(r);
    free(buf);
    tms_snapshot_free(into);
    /* all domain 0: the bytes hold no DOMS tag */
    tms_snapshot *p = tms_snapshot_new();
    tms_snapshot_intern_traceback(p, NULL, 0, &tb);
    tms_snapshot_add_trace(p, 64, 1, tb);
    CHECK("save all-Python", tms_snapshot_save_buffer(p, &buf, &len, NULL) == 0);
    CHECK("no DOMS when every trace is in domain 0",
          !has_tag(buf, len, "DOMS"));
    free(buf);
    tms_snapshot_free(p);
    tms_snapshot_free(s);
}

/* W7/W8: duplicates are refused, and the writer is dead afterwards. */
static void test_writer_duplicates(void)
{
    tms_header h = { 0 };
    tms_writer *w = NULL;
    tms_error err;
    tms_string two[2] = { { "a", 1 }, { "a", 1 } };
    uint64_t empty[2] = { 0, 0 };
    tms_writer_open_buffer(&w, &h, NULL);
    CHECK("a repeated string is ARG",
          tms_writer_add_strings(w, two, 2, &err) == TMS_E_ARG &&
          strstr(err.msg, "duplicate string") != NULL);
    CHECK("and the writer is dead",
          tms_writer_add_strings(w, two, 1, &err) == TMS_E_STATE);
    tms_writer_abort(w);
    /* an address in chunk 1 repeated in chunk 2, ranges overlapping */
    tms_trace *t = malloc((TMS_TRACE_CHUNK + 1) * sizeof *t);
    for (uint32_t i = 0; i <= TMS_TRACE_CHUNK; i++)
        t[i] = (tms_trace){ 16 * (uint64_t)(i + 1), 1, 0 };
    t[TMS_TRACE_CHUNK].address = 16 * 777;
    void *buf = NULL;
    size_t len;
    tms_writer_open_buffer(&w, &h, NULL);
    int rc = tms_writer_add_tracebacks(w, NULL, empty, 1, &err);
    if (rc == 0)
        rc = tms_writer_add_traces(w, t, TMS_TRACE_CHUNK + 1, &err);
    if (rc == 0)
        rc = tms_writer_finish_buffer(w, &buf, &len, &err);
    else
        tms_writer_abort(w);
    CHECK("an address repeated across chunks is refused", rc == TMS_E_ARG);
    free(buf);
    /* the same chunks without the repeat, in descending ranges: fine */
    t[TMS_TRACE_CHUNK].address = 8;
    tms_writer_open_buffer(&w, &h, NULL);
    rc = tms_writer_add_tracebacks(w, NULL, empty, 1, &err);
    if (rc == 0)
        rc = tms_writer_add_traces(w, t, TMS_TRACE_CHUNK + 1, &err);
    CHECK("distinct addresses across chunks are written",
          rc == 0 && tms_writer_finish_buffer(w, &buf, &len, &err) == 0);
    free(buf);
    free(t);
}

/* tms_writer_trust_unique_addresses: chunks whose ranges all overlap (a
 * hash table's order, as the tracer streams its live table) are written
 * and read back whole; a repeat inside one chunk is still refused. */
static void test_writer_trusted(void)
{
    tms_header h = { 0 };
    tms_writer *w = NULL;
    tms_error err;
    uint64_t empty[2] = { 0, 0 };
    size_t n = 3 * (size_t)TMS_TRACE_CHUNK + 5;
    tms_trace *t = malloc(n * sizeof *t);
    for (size_t i = 0; i < n; i++)   /* a permutation: every chunk spans all */
        t[i] = (tms_trace){ 16 * (((uint64_t)i * 7919) % n + 1), i % 9 + 1, 0 };
    void *buf = NULL;
    size_t len = 0;
    tms_writer_open_buffer(&w, &h, NULL);
    tms_writer_trust_unique_addresses(w);
    int rc = tms_writer_add_tracebacks(w, NULL, empty, 1, &err);
    if (rc == 0)
        rc = tms_writer_begin_traces(w, &err);
    for (size_t i = 0; rc == 0 && i < n; i += 1000)
        rc = tms_writer_add_traces(w, t + i, n - i < 1000 ? n - i : 1000, &err);
    CHECK("trusted: overlapping chunks are written",
          rc == 0 && tms_writer_finish_buffer(w, &buf, &len, &err) == 0);
    tms_snapshot *s = NULL;
    uint64_t sum = 0, want = 0;
    if (buf != NULL &&
        tms_snapshot_load_buffer(buf, len, "trusted", 0, &s, &err) == 0) {
        for (uint64_t i = 0; i < s->ntraces; i++)
            sum += s->traces[i].address ^ (s->traces[i].size << 40);
    }
    for (size_t i = 0; i < n; i++)
        want += t[i].address ^ (t[i].size << 40);
    CHECK("trusted: every trace reads back",
          s != NULL && s->ntraces == n && sum == want);
    tms_snapshot_free(s);
    free(buf);
    t[1].address = t[0].address;
    tms_writer_open_buffer(&w, &h, NULL);
    tms_writer_trust_unique_addresses(w);
    rc = tms_writer_add_tracebacks(w, NULL, empty, 1, &err);
    if (rc == 0)
        rc = tms_writer_add_traces(w, t, 2, &err);
    if (rc == 0)
        rc = tms_writer_finish_buffer(w, &buf, &len, &err);
    else
        tms_writer_abort(w);
    CHECK("trusted: a repeat within a chunk is still refused",
          rc == TMS_E_ARG);
    free(t);
}

static tms_snapshot *random_snapshot(uint64_t *rs)
{
    tms_snapshot *s = tms_snapshot_new();
    s->header.pid = (int64_t)tu_rand(rs);
    s->header.timestamp_ns = (int64_t)tu_rand(rs);
    s->header.traceback_limit = (uint32_t)tu_rand(rs);
    for (int i = 0; i < 16; i++)
        s->header.series_id[i] = (uint8_t)tu_rand(rs);
    uint32_t ns = (uint32_t)(tu_rand(rs) % 20), id;
    for (uint32_t i = 0; i < ns; i++) {
        char b[40];
        size_t n = tu_rand(rs) % sizeof b;
        for (size_t k = 0; k < n; k++)
            b[k] = (char)tu_rand(rs);
        tms_snapshot_intern_string(s, b, n, &id);
    }
    uint32_t nf = (uint32_t)(tu_rand(rs) % 30);
    for (uint32_t i = 0; i < nf; i++) {
        uint32_t fn = s->nstrings && tu_rand(rs) % 4 ? (uint32_t)(tu_rand(rs) % s->nstrings)
                                                     : TMS_NONE;
        int32_t ln = tu_rand(rs) % 5 ? (int32_t)(tu_rand(rs) % 0x80000000u) : TMS_LINENO_NONE;
        tms_snapshot_intern_frame(s, fn, ln, &id);
    }
    uint32_t nt = (uint32_t)(tu_rand(rs) % 20);
    for (uint32_t i = 0; i < nt; i++) {
        uint32_t fr[30], n = s->nframes ? (uint32_t)(tu_rand(rs) % 30) : 0;
        for (uint32_t k = 0; k < n; k++)
            fr[k] = (uint32_t)(tu_rand(rs) % s->nframes);
        tms_snapshot_intern_traceback(s, fr, n, &id);
    }
    if (s->ntracebacks && tu_rand(rs) % 3) {
        uint64_t n = tu_rand(rs) % 300, addr = tu_rand(rs) >> (tu_rand(rs) % 64);
        unsigned align = (unsigned)(tu_rand(rs) % 6);
        s->has_traces = 1;
        for (uint64_t i = 0; i < n; i++) {
            addr += ((tu_rand(rs) % 1000) + 1) << align;
            uint64_t size = tu_rand(rs) >> (tu_rand(rs) % 64);
            uint32_t dom = tu_rand(rs) % 4 ? TMS_DOMAIN_PYTHON
                                           : (uint32_t)tu_rand(rs);
            tms_snapshot_add_trace_in(s, addr, size,
                                      (uint32_t)(tu_rand(rs) % s->ntracebacks),
                                      dom);
        }
    }
    for (uint32_t f = 0; f < s->nframes; f++)
        if (tu_rand(rs) % 2)
            tms_snapshot_add_stat(s, f, tu_rand(rs), tu_rand(rs) >> 20);
    uint32_t nm = (uint32_t)(tu_rand(rs) % 5);
    for (uint32_t i = 0; i < nm; i++) {
        char name[16];
        snprintf(name, sizeof name, "m%u", i);
        uint64_t bits = tu_rand(rs);
        double f;
        memcpy(&f, &bits, 8);   /* any bit pattern, NaNs included */
        tms_snapshot_add_metric(s, name, (tms_metric_format)(tu_rand(rs) % 3),
                                (tms_value_kind)(tu_rand(rs) % 2),
                                (int64_t)tu_rand(rs), f);
    }
    if (tu_rand(rs) % 2)
        tms_snapshot_set_meta(s, "k", "v");
    return s;
}

static void test_property(void)
{
    uint64_t seed = 0x5eed0000ULL + (uint64_t)getpid();
    int failures = 0;
    for (int i = 0; i < 400; i++) {
        uint64_t case_seed = seed + (uint64_t)i, rs = case_seed * 2 + 1;
        tms_snapshot *s = random_snapshot(&rs);
        tms_snapshot *t = through_buffer(s, 0);
        if (!(t && tu_same(s, t))) {
            if (failures++ < 5)
                fprintf(stderr, "property: case seed %llu fails\n",
                        (unsigned long long)case_seed);
        }
        tms_snapshot_free(t);
        tms_snapshot_free(s);
    }
    CHECK("400 random snapshots round-trip exactly", failures == 0);
}

int main(void)
{
    umask(022);
    if (mkdtemp(tmpdir) == NULL)
        return 2;
    test_empty();
    test_spec_example();
    test_names_peak();
    test_sample_buffer();
    test_path_and_fd();
    test_streaming_pipe();
    test_callback();
    test_domains();
    test_writer_duplicates();
    test_writer_trusted();
    test_property();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        return 2;
    return check_report("tms_roundtrip");
}
