/* compress.c -- one zstd frame per section payload (SPEC §3.2). */
#include <stdlib.h>
#include <zstd.h>

#include "codec.h"

void tms_zstd_free_cctx(void *cctx)
{
    ZSTD_freeCCtx(cctx);
}

void tms_zstd_free_dctx(void *dctx)
{
    ZSTD_freeDCtx(dctx);
}

int tms_zstd_compress(void **cctx, tms_buf *out, const void *src, size_t len,
                      int level, const char **why)
{
    if (*cctx == NULL && (*cctx = ZSTD_createCCtx()) == NULL)
        return TMS_E_NOMEM;
    size_t bound = ZSTD_compressBound(len);
    out->len = 0;
    TMS_FORWARD(tms_buf_reserve(out, bound));
    /* compressCCtx sizes the window to the input (<= 2^28 bytes), so the
     * window log stays <= 27 for every level we use; content size is
     * recorded by default. */
    size_t n = ZSTD_compressCCtx(*cctx, out->p, bound, src, len, level);
    if (ZSTD_isError(n)) {
        *why = ZSTD_getErrorName(n);
        return TMS_E_IO;
    }
    out->len = n;
    return TMS_OK;
}

int tms_zstd_check_size(const void *src, size_t slen, size_t raw_len,
                        const char **why)
{
    /* A frame that states its size must state raw_len: refuse a lie
     * before decompressing a byte of it (an 8 KB frame can expand to
     * gigabytes).  A frame without the size is bounded while it runs. */
    unsigned long long declared = ZSTD_getFrameContentSize(src, slen);
    if (declared == ZSTD_CONTENTSIZE_ERROR) {
        *why = "bad zstd frame header";
        return TMS_E_DECOMPRESS;
    }
    if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != raw_len) {
        *why = "the zstd frame's content size is not the raw length";
        return TMS_E_DECOMPRESS;
    }
    return TMS_OK;
}

int tms_zstd_decompress(void **dctx, tms_buf *out, const void *src,
                        size_t slen, size_t raw_len, const char **why)
{
    const uint8_t *s = src;
    if (*dctx == NULL && (*dctx = ZSTD_createDCtx()) == NULL)
        return TMS_E_NOMEM;
    /* A skippable frame would "decompress" to nothing: insist on a real
     * frame (magic 0xFD2FB528). */
    if (slen < 4 || tms_get_u32(s) != 0xFD2FB528u) {
        *why = "not a zstd frame";
        return TMS_E_DECOMPRESS;
    }
    TMS_FORWARD(tms_zstd_check_size(src, slen, raw_len, why));
    ZSTD_DCtx_reset(*dctx, ZSTD_reset_session_and_parameters);
    ZSTD_DCtx_setParameter(*dctx, ZSTD_d_windowLogMax, 27);
    /* Room for one byte more than declared, so "too much output" shows up
     * as output rather than as a stalled call; the buffer starts at a
     * modest cap and doubles only as real output fills it. */
    size_t limit = raw_len + 1;
    size_t cap = limit < TMS_DECOMPRESS_INITIAL ? limit
                                                : TMS_DECOMPRESS_INITIAL;
    out->len = 0;
    TMS_FORWARD(tms_buf_reserve(out, cap));
    ZSTD_inBuffer in = { s, slen, 0 };
    ZSTD_outBuffer o = { out->p, cap, 0 };
    for (;;) {
        size_t in0 = in.pos, out0 = o.pos;
        size_t ret = ZSTD_decompressStream(*dctx, &o, &in);
        if (ZSTD_isError(ret)) {
            *why = ZSTD_getErrorName(ret);
            return TMS_E_DECOMPRESS;
        }
        if (o.pos > raw_len) {
            *why = "more output than the declared raw length";
            return TMS_E_DECOMPRESS;
        }
        if (ret == 0)
            break;                 /* frame complete */
        if (o.pos == o.size) {
            size_t ncap = o.size * 2 < limit ? o.size * 2 : limit;
            out->len = o.pos;
            TMS_FORWARD(tms_buf_reserve(out, ncap - o.pos));
            o.dst = out->p;
            o.size = ncap;
        } else if (in.pos == in.size || (in.pos == in0 && o.pos == out0)) {
            *why = "incomplete zstd frame";
            return TMS_E_DECOMPRESS;
        }
    }
    if (in.pos != in.size) {
        *why = "bytes after the zstd frame";
        return TMS_E_DECOMPRESS;
    }
    if (o.pos != raw_len) {
        *why = "less output than the declared raw length";
        return TMS_E_DECOMPRESS;
    }
    out->len = o.pos;
    return TMS_OK;
}
