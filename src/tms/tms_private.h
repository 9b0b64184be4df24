/* tms_private.h -- helpers shared by libtms's own files; not installed. */
#ifndef TMS_PRIVATE_H
#define TMS_PRIVATE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tms.h"

#if defined(__GNUC__)
#  define TMS_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#  define TMS_PRINTF(f, a)
#endif

/* tms_fail (tms.h) fills a tms_error. */

/* Early return on a condition / on a failed call, keeping its code. */
#define TMS_RETURN_IF(cond, err, code, ...)                                   \
    do {                                                                      \
        if (cond)                                                             \
            return tms_fail((err), (code), __VA_ARGS__);                      \
    } while (0)
#define TMS_FORWARD(expr)                                                     \
    do {                                                                      \
        int tms_rc_ = (expr);                                                 \
        if (tms_rc_ < 0)                                                      \
            return tms_rc_;                                                   \
    } while (0)

/* tms_grow (tms.h) grows arrays. */
/* A NUL-terminated malloc'd copy of len bytes; NULL on OOM. */
char *tms_dup(const void *data, size_t len);

/* --- intern indexes (intern.c) ------------------------------------------ */
struct tms_intern;
struct tms_intern *tms_intern_new(void);
void tms_intern_free(struct tms_intern *in);
/* Look up; return index or TMS_NONE. */
uint32_t tms_intern_find_string(const tms_snapshot *s, const char *data,
                                size_t len);
uint32_t tms_intern_find_frame(const tms_snapshot *s, uint32_t filename,
                               int32_t lineno);
uint32_t tms_intern_find_traceback(const tms_snapshot *s,
                                   const uint32_t *frames, uint32_t n);
/* Record that entry idx (already appended to the snapshot's table) exists. */
int tms_intern_add_string(tms_snapshot *s, uint32_t idx);
int tms_intern_add_frame(tms_snapshot *s, uint32_t idx);
int tms_intern_add_traceback(tms_snapshot *s, uint32_t idx);
/* 1 if a metric / meta key of that name exists (index via *at). */
int tms_intern_find_metric(const tms_snapshot *s, const char *name,
                           uint32_t *at);

/* --- writer internals ----------------------------------------------------- */
#define TMS_ZSTD_LEVEL 3   /* default compression level of the writer */
/* Compression level for sections emitted from now on; 0 stores raw.  For
 * benchmarks and tests, not public API. */
void tms_writer_set_level(tms_writer *w, int level);

/* atomic.c: an unnamed O_TMPFILE (tmp NULL) or a named ".tms-XXXXXX"
 * temporary beside path; commit gives it mode, fsyncs, names it path and
 * fsyncs the directory; a failure keeps its errno in err->sys_errno. */
int tms_atomic_create(const char *path, char **tmp, int *fd, tms_error *err);
int tms_atomic_commit(const char *path, const char *tmp, int fd, mode_t mode,
                      tms_error *err);
/* 0644 & ~umask: the mode of shared outputs (reports). */
mode_t tms_atomic_shared_mode(void);
void tms_atomic_discard(const char *tmp, int fd);

#endif
