/* report.h -- one "top" section: a grouping compared with an older one (or
 * with nothing), rendered as text (DisplayTop's layout), JSON or CSV.
 * `tmtool top` and `tmtool diff` both print these. */
#ifndef HEADER_report
#define HEADER_report

#include <stdio.h>

#include "input.h"

enum {
    TM_OPT_GROUP_BY = TM_OPT_LONG + 8,
    TM_OPT_CUMULATIVE,
    TM_OPT_COUNT = 'n',
    TM_OPT_FILENAME_PARTS = TM_OPT_LONG + 10,
    TM_OPT_NO_SIZE,
    TM_OPT_NO_COUNT,
    TM_OPT_NO_AVERAGE,
    TM_OPT_NO_METRICS,
};

extern const tm_opt tm_display_opts[];

typedef struct tm_display {
    tma_group_by by;
    int cumulative;
    long count;            /* entries shown; 0: all */
    long filename_parts;
    int show_size, show_count, show_average, show_metrics;
} tm_display;

void tm_display_init(tm_display *d);
/* 1 taken, 0 not ours, -1 bad value (reported). */
int tm_display_option(tm_display *d, int id, const char *arg);
/* Load flags for this display and these filters: trace sections are
 * skipped when the stats alone give the answer. */
unsigned tm_display_load_flags(const tm_display *d, const tm_filters *f);

/* One side of a comparison. */
typedef struct tm_side {
    const char *name;             /* file name, or "3 files" when merged */
    const tms_snapshot *snap;     /* header and metrics; NULL when merged */
    const tma_groups *groups;
} tm_side;

typedef struct tm_report {
    tm_side cur;
    tm_side old;                  /* old.groups NULL: no comparison */
    tma_diff diff;                /* sorted by tma_diff_sort */
} tm_report;

/* Compare and sort; returns an exit code after reporting. */
int tm_report_build(tm_report *r);
void tm_report_free(tm_report *r);

/* Group a snapshot with the display's options, from t when the traces
 * were streamed into totals (NULL: from s); exit code after reporting. */
int tm_group_snapshot(const tm_display *d, const tms_snapshot *s,
                      const tma_tb_totals *t, const char *path,
                      tma_groups *out);

/* Common, display and filter options in one go: 1 taken, 0 not, -1 bad. */
int tm_analysis_option(tm_common *c, tm_display *d, tm_filters *f, int id,
                       const char *arg);
/* Load path with the flags d and f need, apply f, group per d; traces are
 * summed per traceback as they are read, never stored, when no filter
 * needs them and the grouping is not by address.  On
 * failure (reported; exit code returned) *snap is NULL and groups empty. */
int tm_load_grouped(const tm_display *d, const tm_filters *f,
                    const char *path, tms_snapshot **snap, tma_groups *groups);

/* Key text for item k ("…/a.py:12", "memory block 0x…"); tracebacks give
 * their most recent frame here (tm_report_text shows them whole). */
void tm_key_text(char *buf, size_t cap, const tm_display *d,
                 const tma_key *key);

void tm_report_text(FILE *f, const tm_report *r, const tm_display *d);
/* An object for the report (caller adds it to its document), NULL on OOM. */
cJSON *tm_report_json(const tm_report *r, const tm_display *d);
/* JSON of one diff item, as in "entries". */
cJSON *tm_item_json(const tm_display *d, const tma_diff_item *it, size_t rank);
void tm_report_csv_header(FILE *f);
void tm_report_csv(FILE *f, const tm_report *r, const tm_display *d);
/* Text of one diff item ("size=1.5 KiB (+512 B), count=3 (+1), ..."). */
void tm_item_text(char *buf, size_t cap, const tm_display *d,
                  const tma_diff_item *it, int compared);

/* Where reports go: text and CSV straight to stdout, JSON collected into
 * one document {"schema_version", ..., "reports": [...]} printed by close. */
typedef struct tm_sink {
    tm_format format;
    cJSON *doc;        /* JSON only; owned */
    cJSON *reports;    /* borrowed from doc */
    int csv_started;
} tm_sink;

/* Exit code after reporting (OOM only). */
int tm_sink_open(tm_sink *k, tm_format format, const char *command,
                 const tm_display *d);
/* Render r; for JSON, *obj (if not NULL) receives the report's object so
 * the caller can add to it. */
int tm_sink_emit(tm_sink *k, const tm_report *r, const tm_display *d,
                 cJSON **obj);
/* Print the JSON document if any, free everything; NULL-safe on doc. */
int tm_sink_close(tm_sink *k);
/* Free without printing (after an error). */
void tm_sink_discard(tm_sink *k);

/* A traceback: "  Traceback (most recent call first):" then one
 * '    File "...", line N' per frame, filenames shortened per d. */
void tm_traceback_text(FILE *f, const tm_display *d, const tms_snapshot *s,
                       uint32_t tb);
/* [{"filename": ..., "lineno": ...}, ...], most recent first; NULL on OOM. */
cJSON *tm_traceback_json(const tms_snapshot *s, uint32_t tb);
/* file, timestamp, timestamp_ns, pid, series_id, traceback_limit. */
int tm_side_json(cJSON *o, const tm_side *side);
/* {"name", "format", "value"}; NULL on OOM. */
cJSON *tm_metric_json(const tms_metric *m);
/* A metric value per its format (size: binary units, percent: 1.0 =
 * 100.0%); sign adds '+'. */
void tm_metric_value_text(char *buf, size_t cap, tms_metric_format fmt,
                          int is_float, int64_t i, double f, int sign);

#endif
