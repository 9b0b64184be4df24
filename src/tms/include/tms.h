/*
 * tms.h -- libtms: read and write .tms memory snapshot files.
 *
 * ===========================================================================
 * Introduction
 * ===========================================================================
 * A .tms file holds one snapshot of the memory blocks a Python process had
 * allocated: where each block came from (a traceback of frames, each with
 * its function's name), how big it is, per-line statistics, metrics read
 * when the snapshot was taken, and the per-traceback picture of traced
 * memory at its peak.
 * The byte layout is specified in format/SPEC.md; this header is the only
 * public interface to it, shared by the tracer (tmtrace) and the CLI
 * (tmtool), so that a file means the same thing to both.
 *
 * Two levels of API:
 *   - tms_snapshot: a whole snapshot in memory (a plain struct of arrays),
 *     with builders, tms_snapshot_save() and tms_snapshot_load().
 *   - tms_writer / tms_reader: streaming, bounded-memory encode and decode,
 *     on a path (atomic: temp file + fsync + rename), a file descriptor, or
 *     a memory buffer.  The whole-snapshot calls are built on these.
 *
 * Conventions:
 *   - Every fallible call returns 0 (TMS_OK) or a negative tms_status, and
 *     fills the caller's tms_error (may be NULL) with a message that names
 *     the file and the problem.  The library never prints, never exits,
 *     never aborts on file contents.
 *   - Every *_free / *_close accepts NULL.
 *   - Every count or length read from a file is checked against the bytes
 *     the file can still hold and against the limits below before anything
 *     is allocated: a lying length in a 40-byte file cannot make the reader
 *     allocate gigabytes.
 *   - Strings are UTF-8, stored with an explicit length and NUL-terminated
 *     in memory for convenience.
 */
#ifndef TMS_H
#define TMS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(TMS_BUILDING) && defined(__GNUC__)
#  define TMS_API __attribute__((visibility("default")))
#else
#  define TMS_API
#endif

/* ===========================================================================
 * Versions
 * ======================================================================== */
#define TMS_LIB_VERSION_MAJOR 0
#define TMS_LIB_VERSION_MINOR 1
#define TMS_LIB_VERSION_PATCH 0
#define TMS_LIB_VERSION_STRING "0.1.0"

/* The file format version this library writes.  It reads any file of the
 * same major version (newer minors add content older readers skip) and
 * refuses a newer major with TMS_E_VERSION. */
#define TMS_FORMAT_MAJOR 1
#define TMS_FORMAT_MINOR 3   /* 1.1: FNAM (function names), PEAK; 1.2: SMPL;
                                1.3: DOMS (trace domains) */

TMS_API const char *tms_version(void); /* "0.1.0": the linked library */

/* ===========================================================================
 * Errors
 * ======================================================================== */
/* Pinned numbers, grouped in tens by kind.  Never renumber. */
typedef enum {
    TMS_OK = 0,
    /* I/O */
    TMS_E_IO = -10,        /* read/write/seek/fsync/rename failed (errno) */
    TMS_E_OPEN = -11,      /* cannot open or create the file */
    /* input shorter than it claims */
    TMS_E_TRUNCATED = -20, /* ends before a section or the trailer */
    /* input is not what it claims */
    TMS_E_NOT_TMS = -30,   /* bad magic: not a .tms file */
    TMS_E_CORRUPT = -31,   /* inconsistent structure or values */
    TMS_E_CHECKSUM = -32,  /* a section's CRC-32 does not match */
    TMS_E_DECOMPRESS = -33,/* zstd refused a section payload */
    /* version */
    TMS_E_VERSION = -40,   /* a major format version this reader lacks */
    /* resources */
    TMS_E_NOMEM = -50,     /* allocation failed */
    TMS_E_LIMIT = -51,     /* a count or length exceeds the limits below */
    TMS_E_BUDGET = -52,    /* the file needs more than the read budget */
    /* caller */
    TMS_E_ARG = -60,       /* invalid argument */
    TMS_E_STATE = -61,     /* call out of order (e.g. add after close) */
} tms_status;

/* Static English text for a code ("truncated file", ...); never NULL. */
TMS_API const char *tms_strerror(int code);

typedef struct tms_error {
    int code;        /* same value the call returned */
    char msg[512];   /* "cannot read 'a.tms': section TRCS: checksum mismatch" */
    int sys_errno;   /* TMS_E_IO/OPEN from a system call: its errno (EPERM,
                      * ENOSPC...) however much cleanup ran since; else 0 */
} tms_error;

/* Grow *ptr (an array of elements of size elem, from malloc or NULL) so
 * it holds at least need elements: doubling, so appending is amortised
 * O(1).  On failure *ptr and *cap are untouched and TMS_E_NOMEM is
 * returned.  The one growth rule of libtms and the libraries above it. */
TMS_API int tms_grow(void **ptr, uint64_t *cap, uint64_t need, size_t elem);

/* Record code and a formatted message in err (may be NULL) and return
 * code, so a failing call ends with `return tms_fail(err, TMS_E_ARG,
 * "bad %s", what)`.  The one way libtms and the libraries above it
 * (libtma) fill a tms_error. */
TMS_API int tms_fail(tms_error *err, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* ===========================================================================
 * Limits (format/SPEC.md, "Limits"): a reader rejects larger values with
 * TMS_E_LIMIT or TMS_E_CORRUPT before allocating.
 * ======================================================================== */
#define TMS_MAX_STRING_LEN     (1u << 20)   /* bytes in one string */
#define TMS_MAX_SECTION_RAW    (1u << 28)   /* decompressed bytes of one section */
#define TMS_MAX_TRACEBACK_LEN  65535u       /* frames in one traceback */
#define TMS_MAX_TEXT_FIELD     255u         /* header text fields, bytes */
#define TMS_PEAK_CHUNK         65536u       /* entries in one PEAK section */

/* ===========================================================================
 * Read budget (format/SPEC.md §5.1): within the limits above a small file
 * can still describe gigabytes (a 1 KiB zstd frame may expand to 256 MiB,
 * and a file may hold many such sections), so a reader also bounds what it
 * spends on one file, checking each declared size BEFORE allocating or
 * decompressing for it.  One number, the budget B, sets three caps:
 *   - decoded: section payloads decompressed or parsed (their raw_len,
 *     HEAD included) plus 24 bytes (a tms_trace) per trace, kept or
 *     streamed, <= B;
 *   - text: payloads of STRS, MTRC, META and FNAM sections (strings, metric
 *     names, meta, function names) <= B/32;
 *   - traceback work: over every frame reference in a traceback, 1 plus
 *     its file name's length (what grouping by traceback hashes) <= B.
 * Past a cap the read stops at once with TMS_E_BUDGET and a message naming
 * the cap.  The default is far above any real snapshot (a 1.5 M-trace
 * snapshot costs about 45 MB of it, 2 GiB is about 80 M traces); a caller
 * that trusts a file raises it.
 * ======================================================================== */
#define TMS_DEFAULT_READ_BUDGET (2ull << 30)   /* 2 GiB */
#define TMS_BUDGET_TEXT_SHARE   32u           /* text cap = B / 32 */

/* ===========================================================================
 * Text from files, made safe for a terminal
 * ======================================================================== */
/* Copy len bytes of s (any bytes: names in a file are hostile) into dst as
 * one printable line: C0 controls and DEL as \xNN (\t \n \r by name),
 * C1 controls and bidirectional overrides as
 * \uNNNN, each byte of invalid UTF-8 as \xNN; everything else (valid
 * UTF-8, backslash included) unchanged, so escaping twice changes nothing.
 * Always NUL-terminates when cap > 0 and never cuts an escape in half.
 * Returns the length the whole result needs (snprintf semantics). */
TMS_API size_t tms_escape(char *dst, size_t cap, const char *s, size_t len);
/* Decode one UTF-8 sequence at p (n bytes available): its length (1-4)
 * and code point, or 0 when the bytes there are not valid UTF-8
 * (overlong, surrogate, above U+10FFFF, cut short). */
TMS_API size_t tms_utf8_next(const uint8_t *p, size_t n, uint32_t *cp);

/* ===========================================================================
 * The snapshot model
 * ======================================================================== */
#define TMS_NONE        UINT32_MAX  /* no string: unknown filename */
#define TMS_LINENO_NONE (-1)        /* unknown line number */

typedef struct tms_string {
    char *data;        /* UTF-8, NUL-terminated, owned by the snapshot */
    uint32_t len;      /* bytes, without the NUL */
} tms_string;

/* A frame: (filename, lineno).  filename is an index into strings or
 * TMS_NONE; lineno >= 0 or TMS_LINENO_NONE.  Frames are unique by value. */
typedef struct tms_frame {
    uint32_t filename;
    int32_t lineno;
} tms_frame;

/* One traced memory block.  traceback indexes the traceback table.
 * domain (format 1.3, SPEC §4.13) is the allocator domain: 0 for Python's
 * allocators (PEP 445), an extension's PyTraceMalloc_Track domain for the
 * blocks it reported, TMS_DOMAIN_NATIVE for native allocations.  It fills
 * what was padding: a trace stays 24 bytes. */
typedef struct tms_trace {
    uint64_t address;
    uint64_t size;
    uint32_t traceback;
    uint32_t domain;
} tms_trace;

#define TMS_DOMAIN_PYTHON 0u
#define TMS_DOMAIN_NATIVE 0xFFFFFFFFu   /* reserved (SPEC §4.13) */

/* Per-(filename, lineno) statistics; frame indexes the frame table. */
typedef struct tms_stat {
    uint32_t frame;
    uint64_t size;
    uint64_t count;
} tms_stat;

typedef enum {
    TMS_FORMAT_INT = 0,      /* a number */
    TMS_FORMAT_PERCENT = 1,  /* 1.0 means 100% */
    TMS_FORMAT_SIZE = 2,     /* bytes */
} tms_metric_format;

typedef enum {
    TMS_VALUE_INT = 0,       /* i is meaningful */
    TMS_VALUE_FLOAT = 1,     /* f is meaningful */
} tms_value_kind;

typedef struct tms_metric {
    char *name;              /* owned; unique within a snapshot */
    tms_metric_format format;
    tms_value_kind kind;
    int64_t i;
    double f;
} tms_metric;

typedef struct tms_meta {
    char *key;               /* owned; user metadata, unique keys */
    char *value;             /* owned */
} tms_meta;

/* The peak (format 1.1, SPEC §4.11).  size is the high-water mark of
 * traced memory (PEP 454 get_traced_memory()[1]); the entries are the
 * blocks alive, per traceback, in one recorded state near it, when
 * recorded_size bytes were traced (recorded_size <= size). */
typedef struct tms_peak_info {
    uint64_t size;
    uint64_t recorded_size;
    int64_t recorded_ns;     /* when the state was recorded, since the epoch */
} tms_peak_info;

typedef struct tms_peak_entry {
    uint32_t traceback;      /* unique within a snapshot */
    uint64_t size;
    uint64_t count;
} tms_peak_entry;

typedef struct tms_header {
    uint16_t format_major;   /* as read; the writer writes TMS_FORMAT_* */
    uint16_t format_minor;
    int64_t pid;
    int64_t timestamp_ns;    /* since the Unix epoch, UTC */
    uint32_t traceback_limit;
    uint8_t series_id[16];   /* shared by all snapshots of one traced run */
    char python_version[TMS_MAX_TEXT_FIELD + 1]; /* "3.11.7" */
    char writer_name[TMS_MAX_TEXT_FIELD + 1];    /* "tmtrace" */
    char writer_version[TMS_MAX_TEXT_FIELD + 1]; /* "0.1.0" */
    /* Format 1.2 SMPL (SPEC §4.12): the mean sampling interval in bytes
     * the traces were sampled with; 0 means every block was traced
     * (exact).  A writer given a non-zero value writes SMPL after HEAD. */
    uint64_t sample_interval;
} tms_header;

struct tms_intern; /* private: hash indexes used by the builders */

/* A whole snapshot in memory.  Fields are public to read; change them only
 * through the functions below so the intern indexes stay right.
 * Tracebacks are stored compressed-row style: traceback i has frames
 * tb_frames[tb_start[i] .. tb_start[i+1]), most recent frame first; an
 * empty traceback has tb_start[i] == tb_start[i+1]. */
typedef struct tms_snapshot {
    tms_header header;

    tms_string *strings;   uint32_t nstrings;
    tms_frame *frames;     uint32_t nframes;
    uint32_t *tb_frames;   uint64_t *tb_start;  uint32_t ntracebacks;

    int has_traces;        /* 0: traces were not taken or not loaded */
    tms_trace *traces;     uint64_t ntraces;
    tms_stat *stats;       uint64_t nstats;
    tms_metric *metrics;   uint32_t nmetrics;
    tms_meta *meta;        uint32_t nmeta;

    /* 1.1: frame_function[f] is the string id of frame f's function name
     * (qualified, e.g. "Cache.get"), or TMS_NONE; nframes entries (NULL
     * while there are no frames).  Read it with tms_frame_function(). */
    uint32_t *frame_function;
    /* 1.1: has_peak says whether the file had a PEAK section. */
    int has_peak;
    tms_peak_info peak;
    tms_peak_entry *peak_entries;  uint64_t npeak;

    struct tms_intern *intern;
    /* capacities, private */
    uint32_t cap_strings, cap_frames, cap_tbs;
    uint64_t cap_tb_frames, cap_traces, cap_stats;
    uint32_t cap_metrics, cap_meta, cap_frame_function;
    uint64_t cap_peak;
} tms_snapshot;

static inline uint32_t tms_traceback_len(const tms_snapshot *s, uint32_t tb)
{
    return (uint32_t)(s->tb_start[tb + 1] - s->tb_start[tb]);
}
static inline const uint32_t *tms_traceback_frames(const tms_snapshot *s,
                                                   uint32_t tb)
{
    /* tb_frames stays NULL while every traceback is empty (NULL + 0 is
     * undefined behaviour in C) */
    return s->tb_frames ? s->tb_frames + s->tb_start[tb] : s->tb_frames;
}

/* String id of frame f's function name, or TMS_NONE if unknown. */
static inline uint32_t tms_frame_function(const tms_snapshot *s, uint32_t f)
{
    return s->frame_function ? s->frame_function[f] : TMS_NONE;
}

/* Create an empty snapshot; header fields zero, writer_name/version set to
 * this library's defaults.  Returns NULL on OOM. */
TMS_API tms_snapshot *tms_snapshot_new(void);
TMS_API void tms_snapshot_free(tms_snapshot *s);

/* Builders.  Each returns 0 or a negative code; on failure the snapshot is
 * unchanged.  intern_* return the index of an existing equal entry if there
 * is one, so tables stay unique. */
TMS_API int tms_snapshot_intern_string(tms_snapshot *s, const char *data,
                                       size_t len, uint32_t *out);
TMS_API int tms_snapshot_intern_frame(tms_snapshot *s, uint32_t filename,
                                      int32_t lineno, uint32_t *out);
TMS_API int tms_snapshot_intern_traceback(tms_snapshot *s,
                                          const uint32_t *frames,
                                          uint32_t nframes, uint32_t *out);
/* Sets has_traces.  Addresses must be unique within a snapshot. */
TMS_API int tms_snapshot_add_trace(tms_snapshot *s, uint64_t address,
                                   uint64_t size, uint32_t traceback);
/* The same, in an allocator domain (1.3; tms_trace.domain). */
TMS_API int tms_snapshot_add_trace_in(tms_snapshot *s, uint64_t address,
                                      uint64_t size, uint32_t traceback,
                                      uint32_t domain);
TMS_API int tms_snapshot_add_stat(tms_snapshot *s, uint32_t frame,
                                  uint64_t size, uint64_t count);
/* TMS_E_ARG if the name is already present. */
TMS_API int tms_snapshot_add_metric(tms_snapshot *s, const char *name,
                                    tms_metric_format format,
                                    tms_value_kind kind, int64_t i, double f);
/* Sets or replaces the value for key. */
TMS_API int tms_snapshot_set_meta(tms_snapshot *s, const char *key,
                                  const char *value);
/* Name frame's function (string id name, or TMS_NONE to forget it). */
TMS_API int tms_snapshot_set_function(tms_snapshot *s, uint32_t frame,
                                      uint32_t name);
/* Sets has_peak and the summary; TMS_E_ARG if recorded_size > size. */
TMS_API int tms_snapshot_set_peak(tms_snapshot *s, const tms_peak_info *p);
/* One entry of the recorded state; needs has_peak.  Each traceback at
 * most once (the writer refuses a repeat). */
TMS_API int tms_snapshot_add_peak_entry(tms_snapshot *s, uint32_t traceback,
                                        uint64_t size, uint64_t count);
/* Find a string by value: index or TMS_NONE. */
TMS_API uint32_t tms_snapshot_find_string(const tms_snapshot *s,
                                          const char *data, size_t len);

/* Whole-snapshot I/O (built on the streaming API below). */
#define TMS_LOAD_SKIP_TRACES 0x1u  /* do not decompress trace sections */
/* With SKIP_TRACES: pass over trace sections without reading them to
 * verify their CRC-32 (a seek on a regular file).  By default a skipped
 * section is still read and checked, so corruption never goes unseen. */
#define TMS_LOAD_NO_VERIFY_SKIPPED 0x2u

TMS_API int tms_snapshot_save(const tms_snapshot *s, const char *path,
                              tms_error *err);
/* tms_snapshot_save, but the traces come from src instead of s->traces:
 * after every other section of s is added, src(ctx, w, err) adds the
 * traces with tms_writer_add_traces, in pieces as they are produced, so
 * the traces never need to be in memory at once (the tracer writes its
 * live table this way).  Their traceback ids must name tracebacks of s.
 * The caller vouches that no address repeats (its source is keyed by
 * address): the writer checks within each chunk only and keeps nothing
 * per trace (tms_writer_trust_unique_addresses).  src returns TMS_OK or
 * an error code, with err filled. */
struct tms_writer;
typedef int (*tms_trace_source)(void *ctx, struct tms_writer *w,
                                tms_error *err);
TMS_API int tms_snapshot_save_streamed(const tms_snapshot *s,
                                       const char *path, tms_trace_source src,
                                       void *ctx, tms_error *err);
/* Every section of s (its traces too, if it has them) into an open
 * writer, as tms_snapshot_save writes them. */
TMS_API int tms_writer_add_snapshot(struct tms_writer *w,
                                    const tms_snapshot *s, tms_error *err);
TMS_API int tms_snapshot_load(const char *path, unsigned flags,
                              tms_snapshot **out, tms_error *err);
TMS_API int tms_snapshot_load_fd(int fd, const char *name, unsigned flags,
                                 tms_snapshot **out, tms_error *err);
TMS_API int tms_snapshot_load_buffer(const void *buf, size_t len,
                                     const char *name, unsigned flags,
                                     tms_snapshot **out, tms_error *err);
/* Encode into a malloc'd buffer the caller frees with free(). */
TMS_API int tms_snapshot_save_buffer(const tms_snapshot *s, void **buf,
                                     size_t *len, tms_error *err);

/* Atomic output for any other file (tmtool's reports): the .tms writer's
 * rule (an unnamed temporary beside path; commit gives 0644 & ~umask,
 * fsyncs, names it path and fsyncs the directory).  Write to the descriptor;
 * until commit nothing exists under path.  commit and abort free o; on a
 * failed commit the temporary is removed. */
typedef struct tms_outfile tms_outfile;
TMS_API int tms_outfile_open(tms_outfile **o, const char *path,
                             tms_error *err);
TMS_API int tms_outfile_fd(const tms_outfile *o);
TMS_API int tms_outfile_commit(tms_outfile *o, tms_error *err);
TMS_API void tms_outfile_abort(tms_outfile *o); /* NULL-safe */

/* ===========================================================================
 * Streaming writer
 * ======================================================================== */
/* Writes one snapshot in a single pass with bounded memory: dictionary
 * entries (strings, frames, tracebacks) are appended in order, each one
 * before anything that refers to it; traces are buffered into chunks of
 * at most TMS_TRACE_CHUNK and flushed as they fill.
 * An id that names nothing added yet is TMS_E_ARG and the writer stays
 * usable.  A duplicate (string, frame, traceback, metric name, meta key,
 * stat frame, trace address) is TMS_E_ARG and fatal: later calls return
 * TMS_E_STATE; close/abort clean up.  To catch a repeated address across
 * chunks the writer keeps 8 bytes per trace written (and a copy of the
 * dictionaries); feeding traces in address order makes that check free. */
#define TMS_TRACE_CHUNK 65536u

typedef struct tms_writer tms_writer;

/* Write to path atomically: into an unnamed temporary file in the same
 * directory (O_TMPFILE; a short-named ".tms-XXXXXX" where that is
 * missing), fsync'd and given the name path by tms_writer_close().  Until
 * then nothing exists under the final name, and a writer killed meanwhile
 * leaves nothing behind.  The file is mode 0600: a snapshot holds heap
 * addresses and program paths (chmod it to share).  Names up to NAME_MAX
 * bytes work. */
TMS_API int tms_writer_open_path(tms_writer **w, const char *path,
                                 const tms_header *h, tms_error *err);
/* The named temporary file a path writer writes into until
 * tms_writer_close() renames it (".tms-XXXXXX" beside the target), or
 * NULL when it writes into an unnamed file (O_TMPFILE, which the kernel
 * frees if the process dies) or not to a path.  A process that watches
 * the writer's process can remove it if that one is killed. */
TMS_API const char *tms_writer_temp_name(const tms_writer *w);
/* Write to an open descriptor (not closed by the writer); name is used
 * in messages. */
TMS_API int tms_writer_open_fd(tms_writer **w, int fd, const char *name,
                               const tms_header *h, tms_error *err);
/* Write to memory; finish with tms_writer_finish_buffer(), not close. */
TMS_API int tms_writer_open_buffer(tms_writer **w, const tms_header *h,
                                   tms_error *err);

/* Ids continue from the previous call: the first string ever added is 0. */
TMS_API int tms_writer_add_strings(tms_writer *w, const tms_string *strs,
                                   uint32_t n, tms_error *err);
TMS_API int tms_writer_add_frames(tms_writer *w, const tms_frame *frames,
                                  uint32_t n, tms_error *err);
/* n tracebacks; traceback k has frames[start[k] .. start[k+1]). */
TMS_API int tms_writer_add_tracebacks(tms_writer *w, const uint32_t *frames,
                                      const uint64_t *start, uint32_t n,
                                      tms_error *err);
/* The caller vouches that no trace address repeats across chunks (its
 * traces come from a table keyed by address): the cross-chunk check and
 * its 8 bytes per trace are skipped, so memory no longer grows with the
 * number of traces.  A repeat within one chunk is still refused.  Call
 * before adding traces. */
TMS_API void tms_writer_trust_unique_addresses(tms_writer *w);
/* Declares that the snapshot has traces even if none are added. */
TMS_API int tms_writer_begin_traces(tms_writer *w, tms_error *err);
/* Each trace's domain is written (a DOMS before its chunk when not 0):
 * callers that fill tms_trace field by field must set it. */
TMS_API int tms_writer_add_traces(tms_writer *w, const tms_trace *traces,
                                  size_t n, tms_error *err);
TMS_API int tms_writer_add_stats(tms_writer *w, const tms_stat *stats,
                                 size_t n, tms_error *err);
/* 1.1: frames[i]'s function is string names[i].  A frame named twice is
 * TMS_E_ARG and fatal, like a duplicate. */
TMS_API int tms_writer_add_functions(tms_writer *w, const uint32_t *frames,
                                     const uint32_t *names, uint32_t n,
                                     tms_error *err);
/* The strings, frames and tracebacks of s past *pos (zeroed at first;
 * advanced here): for a writer fed from a snapshot whose dictionaries
 * grow while its traces stream (a file being read, live tables being
 * walked), so every id is defined before the traces that use it. */
typedef struct tms_dict_pos {
    uint32_t strings, frames, tracebacks;
} tms_dict_pos;
TMS_API int tms_writer_add_dicts_of(tms_writer *w, const tms_snapshot *s,
                                    tms_dict_pos *pos, tms_error *err);
/* tms_writer_add_functions with every named frame of s (frames and
 * names already added): what a copy of s's dictionaries writes. */
TMS_API int tms_writer_add_functions_of(tms_writer *w,
                                        const tms_snapshot *s,
                                        tms_error *err);
/* 1.1: the peak and its recorded state, in one call (a second call is
 * TMS_E_STATE).  Tracebacks must be defined and unique. */
TMS_API int tms_writer_add_peak(tms_writer *w, const tms_peak_info *p,
                                const tms_peak_entry *e, size_t n,
                                tms_error *err);
TMS_API int tms_writer_add_metrics(tms_writer *w, const tms_metric *m,
                                   uint32_t n, tms_error *err);
TMS_API int tms_writer_add_meta(tms_writer *w, const tms_meta *m, uint32_t n,
                                tms_error *err);
/* Flush, write the index and trailer; for a path: fsync, rename, fsync the
 * directory.  On failure the temporary file is removed.  Frees w. */
TMS_API int tms_writer_close(tms_writer *w, tms_error *err);
/* Abandon: remove the temporary file if any, free w.  NULL-safe. */
TMS_API void tms_writer_abort(tms_writer *w);
/* Finish a buffer writer: *buf is malloc'd (caller frees), w is freed. */
TMS_API int tms_writer_finish_buffer(tms_writer *w, void **buf, size_t *len,
                                     tms_error *err);

/* ===========================================================================
 * Streaming reader
 * ======================================================================== */
typedef struct tms_reader tms_reader;

TMS_API int tms_reader_open_path(tms_reader **r, const char *path,
                                 tms_error *err);
TMS_API int tms_reader_open_fd(tms_reader **r, int fd, const char *name,
                               tms_error *err);
/* buf must outlive the reader. */
TMS_API int tms_reader_open_buffer(tms_reader **r, const void *buf,
                                   size_t len, const char *name,
                                   tms_error *err);
TMS_API const tms_header *tms_reader_header(const tms_reader *r);
/* Set the read budget for the rest of the read (see "Read budget"; the
 * HEAD read at open was checked against the default).  0 means the
 * default.  TMS_E_ARG on a NULL reader. */
TMS_API int tms_reader_set_budget(tms_reader *r, uint64_t budget);

/* Called with each decoded batch of traces (at most TMS_TRACE_CHUNK), in
 * file order.  Return 0 to go on, non-zero to stop reading (propagated as
 * the return value of tms_reader_read). */
typedef int (*tms_trace_fn)(void *ctx, const tms_trace *traces, size_t n);

/* Read the rest of the file in one pass.  Dictionaries, stats, metrics and
 * metadata are appended to *into (which must be empty, from
 * tms_snapshot_new(); its header is set from the file).  Traces go to fn if
 * given, else into->traces, unless flags has TMS_LOAD_SKIP_TRACES, in which
 * case trace sections are skipped without being decompressed.  Every
 * traceback and frame a trace refers to is checked to exist. */
TMS_API int tms_reader_read(tms_reader *r, tms_snapshot *into, unsigned flags,
                            tms_trace_fn fn, void *ctx, tms_error *err);
TMS_API void tms_reader_close(tms_reader *r);

#ifdef __cplusplus
}
#endif
#endif /* TMS_H */
