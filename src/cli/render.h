/* render.h -- a tm_report as text (DisplayTop's layout), JSON (the
 * "report" object of format/JSON.md) or CSV rows, and the pieces the
 * commands reuse (keys, tracebacks, header fields, metrics).  Order comes
 * from tma_diff_sort and file names from tma_filename_format, so tmtool
 * and the Python API agree.  Nothing here truncates: text goes straight
 * to a FILE, strings are allocated to size. */
#ifndef HEADER_render
#define HEADER_render

#include <stdio.h>

#include "pipeline.h"

/* ---- text (render_text.c): libtma's renderer with tmtool's titles ---- */

/* The renderer's options for d, colours as --color decided. */
tma_text_opts tm_text_opts(const tm_display *d);
/* Key of an entry ("…/a.py:12", "memory block 0x…"); tracebacks give
 * their most recent frame here (tm_report_text shows them whole). */
void tm_key_write(FILE *f, const tm_display *d, const tma_key *key);
/* The same as a new string (free it); NULL on OOM. */
char *tm_key_text(const tm_display *d, const tma_key *key);
/* "size=1.5 KiB (+512 B), count=3 (+1), average=512 B" per d's columns. */
void tm_item_write(FILE *f, const tm_display *d, const tma_diff_item *it,
                   int compared);
/* "name, 2024-05-01 12:00:00" (the file's time), or the name alone. */
void tm_side_title(FILE *f, const tm_side *side);
/* "  Traceback (most recent call first):" and its frames. */
void tm_traceback_text(FILE *f, const tm_display *d, const tms_snapshot *s,
                       uint32_t tb);
/* 0, or -1 on OOM or a write error. */
int tm_report_text(FILE *f, const tm_report *r, const tm_display *d);

/* ---- JSON (render_json.c); NULL / -1 on OOM ---- */

cJSON *tm_report_json(const tm_report *r, const tm_display *d);
/* One entry, as in "entries". */
cJSON *tm_item_json(const tm_display *d, const tma_diff_item *it, size_t rank);
/* [{"filename": ..., "lineno": ...}, ...], most recent first. */
cJSON *tm_traceback_json(const tms_snapshot *s, uint32_t tb);
/* file, timestamp, timestamp_ns, pid, series_id, traceback_limit. */
int tm_side_json(cJSON *o, const tm_side *side);
/* {"name", "format", "value"}. */
cJSON *tm_metric_json(const tms_metric *m);

/* ---- CSV (render_csv.c) ---- */

void tm_report_csv_header(FILE *f);
void tm_report_csv(FILE *f, const tm_report *r, const tm_display *d);
/* "file:line;file:line", most recent first, whole file names, an unknown
 * line left empty ("b.py:"); a new string, NULL on OOM. */
char *tm_traceback_csv_text(const tms_snapshot *s, uint32_t tb);

/* ---- shared by the renderers ---- */

/* String id to text; NULL for TMS_NONE or an id out of range. */
const char *tm_string_of(const tms_snapshot *s, uint32_t id);
/* What f1 wrote into a memory stream, as a new string: open one with
 * tm_mem_open, write, then tm_mem_close (NULL on OOM). */
typedef struct tm_mem {
    FILE *f;
    char *data;
    size_t len;
} tm_mem;
FILE *tm_mem_open(tm_mem *m);
char *tm_mem_close(tm_mem *m);

#endif
