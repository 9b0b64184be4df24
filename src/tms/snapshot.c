/* snapshot.c -- the in-memory snapshot: creation, builders, release.
 *
 * Tables only grow.  Every builder checks and reserves before it writes,
 * so a failure (TMS_E_NOMEM, TMS_E_ARG) leaves the snapshot as it was. */
#include <stdlib.h>
#include <string.h>

#include "tms_private.h"

int tms_grow(void **ptr, uint64_t *cap, uint64_t need, size_t elem)
{
    if (need <= *cap)
        return TMS_OK;
    uint64_t ncap = *cap ? *cap : 16;
    while (ncap < need) {
        if (ncap > UINT64_MAX / 2)
            return TMS_E_NOMEM;
        ncap *= 2;
    }
    if (ncap > SIZE_MAX / elem)
        return TMS_E_NOMEM;
    void *p = realloc(*ptr, (size_t)(ncap * elem));
    if (p == NULL)
        return TMS_E_NOMEM;
    *ptr = p;
    *cap = ncap;
    return TMS_OK;
}

/* tms_grow for the uint32_t capacities. */
static int grow32(void **ptr, uint32_t *cap, uint64_t need, size_t elem)
{
    if (need > UINT32_MAX - 1)   /* TMS_NONE is reserved */
        return TMS_E_LIMIT;
    uint64_t c = *cap;
    int rc = tms_grow(ptr, &c, need, elem);
    if (rc == TMS_OK)
        *cap = (uint32_t)(c > UINT32_MAX - 1 ? UINT32_MAX - 1 : c);
    return rc;
}

char *tms_dup(const void *data, size_t len)
{
    char *p = malloc(len + 1);
    if (p != NULL) {
        if (len)   /* data may be NULL when empty */
            memcpy(p, data, len);
        p[len] = '\0';
    }
    return p;
}

static void copy_text(char *dst, const char *src)
{
    size_t n = strlen(src);
    if (n > TMS_MAX_TEXT_FIELD)
        n = TMS_MAX_TEXT_FIELD;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

tms_snapshot *tms_snapshot_new(void)
{
    tms_snapshot *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->intern = tms_intern_new();
    s->tb_start = malloc(sizeof *s->tb_start);
    if (s->intern == NULL || s->tb_start == NULL) {
        tms_intern_free(s->intern);
        free(s->tb_start);
        free(s);
        return NULL;
    }
    s->tb_start[0] = 0;
    s->cap_tbs = 1;
    s->header.format_major = TMS_FORMAT_MAJOR;
    s->header.format_minor = TMS_FORMAT_MINOR;
    s->header.traceback_limit = 1;
    copy_text(s->header.writer_name, "libtms");
    copy_text(s->header.writer_version, TMS_LIB_VERSION_STRING);
    return s;
}

void tms_snapshot_free(tms_snapshot *s)
{
    if (s == NULL)
        return;
    for (uint32_t i = 0; i < s->nstrings; i++)
        free(s->strings[i].data);
    for (uint32_t i = 0; i < s->nmetrics; i++)
        free(s->metrics[i].name);
    for (uint32_t i = 0; i < s->nmeta; i++) {
        free(s->meta[i].key);
        free(s->meta[i].value);
    }
    free(s->strings);
    free(s->frames);
    free(s->frame_function);
    free(s->peak_entries);
    free(s->tb_frames);
    free(s->tb_start);
    free(s->traces);
    free(s->stats);
    free(s->metrics);
    free(s->meta);
    tms_intern_free(s->intern);
    free(s);
}

uint32_t tms_snapshot_find_string(const tms_snapshot *s, const char *data,
                                  size_t len)
{
    return tms_intern_find_string(s, data, len);
}

int tms_snapshot_intern_string(tms_snapshot *s, const char *data, size_t len,
                               uint32_t *out)
{
    if (s == NULL || (data == NULL && len) || out == NULL)
        return TMS_E_ARG;
    if (len > TMS_MAX_STRING_LEN)
        return TMS_E_LIMIT;
    uint32_t at = tms_intern_find_string(s, data, len);
    if (at != TMS_NONE) {
        *out = at;
        return TMS_OK;
    }
    TMS_FORWARD(grow32((void **)&s->strings, &s->cap_strings,
                       (uint64_t)s->nstrings + 1, sizeof *s->strings));
    char *copy = tms_dup(data, len);
    if (copy == NULL)
        return TMS_E_NOMEM;
    s->strings[s->nstrings].data = copy;
    s->strings[s->nstrings].len = (uint32_t)len;
    int rc = tms_intern_add_string(s, s->nstrings);
    if (rc < 0) {
        free(copy);
        return rc;
    }
    *out = s->nstrings++;
    return TMS_OK;
}

int tms_snapshot_intern_frame(tms_snapshot *s, uint32_t filename,
                              int32_t lineno, uint32_t *out)
{
    if (s == NULL || out == NULL)
        return TMS_E_ARG;
    if (filename != TMS_NONE && filename >= s->nstrings)
        return TMS_E_ARG;
    if (lineno < 0 && lineno != TMS_LINENO_NONE)
        return TMS_E_ARG;
    uint32_t at = tms_intern_find_frame(s, filename, lineno);
    if (at != TMS_NONE) {
        *out = at;
        return TMS_OK;
    }
    TMS_FORWARD(grow32((void **)&s->frames, &s->cap_frames,
                       (uint64_t)s->nframes + 1, sizeof *s->frames));
    TMS_FORWARD(grow32((void **)&s->frame_function, &s->cap_frame_function,
                       (uint64_t)s->nframes + 1, sizeof *s->frame_function));
    s->frame_function[s->nframes] = TMS_NONE;
    s->frames[s->nframes].filename = filename;
    s->frames[s->nframes].lineno = lineno;
    TMS_FORWARD(tms_intern_add_frame(s, s->nframes));
    *out = s->nframes++;
    return TMS_OK;
}

int tms_snapshot_set_function(tms_snapshot *s, uint32_t frame, uint32_t name)
{
    if (s == NULL || frame >= s->nframes ||
        (name != TMS_NONE && name >= s->nstrings))
        return TMS_E_ARG;
    s->frame_function[frame] = name;
    return TMS_OK;
}

int tms_snapshot_set_peak(tms_snapshot *s, const tms_peak_info *p)
{
    if (s == NULL || p == NULL || p->recorded_size > p->size)
        return TMS_E_ARG;
    s->peak = *p;
    s->has_peak = 1;
    return TMS_OK;
}

int tms_snapshot_add_peak_entry(tms_snapshot *s, uint32_t traceback,
                                uint64_t size, uint64_t count)
{
    if (s == NULL || !s->has_peak || traceback >= s->ntracebacks)
        return TMS_E_ARG;
    TMS_FORWARD(tms_grow((void **)&s->peak_entries, &s->cap_peak,
                         s->npeak + 1, sizeof *s->peak_entries));
    s->peak_entries[s->npeak++] = (tms_peak_entry){traceback, size, count};
    return TMS_OK;
}

int tms_snapshot_intern_traceback(tms_snapshot *s, const uint32_t *frames,
                                  uint32_t nframes, uint32_t *out)
{
    if (s == NULL || out == NULL || (frames == NULL && nframes))
        return TMS_E_ARG;
    if (nframes > TMS_MAX_TRACEBACK_LEN)
        return TMS_E_LIMIT;
    for (uint32_t i = 0; i < nframes; i++)
        if (frames[i] >= s->nframes)
            return TMS_E_ARG;
    uint32_t at = tms_intern_find_traceback(s, frames, nframes);
    if (at != TMS_NONE) {
        *out = at;
        return TMS_OK;
    }
    uint64_t used = s->tb_start[s->ntracebacks];
    TMS_FORWARD(tms_grow((void **)&s->tb_frames, &s->cap_tb_frames,
                         used + nframes, sizeof *s->tb_frames));
    /* tb_start has ntracebacks + 1 entries; cap_tbs counts entries. */
    TMS_FORWARD(grow32((void **)&s->tb_start, &s->cap_tbs,
                       (uint64_t)s->ntracebacks + 2, sizeof *s->tb_start));
    if (nframes)
        memcpy(s->tb_frames + used, frames, nframes * sizeof *frames);
    s->tb_start[s->ntracebacks + 1] = used + nframes;
    int rc = tms_intern_add_traceback(s, s->ntracebacks);
    if (rc < 0)
        return rc;
    *out = s->ntracebacks++;
    return TMS_OK;
}

int tms_snapshot_add_trace(tms_snapshot *s, uint64_t address, uint64_t size,
                           uint32_t traceback)
{
    return tms_snapshot_add_trace_in(s, address, size, traceback,
                                     TMS_DOMAIN_PYTHON);
}

int tms_snapshot_add_trace_in(tms_snapshot *s, uint64_t address,
                              uint64_t size, uint32_t traceback,
                              uint32_t domain)
{
    if (s == NULL || traceback >= s->ntracebacks)
        return TMS_E_ARG;
    TMS_FORWARD(tms_grow((void **)&s->traces, &s->cap_traces, s->ntraces + 1,
                         sizeof *s->traces));
    s->traces[s->ntraces].address = address;
    s->traces[s->ntraces].size = size;
    s->traces[s->ntraces].traceback = traceback;
    s->traces[s->ntraces].domain = domain;
    s->ntraces++;
    s->has_traces = 1;
    return TMS_OK;
}

int tms_snapshot_add_stat(tms_snapshot *s, uint32_t frame, uint64_t size,
                          uint64_t count)
{
    if (s == NULL || frame >= s->nframes)
        return TMS_E_ARG;
    TMS_FORWARD(tms_grow((void **)&s->stats, &s->cap_stats, s->nstats + 1,
                         sizeof *s->stats));
    s->stats[s->nstats].frame = frame;
    s->stats[s->nstats].size = size;
    s->stats[s->nstats].count = count;
    s->nstats++;
    return TMS_OK;
}

int tms_snapshot_add_metric(tms_snapshot *s, const char *name,
                            tms_metric_format format, tms_value_kind kind,
                            int64_t i, double f)
{
    uint32_t at;
    if (s == NULL || name == NULL || (unsigned)format > TMS_FORMAT_SIZE ||
        (unsigned)kind > TMS_VALUE_FLOAT)
        return TMS_E_ARG;
    if (strlen(name) > TMS_MAX_STRING_LEN)
        return TMS_E_LIMIT;
    if (tms_intern_find_metric(s, name, &at))
        return TMS_E_ARG;
    TMS_FORWARD(grow32((void **)&s->metrics, &s->cap_metrics,
                       (uint64_t)s->nmetrics + 1, sizeof *s->metrics));
    char *copy = tms_dup(name, strlen(name));
    if (copy == NULL)
        return TMS_E_NOMEM;
    tms_metric *m = &s->metrics[s->nmetrics++];
    m->name = copy;
    m->format = format;
    m->kind = kind;
    m->i = kind == TMS_VALUE_INT ? i : 0;
    m->f = kind == TMS_VALUE_FLOAT ? f : 0.0;
    return TMS_OK;
}

int tms_snapshot_set_meta(tms_snapshot *s, const char *key, const char *value)
{
    if (s == NULL || key == NULL || value == NULL)
        return TMS_E_ARG;
    if (strlen(key) > TMS_MAX_STRING_LEN || strlen(value) > TMS_MAX_STRING_LEN)
        return TMS_E_LIMIT;
    char *v = tms_dup(value, strlen(value));
    if (v == NULL)
        return TMS_E_NOMEM;
    for (uint32_t i = 0; i < s->nmeta; i++) {
        if (strcmp(s->meta[i].key, key) == 0) {
            free(s->meta[i].value);
            s->meta[i].value = v;
            return TMS_OK;
        }
    }
    int rc = grow32((void **)&s->meta, &s->cap_meta, (uint64_t)s->nmeta + 1,
                    sizeof *s->meta);
    char *k = rc == TMS_OK ? tms_dup(key, strlen(key)) : NULL;
    if (k == NULL) {
        free(v);
        return rc < 0 ? rc : TMS_E_NOMEM;
    }
    s->meta[s->nmeta].key = k;
    s->meta[s->nmeta].value = v;
    s->nmeta++;
    return TMS_OK;
}
