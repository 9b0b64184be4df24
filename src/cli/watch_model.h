/* watch_model.h -- what `tmtool watch` shows, apart from how: the source
 * (a live process or a directory of snapshots), the first, previous and
 * current snapshots, their groupings, the rows with their changes, and
 * the history of traced memory for the sparkline.  No curses here. */
#ifndef HEADER_watch_model
#define HEADER_watch_model

#include <stddef.h>
#include <stdint.h>

#include "display.h"
#include "tma.h"
#include "tms.h"

typedef enum { WATCH_SORT_SIZE, WATCH_SORT_GROWTH, WATCH_SORT_COUNT,
               WATCH_NSORTS } watch_sort;

typedef struct watch_row {
    tma_key key;            /* into the current snapshot */
    char *text;             /* key as tm_key_text shows it; owned */
    uint64_t size, count;
    int64_t d_prev, d_start;        /* size changes */
    int64_t dc_prev, dc_start;      /* count changes */
} watch_row;

typedef struct watch_model {
    /* source: pid > 0, or dir */
    long pid;
    const char *dir;
    int timeout_ms;         /* for each answer of the process */
    /* view settings */
    tm_display display;     /* by, cumulative, filename_parts */
    watch_sort sort;
    char filter[256];       /* substring of the row text; "" none */
    /* snapshots (owned) and the file they came from (DIR mode) */
    tms_snapshot *first, *prev, *cur;
    tms_snapshot *detail;   /* cur with traces, fetched for Enter; or NULL */
    char *first_path, *cur_path;
    size_t nfiles;          /* DIR: snapshot files of the series seen */
    /* rows of the current snapshot, filtered and sorted */
    watch_row *rows;
    size_t nrows;
    uint64_t total_size, total_count;
    /* header facts */
    char cmdline[1024];
    int64_t uptime, traced, peak, rss;   /* -1 unknown */
    /* traced memory at each refresh since the view started */
    int64_t *history;
    size_t nhistory, caphistory;
    int gone;               /* the process exited / DIR vanished */
    int refreshes;
} watch_model;

void watch_model_init(watch_model *m);
void watch_model_free(watch_model *m);
/* Fetch (pid) or look for a newer file (dir) and rebuild the rows.
 * 1 when there is something new, 0 when nothing changed, -1 on failure
 * with a one-line message in msg (m->gone set when the source is gone
 * for good).  The first call fails when the source is not usable. */
int watch_model_refresh(watch_model *m, char *msg, size_t cap);
/* Rebuild rows after a change of grouping, sort or filter.  A grouping
 * that needs traces the baseline lacks restarts the baseline.  0, or -1
 * with msg. */
int watch_model_rebuild(watch_model *m, char *msg, size_t cap);
/* Write the current snapshot to a new file in the current directory;
 * 0 and its name in path, or -1 with msg. */
int watch_model_write(const watch_model *m, char *path, size_t pcap,
                      char *msg, size_t cap);
/* The tracebacks behind row i, biggest first (the current snapshot's
 * traces, fetched when it has none): up to max entries into tbs/sizes.
 * Returns the number found, or -1 with msg. */
int watch_model_tracebacks(watch_model *m, size_t i, const tms_snapshot **snap,
                           uint32_t *tbs, uint64_t *sizes, size_t max,
                           char *msg, size_t cap);

#endif
