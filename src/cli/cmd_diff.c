/* cmd_diff.c -- `tmtool diff OLD NEW [MORE...]`: what grew or shrank, in
 * StatsDiff.sort order; each file against the previous one (or the first,
 * --first).  CI gating: --fail-if-growth on the total and
 * --fail-if-site-growth per site make the exit status 1 when breached,
 * with the offending sites printed. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "exitcodes.h"
#include "gate.h"
#include "live.h"
#include "report.h"

typedef tm_gate gate;

typedef struct diff_ctx {
    tm_display display;
    tm_filters filters;
    tm_pid live;
    tm_format format;
    int first;
    gate total, site;
} diff_ctx;

enum { GATE_TOTAL, GATE_SITE };

static int opt_gate(void *ctx, const tm_opt *o, const char *arg)
{
    diff_ctx *c = ctx;
    gate *g = o->value == GATE_TOTAL ? &c->total : &c->site;
    return tm_gate_parse(g, o->long_name, arg);
}

static const tm_opt diff_opts[] = {
    TM_OPT_FLAG(0, "first", diff_ctx, first,
                "compare every file with the first one, not the previous one"),
    TM_OPT_FLAG(0, "growth-only", diff_ctx, display.growth_only,
                "list only the sites that grew (totals still count all)"),
    TM_OPT_CALLBACK(0, "fail-if-growth", "SIZE|PCT", opt_gate, GATE_TOTAL,
                    "exit 1 if the total grew by more than SIZE (10MiB) or PCT (5%)"),
    TM_OPT_CALLBACK(0, "fail-if-site-growth", "SIZE|PCT", opt_gate, GATE_SITE,
                    "exit 1 if any site grew by more than SIZE or PCT"),
    TM_OPT_END,
};

static const tm_command diff_command = {
    .name = "diff",
    .usage = "tmtool diff [<options>] OLD NEW [MORE...]\n"
             "   or: tmtool diff [<options>] OLD... --pid PID",
    .description =
        "Show what grew or shrank from OLD to NEW, biggest change first.  With\n"
        "more files, each is compared with the previous one (or with the first,\n"
        "--first).  Files are taken in the order given.  With --pid, a running\n"
        "traced process as it is now is the newest.",
    .min_files = 1,
    .max_files = -1,
    .files_needed = "at least two files, OLD and NEW",
};

static int breached(const gate *g, uint64_t old_size, uint64_t new_size)
{
    return tm_gate_breached(g, old_size, new_size);
}

/* Sites to print for a breach: for the total, every site that grew; for
 * the per-site gate, every site over it.  In diff order. */
static int offending(const diff_ctx *c, const gate *g, const tma_diff_item *it)
{
    uint64_t old_size = (uint64_t)((int64_t)it->size - it->size_diff);
    if (g == &c->total)
        return it->size_diff > 0;
    return breached(g, old_size, it->size);
}

static void gate_line(FILE *f, const gate *g, const tm_report *r,
                      uint64_t old_size, uint64_t new_size, size_t nsites)
{
    char d[64];
    tma_size_format(d, sizeof d, (int64_t)(new_size - old_size), 1);
    if (nsites == (size_t)-1)
        fprintf(f, "total growth %s from '%s' to '%s' is over --%s %s",
                d, r->old.name, r->cur.name, g->option, g->text);
    else
        fprintf(f, "%zu site%s grew more than --%s %s from '%s' to '%s'",
                nsites, nsites == 1 ? "" : "s", g->option, g->text,
                r->old.name, r->cur.name);
}

static int report_breach(const diff_ctx *c, const gate *g, const tm_report *r,
                         cJSON *robj, uint64_t old_size, uint64_t new_size)
{
    size_t nsites = 0;
    for (size_t i = 0; i < r->diff.n; i++)
        nsites += offending(c, g, &r->diff.items[i]);
    tm_mem m;
    if (tm_mem_open(&m) == NULL)
        goto oom;
    gate_line(m.f, g, r, old_size, new_size,
              g == &c->total ? (size_t)-1 : nsites);
    char *line = tm_mem_close(&m);
    if (line == NULL)
        goto oom;
    tm_error("%s", line);
    cJSON *b = NULL, *sites = NULL;
    if (c->format == TM_FORMAT_TEXT) {
        printf("%sthreshold breached%s: ", tm_color_on(TMA_ROLE_BAD),
               tm_color_off());
        tma_text_escaped(stdout, line);   /* it names the files */
        putchar('\n');
    }
    free(line);
    if (c->format == TM_FORMAT_JSON) {
        cJSON *arr = cJSON_GetObjectItem(robj, "breaches");
        if (arr == NULL)
            arr = cJSON_AddArrayToObject(robj, "breaches");
        b = cJSON_CreateObject();
        if (arr == NULL || b == NULL || !cJSON_AddItemToArray(arr, b)) {
            cJSON_Delete(b);
            goto oom;
        }
        if (tm_json_add_str(b, "threshold", g->option) < 0 ||
            tm_json_add_str(b, "limit", g->text) < 0 ||
            tm_json_add_u64(b, "old_size", old_size) < 0 ||
            tm_json_add_u64(b, "new_size", new_size) < 0 ||
            (sites = cJSON_AddArrayToObject(b, "sites")) == NULL)
            goto oom;
    }
    /* Text lists the first --count offenders (a breach of a total can
     * have hundreds, down to a few bytes) and says how many more; JSON and
     * CSV list them all. */
    size_t listed = 0, limit = c->format == TM_FORMAT_TEXT && c->display.count > 0
                                   ? (size_t)c->display.count : (size_t)-1;
    for (size_t i = 0; i < r->diff.n; i++) {
        const tma_diff_item *it = &r->diff.items[i];
        if (!offending(c, g, it) || listed++ >= limit)
            continue;
        if (c->format == TM_FORMAT_TEXT) {
            fputs("  ", stdout);
            tm_key_write(stdout, &c->display, &it->key);
            fputs(": ", stdout);
            tm_item_write(stdout, &c->display, it, 1);
            putchar('\n');
        } else if (c->format == TM_FORMAT_JSON) {
            cJSON *x = tm_item_json(&c->display, it, i + 1);
            if (x == NULL || !cJSON_AddItemToArray(sites, x)) {
                cJSON_Delete(x);
                goto oom;
            }
        } else {
            /* kind is the threshold's name; rank is the site's rank in
             * the diff above. */
            char *key = tm_key_text(&c->display, &it->key);
            if (key == NULL)
                goto oom;
            tm_csv_field(stdout, r->cur.name, 0);
            tm_csv_field(stdout, r->old.name, 0);
            tm_csv_field(stdout, g->option, 0);
            printf("%zu,", i + 1);
            tm_csv_field(stdout, key, 0);
            free(key);
            printf(",,,,%" PRIu64 ",%" PRId64 ",%" PRIu64 ",%" PRId64 ",,",
                   it->size, it->size_diff, it->count, it->count_diff);
            /* the last columns, function and domain, as in the report's
             * rows */
            int named = c->display.by == TMA_BY_LINE ||
                        c->display.by == TMA_BY_FUNCTION;
            const char *fn = named ? tm_string_of(it->key.snap,
                                                  it->key.function) : NULL;
            tm_csv_field(stdout, fn ? fn : "", 0);
            if (c->display.by == TMA_BY_DOMAIN)
                printf("%" PRIu32, it->key.domain);
            putchar('\n');
        }
    }
    if (c->format == TM_FORMAT_TEXT) {
        if (listed > limit)
            printf("  %zu more site%s (-n 0 lists all)\n", listed - limit,
                   listed - limit == 1 ? "" : "s");
        putchar('\n');
    }
    return TM_EXIT_BREACHED;
oom:
    tm_error("out of memory");
    return TM_EXIT_BADFILE;
}

static int check_gates(const diff_ctx *c, const tm_report *r, cJSON *robj)
{
    int rc = TM_EXIT_OK, st;
    uint64_t old_total = r->old.groups->total_size;
    uint64_t new_total = r->cur.groups->total_size;
    if (c->total.set && breached(&c->total, old_total, new_total)) {
        st = report_breach(c, &c->total, r, robj, old_total, new_total);
        rc = rc == TM_EXIT_OK ? st : rc;
    }
    if (c->site.set) {
        int any = 0;
        for (size_t i = 0; !any && i < r->diff.n; i++)
            any = offending(c, &c->site, &r->diff.items[i]);
        if (any) {
            st = report_breach(c, &c->site, r, robj, old_total, new_total);
            rc = rc == TM_EXIT_OK ? st : rc;
        }
    }
    return rc;
}

/* Compare files[i] with its base (previous or first), keeping at most the
 * base and the current file in memory.  A breach does not stop the run:
 * every pair is shown and checked, then the status is 1. */
static int run_diff(const diff_ctx *c, char **files, size_t n, tm_sink *k)
{
    tms_snapshot *base = NULL, *cur = NULL;
    tma_groups gbase = { 0 }, gcur = { 0 };
    size_t ibase = 0;
    int rc = tm_load_grouped(&c->display, &c->filters, files[0], &base, &gbase), gate_rc = TM_EXIT_OK;
    for (size_t i = 1; rc == TM_EXIT_OK && i < n; i++) {
        rc = tm_load_grouped(&c->display, &c->filters, files[i], &cur, &gcur);
        if (rc != TM_EXIT_OK)
            break;
        tm_report r = {
            .cur = { files[i], cur, &gcur },
            .old = { files[ibase], base, &gbase },
        };
        cJSON *robj = NULL;
        rc = tm_report_build(&r);
        if (rc == TM_EXIT_OK && c->display.growth_only)
            tm_report_keep_growth(&r);
        if (rc == TM_EXIT_OK)
            rc = tm_sink_emit(k, &r, &c->display, &robj);
        if (rc == TM_EXIT_OK) {
            int g = check_gates(c, &r, robj);
            if (g == TM_EXIT_BADFILE)
                rc = g;
            else if (g != TM_EXIT_OK)
                gate_rc = g;
        }
        tm_report_free(&r);
        if (c->first) {
            tma_groups_free(&gcur);
            tms_snapshot_free(cur);
        } else {
            tma_groups_free(&gbase);
            tms_snapshot_free(base);
            base = cur;
            gbase = gcur;
            ibase = i;
        }
        cur = NULL;
        memset(&gcur, 0, sizeof gcur);
    }
    tma_groups_free(&gbase);
    tms_snapshot_free(base);
    return rc != TM_EXIT_OK ? rc : gate_rc;
}

int cmd_diff(int argc, char **argv)
{
    diff_ctx c = { 0 };
    tm_args a;
    tm_sink k = { 0 };
    tm_display_init(&c.display);
    const tm_opt_group groups[] = {
        { "Options", diff_opts, &c },
        { "Display options", tm_display_opts, &c.display },
        { "Filter options", tm_filter_opts, &c.filters },
        { "Live options", tm_pid_opts, &c.live },
        { NULL, NULL, NULL },
    };
    char **files = NULL;
    int rc = tm_parse_command(&diff_command, groups, argc, argv, &a);
    if (rc != TM_EXIT_OK || a.common.help)
        goto out;
    if (c.live.pid == 0 && a.nfiles < 2) {
        tm_error("diff needs at least two files, OLD and NEW (or OLD and --pid PID)");
        rc = TM_EXIT_USAGE;
        goto out;
    }
    if (c.live.pid != 0) {
        /* The process, as it is now, comes after the files. */
        const char *live_name;
        int traces =
            !(tm_display_load_flags(&c.display, &c.filters) & TMS_LOAD_SKIP_TRACES);
        files = calloc(a.nfiles + 1, sizeof *files);
        if (files == NULL) {
            tm_error("out of memory");
            rc = TM_EXIT_BADFILE;
            goto out;
        }
        rc = tm_live_source(c.live.pid, traces, tm_pid_timeout(&c.live), &live_name);
        if (rc != TM_EXIT_OK)
            goto out;
        memcpy(files, a.files, a.nfiles * sizeof *files);
        files[a.nfiles++] = (char *)live_name;
        a.files = files;
    }
    c.format = a.common.format;
    rc = tm_sink_open(&k, c.format, "diff", &c.display);
    if (rc == TM_EXIT_OK)
        rc = run_diff(&c, a.files, a.nfiles, &k);
    if (k.doc != NULL && (c.total.set || c.site.set) &&
        cJSON_AddBoolToObject(k.doc, "breached", rc == TM_EXIT_BREACHED) == NULL)
        rc = TM_EXIT_BADFILE;
    if (rc == TM_EXIT_OK || rc == TM_EXIT_BREACHED) {
        int st = tm_sink_close(&k);
        rc = st != TM_EXIT_OK ? st : rc;
    }
out:
    tm_sink_discard(&k);
    rc = tm_filters_finish(&c.filters, rc);
    tm_live_release_all();
    free(files);
    return rc;
}
