/* tms_testutil.h -- helpers shared by the libtms tests: building sample
 * snapshots and comparing two snapshots table by table. */
#ifndef TMS_TESTUTIL_H
#define TMS_TESTUTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tms.h"

/* xorshift64*: seeded, so a failing property case can be replayed. */
static inline uint64_t tu_rand(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static inline int tu_cmp_trace(const void *a, const void *b)
{
    const tms_trace *x = a, *y = b;
    return x->address < y->address ? -1 : x->address > y->address;
}

/* 1 if a and b hold the same tables.  Trace order is not part of the
 * format (each chunk is sorted), so traces compare as sorted copies. */
static inline int tu_same(const tms_snapshot *a, const tms_snapshot *b)
{
    const tms_header *x = &a->header, *y = &b->header;
    if (x->pid != y->pid || x->timestamp_ns != y->timestamp_ns ||
        x->traceback_limit != y->traceback_limit ||
        memcmp(x->series_id, y->series_id, 16) ||
        strcmp(x->python_version, y->python_version) ||
        strcmp(x->writer_name, y->writer_name) ||
        strcmp(x->writer_version, y->writer_version))
        return 0;
    if (a->nstrings != b->nstrings || a->nframes != b->nframes ||
        a->ntracebacks != b->ntracebacks || a->has_traces != b->has_traces ||
        a->ntraces != b->ntraces || a->nstats != b->nstats ||
        a->nmetrics != b->nmetrics || a->nmeta != b->nmeta)
        return 0;
    for (uint32_t i = 0; i < a->nstrings; i++)
        if (a->strings[i].len != b->strings[i].len ||
            memcmp(a->strings[i].data, b->strings[i].data, a->strings[i].len))
            return 0;
    for (uint32_t i = 0; i < a->nframes; i++)
        if (a->frames[i].filename != b->frames[i].filename ||
            a->frames[i].lineno != b->frames[i].lineno)
            return 0;
    for (uint32_t i = 0; i <= a->ntracebacks; i++)
        if (a->tb_start[i] != b->tb_start[i])
            return 0;
    if (a->tb_start[a->ntracebacks] &&
        memcmp(a->tb_frames, b->tb_frames,
               a->tb_start[a->ntracebacks] * sizeof *a->tb_frames))
        return 0;
    for (uint64_t i = 0; i < a->nstats; i++)
        if (a->stats[i].frame != b->stats[i].frame ||
            a->stats[i].size != b->stats[i].size ||
            a->stats[i].count != b->stats[i].count)
            return 0;
    for (uint32_t i = 0; i < a->nmetrics; i++) {
        const tms_metric *m = &a->metrics[i], *n = &b->metrics[i];
        if (strcmp(m->name, n->name) || m->format != n->format ||
            m->kind != n->kind || m->i != n->i || memcmp(&m->f, &n->f, 8))
            return 0;
    }
    for (uint32_t i = 0; i < a->nmeta; i++)
        if (strcmp(a->meta[i].key, b->meta[i].key) ||
            strcmp(a->meta[i].value, b->meta[i].value))
            return 0;
    int same = 1;
    if (a->ntraces) {
        size_t n = (size_t)a->ntraces;
        tms_trace *s1 = malloc(n * sizeof *s1), *s2 = malloc(n * sizeof *s2);
        memcpy(s1, a->traces, n * sizeof *s1);
        memcpy(s2, b->traces, n * sizeof *s2);
        qsort(s1, n, sizeof *s1, tu_cmp_trace);
        qsort(s2, n, sizeof *s2, tu_cmp_trace);
        for (size_t i = 0; i < n && same; i++)
            same = s1[i].address == s2[i].address &&
                   s1[i].size == s2[i].size &&
                   s1[i].traceback == s2[i].traceback &&
                   s1[i].domain == s2[i].domain;
        free(s1);
        free(s2);
    }
    return same;
}

/* A small snapshot touching every table: a.py and b.py, an unknown frame,
 * a shared traceback, an empty traceback, every metric format, metadata. */
static inline tms_snapshot *tu_sample(void)
{
    tms_snapshot *s = tms_snapshot_new();
    uint32_t a, b, f[4], tb[3];
    s->header.pid = 4242;
    s->header.timestamp_ns = 1700000000123456789LL;
    s->header.traceback_limit = 25;
    for (int i = 0; i < 16; i++)
        s->header.series_id[i] = (uint8_t)(0xA0 + i);
    strcpy(s->header.python_version, "3.11.7");
    tms_snapshot_intern_string(s, "a.py", 4, &a);
    tms_snapshot_intern_string(s, "b.py", 4, &b);
    tms_snapshot_intern_frame(s, a, 10, &f[0]);
    tms_snapshot_intern_frame(s, b, 0, &f[1]);
    tms_snapshot_intern_frame(s, TMS_NONE, TMS_LINENO_NONE, &f[2]);
    tms_snapshot_intern_frame(s, a, TMS_LINENO_NONE, &f[3]);
    uint32_t t0[] = { f[0], f[1] }, t1[] = { f[2], f[3], f[0] };
    tms_snapshot_intern_traceback(s, t0, 2, &tb[0]);
    tms_snapshot_intern_traceback(s, t1, 3, &tb[1]);
    tms_snapshot_intern_traceback(s, NULL, 0, &tb[2]);
    tms_snapshot_add_trace(s, 0x7f0000001000ULL, 64, tb[0]);
    tms_snapshot_add_trace(s, 0x7f0000001040ULL, 32, tb[0]);
    tms_snapshot_add_trace(s, 0x55550000a010ULL, 1 << 20, tb[1]);
    tms_snapshot_add_trace(s, 0x10ULL, 0, tb[2]);
    tms_snapshot_add_stat(s, f[0], 96, 2);
    tms_snapshot_add_stat(s, f[2], 1 << 20, 1);
    tms_snapshot_add_metric(s, "rss", TMS_FORMAT_SIZE, TMS_VALUE_INT,
                            123456789, 0);
    tms_snapshot_add_metric(s, "threads", TMS_FORMAT_INT, TMS_VALUE_INT, -3, 0);
    tms_snapshot_add_metric(s, "heap_used", TMS_FORMAT_PERCENT,
                            TMS_VALUE_FLOAT, 0, 0.375);
    tms_snapshot_add_metric(s, "load", TMS_FORMAT_INT, TMS_VALUE_FLOAT, 0,
                            -1.5e300);
    tms_snapshot_set_meta(s, "argv", "python app.py --fast");
    tms_snapshot_set_meta(s, "host", "h\xc3\xa9");
    return s;
}

#endif
