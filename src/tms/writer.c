/* writer.c -- placeholder: the streaming writer lands with the format work. */
#include "tms_private.h"

int tms_writer_open_path(tms_writer **w, const char *path, const tms_header *h, tms_error *err)
{
    (void)w;
    (void)path;
    (void)h;
    (void)err;
    return tms_fail(err, TMS_E_STATE, "tms_writer_open_path: not implemented yet");
}

int tms_writer_open_fd(tms_writer **w, int fd, const char *name, const tms_header *h, tms_error *err)
{
    (void)w;
    (void)fd;
    (void)name;
    (void)h;
    (void)err;
    return tms_fail(err, TMS_E_STATE, "tms_writer_open_fd: not implemented yet");
}

int tms_writer_open_buffer(tms_writer **w, const tms_header *h, tms_error *err)
{
    (void)w;
    (void)h;
    (void)err;
    return tms_fail(err, TMS_E_STATE, "tms_writer_open_buffer: not implemented yet");
}

int tms_writer_add_strings(tms_writer *w, const tms_string *strs, uint32_t n, tms_error *err)
{
    (void)w;
    (void)strs;
    (void)n;
    (void)err;
    return tms_fail(err, TMS_E_STATE, "tms_writer_add_strings: not implemented yet");
}

int tms_writer_add_frames(tms_writer *w, const tms_frame *frames, uint32_t n, tms_error *err)
{
    (void)w;
    (void)frames;
    (void)n;
    (void)err;
    return tms_fail(err, TMS_E_STATE, "tms_writer_add_frames: not implemented yet");
}

int tms_writer_add_tracebacks(tms_writer *w, const uint32_t *frames, const uint64_t *start, uint32_t n, tms_error *err)
{
    (void)w;
    (void)frames;
    (void)start;
    (void)n;
    (void)err;
    return tms_fail(err, TMS_E_STATE, "tms_writer_add_tracebacks: not implemented yet");
}

int tms_writer_begin_traces(tms_writer *w, tms_error *err)
{
    (void)w;
    (void)err;
    return tms_fail(err, TMS_E_STATE, "tms_writer_begin_traces: not implemented yet");
}

int tms_writer_add_traces(tms_writer *w, const tms_trace *traces, size_t n, tms_error *err)
{
    (void)w;
    (void)traces;
    (void)n;
    (void)err;
    return tms_fail(err, TMS_E_STATE, "tms_writer_add_traces: not implemented yet");
}

int tms_writer_add_stats(tms_writer *w, const tms_stat *stats, size_t n, tms_error *err)
{
    (void)w;
    (void)stats;
    (void)n;
    (void)err;
    return tms_fail(err, TMS_E_STATE, "tms_writer_add_stats: not implemented yet");
}

int tms_writer_add_metrics(tms_writer *w, const tms_metric *m, uint32_t n, tms_error *err)
{
    (void)w;
    (void)m;
    (void)n;
    (void)err;
    return tms_fail(err, TMS_E_STATE, "tms_writer_add_metrics: not implemented yet");
}

int tms_writer_add_meta(tms_writer *w, const tms_meta *m, uint32_t n, tms_error *err)
{
    (void)w;
    (void)m;
    (void)n;
    (void)err;
    return tms_fail(err, TMS_E_STATE, "tms_writer_add_meta: not implemented yet");
}

int tms_writer_close(tms_writer *w, tms_error *err)
{
    (void)w;
    (void)err;
    return tms_fail(err, TMS_E_STATE, "tms_writer_close: not implemented yet");
}

void tms_writer_abort(tms_writer *w)
{
    (void)w;
}

int tms_writer_finish_buffer(tms_writer *w, void **buf, size_t *len, tms_error *err)
{
    (void)w;
    (void)buf;
    (void)len;
    (void)err;
    return tms_fail(err, TMS_E_STATE, "tms_writer_finish_buffer: not implemented yet");
}
