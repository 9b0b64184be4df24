/* watch_model.c -- see watch_model.h.  Grouping and comparison are
 * libtma's (the same rules as top and diff); this file only decides which
 * snapshots to compare and keeps them. */
#include "watch_model.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "live.h"
#include "tm_live.h"
#include "render.h"


void watch_model_init(watch_model *m)
{
    memset(m, 0, sizeof *m);
    tm_display_init(&m->display);
    m->display.by = TMA_BY_LINE;
    m->uptime = m->traced = m->peak = m->rss = -1;
    /* Short: the view cannot take keys while it waits. */
    m->timeout_ms = 3000;
}

static void free_rows(watch_model *m)
{
    for (size_t i = 0; i < m->nrows; i++)
        free(m->rows[i].text);
    free(m->rows);
    m->rows = NULL;
    m->nrows = 0;
}

/* Free s unless another field still holds it. */
static void drop(watch_model *m, tms_snapshot *s)
{
    if (s != NULL && s != m->first && s != m->prev && s != m->cur &&
        s != m->detail)
        tms_snapshot_free(s);
}

void watch_model_free(watch_model *m)
{
    tms_snapshot *s[4] = { m->first, m->prev, m->cur, m->detail };
    free_rows(m);
    m->first = m->prev = m->cur = m->detail = NULL;
    for (int i = 0; i < 4; i++) {
        int seen = 0;
        for (int j = 0; j < i; j++)
            seen |= s[j] == s[i];
        if (!seen)
            tms_snapshot_free(s[i]);
    }
    free(m->first_path);
    free(m->cur_path);
    free(m->history);
}

static int needs_traces(const watch_model *m)
{
    tm_filters none = { 0 };
    return !(tm_display_load_flags(&m->display, &none) & TMS_LOAD_SKIP_TRACES);
}

/* Make s the current snapshot; the old current becomes the previous. */
static void push(watch_model *m, tms_snapshot *s)
{
    tms_snapshot *old_prev = m->prev, *old_detail = m->detail;
    m->detail = NULL;
    if (m->first == NULL)
        m->first = s;
    else
        m->prev = m->cur;
    m->cur = s;
    drop(m, old_prev);
    drop(m, old_detail);
}

static void add_history(watch_model *m, int64_t v)
{
    if (m->nhistory == m->caphistory) {
        size_t cap = m->caphistory ? 2 * m->caphistory : 256;
        int64_t *h = realloc(m->history, cap * sizeof *h);
        if (h == NULL)
            return;   /* the sparkline just stops growing */
        m->history = h;
        m->caphistory = cap;
    }
    m->history[m->nhistory++] = v;
}

/* ---- sources -------------------------------------------------------------- */

static int refresh_pid(watch_model *m, char *msg, size_t cap)
{
    void *buf;
    size_t len;
    tms_snapshot *s = NULL;
    tms_error err = { 0 };
    /* The first snapshot, the baseline for the whole view, comes with
     * every trace so that any grouping chosen later can be compared with
     * it; later ones only when the grouping needs them. */
    int traces = needs_traces(m) || m->first == NULL;
    int rc = tm_live_fetch(m->pid, traces, m->timeout_ms,
                           &buf, &len, msg, cap);
    if (rc != 0) {
        if (!tm_live_pid_exists(m->pid)) {
            m->gone = 1;
            snprintf(msg, cap, "process %ld exited", m->pid);
        } else if (m->cur != NULL && !tm_live_endpoint_exists(m->pid)) {
            /* Removed by its atexit handler (the process is ending: the
             * next refresh will find it gone) or by stop_endpoint(). */
            snprintf(msg, cap, "process %ld is not serving its live view "
                     "(exiting, or stopped; retrying)", m->pid);
        }
        return -1;
    }
    rc = tms_snapshot_load_buffer(buf, len, "live snapshot", 0, &s, &err);
    free(buf);
    if (rc < 0) {
        snprintf(msg, cap, "process %ld sent a bad snapshot: %s", m->pid,
                 err.msg[0] ? err.msg : tms_strerror(rc));
        return -1;
    }
    push(m, s);
    tm_live_cmdline(m->pid, m->cmdline, sizeof m->cmdline);
    if (m->cmdline[0] == '\0') {
        for (uint32_t i = 0; i < s->nmeta; i++)
            if (strcmp(s->meta[i].key, "process.cmdline") == 0)
                snprintf(m->cmdline, sizeof m->cmdline, "%s", s->meta[i].value);
    }
    m->uptime = tm_live_uptime(m->pid);
    m->rss = tm_live_metric(s, "process_memory.rss");
    return 1;
}

/* DIR: the snapshot files of the series of the newest one. */
typedef struct dir_file {
    char *path;
    int64_t ts;
    uint8_t series[16];
} dir_file;

static int has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), k = strlen(suf);
    return n >= k && strcmp(s + n - k, suf) == 0;
}

static int scan_dir(watch_model *m, dir_file **out, size_t *n, char *msg, size_t cap)
{
    DIR *d = opendir(m->dir);
    struct dirent *e;
    dir_file *v = NULL;
    size_t count = 0, vcap = 0;
    *out = NULL;
    *n = 0;
    if (d == NULL) {
        snprintf(msg, cap, "cannot read directory '%s': %s", m->dir, strerror(errno));
        if (errno == ENOENT)
            m->gone = 1;
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || !has_suffix(e->d_name, ".tms"))
            continue;
        size_t plen = strlen(m->dir) + strlen(e->d_name) + 2;
        char *path = malloc(plen);
        tms_reader *r = NULL;
        tms_error err = { 0 };
        struct stat st;
        if (path == NULL)
            break;
        snprintf(path, plen, "%s/%s", m->dir, e->d_name);
        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) ||
            tms_reader_open_path(&r, path, &err) < 0) {
            free(path);
            continue;   /* not ours, or unreadable: not part of the view */
        }
        const tms_header *h = tms_reader_header(r);
        if (count == vcap) {
            size_t nc = vcap ? 2 * vcap : 16;
            dir_file *g = realloc(v, nc * sizeof *v);
            if (g == NULL) {
                tms_reader_close(r);
                free(path);
                break;
            }
            v = g;
            vcap = nc;
        }
        v[count].path = path;
        v[count].ts = h->timestamp_ns;
        memcpy(v[count].series, h->series_id, 16);
        count++;
        tms_reader_close(r);
    }
    closedir(d);
    *out = v;
    *n = count;
    return 0;
}

static int load_file(const watch_model *m, const char *path, tms_snapshot **s,
                     char *msg, size_t cap)
{
    tms_error err = { 0 };
    unsigned flags = needs_traces(m) ? 0 : TMS_LOAD_SKIP_TRACES;
    int rc = tms_snapshot_load(path, flags, s, &err);
    if (rc < 0) {
        snprintf(msg, cap, "cannot read '%s': %s", path,
                 err.msg[0] ? err.msg : tms_strerror(rc));
        return -1;
    }
    return 0;
}

static int refresh_dir(watch_model *m, char *msg, size_t cap)
{
    dir_file *v;
    size_t n, newest = 0, oldest = 0, inseries = 0;
    int rc = scan_dir(m, &v, &n, msg, cap);
    if (rc < 0)
        return -1;
    if (n == 0) {
        snprintf(msg, cap, "no .tms files in '%s' yet", m->dir);
        free(v);
        return m->cur ? 0 : -1;
    }
    for (size_t i = 1; i < n; i++)
        if (v[i].ts > v[newest].ts)
            newest = i;
    for (size_t i = 0; i < n; i++) {
        if (memcmp(v[i].series, v[newest].series, 16) != 0)
            continue;
        inseries++;
        if (memcmp(v[oldest].series, v[newest].series, 16) != 0 ||
            v[i].ts < v[oldest].ts)
            oldest = i;
    }
    m->nfiles = inseries;
    rc = 0;
    if (m->cur_path == NULL || strcmp(m->cur_path, v[newest].path) != 0) {
        tms_snapshot *s = NULL, *f = NULL;
        int restart = m->first_path == NULL ||
                      strcmp(m->first_path, v[oldest].path) != 0;
        rc = load_file(m, v[newest].path, &s, msg, cap);
        if (rc == 0 && restart && oldest != newest)
            rc = load_file(m, v[oldest].path, &f, msg, cap);
        if (rc == 0) {
            if (restart) {
                /* Another series (or the first look): start over. */
                tms_snapshot *a = m->first, *b = m->prev, *c = m->cur, *d = m->detail;
                m->first = m->prev = m->cur = m->detail = NULL;
                drop(m, a);
                if (b != a) drop(m, b);
                if (c != a && c != b) drop(m, c);
                if (d != a && d != b && d != c) drop(m, d);
                free(m->first_path);
                m->first_path = strdup(v[oldest].path);
                if (f != NULL)
                    push(m, f);
                m->nhistory = 0;
            }
            push(m, s);
            free(m->cur_path);
            m->cur_path = strdup(v[newest].path);
            m->pid = 0;
            m->uptime = (s->header.timestamp_ns - m->first->header.timestamp_ns) /
                        1000000000;
            m->rss = tm_live_metric(s, "process_memory.rss");
            snprintf(m->cmdline, sizeof m->cmdline, "pid %lld",
                     (long long)s->header.pid);
            for (uint32_t i = 0; i < s->nmeta; i++)
                if (strcmp(s->meta[i].key, "process.cmdline") == 0)
                    snprintf(m->cmdline, sizeof m->cmdline, "%s", s->meta[i].value);
            rc = 1;
        } else {
            tms_snapshot_free(s);
            tms_snapshot_free(f);
            rc = -1;
        }
    }
    for (size_t i = 0; i < n; i++)
        free(v[i].path);
    free(v);
    return rc;
}

/* ---- rows --------------------------------------------------------------- */

static tma_group_by cmp_by;

static int cmp_item_key(const void *a, const void *b)
{
    return tma_key_cmp(cmp_by, &((const tma_diff_item *)a)->key,
                       &((const tma_diff_item *)b)->key);
}

static int64_t abs64(int64_t v)
{
    return v < 0 ? -v : v;
}

static watch_sort cmp_sort;

static int cmp_row(const void *a, const void *b)
{
    const watch_row *x = a, *y = b;
    int64_t kx, ky;
    switch (cmp_sort) {
    case WATCH_SORT_GROWTH: kx = x->d_start; ky = y->d_start; break;
    case WATCH_SORT_COUNT: kx = (int64_t)x->count; ky = (int64_t)y->count; break;
    default: kx = (int64_t)x->size; ky = (int64_t)y->size; break;
    }
    if (kx != ky)
        return kx > ky ? -1 : 1;
    if (abs64(x->d_prev) != abs64(y->d_prev))
        return abs64(x->d_prev) > abs64(y->d_prev) ? -1 : 1;
    return tma_key_cmp(cmp_by, &x->key, &y->key);
}

static int group(const watch_model *m, const tms_snapshot *s, tma_groups *g,
                 tms_error *err)
{
    return tma_group(s, m->display.by, m->display.cumulative, g, err);
}

int watch_model_rebuild(watch_model *m, char *msg, size_t cap)
{
    tma_groups gfirst = { 0 }, gprev = { 0 }, gcur = { 0 };
    tma_diff dstart = { 0 }, dprev = { 0 };
    tms_error err = { 0 };
    const tma_groups *first = &gcur, *prev = NULL;
    int rc = -1;
    free_rows(m);
    if (m->cur == NULL)
        return 0;
    if (group(m, m->cur, &gcur, &err) < 0) {
        snprintf(msg, cap, "cannot group by %s: %s", tma_group_by_name(m->display.by),
                 err.msg[0] ? err.msg : tms_strerror(err.code));
        goto out;
    }
    if (m->first != m->cur && group(m, m->first, &gfirst, &err) < 0) {
        /* The baseline was taken without the traces this grouping needs. */
        tms_snapshot *old_first = m->first, *old_prev = m->prev;
        m->first = m->cur;
        m->prev = NULL;
        drop(m, old_first);
        drop(m, old_prev);
        m->nhistory = 0;
        snprintf(msg, cap, "baseline restarted: grouping by %s%s needs traces",
                 tma_group_by_name(m->display.by),
                 m->display.cumulative ? " (cumulative)" : "");
    }
    if (m->first != m->cur)
        first = &gfirst;
    if (m->prev == m->first)
        prev = first;
    else if (m->prev != NULL && group(m, m->prev, &gprev, &err) == 0)
        prev = &gprev;
    if (tma_diff_compute(first, &gcur, &dstart, &err) < 0 ||
        tma_diff_compute(prev, &gcur, &dprev, &err) < 0) {
        snprintf(msg, cap, "cannot compare: %s",
                 err.msg[0] ? err.msg : tms_strerror(err.code));
        goto out;
    }
    cmp_by = m->display.by;
    qsort(dprev.items, dprev.n, sizeof *dprev.items, cmp_item_key);
    m->rows = calloc(dstart.n ? dstart.n : 1, sizeof *m->rows);
    if (m->rows == NULL) {
        snprintf(msg, cap, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < dstart.n; i++) {
        const tma_diff_item *it = &dstart.items[i];
        char *text = tm_key_text(&m->display, &it->key);
        if (text == NULL) {
            snprintf(msg, cap, "out of memory");
            goto out;
        }
        if (m->filter[0] && strstr(text, m->filter) == NULL) {
            free(text);
            continue;
        }
        watch_row *r = &m->rows[m->nrows++];
        *r = (watch_row){ .key = it->key, .text = text, .size = it->size,
                          .count = it->count, .d_start = it->size_diff,
                          .dc_start = it->count_diff };
        const tma_diff_item *p = bsearch(it, dprev.items, dprev.n,
                                         sizeof *dprev.items, cmp_item_key);
        if (p != NULL) {
            r->d_prev = p->size_diff;
            r->dc_prev = p->count_diff;
        }
    }
    cmp_sort = m->sort;
    qsort(m->rows, m->nrows, sizeof *m->rows, cmp_row);
    m->total_size = gcur.total_size;
    m->total_count = gcur.total_count;
    rc = 0;
out:
    tma_diff_free(&dstart);
    tma_diff_free(&dprev);
    tma_groups_free(&gcur);
    tma_groups_free(&gfirst);
    tma_groups_free(&gprev);
    return rc;
}

/* ---- actions ------------------------------------------------------------- */

int watch_model_write(const watch_model *m, char *path, size_t pcap,
                      char *msg, size_t cap)
{
    char stamp[32];
    time_t now = time(NULL);
    struct tm tmv;
    tms_error err = { 0 };
    if (m->cur == NULL) {
        snprintf(msg, cap, "nothing to write yet");
        return -1;
    }
    if (localtime_r(&now, &tmv) == NULL ||
        strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tmv) == 0)
        snprintf(stamp, sizeof stamp, "%lld", (long long)now);
    for (int k = 1; k < 100; k++) {
        char suffix[8] = "";
        if (k > 1)
            snprintf(suffix, sizeof suffix, "-%d", k);
        snprintf(path, pcap, "tmtrace-watch-%lld-%s%s.tms",
                 (long long)m->cur->header.pid, stamp, suffix);
        if (access(path, F_OK) != 0)
            break;
    }
    int rc = tms_snapshot_save(m->cur, path, &err);
    if (rc < 0) {
        snprintf(msg, cap, "cannot write '%s': %s", path,
                 err.msg[0] ? err.msg : tms_strerror(rc));
        return -1;
    }
    return 0;
}

static const char *str_of(const tms_snapshot *s, uint32_t id)
{
    return id == TMS_NONE || id >= s->nstrings ? "" : s->strings[id].data;
}

/* Does the frame f of snapshot s stand for the row's key (a key of
 * another snapshot: compare by value)? */
static int frame_matches(const watch_model *m, const tms_snapshot *s,
                         uint32_t f, const tma_key *key)
{
    const tms_frame *fr = &s->frames[f];
    if (strcmp(str_of(s, fr->filename), str_of(key->snap, key->filename)) != 0)
        return 0;
    return m->display.by == TMA_BY_FILENAME || fr->lineno == key->lineno;
}

static int tb_matches(const watch_model *m, const tms_snapshot *s, uint32_t tb,
                      const tma_key *key)
{
    uint32_t n = tms_traceback_len(s, tb);
    const uint32_t *frames = tms_traceback_frames(s, tb);
    if (m->display.by == TMA_BY_TRACEBACK) {
        tma_key k = { .snap = s, .traceback = tb };
        return tma_key_cmp(TMA_BY_TRACEBACK, &k, key) == 0;
    }
    if (n == 0)
        return key->filename == TMS_NONE;
    for (uint32_t i = 0; i < (m->display.cumulative ? n : 1); i++)
        if (frame_matches(m, s, frames[i], key))
            return 1;
    return 0;
}

int watch_model_tracebacks(watch_model *m, size_t i, const tms_snapshot **snap,
                           uint32_t *tbs, uint64_t *sizes, size_t max,
                           char *msg, size_t cap)
{
    const tms_snapshot *s = m->cur;
    tma_groups g = { 0 };
    tms_error err = { 0 };
    size_t found = 0;
    if (i >= m->nrows)
        return 0;
    if (s != NULL && !s->has_traces) {
        if (m->detail == NULL && m->pid > 0) {
            void *buf;
            size_t len;
            if (tm_live_fetch(m->pid, 1, m->timeout_ms, &buf, &len,
                              msg, cap) != 0)
                return -1;
            int rc = tms_snapshot_load_buffer(buf, len, "live snapshot", 0,
                                              &m->detail, &err);
            free(buf);
            if (rc < 0) {
                snprintf(msg, cap, "bad snapshot: %s", tms_strerror(rc));
                return -1;
            }
        }
        s = m->detail;
    }
    if (s == NULL || !s->has_traces) {
        snprintf(msg, cap, "these snapshots have no traces (write them with "
                 "--traces / TMTRACE_TRACES=1 to see tracebacks)");
        return -1;
    }
    if (tma_group(s, TMA_BY_TRACEBACK, 0, &g, &err) < 0) {
        snprintf(msg, cap, "cannot group: %s", tms_strerror(err.code));
        return -1;
    }
    /* Keep the biggest max matching tracebacks (insertion, max is small). */
    for (size_t k = 0; k < g.n; k++) {
        const tma_stat *st = &g.items[k];
        if (!tb_matches(m, s, st->key.traceback, &m->rows[i].key))
            continue;
        size_t pos = found < max ? found++ : max;
        while (pos > 0 && sizes[pos - 1] < st->size) {
            if (pos < max) {
                sizes[pos] = sizes[pos - 1];
                tbs[pos] = tbs[pos - 1];
            }
            pos--;
        }
        if (pos < max) {
            sizes[pos] = st->size;
            tbs[pos] = st->key.traceback;
        }
    }
    tma_groups_free(&g);
    *snap = s;
    return (int)found;
}

int watch_model_refresh(watch_model *m, char *msg, size_t cap)
{
    int rc = m->pid > 0 ? refresh_pid(m, msg, cap) : refresh_dir(m, msg, cap);
    if (rc <= 0)
        return rc;
    m->refreshes++;
    m->traced = tm_live_metric(m->cur, "tracemalloc.traced.size");
    m->peak = tm_live_metric(m->cur, "tracemalloc.traced.max_size");
    if (watch_model_rebuild(m, msg, cap) < 0)
        return -1;
    if (m->traced < 0)
        m->traced = (int64_t)m->total_size;
    add_history(m, m->traced);
    return 1;
}
