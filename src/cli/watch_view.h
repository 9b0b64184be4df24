/* watch_view.h -- drawing `tmtool watch`'s screens from a watch_model:
 * the main screen (header, sparkline, table, footer), the help and the
 * traceback of one row.  Everything is cut to the terminal's width; no
 * line wraps. */
#ifndef HEADER_watch_view
#define HEADER_watch_view

#include "watch_model.h"

typedef struct watch_view {
    size_t top;           /* first row shown */
    size_t sel;           /* selected row */
    double interval;      /* seconds between refreshes */
    int paused;
    char status[512];     /* one-line message; "" none */
    int status_error;     /* shown in the error role; stays until fixed */
    long long status_until; /* an information goes away then (ms) */
    int table_rows;       /* rows the table had at the last draw */
} watch_view;

void watch_view_draw(watch_view *v, const watch_model *m);
void watch_view_help(void);
/* The traceback screen of the selected row: lines of text built by the
 * caller's model query; offset scrolls. */
void watch_view_detail(const watch_model *m, const watch_view *v,
                       const tms_snapshot *s, const uint32_t *tbs,
                       const uint64_t *sizes, int n, int offset);
/* Read a line at the bottom (the filter prompt): 1 and the text in buf,
 * 0 when cancelled (Esc). */
int watch_view_prompt(const char *label, char *buf, size_t cap);

#endif
