/* unique.h -- the streaming writer's duplicate checks (see unique.c).
 * Each call records its argument and returns TMS_OK if it was new,
 * TMS_E_ARG if it was seen before, or TMS_E_NOMEM. */
#ifndef TMS_UNIQUE_H
#define TMS_UNIQUE_H

#include "tms_private.h"

typedef struct tms_unique tms_unique;

tms_unique *tms_unique_new(void);
void tms_unique_free(tms_unique *u);
int tms_unique_string(tms_unique *u, const char *data, size_t len);
int tms_unique_frame(tms_unique *u, uint32_t filename, int32_t lineno);
int tms_unique_traceback(tms_unique *u, const uint32_t *frames, uint32_t n);
int tms_unique_metric(tms_unique *u, const char *name);
int tms_unique_meta(tms_unique *u, const char *key);
int tms_unique_stat(tms_unique *u, uint32_t frame);
/* t: one chunk sorted by address, already checked strictly ascending. */
int tms_unique_chunk(tms_unique *u, const tms_trace *t, size_t n);

#endif
