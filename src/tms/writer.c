/* writer.c -- the streaming .tms writer (format/SPEC.md; checklist W1-W10).
 *
 * One pass, bounded memory: dictionary entries are staged in per-section
 * buffers and emitted when a buffer grows past DICT_FLUSH or just before a
 * section that may refer to them (STRS, then FRMS, FNAM and TBKS, so ids
 * are always defined before use).  Traces are staged in one chunk of
 * TMS_TRACE_CHUNK, sorted and emitted as a TRCS when it fills.
 *
 * The writer checks that every id refers to an entry already added
 * (TMS_E_ARG, writer still usable) and refuses duplicates (unique.c;
 * TMS_E_ARG, fatal).  After any fatal failure the writer is dead: later
 * calls return TMS_E_STATE, and close/abort remove the temporary file. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec.h"
#include "unique.h"

enum { SINK_PATH, SINK_FD, SINK_BUFFER };

#define FLUSH_OUT (1u << 20)    /* staged bytes before a write(2) */
#define DICT_FLUSH (4u << 20)   /* raw bytes of a staged dictionary section */
#define STAT_CHUNK 65536u
#define COMPRESS_MIN 64         /* smaller payloads cannot win from zstd */

typedef struct pending {
    tms_buf body;
    uint64_t n;
} pending;

typedef struct index_entry {
    uint8_t tag[4];
    uint64_t offset;
} index_entry;

struct tms_writer {
    int sink, fd;
    char *name;          /* for messages */
    char *tmp;           /* SINK_PATH: temporary file until renamed */
    int failed;
    int level;
    tms_buf out;         /* staged output; all of it for SINK_BUFFER */
    uint64_t offset;     /* file bytes emitted so far */
    index_entry *index;
    uint64_t nindex, cap_index;
    uint64_t nstrings, nframes, ntracebacks;
    pending strs, frms, tbks, mtrc, meta;
    uint8_t *named;      /* per frame: has a FNAM entry (1.1) */
    uint64_t cap_named, nnamed;   /* bytes allocated, bytes zeroed */
    int wrote_peak;
    tms_buf stat_col[3];
    uint64_t nstat;
    tms_trace *chunk, *chunk_tmp;
    size_t nchunk;
    int has_traces, wrote_trcs;
    tms_buf payload, zbuf;
    void *cctx;
    tms_unique *uniq;
    int trust_unique;    /* addresses unique by the caller's word */
};

static int wfail(tms_writer *w, tms_error *err, int code, const char *what,
                 const char *detail)
{
    w->failed = code;
    return tms_fail(err, code, "cannot write '%s': %s%s%s", w->name, what,
                    detail ? ": " : "", detail ? detail : "");
}

/* A duplicate (or no memory to check for one) kills the writer. */
static int uniq_rc(tms_writer *w, tms_error *err, int rc, const char *what,
                   uint64_t i)
{
    char at[32];
    if (rc == TMS_OK)
        return TMS_OK;
    if (rc != TMS_E_ARG)
        return wfail(w, err, rc, "out of memory", NULL);
    snprintf(at, sizeof at, "entry %llu", (unsigned long long)i);
    return wfail(w, err, TMS_E_ARG, what, at);
}

static int dead(tms_writer *w, tms_error *err)
{
    if (w == NULL)
        return tms_fail(err, TMS_E_ARG, "tms_writer: NULL writer");
    return tms_fail(err, TMS_E_STATE,
                    "cannot write '%s': the writer failed earlier", w->name);
}

/* --- output sink --------------------------------------------------------- */
static int sink_flush(tms_writer *w, tms_error *err)
{
    size_t done = 0;
    if (w->sink == SINK_BUFFER)
        return TMS_OK;
    while (done < w->out.len) {
        ssize_t k = write(w->fd, w->out.p + done, w->out.len - done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return wfail(w, err, TMS_E_IO, "write failed",
                         strerror(k < 0 ? errno : EIO));
        done += (size_t)k;
    }
    w->out.len = 0;
    return TMS_OK;
}

static int sink_put(tms_writer *w, const void *p, size_t n, tms_error *err)
{
    if (tms_buf_put(&w->out, p, n) < 0)
        return wfail(w, err, TMS_E_NOMEM, "out of memory", NULL);
    w->offset += n;
    if (w->out.len >= FLUSH_OUT)
        return sink_flush(w, err);
    return TMS_OK;
}

/* Frame and emit one section (SPEC §3): compressed when that is smaller. */
static int emit(tms_writer *w, const char tag[4], const uint8_t *data,
                size_t len, tms_error *err)
{
    const uint8_t *stored = data;
    size_t slen = len;
    uint32_t flags = 0;
    uint8_t hdr[20];
    if (len > TMS_MAX_SECTION_RAW)
        return wfail(w, err, TMS_E_LIMIT, "section larger than 2^28 bytes",
                     NULL);
    if (len >= COMPRESS_MIN && w->level > 0) {
        const char *why = NULL;
        int rc = tms_zstd_compress(&w->cctx, &w->zbuf, data, len, w->level,
                                   &why);
        if (rc < 0)
            return wfail(w, err, rc, "zstd compression failed", why);
        if (w->zbuf.len < len) {
            stored = w->zbuf.p;
            slen = w->zbuf.len;
            flags = 1;
        }
    }
    memcpy(hdr, tag, 4);
    tms_put_u32(hdr + 4, flags);
    tms_put_u32(hdr + 8, (uint32_t)len);
    tms_put_u32(hdr + 12, (uint32_t)slen);
    tms_put_u32(hdr + 16, tms_crc32(tms_crc32(0, hdr, 16), stored, slen));
    if (tms_grow((void **)&w->index, &w->cap_index, w->nindex + 1,
                 sizeof *w->index) < 0)
        return wfail(w, err, TMS_E_NOMEM, "out of memory", NULL);
    memcpy(w->index[w->nindex].tag, tag, 4);
    w->index[w->nindex++].offset = w->offset;
    TMS_FORWARD(sink_put(w, hdr, sizeof hdr, err));
    return sink_put(w, stored, slen, err);
}

/* Emit "varint n" + body as one section, then empty the pending buffer. */
static int flush_pending(tms_writer *w, const char tag[4], pending *pd,
                         tms_error *err)
{
    if (pd->n == 0)
        return TMS_OK;
    w->payload.len = 0;
    if (tms_buf_varint(&w->payload, pd->n) < 0 ||
        tms_buf_put(&w->payload, pd->body.p, pd->body.len) < 0)
        return wfail(w, err, TMS_E_NOMEM, "out of memory", NULL);
    pd->n = 0;
    pd->body.len = 0;
    return emit(w, tag, w->payload.p, w->payload.len, err);
}

/* Dictionaries in dependency order: ids are defined before any use. */
static int flush_dicts(tms_writer *w, tms_error *err)
{
    TMS_FORWARD(flush_pending(w, "STRS", &w->strs, err));
    TMS_FORWARD(flush_pending(w, "FRMS", &w->frms, err));
    return flush_pending(w, "TBKS", &w->tbks, err);
}

static int flush_if_big(tms_writer *w, const pending *pd, tms_error *err)
{
    return pd->body.len >= DICT_FLUSH ? flush_dicts(w, err) : TMS_OK;
}

/* --- traces -------------------------------------------------------------- */
/* DOMS (1.3, SPEC §4.13) right before a chunk whose traces are not all
 * in domain 0: their positions (delta-coded) and domains. */
static int emit_doms(tms_writer *w, const tms_trace *t, size_t n,
                     tms_error *err)
{
    size_t nd = 0;
    for (size_t i = 0; i < n; i++)
        nd += t[i].domain != TMS_DOMAIN_PYTHON;
    if (nd == 0)
        return TMS_OK;
    w->payload.len = 0;
    if (tms_buf_reserve(&w->payload, TMS_VARINT_MAX +
                                         nd * 2 * TMS_VARINT_MAX) < 0)
        return wfail(w, err, TMS_E_NOMEM, "out of memory", NULL);
    uint8_t *p = tms_put_varint(w->payload.p, nd);
    size_t prev = 0;
    for (size_t i = 0; i < n; i++)
        if (t[i].domain != TMS_DOMAIN_PYTHON) {
            p = tms_put_varint(p, i - prev);
            prev = i;
        }
    for (size_t i = 0; i < n; i++)
        if (t[i].domain != TMS_DOMAIN_PYTHON)
            p = tms_put_varint(p, t[i].domain);
    w->payload.len = (size_t)(p - w->payload.p);
    return emit(w, "DOMS", w->payload.p, w->payload.len, err);
}

/* Sort the staged chunk and emit it as one TRCS (SPEC §4.5). */
static int flush_chunk(tms_writer *w, tms_error *err)
{
    size_t n = w->nchunk;
    tms_trace *t = w->chunk;
    TMS_FORWARD(flush_dicts(w, err));
    if (n)
        t = tms_sort_traces(t, w->chunk_tmp, n);   /* chunk is scratch now */
    uint64_t or_all = 0;
    for (size_t i = 0; i < n; i++) {
        if (i && t[i].address == t[i - 1].address) {
            char a[32];
            snprintf(a, sizeof a, "0x%llx", (unsigned long long)t[i].address);
            return wfail(w, err, TMS_E_ARG, "duplicate trace address", a);
        }
        or_all |= t[i].address;
    }
    if (!w->trust_unique)
        TMS_FORWARD(uniq_rc(w, err, tms_unique_chunk(w->uniq, t, n),
                            "trace address already in an earlier chunk", 0));
    unsigned shift = or_all ? (unsigned)__builtin_ctzll(or_all) : 0;
    TMS_FORWARD(emit_doms(w, t, n, err));
    w->payload.len = 0;
    if (tms_buf_reserve(&w->payload, 2 * TMS_VARINT_MAX +
                                         n * (2 * TMS_VARINT_MAX + 5)) < 0)
        return wfail(w, err, TMS_E_NOMEM, "out of memory", NULL);
    uint8_t *p = w->payload.p;
    p = tms_put_varint(p, n);
    p = tms_put_varint(p, shift);
    uint64_t prev = 0;
    for (size_t i = 0; i < n; i++) {
        p = tms_put_varint(p, (t[i].address - prev) >> shift);
        prev = t[i].address;
    }
    for (size_t i = 0; i < n; i++)
        p = tms_put_varint(p, t[i].size);
    for (size_t i = 0; i < n; i++)
        p = tms_put_varint(p, t[i].traceback);
    w->payload.len = (size_t)(p - w->payload.p);
    w->nchunk = 0;
    w->wrote_trcs = 1;
    return emit(w, "TRCS", w->payload.p, w->payload.len, err);
}

static int flush_stats(tms_writer *w, tms_error *err)
{
    if (w->nstat == 0)
        return TMS_OK;
    TMS_FORWARD(flush_dicts(w, err));
    w->payload.len = 0;
    int rc = tms_buf_varint(&w->payload, w->nstat);
    for (int c = 0; c < 3 && rc == TMS_OK; c++)
        rc = tms_buf_put(&w->payload, w->stat_col[c].p, w->stat_col[c].len);
    if (rc < 0)
        return wfail(w, err, TMS_E_NOMEM, "out of memory", NULL);
    for (int c = 0; c < 3; c++)
        w->stat_col[c].len = 0;
    w->nstat = 0;
    return emit(w, "STAT", w->payload.p, w->payload.len, err);
}

/* --- opening --------------------------------------------------------------- */
static int put_text(tms_buf *b, const char *text)
{
    size_t n = strnlen(text, TMS_MAX_TEXT_FIELD + 1);
    if (n > TMS_MAX_TEXT_FIELD)
        return TMS_E_ARG;
    uint8_t len = (uint8_t)n;
    if (tms_buf_put(b, &len, 1) < 0 || tms_buf_put(b, text, n) < 0)
        return TMS_E_NOMEM;
    return TMS_OK;
}

/* Preamble and HEAD (SPEC §2.1, §4.1). */
static int write_start(tms_writer *w, const tms_header *h, tms_error *err)
{
    static const uint8_t magic[8] = { 0x89, 'T', 'M', 'S', 0x0D, 0x0A, 0x1A,
                                      0x0A };
    uint8_t pre[12], fixed[40];
    memcpy(pre, magic, 8);
    tms_put_u16(pre + 8, TMS_FORMAT_MAJOR);
    tms_put_u16(pre + 10, TMS_FORMAT_MINOR);
    TMS_FORWARD(sink_put(w, pre, sizeof pre, err));
    tms_put_u64(fixed, (uint64_t)h->pid);
    tms_put_u64(fixed + 8, (uint64_t)h->timestamp_ns);
    tms_put_u32(fixed + 16, h->traceback_limit);
    memcpy(fixed + 20, h->series_id, 16);
    tms_put_u32(fixed + 36, 0);
    w->payload.len = 0;
    int rc = tms_buf_put(&w->payload, fixed, sizeof fixed);
    if (rc == TMS_OK)
        rc = put_text(&w->payload, h->python_version);
    if (rc == TMS_OK)
        rc = put_text(&w->payload, h->writer_name);
    if (rc == TMS_OK)
        rc = put_text(&w->payload, h->writer_version);
    if (rc < 0)
        return wfail(w, err, rc, rc == TMS_E_ARG ? "header text field not "
                     "NUL-terminated within 255 bytes" : "out of memory", NULL);
    TMS_FORWARD(emit(w, "HEAD", w->payload.p, w->payload.len, err));
    if (h->sample_interval == 0)
        return TMS_OK;
    /* SMPL (1.2, §4.12) before any section that carries sizes */
    w->payload.len = 0;
    if (tms_buf_varint(&w->payload, h->sample_interval) < 0)
        return wfail(w, err, TMS_E_NOMEM, "out of memory", NULL);
    return emit(w, "SMPL", w->payload.p, w->payload.len, err);
}

static int writer_new(tms_writer **out, int sink, int fd, const char *name,
                      tms_error *err)
{
    tms_writer *w = calloc(1, sizeof *w);
    if (w == NULL || (w->name = strdup(name ? name : "<fd>")) == NULL) {
        free(w);
        return tms_fail(err, TMS_E_NOMEM, "cannot write '%s': out of memory",
                        name ? name : "<fd>");
    }
    if ((w->uniq = tms_unique_new()) == NULL) {
        free(w->name);
        free(w);
        return tms_fail(err, TMS_E_NOMEM, "cannot write '%s': out of memory",
                        name ? name : "<fd>");
    }
    w->sink = sink;
    w->fd = fd;
    w->level = TMS_ZSTD_LEVEL;
    *out = w;
    return TMS_OK;
}

static void writer_free(tms_writer *w)
{
    tms_buf_free(&w->out);
    tms_buf_free(&w->payload);
    tms_buf_free(&w->zbuf);
    pending *pds[] = { &w->strs, &w->frms, &w->tbks, &w->mtrc, &w->meta };
    for (size_t i = 0; i < sizeof pds / sizeof pds[0]; i++)
        tms_buf_free(&pds[i]->body);
    for (int c = 0; c < 3; c++)
        tms_buf_free(&w->stat_col[c]);
    tms_zstd_free_cctx(w->cctx);
    tms_unique_free(w->uniq);
    free(w->index);
    free(w->named);
    free(w->chunk);
    free(w->chunk_tmp);
    free(w->tmp);
    free(w->name);
    free(w);
}

void tms_writer_set_level(tms_writer *w, int level)
{
    if (w != NULL)
        w->level = level;
}

static int start_or_free(tms_writer **out, const tms_header *h,
                         tms_error *err)
{
    int rc = write_start(*out, h, err);
    if (rc < 0) {
        tms_writer_abort(*out);
        *out = NULL;
    }
    return rc;
}

int tms_writer_open_fd(tms_writer **w, int fd, const char *name,
                       const tms_header *h, tms_error *err)
{
    if (w == NULL || h == NULL || fd < 0)
        return tms_fail(err, TMS_E_ARG, "tms_writer_open_fd: bad argument");
    TMS_FORWARD(writer_new(w, SINK_FD, fd, name, err));
    return start_or_free(w, h, err);
}

int tms_writer_open_buffer(tms_writer **w, const tms_header *h, tms_error *err)
{
    if (w == NULL || h == NULL)
        return tms_fail(err, TMS_E_ARG, "tms_writer_open_buffer: bad argument");
    TMS_FORWARD(writer_new(w, SINK_BUFFER, -1, "<buffer>", err));
    return start_or_free(w, h, err);
}

int tms_writer_open_path(tms_writer **w, const char *path,
                         const tms_header *h, tms_error *err)
{
    struct stat st;
    if (w == NULL || h == NULL || path == NULL || *path == '\0')
        return tms_fail(err, TMS_E_ARG, "tms_writer_open_path: bad argument");
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return tms_fail(err, TMS_E_OPEN, "cannot write '%s': is a directory",
                        path);
    TMS_FORWARD(writer_new(w, SINK_PATH, -1, path, err));
    int rc = tms_atomic_create((*w)->name, &(*w)->tmp, &(*w)->fd, err);
    if (rc < 0) {
        writer_free(*w);
        *w = NULL;
        return rc;
    }
    return start_or_free(w, h, err);
}

/* --- dictionaries and tables ---------------------------------------------- */
#define LIVE(w, err)                                                          \
    do {                                                                      \
        if ((w) == NULL || (w)->failed)                                       \
            return dead((w), (err));                                          \
    } while (0)

static int nomem(tms_writer *w, tms_error *err)
{
    return wfail(w, err, TMS_E_NOMEM, "out of memory", NULL);
}

/* Caller errors leave the writer usable: nothing was staged yet. */
static int bad(tms_writer *w, tms_error *err, int code, const char *what,
               uint64_t i)
{
    return tms_fail(err, code, "cannot write '%s': entry %llu: %s", w->name,
                    (unsigned long long)i, what);
}

int tms_writer_add_strings(tms_writer *w, const tms_string *strs, uint32_t n,
                           tms_error *err)
{
    LIVE(w, err);
    if (strs == NULL && n)
        return bad(w, err, TMS_E_ARG, "NULL strings", 0);
    if (w->nstrings + n > UINT32_MAX - 1)
        return bad(w, err, TMS_E_LIMIT, "too many strings", w->nstrings);
    for (uint32_t i = 0; i < n; i++) {
        if (strs[i].len > TMS_MAX_STRING_LEN)
            return bad(w, err, TMS_E_LIMIT, "string longer than 2^20", i);
        if (strs[i].data == NULL && strs[i].len)
            return bad(w, err, TMS_E_ARG, "NULL string data", i);
    }
    for (uint32_t i = 0; i < n; i++) {
        TMS_FORWARD(uniq_rc(w, err, tms_unique_string(w->uniq, strs[i].data,
                                                      strs[i].len),
                            "duplicate string", i));
        if (tms_buf_varint(&w->strs.body, strs[i].len) < 0 ||
            tms_buf_put(&w->strs.body, strs[i].data, strs[i].len) < 0)
            return nomem(w, err);
        w->strs.n++;
        w->nstrings++;
        TMS_FORWARD(flush_if_big(w, &w->strs, err));
    }
    return TMS_OK;
}

int tms_writer_add_frames(tms_writer *w, const tms_frame *frames, uint32_t n,
                          tms_error *err)
{
    LIVE(w, err);
    if (frames == NULL && n)
        return bad(w, err, TMS_E_ARG, "NULL frames", 0);
    if (w->nframes + n > UINT32_MAX - 1)
        return bad(w, err, TMS_E_LIMIT, "too many frames", w->nframes);
    for (uint32_t i = 0; i < n; i++) {
        if (frames[i].filename != TMS_NONE && frames[i].filename >= w->nstrings)
            return bad(w, err, TMS_E_ARG, "filename is not a string id", i);
        if (frames[i].lineno < TMS_LINENO_NONE)
            return bad(w, err, TMS_E_ARG, "negative line number", i);
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t f = frames[i].filename;
        TMS_FORWARD(uniq_rc(w, err, tms_unique_frame(w->uniq, f,
                                                     frames[i].lineno),
                            "duplicate frame", i));
        if (tms_buf_varint(&w->frms.body, f == TMS_NONE ? 0 : (uint64_t)f + 1) < 0 ||
            tms_buf_varint(&w->frms.body, (uint64_t)((int64_t)frames[i].lineno + 1)) < 0)
            return nomem(w, err);
        w->frms.n++;
        w->nframes++;
    }
    return flush_if_big(w, &w->frms, err);
}

int tms_writer_add_tracebacks(tms_writer *w, const uint32_t *frames,
                              const uint64_t *start, uint32_t n,
                              tms_error *err)
{
    LIVE(w, err);
    if (start == NULL && n)
        return bad(w, err, TMS_E_ARG, "NULL start", 0);
    if (w->ntracebacks + n > UINT32_MAX - 1)
        return bad(w, err, TMS_E_LIMIT, "too many tracebacks", w->ntracebacks);
    for (uint32_t k = 0; k < n; k++) {
        if (start[k + 1] < start[k])
            return bad(w, err, TMS_E_ARG, "start is not ascending", k);
        if (start[k + 1] - start[k] > TMS_MAX_TRACEBACK_LEN)
            return bad(w, err, TMS_E_LIMIT, "traceback longer than 65535", k);
        if (frames == NULL && start[k + 1] > start[k])
            return bad(w, err, TMS_E_ARG, "NULL frames", k);
        for (uint64_t j = start[k]; j < start[k + 1]; j++)
            if (frames[j] >= w->nframes)
                return bad(w, err, TMS_E_ARG, "frame id not defined", k);
    }
    for (uint32_t k = 0; k < n; k++) {
        uint32_t len = (uint32_t)(start[k + 1] - start[k]);
        TMS_FORWARD(uniq_rc(w, err, tms_unique_traceback(w->uniq, len ?
                                frames + start[k] : NULL, len),
                            "duplicate traceback", k));
        if (tms_buf_varint(&w->tbks.body, len) < 0)
            return nomem(w, err);
        for (uint64_t j = start[k]; j < start[k + 1]; j++)
            if (tms_buf_varint(&w->tbks.body, frames[j]) < 0)
                return nomem(w, err);
        w->tbks.n++;
        w->ntracebacks++;
        TMS_FORWARD(flush_if_big(w, &w->tbks, err));
    }
    return TMS_OK;
}

const char *tms_writer_temp_name(const tms_writer *w)
{
    return w != NULL && w->sink == SINK_PATH ? w->tmp : NULL;
}

void tms_writer_trust_unique_addresses(tms_writer *w)
{
    if (w != NULL)
        w->trust_unique = 1;
}

int tms_writer_begin_traces(tms_writer *w, tms_error *err)
{
    LIVE(w, err);
    w->has_traces = 1;
    return TMS_OK;
}

int tms_writer_add_traces(tms_writer *w, const tms_trace *traces, size_t n,
                          tms_error *err)
{
    LIVE(w, err);
    if (traces == NULL && n)
        return bad(w, err, TMS_E_ARG, "NULL traces", 0);
    for (size_t i = 0; i < n; i++)
        if (traces[i].traceback >= w->ntracebacks)
            return bad(w, err, TMS_E_ARG, "traceback id not defined", i);
    if (w->chunk == NULL) {
        w->chunk = malloc(TMS_TRACE_CHUNK * sizeof *w->chunk);
        w->chunk_tmp = malloc(TMS_TRACE_CHUNK * sizeof *w->chunk_tmp);
        if (w->chunk == NULL || w->chunk_tmp == NULL)
            return nomem(w, err);
    }
    w->has_traces = 1;
    while (n) {
        size_t k = TMS_TRACE_CHUNK - w->nchunk;
        if (k > n)
            k = n;
        memcpy(w->chunk + w->nchunk, traces, k * sizeof *traces);
        w->nchunk += k;
        traces += k;
        n -= k;
        if (w->nchunk == TMS_TRACE_CHUNK)
            TMS_FORWARD(flush_chunk(w, err));
    }
    return TMS_OK;
}

int tms_writer_add_stats(tms_writer *w, const tms_stat *stats, size_t n,
                         tms_error *err)
{
    LIVE(w, err);
    if (stats == NULL && n)
        return bad(w, err, TMS_E_ARG, "NULL stats", 0);
    for (size_t i = 0; i < n; i++)
        if (stats[i].frame >= w->nframes)
            return bad(w, err, TMS_E_ARG, "frame id not defined", i);
    for (size_t i = 0; i < n; i++) {
        TMS_FORWARD(uniq_rc(w, err, tms_unique_stat(w->uniq, stats[i].frame),
                            "second stat entry for a frame", i));
        if (tms_buf_varint(&w->stat_col[0], stats[i].frame) < 0 ||
            tms_buf_varint(&w->stat_col[1], stats[i].size) < 0 ||
            tms_buf_varint(&w->stat_col[2], stats[i].count) < 0)
            return nomem(w, err);
        if (++w->nstat == STAT_CHUNK)
            TMS_FORWARD(flush_stats(w, err));
    }
    return TMS_OK;
}

/* Each call is one FNAM section, emitted after the dictionaries it refers
 * to (a caller names frames once, after adding them). */
int tms_writer_add_functions(tms_writer *w, const uint32_t *frames,
                             const uint32_t *names, uint32_t n,
                             tms_error *err)
{
    LIVE(w, err);
    if ((frames == NULL || names == NULL) && n)
        return bad(w, err, TMS_E_ARG, "NULL frames or names", 0);
    for (uint32_t i = 0; i < n; i++)
        if (frames[i] >= w->nframes || names[i] >= w->nstrings)
            return bad(w, err, TMS_E_ARG, "frame or name id not defined", i);
    if (tms_grow((void **)&w->named, &w->cap_named, w->nframes, 1) < 0)
        return nomem(w, err);
    if (w->nframes > w->nnamed) {   /* fresh bytes read as "not named" */
        memset(w->named + w->nnamed, 0, w->nframes - w->nnamed);
        w->nnamed = w->nframes;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (w->named[frames[i]])
            return wfail(w, err, TMS_E_ARG, "frame named twice", NULL);
        w->named[frames[i]] = 1;
    }
    TMS_FORWARD(flush_dicts(w, err));
    w->payload.len = 0;
    int rc = tms_buf_varint(&w->payload, n);
    for (uint32_t i = 0; i < n && rc == TMS_OK; i++)
        rc = tms_buf_varint(&w->payload, frames[i]);
    for (uint32_t i = 0; i < n && rc == TMS_OK; i++)
        rc = tms_buf_varint(&w->payload, names[i]);
    if (rc < 0)
        return nomem(w, err);
    return n ? emit(w, "FNAM", w->payload.p, w->payload.len, err) : TMS_OK;
}

int tms_writer_add_peak(tms_writer *w, const tms_peak_info *p,
                        const tms_peak_entry *e, size_t n, tms_error *err)
{
    LIVE(w, err);
    if (p == NULL || (e == NULL && n))
        return bad(w, err, TMS_E_ARG, "NULL peak or entries", 0);
    if (w->wrote_peak)
        return tms_fail(err, TMS_E_STATE, "cannot write '%s': the peak was "
                        "already written", w->name);
    if (p->recorded_size > p->size)
        return bad(w, err, TMS_E_ARG, "recorded_size above the peak", 0);
    for (size_t i = 0; i < n; i++)
        if (e[i].traceback >= w->ntracebacks)
            return bad(w, err, TMS_E_ARG, "traceback id not defined", i);
    uint8_t *seen = calloc(w->ntracebacks ? w->ntracebacks : 1, 1);
    if (seen == NULL)
        return nomem(w, err);
    for (size_t i = 0; i < n; i++) {
        if (seen[e[i].traceback]++) {
            free(seen);
            return wfail(w, err, TMS_E_ARG, "traceback twice in the peak",
                         NULL);
        }
    }
    free(seen);
    TMS_FORWARD(flush_dicts(w, err));
    w->wrote_peak = 1;
    size_t done = 0;
    do {   /* at least one section: a peak with no entries is n = 0 */
        size_t k = n - done > TMS_PEAK_CHUNK ? TMS_PEAK_CHUNK : n - done;
        w->payload.len = 0;
        int rc = tms_buf_varint(&w->payload, p->size);
        if (rc == TMS_OK)
            rc = tms_buf_varint(&w->payload, p->recorded_size);
        if (rc == TMS_OK)
            rc = tms_buf_varint(&w->payload, tms_zigzag(p->recorded_ns));
        if (rc == TMS_OK)
            rc = tms_buf_varint(&w->payload, k);
        for (size_t i = done; i < done + k && rc == TMS_OK; i++)
            rc = tms_buf_varint(&w->payload, e[i].traceback);
        for (size_t i = done; i < done + k && rc == TMS_OK; i++)
            rc = tms_buf_varint(&w->payload, e[i].size);
        for (size_t i = done; i < done + k && rc == TMS_OK; i++)
            rc = tms_buf_varint(&w->payload, e[i].count);
        if (rc < 0)
            return nomem(w, err);
        TMS_FORWARD(emit(w, "PEAK", w->payload.p, w->payload.len, err));
        done += k;
    } while (done < n);
    return TMS_OK;
}

static int put_name(tms_buf *b, const char *s)
{
    size_t n = strlen(s);
    if (tms_buf_varint(b, n) < 0 || tms_buf_put(b, s, n) < 0)
        return TMS_E_NOMEM;
    return TMS_OK;
}

int tms_writer_add_metrics(tms_writer *w, const tms_metric *m, uint32_t n,
                           tms_error *err)
{
    LIVE(w, err);
    if (m == NULL && n)
        return bad(w, err, TMS_E_ARG, "NULL metrics", 0);
    for (uint32_t i = 0; i < n; i++) {
        if (m[i].name == NULL || (unsigned)m[i].format > TMS_FORMAT_SIZE ||
            (unsigned)m[i].kind > TMS_VALUE_FLOAT)
            return bad(w, err, TMS_E_ARG, "bad metric", i);
        if (strlen(m[i].name) > TMS_MAX_STRING_LEN)
            return bad(w, err, TMS_E_LIMIT, "metric name longer than 2^20", i);
    }
    for (uint32_t i = 0; i < n; i++) {
        uint8_t code[2 + TMS_VARINT_MAX];   /* zigzag varint: up to 10 */
        size_t clen = 2;
        TMS_FORWARD(uniq_rc(w, err, tms_unique_metric(w->uniq, m[i].name),
                            "duplicate metric name", i));
        code[0] = (uint8_t)m[i].format;
        code[1] = (uint8_t)m[i].kind;
        if (m[i].kind == TMS_VALUE_FLOAT) {
            uint64_t bits;
            memcpy(&bits, &m[i].f, 8);
            tms_put_u64(code + 2, bits);
            clen += 8;
        } else {
            clen = (size_t)(tms_put_varint(code + 2, tms_zigzag(m[i].i)) - code);
        }
        if (put_name(&w->mtrc.body, m[i].name) < 0 ||
            tms_buf_put(&w->mtrc.body, code, clen) < 0)
            return nomem(w, err);
        w->mtrc.n++;
        if (w->mtrc.body.len >= DICT_FLUSH)
            TMS_FORWARD(flush_pending(w, "MTRC", &w->mtrc, err));
    }
    return TMS_OK;
}

int tms_writer_add_meta(tms_writer *w, const tms_meta *m, uint32_t n,
                        tms_error *err)
{
    LIVE(w, err);
    if (m == NULL && n)
        return bad(w, err, TMS_E_ARG, "NULL metadata", 0);
    for (uint32_t i = 0; i < n; i++) {
        if (m[i].key == NULL || m[i].value == NULL)
            return bad(w, err, TMS_E_ARG, "NULL key or value", i);
        if (strlen(m[i].key) > TMS_MAX_STRING_LEN ||
            strlen(m[i].value) > TMS_MAX_STRING_LEN)
            return bad(w, err, TMS_E_LIMIT, "key or value longer than 2^20", i);
    }
    for (uint32_t i = 0; i < n; i++) {
        TMS_FORWARD(uniq_rc(w, err, tms_unique_meta(w->uniq, m[i].key),
                            "duplicate metadata key", i));
        if (put_name(&w->meta.body, m[i].key) < 0 ||
            put_name(&w->meta.body, m[i].value) < 0)
            return nomem(w, err);
        w->meta.n++;
        if (w->meta.body.len >= DICT_FLUSH)
            TMS_FORWARD(flush_pending(w, "META", &w->meta, err));
    }
    return TMS_OK;
}

/* --- finishing ------------------------------------------------------------ */
/* Everything staged, then END and the footer (SPEC §2.3, §4.9). */
static int write_end(tms_writer *w, tms_error *err)
{
    static const uint8_t end_magic[8] = { 0x89, 'T', 'M', 'S', 'E', 'N', 'D',
                                          0x0A };
    TMS_FORWARD(flush_dicts(w, err));
    TMS_FORWARD(flush_stats(w, err));
    TMS_FORWARD(flush_pending(w, "MTRC", &w->mtrc, err));
    TMS_FORWARD(flush_pending(w, "META", &w->meta, err));
    if (w->nchunk || (w->has_traces && !w->wrote_trcs))
        TMS_FORWARD(flush_chunk(w, err));
    w->payload.len = 0;
    if (tms_buf_varint(&w->payload, w->nindex) < 0)
        return nomem(w, err);
    for (uint64_t i = 0; i < w->nindex; i++)
        if (tms_buf_put(&w->payload, w->index[i].tag, 4) < 0 ||
            tms_buf_varint(&w->payload, w->index[i].offset) < 0)
            return nomem(w, err);
    uint8_t footer[16];
    tms_put_u64(footer, w->offset);
    memcpy(footer + 8, end_magic, 8);
    TMS_FORWARD(emit(w, "END ", w->payload.p, w->payload.len, err));
    TMS_FORWARD(sink_put(w, footer, sizeof footer, err));
    return sink_flush(w, err);
}

int tms_writer_close(tms_writer *w, tms_error *err)
{
    int rc;
    if (w == NULL || w->failed || w->sink == SINK_BUFFER) {
        rc = w == NULL || w->failed ? dead(w, err)
             : tms_fail(err, TMS_E_STATE, "tms_writer_close on a buffer "
                        "writer: use tms_writer_finish_buffer");
        tms_writer_abort(w);
        return rc;
    }
    rc = write_end(w, err);
    if (rc == TMS_OK && w->sink == SINK_PATH) {
        rc = tms_atomic_commit(w->name, w->tmp, w->fd, 0600, err);
        w->fd = -1;           /* commit closed it, whatever happened */
        if (rc == TMS_OK) {
            free(w->tmp);     /* now the final file: abort must keep it */
            w->tmp = NULL;
        }
    }
    if (rc < 0) {
        tms_writer_abort(w);
        return rc;
    }
    writer_free(w);
    return TMS_OK;
}

void tms_writer_abort(tms_writer *w)
{
    if (w == NULL)
        return;
    if (w->sink == SINK_PATH)
        tms_atomic_discard(w->tmp, w->fd);
    writer_free(w);
}

int tms_writer_finish_buffer(tms_writer *w, void **buf, size_t *len,
                             tms_error *err)
{
    int rc;
    if (w == NULL || w->failed || w->sink != SINK_BUFFER || buf == NULL ||
        len == NULL) {
        rc = w == NULL || w->failed ? dead(w, err)
             : tms_fail(err, TMS_E_ARG, "tms_writer_finish_buffer: not a "
                        "buffer writer, or NULL output");
        tms_writer_abort(w);
        return rc;
    }
    rc = write_end(w, err);
    if (rc == TMS_OK) {
        *buf = w->out.p;
        *len = w->out.len;
        w->out.p = NULL;
        w->out.len = w->out.cap = 0;
    }
    writer_free(w);
    return rc;
}
