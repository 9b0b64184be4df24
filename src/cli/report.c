/* report.c -- render a grouping compared with an older one: DisplayTop's
 * text layout, the JSON "report" object (format/JSON.md) and CSV rows.
 * Order always comes from tma_diff_sort and key text from
 * tma_filename_format, so tmtool and the Python API agree. */
#include "report.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "exitcodes.h"

const tm_opt tm_display_opts[] = {
    { TM_OPT_GROUP_BY, 0, "group-by", "KEY",
      "filename, line (default), traceback or address" },
    { TM_OPT_CUMULATIVE, 0, "cumulative", NULL,
      "count a block under every frame of its traceback" },
    { TM_OPT_COUNT, 'n', "count", "N", "show the N biggest entries (default 10, 0: all)" },
    { TM_OPT_FILENAME_PARTS, 0, "filename-parts", "N",
      "show the last N parts of file names (default 3, 0: whole)" },
    { TM_OPT_NO_SIZE, 0, "no-size", NULL, "hide the size column (text)" },
    { TM_OPT_NO_COUNT, 0, "no-count", NULL, "hide the count column (text)" },
    { TM_OPT_NO_AVERAGE, 0, "no-average", NULL, "hide the average column (text)" },
    { TM_OPT_NO_METRICS, 0, "no-metrics", NULL, "do not show the snapshots' metrics" },
    { 0 },
};

void tm_display_init(tm_display *d)
{
    memset(d, 0, sizeof *d);
    d->by = TMA_BY_LINE;
    d->count = 10;
    d->filename_parts = 3;
    d->show_size = d->show_count = d->show_average = d->show_metrics = 1;
}

int tm_display_option(tm_display *d, int id, const char *arg)
{
    switch (id) {
    case TM_OPT_GROUP_BY:
        if (tma_group_by_parse(arg, &d->by) < 0) {
            tm_error("unknown grouping '%s' (expected filename, line, "
                     "traceback or address)", arg);
            return -1;
        }
        return 1;
    case TM_OPT_CUMULATIVE: d->cumulative = 1; return 1;
    case TM_OPT_COUNT:
        return tm_parse_count("--count", arg, 0, &d->count) < 0 ? -1 : 1;
    case TM_OPT_FILENAME_PARTS:
        return tm_parse_count("--filename-parts", arg, 0,
                              &d->filename_parts) < 0 ? -1 : 1;
    case TM_OPT_NO_SIZE: d->show_size = 0; return 1;
    case TM_OPT_NO_COUNT: d->show_count = 0; return 1;
    case TM_OPT_NO_AVERAGE: d->show_average = 0; return 1;
    case TM_OPT_NO_METRICS: d->show_metrics = 0; return 1;
    default: return 0;
    }
}

unsigned tm_display_load_flags(const tm_display *d, const tm_filters *f)
{
    int need = d->by == TMA_BY_TRACEBACK || d->by == TMA_BY_ADDRESS ||
               d->cumulative || f->n > 0;
    return need ? 0 : TMS_LOAD_SKIP_TRACES;
}

/* Whether a grouping can be made from per-traceback totals while the
 * file streams, instead of from stored traces: it needs traces but not
 * their addresses, and no filter has to drop traces first (filters work
 * on s->traces). */
static int streams(const tm_display *d, const tm_filters *f)
{
    return f->n == 0 && d->by != TMA_BY_ADDRESS &&
           !(tm_display_load_flags(d, f) & TMS_LOAD_SKIP_TRACES);
}

int tm_group_snapshot(const tm_display *d, const tms_snapshot *s,
                      const tma_tb_totals *t, const char *path,
                      tma_groups *out)
{
    tms_error err = { 0 };
    int rc = t != NULL ? tma_group_totals(s, t, d->by, d->cumulative, out, &err)
                       : tma_group(s, d->by, d->cumulative, out, &err);
    if (rc < 0) {
        tm_report_error("group", path, &err);
        return tm_exit_for_status(rc);
    }
    return TM_EXIT_OK;
}

int tm_analysis_option(tm_common *c, tm_display *d, tm_filters *f, int id,
                       const char *arg)
{
    int took = tm_common_option(c, id, arg);
    if (took == 0)
        took = tm_display_option(d, id, arg);
    if (took == 0)
        took = tm_filters_option(f, id, arg);
    return took;
}

int tm_load_grouped(const tm_display *d, const tm_filters *f,
                    const char *path, tms_snapshot **snap, tma_groups *groups)
{
    tma_tb_totals t = { 0 };
    int stream = streams(d, f);
    int rc = stream ? tm_load_totals(path, snap, &t)
                    : tm_load(path, tm_display_load_flags(d, f), snap);
    if (rc == TM_EXIT_OK)
        rc = tm_filters_apply(f, *snap, path);
    if (rc == TM_EXIT_OK)
        rc = tm_group_snapshot(d, *snap, stream ? &t : NULL, path, groups);
    tma_tb_totals_free(&t);
    if (rc != TM_EXIT_OK) {
        tms_snapshot_free(*snap);
        *snap = NULL;
    }
    return rc;
}

int tm_report_build(tm_report *r)
{
    tms_error err = { 0 };
    int rc = tma_diff_compute(r->old.groups, r->cur.groups, &r->diff, &err);
    if (rc < 0) {
        tm_report_error("compare", r->cur.name, &err);
        return tm_exit_for_status(rc);
    }
    tma_diff_sort(&r->diff);
    return TM_EXIT_OK;
}

void tm_report_free(tm_report *r)
{
    tma_diff_free(&r->diff);
}

/* ---- keys ------------------------------------------------------------------ */

static const char *string_of(const tms_snapshot *s, uint32_t id)
{
    return id == TMS_NONE || id >= s->nstrings ? NULL : s->strings[id].data;
}

static void frame_text(char *buf, size_t cap, const tm_display *d,
                       const tms_snapshot *s, uint32_t filename,
                       int32_t lineno)
{
    char name[1024];
    tma_filename_format(name, sizeof name, string_of(s, filename),
                        (int)d->filename_parts);
    if (lineno == TMS_LINENO_NONE)
        snprintf(buf, cap, "%s:?", name);
    else
        snprintf(buf, cap, "%s:%" PRId32, name, lineno);
}

void tm_key_text(char *buf, size_t cap, const tm_display *d,
                 const tma_key *key)
{
    const tms_snapshot *s = key->snap;
    switch (d->by) {
    case TMA_BY_FILENAME:
        tma_filename_format(buf, cap, string_of(s, key->filename),
                            (int)d->filename_parts);
        break;
    case TMA_BY_LINE:
        frame_text(buf, cap, d, s, key->filename, key->lineno);
        break;
    case TMA_BY_TRACEBACK:
        if (tms_traceback_len(s, key->traceback) == 0) {
            frame_text(buf, cap, d, s, TMS_NONE, TMS_LINENO_NONE);
        } else {
            const tms_frame *fr =
                &s->frames[tms_traceback_frames(s, key->traceback)[0]];
            frame_text(buf, cap, d, s, fr->filename, fr->lineno);
        }
        break;
    case TMA_BY_ADDRESS:
        snprintf(buf, cap, "memory block 0x%" PRIx64, key->address);
        break;
    }
}

static const char *per_text(tma_group_by by)
{
    switch (by) {
    case TMA_BY_FILENAME: return "filename";
    case TMA_BY_LINE: return "filename and line number";
    case TMA_BY_TRACEBACK: return "traceback";
    case TMA_BY_ADDRESS: return "address";
    }
    return "?";
}

/* ---- text ------------------------------------------------------------------ */

static size_t append(char *buf, size_t cap, size_t k, const char *fmt, ...)
    TM_PRINTF(4, 5);

static size_t append(char *buf, size_t cap, size_t k, const char *fmt, ...)
{
    if (k >= cap)
        return k;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + k, cap - k, fmt, ap);
    va_end(ap);
    return n < 0 ? k : k + (size_t)n;
}

static size_t append_size(char *buf, size_t cap, size_t k, uint64_t size,
                          int64_t diff, int compared)
{
    char a[64], b[64];
    tma_size_format(a, sizeof a, (int64_t)size, 0);
    k = append(buf, cap, k, "%s", a);
    if (compared) {
        tma_size_format(b, sizeof b, diff, 1);
        const char *on = diff > 0   ? tm_color_on(TM_ROLE_GROW)
                         : diff < 0 ? tm_color_on(TM_ROLE_SHRINK)
                                    : "";
        k = append(buf, cap, k, " (%s%s%s)", on, b, diff ? tm_color_off() : "");
    }
    return k;
}

static void item_text(char *buf, size_t cap, const tm_display *d,
                      const tma_diff_item *it, int compared, int show_count)
{
    size_t k = 0;
    buf[0] = '\0';
    /* DisplayTop: with neither count nor average, the size stands alone. */
    if (!show_count && !d->show_average) {
        append_size(buf, cap, 0, it->size, it->size_diff, compared);
        return;
    }
    const char *sep = "";
    if (d->show_size) {
        k = append(buf, cap, k, "size=");
        k = append_size(buf, cap, k, it->size, it->size_diff, compared);
        sep = ", ";
    }
    if (show_count && (it->count || it->count_diff)) {
        k = append(buf, cap, k, "%scount=%" PRIu64, sep, it->count);
        if (compared)
            k = append(buf, cap, k, " (%+" PRId64 ")", it->count_diff);
        sep = ", ";
    }
    if (d->show_average && it->count > 1) {
        char a[64];
        tma_size_format(a, sizeof a, (int64_t)(it->size / it->count), 0);
        k = append(buf, cap, k, "%saverage=%s", sep, a);
    }
}

void tm_item_text(char *buf, size_t cap, const tm_display *d,
                  const tma_diff_item *it, int compared)
{
    item_text(buf, cap, d, it, compared,
              d->show_count && d->by != TMA_BY_ADDRESS);
}

void tm_traceback_text(FILE *f, const tm_display *d, const tms_snapshot *s,
                       uint32_t tb)
{
    uint32_t n = tms_traceback_len(s, tb);
    const uint32_t *frames = tms_traceback_frames(s, tb);
    char name[1024];
    fprintf(f, "  Traceback (most recent call first):\n");
    if (n == 0)
        fprintf(f, "    File \"???\", line ?\n");
    for (uint32_t i = 0; i < n; i++) {
        const tms_frame *fr = &s->frames[frames[i]];
        tma_filename_format(name, sizeof name, string_of(s, fr->filename),
                            (int)d->filename_parts);
        if (fr->lineno == TMS_LINENO_NONE)
            fprintf(f, "    File \"%s\", line ?\n", name);
        else
            fprintf(f, "    File \"%s\", line %" PRId32 "\n", name, fr->lineno);
    }
}

static size_t shown_count(const tm_report *r, const tm_display *d)
{
    size_t n = r->diff.n;
    return d->count > 0 && (size_t)d->count < n ? (size_t)d->count : n;
}

static void sum_items(const tma_diff *diff, size_t from, size_t to,
                      tma_diff_item *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = from; i < to; i++) {
        out->size_diff += diff->items[i].size_diff;
        out->size += diff->items[i].size;
        out->count_diff += diff->items[i].count_diff;
        out->count += diff->items[i].count;
    }
}

static void total_item(const tm_report *r, tma_diff_item *t)
{
    memset(t, 0, sizeof *t);
    t->size = r->cur.groups->total_size;
    t->count = r->cur.groups->total_count;
    if (r->old.groups) {
        t->size_diff = (int64_t)(t->size - r->old.groups->total_size);
        t->count_diff = (int64_t)(t->count - r->old.groups->total_count);
    }
}

static void side_title(char *buf, size_t cap, const tm_side *side)
{
    if (side->snap) {
        char when[64];
        tm_format_time(when, sizeof when, side->snap->header.timestamp_ns);
        snprintf(buf, cap, "%s, %s", side->name, when);
    } else {
        snprintf(buf, cap, "%s", side->name);
    }
}

static int metric_cmp(const void *a, const void *b)
{
    return strcmp((*(const tms_metric *const *)a)->name,
                  (*(const tms_metric *const *)b)->name);
}

static const tms_metric *find_metric(const tms_snapshot *s, const char *name)
{
    for (uint32_t i = 0; s && i < s->nmetrics; i++)
        if (strcmp(s->metrics[i].name, name) == 0)
            return &s->metrics[i];
    return NULL;
}

/* A metric's value as text, per its format (DisplayTop's rules). */
void tm_metric_value_text(char *buf, size_t cap, tms_metric_format fmt,
                              int is_float, int64_t i, double f, int sign)
{
    if (fmt == TMS_FORMAT_PERCENT)
        snprintf(buf, cap, sign ? "%+.1f%%" : "%.1f%%",
                 (is_float ? f : (double)i) * 100.0);
    else if (fmt == TMS_FORMAT_SIZE)
        tma_size_format(buf, cap, is_float ? (int64_t)f : i, sign);
    else if (is_float)
        snprintf(buf, cap, sign ? "%+g" : "%g", f);
    else
        snprintf(buf, cap, sign ? "%+" PRId64 : "%" PRId64, i);
}

static void metrics_text(FILE *f, const tm_report *r)
{
    const tms_snapshot *cur = r->cur.snap, *old = r->old.snap;
    size_t n = (cur ? cur->nmetrics : 0) + (old ? old->nmetrics : 0);
    if (n == 0)
        return;
    const tms_metric **all = malloc(n * sizeof *all);
    if (all == NULL)
        return;
    size_t k = 0;
    for (uint32_t i = 0; cur && i < cur->nmetrics; i++)
        all[k++] = &cur->metrics[i];
    for (uint32_t i = 0; old && i < old->nmetrics; i++)
        if (find_metric(cur, old->metrics[i].name) == NULL)
            all[k++] = &old->metrics[i];
    qsort(all, k, sizeof *all, metric_cmp);
    fputc('\n', f);
    for (size_t j = 0; j < k; j++) {
        const tms_metric *m = find_metric(cur, all[j]->name);
        const tms_metric *o = old ? find_metric(old, all[j]->name) : NULL;
        char v[64], dv[64];
        if (m)
            tm_metric_value_text(v, sizeof v, m->format, m->kind == TMS_VALUE_FLOAT,
                              m->i, m->f, 0);
        else
            snprintf(v, sizeof v, "-");
        fprintf(f, "%s: %s%s%s", all[j]->name, tm_color_on(TM_ROLE_NAME), v,
                tm_color_off());
        if (m && o) {
            int fl = m->kind == TMS_VALUE_FLOAT || o->kind == TMS_VALUE_FLOAT;
            double fm = m->kind == TMS_VALUE_FLOAT ? m->f : (double)m->i;
            double fo = o->kind == TMS_VALUE_FLOAT ? o->f : (double)o->i;
            tm_metric_value_text(dv, sizeof dv, m->format, fl, m->i - o->i,
                              fm - fo, 1);
            fprintf(f, " (%s)", dv);
        }
        fputc('\n', f);
    }
    free(all);
}

void tm_report_text(FILE *f, const tm_report *r, const tm_display *d)
{
    char title[1200], buf[2048], key[2048];
    int compared = r->old.groups != NULL;
    size_t shown = shown_count(r, d);
    side_title(title, sizeof title, &r->cur);
    fprintf(f, "%s%s%s: %s%s %zu allocations per %s%s", tm_color_on(TM_ROLE_NAME),
            title, tm_color_off(), tm_color_on(TM_ROLE_TITLE),
            r->cur.groups->cumulative ? "Cumulative top" : "Top", shown,
            per_text(d->by), tm_color_off());
    if (compared) {
        side_title(title, sizeof title, &r->old);
        fprintf(f, " (compared to %s)", title);
    }
    fputc('\n', f);
    for (size_t i = 0; i < shown; i++) {
        const tma_diff_item *it = &r->diff.items[i];
        tm_item_text(buf, sizeof buf, d, it, compared);
        if (d->by == TMA_BY_TRACEBACK) {
            fprintf(f, "%s#%zu%s: %s\n", tm_color_on(TM_ROLE_RANK), i + 1,
                    tm_color_off(), buf);
            tm_traceback_text(f, d, it->key.snap, it->key.traceback);
        } else {
            tm_key_text(key, sizeof key, d, &it->key);
            fprintf(f, "%s#%zu%s: %s: %s\n", tm_color_on(TM_ROLE_RANK), i + 1,
                    tm_color_off(), key, buf);
        }
    }
    tma_diff_item sum;
    if (shown < r->diff.n) {
        sum_items(&r->diff, shown, r->diff.n, &sum);
        tm_item_text(buf, sizeof buf, d, &sum, compared);
        fprintf(f, "%s%zu more%s: %s\n", tm_color_on(TM_ROLE_TITLE),
                r->diff.n - shown, tm_color_off(), buf);
    }
    total_item(r, &sum);
    item_text(buf, sizeof buf, d, &sum, compared, d->show_count);
    fprintf(f, "Total: %s\n", buf);
    if (d->show_metrics)
        metrics_text(f, r);
    fputc('\n', f);
}

/* ---- JSON ------------------------------------------------------------------ */

static int add_frame_json(cJSON *obj, const tms_snapshot *s, uint32_t filename,
                          int32_t lineno)
{
    if (tm_json_add_str(obj, "filename", string_of(s, filename)) < 0)
        return -1;
    if (lineno == TMS_LINENO_NONE)
        return cJSON_AddNullToObject(obj, "lineno") ? 0 : -1;
    return tm_json_add_i64(obj, "lineno", lineno);
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
                           s->frames[frames[i]].lineno) < 0) {
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
    char key[2048], hex[32];
    cJSON *o = cJSON_CreateObject();
    if (o == NULL)
        return NULL;
    tm_key_text(key, sizeof key, d, &it->key);
    int bad = tm_json_add_u64(o, "rank", rank) < 0 ||
              tm_json_add_str(o, "key", key) < 0;
    const tms_snapshot *s = it->key.snap;
    switch (d->by) {
    case TMA_BY_FILENAME:
        bad |= tm_json_add_str(o, "filename", string_of(s, it->key.filename)) < 0;
        break;
    case TMA_BY_LINE:
        bad |= add_frame_json(o, s, it->key.filename, it->key.lineno) < 0;
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
    }
    bad |= add_numbers_json(o, it) < 0;
    if (bad) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
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

/* The header fields of one side, shared by every JSON document. */
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
           tm_json_add_u64(o, "traceback_limit", h->traceback_limit) < 0;
    return bad ? -1 : 0;
}

cJSON *tm_report_json(const tm_report *r, const tm_display *d)
{
    cJSON *o = cJSON_CreateObject(), *prev = NULL, *entries, *metrics, *x;
    size_t shown = shown_count(r, d);
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
    sum_items(&r->diff, shown, r->diff.n, &sum);
    x = cJSON_AddObjectToObject(o, "rest");
    if (x == NULL || tm_json_add_u64(x, "entries", r->diff.n - shown) < 0 ||
        add_numbers_json(x, &sum) < 0)
        goto fail;
    total_item(r, &sum);
    x = cJSON_AddObjectToObject(o, "total");
    if (x == NULL || add_numbers_json(x, &sum) < 0)
        goto fail;
    metrics = cJSON_AddArrayToObject(o, "metrics");
    if (metrics == NULL)
        goto fail;
    for (uint32_t i = 0; d->show_metrics && r->cur.snap &&
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

/* ---- CSV ------------------------------------------------------------------- */

void tm_report_csv_header(FILE *f)
{
    fputs("file,previous,kind,rank,key,filename,lineno,address,traceback,"
          "size,size_diff,count,count_diff,average\n", f);
}

static void csv_row(FILE *f, const tm_report *r, const tm_display *d,
                    const char *kind, size_t rank, const tma_diff_item *it,
                    int has_key)
{
    char buf[2048];
    buf[0] = '\0';
    tm_csv_field(f, r->cur.name, 0);
    tm_csv_field(f, r->old.groups ? r->old.name : "", 0);
    tm_csv_field(f, kind, 0);
    snprintf(buf, sizeof buf, "%zu", rank);
    tm_csv_field(f, rank ? buf : "", 0);
    const tms_snapshot *s = it->key.snap;
    const char *filename = "", *lineno = "", *address = "";
    char line[24] = "", addr[32] = "", *tb = NULL;
    if (has_key) {
        tm_key_text(buf, sizeof buf, d, &it->key);
        if (d->by == TMA_BY_FILENAME || d->by == TMA_BY_LINE)
            filename = string_of(s, it->key.filename);
        if (d->by == TMA_BY_LINE && it->key.lineno != TMS_LINENO_NONE) {
            snprintf(line, sizeof line, "%" PRId32, it->key.lineno);
            lineno = line;
        }
        if (d->by == TMA_BY_ADDRESS) {
            snprintf(addr, sizeof addr, "0x%" PRIx64, it->key.address);
            address = addr;
        }
        if (d->by == TMA_BY_TRACEBACK) {
            /* "file:line;file:line", most recent first */
            uint32_t n = tms_traceback_len(s, it->key.traceback);
            const uint32_t *fr = tms_traceback_frames(s, it->key.traceback);
            size_t cap = 64, k = 0;
            for (uint32_t i = 0; i < n; i++) {
                const char *fn = string_of(s, s->frames[fr[i]].filename);
                cap += (fn ? strlen(fn) : 0) + 16;
            }
            tb = malloc(cap);
            if (tb) {
                tb[0] = '\0';
                for (uint32_t i = 0; i < n; i++) {
                    const char *fn = string_of(s, s->frames[fr[i]].filename);
                    int32_t ln = s->frames[fr[i]].lineno;
                    k += (size_t)snprintf(tb + k, cap - k, "%s%s:", i ? ";" : "",
                                          fn ? fn : "");
                    if (ln != TMS_LINENO_NONE)
                        k += (size_t)snprintf(tb + k, cap - k, "%" PRId32, ln);
                }
            }
        }
    } else {
        buf[0] = '\0';
    }
    tm_csv_field(f, buf, 0);
    tm_csv_field(f, filename, 0);
    tm_csv_field(f, lineno, 0);
    tm_csv_field(f, address, 0);
    tm_csv_field(f, tb, 0);
    free(tb);
    fprintf(f, "%" PRIu64 ",%" PRId64 ",%" PRIu64 ",%" PRId64 ",", it->size,
            it->size_diff, it->count, it->count_diff);
    if (it->count)
        fprintf(f, "%" PRIu64 "\n", it->size / it->count);
    else
        fputc('\n', f);
}

void tm_report_csv(FILE *f, const tm_report *r, const tm_display *d)
{
    size_t shown = shown_count(r, d);
    tma_diff_item sum;
    for (size_t i = 0; i < shown; i++)
        csv_row(f, r, d, "entry", i + 1, &r->diff.items[i], 1);
    if (shown < r->diff.n) {
        sum_items(&r->diff, shown, r->diff.n, &sum);
        csv_row(f, r, d, "rest", 0, &sum, 0);
    }
    total_item(r, &sum);
    csv_row(f, r, d, "total", 0, &sum, 0);
}

/* ---- sink ------------------------------------------------------------------ */

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
        tm_report_text(stdout, r, d);
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
