/* snapshot_io.c -- whole snapshots through the streaming writer/reader. */
#include <stdlib.h>
#include <string.h>

#include "codec.h"

/* Traces in address order, so each TRCS chunk covers a dense range and
 * its deltas stay small (SPEC §4.5).  Already-sorted input (the common
 * case for a loaded snapshot) costs one pass and no copy. */
static int write_traces(tms_writer *w, const tms_snapshot *s, tms_error *err)
{
    size_t n = (size_t)s->ntraces;
    size_t i;
    for (i = 1; i < n && s->traces[i - 1].address < s->traces[i].address; i++)
        ;
    TMS_FORWARD(tms_writer_begin_traces(w, err));
    if (i >= n)
        return tms_writer_add_traces(w, s->traces, n, err);
    tms_trace *copy = malloc(n * sizeof *copy);
    int rc = copy ? tms_sort_traces_copy(s->traces, copy, n) : TMS_E_NOMEM;
    if (rc < 0)
        rc = tms_fail(err, rc, "cannot sort %zu traces: out of memory", n);
    else
        rc = tms_writer_add_traces(w, copy, n, err);
    free(copy);
    return rc;
}

int tms_writer_add_dicts_of(tms_writer *w, const tms_snapshot *s,
                            tms_dict_pos *pos, tms_error *err)
{
    if (s == NULL || pos == NULL)
        return tms_fail(err, TMS_E_ARG, "tms_writer_add_dicts_of: bad "
                        "argument");
    if (s->nstrings > pos->strings)
        TMS_FORWARD(tms_writer_add_strings(w, s->strings + pos->strings,
                                           s->nstrings - pos->strings, err));
    pos->strings = s->nstrings;
    if (s->nframes > pos->frames)
        TMS_FORWARD(tms_writer_add_frames(w, s->frames + pos->frames,
                                          s->nframes - pos->frames, err));
    pos->frames = s->nframes;
    if (s->ntracebacks > pos->tracebacks)
        TMS_FORWARD(tms_writer_add_tracebacks(w, s->tb_frames,
                                              s->tb_start + pos->tracebacks,
                                              s->ntracebacks - pos->tracebacks,
                                              err));
    pos->tracebacks = s->ntracebacks;
    return TMS_OK;
}

/* The named frames as the writer's two columns (SPEC §4.10). */
int tms_writer_add_functions_of(tms_writer *w, const tms_snapshot *s,
                                tms_error *err)
{
    uint32_t n = 0;
    for (uint32_t f = 0; f < s->nframes; f++)
        n += tms_frame_function(s, f) != TMS_NONE;
    if (n == 0)
        return TMS_OK;
    uint32_t *cols = malloc(2 * (size_t)n * sizeof *cols);
    if (cols == NULL)
        return tms_fail(err, TMS_E_NOMEM, "out of memory");
    uint32_t k = 0;
    for (uint32_t f = 0; f < s->nframes; f++) {
        if (s->frame_function[f] != TMS_NONE) {
            cols[k] = f;
            cols[n + k++] = s->frame_function[f];
        }
    }
    int rc = tms_writer_add_functions(w, cols, cols + n, n, err);
    free(cols);
    return rc;
}

static int write_all(tms_writer *w, const tms_snapshot *s,
                     tms_trace_source src, void *ctx, tms_error *err);

int tms_writer_add_snapshot(tms_writer *w, const tms_snapshot *s,
                            tms_error *err)
{
    if (s == NULL)
        return tms_fail(err, TMS_E_ARG, "tms_writer_add_snapshot: NULL "
                        "snapshot");
    return write_all(w, s, NULL, NULL, err);
}

/* Everything of s; its traces from s, or from src when src is not NULL
 * (written last, so every dictionary entry precedes them). */
static int write_all(tms_writer *w, const tms_snapshot *s,
                     tms_trace_source src, void *ctx, tms_error *err)
{
    TMS_FORWARD(tms_writer_add_strings(w, s->strings, s->nstrings, err));
    TMS_FORWARD(tms_writer_add_frames(w, s->frames, s->nframes, err));
    TMS_FORWARD(tms_writer_add_functions_of(w, s, err));
    TMS_FORWARD(tms_writer_add_tracebacks(w, s->tb_frames, s->tb_start,
                                          s->ntracebacks, err));
    if (s->has_peak)
        TMS_FORWARD(tms_writer_add_peak(w, &s->peak, s->peak_entries,
                                        (size_t)s->npeak, err));
    TMS_FORWARD(tms_writer_add_stats(w, s->stats, (size_t)s->nstats, err));
    TMS_FORWARD(tms_writer_add_metrics(w, s->metrics, s->nmetrics, err));
    TMS_FORWARD(tms_writer_add_meta(w, s->meta, s->nmeta, err));
    if (src != NULL) {
        TMS_FORWARD(tms_writer_begin_traces(w, err));
        return src(ctx, w, err);
    }
    if (s->has_traces)
        TMS_FORWARD(write_traces(w, s, err));
    return TMS_OK;
}

int tms_snapshot_save(const tms_snapshot *s, const char *path, tms_error *err)
{
    return tms_snapshot_save_streamed(s, path, NULL, NULL, err);
}

int tms_snapshot_save_streamed(const tms_snapshot *s, const char *path,
                               tms_trace_source src, void *ctx,
                               tms_error *err)
{
    tms_writer *w;
    if (s == NULL)
        return tms_fail(err, TMS_E_ARG, "tms_snapshot_save: NULL snapshot");
    TMS_FORWARD(tms_writer_open_path(&w, path, &s->header, err));
    if (src != NULL)
        tms_writer_trust_unique_addresses(w);
    int rc = write_all(w, s, src, ctx, err);
    if (rc < 0) {
        tms_writer_abort(w);
        return rc;
    }
    return tms_writer_close(w, err);
}

int tms_snapshot_save_buffer(const tms_snapshot *s, void **buf, size_t *len,
                             tms_error *err)
{
    tms_writer *w;
    if (s == NULL || buf == NULL || len == NULL)
        return tms_fail(err, TMS_E_ARG, "tms_snapshot_save_buffer: bad "
                        "argument");
    TMS_FORWARD(tms_writer_open_buffer(&w, &s->header, err));
    int rc = write_all(w, s, NULL, NULL, err);
    if (rc < 0) {
        tms_writer_abort(w);
        return rc;
    }
    return tms_writer_finish_buffer(w, buf, len, err);
}

/* Read everything from an open reader into a new snapshot; closes r. */
static int load_from(tms_reader *r, unsigned flags, tms_snapshot **out,
                     tms_error *err)
{
    tms_snapshot *s = tms_snapshot_new();
    int rc = s ? tms_reader_read(r, s, flags, NULL, NULL, err)
               : tms_fail(err, TMS_E_NOMEM, "out of memory");
    tms_reader_close(r);
    if (rc < 0) {
        tms_snapshot_free(s);
        return rc;
    }
    *out = s;
    return TMS_OK;
}

int tms_snapshot_load(const char *path, unsigned flags, tms_snapshot **out,
                      tms_error *err)
{
    tms_reader *r;
    if (out == NULL)
        return tms_fail(err, TMS_E_ARG, "tms_snapshot_load: NULL out");
    *out = NULL;
    TMS_FORWARD(tms_reader_open_path(&r, path, err));
    return load_from(r, flags, out, err);
}

int tms_snapshot_load_fd(int fd, const char *name, unsigned flags,
                         tms_snapshot **out, tms_error *err)
{
    tms_reader *r;
    if (out == NULL)
        return tms_fail(err, TMS_E_ARG, "tms_snapshot_load_fd: NULL out");
    *out = NULL;
    TMS_FORWARD(tms_reader_open_fd(&r, fd, name, err));
    return load_from(r, flags, out, err);
}

int tms_snapshot_load_buffer(const void *buf, size_t len, const char *name,
                             unsigned flags, tms_snapshot **out,
                             tms_error *err)
{
    tms_reader *r;
    if (out == NULL)
        return tms_fail(err, TMS_E_ARG, "tms_snapshot_load_buffer: NULL out");
    *out = NULL;
    TMS_FORWARD(tms_reader_open_buffer(&r, buf, len, name, err));
    return load_from(r, flags, out, err);
}
