/* sink.c -- one output document per command run. */
#include "sink.h"

#include <string.h>

#include "exitcodes.h"

int tm_sink_open(tm_sink *k, tm_format format, const char *command,
                 const tm_display *d)
{
    memset(k, 0, sizeof *k);
    k->format = format;
    if (format != TM_FORMAT_JSON)
        return TM_EXIT_OK;
    k->doc = tm_json_doc(command);
    if (k->doc == NULL ||
        tm_json_add_str(k->doc, "group_by", tma_group_by_name(d->by)) < 0 ||
        cJSON_AddBoolToObject(k->doc, "cumulative", d->cumulative) == NULL ||
        (d->peak && cJSON_AddBoolToObject(k->doc, "peak", 1) == NULL) ||
        tm_json_add_i64(k->doc, "count", d->count) < 0 ||
        (k->reports = cJSON_AddArrayToObject(k->doc, "reports")) == NULL) {
        cJSON_Delete(k->doc);
        k->doc = NULL;
        tm_error("out of memory");
        return TM_EXIT_BADFILE;
    }
    return TM_EXIT_OK;
}

int tm_sink_emit(tm_sink *k, const tm_report *r, const tm_display *d,
                 cJSON **obj)
{
    cJSON *o;
    switch (k->format) {
    case TM_FORMAT_TEXT:
        /* A write error is main's to report (tm_finish_stdout). */
        if (tm_report_text(stdout, r, d) < 0 && !ferror(stdout)) {
            tm_error("out of memory");
            return TM_EXIT_BADFILE;
        }
        break;
    case TM_FORMAT_CSV:
        if (!k->csv_started)
            tm_report_csv_header(stdout);
        k->csv_started = 1;
        tm_report_csv(stdout, r, d);
        break;
    case TM_FORMAT_JSON:
        o = tm_report_json(r, d);
        if (o == NULL || !cJSON_AddItemToArray(k->reports, o)) {
            cJSON_Delete(o);
            tm_error("out of memory");
            return TM_EXIT_BADFILE;
        }
        if (obj)
            *obj = o;
        break;
    }
    return TM_EXIT_OK;
}

int tm_sink_close(tm_sink *k)
{
    if (k->doc == NULL)
        return TM_EXIT_OK;
    cJSON *doc = k->doc;
    k->doc = NULL;
    return tm_json_print(doc) < 0 ? TM_EXIT_BADFILE : TM_EXIT_OK;
}

void tm_sink_discard(tm_sink *k)
{
    cJSON_Delete(k->doc);
    k->doc = NULL;
}
