/* tma_bench.c -- libtma on a big synthetic snapshot, run by hand.
 *
 *   cc -O2 -std=c11 -D_GNU_SOURCE -I src/analysis/include -I src/tms/include \
 *      bench/tma_bench.c build-X/src/analysis/libtma.a build-X/src/tms/libtms.a \
 *      -lzstd -lm -o /tmp/tma_bench && /tmp/tma_bench [NTRACES]
 *
 * Side by side in one run: each libtma operation, and a baseline that
 * groups by line the way a dict would (hash the frame's value per trace),
 * to show what grouping by id saves. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tma.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng = 88172645463325252ULL;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void die(int rc, const char *what)
{
    if (rc < 0) {
        fprintf(stderr, "tma_bench: %s failed (%d)\n", what, rc);
        exit(1);
    }
}

static tms_snapshot *build(uint64_t ntraces, uint32_t nfiles, uint32_t nframes,
                           uint32_t ntbs, uint32_t limit)
{
    tms_snapshot *s = tms_snapshot_new();
    s->header.traceback_limit = limit;
    char name[64];
    for (uint32_t i = 0; i < nfiles; i++) {
        uint32_t id;
        int n = snprintf(name, sizeof name, "/usr/lib/python3/pkg%u/mod%u.py",
                         i % 97, i);
        die(tms_snapshot_intern_string(s, name, (size_t)n, &id), "string");
    }
    uint32_t *fr = malloc(nframes * sizeof *fr);
    for (uint32_t i = 0; i < nframes; i++)
        die(tms_snapshot_intern_frame(s, (uint32_t)(rnd() % nfiles),
                                      (int32_t)(i / nfiles + 1), &fr[i]),
            "frame");
    uint32_t *tbs = malloc(ntbs * sizeof *tbs);
    uint32_t buf[64];
    for (uint32_t i = 0; i < ntbs; i++) {
        uint32_t n = 1 + (uint32_t)(rnd() % limit);
        for (uint32_t j = 0; j < n; j++)
            buf[j] = fr[rnd() % nframes];
        /* make ids unique: the first frame is drawn from i */
        buf[0] = fr[i % nframes];
        die(tms_snapshot_intern_traceback(s, buf, n, &tbs[i]), "traceback");
    }
    for (uint64_t i = 0; i < ntraces; i++)
        die(tms_snapshot_add_trace(s, 0x10000 + i * 16, 16 + rnd() % 512,
                                   tbs[rnd() % ntbs]),
            "trace");
    free(fr);
    free(tbs);
    tms_error err;
    die(tma_snapshot_stats_from_traces(s, &err), "stats");
    return s;
}

/* Baseline: group by line hashing each trace's frame value. */
static double baseline_line(const tms_snapshot *s, size_t *ngroups)
{
    size_t cap = 1;
    while (cap < (size_t)s->nframes * 2 + 2)
        cap <<= 1;
    struct ent { const char *name; uint32_t len; int32_t line; uint64_t size, count; } *t =
        calloc(cap, sizeof *t);
    double t0 = now();
    size_t n = 0;
    for (uint64_t i = 0; i < s->ntraces; i++) {
        uint32_t tb = s->traces[i].traceback;
        uint32_t f = s->tb_frames[s->tb_start[tb]];
        const tms_string *str = &s->strings[s->frames[f].filename];
        int32_t line = s->frames[f].lineno;
        uint64_t h = 1469598103934665603ULL;
        for (uint32_t k = 0; k < str->len; k++)
            h = (h ^ (unsigned char)str->data[k]) * 1099511628211ULL;
        h ^= (uint64_t)(uint32_t)line * 0x9e3779b97f4a7c15ULL;
        size_t at = (size_t)h & (cap - 1);
        while (t[at].name && !(t[at].line == line && t[at].len == str->len &&
                               memcmp(t[at].name, str->data, str->len) == 0))
            at = (at + 1) & (cap - 1);
        if (!t[at].name) {
            t[at].name = str->data;
            t[at].len = str->len;
            t[at].line = line;
            n++;
        }
        t[at].size += s->traces[i].size;
        t[at].count++;
    }
    double dt = now() - t0;
    free(t);
    *ngroups = n;
    return dt;
}

static void bench_group(const tms_snapshot *s, tma_group_by by, int cum,
                        double base)
{
    tma_groups g;
    tms_error err;
    double t0 = now();
    die(tma_group(s, by, cum, &g, &err), "group");
    double dt = now() - t0;
    printf("  group %-9s %-10s %9.1f ms  %8zu groups  (%.2fx baseline)\n",
           tma_group_by_name(by), cum ? "cumulative" : "", dt * 1e3, g.n,
           dt / base);
    tma_groups_free(&g);
}

int main(int argc, char **argv)
{
    uint64_t ntraces = argc > 1 ? strtoull(argv[1], NULL, 10) : 3000000;
    printf("building: %llu traces, 2000 files, 50000 frames, 200000 "
           "tracebacks, limit 10\n", (unsigned long long)ntraces);
    tms_snapshot *a = build(ntraces, 2000, 50000, 200000, 10);
    tms_snapshot *b = build(ntraces, 2000, 50000, 200000, 10);
    tms_error err;

    size_t nb;
    double base = baseline_line(a, &nb);
    printf("  baseline: hash each trace's frame value  %9.1f ms  %8zu groups\n",
           base * 1e3, nb);

    double t0 = now();
    die(tma_snapshot_stats_from_traces(a, &err), "stats");
    double dt = now() - t0;
    printf("  stats_from_traces (traces by line)   %9.1f ms  (%.2fx baseline)\n",
           dt * 1e3, dt / base);
    bench_group(a, TMA_BY_LINE, 0, base);
    bench_group(a, TMA_BY_FILENAME, 0, base);
    bench_group(a, TMA_BY_LINE, 1, base);
    bench_group(a, TMA_BY_FILENAME, 1, base);
    bench_group(a, TMA_BY_TRACEBACK, 0, base);
    bench_group(a, TMA_BY_ADDRESS, 0, base);

    tma_groups ga, gb;
    tma_diff d;
    die(tma_group(a, TMA_BY_LINE, 1, &ga, &err), "group");
    die(tma_group(b, TMA_BY_LINE, 1, &gb, &err), "group");
    t0 = now();
    die(tma_diff_compute(&ga, &gb, &d, &err), "diff");
    dt = now() - t0;
    double t1 = now();
    tma_diff_sort(&d);
    double ds = now() - t1;
    printf("  diff line cumulative (2 snapshots) %9.1f ms, sort %.1f ms, %zu keys\n",
           dt * 1e3, ds * 1e3, d.n);
    tma_diff_free(&d);
    tma_groups_free(&ga);
    tma_groups_free(&gb);

    die(tma_group(a, TMA_BY_ADDRESS, 0, &ga, &err), "group");
    die(tma_group(b, TMA_BY_ADDRESS, 0, &gb, &err), "group");
    t0 = now();
    die(tma_diff_compute(&ga, &gb, &d, &err), "diff");
    dt = now() - t0;
    t1 = now();
    tma_diff_sort(&d);
    ds = now() - t1;
    printf("  diff address (2 snapshots)         %9.1f ms, sort %.1f ms, %zu keys\n",
           dt * 1e3, ds * 1e3, d.n);
    tma_diff_free(&d);
    tma_groups_free(&ga);
    tma_groups_free(&gb);

    tma_filter f[2] = {
        {0, "*/pkg1*/*", 11, 0, 1},
        {1, "/usr/*", 10, 0, 0},
    };
    t0 = now();
    die(tma_snapshot_apply_filters(b, f, 2, &err), "filters");
    dt = now() - t0;
    printf("  apply_filters (2 filters, tb flag)   %9.1f ms, %llu traces kept\n",
           dt * 1e3, (unsigned long long)b->ntraces);

    tms_snapshot_free(a);
    tms_snapshot_free(b);
    return 0;
}
