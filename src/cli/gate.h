/* gate.h -- a CI threshold option (--fail-if-growth SIZE|PCT and the
 * like): parsed once, checked with libtma's rule, named in messages as
 * the user wrote it.  diff and trend use it. */
#ifndef HEADER_gate
#define HEADER_gate

#include <stdint.h>

#include "tma.h"

typedef struct tm_gate {
    const char *option;   /* "fail-if-growth" (long name, no dashes) */
    const char *text;     /* the value as the user wrote it */
    tma_threshold t;
    int set;
} tm_gate;

/* Parse arg for option into g; 0, or -1 after reporting a bad value. */
int tm_gate_parse(tm_gate *g, const char *option, const char *arg);
/* 1 if growth from old_size to new_size breaches g, else 0 (also when g
 * is not set). */
int tm_gate_breached(const tm_gate *g, uint64_t old_size, uint64_t new_size);

#endif
