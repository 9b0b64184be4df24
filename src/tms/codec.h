/* codec.h -- byte-level building blocks of the .tms format (SPEC §1):
 * varints, zigzag, little-endian fixed ints, a growable byte buffer, CRC-32
 * and the zstd section codec.  Private to libtms; inline where it is hot. */
#ifndef TMS_CODEC_H
#define TMS_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tms_private.h"

#define TMS_VARINT_MAX 10

/* Append v as LEB128 at p (room for 10 bytes); returns the new end. */
static inline uint8_t *tms_put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

/* Decode one varint from [*pp, end).  Rejects (returns -1) an encoding that
 * runs past end, is longer than 10 bytes, overflows 64 bits or is not
 * minimal (SPEC §1.2); on success advances *pp and returns 0. */
static inline int tms_get_varint(const uint8_t **pp, const uint8_t *end,
                                 uint64_t *out)
{
    const uint8_t *p = *pp;
    if (p < end && *p < 0x80) {           /* the common one-byte case */
        *out = *p;
        *pp = p + 1;
        return 0;
    }
    uint64_t v = 0;
    for (unsigned i = 0; i < TMS_VARINT_MAX; i++) {
        if (p >= end)
            return -1;
        uint8_t b = *p++;
        if (i == 9 && b > 1)
            return -1;
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (b < 0x80) {
            if (b == 0 && i > 0)
                return -1;
            *out = v;
            *pp = p;
            return 0;
        }
    }
    return -1;
}

static inline uint64_t tms_zigzag(int64_t n)
{
    return ((uint64_t)n << 1) ^ (uint64_t)(n >> 63);
}
static inline int64_t tms_unzigzag(uint64_t u)
{
    return (int64_t)((u >> 1) ^ (0 - (u & 1)));
}

static inline void tms_put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void tms_put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline void tms_put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t tms_get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t tms_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}
static inline uint64_t tms_get_u64(const uint8_t *p)
{
    return (uint64_t)tms_get_u32(p) | (uint64_t)tms_get_u32(p + 4) << 32;
}

/* --- growable byte buffer ------------------------------------------------ */
typedef struct tms_buf {
    uint8_t *p;
    size_t len, cap;
} tms_buf;

/* Make room for `more` bytes after len.  TMS_E_NOMEM on failure. */
int tms_buf_reserve(tms_buf *b, size_t more);
void tms_buf_free(tms_buf *b);
static inline int tms_buf_put(tms_buf *b, const void *data, size_t n)
{
    if (b->cap - b->len < n && tms_buf_reserve(b, n) < 0)
        return TMS_E_NOMEM;
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    return TMS_OK;
}
static inline int tms_buf_varint(tms_buf *b, uint64_t v)
{
    if (b->cap - b->len < TMS_VARINT_MAX &&
        tms_buf_reserve(b, TMS_VARINT_MAX) < 0)
        return TMS_E_NOMEM;
    b->len = (size_t)(tms_put_varint(b->p + b->len, v) - b->p);
    return TMS_OK;
}

/* --- CRC-32 (ISO-HDLC, = zlib.crc32) ------------------------------------ */
/* Continue a CRC: tms_crc32(0, ...) starts one, feed the result back in. */
uint32_t tms_crc32(uint32_t crc, const void *data, size_t len);

/* --- zstd section codec (compress.c) ------------------------------------- */
#define TMS_DECOMPRESS_INITIAL (1u << 20)  /* SPEC §3.3: modest first cap */

/* Compress src into out (replacing its contents) at the given level.
 * Returns TMS_OK, TMS_E_NOMEM, or TMS_E_IO when zstd fails (message in
 * *why, static). */
int tms_zstd_compress(void **cctx, tms_buf *out, const void *src, size_t len,
                      int level, const char **why);
/* The frame's stated content size (if any) must be raw_len: checked
 * before any decompression (and again by tms_zstd_decompress). */
int tms_zstd_check_size(const void *src, size_t slen, size_t raw_len,
                        const char **why);
/* Decompress exactly one zstd frame of slen bytes into out (replacing its
 * contents), which must come out as exactly raw_len bytes.  out grows only
 * as output is produced.  TMS_E_DECOMPRESS (reason in *why), NOMEM. */
int tms_zstd_decompress(void **dctx, tms_buf *out, const void *src,
                        size_t slen, size_t raw_len, const char **why);
void tms_zstd_free_cctx(void *cctx);
void tms_zstd_free_dctx(void *dctx);

/* --- traces ordering (sort.c) -------------------------------------------- */
/* Sort t[0..n) by address (LSD radix; tmp holds n entries), for one
 * writer chunk; the sorted traces are where the result points: t, or tmp
 * when that saves a copy. */
tms_trace *tms_sort_traces(tms_trace *t, tms_trace *tmp, size_t n);
/* dst = src sorted by address (sample sort, bucket-sized scratch); for
 * whole snapshots.  TMS_E_NOMEM. */
int tms_sort_traces_copy(const tms_trace *src, tms_trace *dst, size_t n);

#endif
