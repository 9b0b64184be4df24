/* sink.h -- where a command's reports go: text and CSV straight to
 * stdout (one CSV header), JSON collected into one document
 * {"schema_version", ..., "reports": [...]} printed by close. */
#ifndef HEADER_sink
#define HEADER_sink

#include "render.h"

typedef struct tm_sink {
    tm_format format;
    cJSON *doc;        /* JSON only; owned */
    cJSON *reports;    /* borrowed from doc */
    int csv_started;
} tm_sink;

/* Exit code after reporting (OOM only). */
int tm_sink_open(tm_sink *k, tm_format format, const char *command,
                 const tm_display *d);
/* Render r; for JSON, *obj (if not NULL) receives the report's object so
 * the caller can add to it. */
int tm_sink_emit(tm_sink *k, const tm_report *r, const tm_display *d,
                 cJSON **obj);
/* Print the JSON document if any, free everything; NULL-safe on doc. */
int tm_sink_close(tm_sink *k);
/* Free without printing (after an error). */
void tm_sink_discard(tm_sink *k);

#endif
