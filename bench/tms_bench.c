/* tms_bench.c -- write and read back large synthetic .tms snapshots.
 *
 * Build and run by hand from the repository root (not part of the build):
 *   cc -O2 -std=c11 -D_GNU_SOURCE -DTMS_BUILDING -Isrc/tms/include -Isrc/tms -Isrc/common \
 *      bench/tms_bench.c src/tms/[a-z]*.c -lzstd -lpthread -o /tmp/tms_bench
 *   /tmp/tms_bench [dir]            (default dir: /tmp)
 *
 * Traces are shaped like a real heap: runs of 16-byte-aligned blocks of
 * one size class with gaps between runs and a few far-apart regions;
 * sizes skewed small; a few thousand distinct tracebacks, Zipf-like, with
 * runs allocated from one traceback.  Trace order is shuffled, as a
 * tracer's hash table gives it, so the write time includes sorting.
 * Each read is timed in a fresh process (re-exec) so its peak RSS is its
 * own. */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "codec.h"
#include "tms.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Peak RSS of this address space (VmHWM), in MB: unlike ru_maxrss it
 * starts afresh at exec, so a re-exec'd reader reports only its own. */
static long maxrss_mb(void)
{
    char line[256];
    long kb = -1;
    FILE *f = fopen("/proc/self/status", "r");
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmHWM: %ld", &kb) == 1)
            break;
    if (f != NULL)
        fclose(f);
    return kb < 0 ? -1 : kb / 1024;
}

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint64_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1DULL;
}
static double unif(void)
{
    return (double)(rnd() >> 11) * (1.0 / 9007199254740992.0);
}

/* Zipf-like pick in [0, n): small ids are much more common. */
static uint32_t zipf(uint32_t n)
{
    return (uint32_t)(pow((double)n + 1, unif()) - 1) % n;
}

static uint64_t skewed_size(void)
{
    double u = unif();
    if (u < 0.70)
        return 16 + (rnd() % 49);
    if (u < 0.95)
        return 64 + (rnd() % 449);
    if (u < 0.999)
        return 512 + (rnd() % 65536);
    return 65536 + (rnd() % (8u << 20));
}

static tms_snapshot *synth(uint64_t ntraces, uint32_t depth)
{
    tms_snapshot *s = tms_snapshot_new();
    uint32_t id, ntb = 3000;
    s->header.traceback_limit = depth;
    strcpy(s->header.python_version, "3.11.7");
    for (int i = 0; i < 400; i++) {
        char name[96];
        int n = snprintf(name, sizeof name,
                         "/usr/lib/python3.11/site-packages/pkg%d/module_%d.py",
                         i / 20, i);
        tms_snapshot_intern_string(s, name, (size_t)n, &id);
    }
    while (s->nframes < 6000)   /* random picks repeat: loop to 6000 */
        tms_snapshot_intern_frame(s, (uint32_t)(rnd() % 400),
                                  (int32_t)(1 + rnd() % 2000), &id);
    uint32_t fr[25];
    while (s->ntracebacks < ntb) {
        for (uint32_t k = 0; k < depth; k++)
            fr[k] = (k == 0 ? s->ntracebacks * 2 : zipf(6000)) % 6000;
        tms_snapshot_intern_traceback(s, fr, depth, &id);
    }
    uint64_t addr = 0x555555600000ULL;
    s->has_traces = 1;
    while (s->ntraces < ntraces) {
        /* other regions: a far-away arena now and then, and the mmap
         * area (0x7f...) for the second half; addresses only grow, so
         * they stay unique */
        if (unif() < 0.001)
            addr += (rnd() % (1u << 30)) & ~0xfffULL;
        if (s->ntraces >= ntraces / 2 && addr < 0x7f0000000000ULL)
            addr = 0x7f0000000000ULL;
        uint64_t run = 1 + (uint64_t)(-log(unif() + 1e-12) * 20);
        uint64_t size = skewed_size();
        uint64_t stride = (size + 15) & ~15ULL;
        uint32_t tb = zipf(ntb);
        for (uint64_t k = 0; k < run && s->ntraces < ntraces; k++) {
            tms_snapshot_add_trace(s, addr, size, unif() < 0.7 ? tb : zipf(ntb));
            addr += stride;
        }
        addr += 16 * (1 + rnd() % 64);   /* freed blocks between runs */
    }
    for (uint64_t i = s->ntraces - 1; i > 0; i--) {   /* hash-table order */
        uint64_t j = rnd() % (i + 1);
        tms_trace t = s->traces[i];
        s->traces[i] = s->traces[j];
        s->traces[j] = t;
    }
    for (uint32_t f = 0; f < 6000; f++)
        tms_snapshot_add_stat(s, f, rnd() % 100000, 1 + rnd() % 1000);
    return s;
}

/* Child mode: time one load of path, print seconds and peak RSS. */
static int read_mode(const char *path, unsigned flags)
{
    tms_snapshot *s = NULL;
    tms_error err;
    double t0 = now();
    if (tms_snapshot_load(path, flags, &s, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    double t = now() - t0;
    printf("%.4f %ld %llu\n", t, maxrss_mb(), (unsigned long long)s->ntraces);
    tms_snapshot_free(s);
    return 0;
}

static void run_child(const char *self, const char *path, const char *flag,
                      double *secs, long *rss)
{
    int p[2];
    char out[128] = { 0 };
    if (pipe(p) != 0)
        exit(1);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        execl(self, self, "read", path, flag, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    if (read(p[0], out, sizeof out - 1) <= 0)
        out[0] = '\0';
    close(p[0]);
    waitpid(pid, NULL, 0);
    *secs = -1;
    *rss = -1;
    sscanf(out, "%lf %ld", secs, rss);
}

/* Plain ZSTD_decompress of every compressed section, for comparison. */
static double plain_zstd(const uint8_t *b, size_t len)
{
    double t0 = now();
    uint8_t *out = malloc(TMS_MAX_SECTION_RAW);
    for (size_t at = 12; at + 20 <= len - 16;) {
        uint32_t flags = tms_get_u32(b + at + 4), raw = tms_get_u32(b + at + 8);
        uint32_t slen = tms_get_u32(b + at + 12);
        if (flags & 1)
            ZSTD_decompress(out, raw, b + at + 20, slen);
        at += 20 + slen;
    }
    free(out);
    return now() - t0;
}

static void bench(const char *self, const char *dir, uint64_t n,
                  uint32_t depth, int level)
{
    char path[512];
    snprintf(path, sizeof path, "%s/tms_bench_%llu_%u.tms", dir,
             (unsigned long long)n, depth);
    tms_snapshot *s = synth(n, depth);
    void *buf;
    size_t len;
    tms_error err;
    tms_writer *w;
    /* encode to memory (the format cost), then to a file (+ I/O, fsync) */
    double t0 = now();
    if (tms_writer_open_buffer(&w, &s->header, &err) != 0)
        exit(1);
    tms_writer_set_level(w, level);
    tms_writer_add_strings(w, s->strings, s->nstrings, &err);
    tms_writer_add_frames(w, s->frames, s->nframes, &err);
    tms_writer_add_tracebacks(w, s->tb_frames, s->tb_start, s->ntracebacks, &err);
    tms_writer_add_stats(w, s->stats, (size_t)s->nstats, &err);
    tms_writer_begin_traces(w, &err);
    tms_trace *sorted = malloc(n * sizeof *sorted);
    tms_sort_traces_copy(s->traces, sorted, (size_t)n);
    double t_sort = now() - t0;
    tms_writer_add_traces(w, sorted, (size_t)n, &err);
    if (tms_writer_finish_buffer(w, &buf, &len, &err) != 0) {
        fprintf(stderr, "encode: %s\n", err.msg);
        exit(1);
    }
    double t_enc = now() - t0;
    free(sorted);
    double t_save = -1;
    if (level == TMS_ZSTD_LEVEL) {
        t0 = now();
        if (tms_snapshot_save(s, path, &err) != 0)
            fprintf(stderr, "%s\n", err.msg);
        t_save = now() - t0;
    } else {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (write(fd, buf, len) != (ssize_t)len)
            exit(1);
        close(fd);
    }
    long rss_w = maxrss_mb();
    double t_full, t_skip;
    long rss_full, rss_skip;
    run_child(self, path, "0", &t_full, &rss_full);
    run_child(self, path, "1", &t_skip, &rss_skip);
    double t_z = plain_zstd(buf, len);
    printf("| %8llu | %2u | %2d | %7.2f | %5.3f (sort %5.3f) | %6.3f | %6.3f "
           "| %6.3f | %6.3f | %5ld / %5ld / %5ld |\n",
           (unsigned long long)n, depth, level, (double)len / 1e6, t_enc,
           t_sort, t_save, t_full, t_skip, t_z, rss_w, rss_full, rss_skip);
    fflush(stdout);
    free(buf);
    unlink(path);
    tms_snapshot_free(s);
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "read") == 0)
        return read_mode(argv[2], argv[3][0] == '1' ? TMS_LOAD_SKIP_TRACES : 0);
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    char self[4096];
    ssize_t k = readlink("/proc/self/exe", self, sizeof self - 1);
    if (k <= 0)
        return 1;
    self[k] = '\0';
    int levels[] = { TMS_ZSTD_LEVEL, 1, 6 };
    int nlevels = argc > 2 ? 3 : 1;
    printf("| traces   | tb | lv | MB      | encode s (sort s)    | save s | "
           "read s | skip s | zstd s | RSS MB write / read / skip |\n");
    for (int l = 0; l < nlevels; l++) {
        bench(self, dir, 1000000, 1, levels[l]);
        bench(self, dir, 3000000, 1, levels[l]);
        bench(self, dir, 1000000, 25, levels[l]);
        bench(self, dir, 3000000, 25, levels[l]);
    }
    return 0;
}
