/* display.h -- how a report is shown: grouping, cumulative, how many
 * entries, which columns; the "Display options" of top and diff. */
#ifndef HEADER_display
#define HEADER_display

#include "filters.h"
#include "opts.h"
#include "tma.h"

typedef struct tm_display {
    tma_group_by by;
    int cumulative;
    long count;            /* entries shown; 0: all */
    long filename_parts;
    int show_size, show_count, show_average;
    /* -1 (default): metrics in JSON, not in text, where 16 lines under
     * every report were noise; --metrics 1, --no-metrics 0. */
    int show_metrics;
    int growth_only;       /* diff --growth-only: list only what grew */
    int peak;              /* top --peak: group the recorded peak state */
} tm_display;

/* --group-by, --cumulative, -n, --filename-parts, --no-*; their group's
 * ctx is a tm_display set up by tm_display_init. */
extern const tm_opt tm_display_opts[];

void tm_display_init(tm_display *d);
/* Load flags for this display and these filters: trace sections are
 * skipped when the stats alone give the answer. */
unsigned tm_display_load_flags(const tm_display *d, const tm_filters *f);

#endif
