/* source.h -- where a reader's bytes come from: a memory buffer, a regular
 * file (size known, skips are seeks) or a pipe (size unknown, buffers grow
 * only as bytes arrive, skips are reads). */
#ifndef TMS_SOURCE_H
#define TMS_SOURCE_H

#include "codec.h"

#define TMS_SRC_READAHEAD 65536

typedef struct tms_source {
    const uint8_t *mem;     /* buffer source, or NULL */
    size_t memlen;
    int fd;                 /* fd source, or -1 */
    int sized;              /* 1: bytes left are known (buffer, regular file) */
    uint64_t end;           /* sized: total bytes of the source from start */
    uint64_t pos;           /* bytes consumed so far */
    uint8_t *rb;            /* fd read-ahead */
    size_t rb_pos, rb_len;
} tms_source;

/* Sources never fail on open except for NOMEM (fd: fstat failure is
 * TMS_E_IO, errno in *e). */
int tms_source_fd(tms_source *s, int fd, int *e);
void tms_source_mem(tms_source *s, const void *buf, size_t len);
void tms_source_free(tms_source *s);

/* Read up to n bytes into dst; *got is how many arrived (< n only at the
 * end of the source).  TMS_E_IO on a read error (errno in *e). */
int tms_source_read(tms_source *s, void *dst, size_t n, size_t *got, int *e);
/* Make n bytes available at *out: a pointer into the buffer source, or
 * into hold, grown only as bytes arrive when the size is unknown.
 * TMS_E_TRUNCATED if the source ends first, TMS_E_IO, TMS_E_NOMEM. */
int tms_source_take(tms_source *s, size_t n, tms_buf *hold,
                    const uint8_t **out, int *e);
/* Pass over n bytes: a seek on a regular file, reads on a pipe. */
int tms_source_skip(tms_source *s, uint64_t n, int *e);

#endif
