/* filters.h -- the filter options (-i, -x, -I, -X) and applying them to a
 * loaded snapshot with libtma's rule (tma_snapshot_apply_filters). */
#ifndef HEADER_filters
#define HEADER_filters

#include <stddef.h>

#include "opts.h"
#include "tma.h"

typedef struct tm_filters {
    tma_filter *items;   /* owned array; patterns borrowed from argv */
    size_t n, cap;
} tm_filters;

/* -i, -x, -I, -X; their group's ctx is a tm_filters. */
extern const tm_opt tm_filter_opts[];

void tm_filters_free(tm_filters *f);
/* Apply to a loaded snapshot (no-op without filters); returns an exit
 * code after reporting. */
int tm_filters_apply(const tm_filters *f, tms_snapshot *s, const char *path);

#endif
