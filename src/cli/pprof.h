/* pprof.h -- a pprof profile (profile.proto) built from groupings of
 * snapshots, encoded by protobuf-c and gzipped by zlib.
 *
 * The caller groups each snapshot with libtma (by traceback when it has
 * traces, by line when it has only stats) and adds the grouping here;
 * this file only translates: every distinct (function, file, line) frame
 * becomes one Location with one Line and one Function, each grouping item
 * one Sample whose values are (inuse_space bytes, inuse_objects count),
 * stack leaf first.  Labels (pid, host, meta) are attached per sample,
 * since profile.proto has no profile-level labels.
 *
 * Errors are values: 0 or a negative tms_status (TMS_E_NOMEM, TMS_E_ARG,
 * TMS_E_LIMIT) with a message in the tms_error; nothing is printed. */
#ifndef HEADER_pprof
#define HEADER_pprof

#include <stddef.h>
#include <stdint.h>

#include "tma.h"
#include "tms.h"

typedef struct tm_pprof tm_pprof;

/* A sample label: key = str, or key = num when str is NULL.  Strings are
 * copied. */
typedef struct tm_pprof_label {
    const char *key;
    const char *str;
    int64_t num;
} tm_pprof_label;

tm_pprof *tm_pprof_new(void);
void tm_pprof_free(tm_pprof *p);

/* Which values a grouping gives: the memory in use when the snapshot was
 * taken, or the state recorded at the peak (format 1.1). */
typedef enum { TM_PPROF_INUSE = 0, TM_PPROF_PEAK = 1 } tm_pprof_kind;

/* Add one sample per item of g (TRACEBACK or LINE grouping; keys refer to
 * their own snapshots, so merged groupings are fine), each carrying the
 * nlabels labels, its values under kind (the other kind's values 0).
 * The first PEAK grouping adds the sample types peak_space/bytes and
 * peak_objects/count after the inuse ones.  Items of size and count 0 are
 * skipped. */
int tm_pprof_add_groups(tm_pprof *p, const tma_groups *g, tm_pprof_kind kind,
                        const tm_pprof_label *labels, size_t nlabels,
                        tms_error *err);

/* Profile-wide fields: the collection time span (first and last snapshot,
 * ns since the epoch) and one free-text comment line per call. */
void tm_pprof_set_time(tm_pprof *p, int64_t first_ns, int64_t last_ns);
int tm_pprof_add_comment(tm_pprof *p, const char *text, tms_error *err);

/* Encode and gzip; *out is malloc'd (caller frees). */
int tm_pprof_encode(tm_pprof *p, unsigned char **out, size_t *len,
                    tms_error *err);

/* Counts, for the summary line and the tests. */
size_t tm_pprof_nsamples(const tm_pprof *p);
size_t tm_pprof_nlocations(const tm_pprof *p);

#endif
