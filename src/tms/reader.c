/* reader.c -- the streaming .tms reader (format/SPEC.md; checklist R1-R10).
 *
 * One pass from the start: preamble and HEAD at open, then section after
 * section until END and the footer.  Every section goes through the
 * checks of SPEC §3.3 in order; payloads are parsed by parse.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "reader_private.h"

static const uint8_t MAGIC[8] = { 0x89, 'T', 'M', 'S', 0x0D, 0x0A, 0x1A, 0x0A };
static const uint8_t END_MAGIC[8] = { 0x89, 'T', 'M', 'S', 'E', 'N', 'D', 0x0A };

int tms_rfail(tms_reader *r, tms_error *err, int code, const char *fmt, ...)
{
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (r->in_section) {
        char tag[4 * 4 + 1];   /* the tag's 4 bytes are the file's: escape */
        tms_escape(tag, sizeof tag, (const char *)r->tag, 4);
        return tms_fail(err, code, "cannot read '%s': section %s at offset "
                        "%llu: %s", r->name, tag,
                        (unsigned long long)r->sec_offset, what);
    }
    return tms_fail(err, code, "cannot read '%s': %s", r->name, what);
}

/* "2 GiB", "64 MiB" or "1000 bytes": budgets are usually round. */
static void budget_text(char *buf, size_t cap, uint64_t v)
{
    if (v && v % (1ull << 30) == 0)
        snprintf(buf, cap, "%llu GiB", (unsigned long long)(v >> 30));
    else if (v && v % (1ull << 20) == 0)
        snprintf(buf, cap, "%llu MiB", (unsigned long long)(v >> 20));
    else
        snprintf(buf, cap, "%llu bytes", (unsigned long long)v);
}

int tms_charge(tms_reader *r, tms_error *err, tms_cost cost, uint64_t n)
{
    static const char *const what[] = {
        [TMS_COST_DECODED] = "decoded payloads and traces",
        [TMS_COST_TEXT] = "strings and names",
        [TMS_COST_TB_WORK] = "traceback frames weighted by file name length",
    };
    uint64_t cap = cost == TMS_COST_TEXT ? r->budget / TMS_BUDGET_TEXT_SHARE
                                         : r->budget;
    if (n <= cap && r->spent[cost] <= cap - n) {
        r->spent[cost] += n;
        return TMS_OK;
    }
    char capt[40], budt[40];
    budget_text(capt, sizeof capt, cap);
    budget_text(budt, sizeof budt, r->budget);
    if (cost == TMS_COST_TEXT)
        return tms_rfail(r, err, TMS_E_BUDGET, "over the read budget: %s "
                         "need more than %s (1/32 of the %s budget)",
                         what[cost], capt, budt);
    return tms_rfail(r, err, TMS_E_BUDGET, "over the read budget: %s need "
                     "more than %s", what[cost], capt);
}

int tms_reader_set_budget(tms_reader *r, uint64_t budget)
{
    if (r == NULL)
        return TMS_E_ARG;
    r->budget = budget ? budget : TMS_DEFAULT_READ_BUDGET;
    return TMS_OK;
}

static int src_error(tms_reader *r, tms_error *err, int rc, int e,
                     const char *what)
{
    if (rc == TMS_E_IO)
        return tms_rfail(r, err, rc, "%s: %s", what, strerror(e));
    if (rc == TMS_E_TRUNCATED)
        return tms_rfail(r, err, rc, "file truncated (%s)", what);
    return tms_rfail(r, err, rc, "%s: %s", what, tms_strerror(rc));
}

static int read_exact(tms_reader *r, void *dst, size_t n, const char *what,
                      tms_error *err)
{
    size_t got;
    int e = 0;
    int rc = tms_source_read(&r->src, dst, n, &got, &e);
    if (rc == TMS_OK && got < n)
        rc = TMS_E_TRUNCATED;
    return rc < 0 ? src_error(r, err, rc, e, what) : TMS_OK;
}

static int is_known(const uint8_t tag[4])
{
    static const char *const known[] = { "HEAD", "STRS", "FRMS", "TBKS",
                                         "TRCS", "STAT", "MTRC", "META",
                                         "FNAM", "PEAK", "SMPL", "DOMS",
                                         "END " };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (memcmp(tag, known[i], 4) == 0)
            return 1;
    return 0;
}

/* SPEC §3.3 steps 1-3: read a frame header, record it in the running index
 * the END section is checked against. */
static int next_header(tms_reader *r, uint8_t hdr[20], tms_error *err)
{
    r->in_section = 0;
    uint64_t at = r->src.pos;
    TMS_FORWARD(read_exact(r, hdr, 20, "section header", err));
    memcpy(r->tag, hdr, 4);
    r->sec_offset = at;
    r->in_section = 1;
    int first = r->nindex == 0;
    if (first != (memcmp(hdr, "HEAD", 4) == 0))
        return tms_rfail(r, err, TMS_E_CORRUPT, first ? "the first section "
                         "is not HEAD" : "a second HEAD section");
    if (tms_grow((void **)&r->index, &r->cap_index, r->nindex + 1,
                 sizeof *r->index) < 0)
        return tms_rfail(r, err, TMS_E_NOMEM, "out of memory");
    memcpy(r->index[r->nindex].tag, hdr, 4);
    r->index[r->nindex++].offset = at;
    return TMS_OK;
}

/* Pass over a skipped section's stored bytes, reading them in small
 * pieces to check its CRC unless told not to (then a seek will do). */
static int skip_payload(tms_reader *r, const uint8_t hdr[20], int verify,
                        tms_error *err)
{
    uint32_t left = tms_get_u32(hdr + 12);
    int e = 0, rc;
    if (!verify) {
        rc = tms_source_skip(&r->src, left, &e);
        return rc < 0 ? src_error(r, err, rc, e, "section payload") : TMS_OK;
    }
    if (r->src.sized && left > r->src.end - r->src.pos)
        return src_error(r, err, TMS_E_TRUNCATED, 0, "section payload");
    uint8_t buf[16384];
    uint32_t crc = tms_crc32(0, hdr, 16);
    while (left > 0) {
        size_t got, k = left < sizeof buf ? left : sizeof buf;
        rc = tms_source_read(&r->src, buf, k, &got, &e);
        if (rc == TMS_OK && got < k)
            rc = TMS_E_TRUNCATED;
        if (rc < 0)
            return src_error(r, err, rc, e, "section payload");
        crc = tms_crc32(crc, buf, got);
        left -= (uint32_t)got;
    }
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION  /* let fuzzers past CRCs */
    if (crc != tms_get_u32(hdr + 16))
        return tms_rfail(r, err, TMS_E_CHECKSUM, "checksum mismatch");
#endif
    return TMS_OK;
}

/* Steps 4-7 for a known section; on a skip, pass over the stored bytes
 * (verify: still check the CRC, step 8). */
static int check_frame(tms_reader *r, const uint8_t hdr[20], int skip,
                       int verify, tms_error *err)
{
    uint32_t flags = tms_get_u32(hdr + 4), raw = tms_get_u32(hdr + 8);
    uint32_t stored = tms_get_u32(hdr + 12);
    if (flags & ~1u)
        return tms_rfail(r, err, TMS_E_CORRUPT, "reserved flag bits set "
                         "(0x%x)", flags);
    if (raw > TMS_MAX_SECTION_RAW || stored > TMS_MAX_SECTION_RAW)
        return tms_rfail(r, err, TMS_E_LIMIT, "section length %u/%u exceeds "
                         "2^28", raw, stored);
    if (!(flags & 1) && stored != raw)
        return tms_rfail(r, err, TMS_E_CORRUPT, "raw section with stored "
                         "length %u != raw length %u", stored, raw);
    if (skip)
        return skip_payload(r, hdr, verify, err);
    return TMS_OK;
}

/* Steps 7-9: the payload's bytes, CRC-checked and decompressed. */
static int load_payload(tms_reader *r, const uint8_t hdr[20],
                        const uint8_t **out, size_t *len, tms_error *err)
{
    uint32_t flags = tms_get_u32(hdr + 4), raw = tms_get_u32(hdr + 8);
    uint32_t stored = tms_get_u32(hdr + 12);
    const uint8_t *p;
    int e = 0;
    int rc = tms_source_take(&r->src, stored, &r->stored, &p, &e);
    if (rc < 0)
        return src_error(r, err, rc, e, "section payload");
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION  /* let fuzzers past CRCs */
    if (tms_crc32(tms_crc32(0, hdr, 16), p, stored) != tms_get_u32(hdr + 16))
        return tms_rfail(r, err, TMS_E_CHECKSUM, "checksum mismatch");
#endif
    /* the budget is charged before a byte is decompressed (after a frame
     * that lies about its size is refused); text sections' raw length
     * bounds the text they hold */
    const char *why = "";
    if ((flags & 1) && tms_zstd_check_size(p, stored, raw, &why) < 0)
        return tms_rfail(r, err, TMS_E_DECOMPRESS, "%s", why);
    TMS_FORWARD(tms_charge(r, err, TMS_COST_DECODED, raw));
    if (memcmp(hdr, "STRS", 4) == 0 || memcmp(hdr, "MTRC", 4) == 0 ||
        memcmp(hdr, "META", 4) == 0 || memcmp(hdr, "FNAM", 4) == 0)
        TMS_FORWARD(tms_charge(r, err, TMS_COST_TEXT, raw));
    if (flags & 1) {
        rc = tms_zstd_decompress(&r->dctx, &r->raw, p, stored, raw, &why);
        if (rc < 0)
            return tms_rfail(r, err, rc, "%s", rc == TMS_E_DECOMPRESS ? why
                             : "out of memory");
        p = r->raw.p;
    }
    *out = p;
    *len = raw;
    return TMS_OK;
}

static int parse_head(tms_reader *r, const uint8_t *p, size_t len,
                      tms_error *err)
{
    tms_header *h = &r->header;
    if (len < 40)
        return tms_rfail(r, err, TMS_E_CORRUPT, "HEAD shorter than 40 bytes");
    h->pid = (int64_t)tms_get_u64(p);
    h->timestamp_ns = (int64_t)tms_get_u64(p + 8);
    h->traceback_limit = tms_get_u32(p + 16);
    memcpy(h->series_id, p + 20, 16);
    size_t at = 40;
    char *text[3] = { h->python_version, h->writer_name, h->writer_version };
    for (int i = 0; i < 3; i++) {
        if (at >= len || p[at] > len - at - 1)
            return tms_rfail(r, err, TMS_E_CORRUPT, "HEAD text field %d runs "
                             "past the payload", i);
        size_t n = p[at++];
        if (memchr(p + at, 0, n) != NULL)
            return tms_rfail(r, err, TMS_E_CORRUPT, "NUL in HEAD text field");
        memcpy(text[i], p + at, n);
        text[i][n] = '\0';
        at += n;
    }
    return TMS_OK;   /* bytes after the known fields: a newer minor's */
}

/* A copy of name for messages, escaped: a path may hold a newline. */
static char *escaped_name(const char *name)
{
    size_t n = strlen(name), need = tms_escape(NULL, 0, name, n);
    char *e = malloc(need + 1);
    if (e != NULL)
        tms_escape(e, need + 1, name, n);
    return e;
}

static int reader_new(tms_reader **out, const char *name, tms_error *err)
{
    tms_reader *r = calloc(1, sizeof *r);
    if (r == NULL || (r->name = escaped_name(name ? name : "<input>")) == NULL) {
        free(r);
        return tms_fail(err, TMS_E_NOMEM, "cannot read a file: out of memory");
    }
    r->src.fd = -1;
    r->budget = TMS_DEFAULT_READ_BUDGET;
    *out = r;
    return TMS_OK;
}

/* Preamble (SPEC §6 order) then the HEAD section. */
static int read_start(tms_reader *r, tms_error *err)
{
    uint8_t pre[12], hdr[20];
    size_t got, len;
    int e = 0;
    const uint8_t *p;
    int rc = tms_source_read(&r->src, pre, 8, &got, &e);
    if (rc < 0)
        return src_error(r, err, rc, e, "magic");
    if (memcmp(pre, MAGIC, got) != 0)
        return tms_rfail(r, err, TMS_E_NOT_TMS, "not a .tms file (bad magic)");
    if (got < 8)
        return tms_rfail(r, err, TMS_E_TRUNCATED, "file truncated (magic)");
    TMS_FORWARD(read_exact(r, pre + 8, 4, "version", err));
    r->header.format_major = tms_get_u16(pre + 8);
    r->header.format_minor = tms_get_u16(pre + 10);
    if (r->header.format_major != TMS_FORMAT_MAJOR)
        return tms_rfail(r, err, TMS_E_VERSION, "written by format %u.%u, "
                         "this reader supports %u.x", r->header.format_major,
                         r->header.format_minor, TMS_FORMAT_MAJOR);
    TMS_FORWARD(next_header(r, hdr, err));
    TMS_FORWARD(check_frame(r, hdr, 0, 1, err));
    TMS_FORWARD(load_payload(r, hdr, &p, &len, err));
    TMS_FORWARD(parse_head(r, p, len, err));
    r->in_section = 0;
    return TMS_OK;
}

static int open_finish(tms_reader **out, tms_reader *r, tms_error *err)
{
    int rc = read_start(r, err);
    if (rc < 0) {
        tms_reader_close(r);
        *out = NULL;
        return rc;
    }
    *out = r;
    return TMS_OK;
}

int tms_reader_open_fd(tms_reader **out, int fd, const char *name,
                       tms_error *err)
{
    tms_reader *r = NULL;
    int e = 0;
    if (out == NULL || fd < 0)
        return tms_fail(err, TMS_E_ARG, "tms_reader_open_fd: bad argument");
    TMS_FORWARD(reader_new(&r, name, err));
    int rc = tms_source_fd(&r->src, fd, &e);
    if (rc < 0) {
        rc = src_error(r, err, rc, e, "fstat");
        tms_reader_close(r);
        return rc;
    }
    return open_finish(out, r, err);
}

int tms_reader_open_path(tms_reader **out, const char *path, tms_error *err)
{
    if (out == NULL || path == NULL)
        return tms_fail(err, TMS_E_ARG, "tms_reader_open_path: bad argument");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        char shown[300];
        tms_escape(shown, sizeof shown, path, strlen(path));
        return tms_fail(err, TMS_E_OPEN, "cannot open '%s': %s", shown,
                        strerror(e));
    }
    int rc = tms_reader_open_fd(out, fd, path, err);
    if (rc < 0)
        close(fd);
    else
        (*out)->own_fd = 1;
    return rc;
}

int tms_reader_open_buffer(tms_reader **out, const void *buf, size_t len,
                           const char *name, tms_error *err)
{
    tms_reader *r = NULL;
    if (out == NULL || (buf == NULL && len))
        return tms_fail(err, TMS_E_ARG, "tms_reader_open_buffer: bad argument");
    TMS_FORWARD(reader_new(&r, name ? name : "<buffer>", err));
    tms_source_mem(&r->src, buf, len);
    return open_finish(out, r, err);
}

const tms_header *tms_reader_header(const tms_reader *r)
{
    return r ? &r->header : NULL;
}

/* END payload against the sections passed, then the footer (SPEC §2.3). */
static int read_end(tms_reader *r, const uint8_t *p, size_t len,
                    tms_error *err)
{
    const uint8_t *end = p + len;
    uint64_t n, off;
    uint64_t end_at = r->index[r->nindex - 1].offset, before = r->nindex - 1;
    if (tms_get_varint(&p, end, &n) < 0 || n != before)
        return tms_rfail(r, err, TMS_E_CORRUPT, "index does not list the %llu "
                         "sections before it", (unsigned long long)before);
    for (uint64_t i = 0; i < n; i++) {
        if (end - p < 4 || memcmp(p, r->index[i].tag, 4) != 0)
            return tms_rfail(r, err, TMS_E_CORRUPT, "index entry %llu: wrong "
                             "tag", (unsigned long long)i);
        p += 4;
        if (tms_get_varint(&p, end, &off) < 0 || off != r->index[i].offset)
            return tms_rfail(r, err, TMS_E_CORRUPT, "index entry %llu: wrong "
                             "offset", (unsigned long long)i);
    }
    if (p != end)
        return tms_rfail(r, err, TMS_E_CORRUPT, "bytes after the index");
    uint8_t foot[16], extra;
    r->in_section = 0;
    TMS_FORWARD(read_exact(r, foot, 16, "footer", err));
    if (memcmp(foot + 8, END_MAGIC, 8) != 0)
        return tms_rfail(r, err, TMS_E_CORRUPT, "bad footer magic");
    if (tms_get_u64(foot) != end_at)
        return tms_rfail(r, err, TMS_E_CORRUPT, "footer points at offset %llu, "
                         "END is at %llu", (unsigned long long)tms_get_u64(foot),
                         (unsigned long long)end_at);
    size_t got;
    int e = 0;
    int rc = tms_source_read(&r->src, &extra, 1, &got, &e);
    if (rc < 0)
        return src_error(r, err, rc, e, "after the footer");
    if (got)
        return tms_rfail(r, err, TMS_E_CORRUPT, "bytes after the footer");
    return TMS_OK;
}

int tms_reader_read(tms_reader *r, tms_snapshot *into, unsigned flags,
                    tms_trace_fn fn, void *ctx, tms_error *err)
{
    if (r == NULL || into == NULL)
        return tms_fail(err, TMS_E_ARG, "tms_reader_read: bad argument");
    if (r->done || into->nstrings || into->nframes || into->ntracebacks ||
        into->ntraces || into->nstats || into->nmetrics || into->nmeta)
        return tms_rfail(r, err, TMS_E_STATE, "tms_reader_read: called twice "
                         "or into a non-empty snapshot");
    r->done = 1;
    into->header = r->header;
    for (;;) {
        uint8_t hdr[20];
        const uint8_t *p;
        size_t len;
        TMS_FORWARD(next_header(r, hdr, err));
        /* a DOMS describes the chunk right after it (§4.13) */
        if ((r->ndoms || r->doms_skipped) && memcmp(hdr, "TRCS", 4) != 0)
            return tms_rfail(r, err, TMS_E_CORRUPT, "DOMS not followed by "
                             "a TRCS section");
        r->doms_skipped = 0;
        if (!is_known(hdr)) {
            int e = 0, rc = tms_source_skip(&r->src, tms_get_u32(hdr + 12), &e);
            if (rc < 0)
                return src_error(r, err, rc, e, "unknown section");
            continue;
        }
        int skip = (memcmp(hdr, "TRCS", 4) == 0 ||
                    memcmp(hdr, "DOMS", 4) == 0) &&
                   (flags & TMS_LOAD_SKIP_TRACES);
        if (skip && memcmp(hdr, "DOMS", 4) == 0)
            r->doms_skipped = 1;
        /* SMPL must precede every section whose sizes it qualifies */
        if (memcmp(hdr, "TRCS", 4) == 0 || memcmp(hdr, "STAT", 4) == 0 ||
            memcmp(hdr, "PEAK", 4) == 0)
            r->sizes_seen = 1;
        TMS_FORWARD(check_frame(r, hdr, skip,
                                !(flags & TMS_LOAD_NO_VERIFY_SKIPPED), err));
        if (skip)
            continue;
        TMS_FORWARD(load_payload(r, hdr, &p, &len, err));
        if (memcmp(hdr, "END ", 4) == 0)
            return read_end(r, p, len, err);
        int rc = tms_parse_section(r, into, p, len, fn, ctx, err);
        if (rc != 0)
            return rc;
    }
}

void tms_reader_close(tms_reader *r)
{
    if (r == NULL)
        return;
    if (r->own_fd)
        close(r->src.fd);
    tms_source_free(&r->src);
    tms_buf_free(&r->stored);
    tms_buf_free(&r->raw);
    tms_zstd_free_dctx(r->dctx);
    tms_parse_state_free(r);
    free(r->index);
    free(r->name);
    free(r);
}
