/* filters.h -- the filter options (-i, -x, -I, -X, --domain) and applying
 * them to a loaded snapshot with libtma's rules (tma_snapshot_apply_filters,
 * tma_snapshot_keep_domain). */
#ifndef HEADER_filters
#define HEADER_filters

#include <stddef.h>
#include <stdint.h>

#include "opts.h"
#include "tma.h"

/* What applying the filters found, behind a pointer so that commands
 * holding a const tm_filters can still record it. */
typedef struct tm_filter_use {
    size_t applied;      /* files the filters were applied to */
    uint8_t matched[];   /* one per filter: matched a block in some file */
} tm_filter_use;

typedef struct tm_filters {
    tma_filter *items;   /* owned array; patterns borrowed from argv or static */
    uint8_t *implicit;   /* owned, one per item: added by --only-mine */
    tm_filter_use *use;  /* owned; NULL until a filter is added */
    size_t n, cap;
    int has_domain;      /* --domain N: keep only the traces in domain N */
    uint32_t domain;
} tm_filters;

/* Whether applying changes anything: then the traces must be loaded. */
static inline int tm_filters_active(const tm_filters *f)
{
    return f->n > 0 || f->has_domain;
}

/* -i, -x, -I, -X, --only-mine; their group's ctx is a tm_filters. */
extern const tm_opt tm_filter_opts[];

void tm_filters_free(tm_filters *f);
/* Apply to a loaded snapshot (no-op without filters); returns an exit
 * code after reporting.  Records which filters matched a block. */
int tm_filters_apply(const tm_filters *f, tms_snapshot *s, const char *path);
/* One warning per filter the user gave that matched no block in any file
 * it was applied to (patterns match the whole file name, so '-i cache.py'
 * matches nothing: the warning says so).  Commands call it once, after
 * their files. */
void tm_filters_warn_unmatched(const tm_filters *f);
/* The end of a command that took filter options: if it succeeded (rc is
 * TM_EXIT_OK or TM_EXIT_BREACHED), warn about the filters that matched
 * nothing; then free them.  Returns rc. */
int tm_filters_finish(tm_filters *f, int rc);

#endif
