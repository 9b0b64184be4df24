/* reader.c -- placeholder: the streaming reader lands with the format work. */
#include "tms_private.h"

int tms_snapshot_save(const tms_snapshot *s, const char *path, tms_error *err)
{
    (void)s;
    (void)path;
    (void)err;
    return tms_fail(err, TMS_E_STATE, "tms_snapshot_save: not implemented yet");
}

int tms_snapshot_load(const char *path, unsigned flags, tms_snapshot **out, tms_error *err)
{
    (void)path;
    (void)flags;
    (void)out;
    (void)err;
    return tms_fail(err, TMS_E_STATE, "tms_snapshot_load: not implemented yet");
}

int tms_snapshot_load_fd(int fd, const char *name, unsigned flags, tms_snapshot **out, tms_error *err)
{
    (void)fd;
    (void)name;
    (void)flags;
    (void)out;
    (void)err;
    return tms_fail(err, TMS_E_STATE, "tms_snapshot_load_fd: not implemented yet");
}

int tms_snapshot_load_buffer(const void *buf, size_t len, const char *name, unsigned flags, tms_snapshot **out, tms_error *err)
{
    (void)buf;
    (void)len;
    (void)name;
    (void)flags;
    (void)out;
    (void)err;
    return tms_fail(err, TMS_E_STATE, "tms_snapshot_load_buffer: not implemented yet");
}

int tms_snapshot_save_buffer(const tms_snapshot *s, void **buf, size_t *len, tms_error *err)
{
    (void)s;
    (void)buf;
    (void)len;
    (void)err;
    return tms_fail(err, TMS_E_STATE, "tms_snapshot_save_buffer: not implemented yet");
}

int tms_reader_open_path(tms_reader **r, const char *path, tms_error *err)
{
    (void)r;
    (void)path;
    (void)err;
    return tms_fail(err, TMS_E_STATE, "tms_reader_open_path: not implemented yet");
}

int tms_reader_open_fd(tms_reader **r, int fd, const char *name, tms_error *err)
{
    (void)r;
    (void)fd;
    (void)name;
    (void)err;
    return tms_fail(err, TMS_E_STATE, "tms_reader_open_fd: not implemented yet");
}

int tms_reader_open_buffer(tms_reader **r, const void *buf, size_t len, const char *name, tms_error *err)
{
    (void)r;
    (void)buf;
    (void)len;
    (void)name;
    (void)err;
    return tms_fail(err, TMS_E_STATE, "tms_reader_open_buffer: not implemented yet");
}

const tms_header * tms_reader_header(const tms_reader *r)
{
    (void)r;
    return NULL;
}

int tms_reader_read(tms_reader *r, tms_snapshot *into, unsigned flags, tms_trace_fn fn, void *ctx, tms_error *err)
{
    (void)r;
    (void)into;
    (void)flags;
    (void)fn;
    (void)ctx;
    (void)err;
    return tms_fail(err, TMS_E_STATE, "tms_reader_read: not implemented yet");
}

void tms_reader_close(tms_reader *r)
{
    (void)r;
}
