/* cmd_metrics.c -- `tmtool metrics FILE...`: the metrics of one snapshot,
 * or of a series as a table over time (first, last, change, min, max).
 * Trace sections are never decompressed: metrics do not need them. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "exitcodes.h"
#include "report.h"

static const tm_command metrics_command = {
    .name = "metrics",
    .usage = "tmtool metrics [<options>] FILE...",
    .description =
        "Show the metrics stored in a snapshot.  With several files of one\n"
        "series, show each metric over time: first, last, change, minimum and\n"
        "maximum (files are put in time order).",
    .min_files = 1,
    .max_files = -1,
    .files_needed = "at least one FILE",
};

static const char *const format_names[] = { "int", "percent", "size" };

/* One metric across the series; cells[i] is NULL where file i lacks it. */
typedef struct row {
    const char *name;
    tms_metric_format format;
    const tms_metric **cells;
    int any_float;
    const tms_metric *first, *last, *min, *max;
} row;

static double as_double(const tms_metric *m)
{
    return m->kind == TMS_VALUE_FLOAT ? m->f : (double)m->i;
}

static int less(const row *r, const tms_metric *a, const tms_metric *b)
{
    return r->any_float ? as_double(a) < as_double(b) : a->i < b->i;
}


static int row_cmp(const void *a, const void *b)
{
    return strcmp(((const row *)a)->name, ((const row *)b)->name);
}

static void value_text(char *buf, size_t cap, const row *r, const tms_metric *m)
{
    if (m == NULL)
        snprintf(buf, cap, "-");
    else
        tma_metric_value_text(buf, cap, r->format, m->kind == TMS_VALUE_FLOAT,
                             m->i, m->f, 0);
}

static void change_text(char *buf, size_t cap, const row *r)
{
    tma_metric_value_text(buf, cap, r->format, r->any_float,
                         r->last->i - r->first->i,
                         as_double(r->last) - as_double(r->first), 1);
}

/* Collect the union of metric names, sorted, with each file's value. */
static row *build_rows(tms_snapshot **snaps, size_t n, size_t *nrows)
{
    size_t cap = 0, k = 0;
    for (size_t i = 0; i < n; i++)
        cap += snaps[i]->nmetrics;
    row *rows = calloc(cap ? cap : 1, sizeof *rows);
    if (rows == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        for (uint32_t j = 0; j < snaps[i]->nmetrics; j++) {
            const tms_metric *m = &snaps[i]->metrics[j];
            row *r = NULL;
            for (size_t q = 0; q < k && r == NULL; q++)
                if (strcmp(rows[q].name, m->name) == 0)
                    r = &rows[q];
            if (r == NULL) {
                r = &rows[k++];
                r->name = m->name;
                r->format = m->format;
                r->cells = calloc(n, sizeof *r->cells);
                if (r->cells == NULL)
                    goto oom;
            }
            r->cells[i] = m;
            r->any_float |= m->kind == TMS_VALUE_FLOAT;
        }
    }
    for (size_t q = 0; q < k; q++) {
        row *r = &rows[q];
        for (size_t i = 0; i < n; i++) {
            const tms_metric *m = r->cells[i];
            if (m == NULL)
                continue;
            if (r->first == NULL)
                r->first = r->min = r->max = m;
            r->last = m;
            if (less(r, m, r->min))
                r->min = m;
            if (less(r, r->max, m))
                r->max = m;
        }
    }
    qsort(rows, k, sizeof *rows, row_cmp);
    *nrows = k;
    return rows;
oom:
    for (size_t q = 0; q < k; q++)
        free(rows[q].cells);
    free(rows);
    return NULL;
}

/* Width of a metric name as shown (escaped). */
static size_t shown_len(const char *name)
{
    return tms_escape(NULL, 0, name, strlen(name));
}

/* The name escaped, padded to w columns. */
static void put_name(const char *name, size_t w)
{
    tma_text_escaped(stdout, name);
    for (size_t k = shown_len(name); k < w; k++)
        putchar(' ');
}

static void print_text(char **paths, tms_snapshot **snaps, size_t n,
                       const row *rows, size_t nrows)
{
    char when[64], v[6][64];
    size_t w = 6;
    for (size_t q = 0; q < nrows; q++)
        if (shown_len(rows[q].name) > w)
            w = shown_len(rows[q].name);
    /* One title line, also for a series of hundreds of files. */
    tm_format_time(when, sizeof when, snaps[0]->header.timestamp_ns);
    fputs(tm_color_on(TMA_ROLE_NAME), stdout);
    tma_text_escaped(stdout, paths[0]);
    printf(", %s", when);
    if (n > 1) {
        tm_format_time(when, sizeof when, snaps[n - 1]->header.timestamp_ns);
        fputs(" .. ", stdout);
        tma_text_escaped(stdout, paths[n - 1]);
        printf(", %s (%zu files)", when, n);
    }
    printf("%s\n", tm_color_off());
    if (nrows == 0)
        return;
    putchar('\n');
    if (n == 1) {
        for (size_t q = 0; q < nrows; q++) {
            value_text(v[0], sizeof v[0], &rows[q], rows[q].cells[0]);
            put_name(rows[q].name, w);
            printf("  %s\n", v[0]);
        }
        return;
    }
    printf("%s%-*s  %12s  %12s  %12s  %12s  %12s%s\n", tm_color_on(TMA_ROLE_TITLE),
           (int)w, "metric", "first", "last", "change", "min", "max",
           tm_color_off());
    for (size_t q = 0; q < nrows; q++) {
        const row *r = &rows[q];
        value_text(v[0], sizeof v[0], r, r->first);
        value_text(v[1], sizeof v[1], r, r->last);
        change_text(v[2], sizeof v[2], r);
        value_text(v[3], sizeof v[3], r, r->min);
        value_text(v[4], sizeof v[4], r, r->max);
        put_name(r->name, w);
        printf("  %12s  %12s  %12s  %12s  %12s\n", v[0], v[1], v[2], v[3],
               v[4]);
    }
}

static void csv_number(const row *r, const tms_metric *m, int last)
{
    char buf[64] = "";
    if (m != NULL && m->kind == TMS_VALUE_FLOAT)
        snprintf(buf, sizeof buf, "%.17g", m->f);
    else if (m != NULL)
        snprintf(buf, sizeof buf, "%" PRId64, m->i);
    (void)r;
    tm_csv_field(stdout, buf, last);
}

static void print_csv(char **paths, size_t n, const row *rows, size_t nrows)
{
    /* One column per file after max: tm_csv_field writes the separator
     * after a field (not before), so "max" takes one here. */
    printf("name,format,first,last,change,min,max,");
    for (size_t i = 0; i < n; i++)
        tm_csv_field(stdout, paths[i], i + 1 == n);
    for (size_t q = 0; q < nrows; q++) {
        const row *r = &rows[q];
        char ch[64];
        tm_csv_field(stdout, r->name, 0);
        tm_csv_field(stdout, format_names[r->format <= 2 ? r->format : 0], 0);
        csv_number(r, r->first, 0);
        csv_number(r, r->last, 0);
        if (r->any_float)
            snprintf(ch, sizeof ch, "%.17g", as_double(r->last) - as_double(r->first));
        else
            snprintf(ch, sizeof ch, "%" PRId64, r->last->i - r->first->i);
        tm_csv_field(stdout, ch, 0);
        csv_number(r, r->min, 0);
        csv_number(r, r->max, 0);
        for (size_t i = 0; i < n; i++)
            csv_number(r, r->cells[i], i + 1 == n);
    }
}

static int add_value(cJSON *o, const char *name, const tms_metric *m)
{
    if (m == NULL)
        return cJSON_AddNullToObject(o, name) ? 0 : -1;
    if (m->kind == TMS_VALUE_FLOAT)
        return cJSON_AddNumberToObject(o, name, m->f) ? 0 : -1;
    return tm_json_add_i64(o, name, m->i);
}

static int print_json(char **paths, tms_snapshot **snaps, size_t n,
                      const row *rows, size_t nrows)
{
    cJSON *doc = tm_json_doc("metrics"), *arr, *o, *vals;
    if (doc == NULL || (arr = cJSON_AddArrayToObject(doc, "snapshots")) == NULL)
        goto oom;
    for (size_t i = 0; i < n; i++) {
        tm_side side = { paths[i], snaps[i], NULL };
        if ((o = cJSON_CreateObject()) == NULL || !cJSON_AddItemToArray(arr, o) ||
            tm_side_json(o, &side) < 0)
            goto oom;
    }
    if ((arr = cJSON_AddArrayToObject(doc, "metrics")) == NULL)
        goto oom;
    for (size_t q = 0; q < nrows; q++) {
        const row *r = &rows[q];
        if ((o = cJSON_CreateObject()) == NULL || !cJSON_AddItemToArray(arr, o) ||
            tm_json_add_str(o, "name", r->name) < 0 ||
            tm_json_add_str(o, "format", format_names[r->format <= 2 ? r->format : 0]) < 0 ||
            (vals = cJSON_AddArrayToObject(o, "values")) == NULL)
            goto oom;
        for (size_t i = 0; i < n; i++) {
            const tms_metric *m = r->cells[i];
            cJSON *v = m == NULL ? cJSON_CreateNull()
                       : m->kind == TMS_VALUE_FLOAT ? cJSON_CreateNumber(m->f)
                                                    : NULL;
            if (m != NULL && m->kind != TMS_VALUE_FLOAT) {
                char buf[24];
                snprintf(buf, sizeof buf, "%" PRId64, m->i);
                v = cJSON_CreateRaw(buf);
            }
            if (v == NULL || !cJSON_AddItemToArray(vals, v)) {
                cJSON_Delete(v);
                goto oom;
            }
        }
        int bad = add_value(o, "first", r->first) < 0 ||
                  add_value(o, "last", r->last) < 0 ||
                  add_value(o, "min", r->min) < 0 ||
                  add_value(o, "max", r->max) < 0;
        if (r->any_float)
            bad |= cJSON_AddNumberToObject(o, "change", as_double(r->last) -
                                                         as_double(r->first)) == NULL;
        else
            bad |= tm_json_add_i64(o, "change", r->last->i - r->first->i) < 0;
        if (bad)
            goto oom;
    }
    return tm_json_print(doc) < 0 ? TM_EXIT_BADFILE : TM_EXIT_OK;
oom:
    cJSON_Delete(doc);
    tm_error("out of memory");
    return TM_EXIT_BADFILE;
}

int cmd_metrics(int argc, char **argv)
{
    static const tm_opt_group groups[] = { { NULL, NULL, NULL } };
    tms_snapshot **snaps = NULL;
    row *rows = NULL;
    size_t nrows = 0, n = 0;
    tm_args a;
    int rc = tm_parse_command(&metrics_command, groups, argc, argv, &a);
    if (rc != TM_EXIT_OK || a.common.help)
        goto done;
    n = a.nfiles;
    char **paths = a.files;
    if (n > 1 && (rc = tm_order_series(paths, n)) != TM_EXIT_OK)
        goto done;
    snaps = calloc(n, sizeof *snaps);
    if (snaps == NULL) {
        tm_error("out of memory");
        rc = TM_EXIT_BADFILE;
        goto done;
    }
    for (size_t i = 0; rc == TM_EXIT_OK && i < n; i++)
        rc = tm_load(paths[i], TMS_LOAD_SKIP_TRACES, &snaps[i]);
    if (rc != TM_EXIT_OK)
        goto done;
    rows = build_rows(snaps, n, &nrows);
    if (rows == NULL) {
        tm_error("out of memory");
        rc = TM_EXIT_BADFILE;
        goto done;
    }
    if (a.common.format == TM_FORMAT_TEXT)
        print_text(paths, snaps, n, rows, nrows);
    else if (a.common.format == TM_FORMAT_CSV)
        print_csv(paths, n, rows, nrows);
    else
        rc = print_json(paths, snaps, n, rows, nrows);
done:
    for (size_t q = 0; rows && q < nrows; q++)
        free(rows[q].cells);
    free(rows);
    for (size_t i = 0; snaps && i < n; i++)
        tms_snapshot_free(snaps[i]);
    free(snaps);
    return rc;
}
