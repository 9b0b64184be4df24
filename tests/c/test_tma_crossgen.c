/* test_tma_crossgen.c -- half of an independent cross-check of libtma.
 *
 * Builds two random snapshots from a seed, prints their traces and what
 * libtma computes from them (every grouping, the sorted diffs, filters
 * applied) as JSON lines.  tma_crosscheck.py recomputes all of it from
 * the printed traces with plain Python dicts and PEP 454's rules, and
 * compares.  Usage: test_tma_crossgen SEED */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tma_fixture.h"

static uint64_t rng_state;

static uint64_t rnd(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dULL;
}

static uint32_t below(uint32_t n)
{
    return (uint32_t)(rnd() % n);
}

static const char *const names[] = {
    "a.py", "lib/b.py", "/usr/lib/c.pyc", "\xc3\xa9.py", "z.py",
    "x/y/zz.py", NULL,
};
#define NNAMES (sizeof names / sizeof names[0])

static const char *const patterns[] = {
    "*", "a.py", "*.py", "*b*", "lib/*", "/usr/lib/c.py", "z.pyc", "*y*z*",
    "", "*.pyo", "\xc3\xa9*",
};
#define NPATTERNS (sizeof patterns / sizeof patterns[0])

static void put_str(const char *s)
{
    if (s == NULL)
        fputs("null", stdout);
    else
        printf("\"%s\"", s);  /* the pools hold no '"' or '\\' */
}

static void put_frame(const tms_snapshot *s, uint32_t f)
{
    const tms_frame *fr = &s->frames[f];
    putchar('[');
    put_str(fr->filename == TMS_NONE ? NULL : s->strings[fr->filename].data);
    if (fr->lineno == TMS_LINENO_NONE)
        fputs(",null]", stdout);
    else
        printf(",%" PRId32 "]", fr->lineno);
}

static void put_tb(const tms_snapshot *s, uint32_t tb)
{
    putchar('[');
    for (uint32_t i = 0; i < tms_traceback_len(s, tb); i++) {
        if (i)
            putchar(',');
        put_frame(s, tms_traceback_frames(s, tb)[i]);
    }
    putchar(']');
}

static void put_key(tma_group_by by, const tma_key *k)
{
    switch (by) {
    case TMA_BY_FILENAME:
        put_str(fx_key_name(k));
        break;
    case TMA_BY_LINE:
        putchar('[');
        put_str(fx_key_name(k));
        if (k->lineno == TMS_LINENO_NONE)
            fputs(",null]", stdout);
        else
            printf(",%" PRId32 "]", k->lineno);
        break;
    case TMA_BY_TRACEBACK:
        put_tb(k->snap, k->traceback);
        break;
    case TMA_BY_ADDRESS:
        printf("%" PRIu64, k->address);
        break;
    case TMA_BY_DOMAIN:     /* not generated: all in domain 0 */
        printf("%" PRIu32, k->domain);
        break;
    case TMA_BY_FUNCTION:   /* not generated: these snapshots name no frame */
        putchar('[');
        put_str(fx_key_name(k));
        fputs(",null]", stdout);
        break;
    }
}

static tms_snapshot *random_snapshot(uint32_t limit, const char *label)
{
    tms_snapshot *s = fx_new(limit);
    /* a private frame pool, interned in a random order so ids differ
     * between the two snapshots */
    uint32_t pool[12];
    for (int i = 0; i < 12; i++) {
        int32_t line = below(10) == 0 ? TMS_LINENO_NONE : (int32_t)(1 + below(4));
        pool[i] = fx_frame(s, names[below(NNAMES)], line);
    }
    uint32_t ntraces = 100 + below(400);
    uint64_t addr = 0x1000 + below(64) * 8;
    printf("{\"kind\":\"snap\",\"name\":\"%s\",\"limit\":%" PRIu32 ",\"traces\":[",
           label, limit);
    for (uint32_t i = 0; i < ntraces; i++) {
        uint32_t frames[8];
        uint32_t n = below(10) == 0 ? 0 : 1 + below(limit < 8 ? limit : 8);
        for (uint32_t j = 0; j < n; j++)
            frames[j] = pool[below(12)];
        uint32_t tb = fx_tb(s, n, frames);
        uint64_t size = 1 + below(below(4) == 0 ? 100000 : 100);
        addr += 8 * (1 + below(4));
        fx_trace(s, addr, size, tb);
        printf("%s[%" PRIu64 ",%" PRIu64 ",", i ? "," : "", addr, size);
        put_tb(s, tb);
        putchar(']');
    }
    puts("]}");
    tms_error err;
    fx_ok(tma_snapshot_stats_from_traces(s, &err), err.msg);
    return s;
}

static void put_groups(const char *label, const tma_groups *g, int req)
{
    printf("{\"kind\":\"group\",\"snap\":\"%s\",\"by\":\"%s\","
           "\"cumulative_req\":%d,\"cumulative\":%d,\"total\":[%" PRIu64
           ",%" PRIu64 "],\"items\":[",
           label, tma_group_by_name(g->by), req, g->cumulative, g->total_size,
           g->total_count);
    for (size_t i = 0; i < g->n; i++) {
        fputs(i ? ",[" : "[", stdout);
        put_key(g->by, &g->items[i].key);
        printf(",%" PRIu64 ",%" PRIu64 "]", g->items[i].size, g->items[i].count);
    }
    puts("]}");
}

static void put_diff(const tma_diff *d, int req, int with_old)
{
    printf("{\"kind\":\"diff\",\"by\":\"%s\",\"cumulative_req\":%d,"
           "\"with_old\":%d,\"items\":[",
           tma_group_by_name(d->by), req, with_old);
    for (size_t i = 0; i < d->n; i++) {
        const tma_diff_item *it = &d->items[i];
        printf("%s[%" PRId64 ",%" PRIu64 ",%" PRId64 ",%" PRIu64 ",", i ? "," : "",
               it->size_diff, it->size, it->count_diff, it->count);
        put_key(d->by, &it->key);
        putchar(']');
    }
    puts("]}");
}

static void put_filtered(const tms_snapshot *s, const tma_filter *f, size_t nf)
{
    fputs("{\"kind\":\"filter\",\"filters\":[", stdout);
    for (size_t i = 0; i < nf; i++) {
        printf("%s[%d,", i ? "," : "", f[i].include);
        put_str(f[i].pattern);
        printf(",%" PRId32 ",%d]", f[i].lineno, f[i].traceback);
    }
    fputs("],\"kept\":[", stdout);
    for (uint64_t i = 0; i < s->ntraces; i++)
        printf("%s%" PRIu64, i ? "," : "", s->traces[i].address);
    fputs("],\"stats\":[", stdout);
    for (uint64_t i = 0; i < s->nstats; i++) {
        fputs(i ? ",[" : "[", stdout);
        put_frame(s, s->stats[i].frame);
        printf(",%" PRIu64 ",%" PRIu64 "]", s->stats[i].size, s->stats[i].count);
    }
    puts("]}");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_tma_crossgen SEED\n");
        return 2;
    }
    uint64_t seed = strtoull(argv[1], NULL, 10);
    rng_state = seed * 0x9e3779b97f4a7c15ULL + 1;
    uint32_t limit = seed % 4 == 0 ? 1 : 1 + below(6);
    tms_snapshot *snaps[2] = {random_snapshot(limit, "old"),
                              random_snapshot(limit, "new")};
    tms_error err;
    for (int by = 0; by < 4; by++) {
        for (int req = 0; req < 2; req++) {
            tma_groups g[2];
            for (int k = 0; k < 2; k++) {
                fx_ok(tma_group(snaps[k], (tma_group_by)by, req, &g[k], &err), err.msg);
                put_groups(k ? "new" : "old", &g[k], req);
            }
            for (int with_old = 0; with_old < 2; with_old++) {
                tma_diff d;
                fx_ok(tma_diff_compute(with_old ? &g[0] : NULL, &g[1], &d, &err),
                      err.msg);
                tma_diff_sort(&d);
                put_diff(&d, req, with_old);
                tma_diff_free(&d);
            }
            tma_groups m;
            fx_ok(tma_groups_merge(g, 2, &m, &err), err.msg);
            put_groups("merged", &m, req);
            tma_groups_free(&m);
            tma_groups_free(&g[0]);
            tma_groups_free(&g[1]);
        }
    }
    /* filters last: they change the snapshot */
    tma_filter f[3];
    size_t nf = 1 + below(3);
    for (size_t i = 0; i < nf; i++) {
        f[i].include = (int)below(2);
        f[i].pattern = patterns[below(NPATTERNS)];
        f[i].pattern_len = strlen(f[i].pattern);
        f[i].lineno = below(3) == 0 ? (int32_t)below(4) : 0;
        f[i].traceback = (int)below(2);
    }
    fx_ok(tma_snapshot_apply_filters(snaps[1], f, nf, &err), err.msg);
    put_filtered(snaps[1], f, nf);
    tms_snapshot_free(snaps[0]);
    tms_snapshot_free(snaps[1]);
    return 0;
}
