/* mksnap.c -- build .tms files with known contents for tmtool's tests and
 * benchmarks, through libtms's builders and tms_snapshot_save.
 *
 *   mksnap OUT < SPEC        one snapshot from a line-based spec:
 *     header PID TIMESTAMP_NS TRACEBACK_LIMIT SERIES_HEX32
 *     trace ADDRESS SIZE FRAMES [DOMAIN]   FRAMES: file:line;file:line
 *                                    (most recent first), "-" for none;
 *                                    file "?" is unknown, line "?" is
 *                                    unknown; DOMAIN (format 1.3) default 0
 *     stat FILE:LINE SIZE COUNT
 *     metric NAME int|percent|size i|f VALUE
 *     meta KEY VALUE
 *     function FILE:LINE NAME        the frame's function (format 1.1)
 *     peak SIZE RECORDED_SIZE NS     the peak (format 1.1), then its state:
 *     peakentry FRAMES SIZE COUNT    one traceback's blocks at the peak
 *   A spec without trace lines gives a stats-only snapshot.
 *   mksnap --synthetic OUT NTRACES NFRAMES NSITES SEED [SCALE_PERCENT]
 *     a big synthetic snapshot for bench/: NSITES distinct lines, tracebacks
 *     of NFRAMES frames, stats computed from the traces.  SCALE_PERCENT
 *     (default 100) scales sizes, to make a "newer" snapshot that grew.
 *   mksnap --load FILE [skip]
 *     only load FILE (all of it, or without traces): the floor a tmtool
 *     command cannot go below, for bench/. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tms.h"

static int die(const char *what, int rc)
{
    fprintf(stderr, "mksnap: %s: %s\n", what, tms_strerror(rc));
    return 1;
}

static int intern_frame(tms_snapshot *s, char *text, uint32_t *out)
{
    char *colon = strrchr(text, ':');
    if (colon == NULL)
        return TMS_E_ARG;
    *colon = '\0';
    uint32_t name = TMS_NONE;
    int rc = 0;
    if (strcmp(text, "?") != 0)
        rc = tms_snapshot_intern_string(s, text, strlen(text), &name);
    int32_t line = strcmp(colon + 1, "?") == 0 ? TMS_LINENO_NONE
                                               : (int32_t)atol(colon + 1);
    return rc ? rc : tms_snapshot_intern_frame(s, name, line, out);
}

/* FRAMES ("file:line;file:line", most recent first, "-" for none) into
 * an interned traceback. */
static int intern_tb(tms_snapshot *s, char *fr, uint32_t *tb)
{
    uint32_t frames[1024], n = 0;
    int rc = 0;
    if (fr && strcmp(fr, "-") != 0) {
        char *save = NULL;
        for (char *f = strtok_r(fr, ";", &save); f && rc == 0 && n < 1024;
             f = strtok_r(NULL, ";", &save))
            rc = intern_frame(s, f, &frames[n++]);
    }
    return rc ? rc : tms_snapshot_intern_traceback(s, frames, n, tb);
}

static int from_spec(const char *out)
{
    tms_snapshot *s = tms_snapshot_new();
    char line[65536];
    int rc = 0;
    if (s == NULL)
        return die("new", TMS_E_NOMEM);
    while (rc == 0 && fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = '\0';
        char *kw = strtok(line, " ");
        if (kw == NULL)
            continue;
        if (strcmp(kw, "header") == 0) {
            s->header.pid = atoll(strtok(NULL, " "));
            s->header.timestamp_ns = atoll(strtok(NULL, " "));
            s->header.traceback_limit = (uint32_t)atol(strtok(NULL, " "));
            const char *hex = strtok(NULL, " ");
            for (int i = 0; i < 16 && hex && hex[2 * i]; i++) {
                unsigned v;
                sscanf(hex + 2 * i, "%2x", &v);
                s->header.series_id[i] = (uint8_t)v;
            }
            snprintf(s->header.python_version, sizeof s->header.python_version, "3.11.7");
        } else if (strcmp(kw, "trace") == 0) {
            uint64_t addr = strtoull(strtok(NULL, " "), NULL, 0);
            uint64_t size = strtoull(strtok(NULL, " "), NULL, 10);
            uint32_t tb;
            rc = intern_tb(s, strtok(NULL, " "), &tb);
            const char *dom = strtok(NULL, " ");
            if (rc == 0)
                rc = tms_snapshot_add_trace_in(
                    s, addr, size, tb,
                    dom ? (uint32_t)strtoul(dom, NULL, 10) : 0);
        } else if (strcmp(kw, "stat") == 0) {
            uint32_t f;
            rc = intern_frame(s, strtok(NULL, " "), &f);
            uint64_t size = strtoull(strtok(NULL, " "), NULL, 10);
            uint64_t count = strtoull(strtok(NULL, " "), NULL, 10);
            if (rc == 0)
                rc = tms_snapshot_add_stat(s, f, size, count);
        } else if (strcmp(kw, "metric") == 0) {
            const char *name = strtok(NULL, " "), *fmt = strtok(NULL, " ");
            const char *kind = strtok(NULL, " "), *val = strtok(NULL, " ");
            tms_metric_format mf = strcmp(fmt, "size") == 0      ? TMS_FORMAT_SIZE
                                   : strcmp(fmt, "percent") == 0 ? TMS_FORMAT_PERCENT
                                                                 : TMS_FORMAT_INT;
            int isf = kind[0] == 'f';
            rc = tms_snapshot_add_metric(s, name, mf,
                                         isf ? TMS_VALUE_FLOAT : TMS_VALUE_INT,
                                         isf ? 0 : atoll(val), isf ? atof(val) : 0);
        } else if (strcmp(kw, "peak") == 0) {
            tms_peak_info pk = { 0, 0, 0 };
            pk.size = strtoull(strtok(NULL, " "), NULL, 10);
            pk.recorded_size = strtoull(strtok(NULL, " "), NULL, 10);
            pk.recorded_ns = atoll(strtok(NULL, " "));
            rc = tms_snapshot_set_peak(s, &pk);
        } else if (strcmp(kw, "peakentry") == 0) {
            uint32_t tb;
            rc = intern_tb(s, strtok(NULL, " "), &tb);
            uint64_t size = strtoull(strtok(NULL, " "), NULL, 10);
            uint64_t count = strtoull(strtok(NULL, " "), NULL, 10);
            if (rc == 0)
                rc = tms_snapshot_add_peak_entry(s, tb, size, count);
        } else if (strcmp(kw, "function") == 0) {
            uint32_t f, name;
            rc = intern_frame(s, strtok(NULL, " "), &f);
            const char *fn = strtok(NULL, " ");
            if (rc == 0)
                rc = tms_snapshot_intern_string(s, fn, strlen(fn), &name);
            if (rc == 0)
                rc = tms_snapshot_set_function(s, f, name);
        } else if (strcmp(kw, "meta") == 0) {
            const char *k = strtok(NULL, " "), *v = strtok(NULL, "");
            rc = tms_snapshot_set_meta(s, k, v ? v : "");
        }
    }
    if (rc != 0) {
        tms_snapshot_free(s);
        return die("spec", rc);
    }
    tms_error err = { 0 };
    rc = tms_snapshot_save(s, out, &err);
    tms_snapshot_free(s);
    if (rc != 0) {
        fprintf(stderr, "mksnap: %s\n", err.msg);
        return 1;
    }
    return 0;
}

/* xorshift64*: reproducible without libc's rand state. */
static uint64_t rnd(uint64_t *x)
{
    *x ^= *x >> 12;
    *x ^= *x << 25;
    *x ^= *x >> 27;
    return *x * 2685821657736338717ULL;
}

static int synthetic(int argc, char **argv)
{
    const char *out = argv[2];
    uint64_t ntraces = strtoull(argv[3], NULL, 10);
    uint32_t nframes = (uint32_t)atol(argv[4]);
    uint32_t nsites = (uint32_t)atol(argv[5]);
    uint64_t seed = strtoull(argv[6], NULL, 10) * 0x9E3779B97F4A7C15ULL + 1;
    uint64_t scale = argc > 7 ? strtoull(argv[7], NULL, 10) : 100;
    uint32_t nfiles = nsites / 20 + 1, ntb = nsites * 4;
    tms_snapshot *s = tms_snapshot_new();
    uint32_t *sites = malloc(nsites * sizeof *sites);
    uint32_t *tbs = malloc(ntb * sizeof *tbs);
    uint32_t *fr = malloc(nframes * sizeof *fr);
    uint64_t *tbsize = calloc(ntb, sizeof *tbsize), *tbcount = calloc(ntb, sizeof *tbcount);
    char name[256];
    int rc = 0;
    if (!s || !sites || !tbs || !fr || !tbsize || !tbcount)
        return die("synthetic", TMS_E_NOMEM);
    s->header.pid = 4242;
    s->header.timestamp_ns = 1700000000000000000LL + (int64_t)scale * 1000000000LL;
    s->header.traceback_limit = nframes;
    memset(s->header.series_id, 0xab, 16);
    for (uint32_t i = 0; rc == 0 && i < nsites; i++) {
        uint32_t str;
        snprintf(name, sizeof name, "/usr/lib/python3.11/site-packages/pkg%u/sub/module%u.py",
                 i % nfiles / 10, i % nfiles);
        rc = tms_snapshot_intern_string(s, name, strlen(name), &str);
        if (rc == 0)
            rc = tms_snapshot_intern_frame(s, str, (int32_t)(10 + i), &sites[i]);
    }
    for (uint32_t t = 0; rc == 0 && t < ntb; t++) {
        for (uint32_t k = 0; k < nframes; k++)
            fr[k] = sites[(t + k * 7919u) % nsites];
        rc = tms_snapshot_intern_traceback(s, fr, nframes, &tbs[t]);
    }
    uint64_t x = seed;
    for (uint64_t i = 0; rc == 0 && i < ntraces; i++) {
        uint64_t r = rnd(&x);
        /* skewed: a few tracebacks hold most blocks */
        uint32_t t = (uint32_t)((r % ntb) * (r % ntb) / ntb);
        uint64_t size = (16 + (r >> 40) % 512) * scale / 100;
        rc = tms_snapshot_add_trace(s, 0x10000000ULL + i * 64, size, tbs[t]);
        tbsize[t] += size;
        tbcount[t]++;
    }
    /* stats by most recent frame */
    uint64_t *fsize = calloc(s->nframes, sizeof *fsize), *fcount = calloc(s->nframes, sizeof *fcount);
    for (uint32_t t = 0; fsize && fcount && t < ntb; t++) {
        uint32_t f = tms_traceback_frames(s, tbs[t])[0];
        fsize[f] += tbsize[t];
        fcount[f] += tbcount[t];
    }
    for (uint32_t f = 0; rc == 0 && fsize && f < s->nframes; f++)
        if (fcount[f])
            rc = tms_snapshot_add_stat(s, f, fsize[f], fcount[f]);
    if (rc == 0)
        rc = tms_snapshot_add_metric(s, "tracemalloc.traces", TMS_FORMAT_INT,
                                     TMS_VALUE_INT, (int64_t)ntraces, 0);
    tms_error err = { 0 };
    if (rc == 0)
        rc = tms_snapshot_save(s, out, &err);
    free(fsize);
    free(fcount);
    free(sites);
    free(tbs);
    free(fr);
    free(tbsize);
    free(tbcount);
    tms_snapshot_free(s);
    if (rc != 0) {
        fprintf(stderr, "mksnap: %s: %s\n", out, err.msg[0] ? err.msg : tms_strerror(rc));
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "--load") == 0) {
        tms_snapshot *s = NULL;
        tms_error err = { 0 };
        int rc = tms_snapshot_load(argv[2], argc > 3 ? TMS_LOAD_SKIP_TRACES : 0,
                                   &s, &err);
        if (rc == 0)
            printf("%" PRIu64 " traces\n", s->ntraces);
        tms_snapshot_free(s);
        return rc == 0 ? 0 : die(argv[2], rc);
    }
    if (argc >= 7 && strcmp(argv[1], "--synthetic") == 0)
        return synthetic(argc, argv);
    if (argc != 2) {
        fprintf(stderr, "usage: mksnap OUT < SPEC | mksnap --synthetic OUT "
                        "NTRACES NFRAMES NSITES SEED [SCALE_PERCENT]\n");
        return 2;
    }
    return from_spec(argv[1]);
}
