/* pipeline.h -- the steps between a file name and a report: load with
 * the flags the display and filters need, filter, group, compare with
 * the previous grouping and sort (all rules in libtma).  Errors are
 * reported here, once; every function returns a tm_exit code. */
#ifndef HEADER_pipeline
#define HEADER_pipeline

#include "display.h"
#include "filters.h"
#include "input.h"

/* Load path with the flags d and f need, apply f, group per d; traces are
 * summed per traceback as they are read, never stored, when no filter
 * needs them and the grouping is not by address.  On failure (reported;
 * exit code returned) *snap is NULL and groups empty. */
int tm_load_grouped(const tm_display *d, const tm_filters *f,
                    const char *path, tms_snapshot **snap, tma_groups *groups);

/* Group a snapshot with the display's options, from t when the traces
 * were streamed into totals (NULL: from s). */
int tm_group_snapshot(const tm_display *d, const tms_snapshot *s,
                      const tma_tb_totals *t, const char *path,
                      tma_groups *out);

/* One side of a comparison. */
typedef struct tm_side {
    const char *name;             /* file name, or "3 files merged" */
    const tms_snapshot *snap;     /* header and metrics; NULL when merged */
    const tma_groups *groups;
} tm_side;

/* One "top" section: a grouping compared with an older one (or with
 * nothing). */
typedef struct tm_report {
    tm_side cur;
    tm_side old;                  /* old.groups NULL: no comparison */
    tma_diff diff;                /* sorted by tma_diff_sort */
} tm_report;

/* Compare and sort. */
int tm_report_build(tm_report *r);
void tm_report_free(tm_report *r);

/* diff --growth-only: keep the entries whose size grew, in their order
 * (the rest line then adds up growth only; totals are the groupings'). */
void tm_report_keep_growth(tm_report *r);

/* Entries shown with d's --count. */
size_t tm_report_shown(const tm_report *r, const tm_display *d);

#endif
