/* flame_out.h -- render a flame tree (libtma's tma_flame) as a
 * self-contained HTML page or as folded stacks.  Both write to f and
 * return 0, or -1 on out of memory; write errors are the caller's to
 * check (ferror). */
#ifndef HEADER_flame_out
#define HEADER_flame_out

#include <stdio.h>

#include "report.h"

typedef struct tm_flame_opts {
    const char *title;       /* shown as the page's heading */
    const char *file;        /* the snapshot's name, shown in the summary */
    long filename_parts;     /* short labels: last N parts (0: whole) */
} tm_flame_opts;

int tm_flame_html(FILE *f, const tma_flame *fl, const tm_flame_opts *o);
/* One line per call path that holds memory itself: its frames from the
 * oldest, separated by ';', a space and its size in bytes. */
int tm_flame_collapsed(FILE *f, const tma_flame *fl, long filename_parts);

#endif
