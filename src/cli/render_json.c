/* render_json.c -- a report as the "report" object of format/JSON.md, and
 * the JSON pieces other documents reuse. */
#include "render.h"

#include <inttypes.h>
#include <stdlib.h>

/* "function": the qualified name, null when unknown (format 1.0 files). */
static int add_function_json(cJSON *obj, const tms_snapshot *s,
                             uint32_t function)
{
    return tm_json_add_str(obj, "function", tm_string_of(s, function));
}

static int add_frame_json(cJSON *obj, const tms_snapshot *s, uint32_t filename,
                          int32_t lineno, uint32_t function)
{
    if (tm_json_add_str(obj, "filename", tm_string_of(s, filename)) < 0)
        return -1;
    if (lineno == TMS_LINENO_NONE) {
        if (cJSON_AddNullToObject(obj, "lineno") == NULL)
            return -1;
    } else if (tm_json_add_i64(obj, "lineno", lineno) < 0) {
        return -1;
    }
    return add_function_json(obj, s, function);
}

cJSON *tm_traceback_json(const tms_snapshot *s, uint32_t tb)
{
    cJSON *arr = cJSON_CreateArray();
    uint32_t n = tms_traceback_len(s, tb);
    const uint32_t *frames = tms_traceback_frames(s, tb);
    for (uint32_t i = 0; arr && i < n; i++) {
        cJSON *fr = cJSON_CreateObject();
        if (fr == NULL || !cJSON_AddItemToArray(arr, fr) ||
            add_frame_json(fr, s, s->frames[frames[i]].filename,
                           s->frames[frames[i]].lineno,
                           tms_frame_function(s, frames[i])) < 0) {
            cJSON_Delete(arr);
            return NULL;
        }
    }
    return arr;
}

static int add_numbers_json(cJSON *o, const tma_diff_item *it)
{
    if (tm_json_add_u64(o, "size", it->size) < 0 ||
        tm_json_add_i64(o, "size_diff", it->size_diff) < 0 ||
        tm_json_add_u64(o, "count", it->count) < 0 ||
        tm_json_add_i64(o, "count_diff", it->count_diff) < 0)
        return -1;
    if (it->count == 0)
        return cJSON_AddNullToObject(o, "average") ? 0 : -1;
    return tm_json_add_u64(o, "average", it->size / it->count);
}

cJSON *tm_item_json(const tm_display *d, const tma_diff_item *it, size_t rank)
{
    char hex[32];
    cJSON *o = cJSON_CreateObject();
    char *key = tm_key_text(d, &it->key);
    if (o == NULL || key == NULL)
        goto fail;
    int bad = tm_json_add_u64(o, "rank", rank) < 0 ||
              tm_json_add_str(o, "key", key) < 0;
    const tms_snapshot *s = it->key.snap;
    switch (d->by) {
    case TMA_BY_FILENAME:
        bad |= tm_json_add_str(o, "filename", tm_string_of(s, it->key.filename)) < 0;
        break;
    case TMA_BY_LINE:
        bad |= add_frame_json(o, s, it->key.filename, it->key.lineno,
                              it->key.function) < 0;
        break;
    case TMA_BY_FUNCTION:
        bad |= tm_json_add_str(o, "filename", tm_string_of(s, it->key.filename)) < 0 ||
               add_function_json(o, s, it->key.function) < 0;
        break;
    case TMA_BY_TRACEBACK: {
        cJSON *tb = tm_traceback_json(s, it->key.traceback);
        bad |= tb == NULL || !cJSON_AddItemToObject(o, "traceback", tb);
        break;
    }
    case TMA_BY_ADDRESS:
        snprintf(hex, sizeof hex, "0x%" PRIx64, it->key.address);
        bad |= tm_json_add_str(o, "address", hex) < 0;
        break;
    case TMA_BY_DOMAIN: {
        const char *name = tma_domain_name(it->key.domain);
        bad |= tm_json_add_u64(o, "domain", it->key.domain) < 0 ||
               (name ? tm_json_add_str(o, "domain_name", name)
                     : (cJSON_AddNullToObject(o, "domain_name") ? 0 : -1)) < 0;
        break;
    }
    }
    bad |= add_numbers_json(o, it) < 0;
    if (bad)
        goto fail;
    free(key);
    return o;
fail:
    free(key);
    cJSON_Delete(o);
    return NULL;
}

cJSON *tm_metric_json(const tms_metric *m)
{
    static const char *const fmt[] = { "int", "percent", "size" };
    cJSON *o = cJSON_CreateObject();
    if (o == NULL)
        return NULL;
    int bad = tm_json_add_str(o, "name", m->name) < 0 ||
              tm_json_add_str(o, "format", m->format <= 2 ? fmt[m->format] : "int") < 0;
    if (m->kind == TMS_VALUE_FLOAT)
        bad |= cJSON_AddNumberToObject(o, "value", m->f) == NULL;
    else
        bad |= tm_json_add_i64(o, "value", m->i) < 0;
    if (bad) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

int tm_side_json(cJSON *o, const tm_side *side)
{
    char buf[80];
    if (tm_json_add_str(o, "file", side->name) < 0)
        return -1;
    if (side->snap == NULL)
        return 0;
    const tms_header *h = &side->snap->header;
    tm_format_time_iso(buf, sizeof buf, h->timestamp_ns);
    int bad = tm_json_add_str(o, "timestamp", buf) < 0 ||
              tm_json_add_i64(o, "timestamp_ns", h->timestamp_ns) < 0 ||
              tm_json_add_i64(o, "pid", h->pid) < 0;
    tm_format_series(buf, sizeof buf, h->series_id);
    bad |= tm_json_add_str(o, "series_id", buf) < 0 ||
           tm_json_add_u64(o, "traceback_limit", h->traceback_limit) < 0 ||
           tm_json_add_u64(o, "sample_interval", h->sample_interval) < 0;
    return bad ? -1 : 0;
}

cJSON *tm_report_json(const tm_report *r, const tm_display *d)
{
    cJSON *o = cJSON_CreateObject(), *prev = NULL, *entries, *metrics, *x;
    size_t shown = tm_report_shown(r, d);
    tma_diff_item sum;
    if (o == NULL || tm_side_json(o, &r->cur) < 0)
        goto fail;
    if (r->old.groups) {
        prev = cJSON_CreateObject();
        if (prev == NULL || !cJSON_AddItemToObject(o, "previous", prev) ||
            tm_side_json(prev, &r->old) < 0)
            goto fail;
    } else if (cJSON_AddNullToObject(o, "previous") == NULL) {
        goto fail;
    }
    if (tm_json_add_str(o, "group_by", tma_group_by_name(d->by)) < 0 ||
        cJSON_AddBoolToObject(o, "cumulative", r->cur.groups->cumulative) == NULL)
        goto fail;
    entries = cJSON_AddArrayToObject(o, "entries");
    if (entries == NULL)
        goto fail;
    for (size_t i = 0; i < shown; i++) {
        x = tm_item_json(d, &r->diff.items[i], i + 1);
        if (x == NULL || !cJSON_AddItemToArray(entries, x))
            goto fail;
    }
    tma_diff_sum(&r->diff, shown, r->diff.n, &sum);
    x = cJSON_AddObjectToObject(o, "rest");
    if (x == NULL || tm_json_add_u64(x, "entries", r->diff.n - shown) < 0 ||
        add_numbers_json(x, &sum) < 0)
        goto fail;
    tma_groups_total(r->cur.groups, r->old.groups, &sum);
    x = cJSON_AddObjectToObject(o, "total");
    if (x == NULL || add_numbers_json(x, &sum) < 0)
        goto fail;
    if (d->peak && r->cur.snap && r->cur.snap->has_peak) {
        const tms_snapshot *s = r->cur.snap;
        char when[80];
        tm_format_time_iso(when, sizeof when, s->peak.recorded_ns);
        x = cJSON_AddObjectToObject(o, "peak");
        if (x == NULL || tm_json_add_u64(x, "size", s->peak.size) < 0 ||
            tm_json_add_u64(x, "recorded_size", s->peak.recorded_size) < 0 ||
            tm_json_add_str(x, "recorded_timestamp", when) < 0 ||
            tm_json_add_i64(x, "recorded_timestamp_ns",
                            s->peak.recorded_ns) < 0)
            goto fail;
    }
    metrics = cJSON_AddArrayToObject(o, "metrics");
    if (metrics == NULL)
        goto fail;
    for (uint32_t i = 0; d->show_metrics != 0 && r->cur.snap &&
                         i < r->cur.snap->nmetrics; i++) {
        x = tm_metric_json(&r->cur.snap->metrics[i]);
        if (x == NULL || !cJSON_AddItemToArray(metrics, x))
            goto fail;
    }
    return o;
fail:
    cJSON_Delete(o);
    return NULL;
}
