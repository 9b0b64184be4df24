/* source.c -- the reader's input (see source.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "source.h"

int tms_source_fd(tms_source *s, int fd, int *e)
{
    struct stat st;
    memset(s, 0, sizeof *s);
    s->fd = fd;
    if (fstat(fd, &st) < 0) {
        *e = errno;
        return TMS_E_IO;
    }
    if (S_ISREG(st.st_mode)) {
        off_t at = lseek(fd, 0, SEEK_CUR);
        if (at >= 0) {
            s->sized = 1;
            s->end = st.st_size > at ? (uint64_t)(st.st_size - at) : 0;
        }
    }
    s->rb = malloc(TMS_SRC_READAHEAD);
    return s->rb ? TMS_OK : TMS_E_NOMEM;
}

void tms_source_mem(tms_source *s, const void *buf, size_t len)
{
    memset(s, 0, sizeof *s);
    s->fd = -1;
    s->mem = buf;
    s->memlen = len;
    s->sized = 1;
    s->end = len;
}

void tms_source_free(tms_source *s)
{
    free(s->rb);
    s->rb = NULL;
}

static int raw_read(tms_source *s, void *dst, size_t n, size_t *got, int *e)
{
    ssize_t k;
    do
        k = read(s->fd, dst, n);
    while (k < 0 && errno == EINTR);
    if (k < 0) {
        *e = errno;
        return TMS_E_IO;
    }
    *got = (size_t)k;
    return TMS_OK;
}

int tms_source_read(tms_source *s, void *dst, size_t n, size_t *got, int *e)
{
    uint8_t *d = dst;
    size_t done = 0;
    if (s->mem != NULL) {
        size_t left = s->memlen - (size_t)s->pos;
        done = n < left ? n : left;
        memcpy(d, s->mem + s->pos, done);
    } else {
        while (done < n) {
            if (s->rb_pos == s->rb_len) {
                size_t k;
                if (n - done >= TMS_SRC_READAHEAD) {   /* big: go direct */
                    TMS_FORWARD(raw_read(s, d + done, n - done, &k, e));
                    if (k == 0)
                        break;
                    done += k;
                    continue;
                }
                TMS_FORWARD(raw_read(s, s->rb, TMS_SRC_READAHEAD, &k, e));
                if (k == 0)
                    break;
                s->rb_pos = 0;
                s->rb_len = k;
            }
            size_t k = s->rb_len - s->rb_pos;
            if (k > n - done)
                k = n - done;
            memcpy(d + done, s->rb + s->rb_pos, k);
            s->rb_pos += k;
            done += k;
        }
    }
    s->pos += done;
    *got = done;
    return TMS_OK;
}

int tms_source_take(tms_source *s, size_t n, tms_buf *hold,
                    const uint8_t **out, int *e)
{
    if (s->sized && n > s->end - s->pos)
        return TMS_E_TRUNCATED;
    if (s->mem != NULL) {
        *out = s->mem + s->pos;
        s->pos += n;
        return TMS_OK;
    }
    /* A known size was checked above, so reserve it all; otherwise grow
     * by at most what has already arrived (doubling), never by what the
     * section header merely claims. */
    hold->len = 0;
    while (hold->len < n) {
        size_t step = n - hold->len;
        if (!s->sized) {
            size_t cap = hold->len > TMS_SRC_READAHEAD ? hold->len
                                                       : TMS_SRC_READAHEAD;
            if (step > cap)
                step = cap;
        }
        if (tms_buf_reserve(hold, step) < 0)
            return TMS_E_NOMEM;
        size_t got;
        TMS_FORWARD(tms_source_read(s, hold->p + hold->len, step, &got, e));
        hold->len += got;
        if (got < step)
            return TMS_E_TRUNCATED;
    }
    *out = hold->p;
    return TMS_OK;
}

int tms_source_skip(tms_source *s, uint64_t n, int *e)
{
    if (s->sized && n > s->end - s->pos)
        return TMS_E_TRUNCATED;
    if (s->mem != NULL) {
        s->pos += n;
        return TMS_OK;
    }
    size_t buffered = s->rb_len - s->rb_pos;
    if (n <= buffered) {
        s->rb_pos += (size_t)n;
        s->pos += n;
        return TMS_OK;
    }
    s->rb_pos = s->rb_len = 0;
    s->pos += buffered;
    n -= buffered;
    if (s->sized && lseek(s->fd, (off_t)n, SEEK_CUR) >= 0) {
        s->pos += n;
        return TMS_OK;
    }
    while (n) {
        size_t got, k = n < TMS_SRC_READAHEAD ? (size_t)n : TMS_SRC_READAHEAD;
        TMS_FORWARD(raw_read(s, s->rb, k, &got, e));
        if (got == 0)
            return TMS_E_TRUNCATED;
        s->pos += got;
        n -= got;
    }
    return TMS_OK;
}
