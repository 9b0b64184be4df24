/* display.c -- the display options and what they imply for loading. */
#include "display.h"

#include <string.h>

#include "input.h"

static int opt_group_by(void *ctx, const tm_opt *o, const char *arg)
{
    (void)o;
    if (tma_group_by_parse(arg, &((tm_display *)ctx)->by) < 0) {
        tm_error("unknown grouping '%s' (expected filename, line, "
                 "function, traceback or address)", arg);
        return -1;
    }
    return 0;
}

static int opt_count(void *ctx, const tm_opt *o, const char *arg)
{
    (void)o;
    return tm_parse_count("--count", arg, 0, &((tm_display *)ctx)->count);
}

static int opt_filename_parts(void *ctx, const tm_opt *o, const char *arg)
{
    (void)o;
    return tm_parse_count("--filename-parts", arg, 0,
                          &((tm_display *)ctx)->filename_parts);
}

const tm_opt tm_display_opts[] = {
    TM_OPT_CALLBACK(0, "group-by", "KEY", opt_group_by, 0,
                    "filename, line (default), function, traceback or address"),
    TM_OPT_FLAG(0, "cumulative", tm_display, cumulative,
                "count a block under every frame of its traceback"),
    TM_OPT_CALLBACK('n', "count", "N", opt_count, 0,
                    "show the N biggest entries (default 10, 0: all)"),
    TM_OPT_CALLBACK(0, "filename-parts", "N", opt_filename_parts, 0,
                    "show the last N parts of file names (default 3, 0: whole)"),
    TM_OPT_SET_INT(0, "no-size", tm_display, show_size, 0,
                   "hide the size column (text)"),
    TM_OPT_SET_INT(0, "no-count", tm_display, show_count, 0,
                   "hide the count column (text)"),
    TM_OPT_SET_INT(0, "no-average", tm_display, show_average, 0,
                   "hide the average column (text)"),
    TM_OPT_SET_INT(0, "metrics", tm_display, show_metrics, 1,
                   "show the snapshots' metrics under the report (text; "
                   "JSON has them unless --no-metrics)"),
    TM_OPT_SET_INT(0, "no-metrics", tm_display, show_metrics, 0,
                   "no metrics, in text (the default) or JSON"),
    TM_OPT_END,
};

void tm_display_init(tm_display *d)
{
    memset(d, 0, sizeof *d);
    d->by = TMA_BY_LINE;
    d->count = 10;
    d->filename_parts = 3;
    d->show_size = d->show_count = d->show_average = 1;
    d->show_metrics = -1;
}

unsigned tm_display_load_flags(const tm_display *d, const tm_filters *f)
{
    /* the peak is kept per traceback, in its own sections */
    int need = !d->peak && (d->by == TMA_BY_TRACEBACK ||
                            d->by == TMA_BY_ADDRESS ||
                            d->by == TMA_BY_DOMAIN || d->cumulative ||
                            tm_filters_active(f));
    return need ? 0 : TMS_LOAD_SKIP_TRACES;
}
