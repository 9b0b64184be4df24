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
#include "report.h"

enum { OPT_FIRST = TM_OPT_CMD, OPT_FAIL_GROWTH, OPT_FAIL_SITE_GROWTH };

static const tm_opt diff_opts[] = {
    { OPT_FIRST, 0, "first", NULL,
      "compare every file with the first one, not the previous one" },
    { OPT_FAIL_GROWTH, 0, "fail-if-growth", "SIZE|PCT",
      "exit 1 if the total grew by more than SIZE (10MiB) or PCT (5%)" },
    { OPT_FAIL_SITE_GROWTH, 0, "fail-if-site-growth", "SIZE|PCT",
      "exit 1 if any site grew by more than SIZE or PCT" },
    { 0 },
};

static const tm_opt_group diff_groups[] = {
    { "Options", diff_opts },
    { "Display options", tm_display_opts },
    { "Filter options", tm_filter_opts },
    { "Common options", tm_common_opts },
    { NULL, NULL },
};

static const char diff_usage[] = "tmtool diff [<options>] OLD NEW [MORE...]";
static const char diff_description[] =
    "Show what grew or shrank from OLD to NEW, biggest change first.  With\n"
    "more files, each is compared with the previous one (or with the first,\n"
    "--first).  Files are taken in the order given.";

typedef struct gate {
    const char *option;   /* "--fail-if-growth" */
    const char *text;     /* as the user wrote it */
    tma_threshold t;
    int set;
} gate;

typedef struct diff_ctx {
    tm_common common;
    tm_display display;
    tm_filters filters;
    int first;
    gate total, site;
} diff_ctx;

static int parse_gate(gate *g, const char *option, const char *arg)
{
    tms_error err = { 0 };
    g->option = option;
    g->text = arg;
    if (tma_threshold_parse(arg, &g->t, &err) < 0) {
        tm_error("bad value '%s' for %s: %s", arg, option,
                 err.msg[0] ? err.msg : "expected a size (10MiB) or a percentage (5%)");
        return -1;
    }
    g->set = 1;
    return 1;
}

/* 1 breached, 0 not; a libtma failure counts as not breached after a
 * message (cannot happen with a parsed threshold). */
static int breached(const gate *g, uint64_t old_size, uint64_t new_size)
{
    int b = tma_threshold_breached(&g->t, old_size, new_size);
    if (b < 0) {
        tm_error("cannot check %s %s", g->option, g->text);
        return 0;
    }
    return b;
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

static void gate_line(char *buf, size_t cap, const gate *g, const tm_report *r,
                      uint64_t old_size, uint64_t new_size, size_t nsites)
{
    char d[64];
    tma_size_format(d, sizeof d, (int64_t)(new_size - old_size), 1);
    if (nsites == (size_t)-1)
        snprintf(buf, cap, "total growth %s from '%s' to '%s' is over %s %s",
                 d, r->old.name, r->cur.name, g->option, g->text);
    else
        snprintf(buf, cap, "%zu site%s grew more than %s %s from '%s' to '%s'",
                 nsites, nsites == 1 ? "" : "s", g->option, g->text,
                 r->old.name, r->cur.name);
}

static int report_breach(const diff_ctx *c, const gate *g, const tm_report *r,
                         cJSON *robj, uint64_t old_size, uint64_t new_size)
{
    size_t nsites = 0;
    for (size_t i = 0; i < r->diff.n; i++)
        nsites += offending(c, g, &r->diff.items[i]);
    char line[1024], item[2048], key[2048];
    gate_line(line, sizeof line, g, r, old_size, new_size,
              g == &c->total ? (size_t)-1 : nsites);
    tm_error("%s", line);
    cJSON *b = NULL, *sites = NULL;
    if (c->common.format == TM_FORMAT_TEXT) {
        printf("%sthreshold breached%s: %s\n", tm_color_on(TM_ROLE_BAD),
               tm_color_off(), line);
    } else if (c->common.format == TM_FORMAT_JSON) {
        cJSON *arr = cJSON_GetObjectItem(robj, "breaches");
        if (arr == NULL)
            arr = cJSON_AddArrayToObject(robj, "breaches");
        b = cJSON_CreateObject();
        if (arr == NULL || b == NULL || !cJSON_AddItemToArray(arr, b)) {
            cJSON_Delete(b);
            goto oom;
        }
        if (tm_json_add_str(b, "threshold", g->option + 2) < 0 ||
            tm_json_add_str(b, "limit", g->text) < 0 ||
            tm_json_add_u64(b, "old_size", old_size) < 0 ||
            tm_json_add_u64(b, "new_size", new_size) < 0 ||
            (sites = cJSON_AddArrayToObject(b, "sites")) == NULL)
            goto oom;
    }
    for (size_t i = 0; i < r->diff.n; i++) {
        const tma_diff_item *it = &r->diff.items[i];
        if (!offending(c, g, it))
            continue;
        if (c->common.format == TM_FORMAT_TEXT) {
            tm_key_text(key, sizeof key, &c->display, &it->key);
            tm_item_text(item, sizeof item, &c->display, it, 1);
            printf("  %s: %s\n", key, item);
        } else if (c->common.format == TM_FORMAT_JSON) {
            cJSON *x = tm_item_json(&c->display, it, i + 1);
            if (x == NULL || !cJSON_AddItemToArray(sites, x)) {
                cJSON_Delete(x);
                goto oom;
            }
        } else {
            /* kind is the threshold's name; rank is the site's rank in
             * the diff above. */
            tm_key_text(key, sizeof key, &c->display, &it->key);
            tm_csv_field(stdout, r->cur.name, 0);
            tm_csv_field(stdout, r->old.name, 0);
            tm_csv_field(stdout, g->option + 2, 0);
            printf("%zu,", i + 1);
            tm_csv_field(stdout, key, 0);
            printf(",,,,%" PRIu64 ",%" PRId64 ",%" PRIu64 ",%" PRId64 ",\n",
                   it->size, it->size_diff, it->count, it->count_diff);
        }
    }
    if (c->common.format == TM_FORMAT_TEXT)
        putchar('\n');
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
    tm_display_init(&c.display);
    tm_opts *p = tm_opts_new(diff_groups, argc, argv);
    int rc = TM_EXIT_OK, id;
    const char *arg;
    tm_sink k = { 0 };
    if (p == NULL) {
        tm_error("out of memory");
        return TM_EXIT_BADFILE;
    }
    while ((id = tm_opts_next(p, &arg)) != -1) {
        int took = id == '?' ? -1
                   : tm_analysis_option(&c.common, &c.display, &c.filters,
                                        id, arg);
        if (took == 0 && id == OPT_FIRST)
            took = c.first = 1;
        if (took == 0 && id == OPT_FAIL_GROWTH)
            took = parse_gate(&c.total, "--fail-if-growth", arg);
        if (took == 0 && id == OPT_FAIL_SITE_GROWTH)
            took = parse_gate(&c.site, "--fail-if-site-growth", arg);
        if (took < 0) {
            rc = TM_EXIT_USAGE;
            goto out;
        }
    }
    if (c.common.help) {
        tm_opts_usage(stdout, diff_usage, diff_description, diff_groups);
        goto out;
    }
    int nfiles = argc - tm_opts_index(p);
    if (nfiles < 2) {
        tm_error("diff needs at least two files, OLD and NEW "
                 "(see 'tmtool diff --help')");
        rc = TM_EXIT_USAGE;
        goto out;
    }
    tm_color_setup(c.common.color);
    rc = tm_sink_open(&k, c.common.format, "diff", &c.display);
    if (rc == TM_EXIT_OK)
        rc = run_diff(&c, argv + tm_opts_index(p), (size_t)nfiles, &k);
    if (k.doc != NULL && (c.total.set || c.site.set) &&
        cJSON_AddBoolToObject(k.doc, "breached", rc == TM_EXIT_BREACHED) == NULL)
        rc = TM_EXIT_BADFILE;
    if (rc == TM_EXIT_OK || rc == TM_EXIT_BREACHED) {
        int st = tm_sink_close(&k);
        rc = st != TM_EXIT_OK ? st : rc;
    }
out:
    tm_sink_discard(&k);
    tm_filters_free(&c.filters);
    tm_opts_free(p);
    return rc;
}
