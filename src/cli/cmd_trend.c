/* cmd_trend.c -- `tmtool trend FILE...`: growth across a run's files.
 * One row per site with its size in the first and last file, the change,
 * how steadily it grew (share of intervals, least-squares slope and fit),
 * likely leaks first; the statistics and the order are libtma's
 * (tma_trend_*).  CI gating like diff: --fail-if-growth on the total and
 * --fail-if-site-growth on any site that grew steadily. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "exitcodes.h"
#include "gate.h"
#include "report.h"

typedef struct trend_ctx {
    tm_display display;
    tm_filters filters;
    tm_format format;
    double steady;        /* share, 0..1 */
    int no_order;
    tm_gate total, site;
} trend_ctx;

enum { GATE_TOTAL, GATE_SITE };

static int opt_gate(void *ctx, const tm_opt *o, const char *arg)
{
    trend_ctx *c = ctx;
    return tm_gate_parse(o->value == GATE_TOTAL ? &c->total : &c->site,
                         o->long_name, arg);
}

static int opt_steady(void *ctx, const tm_opt *o, const char *arg)
{
    tma_threshold t;
    tms_error err = { 0 };
    (void)o;
    if (tma_threshold_parse(arg, &t, &err) < 0 || !t.is_percent ||
        t.percent > 100.0) {
        tm_error("bad value '%s' for --steady: expected a percentage from "
                 "0%% to 100%%", arg);
        return -1;
    }
    ((trend_ctx *)ctx)->steady = t.percent / 100.0;
    return 0;
}

static const tm_opt trend_opts[] = {
    TM_OPT_CALLBACK(0, "steady", "PCT", opt_steady, 0,
                    "a site grew steadily if it grew in at least PCT of the "
                    "intervals (default 50%)"),
    TM_OPT_CALLBACK(0, "fail-if-growth", "SIZE|PCT", opt_gate, GATE_TOTAL,
                    "exit 1 if the total grew from first to last by more than SIZE or PCT"),
    TM_OPT_CALLBACK(0, "fail-if-site-growth", "SIZE|PCT", opt_gate, GATE_SITE,
                    "exit 1 if a site that grew steadily grew by more than SIZE or PCT"),
    TM_OPT_FLAG(0, "no-order", trend_ctx, no_order,
                "take the files in the order given, not by time; any series"),
    TM_OPT_END,
};

static const tm_command trend_command = {
    .name = "trend",
    .usage = "tmtool trend [<options>] FILE FILE...",
    .description =
        "Rank the sites of a run's snapshots by how they grew: size in the\n"
        "first and last file, change, the intervals (consecutive files) in\n"
        "which the site grew, and a least-squares slope with its fit (r^2).\n"
        "Sites that grew come first, the steadiest first: a leak grows in most\n"
        "intervals, a cache filled once in one.  Files are put in time order\n"
        "and must be of one series (unless --no-order).",
    .min_files = 2,
    .max_files = -1,
    .files_needed = "at least two files of one run",
};

static int is_steady(const trend_ctx *c, const tma_trend_row *r)
{
    return r->change > 0 && r->steadiness >= c->steady;
}

/* The per-site gate: steady and over the threshold. */
static int site_breached(const trend_ctx *c, const tma_trend_row *r)
{
    return is_steady(c, r) &&
           tm_gate_breached(&c->site, r->first_size, r->last_size);
}

static tma_diff_item as_item(const tma_trend_row *r)
{
    tma_diff_item it = {
        .size_diff = r->change, .size = r->last_size,
        .count_diff = (int64_t)(r->last_count - r->first_count),
        .count = r->last_count, .key = r->key,
    };
    return it;
}

static const char *slope_unit(const tma_trend *t)
{
    return t->slope_per_second ? "s" : "file";
}

/* ---- text ------------------------------------------------------------------ */

static void text_row(const trend_ctx *c, const tma_trend *t,
                     const tma_trend_row *r, size_t rank)
{
    char first[32], last[32], change[32], slope[32];
    tma_size_format(first, sizeof first, (int64_t)r->first_size, 0);
    tma_size_format(last, sizeof last, (int64_t)r->last_size, 0);
    tma_size_format(change, sizeof change, r->change, 1);
    double sl = r->slope;
    if (sl > 9.2e18) sl = 9.2e18;
    if (sl < -9.2e18) sl = -9.2e18;
    tma_size_format(slope, sizeof slope, (int64_t)(sl < 0 ? sl - 0.5 : sl + 0.5), 1);
    const char *on = tm_color_on(r->change > 0 ? TMA_ROLE_GROW : TMA_ROLE_SHRINK);
    printf("%s#%zu%s: ", tm_color_on(TMA_ROLE_RANK), rank, tm_color_off());
    tm_key_write(stdout, &c->display, &r->key);
    printf(": %s%s%s (%s -> %s), grew in %" PRIu32 "/%" PRIu32
           " intervals, %s/%s, fit %.2f%s\n",
           r->change != 0 ? on : "", change, r->change != 0 ? tm_color_off() : "",
           first, last, r->grew, r->intervals, slope, slope_unit(t), r->r2,
           is_steady(c, r) ? ", steady" : "");
    if (c->display.by == TMA_BY_TRACEBACK)
        tm_traceback_text(stdout, &c->display, r->key.snap, r->key.traceback);
}

static void text_report(const trend_ctx *c, const tma_trend *t,
                        char **files, size_t shown)
{
    char a[64], b[64], d[64];
    size_t nf = t->nfiles;
    tm_format_time(a, sizeof a, t->file_time[0]);
    tm_format_time(b, sizeof b, t->file_time[nf - 1]);
    printf("%sTrend of %zu snapshots by %s, %s .. %s%s ('%s' .. '%s')\n",
           tm_color_on(TMA_ROLE_TITLE), nf, tma_group_by_name(t->by), a, b,
           tm_color_off(), files[0], files[nf - 1]);
    for (size_t i = 0; i < shown; i++)
        text_row(c, t, &t->rows[i], i + 1);
    if (shown < t->n)
        printf("%zu more site%s\n", t->n - shown, t->n - shown == 1 ? "" : "s");
    tma_size_format(a, sizeof a, (int64_t)t->file_total[0], 0);
    tma_size_format(b, sizeof b, (int64_t)t->file_total[nf - 1], 0);
    tma_size_format(d, sizeof d,
                    (int64_t)(t->file_total[nf - 1] - t->file_total[0]), 1);
    printf("Total: %s (%s -> %s)\n\n", d, a, b);
}

/* ---- JSON ------------------------------------------------------------------ */

static cJSON *json_row(const trend_ctx *c, const tma_trend *t,
                       const tma_trend_row *r, size_t rank)
{
    tma_diff_item it = as_item(r);
    cJSON *o = tm_item_json(&c->display, &it, rank);
    cJSON *sizes = NULL;
    if (o == NULL)
        return NULL;
    const uint64_t *y = tma_trend_sizes(t, r);
    int bad = tm_json_add_u64(o, "first_size", r->first_size) < 0 ||
              tm_json_add_u64(o, "last_size", r->last_size) < 0 ||
              tm_json_add_i64(o, "change", r->change) < 0 ||
              tm_json_add_u64(o, "first_count", r->first_count) < 0 ||
              tm_json_add_u64(o, "last_count", r->last_count) < 0 ||
              tm_json_add_u64(o, "peak_size", r->peak_size) < 0 ||
              tm_json_add_u64(o, "intervals", r->intervals) < 0 ||
              tm_json_add_u64(o, "grew", r->grew) < 0 ||
              tm_json_add_u64(o, "shrank", r->shrank) < 0 ||
              cJSON_AddNumberToObject(o, "steadiness", r->steadiness) == NULL ||
              cJSON_AddNumberToObject(o, "slope", r->slope) == NULL ||
              tm_json_add_str(o, "slope_unit", t->slope_per_second
                              ? "bytes/s" : "bytes/file") < 0 ||
              cJSON_AddNumberToObject(o, "r2", r->r2) == NULL ||
              cJSON_AddBoolToObject(o, "steady", is_steady(c, r)) == NULL ||
              cJSON_AddBoolToObject(o, "breached", site_breached(c, r)) == NULL ||
              (sizes = cJSON_AddArrayToObject(o, "sizes")) == NULL;
    for (size_t f = 0; !bad && f < t->nfiles; f++) {
        char raw[24];
        snprintf(raw, sizeof raw, "%" PRIu64, y[f]);
        cJSON *v = cJSON_CreateRaw(raw);    /* exact, as tm_json_add_u64 */
        bad = v == NULL || !cJSON_AddItemToArray(sizes, v);
    }
    if (bad) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static int json_report(const trend_ctx *c, const tma_trend *t, char **files,
                       size_t shown, int breached)
{
    char ts[64];
    cJSON *doc = tm_json_doc("trend"), *arr = NULL;
    int bad = doc == NULL ||
              tm_json_add_str(doc, "group_by", tma_group_by_name(t->by)) < 0 ||
              cJSON_AddNumberToObject(doc, "steady_share", c->steady) == NULL ||
              (arr = cJSON_AddArrayToObject(doc, "files")) == NULL;
    for (size_t f = 0; !bad && f < t->nfiles; f++) {
        cJSON *o = cJSON_CreateObject();
        tm_format_time_iso(ts, sizeof ts, t->file_time[f]);
        bad = o == NULL || !cJSON_AddItemToArray(arr, o) ||
              tm_json_add_str(o, "file", files[f]) < 0 ||
              tm_json_add_str(o, "timestamp", ts) < 0 ||
              tm_json_add_i64(o, "timestamp_ns", t->file_time[f]) < 0 ||
              tm_json_add_u64(o, "total_size", t->file_total[f]) < 0;
        if (o != NULL && bad && cJSON_GetArraySize(arr) == 0)
            cJSON_Delete(o);
    }
    cJSON *tot = bad ? NULL : cJSON_AddObjectToObject(doc, "total");
    size_t nf = t->nfiles;
    bad = bad || tot == NULL ||
          tm_json_add_u64(tot, "first_size", t->file_total[0]) < 0 ||
          tm_json_add_u64(tot, "last_size", t->file_total[nf - 1]) < 0 ||
          tm_json_add_i64(tot, "change", (int64_t)(t->file_total[nf - 1] -
                                                   t->file_total[0])) < 0 ||
          tm_json_add_u64(doc, "sites_total", t->n) < 0 ||
          (arr = cJSON_AddArrayToObject(doc, "sites")) == NULL;
    for (size_t i = 0; !bad && i < shown; i++) {
        cJSON *o = json_row(c, t, &t->rows[i], i + 1);
        bad = o == NULL || !cJSON_AddItemToArray(arr, o);
        if (bad)
            cJSON_Delete(o);
    }
    if (!bad && (c->total.set || c->site.set))
        bad = cJSON_AddBoolToObject(doc, "breached", breached) == NULL;
    return tm_json_finish(doc, !bad);
}

/* ---- CSV ------------------------------------------------------------------- */

static void csv_report(const trend_ctx *c, const tma_trend *t, size_t shown)
{
    fputs("rank,key,filename,lineno,traceback,first_size,last_size,change,first_count,"
          "last_count,peak_size,intervals,grew,shrank,steadiness,slope,"
          "slope_unit,r2,steady\n", stdout);
    for (size_t i = 0; i < shown; i++) {
        const tma_trend_row *r = &t->rows[i];
        const tms_snapshot *s = r->key.snap;
        char *key = tm_key_text(&c->display, &r->key);
        printf("%zu,", i + 1);
        tm_csv_field(stdout, key ? key : "", 0);
        free(key);
        uint32_t fn = TMS_NONE;
        int32_t line = TMS_LINENO_NONE;
        if (c->display.by == TMA_BY_LINE || c->display.by == TMA_BY_FILENAME) {
            fn = r->key.filename;
            line = c->display.by == TMA_BY_LINE ? r->key.lineno : TMS_LINENO_NONE;
        }
        tm_csv_field(stdout, fn == TMS_NONE || fn >= s->nstrings ? ""
                     : s->strings[fn].data, 0);
        if (line != TMS_LINENO_NONE)
            printf("%" PRId32, line);
        putchar(',');
        /* the whole traceback, as top's CSV writes it */
        char *tb = c->display.by == TMA_BY_TRACEBACK
                   ? tm_traceback_csv_text(s, r->key.traceback) : NULL;
        tm_csv_field(stdout, tb ? tb : "", 0);
        free(tb);
        printf("%" PRIu64 ",%" PRIu64 ",%" PRId64 ",%" PRIu64 ",%" PRIu64
               ",%" PRIu64 ",%" PRIu32 ",%" PRIu32 ",%" PRIu32 ",%.6f,%.6g,%s,"
               "%.6f,%d\n", r->first_size, r->last_size, r->change,
               r->first_count, r->last_count, r->peak_size, r->intervals,
               r->grew, r->shrank, r->steadiness, r->slope,
               t->slope_per_second ? "bytes/s" : "bytes/file", r->r2,
               is_steady(c, r));
    }
}

/* ---- gates ----------------------------------------------------------------- */

static int check_gates(const trend_ctx *c, const tma_trend *t)
{
    int breached = 0;
    char d[64];
    size_t nf = t->nfiles;
    uint64_t first = t->file_total[0], last = t->file_total[nf - 1];
    if (tm_gate_breached(&c->total, first, last)) {
        tma_size_format(d, sizeof d, (int64_t)(last - first), 1);
        tm_error("total growth %s over the series is over --%s %s", d,
                 c->total.option, c->total.text);
        breached = 1;
    }
    size_t nsites = 0;
    for (size_t i = 0; i < t->n; i++)
        nsites += site_breached(c, &t->rows[i]);
    if (nsites > 0) {
        tm_error("%zu site%s grew steadily by more than --%s %s", nsites,
                 nsites == 1 ? "" : "s", c->site.option, c->site.text);
        for (size_t i = 0, shown = 0; i < t->n && shown < 10; i++) {
            if (!site_breached(c, &t->rows[i]))
                continue;
            char *key = tm_key_text(&c->display, &t->rows[i].key);
            tma_size_format(d, sizeof d, t->rows[i].change, 1);
            tm_error("  %s: %s", key ? key : "?", d);
            free(key);
            shown++;
        }
        breached = 1;
    }
    return breached;
}

static int run_trend(const trend_ctx *c, char **files, size_t n)
{
    tma_trend t = { 0 };
    tms_error err = { 0 };
    int rc = c->no_order ? TM_EXIT_OK : tm_order_series(files, n);
    if (rc == TM_EXIT_OK && tma_trend_init(&t, c->display.by, n, &err) < 0) {
        tm_error("%s", err.msg);
        rc = TM_EXIT_BADFILE;
    }
    /* One file at a time: the trend keeps its own copy of each site's
     * key, so a file is freed as soon as it is added. */
    for (size_t i = 0; rc == TM_EXIT_OK && i < n; i++) {
        tms_snapshot *snap = NULL;
        tma_groups groups = { 0 };
        rc = tm_load_grouped(&c->display, &c->filters, files[i], &snap, &groups);
        if (rc == TM_EXIT_OK &&
            tma_trend_add(&t, &groups, snap->header.timestamp_ns, &err) < 0) {
            tm_report_error("compare", files[i], &err);
            rc = TM_EXIT_BADFILE;
        }
        tma_groups_free(&groups);
        tms_snapshot_free(snap);
    }
    if (rc == TM_EXIT_OK && tma_trend_finish(&t, &err) < 0) {
        tm_error("%s", err.msg);
        rc = TM_EXIT_BADFILE;
    }
    if (rc == TM_EXIT_OK) {
        tma_trend_sort(&t);
        size_t shown = c->display.count > 0 && (size_t)c->display.count < t.n
                       ? (size_t)c->display.count : t.n;
        int breached = check_gates(c, &t);
        if (c->format == TM_FORMAT_TEXT)
            text_report(c, &t, files, shown);
        else if (c->format == TM_FORMAT_CSV)
            csv_report(c, &t, shown);
        else
            rc = json_report(c, &t, files, shown, breached);
        if (rc == TM_EXIT_OK && breached)
            rc = TM_EXIT_BREACHED;
    }
    tma_trend_free(&t);
    return rc;
}

int cmd_trend(int argc, char **argv)
{
    trend_ctx c = { 0 };
    tm_args a;
    tm_display_init(&c.display);
    c.steady = 0.5;
    const tm_opt_group groups[] = {
        { "Options", trend_opts, &c },
        { "Display options", tm_display_opts, &c.display },
        { "Filter options", tm_filter_opts, &c.filters },
        { NULL, NULL, NULL },
    };
    int rc = tm_parse_command(&trend_command, groups, argc, argv, &a);
    if (rc != TM_EXIT_OK || a.common.help)
        goto out;
    c.format = a.common.format;
    if (c.display.by == TMA_BY_ADDRESS) {
        tm_error("trend groups by filename, line or traceback, not address");
        rc = TM_EXIT_USAGE;
        goto out;
    }
    rc = run_trend(&c, a.files, a.nfiles);
out:
    return tm_filters_finish(&c.filters, rc);
}
